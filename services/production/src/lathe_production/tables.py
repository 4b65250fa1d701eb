"""Everything this service stores lives in the `production` schema."""

from lathe_common.db import declarative_base
from lathe_common.outbox import PlumbingTables

SCHEMA = "production"
Base = declarative_base(SCHEMA)
plumbing = PlumbingTables.define(Base.metadata)
