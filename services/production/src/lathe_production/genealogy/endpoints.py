from __future__ import annotations

from fastapi import APIRouter, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep

from lathe_production.genealogy.schemas import ComponentsConsumed, ConsumedRead, Direction, Genealogy
from lathe_production.genealogy.service import Genealogies
from lathe_production.lots.service import Lots
from lathe_production.settings import settings

serials_router = APIRouter(prefix="/serials", tags=["genealogy"])
lots_router = APIRouter(prefix="/lots", tags=["genealogy"])

READ = [requires("process-data:read")]


@serials_router.post(
    "/{serial_number}/components",
    response_model=ConsumedRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=[requires("process-data:write")],
    summary="Record the components a unit consumed",
)
async def consume_components(serial_number: str, body: ComponentsConsumed, session: SessionDep) -> ConsumedRead:
    consumed = await Genealogies(session).consume(serial_number, body)
    return ConsumedRead(parent_serial_number=serial_number, consumed=consumed)


@serials_router.get(
    "/{serial_number}/genealogy",
    response_model=Genealogy,
    dependencies=READ,
    summary="backward: everything inside the unit, all levels; forward: every unit it went into",
)
async def serial_genealogy(
    serial_number: str, session: SessionDep, direction: Direction = Direction.BACKWARD
) -> Genealogy:
    return await Genealogies(session).trace(serial_number, direction)


@lots_router.get(
    "/{lot}/genealogy",
    response_model=Genealogy,
    dependencies=READ,
    summary="Where a component LOT went: every unit containing it, all levels up (recall impact)",
)
async def lot_genealogy(lot: str, session: SessionDep) -> Genealogy:
    return await Genealogies(session).trace_lot(await Lots(session, settings).find(lot))
