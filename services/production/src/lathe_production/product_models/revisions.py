"""Revisions of a model's routing and BOM against storage: recording them, reading them, and
reading what a LOT pinned (for the step recorder and the BOM check of genealogy).

A LOT pins its model's revision by label (``lots.revision``). Revision rows are never changed, so
what a pin names is read once per process and kept (``pinned_routings``). A model written by SQL
rather than through the API has no revision rows: its LOTs follow its current routing, with no BOM,
until its first change through the API records the revision it had (see ``Revisions.record``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common import context
from lathe_common.errors import NotFound
from lathe_common.pagination import PageParams, paginate
from sqlalchemy import String, Uuid, and_, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.lots.models import Lot
from lathe_production.processes.models import Process
from lathe_production.product_models.models import ProductModel, ProductModelRevision, RoutingStep
from lathe_production.product_models.rules import revision_changes, revision_label, revision_number

_revisions = ProductModelRevision.__table__
_routing_steps = RoutingStep.__table__
_processes = Process.__table__

Pin = tuple[uuid.UUID, str]  # (product model id, revision label)
# Routings of revisions, by pin: rows never change, so a process keeps what it read (bounded).
_PINNED_ROUTINGS: dict[Pin, list[str]] = {}
_PINNED_ROUTINGS_MAX = 10_000


class Revisions:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        model: ProductModel,
        *,
        before: tuple[list[str], list[dict[str, Any]]] | None,
        routing: list[str],
        bom: list[dict[str, Any]],
        reason: str | None,
    ) -> ProductModelRevision:
        """The model's next revision (A for a new model), by the signed-in user; ``before`` is the
        routing and BOM it replaces (None for a new model). The caller holds the model's row lock
        and sets ``model.revision`` from the answer."""
        number = 1
        if before is not None:
            current = await self._current(model)
            if current is None:
                # Written by SQL, never revised through the API: record what it was as its revision,
                # so the LOTs that pinned it keep a routing of their own.
                number = revision_number(model.revision) or 1
                current = await self._add(model, number, *before, reason=None, by=None, at=model.created_at)
            number = current.revision_no + 1
        previous_routing, previous_bom = before if before is not None else ([], [])
        return await self._add(
            model, number, routing, bom, reason=reason, by=context.actor.get(), against=(previous_routing, previous_bom)
        )

    async def _current(self, model: ProductModel) -> ProductModelRevision | None:
        return await self.session.scalar(
            select(ProductModelRevision).where(
                ProductModelRevision.product_model_id == model.id, ProductModelRevision.revision == model.revision
            )
        )

    async def _add(
        self,
        model: ProductModel,
        number: int,
        routing: list[str],
        bom: list[dict[str, Any]],
        *,
        reason: str | None,
        by: str | None,
        against: tuple[list[str], list[dict[str, Any]]] = ([], []),
        at: datetime | None = None,
    ) -> ProductModelRevision:
        revision = ProductModelRevision(
            product_model_id=model.id,
            revision_no=number,
            revision=revision_label(number),
            routing=routing,
            bom=bom,
            changes=revision_changes((against[0], routing), (against[1], bom)),
            reason=reason,
            created_by=by,
        )
        if at is not None:
            revision.created_at = at
        self.session.add(revision)
        await self.session.flush()
        return revision

    async def page(self, model: ProductModel, page: PageParams) -> tuple[list[ProductModelRevision], int]:
        """Newest first."""
        statement = (
            select(ProductModelRevision)
            .where(ProductModelRevision.product_model_id == model.id)
            .order_by(ProductModelRevision.revision_no.desc())
        )
        return await paginate(self.session, statement, page)

    async def find(self, model: ProductModel, label: str) -> ProductModelRevision:
        number = revision_number(label.upper())
        found = None
        if number is not None:
            found = await self.session.scalar(
                select(ProductModelRevision).where(
                    ProductModelRevision.product_model_id == model.id, ProductModelRevision.revision_no == number
                )
            )
        if found is None:
            raise NotFound(f"Product model {model.model_code} has no revision {label}.", code="revision_not_found")
        return found


async def pinned_routings(session: AsyncSession, pins: set[Pin]) -> dict[Pin, list[str]]:
    """The routing each pin names, in at most two queries for any number of pins (none for pins read
    before): the step recorder's batches ask for all their LOTs at once."""
    found = {pin: _PINNED_ROUTINGS[pin] for pin in pins if pin in _PINNED_ROUTINGS}
    wanted = pins - found.keys()
    if not wanted:
        return found
    model_ids = sorted({model_id for model_id, _ in wanted})
    rows = await session.execute(
        select(_revisions.c.product_model_id, _revisions.c.revision, _revisions.c.routing).where(
            _revisions.c.product_model_id == any_(bindparam("pinned_models", model_ids, type_=ARRAY(Uuid))),
            _revisions.c.revision
            == any_(bindparam("pinned_labels", sorted({r for _, r in wanted}), type_=ARRAY(String))),
        )
    )
    if len(_PINNED_ROUTINGS) > _PINNED_ROUTINGS_MAX:
        _PINNED_ROUTINGS.clear()
    for model_id, label, routing in rows:
        if (model_id, label) in wanted:
            found[(model_id, label)] = _PINNED_ROUTINGS[(model_id, label)] = routing
    unrevised = sorted({model_id for model_id, label in wanted if (model_id, label) not in found})
    if unrevised:
        current = await _current_routings(session, unrevised)
        for pin in wanted - found.keys():
            found[pin] = current.get(pin[0], [])
    return found


async def _current_routings(session: AsyncSession, model_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """Routings as ``routing_steps`` hold them now: for models without revision rows."""
    rows = await session.execute(
        select(_routing_steps.c.product_model_id, _processes.c.process_code)
        .join(_processes, _processes.c.id == _routing_steps.c.process_id)
        .where(_routing_steps.c.product_model_id == any_(bindparam("models", model_ids, type_=ARRAY(Uuid))))
        .order_by(_routing_steps.c.product_model_id, _routing_steps.c.step_no)
    )
    routings: dict[uuid.UUID, list[str]] = {model_id: [] for model_id in model_ids}
    for model_id, code in rows:
        routings[model_id].append(code)
    return routings


async def pinned_bom(session: AsyncSession, lot_id: uuid.UUID) -> list[dict[str, Any]]:
    """The BOM of the revision a LOT pinned (empty when its model has no revision rows)."""
    bom = await session.scalar(
        select(ProductModelRevision.bom)
        .join(
            Lot,
            and_(
                Lot.product_model_id == ProductModelRevision.product_model_id,
                Lot.revision == ProductModelRevision.revision,
            ),
        )
        .where(Lot.id == lot_id)
    )
    return bom or []
