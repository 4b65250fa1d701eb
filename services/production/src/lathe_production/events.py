"""Facts the production service announces (one topic per aggregate, key = its id)."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from lathe_common.events import DomainEvent

PROCESSES_TOPIC = "lathe.production.processes.v1"
PRODUCT_MODELS_TOPIC = "lathe.production.product-models.v1"


class ProcessDefined(DomainEvent):
    event_type: ClassVar[str] = "lathe.production.process.defined.v1"
    topic: ClassVar[str] = PROCESSES_TOPIC

    id: uuid.UUID
    process_code: str
    process_number: int
    name: str
    quality_criteria: dict[str, Any]
    is_active: bool


class ProcessChanged(ProcessDefined):
    event_type: ClassVar[str] = "lathe.production.process.changed.v1"

    changed: list[str]


class ProductModelDefined(DomainEvent):
    event_type: ClassVar[str] = "lathe.production.product-model.defined.v1"
    topic: ClassVar[str] = PRODUCT_MODELS_TOPIC

    id: uuid.UUID
    model_code: str
    model_name: str
    category: str | None
    routing: list[str]
    is_active: bool


class ProductModelChanged(ProductModelDefined):
    event_type: ClassVar[str] = "lathe.production.product-model.changed.v1"

    changed: list[str]


PRODUCED_TOPICS = [PROCESSES_TOPIC, PRODUCT_MODELS_TOPIC]
