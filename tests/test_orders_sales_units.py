"""Units on sales orders through the gateway: only PASSED units of the line's model ship, each to one
customer at a time (raced), again after a return; recall impact from a component LOT to the
customer; what the order announces."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from .conftest import bearer
from .orders_sales_kit import Desk, Plant, sales_events

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
async def manager(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("manager"))


@pytest.fixture(scope="module")
async def plant(gateway_url, manager, superuser_dsn) -> Plant:
    client = httpx.AsyncClient(base_url=gateway_url, timeout=10)
    yield await Plant(client, manager, superuser_dsn).start()
    await client.aclose()


@pytest.fixture
def desk(gateway, manager) -> Desk:
    return Desk(gateway, manager)


@pytest.fixture(scope="module")
async def model(plant) -> str:
    return await plant.model()


async def test_only_passed_units_of_the_model_ship_to_one_customer_at_a_time(desk, plant, model, kafka):
    _, units = await plant.units(model, 6, passed=5)
    other_model = await plant.model()
    _, (stranger,) = await plant.units(other_model, 1, passed=1)
    c1, c2 = await desk.customer(), await desk.customer()
    so1, so2 = await desk.order(c1, model, "5"), await desk.order(c2, model, "5")

    refused = await desk.ship(so1, (1, "1", [units[5]]))
    assert refused.status_code == 409 and refused.json()["code"] == "unit_not_passed"
    assert refused.json()["unit_status"] == "CREATED" and refused.json()["serial_number"] == units[5]
    wrong = await desk.ship(so1, (1, "1", [stranger]))
    assert wrong.status_code == 409 and wrong.json()["code"] == "wrong_model"
    assert wrong.json()["model_code"] == other_model
    ghost = await desk.ship(so1, (1, "1", [f"NOPE-{uuid.uuid4().hex[:8]}"]))
    assert ghost.status_code == 404 and ghost.json()["code"] == "serial_not_found"
    miscount = await desk.ship(so1, (1, "2", [units[0]]))
    assert miscount.status_code == 422 and miscount.json()["code"] == "serial_count_mismatch"
    assert (await desk.ship(so1, (1, "2", [units[0]] * 2))).json()["code"] == "duplicate_serial_numbers"

    first = await desk.ship(so1, (1, "2", units[:2]))
    assert first.status_code == 201 and first.json()["lines"][0]["serial_numbers"] == units[:2]
    taken = await desk.ship(so2, (1, "1", [units[0]]))
    assert taken.status_code == 409 and taken.json()["code"] == "unit_already_shipped"
    assert (taken.json()["customer_code"], taken.json()["shipment_number"]) == (c1, first.json()["number"])
    assert taken.json()["sales_order_number"] == so1["number"]

    raced = await asyncio.gather(desk.ship(so1, (1, "1", [units[2]])), desk.ship(so2, (1, "1", [units[2]])))
    assert sorted(r.status_code for r in raced) == [201, 409], [r.text for r in raced]
    loser = next(r for r in raced if r.status_code == 409).json()
    winner = next(r for r in raced if r.status_code == 201).json()
    assert loser["code"] == "unit_already_shipped" and loser["shipment_number"] == winner["number"]

    out = await desk.where(*units[:4])
    assert [u["serial_number"] for u in out["items"]] == sorted(units[:3]) and out["not_shipped"] == [units[3]]
    first_unit = next(u for u in out["items"] if u["serial_number"] == units[0])
    assert first_unit["customer"]["code"] == c1 and first_unit["shipment"]["number"] == first.json()["number"]
    assert first_unit["sales_order"]["number"] == so1["number"] and first_unit["sales_order"]["line_no"] == 1
    assert first_unit["model_code"] == model

    unnamed = await desk.take_back(so1, (1, "1", None))
    assert unnamed.status_code == 409 and unnamed.json()["code"] == "serial_numbers_required"
    back = await desk.take_back(so1, (1, "1", [units[0]]))
    assert back.status_code == 201 and back.json()["lines"][0]["serial_numbers"] == [units[0]]
    assert (await desk.where(units[0]))["not_shipped"] == [units[0]]
    again = await desk.ship(so2, (1, "1", [units[0]]))
    assert again.status_code == 201, again.text  # a returned unit ships again
    assert (await desk.where(units[0]))["items"][0]["customer"]["code"] == c2
    elsewhere = await desk.take_back(so2, (1, "1", [units[1]]))  # out at c1, from the other order
    assert elsewhere.status_code == 409 and elsewhere.json()["code"] == "unit_not_out"

    events = await sales_events(
        kafka, so1["id"], until={"created", "confirmed", "shipped", "returned", "lathe.orders.units.shipped.v1"}
    )
    shipped = [body for ce_type, body in events if ce_type == "lathe.orders.units.shipped.v1"]
    assert shipped[0]["serial_numbers"] == units[:2] and shipped[0]["customer_code"] == c1
    assert shipped[0]["shipment_number"] == first.json()["number"] and shipped[0]["sales_order_number"] == so1["number"]
    last = [body for _, body in events if body.get("change") == "returned"][-1]["document"]
    assert last["number"] == so1["number"] and last["fulfilment"]["returned"] == "1" and last["version"] >= 4


async def test_recall_reaches_the_customer_from_a_component_lot(desk, plant, model):
    component_model = await plant.model()
    component = await desk.gateway.post(
        "/api/v1/lots", json={"model_code": component_model, "target_quantity": 10}, headers=desk.headers
    )
    _, (unit,) = await plant.units(model, 1, passed=0)
    consumed = await desk.gateway.post(
        f"/api/v1/serials/{unit}/components",
        json={
            "components": [{"lot_number": component.json()["lot_number"], "quantity": "2"}],
            "process_code": plant.process,
        },
        headers=desk.headers,
    )
    assert consumed.status_code == 201, consumed.text
    await plant.step(unit)
    await plant.known(f"SELECT status FROM orders.units_view WHERE serial_number = '{unit}'", "PASSED")
    customer = await desk.customer()
    order = await desk.order(customer, model, "1")
    shipment = (await desk.ship(order, (1, "1", [unit]))).json()

    # production: which units contain the component LOT; orders: which of them are at a customer
    genealogy = await desk.gateway.get(f"/api/v1/lots/{component.json()['lot_number']}/genealogy", headers=desk.headers)
    assert unit in genealogy.json()["units"]
    impact = await desk.gateway.post(
        "/api/v1/shipped-units/search", json={"serial_numbers": genealogy.json()["units"]}, headers=desk.headers
    )
    assert impact.status_code == 200
    (hit,) = impact.json()["items"]
    assert (hit["serial_number"], hit["customer"]["code"], hit["shipment"]["number"], hit["sales_order"]["number"]) == (
        unit, customer, shipment["number"], order["number"]
    )  # fmt: skip


async def test_two_shipments_of_the_same_units_in_opposite_orders_one_wins(desk, plant, model):
    _, units = await plant.units(model, 6, passed=6)
    customer = await desk.customer()
    for a, b in zip(units[::2], units[1::2], strict=True):
        so1, so2 = await desk.order(customer, model, "2"), await desk.order(customer, model, "2")
        raced = await asyncio.gather(desk.ship(so1, (1, "2", [a, b])), desk.ship(so2, (1, "2", [b, a])))
        assert sorted(r.status_code for r in raced) == [201, 409], [r.text for r in raced]
        assert next(r for r in raced if r.status_code == 409).json()["code"] == "unit_already_shipped"
