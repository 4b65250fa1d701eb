"""Purchase orders through the gateway: money, numbering under concurrency, the lifecycle, four eyes,
receipts, returns and short closes, over-receipt under concurrency, ETags, controlled changes,
deletion, lists and CSV, and what is announced on lathe.orders.purchase-orders.v1.

The stack runs with the defaults: approval threshold 0 (every order with a total needs four eyes)
and no over-receipt tolerance. Every test makes its own suppliers and users."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from decimal import ROUND_HALF_UP, Decimal

import pytest
from aiokafka import AIOKafkaConsumer
from lathe_common.testing import eventually

from .conftest import bearer

pytestmark = pytest.mark.e2e

PATH = "/api/v1/purchase-orders"
TOPIC = "lathe.orders.purchase-orders.v1"


@pytest.fixture
async def purchasing(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("purchasing"))


@pytest.fixture
async def manager(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("manager"))


async def new_supplier(gateway, headers, currency="EUR") -> str:
    code = f"SUP-{uuid.uuid4().hex[:8]}"
    made = await gateway.post(
        "/api/v1/suppliers", json={"code": code, "name": f"Supplier {code}", "currency": currency}, headers=headers
    )
    assert made.status_code == 201, made.text
    return code


def line(item="YARN", quantity="10", price="2.50", tax="19", **more) -> dict:
    return {
        "item_code": item,
        "description": f"{item} for weaving",
        "quantity": quantity,
        "unit": "KG",
        "unit_price": price,
        "tax_rate": tax,
        **more,
    }


async def create(gateway, headers, supplier, lines=None, currency="EUR", **more) -> dict:
    body = {"supplier_code": supplier, "currency": currency, "lines": lines or [line()], **more}
    made = await gateway.post(PATH, json=body, headers=headers)
    assert made.status_code == 201, made.text
    assert made.headers["etag"] == 'W/"1"'
    return made.json()


async def act(gateway, headers, order, action, body=None, expect=200):
    """POST an action with the order's current ETag."""
    current = await gateway.get(f"{PATH}/{order['id']}", headers=headers)
    answer = await gateway.post(
        f"{PATH}/{order['id']}/{action}", json=body, headers=headers | {"If-Match": current.headers["etag"]}
    )
    assert answer.status_code == expect, answer.text
    return answer.json()


async def patch(gateway, headers, order, body, expect=200):
    current = await gateway.get(f"{PATH}/{order['id']}", headers=headers)
    answer = await gateway.patch(
        f"{PATH}/{order['id']}", json=body, headers=headers | {"If-Match": current.headers["etag"]}
    )
    assert answer.status_code == expect, answer.text
    return answer.json()


async def approved(gateway, purchasing, manager, supplier, lines=None) -> dict:
    order = await create(gateway, purchasing, supplier, lines)
    await act(gateway, purchasing, order, "submit")
    return await act(gateway, manager, order, "approve")


async def send_back(gateway, headers, order, lines, expect=201, **more):
    answer = await gateway.post(f"{PATH}/{order['id']}/returns", json={"lines": lines, **more}, headers=headers)
    assert answer.status_code == expect, answer.text
    return answer.json()


async def receive(gateway, headers, order, lines, expect=201, **more):
    answer = await gateway.post(f"{PATH}/{order['id']}/receipts", json={"lines": lines, **more}, headers=headers)
    assert answer.status_code == expect, answer.text
    return answer.json()


def half_up(value: Decimal, places: int) -> str:
    return str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


