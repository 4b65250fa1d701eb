"""The floor's figures as Prometheus samples: every name, label and meaning is here. Pure.

Labels are bounded by the plant's master data: ``process`` (process code), ``model`` (model code),
``result``, ``status``, and ``defect`` for the ``TOP_DEFECTS`` codes only (machines may send any
text as a defect code). Never a serial or LOT number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric

from lathe_analytics.floor.cycle_bins import bin_value
from lathe_analytics.floor.reads_metrics import StepTotals
from lathe_analytics.floor_metrics.history import RECENT_DAYS

# Upper bounds (seconds) of the cycle-time histogram's buckets. The read model keeps cycle times in
# fine bins within 1 % of the true time (``cycle_bins``); each fine bin is counted under the first
# bound at or above its value, so a time within 1 % of a bound may be counted on its other side.
CYCLE_TIME_BUCKETS = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
TOP_DEFECTS = 20  # defect codes exported: the most frequent over the recent production days
NO_PROCESS = "(none)"  # units waiting at a routing position no model names (a routing shortened since)


@dataclass(frozen=True)
class FloorFigures:
    """One reading of the read model (and of Kafka, for the consumer groups' lag)."""

    refreshed_at: datetime
    steps: Sequence[StepTotals] = ()
    cycle_bins: Mapping[str, Mapping[int, int]] = field(default_factory=dict)  # process -> fine bin -> steps
    units_finished: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (model, status), all time
    defects: Mapping[str, int] = field(default_factory=dict)  # the exported codes, all time
    wip: Mapping[str, int] = field(default_factory=dict)  # process -> units waiting
    statuses: Mapping[tuple[str, str], int] = field(default_factory=dict)  # ('lot' | 'unit', status) -> now
    first_passes_today: Mapping[str, tuple[int, int]] = field(default_factory=dict)  # process -> (passes, attempts)
    units_finished_today: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (model, status)
    newest_step_at: datetime | None = None
    group_lag: Mapping[str, int] | None = None  # consumer -> records not yet committed; None: Kafka not read


def top_defects(all_time: Mapping[str, int], recent: Mapping[str, int], limit: int = TOP_DEFECTS) -> dict[str, int]:
    """The ``limit`` codes most frequent in ``recent`` (ties: by code), with their all-time counts."""
    chosen = sorted((code for code, n in recent.items() if n > 0), key=lambda code: (-recent[code], code))[:limit]
    return {code: all_time.get(code, recent[code]) for code in chosen}


def cycle_time_buckets(bins: Mapping[int, int]) -> list[tuple[str, float]]:
    """Cumulative counts per bound of ``CYCLE_TIME_BUCKETS`` (and ``+Inf``) from fine-bin counts."""
    per_bound = [0] * (len(CYCLE_TIME_BUCKETS) + 1)
    for index, n in bins.items():
        value = bin_value(index)
        slot = next((k for k, bound in enumerate(CYCLE_TIME_BUCKETS) if value <= bound), len(CYCLE_TIME_BUCKETS))
        per_bound[slot] += n
    cumulative, running = [], 0
    for bound, n in zip([*(str(b) for b in CYCLE_TIME_BUCKETS), "+Inf"], per_bound, strict=True):
        running += n
        cumulative.append((bound, float(running)))
    return cumulative


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def families(figures: FloorFigures) -> list[Metric]:
    executions = CounterMetricFamily(
        "lathe_floor_step_executions_total",
        "Step executions in the floor read model, all time, by process, product model and result (PASS, FAIL, REWORK)",
        labels=["process", "model", "result"],
    )
    attempts = CounterMetricFamily(
        "lathe_floor_first_attempts_total",
        "Units' first attempts at a routing step, all time (first-pass yield = first passes / first attempts)",
        labels=["process", "model"],
    )
    first_passes = CounterMetricFamily(
        "lathe_floor_first_passes_total",
        "Units' first attempts at a routing step that passed, all time",
        labels=["process", "model"],
    )
    cycle_seconds: dict[str, float] = {}
    for s in figures.steps:
        for result, n in (("PASS", s.passes), ("FAIL", s.failures), ("REWORK", s.reworks)):
            executions.add_metric([s.process_code, s.model_code, result], n)
        attempts.add_metric([s.process_code, s.model_code], s.first_attempts)
        first_passes.add_metric([s.process_code, s.model_code], s.first_passes)
        cycle_seconds[s.process_code] = cycle_seconds.get(s.process_code, 0.0) + float(s.cycle_seconds)

    cycle_time = HistogramMetricFamily(
        "lathe_floor_cycle_time_seconds",
        "Cycle times of the steps that reported one, all time, by process (bucket bounds within 1 %)",
        labels=["process"],
    )
    for process, bins in sorted(figures.cycle_bins.items()):
        cycle_time.add_metric([process], cycle_time_buckets(bins), cycle_seconds.get(process, 0.0))

    finished = CounterMetricFamily(
        "lathe_floor_units_finished_total",
        "Units that finished, all time, by product model and status: PASSED and SCRAPPED once per unit (by a step "
        "or a disposition); FAILED counts failures as they happen (awaiting a disposition, not final)",
        labels=["model", "status"],
    )
    for (model, status), n in sorted(figures.units_finished.items()):
        finished.add_metric([model, status], n)

    defects = CounterMetricFamily(
        "lathe_floor_defects_total",
        f"Defects recorded with steps, all time, for the {TOP_DEFECTS} codes most frequent in the last "
        f"{RECENT_DAYS} production days",
        labels=["defect"],
    )
    for code, n in sorted(figures.defects.items()):
        defects.add_metric([code], n)

    wip = GaugeMetricFamily(
        "lathe_floor_wip_units",
        "Units in progress now, by the process they wait at (or are reworked at); 0 for active processes",
        labels=["process"],
    )
    for process, n in sorted(figures.wip.items()):
        wip.add_metric([process], n)

    units = GaugeMetricFamily("lathe_floor_units", "Units (serial numbers) in each status now", labels=["status"])
    lots = GaugeMetricFamily("lathe_floor_lots", "LOTs in each status now", labels=["status"])
    for (subject, status), n in sorted(figures.statuses.items()):
        (units if subject == "unit" else lots).add_metric([status], n)

    fpy_today = GaugeMetricFamily(
        "lathe_floor_today_first_pass_yield_ratio",
        "First-pass yield of the current production day (0-1), by process; absent before its first attempt",
        labels=["process"],
    )
    for process, (passes, tries) in sorted(figures.first_passes_today.items()):
        if (ratio := _ratio(passes, tries)) is not None:
            fpy_today.add_metric([process], ratio)

    yield_today = GaugeMetricFamily(
        "lathe_floor_today_yield_ratio",
        "Units passed / units finished for good (PASSED + SCRAPPED) in the current production day (0-1), by model",
        labels=["model"],
    )
    by_model: dict[str, dict[str, int]] = {}
    for (model, status), n in figures.units_finished_today.items():
        by_model.setdefault(model, {})[status] = n
    for model, counts in sorted(by_model.items()):
        passed = counts.get("PASSED", 0)
        if (ratio := _ratio(passed, passed + counts.get("SCRAPPED", 0))) is not None:
            yield_today.add_metric([model], ratio)

    answer: list[Metric] = [executions, attempts, first_passes, cycle_time, finished, defects, wip, units, lots]
    answer += [fpy_today, yield_today]
    if figures.newest_step_at is not None:
        answer.append(
            GaugeMetricFamily(
                "lathe_floor_newest_step_timestamp_seconds",
                "Completion time (Unix seconds) of the newest step the floor read model holds",
                value=figures.newest_step_at.timestamp(),
            )
        )
    answer.append(
        GaugeMetricFamily(
            "lathe_floor_metrics_refreshed_timestamp_seconds",
            "When (Unix seconds) this process last read the floor metrics from the read model",
            value=figures.refreshed_at.timestamp(),
        )
    )
    if figures.group_lag is not None:
        lag = GaugeMetricFamily(
            "lathe_consumer_group_lag",
            "Records the consumer group lathe.<consumer> has not committed yet (partition ends minus committed "
            "offsets), read from Kafka",
            labels=["service", "consumer"],
        )
        for consumer, n in sorted(figures.group_lag.items()):
            lag.add_metric(["analytics", consumer], n)
        answer.append(lag)
    return answer
