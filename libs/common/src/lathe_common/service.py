"""The one way a Lathe service process is assembled: FastAPI + FastStream + outbox relay."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import APIRouter, FastAPI
from faststream.kafka import KafkaBroker

from lathe_common.admission import Admission
from lathe_common.auth import (
    CachedVerification,
    JwksKeySource,
    RevocationList,
    TokenCache,
    TokenVerifier,
    connect_redis,
)
from lathe_common.consumers import Backoff, ConsumerRuntime, ConsumerSpec, prune_inbox_forever
from lathe_common.db import create_engine, create_session_factory, database_reachable
from lathe_common.events import DomainEvent
from lathe_common.http import health_router, install_http_plumbing
from lathe_common.kafka import create_producer, dlq_topic, ensure_topics, kafka_reachable
from lathe_common.logs import configure_logging
from lathe_common.outbox import OutboxRelay, PlumbingTables
from lathe_common.problem_docs import document_problems
from lathe_common.settings import ServiceSettings

logger = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


@dataclass
class ServiceDefinition:
    name: str
    settings: ServiceSettings
    tables: PlumbingTables
    routers: Sequence[APIRouter] = ()  # mounted under /api/v1
    root_routers: Sequence[APIRouter] = ()  # mounted as they are (e.g. /.well-known/...)
    consumers: Sequence[ConsumerSpec] = ()
    events: Sequence[type[DomainEvent]] = ()  # what it announces; their topics are created at start
    description: str = ""
    version: str = "0.1.0"
    on_startup: Callable[[FastAPI], Awaitable[None]] | None = None
    on_shutdown: Callable[[FastAPI], Awaitable[None]] | None = None
    # Routes (path prefixes below /api/v1) whose requests may be larger than max_request_body_bytes.
    body_limits: Mapping[str, int] = field(default_factory=dict)
    # Routes (path prefixes below /api/v1) left out of admission control: long-lived answers (event
    # streams) that would hold a slot for as long as they last. They limit themselves.
    admission_exempt: Sequence[str] = ()

    @property
    def produced_topics(self) -> list[str]:
        return sorted({event.topic for event in self.events})

    @property
    def topics_to_ensure(self) -> list[str]:
        consumed = [t for spec in self.consumers for t in spec.topics]
        return [*self.produced_topics, *consumed, *(dlq_topic(t) for t in consumed)]


def create_service_app(definition: ServiceDefinition) -> FastAPI:
    settings = definition.settings
    configure_logging(definition.name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_engine(
            settings.database_url,
            pool_size=settings.database_pool_size,
            application_name=f"lathe-{definition.name}",
            hide_parameters=settings.environment != "development",
        )
        producer = create_producer(settings.kafka_bootstrap_servers, client_id=f"lathe-{definition.name}")
        await producer.start()
        await ensure_topics(
            settings.kafka_bootstrap_servers,
            definition.topics_to_ensure,
            partitions=settings.kafka_topic_partitions,
            replication_factor=settings.kafka_replication_factor,
        )
        relay = OutboxRelay(
            service=definition.name,
            tables=definition.tables,
            engine=engine,
            producer=producer,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
            publish_timeout_seconds=settings.outbox_publish_timeout_seconds,
        )
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        app.state.producer = producer
        app.state.relay = relay
        app.state.token_verifier = CachedVerification(
            TokenVerifier(JwksKeySource(settings.auth_jwks_url, cache_seconds=settings.auth_jwks_cache_seconds)),
            TokenCache(settings.token_cache_size) if settings.token_cache_size else None,
        )
        app.state.revocations = RevocationList(
            connect_redis(settings.redis_url, timeout_seconds=settings.redis_timeout_seconds), service=definition.name
        )
        if definition.on_startup is not None:
            await definition.on_startup(app)

        broker = KafkaBroker(
            settings.kafka_bootstrap_servers,
            client_id=f"lathe-{definition.name}-consumer",
            # FastStream logs every message it handles; through our JSON logs, and only at DEBUG.
            logger=logging.getLogger("faststream"),
            log_level=logging.DEBUG,
        )
        runtime = ConsumerRuntime(
            service=definition.name,
            session_factory=app.state.session_factory,
            inbox=definition.tables.inbox,
            producer=producer,
            max_attempts=settings.consumer_max_attempts,
            backoff=Backoff(max_seconds=settings.consumer_retry_max_seconds),
        )
        runtime.pace_with(relay.caught_up, settings.outbox_pacing_max_seconds)
        consumers = definition.consumers if settings.consumers_enabled else ()
        for spec in consumers:
            runtime.register(broker, spec)
        app.state.broker = broker
        background = [
            asyncio.create_task(relay.run(), name=f"{definition.name}-outbox-relay"),
            asyncio.create_task(
                prune_inbox_forever(
                    engine,
                    definition.tables.inbox,
                    retention=timedelta(days=settings.inbox_retention_days),
                    every_seconds=3600,
                ),
                name=f"{definition.name}-inbox-pruning",
            ),
        ]
        if consumers:
            await broker.start()
        logger.info("%s started", definition.name)
        try:
            yield
        finally:
            if consumers:
                await broker.stop()
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            if definition.on_shutdown is not None:
                await definition.on_shutdown(app)
            await producer.stop()
            await engine.dispose()
            await app.state.revocations.close()

    app = FastAPI(
        title=f"Lathe {definition.name}",
        description=definition.description,
        version=definition.version,
        lifespan=lifespan,
        # "/lots/" would otherwise answer 307 with this process's own URL in Location: clients only
        # ever see the gateway, so a path that is not a route is a 404, never a redirect.
        redirect_slashes=False,
    )
    install_http_plumbing(
        app,
        definition.name,
        max_body_bytes=settings.max_request_body_bytes,
        body_limits={API_PREFIX + prefix: limit for prefix, limit in definition.body_limits.items()},
        admission=Admission(
            definition.name,
            max_in_flight=settings.max_concurrent_requests,
            max_wait_seconds=settings.admission_wait_seconds,
        ),
        admission_exempt=[API_PREFIX + prefix for prefix in definition.admission_exempt],
    )
    app.include_router(
        health_router(
            {
                "database": lambda: database_reachable(app.state.engine),
                "kafka": lambda: kafka_reachable(app.state.producer),
            }
        )
    )
    for router in definition.routers:
        app.include_router(router, prefix=API_PREFIX)
    for router in definition.root_routers:
        app.include_router(router)
    document_problems(app)
    return app