@pytest.mark.parametrize(("currency", "places"), [("EUR", 2), ("JPY", 0), ("KWD", 3)])
async def test_amounts_and_totals_are_rounded_half_up_per_line_in_the_currency(gateway, purchasing, currency, places):
    supplier = await new_supplier(gateway, purchasing, currency)
    # 40 lines whose unpriced amounts land on, below and above the half of the minor unit.
    lines = []
    for n in range(40):
        quantity = Decimal(n + 1) / Decimal(4)  # 0.25, 0.5, ...
        price = Decimal("1.0005") * (n + 3) + Decimal(5).scaleb(-(places + 1))
        lines.append(
            line(
                f"ITEM-{n}",
                str(quantity),
                str(price),
                ("0", "7", "19", "21.5")[n % 4],
                discount_percent=("0", "2.5", "10")[n % 3],
            )
        )
    order = await create(gateway, purchasing, supplier, lines, currency=currency)
    subtotal = tax_total = Decimal(0)
    for sent, got in zip(lines, order["lines"], strict=True):
        gross = Decimal(sent["quantity"]) * Decimal(sent["unit_price"])
        amount = Decimal(half_up(gross * (100 - Decimal(sent["discount_percent"])) / 100, places))
        tax = Decimal(half_up(amount * Decimal(sent["tax_rate"]) / 100, places))
        assert (got["amount"], got["tax"]) == (half_up(amount, places), half_up(tax, places)), got
        subtotal, tax_total = subtotal + amount, tax_total + tax
    assert order["subtotal"] == half_up(subtotal, places)
    assert order["tax_total"] == half_up(tax_total, places)
    assert order["total"] == half_up(subtotal + tax_total, places)
    assert all(isinstance(order[k], str) for k in ("subtotal", "tax_total", "total"))
    assert [ln["line_no"] for ln in order["lines"]] == list(range(1, 41))


