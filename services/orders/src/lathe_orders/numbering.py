"""Document numbers (``PO-000001``): one counter per kind, claimed with one atomic upsert in the
creating transaction, so concurrent creations queue on the counter's row and each gets its own
number. A number is never reused: a transaction that rolls back leaves a gap, never a duplicate."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, String
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from lathe_orders.tables import Base


class DocumentKind(StrEnum):
    PURCHASE_ORDER = "PURCHASE_ORDER"
    SALES_ORDER = "SALES_ORDER"
    WORK_ORDER = "WORK_ORDER"
    GOODS_RECEIPT = "GOODS_RECEIPT"
    SHIPMENT = "SHIPMENT"
    RETURN = "RETURN"


class DocumentSequence(Base):
    __tablename__ = "document_sequences"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_value: Mapped[int] = mapped_column(BigInteger)


def document_number(prefix: str, width: int, value: int) -> str:
    """``PO-000001``: the prefix (with its separator), the value zero-padded to ``width`` digits (more when needed)."""
    return f"{prefix}{value:0{width}d}"


async def next_number(session: AsyncSession, kind: DocumentKind, prefix: str, width: int) -> str:
    value = await session.scalar(
        insert(DocumentSequence)
        .values(kind=kind.value, last_value=1)
        .on_conflict_do_update(
            index_elements=[DocumentSequence.kind], set_={"last_value": DocumentSequence.last_value + 1}
        )
        .returning(DocumentSequence.last_value)
    )
    return document_number(prefix, width, int(value))
