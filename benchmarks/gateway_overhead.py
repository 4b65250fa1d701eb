"""Gateway overhead: an authenticated GET through the gateway vs straight to the service, same run.

A second gateway process is started on a spare port with the rate limit raised out of the way, so
the figures include every check the gateway makes (token, revocation and rate-limit lookups in
Redis, proxying) without measuring 429s.

Throughput is measured under load (16 connections); the latency the gateway adds is measured
with one connection, where a request's latency is its own cost rather than its wait in a queue
(under load, p50 is roughly connections / throughput, so it would only restate the throughput
ratio). Each target is measured twice, interleaved, and the better run kept, which damps noise
from the other processes sharing a 2-core machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.report import Figure, Result
from benchmarks.wrk import WrkRun, run_wrk

ROOT = Path(__file__).resolve().parents[1]
BENCH_GATEWAY_PORT = 18080
PATH = "/api/v1/auth/me"


def _token() -> str:
    response = httpx.post(
        f"{os.environ['LATHE_AUTH_URL']}/api/v1/auth/login",
        json={"username": os.environ["LATHE_ADMIN_USERNAME"], "password": os.environ["LATHE_ADMIN_PASSWORD"]},
    )
    response.raise_for_status()
    return response.json()["access_token"]


def _start_gateway() -> subprocess.Popen:
    env = os.environ | {
        "LATHE_GATEWAY_PORT": str(BENCH_GATEWAY_PORT),
        "LATHE_GATEWAY_RATE_LIMIT_PER_MINUTE": "1000000000",
        # Its own Redis database: the load must not fill the real gateway's buckets for the same user.
        "LATHE_GATEWAY_REDIS_URL": os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/15",
        "LATHE_GATEWAY_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "lathe_gateway", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{BENCH_GATEWAY_PORT}/health/live").status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("benchmark gateway did not start")


def _best_of_two(direct_url: str, gateway_url: str, headers: dict[str, str], **wrk) -> tuple[WrkRun, WrkRun, dict]:
    direct_runs: list[WrkRun] = []
    gateway_runs: list[WrkRun] = []
    for _ in range(2):
        direct_runs.append(run_wrk(direct_url, headers=headers, **wrk))
        gateway_runs.append(run_wrk(gateway_url, headers=headers, **wrk))
    runs = [*direct_runs, *gateway_runs]
    if any(r.non_2xx or r.errors for r in runs):
        raise SystemExit(f"benchmark saw failures: {runs}")
    best = max(direct_runs, key=lambda r: r.requests_per_second), max(gateway_runs, key=lambda r: r.requests_per_second)
    return *best, {"direct": [vars(r) for r in direct_runs], "gateway": [vars(r) for r in gateway_runs]}


def run(seconds: int = 10, connections: int = 16) -> Result:
    headers = {"Authorization": f"Bearer {_token()}"}
    direct_url = f"{os.environ['LATHE_AUTH_URL']}{PATH}"
    gateway_url = f"http://127.0.0.1:{BENCH_GATEWAY_PORT}{PATH}"
    gateway = _start_gateway()
    try:
        for url in (direct_url, gateway_url):  # warm pools and caches
            run_wrk(url, headers=headers, seconds=2, connections=connections)
        direct, via, loaded_runs = _best_of_two(
            direct_url, gateway_url, headers, seconds=seconds, connections=connections
        )
        direct_1, via_1, single_runs = _best_of_two(direct_url, gateway_url, headers, seconds=seconds, connections=1)
    finally:
        gateway.terminate()
        gateway.wait(10)
    ratio = via.requests_per_second / direct.requests_per_second
    added_p50 = via_1.p50_ms - direct_1.p50_ms
    return Result(
        benchmark="gateway_overhead",
        description=(
            f"GET {PATH} with a bearer token; throughput at {connections} connections, latency at 1 connection; "
            f"{seconds}s per run, best of 2 interleaved runs"
        ),
        figures=[
            Figure(f"direct throughput ({connections} conn)", direct.requests_per_second, "req/s"),
            Figure(f"gateway throughput ({connections} conn)", via.requests_per_second, "req/s"),
            Figure("throughput ratio gateway/direct", ratio, "x", ">= 0.8", ratio >= 0.8),
            Figure("direct p50 (1 conn)", direct_1.p50_ms, "ms"),
            Figure("gateway p50 (1 conn)", via_1.p50_ms, "ms"),
            Figure("added p50", added_p50, "ms", "<= 2", added_p50 <= 2),
            Figure("direct p99 (1 conn)", direct_1.p99_ms, "ms"),
            Figure("gateway p99 (1 conn)", via_1.p99_ms, "ms"),
            Figure("added p99", via_1.p99_ms - direct_1.p99_ms, "ms"),
            Figure(f"gateway p99 ({connections} conn)", via.p99_ms, "ms"),
            Figure(f"direct p99 ({connections} conn)", direct.p99_ms, "ms"),
        ],
        comparison={"loaded": loaded_runs, "single_connection": single_runs},
    )
