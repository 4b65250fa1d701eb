"""Forward a request to the owning service over a pooled connection and pass its answer back as is.

One ``aiohttp.ClientSession`` serves every service (httpx cost more CPU per request than the
services behind the gateway). Bodies are buffered both ways (requests and answers here are JSON
of modest size) and bytes pass through untouched: the session does not decompress, keeps no
cookies, follows no redirects and adds no headers of its own beyond Host and Content-Length.

Event streams (``text/event-stream`` answers) are the exception: their bytes are passed on as
they arrive (``relay_stream``), never buffered, until the service ends the stream, the client
leaves (the upstream connection is then closed, so the service sees its client go) or the
gateway stops. The routes that serve them (``routes.EVENT_STREAMS``) go over a session of their
own with no read timeout once the head has come (see ``routes.Upstream``).

An upstream's own errors (4xx/5xx with their problem+json) pass through untouched; only failing
to reach it becomes the gateway's problem: 503 ``upstream_unavailable`` (refused, reset, closed)
or 504 ``upstream_timeout`` (no connection or no answer within the service's timeouts).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import aiohttp
from lathe_common.errors import problem
from lathe_common.http import REQUEST_ID_HEADER
from lathe_common.metrics import is_event_stream
from starlette.responses import Response
from starlette.types import Receive, Send
from yarl import URL

from lathe_gateway.routes import Upstream

# Hop-by-hop headers (RFC 9110 7.6.1) are not forwarded; neither are the length the client
# recomputes nor Expect (uvicorn has already answered it on the client's side).
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "expect",
    }
)
# The gateway states where the request came from; whatever the client claimed is dropped.
CLIENT_CLAIMS = frozenset({"x-forwarded-for", "forwarded", "x-real-ip", REQUEST_ID_HEADER})
NOT_FORWARDED = frozenset(name.encode("latin-1") for name in HOP_BY_HOP | CLIENT_CLAIMS)
# uvicorn writes its own Date and Server, which would otherwise appear twice; the gateway sets the
# request id and the length of what it sends. Content-Encoding passes: the bytes are not decoded.
NOT_PASSED_BACK = frozenset(name.encode("latin-1") for name in HOP_BY_HOP | {"date", "server", REQUEST_ID_HEADER})
# aiohttp would otherwise add Accept, Accept-Encoding, User-Agent (and a Content-Type to bodies):
# a service must see what the client sent, and a gzip the client did not ask for must not come back.
SKIP_AUTO_HEADERS = ("Accept", "Accept-Encoding", "User-Agent", "Content-Type")
_CONTENT_LENGTH = b"content-length"
_LOCATION = b"location"

logger = logging.getLogger(__name__)


def _public_location(value: bytes, base_url: str) -> bytes:
    """A Location the service wrote with its own address, made relative: clients only ever see
    the gateway, and the services' internal addresses never reach them."""
    base = base_url.encode("latin-1")
    if value == base or value.startswith(base + b"/") or value.startswith(base + b"?"):
        return value[len(base) :] or b"/"
    return value


