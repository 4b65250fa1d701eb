"""The floor analytics through the gateway: steps recorded in production reach every
/api/v1/analytics endpoint (through Kafka and the floor read model) with the numbers they imply,
as JSON and CSV; hostile query parameters are refused with their codes.

The test's processes, model, LOT, operator and defect codes are its own (unique names), so its
assertions hold while other tests write to the same stack; global totals are only checked to
include what the test did.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from lathe_common.testing import eventually

from .conftest import OFFSET_LIMITS, Catalog, bearer
from .quality_kit import QualityLine

pytestmark = pytest.mark.e2e

A = "/api/v1/analytics"


@pytest.fixture(scope="module")
async def staff(accounts) -> dict[str, dict[str, str]]:
    return {role: bearer(await accounts.token_for(role)) for role in ("engineer", "operator", "viewer")}


class Floor:
    """A two-step line of the test's own: marking (no limits), then inspection (offset within ±5 mV)."""

    def __init__(self, gateway, staff) -> None:
        self.gateway, self.staff = gateway, staff
        self.tag = uuid.uuid4().hex[:6].upper()
        self.operator = f"op-{self.tag.lower()}"
        self.scratch, self.bridge = f"SCRATCH_{self.tag}", f"BRIDGE_{self.tag}"
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)

    async def build(self) -> None:
        catalog = Catalog(self.gateway, self.staff["engineer"])
        self.marking = await catalog.process(name="Marking")
        self.inspection = await catalog.process(OFFSET_LIMITS, name="Inspection")
        self.model = await catalog.model([self.marking, self.inspection], prefix="FLOOR")
        self.lot = (
            await self.gateway.post(
                "/api/v1/lots", json={"model_code": self.model, "target_quantity": 4}, headers=self.staff["engineer"]
            )
        ).json()
        made = await self.gateway.post(
            f"/api/v1/lots/{self.lot['id']}/serials", json={"count": 4}, headers=self.staff["engineer"]
        )
        self.units = [s["serial_number"] for s in made.json()["items"]]

    async def step(self, unit: str, process: str, cycle: float, **body) -> dict:
        self.now += timedelta(seconds=cycle + 1)
        answer = await self.gateway.post(
            "/api/v1/process-data",
            json={
                "serial_number": unit,
                "process_code": process,
                "operator": self.operator,
                "equipment_id": "EQ-F",
                "started_at": (self.now - timedelta(seconds=cycle)).isoformat(),
                "completed_at": self.now.isoformat(),
                **body,
            },
            headers=self.staff["operator"],
        )
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def run(self) -> None:
        """Unit 1 passes both steps; unit 2 is reworked at marking, then fails inspection; unit 3
        passes marking and waits at inspection; unit 4 never starts."""
        u1, u2, u3, _ = self.units
        await self.step(u1, self.marking, 40, result="PASS")
        await self.step(u1, self.inspection, 20, measurements={"offset_mv": 1.0})
        await self.step(u2, self.marking, 50, result="REWORK", defects=[self.scratch])
        await self.step(u2, self.marking, 45, result="PASS")
        failed = await self.step(u2, self.inspection, 22, measurements={"offset_mv": 7.5}, defects=[self.bridge])
        assert failed["result"] == "FAIL" and failed["serial_status"] == "FAILED"
        await self.step(u3, self.marking, 42, result="PASS")


@pytest.fixture(scope="module")
async def floor(gateway_url, staff) -> AsyncIterator[Floor]:
    """One line for the module: its steps are recorded once, read by each test."""
    async with httpx.AsyncClient(base_url=gateway_url, timeout=10) as client:
        line = Floor(client, staff)
        await line.build()
        await line.run()
        yield line


