"""Purchase orders against storage: creation, controlled changes, the lifecycle's moves.

Every change takes the order's row lock (``SELECT ... FOR UPDATE``), checks the client's
``If-Match`` against the version under it, raises the version and writes the order's full state
to the outbox in the same transaction. The methods take the acting user's name and are what the
REST endpoints call; an ERP consumer calls them too (``create(..., external=...)``,
``change(..., unconditional=True, external_revision=...)``) and so applies the same rules.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from lathe_common.errors import Conflict, InvalidInput, NotFound
from lathe_common.repository import Repository
from lathe_contracts.orders import PurchaseOrderChangedEvent
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.announcements import changes_since_announced
from lathe_orders.documents import DocumentChange, check_if_match
from lathe_orders.fulfilment import check_quantity_not_below_done, receipt_state
from lathe_orders.lifecycles import PURCHASE_ORDER, PurchaseOrderStatus, check_cancellable, check_close_reason
from lathe_orders.money import LinePrice, check_amount_fits, line_amounts, minor_unit, totals
from lathe_orders.numbering import DocumentKind, next_number
from lathe_orders.outbox import outbox
from lathe_orders.partners.models import Partner, PartnerKind
from lathe_orders.partners.service import Partners
from lathe_orders.purchase_orders.models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine
from lathe_orders.purchase_orders.rules import (
    ChangeSet,
    Override,
    check_change_allowed,
    check_editable,
    check_four_eyes,
    check_submit,
    needs_reapproval,
)
from lathe_orders.purchase_orders.schemas import (
    ApproveRequest,
    LineChange,
    LineCreate,
    PurchaseOrderCreate,
    PurchaseOrderUpdate,
)
from lathe_orders.purchase_orders.views import movements, order_read, plain
from lathe_orders.settings import OrdersSettings, settings

P = PurchaseOrderStatus
KIND = DocumentKind.PURCHASE_ORDER.value
HEADER_FIELDS = ("expected_date", "notes")


def _text(value: Any) -> str | None:
    if isinstance(value, Decimal):
        return str(plain(value))
    return None if value is None else str(value)


class PurchaseOrders(Repository[PurchaseOrder]):
    model = PurchaseOrder
    noun = "purchase order"

    def __init__(self, session: AsyncSession, config: OrdersSettings = settings) -> None:
        super().__init__(session)
        self.settings = config

    async def find(self, key: str, *, for_update: bool = False) -> PurchaseOrder:  # type: ignore[override]
        # Under the lock, read the row as it is now, even if this session saw it before.
        statement = select(PurchaseOrder).execution_options(populate_existing=True) if for_update else None
        return await super().find(key, PurchaseOrder.number, for_update=for_update, statement=statement)

    async def locked(self, key: str, if_match: str | None, *, unconditional: bool = False) -> PurchaseOrder:
        """The order under its row lock, at the version the client has seen (unless ``unconditional``:
        an ERP's revisions are ordered by their revision number instead)."""
        order = await self.find(key, for_update=True)
        if not unconditional:
            check_if_match(if_match, order.version)
        return order

    # -- creating and changing ---------------------------------------------------------------

    async def create(
        self, data: PurchaseOrderCreate, *, actor: str | None, external: tuple[str, str, int] | None = None
    ) -> PurchaseOrder:
        """A DRAFT order; ``external`` = (source, external_id, revision) for an ERP's document."""
        supplier = await self._supplier(data.supplier_code)
        minor_unit(data.currency)  # ISO 4217 with a minor unit, or 422 unknown_currency
        order = PurchaseOrder(
            id=uuid.uuid4(),
            status=P.DRAFT.value,
            supplier_id=supplier.id,
            currency=data.currency,
            expected_date=data.expected_date,
            notes=data.notes,
            created_by=actor,
            version=1,
        )
        order.supplier = supplier
        if external is not None:
            order.external_source, order.external_id, order.external_revision = external
        order.lines = [self._new_line(n, line) for n, line in enumerate(data.lines, start=1)]
        self._price(order)
        # Claimed last: the counter's row stays locked until this transaction ends.
        order.number = await next_number(
            self.session, DocumentKind.PURCHASE_ORDER, self.settings.purchase_order_prefix, self.settings.number_width
        )
        self.session.add(order)
        await self.session.flush()
        await self.announce(order, "created")
        return order

    async def change(
        self,
        key: str,
        data: PurchaseOrderUpdate,
        *,
        actor: str | None,
        if_match: str | None = None,
        unconditional: bool = False,
        external_revision: int | None = None,
    ) -> PurchaseOrder:
        """Drafts change freely; after submission only dates, notes, quantities (never below what
        the plant has) and new lines, each change logged; an APPROVED order whose total rises
        beyond the threshold goes back to SUBMITTED. A change that changes nothing is no change."""
        order = await self.locked(key, if_match, unconditional=unconditional)
        status = P(order.status)
        check_editable(status)
        given = data.model_dump(exclude_unset=True, exclude={"lines"})
        header = {name: given[name] for name in HEADER_FIELDS if name in given and given[name] != getattr(order, name)}
        supplier = None
        if given.get("supplier_code") not in (None, order.supplier.code):
            supplier = await self._supplier(given["supplier_code"])
            header["supplier_code"] = supplier.code
        if given.get("currency") not in (None, order.currency):
            minor_unit(given["currency"])
            header["currency"] = given["currency"]
        edits, removed, added = self._line_changes(order, data.lines if "lines" in data.model_fields_set else [])
        change = ChangeSet(set(header), {n: set(fields) for n, fields in edits.items()}, removed, len(added))
        if change.empty:
            if external_revision is not None and order.external_revision != external_revision:
                order.external_revision = external_revision
                await self.session.flush()
            return order
        check_change_allowed(status, change)
        if len(order.lines) - len(removed) + len(added) == 0:
            raise InvalidInput("A purchase order keeps at least one line.", code="no_lines")
        log = status is not P.DRAFT
        for name, value in header.items():
            old = order.supplier.code if name == "supplier_code" else getattr(order, name)
            if log:
                self._log(order, actor, name, old, value)
            if name != "supplier_code":
                setattr(order, name, value)
        if supplier is not None:
            order.supplier_id, order.supplier = supplier.id, supplier
        self._apply_lines(order, edits, removed, added, actor=actor, log=log)
        self._price(order)
        if needs_reapproval(status, order.approved_total, order.total, self.settings.approval_threshold):
            self._move(order, P.SUBMITTED, actor)
            order.approved_by = order.approved_at = order.approval_override_reason = None
        order.receipt_state = receipt_state(movements(line) for line in order.lines).value
        if external_revision is not None:
            order.external_revision = external_revision
        order.version += 1
        await self.session.flush()
        await self.announce(order, "updated")
        return order

    async def delete(self, key: str, *, actor: str | None, if_match: str | None) -> None:
        order = await self.locked(key, if_match)
        if order.status != P.DRAFT:
            raise Conflict(
                f"Only drafts are deleted; this one is {order.status}: cancel or close it.",
                code="not_a_draft",
                current_status=order.status,
            )
        await self.announce(order, "deleted")
        await self.session.delete(order)
        await self.session.flush()

    def _line_changes(
        self, order: PurchaseOrder, changes: list[LineChange]
    ) -> tuple[dict[int, dict[str, Any]], set[int], list[LineCreate]]:
        """Which fields of which lines really change, which lines go, which are new."""
        by_no = {line.line_no: line for line in order.lines}
        edits: dict[int, dict[str, Any]] = {}
        removed: set[int] = set()
        added: list[LineCreate] = []
        for change in changes:
            fields = change.model_dump(exclude_unset=True, exclude={"line_no", "remove"})
            if change.line_no is None:
                if change.remove:
                    raise InvalidInput("To remove a line, name it by line_no.", code="line_no_required")
                added.append(_complete(fields))
                continue
            line = by_no.get(change.line_no)
            if line is None:
                raise NotFound(
                    f"The order has no line {change.line_no}.", code="line_not_found", line_no=change.line_no
                )
            if change.line_no in edits or change.line_no in removed:
                raise InvalidInput(f"Line {change.line_no} is named twice.", code="duplicate_line")
            if change.remove:
                removed.add(change.line_no)
                continue
            edits[change.line_no] = {name: value for name, value in fields.items() if getattr(line, name) != value}
        return edits, removed, added

    def _apply_lines(
        self,
        order: PurchaseOrder,
        edits: dict[int, dict[str, Any]],
        removed: set[int],
        added: list[LineCreate],
        *,
        actor: str | None,
        log: bool,
    ) -> None:
        """``log``: the order left its draft, so each change is logged (who, when, from what to what)."""
        next_no = max((line.line_no for line in order.lines), default=0) + 1  # never a removed line's number
        for line in list(order.lines):
            fields = edits.get(line.line_no, {})
            if "quantity" in fields:
                if line.closed_short:
                    raise Conflict(f"Line {line.line_no} is closed short; its quantity stays.", code="line_closed")
                check_quantity_not_below_done(movements(line), fields["quantity"])
            for name, value in fields.items():
                if log:
                    self._log(order, actor, name, getattr(line, name), value, line_no=line.line_no)
                setattr(line, name, value)
            if line.line_no in removed:
                order.lines.remove(line)
        for offset, data in enumerate(added):
            line = self._new_line(next_no + offset, data)
            order.lines.append(line)
            if log:
                self._log(
                    order, actor, "line", None, f"{data.item_code} {data.quantity} {data.unit}", line_no=line.line_no
                )

    # -- the lifecycle ------------------------------------------------------------------------

    async def submit(self, key: str, *, actor: str | None, if_match: str | None) -> PurchaseOrder:
        order = await self.locked(key, if_match)
        check_submit(P(order.status))
        self._move(order, P.SUBMITTED, actor)
        order.submitted_at = await self._now()
        return await self._saved(order, "submitted")

    async def approve(
        self, key: str, request: ApproveRequest, *, actor: str, may_override: bool, if_match: str | None
    ) -> PurchaseOrder:
        order = await self.locked(key, if_match)
        PURCHASE_ORDER.check(P(order.status), P.APPROVED)
        override_reason = check_four_eyes(
            total=order.total,
            threshold=self.settings.approval_threshold,
            creator=order.created_by,
            approver=actor,
            override=Override(request.reason) if request.override_four_eyes else None,
            may_override=may_override,
        )
        self._move(order, P.APPROVED, actor)
        order.approved_by, order.approved_at, order.approved_total = actor, await self._now(), order.total
        order.approval_override_reason = override_reason
        if override_reason is not None:
            self._log(order, actor, "four_eyes_override", None, override_reason)
        return await self._saved(order, "approved")

    async def cancel(self, key: str, *, actor: str | None, if_match: str | None, reason: str | None) -> PurchaseOrder:
        order = await self.locked(key, if_match)
        PURCHASE_ORDER.check(P(order.status), P.CANCELLED)
        receipts = await self.session.scalar(
            select(func.count()).select_from(GoodsReceipt).where(GoodsReceipt.purchase_order_id == order.id)
        )
        check_cancellable("purchase order", movements=int(receipts or 0))
        self._move(order, P.CANCELLED, actor)
        order.cancelled_at = await self._now()
        order.close_reason = reason
        return await self._saved(order, "cancelled")

    async def close(self, key: str, *, actor: str | None, if_match: str | None, reason: str | None) -> PurchaseOrder:
        """CLOSED; lines still open are closed short with the reason (which they then need)."""
        order = await self.locked(key, if_match)
        PURCHASE_ORDER.check(P(order.status), P.CLOSED)
        still_open = [line for line in order.lines if movements(line).open_balance > 0]
        check_close_reason("purchase order", open_balance=bool(still_open), reason=reason)
        for line in still_open:
            line.closed_short, line.close_reason = True, reason
            self._log(order, actor, "closed_short", None, reason, line_no=line.line_no)
        self._move(order, P.CLOSED, actor)
        order.closed_at, order.close_reason = await self._now(), reason
        order.receipt_state = receipt_state(movements(line) for line in order.lines).value
        return await self._saved(order, "closed")

    async def close_line(
        self, key: str, line_no: int, *, actor: str | None, if_match: str | None, reason: str
    ) -> PurchaseOrder:
        """One line of an APPROVED order closed short: what it still lacks is not expected any more."""
        order = await self.locked(key, if_match)
        if order.status != P.APPROVED:
            raise Conflict(
                f"Lines are closed short on APPROVED orders; this one is {order.status}.",
                code="order_not_approved",
                current_status=order.status,
            )
        line = next((line for line in order.lines if line.line_no == line_no), None)
        if line is None:
            raise NotFound(f"Purchase order {order.number} has no line {line_no}.", code="line_not_found")
        if line.closed_short:
            raise Conflict(f"Line {line_no} is closed short already.", code="line_closed")
        check_close_reason("purchase order line", open_balance=True, reason=reason)
        line.closed_short, line.close_reason = True, reason
        self._log(order, actor, "closed_short", None, reason, line_no=line_no)
        order.receipt_state = receipt_state(movements(line) for line in order.lines).value
        return await self._saved(order, "line_closed")

    async def changes(self, key: str) -> list[DocumentChange]:
        order = await self.find(key)
        return list(
            (
                await self.session.scalars(
                    select(DocumentChange)
                    .where(DocumentChange.document_kind == KIND, DocumentChange.document_id == order.id)
                    .order_by(DocumentChange.id)
                )
            ).all()
        )

    # -- shared steps -------------------------------------------------------------------------

    async def announce(self, order: PurchaseOrder, change: str) -> None:
        """The order's full state, as GET answers it, in the outbox of this transaction."""
        document = order_read(order).model_dump(mode="json")
        changed, previous = await changes_since_announced(self.session, "PO", order.id, document)
        event = PurchaseOrderChangedEvent(
            id=order.id, number=order.number, change=change, document=document, changed=changed, previous=previous
        )
        await outbox.add(self.session, event)

    async def _saved(self, order: PurchaseOrder, change: str) -> PurchaseOrder:
        order.version += 1
        await self.session.flush()
        await self.announce(order, change)
        return order

    def _move(self, order: PurchaseOrder, target: PurchaseOrderStatus, actor: str | None) -> None:
        current = P(order.status)
        PURCHASE_ORDER.check(current, target)
        order.status = target.value
        self._log(order, actor, "status", current.value, target.value)

    def _log(
        self, order: PurchaseOrder, actor: str | None, field: str, old: Any, new: Any, *, line_no: int | None = None
    ) -> None:
        self.session.add(
            DocumentChange(
                document_kind=KIND,
                document_id=order.id,
                line_no=line_no,
                field=field,
                old_value=_text(old),
                new_value=_text(new),
                changed_by=actor,
            )
        )

    async def _now(self):  # noqa: ANN202 - a datetime: the database's clock, as for created_at
        return await self.session.scalar(select(func.now()))

    async def _supplier(self, code: str) -> Partner:
        """404 supplier_not_found, 422 inactive_supplier (the partners' own codes)."""
        return await Partners(self.session, PartnerKind.SUPPLIER).usable(code)

    @staticmethod
    def _new_line(line_no: int, data: LineCreate) -> PurchaseOrderLine:
        zero = Decimal(0)  # set now, not at the flush: fulfilment reads them before
        return PurchaseOrderLine(
            id=uuid.uuid4(),
            line_no=line_no,
            received_quantity=zero,
            rejected_quantity=zero,
            returned_quantity=zero,
            closed_short=False,
            **data.model_dump(),
        )

    @staticmethod
    def _price(order: PurchaseOrder) -> None:
        """Each line's amount and tax, and the order's totals, in its currency (money.py)."""
        priced = []
        for line in order.lines:
            amounts = line_amounts(
                LinePrice(line.quantity, line.unit_price, line.tax_rate, line.discount_percent), order.currency
            )
            line.amount, line.tax = amounts.amount, amounts.tax
            priced.append(amounts)
        result = totals(priced, order.currency)
        check_amount_fits(result.total, what="total")  # lines and taxes are never negative: they fit too
        order.subtotal, order.tax_total, order.total = result.subtotal, result.tax_total, result.total


def _complete(fields: dict[str, Any]) -> LineCreate:
    """A new line from a change: every field a line needs, or 422 ``incomplete_line``."""
    try:
        return LineCreate.model_validate(fields)
    except ValidationError as exc:
        missing = sorted({str(error["loc"][0]) for error in exc.errors() if error["type"] == "missing"})
        raise InvalidInput(
            f"A new line (without line_no) needs {', '.join(missing) or 'valid fields'}.",
            code="incomplete_line",
            missing=missing,
        ) from None
