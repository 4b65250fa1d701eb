from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.problem_docs import problems

from lathe_production.lots.schemas import LOT_NOT_FOUND, SERIAL_NOT_FOUND
from lathe_production.settings import settings
from lathe_production.travelers.document import render_traveler
from lathe_production.travelers.labels import MAX_LABELS_PER_REQUEST, LabelUnit, pdf_labels, zpl_labels
from lathe_production.travelers.rules import MAX_UNIT_QR_CODES, attachment
from lathe_production.travelers.schemas import PDF, ZPL, LabelFormat, TravelerRead
from lathe_production.travelers.service import Travelers

lots_router = APIRouter(prefix="/lots", tags=["travelers"])
serials_router = APIRouter(prefix="/serials", tags=["travelers"])

READ = [requires("lots:read")]
_BINARY = {"schema": {"type": "string", "format": "binary"}}
PDF_ANSWER: dict[int | str, dict[str, Any]] = {200: {"description": "the document", "content": {PDF: _BINARY}}}
LABELS_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "ZPL (`format=zpl`, plain ASCII text) or PDF (`format=pdf`, a 4 × 2 in page per label)",
        "content": {ZPL: {"schema": {"type": "string"}}, PDF: _BINARY},
    }
}
FormatParam = Annotated[LabelFormat, Query(alias="format", description="`zpl` for Zebra printers, or `pdf`")]


def _labels(units: list[LabelUnit], form: LabelFormat, name: str) -> Response:
    if form is LabelFormat.ZPL:
        return Response(zpl_labels(units), media_type=ZPL, headers={"Content-Disposition": attachment(name, "zpl")})
    return Response(pdf_labels(units), media_type=PDF, headers={"Content-Disposition": attachment(name, "pdf")})


@lots_router.get(
    "/{lot}/traveler",
    response_model=TravelerRead,
    dependencies=READ,
    summary="A LOT's traveler: header, steps with sign-off, BOM planned against consumed, NCRs, holds",
    responses=problems(LOT_NOT_FOUND),
)
async def get_traveler(lot: str, session: SessionDep) -> TravelerRead:
    return await Travelers(session, settings).traveler(lot)


@lots_router.get(
    "/{lot}/traveler.pdf",
    response_class=Response,
    dependencies=READ,
    summary="A LOT's traveler as a printable A4 PDF",
    responses={**PDF_ANSWER, **problems(LOT_NOT_FOUND)},
)
async def get_traveler_pdf(
    lot: str,
    session: SessionDep,
    unit_qr: Annotated[
        bool, Query(description=f"add pages of the units' QR codes (serial numbers), the first {MAX_UNIT_QR_CODES}")
    ] = False,
) -> Response:
    travelers = Travelers(session, settings)
    traveler = await travelers.traveler(lot)
    numbers, more = None, 0
    if unit_qr:
        numbers, more = await travelers.qr_units(traveler.lot.lot_id, traveler.lot.serial_count)
    # Drawing is CPU work: off the event loop, so other requests go on meanwhile.
    document = await run_in_threadpool(render_traveler, traveler, unit_numbers=numbers, more_units=more)
    return Response(
        document, media_type=PDF, headers={"Content-Disposition": attachment(traveler.lot.lot_number, "pdf")}
    )


@serials_router.get(
    "/{serial_number}/label",
    response_class=Response,
    dependencies=READ,
    summary="A unit's label: ZPL or PDF",
    responses={**LABELS_ANSWER, **problems(SERIAL_NOT_FOUND)},
)
async def get_serial_label(serial_number: str, session: SessionDep, form: FormatParam = LabelFormat.ZPL) -> Response:
    unit = await Travelers(session, settings).serial_label(serial_number)
    return await run_in_threadpool(_labels, [unit], form, unit.serial_number)


@lots_router.get(
    "/{lot}/labels",
    response_class=Response,
    dependencies=READ,
    summary="Labels of a LOT's units, in sequence, a page at a time",
    description=(
        f"At most `limit` labels ({MAX_LABELS_PER_REQUEST} at most) from the unit at `from_sequence` on; when more "
        "units follow, a `Link` header (rel=next) gives the next request."
    ),
    responses={**LABELS_ANSWER, **problems(LOT_NOT_FOUND)},
)
async def get_lot_labels(
    lot: str,
    request: Request,
    session: SessionDep,
    form: FormatParam = LabelFormat.ZPL,
    from_sequence: Annotated[int, Query(ge=1, le=1_000_000, description="the unit's sequence in the LOT")] = 1,
    limit: Annotated[int, Query(ge=1, le=MAX_LABELS_PER_REQUEST, description="labels in this answer")] = 100,
) -> Response:
    found, units, following = await Travelers(session, settings).lot_labels(
        lot, from_sequence=from_sequence, limit=limit
    )
    answer = await run_in_threadpool(_labels, units, form, found.lot_number)
    if following is not None:
        answer.headers["Link"] = f'<{request.url.include_query_params(from_sequence=following)}>; rel="next"'
    return answer
