from __future__ import annotations

import uuid
from datetime import datetime

from lathe_common.patching import changed_field
from pydantic import BaseModel, ConfigDict, EmailStr, Field

from lathe_auth.roles import Role

USERNAME = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]*$")


class UserCreate(BaseModel):
    username: str = USERNAME
    password: str = Field(min_length=1, max_length=256)
    role: Role
    email: EmailStr | None = None
    full_name: str | None = Field(default=None, max_length=200)


class UserUpdate(BaseModel):
    email: EmailStr | None = Field(default=None, description="null clears it")
    full_name: str | None = Field(default=None, max_length=200, description="null clears it")
    role: Role = changed_field()
    is_active: bool = changed_field()
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
