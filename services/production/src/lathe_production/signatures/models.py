from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_production.tables import Base


class Signature(Base):
    """An electronic signature applied to a record here (21 CFR Part 11 §11.50, §11.70): who, when,
    meaning, reason, the record and action it was given for, and the hash of that content. The token
    auth issued is kept as the evidence that auth checked the signer's password; its id is unique, so a
    token signs one record, once, whoever races. Never updated or deleted."""

    __tablename__ = "signatures"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    token_id: Mapped[str] = mapped_column(String(64), unique=True)
    record: Mapped[str] = mapped_column(String(200))
    meaning: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    signer_id: Mapped[uuid.UUID]
    signer_username: Mapped[str] = mapped_column(String(64))
    signer_name: Mapped[str | None] = mapped_column(String(200))
    authenticated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # auth's clock: password checked
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())  # ours: applied
    content_sha256: Mapped[str] = mapped_column(String(64))
    token: Mapped[str] = mapped_column(Text)
