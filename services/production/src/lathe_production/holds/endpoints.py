from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from lathe_common.auth import CurrentPrincipal, requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, PATH_NOT_FOUND, problems
from lathe_common.signatures import SignatureVerifier, signature_verifier

from lathe_production.holds.rules import HoldState
from lathe_production.holds.schemas import (
    ALREADY_ON_HOLD,
    COMPONENT_NOT_FOUND,
    HOLD_NOT_FOUND,
    NOT_ON_HOLD,
    ByComponentRequest,
    ComponentHoldsPlaced,
    HoldRead,
    HoldRequest,
    ReleaseRequest,
)
from lathe_production.holds.service import Holds
from lathe_production.lots.schemas import LOT_NOT_FOUND, SERIAL_NOT_FOUND
from lathe_production.lots.service import Lots
from lathe_production.settings import settings
from lathe_production.signatures.schemas import SIGNATURE_PROBLEMS
from lathe_production.signatures.service import Signatures

lots_router = APIRouter(prefix="/lots", tags=["holds"])
serials_router = APIRouter(prefix="/serials", tags=["holds"])
router = APIRouter(prefix="/holds", tags=["holds"])

PLACE = [requires("quality:write")]
RELEASE = [requires("quality:approve")]
READ = [requires("lots:read")]
VerifierDep = Annotated[SignatureVerifier, Depends(signature_verifier)]
RELEASE_PROBLEMS = (NOT_ON_HOLD, *SIGNATURE_PROBLEMS, EVENT_TOO_LARGE)


async def _answer(holds: Holds, hold) -> HoldRead:  # noqa: ANN001 - a Hold
    return (await holds.read([hold]))[0]


@lots_router.post(
    "/{lot}/hold",
    response_model=HoldRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=PLACE,
    summary="Put a LOT on hold: no step is recorded on it or its units until released",
    responses=problems(LOT_NOT_FOUND, ALREADY_ON_HOLD, EVENT_TOO_LARGE),
)
async def hold_lot(lot: str, body: HoldRequest, session: SessionDep, principal: CurrentPrincipal) -> HoldRead:
    holds = Holds(session, settings)
    return await _answer(holds, await holds.hold_lot(lot, body.reason, principal))


@lots_router.post(
    "/{lot}/release",
    response_model=HoldRead,
    dependencies=RELEASE,
    summary="Release a LOT's hold, signed (record `hold/{hold id}/release`)",
    responses=problems(LOT_NOT_FOUND, *RELEASE_PROBLEMS),
)
async def release_lot(
    lot: str, body: ReleaseRequest, session: SessionDep, principal: CurrentPrincipal, verifier: VerifierDep
) -> HoldRead:
    holds = Holds(session, settings)
    return await _answer(holds, await holds.release_lot(lot, body, principal, Signatures(session, verifier)))


@serials_router.post(
    "/{serial_number}/hold",
    response_model=HoldRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=PLACE,
    summary="Put a unit on hold: no step is recorded on it until released",
    responses=problems(SERIAL_NOT_FOUND, ALREADY_ON_HOLD, EVENT_TOO_LARGE),
)
async def hold_serial(
    serial_number: str, body: HoldRequest, session: SessionDep, principal: CurrentPrincipal
) -> HoldRead:
    holds = Holds(session, settings)
    return await _answer(holds, await holds.hold_serial(serial_number, body.reason, principal))


@serials_router.post(
    "/{serial_number}/release",
    response_model=HoldRead,
    dependencies=RELEASE,
    summary="Release a unit's own hold, signed (record `hold/{hold id}/release`)",
    responses=problems(SERIAL_NOT_FOUND, *RELEASE_PROBLEMS),
)
async def release_serial(
    serial_number: str, body: ReleaseRequest, session: SessionDep, principal: CurrentPrincipal, verifier: VerifierDep
) -> HoldRead:
    holds = Holds(session, settings)
    signatures = Signatures(session, verifier)
    return await _answer(holds, await holds.release_serial(serial_number, body, principal, signatures))


@router.post(
    "/by-component",
    response_model=ComponentHoldsPlaced,
    status_code=status.HTTP_201_CREATED,
    dependencies=PLACE,
    summary="Hold a component and every unit containing it, at any depth of genealogy (a recall)",
    responses=problems(COMPONENT_NOT_FOUND, EVENT_TOO_LARGE),
)
async def hold_by_component(
    body: ByComponentRequest, session: SessionDep, principal: CurrentPrincipal
) -> ComponentHoldsPlaced:
    return await Holds(session, settings).hold_by_component(body.component, body.reason, principal)


@router.get(
    "",
    response_model=CursorPage[HoldRead],
    dependencies=READ,
    summary="Holds, newest first",
    responses=problems(LOT_NOT_FOUND),
)
async def list_holds(
    session: SessionDep,
    page: CursorDep,
    state: HoldState | None = None,
    lot: Annotated[str | None, Query(description="LOT id or number: its hold and its units'")] = None,
    serial_number: Annotated[str | None, Query(max_length=80)] = None,
    component: Annotated[str | None, Query(max_length=80, description="by-component holds of this component")] = None,
    placement_id: uuid.UUID | None = None,
) -> CursorPage[HoldRead]:
    lot_id = (await Lots(session, settings).find(lot)).id if lot else None
    holds = Holds(session, settings)
    found = await holds.search(
        page,
        state=state,
        lot_id=lot_id,
        serial_number=serial_number,
        component=component,
        placement_id=placement_id,
    )
    return found.answer(await holds.read(found.rows), page.limit)


# Only a uuid is a hold's id: "/holds/by-component" is not a hold to GET (its OPTIONS and 405
# answers must not offer GET), and another value is a path that is not there.
@router.get(
    "/{hold_id:uuid}",
    response_model=HoldRead,
    dependencies=READ,
    summary="A hold",
    responses=problems(HOLD_NOT_FOUND, PATH_NOT_FOUND),
)
async def get_hold(hold_id: uuid.UUID, session: SessionDep) -> HoldRead:
    holds = Holds(session, settings)
    return await _answer(holds, await holds.get(hold_id))
