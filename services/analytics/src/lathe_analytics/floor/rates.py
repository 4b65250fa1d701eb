"""Rates and yields as the analytics answers state them. Pure.

Rates are percentages of step executions, rounded to two decimals, None when there is nothing to
divide by (never a made-up 0 or 100). A step's result is PASS, FAIL or REWORK, so the pass, defect
(failure) and rework rates of the same executions add up to 100.

First-pass yield (FPY) of a process: the share of units whose *first* attempt at that routing step
passed (a unit reworked and then passed is not a first pass). Rolled throughput yield (RTY) of a
product model: the product of the first-pass yields of its routing's steps, the chance that a unit
goes through every step without a failure or a rework.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal


def percent(part: int | float, whole: int | float) -> float | None:
    if not whole:
        return None
    return round(100.0 * float(part) / float(whole), 2)


def average(total: Decimal | float | None, count: int) -> float | None:
    if not count or total is None:
        return None
    return round(float(total) / float(count), 3)


def first_pass_yield(first_passes: int, first_attempts: int) -> float | None:
    return percent(first_passes, first_attempts)


def rolled_throughput_yield(steps: Iterable[tuple[int, int]]) -> float | None:
    """The product of the steps' first-pass yields, each given as (first passes, first attempts),
    as a percentage (of the exact fractions, not of rounded percentages); None if a step has no
    attempts or there are no steps."""
    known = list(steps)
    if not known or any(attempts <= 0 for _, attempts in known):
        return None
    return round(100.0 * math.prod(passes / attempts for passes, attempts in known), 2)
