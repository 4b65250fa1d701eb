"""ERP documents over Kafka, against the running orders service: upserts by (source, external_id)
and revision with duplicates and revisions out of order, every dead-letter reason on the real
broker, and the planners' conflicts list (filled by what was dead-lettered, settled by a later
revision or by hand)."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest
from lathe_common.kafka import create_producer
from lathe_common.testing import eventually

from .conftest import bearer
from .orders_sales_kit import Desk, Plant
from .test_hostile_messages import dead_letters, reason

pytestmark = pytest.mark.e2e

PO_TOPIC = "lathe.erp.purchase-orders.v1"
SO_TOPIC = "lathe.erp.sales-orders.v1"
WO_TOPIC = "lathe.erp.work-orders.v1"
SOURCE = "SAP-TEST"


@pytest.fixture(scope="module")
async def manager(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("manager"))


@pytest.fixture(scope="module")
async def plant(gateway_url, manager, superuser_dsn) -> Plant:
    client = httpx.AsyncClient(base_url=gateway_url, timeout=10)
    yield await Plant(client, manager, superuser_dsn).start()
    await client.aclose()


@pytest.fixture
async def erp(kafka):
    producer = create_producer(kafka, client_id="lathe-tests-erp")
    await producer.start()

    async def publish(topic: str, external_id: str, revision, document, *, raw: bytes | None = None) -> tuple:
        body = {"source": SOURCE, "external_id": external_id, "revision": revision, "document": document}
        sent = await producer.send_and_wait(
            topic, value=raw if raw is not None else json.dumps(body).encode(), key=f"{SOURCE}:{external_id}".encode()
        )
        return sent.partition, sent.offset

    try:
        yield publish
    finally:
        await producer.stop()


def purchase_order(supplier: str, quantity: str = "10", expected: str = "2027-01-15", lines: int = 1) -> dict:
    line = {"item_code": "YARN-40", "description": "Cotton yarn", "quantity": quantity, "unit": "KG",
            "unit_price": "2.50", "tax_rate": "19"}  # fmt: skip
    return {"supplier_code": supplier, "currency": "EUR", "expected_date": expected, "lines": [line] * lines}


async def supplier(gateway, headers) -> str:
    code = f"SUP-{uuid.uuid4().hex[:8]}"
    made = await gateway.post(
        "/api/v1/suppliers", json={"code": code, "name": code, "currency": "EUR"}, headers=headers
    )
    assert made.status_code == 201, made.text
    return code


async def held(gateway, headers, path: str, external_id: str) -> dict | None:
    """The document Lathe holds for ``external_id`` (found by the list's search), in full."""
    found = await gateway.get(path, params={"q": external_id}, headers=headers)
    assert found.status_code == 200, found.text
    items = found.json()["items"]
    if not items:
        return None
    return (await gateway.get(f"{path}/{items[0]['id']}", headers=headers)).json()


async def conflicts(gateway, headers, external_id: str, **params) -> list[dict]:
    found = await gateway.get("/api/v1/erp-conflicts", params={"external_id": external_id, **params}, headers=headers)
    assert found.status_code == 200, found.text
    return found.json()["items"]


async def counted(gateway_url: str, outcome: str) -> float:
    """lathe_erp_documents_total for the purchase-order topic, read from the orders service."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(gateway_url.replace(":8000", ":8003") + "/metrics")).text
    for line in text.splitlines():
        if line.startswith("lathe_erp_documents_total{") and f'outcome="{outcome}"' in line and PO_TOPIC in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_revisions_upsert_once_in_order_and_late_ones_are_ignored_and_counted(gateway, gateway_url, manager, erp):
    code, external_id = await supplier(gateway, manager), f"45{uuid.uuid4().int % 10**8:08d}"
    stale_before = await counted(gateway_url, "stale")
    await erp(PO_TOPIC, external_id, 1, purchase_order(code))
    order = await eventually(lambda: held(gateway, manager, "/api/v1/purchase-orders", external_id))
    assert order["number"].startswith("PO-") and order["status"] == "DRAFT"
    assert order["external"]["source"] == SOURCE and order["external"]["external_id"] == external_id
    assert order["created_by"] == f"erp:{SOURCE}"
    assert order["total"] == "29.75" and order["version"] == 1

    await erp(PO_TOPIC, external_id, 1, purchase_order(code, quantity="99"))  # the same revision again
    await erp(PO_TOPIC, external_id, 3, purchase_order(code, quantity="20", expected="2027-02-01", lines=2))
    await erp(PO_TOPIC, external_id, 2, purchase_order(code, quantity="5"))  # arrived late

    async def at_revision_3():
        now = await held(gateway, manager, "/api/v1/purchase-orders", external_id)
        return now if now["external"]["revision"] == 3 else None

    await eventually(at_revision_3)
    await eventually(lambda: counted_more(gateway_url, stale_before))  # revision 2 was read, and ignored
    order = await held(gateway, manager, "/api/v1/purchase-orders", external_id)
    assert [line["quantity"] for line in order["lines"]] == ["20", "20"], "revision 2 (late) changed nothing"
    assert order["expected_date"] == "2027-02-01" and order["version"] == 2
    assert order["total"] == "119.00"
    listed = await gateway.get("/api/v1/purchase-orders", params={"q": external_id}, headers=manager)
    assert len(listed.json()["items"]) == 1, "one document per (source, external_id)"
    assert await conflicts(gateway, manager, external_id) == []


async def counted_more(gateway_url: str, before: float) -> bool:
    return await counted(gateway_url, "stale") > before


async def test_every_refusal_is_dead_lettered_with_its_reason_and_listed_for_planners(
    gateway, manager, erp, kafka, plant
):
    code = await supplier(gateway, manager)
    ids = {name: f"X-{name}-{uuid.uuid4().hex[:8]}" for name in
           ("json", "envelope", "document", "nul", "partner", "model", "rule")}  # fmt: skip
    origins = {
        "json": await erp(PO_TOPIC, ids["json"], 1, None, raw=b'{"source": "SAP-TEST", "external_id": '),
        "envelope": await erp(PO_TOPIC, ids["envelope"], "3", purchase_order(code)),
        "document": await erp(PO_TOPIC, ids["document"], 1, {"supplier_code": code, "lines": []}),
        "nul": await erp(PO_TOPIC, ids["nul"], 1, {**purchase_order(code), "notes": "a\x00b"}),
        "partner": await erp(PO_TOPIC, ids["partner"], 1, purchase_order("NO-SUCH-SUPPLIER")),
        "model": await erp(
            WO_TOPIC, ids["model"], 1, {"model_code": "NO-SUCH-MODEL", "quantity": 5, "due_date": "2027-03-01"}
        ),  # fmt: skip
    }
    # A revision the rules refuse: once submitted, a line cannot be removed (as through PATCH).
    await erp(PO_TOPIC, ids["rule"], 1, purchase_order(code, lines=2))
    order = await eventually(lambda: held(gateway, manager, "/api/v1/purchase-orders", ids["rule"]))
    current = await gateway.get(f"/api/v1/purchase-orders/{order['id']}", headers=manager)
    submitted = await gateway.post(
        f"/api/v1/purchase-orders/{order['id']}/submit", headers=manager | {"If-Match": current.headers["etag"]}
    )
    assert submitted.status_code == 200, submitted.text
    origins["rule"] = await erp(PO_TOPIC, ids["rule"], 2, purchase_order(code, lines=1))

    po_dead = await dead_letters(kafka, PO_TOPIC, [v for k, v in origins.items() if k != "model"])
    wo_dead = await dead_letters(kafka, WO_TOPIC, [origins["model"]])
    reasons = {name: reason((wo_dead if name == "model" else po_dead)[origin]) for name, origin in origins.items()}
    assert reasons["json"] == "invalid_json"
    assert reasons["envelope"] == "schema_error"
    assert reasons["document"] == "schema_error"
    assert reasons["nul"] == "invalid_value"
    assert reasons["partner"] == "supplier_not_found"
    assert reasons["model"] == "product_model_not_found"
    assert reasons["rule"] == "change_not_allowed"

    for name in ("envelope", "document", "nul", "partner", "model", "rule"):
        listed = await eventually(lambda name=name: conflicts(gateway, manager, ids[name]))
        assert listed[0]["reason"] == reasons[name] and listed[0]["resolved_at"] is None, listed
        assert listed[0]["source"] == SOURCE and listed[0]["detail"]
    # Bad JSON has no readable origin: it is listed by where it sits.
    by_topic = await gateway.get("/api/v1/erp-conflicts", params={"reason": "invalid_json", "topic": PO_TOPIC},
                                 headers=manager)  # fmt: skip
    assert any(c["offset"] == origins["json"][1] for c in by_topic.json()["items"])
    # The submitted order kept both lines.
    kept = await held(gateway, manager, "/api/v1/purchase-orders", ids["rule"])
    assert len(kept["lines"]) == 2


async def test_a_later_revision_settles_the_document_s_conflicts_and_planners_resolve_the_rest(
    gateway, manager, erp, accounts
):
    external_id = f"LATE-{uuid.uuid4().hex[:8]}"
    code = f"SUP-{uuid.uuid4().hex[:8]}"
    await erp(PO_TOPIC, external_id, 1, purchase_order(code))  # the supplier does not exist yet
    [conflict] = await eventually(lambda: conflicts(gateway, manager, external_id))
    assert conflict["reason"] == "supplier_not_found" and conflict["revision"] == 1

    made = await gateway.post("/api/v1/suppliers", json={"code": code, "name": code, "currency": "EUR"},
                              headers=manager)  # fmt: skip
    assert made.status_code == 201
    await erp(PO_TOPIC, external_id, 2, purchase_order(code))
    await eventually(lambda: held(gateway, manager, "/api/v1/purchase-orders", external_id))
    [settled] = await eventually(lambda: conflicts(gateway, manager, external_id, open="false"))
    assert settled["id"] == conflict["id"] and settled["resolution"] == "revision 2 applied"
    assert settled["resolved_by"] == f"erp:{SOURCE}"
    assert await conflicts(gateway, manager, external_id, open="true") == []

    other = f"HAND-{uuid.uuid4().hex[:8]}"
    await erp(PO_TOPIC, other, 1, purchase_order("NO-SUCH-SUPPLIER"))
    [open_one] = await eventually(lambda: conflicts(gateway, manager, other))
    viewer = bearer(await accounts.token_for("viewer"))
    refused = await gateway.post(f"/api/v1/erp-conflicts/{open_one['id']}/resolve", json={}, headers=viewer)
    assert refused.status_code == 403
    done = await gateway.post(
        f"/api/v1/erp-conflicts/{open_one['id']}/resolve", json={"note": "ordered by phone"}, headers=manager
    )
    assert done.status_code == 200, done.text
    assert done.json()["resolution"] == "ordered by phone" and done.json()["resolved_by"]
    again = await gateway.post(f"/api/v1/erp-conflicts/{open_one['id']}/resolve", json={}, headers=manager)
    assert again.status_code == 409 and again.json()["code"] == "already_resolved"
    missing = await gateway.get("/api/v1/erp-conflicts/999999999999", headers=manager)
    assert missing.status_code == 404 and missing.json()["code"] == "erp_conflict_not_found"
    csv = await gateway.get("/api/v1/erp-conflicts", params={"external_id": other, "format": "csv"}, headers=manager)
    assert csv.status_code == 200 and other in csv.text and "ordered by phone" in csv.text


async def test_sales_and_work_orders_come_from_an_erp_too(gateway, manager, erp, plant):
    model = await plant.model()
    desk = Desk(gateway, manager)
    customer = await desk.customer()
    so_id, wo_id = f"SO-{uuid.uuid4().hex[:8]}", f"WO-{uuid.uuid4().hex[:8]}"
    line = {"model_code": model, "quantity": "4", "unit_price": "100", "tax_rate": "20"}
    await erp(SO_TOPIC, so_id, 7, {"customer_code": customer, "currency": "EUR", "lines": [line]})
    await erp(WO_TOPIC, wo_id, 1, {"model_code": model, "quantity": 4, "due_date": "2027-03-01"})
    await erp(WO_TOPIC, wo_id, 2, {"model_code": model, "quantity": 6, "due_date": "2027-03-08", "priority": "HIGH"})
    sales = await eventually(lambda: held(gateway, manager, "/api/v1/sales-orders", so_id))
    assert sales["status"] == "DRAFT" and sales["total"] in ("480", "480.00")

    async def revised_work_order():
        found = await held(gateway, manager, "/api/v1/work-orders", wo_id)
        return found if found and found["quantity"] == 6 else None

    work = await eventually(revised_work_order)
    assert work["due_date"] == "2027-03-08" and work["priority"] == "HIGH" and work["status"] == "DRAFT"
    assert work["external_revision"] == 2
