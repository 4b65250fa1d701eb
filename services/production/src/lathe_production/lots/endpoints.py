from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems
from lathe_common.schema_rules import IsoDate

from lathe_production.lots.rules import LotStatus, SerialStatus, Shift
from lathe_production.lots.schemas import (
    INACTIVE_PRODUCT_MODEL,
    INVALID_STATUS_TRANSITION,
    LOT_EXISTS,
    LOT_FULL,
    LOT_NOT_FOUND,
    LOT_NOT_OPEN,
    SERIAL_EXISTS,
    SERIAL_NOT_FOUND,
    TARGET_QUANTITY_TOO_LARGE,
    LotCreate,
    LotRead,
    LotStatusChange,
    SerialRead,
    SerialsCreate,
    SerialsCreated,
)
from lathe_production.lots.service import Lots, Serials
from lathe_production.product_models.schemas import PRODUCT_MODEL_NOT_FOUND
from lathe_production.settings import settings

router = APIRouter(prefix="/lots", tags=["lots"])
serials_router = APIRouter(prefix="/serials", tags=["serials"])

READ = [requires("lots:read")]
WRITE = [requires("lots:write")]


@router.post(
    "",
    response_model=LotRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    responses=problems(
        PRODUCT_MODEL_NOT_FOUND, INACTIVE_PRODUCT_MODEL, TARGET_QUANTITY_TOO_LARGE, LOT_EXISTS, EVENT_TOO_LARGE
    ),
)
async def create_lot(body: LotCreate, session: SessionDep) -> LotRead:
    return LotRead.model_validate(await Lots(session, settings).create(body))


@router.get("", response_model=CursorPage[LotRead], dependencies=READ, summary="LOTs, newest first")
async def list_lots(
    session: SessionDep,
    page: CursorDep,
    status: LotStatus | None = None,
    model_code: str | None = None,
    work_order_number: str | None = None,
    shift: Shift | None = None,
    date_from: Annotated[IsoDate | None, Query(description="production date on or after")] = None,
    date_to: Annotated[IsoDate | None, Query(description="production date on or before")] = None,
) -> CursorPage[LotRead]:
    found = await Lots(session, settings).search(
        page,
        status=status,
        model_code=model_code,
        work_order_number=work_order_number,
        shift=shift.value if shift else None,
        date_from=date_from,
        date_to=date_to,
    )
    return found.answer([LotRead.model_validate(r) for r in found.rows], page.limit)


@router.get(
    "/{lot}",
    response_model=LotRead,
    dependencies=READ,
    summary="A LOT by id or LOT number",
    responses=problems(LOT_NOT_FOUND),
)
async def get_lot(lot: str, session: SessionDep) -> LotRead:
    return LotRead.model_validate(await Lots(session, settings).find(lot))


@router.post(
    "/{lot}/status",
    response_model=LotRead,
    dependencies=WRITE,
    summary="Move a LOT to another status",
    responses=problems(LOT_NOT_FOUND, INVALID_STATUS_TRANSITION, EVENT_TOO_LARGE),
)
async def change_lot_status(lot: str, body: LotStatusChange, session: SessionDep) -> LotRead:
    return LotRead.model_validate(await Lots(session, settings).change_status(lot, body.status))


@router.post(
    "/{lot}/serials",
    response_model=SerialsCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    summary="Add units to a LOT: a count (numbers generated) or given serial numbers",
    responses=problems(LOT_NOT_FOUND, LOT_NOT_OPEN, LOT_FULL, SERIAL_EXISTS, EVENT_TOO_LARGE),
)
async def create_serials(lot: str, body: SerialsCreate, session: SessionDep) -> SerialsCreated:
    updated, serials = await Lots(session, settings).add_serials(lot, body)
    return SerialsCreated(
        lot_id=updated.id,
        lot_number=updated.lot_number,
        serial_count=updated.serial_count,
        items=[SerialRead.model_validate(s) for s in serials],
    )


@serials_router.get(
    "",
    response_model=CursorPage[SerialRead],
    dependencies=READ,
    summary="Units, by serial number",
    responses=problems(LOT_NOT_FOUND),
)
async def list_serials(
    session: SessionDep,
    page: CursorDep,
    lot: Annotated[str | None, Query(description="LOT id or number")] = None,
    status: SerialStatus | None = None,
    q: Annotated[str | None, Query(max_length=80, description="part of the serial number")] = None,
) -> CursorPage[SerialRead]:
    lot_id = (await Lots(session, settings).find(lot)).id if lot else None
    found = await Serials(session).search(page, lot_id=lot_id, status=status.value if status else None, q=q)
    return found.answer([SerialRead.model_validate(s) for s in found.rows], page.limit)


@serials_router.get(
    "/{serial_number}", response_model=SerialRead, dependencies=READ, responses=problems(SERIAL_NOT_FOUND)
)
async def get_serial(serial_number: str, session: SessionDep) -> SerialRead:
    return SerialRead.model_validate(await Serials(session).by_number(serial_number))
