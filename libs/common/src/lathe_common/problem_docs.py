"""Refusals in OpenAPI documents: every operation lists each status it can answer with, as RFC 9457
problems (`application/problem+json`, the `Problem` schema of `lathe_common.errors`), each with
the stable codes it can carry there.

A route declares its own refusals where it is declared (``responses=problems(LOT_NOT_FOUND, ...)``);
what routes share is added in one place: ``document_problems`` (every service app, through
``create_service_app``) adds what a route's kind implies (sign-in, scopes, input validation, body
limits, cursors, admission, unexpected errors), and the gateway's merge adds what the gateway
answers itself (``add_problems``, with ``GATEWAY_PROBLEMS``).

In a document, a problem status reads

    "404": {"description": "Not Found. `code` is one of: ...",
            "content": {"application/problem+json": {"schema": {"allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"properties": {"status": {"const": 404},
                                "code": {"enum": [...], "x-enum-descriptions": [...]}}}]}}}}

so a generated client gets the codes as constants, a response validator refuses a code that is not
documented, and merging (``add_problems``) reads the codes back from the document itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, get_args

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from lathe_common.admission import EXEMPT_PREFIXES
from lathe_common.auth import AUTHENTICATED, declared_access
from lathe_common.csv_export import ListFormat
from lathe_common.errors import PROBLEM_JSON, Problem
from lathe_common.keyset import CursorDep
from lathe_common.outbox import EVENT_TOO_LARGE as EVENT_TOO_LARGE_CODE
from lathe_common.storable import INVALID_VALUE as INVALID_VALUE_CODE

SCHEMA_REF = "#/components/schemas/"
PROBLEM_REF = SCHEMA_REF + "Problem"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Response headers some refusals carry (documented, not required: a client may rely on them when present).
_RETRY_AFTER = {"description": "seconds to wait before trying again", "schema": {"type": "integer", "minimum": 0}}
STATUS_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"description": "`Bearer`, and the error of a bad token", "schema": {"type": "string"}}},
    429: {"Retry-After": _RETRY_AFTER},
    503: {"Retry-After": _RETRY_AFTER},
}


@dataclass(frozen=True)
class ProblemCode:
    """A stable ``code`` a route can refuse with, its HTTP status, and what it means (for the docs)."""

    status: int
    code: str
    meaning: str


# What every service answers on routes of a kind (added by document_problems).
VALIDATION_ERROR = ProblemCode(
    422, "validation_error", "the request does not match this operation's schema; `errors` says where and why"
)
INVALID_VALUE = ProblemCode(
    422,
    INVALID_VALUE_CODE,
    "a value nothing can store: a NUL character, NaN or Infinity, an integer beyond 64 bits; `errors` says where",
)
UNREADABLE_BODY = ProblemCode(400, "bad_request", "the body could not be read (JSON that is not UTF-8)")
PAYLOAD_TOO_LARGE = ProblemCode(413, "payload_too_large", "the request body is larger than this route accepts")
MISSING_TOKEN = ProblemCode(401, "missing_token", "no bearer access token was sent")
INVALID_TOKEN = ProblemCode(
    401, "invalid_token", "the access token is malformed, badly signed, from an unknown key or not for Lathe"
)
TOKEN_EXPIRED = ProblemCode(401, "token_expired", "the access token has expired: refresh it")
TOKEN_REVOKED = ProblemCode(401, "token_revoked", "the access token was revoked by a logout")
INSUFFICIENT_SCOPE = ProblemCode(403, "insufficient_scope", "the caller's role lacks the permission (`required`)")
INVALID_CURSOR = ProblemCode(422, "invalid_cursor", "the cursor is not one this list gave out")
CONCURRENT_CHANGE = ProblemCode(409, "conflict", "a concurrent change conflicts with this one: retry")
OVERLOADED = ProblemCode(503, "overloaded", "the service is at capacity: retry after `Retry-After` seconds")
INTERNAL_ERROR = ProblemCode(500, "internal_error", "an unexpected error, logged with the request id")
# A route whose path parameter has a form (`{id:uuid}`, so that a literal sibling such as
# /holds/by-component is not also read as an id) answers other values as a path it does not have.
PATH_NOT_FOUND = ProblemCode(404, "not_found", "nothing is at this path: the id is not of its form (a uuid)")
# Declared by the routes that announce events (a state change and its event commit together).
EVENT_TOO_LARGE = ProblemCode(
    422, EVENT_TOO_LARGE_CODE, "the change would announce an event larger than the service may publish; nothing changed"
)

# What the gateway answers itself, on every operation it routes (added by its OpenAPI merge).
RATE_LIMITED = ProblemCode(429, "rate_limited", "too many requests from this user or address: see `Retry-After`")
UPSTREAM_UNAVAILABLE = ProblemCode(503, "upstream_unavailable", "the service behind this route cannot be reached")
UPSTREAM_TIMEOUT = ProblemCode(504, "upstream_timeout", "the service behind this route did not answer in time")
GATEWAY_PROBLEMS = (PAYLOAD_TOO_LARGE, RATE_LIMITED, OVERLOADED, UPSTREAM_UNAVAILABLE, UPSTREAM_TIMEOUT)
GATEWAY_SIGN_IN_PROBLEMS = (MISSING_TOKEN, INVALID_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED)


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and the schemas it refers to, for ``components.schemas``."""
    schema = Problem.model_json_schema(ref_template=SCHEMA_REF + "{model}")
    nested = schema.pop("$defs", {})
    return {"Problem": schema, **nested}


