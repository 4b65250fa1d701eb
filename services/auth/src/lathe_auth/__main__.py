from pathlib import Path

from lathe_common.cli import run_cli

from lathe_auth.commands import configure, configure_retire, create_admin, list_keys, retire_key, rotate_key
from lathe_auth.settings import settings
from lathe_auth.tables import SCHEMA

if __name__ == "__main__":
    run_cli(
        app_path="lathe_auth.main:app",
        settings=settings,
        schema=SCHEMA,
        migrations=Path(__file__).parent / "migrations",
        commands={
            "create-admin": (create_admin, configure),
            "rotate-key": (rotate_key, None),
            "retire-key": (retire_key, configure_retire),
            "list-keys": (list_keys, None),
        },
    )
