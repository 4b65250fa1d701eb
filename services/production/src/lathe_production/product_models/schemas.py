from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from lathe_common.patching import changed_field
from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, Field, field_validator

from lathe_production.processes.schemas import PROCESS_CODE

# How product model requests are refused (documented on the routes that can refuse so).
PRODUCT_MODEL_NOT_FOUND = ProblemCode(404, "product_model_not_found", "no product model has that id or model code")
PRODUCT_MODEL_EXISTS = ProblemCode(409, "product_model_exists", "a product model with that code exists")
ROUTING_PROCESS_NOT_FOUND = ProblemCode(422, "process_not_found", "the routing names a process that does not exist")
ROUTING_PROCESS_INACTIVE = ProblemCode(422, "inactive_process", "the routing names an inactive process")
ROUTING_PROBLEMS = (ROUTING_PROCESS_NOT_FOUND, ROUTING_PROCESS_INACTIVE)

MODEL_CODE = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# A routing names each process once, by a code a process can have.
RoutingCode = Annotated[str, PROCESS_CODE]


def _routing_once(schema: dict[str, Any]) -> None:
    schema["properties"]["routing"]["uniqueItems"] = True  # what _no_repeats checks


def _no_repeats(routing: list[str] | None) -> list[str] | None:
    if routing is not None and len(set(routing)) != len(routing):
        raise ValueError("a process appears twice in the routing; each step must be a different process")
    return routing


class ProductModelCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra=_routing_once)

    model_code: str = MODEL_CODE
    model_name: str = Field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    specifications: dict[str, Any] = Field(default_factory=dict)
    routing: list[RoutingCode] = Field(
        min_length=1, max_length=100, description="process codes in the order they are run"
    )

    _routing = field_validator("routing")(_no_repeats)


class ProductModelUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra=_routing_once)

    model_name: str = changed_field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100, description="null clears it")
    specifications: dict[str, Any] = changed_field()
    routing: list[RoutingCode] = changed_field(min_length=1, max_length=100)
    is_active: bool = changed_field(strict=True)

    _routing = field_validator("routing")(_no_repeats)


class ProductModelRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    model_code: str
    model_name: str
    category: str | None
    specifications: dict[str, Any]
    routing: list[str]
    is_active: bool
    created_at: datetime
    updated_at: datetime
