from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from lathe_common.patching import changed_field
from pydantic import BaseModel, ConfigDict, Field, field_validator

MODEL_CODE = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _no_repeats(routing: list[str] | None) -> list[str] | None:
    if routing is not None and len(set(routing)) != len(routing):
        raise ValueError("a process appears twice in the routing; each step must be a different process")
    return routing


class ProductModelCreate(BaseModel):
    model_code: str = MODEL_CODE
    model_name: str = Field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100)
    specifications: dict[str, Any] = Field(default_factory=dict)
    routing: list[str] = Field(min_length=1, max_length=100, description="process codes in the order they are run")

    _routing = field_validator("routing")(_no_repeats)


class ProductModelUpdate(BaseModel):
    model_name: str = changed_field(min_length=1, max_length=200)
    category: str | None = Field(default=None, max_length=100, description="null clears it")
    specifications: dict[str, Any] = changed_field()
    routing: list[str] = changed_field(min_length=1, max_length=100)
    is_active: bool = changed_field()

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
