"""Work orders through the gateway: the document and every lifecycle move, and the choreography with
production over the real broker (release -> LOTs -> machine messages -> progress -> completion;
redelivery, rejection, replacement of scrap, cancellation)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import uuid
from datetime import date, timedelta

import pytest
from aiokafka import AIOKafkaProducer
from lathe_common.testing import eventually

from .conftest import Catalog, bearer
from .orders_work_kit import (
    FUTURE,
    ORDERS_TOPIC,
    Production,
    WorkOrders,
    ce_type,
    max_lot_quantity,
    records_of,
    step,
)

pytestmark = pytest.mark.e2e


@pytest.fixture
async def manager(accounts) -> dict[str, str]:
    """Plans work orders, releases them, and (for the tests' set-up) defines models and moves LOTs."""
    return bearer(await accounts.token_for("manager"))


# -- the document and its lifecycle ----------------------------------------------------------------


async def test_a_work_order_is_created_numbered_and_changed_freely_while_a_draft(gateway, manager):
    catalog = Catalog(gateway, manager)
    model = await catalog.model([await catalog.process()], prefix="WO")
    other = await catalog.model([await catalog.process()], prefix="WO")
    orders = WorkOrders(gateway, manager)
    await orders.create(other)  # orders knows both models now
    wo = await orders.create(model, quantity=12, priority="HIGH", planned_start=FUTURE, notes="first batch")
    assert re.fullmatch(r"WO-\d{6,}", wo["number"])
    assert wo["status"] == "DRAFT" and wo["version"] == 1 and wo["priority"] == "HIGH"
    assert (wo["quantity_good"], wo["quantity_scrapped"], wo["quantity_in_progress"]) == (0, 0, 0)
    assert wo["progress_percent"] == 0 and wo["overdue"] is False
    assert (await orders.get(wo["id"]))["number"] == wo["number"]  # by id or number

    changed = await orders.patch(wo, {"model_code": other, "quantity": 7, "create_serials": True, "notes": None})
    assert changed.status_code == 200, changed.text
    assert (changed.json()["model_code"], changed.json()["quantity"], changed.json()["notes"]) == (other, 7, None)
    assert changed.json()["version"] == 2 and changed.headers["etag"] == 'W/"2"'
    logged = await gateway.get(f"/api/v1/work-orders/{wo['number']}/changes", headers=manager)
    assert logged.json() == []  # drafts change freely

    stale = await gateway.patch(
        f"/api/v1/work-orders/{wo['number']}", json={"quantity": 8}, headers=manager | {"If-Match": 'W/"1"'}
    )
    assert (stale.status_code, stale.json()["code"]) == (412, "stale_document")
    blind = await gateway.patch(f"/api/v1/work-orders/{wo['number']}", json={"quantity": 8}, headers=manager)
    assert (blind.status_code, blind.json()["code"]) == (428, "precondition_required")
    assert (await orders.patch(wo, {"quantity": None})).status_code == 422
    assert (await orders.patch(wo, {"replace_scrap": 1})).status_code == 422  # booleans are booleans

    late = await orders.create(model, due_date=(date.today() - timedelta(days=2)).isoformat())
    assert late["overdue"] is True
    gone = await gateway.delete(
        f"/api/v1/work-orders/{late['number']}", headers=manager | {"If-Match": f'W/"{late["version"]}"'}
    )
    assert gone.status_code == 204
    missing = await gateway.get(f"/api/v1/work-orders/{late['number']}", headers=manager)
    assert (missing.status_code, missing.json()["code"]) == (404, "work_order_not_found")


async def test_a_work_order_needs_a_known_active_model_and_sensible_dates(gateway, manager):
    catalog = Catalog(gateway, manager)
    model = await catalog.model([await catalog.process()], prefix="WO")
    orders = WorkOrders(gateway, manager)
    await orders.create(model)  # known to orders by now

    async def refused(body: dict) -> tuple[int, str]:
        base = {"model_code": model, "quantity": 1, "due_date": FUTURE}
        answer = await gateway.post("/api/v1/work-orders", json=base | body, headers=manager)
        return answer.status_code, answer.json().get("code")

    assert await refused({"model_code": f"NOPE-{uuid.uuid4().hex[:8]}"}) == (404, "product_model_not_found")
    assert await refused({"planned_start": FUTURE, "due_date": date.today().isoformat()}) == (
        422,
        "planned_start_after_due_date",
    )
    assert await refused({"quantity": 0}) == (422, "validation_error")
    assert await refused({"due_date": 1_700_000_000}) == (422, "validation_error")  # a date, not seconds
    assert await refused({"create_serials": 0}) == (422, "validation_error")  # a boolean, not a number
    assert await refused({"replace_scrap": "yes"}) == (422, "validation_error")
    assert await refused({"sales_order_line_id": str(uuid.uuid4())}) == (422, "sales_order_line_not_found")

    deactivated = await gateway.patch(f"/api/v1/product-models/{model}", json={"is_active": False}, headers=manager)
    assert deactivated.status_code == 200

    async def inactive() -> bool:
        return await refused({}) == (422, "inactive_product_model")

    assert await eventually(inactive, timeout=30)


async def test_every_lifecycle_move_allowed_and_refused_before_production_starts(gateway, manager):
    catalog = Catalog(gateway, manager)
    model = await catalog.model([await catalog.process()], prefix="WO")
    orders = WorkOrders(gateway, manager)

    wo = await orders.create(model, quantity=2)
    for action in ("stop", "resume", "close"):
        await orders.refused(wo, action)  # DRAFT
    released = await orders.moved(wo, "release", "RELEASED")
    assert released["released_at"] and released["rejection_reason"] is None
    await orders.refused(wo, "release")
    await orders.refused(wo, "resume")
    blind = await gateway.post(f"/api/v1/work-orders/{wo['number']}/stop", headers=manager)
    assert (blind.status_code, blind.json()["code"]) == (428, "precondition_required")

    locked = await orders.patch(wo, {"model_code": model, "quantity": 2, "create_serials": True})
    assert (locked.status_code, locked.json()["code"]) == (409, "locked_after_release")
    assert locked.json()["fields"] == ["create_serials"]
    later = (date.today() + timedelta(days=60)).isoformat()
    changed = await orders.patch(wo, {"due_date": later, "priority": "URGENT", "notes": "rush"})
    assert changed.status_code == 200 and changed.json()["priority"] == "URGENT"
    log = (await gateway.get(f"/api/v1/work-orders/{wo['number']}/changes", headers=manager)).json()
    assert [(c["field"], c["old_value"], c["new_value"]) for c in log] == [
        ("due_date", FUTURE, later),
        ("notes", None, "rush"),
        ("priority", "NORMAL", "URGENT"),
    ]
    assert {c["changed_by"] for c in log} == {released["created_by"]}

    await orders.moved(wo, "stop", "STOPPED")
    await orders.refused(wo, "stop")
    await orders.refused(wo, "release")
    await orders.moved(wo, "resume", "RELEASED")  # production had not started: back to RELEASED
    await orders.refused(wo, "close", "reason_required")  # nothing made: closing short
    closed = await orders.moved(wo, "close", "CLOSED", {"reason": "customer withdrew"})
    assert closed["close_reason"] == "customer withdrew" and closed["closed_at"]
    for action in ("release", "stop", "resume", "cancel", "close"):
        await orders.refused(wo, action)  # CLOSED is final
    frozen = await orders.patch(wo, {"notes": "too late"})
    assert (frozen.status_code, frozen.json()["code"]) == (409, "not_editable")
    kept = await gateway.delete(
        f"/api/v1/work-orders/{wo['number']}", headers=manager | {"If-Match": f'W/"{closed["version"]}"'}
    )
    assert (kept.status_code, kept.json()["code"]) == (409, "not_a_draft")

    draft = await orders.create(model)
    await orders.moved(draft, "cancel", "CANCELLED")
    for action in ("release", "stop", "resume", "cancel", "close"):
        await orders.refused(draft, action)  # CANCELLED is final

    stopped = await orders.create(model)
    await orders.moved(stopped, "release", "RELEASED")
    await orders.moved(stopped, "stop", "STOPPED")
    cancelled = await orders.moved(stopped, "cancel", "CANCELLED")
    assert cancelled["cancelled_at"]

    short = await orders.create(model)
    await orders.moved(short, "release", "RELEASED")
    await orders.moved(short, "stop", "STOPPED")
    await orders.moved(short, "close", "CLOSED", {"reason": "line converted"})

    dropped = await orders.create(model)
    await orders.moved(dropped, "release", "RELEASED")
    await orders.moved(dropped, "cancel", "CANCELLED")


async def test_the_list_filters_pages_newest_first_and_exports_csv(gateway, manager):
    catalog = Catalog(gateway, manager)
    model = await catalog.model([await catalog.process()], prefix="WOL")
    orders = WorkOrders(gateway, manager)
    past = (date.today() - timedelta(days=1)).isoformat()
    first = await orders.create(model, priority="LOW", notes="=HYPERLINK(1)")
    second = await orders.create(model, priority="URGENT", due_date=past)
    third = await orders.create(model, priority="URGENT")
    await orders.moved(third, "cancel", "CANCELLED")

    async def numbers(**params) -> list[str]:
        answer = await gateway.get("/api/v1/work-orders", params={"model_code": model, **params}, headers=manager)
        assert answer.status_code == 200, answer.text
        return [wo["number"] for wo in answer.json()["items"]]

    assert await numbers() == [third["number"], second["number"], first["number"]]
    page = (await gateway.get("/api/v1/work-orders", params={"model_code": model, "limit": 2}, headers=manager)).json()
    rest = await gateway.get(
        "/api/v1/work-orders", params={"model_code": model, "limit": 2, "cursor": page["next"]}, headers=manager
    )
    assert [wo["number"] for wo in rest.json()["items"]] == [first["number"]] and rest.json()["next"] is None
    assert await numbers(priority="URGENT") == [third["number"], second["number"]]
    assert await numbers(status="CANCELLED") == [third["number"]]
    assert await numbers(overdue=True) == [second["number"]]
    assert await numbers(overdue=False) == [third["number"], first["number"]]
    assert await numbers(due_before=date.today().isoformat()) == [second["number"]]
    assert await numbers(q="hyperlink") == [first["number"]]
    assert await numbers(q=second["number"]) == [second["number"]]

    exported = await gateway.get("/api/v1/work-orders", params={"model_code": model, "format": "csv"}, headers=manager)
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["number"] for r in rows] == [third["number"], second["number"], first["number"]]
    assert rows[1]["overdue"] == "true" and rows[2]["progress_percent"] == "0"
    assert rows[2]["priority"] == "LOW"


