"""One fan-out per process: new stream entries read once, offered to every open stream.

The hub follows the table by its highest id: woken by the writers' NOTIFY (a LISTEN connection of
its own) and, should that connection be lost, by polling every STREAM_POLL_SECONDS. Each batch it
reads is published to every subscription synchronously (no await between offering an entry and
moving ``last_id`` past it), so a stream that notes ``last_id`` and starts listening in one step
misses nothing and gets nothing twice.

A subscription never makes the hub wait: ``offer`` appends to a queue of at most
STREAM_CLIENT_QUEUE events. When a client reads too slowly and its queue is full, the queue is
dropped at once (its memory freed) and the subscription is marked ``behind``: its stream then
reads on from the table at the client's own pace, from the last event it sent, and rejoins the
live queue when it has caught up (see ``sender``). Memory per client is bounded and nobody else
waits for it; only a client that falls further behind than the table keeps is told ``gap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

import asyncpg
from lathe_common.errors import ServiceUnavailable
from prometheus_client import Counter, Gauge
from sqlalchemy.ext.asyncio import AsyncEngine

from lathe_analytics.stream import repository
from lathe_analytics.stream.repository import StoredEntry
from lathe_analytics.stream.wire import TOO_MANY_STREAMS, StreamFilter, frame

logger = logging.getLogger(__name__)

READ_BATCH = 2_000
LISTEN_RETRY_SECONDS = 10.0  # a lost LISTEN connection is opened again at most this often
RETRY_AFTER_SECONDS = 5
OPEN_STREAMS = Gauge("lathe_analytics_streams_open", "Realtime streams open in this process")
STREAMS_BEHIND = Counter(
    "lathe_analytics_stream_overflows_total", "Times a stream's queue overflowed and it read on from the table"
)


class Outgoing:
    """An entry as every client gets it: its frame is encoded once, shared by all."""

    __slots__ = ("id", "kind", "process_code", "model_code", "frame")

    def __init__(self, entry: StoredEntry) -> None:
        self.id = entry.id
        self.kind = entry.kind
        self.process_code = entry.process_code
        self.model_code = entry.model_code
        self.frame = frame(entry.kind, entry.data, entry.id)


class Subscription:
    """One client's live queue: bounded, never blocking the hub."""

    def __init__(self, wanted: StreamFilter, capacity: int) -> None:
        self.wanted = wanted
        self.capacity = capacity
        self.behind = False  # the queue overflowed: what came since must be read from the table
        self._queue: deque[Outgoing] = deque()
        self._ready = asyncio.Event()

    def offer(self, entry: Outgoing) -> None:
        if self.behind or not self.wanted.matches(entry.kind, entry.process_code, entry.model_code):
            return
        if len(self._queue) >= self.capacity:
            self._queue.clear()
            self.behind = True
            STREAMS_BEHIND.inc()
        else:
            self._queue.append(entry)
        self._ready.set()

    def take(self) -> list[Outgoing]:
        """Everything queued, oldest first (empty when behind: the table has it)."""
        taken = list(self._queue)
        self._queue.clear()
        self._ready.clear()
        return taken

    def rejoin(self) -> None:
        """Live again from now on (the caller reads what came before from the table)."""
        self._queue.clear()
        self.behind = False
        self._ready.clear()

    def wake(self) -> None:
        self._ready.set()

    async def wait(self, timeout: float) -> None:
        """Until something is offered (or the queue overflows), at most ``timeout`` seconds."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout)

    def __len__(self) -> int:
        return len(self._queue)


class Hub:
    def __init__(self, engine: AsyncEngine, *, max_clients: int, client_queue: int, poll_seconds: float) -> None:
        self.engine = engine
        self.max_clients = max_clients
        self.client_queue = client_queue
        self.poll_seconds = poll_seconds
        self.last_id = 0  # every entry up to this one has been offered
        self.stopping = False  # the process is stopping: every stream ends
        self._subscriptions: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._listener: asyncpg.Connection | None = None
        self._listen_again_at = 0.0

    @property
    def open_streams(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, wanted: StreamFilter) -> Subscription:
        """A live queue from ``last_id`` on; 503 ``too_many_streams`` when the process has its share."""
        if len(self._subscriptions) >= self.max_clients:
            raise ServiceUnavailable(
                f"This process already serves {self.max_clients} streams; retry in {RETRY_AFTER_SECONDS} s.",
                code=TOO_MANY_STREAMS.code,
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
        subscription = Subscription(wanted, self.client_queue)
        self._subscriptions.add(subscription)
        OPEN_STREAMS.set(len(self._subscriptions))
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)
        OPEN_STREAMS.set(len(self._subscriptions))

    def end_streams(self) -> None:
        """The process is stopping: every stream says ``end`` and closes (see lathe_common.stopping)."""
        self.stopping = True
        for subscription in self._subscriptions:
            subscription.wake()

    def publish(self, entries: list[StoredEntry]) -> None:
        """Offers each entry to every subscription, then moves ``last_id``: one synchronous step."""
        for entry in entries:
            outgoing = Outgoing(entry)
            for subscription in self._subscriptions:
                subscription.offer(outgoing)
        if entries:
            self.last_id = max(self.last_id, entries[-1].id)

    async def start(self) -> None:
        async with self.engine.connect() as connection:
            self.last_id = await repository.newest_id(connection)
        self._task = asyncio.create_task(self._follow(), name="analytics-stream-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close_listener()

    async def _follow(self) -> None:
        while True:
            self._wake.clear()
            await self._ensure_listener()
            try:
                while True:
                    async with self.engine.connect() as connection:
                        entries = await repository.entries_after(connection, self.last_id, READ_BATCH)
                    self.publish(entries)
                    if len(entries) < READ_BATCH:
                        break
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the database may be away; streams wait, then go on
                logger.warning("the stream hub cannot read new entries; trying again", exc_info=True)
                await asyncio.sleep(1.0)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

    async def _ensure_listener(self) -> None:
        if self._listener is not None and not self._listener.is_closed():
            return
        if time.monotonic() < self._listen_again_at:
            return  # polling meanwhile
        self._listen_again_at = time.monotonic() + LISTEN_RETRY_SECONDS
        await self._close_listener()
        dsn = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._listener = await asyncpg.connect(dsn)
            await self._listener.add_listener(repository.CHANNEL, lambda *_: self._wake.set())
        except Exception:  # noqa: BLE001 - polling goes on meanwhile
            logger.warning("LISTEN unavailable; the stream hub polls every %.1f s", self.poll_seconds, exc_info=True)
            self._listener = None

    async def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(Exception):
                await self._listener.close()
            self._listener = None
