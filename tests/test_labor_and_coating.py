"""Labor entries and coating logs through the gateway (seed 000), and analytics' reports on them
through Kafka: entries and logs recorded, refused, listed; a LOT's coating status; labor
efficiency, coating status and traveler completion equal to numbers computed by hand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from lathe_common.testing import eventually

from .conftest import Accounts, Catalog, bearer

pytestmark = pytest.mark.e2e

THICKNESS_LIMITS = {"thickness_um": {"unit": "um", "lower_limit": 25.0, "upper_limit": 75.0}}


def ago(**delta: float) -> str:
    return (datetime.now(UTC) - timedelta(**delta)).isoformat()


@dataclass
class Line:
    """A test's own line: P1 (standard 60 s), P2 (standard 90 s, thickness 25-75 um), P3 (neither),
    a model routed through them, staff, and operator names no other test uses."""

    gateway: httpx.AsyncClient
    engineer: dict[str, str]
    operator: dict[str, str]
    processes: list[str] = field(default_factory=list)
    model: str = ""
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    @classmethod
    async def build(cls, gateway: httpx.AsyncClient, accounts: Accounts) -> Line:
        line = cls(gateway, bearer(await accounts.token_for("engineer")), bearer(await accounts.token_for("operator")))
        catalog = Catalog(gateway, line.engineer)
        line.processes = [
            await catalog.process(name="Prep"),
            await catalog.process(THICKNESS_LIMITS, name="Conformal coat"),
            await catalog.process(name="Pack"),
        ]
        for code, seconds in zip(line.processes[:2], ("60", "90"), strict=True):
            changed = await gateway.patch(
                f"/api/v1/processes/{code}", json={"standard_time_seconds": seconds}, headers=line.engineer
            )
            assert changed.status_code == 200, changed.text
        line.model = await catalog.model(line.processes, prefix="LC")
        return line

    def who(self, name: str) -> str:
        return f"{name}-{self.tag}"

    async def lot(self, n: int) -> tuple[dict, list[str]]:
        lot = await self.gateway.post(
            "/api/v1/lots", json={"model_code": self.model, "target_quantity": n}, headers=self.engineer
        )
        assert lot.status_code == 201, lot.text
        made = await self.gateway.post(
            f"/api/v1/lots/{lot.json()['id']}/serials", json={"count": n}, headers=self.engineer
        )
        assert made.status_code == 201, made.text
        return lot.json(), [s["serial_number"] for s in made.json()["items"]]

    async def labor(self, **body) -> httpx.Response:
        return await self.gateway.post("/api/v1/labor-entries", json=body, headers=self.operator)

    async def coat(self, lot: str, process: str, readings: list, **body) -> httpx.Response:
        log = {
            "lot": lot,
            "process_code": process,
            "coating_type": "acrylic",
            "material_lot": "AC-2291",
            "thickness_readings_um": readings,
            "cure_temperature_c": 65,
            "cure_minutes": "30.5",
            "inspector": self.who("ines"),
            "applied_at": ago(minutes=10),
        }
        return await self.gateway.post("/api/v1/coating-logs", json=log | body, headers=self.operator)

    async def step(self, serial: str, process: str, operator: str, cycle_seconds: float) -> None:
        done = datetime.now(UTC) - timedelta(minutes=5)
        body = {
            "serial_number": serial,
            "process_code": process,
            "operator": operator,
            "started_at": (done - timedelta(seconds=cycle_seconds)).isoformat(),
            "completed_at": done.isoformat(),
        }
        recorded = await self.gateway.post("/api/v1/process-data", json=body, headers=self.operator)
        assert recorded.status_code == 201, recorded.text


@pytest.fixture
async def line(gateway, accounts) -> Line:
    return await Line.build(gateway, accounts)


def entry(line: Line, **body) -> dict:
    return {
        "operator": line.who("ana"),
        "process_code": line.processes[0],
        "activity": "RUN",
        "started_at": ago(hours=2),
        "ended_at": ago(hours=1, minutes=30),
    } | body


async def test_standard_time_is_read_changed_and_cleared(line):
    code = line.processes[0]
    process = (await line.gateway.get(f"/api/v1/processes/{code}", headers=line.engineer)).json()
    assert process["standard_time_seconds"] == "60.000"
    for bad in (0, -5, "NaN", 1e300, "604800.001", "1.0001"):
        refused = await line.gateway.patch(
            f"/api/v1/processes/{code}", json={"standard_time_seconds": bad}, headers=line.engineer
        )
        assert refused.status_code == 422, (bad, refused.text)
    cleared = await line.gateway.patch(
        f"/api/v1/processes/{code}", json={"standard_time_seconds": None}, headers=line.engineer
    )
    assert cleared.json()["standard_time_seconds"] is None


async def test_labor_entries_recorded_listed_and_refused(line):
    lot, (unit, _) = await line.lot(2)
    on_lot = await line.labor(**entry(line, lot=lot["lot_number"], activity="SETUP"))
    assert on_lot.status_code == 201, on_lot.text
    assert on_lot.json() | {"id": None, "recorded_at": None, "started_at": None, "ended_at": None} == {
        "id": None,
        "operator": line.who("ana"),
        "lot_id": lot["id"],
        "lot_number": lot["lot_number"],
        "serial_id": None,
        "serial_number": None,
        "process_code": line.processes[0],
        "activity": "SETUP",
        "started_at": None,
        "ended_at": None,
        "duration_seconds": "1800.000",
        "recorded_by": on_lot.json()["recorded_by"],
        "recorded_at": None,
    }
    on_unit = await line.labor(**entry(line, serial_number=unit, operator=line.who("bo"), started_at=ago(hours=3)))
    assert on_unit.status_code == 201, on_unit.text
    assert (on_unit.json()["lot_id"], on_unit.json()["serial_number"]) == (lot["id"], unit)

    async def listed(**params) -> list[str]:
        found = await line.gateway.get("/api/v1/labor-entries", params=params, headers=line.operator)
        assert found.status_code == 200, found.text
        return [item["id"] for item in found.json()["items"]]

    both = [on_lot.json()["id"], on_unit.json()["id"]]  # newest start first
    assert await listed(lot=lot["id"]) == both
    assert await listed(lot=lot["lot_number"], limit=1) == both[:1]
    assert await listed(serial_number=unit) == both[1:]
    assert await listed(operator=line.who("bo")) == both[1:]
    assert await listed(process_code=line.processes[0], lot=lot["id"], **{"from": ago(hours=2, minutes=30)}) == both[:1]
    assert await listed(lot=lot["id"], to=ago(hours=2, minutes=30)) == both[1:]
    page = await line.gateway.get("/api/v1/labor-entries", params={"lot": lot["id"], "limit": 1}, headers=line.operator)
    rest = await line.gateway.get(
        "/api/v1/labor-entries", params={"lot": lot["id"], "cursor": page.json()["next"]}, headers=line.operator
    )
    assert [i["id"] for i in rest.json()["items"]] == both[1:] and rest.json()["next"] is None

    refusals = [
        (entry(line, lot=lot["id"], ended_at=ago(hours=2, minutes=1)), 422, "ended_before_started"),
        (entry(line, lot=lot["id"], started_at=ago(hours=30), ended_at=ago(hours=5)), 422, "labor_entry_too_long"),
        (entry(line, lot=lot["id"], ended_at=ago(minutes=-30)), 422, "labor_in_future"),
        (entry(line, lot=f"NO-SUCH-{uuid.uuid4().hex[:6]}"), 404, "lot_not_found"),
        (entry(line, lot=str(uuid.uuid4())), 404, "lot_not_found"),
        (entry(line, serial_number=f"NO-SUCH-{uuid.uuid4().hex[:6]}"), 404, "serial_not_found"),
        (entry(line, lot=lot["id"], process_code="NO_SUCH_PROCESS"), 404, "process_not_found"),
        (entry(line, lot=lot["id"], serial_number=unit), 422, "validation_error"),
        (entry(line), 422, "validation_error"),
        (entry(line, lot=lot["id"], activity="LUNCH"), 422, "validation_error"),
        (entry(line, lot=lot["id"], started_at="2026-03-02T08:00:00"), 422, "validation_error"),
        (entry(line, lot=lot["id"], started_at=1_700_000_000), 422, "validation_error"),
        (entry(line, lot=lot["id"], operator="ana\u0000"), 422, "invalid_value"),
        (entry(line, lot=lot["id"], operator="x" * 65), 422, "validation_error"),
    ]
    for body, status, code in refusals:
        refused = await line.labor(**body)
        assert (refused.status_code, refused.json()["code"]) == (status, code), (body, refused.text)
    assert await listed(lot=lot["id"]) == both
    unknown = await line.gateway.get("/api/v1/labor-entries", params={"lot": "NO-SUCH"}, headers=line.operator)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "lot_not_found")
    engineer_only = await line.gateway.get("/api/v1/labor-entries", headers={})
    assert engineer_only.status_code == 401


async def test_coating_logs_judged_and_a_lots_status(line):
    lot, _ = await line.lot(1)
    _, coat, pack = line.processes

    async def status() -> dict:
        answer = await line.gateway.get(f"/api/v1/lots/{lot['lot_number']}/coating-status", headers=line.operator)
        assert answer.status_code == 200, answer.text
        return answer.json()

    assert (await status()) | {"lot_id": None} == {
        "lot_id": None,
        "lot_number": lot["lot_number"],
        "status": "NOT_COATED",
        "processes": [],
        "logs_total": 0,
        "logs": [],
    }
    # The process's limits (25-75 um) judge: on a limit passes.
    passed = await line.coat(lot["id"], coat, [25, 50.5, 75])
    assert passed.status_code == 201, passed.text
    assert {k: passed.json()[k] for k in ("result", "limits_source", "thickness_lower_um", "thickness_upper_um")} == {
        "result": "PASS",
        "limits_source": "process",
        "thickness_lower_um": 25.0,
        "thickness_upper_um": 75.0,
    }
    assert passed.json()["cure_minutes"] == "30.50" and passed.json()["violations"] == []
    assert (await status())["status"] == "COATED"
    # A process without limits takes the log's: 24.9 is below them, and fails the LOT.
    failed = await line.coat(lot["id"], pack, [30, 24.9], thickness_lower_um=25, thickness_upper_um=75)
    assert failed.status_code == 201, failed.text
    assert failed.json()["result"] == "FAIL" and failed.json()["limits_source"] == "log"
    assert failed.json()["violations"] == [
        {"measurement": "thickness_um", "value": 24.9, "limit": "lower_limit", "limit_value": 25.0, "unit": "um"}
    ]
    now = await status()
    assert now["status"] == "FAILED" and now["logs_total"] == 2
    assert [(p["process_code"], p["result"]) for p in now["processes"]] == sorted([(coat, "PASS"), (pack, "FAIL")])
    # Redone later and passed: coated again.
    redone = await line.coat(lot["id"], pack, [40], thickness_upper_um=75, applied_at=ago(minutes=1))
    assert redone.json()["result"] == "PASS"
    now = await status()
    assert now["status"] == "COATED"
    assert [log["id"] for log in now["logs"]] == [redone.json()["id"], failed.json()["id"], passed.json()["id"]]
    listed = await line.gateway.get("/api/v1/coating-logs", params={"lot": lot["lot_number"]}, headers=line.operator)
    assert [log["id"] for log in listed.json()["items"]] == [log["id"] for log in now["logs"]]

    refusals = [
        ({"lot": "NO-SUCH-LOT"}, 404, "lot_not_found"),
        ({"process_code": "NO_SUCH_PROCESS"}, 404, "process_not_found"),
        ({"thickness_lower_um": 20}, 422, "thickness_limits_from_process"),
        ({"process_code": pack}, 422, "thickness_limits_missing"),
        ({"applied_at": ago(minutes=-30)}, 422, "applied_in_future"),
        ({"thickness_readings_um": []}, 422, "validation_error"),
        ({"thickness_readings_um": [-1]}, 422, "validation_error"),
        ({"thickness_readings_um": [10_000.5]}, 422, "validation_error"),
        ({"thickness_readings_um": [1e308]}, 422, "invalid_value"),
        ({"thickness_readings_um": ["NaN"]}, 422, "validation_error"),
        ({"cure_minutes": 0}, 422, "validation_error"),
        ({"cure_temperature_c": "1e9"}, 422, "validation_error"),
        ({"process_code": pack, "thickness_lower_um": 80, "thickness_upper_um": 20}, 422, "validation_error"),
        ({"material_lot": "AC\u00002291"}, 422, "invalid_value"),
        ({"applied_at": "2026-03-02T08:00:00"}, 422, "validation_error"),
    ]
    for body, status_code, code in refusals:
        log = {"lot": lot["id"], "process_code": coat, "thickness_readings_um": [50]} | body
        refused = await line.coat(log.pop("lot"), log.pop("process_code"), log.pop("thickness_readings_um"), **log)
        assert (refused.status_code, refused.json()["code"]) == (status_code, code), (body, refused.text)
    assert (await status())["logs_total"] == 3
    unknown = await line.gateway.get("/api/v1/lots/NO-SUCH-LOT/coating-status", headers=line.operator)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "lot_not_found")


def _row(rows: list[dict], **match) -> dict | None:
    return next((row for row in rows if all(row[k] == v for k, v in match.items())), None)


def _figures(row: dict | None) -> tuple | None:
    if row is None:
        return None
    names = ("units", "units_without_standard", "standard_minutes", "actual_minutes", "step_minutes")
    return tuple(row[name] for name in (*names, "efficiency_percent", "step_efficiency_percent"))


async def test_the_reports_equal_numbers_computed_by_hand(line, gateway):
    """Units: u1 goes P1, P2, P3; u2 P1, P2; u3 P1. Ana runs P1 (cycles 50 s) and P3 (30 s), Bo P2
    (100 s). Labor: Ana 180 s + 60 s on P1, Bo 200 s + 160 s on P2. Standard: P1 60 s, P2 90 s."""
    p1, p2, p3 = line.processes
    ana, bo = line.who("ana"), line.who("bo")
    lot, (u1, u2, u3) = await line.lot(3)
    for unit, process, who, cycle in (
        (u1, p1, ana, 50),
        (u2, p1, ana, 50),
        (u3, p1, ana, 50),
        (u1, p2, bo, 100),
        (u2, p2, bo, 100),
        (u1, p3, ana, 30),
    ):
        await line.step(unit, process, who, cycle)
    for who, subject, process, seconds in (
        (ana, {"lot": lot["id"]}, p1, 180),
        (ana, {"serial_number": u1}, p1, 60),
        (bo, {"serial_number": u1}, p2, 200),
        (bo, {"lot": lot["lot_number"]}, p2, 160),
    ):
        started = datetime.now(UTC) - timedelta(minutes=40)
        body = entry(line, operator=who, process_code=process, **subject)
        body |= {"started_at": started.isoformat(), "ended_at": (started + timedelta(seconds=seconds)).isoformat()}
        assert (await line.labor(**body)).status_code == 201
    assert (await line.coat(lot["id"], p2, [30, 40, 50], applied_at=ago(minutes=20))).status_code == 201
    failed = await line.coat(lot["id"], p3, [15, 25], thickness_lower_um=10, thickness_upper_um=20)
    assert failed.json()["result"] == "FAIL"
    reader = line.engineer

    async def report(group_by: str) -> list[dict]:
        answer = await gateway.get(
            "/api/v1/analytics/labor-efficiency", params={"group_by": group_by, "days": 2}, headers=reader
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["rows"]

    by_process = {
        p1: (3, 0, "3.00", "4.00", "2.50", "75.0", "120.0"),
        p2: (2, 0, "3.00", "6.00", "3.33", "50.0", "90.0"),
        p3: (1, 1, None, "0.00", "0.50", None, None),
    }
    by_operator = {
        ana: (4, 1, "3.00", "4.00", "3.00", "75.0", "100.0"),
        bo: (2, 0, "3.00", "6.00", "3.33", "50.0", "90.0"),
    }
    by_lot = {lot["lot_number"]: (6, 1, "6.00", "10.00", "6.33", "60.0", "94.7")}

    seen: list[dict] = []

    async def every_figure() -> bool:
        found = {}
        for group_by, expected in (("process", by_process), ("operator", by_operator), ("lot", by_lot)):
            rows = await report(group_by)
            found |= {key: _figures(_row(rows, key=key)) for key in expected}
        seen.append(found)
        return found == by_process | by_operator | by_lot

    try:
        await eventually(every_figure, timeout=120)  # a busy stack: the read model may be behind
    except AssertionError:
        assert seen[-1] == by_process | by_operator | by_lot
    ana_row = _row(await report("operator"), key=ana)
    assert ana_row["processes"] == sorted([p1, p3]) and ana_row["lot_id"] is None
    assert _row(await report("lot"), key=lot["lot_number"])["lot_id"] == lot["id"]
    csv = await gateway.get(
        "/api/v1/analytics/labor-efficiency", params={"group_by": "process", "format": "csv"}, headers=reader
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("key,lot_id,units,units_without_standard,standard_minutes")
    assert f"{p1},,3,0,3.00,4.00,2.50,75.0,120.0,{p1}" in csv.text.splitlines()

    async def coated() -> dict | None:
        answer = await gateway.get("/api/v1/analytics/coating-status", params={"days": 1}, headers=reader)
        assert answer.status_code == 200, answer.text
        return _row(answer.json()["lots"], lot_id=lot["id"])

    row = await eventually(coated, timeout=60)
    assert {
        k: row[k] for k in ("status", "logs", "last_process_code", "last_result", "last_thickness_readings_um")
    } == {
        "status": "FAILED",
        "logs": 2,
        "last_process_code": p3,
        "last_result": "FAIL",
        "last_thickness_readings_um": [15.0, 25.0],
    }
    assert (row["last_thickness_lower_um"], row["last_thickness_upper_um"]) == (10.0, 20.0)
    assert sorted((p["process_code"], p["logs"], p["result"]) for p in row["processes"]) == sorted(
        [(p2, 1, "PASS"), (p3, 1, "FAIL")]
    )

    async def traveler() -> dict | None:
        answer = await gateway.get("/api/v1/analytics/traveler-completion", headers=reader)
        assert answer.status_code == 200, answer.text
        found = _row(answer.json()["lots"], lot_id=lot["id"])
        return found if found and found["steps_done"] == 6 else None

    row = await eventually(traveler, timeout=60)
    assert {k: row[k] for k in row if k != "lot_id"} == {
        "lot_number": lot["lot_number"],
        "model_code": line.model,
        "status": "IN_PROGRESS",
        "target_quantity": 3,
        "units": 3,
        "units_finished": 1,
        "routing_steps": 3,
        "steps_done": 6,
        "steps_total": 9,
        "completion_percent": "66.7",
    }
    for path in ("labor-efficiency", "coating-status", "traveler-completion"):
        assert (await gateway.get(f"/api/v1/analytics/{path}", headers=line.operator)).status_code == 403
    refused = await gateway.get("/api/v1/analytics/labor-efficiency", params={"group_by": "shift"}, headers=reader)
    assert refused.status_code == 422
