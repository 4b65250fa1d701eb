"""Everything this service stores lives in the `orders` schema."""

from lathe_common.db import declarative_base
from lathe_common.outbox import PlumbingTables

SCHEMA = "orders"
Base = declarative_base(SCHEMA)
plumbing = PlumbingTables.define(Base.metadata)
