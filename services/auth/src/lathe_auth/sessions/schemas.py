from __future__ import annotations

from lathe_common.problem_docs import ProblemCode
from pydantic import BaseModel, ConfigDict, Field

from lathe_auth.users.schemas import password_rules

# How sign-in requests are refused (documented on the routes that can refuse so).
INVALID_CREDENTIALS = ProblemCode(
    401,
    "invalid_credentials",
    "wrong username or password, or an inactive account, or one locked from this address: one answer for all",
)
INVALID_REFRESH_TOKEN = ProblemCode(401, "invalid_refresh_token", "the refresh token is unknown or was revoked")
REFRESH_TOKEN_REUSED = ProblemCode(
    401, "refresh_token_reused", "the refresh token was already exchanged: every session of its family is now closed"
)
REFRESH_TOKEN_EXPIRED = ProblemCode(401, "refresh_token_expired", "the refresh token has expired: sign in again")
ACCOUNT_INACTIVE = ProblemCode(401, "account_inactive", "the account was deactivated or no longer exists")
ACCOUNT_LOCKED = ProblemCode(
    429, "account_locked", "too many wrong passwords from this address: retry after `Retry-After` seconds"
)
WRONG_PASSWORD = ProblemCode(422, "wrong_password", "the current password is wrong (it counts toward the lockout)")


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(BaseModel):
    refresh_token: str | None = Field(default=None, max_length=512)


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret
    expires_in: int


class PasswordChange(BaseModel):
    model_config = ConfigDict(json_schema_extra=password_rules("new_password"))

    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)
