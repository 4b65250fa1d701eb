"""The proxy fast path: every request for a routed path, served without FastAPI's machinery.

Nearly all of the gateway's traffic is proxied, and for it FastAPI's route matching, Request
objects and the chain of generic middlewares cost more than the checks themselves. This pure
ASGI middleware sits outermost (inside only Starlette's error handler) and takes every request
that ``routes.resolve`` maps to a service, with a method the gateway forwards. It does, in one
place and in the same order, what the generic stack does for the gateway's own endpoints:

1. request and correlation ids, as ``lathe_common.http.RequestIdMiddleware`` (echoed on the answer);
2. the shared ``lathe_http_*`` metrics, labelled with the route prefix (never the raw path);
3. CORS, when origins are configured (Starlette's middleware, so preflights need no token and
   refusals carry CORS headers);
4. the access policy (token, revocation, rate limit) and its problem+json refusals;
5. the body limit (413 ``payload_too_large``, as ``lathe_common.request_guard`` applies it in the
   services: declared or streamed, never more than the limit buffered);
6. admission control per service (``lathe_common.admission``: 503 ``overloaded`` with
   ``Retry-After`` when the service already has its share of requests in flight; event streams,
   ``routes.EVENT_STREAMS``, are counted apart against MAX_STREAMS_PER_SERVICE and refused at
   once when it is reached, so long-lived streams never take ordinary requests' slots);
7. forwarding (``proxy``), and relaying an event stream as it comes.

Everything else (``/health/*``, ``/metrics``, ``/docs``, ``/openapi.json``, paths that route
nowhere, which get 404 ``route_not_found`` once a token is checked, and methods it does not
forward, which get 405 with the methods the API documents there in ``Allow``) goes on to the
FastAPI app.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from lathe_common import context
from lathe_common.admission import Admission
from lathe_common.http import CORRELATION_ID_HEADER, REQUEST_ID_HEADER, clean_request_id
from lathe_common.metrics import HTTP_LATENCY, HTTP_REQUESTS, is_event_stream
from lathe_common.request_guard import (
    DEFAULT_MAX_BODY_BYTES,
    BodyTooLarge,
    ClientLeft,
    content_length,
    limit_for,
    read_body,
    too_large,
)
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lathe_gateway.access import AccessPolicy
from lathe_gateway.proxy import UpstreamClient, relay_stream
from lathe_gateway.routes import Route, Upstream, resolve
from lathe_gateway.routes import is_event_stream as streams_events

PROXIED_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"})
SERVICE = "gateway"  # the metrics' service label
_REQUEST_ID = REQUEST_ID_HEADER.encode("latin-1")
_CORRELATION_ID = CORRELATION_ID_HEADER.encode("latin-1")


@dataclass
class Runtime:
    """What the fast path needs, set up by the app's lifespan."""

    upstreams: dict[str, Upstream]
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    body_limits: dict[str, int] = field(default_factory=dict)  # path prefix -> bytes, where more is legitimate
    # Per service: requests forwarded at once; beyond them, a short wait and then 503 overloaded, so
    # one slow service neither queues requests past their clients' timeouts nor starves the others.
    admissions: dict[str, Admission] = field(default_factory=dict)
    # Per service: event streams open at once (routes.EVENT_STREAMS), counted apart from requests.
    stream_admissions: dict[str, Admission] = field(default_factory=dict)
    policy: AccessPolicy | None = None
    client: UpstreamClient | None = None
    # Set when the process is asked to stop: open streams end (see lathe_common.stopping).
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Metric children by label values: labels() takes a lock and builds a tuple on every call.
    _latency: dict[tuple[str, str], Any] = field(default_factory=dict)
    _requests: dict[tuple[str, str, int], Any] = field(default_factory=dict)

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        latency = self._latency.get((method, route))
        if latency is None:
            latency = self._latency[(method, route)] = HTTP_LATENCY.labels(SERVICE, method, route)
        counter = self._requests.get((method, route, status))
        if counter is None:
            counter = HTTP_REQUESTS.labels(SERVICE, method, route, str(status))
            self._requests[(method, route, status)] = counter
        latency.observe(seconds)
        counter.inc()


class ProxyMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime, cors: dict[str, Any] | None = None) -> None:
        self.app = app
        self.runtime = runtime
        self.handler: ASGIApp = CORSMiddleware(self._proxy, **cors) if cors else self._proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = None
        if scope["type"] == "http" and scope["method"] in PROXIED_METHODS:
            route = resolve(scope["path"])
        if route is None:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid_value = cid_value = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                rid_value = value
            elif name == _CORRELATION_ID:
                cid_value = value
        rid = clean_request_id(rid_value) or uuid.uuid4().hex
        rid_token = context.request_id.set(rid)
        cid_token = context.correlation_id.set(clean_request_id(cid_value) or rid)
        rid_header = (_REQUEST_ID, rid.encode("latin-1"))
        status = 500
        streamed_at: float | None = None

        async def send_with_id(message: Message) -> None:
            nonlocal status, streamed_at
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(rid_header)
                if is_event_stream(message["headers"]):
                    streamed_at = time.perf_counter()  # a stream is measured to its head
            await send(message)

        scope["lathe.route"] = route
        try:
            await self.handler(scope, receive, send_with_id)
        finally:
            context.request_id.reset(rid_token)
            context.correlation_id.reset(cid_token)
            ended = streamed_at if streamed_at is not None else time.perf_counter()
            self.runtime.record(scope["method"], route.prefix, status, ended - started)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send) -> None:
        runtime = self.runtime
        policy = runtime.policy
        assert policy is not None and runtime.client is not None, "the app's lifespan has not run"
        address = policy.client_address(scope)
        verdict = await policy.check(scope, address)
        if verdict.rejection is not None:
            await verdict.rejection(scope, receive, send)
            return
        route: Route = scope["lathe.route"]
        limit = limit_for(scope["path"], runtime.max_body_bytes, runtime.body_limits)
        declared = content_length(scope)
        try:
            if declared is not None and declared > limit:
                raise BodyTooLarge
            body = await read_body(receive, limit)  # counted as it streams: never more than the limit buffered
        except BodyTooLarge:
            await too_large(limit)(scope, receive, send)
            return
        except ClientLeft:
            return  # the client left before its request was complete: nobody to forward for or answer
        stream = streams_events(scope["path"])
        admission = (runtime.stream_admissions if stream else runtime.admissions).get(route.service)
        if admission is not None and not await admission.enter():
            await admission.refusal()(scope, receive, send)
            return
        try:
            await self._forward(scope, receive, send, route, body, address, verdict.headers, stream=stream)
        finally:
            if admission is not None:
                admission.leave()

    async def _forward(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        body: bytes,
        address: str,
        extra_headers: list[tuple[bytes, bytes]],
        *,
        stream: bool,
    ) -> None:
        runtime = self.runtime
        client = runtime.client
        assert client is not None, "the app's lifespan has not run"
        target = scope.get("raw_path") or scope["path"].encode("utf-8")
        if scope["query_string"]:
            target = target + b"?" + scope["query_string"]
        answer = await client.forward(
            runtime.upstreams[route.service],
            scope["method"],
            target,
            scope["headers"],
            body,
            request_id=context.request_id.get() or "",
            client_address=address,
            stream=stream,
        )
        headers = answer.headers
        if extra_headers:
            headers.extend(extra_headers)
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        if answer.stream is not None:
            await relay_stream(answer.stream, send, receive, runtime.stopping)
            return
        await send({"type": "http.response.body", "body": answer.body})
