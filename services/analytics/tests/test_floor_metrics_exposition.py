"""The floor's business metrics as Prometheus exposes them (pure): names, labels, histogram buckets,
the defect codes chosen, ratios only where there is something to divide, and all-time sums that
read history rarely and never go down."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.floor.cycle_bins import bin_of
from lathe_analytics.floor.reads_metrics import StepTotals
from lathe_analytics.floor_metrics.exposition import FloorFigures, cycle_time_buckets, families, top_defects
from lathe_analytics.floor_metrics.history import AllTimeSums
from lathe_analytics.floor_metrics.refresher import FloorMetrics
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

NOW = datetime(2026, 3, 30, 12, tzinfo=UTC)


class _Fixed:
    def __init__(self, figures: FloorFigures) -> None:
        self.figures = figures

    def collect(self):  # noqa: ANN201 - prometheus_client's collector protocol
        return families(self.figures)


def samples(figures: FloorFigures) -> dict[tuple[str, frozenset], float]:
    registry = CollectorRegistry()
    registry.register(_Fixed(figures))
    text = generate_latest(registry).decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_cycle_times_are_counted_under_the_first_bound_at_or_above_them():
    bins = {bin_of(0.5): 2, bin_of(1.5): 1, bin_of(44.0): 3, bin_of(7200.0): 1}
    buckets = dict(cycle_time_buckets(bins))
    assert buckets["1.0"] == 2 and buckets["2.0"] == 3 and buckets["30.0"] == 3 and buckets["60.0"] == 6
    assert buckets["3600.0"] == 6 and buckets["+Inf"] == 7
    assert list(buckets.values()) == sorted(buckets.values())  # cumulative


def test_the_defects_exported_are_the_most_frequent_recent_ones_with_all_time_counts():
    all_time = {"SCRATCH": 500, "DUST": 40, "BRIDGE": 9, "OLD": 10_000}
    recent = {"SCRATCH": 3, "DUST": 7, "BRIDGE": 3, "OLD": 0}
    assert top_defects(all_time, recent, limit=2) == {"DUST": 40, "BRIDGE": 9}  # ties by code
    assert top_defects(all_time, recent) == {"DUST": 40, "BRIDGE": 9, "SCRATCH": 500}
    assert top_defects({}, {}) == {}


def test_every_figure_has_its_metric_and_labels():
    figures = FloorFigures(
        refreshed_at=NOW,
        steps=[StepTotals("P1", "M1", 8, 1, 2, 9, 7, 10, Decimal("123.5"))],
        cycle_bins={"P1": {bin_of(12.0): 10}},
        units_finished={("M1", "PASSED"): 6, ("M1", "FAILED"): 1, ("M1", "SCRAPPED"): 1},
        defects={"SCRATCH": 3},
        wip={"P1": 4, "P2": 0},
        statuses={("unit", "IN_PROGRESS"): 4, ("lot", "IN_PROGRESS"): 1},
        first_passes_today={"P1": (3, 4)},
        units_finished_today={("M1", "PASSED"): 3, ("M1", "FAILED"): 2, ("M1", "SCRAPPED"): 1},
        newest_step_at=NOW - timedelta(minutes=1),
        group_lag={"analytics.floor": 12},
    )
    found = samples(figures)

    def value(name: str, **labels: str) -> float:
        return found[name, frozenset(labels.items())]

    assert value("lathe_floor_step_executions_total", process="P1", model="M1", result="PASS") == 8
    assert value("lathe_floor_step_executions_total", process="P1", model="M1", result="FAIL") == 1
    assert value("lathe_floor_step_executions_total", process="P1", model="M1", result="REWORK") == 2
    assert value("lathe_floor_first_attempts_total", process="P1", model="M1") == 9
    assert value("lathe_floor_first_passes_total", process="P1", model="M1") == 7
    assert value("lathe_floor_cycle_time_seconds_bucket", process="P1", le="10.0") == 0
    assert value("lathe_floor_cycle_time_seconds_bucket", process="P1", le="15.0") == 10
    assert value("lathe_floor_cycle_time_seconds_count", process="P1") == 10
    assert value("lathe_floor_cycle_time_seconds_sum", process="P1") == 123.5
    assert value("lathe_floor_units_finished_total", model="M1", status="SCRAPPED") == 1
    assert value("lathe_floor_defects_total", defect="SCRATCH") == 3
    assert value("lathe_floor_wip_units", process="P2") == 0
    assert value("lathe_floor_units", status="IN_PROGRESS") == 4
    assert value("lathe_floor_lots", status="IN_PROGRESS") == 1
    assert value("lathe_floor_today_first_pass_yield_ratio", process="P1") == 0.75
    assert value("lathe_floor_today_yield_ratio", model="M1") == 0.75  # 3 of 4 finished: failures await dispositions
    assert value("lathe_floor_newest_step_timestamp_seconds") == (NOW - timedelta(minutes=1)).timestamp()
    assert value("lathe_floor_metrics_refreshed_timestamp_seconds") == NOW.timestamp()
    assert value("lathe_consumer_group_lag", service="analytics", consumer="analytics.floor") == 12
    label_names = {name for _, labels in found for name, _ in labels}
    assert label_names <= {"process", "model", "result", "status", "defect", "le", "service", "consumer"}


def test_nothing_is_made_up_where_there_is_nothing_to_divide_or_nothing_known():
    found = samples(
        FloorFigures(refreshed_at=NOW, first_passes_today={"P1": (0, 0)}, units_finished_today={}, group_lag=None)
    )
    names = {name for name, _ in found}
    assert "lathe_floor_today_first_pass_yield_ratio" not in names
    assert "lathe_floor_today_yield_ratio" not in names
    assert "lathe_consumer_group_lag" not in names  # Kafka not read: unknown, not 0
    assert "lathe_floor_newest_step_timestamp_seconds" not in names


def test_nothing_is_exposed_before_the_first_reading():
    metrics = FloorMetrics(15, clock=PlantClock("UTC"), bootstrap="127.0.0.1:1", consumers=[])
    assert list(metrics.collect()) == []


class _DayRows:
    """A table of per-day counts, read the way reads_metrics reads it, with the reads it was asked."""

    def __init__(self) -> None:
        self.rows: dict[date, dict[str, int]] = {}
        self.asked: list[tuple[date | None, date | None]] = []

    def add(self, day: date, key: str, n: int) -> None:
        self.rows.setdefault(day, {})
        self.rows[day][key] = self.rows[day].get(key, 0) + n

    async def read(self, _session, since: date | None, before: date | None) -> dict[str, int]:
        self.asked.append((since, before))
        sums: dict[str, int] = {}
        for day, counts in self.rows.items():
            if (since is None or day >= since) and (before is None or day < before):
                for key, n in counts.items():
                    sums[key] = sums.get(key, 0) + n
        return sums


async def test_history_is_read_rarely_and_the_sums_never_go_down():
    table = _DayRows()
    today = date(2026, 3, 30)
    table.add(date(2026, 1, 5), "A", 100)
    table.add(today, "A", 1)
    sums = AllTimeSums(table.read, recent_days=7, history_seconds=3600)
    total, recent = await sums.sums(None, today, now=0.0)
    assert total == {"A": 101} and recent == {"A": 1}
    assert table.asked == [(None, date(2026, 3, 24)), (date(2026, 3, 24), None)]

    table.add(today, "A", 2)
    table.add(date(2026, 1, 5), "A", 50)  # an event days late: seen at the next history read
    assert (await sums.sums(None, today, now=60.0))[0] == {"A": 103}
    assert len(table.asked) == 3  # recent days only
    assert (await sums.sums(None, today, now=3600.0))[0] == {"A": 153}

    # A week on, today's rows have moved into history: the total is the same, not lower.
    later = today + timedelta(days=7)
    assert (await sums.sums(None, later, now=3700.0))[0] == {"A": 153}
    assert table.asked[-2:] == [(None, date(2026, 3, 31)), (date(2026, 3, 31), None)]
