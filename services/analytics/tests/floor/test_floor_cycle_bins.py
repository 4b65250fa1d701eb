"""Cycle-time percentiles from log bins: the stated 1 % bound against exact nearest-rank percentiles,
bin edges, the floor bin, and rates / yields."""

from __future__ import annotations

import math
import random
from collections import Counter

import pytest
from lathe_analytics.floor.cycle_bins import (
    ALPHA,
    FLOOR_SECONDS,
    GAMMA,
    bin_of,
    bin_value,
    nearest_rank,
    percentile,
)
from lathe_analytics.floor.rates import average, first_pass_yield, percent, rolled_throughput_yield

BOUND = ALPHA + 1e-12  # floating point at a bin's very edge


def counts_of(values: list[float]) -> Counter[int]:
    return Counter(bin_of(v) for v in values)


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("q", [0.5, 0.95, 0.99, 0.01, 1.0])
def test_percentiles_are_within_one_percent_of_the_true_nearest_rank(seed, q):
    rng = random.Random(seed)
    shape = seed % 4
    if shape == 0:
        values = [rng.lognormvariate(3.5, 0.4) for _ in range(2_000)]
    elif shape == 1:
        values = [rng.uniform(0.01, 3_600) for _ in range(rng.randint(1, 300))]
    elif shape == 2:
        values = [round(rng.gauss(42.0, 3.0), 3) for _ in range(5_000)]
    else:  # few distinct values, many ties
        values = [rng.choice([12.5, 12.5, 30.0, 41.123, 600.0]) for _ in range(777)]
    true = nearest_rank(values, q)
    estimate = percentile(counts_of(values), q)
    assert estimate is not None
    assert abs(estimate - true) <= BOUND * true


def test_each_bin_is_read_within_alpha_of_both_its_edges():
    for index in (1, 2, 57, 345, 1382):
        low, high = FLOOR_SECONDS * GAMMA ** (index - 1), FLOOR_SECONDS * GAMMA**index
        value = bin_value(index)
        assert low < value < high
        assert value / high == pytest.approx(1 - ALPHA)
        assert value / low == pytest.approx(1 + ALPHA)
        assert bin_of(high * (1 - 1e-9)) == index
        assert bin_of(low * (1 + 1e-9)) == index


def test_times_of_a_millisecond_or_less_and_negative_ones_are_read_as_zero():
    for seconds in (0.0, 0.0005, FLOOR_SECONDS, -3.0, -999_999_999.999):
        assert bin_of(seconds) == 0
    assert bin_value(0) == 0.0
    assert bin_of(FLOOR_SECONDS * 1.000001) == 1
    assert percentile({0: 3, 10: 1}, 0.5) == 0.0


def test_the_longest_cycle_production_accepts_has_a_bin():
    assert bin_of(999_999_999.999) == 1382
    assert math.isclose(bin_value(1382), 999_999_999.999, rel_tol=ALPHA)


def test_percentile_of_nothing_is_none_and_q_must_be_a_fraction():
    assert percentile({}, 0.5) is None
    assert percentile({5: 0}, 0.5) is None
    for q in (0, -0.1, 1.01):
        with pytest.raises(ValueError):
            percentile({5: 1}, q)


def test_nearest_rank_ranks():
    values = [5.0, 1.0, 4.0, 2.0, 3.0]
    assert nearest_rank(values, 0.5) == 3.0  # ceil(2.5) = 3rd smallest
    assert nearest_rank(values, 0.95) == 5.0
    assert nearest_rank(values, 0.2) == 1.0  # ceil(1.0) = 1st
    assert nearest_rank(values, 0.21) == 2.0


def test_counts_add_up_across_days():
    """Summing two days' bins gives the percentile of the two days' times together."""
    rng = random.Random(7)
    monday = [rng.lognormvariate(3, 0.3) for _ in range(500)]
    tuesday = [rng.lognormvariate(3.4, 0.2) for _ in range(700)]
    together = counts_of(monday) + counts_of(tuesday)
    for q in (0.5, 0.95):
        true = nearest_rank(monday + tuesday, q)
        assert abs(percentile(together, q) - true) <= BOUND * true


def test_rates_are_percentages_with_two_decimals_or_none():
    assert percent(1, 3) == 33.33
    assert percent(2, 3) == 66.67
    assert percent(0, 5) == 0.0
    assert percent(5, 5) == 100.0
    assert percent(1, 0) is None
    assert average(None, 0) is None
    assert average(10, 0) is None
    assert average(125, 3) == 41.667


def test_first_pass_and_rolled_throughput_yield():
    assert first_pass_yield(9, 10) == 90.0
    assert first_pass_yield(0, 0) is None
    assert rolled_throughput_yield([(9, 10), (4, 5), (7, 7)]) == 72.0
    assert rolled_throughput_yield([(19, 20)]) == 95.0
    assert rolled_throughput_yield([(2, 3), (1, 2)]) == 33.33  # of the fractions: 66.67 x 50 would be 33.34
    assert rolled_throughput_yield([]) is None
    assert rolled_throughput_yield([(9, 10), (0, 0)]) is None
