"""Operator commands: ``python -m lathe_auth create-admin | rotate-key | retire-key KID | list-keys``."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from lathe_common.db import create_engine, create_session_factory, unit_of_work

from lathe_auth.keys import KeyStore
from lathe_auth.settings import settings
from lathe_auth.users.service import Users


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--username", default=os.environ.get("LATHE_ADMIN_USERNAME", "admin"))
    parser.add_argument(
        "--password",
        default=os.environ.get("LATHE_ADMIN_PASSWORD"),
        help="defaults to $LATHE_ADMIN_PASSWORD",
    )


def create_admin(args: argparse.Namespace) -> None:
    if not args.password:
        sys.exit("create-admin: set LATHE_ADMIN_PASSWORD or pass --password")

    async def run() -> bool:
        engine = create_engine(settings.database_url, pool_size=1, application_name="lathe-auth-bootstrap")
        try:
            async with unit_of_work(create_session_factory(engine)) as session:
                _, created = await Users(session).ensure_admin(username=args.username, password=args.password)
        finally:
            await engine.dispose()
        return created

    created = asyncio.run(run())
    print(f"admin {args.username!r} {'created' if created else 'already exists'}")


def rotate_key(_: argparse.Namespace) -> None:
    keys = KeyStore(settings.keys_dir)
    keys.ensure()
    print(f"new active signing key {keys.rotate()}; older keys stay published until retired")


def configure_retire(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("kid", help="a key id from list-keys; retire only after its tokens have expired")


def retire_key(args: argparse.Namespace) -> None:
    KeyStore(settings.keys_dir).retire(args.kid)
    print(f"retired {args.kid}")


def list_keys(_: argparse.Namespace) -> None:
    keys = KeyStore(settings.keys_dir)
    keys.ensure()
    active = keys.active().kid
    for kid in keys.kids():
        print(f"{kid}{'  (active)' if kid == active else ''}")
