import lathe_analytics.models  # noqa: F401 - registers every table on the metadata
from lathe_analytics.tables import Base
from lathe_common.migrations import run_env

run_env(Base.metadata)
