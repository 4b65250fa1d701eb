"""Machine messages through the real broker: recorded once, and every kind of bad message dead-lettered
with its reason while the good ones behind it are still recorded."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import defaultdict

import pytest
from aiokafka import AIOKafkaProducer
from lathe_common.testing import eventually, read_topic

from .conftest import OFFSET_LIMITS, Catalog, bearer

pytestmark = pytest.mark.e2e

TOPIC = "lathe.machine.process-data.v1"


def machine_message(serial: str | None, process: str, **extra) -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "serial_number": serial,
        "lot_number": None,
        "process_code": process,
        "operator": "robot-7",
        "equipment_id": "SI-02",
        "measurements": {},
        "defects": [],
        **extra,
    }


async def test_machine_messages_are_recorded_once_and_bad_ones_dead_lettered(gateway, accounts, kafka):
    engineer = bearer(await accounts.token_for("engineer"))
    catalog = Catalog(gateway, engineer)
    marking, inspection, other = await catalog.process(), await catalog.process(OFFSET_LIMITS), await catalog.process()
    model = await catalog.model([marking, inspection], prefix="MACH")
    lot = (
        await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": 2}, headers=engineer)
    ).json()
    made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 2}, headers=engineer)
    unit_a, unit_b = (s["serial_number"] for s in made.json()["items"])
    nobody, shapeless = f"NOPE-{uuid.uuid4().hex[:8]}", f"SHAPELESS-{uuid.uuid4().hex[:8]}"
    lotless = f"NO-LOT-{uuid.uuid4().hex[:8]}"

    first = machine_message(unit_a, marking, result="PASS")
    no_id = machine_message(None, marking, serial_number=shapeless)
    del no_id["message_id"]
    plan: list[tuple[str, bytes]] = [
        (unit_a, json.dumps(first).encode()),
        (unit_a, json.dumps(first).encode()),  # redelivered: no second effect
        (unit_a, b"{not json"),
        (shapeless, json.dumps(machine_message(None, marking)).encode()),  # neither serial nor lot
        (shapeless, json.dumps(no_id).encode()),
        (nobody, json.dumps(machine_message(nobody, marking)).encode()),
        (unit_b, json.dumps(machine_message(unit_b, inspection)).encode()),  # out of order
        (unit_b, json.dumps(machine_message(unit_b, marking)).encode()),
        (unit_b, json.dumps(machine_message(unit_b, f"NO_SUCH_{uuid.uuid4().hex[:8].upper()}")).encode()),
        (unit_b, json.dumps(machine_message(unit_b, other)).encode()),  # not in its routing
        (unit_b, json.dumps(machine_message(unit_b, inspection, lot_number="WF-KR-000000D-999")).encode()),
        (
            unit_b,
            json.dumps(machine_message(unit_b, inspection, measurements={"offset_mv": "high"})).encode(),
        ),
        (lotless, json.dumps(machine_message(None, marking, lot_number=lotless)).encode()),
        *[
            (unit_a, json.dumps(machine_message(unit_a, inspection, result="REWORK")).encode()) for _ in range(4)
        ],  # three reworks allowed, the fourth scraps the unit
        (unit_a, json.dumps(machine_message(unit_a, inspection, result="PASS")).encode()),
        (
            unit_b,
            json.dumps(machine_message(unit_b, inspection, measurements={"offset_mv": 1.2})).encode(),
        ),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        for key, value in plan:
            await producer.send_and_wait(TOPIC, value=value, key=key.encode())
    finally:
        await producer.stop()

    async def unit(serial: str) -> dict:
        return (await gateway.get(f"/api/v1/serials/{serial}", headers=engineer)).json()

    async def settled() -> bool:
        return (await unit(unit_b))["status"] == "PASSED" and (await unit(unit_a))["status"] == "SCRAPPED"

    assert await eventually(settled, timeout=60)
    history_a = (await gateway.get(f"/api/v1/serials/{unit_a}/history", headers=engineer)).json()
    assert [h["process_code"] for h in history_a] == [marking] + [inspection] * 4
    assert history_a[0]["message_id"] == first["message_id"] and history_a[0]["operator"] == "robot-7"

    # Each machine message's events carry its message id as their correlation id (batched or not).
    admin = bearer(await accounts.admin_token())

    async def correlated() -> list[str]:
        response = await gateway.get(
            "/api/v1/audit-logs", params={"correlation_id": first["message_id"]}, headers=admin
        )
        return sorted({e["event_type"] for e in response.json()["items"]})

    assert "lathe.production.step.recorded.v1" in await eventually(correlated, timeout=30)

    ours = {unit_a, unit_b, nobody, shapeless, lotless}

    async def dead_letters() -> dict[str, list[str]]:
        reasons: dict[str, list[str]] = defaultdict(list)
        for record in await read_topic(kafka, f"{TOPIC}.dlq", expect=100_000, timeout=2):
            key = (record.key or b"").decode()
            if key in ours:
                headers = dict(record.headers)
                reasons[key].append(headers["lathe_dlq_reason"].decode())
                assert headers["lathe_dlq_topic"] == TOPIC.encode() and headers["lathe_dlq_message"]
        return reasons

    async def all_dead() -> dict[str, list[str]] | None:
        found = await dead_letters()
        return found if sum(len(v) for v in found.values()) >= 11 else None

    reasons = await eventually(all_dead, timeout=30)
    assert reasons == {
        unit_a: ["invalid_json", "rework_exhausted"],
        shapeless: ["schema_error", "schema_error"],
        nobody: ["serial_not_found"],
        unit_b: [
            "step_out_of_order",
            "process_not_found",
            "process_not_in_routing",
            "serial_not_in_lot",
            "invalid_measurement",
        ],
        lotless: ["lot_not_found"],
    }


async def test_one_lot_finished_at_once_by_every_partition_and_by_rest_completes_once(gateway, accounts, kafka):
    """The machine topic's group members handle their partitions' batches at the same time, and REST
    requests join in: units of one LOT finish in all of them, and the LOT completes exactly once."""
    engineer = bearer(await accounts.token_for("engineer"))
    admin = bearer(await accounts.admin_token())
    catalog = Catalog(gateway, engineer)
    process = await catalog.process()
    model = await catalog.model([process], prefix="RACE")
    units = 60
    lot = (
        await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": units}, headers=engineer)
    ).json()
    made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": units}, headers=engineer)
    serials = [s["serial_number"] for s in made.json()["items"]]
    by_machine, by_rest = serials[:45], serials[45:]

    producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=True, acks="all")
    await producer.start()
    try:
        sent = [
            await producer.send(TOPIC, json.dumps(machine_message(s, process)).encode(), key=s.encode())
            for s in by_machine
        ]
        partitions = {(await future).partition for future in sent}
        rest = await asyncio.gather(
            *(
                gateway.post(
                    "/api/v1/process-data",
                    json={"serial_number": s, "process_code": process, "operator": "petrov"},
                    headers=engineer,
                )
                for s in by_rest
            )
        )
    finally:
        await producer.stop()
    assert len(partitions) == 3  # the keys spread over every partition, hence every member
    assert all(r.status_code == 201 for r in rest)

    async def completed() -> dict | None:
        found = (await gateway.get(f"/api/v1/lots/{lot['id']}", headers=engineer)).json()
        return found if found["status"] == "COMPLETED" else None

    assert await eventually(completed, timeout=60)
    units_now = (
        await gateway.get(
            "/api/v1/serials", params={"lot": lot["id"], "limit": 100, "count": "exact"}, headers=engineer
        )
    ).json()
    assert units_now["total"] == units and {u["status"] for u in units_now["items"]} == {"PASSED"}

    async def lot_events() -> list[str] | None:
        response = await gateway.get(
            "/api/v1/audit-logs",
            params={"subject": lot["id"], "event_type": "lathe.production.lot.status-changed.v1"},
            headers=admin,
        )
        moves = [e["data"]["status"] for e in response.json()["items"]]
        return moves if "COMPLETED" in moves else None

    assert sorted(await eventually(lot_events, timeout=30)) == ["COMPLETED", "IN_PROGRESS"]
