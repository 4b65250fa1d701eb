"""Per-request / per-message context carried into logs and outgoing events."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
actor: ContextVar[str | None] = ContextVar("actor", default=None)
