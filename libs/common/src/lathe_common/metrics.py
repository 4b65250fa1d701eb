"""Prometheus metrics shared by every process (names are part of the operations contract)."""

from __future__ import annotations

import time
from collections.abc import Iterable

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter("lathe_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"])
HTTP_LATENCY = Histogram(
    "lathe_http_request_duration_seconds",
    "HTTP request latency",
    ["service", "method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MESSAGES_CONSUMED = Counter(
    "lathe_messages_consumed_total", "Kafka messages consumed", ["service", "consumer", "topic", "outcome"]
)
DEAD_LETTERS = Counter(
    "lathe_dead_letters_total", "Messages sent to a dead-letter topic", ["service", "consumer", "topic", "reason"]
)
CONSUMER_RETRIES = Counter(
    "lathe_consumer_retries_total",
    "Records retried in place after a pause (kind: transient, unexpected, dead_letter)",
    ["service", "consumer", "topic", "kind"],
)
MESSAGES_PUBLISHED = Counter("lathe_messages_published_total", "Events published from the outbox", ["service", "topic"])
OUTBOX_FAILURES = Counter(
    "lathe_outbox_publish_failures_total",
    "Failed outbox publish attempts, by outcome: retrying (transient) or parked (Kafka refuses the record)",
    ["service", "outcome"],
)
OUTBOX_BACKLOG = Gauge("lathe_outbox_backlog", "Outbox rows waiting to be published (not parked)", ["service"])
OUTBOX_PARKED = Gauge("lathe_outbox_parked", "Outbox rows parked for an operator", ["service"])
OUTBOX_OLDEST_AGE = Gauge(
    "lathe_outbox_oldest_age_seconds", "Age of the oldest outbox row waiting to be published (0: none)", ["service"]
)
CONSUMER_LAG = Gauge(
    "lathe_consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic", "partition"]
)


def _route_template(scope: Scope) -> str:
    # The matched route's own path lacks the prefixes of the routers it was included through, so
    # the template is rebuilt from the request path by putting the parameter names back.
    if "route" not in scope:
        return "unmatched"
    path: str = scope["path"]
    for name, value in (scope.get("path_params") or {}).items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


def is_event_stream(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether ASGI response headers announce Server-Sent Events (``text/event-stream``)."""
    return any(name.lower() == b"content-type" and value.startswith(b"text/event-stream") for name, value in headers)


class MetricsMiddleware:
    """Pure ASGI (no per-request task group): latency and count by route template, not raw path,
    so ids in paths do not explode the series count. An event stream's latency is the time to its
    head (its length is how long the client stays, which would drown every other latency)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        streamed_at: float | None = None

        async def send_and_record_status(message: Message) -> None:
            nonlocal status, streamed_at
            if message["type"] == "http.response.start":
                status = message["status"]
                if is_event_stream(message.get("headers") or ()):
                    streamed_at = time.perf_counter()
            await send(message)

        try:
            await self.app(scope, receive, send_and_record_status)
        finally:
            route = _route_template(scope)
            method = scope["method"]
            ended = streamed_at if streamed_at is not None else time.perf_counter()
            HTTP_LATENCY.labels(self.service, method, route).observe(ended - started)
            HTTP_REQUESTS.labels(self.service, method, route, str(status)).inc()


def install_metrics_endpoint(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
