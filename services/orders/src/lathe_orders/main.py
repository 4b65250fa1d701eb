from lathe_common.service import ServiceDefinition, create_service_app

from lathe_orders import __doc__ as description
from lathe_orders.settings import settings
from lathe_orders.tables import plumbing

definition = ServiceDefinition(name="orders", settings=settings, tables=plumbing, description=description or "")
app = create_service_app(definition)