async def test_half_of_the_minor_unit_rounds_up_and_unfit_currencies_and_suppliers_are_refused(gateway, purchasing):
    for currency, price, amount in (("EUR", "0.125", "0.13"), ("JPY", "0.5", "1"), ("KWD", "0.0005", "0.001")):
        supplier = await new_supplier(gateway, purchasing, currency)
        order = await create(gateway, purchasing, supplier, [line(quantity="1", price=price, tax="0")], currency)
        assert (order["lines"][0]["amount"], order["total"]) == (amount, amount)
    supplier = await new_supplier(gateway, purchasing)
    for currency in ("XAU", "ZZZ"):
        body = {"supplier_code": supplier, "currency": currency, "lines": [line()]}
        refused = await gateway.post(PATH, json=body, headers=purchasing)
        assert refused.status_code == 422 and refused.json()["code"] == "unknown_currency"
    unknown = await gateway.post(
        PATH,
        json={"supplier_code": "NOPE-" + uuid.uuid4().hex[:6], "currency": "EUR", "lines": [line()]},
        headers=purchasing,
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "supplier_not_found"
    await gateway.delete(f"/api/v1/suppliers/{supplier}", headers=purchasing)
    inactive = await gateway.post(
        PATH, json={"supplier_code": supplier, "currency": "EUR", "lines": [line()]}, headers=purchasing
    )
    assert inactive.status_code == 422 and inactive.json()["code"] == "inactive_supplier"
    huge = await gateway.post(
        PATH,
        json={
            "supplier_code": await new_supplier(gateway, purchasing),
            "currency": "EUR",
            "lines": [line(quantity="999999999999", price="99999999")],
        },
        headers=purchasing,
    )
    assert huge.status_code == 422 and huge.json()["code"] == "amount_too_large"


async def test_fifty_concurrent_creations_get_fifty_numbers(gateway, purchasing):
    supplier = await new_supplier(gateway, purchasing)
    body = {"supplier_code": supplier, "currency": "EUR", "lines": [line()]}
    answers = await asyncio.gather(*(gateway.post(PATH, json=body, headers=purchasing) for _ in range(50)))
    assert [a.status_code for a in answers] == [201] * 50, [a.text for a in answers if a.status_code != 201]
    numbers = [a.json()["number"] for a in answers]
    assert len(set(numbers)) == 50
    assert all(re.fullmatch(r"PO-\d{6,}", n) for n in numbers)


# Each status, each action: what the lifecycle table allows (the rest is 409 invalid_status_transition).
ALLOWED = {
    "DRAFT": {"submit": "SUBMITTED", "cancel": "CANCELLED"},
    "SUBMITTED": {"approve": "APPROVED", "cancel": "CANCELLED"},
    "APPROVED": {"close": "CLOSED", "cancel": "CANCELLED"},
    "CLOSED": {},
    "CANCELLED": {},
}
PATHS_TO = {
    "DRAFT": [],
    "SUBMITTED": ["submit"],
    "APPROVED": ["submit", "approve"],
    "CLOSED": ["submit", "approve", "close"],
    "CANCELLED": ["cancel"],
}


@pytest.mark.parametrize("start", list(ALLOWED))
async def test_every_lifecycle_move_is_allowed_or_refused_as_the_table_says(gateway, purchasing, manager, start):
    supplier = await new_supplier(gateway, purchasing)
    for action in ("submit", "approve", "cancel", "close"):
        order = await create(gateway, purchasing, supplier)
        for step in PATHS_TO[start]:
            who = manager if step in ("approve", "close") else purchasing
            await act(gateway, who, order, step, {"reason": "done"} if step == "close" else None)
        who = manager if action in ("approve", "close") else purchasing
        target = ALLOWED[start].get(action)
        answer = await act(gateway, who, order, action, {"reason": "short"}, expect=200 if target else 409)
        if target:
            assert answer["status"] == target
        else:
            assert answer["code"] == "invalid_status_transition" and answer["current_status"] == start


async def test_four_eyes_creator_refused_another_approves_an_admin_overrides_on_record(
    gateway, accounts, kafka, purchasing, manager
):
    supplier = await new_supplier(gateway, purchasing)
    own = await create(gateway, manager, supplier)
    await act(gateway, manager, own, "submit")
    refused = await act(gateway, manager, own, "approve", expect=403)
    assert refused["code"] == "four_eyes"
    no_right = await act(gateway, manager, own, "approve", {"override_four_eyes": True, "reason": "x"}, expect=403)
    assert no_right["code"] == "insufficient_scope" and no_right["required"] == "orders:approve-own"
    assert (await act(gateway, purchasing, own, "approve", expect=403))["code"] == "insufficient_scope"
    other = bearer(await accounts.token_for("manager"))
    done = await act(gateway, other, own, "approve")
    assert done["status"] == "APPROVED" and done["approval"]["override_reason"] is None

    free = await create(gateway, manager, supplier, [line(price="0")])  # total 0: not above the threshold
    await act(gateway, manager, free, "submit")
    assert (await act(gateway, manager, free, "approve"))["status"] == "APPROVED"

    admin = bearer(await accounts.token_for("admin"))
    mine = await create(gateway, admin, supplier)
    await act(gateway, admin, mine, "submit")
    assert (await act(gateway, admin, mine, "approve", expect=403))["code"] == "four_eyes"
    no_reason = await act(gateway, admin, mine, "approve", {"override_four_eyes": True}, expect=422)
    assert no_reason["code"] == "reason_required"
    async with TopicTail(kafka) as tail:
        overridden = await act(gateway, admin, mine, "approve", {"override_four_eyes": True, "reason": "Plant stops"})
        announced = await tail.until(lambda e: e.get("change") == "approved" and e["id"] == mine["id"])
    assert overridden["approval"]["override_reason"] == "Plant stops"
    assert overridden["approval"]["approved_by"] == overridden["created_by"]
    assert announced["document"]["approval"]["override_reason"] == "Plant stops"
    changes = (await gateway.get(f"{PATH}/{mine['id']}/changes", headers=admin)).json()
    assert {"field": "four_eyes_override", "new_value": "Plant stops"}.items() <= changes[-1].items()
    assert changes[-1]["changed_by"] == overridden["created_by"]


async def test_fulfilment_after_partial_receipts_rejects_returns_and_short_closes(gateway, kafka, purchasing, manager):
    supplier = await new_supplier(gateway, purchasing)
    order = await approved(
        gateway, purchasing, manager, supplier, [line("YARN", "10"), line("DYE", "5"), line("BUTTON", "4")]
    )
    async with TopicTail(kafka) as tail:
        first = await receive(
            gateway,
            purchasing,
            order,
            [
                {"line_no": 1, "quantity": "6", "rejected_quantity": "1", "lot_numbers": ["SUP-LOT-7"]},
                {"line_no": 2, "quantity": "5", "serial_numbers": ["S1", "S2", "S3", "S4", "S5"]},
            ],
            delivery_note="DN-4711",
        )
        received = await tail.until(lambda e: e.get("number") == first["number"])
    assert re.fullmatch(r"GR-\d{6,}", first["number"])
    assert [(ln["line_no"], ln["accepted_quantity"]) for ln in first["lines"]] == [(1, "5"), (2, "5")]
    assert received["purchase_order_number"] == order["number"] and received["supplier_code"] == supplier
    assert received["delivery_note"] == "DN-4711"
    assert received["lines"][0]["lot_numbers"] == ["SUP-LOT-7"] and received["lines"][0]["item_code"] == "YARN"
    assert received["lines"][1]["serial_numbers"] == ["S1", "S2", "S3", "S4", "S5"]
    await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "3"}])
    returned = await send_back(gateway, purchasing, order, [{"line_no": 1, "quantity": "2"}], reason="torn")
    assert re.fullmatch(r"RT-\d{6,}", returned["number"]) and returned["kind"] == "TO_SUPPLIER"
    over = await send_back(gateway, purchasing, order, [{"line_no": 1, "quantity": "6.5"}], expect=409)
    assert over["code"] == "over_return" and Decimal(over["returnable"]) == 6
    stranger = [{"line_no": 2, "quantity": "1", "serial_numbers": ["S9"]}]
    assert (await send_back(gateway, purchasing, order, stranger, expect=422))["code"] == "serial_not_received"
    await send_back(gateway, purchasing, order, [{"line_no": 2, "quantity": "1", "serial_numbers": ["S2"]}])
    twice = [{"line_no": 2, "quantity": "1", "serial_numbers": ["S2"]}]
    assert (await send_back(gateway, purchasing, order, twice, expect=409))["code"] == "serial_returned"
    closed = await act(gateway, manager, order, "lines/3/close", {"reason": "Buttons discontinued"})

    by_no = {ln["line_no"]: ln["fulfilment"] for ln in closed["lines"]}
    assert by_no[1] == {
        "ordered": "10",
        "received": "9",
        "accepted": "8",
        "rejected": "1",
        "returned": "2",
        "closed_short": "0",
        "open_balance": "4",
        "state": "PARTIALLY_RECEIVED",
    }
    assert (by_no[2]["returned"], by_no[2]["open_balance"], by_no[2]["state"]) == ("1", "1", "PARTIALLY_RECEIVED")
    assert (by_no[3]["closed_short"], by_no[3]["open_balance"]) == ("4", "0")
    assert closed["lines"][2]["closed_short"] and closed["lines"][2]["close_reason"] == "Buttons discontinued"
    assert closed["fulfilment"] == {
        "ordered": "19",
        "received": "14",
        "accepted": "13",
        "rejected": "1",
        "returned": "3",
        "closed_short": "4",
        "open_balance": "5",
        "state": "PARTIALLY_RECEIVED",
    }
    assert closed["status"] == "APPROVED"
    again = await act(gateway, manager, order, "lines/3/close", {"reason": "twice"}, expect=409)
    assert again["code"] == "line_closed"
    assert (await receive(gateway, purchasing, order, [{"line_no": 3, "quantity": "1"}], expect=409))["code"] == (
        "line_closed"
    )
    assert (await act(gateway, purchasing, order, "cancel", expect=409))["code"] == "has_movements"
    assert (await act(gateway, manager, order, "close", expect=422))["code"] == "reason_required"
    done = await act(gateway, manager, order, "close", {"reason": "Rest from another supplier"})
    assert done["status"] == "CLOSED" and done["fulfilment"]["state"] == "RECEIVED"
    assert done["fulfilment"]["closed_short"] == "9" and done["fulfilment"]["open_balance"] == "0"
    assert [ln["close_reason"] for ln in done["lines"]] == ["Rest from another supplier"] * 2 + ["Buttons discontinued"]
    receipts = (await gateway.get(f"{PATH}/{order['number']}/receipts", headers=purchasing)).json()
    assert [r["number"] for r in receipts][0] == first["number"] and len(receipts) == 2
    listed = await gateway.get(PATH, params={"supplier": supplier, "receipt_state": "RECEIVED"}, headers=purchasing)
    assert [o["number"] for o in listed.json()["items"]] == [order["number"]]


