from decimal import Decimal

from lathe_common.settings import ServiceSettings, secret, settings_config
from pydantic import Field


class OrdersSettings(ServiceSettings):
    model_config = settings_config("LATHE_ORDERS_")

    port: int = 8003
    database_url: str = secret("postgresql+asyncpg://lathe_orders:lathe_orders@127.0.0.1:55432/lathe")
    # Document numbers: prefix (with its separator) and the digits they are padded to.
    purchase_order_prefix: str = Field("PO-", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
    sales_order_prefix: str = Field("SO-", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
    work_order_prefix: str = Field("WO-", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
    goods_receipt_prefix: str = Field("GR-", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
    shipment_prefix: str = Field("DN-", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
    return_prefix: str = Field("RT-", pattern=r"^[A-Z0-9][A-Z0-9_-]{0,15}$")
    number_width: int = Field(6, ge=1, le=18)
    # Four eyes: a purchase order whose total is above this is approved by someone other than its
    # creator (0: every one); an approved order changed beyond it goes back for approval.
    approval_threshold: Decimal = Field(Decimal(0), ge=0)
    # How far a receipt or a shipment may exceed the ordered quantity, in percent.
    over_receipt_tolerance_percent: Decimal = Field(Decimal(0), ge=0, le=100)
    over_delivery_tolerance_percent: Decimal = Field(Decimal(0), ge=0, le=100)
    # The plant's time zone: "today" for overdue work orders.
    plant_timezone: str = Field("UTC", description="IANA zone")


settings = OrdersSettings()
