"""1,000 connections at once through the gateway: what is answered is answered in bounded time,
the excess is refused at once (503 ``overloaded`` with ``Retry-After``), and nothing times out.

The load comes from vegeta (Go, from the Go module proxy, built into ``.run/go/bin`` on first use):
1,000 workers, each with its own keep-alive connection, each sending its next request as soon as
the previous one is answered, for 20 s, a 10 s client timeout. vegeta records every request's
status and latency, so answered and shed requests are measured apart (wrk reports one latency
for both). The target is a LOT list page through a gateway process of the benchmark's own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from benchmarks.report import Figure, Result
from benchmarks.stack import ROOT, admin_token, bench_gateway, percentile

VEGETA_MODULE = "github.com/tsenart/vegeta/v12@v12.13.0"
GOBIN = ROOT / ".run" / "go" / "bin"
PORT = 18084
CONNECTIONS = 1_000
SECONDS = 20
TIMEOUT_SECONDS = 10
PATH = "/api/v1/lots?limit=10"


def vegeta() -> str:
    binary = GOBIN / "vegeta"
    if not binary.exists():
        go = shutil.which("go")
        if go is None:
            raise SystemExit("go is missing: it builds the load generator (vegeta)")
        print(f"  building {VEGETA_MODULE} into {GOBIN}", flush=True)
        subprocess.run([go, "install", VEGETA_MODULE], env=os.environ | {"GOBIN": str(GOBIN)}, check=True)
    return str(binary)


def _attack(binary: str, url: str, token: str, results: Path) -> None:
    target = json.dumps({"method": "GET", "url": url, "header": {"Authorization": [f"Bearer {token}"]}})
    attack = [
        binary,
        "attack",
        "-format=json",
        "-rate=0",
        f"-workers={CONNECTIONS}",
        f"-max-workers={CONNECTIONS}",
        f"-duration={SECONDS}s",
        f"-timeout={TIMEOUT_SECONDS}s",
        f"-output={results}",
    ]
    subprocess.run(attack, input=target.encode(), check=True)


def _outcomes(binary: str, results: Path) -> list[dict]:
    encoded = subprocess.run([binary, "encode", "--to", "json", str(results)], capture_output=True, check=True)
    return [json.loads(line) for line in encoded.stdout.splitlines() if line.strip()]


def run() -> Result:
    binary = vegeta()
    token = admin_token()
    with bench_gateway(PORT) as url, tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.bin"
        _attack(binary, f"{url}{PATH}", token, results)
        outcomes = _outcomes(binary, results)
    answered = [o["latency"] / 1e6 for o in outcomes if o["code"] == 200]
    shed = [o["latency"] / 1e6 for o in outcomes if o["code"] == 503]
    timed_out = [o for o in outcomes if o["code"] == 0 and "timeout" in (o.get("error") or "").lower()]
    other = [o for o in outcomes if o["code"] not in (200, 503) and o not in timed_out]
    total = len(outcomes)
    answered_p99 = percentile(answered, 99) if answered else float("inf")
    figures = [
        Figure("requests", total, "requests"),
        Figure("answered (200)", len(answered), "requests"),
        Figure("answered throughput", len(answered) / SECONDS, "req/s"),
        Figure("answered p50", percentile(answered, 50) if answered else float("inf"), "ms"),
        Figure("answered p99", answered_p99, "ms", "< 2000 (bounded)", answered_p99 < 2000),
        Figure("shed (503 overloaded)", len(shed) / total if total else 0, "share"),
        Figure("shed p99", percentile(shed, 99) if shed else 0, "ms"),
        Figure("timeouts", len(timed_out), "requests", "0", not timed_out),
        Figure("other failures", len(other), "requests", "0", not other),
    ]
    return Result(
        benchmark="overload_1000_connections",
        description=f"GET {PATH} through a gateway, {CONNECTIONS} connections closed-loop for {SECONDS} s "
        f"(vegeta, {TIMEOUT_SECONDS} s client timeout): answered latency, share shed, timeouts",
        figures=figures,
        comparison={
            "other_examples": other[:5],
            "codes": {
                str(code): sum(1 for o in outcomes if o["code"] == code) for code in {o["code"] for o in outcomes}
            },
        },
    )
