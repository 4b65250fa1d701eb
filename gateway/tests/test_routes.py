"""The route table and the public-endpoint list (pure functions)."""

from __future__ import annotations

import pytest
from lathe_gateway.routes import PUBLIC_ENDPOINTS, public_endpoint, resolve, upstreams
from lathe_gateway.settings import GatewaySettings


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/login"),
        ("post", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/health/live"),
        ("HEAD", "/health/ready"),
        ("GET", "/metrics"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/docs/assets/swagger-ui.css"),
        ("HEAD", "/docs/assets/swagger-ui-bundle.js"),
        ("GET", "/openapi.json"),
    ],
)
def test_public_endpoints(method, path):
    assert public_endpoint(method, path) is not None


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/auth/login"),  # only the method listed
        ("POST", "/api/v1/auth/login/"),  # exact paths, no prefixes
        ("POST", "/api/v1/auth/login/extra"),
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/me"),
        ("DELETE", "/.well-known/jwks.json"),
        ("GET", "/.well-known/other"),
        ("POST", "/metrics"),
        ("GET", "/docs/anything"),
        ("POST", "/docs/assets/swagger-ui.css"),  # the assets directory: its files, read only
        ("GET", "/docs/assets"),
        ("GET", "/docs/assets/"),
        ("GET", "/docs/assets/a/b.js"),
        ("GET", "/docs/assets/.."),
        ("GET", "/docs/assets/../../api/v1/lots"),
        ("GET", "/docs/assetsX/swagger-ui.css"),
        ("GET", "/api/v1/lots"),
        ("GET", "/api/v1/unknown"),
        ("GET", "/"),
    ],
)
def test_everything_else_needs_a_token(method, path):
    assert public_endpoint(method, path) is None


def test_only_login_and_refresh_get_the_credentials_limit():
    strict = {endpoint.path for endpoint in PUBLIC_ENDPOINTS if endpoint.exchanges_credentials}
    assert strict == {"/api/v1/auth/login", "/api/v1/auth/refresh"}


@pytest.mark.parametrize(
    ("path", "service"),
    [
        ("/api/v1/auth/login", "auth"),
        ("/api/v1/users/42", "auth"),
        ("/.well-known/jwks.json", "auth"),
        ("/api/v1/lots", "production"),
        ("/api/v1/lots/L-1/serials", "production"),
        ("/api/v1/audit-logs", "analytics"),
        ("/api/v1/analytics/spc/P03_SENSOR_INSPECTION/offset_mv", "analytics"),
    ],
)
def test_resolve_routes_by_prefix(path, service):
    route = resolve(path)
    assert route is not None and route.service == service


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/lotsX",  # a prefix only matches whole segments
        "/api/v1/unknown",
        "/api/v1/auth/../lots",  # would reach auth as /api/v1/lots once something normalises it
        "/api/v1/lots/./x",
        "/health/live",
        "/api/v1/analyticsX",
    ],
)
def test_resolve_refuses(path):
    assert resolve(path) is None


def test_per_service_timeouts():
    table = upstreams(GatewaySettings(upstream_timeout_seconds=30, upstream_timeouts_seconds={"analytics": 60}))
    assert table["analytics"].timeout.sock_read == 60
    assert table["production"].timeout.sock_read == 30


def test_timeouts_for_unknown_services_stop_the_start():
    with pytest.raises(ValueError, match="unknwn"):
        upstreams(GatewaySettings(upstream_timeouts_seconds={"unknwn": 5}))