async def _get(gateway, headers, path: str, **params) -> dict:
    answer = await gateway.get(f"{A}/{path}", params=params, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_steps_reach_every_floor_endpoint_with_their_numbers(gateway, staff, floor):
    viewer = staff["viewer"]

    async def performance() -> dict | None:
        rows = {p["process_code"]: p for p in (await _get(gateway, viewer, "process-performance"))["processes"]}
        mine = rows.get(floor.marking), rows.get(floor.inspection)
        return rows if all(mine) and (mine[0]["total_executions"], mine[1]["total_executions"]) == (4, 2) else None

    rows = await eventually(performance, timeout=30)
    marking, inspection = rows[floor.marking], rows[floor.inspection]
    assert (marking["success_count"], marking["failure_count"], marking["rework_count"]) == (3, 0, 1)
    assert marking["success_rate"] == 75.0 and marking["process_name"] == "Marking"
    assert marking["avg_cycle_time_seconds"] == 44.25  # (40 + 50 + 45 + 42) / 4
    assert marking["first_pass_yield"] == 66.67  # units 1 and 3 of 1, 2, 3 passed at the first attempt
    assert abs(marking["cycle_time_p50_seconds"] - 42) <= 0.42  # the 2nd of four, within 1 %
    assert abs(marking["cycle_time_p95_seconds"] - 50) <= 0.5
    assert (inspection["success_count"], inspection["failure_count"], inspection["first_pass_yield"]) == (1, 1, 50.0)

    quality = await _get(gateway, viewer, "quality-metrics", days=7)
    defects = {d["defect_code"]: d["occurrences"] for d in quality["defects_pareto"]}
    assert (defects.get(floor.scratch), defects.get(floor.bridge)) == (1, 1)
    model = next(m for m in quality["by_model"] if m["model_code"] == floor.model)
    assert [s["process_code"] for s in model["steps"]] == [floor.marking, floor.inspection]
    assert model["rolled_throughput_yield"] == 33.33  # 2/3 x 1/2
    assert model["first_pass_yield"] == 60.0  # 3 first passes of 5 first attempts
    by_process = {p["process_code"]: p for p in quality["by_process"]}
    assert by_process[floor.marking]["rework_rate"] == 25.0 and by_process[floor.inspection]["defect_rate"] == 50.0
    assert by_process[floor.marking]["defects"] == 1
    assert len(quality["daily_trend"]) == 7 and quality["rates"]["total_executions"] >= 6

    operators = {o["operator"]: o for o in (await _get(gateway, viewer, "operator-performance", days=1))["operators"]}
    mine = operators[floor.operator]
    assert (mine["executions"], mine["units"], mine["passes"], mine["failures"], mine["reworks"]) == (6, 5, 4, 1, 1)
    assert mine["pass_rate"] == 66.67 and mine["avg_cycle_time_seconds"] == 36.5

    stats = await _get(gateway, viewer, "production-stats", group_by="model")
    bucket = next(b for b in stats["buckets"] if b["model_code"] == floor.model)
    assert (bucket["lots_created"], bucket["lots_started"], bucket["units_created"], bucket["units_started"]) == (
        1,
        1,
        4,
        3,
    )
    # Unit 2's failure awaits its disposition: counted as a failure, not as finished.
    assert (bucket["units_passed"], bucket["units_failed"], bucket["units_completed"]) == (1, 1, 1)
    by_shift = await _get(gateway, viewer, "production-stats", group_by="shift")
    assert len(by_shift["buckets"]) == 14 and {b["shift"] for b in by_shift["buckets"]} == {"DAY", "NIGHT"}

    realtime = await _get(gateway, viewer, "realtime-status", limit=500)
    wip = {w["process_code"]: w["units"] for w in realtime["wip_by_process"]}
    assert (wip.get(floor.marking), wip.get(floor.inspection)) == (1, 1)  # unit 4 waits at marking, 3 at inspection
    lot = next(x for x in realtime["active_lots"] if x["lot_id"] == floor.lot["id"])
    assert (lot["status"], lot["units"], lot["units_finished"], lot["progress_percent"]) == ("IN_PROGRESS", 4, 1, 25.0)
    assert realtime["throughput_last_hour"]["executions"] >= 6 and realtime["active_lot_count"] >= 1
    assert isinstance(realtime["alerts"], list)

    dashboard = await _get(gateway, viewer, "dashboard")
    assert set(dashboard) >= {"lot_statistics", "serial_statistics", "quality_metrics", "process_performance"}
    assert dashboard["process_performance"]["total_executions"] >= 6
    assert dashboard["lot_statistics"]["active_lots"] >= 1 and dashboard["serial_statistics"]["total_serials"] >= 4


async def test_dispositions_finish_failed_units_once_in_the_floor_figures(gateway, accounts, staff):
    """A unit failed at inspection and scrapped by its disposition counts as scrapped; one failed at
    the routing's last step and used as is counts as passed; each failure stays counted as one."""
    line = await QualityLine.build(gateway, accounts)
    viewer = staff["viewer"]
    _, (scrapped, used) = await line.lot(2)
    await line.fail_inspection(scrapped)
    for process in line.processes[:2]:
        assert (await line.step(used, process)).status_code == 201
    assert (await line.step(used, line.packing, result="FAIL")).json()["serial_status"] == "FAILED"

    async def model_output(**wanted: int) -> dict | None:
        stats = await _get(gateway, viewer, "production-stats", group_by="model")
        bucket = next((b for b in stats["buckets"] if b["model_code"] == line.model), None)
        return bucket if bucket and all(bucket[k] == n for k, n in wanted.items()) else None

    failed = await eventually(lambda: model_output(units_failed=2), timeout=30)
    assert (failed["units_passed"], failed["units_scrapped"], failed["units_completed"]) == (0, 0, 0)
    before = (await _get(gateway, viewer, "dashboard"))["serial_statistics"]

    scrap = await line.dispose((await line.open_ncr(scrapped))["id"], "SCRAP", meaning="rejected")
    assert scrap.status_code == 200, scrap.text
    use = await line.dispose((await line.open_ncr(used))["id"], "USE_AS_IS", reason="cosmetic only")
    assert use.status_code == 200 and use.json()["unit_status"] == "PASSED", use.text

    done = await eventually(lambda: model_output(units_scrapped=1, units_passed=1), timeout=30)
    assert (done["units_started"], done["units_failed"], done["units_completed"]) == (2, 2, 2)
    # The same batch moved the counts by status (other tests only ever add to these two).
    after = (await _get(gateway, viewer, "dashboard"))["serial_statistics"]
    assert after["scrapped"] >= before["scrapped"] + 1 and after["passed"] >= before["passed"] + 1
    days = await _get(gateway, viewer, "production-stats", group_by="day")
    assert days["totals"]["units_completed"] == days["totals"]["units_passed"] + days["totals"]["units_scrapped"]


async def test_every_list_comes_as_csv(gateway, staff, floor):
    viewer = staff["viewer"]

    async def exported() -> list[dict[str, str]] | None:
        answer = await gateway.get(f"{A}/process-performance", params={"format": "csv"}, headers=viewer)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
        rows = [r for r in _rows(answer.text) if r["process_code"] == floor.inspection]
        return rows if rows and rows[0]["total_executions"] == "2" else None

    (row,) = await eventually(exported, timeout=30)
    assert row["first_pass_yield"] == "50.0"
    lists = {
        "production-stats": ({"group_by": "model"}, "model_code", floor.model),
        "operator-performance": ({"days": 1}, "operator", floor.operator),
        "quality-metrics": ({"list": "by_model"}, "model_code", floor.model),
        "realtime-status": ({"list": "wip_by_process"}, "process_code", floor.inspection),
    }
    for path, (params, column, value) in lists.items():
        answer = await gateway.get(f"{A}/{path}", params={**params, "format": "csv"}, headers=viewer)
        assert answer.status_code == 200, (path, answer.text)
        assert any(r[column] == value for r in _rows(answer.text)), path
    pareto = await gateway.get(f"{A}/quality-metrics", params={"format": "csv"}, headers=viewer)
    assert {floor.scratch, floor.bridge} <= {r["defect_code"] for r in _rows(pareto.text)}
    model_rows = _rows(
        (await gateway.get(f"{A}/quality-metrics", params={"format": "csv", "list": "by_model"}, headers=viewer)).text
    )
    assert "steps" not in model_rows[0]  # rows within rows stay in the JSON answer


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("production-stats", {"date_from": "2026-01-10", "date_to": "2026-01-01"}, "invalid_date_range"),
        ("production-stats", {"date_from": "2020-01-01", "date_to": "2026-01-01"}, "date_range_too_long"),
        ("production-stats", {"group_by": "week"}, "validation_error"),
        ("production-stats", {"date_from": "0"}, "validation_error"),
        ("production-stats", {"date_to": "tomorrow"}, "validation_error"),
        ("production-stats", {"format": "xml"}, "validation_error"),
        ("quality-metrics", {"days": "0"}, "validation_error"),
        ("quality-metrics", {"days": "-1"}, "validation_error"),
        ("quality-metrics", {"days": "100000000000000000000"}, "validation_error"),
        ("quality-metrics", {"days": "seven"}, "validation_error"),
        ("quality-metrics", {"format": "csv", "list": "everything"}, "validation_error"),
        ("operator-performance", {"days": "0"}, "validation_error"),
        ("operator-performance", {"days": "367"}, "validation_error"),
        ("process-performance", {"days": "-5"}, "validation_error"),
        ("realtime-status", {"limit": "0"}, "validation_error"),
        ("realtime-status", {"limit": "501"}, "validation_error"),
        ("realtime-status", {"executions": "1e3"}, "validation_error"),
    ],
)
async def test_hostile_query_parameters_are_refused_with_their_codes(gateway, staff, path, params, code):
    answer = await gateway.get(f"{A}/{path}", params=params, headers=staff["viewer"])
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == code


async def test_operators_do_not_see_analytics(gateway, staff):
    answer = await gateway.get(f"{A}/dashboard", headers=staff["operator"])
    assert answer.status_code == 403 and answer.json()["code"] == "insufficient_scope"
