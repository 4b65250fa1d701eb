"""Sales-order rules, free of storage: what may change once an order is confirmed, which units may
ship on a line, how many serial numbers a quantity takes, when a return must name its units, and
fulfilment per line and in total (built on ``fulfilment.LineMovements``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from lathe_common.errors import Conflict, InvalidInput, NotFound

from lathe_orders.fulfilment import ZERO, LineMovements, ShipmentState, shipment_state
from lathe_orders.lifecycles import EDITABLE_SALES_ORDER, SalesOrderStatus

# After confirmation the customer holds Lathe to these: the price, what is sold and to whom.
# Dates, quantities (never below what shipped) and new lines may still change.
LOCKED_HEADER_FIELDS = frozenset({"customer_code", "currency"})
LOCKED_LINE_FIELDS = frozenset(
    {"model_code", "unit", "conversion_factor", "unit_price", "tax_rate", "discount_percent"}
)
PASSED = "PASSED"


def check_editable(status: SalesOrderStatus) -> None:
    if status not in EDITABLE_SALES_ORDER:
        raise Conflict(f"A {status} sales order cannot be changed.", code="not_editable", current_status=status.value)


def check_changes_allowed(
    status: SalesOrderStatus,
    *,
    header: Iterable[str],
    lines: Mapping[int, Iterable[str]],
    removed: Iterable[int] = (),
) -> None:
    """Drafts change freely; a confirmed order keeps its customer, currency, lines and their prices."""
    check_editable(status)
    if status is SalesOrderStatus.DRAFT:
        return
    locked = sorted(set(header) & LOCKED_HEADER_FIELDS)
    locked += [
        f"lines[{no}].{name}" for no, names in sorted(lines.items()) for name in sorted(set(names) & LOCKED_LINE_FIELDS)
    ]
    locked += [f"lines[{no}]" for no in sorted(removed)]
    if locked:
        raise Conflict(
            "A confirmed sales order keeps its customer, currency, lines, items and prices; "
            "dates, quantities and new lines may change.",
            code="locked_after_confirmation",
            fields=locked,
        )


def check_serial_count(line_no: int, quantity: Decimal, conversion_factor: Decimal, serials: int) -> None:
    """One serial number per stock unit: ``quantity`` in the line's unit times its conversion factor."""
    expected = quantity * conversion_factor
    if serials != expected:
        raise InvalidInput(
            f"Line {line_no}: {quantity} takes {expected.normalize():f} serial numbers, not {serials}.",
            code="serial_count_mismatch",
            line_no=line_no,
            expected=f"{expected.normalize():f}",
            given=serials,
        )


