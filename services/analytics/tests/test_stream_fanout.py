"""The fan-out and one client's stream, without a database: the hub's bounded per-client queues,
replay after Last-Event-ID, gaps, a slow client catching up from the table while a fast one is
unaffected, heartbeats and the ways a stream ends. The table is played by a list (``Table``);
the client by an ASGI receive / send pair (``Client``)."""

from __future__ import annotations

import asyncio
import time

import pytest
from lathe_analytics.stream.hub import Hub, Outgoing, Subscription
from lathe_analytics.stream.repository import Page, StoredEntry
from lathe_analytics.stream.sender import EventStream, StreamStart
from lathe_analytics.stream.wire import StreamFilter
from lathe_common.errors import ServiceUnavailable

from .test_stream_wire import parse

EVERYTHING = StreamFilter()


def entry(n: int, kind: str = "step", process: str | None = "P1", model: str | None = "M1") -> StoredEntry:
    return StoredEntry(n, kind, process, model, f'{{"n":{n}}}')


class Table:
    """What the stream reads from the table: entries by id, and how far pruning went."""

    def __init__(self) -> None:
        self.entries: list[StoredEntry] = []
        self.pruned_through = 0
        self.pages = 0

    async def page(self, after: int, upto: int, wanted: StreamFilter, limit: int) -> Page:
        self.pages += 1
        found = [
            e
            for e in self.entries
            if after < e.id <= upto
            and e.id > self.pruned_through
            and wanted.matches(e.kind, e.process_code, e.model_code)
        ]
        return Page(found[:limit], self.pruned_through)

    async def newest_id(self) -> int:
        return max([e.id for e in self.entries] + [self.pruned_through, 0])


class Client:
    """One HTTP client of the stream: collects what it is sent; ``slow`` stops it reading."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.reading = asyncio.Event()
        self.reading.set()
        self.left = asyncio.Event()
        self.closed = False
        self.head: dict[bytes, bytes] = {}
        self._request_sent = False

    async def receive(self) -> dict:
        if not self._request_sent:
            self._request_sent = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: dict) -> None:
        await self.reading.wait()  # a client that does not read: the server's send waits (TCP)
        if message["type"] == "http.response.start":
            self.head = dict(message["headers"])
        if message["type"] == "http.response.body":
            self.received += message.get("body", b"")
            self.closed = not message.get("more_body", False)

    def events(self) -> list[dict]:
        return parse(bytes(self.received))

    async def until(self, predicate, timeout: float = 3.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"not within {timeout} s: {self.events()}"
            await asyncio.sleep(0.005)


def hub(**settings) -> Hub:
    return Hub(None, **{"max_clients": 10, "client_queue": 100, "poll_seconds": 1.0} | settings)  # type: ignore[arg-type]


async def revoked_never() -> bool:
    return False


def open_stream(
    the_hub: Hub,
    table: Table,
    *,
    wanted: StreamFilter = EVERYTHING,
    resume: int | None = None,
    heartbeat: float = 30.0,
    expires_in: float = 600.0,
    revoked=revoked_never,
) -> tuple[Client, asyncio.Task, Subscription]:
    subscription = the_hub.subscribe(wanted)
    start = StreamStart(live_from=the_hub.last_id, resume=resume)
    response = EventStream(
        the_hub,
        table,
        subscription,
        start,
        heartbeat_seconds=heartbeat,
        expires_at=time.time() + expires_in,
        revoked=revoked,
    )
    client = Client()
    task = asyncio.create_task(response({"type": "http"}, client.receive, client.send))
    return client, task, subscription


def add(the_hub: Hub, table: Table, *entries: StoredEntry) -> None:
    """A writer's commit: stored, then published by the hub."""
    table.entries.extend(entries)
    the_hub.publish(list(entries))


async def close(client: Client, task: asyncio.Task) -> None:
    client.left.set()
    client.reading.set()
    await asyncio.wait_for(task, 3)


def ids(client: Client, event: str | None = None) -> list[int]:
    return [int(e["id"]) for e in client.events() if event is None or e["event"] == event]


# The queue policy


