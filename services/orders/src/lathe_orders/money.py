"""Money on order lines: amounts computed by the service, never taken from the client.

Per line, in the document's currency (ISO 4217):
    amount = quantity × unit price × (1 − discount % / 100), rounded half up to the currency's minor unit
    tax    = amount × tax rate % / 100, rounded half up to the minor unit
and the document's ``subtotal`` is the sum of the amounts, ``tax_total`` the sum of the taxes,
``total`` their sum: totals are sums of rounded lines, so a document always adds up on paper.
Unit prices may carry more decimals than the currency (six); quantities six as well. All
arithmetic is ``Decimal`` at a precision far beyond any order (28 digits).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import iso4217
from lathe_common.errors import InvalidInput

HUNDRED = Decimal(100)


def minor_unit(currency: str) -> int:
    """Decimal places of ``currency`` (EUR 2, JPY 0, KWD 3); refuses codes ISO 4217 does not list or
    that have no minor unit (gold, special drawing rights: not a currency an order is priced in)."""
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        raise InvalidInput(f"{currency} is not an ISO 4217 currency code.", code="unknown_currency") from None
    if exponent is None:
        raise InvalidInput(f"{currency} has no minor unit; orders are not priced in it.", code="unknown_currency")
    return exponent


def round_to(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LinePrice:
    quantity: Decimal
    unit_price: Decimal
    tax_rate: Decimal  # percent: 19 means 19 %
    discount_percent: Decimal = Decimal(0)


@dataclass(frozen=True)
class LineAmounts:
    amount: Decimal
    tax: Decimal


@dataclass(frozen=True)
class Totals:
    subtotal: Decimal
    tax_total: Decimal
    total: Decimal


def line_amounts(line: LinePrice, currency: str) -> LineAmounts:
    gross = line.quantity * line.unit_price
    amount = round_to(gross * (HUNDRED - line.discount_percent) / HUNDRED, currency)
    return LineAmounts(amount=amount, tax=round_to(amount * line.tax_rate / HUNDRED, currency))


def totals(lines: Iterable[LineAmounts], currency: str) -> Totals:
    lines = list(lines)
    zero = round_to(Decimal(0), currency)
    subtotal = sum((line.amount for line in lines), zero)
    tax_total = sum((line.tax for line in lines), zero)
    return Totals(subtotal=subtotal, tax_total=tax_total, total=subtotal + tax_total)


# Amounts are stored as NUMERIC(20, 4) (documents.MONEY): 16 digits before the point.
MAX_AMOUNT = Decimal(10) ** 16


def check_amount_fits(amount: Decimal, *, what: str = "amount") -> None:
    """An amount the columns can hold, refused as input (422) before the database would refuse it."""
    if abs(amount) >= MAX_AMOUNT:
        raise InvalidInput(
            f"The {what} {amount} is beyond what an order can hold (below {MAX_AMOUNT:,f}).", code="amount_too_large"
        )
