from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep, paginate
from sqlalchemy import select

from lathe_production.lots.models import Serial
from lathe_production.lots.service import Lots, Serials
from lathe_production.process_data.judging import StepResult
from lathe_production.process_data.models import ProcessData
from lathe_production.process_data.schemas import ProcessDataRead, StepExecution, StepRecorded
from lathe_production.process_data.service import Recorded, StepRecorder
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
    responses={200: {"description": "already recorded under this message_id: the original record"}},
)
async def record_step(body: StepExecution, session: SessionDep, response: Response) -> StepRecorded:
    recorded = await StepRecorder(session, settings).record(body)
    if recorded.replayed:
        response.status_code = status.HTTP_200_OK
    return _answer(recorded)


@router.get("", response_model=Page[ProcessDataRead], dependencies=READ)
async def list_process_data(
    session: SessionDep,
    page: PageDep,
    process_code: str | None = None,
    lot: Annotated[str | None, Query(description="LOT id or number")] = None,
    serial_number: str | None = None,
    operator: str | None = None,
    result: StepResult | None = None,
    since: Annotated[datetime | None, Query(description="completed at or after")] = None,
    until: Annotated[datetime | None, Query(description="completed before")] = None,
) -> Page[ProcessDataRead]:
    statement = select(ProcessData).order_by(ProcessData.completed_at.desc(), ProcessData.id)
    if lot:
        statement = statement.where(ProcessData.lot_id == (await Lots(session, settings).find(lot)).id)
    if serial_number:
        statement = statement.where(ProcessData.serial_id == (await Serials(session).by_number(serial_number)).id)
    for column, value in {
        ProcessData.process_code: process_code,
        ProcessData.operator: operator,
        ProcessData.result: result.value if result else None,
    }.items():
        if value is not None:
            statement = statement.where(column == value)
    if since is not None:
        statement = statement.where(ProcessData.completed_at >= since)
    if until is not None:
        statement = statement.where(ProcessData.completed_at < until)
    rows, total = await paginate(session, statement, page)
    return Page(
        items=[ProcessDataRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset
    )


@history_router.get(
    "/{serial_number}/history",
    response_model=list[ProcessDataRead],
    dependencies=READ,
    summary="Every step execution of a unit, in the order they happened",
)
async def serial_history(serial_number: str, session: SessionDep) -> list[ProcessDataRead]:
    serial: Serial = await Serials(session).by_number(serial_number)
    rows = await session.scalars(
        select(ProcessData)
        .where(ProcessData.serial_id == serial.id)
        .order_by(ProcessData.completed_at, ProcessData.recorded_at)
    )
    return [ProcessDataRead.model_validate(r) for r in rows]
