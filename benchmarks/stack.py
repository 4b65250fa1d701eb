"""What the benchmarks need from the running stack: tokens, extra service processes, timing."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def admin_token() -> str:
    response = httpx.post(
        f"{os.environ['LATHE_AUTH_URL']}/api/v1/auth/login",
        json={"username": os.environ["LATHE_ADMIN_USERNAME"], "password": os.environ["LATHE_ADMIN_PASSWORD"]},
    )
    response.raise_for_status()
    return response.json()["access_token"]


@contextlib.contextmanager
def extra_process(app: str, port: int, **settings: str) -> Iterator[str]:
    """Another process of ``app`` (e.g. ``lathe_production``) on ``port`` with settings overridden."""
    prefix = f"LATHE_{app.removeprefix('lathe_').upper()}_"
    env = os.environ | {f"{prefix}PORT": str(port), f"{prefix}LOG_LEVEL": "WARNING"}
    env |= {f"{prefix}{key.upper()}": value for key, value in settings.items()}
    proc = subprocess.Popen(
        [sys.executable, "-m", app, "serve"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit(f"benchmark process {app} on :{port} did not become ready")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]
