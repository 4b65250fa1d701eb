"""Recording step executions: routing order, spec limits, rework limit, LOT completion, idempotency."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from .conftest import OFFSET_LIMITS, Catalog, bearer

pytestmark = pytest.mark.e2e


@pytest.fixture
async def staff(accounts) -> dict[str, dict[str, str]]:
    return {
        "engineer": bearer(await accounts.token_for("engineer")),
        "operator": bearer(await accounts.token_for("operator")),
    }


@pytest.fixture
async def processes(gateway, staff) -> tuple[str, str, str]:
    """This test's own processes (marking, inspection, other): marking has no limits, inspection
    takes offset_mv within ±5 mV, and the other is in no routing."""
    catalog = Catalog(gateway, staff["engineer"])
    return await catalog.process(name="Marking"), await catalog.process(OFFSET_LIMITS), await catalog.process()


@pytest.fixture
async def make_units(gateway, staff, processes):
    """``await make_units(n)``: a fresh LOT of a two-step model (marking, inspection), with n serials;
    returns (lot, [serial numbers])."""
    model = await Catalog(gateway, staff["engineer"]).model(list(processes[:2]), prefix="STEP")

    async def make(n: int) -> tuple[dict, list[str]]:
        lot = (
            await gateway.post(
                "/api/v1/lots", json={"model_code": model, "target_quantity": n}, headers=staff["engineer"]
            )
        ).json()
        made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": n}, headers=staff["engineer"])
        return lot, [s["serial_number"] for s in made.json()["items"]]

    return make


async def step(gateway, headers, serial: str, process: str, **body):
    return await gateway.post(
        "/api/v1/process-data",
        json={"serial_number": serial, "process_code": process, "operator": "petrov", "equipment_id": "EQ-1", **body},
        headers=headers,
    )


async def test_a_unit_follows_its_routing_and_passes_at_the_last_step(gateway, staff, make_units, processes):
    marking, inspection, other = processes
    lot, (unit,) = await make_units(1)
    op = staff["operator"]

    early = await step(gateway, op, unit, inspection, measurements={"offset_mv": 1.2})
    assert early.status_code == 409 and early.json()["code"] == "step_out_of_order"
    assert early.json()["expected_process"] == marking
    stranger = await step(gateway, op, unit, other)
    assert stranger.status_code == 422 and stranger.json()["code"] == "process_not_in_routing"

    first = await step(
        gateway,
        op,
        unit,
        marking,
        result="PASS",
        started_at="2026-01-05T08:00:00Z",
        completed_at="2026-01-05T08:00:41Z",
    )
    assert first.status_code == 201, first.text
    body = first.json()
    assert body["serial_status"] == "IN_PROGRESS" and body["step_no"] == 1 and body["lot_status"] == "IN_PROGRESS"
    assert float(body["cycle_time_seconds"]) == 41.0

    last = await step(gateway, op, unit, inspection, measurements={"offset_mv": 1.2})
    assert last.status_code == 201 and last.json()["result"] == "PASS" and last.json()["serial_status"] == "PASSED"
    assert last.json()["lot_status"] == "COMPLETED"  # its only unit is finished

    again = await step(gateway, op, unit, inspection)
    assert again.status_code == 409 and again.json()["code"] in {"serial_finished", "lot_not_open"}

    history = (await gateway.get(f"/api/v1/serials/{unit}/history", headers=op)).json()
    assert [h["process_code"] for h in history] == [marking, inspection]


async def test_out_of_limit_measurements_fail_the_step_whatever_was_reported(gateway, staff, make_units, processes):
    marking, inspection, _ = processes
    _, (unit,) = await make_units(1)
    op = staff["operator"]
    assert (await step(gateway, op, unit, marking)).status_code == 201
    judged = await step(gateway, op, unit, inspection, result="PASS", measurements={"offset_mv": 7.5})
    assert judged.status_code == 201
    body = judged.json()
    assert body["result"] == "FAIL" and body["reported_result"] == "PASS" and body["serial_status"] == "FAILED"
    assert body["violations"] == [
        {"measurement": "offset_mv", "value": 7.5, "limit": "upper_limit", "limit_value": 5, "unit": "mV"}
    ]
    bad = await step(gateway, op, unit, inspection, measurements={"offset_mv": "high"})
    assert bad.status_code in {409, 422}


async def test_rework_repeats_the_step_until_the_limit_then_scraps_the_unit(gateway, staff, make_units, processes):
    marking = processes[0]
    lot, (unit,) = await make_units(1)
    op = staff["operator"]
    for n in range(1, 4):
        rework = await step(gateway, op, unit, marking, result="REWORK", defects=["MARK_SMEARED"])
        assert rework.status_code == 201 and rework.json()["rework_count"] == n
        assert rework.json()["serial_status"] == "IN_PROGRESS"
    scrapped = await step(gateway, op, unit, marking, result="REWORK")
    assert scrapped.status_code == 201 and scrapped.json()["serial_status"] == "SCRAPPED"
    assert scrapped.json()["rework_count"] == 3 and scrapped.json()["lot_status"] == "COMPLETED"
    after = await step(gateway, op, unit, marking)
    assert after.status_code == 409


async def test_a_lot_completes_only_when_every_unit_is_finished(gateway, staff, make_units, processes):
    marking, inspection, _ = processes
    lot, units = await make_units(3)
    op = staff["operator"]
    for unit in units:
        assert (await step(gateway, op, unit, marking)).status_code == 201
    statuses = []
    for unit in units:
        statuses.append((await step(gateway, op, unit, inspection)).json()["lot_status"])
    assert statuses == ["IN_PROGRESS", "IN_PROGRESS", "COMPLETED"]


async def test_the_same_message_is_recorded_once(gateway, staff, make_units, processes):
    marking = processes[0]
    _, (unit,) = await make_units(1)
    message_id = str(uuid.uuid4())
    first = await step(gateway, staff["operator"], unit, marking, message_id=message_id)
    replay = await step(gateway, staff["operator"], unit, marking, message_id=message_id)
    assert first.status_code == 201 and replay.status_code == 200
    assert replay.json()["id"] == first.json()["id"]
    listed = (
        await gateway.get(
            "/api/v1/process-data", params={"serial_number": unit, "count": "exact"}, headers=staff["operator"]
        )
    ).json()
    assert listed["total"] == 1 and len(listed["items"]) == 1


async def test_concurrent_reports_of_one_step_record_it_once(gateway, staff, make_units, processes):
    marking = processes[0]
    _, (unit,) = await make_units(1)
    answers = await asyncio.gather(*(step(gateway, staff["operator"], unit, marking) for _ in range(5)))
    assert sorted(a.status_code for a in answers) == [201, 409, 409, 409, 409]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"step_out_of_order"}


async def test_lot_level_data_and_filters(gateway, staff, make_units, processes):
    marking = processes[0]
    lot, _ = await make_units(2)
    op = staff["operator"]
    recorded = await gateway.post(
        "/api/v1/process-data",
        json={
            "lot_number": lot["lot_number"],
            "process_code": marking,
            "operator": "kim",
            "measurements": {"marking_depth_mm": 0.05},
        },
        headers=op,
    )
    assert recorded.status_code == 201 and recorded.json()["level"] == "LOT" and recorded.json()["serial_id"] is None
    params = {"lot": lot["lot_number"], "operator": "kim", "count": "exact"}
    found = (await gateway.get("/api/v1/process-data", params=params, headers=op)).json()
    assert found["total"] == 1 and found["items"][0]["result"] == "PASS"
    missing = await gateway.post(
        "/api/v1/process-data", json={"serial_number": "NO-SUCH-UNIT", "process_code": marking}, headers=op
    )
    assert missing.status_code == 404 and missing.json()["code"] == "serial_not_found"
    neither = await gateway.post("/api/v1/process-data", json={"process_code": marking}, headers=op)
    assert neither.status_code == 422
