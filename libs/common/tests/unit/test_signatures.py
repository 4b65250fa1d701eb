"""Signature tokens: what the auth service signs is what a service accepts, for one record, meaning,
reason and signer only; access tokens and signatures are never taken for each other."""

from __future__ import annotations

import base64
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK
from lathe_common.auth import AUDIENCE, ISSUER, TokenVerifier
from lathe_common.errors import Forbidden, InvalidInput, Unauthorized
from lathe_common.signatures import (
    SignatureMeaning,
    SignatureVerifier,
    VerifiedSignature,
    check_binding,
    record_of,
    signature_claims,
)

KID = "sig-key"
PRIVATE = Ed25519PrivateKey.generate()
RAW = PRIVATE.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
JWK = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(RAW).rstrip(b"=").decode(), "kid": KID}
SIGNER = str(uuid.uuid4())
RECORD = record_of("nonconformance", uuid.UUID(int=7), "disposition", "SCRAP")


class StaticKeys:
    async def key_for(self, kid: str) -> PyJWK | None:
        return PyJWK.from_dict(JWK) if kid == KID else None


verifier = SignatureVerifier(StaticKeys())


def claims(**overrides) -> dict:
    base = signature_claims(
        signer_id=SIGNER,
        username="qa-lee",
        full_name="Lee Quality",
        record=RECORD,
        meaning=SignatureMeaning.APPROVED,
        reason="solder bridge, unit beyond repair",
        token_id=uuid.uuid4().hex,
        now=int(time.time()),
        ttl_seconds=120,
    )
    return base | overrides


def sign(payload: dict) -> str:
    return jwt.encode(payload, PRIVATE, algorithm="EdDSA", headers={"kid": KID})


async def test_a_signature_token_verifies_for_its_record_signer_meaning_and_reason():
    token = sign(claims())
    signature = await verifier.verify_for(
        token,
        record=RECORD,
        signer_id=SIGNER,
        meaning=SignatureMeaning.APPROVED,
        reason="solder bridge, unit beyond repair",
    )
    assert signature.username == "qa-lee" and signature.full_name == "Lee Quality"
    assert signature.record == RECORD and signature.meaning is SignatureMeaning.APPROVED
    assert len(signature.content_sha256()) == 64


async def test_another_record_or_action_is_refused():
    signature = await verifier.verify(sign(claims()))
    other = record_of("nonconformance", uuid.UUID(int=8), "disposition", "SCRAP")
    for record in (other, record_of("nonconformance", uuid.UUID(int=7), "disposition", "USE_AS_IS")):
        with pytest.raises(InvalidInput) as refused:
            check_binding(
                signature, record=record, signer_id=SIGNER, meaning=signature.meaning, reason=signature.reason
            )
        assert refused.value.code == "signature_mismatch"
        assert refused.value.extra["expected_record"] == record


async def test_another_meaning_reason_or_signer_is_refused():
    signature = await verifier.verify(sign(claims()))
    with pytest.raises(InvalidInput, match="meaning or reason"):
        check_binding(
            signature, record=RECORD, signer_id=SIGNER, meaning=SignatureMeaning.REVIEWED, reason=signature.reason
        )
    with pytest.raises(InvalidInput, match="meaning or reason"):
        check_binding(signature, record=RECORD, signer_id=SIGNER, meaning=signature.meaning, reason="other")
    with pytest.raises(Forbidden) as refused:
        check_binding(
            signature, record=RECORD, signer_id=str(uuid.uuid4()), meaning=signature.meaning, reason=signature.reason
        )
    assert refused.value.code == "signature_not_yours"


async def test_an_access_token_is_not_a_signature_and_a_signature_not_an_access_token():
    now = int(time.time())
    access = {"iss": ISSUER, "aud": AUDIENCE, "sub": SIGNER, "jti": "a", "iat": now, "exp": now + 60}
    with pytest.raises(InvalidInput) as refused:
        await verifier.verify(sign(access))
    assert refused.value.code == "invalid_signature"
    with pytest.raises(Unauthorized):
        await TokenVerifier(StaticKeys()).verify(sign(claims()))


async def test_expired_forged_and_malformed_signatures_are_refused():
    expired = claims(exp=int(time.time()) - 60)
    with pytest.raises(InvalidInput) as refused:
        await verifier.verify(sign(expired))
    assert refused.value.code == "signature_expired"
    other_key = jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": KID})
    for token in (other_key, "not-a-token", sign(claims(typ="access")), sign(claims(record="../etc"))):
        with pytest.raises(InvalidInput) as refused:
            await verifier.verify(token)
        assert refused.value.code == "invalid_signature"


def test_the_content_hash_binds_record_meaning_reason_signer_and_time():
    base = VerifiedSignature.of(claims(jti="one", auth_time=1_700_000_000))
    assert base.content_sha256() == VerifiedSignature.of(claims(jti="one", auth_time=1_700_000_000)).content_sha256()
    for change in ({"reason": "x"}, {"meaning": "reviewed"}, {"sub": "someone"}, {"auth_time": 1_700_000_001}):
        other = VerifiedSignature.of(claims(jti="one", auth_time=1_700_000_000) | change)
        assert other.content_sha256() != base.content_sha256()


def test_records_are_checked_when_built():
    assert record_of("hold", "abc", "release") == "hold/abc/release"
    with pytest.raises(ValueError):
        record_of("hold", "a b", "release")
