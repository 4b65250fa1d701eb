"""Settings base classes: one subclass per service, each with its own environment prefix."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import Field, IPvAnyNetwork, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["development", "test", "production"]
# What the deployment templates (deploy/k8s) put where a real secret belongs.
PLACEHOLDER = "CHANGE_ME"


def comma_separated(value: Any) -> Any:
    """A list setting as operators write it: "a,b" or a JSON list (use with ``NoDecode``)."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            return json.loads(stripped)
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


# Peers whose X-Forwarded-For is believed (lathe_common.client_address); empty: none.
TrustedProxies = Annotated[list[IPvAnyNetwork], NoDecode]


def secret(default: Any, **kwargs: Any) -> Any:
    """A field whose default is only acceptable on a developer's machine."""
    extra = dict(kwargs.pop("json_schema_extra", None) or {})
    extra["secret"] = True
    return Field(default, json_schema_extra=extra, **kwargs)


class LatheSettings(BaseSettings):
    """Shared knobs. Subclasses set ``model_config = settings_config("LATHE_X_")``."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    max_request_body_bytes: int = Field(
        1024 * 1024, ge=1024, description="Largest request body accepted (413 above it), unless a route allows more"
    )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> LatheSettings:
        if self.environment == "development":
            return self
        defaults = [
            name
            for name, field in type(self).model_fields.items()
            if isinstance(field.json_schema_extra, dict)
            and field.json_schema_extra.get("secret")
            and (getattr(self, name) == field.default or PLACEHOLDER in str(getattr(self, name)))
        ]
        if defaults:
            prefix = self.model_config.get("env_prefix", "")
            names = ", ".join(f"{prefix}{name}".upper() for name in defaults)
            raise ValueError(
                f"{names} still hold the development default or the {PLACEHOLDER} placeholder of the "
                f"deployment templates; set them before running with ENVIRONMENT={self.environment}"
            )
        return self


class ServiceSettings(LatheSettings):
    """A service that owns a Postgres schema and talks to Kafka."""

    database_url: str = secret("postgresql+asyncpg://lathe:lathe@127.0.0.1:55432/lathe")
    database_pool_size: int = Field(20, ge=1, description="Database connections, opened once and kept (no overflow)")
    max_concurrent_requests: int = Field(
        64, ge=1, description="HTTP requests served at once; more wait up to ADMISSION_WAIT_SECONDS, then get 503"
    )
    admission_wait_seconds: float = Field(
        0.5, ge=0, description="How long a request may wait for a slot before 503 overloaded (Retry-After: 1)"
    )
    kafka_bootstrap_servers: str = "127.0.0.1:59092"
    kafka_topic_partitions: int = 3
    kafka_replication_factor: int = 1
    outbox_batch_size: int = 2000
    outbox_poll_seconds: float = 1.0
    outbox_publish_timeout_seconds: float = Field(
        60.0, gt=0, description="A publish Kafka has not answered after this long releases its rows, to be tried again"
    )
    outbox_pacing_max_seconds: float = Field(
        10.0,
        gt=0,
        description="Longest a paced consumer (machine ingestion) waits for the outbox relay before a batch",
    )
    outbox_max_event_bytes: int = Field(
        1_000_000,
        gt=0,
        description="Largest event (payload, key and headers) Outbox.add accepts; keep it below Kafka's 1 MiB limits",
    )
    consumers_enabled: bool = Field(True, description="false: serve the API only (e.g. extra API replicas)")
    inbox_retention_days: int = Field(30, description="keep longer than Kafka's topic retention")
    auth_jwks_url: str = "http://127.0.0.1:8001/.well-known/jwks.json"
    auth_jwks_cache_seconds: float = Field(
        300.0, gt=0, description="Public keys are fetched again after this long, so a retired key stops verifying"
    )
    redis_url: str = secret("redis://127.0.0.1:56379/0", description="Where the revoked-token list is read")
    redis_timeout_seconds: float = Field(0.25, gt=0, description="Socket and connect timeout of the revocation check")
    trusted_proxies: TrustedProxies = Field(
        default_factory=list,
        description="Peers (IPs or CIDRs, e.g. the gateway) whose X-Forwarded-For is believed; comma-separated or JSON",
    )
    token_cache_size: int = Field(
        10_000, ge=0, description="Verified access tokens kept (each until its exp) to skip verifying again; 0: none"
    )
    consumer_max_attempts: int = Field(
        5, description="Attempts at an unexpected handler error before the message is dead-lettered"
    )
    consumer_retry_max_seconds: float = Field(
        30.0, gt=0, description="Longest pause between two tries of a record retried in place (it doubles up to this)"
    )

    _split_lists = field_validator("trusted_proxies", mode="before")(comma_separated)


def settings_config(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=prefix, extra="ignore")
