"""docs/asyncapi/ is what the services really consume and publish (regenerate: see the message)."""

import json
from pathlib import Path

import pytest
from lathe_common.asyncapi import asyncapi_document

DOCS = Path(__file__).resolve().parents[4] / "docs" / "asyncapi"


@pytest.mark.parametrize("service", ["auth", "production", "orders", "analytics"])
def test_the_committed_asyncapi_document_is_current(service):
    import importlib

    definition = importlib.import_module(f"lathe_{service}.main").definition
    committed = json.loads((DOCS / f"{service}.json").read_text())
    assert asyncapi_document(definition) == committed, (
        f"regenerate: .venv/bin/python -m lathe_{service} asyncapi > docs/asyncapi/{service}.json"
    )


def test_the_machine_topic_is_documented_with_its_payload_and_dead_letters():
    committed = json.loads((DOCS / "production.json").read_text())
    assert "lathe.machine.process-data.v1.dlq" in committed["channels"]
    assert "StepExecution" in committed["components"]["schemas"]
    assert "message_id" in committed["components"]["schemas"]["StepExecution"]["properties"]


def test_each_consumer_is_documented_with_its_own_payload():
    """Two consumers of one service, each with its payload model: neither takes the other's."""
    from lathe_common.consumers import ConsumerSpec
    from lathe_common.outbox import PlumbingTables
    from lathe_common.service import ServiceDefinition
    from lathe_common.settings import ServiceSettings
    from pydantic import BaseModel
    from sqlalchemy import MetaData

    class Reading(BaseModel):
        sensor: str

    class Order(BaseModel):
        number: str

    async def ignore(session, payload) -> None:  # noqa: ANN001
        return None

    definition = ServiceDefinition(
        name="twin",
        settings=ServiceSettings(),
        tables=PlumbingTables.define(MetaData(schema="twin")),
        consumers=[
            ConsumerSpec(name="twin.readings", topics=("readings.v1",), handler=ignore, payload=Reading),
            ConsumerSpec(name="twin.orders", topics=("orders.v1",), handler=ignore, payload=Order),
        ],
    )
    schemas = asyncapi_document(definition)["components"]["schemas"]
    assert "sensor" in schemas["Reading"]["properties"]
    assert "number" in schemas["Order"]["properties"]
