"""Ending long-lived answers when the process is asked to stop.

On SIGTERM or SIGINT, uvicorn stops accepting connections and then waits for every open one to
finish its answer before the app's lifespan shutdown runs. An event stream never finishes on its
own, so a process serving one would wait until its supervisor killed it (the outbox relay and the
consumers never stopped cleanly). ``call_on_stop`` chains onto the handlers in place (uvicorn's,
installed before the app starts): on the signal, ``callback`` is scheduled in the event loop, then
the previous handler runs as before. Streams end there, and the shutdown goes on as usual.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def call_on_stop(callback: Callable[[], None]) -> Callable[[], None]:
    """Call from a coroutine (the app's startup). Returns what undoes it. Signals left at their
    default or ignored are not taken over (nothing would stop the process then); off the main
    thread, where Python handles no signals, nothing is done."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[int, tuple[Callable[..., object], Callable[[int, FrameType | None], None]]] = {}
    for signum in STOP_SIGNALS:
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def chained(number: int, frame: FrameType | None, previous: Callable[..., object] = previous) -> None:
            loop.call_soon_threadsafe(callback)
            previous(number, frame)

        signal.signal(signum, chained)
        installed[signum] = (previous, chained)

    def undo() -> None:
        for signum, (previous, chained) in installed.items():
            if signal.getsignal(signum) is chained:
                signal.signal(signum, previous)  # type: ignore[arg-type]

    return undo
