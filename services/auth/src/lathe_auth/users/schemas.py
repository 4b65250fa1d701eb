from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lathe_common.patching import changed_field
from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from lathe_auth.roles import Role

# How user requests are refused (documented on the routes that can refuse so).
USER_NOT_FOUND = ProblemCode(404, "user_not_found", "no user has that id")
USER_EXISTS = ProblemCode(409, "user_exists", "another user has that username or email")
WEAK_PASSWORD = ProblemCode(
    422, "weak_password", "the password needs 8+ characters with an uppercase letter, a lowercase letter and a digit"
)
COMMON_PASSWORD = ProblemCode(422, "common_password", "the password is one of the commonly used ones")
PASSWORD_POLICY = (WEAK_PASSWORD, COMMON_PASSWORD)  # passwords.check_policy
CANNOT_CHANGE_SELF = ProblemCode(422, "cannot_change_self", "an administrator cannot deactivate or demote themselves")

# passwords.check_policy as far as a schema can state it (not which passwords are common): the
# service checks it, with the codes above, so these are stated rather than enforced by the model.
PASSWORD_RULES = {"minLength": 8, "pattern": r"^(?=[\s\S]*[A-Z])(?=[\s\S]*[a-z])(?=[\s\S]*\d)"}


def password_rules(*fields: str) -> Callable[[dict[str, Any]], None]:
    """``json_schema_extra`` stating PASSWORD_RULES on a model's new-password ``fields``."""

    def state(schema: dict[str, Any]) -> None:
        for field in fields:
            schema["properties"][field].update(PASSWORD_RULES)

    return state


USERNAME = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


class UserCreate(BaseModel):
    model_config = ConfigDict(json_schema_extra=password_rules("password"))

    username: str = USERNAME
    password: str = Field(min_length=1, max_length=256)
    role: Role
    email: EmailStr | None = None
    full_name: str | None = Field(default=None, max_length=200)


class UserUpdate(BaseModel):
    model_config = ConfigDict(json_schema_extra=password_rules("password"))

    email: EmailStr | None = Field(default=None, description="null clears it")
    full_name: str | None = Field(default=None, max_length=200, description="null clears it")
    role: Role = changed_field()
    is_active: bool = changed_field(strict=True)
    password: str = changed_field(min_length=1, max_length=256, description="an administrator's reset")


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    email: str | None
    full_name: str | None
    role: str
    is_active: bool
    last_login_at: datetime | None
    created_at: datetime
    updated_at: datetime


class Me(UserRead):
    scopes: list[str] = []
