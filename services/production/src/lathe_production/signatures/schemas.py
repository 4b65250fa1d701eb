"""What a signed request carries, and how signatures are refused (documented on the signed routes)."""

from __future__ import annotations

import uuid
from datetime import datetime

from lathe_common.problem_docs import ProblemCode
from lathe_common.signatures import MAX_REASON_LENGTH, SignatureMeaning
from pydantic import BaseModel, ConfigDict, Field, field_validator

SIGNATURE_REQUIRED = ProblemCode(
    422,
    "signature_required",
    "no `signature` (or a `password`, which production never takes): get one from POST /api/v1/auth/signatures "
    "for `record`, and send it as `signature`",
)
INVALID_SIGNATURE = ProblemCode(422, "invalid_signature", "the signature is not a signature token auth issued")
SIGNATURE_EXPIRED = ProblemCode(422, "signature_expired", "the signature token has expired: sign again")
SIGNATURE_MISMATCH = ProblemCode(
    422,
    "signature_mismatch",
    "the signature was given for another record or action (`signed_record`, `expected_record`), or with another "
    "meaning or reason than the request's",
)
SIGNATURE_NOT_YOURS = ProblemCode(403, "signature_not_yours", "the signature is another user's")
SIGNATURE_USED = ProblemCode(409, "signature_used", "the signature token was used already: a signature signs once")
SIGNATURE_PROBLEMS = (
    SIGNATURE_REQUIRED,
    INVALID_SIGNATURE,
    SIGNATURE_EXPIRED,
    SIGNATURE_MISMATCH,
    SIGNATURE_NOT_YOURS,
    SIGNATURE_USED,
)


class SignedRequest(BaseModel):
    """A decision signed electronically: the reason, the meaning, and the signature token for them."""

    reason: str = Field(min_length=1, max_length=MAX_REASON_LENGTH)
    meaning: SignatureMeaning = SignatureMeaning.APPROVED
    signature: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="the token of POST /api/v1/auth/signatures for this record, with this meaning and reason",
    )
    password: str | None = Field(
        default=None,
        max_length=256,
        description="never taken here (production holds no passwords): a request with it is answered 422 "
        "`signature_required`, naming the `record` to sign at POST /api/v1/auth/signatures",
    )

    @field_validator("reason")
    @classmethod
    def _reason_said(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a reason is required")
        return value


class SignatureRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    signer_id: uuid.UUID
    signer_username: str
    signer_name: str | None
    meaning: SignatureMeaning
    reason: str
    record: str
    signed_at: datetime = Field(description="when it was applied to the record (production's database clock)")
    authenticated_at: datetime = Field(description="when auth checked the signer's password")
    content_sha256: str
