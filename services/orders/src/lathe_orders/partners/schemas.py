from __future__ import annotations

import uuid
from datetime import datetime

from lathe_common.patching import changed_field
from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, EmailStr, Field

UNKNOWN_CURRENCY = ProblemCode(422, "unknown_currency", "not an ISO 4217 currency with a minor unit")


def partner_problems(noun: str) -> tuple[ProblemCode, ProblemCode]:
    """How a customer's or supplier's routes are refused: ``{noun}_not_found``, ``{noun}_exists``."""
    return (
        ProblemCode(404, f"{noun}_not_found", f"no {noun} has that id or code"),
        ProblemCode(409, f"{noun}_exists", f"a {noun} with that code exists"),
    )


CODE = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
CURRENCY = Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217, e.g. EUR")


class PartnerCreate(BaseModel):
    code: str = CODE
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=2000)
    currency: str = CURRENCY
    payment_terms_days: int = Field(default=30, ge=0, le=3650, strict=True)


class PartnerUpdate(BaseModel):
    name: str = changed_field(min_length=1, max_length=200)
    email: EmailStr | None = Field(default=None, description="null clears it")
    phone: str | None = Field(default=None, max_length=40, description="null clears it")
    address: str | None = Field(default=None, max_length=2000, description="null clears it")
    currency: str = changed_field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$")
    payment_terms_days: int = changed_field(ge=0, le=3650, strict=True)
    is_active: bool = changed_field(strict=True)


class PartnerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    name: str
    email: str | None
    phone: str | None
    address: str | None
    currency: str
    payment_terms_days: int
    is_active: bool
    created_at: datetime
    updated_at: datetime