def test_a_queue_holds_what_matches_up_to_its_capacity():
    subscription = Subscription(StreamFilter(frozenset({"step"}), "P1"), capacity=3)
    for n in range(1, 4):
        subscription.offer(Outgoing(entry(n)))
    subscription.offer(Outgoing(entry(9, process="P2")))  # not wanted: not queued
    subscription.offer(Outgoing(entry(10, kind="lot", process=None)))
    assert [e.id for e in subscription.take()] == [1, 2, 3] and not subscription.behind
    assert subscription.take() == []


def test_a_full_queue_is_dropped_at_once_and_marked_behind_until_it_rejoins():
    subscription = Subscription(EVERYTHING, capacity=3)
    for n in range(1, 5):
        subscription.offer(Outgoing(entry(n)))
    assert subscription.behind and len(subscription) == 0  # memory freed; the table has them
    subscription.offer(Outgoing(entry(5)))
    assert len(subscription) == 0  # nothing queued while behind
    subscription.rejoin()
    subscription.offer(Outgoing(entry(6)))
    assert not subscription.behind and [e.id for e in subscription.take()] == [6]


def test_a_frame_is_encoded_once_for_every_client():
    the_hub = hub()
    first, second = the_hub.subscribe(EVERYTHING), the_hub.subscribe(EVERYTHING)
    the_hub.publish([entry(1)])
    assert first.take()[0] is second.take()[0]
    assert the_hub.last_id == 1


def test_streams_beyond_the_limit_are_refused_with_retry_after():
    the_hub = hub(max_clients=2)
    kept = the_hub.subscribe(EVERYTHING)
    the_hub.subscribe(EVERYTHING)
    with pytest.raises(ServiceUnavailable) as refused:
        the_hub.subscribe(EVERYTHING)
    assert refused.value.code == "too_many_streams" and refused.value.extra["headers"]["Retry-After"] == "5"
    the_hub.unsubscribe(kept)
    the_hub.subscribe(EVERYTHING)
    assert the_hub.open_streams == 2


# One client's stream


async def test_a_stream_opens_at_once_and_sends_live_events_in_order_with_their_ids():
    the_hub, table = hub(), Table()
    add(the_hub, table, entry(1))  # before the client: not sent without Last-Event-ID
    client, task, _ = open_stream(the_hub, table, wanted=StreamFilter(process_code="P1"))
    await client.until(lambda: b"stream open" in client.received)
    assert client.received.startswith(b"retry: 3000\n\n")
    assert client.head[b"content-type"] == b"text/event-stream; charset=utf-8"
    assert b"content-length" not in client.head and client.head[b"cache-control"].startswith(b"no-cache")
    add(the_hub, table, entry(2), entry(3, process="P2"), entry(4), entry(5, kind="kpi", process=None, model=None))
    await client.until(lambda: len(client.events()) == 3)
    assert ids(client) == [2, 4, 5] and [e["event"] for e in client.events()] == ["step", "step", "kpi"]
    await close(client, task)
    assert the_hub.open_streams == 0


async def test_last_event_id_replays_exactly_what_was_missed_then_goes_live():
    the_hub, table = hub(), Table()
    add(the_hub, table, *(entry(n) for n in range(1, 11)), entry(11, process="P2"))
    client, task, _ = open_stream(the_hub, table, wanted=StreamFilter(process_code="P1"), resume=4)
    add(the_hub, table, entry(12))
    await client.until(lambda: 12 in ids(client))
    assert ids(client) == [5, 6, 7, 8, 9, 10, 12]
    await close(client, task)


async def test_a_resume_older_than_the_retention_gets_a_gap_then_live_events():
    the_hub, table = hub(), Table()
    add(the_hub, table, *(entry(n) for n in range(1, 11)))
    table.pruned_through = 6  # 5 and 6 are gone
    client, task, _ = open_stream(the_hub, table, resume=4)
    await client.until(lambda: bool(client.events()))
    gap = client.events()[0]
    assert gap["event"] == "gap" and gap["id"] == "10"
    assert '"reason":"expired"' in gap["data"] and '"last_event_id":4' in gap["data"]
    add(the_hub, table, entry(11))
    await client.until(lambda: 11 in ids(client, "step"))
    assert ids(client, "step") == [11]  # nothing replayed after a gap: the client reloads instead
    await close(client, task)


