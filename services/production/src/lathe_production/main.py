from lathe_common.service import ServiceDefinition, create_service_app

from lathe_production import __doc__ as description
from lathe_production.settings import settings
from lathe_production.tables import plumbing

app = create_service_app(
    ServiceDefinition(name="production", settings=settings, tables=plumbing, description=description or "")
)
