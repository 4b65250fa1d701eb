from pathlib import Path

from lathe_common.settings import ServiceSettings, secret, settings_config
from pydantic import Field


class AuthSettings(ServiceSettings):
    model_config = settings_config("LATHE_AUTH_")

    port: int = 8001
    database_url: str = secret("postgresql+asyncpg://lathe_auth:lathe_auth@127.0.0.1:55432/lathe")
    keys_dir: Path = Path(".run/auth-keys")
    access_token_ttl_seconds: int = 900
    refresh_token_ttl_seconds: int = 14 * 24 * 3600
    # A signature token (POST /auth/signatures) is used at once by the client that asked for it.
    signature_token_ttl_seconds: int = Field(120, ge=10, le=900)
    lockout_threshold: int = 5
    lockout_seconds: int = 900
    password_hash_concurrency: int = Field(
        2, ge=1, description="argon2 hashes/verifies run at once, in worker threads (each ~0.1 s of a core, 64 MiB)"
    )


settings = AuthSettings()
