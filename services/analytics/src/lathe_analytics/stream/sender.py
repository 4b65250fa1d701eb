"""One client's stream: a pure ASGI response that runs until the client leaves or it must end.

It writes, in order: ``retry:`` and a comment at once (so the client and any proxy see the
stream open), then the entries after ``Last-Event-ID`` read from the table (or ``gap`` when some
are gone), then live entries from its subscription. When the subscription overflowed, it reads on
from the table at the client's pace and rejoins. After STREAM_HEARTBEAT_SECONDS without an event
it writes a comment; every STREAM_HEARTBEAT_SECONDS it checks that the token is not revoked. It
ends with ``event: end`` at the token's expiry, when the token is revoked or when the process
stops; a client reconnects with Last-Event-ID (and a fresh token) and misses nothing.

A second task waits for the client to disconnect; whichever finishes first cancels the other, so
a client that stops reading and leaves never leaves a task blocked in ``send``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from lathe_analytics.stream.hub import Hub, Subscription
from lathe_analytics.stream.payloads import EndEvent, GapEvent
from lathe_analytics.stream.repository import Page
from lathe_analytics.stream.wire import END, GAP, StreamFilter, comment, frame, retry

logger = logging.getLogger(__name__)

PAGE = 500  # entries per read from the table
RECONNECT_MILLISECONDS = 3000
HEADERS = {
    "Cache-Control": "no-cache, no-transform",
    "X-Accel-Buffering": "no",  # nginx and its likes: pass each event on at once
}
END_DETAILS = {
    "token_expired": "The access token has expired: reconnect with a fresh one and Last-Event-ID.",
    "token_revoked": "The access token was revoked.",
    "shutting_down": "This process is stopping: reconnect with Last-Event-ID.",
}


class Source(Protocol):
    """The stored entries (``repository.TableSource``): what a stream replays and catches up from."""

    async def page(self, after: int, upto: int, wanted: StreamFilter, limit: int) -> Page: ...

    async def newest_id(self) -> int: ...


@dataclass(frozen=True)
class StreamStart:
    """Where a stream begins: ``live_from`` is the hub's position when it subscribed; ``resume``
    the client's Last-Event-ID, if it sent one."""

    live_from: int
    resume: int | None


class EventStream(Response):
    media_type = "text/event-stream"

    def __init__(
        self,
        hub: Hub,
        source: Source,
        subscription: Subscription,
        start: StreamStart,
        *,
        heartbeat_seconds: float,
        expires_at: float,
        revoked: Callable[[], Awaitable[bool]],
    ) -> None:
        # Not Response.__init__: it would state a Content-Length for the empty body it assumes.
        self.status_code = 200
        self.background = None
        self.init_headers(HEADERS)
        self.hub = hub
        self.source = source
        self.subscription = subscription
        self.start = start
        self.heartbeat_seconds = heartbeat_seconds
        self.expires_at = expires_at  # epoch seconds: the token's exp
        self.revoked = revoked

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            writer = asyncio.create_task(self._write(send), name="analytics-stream-writer")
            gone = asyncio.create_task(_client_gone(receive), name="analytics-stream-disconnect")
            try:
                done, _ = await asyncio.wait({writer, gone}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (writer, gone):
                    task.cancel()
                await asyncio.gather(writer, gone, return_exceptions=True)
            if writer in done:  # it ended the stream (or failed): the client is still there to be told
                if writer.exception() is not None:
                    # The database went away mid-stream, say: the client reconnects with Last-Event-ID.
                    logger.warning("a stream ended on an error", exc_info=writer.exception())
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.hub.unsubscribe(self.subscription)

    async def _write(self, send: Send) -> None:
        async def out(data: bytes) -> None:
            await send({"type": "http.response.body", "body": data, "more_body": True})

        await out(retry(RECONNECT_MILLISECONDS) + comment("stream open"))
        cursor = await self._resume(out)
        quiet_since = checked_at = time.monotonic()
        subscription = self.subscription
        while True:
            now = time.monotonic()
            if now - checked_at >= self.heartbeat_seconds:  # busy or quiet, a revocation is seen as soon
                checked_at = now
                if await self.revoked():
                    await out(_end("token_revoked"))
                    return
            reason = self._must_end()
            if reason is not None:
                await out(_end(reason))
                return
            if subscription.behind:
                upto = self.hub.last_id
                subscription.rejoin()
                cursor = await self._replay(out, cursor, upto)
                quiet_since = time.monotonic()
                continue
            fresh = [entry for entry in subscription.take() if entry.id > cursor]
            if fresh:
                await out(b"".join(entry.frame for entry in fresh))
                cursor = fresh[-1].id
                quiet_since = time.monotonic()
                continue
            beat_at = quiet_since + self.heartbeat_seconds
            if now >= beat_at:
                await out(comment("keep-alive"))
                quiet_since = now
                continue
            until_expiry = self.expires_at - time.time()
            await subscription.wait(max(0.0, min(beat_at - now, until_expiry)))

    def _must_end(self) -> str | None:
        if self.hub.stopping:
            return "shutting_down"
        if time.time() >= self.expires_at:
            return "token_expired"
        return None

    async def _resume(self, out: Callable[[bytes], Awaitable[None]]) -> int:
        """The cursor live events continue from, once what the client missed has been sent."""
        live_from, asked = self.start.live_from, self.start.resume
        if asked is None:
            return live_from
        if asked > live_from:
            newest = await self.source.newest_id()
            if asked > newest:  # not an id of this stream (another database, or made up)
                await out(_gap("unknown_id", asked, live_from))
                return live_from
            return asked  # another replica was ahead of this one: the queue brings the rest
        return await self._replay(out, asked, live_from)

    async def _replay(self, out: Callable[[bytes], Awaitable[None]], cursor: int, upto: int) -> int:
        """Sends the client's entries in (cursor, upto] from the table, page by page at the pace
        the client reads; ``gap`` instead if pruning has taken some. Returns the new cursor."""
        wanted = self.subscription.wanted
        while cursor < upto:
            page = await self.source.page(cursor, upto, wanted, PAGE)
            if page.pruned_through > cursor:
                await out(_gap("expired", cursor, upto))
                return upto
            if page.entries:
                await out(b"".join(frame(e.kind, e.data, e.id) for e in page.entries))
            if len(page.entries) < PAGE:
                return upto
            cursor = page.entries[-1].id
        return cursor


async def _client_gone(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _gap(reason: str, last_event_id: int, resumes_after: int) -> bytes:
    detail = (
        "Events after this id are older than the stream keeps"
        if reason == "expired"
        else "This id is not one the stream gave out"
    )
    gap = GapEvent(
        reason=reason,  # type: ignore[arg-type]
        last_event_id=last_event_id,
        resumes_after=resumes_after,
        detail=f"{detail}: reload the current state (dashboard, realtime status), then read on.",
    )
    return frame(GAP, gap.model_dump_json(), resumes_after)


def _end(reason: str) -> bytes:
    return frame(END, EndEvent(reason=reason, detail=END_DETAILS[reason]).model_dump_json())  # type: ignore[arg-type]
