"""Facts the auth service announces on ``lathe.auth.users.v1`` (key: the user id). Never carries secrets."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from lathe_common.events import DomainEvent
from pydantic import Field

USERS_TOPIC = "lathe.auth.users.v1"


class _UserEvent(DomainEvent):
    topic: ClassVar[str] = USERS_TOPIC

    id: uuid.UUID
    username: str


class UserCreatedEvent(_UserEvent):
    event_type: ClassVar[str] = "lathe.auth.user.created.v1"

    email: str | None
    full_name: str | None
    role: str


class UserUpdatedEvent(_UserEvent):
    event_type: ClassVar[str] = "lathe.auth.user.updated.v1"

    changed: list[str]  # "password" among them says it changed, never what to or from
    # Added later than `changed`: null in events published before them.
    email: str | None = Field(default=None, description="after the change")
    full_name: str | None = Field(default=None, description="after the change")
    role: str | None = Field(default=None, description="after the change")
    is_active: bool | None = Field(default=None, description="after the change")
    previous: dict[str, Any] = Field(
        default_factory=dict,
        description="the value before this change of each field named in `changed` (never the password's); "
        "empty in events published before Lathe recorded old values",
    )


class UserDeactivatedEvent(_UserEvent):
    event_type: ClassVar[str] = "lathe.auth.user.deactivated.v1"
