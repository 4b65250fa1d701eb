from fastapi import FastAPI
from lathe_common.events import events_in
from lathe_common.service import ServiceDefinition, create_service_app
from lathe_contracts import analytics as analytics_events

from lathe_analytics import __doc__ as description
from lathe_analytics.audit.consumer import audit_consumer
from lathe_analytics.audit.endpoints import router as audit_router
from lathe_analytics.audit.partitions import PartitionMaintenance
from lathe_analytics.floor.endpoints import router as floor_router
from lathe_analytics.floor.plant import CLOCK
from lathe_analytics.floor.projector import floor_read_model
from lathe_analytics.floor_metrics.refresher import FloorMetrics
from lathe_analytics.settings import settings
from lathe_analytics.spc.consumer import spc_read_model
from lathe_analytics.spc.endpoints import router as spc_router
from lathe_analytics.stream.consumer import stream_consumer
from lathe_analytics.stream.endpoints import STREAM_PATH
from lathe_analytics.stream.endpoints import router as stream_router
from lathe_analytics.stream.lifecycle import StreamLifecycle
from lathe_analytics.tables import plumbing
from lathe_analytics.traveler_reports.consumer import traveler_reports_read_model
from lathe_analytics.traveler_reports.endpoints import router as traveler_reports_router

audit_partitions = PartitionMaintenance(settings.audit_partition_months_ahead)
stream_lifecycle = StreamLifecycle(settings)

# Read models: each gives its live consumer, and `python -m lathe_analytics rebuild` replays it from
# the topics' beginning into fresh tables (lathe_analytics.read_models).
READ_MODELS = (floor_read_model, spc_read_model, traveler_reports_read_model)
CONSUMERS = [audit_consumer, *(model.consumer() for model in READ_MODELS), stream_consumer]

# Business metrics on /metrics, read from the floor read model (and the groups' lag from Kafka).
floor_metrics = FloorMetrics(
    settings.metrics_refresh_seconds,
    clock=CLOCK,
    bootstrap=settings.kafka_bootstrap_servers,
    consumers=[consumer.name for consumer in CONSUMERS],
)


async def on_startup(app: FastAPI) -> None:
    await audit_partitions.start(app)
    await floor_metrics.start(app)
    await stream_lifecycle.start(app)


async def on_shutdown(app: FastAPI) -> None:
    await stream_lifecycle.stop(app)
    await floor_metrics.stop(app)
    await audit_partitions.stop(app)


definition = ServiceDefinition(
    name="analytics",
    settings=settings,
    tables=plumbing,
    routers=[audit_router, floor_router, spc_router, stream_router, traveler_reports_router],
    consumers=CONSUMERS,
    events=events_in(analytics_events),
    description=description or "",
    on_startup=on_startup,
    on_shutdown=on_shutdown,
    admission_exempt=[STREAM_PATH],
)
app = create_service_app(definition)
