"""Server-Sent Events as this stream writes them, and what a client may ask for. Pure.

An event is ``id:`` (the stream entry's id; absent on ``end``), ``event:`` (its kind) and its JSON
in ``data:`` lines, ended by a blank line (the WHATWG HTML "server-sent events" format). A heartbeat
is a comment line, which clients ignore and proxies see as traffic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lathe_common.errors import InvalidInput
from lathe_common.problem_docs import ProblemCode

STEP, LOT, SPC, KPI = "step", "lot", "spc", "kpi"
KINDS = (STEP, LOT, SPC, KPI)  # what the table holds; ?types= picks among them
GAP, END = "gap", "end"  # said by the stream itself, never stored

UNKNOWN_EVENT_TYPE = ProblemCode(422, "unknown_event_type", f"`types` names something other than {', '.join(KINDS)}")
INVALID_LAST_EVENT_ID = ProblemCode(
    422, "invalid_last_event_id", "`Last-Event-ID` is not an id this stream gave out (a non-negative integer)"
)
TOO_MANY_STREAMS = ProblemCode(
    503, "too_many_streams", "this process serves as many streams as it may: retry after `Retry-After` seconds"
)

_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # the only line ends the format knows
_MAX_ID = 2**63 - 1  # a bigint


def frame(event: str, data: str, event_id: int | None = None) -> bytes:
    """One event. Each line of ``data`` becomes a ``data:`` line, so a client rebuilds it exactly
    (it joins them with "\\n"); ``event`` and ids never contain line breaks (names and integers)."""
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines.append(f"event: {event}")
    lines.extend(f"data: {line}" for line in _LINE_BREAK.split(data))
    return ("\n".join(lines) + "\n\n").encode()


def comment(text: str) -> bytes:
    """A comment (a heartbeat): ignored by clients, but it keeps connections and proxies awake."""
    return "".join(f": {line}\n" for line in _LINE_BREAK.split(text)).encode() + b"\n"


def retry(milliseconds: int) -> bytes:
    """How long a client waits before reconnecting after the connection is lost."""
    return f"retry: {milliseconds}\n\n".encode()


@dataclass(frozen=True)
class StreamFilter:
    """Which events a client gets. ``process_code`` / ``model_code`` keep the events that carry
    that value (a LOT's events have no process, an SPC alert has no model); ``kpi`` events are
    plant-wide and pass them (leave ``kpi`` out of ``types`` not to get them)."""

    kinds: frozenset[str] = frozenset(KINDS)
    process_code: str | None = None
    model_code: str | None = None

    def matches(self, kind: str, process_code: str | None, model_code: str | None) -> bool:
        if kind not in self.kinds:
            return False
        if kind == KPI:
            return True
        if self.process_code is not None and process_code != self.process_code:
            return False
        return self.model_code is None or model_code == self.model_code

    @classmethod
    def parse(cls, types: str | None, process_code: str | None, model_code: str | None) -> StreamFilter:
        """From the query: ``types`` comma-separated (``step,lot``); naming none: every kind."""
        kinds = frozenset(KINDS)
        asked = {name.strip() for name in (types or "").split(",") if name.strip()}
        if asked:
            unknown = sorted(asked - kinds)
            if unknown:
                raise InvalidInput(
                    f"Unknown event types {unknown}; the stream has {', '.join(KINDS)}.",
                    code=UNKNOWN_EVENT_TYPE.code,
                    unknown=unknown,
                )
            kinds = frozenset(asked)
        return cls(kinds, process_code or None, model_code or None)


def parse_last_event_id(value: str | None) -> int | None:
    """The id a reconnecting client last received (``Last-Event-ID``); None for a fresh start."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > 19 or int(text) > _MAX_ID:
        raise InvalidInput(
            "Last-Event-ID must be the id of an event this stream sent (a non-negative integer).",
            code=INVALID_LAST_EVENT_ID.code,
        )
    return int(text)