async def test_an_id_the_stream_never_gave_gets_a_gap():
    the_hub, table = hub(), Table()
    add(the_hub, table, entry(1), entry(2))
    client, task, _ = open_stream(the_hub, table, resume=99)
    await client.until(lambda: bool(client.events()))
    assert client.events()[0]["event"] == "gap" and '"reason":"unknown_id"' in client.events()[0]["data"]
    await close(client, task)


async def test_a_slow_client_catches_up_from_the_table_and_never_holds_up_a_fast_one():
    the_hub, table = hub(client_queue=10), Table()
    slow, slow_task, slow_subscription = open_stream(the_hub, table)
    fast, fast_task, _ = open_stream(the_hub, table)
    await slow.until(lambda: b"stream open" in slow.received)
    slow.reading.clear()  # stops reading: the server's writes to it wait
    for n in range(1, 201):
        add(the_hub, table, entry(n))
        await asyncio.sleep(0)
    await fast.until(lambda: len(fast.events()) == 200)
    assert ids(fast) == list(range(1, 201))
    assert slow_subscription.behind and len(slow_subscription) == 0  # overflowed: its queue is gone
    slow.reading.set()
    add(the_hub, table, entry(201))
    await slow.until(lambda: 201 in ids(slow))
    assert ids(slow) == list(range(1, 202))  # every event once, in order: the rest read from the table
    assert table.pages > 0
    await close(slow, slow_task)
    await close(fast, fast_task)


async def test_a_quiet_stream_gets_heartbeats_and_ends_when_the_token_is_revoked():
    the_hub, table = hub(), Table()
    revoked = False

    async def is_revoked() -> bool:
        return revoked

    client, task, _ = open_stream(the_hub, table, heartbeat=0.05, revoked=is_revoked)
    await client.until(lambda: client.received.count(b": keep-alive\n") >= 2)
    revoked = True
    await asyncio.wait_for(task, 3)
    assert client.events()[-1]["event"] == "end" and '"reason":"token_revoked"' in client.events()[-1]["data"]
    assert client.closed and the_hub.open_streams == 0


async def test_a_busy_stream_still_sees_a_revocation():
    the_hub, table = hub(), Table()

    async def revoked() -> bool:
        return True

    client, task, _ = open_stream(the_hub, table, heartbeat=0.2, revoked=revoked)
    for n in range(1, 100):  # an event every 10 ms: never a heartbeat's silence
        add(the_hub, table, entry(n))
        await asyncio.sleep(0.01)
        if task.done():
            break
    await asyncio.wait_for(task, 3)
    assert client.events()[-1]["event"] == "end" and '"reason":"token_revoked"' in client.events()[-1]["data"]
    assert b": keep-alive" not in client.received


async def test_a_stream_ends_at_the_token_s_expiry():
    the_hub, table = hub(), Table()
    client, task, _ = open_stream(the_hub, table, expires_in=0.2)
    await asyncio.wait_for(task, 3)
    assert client.events()[-1]["event"] == "end" and '"reason":"token_expired"' in client.events()[-1]["data"]
    assert client.closed


async def test_every_stream_ends_when_the_process_stops():
    the_hub, table = hub(), Table()
    streams = [open_stream(the_hub, table) for _ in range(3)]
    await asyncio.sleep(0.05)
    the_hub.end_streams()
    await asyncio.wait_for(asyncio.gather(*(task for _, task, _ in streams)), 3)
    for client, _, _ in streams:
        assert '"reason":"shutting_down"' in client.events()[-1]["data"] and client.closed


async def test_a_client_that_leaves_mid_write_ends_its_stream():
    the_hub, table = hub(), Table()
    client, task, _ = open_stream(the_hub, table)
    await client.until(lambda: b"stream open" in client.received)
    client.reading.clear()
    add(the_hub, table, entry(1))  # its write now waits on a client that will never read again
    await asyncio.sleep(0.05)
    client.left.set()
    await asyncio.wait_for(task, 3)
    assert the_hub.open_streams == 0
