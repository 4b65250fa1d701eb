"""Everything this service stores lives in the `analytics` schema."""

from lathe_common.db import declarative_base
from lathe_common.outbox import PlumbingTables

SCHEMA = "analytics"
Base = declarative_base(SCHEMA)
plumbing = PlumbingTables.define(Base.metadata)
