from lathe_common.outbox import Outbox

from lathe_production.settings import settings
from lathe_production.tables import plumbing

outbox = Outbox(plumbing, source="lathe/production", max_event_bytes=settings.outbox_max_event_bytes)
