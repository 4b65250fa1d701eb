"""Work orders: the document, its lifecycle, and the facts production acts on.

Every method is a unit of the caller's transaction and is meant to be reused beyond REST (the ERP
consumer creates and changes work orders through ``create`` and ``update`` with ``external=``):
each change takes the work order's row lock, raises its version and announces it, with any fact
production acts on (released, cancelled, quantity increased), in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from lathe_common.errors import Conflict, InvalidInput, NotFound
from lathe_common.keyset import CursorParams, Keyset, KeysetPage
from lathe_common.repository import Repository
from lathe_contracts.orders import WorkOrderCancelledEvent, WorkOrderQuantityIncreasedEvent, WorkOrderReleasedEvent
from sqlalchemy import Select, and_, not_, select

from lathe_orders.documents import DocumentChange, check_if_match
from lathe_orders.fulfilment import FINISHED_WORK_ORDERS, LineMovements, check_quantity_not_below_done
from lathe_orders.lifecycles import WORK_ORDER, WorkOrderStatus, check_close_reason, resumed_status
from lathe_orders.numbering import DocumentKind, next_number
from lathe_orders.projections.models import ProductModelView
from lathe_orders.sales_orders.models import SalesOrderLine
from lathe_orders.settings import settings
from lathe_orders.work_orders.announce import announce, database_now, today_at_plant
from lathe_orders.work_orders.models import WorkOrder
from lathe_orders.work_orders.progress import advance
from lathe_orders.work_orders.rules import check_dates, check_editable
from lathe_orders.work_orders.schemas import WorkOrderCreate, WorkOrderUpdate

W = WorkOrderStatus
NEWEST_FIRST = Keyset("work_orders", (WorkOrder.created_at, WorkOrder.id))


@dataclass(frozen=True)
class ExternalRef:
    """An ERP's own identity of a document: its system, its id there, and the revision applied."""

    source: str
    external_id: str
    revision: int


@dataclass(frozen=True)
class WorkOrderFilters:
    status: WorkOrderStatus | None = None
    priority: str | None = None
    model_code: str | None = None
    due_before: date | None = None
    overdue: bool | None = None
    sales_order_line_id: uuid.UUID | None = None
    q: str | None = None


