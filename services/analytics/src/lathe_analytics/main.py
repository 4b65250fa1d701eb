from lathe_common.events import events_in
from lathe_common.service import ServiceDefinition, create_service_app
from lathe_contracts import analytics as analytics_events

from lathe_analytics import __doc__ as description
from lathe_analytics.audit.consumer import audit_consumer
from lathe_analytics.audit.endpoints import router as audit_router
from lathe_analytics.audit.partitions import PartitionMaintenance
from lathe_analytics.floor.endpoints import router as floor_router
from lathe_analytics.floor.projector import floor_read_model
from lathe_analytics.settings import settings
from lathe_analytics.spc.consumer import spc_read_model
from lathe_analytics.spc.endpoints import router as spc_router
from lathe_analytics.tables import plumbing

audit_partitions = PartitionMaintenance(settings.audit_partition_months_ahead)

# Read models: each gives its live consumer, and `python -m lathe_analytics rebuild` replays it from
# the topics' beginning into fresh tables (lathe_analytics.read_models).
READ_MODELS = (floor_read_model, spc_read_model)

definition = ServiceDefinition(
    name="analytics",
    settings=settings,
    tables=plumbing,
    routers=[audit_router, floor_router, spc_router],
    consumers=[audit_consumer, *(model.consumer() for model in READ_MODELS)],
    events=events_in(analytics_events),
    description=description or "",
    on_startup=audit_partitions.start,
    on_shutdown=audit_partitions.stop,
)
app = create_service_app(definition)