async def test_over_receipt_is_refused_and_holds_under_concurrent_receipts(gateway, purchasing, manager):
    supplier = await new_supplier(gateway, purchasing)
    order = await approved(gateway, purchasing, manager, supplier, [line("YARN", "10")])
    over = await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "10.5"}], expect=409)
    assert over["code"] == "over_receipt" and Decimal(over["allowed"]) == 10
    # Ten receipts of 3 race for 10 units: three fit, seven do not, whatever their order.
    answers = await asyncio.gather(
        *(
            gateway.post(
                f"{PATH}/{order['id']}/receipts", json={"lines": [{"line_no": 1, "quantity": "3"}]}, headers=purchasing
            )
            for _ in range(10)
        )
    )
    assert sorted(a.status_code for a in answers) == [201] * 3 + [409] * 7, [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"over_receipt"}
    # Rejected goods are not kept: a receipt of rejects alone still fits on a full line.
    await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "1", "rejected_quantity": "1"}])
    await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "1"}])
    full = await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "1"}], expect=409)
    assert full["code"] == "over_receipt"
    seen = (await gateway.get(f"{PATH}/{order['id']}", headers=purchasing)).json()["lines"][0]["fulfilment"]
    assert (seen["received"], seen["accepted"], seen["state"]) == ("11", "10", "RECEIVED")
    draft = await create(gateway, purchasing, supplier)
    refused = await receive(gateway, purchasing, draft, [{"line_no": 1, "quantity": "1"}], expect=409)
    assert refused["code"] == "order_not_approved"


