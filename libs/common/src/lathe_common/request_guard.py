"""What every service refuses before routing: bodies larger than it accepts, and values PostgreSQL
cannot store. Pure ASGI, installed with the rest of the HTTP plumbing, so it guards every route,
present or added later, in one place.

- A body over the limit (``max_body_bytes``, or the limit of the longest matching path prefix in
  ``body_limits``) gets 413 ``payload_too_large``: at once when ``Content-Length`` says so, and
  as soon as a streamed (chunked) body passes it, without buffering more than the limit.
- A NUL character in the path, the query string, a JSON body or a form gets 422
  ``invalid_value``, as do NaN, ±Infinity and integers beyond 64 bits in a JSON body
  (``lathe_common.storable``). FastAPI's own parser accepts all of them, and the database would
  then refuse them in the middle of a transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lathe_common.errors import problem
from lathe_common.storable import INVALID_VALUE, UnstorableValue, parse_storable_json

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(Exception):
    pass


class ClientLeft(Exception):
    pass


def content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def limit_for(path: str, default: int, by_prefix: Mapping[str, int]) -> int:
    """The limit of the longest prefix of ``path`` in ``by_prefix``, else ``default``."""
    best, limit = -1, default
    for prefix, bytes_ in by_prefix.items():
        if (path == prefix or path.startswith(prefix.rstrip("/") + "/")) and len(prefix) > best:
            best, limit = len(prefix), bytes_
    return limit


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, or ``BodyTooLarge`` as soon as it passes ``limit``, or ``ClientLeft``."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            raise ClientLeft
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def too_large(limit: int) -> Any:
    return problem(413, "payload_too_large", "Payload too large", f"The request body is larger than {limit} bytes.")


def _media_type(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.decode("latin-1").split(";", 1)[0].strip().lower()
    return ""


def _unstorable(loc: list[str], problem_text: str) -> Any:
    where = ".".join(loc)
    return problem(
        422,
        INVALID_VALUE,
        "Invalid value",
        f"{where} {problem_text}; it cannot be stored.",
        errors=[{"loc": loc, "msg": problem_text, "type": INVALID_VALUE}],
    )


def _nul_in_target(scope: Scope) -> list[str] | None:
    query: bytes = scope.get("query_string", b"")
    if "\x00" in scope["path"]:
        return ["path"]
    if b"%00" in query or b"\x00" in query:
        return ["query"]
    return None


def _body_problem(body: bytes, media_type: str) -> Any:
    if media_type == "application/json" or media_type.endswith("+json"):
        try:
            parse_storable_json(body)
        except UnstorableValue as exc:
            return _unstorable(["body", *exc.path.split(".")] if exc.path else ["body"], exc.problem)
        except ValueError:
            return None  # not JSON at all: the endpoint's own validation says so
    elif media_type == "application/x-www-form-urlencoded" and (b"%00" in body or b"\x00" in body):
        return _unstorable(["body"], "contains a NUL character")
    return None


class RequestGuard:
    def __init__(
        self, app: ASGIApp, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, body_limits: Mapping[str, int] = {}
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = dict(body_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if (where := _nul_in_target(scope)) is not None:
            await _unstorable(where, "contains a NUL character")(scope, receive, send)
            return
        limit = limit_for(scope["path"], self.max_body_bytes, self.body_limits)
        declared = content_length(scope)
        if declared is not None and declared > limit:
            await too_large(limit)(scope, receive, send)
            return
        chunked = any(name == b"transfer-encoding" for name, _ in scope["headers"])
        if not declared and not chunked:
            await self.app(scope, receive, send)  # no body
            return
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            await too_large(limit)(scope, receive, send)
            return
        except ClientLeft:
            return  # nobody to answer
        refusal = _body_problem(body, _media_type(scope))
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body read by the guard, then whatever the client sends next (a disconnect)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
