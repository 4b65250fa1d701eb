from __future__ import annotations

from datetime import datetime

from lathe_common.problem_docs import ProblemCode
from lathe_common.signatures import MAX_REASON_LENGTH, RECORD_PATTERN, SignatureMeaning
from pydantic import BaseModel, ConfigDict, Field, field_validator

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
WRONG_SIGNATURE_PASSWORD = ProblemCode(
    422, "wrong_password", "the password is wrong: nothing is signed (it counts toward the lockout)"
)


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


class SignatureRequest(BaseModel):
    """Sign a record: re-enter your password. The answer's `signature` goes in the request that acts
    on the record (e.g. `POST /api/v1/nonconformances/{id}/disposition`), with the same meaning and reason."""

    password: str = Field(min_length=1, max_length=256)
    record: str = Field(
        pattern=RECORD_PATTERN,
        max_length=200,
        description="what you sign, as the record's API names it: `nonconformance/{id}/disposition/{REWORK|SCRAP|"
        "USE_AS_IS}`, `hold/{id}/release`",
        examples=["nonconformance/01963a0e-5d7c-7f2b-9a8e-0c1d2e3f4a5b/disposition/SCRAP"],
    )
    meaning: SignatureMeaning = SignatureMeaning.APPROVED
    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)

    @field_validator("reason")
    @classmethod
    def _reason_said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value


class SignatureGranted(BaseModel):
    signature: str = Field(description="the signature token: send it once, within `expires_in` seconds")
    token_type: str = "signature"  # noqa: S105 - a kind of token, not a secret
    expires_in: int
    expires_at: datetime
    record: str
    meaning: SignatureMeaning
    reason: str
    signer: str