async def test_two_changes_from_the_same_version_one_wins_the_other_is_stale(gateway, purchasing):
    order = await create(gateway, purchasing, await new_supplier(gateway, purchasing))
    tag = (await gateway.get(f"{PATH}/{order['id']}", headers=purchasing)).headers["etag"]
    answers = await asyncio.gather(
        *(
            gateway.patch(
                f"{PATH}/{order['id']}", json={"notes": f"planner {n}"}, headers=purchasing | {"If-Match": tag}
            )
            for n in range(2)
        )
    )
    assert sorted(a.status_code for a in answers) == [200, 412]
    stale = next(a for a in answers if a.status_code == 412)
    assert stale.json()["code"] == "stale_document" and stale.json()["current_etag"] == 'W/"2"'
    assert next(a for a in answers if a.status_code == 200).headers["etag"] == 'W/"2"'
    # Ten planners at once from one version: one wins, nine are told to read again.
    tag = next(a for a in answers if a.status_code == 200).headers["etag"]
    many = await asyncio.gather(
        *(
            gateway.patch(f"{PATH}/{order['id']}", json={"notes": f"crowd {n}"}, headers=purchasing | {"If-Match": tag})
            for n in range(10)
        )
    )
    assert sorted(a.status_code for a in many) == [200] + [412] * 9
    missing = await gateway.patch(f"{PATH}/{order['id']}", json={"notes": "x"}, headers=purchasing)
    assert missing.status_code == 428 and missing.json()["code"] == "precondition_required"
    old = await gateway.post(f"{PATH}/{order['id']}/submit", headers=purchasing | {"If-Match": tag})
    assert old.status_code == 412