@dataclass(slots=True)
class Answer:
    """What goes back to the client: status, raw ASGI headers (length included), body; or, for an
    event stream, the open upstream answer whose body ``relay_stream`` passes on (no length)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    stream: aiohttp.ClientResponse | None = None


def _problem_answer(response: Response) -> Answer:
    return Answer(response.status_code, list(response.raw_headers), bytes(response.body))


class UpstreamClient:
    """The pooled connections to the services. Create it inside the running event loop."""

    def __init__(self, *, max_connections: int, max_streams: int = 1000, keepalive_seconds: float = 4.0) -> None:
        # keepalive below uvicorn's 5 s default: a connection the service is about to close is not
        # reused (aiohttp also retries an idempotent request once on a connection closed under it).
        self.session = self._session(aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=keepalive_seconds))
        # Streams hold their connection for as long as they last: a pool of their own (as many as
        # may be admitted), so they never take the ordinary requests' connections.
        self.streams = self._session(aiohttp.TCPConnector(limit=max_streams, force_close=True))

    @staticmethod
    def _session(connector: aiohttp.TCPConnector) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            skip_auto_headers=SKIP_AUTO_HEADERS,
            trust_env=False,
            max_line_size=16384,
            max_field_size=16384,
        )

    async def close(self) -> None:
        await self.session.close()
        await self.streams.close()

    async def forward(
        self,
        upstream: Upstream,
        method: str,
        target: bytes,
        request_headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        request_id: str,
        client_address: str,
        stream: bool = False,
    ) -> Answer:
        """``target`` is the raw path and query as the client sent them (percent-escapes kept, so an
        id containing "%2F" stays one segment); ``request_headers`` the ASGI ones (lower-case);
        ``stream``: the route serves an event stream (its own pool, no read timeout after the head).
        An event stream's answer comes back open (``Answer.stream``): relay it, which closes it."""
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in request_headers
            if name not in NOT_FORWARDED
        ]
        headers.append((REQUEST_ID_HEADER, request_id))
        headers.append(("x-forwarded-for", client_address))
        url = URL(upstream.base_url + target.decode("latin-1"), encoded=True)
        session, timeout = (self.streams, upstream.stream_timeout) if stream else (self.session, upstream.timeout)
        streamed = None
        try:
            async with asyncio.timeout(upstream.head_seconds if stream else None):
                answer = await session.request(
                    method, url, headers=headers, data=body or None, timeout=timeout, allow_redirects=False
                )
            try:
                status, raw_headers = answer.status, answer.raw_headers
                if is_event_stream(raw_headers):
                    content, streamed = b"", answer
                else:
                    content = await answer.read()
            finally:
                if streamed is None:
                    answer.release()
        except TimeoutError:  # aiohttp's connect and read timeouts are TimeoutErrors
            detail = f"The {upstream.service} service did not answer in time."
            return _problem_answer(problem(504, "upstream_timeout", "Gateway timeout", detail))
        except (aiohttp.ClientError, OSError):
            detail = f"The {upstream.service} service is unavailable."
            return _problem_answer(problem(503, "upstream_unavailable", "Service unavailable", detail))
        # Raw pairs keep repeated headers (several Set-Cookie) that a mapping would fold into one.
        passed: list[tuple[bytes, bytes]] = []
        length = None
        for name, value in raw_headers:
            lowered = name.lower()
            if lowered in NOT_PASSED_BACK:
                if lowered == _CONTENT_LENGTH:
                    length = value
                continue
            if lowered == _LOCATION:
                value = _public_location(value, upstream.base_url)
            passed.append((lowered, value))
        if streamed is None and status >= 200 and status not in (204, 304):
            # A HEAD answer has no body but states the length a GET would have.
            passed.append((_CONTENT_LENGTH, length if method == "HEAD" and length else str(len(content)).encode()))
        return Answer(status, passed, content, streamed)


async def relay_stream(answer: aiohttp.ClientResponse, send: Send, receive: Receive, stopping: asyncio.Event) -> None:
    """Passes an event stream's body on as it arrives (after its head was sent), until the service
    ends it, the client leaves or the gateway stops; then closes the upstream connection. A client
    that stops reading holds back only its own stream: ``send`` waits for it, and this stops reading
    from the service, whose own bounded queue then takes over."""

    async def pass_on() -> None:
        async for chunk in answer.content.iter_any():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def client_gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    tasks = [
        asyncio.create_task(pass_on(), name="gateway-stream-relay"),
        asyncio.create_task(client_gone(), name="gateway-stream-disconnect"),
        asyncio.create_task(stopping.wait(), name="gateway-stream-stopping"),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        answer.close()
    if isinstance(outcomes[0], aiohttp.ClientError | OSError):
        logger.info("an event stream from the service broke off: %r", outcomes[0])  # the client reconnects
    await send({"type": "http.response.body", "body": b"", "more_body": False})
