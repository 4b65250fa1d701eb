"""What the sales-order end-to-end tests share (not a test module): production's side (a one-step
model of the test's own, LOTs, units made to PASS, waiting for orders' projection), the sales desk
(customers, orders, actions with If-Match, shipments, returns, recall), and the order's events."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer
from lathe_common.testing import eventually

SO = "/api/v1/sales-orders"


class Plant:
    """Production's side, through the gateway: a one-step model of the test's own, LOTs, units
    made to PASS; and waits until orders' projection (from production's events) shows them."""

    def __init__(self, gateway, headers: dict[str, str], dsn: str) -> None:
        self.gateway, self.headers, self.dsn = gateway, headers, dsn
        self.process = ""

    async def start(self) -> Plant:
        for _ in range(5):
            code = f"T_{uuid.uuid4().hex[:12].upper()}"
            body = {"process_code": code, "process_number": 100_000 + uuid.uuid4().int % 900_000, "name": "Pack"}
            made = await self.gateway.post("/api/v1/processes", json=body, headers=self.headers)
            if made.status_code == 201:
                self.process = code
                return self
            assert made.json()["code"] == "process_exists", made.text
        pytest.fail("five process numbers drawn were all taken")

    async def model(self) -> str:
        code = f"SOM-{uuid.uuid4().hex[:8]}"
        made = await self.gateway.post(
            "/api/v1/product-models",
            json={"model_code": code, "model_name": f"Model {code}", "routing": [self.process]},
            headers=self.headers,
        )
        assert made.status_code == 201, made.text
        await self.known(f"SELECT is_active FROM orders.product_models_view WHERE model_code = '{code}'", True)
        return code

    async def known(self, query: str, expected) -> None:
        """Until orders' projection answers ``query`` with ``expected``."""

        async def probe():
            conn = await asyncpg.connect(self.dsn)
            try:
                return await conn.fetchval(query) == expected
            finally:
                await conn.close()

        await eventually(probe)

    async def units(self, model: str, count: int, *, passed: int) -> tuple[str, list[str]]:
        """A LOT of ``count`` units of which the first ``passed`` PASS; once orders has seen them all."""
        lot = await self.gateway.post(
            "/api/v1/lots", json={"model_code": model, "target_quantity": count}, headers=self.headers
        )
        assert lot.status_code == 201, lot.text
        made = await self.gateway.post(
            f"/api/v1/lots/{lot.json()['id']}/serials", json={"count": count}, headers=self.headers
        )
        serials = [s["serial_number"] for s in made.json()["items"]]
        for serial in serials[:passed]:
            await self.step(serial)
        listed = ",".join(f"'{s}'" for s in serials)
        await self.known(
            f"SELECT count(*) FILTER (WHERE status = 'PASSED') || '/' || count(*) FROM orders.units_view "
            f"WHERE serial_number IN ({listed})",
            f"{passed}/{count}",
        )
        return lot.json()["lot_number"], serials

    async def step(self, serial: str) -> None:
        done = await self.gateway.post(
            "/api/v1/process-data",
            json={"serial_number": serial, "process_code": self.process, "equipment_id": "EQ-1", "result": "PASS"},
            headers=self.headers,
        )
        assert done.status_code == 201, done.text


class Desk:
    """The sales desk: customers and sales orders of the test's own."""

    def __init__(self, gateway, headers: dict[str, str]) -> None:
        self.gateway, self.headers = gateway, headers

    async def customer(self, currency: str = "EUR") -> str:
        code = f"CU-{uuid.uuid4().hex[:8]}"
        made = await self.gateway.post(
            "/api/v1/customers",
            json={"code": code, "name": f"Customer {code}", "currency": currency},
            headers=self.headers,
        )
        assert made.status_code == 201, made.text
        return code

    async def create(self, customer: str, lines: list[dict], *, currency: str = "EUR", **extra):
        return await self.gateway.post(
            SO, json={"customer_code": customer, "currency": currency, "lines": lines, **extra}, headers=self.headers
        )

    async def order(self, customer: str, model: str, *quantities: str, confirm: bool = True) -> dict:
        lines = [{"model_code": model, "quantity": q, "unit_price": "10", "tax_rate": "19"} for q in quantities]
        made = await self.create(customer, lines)
        assert made.status_code == 201, made.text
        return await self.act(made.json(), "confirm") if confirm else made.json()

    async def get(self, order: dict | str):
        return await self.gateway.get(f"{SO}/{order if isinstance(order, str) else order['id']}", headers=self.headers)

    def match(self, order: dict) -> dict[str, str]:
        return {**self.headers, "If-Match": f'W/"{order["version"]}"'}

    async def action(self, order: dict, path: str, body: dict | None = None):
        return await self.gateway.post(f"{SO}/{order['id']}/{path}", json=body, headers=self.match(order))

    async def act(self, order: dict, path: str, body: dict | None = None) -> dict:
        done = await self.action(order, path, body)
        assert done.status_code == 200, done.text
        return done.json()

    async def patch(self, order: dict, body: dict):
        return await self.gateway.patch(f"{SO}/{order['id']}", json=body, headers=self.match(order))

    async def ship(self, order: dict, *lines: tuple):
        body = {"lines": [{"line_no": n, "quantity": q, **({"serial_numbers": s} if s else {})} for n, q, s in lines]}
        return await self.gateway.post(f"{SO}/{order['id']}/shipments", json=body, headers=self.headers)

    async def take_back(self, order: dict, *lines: tuple, reason: str = "damaged"):
        body = {
            "reason": reason,
            "lines": [{"line_no": n, "quantity": q, **({"serial_numbers": s} if s else {})} for n, q, s in lines],
        }
        return await self.gateway.post(f"{SO}/{order['id']}/returns", json=body, headers=self.headers)

    async def where(self, *serials: str) -> dict:
        found = await self.gateway.get(
            "/api/v1/shipped-units", params={"serial_number": list(serials)}, headers=self.headers
        )
        assert found.status_code == 200, found.text
        return found.json()


def fulfilment(order: dict, line_no: int | None = None) -> dict:
    part = order["fulfilment"] if line_no is None else order["lines"][line_no - 1]["fulfilment"]
    return {k: (v if k == "shipment_state" else Decimal(v)) for k, v in part.items()}


async def sales_events(kafka: str, order_id: str, *, until: set[str], timeout: float = 20.0) -> list[tuple[str, dict]]:
    """(ce_type, body) of the order's events on lathe.orders.sales-orders.v1, once ``until`` (changes
    and event types) have all been seen."""
    consumer = AIOKafkaConsumer(
        "lathe.orders.sales-orders.v1", bootstrap_servers=kafka, auto_offset_reset="earliest", group_id=None
    )
    await consumer.start()
    found: list[tuple[str, dict]] = []
    try:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    if record.key == order_id.encode():
                        ce_type = dict(record.headers)["ce_type"].decode()
                        found.append((ce_type, json.loads(record.value)))
            seen = {body.get("change", ce_type) for ce_type, body in found}
            if until <= seen:
                return found
    finally:
        await consumer.stop()
    raise AssertionError(f"events of {order_id}: {[b.get('change', t) for t, b in found]}, waiting for {until}")
