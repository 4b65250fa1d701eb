"""Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.200) without a call between services.

A signature is an act of the signer's, re-authenticated by their password, about one record. The
auth service holds passwords, so it checks the password and answers with a *signature token*: a
JWT signed with its key, like an access token, but for the audience ``lathe-signature`` (so a
signature is never accepted as an access token, nor an access token as a signature), naming the
signer, the record and the action signed (``record``, e.g. ``nonconformance/<id>/disposition/SCRAP``),
the meaning (approved, rejected, reviewed) and the reason, valid for a short time, once.

The service that keeps the record verifies the token against the same public keys (JWKS) as access
tokens, checks that it names the record and action at hand, the meaning and reason of the request,
and the caller (a signature is used by its owner only), and stores its ``jti`` under a unique
constraint: a token signs one record, once. The service never sees a password and never calls auth.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from fastapi import Request

from lathe_common.auth import ISSUER, KeySource, TokenVerifier
from lathe_common.errors import Forbidden, InvalidInput, Unauthorized

SIGNATURE_AUDIENCE = "lathe-signature"
TOKEN_TYPE = "signature"  # noqa: S105 - a kind of token, not a secret
# A record names what is signed: a kind, an id, then the action and its detail, e.g.
# "nonconformance/0190.../disposition/REWORK" or "hold/0190.../release".
RECORD_PATTERN = r"^[a-z][a-z-]{0,31}(/[A-Za-z0-9][A-Za-z0-9._:-]{0,79}){1,4}$"
MAX_REASON_LENGTH = 500
_RECORD = re.compile(RECORD_PATTERN)


class SignatureMeaning(StrEnum):
    """What the signer means by signing (§11.50(a)(3))."""

    APPROVED = "approved"
    REJECTED = "rejected"
    REVIEWED = "reviewed"


def record_of(kind: str, record_id: object, *action: str) -> str:
    """The record string of ``kind``/``record_id``/``action...`` (what a signature must name)."""
    record = "/".join([kind, str(record_id), *action])
    if not _RECORD.fullmatch(record):
        raise ValueError(f"not a record a signature can name: {record!r}")
    return record


def signature_claims(
    *,
    signer_id: str,
    username: str,
    full_name: str | None,
    record: str,
    meaning: SignatureMeaning,
    reason: str,
    token_id: str,
    now: int,
    ttl_seconds: int,
) -> dict[str, Any]:
    """The claims of a signature token (the auth service signs them; ``now`` in epoch seconds: the
    moment the password was checked)."""
    return {
        "iss": ISSUER,
        "aud": SIGNATURE_AUDIENCE,
        "typ": TOKEN_TYPE,
        "sub": signer_id,
        "preferred_username": username,
        "name": full_name,
        "record": record,
        "meaning": meaning.value,
        "reason": reason,
        "jti": token_id,
        "iat": now,
        "auth_time": now,
        "nbf": now,
        "exp": now + ttl_seconds,
    }


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature token's verified content: who signed what, meaning what, why, and when the
    password was checked (auth's clock)."""

    token_id: str
    signer_id: str
    username: str
    full_name: str | None
    record: str
    meaning: SignatureMeaning
    reason: str
    authenticated_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, claims: dict[str, Any]) -> VerifiedSignature:
        try:
            if claims.get("typ") != TOKEN_TYPE or not _RECORD.fullmatch(str(claims["record"])):
                raise ValueError("not a signature token")
            return cls(
                token_id=str(claims["jti"]),
                signer_id=str(claims["sub"]),
                username=str(claims["preferred_username"]),
                full_name=str(claims["name"]) if claims.get("name") else None,
                record=str(claims["record"]),
                meaning=SignatureMeaning(claims["meaning"]),
                reason=str(claims["reason"]),
                authenticated_at=datetime.fromtimestamp(int(claims["auth_time"]), UTC),
                expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidInput(
                "The signature token does not carry a signature's claims.", code="invalid_signature"
            ) from exc

    def content_sha256(self) -> str:
        """What was signed, by whom and when, as one hash kept with the record (§11.70: a signature
        linked to its record, and to nothing else)."""
        content = {
            "record": self.record,
            "meaning": self.meaning.value,
            "reason": self.reason,
            "signer_id": self.signer_id,
            "authenticated_at": self.authenticated_at.isoformat(),
            "token_id": self.token_id,
        }
        return hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def check_binding(
    signature: VerifiedSignature, *, record: str, signer_id: str, meaning: SignatureMeaning, reason: str
) -> None:
    """The signature must be the caller's, for this record and action, with the request's meaning
    and reason: a signature given for one record cannot be copied to another (§11.70)."""
    if signature.signer_id != signer_id:
        raise Forbidden(
            "The signature belongs to another user: sign with your own password.", code="signature_not_yours"
        )
    if signature.record != record:
        raise InvalidInput(
            f"The signature was given for {signature.record}, not {record}.",
            code="signature_mismatch",
            expected_record=record,
            signed_record=signature.record,
        )
    if signature.meaning != meaning or signature.reason != reason:
        raise InvalidInput(
            "The signature was given with another meaning or reason than this request's.",
            code="signature_mismatch",
            expected_record=record,
            signed_record=signature.record,
        )


class SignatureVerifier:
    """Verifies signature tokens against the auth service's public keys (the JWKS access tokens use)."""

    def __init__(self, keys: KeySource, *, leeway: int = 5) -> None:
        self._tokens = TokenVerifier(keys, audience=SIGNATURE_AUDIENCE, leeway=leeway)

    async def verify(self, token: str) -> VerifiedSignature:
        try:
            claims, _ = await self._tokens.claims(token)
        except Unauthorized as exc:
            # A 401 would tell the client its sign-in failed; the signature is a field of the body.
            if exc.code == "token_expired":
                raise InvalidInput("The signature has expired: sign again.", code="signature_expired") from None
            raise InvalidInput(f"The signature is not valid: {exc.detail}", code="invalid_signature") from None
        return VerifiedSignature.of(claims)

    async def verify_for(
        self, token: str, *, record: str, signer_id: str, meaning: SignatureMeaning, reason: str
    ) -> VerifiedSignature:
        signature = await self.verify(token)
        check_binding(signature, record=record, signer_id=signer_id, meaning=meaning, reason=reason)
        return signature


def signature_verifier(request: Request) -> SignatureVerifier:
    """A FastAPI dependency: the verifier over the keys the app's access-token verifier uses."""
    verifier = request.app.state.token_verifier
    tokens: TokenVerifier = getattr(verifier, "verifier", verifier)  # behind a CachedVerification, or not
    return SignatureVerifier(tokens.keys, leeway=tokens.leeway)
