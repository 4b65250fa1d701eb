"""Token checks at the gateway, through the real app and real Redis, with a local Ed25519 key."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from prometheus_client import REGISTRY

pytestmark = pytest.mark.integration

PROTECTED = "/api/v1/lots"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256(claims: dict, secret: bytes, kid: str) -> str:
    """Built by hand: PyJWT itself refuses to HMAC with a PEM public key, an attacker's code would not."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _claims(signing_key) -> dict:
    return json.loads(base64.urlsafe_b64decode(signing_key.mint().split(".")[1] + "=="))


async def test_valid_token_is_proxied_unchanged_with_no_identity_headers(start_gateway, signing_key, upstreams):
    gateway = await start_gateway()
    token = signing_key.mint()

    response = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
    forwarded = upstreams.received[0]
    assert forwarded.service == "production"
    assert forwarded.headers["authorization"] == f"Bearer {token}"
    # Only what the client sent plus request id and forwarded-for: nothing a service could mistake for identity.
    added_by_the_connection = {"host", "content-length", "connection"}
    assert set(forwarded.headers) - added_by_the_connection == {
        "accept",
        "accept-encoding",
        "user-agent",
        "authorization",
        "x-request-id",
        "x-forwarded-for",
    }
    assert response.headers["RateLimit-Limit"] == "600"


async def test_missing_token_is_refused(start_gateway, upstreams, code_of):
    gateway = await start_gateway()

    response = await gateway.get(PROTECTED)

    assert response.status_code == 401
    assert code_of(response) == "missing_token"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert upstreams.received == []


async def test_other_schemes_count_as_missing(start_gateway, upstreams, code_of):
    gateway = await start_gateway()

    response = await gateway.get(PROTECTED, headers={"Authorization": "Basic YWRtaW46YWRtaW4="})

    assert response.status_code == 401
    assert code_of(response) == "missing_token"
    assert upstreams.received == []


def _tampered_payload(signing_key) -> str:
    header, _, signature = signing_key.mint(scope="lots:read").split(".")
    forged = _b64(json.dumps({**_claims(signing_key), "scope": "users:admin"}).encode())
    return f"{header}.{forged}.{signature}"


def _tampered_signature(signing_key) -> str:
    header, payload, signature = signing_key.mint().split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


def _alg_none(signing_key) -> str:
    header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": signing_key.kid}).encode())
    return f"{header}.{_b64(json.dumps(_claims(signing_key)).encode())}."


def _hs256_with_public_pem(signing_key) -> str:
    pem = signing_key.private_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return _hs256(_claims(signing_key), pem, signing_key.kid)


def _hs256_with_public_raw(signing_key) -> str:
    raw = signing_key.private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _hs256(_claims(signing_key), raw, signing_key.kid)


@pytest.mark.parametrize(
    ("forge", "code"),
    [
        pytest.param(_tampered_payload, "invalid_token", id="tampered-payload"),
        pytest.param(_tampered_signature, "invalid_token", id="tampered-signature"),
        pytest.param(_alg_none, "invalid_token", id="alg-none"),
        pytest.param(_hs256_with_public_pem, "invalid_token", id="hs256-public-pem"),
        pytest.param(_hs256_with_public_raw, "invalid_token", id="hs256-public-raw"),
        pytest.param(lambda key: key.mint(headers={"kid": "unknown-kid"}), "invalid_token", id="unknown-kid"),
        pytest.param(lambda key: key.mint(exp=int(time.time()) - 60), "token_expired", id="expired"),
        pytest.param(lambda key: key.mint(aud="someone-else"), "invalid_token", id="wrong-audience"),
        pytest.param(lambda key: key.mint(iss="not-lathe-auth"), "invalid_token", id="wrong-issuer"),
        pytest.param(lambda key: "not.a.jwt", "invalid_token", id="garbage"),
    ],
)
async def test_bad_tokens_are_refused(start_gateway, signing_key, upstreams, code_of, forge, code):
    gateway = await start_gateway()

    response = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {forge(signing_key)}"})

    assert response.status_code == 401
    assert code_of(response) == code
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert upstreams.received == []


