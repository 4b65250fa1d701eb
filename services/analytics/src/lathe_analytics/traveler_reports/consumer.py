"""The ``analytics.traveler-reports`` read model: production's process, step and LOT-record events
added up for labor efficiency and coating status.

Batched and set-based: a batch's steps and labor entries are summed per production day x operator
x process x LOT in memory and added with one statement per table; coating logs are counted per LOT
and process, and the latest by (applied_at, id) replaces the row's only when it is later, so the
result does not depend on how events are batched or in which order a LOT's logs arrive. Standard
times come from process events, as SPC takes spec limits: a definition never overwrites (one
delivered again after changes must not undo them), a change does. Idempotent through the inbox.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from lathe_common.consumers import batched_by_event_type
from lathe_contracts.production import (
    LOT_RECORDS_TOPIC,
    PROCESS_DATA_TOPIC,
    PROCESSES_TOPIC,
    CoatingLogRecordedEvent,
    LaborEntryRecordedEvent,
    ProcessChangedEvent,
    ProcessDefinedEvent,
    StepRecordedEvent,
)
from sqlalchemy import case, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_analytics.floor.plant import CLOCK
from lathe_analytics.read_models.bulk import add_up
from lathe_analytics.read_models.declaration import ReadModel
from lathe_analytics.traveler_reports.models import (
    TRAVELER_REPORT_TABLES,
    CoatingLotProcess,
    LaborOutputDay,
    LaborProcess,
    LaborTimeDay,
)

KEYS = ("day", "operator", "process_code", "lot_id")


def _standard_rows(events: list[ProcessDefinedEvent]) -> list[dict[str, Any]]:
    last = {e.process_code: e for e in events}  # a row is written once per statement
    return [{"process_code": code, "standard_time_seconds": e.standard_time_seconds} for code, e in last.items()]


async def processes_defined(session: AsyncSession, events: list[ProcessDefinedEvent]) -> None:
    await session.execute(insert(LaborProcess).values(_standard_rows(events)).on_conflict_do_nothing())


async def processes_changed(session: AsyncSession, events: list[ProcessChangedEvent]) -> None:
    statement = insert(LaborProcess).values(_standard_rows(events))
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[LaborProcess.process_code],
            set_={"standard_time_seconds": statement.excluded.standard_time_seconds},
        )
    )


async def steps_recorded(session: AsyncSession, events: list[StepRecordedEvent]) -> None:
    sums: dict[tuple, list[Any]] = {}
    for e in events:
        day = CLOCK.bucket(datetime.fromisoformat(e.completed_at)).day
        key = (day, e.operator or "", e.process_code, e.lot_id)
        row = sums.setdefault(key, [e.lot_number, 0, 0, 0, Decimal(0)])
        row[1] += 1
        row[2] += int(e.result == "PASS" and e.level == "SERIAL")
        if e.cycle_time_seconds is not None:
            row[3] += 1
            row[4] += Decimal(str(e.cycle_time_seconds))
    await add_up(
        session,
        LaborOutputDay.__table__,
        keys=KEYS,
        added=("executions", "units", "cycle_count", "cycle_seconds"),
        replaced=("lot_number",),
        rows=[(*key, *row[1:], row[0]) for key, row in sums.items()],
    )


async def labor_recorded(session: AsyncSession, events: list[LaborEntryRecordedEvent]) -> None:
    sums: dict[tuple, list[Any]] = {}
    for e in events:
        key = (CLOCK.bucket(e.started_at).day, e.operator, e.process_code, e.lot_id)
        row = sums.setdefault(key, [e.lot_number, 0, Decimal(0)])
        row[1] += 1
        row[2] += e.duration_seconds
    await add_up(
        session,
        LaborTimeDay.__table__,
        keys=KEYS,
        added=("entries", "seconds"),
        replaced=("lot_number",),
        rows=[(*key, *row[1:], row[0]) for key, row in sums.items()],
    )


_LATEST = (
    "log_id",
    "applied_at",
    "day",
    "result",
    "coating_type",
    "material_lot",
    "thickness_readings_um",
    "thickness_lower_um",
    "thickness_upper_um",
)


async def coatings_recorded(session: AsyncSession, events: list[CoatingLogRecordedEvent]) -> None:
    counts: dict[tuple, int] = defaultdict(int)
    latest: dict[tuple, CoatingLogRecordedEvent] = {}
    for e in events:
        key = (e.lot_id, e.process_code)
        counts[key] += 1
        if key not in latest or (e.applied_at, e.id) > (latest[key].applied_at, latest[key].id):
            latest[key] = e
    rows = [
        {
            "lot_id": e.lot_id,
            "process_code": e.process_code,
            "lot_number": e.lot_number,
            "model_code": e.model_code,
            "logs": counts[key],
            "log_id": e.id,
            "applied_at": e.applied_at,
            "day": CLOCK.bucket(e.applied_at).day,
            "result": e.result,
            "coating_type": e.coating_type,
            "material_lot": e.material_lot,
            "thickness_readings_um": e.thickness_readings_um,
            "thickness_lower_um": e.thickness_lower_um,
            "thickness_upper_um": e.thickness_upper_um,
        }
        for key, e in sorted(latest.items(), key=lambda item: (str(item[0][0]), item[0][1]))
    ]
    table = CoatingLotProcess.__table__
    statement = insert(table).values(rows)
    ex = statement.excluded
    later = tuple_(ex.applied_at, ex.log_id) > tuple_(table.c.applied_at, table.c.log_id)
    updates: dict[str, Any] = {name: case((later, ex[name]), else_=table.c[name]) for name in _LATEST}
    updates["logs"] = table.c.logs + ex.logs
    await session.execute(statement.on_conflict_do_update(index_elements=["lot_id", "process_code"], set_=updates))


_apply = batched_by_event_type(
    {
        ProcessDefinedEvent: processes_defined,
        ProcessChangedEvent: processes_changed,
        StepRecordedEvent: steps_recorded,
        LaborEntryRecordedEvent: labor_recorded,
        CoatingLogRecordedEvent: coatings_recorded,
    }
)

traveler_reports_read_model = ReadModel(
    name="analytics.traveler-reports",
    topics=(PROCESSES_TOPIC, PROCESS_DATA_TOPIC, LOT_RECORDS_TOPIC),
    tables=TRAVELER_REPORT_TABLES,
    apply=_apply,
    batch_size=2000,
    description="Standard times, units done and labor time per day, operator, process and LOT, and each "
    "LOT's latest coating per process, for the labor-efficiency and coating-status reports.",
)
