"""Holds: one active hold per LOT or unit, released only when held, announced in bounded chunks."""

from __future__ import annotations

import uuid

import pytest
from lathe_common.errors import Conflict
from lathe_production.holds.rules import HOLDS_PER_EVENT, check_can_hold, check_can_release, chunks


def test_a_held_lot_or_unit_is_not_held_twice():
    check_can_hold("LOT L1", None)
    held = uuid.uuid4()
    with pytest.raises(Conflict) as refused:
        check_can_hold("LOT L1", held)
    assert (refused.value.status, refused.value.code, refused.value.extra) == (
        409,
        "already_on_hold",
        {"hold_id": str(held)},
    )


def test_only_a_held_lot_or_unit_is_released():
    held = uuid.uuid4()
    assert check_can_release("Unit U1", held) == held
    with pytest.raises(Conflict) as refused:
        check_can_release("Unit U1", None)
    assert (refused.value.status, refused.value.code) == (409, "not_on_hold")


def test_a_placement_is_announced_in_chunks():
    holds = list(range(2 * HOLDS_PER_EVENT + 1))
    parts = list(chunks(holds))
    assert [len(p) for p in parts] == [HOLDS_PER_EVENT, HOLDS_PER_EVENT, 1]
    assert [h for p in parts for h in p] == holds
    assert list(chunks([])) == []
