"""Work-order progress lag: from a step's commit in production to the work order's progress seen
through the API, while the machine topic ingests at full speed (goal: p99 under 1 s).

A work order of ``BENCH_WO_PROGRESS_UNITS`` units (default 200, serials, a one-step routing) is
created and released through a gateway, and production plans its LOTs. Beside it
``BENCH_WO_PROGRESS_BACKLOG`` other units (default 60,000, written with COPY, no work order) get
one machine message each; the work order's units' messages are spread through that backlog, and
everything is produced to the machine topic at once, so production drains it as fast as it can
while the work order's units pass one by one. Meanwhile the work order is read through the API
every ``POLL_SECONDS``.

A unit's lag runs from its step's ``process_data.recorded_at`` (the start of the batch
transaction that recorded it: the database's clock) to the first read that shows as many good
units as had been recorded by then (the k-th unit recorded is seen when ``quantity_good`` >= k),
on the same host's clock. So it covers the rest of the recording transaction, production's
outbox relay, Kafka, orders' projection batch (units, then the work order, in one transaction)
and the read, give or take one poll. Beside it, where the time goes, per unit (medians): from the
step's recorded_at to its step.recorded event in Kafka (the record's timestamp: production's
outbox relay), and from there to orders' projection of the unit (units_view.updated_at: the start
of orders' batch transaction).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx

from benchmarks.machine_flood import produce, published_at, routed_units, step_offsets
from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, bench_gateway, percentile

PORT = 18092
UNITS = int(os.environ.get("BENCH_WO_PROGRESS_UNITS", "200"))
BACKLOG = int(os.environ.get("BENCH_WO_PROGRESS_BACKLOG", "60000"))
UNITS_PER_LOT = 1_000
POLL_SECONDS = 0.02
TOPIC = "lathe.machine.process-data.v1"


def _message(serial: str, process: str) -> dict:
    return {
        "message_id": str(uuid.uuid4()),
        "serial_number": serial,
        "process_code": process,
        "result": "PASS",
        "operator": "bench",
        "equipment_id": "B-WO",
    }


async def _catalog(client: httpx.AsyncClient, tag: str) -> tuple[str, str]:
    process = f"B_WO_{tag.upper()}"
    number = 100_000 + uuid.uuid4().int % 900_000
    made = await client.post(
        "/api/v1/processes", json={"process_code": process, "process_number": number, "name": "WO bench"}
    )
    made.raise_for_status()
    model = f"BENCH-WO-{tag}"
    made = await client.post(
        "/api/v1/product-models", json={"model_code": model, "model_name": "WO bench", "routing": [process]}
    )
    made.raise_for_status()
    return process, model


async def _released_work_order(client: httpx.AsyncClient, model: str) -> tuple[dict, list[str]]:
    body = {"model_code": model, "quantity": UNITS, "due_date": "2099-12-31", "create_serials": True}
    for _ in range(300):  # orders learns of the new model from production's event
        made = await client.post("/api/v1/work-orders", json=body)
        if made.status_code != 404:  # product_model_not_found until then
            break
        await asyncio.sleep(0.1)
    made.raise_for_status()
    wo = made.json()
    released = await client.post(
        f"/api/v1/work-orders/{wo['number']}/release", headers={"If-Match": made.headers["etag"]}
    )
    released.raise_for_status()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        lots = (await client.get("/api/v1/lots", params={"work_order_number": wo["number"], "limit": 500})).json()
        serials = []
        for lot in lots["items"]:
            page = await client.get("/api/v1/serials", params={"lot": lot["id"], "limit": 500})
            serials += [s["serial_number"] for s in page.json()["items"]]
        if len(serials) >= UNITS:
            return wo, serials
        await asyncio.sleep(0.5)
    raise SystemExit("production did not plan the work order's LOTs within 2 minutes")


async def _watch(client: httpx.AsyncClient, number: str) -> list[tuple[datetime, int]]:
    """Every change of quantity_good the API shows, with when it was first seen."""
    seen: list[tuple[datetime, int]] = []
    last = -1
    deadline = time.monotonic() + 900
    while last < UNITS and time.monotonic() < deadline:
        answer = await client.get(f"/api/v1/work-orders/{number}")
        at = datetime.now(UTC)
        good = answer.json()["quantity_good"] if answer.status_code == 200 else last
        if good != last:
            seen.append((at, good))
            last = good
        await asyncio.sleep(POLL_SECONDS)
    if last < UNITS:
        raise SystemExit(f"the work order showed {last} of {UNITS} good units after 15 minutes")
    return seen


async def _measure(dsn: str, gateway_url: str, headers: dict[str, str], bootstrap: str) -> dict:
    tag = uuid.uuid4().hex[:8]
    async with httpx.AsyncClient(base_url=gateway_url, headers=headers, timeout=30) as client:
        process, model = await _catalog(client, tag)
        wo, serials = await _released_work_order(client, model)
        conn = await asyncpg.connect(dsn)
        try:
            backlog, backlog_lots = await routed_units(
                conn,
                f"BENCH-WOB-{tag}",
                BACKLOG,
                process=process,
                units_per_lot=UNITS_PER_LOT,
                model_name="WO bench backlog",
            )
            every = max(len(backlog) // UNITS, 1)
            ours = iter(serials)
            messages = []
            for n, serial in enumerate(backlog):
                if n % every == 0 and (unit := next(ours, None)) is not None:
                    messages.append(_message(unit, process))
                messages.append(_message(serial, process))
            messages += [_message(unit, process) for unit in ours]  # any left: at the end
            offsets = await step_offsets(bootstrap)
            watcher = asyncio.create_task(_watch(client, wo["number"]))
            await produce(bootstrap, messages)
            seen = await watcher
            units = await conn.fetch(
                "SELECT d.serial_id::text AS serial_id, d.recorded_at, u.updated_at AS projected_at "
                "FROM production.process_data d JOIN production.lots l ON l.id = d.lot_id "
                "LEFT JOIN orders.units_view u ON u.serial_id = d.serial_id "
                "WHERE l.work_order_number = $1 ORDER BY d.recorded_at",
                wo["number"],
            )
            recorded = [u["recorded_at"] for u in units]
            span = await conn.fetchrow(
                "SELECT count(*) AS n, extract(epoch FROM max(recorded_at) - min(recorded_at))::float8 AS seconds "
                "FROM production.process_data WHERE lot_id = ANY($1)",
                backlog_lots,
            )
        finally:
            await conn.close()
    lags = []
    for k, at in enumerate(recorded, start=1):
        shown = next(when for when, good in seen if good >= k)
        lags.append(max((shown - at).total_seconds(), 0.0))
    published = await published_at(bootstrap, offsets, {u["serial_id"] for u in units})
    relayed = [published[u["serial_id"]] - u["recorded_at"].timestamp() for u in units if u["serial_id"] in published]
    projected = [
        u["projected_at"].timestamp() - published[u["serial_id"]]
        for u in units
        if u["serial_id"] in published and u["projected_at"] is not None
    ]
    return {
        "work_order": wo["number"],
        "lags": lags,
        "relay_seconds": relayed,
        "projection_seconds": projected,
        "backlog_recorded": span["n"],
        "backlog_seconds": span["seconds"],
    }


def run() -> Result:
    dsn, bootstrap = os.environ["DATABASE_URL"], os.environ["KAFKA_BOOTSTRAP_SERVERS"]
    headers = {"Authorization": f"Bearer {admin_token()}"}
    with bench_gateway(PORT) as gateway_url:
        measured = asyncio.run(_measure(dsn, gateway_url, headers, bootstrap))
    lags = measured["lags"]
    p50, p99 = percentile(lags, 50), percentile(lags, 99)
    ingest_rate = measured["backlog_recorded"] / max(measured["backlog_seconds"] or 0.0, 1e-9)
    return Result(
        benchmark="work_order_progress",
        description=f"A released work order of {UNITS} units (serials, one step); its units' machine messages spread "
        f"through a backlog of {BACKLOG:,} other units' messages produced at once to {TOPIC}. Lag per unit: from "
        "its step's process_data.recorded_at to the first GET /api/v1/work-orders/{number} (every "
        f"{POLL_SECONDS * 1000:.0f} ms through a gateway) showing that many good units",
        figures=[
            Figure("progress lag p50", p50, "s"),
            Figure("progress lag p99", p99, "s", "< 1", p99 < 1),
            Figure("progress lag max", max(lags), "s"),
            Figure("of which production's relay (p50)", percentile(measured["relay_seconds"] or [0.0], 50), "s"),
            Figure("of which orders' projection (p50)", percentile(measured["projection_seconds"] or [0.0], 50), "s"),
            Figure("machine messages recorded meanwhile", ingest_rate, "messages/s"),
        ],
        comparison={
            "samples": len(lags),
            "work_order": measured["work_order"],
            "backlog_messages": BACKLOG,
            "backlog_seconds": measured["backlog_seconds"],
            "poll_seconds": POLL_SECONDS,
        },
    )
