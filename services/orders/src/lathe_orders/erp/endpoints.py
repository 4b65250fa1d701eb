"""``/erp-conflicts``: what planners see of ERP documents Lathe could not apply."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import StreamingResponse
from lathe_common.auth import CurrentPrincipal, requires
from lathe_common.csv_export import FormatParam, ListFormat, csv_export
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import problems

from lathe_orders.erp.conflicts import ConflictFilter, ErpConflicts, newest_first
from lathe_orders.erp.schemas import ALREADY_RESOLVED, ERP_CONFLICT_NOT_FOUND, ErpConflictRead, ErpConflictResolve

router = APIRouter(prefix="/erp-conflicts", tags=["erp"])
CSV_COLUMNS = tuple(ErpConflictRead.model_fields)
ConflictId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.get(
    "",
    response_model=CursorPage[ErpConflictRead],
    dependencies=[requires("orders:read")],
    summary="ERP documents that could not be applied, newest first",
)
async def list_erp_conflicts(
    request: Request,
    session: SessionDep,
    page: CursorDep,
    topic: Annotated[str | None, Query(max_length=128, description="e.g. lathe.erp.purchase-orders.v1")] = None,
    source: Annotated[str | None, Query(max_length=64)] = None,
    external_id: Annotated[str | None, Query(max_length=128)] = None,
    reason: Annotated[str | None, Query(max_length=64, description="e.g. supplier_not_found")] = None,
    open: Annotated[bool | None, Query(description="true: unresolved only; false: resolved only")] = None,  # noqa: A002
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
) -> CursorPage[ErpConflictRead] | StreamingResponse:
    conflicts = ErpConflicts(session)
    where = ConflictFilter(topic, source, external_id, reason, open)
    if format is ListFormat.CSV:
        return csv_export(request, newest_first(conflicts.listed(where)), CSV_COLUMNS, filename="erp-conflicts.csv")
    found = await conflicts.search(page, where)
    return found.answer([ErpConflictRead.model_validate(c) for c in found.rows], page.limit)


@router.get(
    "/{conflict_id}",
    response_model=ErpConflictRead,
    dependencies=[requires("orders:read")],
    responses=problems(ERP_CONFLICT_NOT_FOUND),
)
async def get_erp_conflict(conflict_id: ConflictId, session: SessionDep) -> ErpConflictRead:
    return ErpConflictRead.model_validate(await ErpConflicts(session).get(conflict_id))


@router.post(
    "/{conflict_id}/resolve",
    response_model=ErpConflictRead,
    dependencies=[requires("orders:approve")],
    summary="Mark a conflict as dealt with (it stays in the list, resolved)",
    responses=problems(ERP_CONFLICT_NOT_FOUND, ALREADY_RESOLVED),
)
async def resolve_erp_conflict(
    conflict_id: ConflictId, body: ErpConflictResolve, session: SessionDep, principal: CurrentPrincipal
) -> ErpConflictRead:
    resolved = await ErpConflicts(session).resolve(conflict_id, principal.username, body.note)
    return ErpConflictRead.model_validate(resolved)