def problem_response(status: int, codes: Sequence[ProblemCode]) -> dict[str, Any]:
    """The OpenAPI response object for ``status`` refused with any of ``codes``."""
    listed = "\n".join(f"- `{c.code}`: {c.meaning}" for c in codes)
    response: dict[str, Any] = {
        "description": f"{HTTPStatus(status).phrase}. `code` is one of:\n\n{listed}",
        "content": {
            PROBLEM_JSON: {
                "schema": {
                    "allOf": [
                        {"$ref": PROBLEM_REF},
                        {
                            "type": "object",
                            "properties": {
                                "status": {"const": status},
                                "code": {
                                    "enum": [c.code for c in codes],
                                    "x-enum-descriptions": [c.meaning for c in codes],
                                },
                            },
                        },
                    ]
                }
            }
        },
    }
    if status in STATUS_HEADERS:
        response["headers"] = STATUS_HEADERS[status]
    return response


def _by_status(codes: Iterable[ProblemCode]) -> dict[int, list[ProblemCode]]:
    grouped: dict[int, list[ProblemCode]] = {}
    for problem_code in codes:
        same = grouped.setdefault(problem_code.status, [])
        if all(known.code != problem_code.code for known in same):
            same.append(problem_code)
    return grouped


def problems(*codes: ProblemCode) -> dict[int | str, dict[str, Any]]:
    """A route's own refusals, for FastAPI's ``responses=``."""
    return {status: problem_response(status, same) for status, same in sorted(_by_status(codes).items())}


def documented_codes(response: dict[str, Any] | None, status: int) -> list[ProblemCode]:
    """The codes a problem response of ``problem_response``'s shape documents (none for any other)."""
    try:
        schema = response["content"][PROBLEM_JSON]["schema"]  # type: ignore[index]
        code = schema["allOf"][1]["properties"]["code"]
        return [
            ProblemCode(status, name, meaning)
            for name, meaning in zip(code["enum"], code["x-enum-descriptions"], strict=True)
        ]
    except (KeyError, IndexError, TypeError, ValueError):
        return []


def add_problems(operation: dict[str, Any], codes: Iterable[ProblemCode]) -> None:
    """Adds ``codes`` to an operation's responses, keeping the codes each status documents already;
    a status documented some other way (FastAPI's default 422) is replaced."""
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for status, new in _by_status(codes).items():
        key = str(status)
        merged = _by_status([*documented_codes(responses.get(key), status), *new])[status]
        responses[key] = problem_response(status, merged)
    operation["responses"] = dict(sorted(responses.items()))


def _dependants(dependant: Dependant) -> Iterable[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


_CURSOR_PARAMS = get_args(CursorDep)[1].dependency  # the dependency behind every cursor-paged list


def route_problems(route: Any, method: str) -> list[ProblemCode]:
    """What a service answers on any route of this kind (an APIRoute, or FastAPI's context of one)."""
    codes = [INVALID_VALUE, PAYLOAD_TOO_LARGE, INTERNAL_ERROR]
    dependants = list(_dependants(route.dependant))
    if route.body_field is not None or any(
        d.path_params or d.query_params or d.header_params or d.cookie_params for d in dependants
    ):
        codes.append(VALIDATION_ERROR)
    if route.body_field is not None:
        codes.append(UNREADABLE_BODY)
    access = declared_access(route)
    if access not in (None, "public"):
        codes += [MISSING_TOKEN, INVALID_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED]
        if access != AUTHENTICATED:
            codes.append(INSUFFICIENT_SCOPE)
    if any(d.call is _CURSOR_PARAMS for d in dependants):
        codes.append(INVALID_CURSOR)
    if method in UNSAFE_METHODS:
        codes.append(CONCURRENT_CHANGE)  # a database constraint behind the checks (errors.install_error_handlers)
    if not route.path_format.startswith(EXEMPT_PREFIXES):
        codes.append(OVERLOADED)
    return codes


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_REF):
            yield ref[len(SCHEMA_REF) :]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _drop_unused(document: dict[str, Any], names: Sequence[str]) -> None:
    """Removes schemas ``names`` (which may refer to one another) when nothing else refers to them."""
    schemas = document.get("components", {}).get("schemas", {})
    others = {key: value for key, value in document.items() if key != "components"}
    others["schemas"] = {key: value for key, value in schemas.items() if key not in names}
    if not set(_refs(others)) & set(names):
        for name in names:
            schemas.pop(name, None)


def _add_csv_answer(operation: dict[str, Any], route: Any) -> None:
    """A list that takes ``?format=csv`` (lathe_common.csv_export) answers its 200 as text/csv then."""
    takes_csv = any(
        param.field_info.annotation is ListFormat
        for dependant in _dependants(route.dependant)
        for param in dependant.query_params
    )
    success = operation.get("responses", {}).get("200")
    if takes_csv and success is not None:
        success.setdefault("content", {})["text/csv"] = {"schema": {"type": "string"}}
        success["description"] = "the page as JSON; with `?format=csv`, every matching row as CSV"


def document_problems(app: FastAPI) -> None:
    """Makes ``app.openapi()`` document, on every operation, the problems its kind of route shares
    (``route_problems``) beside the ones the route declares, and the ``Problem`` schema; and the
    CSV answer of lists that give one."""
    build = app.openapi
    documented: dict[str, Any] | None = None

    def openapi() -> dict[str, Any]:
        nonlocal documented
        document = build()
        if document is not documented:
            paths = document.get("paths", {})
            for route in iter_route_contexts(app.routes):
                if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
                    continue
                for method in route.methods:
                    operation = paths.get(route.path_format, {}).get(method.lower())
                    if operation is not None:
                        add_problems(operation, route_problems(route, method))
                        _add_csv_answer(operation, route)
            document.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
            # FastAPI's own 422 schemas, now that every 422 is a problem.
            _drop_unused(document, ("HTTPValidationError", "ValidationError"))
            documented = document
        return document

    app.openapi = openapi  # type: ignore[method-assign]
