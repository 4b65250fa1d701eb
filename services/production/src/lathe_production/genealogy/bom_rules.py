"""Consumption against the BOM a unit's LOT pinned, free of storage.

A component is known by its code: a unit's or a LOT's product model code. Its BOM line is the
line of that code naming the consuming step, else the line of that code naming no step (consumed at
any step). A consumption that names no step finds only the latter. Everything a unit consumed
against a line, this request included, adds up to at most the line's ``quantity_per_unit``.

A BOM with no lines checks nothing: a plant's models have no BOMs until it gives them one, and
LOTs pinned to revisions without a BOM go on being built as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from lathe_common.errors import Conflict, InvalidInput, LatheError

from lathe_production.product_models.rules import BomKey, BomLine, bom_key


class BomCheck(StrEnum):
    ENFORCE = "enforce"  # a deviation refuses the consumption
    WARN = "warn"  # a deviation is recorded with it (components.bom_deviation, the event) and let through
    OFF = "off"


@dataclass(frozen=True)
class Draw:
    """Some quantity of one component, consumed (or asked for) at a step."""

    component_code: str
    process_code: str | None
    quantity: Decimal


@dataclass(frozen=True)
class BomDeviation:
    code: str  # component_not_on_bom | bom_quantity_exceeded
    component_code: str
    process_code: str | None
    detail: str
    extra: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "component_code": self.component_code,
            "process_code": self.process_code,
            "detail": self.detail,
        }

    def error(self) -> LatheError:
        kind = InvalidInput if self.code == "component_not_on_bom" else Conflict
        return kind(self.detail, code=self.code, component_code=self.component_code, **self.extra)


def bom_line_for(lines: list[BomLine], component_code: str, process_code: str | None) -> BomLine | None:
    anywhere = None
    for line in lines:
        if line["component_code"] != component_code:
            continue
        step = line.get("process_code")
        if step is None:
            anywhere = line
        elif step == process_code:
            return line
    return anywhere


def bom_deviations(lines: list[BomLine], *, consumed: Iterable[Draw], wanted: Iterable[Draw]) -> list[BomDeviation]:
    """What ``wanted`` breaks of the BOM, given what the unit ``consumed`` before; components not on
    the BOM first, then quantities beyond a line's, each line once."""
    if not lines:
        return []
    used: dict[BomKey, Decimal] = defaultdict(Decimal)
    for draw in consumed:
        line = bom_line_for(lines, draw.component_code, draw.process_code)
        if line is not None:
            used[bom_key(line)] += draw.quantity
    asked: dict[BomKey, Decimal] = defaultdict(Decimal)
    found: list[BomDeviation] = []
    for draw in wanted:
        line = bom_line_for(lines, draw.component_code, draw.process_code)
        if line is None:
            found.append(_not_on_bom(lines, draw))
        else:
            asked[bom_key(line)] += draw.quantity
    by_key = {bom_key(line): line for line in lines}
    for key, quantity in asked.items():
        allowed = Decimal(by_key[key]["quantity_per_unit"])
        if used[key] + quantity > allowed:
            code, step = key
            where = f" at {step}" if step else ""
            limit, had, more = _plain(allowed), _plain(used[key]), _plain(quantity)
            found.append(
                BomDeviation(
                    code="bom_quantity_exceeded",
                    component_code=code,
                    process_code=step,
                    detail=(
                        f"The BOM allows {limit} {by_key[key]['unit']} of {code}{where} per unit; the unit has "
                        f"{had} and asks for {more} more."
                    ),
                    extra={
                        "process_code": step,
                        "quantity_per_unit": limit,
                        "consumed_quantity": had,
                        "requested_quantity": more,
                    },
                )
            )
    return found


def _plain(quantity: Decimal) -> str:
    """As BOM lines spell quantities: 2, 0.5 (stored quantities carry four decimals)."""
    return format(quantity.normalize(), "f")


def _not_on_bom(lines: list[BomLine], draw: Draw) -> BomDeviation:
    steps = sorted(line["process_code"] for line in lines if line["component_code"] == draw.component_code)
    if steps:
        at = f" at {draw.process_code}" if draw.process_code else " without naming the step (process_code)"
        detail = f"{draw.component_code} is on the BOM for {', '.join(steps)} only, not{at}."
    else:
        detail = f"{draw.component_code} is not on the unit's BOM."
    return BomDeviation(
        code="component_not_on_bom",
        component_code=draw.component_code,
        process_code=draw.process_code,
        detail=detail,
        extra={"process_code": draw.process_code, "bom_processes": steps},
    )


def judge(mode: BomCheck, deviations: list[BomDeviation]) -> list[BomDeviation]:
    """Refuses the first deviation when enforcing; otherwise returns those to record."""
    if not deviations or mode is BomCheck.OFF:
        return []
    if mode is BomCheck.ENFORCE:
        raise deviations[0].error()
    return deviations
