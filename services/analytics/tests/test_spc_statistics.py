"""Capability indices and I-MR limits against published values and their edge cases (no database)."""

from __future__ import annotations

import json
import math

import pytest
from lathe_analytics.spc.analysis import analyse
from lathe_analytics.spc.rules import Rule
from lathe_analytics.spc.statistics import (
    NO_SPEC_LIMITS,
    NO_SPREAD,
    NOT_REPRESENTABLE,
    ONE_SIDED_SPEC,
    TOO_FEW_POINTS,
    SpecLimits,
    capability,
    control_limits,
    moving_ranges,
    summarize,
)

# NIST/SEMATECH e-Handbook of Statistical Methods, section 6.3.2.2 "Individuals Control Charts"
# (https://www.itl.nist.gov/div898/handbook/pmc/section3/pmc322.htm): flow rate of ten batches.
# Published: x̄ = 50.81, MR̄ = 1.8778, UCL = 55.8041, LCL = 45.8159 (x̄ ± 3·MR̄/1.128).
NIST_FLOW_RATE = [49.6, 47.6, 49.9, 51.3, 47.8, 51.2, 52.6, 52.4, 53.6, 52.1]


def test_nist_individuals_chart_limits_match_the_published_values():
    limits = control_limits(NIST_FLOW_RATE)
    assert limits.n == 10
    assert limits.centre_line == pytest.approx(50.81, abs=5e-5)
    assert limits.mr_centre_line == pytest.approx(1.8778, abs=5e-5)
    assert limits.upper == pytest.approx(55.8041, abs=5e-5)
    assert limits.lower == pytest.approx(45.8159, abs=5e-5)
    assert limits.sigma == pytest.approx(1.8778 / 1.128, abs=5e-5)
    # Moving-range chart: UCL = D4·MR̄ = 3.267 × 1.8778, LCL = 0.
    assert limits.mr_upper == pytest.approx(3.267 * 1.8778, abs=5e-4)
    assert limits.mr_lower == 0.0


def test_nist_flow_rate_is_in_control():
    assert analyse(NIST_FLOW_RATE, SpecLimits()).violations == []


def test_nist_flow_rate_summary_and_indices_follow_the_aiag_formulas():
    summary = summarize(NIST_FLOW_RATE)
    assert summary.n == 10
    assert summary.mean == pytest.approx(50.81)
    # Sum of squared deviations 37.229 over n - 1 = 9 (worked by hand from the data).
    assert summary.std_dev == pytest.approx(math.sqrt(37.229 / 9))
    assert summary.mr_bar == pytest.approx(16.9 / 9)
    assert summary.sigma_within == pytest.approx(16.9 / 9 / 1.128)

    found = capability(NIST_FLOW_RATE, SpecLimits(lower=45.0, upper=57.0))
    sigma_within, s = 16.9 / 9 / 1.128, math.sqrt(37.229 / 9)
    assert found.cp == pytest.approx(12 / (6 * sigma_within))
    assert found.cpu == pytest.approx((57 - 50.81) / (3 * sigma_within))
    assert found.cpl == pytest.approx((50.81 - 45) / (3 * sigma_within))
    assert found.cpk == pytest.approx(found.cpl)  # the nearer limit
    assert found.pp == pytest.approx(12 / (6 * s))
    assert found.ppk == pytest.approx((50.81 - 45) / (3 * s))
    assert found.notes == ()


# NIST/SEMATECH e-Handbook section 6.1.6 "What is Process Capability?"
# (https://www.itl.nist.gov/div898/handbook/pmc/section1/pmc16.htm): USL = 20, LSL = 8, mean 16,
# sigma 2 give Cp = 1.0, CPU = 0.6667, CPL = 1.3333, Cpk = 0.6667. Two series with mean 16 carry
# that sigma: one as its overall sample standard deviation (Pp, Ppk), one as MR̄ / d2 (Cp, Cpk).
NIST_SPEC = SpecLimits(lower=8.0, upper=20.0)


def test_nist_capability_example_overall_sigma():
    found = capability([14.0, 16.0, 18.0], NIST_SPEC)  # mean 16, s = 2
    assert found.pp == pytest.approx(1.0)
    assert found.ppu == pytest.approx(0.6667, abs=5e-5)
    assert found.ppl == pytest.approx(1.3333, abs=5e-5)
    assert found.ppk == pytest.approx(0.6667, abs=5e-5)


def test_nist_capability_example_within_sigma():
    series = [16 - 1.128, 16 + 1.128] * 5  # mean 16, every moving range 2.256: σ̂ = 2.256 / 1.128 = 2
    found = capability(series, NIST_SPEC)
    assert summarize(series).sigma_within == pytest.approx(2.0)
    assert found.cp == pytest.approx(1.0)
    assert found.cpu == pytest.approx(0.6667, abs=5e-5)
    assert found.cpl == pytest.approx(1.3333, abs=5e-5)
    assert found.cpk == pytest.approx(0.6667, abs=5e-5)


