from pathlib import Path

from lathe_common.cli import run_cli

from lathe_orders.settings import settings
from lathe_orders.tables import SCHEMA

if __name__ == "__main__":
    run_cli(
        app_path="lathe_orders.main:app",
        settings=settings,
        schema=SCHEMA,
        migrations=Path(__file__).parent / "migrations",
    )
