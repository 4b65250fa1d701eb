"""The token verifier refuses every forgery we know of before trusting a claim."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt import PyJWK
from lathe_common.auth import AUDIENCE, ISSUER, TokenVerifier
from lathe_common.errors import Unauthorized

KID = "test-key"
PRIVATE = Ed25519PrivateKey.generate()
PUBLIC_RAW = PRIVATE.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
PUBLIC_PEM = PRIVATE.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
)
JWK = {"kty": "OKP", "crv": "Ed25519", "x": base64.urlsafe_b64encode(PUBLIC_RAW).rstrip(b"=").decode(), "kid": KID}


class StaticKeys:
    async def key_for(self, kid: str) -> PyJWK | None:
        return PyJWK.from_dict(JWK) if kid == KID else None


verifier = TokenVerifier(StaticKeys())


def claims(**overrides) -> dict:
    now = int(time.time())
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "preferred_username": "petrov",
        "role": "operator",
        "scope": "lots:read process-data:write",
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 300,
    }
    return base | overrides


def sign(payload: dict, *, kid: str = KID) -> str:
    return jwt.encode(payload, PRIVATE, algorithm="EdDSA", headers={"kid": kid})


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_a_genuine_token_yields_the_principal():
    principal = await verifier.verify(sign(claims()))
    assert principal.username == "petrov"
    assert principal.scopes == {"lots:read", "process-data:write"}


def _tampered() -> str:
    header, payload, signature = sign(claims()).split(".")
    return ".".join([header, b64(claims(role="admin", scope="users:admin")), signature])


def _alg_none() -> str:
    return ".".join([b64({"alg": "none", "typ": "JWT", "kid": KID}), b64(claims(scope="users:admin")), ""])


def _hs256_with_public_key() -> str:
    # The classic confusion attack: an HMAC "signed" with the public key a verifier might use as secret.
    header = b64({"alg": "HS256", "typ": "JWT", "kid": KID})
    payload = b64(claims(scope="users:admin"))
    import hashlib
    import hmac

    mac = hmac.new(PUBLIC_PEM, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


FORGERIES = {
    "tampered payload": (_tampered, "invalid_token"),
    "alg none": (_alg_none, "invalid_token"),
    "HS256 keyed with the public key": (_hs256_with_public_key, "invalid_token"),
    "unknown kid": (lambda: sign(claims(), kid="someone-elses-key"), "invalid_token"),
    "expired": (lambda: sign(claims(exp=int(time.time()) - 60)), "token_expired"),
    "wrong audience": (lambda: sign(claims(aud="another-system")), "invalid_token"),
    "wrong issuer": (lambda: sign(claims(iss="evil")), "invalid_token"),
    "no jti": (lambda: sign({k: v for k, v in claims().items() if k != "jti"}), "invalid_token"),
    "not a JWT": (lambda: "definitely-not-a-token", "invalid_token"),
    "signed by another key": (
        lambda: jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": KID}),
        "invalid_token",
    ),
}


@pytest.mark.parametrize("name", FORGERIES)
async def test_forged_tokens_are_refused(name):
    make, code = FORGERIES[name]
    with pytest.raises(Unauthorized) as refused:
        await verifier.verify(make())
    assert refused.value.code == code
    assert refused.value.status == 401


async def test_a_cold_jwks_cache_serves_every_concurrent_request(monkeypatch):
    """Right after a restart or a rotation many requests meet an unknown kid at once: none may be
    refused while the one fetch they all wait for is under way."""
    import asyncio

    from lathe_common.auth import JwksKeySource

    source = JwksKeySource("http://jwks.invalid/.well-known/jwks.json")
    fetches = 0

    async def slow_refresh() -> None:
        nonlocal fetches
        fetches += 1
        source._fetched_at = __import__("time").monotonic()
        await asyncio.sleep(0.05)  # the HTTP round trip
        source._keys = {KID: PyJWK.from_dict(JWK)}

    monkeypatch.setattr(source, "refresh", slow_refresh)
    cold = TokenVerifier(source)
    token = sign(claims())
    results = await asyncio.gather(*(cold.verify(token) for _ in range(20)), return_exceptions=True)
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert fetches == 1
