"""``GET /openapi.json`` (the merged document, cached) and ``GET /docs`` (Swagger UI for it)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping

import aiohttp
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse

from lathe_gateway.openapi import Document, merge_openapi
from lathe_gateway.routes import Upstream

logger = logging.getLogger(__name__)

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
# While a service is missing, rebuild sooner, so its operations appear soon after it starts.
DEGRADED_CACHE_SECONDS = 5.0


class OpenApiAggregator:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        upstreams: Mapping[str, Upstream],
        *,
        cache_seconds: float = 30.0,
        fetch_timeout_seconds: float = 5.0,
    ) -> None:
        self.session = session
        self.upstreams = upstreams
        self.cache_seconds = cache_seconds
        self.fetch_timeout_seconds = fetch_timeout_seconds
        self._document: Document | None = None
        self._expires_at = float("-inf")
        self._lock = asyncio.Lock()  # one rebuild at a time; the others wait and reuse it

    async def document(self) -> Document:
        async with self._lock:
            if self._document is None or time.monotonic() >= self._expires_at:
                services = list(self.upstreams)
                fetched = await asyncio.gather(*(self._fetch(self.upstreams[name]) for name in services))
                documents = dict(zip(services, fetched, strict=True))
                self._document = merge_openapi(documents)
                complete = all(doc is not None for doc in fetched)
                ttl = self.cache_seconds if complete else min(self.cache_seconds, DEGRADED_CACHE_SECONDS)
                self._expires_at = time.monotonic() + ttl
            return self._document

    async def _fetch(self, upstream: Upstream) -> Document | None:
        try:
            async with self.session.get(
                f"{upstream.base_url}{OPENAPI_PATH}", timeout=aiohttp.ClientTimeout(total=self.fetch_timeout_seconds)
            ) as response:
                response.raise_for_status()
                document = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning("OpenAPI of %s unavailable, left out: %r", upstream.service, exc)
            return None
        return document if isinstance(document, dict) else None


def docs_router() -> APIRouter:
    """Needs ``app.state.openapi`` (an OpenApiAggregator), set at startup."""
    router = APIRouter(include_in_schema=False)

    @router.get(OPENAPI_PATH)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await request.app.state.openapi.document())

    @router.get(DOCS_PATH)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_PATH,
            title="Lathe API",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            # The password flow needs no client; the app name only labels the Authorize dialog.
            init_oauth={"appName": "Lathe API"},
        )

    @router.get(OAUTH2_REDIRECT_PATH)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    return router
