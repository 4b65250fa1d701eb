"""One chart: a window of points judged against control limits from a baseline. Pure.

The window is the latest points of a measurement in time order (oldest first). Its statistics and
capability indices describe the whole window; the control limits come from the baseline, the
window's oldest ``baseline`` points (all of them unless told otherwise), and the Nelson rules judge
every point of the window against those limits. With a baseline shorter than the window this is a
Phase II chart: the process as it was, and whether the points since still belong to it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lathe_analytics.spc.rules import Violation, nelson_violations
from lathe_analytics.spc.statistics import (
    NO_SPREAD,
    NOT_REPRESENTABLE,
    TOO_FEW_POINTS,
    Capability,
    ControlLimits,
    SpecLimits,
    Summary,
    capability,
    control_limits,
    summarize,
)


@dataclass(frozen=True)
class ChartAnalysis:
    summary: Summary
    capability: Capability
    limits: ControlLimits
    violations: list[Violation]
    notes: tuple[str, ...]  # why limits or rule 1 are missing (codes of statistics.NOTE_TEXT)


def analyse(values: Sequence[float], spec: SpecLimits, baseline: int | None = None) -> ChartAnalysis:
    """``baseline``: how many of the oldest points set the control limits (None: all of them)."""
    base = values if baseline is None else values[:baseline]
    limits = control_limits(base)
    notes: tuple[str, ...] = ()
    if limits.n < 2:
        notes = (TOO_FEW_POINTS,)
    elif limits.sigma is None or limits.upper is None or limits.lower is None:
        notes = (NOT_REPRESENTABLE,)
    elif limits.sigma == 0:
        notes = (NO_SPREAD,)
    violations = nelson_violations(values, limits.centre_line, limits.sigma)
    return ChartAnalysis(summarize(values), capability(values, spec), limits, violations, notes)
