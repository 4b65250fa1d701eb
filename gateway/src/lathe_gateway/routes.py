"""Which service owns which path prefix."""

from __future__ import annotations

from dataclasses import dataclass

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
    Route("/api/v1/purchase-orders", "orders"),
    Route("/api/v1/sales-orders", "orders"),
    Route("/api/v1/work-orders", "orders"),
    Route("/api/v1/analytics", "analytics"),
    Route("/api/v1/audit-logs", "analytics"),
)

SERVICES = ("auth", "production", "orders", "analytics")


def upstream_urls(settings: GatewaySettings) -> dict[str, str]:
    return {name: getattr(settings, f"{name}_url").rstrip("/") for name in SERVICES}


def resolve(path: str) -> Route | None:
    for route in ROUTES:
        if path == route.prefix or path.startswith(route.prefix + "/"):
            return route
    return None