@pytest.mark.parametrize(
    ("spec", "side"),
    [(SpecLimits(upper=20.0), "upper"), (SpecLimits(lower=8.0), "lower")],
)
def test_a_one_sided_spec_gives_the_one_sided_index_only(spec, side):
    found = capability([14.0, 16.0, 18.0], spec)
    assert found.cp is None and found.pp is None
    expected = {"upper": 0.6667, "lower": 1.3333}[side]
    assert found.ppk == pytest.approx(expected, abs=5e-5)
    assert found.cpk == (found.cpu if side == "upper" else found.cpl)
    assert (found.cpu is None) == (side == "lower") and (found.cpl is None) == (side == "upper")
    assert found.notes == (ONE_SIDED_SPEC,)


def test_no_spec_limits_no_indices():
    found = capability([1.0, 2.0, 4.0], SpecLimits(target=2.0))
    assert (found.cp, found.cpk, found.pp, found.ppk) == (None, None, None, None)
    assert found.notes == (NO_SPEC_LIMITS,)


@pytest.mark.parametrize("values", [[], [5.0]])
def test_fewer_than_two_points_give_no_spread_and_no_index(values):
    summary = summarize(values)
    assert summary.n == len(values) and summary.std_dev is None and summary.mr_bar is None
    assert summary.mean == (values[0] if values else None)
    found = capability(values, NIST_SPEC)
    assert found.cpk is None and found.ppk is None and found.notes == (TOO_FEW_POINTS,)
    chart = analyse(values, NIST_SPEC)
    assert chart.limits.upper is None and chart.notes == (TOO_FEW_POINTS,) and chart.violations == []


def test_equal_values_have_zero_sigma_and_no_index():
    values = [0.1] * 7  # a sum of 0.1s is not 0.7 in floats: the spread must still be exactly 0
    summary = summarize(values)
    assert summary.mean == 0.1 and summary.std_dev == 0.0 and summary.mr_bar == 0.0
    found = capability(values, NIST_SPEC)
    assert (found.cp, found.cpk, found.pp, found.ppk) == (None, None, None, None)
    assert found.notes == (NO_SPREAD,)
    chart = analyse(values, NIST_SPEC)
    assert chart.notes == (NO_SPREAD,)
    assert chart.limits.upper == chart.limits.lower == 0.1
    assert all(v.rule is not Rule.BEYOND_3_SIGMA for v in chart.violations)


def test_huge_magnitudes_are_computed_without_overflow():
    # Squares of 1e300 overflow a float; the statistics scale by a power of two first.
    summary = summarize([1e300, 2e300, 3e300])
    assert summary.mean == pytest.approx(2e300) and summary.std_dev == pytest.approx(1e300)
    assert summary.mr_bar == pytest.approx(1e300)


def test_results_beyond_a_float_are_none_and_the_answer_stays_json():
    values = [1.7e308, -1.7e308, 1.7e308, -1.7e308]
    chart = analyse(values, SpecLimits(lower=-1.7e308, upper=1.7e308))
    assert chart.limits.upper is None and chart.limits.mr_upper is None  # 3σ beyond the largest float
    assert chart.notes == (NOT_REPRESENTABLE,)
    found = chart.capability
    json.dumps([found.cp, found.cpk, found.pp, found.ppk, chart.summary.std_dev], allow_nan=False)
    assert moving_ranges(values) == [None, None, None, None]  # each |Δ| is 3.4e308: not a float


def test_moving_ranges_follow_the_series():
    assert moving_ranges([1.0, 3.0, 2.5]) == [None, 2.0, 0.5]
    assert moving_ranges([4.0]) == [None]
    assert moving_ranges([]) == []  # one per point, also when there is none


def test_a_baseline_sets_the_limits_and_the_rules_judge_the_whole_window():
    baseline = [10.0, 10.2, 9.8, 10.1, 9.9, 10.0, 10.2, 9.8]
    shifted = [10.8] * 3  # beyond 10 + 3·(1.8 / 7) / 1.128 = 10.68
    chart = analyse(baseline + shifted, SpecLimits(), baseline=len(baseline))
    assert chart.limits.n == 8 and chart.limits.centre_line == pytest.approx(10.0)
    beyond = [v.indices for v in chart.violations if v.rule is Rule.BEYOND_3_SIGMA]
    assert beyond == [(8,), (9,), (10,)]
    # Judged against their own mean instead, the same points are within limits.
    assert not [v for v in analyse(baseline + shifted, SpecLimits()).violations if v.rule is Rule.BEYOND_3_SIGMA]
