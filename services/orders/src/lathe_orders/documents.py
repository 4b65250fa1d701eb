"""What purchase, sales and work orders share: their common columns, optimistic concurrency
(``ETag`` / ``If-Match``), and the log of changes made after a document left its draft.

Every change to a document raises its ``version``; ``GET`` answers it as ``ETag: W/"<version>"``
and ``PATCH`` / ``PUT`` / actions that change it must send it back in ``If-Match``: an older one
gets 412 ``stale_document`` (someone changed it since), none at all 428 ``precondition_required``,
so two planners never silently overwrite each other. The check is made under the document's row
lock, so two requests with the same version cannot both pass it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from lathe_common.db import Timestamps
from lathe_common.errors import LatheError
from sqlalchemy import BigInteger, DateTime, Identity, Integer, Numeric, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_orders.tables import Base

MONEY = Numeric(20, 4)  # amounts, rounded to the currency's minor unit (at most 4: CLF)
PRICE = Numeric(20, 6)  # unit prices: more decimals than the currency
QUANTITY = Numeric(18, 6)
RATE = Numeric(7, 4)  # percent


class PreconditionFailed(LatheError):
    status = 412
    code = "stale_document"
    title = "Precondition failed"


class PreconditionRequired(LatheError):
    status = 428
    code = "precondition_required"
    title = "Precondition required"


def etag(version: int) -> str:
    return f'W/"{version}"'


def check_if_match(if_match: str | None, version: int) -> None:
    """The client's ``If-Match`` must name the document's current version (``*`` is not accepted:
    it would skip the very check the header exists for)."""
    if if_match is None:
        raise PreconditionRequired(
            "Send the document's ETag in If-Match (from the GET): changes are made to a version you have seen."
        )
    tags = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if f'"{version}"' not in tags:
        raise PreconditionFailed(
            "The document changed since you read it; read it again and redo your change.",
            current_etag=etag(version),
        )


class DocumentColumns(Timestamps):
    """Columns every order document has."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    close_reason: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # From an ERP (lathe.erp.*.v1): its own id beside Lathe's number, and the revision applied last.
    external_source: Mapped[str | None] = mapped_column(String(64))
    external_id: Mapped[str | None] = mapped_column(String(128))
    external_revision: Mapped[int | None] = mapped_column(Integer)


class PricedDocumentColumns(DocumentColumns):
    """Purchase and sales orders: priced lines in one currency, totals computed by the service."""

    currency: Mapped[str] = mapped_column(String(3))
    subtotal: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0), server_default="0")
    tax_total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0), server_default="0")
    total: Mapped[Decimal] = mapped_column(MONEY, default=Decimal(0), server_default="0")


class DocumentChange(Base):
    """A change made to a document (or one of its lines) after its draft: who, when, from what to what."""

    __tablename__ = "document_changes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    document_kind: Mapped[str] = mapped_column(String(32))
    document_id: Mapped[uuid.UUID] = mapped_column(index=True)
    line_no: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(64))
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(64))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
