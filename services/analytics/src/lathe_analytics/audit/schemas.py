from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class AuditLogRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: uuid.UUID
    event_type: str
    source: str
    subject: str
    actor: str | None
    correlation_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    data: dict[str, Any]
