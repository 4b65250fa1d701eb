from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from lathe_common.auth import CurrentPrincipal, requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.signatures import SignatureVerifier, signature_verifier

from lathe_production.lots.schemas import LOT_NOT_FOUND
from lathe_production.lots.service import Lots
from lathe_production.nonconformances.rules import NcrStatus
from lathe_production.nonconformances.schemas import (
    DEVIATION_NOT_APPROVED,
    DISPOSITION_LOT_NOT_OPEN,
    NONCONFORMANCE_NOT_FOUND,
    NONCONFORMANCE_NOT_OPEN,
    UNIT_NOT_FAILED,
    DispositionRequest,
    NonconformanceRead,
)
from lathe_production.nonconformances.service import Nonconformances
from lathe_production.settings import settings
from lathe_production.signatures.schemas import SIGNATURE_PROBLEMS
from lathe_production.signatures.service import Signatures

router = APIRouter(prefix="/nonconformances", tags=["nonconformances"])

READ = [requires("process-data:read")]
VerifierDep = Annotated[SignatureVerifier, Depends(signature_verifier)]


@router.get(
    "",
    response_model=CursorPage[NonconformanceRead],
    dependencies=READ,
    summary="Nonconformance records (NCRs), newest first",
    responses=problems(LOT_NOT_FOUND),
)
async def list_nonconformances(
    session: SessionDep,
    page: CursorDep,
    serial_number: Annotated[str | None, Query(max_length=80)] = None,
    lot: Annotated[str | None, Query(description="LOT id or number")] = None,
    status: NcrStatus | None = None,
) -> CursorPage[NonconformanceRead]:
    lot_id = (await Lots(session, settings).find(lot)).id if lot else None
    ncrs = Nonconformances(session)
    found = await ncrs.search(page, serial_number=serial_number, lot_id=lot_id, status=status)
    return found.answer(await ncrs.read(found.rows), page.limit)


@router.get(
    "/{ncr_id}",
    response_model=NonconformanceRead,
    dependencies=READ,
    summary="A nonconformance record, with its disposition's signature",
    responses=problems(NONCONFORMANCE_NOT_FOUND),
)
async def get_nonconformance(ncr_id: uuid.UUID, session: SessionDep) -> NonconformanceRead:
    ncrs = Nonconformances(session)
    return (await ncrs.read([await ncrs.get(ncr_id)]))[0]


@router.post(
    "/{ncr_id}/disposition",
    response_model=NonconformanceRead,
    dependencies=[requires("quality:write")],
    summary="Decide what becomes of the failed unit (REWORK, SCRAP, or USE_AS_IS: needs quality:approve), signed",
    responses=problems(
        NONCONFORMANCE_NOT_FOUND,
        NONCONFORMANCE_NOT_OPEN,
        UNIT_NOT_FAILED,
        DEVIATION_NOT_APPROVED,
        DISPOSITION_LOT_NOT_OPEN,
        *SIGNATURE_PROBLEMS,
        EVENT_TOO_LARGE,
    ),
)
async def dispose(
    ncr_id: uuid.UUID, body: DispositionRequest, session: SessionDep, principal: CurrentPrincipal, verifier: VerifierDep
) -> NonconformanceRead:
    ncrs = Nonconformances(session)
    ncr = await ncrs.dispose(
        ncr_id, body, principal=principal, signatures=Signatures(session, verifier), settings=settings
    )
    return (await ncrs.read([ncr]))[0]