async def test_drafts_change_freely_and_unlogged(gateway, purchasing):
    order = await create(
        gateway, purchasing, await new_supplier(gateway, purchasing), [line("A"), line("B"), line("C")]
    )
    other = await new_supplier(gateway, purchasing)
    changed = await patch(
        gateway,
        purchasing,
        order,
        {
            "supplier_code": other,
            "currency": "JPY",
            "notes": "Rush",
            "expected_date": "2027-03-01",
            "lines": [
                {"line_no": 1, "unit_price": "100", "item_code": "A2"},
                {"line_no": 2, "remove": True},
                line("D", "3", "7"),
            ],
        },
    )
    assert changed["supplier_code"] == other and changed["currency"] == "JPY" and changed["status"] == "DRAFT"
    assert [(ln["line_no"], ln["item_code"]) for ln in changed["lines"]] == [(1, "A2"), (3, "C"), (4, "D")]
    assert changed["lines"][0]["amount"] == "1000" and changed["total"] == "1245"  # JPY: whole yen, tax 19 %
    assert (await gateway.get(f"{PATH}/{order['id']}/changes", headers=purchasing)).json() == []
    incomplete = await patch(gateway, purchasing, order, {"lines": [{"item_code": "E"}]}, expect=422)
    assert incomplete["code"] == "incomplete_line" and "quantity" in incomplete["missing"]
    unknown = await patch(gateway, purchasing, order, {"lines": [{"line_no": 2, "quantity": "1"}]}, expect=404)
    assert unknown["code"] == "line_not_found"
    unnamed = await patch(gateway, purchasing, order, {"lines": [{"remove": True}]}, expect=422)
    assert unnamed["code"] == "line_no_required"
    every = [{"line_no": n, "remove": True} for n in (1, 3, 4)]
    assert (await patch(gateway, purchasing, order, {"lines": every}, expect=422))["code"] == "no_lines"
    same = await patch(gateway, purchasing, order, {"notes": "Rush"})  # changes nothing: no new version
    assert same["version"] == changed["version"]


async def test_after_approval_dates_quantities_and_new_lines_change_logged_and_rises_need_reapproval(
    gateway, purchasing, manager
):
    supplier = await new_supplier(gateway, purchasing)
    order = await approved(gateway, purchasing, manager, supplier, [line("YARN", "10"), line("DYE", "4")])
    await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "6"}])
    dated = await patch(
        gateway,
        purchasing,
        order,
        {"lines": [{"line_no": 2, "promised_date": "2027-01-15"}], "expected_date": "2027-01-20"},
    )
    assert dated["status"] == "APPROVED" and dated["lines"][1]["promised_date"] == "2027-01-15"
    below = await patch(gateway, purchasing, order, {"lines": [{"line_no": 1, "quantity": "5"}]}, expect=409)
    assert below["code"] == "quantity_below_done" and Decimal(below["done"]) == 6
    for refused in (
        {"lines": [{"line_no": 1, "unit_price": "1"}]},
        {"lines": [{"line_no": 2, "remove": True}]},
        {"currency": "USD"},
        {"supplier_code": await new_supplier(gateway, purchasing)},
    ):
        assert (await patch(gateway, purchasing, order, refused, expect=409))["code"] == "change_not_allowed"
    cheaper = await patch(gateway, purchasing, order, {"lines": [{"line_no": 1, "quantity": "6"}]})
    assert cheaper["status"] == "APPROVED" and Decimal(cheaper["total"]) < Decimal(order["total"])
    dearer = await patch(gateway, purchasing, order, {"lines": [line("BUTTON", "100", "1.00")]})
    assert Decimal(dearer["total"]) > Decimal(order["total"])  # above what was approved: approved again
    assert dearer["status"] == "SUBMITTED" and dearer["approval"]["approved_by"] is None
    assert dearer["approval"]["approved_total"] == order["total"]
    changes = (await gateway.get(f"{PATH}/{order['id']}/changes", headers=purchasing)).json()
    logged = [(c["line_no"], c["field"], c["old_value"], c["new_value"]) for c in changes]
    assert (2, "promised_date", None, "2027-01-15") in logged and (None, "expected_date", None, "2027-01-20") in logged
    assert (1, "quantity", "10", "6") in logged and (3, "line", None, "BUTTON 100 KG") in logged
    assert (None, "status", "APPROVED", "SUBMITTED") in logged
    assert all(c["changed_by"] and c["changed_at"] for c in changes)
    again = await act(gateway, manager, order, "approve")
    assert again["status"] == "APPROVED" and again["approval"]["approved_total"] == dearer["total"]


