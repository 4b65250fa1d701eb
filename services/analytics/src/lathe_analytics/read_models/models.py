"""What the rebuild mechanism keeps about each read model (never rebuilt itself)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


class ReadModelState(Base):
    """One row per read model. Every batch of its live consumer takes this row FOR SHARE first; a
    rebuild's switch takes it FOR UPDATE, so no live batch writes while the tables are swapped."""

    __tablename__ = "read_model_state"

    name: Mapped[str] = mapped_column(Text, primary_key=True)
    generation: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # +1 per rebuild
    rebuilt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    skips_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class ReadModelSkip(Base):
    """Events the rebuilt tables already hold but the live consumer has not reached yet (between
    its position and the rebuild's at the switch): it passes over each once, then forgets it."""

    __tablename__ = "read_model_skips"

    read_model: Mapped[str] = mapped_column(Text, primary_key=True)
    message_id: Mapped[str] = mapped_column(Text, primary_key=True)
