"""Cycle-time percentiles from counts per logarithmic bin: an approximation with a stated bound. Pure.

A percentile cannot be added up from other percentiles, but counts can: each step's cycle time
adds one to its bin, per production day and process and for all time, and a p50 / p95 over any
range of days is read from the summed counts. Bins grow by a constant ratio
``GAMMA = (1 + ALPHA) / (1 - ALPHA)`` from ``FLOOR_SECONDS`` up (the idea of DDSketch, Masson et al.,
VLDB 2019): bin ``i >= 1`` holds the times in ``(FLOOR * GAMMA**(i-1), FLOOR * GAMMA**i]`` and is
read as ``FLOOR * 2 * GAMMA**i / (GAMMA + 1)``, which is within ``ALPHA`` (1 %) of every time in it.

The bound: the estimate of the q-th percentile is within 1 % (relative) of the true nearest-rank
percentile of the recorded times (the ``ceil(q * n)``-th smallest), because that time lies in the
bin the estimate is read from. Bin 0 holds times of at most 1 ms, negative ones included (a clock
that ran backwards): it is read as 0 s, so there the error is at most 1 ms absolute. From 1 ms to
production's largest cycle time (about 31 years) that is 1,382 bins, of which a process uses the
few dozen its times span.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

ALPHA = 0.01
GAMMA = (1 + ALPHA) / (1 - ALPHA)
FLOOR_SECONDS = 0.001
_LOG_GAMMA = math.log(GAMMA)


def bin_of(seconds: float) -> int:
    if not seconds > FLOOR_SECONDS:  # also NaN, which no step carries
        return 0
    return max(1, math.ceil(math.log(seconds / FLOOR_SECONDS) / _LOG_GAMMA))


def bin_value(index: int) -> float:
    if index <= 0:
        return 0.0
    return FLOOR_SECONDS * 2 * GAMMA**index / (GAMMA + 1)


def percentile(counts: Mapping[int, int], q: float) -> float | None:
    """The q-th percentile (0 < q <= 1) of the times counted in ``counts`` (bin -> count), or None
    when nothing was counted."""
    if not 0 < q <= 1:
        raise ValueError("q is a fraction in (0, 1]")
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for index in sorted(counts):
        seen += counts[index]
        if seen >= rank:
            return bin_value(index)
    raise AssertionError("unreachable: the ranks add up to the total")


def nearest_rank(values: list[float], q: float) -> float:
    """The exact nearest-rank percentile the estimate is bounded against (for tests and docs)."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]
