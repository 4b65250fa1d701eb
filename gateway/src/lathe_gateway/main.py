"""The gateway app: middleware order, startup wiring, the proxy fast path, and 404 for the rest."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from lathe_common.admission import Admission
from lathe_common.auth import JwksKeySource, KeySource, TokenCache, TokenVerifier
from lathe_common.errors import NotFound, allowed_methods, problem
from lathe_common.http import REQUEST_ID_HEADER, health_router, install_http_plumbing
from lathe_common.logs import configure_logging
from lathe_common.stopping import call_on_stop
from starlette.types import Receive, Scope, Send

from lathe_gateway import __doc__ as description
from lathe_gateway.access import AccessControlMiddleware, AccessPolicy, RateLimits
from lathe_gateway.docs import OpenApiAggregator, docs_router
from lathe_gateway.edge import ProxyMiddleware, Runtime
from lathe_gateway.fail_open_redis import FailOpenRedis, connect
from lathe_gateway.proxy import UpstreamClient
from lathe_gateway.ratelimit import RateLimiter
from lathe_gateway.routes import SERVICES, resolve, upstreams
from lathe_gateway.settings import GatewaySettings, settings
from lathe_gateway.tokens import AccessTokens

RATE_LIMIT_HEADERS = ["RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "Retry-After"]
HEALTH_CHECK_TIMEOUT = aiohttp.ClientTimeout(total=2)


class EveryMethod:
    """An endpoint as an ASGI app: Starlette gives a plain function's route GET and HEAD only, an
    ASGI app's route every method."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.endpoint = endpoint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.endpoint(Request(scope, receive))
        await response(scope, receive, send)


def create_app(config: GatewaySettings, *, key_source: KeySource | None = None) -> FastAPI:
    """``key_source`` replaces the auth service's JWKS in tests."""
    upstream_table = upstreams(config)
    runtime = Runtime(
        upstream_table,
        max_body_bytes=config.max_request_body_bytes,
        body_limits=dict(config.request_body_limits),
        admissions={
            name: Admission(
                f"gateway:{name}",
                max_in_flight=config.max_in_flight_per_service,
                max_wait_seconds=config.admission_wait_seconds,
            )
            for name in SERVICES
        },
        stream_admissions={
            name: Admission(
                f"gateway:{name}:streams",
                max_in_flight=config.max_streams_per_service,
                max_wait_seconds=0,  # a stream slot frees when a client leaves: no use waiting for one
                retry_after_seconds=5,
            )
            for name in SERVICES
        },
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.client = UpstreamClient(
            max_connections=config.max_upstream_connections,
            max_streams=config.max_streams_per_service * len(SERVICES),
        )
        runtime.stopping = asyncio.Event()
        undo_stop_hook = call_on_stop(runtime.stopping.set)  # open streams end when the process stops
        app.state.http = runtime.client.session
        app.state.redis = connect(config.redis_url, timeout_seconds=config.redis_timeout_seconds)
        fail_open = FailOpenRedis(
            app.state.redis,
            pause_seconds=config.redis_failure_pause_seconds,
            warning_interval_seconds=config.redis_warning_interval_seconds,
        )
        app.state.token_verifier = TokenVerifier(
            key_source
            or JwksKeySource(
                f"{upstream_table['auth'].base_url}/.well-known/jwks.json", cache_seconds=config.jwks_cache_seconds
            )
        )
        runtime.policy = app.state.access_policy = AccessPolicy(
            tokens=AccessTokens(
                app.state.token_verifier,
                fail_open,
                TokenCache(config.token_cache_size) if config.token_cache_size else None,
            ),
            limiter=RateLimiter(fail_open) if config.rate_limits_enabled else None,
            limits=RateLimits(
                per_user=config.rate_limit_per_minute,
                anonymous=config.anonymous_rate_limit_per_minute,
                credentials=config.login_rate_limit_per_minute,
            ),
            trusted_proxies=config.trusted_proxies,
        )
        app.state.openapi = OpenApiAggregator(
            runtime.client.session, upstream_table, cache_seconds=config.openapi_cache_seconds
        )
        try:
            yield
        finally:
            undo_stop_hook()
            runtime.stopping.set()
            await runtime.client.close()
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
    cors = None
    if config.cors_origins:
        cors = {
            "allow_origins": config.cors_origins,
            "allow_methods": ["GET", "POST", "PUT", "PATCH", "DELETE"],
            "allow_headers": ["Authorization", "Content-Type", "Idempotency-Key", REQUEST_ID_HEADER],
            "expose_headers": [REQUEST_ID_HEADER, "Location", *RATE_LIMIT_HEADERS],
        }
    # add_middleware puts each new one outside the previous: request ids and metrics (added by
    # install_http_plumbing) wrap CORS, which wraps access control, so refusals carry a request id
    # and CORS headers (a browser can read them), and preflights need no token.
    app.add_middleware(AccessControlMiddleware)
    if cors:
        app.add_middleware(CORSMiddleware, **cors)
    install_http_plumbing(app, "gateway", max_body_bytes=config.max_request_body_bytes)
    # Outermost: proxied requests take the fast path (edge.py), which does all of the above itself.
    app.add_middleware(ProxyMiddleware, runtime=runtime, cors=cors)

    async def redis_ready() -> bool:
        try:
            return bool(await app.state.redis.ping())
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return False

    def upstream_ready(service: str):  # noqa: ANN202
        async def check() -> bool:
            try:
                async with app.state.http.get(
                    f"{upstream_table[service].base_url}/health/ready", timeout=HEALTH_CHECK_TIMEOUT
                ) as response:
                    return response.status == 200
            except (aiohttp.ClientError, TimeoutError):
                return False

        return check

    app.include_router(health_router({"redis": redis_ready, **{name: upstream_ready(name) for name in SERVICES}}))
    app.include_router(docs_router())

    # Requests no route above took, once access control let them through (so without a token they
    # get 401 like any other). A routed path asked with a method the gateway does not forward
    # (TRACE, ...) is 405 with the methods the API documents there in Allow, as the services' own
    # 405s say for the methods it forwards; so is one of the gateway's own paths with another
    # method; any other path is 404.
    async def unrouted(request: Request) -> Response:
        path = request.url.path
        if resolve(path) is not None:
            allowed = await request.app.state.openapi.methods_at(path)
        else:
            allowed = allowed_methods(request) or None
        if allowed is None:
            raise NotFound(f"No route for {path}.", code="route_not_found")
        detail = f"{request.method} is not a method of {path}."
        return problem(405, "method_not_allowed", "Method not allowed", detail, headers={"Allow": ", ".join(allowed)})

    app.add_route("/{path:path}", EveryMethod(unrouted), include_in_schema=False)

    return app


configure_logging("gateway", settings.log_level)
app = create_app(settings)
