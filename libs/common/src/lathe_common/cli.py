"""``python -m lathe_<service> serve|migrate|...``: the same entry point locally, in Docker and in k8s."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import uvicorn

from lathe_common.outbox import operators as outbox_operators
from lathe_common.settings import LatheSettings, ServiceSettings

Command = Callable[[argparse.Namespace], None]


def run_cli(
    *,
    app_path: str,
    settings: LatheSettings,
    schema: str | None = None,
    migrations: Path | None = None,
    commands: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None] | None]] | None = None,
) -> None:
    parser = argparse.ArgumentParser(prog=f"python -m {app_path.split('.')[0]}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP API and the Kafka consumers")
    serve.add_argument("--workers", type=int, default=1)
    if migrations is not None:
        sub.add_parser("migrate", help="apply database migrations up to head")
        sub.add_parser("asyncapi", help="print the AsyncAPI document of the topics it consumes and publishes")
        outbox_operators.configure(sub.add_parser("outbox", help="parked outbox rows: list them, republish one"))
    for name, (_, configure) in (commands or {}).items():
        p = sub.add_parser(name)
        if configure:
            configure(p)
    args = parser.parse_args()

    if args.command == "serve":
        uvicorn.run(
            app_path,
            host=settings.host,
            port=settings.port,
            workers=args.workers,
            log_config=None,
            access_log=False,
            # uvicorn would believe X-Forwarded-For from loopback and rewrite the client address
            # before any of our code runs; lathe_common.client_address decides, per TRUSTED_PROXIES.
            proxy_headers=False,
        )
    elif args.command == "migrate":
        from lathe_common.migrations import upgrade

        assert isinstance(settings, ServiceSettings) and migrations is not None and schema is not None
        upgrade(migrations, settings.database_url, schema)
    elif args.command == "asyncapi":
        import importlib
        import json

        from lathe_common.asyncapi import asyncapi_document

        definition = importlib.import_module(app_path.split(":")[0]).definition
        print(json.dumps(asyncapi_document(definition), indent=2, sort_keys=True))
    elif args.command == "outbox":
        assert isinstance(settings, ServiceSettings) and schema is not None
        raise SystemExit(outbox_operators.run(args, database_url=settings.database_url, schema=schema))
    else:
        (commands or {})[args.command][0](args)
