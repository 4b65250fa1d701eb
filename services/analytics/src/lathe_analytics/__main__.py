from pathlib import Path

from lathe_common.cli import run_cli

from lathe_analytics.read_models import cli as read_models_cli
from lathe_analytics.settings import settings
from lathe_analytics.tables import SCHEMA

if __name__ == "__main__":
    run_cli(
        app_path="lathe_analytics.main:app",
        settings=settings,
        schema=SCHEMA,
        migrations=Path(__file__).parent / "migrations",
        commands={"rebuild": (read_models_cli.command, read_models_cli.configure)},
    )
