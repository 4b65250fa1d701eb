"""What the work-order end-to-end tests share (not a test module): the planner's side (work
orders created once orders knows the model, actions and changes at the current version, waiting
for a state), production's side (LOTs of a work order, their units, machine messages) and orders'
work-order topic."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import date, timedelta

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from lathe_common.testing import eventually

MACHINE_TOPIC = "lathe.machine.process-data.v1"
ORDERS_TOPIC = "lathe.orders.work-orders.v1"
FUTURE = (date.today() + timedelta(days=30)).isoformat()


class WorkOrders:
    def __init__(self, gateway: httpx.AsyncClient, headers: dict[str, str]) -> None:
        self.gateway, self.headers = gateway, headers

    async def create(self, model: str, **fields) -> dict:
        """A new draft. Orders learns of a new model from production's event: until it has, the model
        is unknown to it, so the first tries may be refused with product_model_not_found."""
        body = {"model_code": model, "quantity": 3, "priority": "NORMAL", "due_date": FUTURE} | fields

        async def created() -> dict | None:
            answer = await self.gateway.post("/api/v1/work-orders", json=body, headers=self.headers)
            if answer.status_code == 404 and answer.json()["code"] == "product_model_not_found":
                return None
            assert answer.status_code == 201, answer.text
            return answer.json()

        return await eventually(created, timeout=30)

    async def get(self, wo: dict | str) -> dict:
        key = wo if isinstance(wo, str) else wo["number"]
        answer = await self.gateway.get(f"/api/v1/work-orders/{key}", headers=self.headers)
        assert answer.status_code == 200, answer.text
        assert answer.headers["etag"] == f'W/"{answer.json()["version"]}"'
        return answer.json()

    async def act(self, wo: dict, action: str, body: dict | None = None) -> httpx.Response:
        """The action at the work order's current version (If-Match from a fresh GET). Production's
        answers and progress raise the version too, between a GET and the action: read again then."""
        for _ in range(10):
            current = await self.get(wo)
            answer = await self.gateway.post(
                f"/api/v1/work-orders/{wo['number']}/{action}",
                json=body,
                headers=self.headers | {"If-Match": f'W/"{current["version"]}"'},
            )
            if answer.status_code != 412:
                return answer
        return answer

    async def moved(self, wo: dict, action: str, status: str, body: dict | None = None) -> dict:
        answer = await self.act(wo, action, body)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == status
        return answer.json()

    async def refused(self, wo: dict, action: str, code: str = "invalid_status_transition") -> None:
        answer = await self.act(wo, action)
        assert (answer.status_code, answer.json()["code"]) == (409 if code.startswith("invalid") else 422, code), (
            action,
            answer.text,
        )

    async def patch(self, wo: dict, body: dict) -> httpx.Response:
        for _ in range(10):  # as act: read again when production changed it meanwhile
            current = await self.get(wo)
            answer = await self.gateway.patch(
                f"/api/v1/work-orders/{wo['number']}",
                json=body,
                headers=self.headers | {"If-Match": f'W/"{current["version"]}"'},
            )
            if answer.status_code != 412:
                return answer
        return answer

    async def until(self, wo: dict, timeout: float = 60, **expected) -> dict:
        """The work order once every field in ``expected`` has that value."""

        async def reached() -> dict | None:
            found = await self.get(wo)
            return found if all(found[k] == v for k, v in expected.items()) else None

        return await eventually(reached, timeout=timeout)


class Production:
    def __init__(self, gateway: httpx.AsyncClient, headers: dict[str, str], kafka: str) -> None:
        self.gateway, self.headers, self.kafka = gateway, headers, kafka

    async def lots(self, work_order: str) -> list[dict]:
        answer = await self.gateway.get(
            "/api/v1/lots", params={"work_order_number": work_order, "limit": 500}, headers=self.headers
        )
        return sorted(answer.json()["items"], key=lambda lot: lot["created_at"])

    async def lots_until(self, work_order: str, count: int, timeout: float = 60) -> list[dict]:
        async def planned() -> list[dict] | None:
            found = await self.lots(work_order)
            return found if len(found) >= count else None

        return await eventually(planned, timeout=timeout)

    async def serials(self, lot: dict) -> list[str]:
        answer = await self.gateway.get(
            "/api/v1/serials", params={"lot": lot["id"], "limit": 500}, headers=self.headers
        )
        return [s["serial_number"] for s in answer.json()["items"]]

    async def machine(self, *messages: dict) -> None:
        """Machine messages on the machine topic, keyed by serial (or LOT) number."""
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka, enable_idempotence=True, acks="all")
        await producer.start()
        try:
            sent = [
                await producer.send(
                    MACHINE_TOPIC,
                    json.dumps(m).encode(),
                    key=(m["serial_number"] or m["lot_number"]).encode(),
                )
                for m in messages
            ]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()


def step(process: str, *, serial: str | None = None, lot: str | None = None, result: str = "PASS") -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "serial_number": serial,
        "lot_number": lot,
        "process_code": process,
        "result": result,
        "operator": "robot-7",
        "equipment_id": "WO-LINE",
    }


async def records_of(kafka: str, key: str, timeout: float = 30) -> list:
    """Every record of orders' work-order topic with this key (a work order's id), from the start."""
    consumer = AIOKafkaConsumer(
        ORDERS_TOPIC, bootstrap_servers=kafka, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    found = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        ends = None
        while loop.time() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            found += [r for rs in batch.values() for r in rs if r.key == key.encode()]
            ends = ends or await consumer.end_offsets(list(consumer.assignment()))
            if ends and all([await consumer.position(tp) >= end for tp, end in ends.items()]):
                break
    finally:
        await consumer.stop()
    return found


def ce_type(record) -> str:
    return dict(record.headers)["ce_type"].decode()


def max_lot_quantity() -> int:
    """Production's maximum LOT size, as its OpenAPI states it (LotCreate.target_quantity.maximum)."""
    spec = httpx.get(f"{os.environ['LATHE_PRODUCTION_URL']}/openapi.json").json()
    return int(spec["components"]["schemas"]["LotCreate"]["properties"]["target_quantity"]["maximum"])
