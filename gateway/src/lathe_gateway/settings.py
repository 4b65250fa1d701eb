"""Gateway settings, read from ``LATHE_GATEWAY_*`` environment variables (see gateway/README.md)."""

from __future__ import annotations

from typing import Annotated

from lathe_common.settings import LatheSettings, TrustedProxies, comma_separated, secret, settings_config
from pydantic import Field, field_validator
from pydantic_settings import NoDecode


class GatewaySettings(LatheSettings):
    model_config = settings_config("LATHE_GATEWAY_")

    port: int = 8000
    redis_url: str = secret("redis://127.0.0.1:56379/0", description="Rate limits and the revoked-token list")
    auth_url: str = "http://127.0.0.1:8001"
    production_url: str = "http://127.0.0.1:8002"
    orders_url: str = "http://127.0.0.1:8003"
    analytics_url: str = "http://127.0.0.1:8004"

    upstream_timeout_seconds: float = Field(30.0, description="Read timeout for services without their own entry")
    upstream_timeouts_seconds: dict[str, float] = Field(
        default_factory=lambda: {"analytics": 60.0},
        description='Per-service read timeouts, e.g. {"analytics": 60} (JSON)',
    )
    upstream_connect_timeout_seconds: float = 2.0
    max_upstream_connections: int = 200
    max_in_flight_per_service: int = Field(
        100, ge=1, description="Requests forwarded to one service at once; more wait ADMISSION_WAIT_SECONDS, then 503"
    )
    admission_wait_seconds: float = Field(0.5, ge=0, description="How long a request may wait to be forwarded")
    max_streams_per_service: int = Field(
        1000, ge=1, description="Event streams open to one service at once, apart from the requests; more get 503"
    )
    request_body_limits: dict[str, int] = Field(
        default_factory=lambda: {"/api/v1/lots": 10 * 1024 * 1024},
        description="Path prefixes whose bodies may be larger than MAX_REQUEST_BODY_BYTES (1 MiB), in bytes (JSON): "
        "by default a LOT's units created by number (up to 100,000 serial numbers)",
    )

    rate_limits_enabled: bool = True
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests per authenticated user (token sub)")
    anonymous_rate_limit_per_minute: int = Field(120, ge=1, description="Requests without a valid token, per address")
    login_rate_limit_per_minute: int = Field(10, ge=1, description="POST login and POST refresh, each, per address")
    trusted_proxies: TrustedProxies = Field(
        default_factory=list,
        description="Peers (IPs or CIDRs, e.g. a load balancer) whose X-Forwarded-For is believed; empty: none",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Browser origins allowed by CORS; empty sends no CORS headers"
    )

    redis_timeout_seconds: float = Field(0.25, description="Socket and connect timeout for rate limits / revocation")
    redis_failure_pause_seconds: float = Field(
        1.0, description="After a Redis error, skip Redis (fail open) this long instead of waiting on it per request"
    )
    redis_warning_interval_seconds: float = Field(30.0, description="At most one 'Redis unavailable' warning per this")
    openapi_cache_seconds: float = 30.0
    jwks_cache_seconds: float = Field(
        300.0, gt=0, description="The auth service's public keys are fetched again after this long (key retirement)"
    )
    token_cache_size: int = Field(
        10_000, ge=0, description="Verified access tokens kept (each until its exp) to skip verifying again; 0: none"
    )

    _split_lists = field_validator("trusted_proxies", "cors_origins", mode="before")(comma_separated)


settings = GatewaySettings()
