"""Nonconformance records through the gateway: a FAIL opens one; REWORK, SCRAP and USE_AS_IS decide
what becomes of the unit, each signed with the signer's password through auth; the rework limit
scraps; the unit's new status is announced to orders' projection of units."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from lathe_common.testing import eventually

from .conftest import bearer
from .quality_kit import OUT_OF_LIMIT, REASON, QualityLine

pytestmark = pytest.mark.e2e


@pytest.fixture
async def line(gateway, accounts) -> QualityLine:
    return await QualityLine.build(gateway, accounts)


async def test_a_fail_opens_a_nonconformance_and_the_unit_waits_for_its_disposition(line):
    lot, (unit, other) = await line.lot(2)
    failed = await line.fail_inspection(unit)
    assert failed["lot_status"] == "IN_PROGRESS"
    ncr = await line.open_ncr(unit)
    assert ncr["process_data_id"] == failed["id"] and ncr["process_code"] == line.inspection
    assert ncr["step_no"] == 2 and ncr["routing_length"] == 3 and ncr["lot_number"] == lot["lot_number"]
    assert ncr["defect_codes"] == ["BRIDGE"] and ncr["measurements"] == OUT_OF_LIMIT
    assert ncr["violations"] == [
        {"measurement": "offset_mv", "value": 7.5, "limit": "upper_limit", "limit_value": 5, "unit": "mV"}
    ]
    assert ncr["disposition"] is None and ncr["signature"] is None and ncr["model_code"] == line.model
    detail = await line.gateway.get(f"/api/v1/nonconformances/{ncr['id']}", headers=line.operator)
    assert detail.status_code == 200 and detail.json() == ncr

    refused = await line.step(unit, line.inspection, measurements={"offset_mv": 1.0})
    assert refused.status_code == 409 and refused.json()["code"] == "awaiting_disposition"
    # The LOT does not complete while a unit waits: its other unit passing everything leaves it open.
    for process in line.processes:
        assert (await line.step(other, process)).status_code == 201
    assert (await line.unit(other))["status"] == "PASSED"
    got = await line.gateway.get(f"/api/v1/lots/{lot['id']}", headers=line.engineer)
    assert got.json()["status"] == "IN_PROGRESS"

    by_lot = await line.gateway.get(
        "/api/v1/nonconformances",
        params={"lot": lot["lot_number"], "status": "OPEN", "count": "exact"},
        headers=line.engineer,
    )
    assert by_lot.json()["total"] == 1 and by_lot.json()["items"][0]["id"] == ncr["id"]
    missing = await line.gateway.get(f"/api/v1/nonconformances/{failed['id']}", headers=line.engineer)
    assert missing.status_code == 404 and missing.json()["code"] == "nonconformance_not_found"


async def test_rework_brings_the_unit_back_and_the_rework_after_the_third_scraps_it(line):
    lot, (unit,) = await line.lot(1)
    await line.fail_inspection(unit)
    for n in range(1, 4):
        ncr = await line.open_ncr(unit)
        reworked = await line.dispose(ncr["id"], "REWORK")
        assert reworked.status_code == 200, reworked.text
        body = reworked.json()
        assert body["status"] == "DISPOSITIONED" and body["unit_status"] == "IN_PROGRESS" and body["code"] is None
        assert body["signature"]["signer_username"] == line.quality.username
        assert body["signature"]["meaning"] == "approved" and body["signature"]["reason"] == REASON
        assert body["signature"]["record"] == f"nonconformance/{ncr['id']}/disposition/REWORK"
        state = await line.unit(unit)
        assert (state["status"], state["rework_count"], state["current_step"]) == ("IN_PROGRESS", n, 1)
        # Back at the failed step: it runs inspection again (not marking), and fails again.
        again = await line.step(unit, line.inspection, measurements=OUT_OF_LIMIT)
        assert again.status_code == 201, again.text
        closed = (await line.gateway.get(f"/api/v1/nonconformances/{ncr['id']}", headers=line.engineer)).json()
        assert closed["status"] == "CLOSED" and closed["closed_by_step_id"] == again.json()["id"]
    assert len(await line.ncrs_of(unit)) == 4
    last = await line.open_ncr(unit)
    scrapped = await line.dispose(last["id"], "REWORK")
    assert scrapped.status_code == 200, scrapped.text
    assert scrapped.json()["status"] == "CLOSED" and scrapped.json()["unit_status"] == "SCRAPPED"
    assert scrapped.json()["code"] == "rework_exhausted"
    assert (await line.unit(unit))["status"] == "SCRAPPED"
    assert (await line.gateway.get(f"/api/v1/lots/{lot['id']}", headers=line.engineer)).json()["status"] == "COMPLETED"
    after = await line.step(unit, line.inspection)
    assert after.status_code == 409 and after.json()["code"] == "rework_exhausted"


async def test_a_passing_rework_closes_the_ncr_and_the_unit_goes_on(line):
    _, (unit,) = await line.lot(1)
    await line.fail_inspection(unit)
    ncr = await line.open_ncr(unit)
    assert (await line.dispose(ncr["id"], "REWORK")).status_code == 200
    passed = await line.step(unit, line.inspection, measurements={"offset_mv": 0.4})
    assert passed.status_code == 201 and passed.json()["serial_status"] == "IN_PROGRESS"
    closed = (await line.gateway.get(f"/api/v1/nonconformances/{ncr['id']}", headers=line.engineer)).json()
    assert closed["status"] == "CLOSED" and closed["closed_by_step_id"] == passed.json()["id"]
    assert (await line.step(unit, line.packing)).json()["serial_status"] == "PASSED"


async def test_scrap_finishes_the_unit_and_its_lot(line):
    lot, (unit,) = await line.lot(1)
    await line.fail_inspection(unit)
    ncr = await line.open_ncr(unit)
    scrapped = await line.dispose(ncr["id"], "SCRAP", meaning="rejected", reason="beyond repair")
    assert scrapped.status_code == 200, scrapped.text
    body = scrapped.json()
    assert (body["status"], body["disposition"], body["unit_status"]) == ("CLOSED", "SCRAP", "SCRAPPED")
    assert body["dispositioned_by"] == line.quality.username and body["disposition_reason"] == "beyond repair"
    signature = body["signature"]
    assert signature["meaning"] == "rejected" and len(signature["content_sha256"]) == 64
    assert signature["signed_at"] >= signature["authenticated_at"][:19]
    assert (await line.unit(unit))["status"] == "SCRAPPED"
    assert (await line.gateway.get(f"/api/v1/lots/{lot['id']}", headers=line.engineer)).json()["status"] == "COMPLETED"
    twice = await line.dispose(ncr["id"], "SCRAP")
    assert twice.status_code == 409 and twice.json()["code"] == "nonconformance_not_open"


async def test_use_as_is_is_an_approved_deviation_and_the_unit_goes_on_as_passed(line):
    _, (unit, last) = await line.lot(2)
    await line.fail_inspection(unit)
    ncr = await line.open_ncr(unit)
    operator = await line.gateway.post(
        f"/api/v1/nonconformances/{ncr['id']}/disposition",
        json={"disposition": "USE_AS_IS", "reason": "within customer deviation D-17", "signature": "x"},
        headers=line.operator,
    )
    assert operator.status_code == 403 and operator.json()["code"] == "insufficient_scope"
    reviewed = await line.dispose(ncr["id"], "USE_AS_IS", meaning="reviewed")
    assert reviewed.status_code == 422 and reviewed.json()["code"] == "deviation_not_approved"
    used = await line.dispose(ncr["id"], "USE_AS_IS", reason="within customer deviation D-17")
    assert used.status_code == 200, used.text
    assert (used.json()["status"], used.json()["unit_status"]) == ("CLOSED", "IN_PROGRESS")
    state = await line.unit(unit)
    assert (state["status"], state["current_step"], state["rework_count"]) == ("IN_PROGRESS", 2, 0)
    assert (await line.step(unit, line.packing)).json()["serial_status"] == "PASSED"
    history = (await line.gateway.get(f"/api/v1/serials/{unit}/history", headers=line.engineer)).json()
    assert [h["result"] for h in history] == ["PASS", "FAIL", "PASS"]  # the failure stays on record
    # At the routing's last step, a deviation passes the unit.
    for process in line.processes[:2]:
        assert (await line.step(last, process)).status_code == 201
    failed = await line.step(last, line.packing, result="FAIL")
    assert failed.json()["serial_status"] == "FAILED"
    final = await line.dispose((await line.open_ncr(last))["id"], "USE_AS_IS", reason="cosmetic only")
    assert final.status_code == 200 and final.json()["unit_status"] == "PASSED"


async def test_a_machine_fail_opens_an_ncr_and_a_disposition_is_announced_to_orders(line, kafka, superuser_dsn):
    from aiokafka import AIOKafkaProducer

    _, (unit,) = await line.lot(1)
    assert (await line.step(unit, line.marking)).status_code == 201
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        message = (
            f'{{"message_id": "ncr-{unit}", "serial_number": "{unit}", "process_code": "{line.inspection}", '
            '"measurements": {"offset_mv": -9.0}, "defects": ["OFFSET"]}'
        )
        await producer.send_and_wait("lathe.machine.process-data.v1", value=message.encode(), key=unit.encode())
    finally:
        await producer.stop()

    async def opened() -> list[dict]:
        return await line.ncrs_of(unit)

    (ncr,) = await eventually(opened, timeout=30)
    assert ncr["defect_codes"] == ["OFFSET"] and ncr["violations"][0]["limit"] == "lower_limit"

    async def orders_status() -> str | None:
        conn = await asyncpg.connect(superuser_dsn)
        try:
            return await conn.fetchval("SELECT status FROM orders.units_view WHERE serial_number = $1", unit)
        finally:
            await conn.close()

    assert await eventually(lambda: _is(orders_status, "FAILED"), timeout=30)
    assert (await line.dispose(ncr["id"], "REWORK")).status_code == 200
    # Orders' projection of units hears of the disposition (serial.status-changed, keyed by the unit).
    assert await eventually(lambda: _is(orders_status, "IN_PROGRESS"), timeout=30)
    admin = bearer(await line.accounts.admin_token())

    async def audited() -> set[str]:
        found = await line.gateway.get("/api/v1/audit-logs", params={"subject": ncr["id"]}, headers=admin)
        return {e["event_type"] for e in found.json()["items"]} >= {
            "lathe.production.nonconformance.opened.v1",
            "lathe.production.nonconformance.dispositioned.v1",
        }

    assert await eventually(audited, timeout=30)


async def _is(probe, expected) -> bool:  # noqa: ANN001
    return await probe() == expected


async def test_concurrent_dispositions_of_one_ncr_decide_it_once(line):
    _, (unit,) = await line.lot(1)
    await line.fail_inspection(unit)
    ncr = await line.open_ncr(unit)
    answers = await asyncio.gather(*(line.dispose(ncr["id"], d) for d in ("REWORK", "SCRAP", "REWORK", "SCRAP")))
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409], [a.text for a in answers]
    assert {a.json()["code"] for a in answers if a.status_code == 409} == {"nonconformance_not_open"}
    won = next(a.json() for a in answers if a.status_code == 200)
    assert (await line.unit(unit))["status"] == won["unit_status"]
