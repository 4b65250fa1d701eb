"""The printed traveler of a LOT of 100 units through an 8-step routing (goal: p50 under 300 ms).

A line of its own (8 processes, a model with a two-line BOM) and a LOT whose 100 units all went
through every step are made through production's API once per run (steps straight to the service,
a few at a time); then ``SAMPLES`` sequential GET /lots/{lot}/traveler.pdf through the gateway,
each PDF checked to be one.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import httpx

from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, percentile

UNITS = 100
STEPS = 8
SAMPLES = 50
CONCURRENT_UNITS = 10


async def _make_lot(client: httpx.AsyncClient) -> tuple[str, float]:
    started = time.perf_counter()
    tag = uuid.uuid4().hex[:8].upper()
    processes = []
    for n in range(STEPS):
        code = f"BT_{tag}_{n}"
        made = await client.post(
            "/api/v1/processes",
            json={
                "process_code": code,
                "process_number": 100_000 + uuid.uuid4().int % 900_000,
                "name": f"Step {n + 1}",
            },
        )
        made.raise_for_status()
        processes.append(code)
    parts = f"BENCH-PART-{tag}"
    (
        await client.post(
            "/api/v1/product-models", json={"model_code": parts, "model_name": "Part", "routing": processes[:1]}
        )
    ).raise_for_status()
    model = f"BENCH-TRV-{tag}"
    bom = [
        {
            "component_code": parts,
            "description": "Part",
            "quantity_per_unit": "2",
            "unit": "pcs",
            "process_code": processes[0],
        },
        {"component_code": "SOLDER", "description": "Solder paste", "quantity_per_unit": "0.5", "unit": "g"},
    ]
    body = {
        "model_code": model,
        "model_name": "Traveler bench board",
        "routing": processes,
        "bom": bom,
        "traveler_type": "PCB",
    }
    (await client.post("/api/v1/product-models", json=body)).raise_for_status()
    lot = (await client.post("/api/v1/lots", json={"model_code": model, "target_quantity": UNITS})).json()
    made = await client.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": UNITS})
    made.raise_for_status()
    serials = [s["serial_number"] for s in made.json()["items"]]
    gate = asyncio.Semaphore(CONCURRENT_UNITS)

    async def through_routing(serial: str) -> None:
        async with gate:
            for code in processes:
                done = await client.post(
                    "/api/v1/process-data", json={"serial_number": serial, "process_code": code, "operator": "bench"}
                )
                done.raise_for_status()

    await asyncio.gather(*(through_routing(s) for s in serials))
    return lot["lot_number"], time.perf_counter() - started


def run() -> Result:
    headers = {"Authorization": f"Bearer {admin_token()}"}

    async def setup() -> tuple[str, float]:
        async with httpx.AsyncClient(base_url=os.environ["LATHE_PRODUCTION_URL"], headers=headers, timeout=60) as c:
            return await _make_lot(c)

    lot_number, setup_seconds = asyncio.run(setup())
    timings: list[float] = []
    size = 0
    with httpx.Client(base_url=os.environ["GATEWAY_URL"], headers=headers, timeout=30) as client:
        client.get(f"/api/v1/lots/{lot_number}/traveler.pdf").raise_for_status()  # warm: imports, fonts
        for _ in range(SAMPLES):
            started = time.perf_counter()
            response = client.get(f"/api/v1/lots/{lot_number}/traveler.pdf")
            timings.append((time.perf_counter() - started) * 1000)
            response.raise_for_status()
            assert response.content.startswith(b"%PDF-"), response.headers
            size = len(response.content)
    p50 = percentile(timings, 50)
    return Result(
        benchmark="traveler_pdf",
        description=f"GET /lots/{{lot}}/traveler.pdf of a LOT of {UNITS} units through {STEPS} steps "
        f"({UNITS * STEPS} executions, a two-line BOM), {SAMPLES} sequential requests through the gateway",
        figures=[
            Figure("p50", p50, "ms", "< 300", p50 < 300),
            Figure("p99", percentile(timings, 99), "ms"),
            Figure("document size", size / 1024, "KiB"),
        ],
        comparison={"setup_seconds": setup_seconds, "samples_ms": timings},
    )
