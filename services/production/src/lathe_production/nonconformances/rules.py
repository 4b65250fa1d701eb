"""The rules of nonconformance records (NCRs), free of storage.

A FAIL of a unit's step opens an NCR (OPEN) in the step's transaction; the unit is FAILED and runs no
step until quality decides the NCR's disposition, with an electronic signature:

- REWORK: the unit goes back to the failed step: IN_PROGRESS, its routing position just before that
  step (as after the FAIL), one more rework counted. The NCR is DISPOSITIONED until the unit's next
  step is recorded, which closes it whatever its result (a FAIL opens the unit's next NCR). A REWORK
  of a unit that has used up its reworks (``max_reworks``) scraps it instead: SCRAPPED with code
  ``rework_exhausted``, the NCR CLOSED.
- SCRAP: the unit is SCRAPPED; the NCR CLOSED.
- USE_AS_IS: a deviation, approved (``quality:approve``, meaning ``approved``): the unit goes on as
  if it had passed the failed step: its routing position moves past it, PASSED if it was the last
  step of its routing, IN_PROGRESS otherwise; its rework count is unchanged. The failed execution
  stays on record as FAIL (yields and first-pass yield count it so). The NCR is CLOSED.

A disposition that finishes the unit (SCRAPPED or PASSED) counts it in its LOT's finished units (a
FAILED unit is not finished: its LOT completes only once every unit is PASSED or SCRAPPED); one that
leaves it with steps to run needs its LOT open (CREATED or IN_PROGRESS).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lathe_common.errors import Conflict, InvalidInput
from lathe_common.signatures import SignatureMeaning

from lathe_production.lots.rules import DONE, OPEN_LOT_STATUSES, LotStatus, SerialStatus


class NcrStatus(StrEnum):
    OPEN = "OPEN"
    DISPOSITIONED = "DISPOSITIONED"  # REWORK decided, the rework step not yet recorded
    CLOSED = "CLOSED"


NCR_TRANSITIONS: dict[NcrStatus, frozenset[NcrStatus]] = {
    NcrStatus.OPEN: frozenset({NcrStatus.DISPOSITIONED, NcrStatus.CLOSED}),
    NcrStatus.DISPOSITIONED: frozenset({NcrStatus.CLOSED}),
    NcrStatus.CLOSED: frozenset(),
}


class Disposition(StrEnum):
    REWORK = "REWORK"
    SCRAP = "SCRAP"
    USE_AS_IS = "USE_AS_IS"


REWORK_EXHAUSTED = "rework_exhausted"
DEVIATION_SCOPE = "quality:approve"  # USE_AS_IS; the route itself needs quality:write


def required_scope(disposition: Disposition) -> str | None:
    """The scope a disposition needs beyond its route's (``quality:write``)."""
    return DEVIATION_SCOPE if disposition is Disposition.USE_AS_IS else None


def can_move(current: NcrStatus, new: NcrStatus) -> bool:
    return new in NCR_TRANSITIONS[current]


@dataclass(frozen=True)
class Decided:
    """What a disposition makes of the NCR and of its unit."""

    ncr_status: NcrStatus
    unit_status: SerialStatus
    current_step: int  # routing steps the unit has completed
    rework_count: int
    code: str | None = None

    @property
    def finishes_unit(self) -> bool:
        return self.unit_status in DONE


def decide(
    disposition: Disposition,
    *,
    ncr_status: NcrStatus,
    unit_status: SerialStatus,
    failed_step: int,
    routing_length: int,
    rework_count: int,
    max_reworks: int,
    meaning: SignatureMeaning,
    lot_status: LotStatus,
) -> Decided:
    """The disposition's outcome, or the rule it breaks."""
    if ncr_status is not NcrStatus.OPEN:
        raise Conflict(
            f"The nonconformance is {ncr_status}: its disposition was decided already.",
            code="nonconformance_not_open",
            status=ncr_status.value,
        )
    if unit_status is not SerialStatus.FAILED:
        # An OPEN NCR's unit is FAILED by construction; anything else is data written by hand.
        raise Conflict(f"The unit is {unit_status}, not FAILED.", code="unit_not_failed", unit_status=unit_status.value)
    if disposition is Disposition.USE_AS_IS and meaning is not SignatureMeaning.APPROVED:
        raise InvalidInput(
            "Using a failed unit as is is a deviation: it needs a signature meaning 'approved'.",
            code="deviation_not_approved",
        )
    position = failed_step - 1  # where the FAIL left the unit
    if disposition is Disposition.SCRAP:
        decided = Decided(NcrStatus.CLOSED, SerialStatus.SCRAPPED, position, rework_count)
    elif disposition is Disposition.REWORK and rework_count >= max_reworks:
        decided = Decided(NcrStatus.CLOSED, SerialStatus.SCRAPPED, position, rework_count, REWORK_EXHAUSTED)
    elif disposition is Disposition.REWORK:
        decided = Decided(NcrStatus.DISPOSITIONED, SerialStatus.IN_PROGRESS, position, rework_count + 1)
    else:
        last = failed_step >= routing_length
        status = SerialStatus.PASSED if last else SerialStatus.IN_PROGRESS
        decided = Decided(NcrStatus.CLOSED, status, failed_step, rework_count)
    if not decided.finishes_unit and lot_status not in OPEN_LOT_STATUSES:
        raise Conflict(
            f"The unit's LOT is {lot_status}: it runs no more steps, so the unit can only be scrapped.",
            code="lot_not_open",
        )
    return decided
