"""The gateway app: middleware order, startup wiring, and the catch-all proxy route."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from lathe_common.auth import JwksKeySource, KeySource, TokenVerifier
from lathe_common.errors import NotFound
from lathe_common.http import REQUEST_ID_HEADER, health_router, install_http_plumbing
from lathe_common.logs import configure_logging

from lathe_gateway import __doc__ as description
from lathe_gateway.access import AccessControlMiddleware, AccessPolicy, RateLimits
from lathe_gateway.client_address import client_address
from lathe_gateway.docs import OpenApiAggregator, docs_router
from lathe_gateway.fail_open_redis import FailOpenRedis, connect
from lathe_gateway.proxy import forward
from lathe_gateway.ratelimit import RateLimiter
from lathe_gateway.routes import SERVICES, resolve, upstreams
from lathe_gateway.settings import GatewaySettings, settings
from lathe_gateway.tokens import AccessTokens

RATE_LIMIT_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"]


def create_app(
    config: GatewaySettings,
    *,
    key_source: KeySource | None = None,
    upstream_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """``key_source`` and ``upstream_transport`` replace the auth JWKS and the network in tests."""
    upstream_table = upstreams(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.http = httpx.AsyncClient(
            transport=upstream_transport,
            limits=httpx.Limits(max_connections=config.max_upstream_connections, max_keepalive_connections=100),
        )
        app.state.redis = connect(config.redis_url, timeout_seconds=config.redis_timeout_seconds)
        fail_open = FailOpenRedis(
            app.state.redis,
            pause_seconds=config.redis_failure_pause_seconds,
            warning_interval_seconds=config.redis_warning_interval_seconds,
        )
        app.state.token_verifier = TokenVerifier(
            key_source or JwksKeySource(f"{upstream_table['auth'].base_url}/.well-known/jwks.json")
        )
        app.state.access_policy = AccessPolicy(
            tokens=AccessTokens(fail_open),
            limiter=RateLimiter(fail_open) if config.rate_limits_enabled else None,
            limits=RateLimits(
                per_user=config.rate_limit_per_minute,
                anonymous=config.anonymous_rate_limit_per_minute,
                credentials=config.login_rate_limit_per_minute,
            ),
            trusted_proxies=config.trusted_proxies,
        )
        app.state.openapi = OpenApiAggregator(
            app.state.http, upstream_table, cache_seconds=config.openapi_cache_seconds
        )
        try:
            yield
        finally:
            await app.state.http.aclose()
            await app.state.redis.aclose()

    app = FastAPI(
        title="Lathe gateway",
        description=description or "",
        lifespan=lifespan,
        # The gateway documents the services' API, merged, at the same URLs (see docs.py).
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    # add_middleware puts each new one outside the previous: request ids and metrics (added by
    # install_http_plumbing) wrap CORS, which wraps access control, so refusals carry a request id
    # and CORS headers (a browser can read them), and preflights need no token.
    app.add_middleware(AccessControlMiddleware)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=config.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", REQUEST_ID_HEADER],
            expose_headers=[REQUEST_ID_HEADER, "Location", *RATE_LIMIT_HEADERS],
        )
    install_http_plumbing(app, "gateway")

    async def redis_ready() -> bool:
        try:
            return bool(await app.state.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    def upstream_ready(service: str):  # noqa: ANN202
        async def check() -> bool:
            try:
                response = await app.state.http.get(f"{upstream_table[service].base_url}/health/ready", timeout=2)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        return check

    app.include_router(health_router({"redis": redis_ready, **{name: upstream_ready(name) for name in SERVICES}}))
    app.include_router(docs_router())

    @app.api_route(
        "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"], include_in_schema=False
    )
    async def proxy(request: Request, path: str) -> Response:
        route = resolve(request.url.path)
        if route is None:
            raise NotFound(f"No route for {request.url.path}.", code="route_not_found")
        address = client_address(request, config.trusted_proxies)
        return await forward(request.app.state.http, upstream_table[route.service], request, address)

    return app


configure_logging("gateway", settings.log_level)
app = create_app(settings)
