"""Purchase orders, receipts and returns as the API answers them (and as their events carry them):
money at the currency's minor unit (``"11.90"`` EUR, ``"1190"`` JPY), quantities and rates
without trailing zeros (``"2.5"``, not the column's ``"2.500000"``)."""

from __future__ import annotations

from decimal import Decimal

from lathe_orders.money import round_to
from lathe_orders.purchase_orders.models import GoodsReceipt, PurchaseOrder, PurchaseOrderLine
from lathe_orders.purchase_orders.rules import Fulfilment, line_fulfilment, line_movements, order_fulfilment
from lathe_orders.purchase_orders.schemas import (
    ApprovalRead,
    ExternalRead,
    FulfilmentRead,
    GoodsReceiptRead,
    LineRead,
    PurchaseOrderRead,
    PurchaseOrderSummary,
    ReceiptLineRead,
    ReturnLineRead,
    ReturnRead,
)
from lathe_orders.returns import Return


def plain(value: Decimal) -> Decimal:
    """``2.500000`` as ``2.5`` and ``10.000000`` as ``10`` (never ``1E+1``)."""
    normalized = value.normalize()
    return normalized.quantize(Decimal(1)) if normalized == normalized.to_integral_value() else normalized


def movements(line: PurchaseOrderLine):  # noqa: ANN201 - a LineMovements
    return line_movements(
        quantity=line.quantity,
        received=line.received_quantity,
        rejected=line.rejected_quantity,
        returned=line.returned_quantity,
        closed_short=line.closed_short,
    )


def fulfilment_read(fulfilment: Fulfilment) -> FulfilmentRead:
    return FulfilmentRead(
        ordered=plain(fulfilment.ordered),
        received=plain(fulfilment.received),
        accepted=plain(fulfilment.accepted),
        rejected=plain(fulfilment.rejected),
        returned=plain(fulfilment.returned),
        closed_short=plain(fulfilment.closed_short),
        open_balance=plain(fulfilment.open_balance),
        state=fulfilment.state,
    )


def line_read(line: PurchaseOrderLine, currency: str) -> LineRead:
    return LineRead(
        line_no=line.line_no,
        item_code=line.item_code,
        description=line.description,
        quantity=plain(line.quantity),
        unit=line.unit,
        conversion_factor=plain(line.conversion_factor),
        unit_price=plain(line.unit_price),
        tax_rate=plain(line.tax_rate),
        discount_percent=plain(line.discount_percent),
        required_date=line.required_date,
        promised_date=line.promised_date,
        amount=round_to(line.amount, currency),
        tax=round_to(line.tax, currency),
        closed_short=line.closed_short,
        close_reason=line.close_reason,
        fulfilment=fulfilment_read(line_fulfilment(movements(line))),
    )


def order_read(order: PurchaseOrder) -> PurchaseOrderRead:
    currency = order.currency
    approval = None
    if order.approved_by is not None or order.approved_total is not None:
        approval = ApprovalRead(
            approved_by=order.approved_by,
            approved_at=order.approved_at,
            approved_total=round_to(order.approved_total, currency) if order.approved_total is not None else None,
            override_reason=order.approval_override_reason,
        )
    external = None
    if order.external_source is not None and order.external_id is not None:
        external = ExternalRead(
            source=order.external_source, external_id=order.external_id, revision=order.external_revision
        )
    return PurchaseOrderRead(
        id=order.id,
        number=order.number,
        status=order.status,
        supplier_id=order.supplier_id,
        supplier_code=order.supplier.code,
        supplier_name=order.supplier.name,
        currency=currency,
        expected_date=order.expected_date,
        notes=order.notes,
        lines=[line_read(line, currency) for line in order.lines],
        subtotal=round_to(order.subtotal, currency),
        tax_total=round_to(order.tax_total, currency),
        total=round_to(order.total, currency),
        fulfilment=fulfilment_read(order_fulfilment(movements(line) for line in order.lines)),
        approval=approval,
        version=order.version,
        created_by=order.created_by,
        created_at=order.created_at,
        updated_at=order.updated_at,
        submitted_at=order.submitted_at,
        cancelled_at=order.cancelled_at,
        closed_at=order.closed_at,
        close_reason=order.close_reason,
        external=external,
    )


def order_summary(order: PurchaseOrder) -> PurchaseOrderSummary:
    currency = order.currency
    return PurchaseOrderSummary(
        id=order.id,
        number=order.number,
        status=order.status,
        supplier_code=order.supplier.code,
        currency=currency,
        expected_date=order.expected_date,
        subtotal=round_to(order.subtotal, currency),
        tax_total=round_to(order.tax_total, currency),
        total=round_to(order.total, currency),
        receipt_state=order.receipt_state,
        version=order.version,
        created_by=order.created_by,
        created_at=order.created_at,
        external_source=order.external_source,
        external_id=order.external_id,
    )


def receipt_read(receipt: GoodsReceipt, order: PurchaseOrder) -> GoodsReceiptRead:
    lines = sorted(receipt.lines, key=lambda line: line.order_line.line_no)
    return GoodsReceiptRead(
        id=receipt.id,
        number=receipt.number,
        purchase_order_id=order.id,
        purchase_order_number=order.number,
        delivery_note=receipt.delivery_note,
        received_by=receipt.received_by,
        received_at=receipt.received_at,
        lines=[
            ReceiptLineRead(
                line_no=line.order_line.line_no,
                item_code=line.order_line.item_code,
                unit=line.order_line.unit,
                quantity=plain(line.quantity),
                rejected_quantity=plain(line.rejected_quantity),
                accepted_quantity=plain(line.quantity - line.rejected_quantity),
                lot_numbers=list(line.lot_numbers),
                serial_numbers=list(line.serial_numbers),
            )
            for line in lines
        ],
    )


def return_read(returned: Return, order: PurchaseOrder) -> ReturnRead:
    by_id = {line.id: line for line in order.lines}
    lines = sorted(returned.lines, key=lambda line: by_id[line.purchase_order_line_id].line_no)
    return ReturnRead(
        id=returned.id,
        number=returned.number,
        kind=returned.kind,
        purchase_order_id=order.id,
        purchase_order_number=order.number,
        reason=returned.reason,
        returned_by=returned.returned_by,
        returned_at=returned.returned_at,
        lines=[
            ReturnLineRead(
                line_no=by_id[line.purchase_order_line_id].line_no,
                item_code=by_id[line.purchase_order_line_id].item_code,
                quantity=plain(line.quantity),
                serial_numbers=list(line.serial_numbers),
            )
            for line in lines
        ],
    )