async def test_only_drafts_are_deleted_and_their_numbers_stay_used(gateway, purchasing):
    supplier = await new_supplier(gateway, purchasing)
    draft = await create(gateway, purchasing, supplier)
    tag = (await gateway.get(f"{PATH}/{draft['id']}", headers=purchasing)).headers["etag"]
    assert (await gateway.delete(f"{PATH}/{draft['id']}", headers=purchasing)).status_code == 428
    gone = await gateway.delete(f"{PATH}/{draft['id']}", headers=purchasing | {"If-Match": tag})
    assert gone.status_code == 204
    missing = await gateway.get(f"{PATH}/{draft['number']}", headers=purchasing)
    assert missing.status_code == 404 and missing.json()["code"] == "purchase_order_not_found"
    later = await create(gateway, purchasing, supplier)
    assert int(later["number"][3:]) > int(draft["number"][3:])
    await act(gateway, purchasing, later, "submit")
    tag = (await gateway.get(f"{PATH}/{later['id']}", headers=purchasing)).headers["etag"]
    kept = await gateway.delete(f"{PATH}/{later['id']}", headers=purchasing | {"If-Match": tag})
    assert kept.status_code == 409 and kept.json()["code"] == "not_a_draft"


async def test_the_list_filters_pages_by_cursor_and_exports_csv(gateway, purchasing, manager):
    supplier = await new_supplier(gateway, purchasing)
    tag = uuid.uuid4().hex[:8]
    made = [
        await create(
            gateway,
            purchasing,
            supplier,
            [line("A"), line("=HYPERLINK(1)")],
            notes=f"batch {tag} #{n}",
            expected_date=f"2027-02-0{n + 1}",
        )
        for n in range(3)
    ]
    await act(gateway, purchasing, made[0], "submit")
    first = (await gateway.get(PATH, params={"supplier": supplier, "limit": 2}, headers=purchasing)).json()
    assert [o["number"] for o in first["items"]] == [made[2]["number"], made[1]["number"]]  # newest first
    rest = (
        await gateway.get(PATH, params={"supplier": supplier, "limit": 2, "cursor": first["next"]}, headers=purchasing)
    ).json()
    assert [o["number"] for o in rest["items"]] == [made[0]["number"]] and rest["next"] is None
    for params, expected in [
        ({"status": "SUBMITTED"}, [0]),
        ({"expected_from": "2027-02-02", "expected_to": "2027-02-03"}, [2, 1]),
        ({"q": f"{tag} #1"}, [1]),
        ({"sort": "number"}, [0, 1, 2]),
        ({"sort": "created_at", "receipt_state": "NOT_RECEIVED"}, [0, 1, 2]),
    ]:
        found = (await gateway.get(PATH, params={"supplier": supplier, **params}, headers=purchasing)).json()
        assert [o["number"] for o in found["items"]] == [made[n]["number"] for n in expected], params
    # A narrow range of expected dates is looked up another way; it pages the same.
    dates = {"supplier": supplier, "expected_from": "2027-02-01", "expected_to": "2027-02-03", "limit": 2}
    one = (await gateway.get(PATH, params=dates, headers=purchasing)).json()
    two = (await gateway.get(PATH, params=dates | {"cursor": one["next"]}, headers=purchasing)).json()
    assert [o["number"] for o in one["items"] + two["items"]] == [made[n]["number"] for n in (2, 1, 0)]
    today = made[0]["created_at"][:10]  # the stack's plant time zone is UTC
    days = {"created_from": today, "created_to": today}
    assert (
        len((await gateway.get(PATH, params={"supplier": supplier, **days}, headers=purchasing)).json()["items"]) == 3
    )
    assert (await gateway.get(PATH, params={"q": tag, "created_to": "2000-01-01"}, headers=purchasing)).json()[
        "items"
    ] == []
    exported = await gateway.get(PATH, params={"q": tag, "format": "csv", "limit": 1}, headers=purchasing)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["number"] for r in rows] == [o["number"] for o in reversed(made)]  # every match, not one page
    assert rows[0]["total"] == made[2]["total"] and rows[0]["supplier_code"] == supplier
    per_line = await gateway.get(PATH, params={"q": tag, "format": "csv", "lines": "true"}, headers=purchasing)
    lines = list(csv.DictReader(io.StringIO(per_line.text)))
    assert [(r["number"], r["line_no"]) for r in lines][:2] == [(made[2]["number"], "1"), (made[2]["number"], "2")]
    assert len(lines) == 6 and lines[1]["item_code"] == "'=HYPERLINK(1)" and lines[0]["open_balance"] == "10"


