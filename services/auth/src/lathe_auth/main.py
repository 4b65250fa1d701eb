from __future__ import annotations

import redis.asyncio as redis
from fastapi import FastAPI
from lathe_common.auth import CachedVerification, TokenCache, TokenVerifier
from lathe_common.events import events_in
from lathe_common.service import ServiceDefinition, create_service_app
from lathe_contracts import auth as contracts

from lathe_auth import __doc__ as description
from lathe_auth.keys import KeyStore
from lathe_auth.sessions.endpoints import jwks_router
from lathe_auth.sessions.endpoints import router as auth_router
from lathe_auth.settings import settings
from lathe_auth.tables import plumbing
from lathe_auth.users.endpoints import router as users_router


async def start(app: FastAPI) -> None:
    keys = KeyStore(settings.keys_dir)
    keys.ensure()
    app.state.keys = keys
    # Its own tokens, checked against its own keys (no round trip to itself), behind the same cache.
    app.state.token_verifier = CachedVerification(
        TokenVerifier(keys), TokenCache(settings.token_cache_size) if settings.token_cache_size else None
    )
    app.state.redis = redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)


async def stop(app: FastAPI) -> None:
    await app.state.redis.aclose()


definition = ServiceDefinition(
    name="auth",
    settings=settings,
    tables=plumbing,
    routers=[auth_router, users_router],
    root_routers=[jwks_router],
    events=events_in(contracts),
    description=description or "",
    on_startup=start,
    on_shutdown=stop,
)
app = create_service_app(definition)
