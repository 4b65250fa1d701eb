from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import CurrentPrincipal, requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.schema_rules import IsoAwareDateTime

from lathe_production.labor.schemas import (
    ENDED_BEFORE_STARTED,
    LABOR_ENTRY_TOO_LONG,
    LABOR_IN_FUTURE,
    LaborEntryCreate,
    LaborEntryRead,
)
from lathe_production.labor.service import LaborEntries
from lathe_production.lots.schemas import LOT_NOT_FOUND, SERIAL_NOT_FOUND
from lathe_production.lots.service import Lots
from lathe_production.process_data.schemas import STEP_PROCESS_INACTIVE, STEP_PROCESS_NOT_FOUND
from lathe_production.settings import settings

router = APIRouter(prefix="/labor-entries", tags=["labor"])

READ = [requires("process-data:read")]
WRITE = [requires("process-data:write")]


@router.post(
    "",
    response_model=LaborEntryRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    summary="Record someone's time on a process for a LOT or a unit",
    responses=problems(
        LOT_NOT_FOUND,
        SERIAL_NOT_FOUND,
        STEP_PROCESS_NOT_FOUND,
        STEP_PROCESS_INACTIVE,
        ENDED_BEFORE_STARTED,
        LABOR_ENTRY_TOO_LONG,
        LABOR_IN_FUTURE,
        EVENT_TOO_LARGE,
    ),
)
async def record_labor(body: LaborEntryCreate, session: SessionDep, principal: CurrentPrincipal) -> LaborEntryRead:
    return LaborEntryRead.model_validate(await LaborEntries(session, settings).record(body, principal))


@router.get(
    "",
    response_model=CursorPage[LaborEntryRead],
    dependencies=READ,
    summary="Labor entries, newest start first",
    responses=problems(LOT_NOT_FOUND),
)
async def list_labor(
    session: SessionDep,
    page: CursorDep,
    lot: Annotated[str | None, Query(max_length=64, description="LOT id or number: its entries and its units'")] = None,
    serial_number: Annotated[str | None, Query(max_length=80)] = None,
    operator: Annotated[str | None, Query(max_length=64)] = None,
    process_code: Annotated[str | None, Query(max_length=64)] = None,
    started_from: Annotated[
        IsoAwareDateTime | None, Query(alias="from", description="entries started at or after this")
    ] = None,
    started_before: Annotated[
        IsoAwareDateTime | None, Query(alias="to", description="entries started before this")
    ] = None,
) -> CursorPage[LaborEntryRead]:
    lot_id = (await Lots(session, settings).find(lot)).id if lot else None
    found = await LaborEntries(session, settings).search(
        page,
        lot_id=lot_id,
        serial_number=serial_number,
        operator=operator,
        process_code=process_code,
        started_from=started_from,
        started_before=started_before,
    )
    return found.answer([LaborEntryRead.model_validate(row) for row in found.rows], page.limit)
