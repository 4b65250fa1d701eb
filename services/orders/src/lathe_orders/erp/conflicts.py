"""The planners' list of ERP documents Lathe could not apply, and how entries leave it.

An entry is written when a record of ``lathe.erp.*.v1`` is dead-lettered (the consumer tells us,
after the copy is on the ``.dlq`` topic). It stays open until a planner resolves it by hand, or until
a later revision of the same document applies: the ERP has fixed what was wrong, so the older
refusals of that document are resolved by that revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from aiokafka import ConsumerRecord
from lathe_common.errors import Conflict
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from sqlalchemy import Select, update

from lathe_orders.erp.inbound import ErpOrigin, best_effort_origin
from lathe_orders.erp.models import ErpConflict

NEWEST_FIRST = Keyset("erp-conflicts", (ErpConflict.received_at, ErpConflict.id))
DETAIL_CHARACTERS = 2000


@dataclass(frozen=True)
class ConflictFilter:
    topic: str | None = None
    source: str | None = None
    external_id: str | None = None
    reason: str | None = None
    open: bool | None = None  # None: open and resolved alike


class ErpConflicts(Repository[ErpConflict]):
    model = ErpConflict
    noun = "erp conflict"

    async def record(self, record: ConsumerRecord, reason: str, detail: str) -> None:
        source, external_id, revision = best_effort_origin(record.value)
        self.session.add(
            ErpConflict(
                topic=record.topic,
                source=source,
                external_id=external_id,
                revision=revision,
                reason=reason,
                detail=detail.replace("\x00", "")[:DETAIL_CHARACTERS],
                partition=record.partition,
                offset=record.offset,
            )
        )

    def listed(self, where: ConflictFilter) -> Select[tuple[ErpConflict]]:
        statement = self.filtered(
            {
                ErpConflict.topic: where.topic,
                ErpConflict.source: where.source,
                ErpConflict.external_id: where.external_id,
                ErpConflict.reason: where.reason,
            }
        )
        if where.open is not None:
            resolved = ErpConflict.resolved_at.is_(None) if where.open else ErpConflict.resolved_at.is_not(None)
            statement = statement.where(resolved)
        return statement

    async def search(self, params: CursorParams, where: ConflictFilter) -> KeysetPage:
        return await self.keyset_page(params, NEWEST_FIRST, statement=self.listed(where))

    async def resolve(self, id_: int, by: str | None, note: str | None) -> ErpConflict:
        conflict = await self.get(id_, for_update=True)
        if conflict.resolved_at is not None:
            raise Conflict(
                f"ERP conflict {id_} was resolved at {conflict.resolved_at.isoformat()}.", code="already_resolved"
            )
        conflict.resolved_at = datetime.now(UTC)
        conflict.resolved_by = by
        conflict.resolution = note
        return conflict

    async def resolve_by_revision(self, topic: str, origin: ErpOrigin) -> None:
        """A revision of the document applied: its refusals up to that revision are settled."""
        await self.session.execute(
            update(ErpConflict)
            .where(
                ErpConflict.topic == topic,
                ErpConflict.source == origin.source,
                ErpConflict.external_id == origin.external_id,
                ErpConflict.revision <= origin.revision,
                ErpConflict.resolved_at.is_(None),
            )
            .values(
                resolved_at=datetime.now(UTC),
                resolved_by=origin.actor,
                resolution=f"revision {origin.revision} applied",
            )
        )


def newest_first(statement: Select[tuple[ErpConflict]]) -> Select[tuple[ErpConflict]]:
    return NEWEST_FIRST.order(statement)
