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
