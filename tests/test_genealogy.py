"""Component genealogy: consumption rules, what a LOT has left, and multi-level traces both ways."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest

from .conftest import Catalog, bearer

pytestmark = pytest.mark.e2e


class Kit:
    """A fresh one-step product model (its one process the test's own), and helpers to make LOTs and
    units of it and consume them."""

    def __init__(self, gateway, headers: dict[str, str], model: str, process: str) -> None:
        self.gateway, self.headers, self.model, self.process = gateway, headers, model, process

    async def lot(self, target_quantity: int, *, units: int = 0) -> tuple[str, list[str]]:
        lot = await self.gateway.post(
            "/api/v1/lots", json={"model_code": self.model, "target_quantity": target_quantity}, headers=self.headers
        )
        assert lot.status_code == 201, lot.text
        serials: list[str] = []
        if units:
            made = await self.gateway.post(
                f"/api/v1/lots/{lot.json()['id']}/serials", json={"count": units}, headers=self.headers
            )
            serials = [s["serial_number"] for s in made.json()["items"]]
        return lot.json()["lot_number"], serials

    async def consume(self, parent: str, *components: dict):
        return await self.gateway.post(
            f"/api/v1/serials/{parent}/components",
            json={"components": list(components), "process_code": self.process, "operator": "lee"},
            headers=self.headers,
        )

    async def step(self, serial: str, result: str):
        done = await self.gateway.post(
            "/api/v1/process-data",
            json={"serial_number": serial, "process_code": self.process, "equipment_id": "EQ-1", "result": result},
            headers=self.headers,
        )
        assert done.status_code == 201, done.text
        return done.json()

    async def move(self, lot: str, *statuses: str) -> None:
        for status in statuses:
            moved = await self.gateway.post(f"/api/v1/lots/{lot}/status", json={"status": status}, headers=self.headers)
            assert moved.status_code == 200, moved.text

    async def read_lot(self, lot: str) -> dict:
        return (await self.gateway.get(f"/api/v1/lots/{lot}", headers=self.headers)).json()


@pytest.fixture
async def kit(gateway, accounts) -> Kit:
    engineer = bearer(await accounts.token_for("engineer"))
    catalog = Catalog(gateway, engineer)
    process = await catalog.process(name="Assembly")
    return Kit(gateway, engineer, await catalog.model([process], prefix="GEN"), process)


async def test_multi_level_genealogy_traces_both_ways(kit):
    _, (a, b, c, d) = await kit.lot(4, units=4)
    screws, _ = await kit.lot(10)

    assert (await kit.consume(c, {"serial_number": d})).status_code == 201
    made = await kit.consume(a, {"serial_number": b}, {"serial_number": c}, {"lot_number": screws, "quantity": "5"})
    assert made.status_code == 201, made.text
    assert sorted(x["serial_number"] or x["lot_number"] for x in made.json()["consumed"]) == sorted([b, c, screws])

    backward = (await kit.gateway.get(f"/api/v1/serials/{a}/genealogy", headers=kit.headers)).json()
    assert backward["units"] == sorted([b, c, d])
    assert {(x["depth"], x["serial_number"] or x["lot_number"]) for x in backward["links"]} == {
        (1, b),
        (1, c),
        (1, screws),
        (2, d),
    }
    forward = (
        await kit.gateway.get(f"/api/v1/serials/{d}/genealogy", params={"direction": "forward"}, headers=kit.headers)
    ).json()
    assert forward["units"] == sorted([a, c])
    assert [(x["depth"], x["parent_serial_number"]) for x in forward["links"]] == [(1, c), (2, a)]
    recall = (await kit.gateway.get(f"/api/v1/lots/{screws}/genealogy", headers=kit.headers)).json()
    assert recall["units"] == [a]

    reused = await kit.consume(b, {"serial_number": d})
    assert reused.status_code == 409 and reused.json()["code"] == "component_already_used"
    assert reused.json()["used_in"] == c
    cycle = await kit.consume(d, {"serial_number": a})
    assert cycle.status_code == 409 and cycle.json()["code"] == "component_cycle"
    itself = await kit.consume(b, {"serial_number": b})
    assert itself.status_code == 409 and itself.json()["code"] == "component_cycle"
    unknown = await kit.consume(b, {"lot_number": "NO-SUCH-LOT", "quantity": "1"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "lot_not_found"
    half = await kit.consume(b, {"serial_number": c, "quantity": "2"})
    assert half.status_code == 422


async def test_a_failed_unit_is_refused_as_a_component(kit):
    _, (parent, failed) = await kit.lot(2, units=2)
    assert (await kit.step(failed, "FAIL"))["serial_status"] == "FAILED"

    refused = await kit.consume(parent, {"serial_number": failed})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "component_not_usable"
    assert refused.json()["serial_status"] == "FAILED" and refused.json()["serial_number"] == failed
    assert (await kit.gateway.get(f"/api/v1/serials/{parent}/genealogy", headers=kit.headers)).json()["links"] == []


async def test_a_scrapped_unit_is_refused_as_a_component(kit):
    _, (parent, scrapped) = await kit.lot(2, units=2)
    for _ in range(20):  # reworks until the plant's rework limit scraps it
        if (await kit.step(scrapped, "REWORK"))["serial_status"] == "SCRAPPED":
            break
    else:
        pytest.fail("the unit was never scrapped")

    refused = await kit.consume(parent, {"serial_number": scrapped})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "component_not_usable" and refused.json()["serial_status"] == "SCRAPPED"


@pytest.mark.parametrize("moves", [["CANCELLED"], ["IN_PROGRESS", "COMPLETED", "CLOSED"]])
async def test_nothing_is_consumed_from_a_cancelled_or_closed_lot(kit, moves):
    _, (parent,) = await kit.lot(1, units=1)
    material, _ = await kit.lot(10)
    await kit.move(material, *moves)

    refused = await kit.consume(parent, {"lot_number": material, "quantity": "1"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "lot_not_usable" and refused.json()["lot_status"] == moves[-1]
    assert Decimal((await kit.read_lot(material))["consumed_quantity"]) == 0


async def test_a_lot_gives_what_it_holds_and_says_what_remains(kit):
    _, (first, second, third) = await kit.lot(3, units=3)
    material, _ = await kit.lot(10)

    # One request naming the LOT twice asks for the sum.
    taken = await kit.consume(
        first, {"lot_number": material, "quantity": "4"}, {"lot_number": material, "quantity": "2.5"}
    )
    assert taken.status_code == 201, taken.text
    lot = await kit.read_lot(material)
    assert Decimal(lot["consumed_quantity"]) == Decimal("6.5") and Decimal(lot["remaining_quantity"]) == Decimal("3.5")

    refused = await kit.consume(second, {"lot_number": material, "quantity": "3.5001"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "lot_quantity_exceeded"
    assert Decimal(refused.json()["remaining_quantity"]) == Decimal("3.5")
    assert Decimal(refused.json()["requested_quantity"]) == Decimal("3.5001")

    assert (await kit.consume(third, {"lot_number": material, "quantity": "3.5"})).status_code == 201
    lot = await kit.read_lot(material)
    assert Decimal(lot["consumed_quantity"]) == 10 and Decimal(lot["remaining_quantity"]) == 0


async def test_concurrent_consumptions_never_overdraw_a_lot(kit):
    _, parents = await kit.lot(25, units=25)
    material, _ = await kit.lot(5)

    # 25 units take half a piece each at once: exactly ten fit in a LOT of five.
    answers = await asyncio.gather(
        *(kit.consume(parent, {"lot_number": material, "quantity": "0.5"}) for parent in parents)
    )

    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 10 + [409] * 15, [a.text for a in answers if a.status_code not in {201, 409}]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"lot_quantity_exceeded"}
    lot = await kit.read_lot(material)
    assert Decimal(lot["consumed_quantity"]) == Decimal("0.5") * 10 == 5
    assert Decimal(lot["remaining_quantity"]) == 0
    recall = (await kit.gateway.get(f"/api/v1/lots/{material}/genealogy", headers=kit.headers)).json()
    assert len(recall["units"]) == 10
