import lathe_production.models  # noqa: F401 - registers every table on the metadata
from lathe_common.migrations import run_env
from lathe_production.tables import Base

run_env(Base.metadata)
