"""Facts the analytics service announces: statistical process control signals."""

from __future__ import annotations

import uuid
from typing import ClassVar

from lathe_common.events import DomainEvent
from pydantic import BaseModel

SPC_ALERTS_TOPIC = "lathe.analytics.spc-alerts.v1"


class SpcAlertPoint(BaseModel):
    """One measured value that makes up the violation, as the step recorded it."""

    step_id: uuid.UUID  # the step execution (production's process-data id)
    value: float
    completed_at: str  # ISO 8601, UTC
    serial_number: str | None
    lot_number: str | None


class SpcAlertEvent(DomainEvent):
    """A measurement broke a Nelson rule on its individuals chart, and no alert of that rule was
    announced for these points before (a run that goes on is not announced again). Keyed by the
    process, so a process's alerts stay in order."""

    event_type: ClassVar[str] = "lathe.analytics.spc-alert.v1"
    topic: ClassVar[str] = SPC_ALERTS_TOPIC
    aggregate_field: ClassVar[str] = "process_code"

    id: uuid.UUID  # the alert's
    process_code: str
    measurement: str
    rule: int  # Nelson's rule number, 1-4
    rule_code: str  # beyond_3_sigma, nine_on_one_side, six_trending, fourteen_alternating
    description: str
    centre_line: float | None  # the chart's, when the rule was judged
    upper_control_limit: float | None
    lower_control_limit: float | None
    points: list[SpcAlertPoint]  # oldest first
    detected_at: str  # ISO 8601, UTC
