"""Everything this service stores lives in the `auth` schema."""

from lathe_common.db import declarative_base
from lathe_common.outbox import PlumbingTables

SCHEMA = "auth"
Base = declarative_base(SCHEMA)
plumbing = PlumbingTables.define(Base.metadata)
