"""SPC through the gateway and Kafka: steps recorded in production become points of an individuals
chart in analytics, its Cpk is the pure module's for the same values, nine points on one side are
announced once on lathe.analytics.spc-alerts.v1 and listed with the chart; hostile measurements
and windows never break it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from lathe_analytics.spc.analysis import analyse
from lathe_analytics.spc.statistics import SpecLimits
from lathe_common.kafka import create_producer
from lathe_common.testing import eventually
from lathe_contracts.analytics import SPC_ALERTS_TOPIC
from lathe_contracts.production import PROCESS_DATA_TOPIC, StepRecordedEvent

from .conftest import Catalog, bearer, env

pytestmark = pytest.mark.e2e

SPEC = {"width_mm": {"unit": "mm", "lower_limit": 9.0, "upper_limit": 11.0, "target": 10.0}}
# In control for 16 points (no Nelson rule among them; the last is low, so no run reaches back into
# them), then nine high ones: whatever the batches, rule 2 is exactly those nine.
BASELINE = [9.98, 10.03, 9.97, 10.01, 10.04, 9.96, 9.99, 10.02, 9.97, 10.03, 10.0, 9.95, 10.02, 9.98, 10.01, 9.9]
SHIFTED = [10.5, 10.52, 10.49, 10.51, 10.53, 10.48, 10.5, 10.52, 10.51]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)  # recent enough to alert


@pytest.fixture
async def staff(accounts) -> dict[str, dict[str, str]]:
    return {role: bearer(await accounts.token_for(role)) for role in ("engineer", "operator", "viewer")}


async def record(gateway, headers, serial: str, process: str, n: int, measurements: dict):
    response = await gateway.post(
        "/api/v1/process-data",
        json={
            "serial_number": serial,
            "process_code": process,
            "operator": "kim",
            "result": "PASS",
            "measurements": measurements,
            "completed_at": (T0 + timedelta(minutes=n)).isoformat(),
        },
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def alerts_on_topic(kafka: str, process: str, *, settle: float) -> list[dict]:
    """Every alert event of ``process`` on the topic, after it has been quiet for ``settle`` seconds
    since the first one arrived (or 30 s without any)."""
    consumer = AIOKafkaConsumer(
        SPC_ALERTS_TOPIC, bootstrap_servers=kafka, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    found: list[dict] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while loop.time() < deadline:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for r in records:
                    if r.key == process.encode():
                        headers = {k: v.decode() for k, v in r.headers}
                        found.append({"type": headers["ce_type"], **json.loads(r.value)})
            if found and any(a["rule"] == 2 for a in found):
                deadline = min(deadline, loop.time() + settle)
    finally:
        await consumer.stop()
    return found


async def test_a_chart_from_production_steps_with_capability_rules_and_one_alert(gateway, staff, kafka):
    engineer, operator, viewer = staff["engineer"], staff["operator"], staff["viewer"]
    catalog = Catalog(gateway, engineer)
    process = await catalog.process(SPEC, name="Width check")
    model = await catalog.model([process], prefix="SPC")
    lot = (
        await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": 25}, headers=engineer)
    ).json()
    made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 25}, headers=engineer)
    serials = [s["serial_number"] for s in made.json()["items"]]
    chart_url = f"/api/v1/analytics/spc/{process}/width_mm"

    # The baseline, with measurements that are no numbers beside the one with limits.
    for n, value in enumerate(BASELINE):
        hostile = {"note": "looks fine", "flag": True, "nested": {"a": 1}, "items": [1, 2]}
        await record(gateway, operator, serials[n], process, n, {"width_mm": value, **hostile})

    async def chart_of(count: int) -> dict | None:
        response = await gateway.get(chart_url, headers=viewer)
        return response.json() if response.status_code == 200 and response.json()["statistics"]["n"] == count else None

    chart = await eventually(lambda: chart_of(16), timeout=30)
    expected = analyse(BASELINE, SpecLimits(lower=9.0, upper=11.0, target=10.0))
    assert chart["capability"]["cpk"] == pytest.approx(expected.capability.cpk)
    assert chart["capability"]["ppk"] == pytest.approx(expected.capability.ppk)
    assert chart["capability"]["cp"] == pytest.approx(expected.capability.cp)
    assert chart["statistics"]["mean"] == pytest.approx(expected.summary.mean)
    assert chart["control_limits"]["individuals"]["upper"] == pytest.approx(expected.limits.upper)
    assert chart["spec_limits"] == {"lower_limit": 9.0, "upper_limit": 11.0, "target": 10.0, "unit": "mm"}
    assert [p["value"] for p in chart["points"]] == BASELINE and chart["points"][0]["moving_range"] is None
    assert [p["serial_number"] for p in chart["points"]] == serials[:16]
    assert chart["violations"] == [] and chart["alerts"] == []
    # Text, booleans and objects are no points: there is no chart of them.
    for name in ("note", "flag", "nested"):
        missing = await gateway.get(f"/api/v1/analytics/spc/{process}/{name}", headers=viewer)
        assert missing.status_code == 404 and missing.json()["code"] == "measurement_not_found"

    # A record on production's topic whose body holds NaN: dead-lettered, the chart goes on.
    producer = create_producer(kafka, client_id="lathe-tests-spc")
    await producer.start()
    try:
        await producer.send_and_wait(
            PROCESS_DATA_TOPIC,
            key=str(uuid.uuid4()).encode(),
            value=b'{"process_code": "' + process.encode() + b'", "measurements": {"width_mm": NaN}}',
            headers=[
                ("ce_id", str(uuid.uuid4()).encode()),
                ("ce_source", b"lathe/tests"),
                ("ce_type", StepRecordedEvent.event_type.encode()),
                ("ce_time", datetime.now(UTC).isoformat().encode()),
                ("ce_subject", b"hostile"),
                ("ce_specversion", b"1.0"),
            ],
        )
    finally:
        await producer.stop()

    for n, value in enumerate(SHIFTED, start=16):
        await record(gateway, operator, serials[n], process, n, {"width_mm": value})
    chart = await eventually(lambda: chart_of(25), timeout=30)
    values = BASELINE + SHIFTED
    expected = analyse(values, SpecLimits(lower=9.0, upper=11.0, target=10.0))
    assert chart["capability"]["cpk"] == pytest.approx(expected.capability.cpk)
    assert chart["capability"]["ppk"] == pytest.approx(expected.capability.ppk)
    nine = [v for v in chart["violations"] if v["rule"] == 2 and v["indices"][0] == 16]
    assert nine == [
        {
            "rule": 2,
            "rule_code": "nine_on_one_side",
            "description": "nine or more points in a row on the same side of the centre line",
            "indices": list(range(16, 25)),
        }
    ]

    # Announced once, on the topic and with the chart.
    async def announced() -> list[dict]:
        return [a for a in (await gateway.get(chart_url, headers=viewer)).json()["alerts"] if a["rule"] == 2]

    (listed,) = await eventually(announced, timeout=30)
    assert [p["serial_number"] for p in listed["points"]] == serials[16:25]
    assert [p["value"] for p in listed["points"]] == SHIFTED
    events = await alerts_on_topic(kafka, process, settle=3)
    rule_2 = [e for e in events if e["rule"] == 2]
    assert len(rule_2) == 1 and rule_2[0]["id"] == listed["id"]
    assert rule_2[0]["type"] == "lathe.analytics.spc-alert.v1"
    assert rule_2[0]["measurement"] == "width_mm" and rule_2[0]["process_code"] == process
    assert [p["step_id"] for p in rule_2[0]["points"]] == [p["step_id"] for p in chart["points"][16:25]]
    assert {e["id"] for e in events} == {
        a["id"] for a in (await gateway.get(chart_url, headers=viewer)).json()["alerts"]
    }

    # Counted for Prometheus by the service that announced them.
    async with httpx.AsyncClient(base_url=env("LATHE_ANALYTICS_URL"), timeout=10) as analytics:
        metrics = (await analytics.get("/metrics")).text
    counted = f'lathe_spc_alerts_total{{measurement="width_mm",process="{process}",rule="2"}} 1.0'
    assert counted in metrics.splitlines()

    # The list of charts: this process's one chart, with the chart's Cpk.
    listed_charts = (
        await gateway.get("/api/v1/analytics/spc", params={"process_code": process}, headers=viewer)
    ).json()
    assert listed_charts["total"] == 1
    (summary,) = listed_charts["items"]
    assert summary["measurement"] == "width_mm" and summary["n"] == 25 and summary["points_kept"] == 25
    assert summary["cpk"] == pytest.approx(chart["capability"]["cpk"])
    csv = await gateway.get("/api/v1/analytics/spc", params={"process_code": process, "format": "csv"}, headers=viewer)
    assert csv.status_code == 200 and csv.text.splitlines()[0].startswith("process_code,process_name,measurement")
    assert len(csv.text.splitlines()) == 2

    # Operators do not read analytics.
    assert (await gateway.get(chart_url, headers=operator)).status_code == 403


async def test_windows_and_unknown_charts_are_refused_with_codes(gateway, staff):
    viewer = staff["viewer"]
    process = await Catalog(gateway, staff["engineer"]).process(SPEC)
    chart_url = f"/api/v1/analytics/spc/{process}/width_mm"

    # Spec limits and no points yet: a chart without indices, once the process has reached analytics.
    async def empty_chart() -> dict | None:
        response = await gateway.get(chart_url, headers=viewer)
        return response.json() if response.status_code == 200 else None

    chart = await eventually(empty_chart, timeout=30)
    assert chart["statistics"]["n"] == 0 and chart["capability"]["cpk"] is None
    assert [n["code"] for n in chart["notes"]] == ["too_few_points"]
    for window in (1, 10_001, 10**30, "many"):
        refused = await gateway.get(chart_url, params={"window": window}, headers=viewer)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_error", window
    wider = await gateway.get(chart_url, params={"window": 10, "baseline": 11}, headers=viewer)
    assert wider.status_code == 422 and wider.json()["code"] == "baseline_exceeds_window"
    assert (await gateway.get(chart_url, params={"window": 10_000, "baseline": 2}, headers=viewer)).status_code == 200
    unknown = await gateway.get(f"/api/v1/analytics/spc/NO_{uuid.uuid4().hex[:8].upper()}/width_mm", headers=viewer)
    assert unknown.status_code == 404 and unknown.json()["code"] == "process_not_found"
    other = await gateway.get(f"/api/v1/analytics/spc/{process}/height_mm", headers=viewer)
    assert other.status_code == 404 and other.json()["code"] == "measurement_not_found"
