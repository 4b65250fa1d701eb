from __future__ import annotations

from fastapi import APIRouter, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems

from lathe_production.genealogy.schemas import (
    BOM_QUANTITY_EXCEEDED,
    COMPONENT_ALREADY_USED,
    COMPONENT_CYCLE,
    COMPONENT_NOT_ON_BOM,
    COMPONENT_NOT_USABLE,
    LOT_NOT_USABLE,
    LOT_QUANTITY_EXCEEDED,
    BomDeviationRead,
    ComponentsConsumed,
    ConsumedRead,
    Direction,
    Genealogy,
)
from lathe_production.genealogy.service import Genealogies
from lathe_production.lots.schemas import LOT_NOT_FOUND, SERIAL_NOT_FOUND, UNIT_CLOSED
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
    responses=problems(
        SERIAL_NOT_FOUND,
        LOT_NOT_FOUND,
        *UNIT_CLOSED,
        COMPONENT_NOT_USABLE,
        COMPONENT_ALREADY_USED,
        COMPONENT_CYCLE,
        LOT_NOT_USABLE,
        LOT_QUANTITY_EXCEEDED,
        COMPONENT_NOT_ON_BOM,
        BOM_QUANTITY_EXCEEDED,
        EVENT_TOO_LARGE,
    ),
)
async def consume_components(serial_number: str, body: ComponentsConsumed, session: SessionDep) -> ConsumedRead:
    consumed, deviations = await Genealogies(session).consume(serial_number, body)
    return ConsumedRead(
        parent_serial_number=serial_number,
        consumed=consumed,
        bom_deviations=[BomDeviationRead(**d.as_dict()) for d in deviations],
    )


@serials_router.get(
    "/{serial_number}/genealogy",
    response_model=Genealogy,
    dependencies=READ,
    summary="backward: everything inside the unit, all levels; forward: every unit it went into",
    responses=problems(SERIAL_NOT_FOUND),
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
    responses=problems(LOT_NOT_FOUND),
)
async def lot_genealogy(lot: str, session: SessionDep) -> Genealogy:
    return await Genealogies(session).trace_lot(await Lots(session, settings).find(lot))