async def test_revoked_token_is_refused(start_gateway, signing_key, upstreams, redis_client, code_of):
    gateway = await start_gateway()
    jti = uuid.uuid4().hex
    token = signing_key.mint(jti=jti)
    assert (await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})).status_code == 200

    # What the auth service writes on logout.
    await redis_client.set(f"lathe:revoked-jti:{jti}", "1", ex=60)
    try:
        response = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    finally:
        await redis_client.delete(f"lathe:revoked-jti:{jti}")

    assert response.status_code == 401
    assert code_of(response) == "token_revoked"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert len(upstreams.received) == 1  # only the request before the logout


async def test_revocation_check_fails_open_when_redis_is_down(start_gateway, signing_key, upstreams):
    gateway = await start_gateway(redis_url="redis://127.0.0.1:1/0")
    labels = {"operation": "revocation_check"}
    errors_before = REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", labels) or 0.0

    started = time.perf_counter()
    response = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {signing_key.mint()}"})
    elapsed = time.perf_counter() - started

    assert response.status_code == 200
    assert len(upstreams.received) == 1
    assert "RateLimit-Limit" not in response.headers  # the limiter could not count either
    assert REGISTRY.get_sample_value("lathe_gateway_redis_errors_total", labels) == errors_before + 1
    assert elapsed < 1.0


async def test_bad_tokens_still_refused_when_redis_is_down(start_gateway, signing_key, upstreams, code_of):
    gateway = await start_gateway(redis_url="redis://127.0.0.1:1/0")

    response = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {_alg_none(signing_key)}"})

    assert response.status_code == 401
    assert code_of(response) == "invalid_token"
    assert upstreams.received == []


async def test_revocation_is_checked_even_with_rate_limits_off(
    start_gateway, signing_key, upstreams, redis_client, code_of
):
    gateway = await start_gateway(rate_limits_enabled=False)
    jti = uuid.uuid4().hex
    token = signing_key.mint(jti=jti)
    assert (await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})).status_code == 200

    await redis_client.set(f"lathe:revoked-jti:{jti}", "1", ex=60)
    try:
        response = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {token}"})
    finally:
        await redis_client.delete(f"lathe:revoked-jti:{jti}")

    assert response.status_code == 401 and code_of(response) == "token_revoked"
    assert len(upstreams.received) == 1


async def test_a_revoked_token_counts_as_anonymous_not_against_its_user(
    start_gateway, signing_key, redis_client, code_of
):
    gateway = await start_gateway(rate_limit_per_minute=5, anonymous_rate_limit_per_minute=1)
    sub = uuid.uuid4().hex
    revoked_jti = uuid.uuid4().hex
    await redis_client.set(f"lathe:revoked-jti:{revoked_jti}", "1", ex=60)
    try:
        revoked = await gateway.get(
            PROTECTED, headers={"Authorization": f"Bearer {signing_key.mint(sub=sub, jti=revoked_jti)}"}
        )
        again = await gateway.get(
            PROTECTED, headers={"Authorization": f"Bearer {signing_key.mint(sub=sub, jti=revoked_jti)}"}
        )
    finally:
        await redis_client.delete(f"lathe:revoked-jti:{revoked_jti}")
    valid = await gateway.get(PROTECTED, headers={"Authorization": f"Bearer {signing_key.mint(sub=sub)}"})

    assert revoked.status_code == 401 and code_of(revoked) == "token_revoked"
    assert revoked.headers["RateLimit-Limit"] == "1"  # the anonymous bucket
    assert again.status_code == 429  # that bucket is spent
    assert valid.status_code == 200 and valid.headers["RateLimit-Remaining"] == "4"  # the user's bucket: untouched
