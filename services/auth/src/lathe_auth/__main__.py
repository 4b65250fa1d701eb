from pathlib import Path

from lathe_common.cli import run_cli

from lathe_auth.bootstrap import configure, create_admin
from lathe_auth.settings import settings
from lathe_auth.tables import SCHEMA

if __name__ == "__main__":
    run_cli(
        app_path="lathe_auth.main:app",
        settings=settings,
        schema=SCHEMA,
        migrations=Path(__file__).parent / "migrations",
        commands={"create-admin": (create_admin, configure)},
    )
