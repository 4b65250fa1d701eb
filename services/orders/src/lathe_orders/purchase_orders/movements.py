"""What moves against a purchase order: goods receipts (GR-) and returns to the supplier (RT-).

The limits hold under concurrency because the database enforces them: each line's quantities
change in one guarded ``UPDATE ... WHERE <the limit still holds> RETURNING``, so of two receipts
racing for the last units one gets them and the other none (409 ``over_receipt``), whatever
either read before. The order's row lock is taken first, as every change of the order takes it:
receipts queue behind a change of quantities or a close (never a deadlock of lines and order).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from lathe_common.errors import Conflict, InvalidInput, NotFound
from lathe_contracts.orders import GoodsReceivedEvent, ReceivedGoods
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from lathe_orders.fulfilment import HUNDRED, check_returnable, check_within_tolerance, receipt_state
from lathe_orders.lifecycles import PurchaseOrderStatus
from lathe_orders.numbering import DocumentKind, next_number
from lathe_orders.outbox import outbox
from lathe_orders.purchase_orders.models import GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine
from lathe_orders.purchase_orders.rules import check_distinct_lines, check_receipt_line, check_serials_match
from lathe_orders.purchase_orders.schemas import ReceiptCreate, ReturnCreate
from lathe_orders.purchase_orders.service import PurchaseOrders
from lathe_orders.purchase_orders.views import movements, plain
from lathe_orders.returns import Return, ReturnKind, ReturnLine

L = PurchaseOrderLine


class PurchaseOrderMovements(PurchaseOrders):
    """Receipts and returns: the order's repository, plus what moves against it."""

    async def receive(self, key: str, data: ReceiptCreate, *, actor: str | None) -> tuple[PurchaseOrder, GoodsReceipt]:
        order = await self.find(key, for_update=True)
        if order.status != PurchaseOrderStatus.APPROVED:
            raise Conflict(
                f"Goods are received against APPROVED orders; {order.number} is {order.status}.",
                code="order_not_approved",
                current_status=order.status,
            )
        check_distinct_lines(line.line_no for line in data.lines)
        by_no = self._lines(order, (line.line_no for line in data.lines))
        tolerance = self.settings.over_receipt_tolerance_percent
        receipt = GoodsReceipt(
            id=uuid.uuid4(), purchase_order_id=order.id, delivery_note=data.delivery_note, received_by=actor
        )
        for wanted in sorted(data.lines, key=lambda line: line.line_no):  # one lock order: no deadlocks
            line = by_no[wanted.line_no]
            accepted = check_receipt_line(wanted.quantity, wanted.rejected_quantity, wanted.serial_numbers)
            if line.closed_short:
                raise Conflict(f"Line {line.line_no} is closed short; it takes no more goods.", code="line_closed")
            moved = await self.session.execute(
                update(L)
                .where(
                    L.id == line.id,
                    L.closed_short.is_(False),
                    L.received_quantity - L.rejected_quantity - L.returned_quantity + accepted
                    <= L.quantity * (HUNDRED + tolerance) / HUNDRED,
                )
                .values(
                    received_quantity=L.received_quantity + wanted.quantity,
                    rejected_quantity=L.rejected_quantity + wanted.rejected_quantity,
                )
                .returning(L.received_quantity, L.rejected_quantity)
                .execution_options(synchronize_session=False)
            )
            row = moved.one_or_none()
            if row is None:
                await self._refresh(line)
                if accepted > 0:  # the rule's own refusal, with what the line allows
                    check_within_tolerance(movements(line), accepted, tolerance, what="receipt")
                raise Conflict(f"Line {line.line_no} takes no more goods.", code="over_receipt")
            set_committed_value(line, "received_quantity", row.received_quantity)
            set_committed_value(line, "rejected_quantity", row.rejected_quantity)
            receipt.lines.append(
                GoodsReceiptLine(
                    purchase_order_line_id=line.id,
                    quantity=wanted.quantity,
                    rejected_quantity=wanted.rejected_quantity,
                    lot_numbers=list(wanted.lot_numbers),
                    serial_numbers=list(wanted.serial_numbers),
                    order_line=line,
                )
            )
        receipt.number = await next_number(
            self.session, DocumentKind.GOODS_RECEIPT, self.settings.goods_receipt_prefix, self.settings.number_width
        )
        self.session.add(receipt)
        await self._moved(order)
        await outbox.add(self.session, self._received_event(order, receipt))
        await self.announce(order, "received")
        return order, receipt

    async def return_goods(self, key: str, data: ReturnCreate, *, actor: str | None) -> tuple[PurchaseOrder, Return]:
        """Accepted goods sent back to the supplier; the line expects them again (unless closed short)."""
        order = await self.find(key, for_update=True)
        check_distinct_lines(line.line_no for line in data.lines)
        by_no = self._lines(order, (line.line_no for line in data.lines))
        returned = Return(
            id=uuid.uuid4(),
            kind=ReturnKind.TO_SUPPLIER.value,
            purchase_order_id=order.id,
            reason=data.reason,
            returned_by=actor,
        )
        for wanted in sorted(data.lines, key=lambda line: line.line_no):
            line = by_no[wanted.line_no]
            check_serials_match(wanted.quantity, wanted.serial_numbers)
            if wanted.serial_numbers:
                await self._check_returnable_serials(line, wanted.serial_numbers)
            moved = await self.session.execute(
                update(L)
                .where(
                    L.id == line.id,
                    L.returned_quantity + wanted.quantity <= L.received_quantity - L.rejected_quantity,
                )
                .values(returned_quantity=L.returned_quantity + wanted.quantity)
                .returning(L.returned_quantity)
                .execution_options(synchronize_session=False)
            )
            row = moved.one_or_none()
            if row is None:
                await self._refresh(line)
                check_returnable(movements(line), wanted.quantity)
                raise Conflict(f"Line {line.line_no} has nothing more to return.", code="over_return")
            set_committed_value(line, "returned_quantity", row.returned_quantity)
            returned.lines.append(
                ReturnLine(
                    purchase_order_line_id=line.id,
                    quantity=wanted.quantity,
                    serial_numbers=list(wanted.serial_numbers),
                )
            )
        returned.number = await next_number(
            self.session, DocumentKind.RETURN, self.settings.return_prefix, self.settings.number_width
        )
        self.session.add(returned)
        await self._moved(order)
        await self.announce(order, "returned")
        return order, returned

    async def receipts(self, key: str) -> tuple[PurchaseOrder, list[GoodsReceipt]]:
        order = await self.find(key)
        found = await self.session.scalars(
            select(GoodsReceipt)
            .where(GoodsReceipt.purchase_order_id == order.id)
            .order_by(GoodsReceipt.received_at, GoodsReceipt.number)
        )
        return order, list(found.all())

    async def returns(self, key: str) -> tuple[PurchaseOrder, list[Return]]:
        order = await self.find(key)
        found = await self.session.scalars(
            select(Return).where(Return.purchase_order_id == order.id).order_by(Return.returned_at, Return.number)
        )
        return order, list(found.all())

    # -- steps -------------------------------------------------------------------------------

    @staticmethod
    def _lines(order: PurchaseOrder, line_nos: Iterable[int]) -> dict[int, PurchaseOrderLine]:
        by_no = {line.line_no: line for line in order.lines}
        unknown = sorted(set(line_nos) - set(by_no))
        if unknown:
            raise NotFound(
                f"Purchase order {order.number} has no line {', '.join(map(str, unknown))}.",
                code="line_not_found",
                line_nos=unknown,
            )
        return by_no

    async def _refresh(self, line: PurchaseOrderLine) -> None:
        await self.session.refresh(
            line, ["quantity", "received_quantity", "rejected_quantity", "returned_quantity", "closed_short"]
        )

    async def _moved(self, order: PurchaseOrder) -> None:
        """The order after a movement: its receipt state, a new version, flushed."""
        order.receipt_state = receipt_state(movements(line) for line in order.lines).value
        order.version += 1
        await self.session.flush()

    async def _check_returnable_serials(self, line: PurchaseOrderLine, serials: list[str]) -> None:
        """Units are returned when they came in on this line and have not gone back already."""
        received: set[str] = set()
        for numbers in await self.session.scalars(
            select(GoodsReceiptLine.serial_numbers).where(GoodsReceiptLine.purchase_order_line_id == line.id)
        ):
            received.update(numbers)
        unknown = sorted(set(serials) - received)
        if unknown:
            raise InvalidInput(
                f"Not received on line {line.line_no}: {', '.join(unknown[:10])}.",
                code="serial_not_received",
                serial_numbers=unknown[:100],
            )
        gone: set[str] = set()
        for numbers in await self.session.scalars(
            select(ReturnLine.serial_numbers).where(ReturnLine.purchase_order_line_id == line.id)
        ):
            gone.update(numbers)
        again = sorted(set(serials) & gone)
        if again:
            raise Conflict(
                f"Returned already: {', '.join(again[:10])}.", code="serial_returned", serial_numbers=again[:100]
            )

    @staticmethod
    def _received_event(order: PurchaseOrder, receipt: GoodsReceipt) -> GoodsReceivedEvent:
        return GoodsReceivedEvent(
            id=receipt.id,
            number=receipt.number,
            purchase_order_id=order.id,
            purchase_order_number=order.number,
            supplier_code=order.supplier.code,
            delivery_note=receipt.delivery_note,
            received_by=receipt.received_by,
            received_at=receipt.received_at.isoformat(),
            lines=[
                ReceivedGoods(
                    line_no=line.order_line.line_no,
                    item_code=line.order_line.item_code,
                    unit=line.order_line.unit,
                    quantity=str(plain(line.quantity)),
                    rejected_quantity=str(plain(line.rejected_quantity)),
                    accepted_quantity=str(plain(line.quantity - line.rejected_quantity)),
                    lot_numbers=list(line.lot_numbers),
                    serial_numbers=list(line.serial_numbers),
                )
                for line in sorted(receipt.lines, key=lambda line: line.order_line.line_no)
            ],
        )