# -- the choreography with production -------------------------------------------------------------


async def test_work_orders_drive_production_and_production_drives_work_orders(gateway, manager, kafka):
    """1. release -> 2. LOTs (split, serials, the WO number; a redelivered release plans nothing
    twice) -> 3. machine messages: progress, IN_PROGRESS, a scrapped unit replaced by a new LOT,
    COMPLETED and its event."""
    catalog = Catalog(gateway, manager)
    marking, testing = await catalog.process(), await catalog.process()
    model = await catalog.model([marking, testing], prefix="WOC")
    orders, production = WorkOrders(gateway, manager), Production(gateway, manager, kafka)
    biggest = max_lot_quantity()
    quantity = 2 * biggest + 1  # two full LOTs and one of a single unit
    wo = await orders.create(model, quantity=quantity, create_serials=True, replace_scrap=True)

    await orders.moved(wo, "release", "RELEASED")
    lots = await production.lots_until(wo["number"], 3)
    assert sorted(lot["target_quantity"] for lot in lots) == [1, biggest, biggest]
    assert {lot["work_order_number"] for lot in lots} == {wo["number"]}
    assert {lot["status"] for lot in lots} == {"CREATED"}
    await orders.until(wo, lots_planned=3, quantity_planned=quantity)
    units = [s for lot in lots for s in await production.serials(lot)]
    assert len(units) == quantity == len(set(units))

    # Redelivery: the very same record again (the inbox skips it), and a copy under a new event id
    # (the plan's own key skips it): nothing is planned twice.
    released = [r for r in await records_of(kafka, wo["id"]) if ce_type(r) == "lathe.orders.work-order.released.v1"]
    assert len(released) == 1
    original = released[0]
    renamed = [(k, str(uuid.uuid4()).encode() if k == "ce_id" else v) for k, v in original.headers]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for headers in (list(original.headers), renamed):
            await producer.send_and_wait(ORDERS_TOPIC, original.value, key=original.key, headers=headers)
    finally:
        await producer.stop()

    # Step 1 for every unit: the work order starts; every unit is in progress.
    await production.machine(*(step(marking, serial=s) for s in units))
    started = await orders.until(wo, status="IN_PROGRESS", quantity_in_progress=quantity)
    assert started["started_at"] and started["progress_percent"] == 0

    # Step 2: one unit fails (scrapped), the rest pass. The scrap is asked to be made again.
    scrapped, passing = units[0], units[1:]
    await production.machine(step(testing, serial=scrapped, result="FAIL"), *(step(testing, serial=s) for s in passing))
    progressed = await orders.until(
        wo, quantity_good=quantity - 1, quantity_scrapped=1, quantity_in_progress=0, plan_requests=1
    )
    assert progressed["status"] == "IN_PROGRESS" and progressed["quantity_replaced"] == 1
    assert progressed["progress_percent"] == (quantity - 1) * 100 // quantity
    below = await orders.patch(wo, {"quantity": quantity - 2})
    assert (below.status_code, below.json()["code"]) == (409, "quantity_below_done")

    # The replacement LOT: one more, of one unit; the redelivered release added none.
    lots = await production.lots_until(wo["number"], 4)
    await asyncio.sleep(1)  # anything planned twice would show up beside it by now
    lots = await production.lots(wo["number"])
    assert len(lots) == 4 and lots[-1]["target_quantity"] == 1
    await orders.until(wo, lots_planned=4, quantity_planned=quantity + 1)
    (replacement,) = await production.serials(lots[-1])
    await production.machine(step(marking, serial=replacement))
    await orders.until(wo, quantity_in_progress=1)
    await production.machine(step(testing, serial=replacement))
    done = await orders.until(wo, status="COMPLETED", quantity_good=quantity)
    assert done["progress_percent"] == 100 and done["completed_at"] and done["quantity_scrapped"] == 1
    for action in ("release", "stop", "resume", "cancel"):
        await orders.refused(done, action)  # COMPLETED: only closing is left

    async def completion() -> list | None:
        records = await records_of(kafka, wo["id"], timeout=10)
        found = [r for r in records if ce_type(r) == "lathe.orders.work-order.completed.v1"]
        return (found, records) if found else None

    completed, records = await eventually(completion, timeout=30)
    assert len(completed) == 1
    assert json.loads(completed[0].value) | {"id": None} == {
        "id": None,
        "number": wo["number"],
        "quantity": quantity,
        "quantity_good": quantity,
        "quantity_scrapped": 1,
    }
    replacements = [json.loads(r.value) for r in records if ce_type(r).endswith("replacement-requested.v1")]
    assert [(r["request_no"], r["quantity"]) for r in replacements] == [(1, 1)]
    changes = [json.loads(r.value)["change"] for r in records if ce_type(r).endswith("work-order.changed.v1")]
    assert changes[:3] == ["created", "released", "planned"] and changes[-1] == "completed"
    assert "started" in changes and "progress" in changes
    closed = await orders.moved(wo, "close", "CLOSED")  # complete: no reason needed
    assert closed["close_reason"] is None