def check_distinct(values: Sequence[object], *, code: str, what: str) -> None:
    """A request names each line / unit once."""
    seen: set[object] = set()
    repeated = [v for v in values if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
    if repeated:
        raise InvalidInput(
            f"Each {what} may appear once in a request: {repeated[0]} repeats.", code=code, repeated=repeated
        )


@dataclass(frozen=True)
class UnitFacts:
    """A unit as production announced it (orders' projection): its status and model."""

    serial_number: str
    status: str
    model_code: str | None


def check_units_shippable(model_code: str, serials: Sequence[str], units: Mapping[str, UnitFacts]) -> None:
    """Each unit exists, is of the line's model and PASSED (its model is checked first: a unit of
    another model never ships on this line, whatever its status)."""
    missing = [s for s in serials if s not in units]
    if missing:
        raise NotFound(
            f"Production never announced a unit {missing[0]}.",
            code="serial_not_found",
            serial_number=missing[0],
            serial_numbers=missing,
        )
    known = [units[s] for s in serials]
    wrong = [u for u in known if u.model_code is not None and u.model_code != model_code]
    if wrong:
        raise Conflict(
            f"The unit {wrong[0].serial_number} is a {wrong[0].model_code}, not a {model_code}.",
            code="wrong_model",
            serial_number=wrong[0].serial_number,
            model_code=wrong[0].model_code,
            expected_model_code=model_code,
            units=[{"serial_number": u.serial_number, "model_code": u.model_code} for u in wrong],
        )
    not_passed = [u for u in known if u.status != PASSED]
    if not_passed:
        raise Conflict(
            f"The unit {not_passed[0].serial_number} is {not_passed[0].status}: only PASSED units ship.",
            code="unit_not_passed",
            serial_number=not_passed[0].serial_number,
            unit_status=not_passed[0].status,
            units=[{"serial_number": u.serial_number, "status": u.status} for u in not_passed],
        )
    unknown_model = [u for u in known if u.model_code is None]
    if unknown_model:  # PASSED without a model: never seen, but never shipped unchecked either
        raise Conflict(
            f"The model of the unit {unknown_model[0].serial_number} is not known.",
            code="wrong_model",
            serial_number=unknown_model[0].serial_number,
            model_code=None,
            expected_model_code=model_code,
            units=[{"serial_number": u.serial_number, "model_code": None} for u in unknown_model],
        )


def check_return_without_serials(line_no: int, line: LineMovements, units_out: int, quantity: Decimal) -> None:
    """Units that shipped by serial number come back by serial number: a return that names none can
    take back only what shipped without them."""
    without = line.net - units_out
    if quantity > without:
        raise Conflict(
            f"Line {line_no} has {units_out} units out by serial number; name the ones coming back.",
            code="serial_numbers_required",
            line_no=line_no,
            units_out=units_out,
            returnable_without_serial_numbers=f"{max(without, ZERO).normalize():f}",
        )


def check_line_closable(line_no: int, line: LineMovements, reason: str | None) -> None:
    """SalesOrderClosing one line is closing it short: it has something open, and a reason."""
    if line.closed_short:
        raise Conflict(f"Line {line_no} is closed already.", code="line_closed", line_no=line_no)
    if line.open_balance == 0:
        raise Conflict(f"Line {line_no} has nothing open to close.", code="line_fulfilled", line_no=line_no)
    if not (reason and reason.strip()):
        raise InvalidInput(
            f"Line {line_no} still has an open balance: give a reason to close it short.", code="reason_required"
        )


@dataclass(frozen=True)
class LineFacts:
    """One line for fulfilment: what moved, and what production made for it."""

    movements: LineMovements
    produced: Decimal = ZERO  # good units of the work orders linked to the line
    in_production: bool = False  # a linked work order is released or in progress
    promised_date: date | None = None


@dataclass(frozen=True)
class Fulfilment:
    ordered: Decimal
    shipped: Decimal
    returned: Decimal
    closed_short: Decimal
    open_balance: Decimal
    produced: Decimal
    shipment_state: ShipmentState


def _expected(line: LineFacts, status: SalesOrderStatus) -> LineMovements:
    """A closed order expects nothing more of any line (the open ones were closed short with it)."""
    return replace(line.movements, closed_short=True) if status is SalesOrderStatus.CLOSED else line.movements


def _closed_short(line: LineFacts) -> Decimal:
    m = line.movements
    return max(m.ordered - m.net, ZERO) if m.closed_short else ZERO


def _open(line: LineFacts, status: SalesOrderStatus) -> Decimal:
    return ZERO if status is SalesOrderStatus.CANCELLED else _expected(line, status).open_balance


def line_fulfilment(line: LineFacts, status: SalesOrderStatus) -> Fulfilment:
    return order_fulfilment([line], status)


def order_fulfilment(lines: Sequence[LineFacts], status: SalesOrderStatus) -> Fulfilment:
    """Sums over the lines, and the shipment state: IN_PRODUCTION while nothing shipped and a linked
    work order is released or in progress."""
    return Fulfilment(
        ordered=sum((line.movements.ordered for line in lines), ZERO),
        shipped=sum((line.movements.moved for line in lines), ZERO),
        returned=sum((line.movements.returned for line in lines), ZERO),
        closed_short=sum((_closed_short(line) for line in lines), ZERO),
        open_balance=sum((_open(line, status) for line in lines), ZERO),
        produced=sum((line.produced for line in lines), ZERO),
        shipment_state=shipment_state(
            [_expected(line, status) for line in lines], in_production=any(line.in_production for line in lines)
        ),
    )


def line_overdue(line: LineFacts, status: SalesOrderStatus, today: date) -> bool:
    """Promised before today (in the plant's time zone) and still open on a confirmed order."""
    return (
        status is SalesOrderStatus.CONFIRMED
        and line.promised_date is not None
        and line.promised_date < today
        and _open(line, status) > 0
    )
