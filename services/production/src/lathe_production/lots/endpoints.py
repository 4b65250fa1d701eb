from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep

from lathe_production.lots.rules import LotStatus, Shift
from lathe_production.lots.schemas import (
    LotCreate,
    LotRead,
    LotStatusChange,
    SerialRead,
    SerialsCreate,
    SerialsCreated,
)
from lathe_production.lots.service import Lots, Serials
from lathe_production.settings import settings

router = APIRouter(prefix="/lots", tags=["lots"])
serials_router = APIRouter(prefix="/serials", tags=["serials"])

READ = [requires("lots:read")]
WRITE = [requires("lots:write")]


@router.post("", response_model=LotRead, status_code=status.HTTP_201_CREATED, dependencies=WRITE)
async def create_lot(body: LotCreate, session: SessionDep) -> LotRead:
    return LotRead.model_validate(await Lots(session, settings).create(body))


@router.get("", response_model=Page[LotRead], dependencies=READ)
async def list_lots(
    session: SessionDep,
    page: PageDep,
    status: LotStatus | None = None,
    model_code: str | None = None,
    work_order_number: str | None = None,
    shift: Shift | None = None,
    date_from: Annotated[date | None, Query(description="production date on or after")] = None,
    date_to: Annotated[date | None, Query(description="production date on or before")] = None,
) -> Page[LotRead]:
    rows, total = await Lots(session, settings).search(
        page,
        status=status,
        model_code=model_code,
        work_order_number=work_order_number,
        shift=shift.value if shift else None,
        date_from=date_from,
        date_to=date_to,
    )
    return Page(items=[LotRead.model_validate(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


@router.get("/{lot}", response_model=LotRead, dependencies=READ, summary="A LOT by id or LOT number")
async def get_lot(lot: str, session: SessionDep) -> LotRead:
    return LotRead.model_validate(await Lots(session, settings).find(lot))


@router.post("/{lot}/status", response_model=LotRead, dependencies=WRITE, summary="Move a LOT to another status")
async def change_lot_status(lot: str, body: LotStatusChange, session: SessionDep) -> LotRead:
    return LotRead.model_validate(await Lots(session, settings).change_status(lot, body.status))


@router.post(
    "/{lot}/serials",
    response_model=SerialsCreated,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    summary="Add units to a LOT: a count (numbers generated) or given serial numbers",
)
async def create_serials(lot: str, body: SerialsCreate, session: SessionDep) -> SerialsCreated:
    updated, serials = await Lots(session, settings).add_serials(lot, body)
    return SerialsCreated(
        lot_id=updated.id,
        lot_number=updated.lot_number,
        serial_count=updated.serial_count,
        items=[SerialRead.model_validate(s) for s in serials],
    )


@serials_router.get("", response_model=Page[SerialRead], dependencies=READ)
async def list_serials(
    session: SessionDep,
    page: PageDep,
    lot: Annotated[str | None, Query(description="LOT id or number")] = None,
    status: str | None = None,
    q: Annotated[str | None, Query(max_length=80, description="part of the serial number")] = None,
) -> Page[SerialRead]:
    lot_id = (await Lots(session, settings).find(lot)).id if lot else None
    rows, total = await Serials(session).search(page, lot_id=lot_id, status=status, q=q)
    return Page(items=[SerialRead.model_validate(s) for s in rows], total=total, limit=page.limit, offset=page.offset)


@serials_router.get("/{serial_number}", response_model=SerialRead, dependencies=READ)
async def get_serial(serial_number: str, session: SessionDep) -> SerialRead:
    return SerialRead.model_validate(await Serials(session).by_number(serial_number))
