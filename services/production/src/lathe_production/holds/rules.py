"""The rules of holds, free of storage.

Quality puts a LOT or a unit on hold with a reason (a suspect component LOT, a customer complaint):
no step is recorded on a held unit, nor on any unit of a held LOT, nor LOT-level data on a held LOT,
by REST (409 ``on_hold``) or by the machine topic (dead-lettered with reason ``on_hold``). A LOT or a
unit has at most one active hold; a unit of a held LOT may have its own too, and stays blocked until
both are released. A release is signed (``hold/{id}/release``) and keeps who, when, why.

Holding every unit that contains a component (``by-component``: the recall case) holds the
component itself (a unit, or a LOT whose quantity went into units) and every unit its forward
genealogy reaches, however deep, in one transaction; units already on hold keep the hold they have.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from enum import StrEnum
from typing import TypeVar

from lathe_common.errors import Conflict

T = TypeVar("T")
HOLDS_PER_EVENT = 1000


class HoldSubject(StrEnum):
    LOT = "LOT"
    SERIAL = "SERIAL"


class HoldState(StrEnum):
    ACTIVE = "ACTIVE"
    RELEASED = "RELEASED"


def check_can_hold(what: str, active_hold: uuid.UUID | None) -> None:
    if active_hold is not None:
        raise Conflict(f"{what} is on hold already.", code="already_on_hold", hold_id=str(active_hold))


def check_can_release(what: str, active_hold: uuid.UUID | None) -> uuid.UUID:
    """The active hold to release, or ``not_on_hold``."""
    if active_hold is None:
        raise Conflict(f"{what} is not on hold.", code="not_on_hold")
    return active_hold


def chunks(items: Sequence[T], size: int = HOLDS_PER_EVENT) -> Iterator[Sequence[T]]:
    """A placement's holds in events of at most ``size`` (an event stays far below Kafka's 1 MiB)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
