"""What the realtime stream keeps: its entries, for a bounded time, and one row of state.

Entry ids are the events' ``id:`` on the wire. Writers hold ``WRITE_LOCK`` (a transaction-level
advisory lock) from their INSERT to their commit, so ids become visible in increasing order: a
reader that has seen id N will never later find a smaller id appear (see ``repository``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Identity, SmallInteger, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_analytics.tables import Base


class StreamEntry(Base):
    """One event of the stream, ready to send: ``data`` is its JSON as every client gets it."""

    __tablename__ = "stream_entries"
    __table_args__ = (CheckConstraint("kind IN ('step', 'lot', 'spc', 'kpi')", name="kind_known"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    kind: Mapped[str] = mapped_column(Text)
    # What the process_code / model_code filters compare (NULL: the event has none).
    process_code: Mapped[str | None] = mapped_column(Text)
    model_code: Mapped[str | None] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class StreamState(Base):
    """The single row (id 1) that pruning and the kpi tick coordinate through, across replicas."""

    __tablename__ = "stream_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # Every entry with an id up to this one has been deleted: a client whose Last-Event-ID is
    # below it has missed some, and is told so (event: gap).
    pruned_through: Mapped[int] = mapped_column(BigInteger, server_default="0")
    # When the latest kpi event was written: a replica writes the next one only once this is
    # STREAM_KPI_SECONDS old (a guarded UPDATE), so there is one tick for all of them.
    kpi_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
