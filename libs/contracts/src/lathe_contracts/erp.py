"""What ERP systems publish to Lathe: their purchase, sales and work orders, upserted by the
orders service by (source, external_id) and revision (docs/integration.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

PURCHASE_ORDERS_TOPIC = "lathe.erp.purchase-orders.v1"
SALES_ORDERS_TOPIC = "lathe.erp.sales-orders.v1"
WORK_ORDERS_TOPIC = "lathe.erp.work-orders.v1"


class ErpDocument(BaseModel):
    """Key: ``source:external_id`` (so one document's revisions stay in order on one partition)."""

    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=64, description="the ERP, e.g. SAP-PRD")
    external_id: str = Field(min_length=1, max_length=128, description="the document's id in that ERP")
    revision: int = Field(
        ge=0, le=2**31 - 1, strict=True, description="an integer; higher revisions replace lower ones"
    )
    document: dict[str, Any] = Field(description="the REST create shape of the document")
