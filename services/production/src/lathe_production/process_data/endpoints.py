from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.schema_rules import IsoDateTime

from lathe_production.lots.schemas import LOT_NOT_FOUND, LOT_NOT_OPEN, ON_HOLD, SERIAL_NOT_FOUND, UNIT_CLOSED
from lathe_production.process_data.history import StepFilter, StepHistory
from lathe_production.process_data.judging import StepResult
from lathe_production.process_data.schemas import (
    INVALID_MEASUREMENT,
    PROCESS_NOT_IN_ROUTING,
    SERIAL_NOT_IN_LOT,
    STEP_EXECUTION_RULES,
    STEP_OUT_OF_ORDER,
    STEP_PROCESS_INACTIVE,
    STEP_PROCESS_NOT_FOUND,
    ProcessDataRead,
    StepExecution,
    StepRecorded,
)
from lathe_production.process_data.service import Recorded, StepRecorder
from lathe_production.processes.schemas import PROCESS_NOT_FOUND
from lathe_production.settings import settings

router = APIRouter(prefix="/process-data", tags=["process data"])
history_router = APIRouter(prefix="/serials", tags=["serials"])

READ = [requires("process-data:read")]


def _answer(recorded: Recorded) -> StepRecorded:
    serial = recorded.serial
    return StepRecorded(
        **ProcessDataRead.model_validate(recorded.data).model_dump(),
        serial_number=serial.serial_number if serial else None,
        serial_status=serial.status if serial else None,
        rework_count=serial.rework_count if serial else None,
        lot_status=recorded.lot.status,
    )


@router.post(
    "",
    response_model=StepRecorded,
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires("process-data:write")],
    summary="Record a step execution (same shape as the machine topic's messages)",
    openapi_extra={"requestBody": {"content": {"application/json": {"schema": STEP_EXECUTION_RULES}}}},
    responses={
        200: {"description": "already recorded under this message_id: the original record"},
        **problems(
            STEP_PROCESS_NOT_FOUND,
            LOT_NOT_FOUND,
            SERIAL_NOT_FOUND,
            STEP_PROCESS_INACTIVE,
            SERIAL_NOT_IN_LOT,
            INVALID_MEASUREMENT,
            PROCESS_NOT_IN_ROUTING,
            LOT_NOT_OPEN,
            STEP_OUT_OF_ORDER,
            *UNIT_CLOSED,
            ON_HOLD,
            EVENT_TOO_LARGE,
        ),
    },
)
async def record_step(body: StepExecution, session: SessionDep, response: Response) -> StepRecorded:
    recorded = await StepRecorder(session, settings).record(body)
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    return _answer(recorded)


@router.get(
    "",
    response_model=CursorPage[ProcessDataRead],
    dependencies=READ,
    summary="Step executions, newest first",
    responses=problems(LOT_NOT_FOUND, SERIAL_NOT_FOUND, PROCESS_NOT_FOUND),
)
async def list_process_data(
    session: SessionDep,
    page: CursorDep,
    process_code: str | None = None,
    lot: Annotated[str | None, Query(description="LOT id or number")] = None,
    serial_number: str | None = None,
    operator: str | None = None,
    result: StepResult | None = None,
    since: Annotated[IsoDateTime | None, Query(description="completed at or after")] = None,
    until: Annotated[IsoDateTime | None, Query(description="completed before")] = None,
) -> CursorPage[ProcessDataRead]:
    where = StepFilter(process_code, lot, serial_number, operator, result, since, until)
    found = await StepHistory(session).search(page, where)
    return found.answer([ProcessDataRead.model_validate(r) for r in found.rows], page.limit)


@history_router.get(
    "/{serial_number}/history",
    response_model=list[ProcessDataRead],
    dependencies=READ,
    summary="Every step execution of a unit, in the order they happened",
    responses=problems(SERIAL_NOT_FOUND),
)
async def serial_history(serial_number: str, session: SessionDep) -> list[ProcessDataRead]:
    return [ProcessDataRead.model_validate(r) for r in await StepHistory(session).of_serial(serial_number)]