async def test_every_change_is_announced_with_the_full_document(gateway, kafka, purchasing, manager):
    supplier = await new_supplier(gateway, purchasing)
    async with TopicTail(kafka) as tail:
        order = await approved(gateway, purchasing, manager, supplier)
        await receive(gateway, purchasing, order, [{"line_no": 1, "quantity": "10"}])
        await act(gateway, manager, order, "close")
        seen = await tail.until(lambda e: e.get("id") == order["id"] and e.get("change") == "closed")
        changes = [e["change"] for e in tail.events if e.get("id") == order["id"]]
    assert changes == ["created", "submitted", "approved", "received", "closed"]
    after_get = (await gateway.get(f"{PATH}/{order['id']}", headers=purchasing)).json()
    assert seen["document"] == after_get and seen["number"] == order["number"]


class TopicTail:
    """The purchase-order topic's events from now on (every partition read from its end)."""

    def __init__(self, kafka: str) -> None:
        self.consumer = AIOKafkaConsumer(
            TOPIC, bootstrap_servers=kafka, auto_offset_reset="latest", enable_auto_commit=False, group_id=None
        )
        self.events: list[dict] = []

    async def __aenter__(self) -> TopicTail:
        await self.consumer.start()
        while not self.consumer.assignment():  # the partitions are assigned at the first fetch
            await self._collect(200)
        for partition in self.consumer.assignment():
            await self.consumer.position(partition)  # the end, now: what follows is read
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.consumer.stop()

    async def until(self, found, timeout: float = 30.0) -> dict:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            await self._collect(500)
            match = next((e for e in self.events if found(e)), None)
            if match is not None:
                return match
        raise AssertionError(f"not announced within {timeout} s; saw {len(self.events)} events")

    async def _collect(self, timeout_ms: int) -> None:
        batch = await self.consumer.getmany(timeout_ms=timeout_ms)
        for records in batch.values():
            self.events += [json.loads(r.value) for r in records]


async def test_the_audit_trail_shows_what_each_change_of_an_order_changed(gateway, accounts, purchasing, manager):
    supplier = await new_supplier(gateway, purchasing)
    order = await create(gateway, purchasing, supplier, notes="first draft")
    await patch(gateway, purchasing, order, {"notes": "rush: the looms wait"})
    await act(gateway, purchasing, order, "submit")
    admin = bearer(await accounts.admin_token())

    async def trail() -> list[dict] | None:
        found = await gateway.get(f"/api/v1/audit-logs/subjects/{order['id']}", headers=admin)
        assert found.status_code == 200, found.text
        items = found.json()["items"]
        return items if len(items) >= 3 else None

    created, edited, submitted = sorted(
        await eventually(trail, timeout=30), key=lambda e: e["data"]["document"]["version"]
    )
    assert created["changes"] == []  # its creation is the event
    assert {"field": "notes", "before": "first draft", "after": "rush: the looms wait", "recorded": True} in edited[
        "changes"
    ]
    assert "version" not in {c["field"] for c in edited["changes"]}
    status = next(c for c in submitted["changes"] if c["field"] == "status")
    assert (status["before"], status["after"]) == ("DRAFT", "SUBMITTED")
