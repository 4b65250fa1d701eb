"""``/purchase-orders``: the documents, their lifecycle's actions, receipts, returns, lists and CSV.

Every answer carrying an order carries its ``ETag``; every change of one needs it back in
``If-Match`` (receipts and returns excepted: the warehouse records what arrived or left, and the
database keeps those within their limits however many record at once).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from lathe_common.auth import Principal, requires
from lathe_common.csv_export import FormatParam, ListFormat, csv_export
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.schema_rules import IsoDate

from lathe_orders.documents import etag
from lathe_orders.fulfilment import ReceiptState
from lathe_orders.lifecycles import PurchaseOrderStatus
from lathe_orders.purchase_orders import queries
from lathe_orders.purchase_orders.models import PurchaseOrder
from lathe_orders.purchase_orders.movements import PurchaseOrderMovements
from lathe_orders.purchase_orders.problems import (
    CHANGING,
    DUPLICATE_LINE,
    DUPLICATE_SERIAL,
    FOUR_EYES,
    HAS_MOVEMENTS,
    INVALID_STATUS_TRANSITION,
    LINE_CLOSED,
    LINE_NOT_FOUND,
    NOT_A_DRAFT,
    ORDER_NOT_APPROVED,
    OVER_RECEIPT,
    OVER_RETURN,
    PRECONDITIONS,
    PRICING,
    PURCHASE_ORDER_NOT_FOUND,
    REASON_REQUIRED,
    REJECTED_ABOVE_RECEIVED,
    SERIAL_COUNT_MISMATCH,
    SERIAL_NOT_RECEIVED,
    SERIAL_RETURNED,
)
from lathe_orders.purchase_orders.rules import APPROVE_OWN_SCOPE
from lathe_orders.purchase_orders.schemas import (
    ApproveRequest,
    ChangeRead,
    GoodsReceiptRead,
    LineCloseRequest,
    PurchaseOrderCreate,
    PurchaseOrderRead,
    PurchaseOrderSummary,
    PurchaseOrderUpdate,
    ReasonRequest,
    ReceiptCreate,
    ReturnCreate,
    ReturnRead,
)
from lathe_orders.purchase_orders.service import PurchaseOrders
from lathe_orders.purchase_orders.views import order_read, order_summary, receipt_read, return_read
from lathe_orders.settings import settings

router = APIRouter(prefix="/purchase-orders", tags=["purchase orders"])

READ = [requires("orders:read")]
Writer = Annotated[Principal, requires("purchase-orders:write")]
Approver = Annotated[Principal, requires("orders:approve")]
IfMatch = Annotated[str | None, Header(description="the ETag of the order as last read (required)")]
ETAG_HEADER = {
    "ETag": {"description": 'the order\'s version, `W/"<version>"`: send it as If-Match', "schema": {"type": "string"}}
}


def _with_etag(ok: int, *codes: Any) -> dict[int | str, dict[str, Any]]:
    return {ok: {"headers": ETAG_HEADER}, **problems(*codes)}


def _answer(response: Response, order: PurchaseOrder) -> PurchaseOrderRead:
    response.headers["ETag"] = etag(order.version)
    return order_read(order)


@router.post(
    "",
    response_model=PurchaseOrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a purchase order (a DRAFT); amounts and totals are computed",
    responses=_with_etag(201, *PRICING),
)
async def create_purchase_order(
    body: PurchaseOrderCreate, session: SessionDep, response: Response, user: Writer
) -> PurchaseOrderRead:
    order = await PurchaseOrders(session).create(body, actor=user.username)
    response.headers["Location"] = f"/api/v1/purchase-orders/{order.id}"
    return _answer(response, order)


@router.get(
    "",
    response_model=CursorPage[PurchaseOrderSummary],
    dependencies=READ,
    summary="Purchase orders, newest first (or as sorted); ?format=csv for every match",
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def list_purchase_orders(
    request: Request,
    session: SessionDep,
    page: CursorDep,
    status: PurchaseOrderStatus | None = None,
    supplier: Annotated[str | None, Query(max_length=32, description="a supplier's code")] = None,
    receipt_state: ReceiptState | None = None,
    created_from: Annotated[IsoDate | None, Query(description="created on or after (plant date)")] = None,
    created_to: Annotated[IsoDate | None, Query(description="created on or before (plant date)")] = None,
    expected_from: Annotated[IsoDate | None, Query(description="expected on or after")] = None,
    expected_to: Annotated[IsoDate | None, Query(description="expected on or before")] = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the number, the notes or the ERP's id")] = None,
    sort: queries.Sort = queries.Sort.NEWEST,
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
    lines: Annotated[bool, Query(description="with format=csv: one row per line")] = False,
) -> CursorPage[PurchaseOrderSummary] | StreamingResponse:
    filters = queries.Filters(
        status=status,
        supplier=supplier,
        receipt_state=receipt_state,
        created_from=created_from,
        created_to=created_to,
        expected_from=expected_from,
        expected_to=expected_to,
        q=q,
    )
    zone = settings.plant_timezone
    if format is ListFormat.CSV:
        if lines:
            statement = queries.lines_export(filters, sort, zone)
            return csv_export(
                request, statement, queries.LINE_COLUMNS, filename="purchase-order-lines.csv", extract=queries.line_cell
            )
        statement = queries.orders_export(filters, sort, zone)
        return csv_export(
            request, statement, queries.ORDER_COLUMNS, filename="purchase-orders.csv", extract=queries.order_cell
        )
    found = await queries.search(PurchaseOrders(session), page, filters, sort, zone)
    return found.answer([order_summary(order) for order in found.rows], page.limit)


@router.get(
    "/{order}",
    response_model=PurchaseOrderRead,
    dependencies=READ,
    summary="A purchase order by id or number, with its fulfilment",
    responses=_with_etag(200, PURCHASE_ORDER_NOT_FOUND),
)
async def get_purchase_order(order: str, session: SessionDep, response: Response) -> PurchaseOrderRead:
    return _answer(response, await PurchaseOrders(session).find(order))


@router.patch(
    "/{order}",
    response_model=PurchaseOrderRead,
    summary="Change a purchase order: freely as a draft, then only dates, notes, quantities and new lines",
    responses=_with_etag(200, *CHANGING),
)
async def change_purchase_order(
    order: str,
    body: PurchaseOrderUpdate,
    session: SessionDep,
    response: Response,
    user: Writer,
    if_match: IfMatch = None,
) -> PurchaseOrderRead:
    changed = await PurchaseOrders(session).change(order, body, actor=user.username, if_match=if_match)
    return _answer(response, changed)


@router.delete(
    "/{order}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a draft (its number is not reused)",
    responses=problems(PURCHASE_ORDER_NOT_FOUND, *PRECONDITIONS, NOT_A_DRAFT, EVENT_TOO_LARGE),
)
async def delete_purchase_order(order: str, session: SessionDep, user: Writer, if_match: IfMatch = None) -> Response:
    await PurchaseOrders(session).delete(order, actor=user.username, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


MOVE = (PURCHASE_ORDER_NOT_FOUND, *PRECONDITIONS, INVALID_STATUS_TRANSITION, EVENT_TOO_LARGE)


@router.post(
    "/{order}/submit",
    response_model=PurchaseOrderRead,
    summary="DRAFT → SUBMITTED",
    responses=_with_etag(200, *MOVE),
)
async def submit_purchase_order(
    order: str, session: SessionDep, response: Response, user: Writer, if_match: IfMatch = None
) -> PurchaseOrderRead:
    return _answer(response, await PurchaseOrders(session).submit(order, actor=user.username, if_match=if_match))


@router.post(
    "/{order}/approve",
    response_model=PurchaseOrderRead,
    summary="SUBMITTED → APPROVED; above the threshold, by someone other than its creator",
    description="Four eyes: an order whose total is above the approval threshold is approved by someone who "
    f"did not create it. An administrator (`{APPROVE_OWN_SCOPE}`) may approve their own with "
    "`override_four_eyes` and a `reason`, which is recorded with the order and announced.",
    responses=_with_etag(200, *MOVE, FOUR_EYES, REASON_REQUIRED),
)
async def approve_purchase_order(
    order: str,
    session: SessionDep,
    response: Response,
    user: Approver,
    body: ApproveRequest | None = None,
    if_match: IfMatch = None,
) -> PurchaseOrderRead:
    approved = await PurchaseOrders(session).approve(
        order,
        body or ApproveRequest(),
        actor=user.username,
        may_override=APPROVE_OWN_SCOPE in user.scopes,
        if_match=if_match,
    )
    return _answer(response, approved)


@router.post(
    "/{order}/cancel",
    response_model=PurchaseOrderRead,
    summary="→ CANCELLED, before any goods were received",
    responses=_with_etag(200, *MOVE, HAS_MOVEMENTS),
)
async def cancel_purchase_order(
    order: str,
    session: SessionDep,
    response: Response,
    user: Writer,
    body: ReasonRequest | None = None,
    if_match: IfMatch = None,
) -> PurchaseOrderRead:
    reason = body.reason if body else None
    cancelled = await PurchaseOrders(session).cancel(order, actor=user.username, if_match=if_match, reason=reason)
    return _answer(response, cancelled)


@router.post(
    "/{order}/close",
    response_model=PurchaseOrderRead,
    summary="APPROVED → CLOSED; with an open balance, a reason closes the open lines short",
    responses=_with_etag(200, *MOVE, REASON_REQUIRED),
)
async def close_purchase_order(
    order: str,
    session: SessionDep,
    response: Response,
    user: Approver,
    body: ReasonRequest | None = None,
    if_match: IfMatch = None,
) -> PurchaseOrderRead:
    reason = body.reason if body else None
    closed = await PurchaseOrders(session).close(order, actor=user.username, if_match=if_match, reason=reason)
    return _answer(response, closed)


@router.post(
    "/{order}/lines/{line_no}/close",
    response_model=PurchaseOrderRead,
    summary="Close one line short: the rest of it is not expected any more",
    responses=_with_etag(
        200,
        PURCHASE_ORDER_NOT_FOUND,
        LINE_NOT_FOUND,
        *PRECONDITIONS,
        ORDER_NOT_APPROVED,
        LINE_CLOSED,
        REASON_REQUIRED,
        EVENT_TOO_LARGE,
    ),
)
async def close_purchase_order_line(
    order: str,
    line_no: int,
    body: LineCloseRequest,
    session: SessionDep,
    response: Response,
    user: Approver,
    if_match: IfMatch = None,
) -> PurchaseOrderRead:
    closed = await PurchaseOrders(session).close_line(
        order, line_no, actor=user.username, if_match=if_match, reason=body.reason
    )
    return _answer(response, closed)


@router.get(
    "/{order}/changes",
    response_model=list[ChangeRead],
    dependencies=READ,
    summary="What changed after the draft: who, when, from what to what",
    responses=problems(PURCHASE_ORDER_NOT_FOUND),
)
async def list_purchase_order_changes(order: str, session: SessionDep) -> list[ChangeRead]:
    return [ChangeRead.model_validate(change) for change in await PurchaseOrders(session).changes(order)]


@router.post(
    "/{order}/receipts",
    response_model=GoodsReceiptRead,
    status_code=status.HTTP_201_CREATED,
    summary="Receive goods (a GR- document) against an APPROVED order",
    responses=problems(
        PURCHASE_ORDER_NOT_FOUND,
        ORDER_NOT_APPROVED,
        LINE_NOT_FOUND,
        DUPLICATE_LINE,
        LINE_CLOSED,
        OVER_RECEIPT,
        REJECTED_ABOVE_RECEIVED,
        SERIAL_COUNT_MISMATCH,
        DUPLICATE_SERIAL,
        EVENT_TOO_LARGE,
    ),
)
async def receive_goods(order: str, body: ReceiptCreate, session: SessionDep, user: Writer) -> GoodsReceiptRead:
    received, receipt = await PurchaseOrderMovements(session).receive(order, body, actor=user.username)
    return receipt_read(receipt, received)


@router.get(
    "/{order}/receipts",
    response_model=list[GoodsReceiptRead],
    dependencies=READ,
    summary="The order's goods receipts, oldest first",
    responses=problems(PURCHASE_ORDER_NOT_FOUND),
)
async def list_goods_receipts(order: str, session: SessionDep) -> list[GoodsReceiptRead]:
    found, receipts = await PurchaseOrderMovements(session).receipts(order)
    return [receipt_read(receipt, found) for receipt in receipts]


@router.post(
    "/{order}/returns",
    response_model=ReturnRead,
    status_code=status.HTTP_201_CREATED,
    summary="Return accepted goods to the supplier (an RT- document); the line expects them again",
    responses=problems(
        PURCHASE_ORDER_NOT_FOUND,
        LINE_NOT_FOUND,
        DUPLICATE_LINE,
        OVER_RETURN,
        SERIAL_COUNT_MISMATCH,
        DUPLICATE_SERIAL,
        SERIAL_NOT_RECEIVED,
        SERIAL_RETURNED,
        EVENT_TOO_LARGE,
    ),
)
async def return_goods(order: str, body: ReturnCreate, session: SessionDep, user: Writer) -> ReturnRead:
    found, returned = await PurchaseOrderMovements(session).return_goods(order, body, actor=user.username)
    return return_read(returned, found)


@router.get(
    "/{order}/returns",
    response_model=list[ReturnRead],
    dependencies=READ,
    summary="The order's returns to the supplier, oldest first",
    responses=problems(PURCHASE_ORDER_NOT_FOUND),
)
async def list_returns(order: str, session: SessionDep) -> list[ReturnRead]:
    found, returns = await PurchaseOrderMovements(session).returns(order)
    return [return_read(returned, found) for returned in returns]
