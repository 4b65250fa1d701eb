"""Which service owns which path prefix, and the one list of routes open without a token."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from lathe_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Route:
    prefix: str
    service: str


ROUTES: tuple[Route, ...] = (
    Route("/api/v1/auth", "auth"),
    Route("/api/v1/users", "auth"),
    Route("/.well-known/jwks.json", "auth"),
    Route("/api/v1/processes", "production"),
    Route("/api/v1/product-models", "production"),
    Route("/api/v1/lots", "production"),
    Route("/api/v1/serials", "production"),
    Route("/api/v1/process-data", "production"),
    Route("/api/v1/nonconformances", "production"),
    Route("/api/v1/holds", "production"),
    Route("/api/v1/labor-entries", "production"),
    Route("/api/v1/coating-logs", "production"),
    Route("/api/v1/customers", "orders"),
    Route("/api/v1/suppliers", "orders"),
    Route("/api/v1/purchase-orders", "orders"),
    Route("/api/v1/sales-orders", "orders"),
    Route("/api/v1/work-orders", "orders"),
    Route("/api/v1/shipped-units", "orders"),
    Route("/api/v1/erp-conflicts", "orders"),
    Route("/api/v1/audit-logs", "analytics"),
    Route("/api/v1/analytics", "analytics"),
)

SERVICES = ("auth", "production", "orders", "analytics")

# Paths whose answers are event streams (text/event-stream) that stay open for as long as the
# client does: forwarded without a read timeout once their head has come, over connections of
# their own, and counted apart (MAX_STREAMS_PER_SERVICE), so they never hold the slots and
# connections of ordinary requests. Exact paths, like the public ones.
EVENT_STREAMS = frozenset({"/api/v1/analytics/stream"})


def is_event_stream(path: str) -> bool:
    return path in EVENT_STREAMS


def resolve(path: str) -> Route | None:
    # An HTTP client or a service's router may collapse "/api/v1/auth/../lots" to "/api/v1/lots",
    # a path the service does not own; such paths are never legitimate, so they route nowhere.
    # ("/." first: a cheap test that spares the split on nearly every request.)
    if "/." in path and any(segment in (".", "..") for segment in path.split("/")):
        return None
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None


@dataclass(frozen=True)
class PublicEndpoint:
    methods: frozenset[str]
    path: str
    exchanges_credentials: bool = False  # login / refresh: a stricter limit per client address
    # A directory of static files: each file directly in it is public (one path segment, never
    # "." or ".."); the directory itself and anything deeper are not.
    directory: bool = False

    def matches(self, path: str) -> bool:
        if not self.directory:
            return path == self.path
        if not path.startswith(self.path + "/"):
            return False
        name = path[len(self.path) + 1 :]
        return name not in ("", ".", "..") and "/" not in name


_READ = frozenset({"GET", "HEAD"})

# Everything not listed here needs a valid access token. Paths match exactly: no prefixes, so a
# route added later is closed until someone decides otherwise here. The one directory entry is
# Swagger UI's static files, which /docs cannot render without.
PUBLIC_ENDPOINTS: tuple[PublicEndpoint, ...] = (
    PublicEndpoint(frozenset({"POST"}), "/api/v1/auth/login", exchanges_credentials=True),
    PublicEndpoint(frozenset({"POST"}), "/api/v1/auth/refresh", exchanges_credentials=True),
    PublicEndpoint(_READ, "/.well-known/jwks.json"),
    PublicEndpoint(_READ, "/health/live"),
    PublicEndpoint(_READ, "/health/ready"),
    PublicEndpoint(_READ, "/metrics"),
    PublicEndpoint(_READ, "/docs"),
    PublicEndpoint(_READ, "/docs/oauth2-redirect"),
    PublicEndpoint(_READ, "/docs/assets", directory=True),
    PublicEndpoint(_READ, "/openapi.json"),
)


def public_endpoint(method: str, path: str) -> PublicEndpoint | None:
    method = method.upper()
    for endpoint in PUBLIC_ENDPOINTS:
        if method in endpoint.methods and endpoint.matches(path):
            return endpoint
    return None


@dataclass(frozen=True)
class Upstream:
    service: str
    base_url: str
    # sock_read: the longest silence while waiting for the answer; sock_connect: to open a
    # connection; connect: to get one, pool wait included (bounded by the read timeout).
    timeout: aiohttp.ClientTimeout
    # An event stream: the same connect timeouts and no read timeout (it may be silent between
    # events); its head must still come within ``head_seconds`` (the service's read timeout).
    stream_timeout: aiohttp.ClientTimeout
    head_seconds: float


def upstreams(settings: GatewaySettings) -> dict[str, Upstream]:
    unknown = set(settings.upstream_timeouts_seconds) - set(SERVICES)
    if unknown:
        raise ValueError(f"LATHE_GATEWAY_UPSTREAM_TIMEOUTS_SECONDS names unknown services: {sorted(unknown)}")
    found = {}
    for name in SERVICES:
        read_seconds = settings.upstream_timeouts_seconds.get(name, settings.upstream_timeout_seconds)
        connect_seconds = settings.upstream_connect_timeout_seconds
        found[name] = Upstream(
            service=name,
            base_url=getattr(settings, f"{name}_url").rstrip("/"),
            timeout=_timeout(read_seconds, connect_seconds),
            stream_timeout=_timeout(read_seconds, connect_seconds, streaming=True),
            head_seconds=read_seconds,
        )
    return found


def _timeout(read_seconds: float, connect_seconds: float, *, streaming: bool = False) -> aiohttp.ClientTimeout:
    return aiohttp.ClientTimeout(
        total=None,
        connect=max(read_seconds, connect_seconds),
        sock_connect=connect_seconds,
        sock_read=None if streaming else read_seconds,
    )
