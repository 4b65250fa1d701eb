"""Machine ingestion: ``lathe.machine.process-data.v1`` recorded through the same code as the REST path.

Contract (docs/integration.md): key = serial or LOT number, JSON body of the StepExecution shape
with a required ``message_id``. What cannot be recorded goes to ``lathe.machine.process-data.v1.dlq``
with a reason code: ``invalid_json``, ``schema_error``, ``invalid_value`` (NUL characters, NaN or
infinite numbers, integers beyond 64 bits, a cycle time no column can hold), or the rule's own code
(``serial_not_found``, ``process_not_found``, ``step_out_of_order``, ``rework_exhausted``, ...).
"""

from __future__ import annotations

from aiokafka import ConsumerRecord
from lathe_common.consumers import ConsumerSpec, Decoded, Undeliverable
from lathe_common.errors import LatheError
from lathe_common.storable import UnstorableValue, check_storable
from lathe_contracts import machine
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.process_data.schemas import StepExecution
from lathe_production.process_data.service import StepRecorder
from lathe_production.settings import settings

MACHINE_TOPIC = machine.PROCESS_DATA_TOPIC


def decode_machine_message(record: ConsumerRecord) -> Decoded:
    try:
        execution = StepExecution.model_validate_json(record.value or b"")
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        if errors[0]["type"] == "json_invalid":
            raise Undeliverable("invalid_json", f"The message is not JSON: {errors[0]['msg']}.") from exc
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'body'}: {e['msg']}" for e in errors)
        raise Undeliverable("schema_error", problems) from exc
    if execution.message_id is None:
        raise Undeliverable("schema_error", "message_id: required on the machine topic (it makes redelivery harmless)")
    try:
        check_storable(execution)
    except UnstorableValue as exc:
        raise Undeliverable(exc.code, str(exc)) from exc
    return Decoded(execution.message_id, execution)


async def record_machine_step(session: AsyncSession, execution: StepExecution) -> None:
    await StepRecorder(session, settings).record(execution)


async def record_machine_steps(session: AsyncSession, executions: list[StepExecution]) -> list[LatheError | None]:
    outcomes = await StepRecorder(session, settings).record_many(executions)
    return [o if isinstance(o, LatheError) else None for o in outcomes]


machine_consumer = ConsumerSpec(
    name="production.machine-process-data",
    topics=(MACHINE_TOPIC,),
    handler=record_machine_step,
    batch_handler=record_machine_steps,
    decode=decode_machine_message,
    batch_size=settings.machine_batch_size,
    members=settings.machine_consumer_members,
    # Every step recorded is an event: a backlog on the topic is ingested at the pace events go out.
    paced_by_outbox=True,
    payload=StepExecution,
    description="Step executions from machines (docs/integration.md). Key: serial or LOT number.",
)
