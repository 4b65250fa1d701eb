"""Which rule violations are new, and so announced. Pure.

Rules are judged again over a chart's latest points each time a batch brings it new ones, so the
same violation is found again and again: a run of nine on one side is still there when a tenth
point joins it, and a point beyond the limits stays beyond them. A violation is announced when
- it contains at least one of the points the batch brought (older points were judged before), and
- it is not one already announced: it shares fewer than two points (one, for a rule-1 hit of a
  single point) with the violations of the same rule announced before. Two runs of one rule meet
  in one point at most (a rise and the fall after it share the peak), so sharing two means the
  same run, grown or seen with limits that moved.
Every point of a violation found is remembered as announced under its rule, also when it only
continues an announced one, so a run that goes on stays one alert.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from lathe_analytics.spc.rules import Rule, Violation

Announced = set[tuple[Rule, uuid.UUID]]  # (rule, step id) of every point in an announced violation


@dataclass(frozen=True)
class Verdict:
    fresh: list[Violation]  # to announce
    remembered: list[tuple[Rule, uuid.UUID]]  # points to remember as announced, fresh or continued


def _shared_enough(rule: Rule, ids: Sequence[uuid.UUID], announced: Announced) -> bool:
    shared = sum((rule, step_id) in announced for step_id in ids)
    return shared >= min(2, len(ids))


def judge(
    violations: Sequence[Violation], step_ids: Sequence[uuid.UUID], new: set[uuid.UUID], announced: Announced
) -> Verdict:
    """``step_ids``: the step of each point of the judged series, by index; ``new``: the steps of
    the points this batch brought; ``announced``: what was announced before (not changed)."""
    known = set(announced)
    fresh: list[Violation] = []
    remembered: list[tuple[Rule, uuid.UUID]] = []
    for violation in violations:
        ids = [step_ids[i] for i in violation.indices]
        if not new.intersection(ids):
            continue
        if not _shared_enough(violation.rule, ids, known):
            fresh.append(violation)
        for step_id in ids:
            if (violation.rule, step_id) not in known:
                known.add((violation.rule, step_id))
                remembered.append((violation.rule, step_id))
    return Verdict(fresh, remembered)