async def test_lot_level_work_and_quantity_changes_move_a_work_order(gateway, manager, kafka):
    """A work order without serials: its LOT's first (LOT-level) step starts it with the LOT's
    quantity in progress, and the LOT's completion counts that quantity good. A raised quantity is
    planned as one more LOT; lowered to what is already good, the work order completes."""
    catalog = Catalog(gateway, manager)
    process = await catalog.process()
    model = await catalog.model([process], prefix="WOL")
    orders, production = WorkOrders(gateway, manager), Production(gateway, manager, kafka)
    wo = await orders.create(model, quantity=5)
    short = await orders.create(model, quantity=3)
    for each in (wo, short):
        await orders.moved(each, "release", "RELEASED")
    (lot,) = await production.lots_until(wo["number"], 1)
    (short_lot,) = await production.lots_until(short["number"], 1)
    assert lot["target_quantity"] == 5 and await production.serials(lot) == []

    await production.machine(step(process, lot=lot["lot_number"]), step(process, lot=short_lot["lot_number"]))
    await orders.until(wo, status="IN_PROGRESS", quantity_in_progress=5, quantity_good=0)
    await orders.until(short, status="IN_PROGRESS", quantity_in_progress=3)

    raised = await orders.patch(wo, {"quantity": 8})
    assert raised.status_code == 200, raised.text
    assert raised.json()["plan_requests"] == 1
    first, more = await production.lots_until(wo["number"], 2)
    assert (first["id"], more["target_quantity"], more["status"]) == (lot["id"], 3, "CREATED")
    await orders.until(wo, lots_planned=2, quantity_planned=8)

    finished = await gateway.post(f"/api/v1/lots/{lot['id']}/status", json={"status": "COMPLETED"}, headers=manager)
    assert finished.status_code == 200, finished.text
    partly = await orders.until(wo, quantity_good=5, quantity_in_progress=0)
    assert partly["status"] == "IN_PROGRESS" and partly["progress_percent"] == 62

    lowered = await orders.patch(wo, {"quantity": 5})  # what is good already: done
    assert lowered.status_code == 200, lowered.text
    assert (lowered.json()["status"], lowered.json()["progress_percent"]) == ("COMPLETED", 100)
    log = (await gateway.get(f"/api/v1/work-orders/{wo['number']}/changes", headers=manager)).json()
    assert [(c["field"], c["old_value"], c["new_value"]) for c in log] == [
        ("quantity", "5", "8"),
        ("quantity", "8", "5"),
    ]

    async def announced() -> list[str] | None:
        kinds = [ce_type(r) for r in await records_of(kafka, wo["id"], timeout=10)]
        return kinds if "lathe.orders.work-order.completed.v1" in kinds else None

    kinds = await eventually(announced, timeout=30)
    assert kinds.count("lathe.orders.work-order.quantity-increased.v1") == 1
    assert kinds.count("lathe.orders.work-order.completed.v1") == 1

    await orders.refused(short, "close", "reason_required")
    await orders.moved(short, "close", "CLOSED", {"reason": "enough made elsewhere"})


