from lathe_common.service import ServiceDefinition, create_service_app

from lathe_auth import __doc__ as description
from lathe_auth.events import PRODUCED_TOPICS
from lathe_auth.settings import settings
from lathe_auth.tables import plumbing

app = create_service_app(
    ServiceDefinition(
        name="auth",
        settings=settings,
        tables=plumbing,
        produced_topics=PRODUCED_TOPICS,
        description=description or "",
    )
)
