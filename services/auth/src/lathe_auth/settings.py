from pathlib import Path

from lathe_common.settings import ServiceSettings, secret, settings_config


class AuthSettings(ServiceSettings):
    model_config = settings_config("LATHE_AUTH_")

    port: int = 8001
    database_url: str = secret("postgresql+asyncpg://lathe_auth:lathe_auth@127.0.0.1:55432/lathe")
    keys_dir: Path = Path(".run/auth-keys")
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    lockout_threshold: int = 5
    lockout_seconds: int = 900


settings = AuthSettings()
