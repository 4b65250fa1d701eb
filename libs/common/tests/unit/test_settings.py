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


def test_production_with_real_secrets_is_accepted(monkeypatch):
    monkeypatch.setenv("LATHE_EXAMPLE_ENVIRONMENT", "production")
    monkeypatch.setenv("LATHE_EXAMPLE_DATABASE_URL", "postgresql+asyncpg://svc:s3cret@db/lathe")
    assert ExampleSettings().database_url.endswith("@db/lathe")


def test_prefix_isolates_services(monkeypatch):
    monkeypatch.setenv("LATHE_OTHER_PORT", "9999")
    assert ExampleSettings().port == 8000
