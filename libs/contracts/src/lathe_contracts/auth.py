"""Facts the auth service announces on ``lathe.auth.users.v1`` (key: the user id). Never carries secrets."""

from __future__ import annotations

import uuid
from typing import ClassVar

from lathe_common.events import DomainEvent

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

    changed: list[str]


class UserDeactivatedEvent(_UserEvent):
    event_type: ClassVar[str] = "lathe.auth.user.deactivated.v1"