async def test_production_refuses_an_inactive_model_and_the_work_order_returns_to_draft(gateway, manager, kafka):
    catalog = Catalog(gateway, manager)
    model = await catalog.model([await catalog.process()], prefix="WOR")
    orders, production = WorkOrders(gateway, manager), Production(gateway, manager, kafka)
    wo = await orders.create(model, quantity=4, create_serials=True)
    off = await gateway.patch(f"/api/v1/product-models/{model}", json={"is_active": False}, headers=manager)
    assert off.status_code == 200

    await orders.moved(wo, "release", "RELEASED")
    back = await orders.until(wo, status="DRAFT")
    assert back["rejection_code"] == "inactive_product_model"
    assert model in back["rejection_reason"] and back["released_at"] is None
    assert await production.lots(wo["number"]) == []

    # Corrected and released again: planned this time (the refusal left no plan behind).
    on = await gateway.patch(f"/api/v1/product-models/{model}", json={"is_active": True}, headers=manager)
    assert on.status_code == 200
    again = await orders.moved(wo, "release", "RELEASED")
    assert again["rejection_code"] is None and again["rejection_reason"] is None
    (lot,) = await production.lots_until(wo["number"], 1)
    assert lot["target_quantity"] == 4 and len(await production.serials(lot)) == 4


