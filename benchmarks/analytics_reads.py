"""Analytics reads as history grows: the dashboard and process performance (and, for comparison,
a week of quality metrics and operator performance, and 30 days of process performance) with 1M and
then 10M step executions behind them (goal: dashboard and process performance p99 under 20 ms, flat
from 1M to 10M).

What 1M and 10M executions leave in the floor read model is written by PostgreSQL itself
(``INSERT ... SELECT generate_series``) into the live analytics tables, under the benchmark's own
processes, models and operators: a plant of 8 processes and 5 models, 3 operators per process,
27,400 executions a production day (24 an hour per process, model and operator), so 1M executions
are 37 days of rows and 10M are 365 days (ten times the day rows: the reads that must not grow with
history are the ones that read all-time rows). Each (day, process, model, operator) row carries its
sums, each (day, process) its cycle-time bins (60 around 40 s), each (day, process, model) ten defect
codes, each (day, shift, model) its output. The rows are the read model's own shape, as the consumer
would have left them; the answers are not checked against events here (the tests do that).

Reads go one at a time through a gateway process of the benchmark's own (its limits raised), 300
samples per endpoint after a warm-up, to two analytics processes: one of the benchmark's own serving
the API only (``CONSUMERS_ENABLED=false``, how API replicas are deployed; the goal is its), and the
stack's own, whose consumers share its event loop (a batch of events holds a request for a slice
of the batch). The benchmark's rows are deleted at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Iterator

import asyncpg
import httpx

from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, bench_gateway, extra_process, percentile

SIZES = (1_000_000, 10_000_000)
PER_DAY = 27_400
PROCESSES, MODELS, OPERATORS_PER_PROCESS, BINS, DEFECT_CODES = 8, 5, 3, 60, 10
SAMPLES = 300
PORT, GATEWAY_PORT, API_PORT = 18084, 18086, 18087
PREFIX = "BENCH-AN"
READS = {
    "dashboard": ("/api/v1/analytics/dashboard", {}),
    "process-performance": ("/api/v1/analytics/process-performance", {}),
    "process-performance 30 days": ("/api/v1/analytics/process-performance", {"days": 30}),
    "quality-metrics 7 days": ("/api/v1/analytics/quality-metrics", {"days": 7}),
    "operator-performance 7 days": ("/api/v1/analytics/operator-performance", {"days": 7}),
}
GATED = ("dashboard", "process-performance")  # the reads with the goal

# The benchmark's processes and models: deterministic ids, so a run finds an earlier run's leftovers.
_PROCESS_ID = f"md5('{PREFIX}-P' || p)::uuid"
_CLEAN = [
    f"DELETE FROM analytics.{table} WHERE process_id IN (SELECT md5('{PREFIX}-P' || p)::uuid "
    f"FROM generate_series(1, {PROCESSES}) p)"
    for table in (
        "floor_step_days",
        "floor_step_totals",
        "floor_cycle_bin_days",
        "floor_cycle_bin_totals",
        "floor_defect_days",
        "floor_processes",
    )
] + [
    f"DELETE FROM analytics.floor_output_days WHERE model_code LIKE '{PREFIX}-%'",
    f"DELETE FROM analytics.floor_product_models WHERE model_code LIKE '{PREFIX}-%'",
]


async def _write(conn: asyncpg.Connection, executions: int) -> tuple[int, float]:
    """The rows ``executions`` leave (replacing the benchmark's earlier ones); returns (days, seconds)."""
    days = -(-executions // PER_DAY)
    per_row = PER_DAY // (PROCESSES * MODELS * OPERATORS_PER_PROCESS)
    started = time.perf_counter()
    async with conn.transaction():
        for statement in _CLEAN:
            await conn.execute(statement)
        await conn.execute(
            f"""INSERT INTO analytics.floor_processes (process_id, process_code, process_number, name, is_active)
                SELECT {_PROCESS_ID}, '{PREFIX}-P' || p, 900000 + p, 'Bench step ' || p, true
                FROM generate_series(1, {PROCESSES}) p"""
        )
        await conn.execute(
            f"""INSERT INTO analytics.floor_product_models (model_code, model_id, model_name, routing, is_active)
                SELECT '{PREFIX}-M' || m, md5('{PREFIX}-M' || m)::uuid, 'Bench model ' || m,
                       ARRAY(SELECT '{PREFIX}-P' || p FROM generate_series(1, {PROCESSES}) p), true
                FROM generate_series(1, {MODELS}) m"""
        )
        # Each (day, process, model, operator): ~2 % failures, ~3 % reworks, cycle times around 40 s.
        await conn.execute(
            f"""INSERT INTO analytics.floor_step_days (day, process_id, model_code, operator, process_code,
                    executions, passes, failures, reworks, cycle_count, cycle_seconds, first_attempts, first_passes)
                SELECT current_date - d, {_PROCESS_ID}, '{PREFIX}-M' || m, 'bench-op-' || p || '-' || o,
                       '{PREFIX}-P' || p, k.n, k.n - k.n / 50 - k.n / 33, k.n / 50, k.n / 33, k.n,
                       k.n * (38 + (d + p + m + o) % 5), k.n - k.n / 33, k.n - k.n / 33 - k.n / 50
                FROM (SELECT $1::bigint AS n) k, generate_series(0, $2::int - 1) d, generate_series(1, {PROCESSES}) p,
                     generate_series(1, {MODELS}) m, generate_series(1, {OPERATORS_PER_PROCESS}) o""",
            per_row,
            days,
        )
        await conn.execute(
            f"""INSERT INTO analytics.floor_step_totals (process_id, model_code, process_code, executions, passes,
                    failures, reworks, cycle_count, cycle_seconds, first_attempts, first_passes)
                SELECT process_id, model_code, max(process_code), sum(executions), sum(passes), sum(failures),
                       sum(reworks), sum(cycle_count), sum(cycle_seconds), sum(first_attempts), sum(first_passes)
                FROM analytics.floor_step_days WHERE model_code LIKE '{PREFIX}-%' GROUP BY process_id, model_code"""
        )
        # Bin 530 is about 40 s (cycle_bins: 0.001 s x 1.0202^530): 60 bins around it, more in the middle.
        await conn.execute(
            f"""INSERT INTO analytics.floor_cycle_bin_days (day, process_id, bin, n)
                SELECT current_date - d, {_PROCESS_ID}, 500 + b, 1 + ($1::bigint * {MODELS} * {OPERATORS_PER_PROCESS}
                       * (30 - abs(b - 30))) / 900
                FROM generate_series(0, $2::int - 1) d, generate_series(1, {PROCESSES}) p,
                     generate_series(0, {BINS - 1}) b""",
            per_row,
            days,
        )
        await conn.execute(
            f"""INSERT INTO analytics.floor_cycle_bin_totals (process_id, bin, n)
                SELECT process_id, bin, sum(n) FROM analytics.floor_cycle_bin_days
                WHERE process_id IN (SELECT {_PROCESS_ID} FROM generate_series(1, {PROCESSES}) p)
                GROUP BY process_id, bin"""
        )
        await conn.execute(
            f"""INSERT INTO analytics.floor_defect_days (day, process_id, model_code, defect_code, occurrences)
                SELECT current_date - d, {_PROCESS_ID}, '{PREFIX}-M' || m, '{PREFIX}-D' || c, 1 + (d + c) % 7
                FROM generate_series(0, $1 - 1) d, generate_series(1, {PROCESSES}) p,
                     generate_series(1, {MODELS}) m, generate_series(1, {DEFECT_CODES}) c""",
            days,
        )
        await conn.execute(
            f"""INSERT INTO analytics.floor_output_days (day, shift, model_code, lots_created, lots_started,
                    lots_completed, units_created, units_started, units_passed, units_failed, units_scrapped)
                SELECT current_date - d, s, '{PREFIX}-M' || m, 3, 3, 3, 300, 300, 290, 6, 4
                FROM generate_series(0, $1 - 1) d, unnest(ARRAY['DAY', 'NIGHT']) s, generate_series(1, {MODELS}) m""",
            days,
        )
    for table in ("floor_step_days", "floor_cycle_bin_days", "floor_defect_days", "floor_output_days"):
        await conn.execute(f"ANALYZE analytics.{table}")
    return days, time.perf_counter() - started


async def _prepare(dsn: str, executions: int | None) -> tuple[int, float]:
    conn = await asyncpg.connect(dsn)
    try:
        if executions is None:
            async with conn.transaction():
                for statement in _CLEAN:
                    await conn.execute(statement)
            return 0, 0.0
        return await _write(conn, executions)
    finally:
        await conn.close()


def _get(client: httpx.Client, path: str, params: dict, unavailable: list[int]) -> float:
    """Milliseconds of one answered read. The stack's analytics service is restarted by others now and
    then (a shared stack): a 503 or a refused connection is waited out and not counted as a sample."""
    for _ in range(600):
        started = time.perf_counter()
        try:
            response = client.get(path, params=params)
        except httpx.TransportError:
            response = None
        elapsed = (time.perf_counter() - started) * 1000
        if response is not None and response.status_code != 503:
            response.raise_for_status()
            return elapsed
        unavailable[0] += 1
        time.sleep(0.5)
    raise SystemExit("analytics stayed unavailable for five minutes")


def _measure(client: httpx.Client, unavailable: list[int]) -> dict[str, dict[str, float]]:
    figures = {}
    for name, (path, params) in READS.items():
        for _ in range(10):  # warm: connections, plans, caches
            _get(client, path, params, unavailable)
        timings = [_get(client, path, params, unavailable) for _ in range(SAMPLES)]
        figures[name] = {"p50": percentile(timings, 50), "p99": percentile(timings, 99)}
    return figures


@contextlib.contextmanager
def _api_only_analytics() -> Iterator[str]:
    """An analytics process that serves the API only (``CONSUMERS_ENABLED=false``, as an API replica is
    deployed) and a gateway of the benchmark's own in front of it."""
    with (
        extra_process("lathe_analytics", API_PORT, consumers_enabled="false") as analytics_url,
        bench_gateway(GATEWAY_PORT, analytics_url=analytics_url) as gateway_url,
    ):
        yield gateway_url


def run() -> Result:
    dsn = os.environ["DATABASE_URL"]
    headers = {"Authorization": f"Bearer {admin_token()}"}
    measured: dict[str, dict[int, dict[str, dict[str, float]]]] = {"api replica": {}, "shared": {}}
    written: dict[int, dict[str, float]] = {}
    load: dict[int, float] = {}
    unavailable = [0]
    try:
        with (
            _api_only_analytics() as replica_url,
            bench_gateway(PORT) as shared_url,
            httpx.Client(base_url=replica_url, headers=headers, timeout=30) as replica,
            httpx.Client(base_url=shared_url, headers=headers, timeout=30) as shared,
        ):
            for size in SIZES:
                days, seconds = asyncio.run(_prepare(dsn, size))
                written[size] = {"days": days, "seconds": seconds}
                load[size] = os.getloadavg()[0]
                measured["api replica"][size] = _measure(replica, unavailable)
                measured["shared"][size] = _measure(shared, unavailable)
    finally:
        asyncio.run(_prepare(dsn, None))
    figures = []
    for where, at in measured.items():
        small, large = at[SIZES[0]], at[SIZES[-1]]
        for name in READS:
            gated = name in GATED and where == "api replica"
            p99_small, p99_large = small[name]["p99"], large[name]["p99"]
            figures.append(Figure(f"{where}: {name} p50 at 10M", large[name]["p50"], "ms"))
            figures.append(Figure(f"{where}: {name} p99 at 10M", p99_large, "ms", *_goal(gated, p99_large < 20)))
            figures.append(Figure(f"{where}: {name} p99 at 1M", p99_small, "ms", *_goal(gated, p99_small < 20)))
            ratio = p99_large / p99_small
            figures.append(Figure(f"{where}: {name} p99 10M / 1M", ratio, "x", *_goal(gated, ratio <= 1.5, "flat")))
    return Result(
        benchmark="analytics_reads",
        description=f"GET /api/v1/analytics/* through a gateway, {SAMPLES} sequential requests each, with the "
        f"pre-aggregated rows of 1M and 10M step executions ({PER_DAY:,} a production day: "
        f"{written[SIZES[0]]['days']:.0f} and {written[SIZES[-1]]['days']:.0f} days) written by PostgreSQL beside "
        "the stack's own rows; 'api replica': an analytics process serving the API only (CONSUMERS_ENABLED=false), "
        "'shared': the stack's analytics process, whose consumers (floor, SPC, audit trail, stream) share its event "
        "loop while other work runs on the machine",
        figures=figures,
        comparison={
            "measured": {where: {str(k): v for k, v in at.items()} for where, at in measured.items()},
            "written": written,
            "load_average_1m": load,
            "unavailable_answers_waited_out": unavailable[0],
        },
    )


def _goal(gated: bool, met: bool, kind: str = "< 20") -> tuple[str | None, bool | None]:
    if not gated:
        return None, None
    return ("flat (<= 1.5)" if kind == "flat" else "< 20 ms"), met
