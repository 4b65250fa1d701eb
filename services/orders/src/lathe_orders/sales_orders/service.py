"""Sales orders: created, changed, confirmed, cancelled, closed (whole or a line short), deleted
while drafts. Each method is the one way its change is made, for the API and for an ERP consumer
alike (``external=``): the same rules, the same change log, the same event.

Every change locks the order's row first (``SELECT ... FOR UPDATE``), checks the caller's
``If-Match`` against its version under that lock, raises the version and announces the order's
new state in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lathe_common.errors import Conflict, InvalidInput, NotFound
from lathe_common.repository import Repository
from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.documents import DocumentChange, check_if_match
from lathe_orders.fulfilment import check_quantity_not_below_done
from lathe_orders.lifecycles import SALES_ORDER, SalesOrderStatus, check_cancellable, check_close_reason
from lathe_orders.money import LineAmounts, LinePrice, check_amount_fits, line_amounts, minor_unit, totals
from lathe_orders.numbering import DocumentKind, next_number
from lathe_orders.partners.models import PartnerKind
from lathe_orders.partners.service import Partners
from lathe_orders.projections.models import ProductModelView
from lathe_orders.sales_orders.models import SalesOrder, SalesOrderLine, Shipment
from lathe_orders.sales_orders.rules import check_changes_allowed, check_distinct, check_line_closable
from lathe_orders.sales_orders.schemas import (
    SalesOrderCreate,
    SalesOrderLineChange,
    SalesOrderLineCreate,
    SalesOrderUpdate,
    plain,
)
from lathe_orders.sales_orders.state import announce, movements, read_order
from lathe_orders.settings import OrdersSettings, settings
from lathe_orders.work_orders.models import WorkOrder

KIND = DocumentKind.SALES_ORDER.value
LINE_FIELDS = tuple(SalesOrderLineCreate.model_fields)


@dataclass(frozen=True)
class ExternalRef:
    """An ERP's document: its system, its id there, and the revision being applied."""

    source: str
    external_id: str
    revision: int


