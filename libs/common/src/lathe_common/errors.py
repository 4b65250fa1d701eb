"""Typed domain errors and their single mapping to RFC 9457 problem+json responses.

Code below the endpoint layer raises these; nothing there knows about HTTP. Each error carries a
stable machine-readable ``code`` that clients and dead-letter headers use.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from lathe_common import context

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def _absent_when_unset(schema: dict[str, Any]) -> None:
    schema.pop("default", None)  # "default": null would document null as a value


class ValidationIssue(BaseModel):
    """One thing wrong with a request, in a problem's `errors`."""

    loc: list[str | int] = Field(description="where: `body`, `query`, `path` or `header`, then names and indexes")
    msg: str = Field(description="what is wrong, for people")
    type: str = Field(description="what is wrong, for programs (e.g. `missing`, `string_too_long`, `invalid_value`)")


class Problem(BaseModel):
    """The body of every refusal (RFC 9457 problem details), served as `application/problem+json`.

    Clients branch on `code`, which is stable; `title` and `detail` are for people. Some problems
    carry further members (e.g. `required` with `insufficient_scope`, `remaining_quantity` with
    `lot_quantity_exceeded`).
    """

    # What problem() writes; OpenAPI documents refer to it (lathe_common.problem_docs).
    model_config = ConfigDict(extra="allow")

    type: str = Field(description="`https://lathe.dev/problems/{code}`")
    title: str = Field(description="a short summary of the status")
    status: int = Field(ge=400, le=599, description="the HTTP status, repeated")
    detail: str = Field(description="what happened in this case")
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="stable and machine-readable")
    # Present when known, never null: documented as a string that may be absent.
    request_id: str | SkipJsonSchema[None] = Field(
        default=None, description="the `X-Request-ID` of the request", json_schema_extra=_absent_when_unset
    )
    errors: list[ValidationIssue] | SkipJsonSchema[None] = Field(
        default=None,
        description="with `validation_error` and `invalid_value`: each thing wrong",
        json_schema_extra=_absent_when_unset,
    )


class LatheError(Exception):
    """Base of every expected failure. Subclasses fix ``status`` and usually ``code``."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, code: str | None = None, persist_changes: bool = False, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code  # type: ignore[misc]
        self.persist_changes = persist_changes
        self.extra = extra


class InvalidInput(LatheError):
    status = 422
    code = "invalid_input"
    title = "Invalid input"


class NotFound(LatheError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(LatheError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unauthorized(LatheError):
    status = 401
    code = "unauthorized"
    title = "Unauthorized"


class Forbidden(LatheError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class TooManyRequests(LatheError):
    status = 429
    code = "rate_limited"
    title = "Too many requests"


class ServiceUnavailable(LatheError):
    status = 503
    code = "service_unavailable"
    title = "Service unavailable"


def problem(
    status: int, code: str, title: str, detail: str, /, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The members RFC 9457 defines (and ``code``, ``request_id``) are always ours: an extra member
    of the same name (an error raised with ``detail=...`` among its extras) is logged, not shown."""
    body: dict[str, Any] = {
        "type": f"https://lathe.dev/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if rid := context.request_id.get():
        body["request_id"] = rid
    for name, value in extra.items():
        if name in body or name in _OWN_MEMBERS:
            logger.warning("problem %s: extra member %r clashes with a standard one and is left out", code, name)
        else:
            body[name] = value
    return ProblemResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_OWN_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "instance", "request_id"})


class ProblemResponse(JSONResponse):
    """JSON that renders whatever a problem's extra members hold (bytes from a validation error's
    input, a Decimal, a date): refusing a request must never turn into a 500 of its own."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":"), default=_as_text).encode("utf-8")


def _as_text(value: Any) -> Any:
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def problem_from(error: LatheError, extra_headers: dict[str, str] | None = None) -> JSONResponse:
    """The response for a domain error; also for refusals made in middleware, which exception
    handlers never see."""
    extra = dict(error.extra)
    headers = {**(extra.pop("headers", None) or {}), **(extra_headers or {})}
    return problem(error.status, error.code, error.title, error.detail, headers=headers or None, **extra)


_STATUS_CODES = {
    400: ("bad_request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not_found", "Not found"),
    405: ("method_not_allowed", "Method not allowed"),
    406: ("not_acceptable", "Not acceptable"),
    409: ("conflict", "Conflict"),
    413: ("payload_too_large", "Payload too large"),
    415: ("unsupported_media_type", "Unsupported media type"),
    429: ("rate_limited", "Too many requests"),
}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app takes at the request's path. Starlette's 405 names the
    methods of the first route whose path matched; a path served by several routes (GET and PATCH
    declared apart, or in different routers) would then seem to take one method only."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        if route.methods and route.matches(request.scope)[0] is not Match.NONE:
            methods |= route.methods
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(LatheError)
    async def _domain(_: Request, exc: LatheError) -> JSONResponse:
        return problem_from(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in exc.errors()
        ]
        return problem(422, "validation_error", "Invalid request", "The request is not valid.", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, title = _STATUS_CODES.get(exc.status_code, ("http_error", "HTTP error"))
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem(exc.status_code, code, title, str(exc.detail), headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # The database's constraints are the last line behind the services' own checks: a request
        # that raced another past those checks gets a conflict to retry, not a 500.
        logger.warning("constraint violation: %s", exc.orig)
        return problem(409, "conflict", "Conflict", "A concurrent change conflicts with this request; retry it.")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return problem(500, "internal_error", "Internal error", "An unexpected error occurred; it has been logged.")
