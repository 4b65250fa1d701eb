import lathe_auth.models  # noqa: F401 - registers every table on the metadata
from lathe_auth.tables import Base
from lathe_common.migrations import run_env

run_env(Base.metadata)
