from lathe_common.events import events_in
from lathe_common.service import ServiceDefinition, create_service_app
from lathe_contracts import production as contracts

from lathe_production import __doc__ as description
from lathe_production.coating import endpoints as coating
from lathe_production.genealogy import endpoints as genealogy
from lathe_production.holds import endpoints as holds
from lathe_production.labor.endpoints import router as labor_router
from lathe_production.lots.endpoints import router as lots_router
from lathe_production.lots.endpoints import serials_router
from lathe_production.nonconformances.endpoints import router as nonconformances_router
from lathe_production.process_data.endpoints import history_router
from lathe_production.process_data.endpoints import router as process_data_router
from lathe_production.process_data.machine import machine_consumer
from lathe_production.processes.endpoints import router as processes_router
from lathe_production.product_models.endpoints import router as product_models_router
from lathe_production.settings import settings
from lathe_production.tables import plumbing
from lathe_production.travelers import endpoints as travelers
from lathe_production.work_orders.consumer import work_orders_consumer

definition = ServiceDefinition(
    name="production",
    settings=settings,
    tables=plumbing,
    routers=[
        processes_router,
        product_models_router,
        lots_router,
        serials_router,
        history_router,
        process_data_router,
        genealogy.serials_router,
        genealogy.lots_router,
        nonconformances_router,
        holds.lots_router,
        holds.serials_router,
        holds.router,
        labor_router,
        coating.router,
        coating.lots_router,
        travelers.lots_router,
        travelers.serials_router,
    ],
    consumers=[machine_consumer, work_orders_consumer],
    # A LOT's units created by number in one request: up to 100,000 serial numbers of 80 characters.
    body_limits={"/lots": 10 * 1024 * 1024},
    events=events_in(contracts),
    description=description or "",
)
app = create_service_app(definition)
