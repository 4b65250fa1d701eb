"""Facts the auth service announces: user accounts on ``lathe.auth.users.v1`` (key: the user id),
sign-ins on ``lathe.auth.logins.v1``. Never carries secrets: no password, hash or token."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from lathe_common.events import DomainEvent
from pydantic import Field

USERS_TOPIC = "lathe.auth.users.v1"
LOGINS_TOPIC = "lathe.auth.logins.v1"


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


class LoginSucceededEvent(DomainEvent):
    """A sign-in with the right password of an active account (key: the user id; the actor is the user)."""

    event_type: ClassVar[str] = "lathe.auth.login.succeeded.v1"
    topic: ClassVar[str] = LOGINS_TOPIC

    id: uuid.UUID
    username: str
    client_address: str


class LoginFailedEvent(DomainEvent):
    """A refused sign-in that counted toward a lockout (see docs/integration.md for which are
    announced: a flood of failures cannot announce more than the lockout lets through).

    Key: the account's id, or ``username:<the name in lowercase>`` for a name no account has."""

    event_type: ClassVar[str] = "lathe.auth.login.failed.v1"
    topic: ClassVar[str] = LOGINS_TOPIC
    aggregate_field: ClassVar[str] = "subject"

    subject: str
    user_id: uuid.UUID | None  # null: no account has this username
    username: str  # as typed (the password never is)
    client_address: str
    reason: str  # unknown_account, wrong_password, inactive_account
    failures: int = Field(description="failures counted from this address within the lockout window, this one included")
    locked_until: datetime | None = Field(
        description="set on the failure that reached the threshold: until then this account (for an unknown "
        "username: every unknown username) is locked from this address, and further failures there are "
        "refused without being counted or announced"
    )


SIGNATURES_TOPIC = "lathe.auth.signatures.v1"


class SignatureIssuedEvent(DomainEvent):
    """A signed-in user re-entered their password to sign a record (``POST /api/v1/auth/signatures``):
    auth issued a single-use signature token for that record, meaning and reason. The service that
    keeps the record announces when it applied the signature. Key: the user id."""

    event_type: ClassVar[str] = "lathe.auth.signature.issued.v1"
    topic: ClassVar[str] = SIGNATURES_TOPIC

    id: uuid.UUID  # the user
    username: str
    token_id: str
    record: str
    meaning: str
    reason: str
    client_address: str
    expires_at: datetime


class SignatureRefusedEvent(DomainEvent):
    """A wrong password given to sign a record: refused, and counted toward the sign-in lockout of the
    account from that address (announced only when counted, as failed sign-ins are). Key: the user id."""

    event_type: ClassVar[str] = "lathe.auth.signature.refused.v1"
    topic: ClassVar[str] = SIGNATURES_TOPIC

    id: uuid.UUID  # the user
    username: str
    record: str
    meaning: str
    client_address: str
    refusal: str = Field(description="`wrong_password`")
    failures: int = Field(description="failures counted from this address within the lockout window, this one included")
    locked_until: datetime | None = Field(description="set on the failure that reached the threshold")
