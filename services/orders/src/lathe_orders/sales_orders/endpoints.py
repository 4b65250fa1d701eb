"""``/sales-orders`` (documents, lifecycle actions, shipments, returns) and ``/shipped-units``
(which customer has a unit: recall impact).

Permissions: creating, changing, confirming, cancelling, shipping and taking back need
``sales-orders:write`` (confirming is accepting the customer's order, the sales desk's act; a
sales order has no approval step); closing an order or a line short needs ``orders:approve``
(writing off what the customer will not get is a manager's decision, as closing POs and WOs is).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import StreamingResponse
from lathe_common.auth import Principal, requires
from lathe_common.csv_export import FormatParam, ListFormat, csv_export
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.schema_rules import IsoDate

from lathe_orders.documents import etag
from lathe_orders.lifecycles import SalesOrderStatus
from lathe_orders.sales_orders import problems as p
from lathe_orders.sales_orders.queries import CSV_COLUMNS, SalesOrderFilters, csv_cell, exported, search
from lathe_orders.sales_orders.recall import ShippedUnits
from lathe_orders.sales_orders.returns import CustomerReturns, return_read
from lathe_orders.sales_orders.schemas import (
    CustomerReturnCreate,
    CustomerReturnRead,
    RecallImpact,
    RecallQuery,
    SalesOrderChange,
    SalesOrderClosing,
    SalesOrderCreate,
    SalesOrderRead,
    SalesOrderSummary,
    SalesOrderUpdate,
    SerialNumber,
    ShipmentCreate,
    ShipmentRead,
)
from lathe_orders.sales_orders.service import SalesOrders
from lathe_orders.sales_orders.shipments import Shipments, shipment_read
from lathe_orders.sales_orders.state import read_order, summaries

router = APIRouter(prefix="/sales-orders", tags=["sales orders"])
shipped_units_router = APIRouter(prefix="/shipped-units", tags=["sales orders"])

READ = [requires("orders:read")]
Writer = Annotated[Principal, requires("sales-orders:write")]
Approver = Annotated[Principal, requires("orders:approve")]
IfMatch = Annotated[str | None, Header(description='the ETag of the GET (W/"<version>")')]
MAX_QUERY_UNITS = 500  # by query string; POST /shipped-units/search takes more


async def _answer(response: Response, session: SessionDep, order: object) -> SalesOrderRead:
    read = await read_order(session, order)  # type: ignore[arg-type]
    response.headers["ETag"] = etag(read.version)
    return read


CHANGE = (*p.PRECONDITIONS, p.SALES_ORDER_NOT_FOUND, EVENT_TOO_LARGE)


@router.post(
    "",
    response_model=SalesOrderRead,
    status_code=status.HTTP_201_CREATED,
    summary="Create a sales order (a DRAFT, numbered SO-...)",
    responses=problems(*p.LOOKUPS, p.UNKNOWN_CURRENCY, p.AMOUNT_TOO_LARGE, EVENT_TOO_LARGE),
)
async def create_sales_order(
    body: SalesOrderCreate, session: SessionDep, response: Response, user: Writer
) -> SalesOrderRead:
    return await _answer(response, session, await SalesOrders(session).create(body, actor=user.username))


@router.get("", response_model=CursorPage[SalesOrderSummary], dependencies=READ, summary="Sales orders, newest first")
async def list_sales_orders(
    request: Request,
    session: SessionDep,
    page: CursorDep,
    status: SalesOrderStatus | None = None,
    customer: Annotated[str | None, Query(max_length=64, description="customer code")] = None,
    created_from: Annotated[IsoDate | None, Query(description="created on or after (date, plant time zone)")] = None,
    created_to: Annotated[IsoDate | None, Query(description="created on or before (date, plant time zone)")] = None,
    requested_from: Annotated[IsoDate | None, Query(description="a line requested on or after (date)")] = None,
    requested_to: Annotated[IsoDate | None, Query(description="a line requested on or before (date)")] = None,
    promised_from: Annotated[IsoDate | None, Query(description="a line promised on or after (date)")] = None,
    promised_to: Annotated[IsoDate | None, Query(description="a line promised on or before (date)")] = None,
    model: Annotated[str | None, Query(max_length=64, description="a line sells this model code")] = None,
    overdue: Annotated[bool | None, Query(description="a line promised before today still open")] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="part of the number, customer PO number, notes or external id")
    ] = None,
    format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
) -> CursorPage[SalesOrderSummary] | StreamingResponse:
    filters = SalesOrderFilters(status, customer, created_from, created_to, requested_from, requested_to,
                                promised_from, promised_to, model, overdue, q)  # fmt: skip
    if format is ListFormat.CSV:
        return csv_export(request, exported(filters), CSV_COLUMNS, filename="sales-orders.csv", extract=csv_cell)
    found = await search(session, page, filters)
    return found.answer(await summaries(session, found.rows), page.limit)


@router.get(
    "/{sales_order}",
    response_model=SalesOrderRead,
    dependencies=READ,
    summary="A sales order by id or number, with its ETag",
    responses=problems(p.SALES_ORDER_NOT_FOUND),
)
async def get_sales_order(sales_order: str, session: SessionDep, response: Response) -> SalesOrderRead:
    return await _answer(response, session, await SalesOrders(session).find(sales_order))


@router.patch(
    "/{sales_order}",
    response_model=SalesOrderRead,
    summary="Change a sales order (If-Match): drafts freely, confirmed ones within the rules",
    responses=problems(
        *CHANGE, *p.LOOKUPS, p.UNKNOWN_CURRENCY, p.AMOUNT_TOO_LARGE, p.NOT_EDITABLE, p.LOCKED_AFTER_CONFIRMATION,
        p.QUANTITY_BELOW_DONE, p.LINE_NOT_FOUND, p.LINE_CLOSED, p.DUPLICATE_LINE, p.LINKED_WORK_ORDERS,
    ),
)  # fmt: skip
async def update_sales_order(
    sales_order: str,
    body: SalesOrderUpdate,
    session: SessionDep,
    response: Response,
    user: Writer,
    if_match: IfMatch = None,
) -> SalesOrderRead:
    order = await SalesOrders(session).change(sales_order, body, actor=user.username, if_match=if_match)
    return await _answer(response, session, order)


@router.delete(
    "/{sales_order}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a draft (If-Match); its number is never given again",
    responses=problems(*CHANGE, p.NOT_DRAFT, p.LINKED_WORK_ORDERS),
)
async def delete_sales_order(sales_order: str, session: SessionDep, user: Writer, if_match: IfMatch = None) -> Response:
    await SalesOrders(session).delete(sales_order, if_match=if_match)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{sales_order}/confirm",
    response_model=SalesOrderRead,
    summary="DRAFT -> CONFIRMED (If-Match): the customer's order accepted",
    responses=problems(*CHANGE, p.INVALID_STATUS_TRANSITION, p.INACTIVE_CUSTOMER, p.PRODUCT_MODEL_NOT_FOUND,
                       p.INACTIVE_PRODUCT_MODEL),
)  # fmt: skip
async def confirm_sales_order(
    sales_order: str, session: SessionDep, response: Response, user: Writer, if_match: IfMatch = None
) -> SalesOrderRead:
    return await _answer(response, session, await SalesOrders(session).confirm(sales_order, if_match=if_match))


@router.post(
    "/{sales_order}/cancel",
    response_model=SalesOrderRead,
    summary="-> CANCELLED (If-Match), before anything shipped",
    responses=problems(*CHANGE, p.INVALID_STATUS_TRANSITION, p.HAS_MOVEMENTS),
)
async def cancel_sales_order(
    sales_order: str,
    session: SessionDep,
    response: Response,
    user: Writer,
    body: SalesOrderClosing | None = None,
    if_match: IfMatch = None,
) -> SalesOrderRead:
    reason = body.reason if body else None
    order = await SalesOrders(session).cancel(sales_order, if_match=if_match, reason=reason)
    return await _answer(response, session, order)


@router.post(
    "/{sales_order}/close",
    response_model=SalesOrderRead,
    summary="CONFIRMED -> CLOSED (If-Match); open lines are closed short with the reason",
    responses=problems(*CHANGE, p.INVALID_STATUS_TRANSITION, p.REASON_REQUIRED),
)
async def close_sales_order(
    sales_order: str,
    session: SessionDep,
    response: Response,
    user: Approver,
    body: SalesOrderClosing | None = None,
    if_match: IfMatch = None,
) -> SalesOrderRead:
    reason = body.reason if body else None
    order = await SalesOrders(session).close(sales_order, if_match=if_match, reason=reason, actor=user.username)
    return await _answer(response, session, order)


@router.post(
    "/{sales_order}/lines/{line_no}/close",
    response_model=SalesOrderRead,
    summary="Close one line short (If-Match), with a reason",
    responses=problems(*CHANGE, p.LINE_NOT_FOUND, p.NOT_CONFIRMED, p.LINE_CLOSED, p.LINE_FULFILLED, p.REASON_REQUIRED),
)
async def close_sales_order_line(
    sales_order: str,
    line_no: int,
    body: SalesOrderClosing,
    session: SessionDep,
    response: Response,
    user: Approver,
    if_match: IfMatch = None,
) -> SalesOrderRead:
    order = await SalesOrders(session).close_line(
        sales_order, line_no, if_match=if_match, reason=body.reason, actor=user.username
    )
    return await _answer(response, session, order)


@router.get(
    "/{sales_order}/changes",
    response_model=list[SalesOrderChange],
    dependencies=READ,
    summary="What changed after the draft: who, when, from what to what",
    responses=problems(p.SALES_ORDER_NOT_FOUND),
)
async def sales_order_changes(sales_order: str, session: SessionDep) -> list[SalesOrderChange]:
    return [
        SalesOrderChange.model_validate(c, from_attributes=True)
        for c in await SalesOrders(session).changes(sales_order)
    ]


SHIP = (
    p.SALES_ORDER_NOT_FOUND, p.NOT_CONFIRMED, p.LINE_NOT_FOUND, p.LINE_CLOSED, p.DUPLICATE_LINE, p.OVER_DELIVERY,
    p.SERIAL_COUNT_MISMATCH, p.DUPLICATE_SERIAL_NUMBERS, p.SERIAL_NOT_FOUND, p.WRONG_MODEL, p.UNIT_NOT_PASSED,
    p.UNIT_ALREADY_SHIPPED, EVENT_TOO_LARGE,
)  # fmt: skip


@router.post(
    "/{sales_order}/shipments",
    response_model=ShipmentRead,
    status_code=status.HTTP_201_CREATED,
    summary="Ship (a DN- document) against a CONFIRMED order; serial numbers must be PASSED units not out",
    responses=problems(*SHIP),
)
async def ship_sales_order(sales_order: str, body: ShipmentCreate, session: SessionDep, user: Writer) -> ShipmentRead:
    order, shipment = await Shipments(session).ship(sales_order, body, actor=user.username)
    return shipment_read(order, shipment)


@router.get(
    "/{sales_order}/shipments",
    response_model=list[ShipmentRead],
    dependencies=READ,
    summary="The order's shipments, oldest first",
    responses=problems(p.SALES_ORDER_NOT_FOUND),
)
async def sales_order_shipments(sales_order: str, session: SessionDep) -> list[ShipmentRead]:
    order, shipments = await Shipments(session).of(sales_order)
    return [shipment_read(order, s) for s in shipments]


@router.post(
    "/{sales_order}/returns",
    response_model=CustomerReturnRead,
    status_code=status.HTTP_201_CREATED,
    summary="Take back (an RT- document) what shipped and has not come back; returned units may ship again",
    responses=problems(
        p.SALES_ORDER_NOT_FOUND, p.LINE_NOT_FOUND, p.DUPLICATE_LINE, p.OVER_RETURN, p.SERIAL_COUNT_MISMATCH,
        p.DUPLICATE_SERIAL_NUMBERS, p.UNIT_NOT_OUT, p.SERIAL_NUMBERS_REQUIRED, EVENT_TOO_LARGE,
    ),
)  # fmt: skip
async def return_to_sales_order(
    sales_order: str, body: CustomerReturnCreate, session: SessionDep, user: Writer
) -> CustomerReturnRead:
    order, document = await CustomerReturns(session).take_back(sales_order, body, actor=user.username)
    return return_read(order, document)


@router.get(
    "/{sales_order}/returns",
    response_model=list[CustomerReturnRead],
    dependencies=READ,
    summary="What the customer sent back against the order, oldest first",
    responses=problems(p.SALES_ORDER_NOT_FOUND),
)
async def sales_order_returns(sales_order: str, session: SessionDep) -> list[CustomerReturnRead]:
    order, documents = await CustomerReturns(session).of(sales_order)
    return [return_read(order, d) for d in documents]


@shipped_units_router.get(
    "",
    response_model=RecallImpact,
    dependencies=READ,
    summary="Recall impact: which customer has each unit, by which shipment and sales order",
)
async def shipped_units(
    session: SessionDep,
    serial_number: Annotated[
        list[SerialNumber], Query(min_length=1, max_length=MAX_QUERY_UNITS, description="repeat for each unit")
    ],
) -> RecallImpact:
    return await ShippedUnits(session).impact(serial_number)


@shipped_units_router.post(
    "/search",
    response_model=RecallImpact,
    dependencies=READ,
    summary="Recall impact for many units at once (e.g. a forward genealogy's `units`)",
)
async def search_shipped_units(body: RecallQuery, session: SessionDep) -> RecallImpact:
    return await ShippedUnits(session).impact(body.serial_numbers)
