"""``GET /openapi.json`` (the merged document, cached) and ``GET /docs`` (Swagger UI for it).

Swagger UI's files are served by the gateway itself, from the ``fastapi-swagger`` package (Swagger UI's
released dist files, unmodified), never from a CDN: plants are often offline, and /docs must work there.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources

import aiohttp
from fastapi import APIRouter, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from lathe_common.errors import NotFound

from lathe_gateway.openapi import Document, documented_methods, merge_openapi
from lathe_gateway.routes import Upstream

logger = logging.getLogger(__name__)

OPENAPI_PATH = "/openapi.json"
DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
ASSETS_PATH = "/docs/assets"  # public: routes.PUBLIC_ENDPOINTS lists it as a directory
SWAGGER_UI_PACKAGE = "fastapi_swagger.resources"
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
# The URLs do not change when the package is upgraded, so browsers keep a copy for a day only and
# then revalidate it (If-None-Match: a 304 without a body while the file is the same).
ASSETS_CACHE_CONTROL = "public, max-age=86400"
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

    async def methods_at(self, path: str) -> list[str] | None:
        """The methods the merged document lists at ``path`` (None: it documents no such path)."""
        return documented_methods(await self.document(), path)

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


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


def swagger_ui_assets() -> dict[str, Asset]:
    """Swagger UI's files, read once at start-up (~2 MB): a missing one stops the gateway there."""
    package = resources.files(SWAGGER_UI_PACKAGE)
    assets = {}
    for name, media_type in SWAGGER_UI_FILES.items():
        body = package.joinpath(name).read_bytes()
        assets[name] = Asset(body, media_type, f'"{hashlib.sha256(body).hexdigest()[:32]}"')
    return assets


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if if_none_match is None:
        return False
    candidates = {candidate.strip().removeprefix("W/") for candidate in if_none_match.split(",")}
    return "*" in candidates or etag in candidates


def docs_router() -> APIRouter:
    """Needs ``app.state.openapi`` (an OpenApiAggregator), set at startup."""
    router = APIRouter(include_in_schema=False)
    assets = swagger_ui_assets()

    @router.get(OPENAPI_PATH)
    async def openapi(request: Request) -> JSONResponse:
        return JSONResponse(await request.app.state.openapi.document())

    @router.get(DOCS_PATH)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_PATH,
            title="Lathe API",
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon-32x32.png",
            # No badge that sends the document to validator.swagger.io: nothing may need the internet.
            swagger_ui_parameters={"validatorUrl": None},
            # The password flow needs no client; the app name only labels the Authorize dialog.
            init_oauth={"appName": "Lathe API"},
        )

    @router.get(OAUTH2_REDIRECT_PATH)
    async def swagger_ui_redirect() -> HTMLResponse:
        # FastAPI's own copy of Swagger UI's page, inline: it loads nothing.
        return get_swagger_ui_oauth2_redirect_html()

    @router.api_route(ASSETS_PATH + "/{name}", methods=["GET", "HEAD"])
    async def swagger_ui_asset(request: Request, name: str) -> Response:
        asset = assets.get(name)
        if asset is None:
            raise NotFound(f"No Swagger UI file named {name!r}.", code="route_not_found")
        headers = {"ETag": asset.etag, "Cache-Control": ASSETS_CACHE_CONTROL}
        if _etag_matches(request.headers.get("if-none-match"), asset.etag):
            return Response(status_code=304, headers=headers)
        body = b"" if request.method == "HEAD" else asset.body
        headers["Content-Length"] = str(len(asset.body))
        return Response(body, media_type=asset.media_type, headers=headers)

    return router