class WorkOrders(Repository[WorkOrder]):
    model = WorkOrder
    noun = "work order"

    async def find(self, key: str, *, for_update: bool = False) -> WorkOrder:  # type: ignore[override]
        return await super().find(key, WorkOrder.number, for_update=for_update)

    async def _locked(self, key: str, if_match: str | None) -> WorkOrder:
        """The work order under its row lock, at the version the caller has seen."""
        wo = await self.find(key, for_update=True)
        check_if_match(if_match, wo.version)
        return wo

    # -- reading ---------------------------------------------------------------------------

    async def today(self) -> date:
        """Today at the plant (``overdue`` is measured against it)."""
        return await today_at_plant(self.session)

    def listed(self, filters: WorkOrderFilters, today: date) -> Select[Any]:
        """The list's statement, unordered: a page of it (newest first), or all of it for an export."""
        statement = select(WorkOrder)
        if filters.due_before is not None:
            statement = statement.where(WorkOrder.due_date < filters.due_before)
        if filters.overdue is not None:
            late = and_(
                WorkOrder.due_date.is_not(None),
                WorkOrder.due_date < today,
                WorkOrder.status.not_in([s.value for s in FINISHED_WORK_ORDERS]),
            )
            statement = statement.where(late if filters.overdue else not_(late))
        statement = self.containing(
            statement, filters.q, WorkOrder.number, WorkOrder.model_code, WorkOrder.notes, WorkOrder.external_id
        )
        equal = {
            WorkOrder.status: filters.status.value if filters.status else None,
            WorkOrder.priority: filters.priority,
            WorkOrder.model_code: filters.model_code,
            WorkOrder.sales_order_line_id: filters.sales_order_line_id,
        }
        return self.filtered(equal, statement)

    async def search(self, params: CursorParams, filters: WorkOrderFilters, today: date) -> KeysetPage:
        return await self.keyset_page(params, NEWEST_FIRST, statement=self.listed(filters, today))

    async def changes(self, key: str) -> list[DocumentChange]:
        """What was changed after the release: field by field, oldest first."""
        wo = await self.find(key)
        return list(
            await self.session.scalars(
                select(DocumentChange)
                .where(
                    DocumentChange.document_kind == DocumentKind.WORK_ORDER.value,
                    DocumentChange.document_id == wo.id,
                )
                .order_by(DocumentChange.id)
            )
        )

    # -- creating and changing -------------------------------------------------------------

    async def create(
        self, data: WorkOrderCreate, *, actor: str | None, external: ExternalRef | None = None
    ) -> WorkOrder:
        await self._check_model(data.model_code)
        check_dates(data.planned_start, data.due_date)
        if data.sales_order_line_id is not None:
            await self._check_sales_order_line(data.sales_order_line_id, data.model_code)
        number = await next_number(
            self.session, DocumentKind.WORK_ORDER, settings.work_order_prefix, settings.number_width
        )
        wo = WorkOrder(
            number=number,
            status=W.DRAFT.value,
            created_by=actor,
            **(data.model_dump() | {"priority": data.priority.value}),
        )
        if external is not None:
            wo.external_source, wo.external_id = external.source, external.external_id
            wo.external_revision = external.revision
        self.session.add(wo)
        await announce(self.session, wo, "created", created=True)
        return wo

    async def update(
        self,
        key: str,
        data: WorkOrderUpdate,
        *,
        actor: str | None,
        if_match: str | None = None,
        external: ExternalRef | None = None,
    ) -> WorkOrder:
        """Apply the fields ``data`` sets. Through the API ``if_match`` must name the current version;
        an ERP's revision (``external``, applied in revision order by its consumer) stands for it."""
        wo = await self.find(key, for_update=True)
        if external is None:
            check_if_match(if_match, wo.version)
        wanted = data.model_dump(exclude_unset=True)
        if "priority" in wanted:
            wanted["priority"] = wanted["priority"].value
        changed = {name: value for name, value in wanted.items() if getattr(wo, name) != value}
        if not changed:
            return wo
        status = W(wo.status)
        check_editable(status, changed)
        check_dates(changed.get("planned_start", wo.planned_start), changed.get("due_date", wo.due_date))
        if "model_code" in changed:
            await self._check_model(changed["model_code"])
        line_id = changed.get("sales_order_line_id", wo.sales_order_line_id)
        if line_id is not None and ("sales_order_line_id" in changed or "model_code" in changed):
            await self._check_sales_order_line(line_id, changed.get("model_code", wo.model_code))
        facts = []
        if status is not W.DRAFT:  # drafts change freely; afterwards each change is logged
            if "quantity" in changed:
                done = LineMovements(ordered=Decimal(wo.quantity), moved=Decimal(wo.quantity_good))
                check_quantity_not_below_done(done, Decimal(changed["quantity"]))
                if changed["quantity"] > wo.quantity:
                    wo.plan_requests += 1
                    facts.append(
                        WorkOrderQuantityIncreasedEvent(
                            id=wo.id,
                            number=wo.number,
                            model_code=wo.model_code,
                            quantity=changed["quantity"] - wo.quantity,
                            new_quantity=changed["quantity"],
                            create_serials=wo.create_serials,
                            request_no=wo.plan_requests,
                        )
                    )
            self.session.add_all(
                DocumentChange(
                    document_kind=DocumentKind.WORK_ORDER.value,
                    document_id=wo.id,
                    field=name,
                    old_value=_text(getattr(wo, name)),
                    new_value=_text(value),
                    changed_by=actor,
                )
                for name, value in sorted(changed.items())
            )
        for name, value in changed.items():
            setattr(wo, name, value)
        if external is not None:
            wo.external_revision = external.revision
        _, settled_facts = advance(wo, await database_now(self.session), started=False)  # a lower quantity may be done
        await announce(self.session, wo, "updated", *facts, *settled_facts)
        return wo

    async def delete(self, key: str, *, if_match: str | None) -> None:
        wo = await self._locked(key, if_match)
        if wo.status != W.DRAFT.value:
            raise Conflict(
                f"Work order {wo.number} is {wo.status}: only drafts are deleted; cancel or close it instead.",
                code="not_a_draft",
            )
        await announce(self.session, wo, "deleted")
        await self.session.delete(wo)
        await self.session.flush()

    # -- the lifecycle ---------------------------------------------------------------------

    async def release(self, key: str, *, if_match: str | None) -> WorkOrder:
        """Production is asked to plan it (``WorkOrderReleasedEvent``); it answers with the LOTs it
        planned, or a rejection that brings the work order back to DRAFT with the reason."""
        wo = await self._locked(key, if_match)
        _check_action(W(wo.status), W.RELEASED, only_from=W.DRAFT, action="released")  # stopped: resume
        wo.status = W.RELEASED.value
        wo.released_at = await database_now(self.session)
        wo.rejection_code = wo.rejection_reason = None
        released = WorkOrderReleasedEvent(
            id=wo.id,
            number=wo.number,
            model_code=wo.model_code,
            quantity=wo.quantity,
            priority=wo.priority,
            due_date=wo.due_date.isoformat() if wo.due_date else None,
            create_serials=wo.create_serials,
        )
        await announce(self.session, wo, "released", released)
        return wo

    async def stop(self, key: str, *, if_match: str | None) -> WorkOrder:
        wo = await self._locked(key, if_match)
        WORK_ORDER.check(W(wo.status), W.STOPPED)
        wo.status = W.STOPPED.value
        await announce(self.session, wo, "stopped")
        return wo

    async def resume(self, key: str, *, if_match: str | None) -> WorkOrder:
        """Back to where it stopped (in progress once production started on it), and on from there:
        progress made while it was stopped may complete it or ask for replacements now."""
        wo = await self._locked(key, if_match)
        target = resumed_status(wo.started_at is not None)
        _check_action(W(wo.status), target, only_from=W.STOPPED, action="resumed")
        wo.status = target.value
        _, facts = advance(wo, await database_now(self.session), started=False)
        await announce(self.session, wo, "resumed", *facts)
        return wo

    async def cancel(self, key: str, *, if_match: str | None) -> WorkOrder:
        """Production cancels the LOTs that have not started (``WorkOrderCancelledEvent``); started
        ones are left to the plant."""
        wo = await self._locked(key, if_match)
        WORK_ORDER.check(W(wo.status), W.CANCELLED)
        wo.status = W.CANCELLED.value
        wo.cancelled_at = await database_now(self.session)
        facts = [WorkOrderCancelledEvent(id=wo.id, number=wo.number)] if wo.released_at is not None else []
        await announce(self.session, wo, "cancelled", *facts)
        return wo

    async def close(self, key: str, *, reason: str | None, if_match: str | None) -> WorkOrder:
        """Closed when complete, or short (fewer good than ordered) with a reason."""
        wo = await self._locked(key, if_match)
        WORK_ORDER.check(W(wo.status), W.CLOSED)
        check_close_reason("work order", open_balance=wo.quantity_good < wo.quantity, reason=reason)
        wo.status = W.CLOSED.value
        wo.closed_at = await database_now(self.session)
        wo.close_reason = reason.strip() if reason and reason.strip() else None
        await announce(self.session, wo, "closed")
        return wo

    # -- references ------------------------------------------------------------------------

    async def _check_model(self, model_code: str) -> None:
        """The model must be one production announced, and active (orders' projection of it)."""
        model = await self.session.get(ProductModelView, model_code)
        if model is None:
            raise NotFound(f"Production knows no product model {model_code}.", code="product_model_not_found")
        if not model.is_active:
            raise InvalidInput(f"Product model {model_code} is inactive.", code="inactive_product_model")

    async def _check_sales_order_line(self, line_id: uuid.UUID, model_code: str) -> None:
        line = await self.session.get(SalesOrderLine, line_id)
        if line is None:
            raise InvalidInput(f"No sales-order line {line_id}.", code="sales_order_line_not_found")
        if line.model_code != model_code:
            raise InvalidInput(
                f"The sales-order line is for {line.model_code}, not {model_code}.",
                code="sales_order_line_model_mismatch",
            )


def _check_action(status: WorkOrderStatus, target: WorkOrderStatus, *, only_from: WorkOrderStatus, action: str) -> None:
    """Release and resume share moves in the table (DRAFT or STOPPED -> RELEASED); each action is
    taken from its own status only, then the table decides."""
    if status is not only_from:
        raise Conflict(
            f"Only a {only_from} work order is {action}; this one is {status}.",
            code="invalid_status_transition",
            current_status=status.value,
            requested_status=target.value,
        )
    WORK_ORDER.check(status, target)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
