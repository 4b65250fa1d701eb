"""What an audited event says changed, field by field, with the values before and after.

Producers name the changed fields in ``changed`` and give their old values in ``previous``; the
new values are the event's own fields of those names (or, for an orders document, the fields of
its ``document``). A status move says it as ``previous_<field>`` beside ``<field>``
(``lathe.production.lot.status-changed.v1``). Events from before producers recorded old values
name their fields without values; so does a change of a secret (``password``), always.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lathe_analytics.audit.secrets import is_secret

PREVIOUS_PREFIX = "previous_"


@dataclass(frozen=True)
class FieldChange:
    field: str
    before: Any = None
    after: Any = None
    recorded: bool = False  # False: the event names the field without its values (a secret, or an older event)


def field_changes(data: Mapping[str, Any]) -> list[FieldChange]:
    changed = data.get("changed")
    if isinstance(changed, list):
        return [_named_change(data, name) for name in changed if isinstance(name, str)]
    return [
        FieldChange(name, data[key], data[name], recorded=True)
        for key in data
        if key.startswith(PREVIOUS_PREFIX)
        and (name := key.removeprefix(PREVIOUS_PREFIX)) in data
        and not is_secret(name)
    ]


def _named_change(data: Mapping[str, Any], name: str) -> FieldChange:
    previous = data.get("previous")
    document = data.get("document")
    after = document if isinstance(document, Mapping) else data
    if is_secret(name) or not isinstance(previous, Mapping) or name not in previous or name not in after:
        return FieldChange(name)
    return FieldChange(name, previous[name], after[name], recorded=True)
