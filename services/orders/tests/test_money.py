"""Line amounts, taxes and totals: computed, rounded half up per line to the currency's minor unit."""

from decimal import Decimal as D

import pytest
from lathe_common.errors import InvalidInput
from lathe_orders.money import LineAmounts, LinePrice, line_amounts, minor_unit, round_to, totals


@pytest.mark.parametrize(
    ("currency", "places"), [("EUR", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("KWD", 3), ("BHD", 3), ("CLF", 4)]
)
def test_minor_units_come_from_iso_4217(currency, places):
    assert minor_unit(currency) == places


@pytest.mark.parametrize("code", ["ZZZ", "eur", "EU", "XAU", "XXX"])
def test_codes_iso_4217_does_not_list_or_without_a_minor_unit_are_refused(code):
    with pytest.raises(InvalidInput) as refused:
        minor_unit(code)
    assert refused.value.code == "unknown_currency"


@pytest.mark.parametrize(
    ("amount", "currency", "rounded"),
    [
        (D("0.005"), "EUR", D("0.01")),  # half up, not half even
        (D("0.015"), "EUR", D("0.02")),
        (D("0.0049"), "EUR", D("0.00")),
        (D("-0.005"), "EUR", D("-0.01")),  # away from zero
        (D("2.5"), "JPY", D("3")),
        (D("1.0005"), "KWD", D("1.001")),
    ],
)
def test_rounding_is_half_up_to_the_minor_unit(amount, currency, rounded):
    assert round_to(amount, currency) == rounded
    assert round_to(amount, currency).as_tuple().exponent == -minor_unit(currency)


def test_a_line_amount_applies_the_discount_then_rounds_and_its_tax_rounds_on_the_rounded_amount():
    line = LinePrice(quantity=D("3"), unit_price=D("19.999999"), tax_rate=D("19"), discount_percent=D("10"))
    # 3 × 19.999999 = 59.999997; −10 % = 53.9999973 → 54.00; tax 19 % of 54.00 = 10.26
    assert line_amounts(line, "EUR") == LineAmounts(amount=D("54.00"), tax=D("10.26"))


def test_totals_are_sums_of_rounded_lines():
    price = LinePrice(quantity=D("1"), unit_price=D("0.333333"), tax_rate=D("20"))
    lines = [line_amounts(price, "EUR") for _ in range(3)]  # each 0.33 and tax 0.07
    result = totals(lines, "EUR")
    assert (result.subtotal, result.tax_total, result.total) == (D("0.99"), D("0.21"), D("1.20"))


def test_zero_decimal_currencies_have_whole_amounts():
    line = line_amounts(LinePrice(quantity=D("7"), unit_price=D("1234.5"), tax_rate=D("10")), "KRW")
    assert line == LineAmounts(amount=D("8642"), tax=D("864"))  # 8641.5 → 8642; 864.2 → 864


def test_three_decimal_currencies_keep_three():
    line = line_amounts(LinePrice(quantity=D("2.5"), unit_price=D("1.2345"), tax_rate=D("5")), "KWD")
    assert line == LineAmounts(amount=D("3.086"), tax=D("0.154"))  # 3.08625 → 3.086; 0.1543 → 0.154


def test_a_full_discount_and_a_zero_rate_give_zero():
    assert line_amounts(LinePrice(D("5"), D("10"), D("0"), D("100")), "EUR") == LineAmounts(D("0.00"), D("0.00"))


def test_an_empty_document_totals_zero_in_its_minor_unit():
    assert totals([], "JPY").total == D("0") and totals([], "EUR").total == D("0.00")


def test_many_lines_add_up_exactly():
    lines = [line_amounts(LinePrice(D(n), D("0.10"), D("7.5")), "EUR") for n in range(1, 201)]
    result = totals(lines, "EUR")
    assert result.subtotal == D("2010.00")  # 0.1 × (1 + … + 200)
    assert result.tax_total == sum(line.tax for line in lines)
    assert result.total == result.subtotal + result.tax_total
