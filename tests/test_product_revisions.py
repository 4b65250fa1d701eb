"""Product definition with revisions (issue 12): a model's BOM and traveler type, revisions of its
routing and BOM, LOTs that keep the revision they were made with (REST and machine steps), and
components consumed against the pinned BOM, raced."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from lathe_common.testing import eventually

from .conftest import Catalog, bearer

pytestmark = pytest.mark.e2e


def bom_line(component: str, quantity: str = "1", step: str | None = None, **more) -> dict:
    return {
        "component_code": component,
        "description": f"{component} part",
        "quantity_per_unit": quantity,
        "unit": "pcs",
        **({"process_code": step} if step else {}),
        **more,
    }


class Plant:
    def __init__(self, gateway, headers: dict[str, str], username: str) -> None:
        self.gateway, self.headers, self.username = gateway, headers, username
        self.catalog = Catalog(gateway, headers)

    async def model(self, routing: list[str], bom: list[dict] | None = None, **more) -> dict:
        code = f"REV-{uuid.uuid4().hex[:8]}"
        body = {"model_code": code, "model_name": f"Board {code}", "routing": routing, "bom": bom or [], **more}
        created = await self.gateway.post("/api/v1/product-models", json=body, headers=self.headers)
        assert created.status_code == 201, created.text
        return created.json()

    async def patch(self, model: str, **body):
        return await self.gateway.patch(f"/api/v1/product-models/{model}", json=body, headers=self.headers)

    async def lot(self, model: str, units: int = 1, target: int | None = None) -> tuple[dict, list[str]]:
        lot = await self.gateway.post(
            "/api/v1/lots", json={"model_code": model, "target_quantity": target or max(units, 1)}, headers=self.headers
        )
        assert lot.status_code == 201, lot.text
        serials: list[str] = []
        if units:
            made = await self.gateway.post(
                f"/api/v1/lots/{lot.json()['id']}/serials", json={"count": units}, headers=self.headers
            )
            serials = [s["serial_number"] for s in made.json()["items"]]
        return lot.json(), serials

    async def step(self, serial: str, process: str):
        return await self.gateway.post(
            "/api/v1/process-data",
            json={"serial_number": serial, "process_code": process, "result": "PASS"},
            headers=self.headers,
        )

    async def consume(self, parent: str, step: str | None, *components: dict):
        return await self.gateway.post(
            f"/api/v1/serials/{parent}/components",
            json={"components": list(components), "process_code": step},
            headers=self.headers,
        )

    async def revisions(self, model: str) -> list[dict]:
        listed = await self.gateway.get(f"/api/v1/product-models/{model}/revisions", headers=self.headers)
        assert listed.status_code == 200, listed.text
        return listed.json()["items"]


@pytest.fixture
async def plant(gateway, accounts) -> Plant:
    user = await accounts.create_user("engineer")
    token = (await accounts.login(user["username"], user["password"]))["access_token"]
    return Plant(gateway, bearer(token), user["username"])


async def test_a_model_starts_at_revision_a_with_its_bom_and_traveler_type(plant):
    mount, test = await plant.catalog.processes(2)
    bom = [
        bom_line("RES-10K-0603", "2.50", mount, reference_designators=[]),
        bom_line("CAP-100N", "3", mount, reference_designators=["C1", "C2", "C3"]),
        bom_line("SOLDER-PASTE", "0.0125"),
    ]
    bom[0]["quantity_per_unit"] = "2.50"
    model = await plant.model([mount, test], bom, traveler_type="PCB", revision_reason="first release")
    assert model["revision"] == "A" and model["traveler_type"] == "PCB"
    assert [line["quantity_per_unit"] for line in model["bom"]] == ["2.5", "3", "0.0125"]
    assert model["bom"][2]["process_code"] is None and model["bom"][2]["reference_designators"] == []

    (first,) = await plant.revisions(model["model_code"])
    assert first["revision"] == "A" and first["revision_no"] == 1
    assert first["created_by"] == plant.username and first["reason"] == "first release"
    assert first["changes"]["routing"]["added"] == [mount, test]
    assert len(first["changes"]["bom"]["added"]) == 3
    whole = await plant.gateway.get(f"/api/v1/product-models/{model['model_code']}/revisions/a", headers=plant.headers)
    assert whole.status_code == 200 and whole.json()["routing"] == [mount, test]
    assert whole.json()["bom"] == model["bom"]
    for missing in ("B", "A1", "ZZZZZZZZZ"):
        none = await plant.gateway.get(
            f"/api/v1/product-models/{model['model_code']}/revisions/{missing}", headers=plant.headers
        )
        assert none.status_code == 404 and none.json()["code"] == "revision_not_found", missing
    unknown = await plant.gateway.get("/api/v1/product-models/no-such-model/revisions", headers=plant.headers)
    assert unknown.status_code == 404 and unknown.json()["code"] == "product_model_not_found"

    # Neither a traveler type nor the same BOM in another order is a revision.
    same = await plant.patch(model["model_code"], traveler_type="ASSEMBLY", bom=list(reversed(bom)))
    assert same.status_code == 200 and same.json()["revision"] == "A"
    assert same.json()["traveler_type"] == "ASSEMBLY" and same.json()["bom"] == model["bom"]
    cleared = await plant.patch(model["model_code"], traveler_type=None)
    assert cleared.json()["traveler_type"] is None and len(await plant.revisions(model["model_code"])) == 1


async def test_a_lot_keeps_the_routing_of_the_revision_it_was_made_with(plant, accounts):
    p1, p2, p3 = await plant.catalog.processes(3)
    model = (await plant.model([p1, p2]))["model_code"]
    old_lot, (old_unit,) = await plant.lot(model)
    assert old_lot["revision"] == "A"

    unexplained = await plant.patch(model, routing=[p1, p3, p2])
    assert unexplained.status_code == 422 and unexplained.json()["code"] == "revision_reason_required"
    revised = await plant.patch(model, routing=[p1, p3, p2], revision_reason="ECO-17: inspect after mounting")
    assert revised.status_code == 200, revised.text
    assert revised.json()["revision"] == "B" and revised.json()["routing"] == [p1, p3, p2]
    new_lot, (new_unit,) = await plant.lot(model)
    assert new_lot["revision"] == "B"
    assert (await plant.gateway.get(f"/api/v1/lots/{old_lot['lot_number']}", headers=plant.headers)).json()[
        "revision"
    ] == "A"

    # The old LOT's unit follows A: P3 is not in its routing, and P2 comes right after P1.
    assert (await plant.step(old_unit, p1)).status_code == 201
    refused = await plant.step(old_unit, p3)
    assert refused.status_code == 422 and refused.json()["code"] == "process_not_in_routing"
    assert refused.json()["routing"] == [p1, p2]
    done = await plant.step(old_unit, p2)
    assert done.status_code == 201 and done.json()["serial_status"] == "PASSED"
    # The new LOT's unit follows B.
    assert (await plant.step(new_unit, p1)).status_code == 201
    early = await plant.step(new_unit, p2)
    assert early.status_code == 409 and early.json()["code"] == "step_out_of_order"
    assert (await plant.step(new_unit, p3)).status_code == 201
    assert (await plant.step(new_unit, p2)).json()["serial_status"] == "PASSED"

    newest, oldest = await plant.revisions(model)
    assert (newest["revision"], oldest["revision"]) == ("B", "A")
    assert newest["reason"] == "ECO-17: inspect after mounting" and newest["created_by"] == plant.username
    assert newest["changes"]["routing"] == {"before": [p1, p2], "after": [p1, p3, p2], "added": [p3], "removed": []}
    assert newest["changes"]["bom"] is None

    # Both are announced with their revision (read back from the audit trail).
    admin = bearer(await accounts.admin_token())

    async def announced(subject: str, event_type: str) -> list[dict] | None:
        response = await plant.gateway.get(
            "/api/v1/audit-logs", params={"subject": subject, "event_type": event_type}, headers=admin
        )
        return response.json().get("items") or None

    (changed,) = await eventually(
        lambda: announced(revised.json()["id"], "lathe.production.product-model.changed.v1"), timeout=30
    )
    assert changed["data"]["revision"] == "B" and changed["data"]["previous"]["revision"] == "A"
    assert changed["data"]["revision_reason"] == "ECO-17: inspect after mounting"
    assert sorted(changed["data"]["changed"]) == ["revision", "routing"]
    (created,) = await eventually(lambda: announced(new_lot["id"], "lathe.production.lot.created.v1"), timeout=30)
    assert created["data"]["revision"] == "B"


async def test_machine_steps_follow_the_pinned_revision_too(plant, kafka):
    p1, p2, p3 = await plant.catalog.processes(3)
    model = (await plant.model([p1, p2]))["model_code"]
    _, (old_unit,) = await plant.lot(model)
    assert (await plant.patch(model, routing=[p1, p3, p2], revision_reason="inspection")).status_code == 200
    _, (new_unit,) = await plant.lot(model)

    def message(serial: str, process: str) -> bytes:
        return json.dumps(
            {"message_id": str(uuid.uuid4()), "serial_number": serial, "process_code": process, "result": "PASS"}
        ).encode()

    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for serial in (old_unit, new_unit):
            for process in (p1, p3, p2):
                await producer.send_and_wait(
                    "lathe.machine.process-data.v1", message(serial, process), key=serial.encode()
                )
    finally:
        await producer.stop()

    async def history(serial: str) -> list[str] | None:
        unit = (await plant.gateway.get(f"/api/v1/serials/{serial}", headers=plant.headers)).json()
        if unit["status"] != "PASSED":
            return None
        steps = (await plant.gateway.get(f"/api/v1/serials/{serial}/history", headers=plant.headers)).json()
        return [s["process_code"] for s in steps]

    # The old unit's P3 was dead-lettered (process_not_in_routing); its P2 finished it.
    assert await eventually(lambda: history(old_unit), timeout=60) == [p1, p2]
    assert await eventually(lambda: history(new_unit), timeout=60) == [p1, p3, p2]


async def test_components_are_checked_against_the_bom_the_unit_s_lot_pinned(plant):
    mount, test = await plant.catalog.processes(2)
    screw = (await plant.model([mount]))["model_code"]
    board = (await plant.model([mount]))["model_code"]
    stranger = (await plant.model([mount]))["model_code"]
    product = (await plant.model([mount, test]))["model_code"]
    unchecked_lot, (unchecked,) = await plant.lot(product)  # revision A: no BOM yet
    revised = await plant.patch(
        product,
        bom=[bom_line(screw, "2", test), bom_line(board, "1")],
        revision_reason="BOM from engineering",
    )
    assert revised.status_code == 200 and revised.json()["revision"] == "B"
    assert revised.json()["bom"][0]["process_code"] == test
    changes = (await plant.revisions(product))[0]["changes"]
    assert changes["routing"] is None and [x["component_code"] for x in changes["bom"]["added"]] == [screw, board]

    _, (unit,) = await plant.lot(product)
    screws, _ = await plant.lot(screw, units=0, target=100)
    _, boards = await plant.lot(board, units=2)
    strangers, _ = await plant.lot(stranger, units=0, target=10)
    take = {"lot_number": screws["lot_number"], "quantity": "2"}

    assert (await plant.consume(unit, test, take)).status_code == 201
    more = await plant.consume(unit, test, {"lot_number": screws["lot_number"], "quantity": "0.5"})
    assert more.status_code == 409 and more.json()["code"] == "bom_quantity_exceeded"
    assert more.json()["quantity_per_unit"] == "2" and more.json()["consumed_quantity"] == "2"
    wrong_step = await plant.consume(unit, mount, take)
    assert wrong_step.status_code == 422 and wrong_step.json()["code"] == "component_not_on_bom"
    assert wrong_step.json()["bom_processes"] == [test]
    no_step = await plant.consume(unit, None, take)
    assert no_step.status_code == 422 and no_step.json()["code"] == "component_not_on_bom"
    foreign = await plant.consume(unit, test, {"lot_number": strangers["lot_number"], "quantity": "1"})
    assert foreign.status_code == 422 and foreign.json()["code"] == "component_not_on_bom"
    # A unit of a model on the BOM at any step; the second would be one board too many.
    assert (await plant.consume(unit, mount, {"serial_number": boards[0]})).status_code == 201
    second = await plant.consume(unit, test, {"serial_number": boards[1]})
    assert second.status_code == 409 and second.json()["code"] == "bom_quantity_exceeded"
    # Nothing refused was drawn from its LOT.
    assert (await plant.gateway.get(f"/api/v1/lots/{screws['lot_number']}", headers=plant.headers)).json()[
        "consumed_quantity"
    ] == "2.0000"

    # The LOT made before the BOM keeps revision A, which has none: nothing is checked.
    assert unchecked_lot["revision"] == "A"
    free = await plant.consume(unchecked, None, {"lot_number": strangers["lot_number"], "quantity": "3"})
    assert free.status_code == 201 and free.json()["bom_deviations"] == []


async def test_concurrent_consumptions_never_exceed_a_bom_line(plant):
    (step,) = await plant.catalog.processes(1)
    screw = (await plant.model([step]))["model_code"]
    product = (await plant.model([step], [bom_line(screw, "3", step)]))["model_code"]
    _, parents = await plant.lot(product, units=3)
    screws, _ = await plant.lot(screw, units=0, target=100)

    async def take_one(parent: str):
        return await plant.consume(parent, step, {"lot_number": screws["lot_number"], "quantity": "1"})

    answers = await asyncio.gather(*(take_one(parent) for parent in parents for _ in range(10)))
    by_parent: dict[str, list[int]] = {}
    for parent, answer in zip([p for p in parents for _ in range(10)], answers, strict=True):
        by_parent.setdefault(parent, []).append(answer.status_code)
        assert answer.status_code in (201, 409), answer.text
        if answer.status_code == 409:
            assert answer.json()["code"] == "bom_quantity_exceeded"
    assert {parent: codes.count(201) for parent, codes in by_parent.items()} == {parent: 3 for parent in parents}
    for parent in parents:
        inside = (await plant.gateway.get(f"/api/v1/serials/{parent}/genealogy", headers=plant.headers)).json()
        assert sum(float(link["quantity"]) for link in inside["links"]) == 3
    lot = (await plant.gateway.get(f"/api/v1/lots/{screws['lot_number']}", headers=plant.headers)).json()
    assert lot["consumed_quantity"] == "9.0000"


async def test_hostile_boms_are_refused_with_codes(plant):
    p1, p2 = await plant.catalog.processes(2)
    model = await plant.model([p1, p2], [bom_line("GLUE", "1", p2)])
    code = model["model_code"]

    async def refused(**body) -> tuple[int, str]:
        create = {"model_code": f"H-{uuid.uuid4().hex[:8]}", "model_name": "hostile", "routing": [p1, p2], **body}
        answer = await plant.gateway.post("/api/v1/product-models", json=create, headers=plant.headers)
        return answer.status_code, answer.json().get("code")

    huge = [bom_line(f"C{n}") for n in range(501)]
    assert await refused(bom=huge) == (422, "validation_error")
    placed = [bom_line(f"C{n}", "1000", reference_designators=[f"X{n}-{i}" for i in range(1000)]) for n in range(6)]
    assert await refused(bom=placed) == (422, "bom_too_large")
    assert await refused(bom=[bom_line("NUL\u0000CODE")]) == (422, "invalid_value")
    assert await refused(bom=[bom_line("A", description="nul\u0000")]) == (422, "invalid_value")
    twice = [bom_line("R-A", "1", reference_designators=["R1"]), bom_line("R-B", "1", reference_designators=["r1"])]
    assert await refused(bom=twice) == (422, "duplicate_reference_designator")
    assert await refused(bom=[bom_line("R-A", "2", reference_designators=["R1"])]) == (
        422,
        "designator_count_mismatch",
    )
    assert await refused(bom=[bom_line("GLUE", "1", "P_NOT_ROUTED")]) == (422, "bom_process_not_in_routing")
    assert await refused(bom=[bom_line("GLUE"), bom_line("GLUE", "2")]) == (422, "duplicate_bom_line")
    assert await refused(bom=[bom_line("GLUE", "0")]) == (422, "validation_error")
    assert await refused(bom=[bom_line("GLUE", "1e400")]) == (422, "validation_error")
    assert await refused(bom=[bom_line("GLUE") | {"qty": 1}]) == (422, "validation_error")
    assert await refused(traveler_type="SPACESHIP") == (422, "validation_error")

    itself = await plant.patch(code, bom=[bom_line(code)])
    assert itself.status_code == 422 and itself.json()["code"] == "bom_contains_itself"
    # The routing cannot drop a step the BOM consumes at.
    dropped = await plant.patch(code, routing=[p1])
    assert dropped.status_code == 422 and dropped.json()["code"] == "bom_process_not_in_routing"
    blank = await plant.patch(code, routing=[p2, p1], revision_reason="   ")
    assert blank.status_code == 422 and blank.json()["code"] == "validation_error"
    assert (await plant.gateway.get(f"/api/v1/product-models/{code}", headers=plant.headers)).json()["revision"] == "A"


async def test_a_warning_check_records_deviations_and_lets_them_through(plant):
    """LATHE_PRODUCTION_BOM_CHECK=warn, through the service's own code in this process (the stack's
    production runs with enforce)."""
    from lathe_common.db import create_engine, create_session_factory, unit_of_work
    from lathe_production.genealogy.bom_rules import BomCheck
    from lathe_production.genealogy.models import Component
    from lathe_production.genealogy.schemas import ComponentsConsumed
    from lathe_production.genealogy.service import Genealogies
    from lathe_production.lots.models import Lot, Serial
    from lathe_production.settings import ProductionSettings
    from sqlalchemy import select

    (step,) = await plant.catalog.processes(1)
    screw = (await plant.model([step]))["model_code"]
    stranger = (await plant.model([step]))["model_code"]
    product = (await plant.model([step], [bom_line(screw, "1", step)]))["model_code"]
    _, (unit,) = await plant.lot(product)
    screws, _ = await plant.lot(screw, units=0, target=10)
    strangers, _ = await plant.lot(stranger, units=0, target=10)
    body = ComponentsConsumed.model_validate(
        {
            "process_code": step,
            "components": [
                {"lot_number": screws["lot_number"], "quantity": "2"},
                {"lot_number": strangers["lot_number"], "quantity": "1"},
            ],
        }
    )
    engine = create_engine(ProductionSettings().database_url, pool_size=1)
    try:
        async with unit_of_work(create_session_factory(engine)) as session:
            links, deviations = await Genealogies(session, BomCheck.WARN).consume(unit, body)
        async with unit_of_work(create_session_factory(engine)) as session:
            marks = dict(
                (
                    await session.execute(
                        select(Lot.lot_number, Component.bom_deviation)
                        .join(Lot, Lot.id == Component.child_lot_id)
                        .join(Serial, Serial.id == Component.parent_serial_id)
                        .where(Serial.serial_number == unit)
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    assert sorted(link.lot_number for link in links) == sorted([screws["lot_number"], strangers["lot_number"]])
    assert sorted((d.code, d.component_code) for d in deviations) == [
        ("bom_quantity_exceeded", screw),
        ("component_not_on_bom", stranger),
    ]
    assert marks == {screws["lot_number"]: "bom_quantity_exceeded", strangers["lot_number"]: "component_not_on_bom"}
    # Enforced again (the stack's own setting), the unit's next screw is refused: the two count.
    refused = await plant.consume(unit, step, {"lot_number": screws["lot_number"], "quantity": "1"})
    assert refused.status_code == 409 and refused.json()["consumed_quantity"] == "2"
