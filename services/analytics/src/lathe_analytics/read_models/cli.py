"""``python -m lathe_analytics rebuild [NAME ...]``: rebuild read models from the topics' beginning."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict

from lathe_common.logs import configure_logging

from lathe_analytics.read_models.rebuild import Rebuild, RebuildRefused


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = "Replay the topics from the beginning into fresh tables and switch the live read model over."
    parser.add_argument("read_models", nargs="*", metavar="NAME", help="read models to rebuild (default: all)")
    parser.add_argument(
        "--allow-truncated-topics",
        action="store_true",
        help="rebuild even when retention has deleted the topics' oldest events (the result lacks them)",
    )
    parser.add_argument(
        "--switch-lag",
        type=int,
        default=None,
        help="events the replay may still be behind when the switch starts (default: one batch)",
    )


def command(args: argparse.Namespace) -> None:
    from lathe_analytics.main import READ_MODELS  # the service's own list: what it consumes live
    from lathe_analytics.settings import settings

    configure_logging("analytics-rebuild", settings.log_level)
    known = {model.name: model for model in READ_MODELS}
    unknown = [name for name in args.read_models if name not in known]
    if unknown:
        sys.exit(f"unknown read models {unknown}; there are {sorted(known)}")
    for name in args.read_models or list(known):
        rebuild = Rebuild(
            known[name],
            database_url=settings.database_url,
            bootstrap=settings.kafka_bootstrap_servers,
            allow_truncated=args.allow_truncated_topics,
            switch_lag=args.switch_lag,
        )
        try:
            report = asyncio.run(rebuild.run())
        except RebuildRefused as refused:
            sys.exit(f"rebuild of {name} refused: {refused}")
        print(json.dumps(asdict(report)), flush=True)
