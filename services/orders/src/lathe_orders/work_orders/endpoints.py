"""``/work-orders``: the document (ETag / If-Match), its lifecycle, its change log and the list."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from lathe_common.auth import Principal, requires
from lathe_common.csv_export import FormatParam, ListFormat, csv_export
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.schema_rules import IsoDate

from lathe_orders.documents import etag
from lathe_orders.lifecycles import Priority, WorkOrderStatus
from lathe_orders.work_orders.models import WorkOrder
from lathe_orders.work_orders.schemas import (
    INACTIVE_PRODUCT_MODEL,
    INVALID_STATUS_TRANSITION,
    LOCKED_AFTER_RELEASE,
    NOT_A_DRAFT,
    NOT_EDITABLE,
    PLANNED_START_AFTER_DUE_DATE,
    PRECONDITIONS,
    PRODUCT_MODEL_NOT_FOUND,
    QUANTITY_BELOW_DONE,
    REASON_REQUIRED,
    SALES_ORDER_LINE_MODEL_MISMATCH,
    SALES_ORDER_LINE_NOT_FOUND,
    WORK_ORDER_NOT_FOUND,
    DocumentChangeRead,
    WorkOrderClose,
    WorkOrderCreate,
    WorkOrderRead,
    WorkOrderUpdate,
)
from lathe_orders.work_orders.service import WorkOrderFilters, WorkOrders

router = APIRouter(prefix="/work-orders", tags=["work orders"])

Reader = Annotated[Principal, requires("orders:read")]
Writer = Annotated[Principal, requires("work-orders:write")]
Approver = Annotated[Principal, requires("orders:approve")]
IfMatch = Annotated[str | None, Header(description="the ETag of the work order as you read it")]
WorkOrderKey = Annotated[str, Path(description="id or number (WO-000001)")]

CSV_COLUMNS = (
    "number",
    "status",
    "model_code",
    "quantity",
    "quantity_good",
    "quantity_scrapped",
    "quantity_in_progress",
    "progress_percent",
    "priority",
    "due_date",
    "planned_start",
    "overdue",
    "sales_order_line_id",
    "released_at",
    "started_at",
    "completed_at",
    "closed_at",
    "close_reason",
    "external_source",
    "external_id",
    "created_at",
)
MODEL_REFUSALS = (PRODUCT_MODEL_NOT_FOUND, INACTIVE_PRODUCT_MODEL)
LINE_REFUSALS = (SALES_ORDER_LINE_NOT_FOUND, SALES_ORDER_LINE_MODEL_MISMATCH)
ACTION_REFUSALS = (WORK_ORDER_NOT_FOUND, INVALID_STATUS_TRANSITION, *PRECONDITIONS, EVENT_TOO_LARGE)


async def _answer(work_orders: WorkOrders, wo: WorkOrder, response: Response) -> WorkOrderRead:
    response.headers["ETag"] = etag(wo.version)
    return WorkOrderRead.of(wo, await work_orders.today())


@router.post(
    "",
    response_model=WorkOrderRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(*MODEL_REFUSALS, *LINE_REFUSALS, PLANNED_START_AFTER_DUE_DATE, EVENT_TOO_LARGE),
    summary="A work order, in DRAFT (the model must be one production announced, and active)",
)
async def create_work_order(
    body: WorkOrderCreate, session: SessionDep, principal: Writer, response: Response
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    wo = await work_orders.create(body, actor=principal.username)
    response.headers["Location"] = f"/api/v1/work-orders/{wo.number}"
    return await _answer(work_orders, wo, response)


@router.get(
    "",
    response_model=CursorPage[WorkOrderRead],
    summary="Work orders, newest first (`?format=csv`: every match as CSV)",
)
async def list_work_orders(
    request: Request,
    session: SessionDep,
    _: Reader,
    page: CursorDep,
    status: WorkOrderStatus | None = None,
    priority: Priority | None = None,
    model_code: Annotated[str | None, Query(max_length=64)] = None,
    due_before: Annotated[IsoDate | None, Query(description="due date before this day")] = None,
    overdue: Annotated[bool | None, Query(description="due before today at the plant and not finished")] = None,
    sales_order_line_id: uuid.UUID | None = None,
    q: Annotated[
        str | None, Query(max_length=100, description="part of the number, model code, notes or external id")
    ] = None,
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
) -> CursorPage[WorkOrderRead] | StreamingResponse:
    work_orders = WorkOrders(session)
    today = await work_orders.today()
    filters = WorkOrderFilters(
        status=status,
        priority=priority.value if priority else None,
        model_code=model_code,
        due_before=due_before,
        overdue=overdue,
        sales_order_line_id=sales_order_line_id,
        q=q,
    )
    if format is ListFormat.CSV:
        statement = work_orders.listed(filters, today).order_by(WorkOrder.created_at.desc(), WorkOrder.id.desc())
        return csv_export(request, statement, CSV_COLUMNS, filename="work-orders.csv", extract=_csv_value(today))
    found = await work_orders.search(page, filters, today)
    return found.answer([WorkOrderRead.of(wo, today) for wo in found.rows], page.limit)


def _csv_value(today: date):  # noqa: ANN202 - csv_export's extract
    def extract(wo: WorkOrder, column: str) -> Any:
        if column in ("progress_percent", "overdue"):
            return getattr(WorkOrderRead.of(wo, today), column)
        return getattr(wo, column)

    return extract


@router.get(
    "/{work_order}",
    response_model=WorkOrderRead,
    responses=problems(WORK_ORDER_NOT_FOUND),
    summary="A work order by id or number, with its ETag",
)
async def get_work_order(work_order: WorkOrderKey, session: SessionDep, _: Reader, response: Response) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    return await _answer(work_orders, await work_orders.find(work_order), response)


@router.patch(
    "/{work_order}",
    response_model=WorkOrderRead,
    responses=problems(
        WORK_ORDER_NOT_FOUND,
        *PRECONDITIONS,
        NOT_EDITABLE,
        LOCKED_AFTER_RELEASE,
        QUANTITY_BELOW_DONE,
        PLANNED_START_AFTER_DUE_DATE,
        *MODEL_REFUSALS,
        *LINE_REFUSALS,
        EVENT_TOO_LARGE,
    ),
    summary="Change a work order (If-Match): drafts freely; after the release dates, priority, notes and quantity",
)
async def update_work_order(
    work_order: WorkOrderKey,
    body: WorkOrderUpdate,
    session: SessionDep,
    principal: Writer,
    response: Response,
    if_match: IfMatch = None,
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    wo = await work_orders.update(work_order, body, actor=principal.username, if_match=if_match)
    return await _answer(work_orders, wo, response)


@router.delete(
    "/{work_order}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(WORK_ORDER_NOT_FOUND, *PRECONDITIONS, NOT_A_DRAFT, EVENT_TOO_LARGE),
    summary="Delete a draft (If-Match); a released work order is cancelled or closed instead",
)
async def delete_work_order(
    work_order: WorkOrderKey, session: SessionDep, _: Writer, if_match: IfMatch = None
) -> Response:
    await WorkOrders(session).delete(work_order, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{work_order}/changes",
    response_model=list[DocumentChangeRead],
    responses=problems(WORK_ORDER_NOT_FOUND),
    summary="What was changed after the release, field by field, oldest first",
)
async def work_order_changes(work_order: WorkOrderKey, session: SessionDep, _: Reader) -> list[DocumentChangeRead]:
    return [DocumentChangeRead.model_validate(c) for c in await WorkOrders(session).changes(work_order)]


@router.post(
    "/{work_order}/release",
    response_model=WorkOrderRead,
    responses=problems(*ACTION_REFUSALS),
    summary="Release a draft to production (If-Match): production plans its LOTs, or refuses it back to DRAFT",
)
async def release_work_order(
    work_order: WorkOrderKey, session: SessionDep, _: Approver, response: Response, if_match: IfMatch = None
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    return await _answer(work_orders, await work_orders.release(work_order, if_match=if_match), response)


@router.post(
    "/{work_order}/stop",
    response_model=WorkOrderRead,
    responses=problems(*ACTION_REFUSALS),
    summary="Stop a released or started work order (If-Match)",
)
async def stop_work_order(
    work_order: WorkOrderKey, session: SessionDep, _: Writer, response: Response, if_match: IfMatch = None
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    return await _answer(work_orders, await work_orders.stop(work_order, if_match=if_match), response)


@router.post(
    "/{work_order}/resume",
    response_model=WorkOrderRead,
    responses=problems(*ACTION_REFUSALS),
    summary="Resume a stopped work order where it stopped (If-Match)",
)
async def resume_work_order(
    work_order: WorkOrderKey, session: SessionDep, _: Writer, response: Response, if_match: IfMatch = None
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    return await _answer(work_orders, await work_orders.resume(work_order, if_match=if_match), response)


@router.post(
    "/{work_order}/cancel",
    response_model=WorkOrderRead,
    responses=problems(*ACTION_REFUSALS),
    summary="Cancel a work order (If-Match): production cancels its LOTs that have not started",
)
async def cancel_work_order(
    work_order: WorkOrderKey, session: SessionDep, _: Writer, response: Response, if_match: IfMatch = None
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    return await _answer(work_orders, await work_orders.cancel(work_order, if_match=if_match), response)


@router.post(
    "/{work_order}/close",
    response_model=WorkOrderRead,
    responses=problems(*ACTION_REFUSALS, REASON_REQUIRED),
    summary="Close a work order (If-Match); short of its quantity it needs a reason",
)
async def close_work_order(
    work_order: WorkOrderKey,
    session: SessionDep,
    _: Approver,
    response: Response,
    body: WorkOrderClose | None = None,
    if_match: IfMatch = None,
) -> WorkOrderRead:
    work_orders = WorkOrders(session)
    reason = body.reason if body else None
    return await _answer(work_orders, await work_orders.close(work_order, reason=reason, if_match=if_match), response)
