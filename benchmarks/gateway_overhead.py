"""Gateway overhead: an authenticated GET through the gateway vs straight to the service, same run.

A second gateway process is started on a spare port with the rate limit raised out of the way, so
the figures include every check the gateway makes (token, revocation and rate-limit lookups in
Redis, proxying) without measuring 429s. Both targets are measured twice, interleaved, and the
better run of each is kept, which damps noise from the other processes on a 2-core machine.
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
BENCH_GATEWAY_PORT = 18000
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


def run(seconds: int = 10, connections: int = 16) -> Result:
    headers = {"Authorization": f"Bearer {_token()}"}
    direct_url = f"{os.environ['LATHE_AUTH_URL']}{PATH}"
    gateway_url = f"http://127.0.0.1:{BENCH_GATEWAY_PORT}{PATH}"
    gateway = _start_gateway()
    try:
        for url in (direct_url, gateway_url):  # warm pools and caches
            run_wrk(url, headers=headers, seconds=2, connections=connections)
        direct_runs: list[WrkRun] = []
        gateway_runs: list[WrkRun] = []
        for _ in range(2):
            direct_runs.append(run_wrk(direct_url, headers=headers, seconds=seconds, connections=connections))
            gateway_runs.append(run_wrk(gateway_url, headers=headers, seconds=seconds, connections=connections))
    finally:
        gateway.terminate()
        gateway.wait(10)
    direct = max(direct_runs, key=lambda r: r.requests_per_second)
    via = max(gateway_runs, key=lambda r: r.requests_per_second)
    if direct.non_2xx or via.non_2xx or direct.errors or via.errors:
        raise SystemExit(f"benchmark saw failures: direct {direct}, gateway {via}")
    ratio = via.requests_per_second / direct.requests_per_second
    added_p50 = via.p50_ms - direct.p50_ms
    return Result(
        benchmark="gateway_overhead",
        description=f"GET {PATH} with a bearer token, {connections} connections, {seconds}s per run, best of 2",
        figures=[
            Figure("direct throughput", direct.requests_per_second, "req/s"),
            Figure("gateway throughput", via.requests_per_second, "req/s"),
            Figure("throughput ratio gateway/direct", ratio, "x", ">= 0.8", ratio >= 0.8),
            Figure("direct p50", direct.p50_ms, "ms"),
            Figure("gateway p50", via.p50_ms, "ms"),
            Figure("added p50", added_p50, "ms", "<= 2", added_p50 <= 2),
            Figure("direct p99", direct.p99_ms, "ms"),
            Figure("gateway p99", via.p99_ms, "ms"),
            Figure("p99 ratio gateway/direct", via.p99_ms / direct.p99_ms, "x"),
        ],
        comparison={
            "direct": vars(direct),
            "gateway": vars(via),
            "all_runs": {"direct": [vars(r) for r in direct_runs], "gateway": [vars(r) for r in gateway_runs]},
        },
    )
