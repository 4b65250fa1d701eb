"""Product definition rules, free of storage: revision labels, what makes a BOM sound, and what a
revision changed.

BOM lines are handled in their JSON form (as stored and announced): ``component_code``,
``description``, ``quantity_per_unit`` (a decimal string), ``unit``, ``reference_designators``
(a list, empty when not given) and ``process_code`` (None: consumed at any step). A line is known
by its component and step: one component may be consumed at several steps, once per step.
"""

from __future__ import annotations

import string
from decimal import Decimal
from typing import Any

from lathe_common.errors import InvalidInput

# A BOM is announced whole in the model's events, twice in a change (before and after): these
# bounds keep such an event well below Kafka's 1 MiB.
MAX_BOM_LINES = 500
MAX_DESIGNATORS_PER_LINE = 1000
MAX_DESIGNATORS_PER_BOM = 5000
MAX_REVISION_LABEL = 8  # lots.revision and product_model_revisions.revision are String(8)

BomLine = dict[str, Any]
BomKey = tuple[str, str | None]


# -- revision labels -------------------------------------------------------------------------


def revision_label(number: int) -> str:
    """1 → A, 26 → Z, 27 → AA, 52 → AZ, 53 → BA, 702 → ZZ, 703 → AAA (as spreadsheet columns)."""
    if number < 1:
        raise ValueError("revisions are numbered from 1")
    letters = []
    while number:
        number, rest = divmod(number - 1, 26)
        letters.append(string.ascii_uppercase[rest])
    return "".join(reversed(letters))


def revision_number(label: str) -> int | None:
    """The number of a label (``revision_label``'s inverse), or None when it is not a label."""
    if not 0 < len(label) <= MAX_REVISION_LABEL or any(c not in string.ascii_uppercase for c in label):
        return None
    number = 0
    for letter in label:
        number = number * 26 + string.ascii_uppercase.index(letter) + 1
    return number


# -- BOM soundness ---------------------------------------------------------------------------


def bom_key(line: BomLine) -> BomKey:
    return line["component_code"], line.get("process_code")


def _where(line: BomLine) -> str:
    step = line.get("process_code")
    return f"{line['component_code']} at {step}" if step else line["component_code"]


def check_bom(lines: list[BomLine], *, routing: list[str], model_code: str) -> None:
    """What a schema cannot say about a BOM: each line once, no designator twice, designators that
    count the quantity, steps of the model's own routing, and not the model inside itself."""
    if len(lines) > MAX_BOM_LINES:
        raise InvalidInput(f"A BOM has at most {MAX_BOM_LINES} lines.", code="bom_too_large", max_lines=MAX_BOM_LINES)
    if sum(len(line.get("reference_designators") or []) for line in lines) > MAX_DESIGNATORS_PER_BOM:
        raise InvalidInput(
            f"A BOM has at most {MAX_DESIGNATORS_PER_BOM} reference designators.",
            code="bom_too_large",
            max_designators=MAX_DESIGNATORS_PER_BOM,
        )
    keys: dict[BomKey, int] = {}
    designators: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        key = bom_key(line)
        if key in keys:
            raise InvalidInput(
                f"BOM lines {keys[key]} and {number} are both {_where(line)}; give the quantity on one line.",
                code="duplicate_bom_line",
                component_code=key[0],
                process_code=key[1],
                lines=[keys[key], number],
            )
        keys[key] = number
        if line["component_code"] == model_code:
            raise InvalidInput(
                f"BOM line {number}: {model_code} cannot be a component of itself.",
                code="bom_contains_itself",
                line=number,
            )
        step = line.get("process_code")
        if step is not None and step not in routing:
            raise InvalidInput(
                f"BOM line {number} is consumed at {step}, which is not in the routing.",
                code="bom_process_not_in_routing",
                line=number,
                process_code=step,
                routing=routing,
            )
        placed = line.get("reference_designators") or []
        for designator in placed:
            upper = designator.upper()  # R1 and r1 are the same place on a board
            if upper in designators:
                raise InvalidInput(
                    f"Reference designator {designator} appears twice (BOM lines {designators[upper]} and {number}).",
                    code="duplicate_reference_designator",
                    designator=designator,
                    lines=sorted({designators[upper], number}),
                )
            designators[upper] = number
        if placed and Decimal(len(placed)) != Decimal(line["quantity_per_unit"]):
            raise InvalidInput(
                f"BOM line {number} places {len(placed)} parts (reference designators) but its quantity per "
                f"unit is {line['quantity_per_unit']}.",
                code="designator_count_mismatch",
                line=number,
            )


# -- what a revision changed -----------------------------------------------------------------


def routing_diff(before: list[str], after: list[str]) -> dict[str, Any] | None:
    """None when the routing is the same; otherwise both sequences and the processes that came and went
    (a reordering adds and removes nothing: compare ``before`` and ``after``)."""
    if before == after:
        return None
    return {
        "before": before,
        "after": after,
        "added": [code for code in after if code not in before],
        "removed": [code for code in before if code not in after],
    }


def bom_diff(before: list[BomLine], after: list[BomLine]) -> dict[str, Any] | None:
    """Lines added, removed and changed (matched by component and step), or None when the BOM is the
    same. The order of lines is not a change: a BOM is what goes into a unit, not a list to read."""
    old = {bom_key(line): line for line in before}
    new = {bom_key(line): line for line in after}
    changed = []
    for key, line in new.items():
        if key in old and old[key] != line:
            fields = sorted(f for f in old[key].keys() | line.keys() if old[key].get(f) != line.get(f))
            changed.append(
                {
                    "component_code": key[0],
                    "process_code": key[1],
                    "before": {f: old[key].get(f) for f in fields},
                    "after": {f: line.get(f) for f in fields},
                }
            )
    added = [line for key, line in new.items() if key not in old]
    removed = [line for key, line in old.items() if key not in new]
    if not (added or removed or changed):
        return None
    return {"added": added, "removed": removed, "changed": changed}


def revision_changes(routing: tuple[list[str], list[str]], bom: tuple[list[BomLine], list[BomLine]]) -> dict[str, Any]:
    """What a revision changed against the one before (for the first revision: against nothing)."""
    return {"routing": routing_diff(*routing), "bom": bom_diff(*bom)}
