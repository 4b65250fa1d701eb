import pytest
from lathe_common.settings import ServiceSettings, settings_config
from pydantic import ValidationError


class ExampleSettings(ServiceSettings):
    model_config = settings_config("LATHE_EXAMPLE_")


def test_development_accepts_default_secrets(monkeypatch):
    monkeypatch.delenv("LATHE_EXAMPLE_ENVIRONMENT", raising=False)
    assert ExampleSettings().environment == "development"


@pytest.mark.parametrize("environment", ["production", "test"])
def test_other_environments_refuse_default_secrets(monkeypatch, environment):
    monkeypatch.setenv("LATHE_EXAMPLE_ENVIRONMENT", environment)
    with pytest.raises(ValidationError, match="LATHE_EXAMPLE_DATABASE_URL"):
        ExampleSettings()


def production(monkeypatch, **values: str) -> None:
    monkeypatch.setenv("LATHE_EXAMPLE_ENVIRONMENT", "production")
    real = {"DATABASE_URL": "postgresql+asyncpg://svc:s3cret@db/lathe", "REDIS_URL": "redis://:s3cret@cache:6379/0"}
    for name, value in (real | values).items():
        monkeypatch.setenv(f"LATHE_EXAMPLE_{name}", value)


def test_production_with_real_secrets_is_accepted(monkeypatch):
    production(monkeypatch)
    assert ExampleSettings().database_url.endswith("@db/lathe")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "postgresql+asyncpg://lathe_auth:CHANGE_ME@postgres.example.internal:5432/lathe"),
        ("REDIS_URL", "redis://:CHANGE_ME@redis.example.internal:6379/0"),
        ("REDIS_URL", "redis://127.0.0.1:56379/0"),  # the local stack's, without a password
    ],
)
def test_production_refuses_template_placeholders_and_the_default_redis(monkeypatch, name, value):
    production(monkeypatch, **{name: value})
    with pytest.raises(ValidationError, match=f"LATHE_EXAMPLE_{name}"):
        ExampleSettings()


def test_the_gateway_refuses_the_default_redis_in_production(monkeypatch):
    from lathe_gateway.settings import GatewaySettings

    monkeypatch.setenv("LATHE_GATEWAY_ENVIRONMENT", "production")
    monkeypatch.delenv("LATHE_GATEWAY_REDIS_URL", raising=False)
    with pytest.raises(ValidationError, match="LATHE_GATEWAY_REDIS_URL"):
        GatewaySettings()
    monkeypatch.setenv("LATHE_GATEWAY_REDIS_URL", "redis://:s3cret@cache:6379/0")
    assert GatewaySettings().redis_url.startswith("redis://:s3cret@")


def test_prefix_isolates_services(monkeypatch):
    monkeypatch.setenv("LATHE_OTHER_PORT", "9999")
    assert ExampleSettings().port == 8000
