"""Every table of the orders service, for Alembic (declared on `tables.Base`)."""

from lathe_orders.announcements import AnnouncedDocument
from lathe_orders.documents import DocumentChange
from lathe_orders.erp.models import ErpConflict
from lathe_orders.numbering import DocumentSequence
from lathe_orders.partners.models import Partner
from lathe_orders.projections.models import LotView, ProductModelView, UnitView
from lathe_orders.purchase_orders.models import GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine
from lathe_orders.returns import Return, ReturnLine
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine, Shipment, ShipmentLine, ShippedUnit
from lathe_orders.tables import Base, plumbing
from lathe_orders.work_orders.models import WorkOrder

__all__ = [
    "AnnouncedDocument",
    "Base",
    "DocumentChange",
    "DocumentSequence",
    "ErpConflict",
    "GoodsReceipt",
    "GoodsReceiptLine",
    "LotView",
    "Partner",
    "ProductModelView",
    "PurchaseOrder",
    "PurchaseOrderLine",
    "Return",
    "ReturnLine",
    "SalesOrder",
    "SalesOrderLine",
    "Shipment",
    "ShipmentLine",
    "ShippedUnit",
    "UnitView",
    "WorkOrder",
    "plumbing",
]
