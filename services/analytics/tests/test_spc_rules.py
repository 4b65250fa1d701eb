"""Nelson rules 1-4, each at its boundary: one point short does not trigger, the boundary does."""

from __future__ import annotations

from lathe_analytics.spc.rules import (
    Rule,
    Violation,
    alternating,
    beyond_limits,
    nelson_violations,
    same_side,
    trending,
)


def zigzag(n: int, low: float = 0.0, high: float = 1.0) -> list[float]:
    return [low if i % 2 == 0 else high for i in range(n)]


# Rule 1: strictly beyond centre ± 3σ (centre 0, σ 1 here).


def test_rule_1_a_point_on_the_limit_is_not_beyond_it():
    assert beyond_limits([3.0, -3.0, 0.0], centre=0.0, sigma=1.0) == []


def test_rule_1_a_point_just_beyond_either_limit_triggers_alone():
    found = beyond_limits([0.0, 3.0001, 1.0, -3.0001], centre=0.0, sigma=1.0)
    assert found == [Violation(Rule.BEYOND_3_SIGMA, (1,)), Violation(Rule.BEYOND_3_SIGMA, (3,))]


def test_rule_1_needs_a_sigma_above_zero():
    assert beyond_limits([0.0, 5.0], centre=0.0, sigma=0.0) == []
    assert beyond_limits([0.0, 5.0], centre=0.0, sigma=None) == []


# Rule 2: nine in a row on one side of the centre line.


def test_rule_2_eight_in_a_row_do_not_trigger():
    assert same_side([0.5] * 8, centre=0.0) == []
    assert same_side([-1.0, *[0.5] * 8, -1.0], centre=0.0) == []


def test_rule_2_nine_in_a_row_trigger_above_and_below():
    assert same_side([0.5] * 9, centre=0.0) == [Violation(Rule.NINE_ON_ONE_SIDE, tuple(range(9)))]
    assert same_side([1.0, *[-0.5] * 9], centre=0.0) == [Violation(Rule.NINE_ON_ONE_SIDE, tuple(range(1, 10)))]


def test_rule_2_a_longer_run_is_one_hit_with_every_point():
    assert same_side([0.5] * 12, centre=0.0) == [Violation(Rule.NINE_ON_ONE_SIDE, tuple(range(12)))]


def test_rule_2_a_point_on_the_centre_line_breaks_the_run():
    assert same_side([*[0.5] * 4, 0.0, *[0.5] * 5], centre=0.0) == []


# Rule 3: six in a row steadily increasing or decreasing (five steps in one direction).


def test_rule_3_five_rising_points_do_not_trigger():
    assert trending([1.0, 2.0, 3.0, 4.0, 5.0, 4.0]) == []


def test_rule_3_six_rising_or_six_falling_points_trigger():
    assert trending([0.0, 1.0, 2.0, 3.0, 4.0, 5.0]) == [Violation(Rule.SIX_TRENDING, (0, 1, 2, 3, 4, 5))]
    assert trending([9.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0]) == [Violation(Rule.SIX_TRENDING, (0, 1, 2, 3, 4, 5, 6))]


def test_rule_3_a_tie_breaks_the_trend():
    assert trending([1.0, 2.0, 3.0, 3.0, 4.0, 5.0, 6.0]) == []


def test_rule_3_a_rise_then_a_fall_are_two_hits_sharing_the_peak():
    found = trending([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 4.0, 3.0, 2.0, 1.0, 0.0])
    assert found == [
        Violation(Rule.SIX_TRENDING, (0, 1, 2, 3, 4, 5)),
        Violation(Rule.SIX_TRENDING, (5, 6, 7, 8, 9, 10)),
    ]


# Rule 4: fourteen in a row alternating up and down (thirteen steps, each reversing the last).


def test_rule_4_thirteen_alternating_points_do_not_trigger():
    assert alternating(zigzag(13)) == []
    assert alternating([*zigzag(13), 0.0]) == []  # the fourteenth repeats the thirteenth: a tie


def test_rule_4_fourteen_alternating_points_trigger():
    assert alternating(zigzag(14)) == [Violation(Rule.FOURTEEN_ALTERNATING, tuple(range(14)))]
    assert alternating(zigzag(14, low=1.0, high=0.0)) == [Violation(Rule.FOURTEEN_ALTERNATING, tuple(range(14)))]


def test_rule_4_two_steps_the_same_way_break_the_alternation():
    series = [*zigzag(8), 2.0, *zigzag(7, low=0.5, high=1.5)]  # 0 1 0 1 0 1 0 1 2: up, up
    assert alternating(series) == []


# All rules together.


def test_nelson_violations_orders_hits_by_first_point_then_rule():
    series = [*[1.0] * 3, *[2.0, 3.0, 4.0, 5.0, 6.0, 7.0], 30.0]
    found = nelson_violations(series, centre=0.0, sigma=3.0)
    assert [(v.rule, v.indices[0]) for v in found] == [
        (Rule.NINE_ON_ONE_SIDE, 0),
        (Rule.SIX_TRENDING, 2),
        (Rule.BEYOND_3_SIGMA, 9),
    ]
    assert found[1].indices == (2, 3, 4, 5, 6, 7, 8, 9)


def test_without_a_centre_line_only_the_shape_rules_are_judged():
    assert nelson_violations([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], centre=None, sigma=None) == [
        Violation(Rule.SIX_TRENDING, (0, 1, 2, 3, 4, 5))
    ]


def test_short_series_have_no_hits():
    assert nelson_violations([], centre=0.0, sigma=1.0) == []
    assert nelson_violations([1.0], centre=0.0, sigma=1.0) == []
