"""Bulk creation of 10,000 serials in one request (goal: under 2 s)."""

from __future__ import annotations

import statistics
import time
import uuid

import httpx

from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, extra_process

COUNT = 10_000
RUNS = 3


def run() -> Result:
    headers = {"Authorization": f"Bearer {admin_token()}"}
    # A process whose LOTs may hold 10,000 units (the plant default is 100); consumers off.
    with extra_process("lathe_production", 18082, max_lot_quantity=str(COUNT), consumers_enabled="false") as url:
        with httpx.Client(base_url=url, headers=headers, timeout=120) as client:
            model = f"BENCH-{uuid.uuid4().hex[:6]}"
            client.post(
                "/api/v1/product-models",
                json={"model_code": model, "model_name": "Bench", "routing": ["P01_LASER_MARKING"]},
            ).raise_for_status()
            timings = []
            for _ in range(RUNS):
                lot = client.post("/api/v1/lots", json={"model_code": model, "target_quantity": COUNT}).json()
                started = time.perf_counter()
                made = client.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": COUNT})
                timings.append(time.perf_counter() - started)
                made.raise_for_status()
                assert len(made.json()["items"]) == COUNT
    best, median = min(timings), statistics.median(timings)
    return Result(
        benchmark="serial_bulk_create",
        description=f"POST /lots/{{id}}/serials {{'count': {COUNT}}} straight to the production service, {RUNS} runs "
        "(includes the capacity check, the inserts, the outbox events and the 10,000-item response)",
        figures=[
            Figure("best", best, "s", "< 2", best < 2),
            Figure("median", median, "s", "< 2", median < 2),
            Figure("serials per second (median)", COUNT / median, "serials/s"),
        ],
        comparison={"runs_seconds": timings},
    )
