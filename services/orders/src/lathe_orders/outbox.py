"""The orders service's outbox: every document change and its event commit in one transaction."""

from lathe_common.outbox import Outbox

from lathe_orders.settings import settings
from lathe_orders.tables import plumbing

outbox = Outbox(plumbing, source="lathe/orders", max_event_bytes=settings.outbox_max_event_bytes)
