"""Long-lived answers end when the process is asked to stop: the stop hook runs in the event loop,
then the handler that was there (uvicorn's, in a served process) runs as before."""

from __future__ import annotations

import asyncio
import signal

from lathe_common.stopping import call_on_stop


async def test_a_stop_signal_calls_back_then_the_previous_handler_and_undo_restores_it():
    seen: list[str] = []

    def previous(number: int, frame: object) -> None:
        seen.append(f"previous {signal.Signals(number).name}")

    original = signal.signal(signal.SIGTERM, previous)
    try:
        stopping = asyncio.Event()
        undo = call_on_stop(stopping.set)
        signal.raise_signal(signal.SIGTERM)
        await asyncio.wait_for(stopping.wait(), 1)
        assert seen == ["previous SIGTERM"]
        undo()
        assert signal.getsignal(signal.SIGTERM) is previous
    finally:
        signal.signal(signal.SIGTERM, original)


async def test_signals_left_at_their_default_are_not_taken_over():
    original = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        undo = call_on_stop(lambda: None)
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the process still stops on it
        undo()
    finally:
        signal.signal(signal.SIGTERM, original)
