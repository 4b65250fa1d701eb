from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems

from lathe_production.processes.schemas import (
    PROCESS_EXISTS,
    PROCESS_NOT_FOUND,
    ProcessCreate,
    ProcessRead,
    ProcessUpdate,
)
from lathe_production.processes.service import Processes

router = APIRouter(prefix="/processes", tags=["processes"])

READ = [requires("processes:read")]
WRITE = [requires("processes:write")]


@router.get("", response_model=Page[ProcessRead], dependencies=READ)
async def list_processes(
    session: SessionDep,
    page: PageDep,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the code or name")] = None,
) -> Page[ProcessRead]:
    rows, total = await Processes(session).search(page, is_active=is_active, q=q)
    return Page(items=[ProcessRead.model_validate(p) for p in rows], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=ProcessRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    responses=problems(PROCESS_EXISTS, EVENT_TOO_LARGE),
)
async def create_process(body: ProcessCreate, session: SessionDep) -> ProcessRead:
    return ProcessRead.model_validate(await Processes(session).create(body))


@router.get(
    "/{process}",
    response_model=ProcessRead,
    dependencies=READ,
    summary="A process by id or code",
    responses=problems(PROCESS_NOT_FOUND),
)
async def get_process(process: str, session: SessionDep) -> ProcessRead:
    return ProcessRead.model_validate(await Processes(session).find(process))


@router.patch(
    "/{process}",
    response_model=ProcessRead,
    dependencies=WRITE,
    summary="Change a process (by id or code)",
    responses=problems(PROCESS_NOT_FOUND, EVENT_TOO_LARGE),
)
async def update_process(process: str, body: ProcessUpdate, session: SessionDep) -> ProcessRead:
    return ProcessRead.model_validate(await Processes(session).update(process, body))
