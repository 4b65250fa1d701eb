"""Holds through the gateway and the machine topic: quality holds a LOT, a unit, or every unit
containing a component; no step is recorded on a held unit by REST (409 on_hold) or by a machine
(dead-lettered, reason on_hold); a release is signed; holds race steps and never lose to them."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import datetime

import pytest
from aiokafka import AIOKafkaProducer
from lathe_common.testing import eventually, read_topic

from .quality_kit import QualityLine, signer

pytestmark = pytest.mark.e2e

MACHINE_TOPIC = "lathe.machine.process-data.v1"


@pytest.fixture
async def line(gateway, accounts) -> QualityLine:
    return await QualityLine.build(gateway, accounts)


async def hold(line: QualityLine, path: str, reason: str = "suspect solder paste LOT SP-77"):
    return await line.gateway.post(f"/api/v1/{path}/hold", json={"reason": reason}, headers=line.quality.headers)


async def release(line: QualityLine, path: str, hold_id: str, *, reason: str = "paste cleared by the lab", **kw):
    token = await line.signature(f"hold/{hold_id}/release", reason=reason, **kw)
    return await line.gateway.post(
        f"/api/v1/{path}/release", json={"reason": reason, "signature": token}, headers=line.quality.headers
    )


async def test_a_held_unit_takes_no_step_until_its_signed_release(line):
    _, (unit, other) = await line.lot(2)
    placed = await hold(line, f"serials/{unit}")
    assert placed.status_code == 201, placed.text
    held = placed.json()
    assert (held["subject"], held["serial_number"], held["placed_by"]) == ("SERIAL", unit, line.quality.username)
    assert (await line.unit(unit))["hold_id"] == held["id"]

    refused = await line.step(unit, line.marking)
    assert refused.status_code == 409 and refused.json()["code"] == "on_hold", refused.text
    assert (await line.step(other, line.marking)).status_code == 201  # its neighbour is not held
    again = await hold(line, f"serials/{unit}")
    assert again.status_code == 409 and again.json()["code"] == "already_on_hold"

    unsigned = await line.gateway.post(
        f"/api/v1/serials/{unit}/release", json={"reason": "fine"}, headers=line.quality.headers
    )
    assert unsigned.status_code == 422 and unsigned.json()["code"] == "signature_required"
    released = await release(line, f"serials/{unit}", held["id"])
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["released_by"] == line.quality.username and body["release_reason"] == "paste cleared by the lab"
    assert body["release_signature"]["meaning"] == "approved"
    assert (await line.unit(unit))["hold_id"] is None
    assert (await line.step(unit, line.marking)).status_code == 201
    twice = await release(line, f"serials/{unit}", held["id"])
    assert twice.status_code == 409 and twice.json()["code"] == "not_on_hold"


async def test_a_held_lot_blocks_every_unit_and_its_units_own_holds_outlast_it(line):
    lot, (first, second) = await line.lot(2)
    lot_hold = (await hold(line, f"lots/{lot['lot_number']}")).json()
    unit_hold = await hold(line, f"serials/{first}", reason="dropped on the floor")
    assert unit_hold.status_code == 201  # a unit of a held LOT may have its own hold
    for unit in (first, second):
        refused = await line.step(unit, line.marking)
        assert refused.status_code == 409 and refused.json()["code"] == "on_hold"
        assert refused.json()["lot_on_hold"] is True

    assert (await release(line, f"lots/{lot['id']}", lot_hold["id"])).status_code == 200
    assert (await line.step(second, line.marking)).status_code == 201
    still = await line.step(first, line.marking)  # its own hold is still on
    assert still.status_code == 409 and still.json()["code"] == "on_hold" and still.json()["lot_on_hold"] is False


async def test_only_quality_holds_and_only_approvers_release_with_their_own_signature(line, accounts):
    _, (unit,) = await line.lot(1)
    operator_try = await line.gateway.post(
        f"/api/v1/serials/{unit}/hold", json={"reason": "looks odd"}, headers=line.operator
    )
    assert operator_try.status_code == 403 and operator_try.json()["code"] == "insufficient_scope"
    held = (await hold(line, f"serials/{unit}")).json()

    colleague = await signer(accounts, "quality")
    theirs = await line.signature(f"hold/{held['id']}/release", reason="ok", who=colleague)
    not_yours = await line.gateway.post(
        f"/api/v1/serials/{unit}/release", json={"reason": "ok", "signature": theirs}, headers=line.quality.headers
    )
    assert not_yours.status_code == 403 and not_yours.json()["code"] == "signature_not_yours"

    other_record = await line.signature(f"hold/{uuid.uuid4()}/release", reason="ok")
    copied = await line.gateway.post(
        f"/api/v1/serials/{unit}/release",
        json={"reason": "ok", "signature": other_record},
        headers=line.quality.headers,
    )
    assert copied.status_code == 422 and copied.json()["code"] == "signature_mismatch"

    token = await line.signature(f"hold/{held['id']}/release", reason="ok")
    other_reason = await line.gateway.post(
        f"/api/v1/serials/{unit}/release", json={"reason": "not ok", "signature": token}, headers=line.quality.headers
    )
    assert other_reason.status_code == 422 and other_reason.json()["code"] == "signature_mismatch"
    assert (await line.unit(unit))["hold_id"] == held["id"]  # nothing was released by the refusals


async def test_a_signature_signs_once_and_a_wrong_password_counts_toward_the_lockout(line, accounts):
    _, (first, second) = await line.lot(2)
    first_hold = (await hold(line, f"serials/{first}")).json()
    token = await line.signature(f"hold/{first_hold['id']}/release", reason="ok")
    body = {"reason": "ok", "signature": token}
    assert (
        await line.gateway.post(f"/api/v1/serials/{first}/release", json=body, headers=line.quality.headers)
    ).status_code == 200
    await hold(line, f"serials/{first}")  # held again: the same record, a new hold id
    reused = await line.gateway.post(f"/api/v1/serials/{first}/release", json=body, headers=line.quality.headers)
    assert reused.status_code == 422 and reused.json()["code"] == "signature_mismatch"

    # A used token for the very same record is refused as used, not accepted twice.
    second_hold = (await hold(line, f"serials/{second}")).json()
    once = await line.signature(f"hold/{second_hold['id']}/release", reason="ok")
    race = await asyncio.gather(
        *(
            line.gateway.post(
                f"/api/v1/serials/{second}/release",
                json={"reason": "ok", "signature": once},
                headers=line.quality.headers,
            )
            for _ in range(3)
        )
    )
    assert sorted(r.status_code for r in race) == [200, 409, 409], [r.text for r in race]
    assert {r.json()["code"] for r in race if r.status_code == 409} <= {"signature_used", "not_on_hold"}

    guesser = await signer(accounts, "quality")
    for n in range(5):  # auth's lockout threshold
        wrong = await line.sign(f"hold/{second_hold['id']}/release", who=guesser, password=f"Wrong-{n}-Guess")
        assert wrong.status_code == 422 and wrong.json()["code"] == "wrong_password", wrong.text
    locked = await line.sign(f"hold/{second_hold['id']}/release", who=guesser)
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked", locked.text


async def test_a_machine_step_on_a_held_unit_is_dead_lettered_on_hold(line, kafka):
    _, (held_unit, free_unit) = await line.lot(2)
    await hold(line, f"serials/{held_unit}")
    producer = AIOKafkaProducer(bootstrap_servers=kafka, acks="all")
    await producer.start()
    try:
        for unit in (held_unit, free_unit):
            message = {"message_id": f"hold-{unit}", "serial_number": unit, "process_code": line.marking}
            await producer.send_and_wait(MACHINE_TOPIC, value=json.dumps(message).encode(), key=unit.encode())
    finally:
        await producer.stop()

    async def recorded() -> bool:
        return (await line.unit(free_unit))["current_step"] >= 1

    assert await eventually(recorded, timeout=30)

    async def dead_letter_reason() -> str | None:
        for record in await read_topic(kafka, f"{MACHINE_TOPIC}.dlq", expect=100_000, timeout=2):
            if record.key == held_unit.encode():
                return dict(record.headers)["lathe_dlq_reason"].decode()
        return None

    assert await eventually(dead_letter_reason, timeout=30) == "on_hold"
    assert (await line.unit(held_unit))["current_step"] == 0


async def test_holding_a_component_holds_every_unit_that_contains_it_at_any_depth(line):
    _, (cell, module, pack, bystander) = await line.lot(4)
    for parent, child in ((module, cell), (pack, module)):
        consumed = await line.gateway.post(
            f"/api/v1/serials/{parent}/components",
            json={"components": [{"serial_number": child}], "process_code": line.marking, "operator": "lee"},
            headers=line.engineer,
        )
        assert consumed.status_code == 201, consumed.text
    await hold(line, f"serials/{pack}", reason="customer complaint")  # held already: keeps its hold

    recall = await line.gateway.post(
        "/api/v1/holds/by-component",
        json={"component": cell, "reason": "cell supplier recall"},
        headers=line.quality.headers,
    )
    assert recall.status_code == 201, recall.text
    placed = recall.json()
    assert (placed["units_containing"], placed["held"], placed["already_on_hold"]) == (2, 2, 1)
    for unit in (cell, module, pack):
        refused = await line.step(unit, line.marking)
        assert refused.status_code == 409 and refused.json()["code"] == "on_hold"
    assert (await line.step(bystander, line.marking)).status_code == 201

    listed = await line.gateway.get(
        "/api/v1/holds", params={"placement_id": placed["placement_id"]}, headers=line.engineer
    )
    assert sorted(h["serial_number"] for h in listed.json()["items"]) == sorted([cell, module])
    unknown = await line.gateway.post(
        "/api/v1/holds/by-component",
        json={"component": f"NOPE-{uuid.uuid4().hex}", "reason": "x"},
        headers=line.quality.headers,
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "component_not_found"


async def test_a_hold_racing_steps_is_never_overtaken(line):
    """Steps and a hold of their LOT at the same time: every step the service accepted was recorded
    before the hold took effect, and every step after it was refused with on_hold."""
    lot, units = await line.lot(12)

    async def step(unit: str):
        return await line.step(unit, line.marking)

    answers = await asyncio.gather(
        *(step(u) for u in units[:6]), hold(line, f"lots/{lot['id']}"), *(step(u) for u in units[6:])
    )
    placed = answers[6]
    assert placed.status_code == 201, placed.text
    placed_at = datetime.fromisoformat(placed.json()["placed_at"])
    steps = [a for n, a in enumerate(answers) if n != 6]
    assert {a.status_code for a in steps} <= {201, 409}
    refused = [a for a in steps if a.status_code == 409]
    assert all(a.json()["code"] == "on_hold" for a in refused)
    history = await line.gateway.get(
        "/api/v1/process-data", params={"lot": lot["id"], "limit": 100}, headers=line.engineer
    )
    assert history.status_code == 200, history.text
    recorded = history.json()["items"]
    assert len(recorded) == len(steps) - len(refused)
    late = [r["recorded_at"] for r in recorded if datetime.fromisoformat(r["recorded_at"]) > placed_at]
    assert not late, (placed_at, late)
