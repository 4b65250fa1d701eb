from lathe_common.cli import run_cli

from lathe_gateway.settings import settings

if __name__ == "__main__":
    run_cli(app_path="lathe_gateway.main:app", settings=settings)
