"""Secrets never enter the audit trail, whatever an event carries.

Lathe's producers never put a password, hash or token in an event; this is the trail's own
guard, because what it stores can never be deleted: any such field, at any depth, is stored as
``[redacted]``. A payload is searched for the words first (fast), and walked only when one is there.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"
SECRET_FIELDS = frozenset(
    {
        "password",
        "password_hash",
        "current_password",
        "new_password",
        "secret",
        "client_secret",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
    }
)
_HINTS = (b"password", b"secret", b"token", b"api_key")


def is_secret(field: str) -> bool:
    return field.lower() in SECRET_FIELDS


def may_hold_secrets(raw_json: bytes) -> bool:
    lowered = raw_json.lower()
    return any(hint in lowered for hint in _HINTS)


def without_secrets(value: Any) -> Any:
    """``value`` with every secret field's value replaced by ``[redacted]``, at any depth."""
    if isinstance(value, dict):
        return {
            key: REDACTED if isinstance(key, str) and is_secret(key) else without_secrets(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [without_secrets(item) for item in value]
    return value
