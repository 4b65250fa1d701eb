"""Which of a step's measurements become chart points. Pure.

A step's ``measurements`` hold whatever the machine or operator sent: numbers, but also text,
booleans, lists. Only finite numbers are points; anything else is skipped (a chart never sees it,
and never fails for it). Measurement names longer than ``MAX_NAME_LENGTH`` are skipped too: a name is
part of a chart's key and its URL, and an index cannot hold a key of any length.
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lathe_contracts.production import StepRecordedEvent

logger = logging.getLogger(__name__)

MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Point:
    process_code: str
    measurement: str
    step_id: uuid.UUID
    value: float
    completed_at: datetime
    serial_number: str | None
    lot_number: str | None
    model_code: str | None

    @property
    def chart(self) -> tuple[str, str]:
        return self.process_code, self.measurement


def numeric_value(raw: Any) -> float | None:
    """The measurement as a finite float, or None when it is not a number (booleans are not)."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    try:
        value = float(raw)
    except OverflowError:  # an integer beyond a float
        return None
    return value if math.isfinite(value) else None


def completion_time(text: str) -> datetime | None:
    """A step's ``completed_at`` (ISO 8601) as an aware UTC time; a time without an offset is UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def points_of(event: StepRecordedEvent) -> list[Point]:
    completed_at = completion_time(event.completed_at)
    if completed_at is None:
        logger.warning("step %s has an unreadable completed_at %r: no SPC points", event.id, event.completed_at)
        return []
    points = []
    for name, raw in event.measurements.items():
        value = numeric_value(raw)
        if value is None or not name or len(name) > MAX_NAME_LENGTH:
            continue
        points.append(
            Point(
                process_code=event.process_code,
                measurement=name,
                step_id=event.id,
                value=value,
                completed_at=completed_at,
                serial_number=event.serial_number,
                lot_number=event.lot_number,
                model_code=event.model_code,
            )
        )
    return points
