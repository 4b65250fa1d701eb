"""Nelson's tests for special causes on an individuals chart (rules 1-4). Pure functions.

Lloyd S. Nelson, "The Shewhart Control Chart: Tests for Special Causes", Journal of Quality
Technology 16(4), 1984:

1. one point more than 3σ from the centre line (strictly beyond a control limit);
2. nine or more points in a row on the same side of the centre line;
3. six or more points in a row steadily increasing, or steadily decreasing;
4. fourteen or more points in a row alternating up and down.

A run is reported once, as its longest stretch (a run of eleven on one side is one hit of eleven
points, not three of nine), with the indices of every point in it; rule 1 reports each point on its
own. Ties break runs: a point exactly on the centre line is on neither side (rule 2), and two equal
consecutive values are neither a rise nor a fall (rules 3 and 4). Rule 1 needs a sigma above 0; with
none (too few points, or no spread) it is not judged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import IntEnum


class Rule(IntEnum):
    BEYOND_3_SIGMA = 1
    NINE_ON_ONE_SIDE = 2
    SIX_TRENDING = 3
    FOURTEEN_ALTERNATING = 4

    @property
    def code(self) -> str:
        return self.name.lower()

    @property
    def description(self) -> str:
        return RULE_DESCRIPTIONS[self]


RULE_DESCRIPTIONS = {
    Rule.BEYOND_3_SIGMA: "a point more than 3 sigma from the centre line",
    Rule.NINE_ON_ONE_SIDE: "nine or more points in a row on the same side of the centre line",
    Rule.SIX_TRENDING: "six or more points in a row steadily increasing or decreasing",
    Rule.FOURTEEN_ALTERNATING: "fourteen or more points in a row alternating up and down",
}

# The shortest run each run rule needs (points, not steps between them).
RUN_LENGTHS = {Rule.NINE_ON_ONE_SIDE: 9, Rule.SIX_TRENDING: 6, Rule.FOURTEEN_ALTERNATING: 14}


@dataclass(frozen=True)
class Violation:
    rule: Rule
    indices: tuple[int, ...]  # positions in the series, ascending


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _runs(labels: Sequence[int], continues: Callable[[int, int], bool], minimum: int) -> list[tuple[int, int]]:
    """Maximal stretches [start, end] (inclusive) of ``labels`` where each label continues the one
    before it and none is 0, at least ``minimum`` long."""
    found: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(labels) + 1):
        if i < len(labels) and labels[i] != 0 and labels[i - 1] != 0 and continues(labels[i - 1], labels[i]):
            continue
        if labels and labels[start] != 0 and i - start >= minimum:
            found.append((start, i - 1))
        start = i
    return found


def beyond_limits(values: Sequence[float], centre: float, sigma: float | None) -> list[Violation]:
    """Rule 1: each point strictly more than 3σ from the centre line."""
    if sigma is None or sigma <= 0:
        return []
    upper, lower = centre + 3 * sigma, centre - 3 * sigma
    return [Violation(Rule.BEYOND_3_SIGMA, (i,)) for i, x in enumerate(values) if x > upper or x < lower]


def same_side(values: Sequence[float], centre: float) -> list[Violation]:
    """Rule 2: nine or more points in a row above the centre line, or below it."""
    sides = [_sign(x - centre) for x in values]
    runs = _runs(sides, lambda a, b: a == b, RUN_LENGTHS[Rule.NINE_ON_ONE_SIDE])
    return [Violation(Rule.NINE_ON_ONE_SIDE, tuple(range(s, e + 1))) for s, e in runs]


def _steps(values: Sequence[float]) -> list[int]:
    """+1 / -1 / 0 for each rise, fall or tie between consecutive points (one fewer than points)."""
    return [_sign(b - a) for a, b in zip(values, values[1:], strict=False)]


def trending(values: Sequence[float]) -> list[Violation]:
    """Rule 3: six or more points in a row, each higher than the one before (or each lower)."""
    # n points make n - 1 steps: a run of six points is five steps in the same direction.
    runs = _runs(_steps(values), lambda a, b: a == b, RUN_LENGTHS[Rule.SIX_TRENDING] - 1)
    return [Violation(Rule.SIX_TRENDING, tuple(range(s, e + 2))) for s, e in runs]


def alternating(values: Sequence[float]) -> list[Violation]:
    """Rule 4: fourteen or more points in a row going up and down in turn."""
    runs = _runs(_steps(values), lambda a, b: a == -b, RUN_LENGTHS[Rule.FOURTEEN_ALTERNATING] - 1)
    return [Violation(Rule.FOURTEEN_ALTERNATING, tuple(range(s, e + 2))) for s, e in runs]


def nelson_violations(values: Sequence[float], centre: float | None, sigma: float | None) -> list[Violation]:
    """Every hit of rules 1-4 in a series judged against a centre line and sigma (from a baseline),
    ordered by first point, then rule."""
    found = trending(values) + alternating(values)
    if centre is not None:
        found += beyond_limits(values, centre, sigma) + same_side(values, centre)
    return sorted(found, key=lambda v: (v.indices[0], v.rule))
