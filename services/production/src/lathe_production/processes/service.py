"""Process definitions: unique codes and numbers, criteria checked on the way in, changes announced."""

from __future__ import annotations

from lathe_common.errors import Conflict
from lathe_common.pagination import PageParams
from lathe_common.repository import Repository
from lathe_contracts.production import ProcessChangedEvent, ProcessDefinedEvent
from sqlalchemy import or_, select

from lathe_production.outbox import outbox
from lathe_production.processes.models import Process
from lathe_production.processes.schemas import ProcessCreate, ProcessUpdate


def _facts(process: Process) -> dict:
    return {
        "id": process.id,
        "process_code": process.process_code,
        "process_number": process.process_number,
        "name": process.name,
        "quality_criteria": process.quality_criteria,
        "is_active": process.is_active,
        "standard_time_seconds": process.standard_time_seconds,
    }


def _columns(data: ProcessCreate | ProcessUpdate, *, exclude_unset: bool) -> dict:
    """The body as column values: JSON for the criteria, the standard time kept a Decimal."""
    values = data.model_dump(exclude_unset=exclude_unset, mode="json")
    if "standard_time_seconds" in values:
        values["standard_time_seconds"] = data.standard_time_seconds
    return values


class Processes(Repository[Process]):
    model = Process
    noun = "process"

    async def find(self, key: str, *, for_update: bool = False) -> Process:  # type: ignore[override]
        return await super().find(key, Process.process_code, for_update=for_update)

    async def search(self, page: PageParams, *, is_active: bool | None, q: str | None) -> tuple[list[Process], int]:
        statement = self.containing(
            select(Process).order_by(Process.process_number), q, Process.process_code, Process.name
        )
        return await self.page(page, equal={Process.is_active: is_active}, statement=statement)

    async def create(self, data: ProcessCreate) -> Process:
        clash = await self.session.scalar(
            select(Process.id).where(
                or_(Process.process_code == data.process_code, Process.process_number == data.process_number)
            )
        )
        if clash is not None:
            raise Conflict("A process with this code or number already exists.", code="process_exists")
        process = Process(**_columns(data, exclude_unset=False))
        self.session.add(process)
        await self.session.flush()
        await outbox.add(self.session, ProcessDefinedEvent(**_facts(process)))
        return process

    async def update(self, key: str, data: ProcessUpdate) -> Process:
        process = await self.find(key, for_update=True)
        previous = self.apply_recording(process, _columns(data, exclude_unset=True))
        if previous:
            await self.session.flush()
            await outbox.add(
                self.session, ProcessChangedEvent(**_facts(process), changed=list(previous), previous=previous)
            )
        return process
