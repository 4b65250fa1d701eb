"""argon2 runs in worker threads, a bounded number at once, while the event loop stays free."""

from __future__ import annotations

import asyncio
import threading
import time

from lathe_auth import passwords
from lathe_auth.passwords import PasswordHashing


async def test_at_most_concurrency_hashes_run_at_once_off_the_event_loop(monkeypatch):
    running = peak = 0
    lock = threading.Lock()
    loop_thread = threading.get_ident()
    threads: set[int] = set()

    def slow_verify(password_hash: str, password: str) -> bool:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
            threads.add(threading.get_ident())
        time.sleep(0.05)  # blocking, as argon2 is
        with lock:
            running -= 1
        return password == "right"

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    hashing = PasswordHashing(concurrency=2)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.005)

    beat = asyncio.create_task(ticker())
    results = await asyncio.gather(*(hashing.verify("hash", "right" if n % 2 else "wrong") for n in range(8)))
    beat.cancel()

    assert results == [False, True] * 4
    assert peak == 2
    assert loop_thread not in threads
    assert ticks >= 20  # ~0.2 s of hashing: the loop kept turning every few milliseconds


async def test_a_real_hash_round_trips_through_the_pool():
    hashing = PasswordHashing(concurrency=1)
    hashed = await hashing.hash("Lathe-Plant-42")
    assert await hashing.verify(hashed, "Lathe-Plant-42")
    assert not await hashing.verify(hashed, "lathe-plant-42")


def test_each_event_loop_gets_its_own_slots(monkeypatch):
    """A semaphore belongs to the loop it first waited in: a service runs one loop, but the CLI and
    the tests run several in turn, and each must get working slots, not the last loop's."""

    def slow_verify(password_hash: str, password: str) -> bool:
        time.sleep(0.02)
        return True

    monkeypatch.setattr(passwords, "verify_password", slow_verify)
    hashing = PasswordHashing(concurrency=1)

    async def contended() -> list[bool]:
        # Two at once with one slot: the second waits, which binds the semaphore to this loop.
        return list(await asyncio.gather(hashing.verify("h", "a"), hashing.verify("h", "b")))

    assert asyncio.run(contended()) == [True, True]
    assert asyncio.run(contended()) == [True, True]  # a new loop: new slots, no "bound to a different loop"
