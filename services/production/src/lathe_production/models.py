"""Every table of the production service, for Alembic."""

from lathe_production.coating.models import CoatingLog
from lathe_production.genealogy.models import Component
from lathe_production.holds.models import Hold
from lathe_production.labor.models import LaborEntry
from lathe_production.lots.models import Lot, LotSequence, Serial
from lathe_production.nonconformances.models import Nonconformance
from lathe_production.process_data.models import ProcessData
from lathe_production.processes.models import Process
from lathe_production.product_models.models import ProductModel, RoutingStep
from lathe_production.signatures.models import Signature
from lathe_production.tables import Base, plumbing
from lathe_production.work_orders.models import WorkOrderPlan

__all__ = [
    "Base",
    "CoatingLog",
    "Component",
    "Hold",
    "LaborEntry",
    "Lot",
    "LotSequence",
    "Nonconformance",
    "Process",
    "ProcessData",
    "ProductModel",
    "RoutingStep",
    "Serial",
    "Signature",
    "WorkOrderPlan",
    "plumbing",
]