async def test_cancelling_cancels_the_lots_not_started_and_leaves_started_ones(gateway, manager, kafka):
    catalog = Catalog(gateway, manager)
    marking, testing = await catalog.process(), await catalog.process()
    model = await catalog.model([marking, testing], prefix="WOX")
    orders, production = WorkOrders(gateway, manager), Production(gateway, manager, kafka)
    wo = await orders.create(model, quantity=max_lot_quantity() + 2, create_serials=True)
    await orders.moved(wo, "release", "RELEASED")
    first, second = await production.lots_until(wo["number"], 2)

    await production.machine(step(marking, serial=(await production.serials(first))[0]))
    await orders.until(wo, status="IN_PROGRESS", quantity_in_progress=1)
    await orders.moved(wo, "stop", "STOPPED")
    await orders.moved(wo, "resume", "IN_PROGRESS")  # production had started: back to IN_PROGRESS
    await orders.refused(wo, "release")

    cancelled = await orders.moved(wo, "cancel", "CANCELLED")
    assert cancelled["cancelled_at"]

    async def lot_status(lot: dict) -> str:
        return (await gateway.get(f"/api/v1/lots/{lot['id']}", headers=manager)).json()["status"]

    async def unstarted_cancelled() -> bool:
        return await lot_status(second) == "CANCELLED"

    assert await eventually(unstarted_cancelled, timeout=60)
    assert await lot_status(first) == "IN_PROGRESS"  # started: left to the plant
    records = await records_of(kafka, wo["id"])
    assert [ce_type(r) for r in records].count("lathe.orders.work-order.cancelled.v1") == 1
