"""Prometheus metrics shared by every process (names are part of the operations contract)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.routing import Match

HTTP_REQUESTS = Counter(
    "lathe_http_requests_total", "HTTP requests handled", ["service", "method", "route", "status"]
)
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
MESSAGES_PUBLISHED = Counter("lathe_messages_published_total", "Events published from the outbox", ["service", "topic"])
OUTBOX_FAILURES = Counter("lathe_outbox_publish_failures_total", "Failed outbox publish attempts", ["service"])
OUTBOX_BACKLOG = Gauge("lathe_outbox_backlog", "Outbox rows not yet published", ["service"])
CONSUMER_LAG = Gauge(
    "lathe_consumer_lag", "Messages behind the partition end", ["service", "consumer", "topic", "partition"]
)


def _route_template(request: Request) -> str:
    # Label by route template, not raw path, so ids do not explode the series count.
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is Match.FULL:
            return getattr(route, "path", request.url.path)
    return "unmatched"


class MetricsMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: object, service: str) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.service = service

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = _route_template(request)
            HTTP_LATENCY.labels(self.service, request.method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(self.service, request.method, route, str(status)).inc()


def install_metrics_endpoint(app: FastAPI) -> None:
    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
