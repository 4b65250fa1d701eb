"""Every service's `python -m lathe_<svc> outbox parked|republish ID`, run as an operator would."""

from __future__ import annotations

import asyncio
import sys

import pytest

pytestmark = pytest.mark.e2e


async def run(*argv: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("service", ["auth", "production", "orders", "analytics"])
async def test_each_service_lists_its_parked_outbox_rows(service):
    code, out, err = await run("-m", f"lathe_{service}", "outbox", "parked")
    assert code == 0, err
    assert out.splitlines()[0].split("\t") == ["id", "topic", "event_type", "created_at", "attempts", "reason"]


async def test_republishing_a_row_that_is_not_parked_says_so_and_fails():
    code, out, err = await run("-m", "lathe_orders", "outbox", "republish", "999999999999")
    assert code == 1 and out == ""
    assert "outbox row 999999999999 is not parked" in err
