"""What the benchmarks need from the running stack: tokens, extra service processes, timing."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
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


async def copy_units(
    conn,  # noqa: ANN001 - an asyncpg connection
    *,
    model_code: str,
    model_name: str,
    lot_numbers: list[str],
    units_per_lot: int,
    serial_numbers: list[str],
    lot_status: str,
) -> tuple[uuid.UUID, list[uuid.UUID], list[uuid.UUID]]:
    """A product model, full LOTs and their serials written with COPY (seconds for a million rows)."""
    model_id, now, today = uuid.uuid4(), datetime.now(UTC), date.today()
    await conn.execute(
        "INSERT INTO production.product_models (id, model_code, model_name) VALUES ($1, $2, $3)",
        model_id,
        model_code,
        model_name,
    )
    lots = [uuid.uuid4() for _ in lot_numbers]
    await conn.copy_records_to_table(
        "lots",
        schema_name="production",
        columns=[
            "id",
            "lot_number",
            "product_model_id",
            "model_code",
            "target_quantity",
            "serial_count",
            "shift",
            "production_date",
            "status",
            "created_at",
            "updated_at",
        ],
        records=[
            (lot, number, model_id, model_code, units_per_lot, units_per_lot, "DAY", today, lot_status, now, now)
            for lot, number in zip(lots, lot_numbers, strict=True)
        ],
    )
    serials = [uuid.uuid4() for _ in serial_numbers]
    await conn.copy_records_to_table(
        "serials",
        schema_name="production",
        columns=[
            "id",
            "serial_number",
            "lot_id",
            "sequence_in_lot",
            "status",
            "current_step",
            "rework_count",
            "created_at",
            "updated_at",
        ],
        records=(
            (serials[n], s, lots[n // units_per_lot], n % units_per_lot + 1, "CREATED", 0, 0, now, now)
            for n, s in enumerate(serial_numbers)
        ),
    )
    return model_id, lots, serials


@contextlib.contextmanager
def bench_gateway(port: int, **settings: str) -> Iterator[str]:
    """A gateway process of the benchmark's own: its rate limits out of the way (the figures include
    every check it makes, without measuring 429s), its counters in a Redis database of their own so
    the load never fills the real gateway's buckets for the same user. ``settings``: more of its
    settings (e.g. ``orders_url`` for a service process of the benchmark's own)."""
    redis_url = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/15"
    unlimited = str(10**9)
    with extra_process(
        "lathe_gateway",
        port,
        redis_url=redis_url,
        rate_limit_per_minute=unlimited,
        anonymous_rate_limit_per_minute=unlimited,
        login_rate_limit_per_minute=unlimited,
        **settings,
    ) as url:
        yield url
