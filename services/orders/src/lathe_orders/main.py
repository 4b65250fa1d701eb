from lathe_common.events import events_in
from lathe_common.service import ServiceDefinition, create_service_app
from lathe_contracts import orders as contracts

from lathe_orders import __doc__ as description
from lathe_orders.erp.consumer import erp_documents
from lathe_orders.erp.endpoints import router as erp_conflicts_router
from lathe_orders.partners.endpoints import customers_router, suppliers_router
from lathe_orders.projections.consumer import production_projections
from lathe_orders.purchase_orders.endpoints import router as purchase_orders_router
from lathe_orders.sales_orders.endpoints import router as sales_orders_router
from lathe_orders.sales_orders.endpoints import shipped_units_router
from lathe_orders.settings import settings
from lathe_orders.tables import plumbing
from lathe_orders.work_orders import progress as work_order_progress  # noqa: F401 - registers its listener
from lathe_orders.work_orders.endpoints import router as work_orders_router
from lathe_orders.work_orders.planning import production_answers

definition = ServiceDefinition(
    name="orders",
    settings=settings,
    tables=plumbing,
    routers=[
        customers_router,
        suppliers_router,
        purchase_orders_router,
        sales_orders_router,
        shipped_units_router,
        work_orders_router,
        erp_conflicts_router,
    ],
    consumers=[production_projections, production_answers, erp_documents],
    events=events_in(contracts),
    description=description or "",
)
app = create_service_app(definition)
