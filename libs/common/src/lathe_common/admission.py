"""Admission control: load beyond what a process can serve is refused at once, not queued.

Without it, every request a saturated process accepts waits behind all the others; past the
client's timeout it is abandoned, but the process still does its work, which makes the queue
longer still. Here at most ``max_in_flight`` requests are served at a time; a request that cannot
start within ``max_wait_seconds`` gets 503 ``overloaded`` with ``Retry-After``, costing the
process almost nothing, and the ones it admits are answered in bounded time. Health, metrics and
documentation are never refused: probes must see a busy process as alive.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from prometheus_client import Counter, Gauge
from starlette.types import ASGIApp, Receive, Scope, Send

from lathe_common.errors import problem

SHED = Counter("lathe_http_shed_total", "Requests refused with 503 because the process was saturated", ["service"])
IN_FLIGHT = Gauge("lathe_http_in_flight", "Requests being served now (admission control)", ["service"])
EXEMPT_PREFIXES = ("/health/", "/metrics", "/docs", "/openapi.json")


class Admission:
    """The gate itself, usable by middleware of any shape (the gateway's fast path uses it too)."""

    def __init__(self, service: str, *, max_in_flight: int, max_wait_seconds: float, retry_after_seconds: int = 1):
        self.max_in_flight = max_in_flight
        self.max_wait_seconds = max_wait_seconds
        self.retry_after_seconds = retry_after_seconds
        self._slots = asyncio.Semaphore(max_in_flight)
        self._shed = SHED.labels(service)
        self._in_flight = IN_FLIGHT.labels(service)

    async def enter(self) -> bool:
        """True once a slot is held (release it with ``leave``); False when none freed up in time."""
        if not self._slots.locked():
            await self._slots.acquire()
        else:
            try:
                await asyncio.wait_for(self._slots.acquire(), self.max_wait_seconds)
            except TimeoutError:
                self._shed.inc()
                return False
        self._in_flight.inc()
        return True

    def leave(self) -> None:
        self._in_flight.dec()
        self._slots.release()

    def refusal(self):  # noqa: ANN201 - a starlette Response
        return problem(
            503,
            "overloaded",
            "Service overloaded",
            "The service is at capacity; retry shortly.",
            headers={"Retry-After": str(self.retry_after_seconds)},
        )


class AdmissionControl:
    """Pure ASGI middleware applying an ``Admission`` to every HTTP request but the exempt ones."""

    def __init__(self, app: ASGIApp, *, admission: Admission, exempt_prefixes: Sequence[str] = EXEMPT_PREFIXES) -> None:
        self.app = app
        self.admission = admission
        self.exempt_prefixes = tuple(exempt_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt_prefixes):
            await self.app(scope, receive, send)
            return
        if not await self.admission.enter():
            await self.admission.refusal()(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.admission.leave()
