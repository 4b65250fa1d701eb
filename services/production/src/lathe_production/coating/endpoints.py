from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import CurrentPrincipal, requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems

from lathe_production.coating.schemas import (
    APPLIED_IN_FUTURE,
    THICKNESS_LIMITS_FROM_PROCESS,
    THICKNESS_LIMITS_MISSING,
    CoatingLogCreate,
    CoatingLogRead,
    LotCoatingStatus,
)
from lathe_production.coating.service import CoatingLogs
from lathe_production.lots.schemas import LOT_NOT_FOUND
from lathe_production.lots.service import Lots
from lathe_production.process_data.schemas import STEP_PROCESS_INACTIVE, STEP_PROCESS_NOT_FOUND
from lathe_production.settings import settings

router = APIRouter(prefix="/coating-logs", tags=["coating"])
lots_router = APIRouter(prefix="/lots", tags=["coating"])

READ = [requires("process-data:read")]
WRITE = [requires("process-data:write")]


@router.post(
    "",
    response_model=CoatingLogRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    summary="Record a coating applied to a LOT: its thickness readings are judged against the limits",
    responses=problems(
        LOT_NOT_FOUND,
        STEP_PROCESS_NOT_FOUND,
        STEP_PROCESS_INACTIVE,
        THICKNESS_LIMITS_FROM_PROCESS,
        THICKNESS_LIMITS_MISSING,
        APPLIED_IN_FUTURE,
        EVENT_TOO_LARGE,
    ),
)
async def record_coating(body: CoatingLogCreate, session: SessionDep, principal: CurrentPrincipal) -> CoatingLogRead:
    return CoatingLogRead.model_validate(await CoatingLogs(session, settings).record(body, principal))


@router.get(
    "",
    response_model=CursorPage[CoatingLogRead],
    dependencies=READ,
    summary="Coating logs, newest application first",
    responses=problems(LOT_NOT_FOUND),
)
async def list_coating_logs(
    session: SessionDep,
    page: CursorDep,
    lot: Annotated[str | None, Query(max_length=64, description="LOT id or number")] = None,
) -> CursorPage[CoatingLogRead]:
    lot_id = (await Lots(session, settings).find(lot)).id if lot else None
    found = await CoatingLogs(session, settings).search(page, lot_id=lot_id)
    return found.answer([CoatingLogRead.model_validate(row) for row in found.rows], page.limit)


@lots_router.get(
    "/{lot}/coating-status",
    response_model=LotCoatingStatus,
    dependencies=READ,
    summary="A LOT's coating status (NOT_COATED, COATED, FAILED) with its coating logs",
    responses=problems(LOT_NOT_FOUND),
)
async def lot_coating_status(lot: str, session: SessionDep) -> LotCoatingStatus:
    return await CoatingLogs(session, settings).status_of(lot)
