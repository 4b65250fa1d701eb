"""A document's change events say what changed and what it was before (``changed``, ``previous``),
so the audit trail shows a planner's edit of a purchase order field by field, as it does for
production's catalog.

Each change event carries the document as GET answers it after the change. The document as last
announced is kept per document (``announced_documents``, written in the change's transaction,
under the document's own row lock), so the difference is taken between what two consecutive events
said, whatever code path made the change: an edit, an action, a goods receipt, a work order's
progress from production's events. ``document_changes`` is the rule, free of storage.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import String, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from lathe_orders.tables import Base

# Fields every change moves: naming them would tell nothing.
UNTRACKED = frozenset({"version", "updated_at"})
# Old values travel beside the whole new document in one Kafka record (at most 1 MiB): they get
# what the document leaves of this budget, at most PREVIOUS_MAX_BYTES; a field whose old value
# does not fit is named in ``changed`` without it (the audit trail shows that it changed).
EVENT_BUDGET_BYTES = 900_000
PREVIOUS_MAX_BYTES = 256 * 1024


class AnnouncedDocument(Base):
    """The last document announced of each purchase, sales and work order."""

    __tablename__ = "announced_documents"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # PO, SO, WO
    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSONB)


def _size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), default=str))


def document_changes(
    before: Mapping[str, Any] | None, after: Mapping[str, Any], *, budget: int = PREVIOUS_MAX_BYTES
) -> tuple[list[str], dict[str, Any]]:
    """The top-level fields of ``after`` that differ from ``before`` (in the document's order), and
    the old values of as many of them as fit in ``budget`` bytes of JSON. A new document (no
    ``before``) changed nothing: its creation is the event."""
    if before is None:
        return [], {}
    changed = [
        name for name, value in after.items() if name not in UNTRACKED and (name not in before or before[name] != value)
    ]
    changed += [name for name in before if name not in after and name not in UNTRACKED]
    previous: dict[str, Any] = {}
    left = budget
    for name in changed:
        if name in before and (size := _size(before[name])) <= left:
            previous[name] = before[name]
            left -= size
    return changed, previous


async def changes_since_announced(
    session: AsyncSession, kind: str, document_id: uuid.UUID, document: dict[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    """What ``document`` changed since the last one announced of it, and it noted as the last."""
    table = AnnouncedDocument.__table__
    before = await session.scalar(
        select(table.c.document).where(table.c.kind == kind, table.c.document_id == document_id)
    )
    budget = min(PREVIOUS_MAX_BYTES, max(0, EVENT_BUDGET_BYTES - _size(document)))
    changed, previous = document_changes(before, document, budget=budget)
    upsert = insert(table).values(kind=kind, document_id=document_id, document=document)
    await session.execute(
        upsert.on_conflict_do_update(index_elements=[table.c.kind, table.c.document_id], set_={"document": document})
    )
    return changed, previous
