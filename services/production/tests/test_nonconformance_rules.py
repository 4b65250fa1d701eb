"""Dispositions of nonconformance records: what each makes of the NCR and its unit, and what is refused."""

from __future__ import annotations

import pytest
from lathe_common.errors import Conflict, InvalidInput
from lathe_common.signatures import SignatureMeaning
from lathe_production.lots.rules import LotStatus, SerialStatus
from lathe_production.nonconformances.rules import (
    NCR_TRANSITIONS,
    REWORK_EXHAUSTED,
    Decided,
    Disposition,
    NcrStatus,
    can_move,
    decide,
    required_scope,
)

APPROVED = SignatureMeaning.APPROVED


def decided(
    disposition: Disposition,
    *,
    failed_step: int = 3,
    routing_length: int = 5,
    rework_count: int = 0,
    max_reworks: int = 3,
    ncr_status: NcrStatus = NcrStatus.OPEN,
    unit_status: SerialStatus = SerialStatus.FAILED,
    meaning: SignatureMeaning = APPROVED,
    lot_status: LotStatus = LotStatus.IN_PROGRESS,
) -> Decided:
    return decide(
        disposition,
        ncr_status=ncr_status,
        unit_status=unit_status,
        failed_step=failed_step,
        routing_length=routing_length,
        rework_count=rework_count,
        max_reworks=max_reworks,
        meaning=meaning,
        lot_status=lot_status,
    )


def test_the_ncr_status_machine():
    assert NCR_TRANSITIONS == {
        NcrStatus.OPEN: {NcrStatus.DISPOSITIONED, NcrStatus.CLOSED},
        NcrStatus.DISPOSITIONED: {NcrStatus.CLOSED},
        NcrStatus.CLOSED: set(),
    }
    assert can_move(NcrStatus.OPEN, NcrStatus.CLOSED) and not can_move(NcrStatus.CLOSED, NcrStatus.OPEN)
    assert not can_move(NcrStatus.DISPOSITIONED, NcrStatus.OPEN)


def test_rework_sends_the_unit_back_to_the_failed_step_and_counts():
    outcome = decided(Disposition.REWORK, failed_step=3, rework_count=1)
    assert outcome == Decided(NcrStatus.DISPOSITIONED, SerialStatus.IN_PROGRESS, 2, 2)
    assert not outcome.finishes_unit


@pytest.mark.parametrize(("reworks", "limit"), [(3, 3), (4, 3), (0, 0)])
def test_a_rework_beyond_the_limit_scraps_the_unit(reworks, limit):
    outcome = decided(Disposition.REWORK, failed_step=2, rework_count=reworks, max_reworks=limit)
    assert outcome == Decided(NcrStatus.CLOSED, SerialStatus.SCRAPPED, 1, reworks, REWORK_EXHAUSTED)
    assert outcome.finishes_unit


def test_scrap_closes_the_ncr_and_finishes_the_unit():
    outcome = decided(Disposition.SCRAP, failed_step=1, rework_count=2)
    assert outcome == Decided(NcrStatus.CLOSED, SerialStatus.SCRAPPED, 0, 2)
    assert outcome.finishes_unit


def test_use_as_is_lets_the_unit_go_on_as_if_it_had_passed_the_step():
    going_on = decided(Disposition.USE_AS_IS, failed_step=3, routing_length=5, rework_count=1)
    assert going_on == Decided(NcrStatus.CLOSED, SerialStatus.IN_PROGRESS, 3, 1)
    assert not going_on.finishes_unit
    last = decided(Disposition.USE_AS_IS, failed_step=5, routing_length=5)
    assert last == Decided(NcrStatus.CLOSED, SerialStatus.PASSED, 5, 0) and last.finishes_unit


@pytest.mark.parametrize("meaning", [SignatureMeaning.REVIEWED, SignatureMeaning.REJECTED])
def test_a_deviation_needs_an_approving_signature(meaning):
    with pytest.raises(InvalidInput) as refused:
        decided(Disposition.USE_AS_IS, meaning=meaning)
    assert refused.value.code == "deviation_not_approved"
    assert decided(Disposition.SCRAP, meaning=SignatureMeaning.REJECTED).unit_status is SerialStatus.SCRAPPED


def test_only_the_deviation_needs_quality_approval():
    assert required_scope(Disposition.USE_AS_IS) == "quality:approve"
    assert required_scope(Disposition.REWORK) is None and required_scope(Disposition.SCRAP) is None


@pytest.mark.parametrize("status", [NcrStatus.DISPOSITIONED, NcrStatus.CLOSED])
def test_a_decided_ncr_is_decided_once(status):
    for disposition in Disposition:
        with pytest.raises(Conflict) as refused:
            decided(disposition, ncr_status=status)
        assert (refused.value.code, refused.value.extra) == ("nonconformance_not_open", {"status": status.value})


def test_the_unit_of_an_open_ncr_must_be_failed():
    with pytest.raises(Conflict) as refused:
        decided(Disposition.SCRAP, unit_status=SerialStatus.PASSED)
    assert refused.value.code == "unit_not_failed"


@pytest.mark.parametrize("lot_status", [LotStatus.COMPLETED, LotStatus.CLOSED, LotStatus.CANCELLED])
def test_a_unit_of_a_lot_no_longer_open_can_only_be_finished(lot_status):
    for disposition in (Disposition.REWORK, Disposition.USE_AS_IS):
        with pytest.raises(Conflict) as refused:
            decided(disposition, lot_status=lot_status, failed_step=2, routing_length=5)
        assert refused.value.code == "lot_not_open"
    assert decided(Disposition.SCRAP, lot_status=lot_status).finishes_unit
    assert decided(Disposition.USE_AS_IS, lot_status=lot_status, failed_step=5, routing_length=5).finishes_unit
    exhausted = decided(Disposition.REWORK, lot_status=lot_status, rework_count=3, max_reworks=3)
    assert exhausted.code == REWORK_EXHAUSTED
