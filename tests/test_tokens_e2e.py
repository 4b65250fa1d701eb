"""Forged, expired, foreign and revoked tokens are refused at the gateway; key rotation logs nobody
out; a retired key's tokens are refused everywhere within the JWKS cache time."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lathe_common.testing import eventually

from .conftest import SERVICE_PORTS, bearer, env

pytestmark = pytest.mark.e2e


def b64_raw(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64(data: dict) -> str:
    return b64_raw(json.dumps(data).encode())


def active_key() -> tuple[str, object]:
    """The auth service's current private key, read from its key directory (this machine's stack)."""
    keys_dir = Path(env("LATHE_AUTH_KEYS_DIR"))
    kid = (keys_dir / "active").read_text().strip()
    return kid, serialization.load_pem_private_key((keys_dir / f"{kid}.pem").read_bytes(), password=None)


def real_claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.fixture
async def operator_token(accounts) -> str:
    return await accounts.token_for("operator")


def forgeries(token: str) -> dict[str, str]:
    header, payload, signature = token.split(".")
    claims = real_claims(token)
    kid, private = active_key()
    jwks = httpx.get(f"{env('GATEWAY_URL')}/.well-known/jwks.json").json()
    public_x = next(k["x"] for k in jwks["keys"] if k["kid"] == kid)
    import hashlib
    import hmac

    hs_header = b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    hs_payload = b64(claims | {"scope": "users:admin"})
    mac = hmac.new(public_x.encode(), f"{hs_header}.{hs_payload}".encode(), hashlib.sha256).digest()
    return {
        "tampered signature": f"{header}.{payload}.{signature[:-4]}AAAA",
        "tampered claims": f"{header}.{b64(claims | {'scope': 'users:admin'})}.{signature}",
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': kid})}.{b64(claims)}.",
        "HS256 keyed with the public key": f"{hs_header}.{hs_payload}.{b64_raw(mac)}",
        "unknown kid": jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "not-a-key-of-ours"}),
        "expired": jwt.encode(
            claims | {"exp": int(time.time()) - 30}, private, algorithm="EdDSA", headers={"kid": kid}
        ),
        "wrong audience": jwt.encode(
            claims | {"aud": "another-system"}, private, algorithm="EdDSA", headers={"kid": kid}
        ),
    }


async def test_forged_tokens_get_401_problems_at_the_gateway(operator_token, gateway):
    assert (await gateway.get("/api/v1/auth/me", headers=bearer(operator_token))).status_code == 200
    wrong = {}
    for name, forged in forgeries(operator_token).items():
        response = await gateway.get("/api/v1/auth/me", headers=bearer(forged))
        if response.status_code != 401 or response.headers["content-type"] != "application/problem+json":
            wrong[name] = (response.status_code, response.text[:200])
    assert not wrong


async def test_forged_tokens_are_refused_by_the_services_themselves_too(operator_token):
    # Nothing trusts the gateway blindly: a request that bypasses it meets the same checks.
    async with httpx.AsyncClient(base_url=env("LATHE_ANALYTICS_URL"), timeout=10) as analytics:
        for name, forged in forgeries(operator_token).items():
            response = await analytics.get("/api/v1/audit-logs", headers=bearer(forged))
            assert response.status_code == 401, name


async def test_key_rotation_keeps_old_tokens_and_accepts_new_ones(accounts, gateway):
    user = await accounts.create_user("quality")  # audit:read, so analytics (JWKS over HTTP) is exercised too
    before = (await accounts.login(user["username"], user["password"]))["access_token"]

    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "lathe_auth", "rotate-key", env=os.environ.copy())
    assert await proc.wait() == 0

    after = (await accounts.login(user["username"], user["password"]))["access_token"]
    assert jwt.get_unverified_header(after)["kid"] != jwt.get_unverified_header(before)["kid"]

    async def accepted(token: str, path: str) -> bool:
        return (await gateway.get(path, headers=bearer(token))).status_code == 200

    for token in (before, after):
        for path in ("/api/v1/auth/me", "/api/v1/audit-logs?limit=1"):
            # A verifier refetches the JWKS when it meets the new kid (at most once a second).
            assert await eventually(lambda t=token, p=path: accepted(t, p), timeout=10)


async def test_a_missing_or_malformed_authorization_header_is_401(gateway):
    for headers in ({}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer"}):
        response = await gateway.get("/api/v1/auth/me", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["code"] in {"missing_token", "invalid_token"}


async def test_a_retired_key_is_refused_everywhere_within_the_jwks_cache_time(accounts, gateway):
    """The key retired here is a throwaway one this test adds to the auth service's key directory
    (published, never active). Retiring a key that really signed logins, the active one or the one
    behind tokens other tests keep (``Accounts._admin_token``), would log the rest of the suite out."""
    user = await accounts.create_user("operator")
    real = (await accounts.login(user["username"], user["password"]))["access_token"]
    keys_dir = Path(env("LATHE_AUTH_KEYS_DIR"))
    kid = f"throwaway-{uuid.uuid4().hex[:8]}"
    pem = keys_dir / f"{kid}.pem"
    private = Ed25519PrivateKey.generate()
    staged = keys_dir / f"{kid}.tmp"
    staged.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    staged.chmod(0o600)
    staged.rename(pem)
    token = jwt.encode(real_claims(real) | {"jti": uuid.uuid4().hex}, private, algorithm="EdDSA", headers={"kid": kid})
    checks = {
        "gateway": (gateway, "/api/v1/auth/me"),
        "auth": (f"http://127.0.0.1:{SERVICE_PORTS['auth']}", "/api/v1/auth/me"),
        "production": (f"http://127.0.0.1:{SERVICE_PORTS['production']}", "/api/v1/lots?limit=1"),
    }

    async def answers(where: str, expected: int) -> bool:
        client_or_url, path = checks[where]
        if isinstance(client_or_url, httpx.AsyncClient):
            return (await client_or_url.get(path, headers=bearer(token))).status_code == expected
        async with httpx.AsyncClient(base_url=client_or_url, timeout=10) as client:
            return (await client.get(path, headers=bearer(token))).status_code == expected

    cache_seconds = max(
        float(env("LATHE_GATEWAY_JWKS_CACHE_SECONDS")), float(env("LATHE_PRODUCTION_AUTH_JWKS_CACHE_SECONDS"))
    )
    try:
        for where in checks:  # a new kid is fetched at once (at most one fetch a second)
            assert await eventually(lambda w=where: answers(w, 200), timeout=10), where

        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "lathe_auth", "retire-key", kid, env=os.environ.copy()
        )
        assert await proc.wait() == 0
        assert not pem.exists()

        for where in checks:
            assert await eventually(lambda w=where: answers(w, 401), timeout=cache_seconds + 3), where
    finally:
        pem.unlink(missing_ok=True)  # leave the key directory as it was, whatever happened