def _text(value: Any) -> str | None:
    """A value as the change log keeps it."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return plain(value)
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


class SalesOrders(Repository[SalesOrder]):
    model = SalesOrder
    noun = "sales order"

    def __init__(self, session: AsyncSession, config: OrdersSettings = settings) -> None:
        super().__init__(session)
        self.config = config

    async def find(self, key: str, *, for_update: bool = False) -> SalesOrder:  # type: ignore[override]
        return await super().find(key, SalesOrder.number, for_update=for_update)

    async def locked(self, key: str, if_match: str | None) -> SalesOrder:
        """The order, locked for a change, if the caller saw its current version."""
        order = await self.find(key, for_update=True)
        check_if_match(if_match, order.version)
        return order

    async def now(self) -> datetime:
        """The transaction's time, from the database's clock (one time for all a change records)."""
        return await self.session.scalar(select(func.now()))  # type: ignore[return-value]

    # -- checks of what a document names ------------------------------------------------------

    async def _check_models(self, codes: Iterable[str]) -> None:
        """Each model production announced and has active (orders' projection of its events)."""
        wanted = set(codes)
        if not wanted:
            return
        found = dict(
            (await self.session.execute(
                select(ProductModelView.model_code, ProductModelView.is_active).where(
                    ProductModelView.model_code.in_(wanted)
                )
            )).all()
        )  # fmt: skip
        for code in sorted(wanted):
            if code not in found:
                raise NotFound(
                    f"Production never announced a product model {code}.",
                    code="product_model_not_found",
                    model_code=code,
                )
            if not found[code]:
                raise InvalidInput(
                    f"The product model {code} is inactive.", code="inactive_product_model", model_code=code
                )

    async def _check_unlinked(self, lines: Iterable[SalesOrderLine]) -> None:
        ids = [line.id for line in lines]
        if ids and await self.session.scalar(select(exists().where(WorkOrder.sales_order_line_id.in_(ids)))):
            raise Conflict("Work orders refer to the line(s); they stay.", code="linked_work_orders")

    @staticmethod
    def _line(number: int, data: SalesOrderLineCreate) -> SalesOrderLine:
        return SalesOrderLine(
            line_no=number,
            **data.model_dump(),
            shipped_quantity=Decimal(0),
            returned_quantity=Decimal(0),
            closed_short=False,
        )

    @staticmethod
    def _price(order: SalesOrder) -> None:
        """Amounts per line and the totals, computed here and never taken from the client."""
        for line in order.lines:
            amounts = line_amounts(
                LinePrice(line.quantity, line.unit_price, line.tax_rate, line.discount_percent), order.currency
            )
            check_amount_fits(amounts.amount, what=f"amount of line {line.line_no}")
            line.amount, line.tax = amounts.amount, amounts.tax
        sums = totals((LineAmounts(line.amount, line.tax) for line in order.lines), order.currency)
        check_amount_fits(sums.total, what="total")
        order.subtotal, order.tax_total, order.total = sums.subtotal, sums.tax_total, sums.total

    # -- create ---------------------------------------------------------------------------------

    async def create(
        self, data: SalesOrderCreate, *, actor: str | None, external: ExternalRef | None = None
    ) -> SalesOrder:
        customer = await Partners(self.session, PartnerKind.CUSTOMER).usable(data.customer_code)
        minor_unit(data.currency)
        await self._check_models(line.model_code for line in data.lines)
        if external is not None:
            clash = await self.session.scalar(
                select(SalesOrder.number).where(
                    SalesOrder.external_source == external.source, SalesOrder.external_id == external.external_id
                )
            )
            if clash is not None:
                raise Conflict(
                    f"{external.source} {external.external_id} is {clash} already.",
                    code="external_document_exists",
                    number=clash,
                )
        number = await next_number(
            self.session, DocumentKind.SALES_ORDER, self.config.sales_order_prefix, self.config.number_width
        )
        order = SalesOrder(
            number=number,
            status=SalesOrderStatus.DRAFT.value,
            customer=customer,
            currency=data.currency,
            customer_po_number=data.customer_po_number,
            ship_to=data.ship_to,
            notes=data.notes,
            created_by=actor,
            version=1,
            external_source=external.source if external else None,
            external_id=external.external_id if external else None,
            external_revision=external.revision if external else None,
            lines=[self._line(number, line) for number, line in enumerate(data.lines, 1)],
        )
        self._price(order)
        self.session.add(order)
        await self.session.flush()
        await announce(self.session, order, "created")
        return order

    # -- change ---------------------------------------------------------------------------------

    async def change(
        self,
        key: str,
        data: SalesOrderUpdate,
        *,
        actor: str | None,
        if_match: str | None = None,
        external: ExternalRef | None = None,
    ) -> SalesOrder:
        """A PATCH, or an ERP's revision (``external``, which replaces ``If-Match``: the ERP orders
        its revisions itself). Only what really changes counts; nothing changed, nothing announced."""
        order = await self.find(key, for_update=True)
        if external is None:
            check_if_match(if_match, order.version)
        elif (order.external_source, order.external_id) != (external.source, external.external_id):
            raise Conflict(f"{order.number} is not {external.source} {external.external_id}.", code="external_mismatch")
        status = SalesOrderStatus(order.status)
        given = data.model_dump(exclude_unset=True, exclude={"lines", "remove_lines"})
        header = {name: value for name, value in given.items() if self._header_value(order, name) != value}
        by_no = {line.line_no: line for line in order.lines}
        changes = data.lines if "lines" in data.model_fields_set else []
        removed = data.remove_lines if "remove_lines" in data.model_fields_set else []
        numbered = [c.line_no for c in changes if c.line_no is not None]
        check_distinct([*numbered, *removed], code="duplicate_line", what="line number")
        for no in [*numbered, *removed]:
            if no not in by_no:
                raise NotFound(f"{order.number} has no line {no}.", code="line_not_found", line_no=no)
        line_changes = {c.line_no: self._line_diff(by_no[c.line_no], c) for c in changes if c.line_no is not None}
        line_changes = {no: diff for no, diff in line_changes.items() if diff}
        new_lines = [c.as_new_line() for c in changes if c.line_no is None]
        check_changes_allowed(status, header=header, lines=line_changes, removed=removed)
        revised = external is not None and external.revision != order.external_revision
        if not (header or line_changes or new_lines or removed or revised):
            return order
        for no, diff in line_changes.items():
            if "quantity" in diff:
                line = by_no[no]
                if line.closed_short:
                    raise Conflict(f"Line {no} is closed short.", code="line_closed", line_no=no)
                check_quantity_not_below_done(movements(line), diff["quantity"])
        await self._check_models(
            [line.model_code for line in new_lines]
            + [d["model_code"] for d in line_changes.values() if "model_code" in d]
        )
        # A work order makes the line's model: the line keeps it while one refers to it.
        await self._check_unlinked(by_no[no] for no, diff in line_changes.items() if "model_code" in diff)
        log = status is not SalesOrderStatus.DRAFT  # the change log starts after the draft
        entries = [(None, name, self._header_value(order, name), value) for name, value in header.items()]
        if "customer_code" in header:
            order.customer = await Partners(self.session, PartnerKind.CUSTOMER).usable(header.pop("customer_code"))
        if "currency" in header:
            minor_unit(header["currency"])
        self.apply(order, header)
        for no, diff in line_changes.items():
            entries += [(no, name, getattr(by_no[no], name), value) for name, value in diff.items()]
            self.apply(by_no[no], diff)
        if removed:
            gone = [by_no[no] for no in removed]
            await self._check_unlinked(gone)
            for line in gone:
                order.lines.remove(line)
        next_no = max(by_no, default=0) + 1
        for offset, line in enumerate(new_lines):
            order.lines.append(self._line(next_no + offset, line))
            entries.append((next_no + offset, "line", None, f"{line.model_code} x {plain(line.quantity)}"))
        if not order.lines:
            raise InvalidInput("A sales order keeps at least one line.", code="no_lines")
        self._price(order)
        if external is not None:
            order.external_revision = external.revision
        order.version += 1
        if log:
            self._log(order, entries, actor)
        await self.session.flush()
        await announce(self.session, order, "updated")
        return order

    @staticmethod
    def _header_value(order: SalesOrder, name: str) -> Any:
        return order.customer.code if name == "customer_code" else getattr(order, name)

    @staticmethod
    def _line_diff(line: SalesOrderLine, change: SalesOrderLineChange) -> dict[str, Any]:
        given = change.model_dump(exclude_unset=True, exclude={"line_no"})
        return {name: value for name, value in given.items() if getattr(line, name) != value}

    def _log(self, order: SalesOrder, entries: list[tuple[int | None, str, Any, Any]], actor: str | None) -> None:
        self.session.add_all(
            DocumentChange(
                document_kind=KIND,
                document_id=order.id,
                line_no=line_no,
                field=name,
                old_value=_text(old),
                new_value=_text(new),
                changed_by=actor,
            )
            for line_no, name, old, new in entries
        )

    async def changes(self, key: str) -> list[DocumentChange]:
        order = await self.find(key)
        return list(
            await self.session.scalars(
                select(DocumentChange)
                .where(DocumentChange.document_kind == KIND, DocumentChange.document_id == order.id)
                .order_by(DocumentChange.id)
            )
        )

    # -- lifecycle ------------------------------------------------------------------------------

    async def delete(self, key: str, *, if_match: str | None) -> None:
        order = await self.locked(key, if_match)
        if order.status != SalesOrderStatus.DRAFT:
            raise Conflict(
                f"{order.number} is {order.status}: only drafts are deleted; cancel or close it.",
                code="not_draft",
                current_status=order.status,
            )
        await self._check_unlinked(order.lines)
        document = await read_order(self.session, order)
        await self.session.delete(order)
        await self.session.flush()
        await announce(self.session, order, "deleted", document)

    async def _move(self, order: SalesOrder, target: SalesOrderStatus) -> None:
        SALES_ORDER.check(SalesOrderStatus(order.status), target)
        order.status = target.value
        order.version += 1

    async def confirm(self, key: str, *, if_match: str | None) -> SalesOrder:
        """The customer's order accepted: its customer and models must still be active."""
        order = await self.locked(key, if_match)
        await self._move(order, SalesOrderStatus.CONFIRMED)
        if not order.customer.is_active:
            raise InvalidInput(f"The customer {order.customer.code} is inactive.", code="inactive_customer")
        await self._check_models(line.model_code for line in order.lines)
        order.confirmed_at = await self.now()
        await self.session.flush()
        await announce(self.session, order, "confirmed")
        return order

    async def cancel(self, key: str, *, if_match: str | None, reason: str | None) -> SalesOrder:
        """Before anything shipped; afterwards the order is closed instead."""
        order = await self.locked(key, if_match)
        await self._move(order, SalesOrderStatus.CANCELLED)
        shipments = await self.session.scalar(
            select(func.count()).select_from(Shipment).where(Shipment.sales_order_id == order.id)
        )
        check_cancellable("sales order", movements=shipments or 0)
        order.cancelled_at = await self.now()
        order.close_reason = reason
        await self.session.flush()
        await announce(self.session, order, "cancelled")
        return order

    async def close(self, key: str, *, if_match: str | None, reason: str | None, actor: str | None) -> SalesOrder:
        """Done with: lines still open are closed short with the reason, which is then required."""
        order = await self.locked(key, if_match)
        await self._move(order, SalesOrderStatus.CLOSED)
        still_open = [line for line in order.lines if movements(line).open_balance > 0]
        check_close_reason("sales order", open_balance=bool(still_open), reason=reason)
        for line in still_open:
            line.closed_short, line.close_reason = True, reason
        self._log(order, [(line.line_no, "closed_short", False, True) for line in still_open], actor)
        order.closed_at = await self.now()
        order.close_reason = reason
        await self.session.flush()
        await announce(self.session, order, "closed")
        return order

    async def close_line(
        self, key: str, line_no: int, *, if_match: str | None, reason: str | None, actor: str | None
    ) -> SalesOrder:
        """One line closed short on a confirmed order: it expects nothing more."""
        order = await self.locked(key, if_match)
        line = next((line for line in order.lines if line.line_no == line_no), None)
        if line is None:
            raise NotFound(f"{order.number} has no line {line_no}.", code="line_not_found", line_no=line_no)
        if order.status != SalesOrderStatus.CONFIRMED:
            raise Conflict(
                f"{order.number} is {order.status}: lines are closed on a CONFIRMED order.",
                code="sales_order_not_confirmed",
                current_status=order.status,
            )
        check_line_closable(line_no, movements(line), reason)
        line.closed_short, line.close_reason = True, reason
        self._log(order, [(line_no, "closed_short", False, True)], actor)
        order.version += 1
        await self.session.flush()
        await announce(self.session, order, "line_closed")
        return order
