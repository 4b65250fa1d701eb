from __future__ import annotations


from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import redis.asyncio as redis
from fastapi import FastAPI, Request
from fastapi.responses import Response
from lathe_common.errors import NotFound
from lathe_common.http import health_router, install_http_plumbing
from lathe_common.logs import configure_logging

from lathe_gateway import __doc__ as description
from lathe_gateway.proxy import forward
from lathe_gateway.routes import resolve, upstream_urls
from lathe_gateway.settings import settings

configure_logging("gateway", settings.log_level)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.upstream_timeout_seconds, connect=settings.upstream_connect_timeout_seconds),
        limits=httpx.Limits(max_connections=settings.max_upstream_connections, max_keepalive_connections=100),
    )
    app.state.redis = redis.from_url(settings.redis_url, socket_timeout=1, socket_connect_timeout=1)
    app.state.upstreams = upstream_urls(settings)
    try:
        yield
    finally:
        await app.state.http.aclose()
        await app.state.redis.aclose()


app = FastAPI(title="Lathe gateway", description=description or "", lifespan=lifespan)
install_http_plumbing(app, "gateway")


async def _redis_ready() -> bool:
    try:
        return bool(await app.state.redis.ping())
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return False


def _upstream_ready(service: str):  # noqa: ANN202
    async def check() -> bool:
        try:
            response = await app.state.http.get(f"{app.state.upstreams[service]}/health/ready", timeout=2)
        except httpx.HTTPError:
            return False
        return response.status_code == 200

    return check


app.include_router(
    health_router({"redis": _redis_ready, **{name: _upstream_ready(name) for name in upstream_urls(settings)}})
)


@app.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"], include_in_schema=False
)
async def proxy(request: Request, path: str) -> Response:
    route = resolve(request.url.path)
    if route is None:
        raise NotFound(f"No route for {request.url.path}.", code="route_not_found")
    return await forward(app.state.http, app.state.upstreams[route.service], route.service, request)



