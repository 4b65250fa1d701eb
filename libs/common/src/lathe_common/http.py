"""HTTP plumbing every process shares: request ids, health endpoints."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lathe_common import context
from lathe_common.admission import EXEMPT_PREFIXES, Admission, AdmissionControl
from lathe_common.errors import install_error_handlers
from lathe_common.metrics import MetricsMiddleware, install_metrics_endpoint
from lathe_common.request_guard import DEFAULT_MAX_BODY_BYTES, RequestGuard

REQUEST_ID_HEADER = "x-request-id"
CORRELATION_ID_HEADER = "x-correlation-id"

ReadinessCheck = Callable[[], Awaitable[bool]]
_RID = REQUEST_ID_HEADER.encode()
_CID = CORRELATION_ID_HEADER.encode()


class RequestIdMiddleware:
    """Accepts or generates ``X-Request-ID`` and echoes it; the correlation id defaults to it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid_raw = cid_raw = None
        for name, value in scope["headers"]:
            if name == _RID:
                rid_raw = value
            elif name == _CID:
                cid_raw = value
        rid = clean_request_id(rid_raw) or uuid.uuid4().hex
        cid = clean_request_id(cid_raw) or rid
        rid_token = context.request_id.set(rid)
        cid_token = context.correlation_id.set(cid)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((REQUEST_ID_HEADER.encode(), rid.encode()))
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            context.request_id.reset(rid_token)
            context.correlation_id.reset(cid_token)


def clean_request_id(value: bytes | None) -> str | None:
    """A client's request or correlation id, if it is fit to go into logs and headers."""
    if value and len(value) <= 128:
        text = value.decode("latin-1")
        if text.isprintable():
            return text
    return None


def health_router(checks: dict[str, ReadinessCheck]) -> APIRouter:
    router = APIRouter(prefix="/health", tags=["health"])

    @router.get("/live", summary="The process is running")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="The process can serve: its dependencies answer")
    async def ready() -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        ok = all(results.values())
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": {k: "ok" if v else "down" for k, v in results.items()}},
            status_code=200 if ok else 503,
        )

    return router


def install_http_plumbing(
    app: FastAPI,
    service: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    body_limits: Mapping[str, int] | None = None,
    admission: Admission | None = None,
    admission_exempt: Sequence[str] = (),
) -> None:
    """Error handlers, metrics, request ids, admission control (when given) and the request guard
    (body limits, unstorable values). ``body_limits`` maps path prefixes to a larger (or smaller)
    body limit than ``max_body_bytes``; ``admission_exempt`` names path prefixes admission control
    leaves alone (beside health, metrics and docs), such as event streams."""
    install_error_handlers(app)
    install_metrics_endpoint(app)
    # Each added middleware wraps the ones before: request ids, then metrics, then admission, then
    # the guard, so refusals carry a request id and are counted, and a request refused for load
    # costs no body read.
    app.add_middleware(RequestGuard, max_body_bytes=max_body_bytes, body_limits=body_limits or {})
    if admission is not None:
        app.add_middleware(AdmissionControl, admission=admission, exempt_prefixes=(*EXEMPT_PREFIXES, *admission_exempt))
    app.add_middleware(MetricsMiddleware, service=service)
    app.add_middleware(RequestIdMiddleware)
