"""Purchase-order rules without storage: fulfilment sums, four eyes, what changes after submission,
re-approval, receipt-line checks, and a whole document read as a change (for ERP revisions)."""

from datetime import date
from decimal import Decimal as D

import pytest
from lathe_common.errors import Conflict, Forbidden, InvalidInput
from lathe_orders.fulfilment import ReceiptState
from lathe_orders.lifecycles import PurchaseOrderStatus as P
from lathe_orders.purchase_orders.rules import (
    APPROVE_OWN_SCOPE,
    ChangeSet,
    Override,
    check_change_allowed,
    check_distinct_lines,
    check_four_eyes,
    check_receipt_line,
    check_submit,
    line_fulfilment,
    line_movements,
    needs_reapproval,
    order_fulfilment,
)
from lathe_orders.purchase_orders.schemas import LineCreate, PurchaseOrderCreate, PurchaseOrderUpdate


def movements(quantity, received=0, rejected=0, returned=0, closed_short=False):
    return line_movements(
        quantity=D(quantity),
        received=D(received),
        rejected=D(rejected),
        returned=D(returned),
        closed_short=closed_short,
    )


def test_a_line_received_in_part_with_rejects_and_returns():
    seen = line_fulfilment(movements("10", received="9", rejected="1", returned="2"))
    assert (seen.ordered, seen.received, seen.accepted, seen.rejected, seen.returned) == (D(10), D(9), D(8), D(1), D(2))
    assert (seen.open_balance, seen.closed_short, seen.state) == (D(4), D(0), ReceiptState.PARTIALLY_RECEIVED)


def test_a_line_closed_short_owes_nothing_and_shows_what_it_lacked():
    seen = line_fulfilment(movements("10", received="7", closed_short=True))
    assert (seen.open_balance, seen.closed_short, seen.state) == (D(0), D(3), ReceiptState.RECEIVED)
    over = line_fulfilment(movements("10", received="11", closed_short=True))
    assert over.closed_short == 0  # over-received before closing: nothing lacked


def test_the_order_sums_its_lines_and_takes_the_state_of_all():
    total = order_fulfilment([movements("10", received="10"), movements("5", received="2", rejected="1")])
    assert (total.ordered, total.received, total.accepted, total.rejected) == (D(15), D(12), D(11), D(1))
    assert (total.open_balance, total.state) == (D(4), ReceiptState.PARTIALLY_RECEIVED)
    assert order_fulfilment([movements("1"), movements("2")]).state is ReceiptState.NOT_RECEIVED
    assert order_fulfilment([movements("1", received="1")]).state is ReceiptState.RECEIVED


def approve(total="100", threshold="0", creator="kim", approver="kim", override=None, may_override=False):
    return check_four_eyes(
        total=D(total),
        threshold=D(threshold),
        creator=creator,
        approver=approver,
        override=override,
        may_override=may_override,
    )


def test_four_eyes_above_the_threshold_only():
    assert approve(approver="lee") is None
    assert approve(total="100", threshold="100") is None  # at the threshold: not above it
    assert approve(total="0") is None  # the default threshold 0: every order with a total
    with pytest.raises(Forbidden) as refused:
        approve(total="100.01", threshold="100")
    assert refused.value.code == "four_eyes"


def test_only_an_administrator_overrides_four_eyes_and_says_why():
    with pytest.raises(Forbidden) as refused:
        approve(override=Override("urgent"), may_override=False)
    assert refused.value.code == "insufficient_scope" and refused.value.extra["required"] == APPROVE_OWN_SCOPE
    for reason in (None, "", "   "):
        with pytest.raises(InvalidInput) as no_reason:
            approve(override=Override(reason), may_override=True)
        assert no_reason.value.code == "reason_required"
    assert approve(override=Override("  supplier closes today "), may_override=True) == "supplier closes today"
    assert approve(approver="lee", override=Override("x"), may_override=True) is None  # nothing to override


def change(header=(), lines=None, removed=(), added=0):
    return ChangeSet(set(header), {n: set(f) for n, f in (lines or {}).items()}, set(removed), added)


def test_drafts_change_freely():
    check_change_allowed(P.DRAFT, change({"supplier_code", "currency"}, {1: {"unit_price"}}, removed={2}, added=1))


@pytest.mark.parametrize("status", [P.SUBMITTED, P.APPROVED])
def test_after_submission_only_dates_notes_quantities_and_new_lines(status):
    check_change_allowed(
        status,
        change({"expected_date", "notes"}, {1: {"required_date", "promised_date", "quantity"}}, added=2),
    )
    for refused, field in [
        (change({"supplier_code"}), "supplier_code"),
        (change({"currency"}), "currency"),
        (change(lines={3: {"unit_price", "quantity"}}), "lines[3].unit_price"),
        (change(lines={1: {"tax_rate"}}), "lines[1].tax_rate"),
        (change(removed={2}), "lines[2] (removed)"),
    ]:
        with pytest.raises(Conflict) as answer:
            check_change_allowed(status, refused)
        assert answer.value.code == "change_not_allowed" and answer.value.extra["fields"] == [field]


@pytest.mark.parametrize("status", [P.CLOSED, P.CANCELLED])
def test_closed_and_cancelled_orders_do_not_change(status):
    with pytest.raises(Conflict) as answer:
        check_change_allowed(status, change({"notes"}))
    assert answer.value.code == "not_editable"


def test_only_drafts_are_submitted_though_the_table_lets_a_change_send_approved_ones_back():
    check_submit(P.DRAFT)
    for status in (P.SUBMITTED, P.APPROVED, P.CLOSED, P.CANCELLED):
        with pytest.raises(Conflict) as refused:
            check_submit(status)
        assert refused.value.code == "invalid_status_transition"
        assert refused.value.extra == {"current_status": status.value, "requested_status": "SUBMITTED"}


def test_reapproval_when_an_approved_total_rises_beyond_the_threshold():
    assert needs_reapproval(P.APPROVED, D("100"), D("100.01"), D("0"))
    assert not needs_reapproval(P.APPROVED, D("100"), D("100"), D("0"))
    assert not needs_reapproval(P.APPROVED, D("100"), D("90"), D("0"))  # cheaper: still approved
    assert not needs_reapproval(P.APPROVED, D("100"), D("150"), D("50"))  # exactly the threshold more
    assert needs_reapproval(P.APPROVED, D("100"), D("150.01"), D("50"))
    assert not needs_reapproval(P.SUBMITTED, D("100"), D("200"), D("0"))  # not approved yet
    assert not needs_reapproval(P.APPROVED, None, D("200"), D("0"))


def test_receipt_lines():
    assert check_receipt_line(D("5"), D("2"), []) == D(3)
    assert check_receipt_line(D("5"), D("5"), []) == D(0)  # all rejected: received all the same
    with pytest.raises(InvalidInput) as too_many:
        check_receipt_line(D("5"), D("5.000001"), [])
    assert too_many.value.code == "rejected_above_received"
    assert check_receipt_line(D("2"), D("0"), ["S1", "S2"]) == D(2)
    for serials, code in ((["S1"], "serial_count_mismatch"), (["S1", "S1"], "duplicate_serial")):
        with pytest.raises(InvalidInput) as refused:
            check_receipt_line(D("2"), D("0"), serials)
        assert refused.value.code == code
    with pytest.raises(InvalidInput) as twice:
        check_distinct_lines([1, 2, 1])
    assert twice.value.code == "duplicate_line"


def _line(item, quantity="1"):
    return LineCreate(item_code=item, description=item, quantity=D(quantity), unit="EA", unit_price=D(1), tax_rate=D(0))


def test_a_whole_document_reads_as_a_change_by_line_position():
    document = PurchaseOrderCreate(
        supplier_code="SUP", currency="EUR", expected_date=date(2026, 1, 2), lines=[_line("A", "2"), _line("B")]
    )
    same_count = PurchaseOrderUpdate.from_document(document, [1, 2])
    assert [(c.line_no, c.remove, c.item_code) for c in same_count.lines] == [(1, False, "A"), (2, False, "B")]
    more = PurchaseOrderUpdate.from_document(document, [1])
    assert [(c.line_no, c.item_code) for c in more.lines] == [(1, "A"), (None, "B")]  # the second one is new
    fewer = PurchaseOrderUpdate.from_document(document, [1, 2, 5])
    assert [(c.line_no, c.remove) for c in fewer.lines][-1] == (5, True)
    assert same_count.model_fields_set >= {"supplier_code", "currency", "expected_date", "notes", "lines"}
