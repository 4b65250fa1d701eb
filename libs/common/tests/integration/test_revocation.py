"""Services refuse tokens a logout revoked (the same Redis key the gateway reads), and fail open without Redis."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from jwt import PyJWK
from jwt.algorithms import OKPAlgorithm
from lathe_common.auth import (
    AUDIENCE,
    ISSUER,
    REVOCATION_CHECK_FAILURES,
    REVOKED_JTI_KEY,
    CurrentPrincipal,
    RevocationList,
    TokenVerifier,
    connect_redis,
)
from lathe_common.errors import install_error_handlers

pytestmark = pytest.mark.integration

KID = "revocation-test"
PRIVATE = Ed25519PrivateKey.generate()
JWK = PyJWK({**OKPAlgorithm.to_jwk(PRIVATE.public_key(), as_dict=True), "kid": KID, "alg": "EdDSA"})


class StaticKeys:
    async def key_for(self, kid: str) -> PyJWK | None:
        return JWK if kid == KID else None


def token(jti: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(uuid.uuid4()), "jti": jti, "iat": now, "exp": now + 60}
    return jwt.encode(claims, PRIVATE, algorithm="EdDSA", headers={"kid": KID})


def service_app(revocations: RevocationList) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(StaticKeys())
    app.state.revocations = revocations

    @app.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, str]:
        return {"jti": principal.token_id}

    return app


async def call(app: FastAPI, jti: str) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://service") as client:
        return await client.get("/whoami", headers={"Authorization": f"Bearer {token(jti)}"})


@pytest.fixture
async def revocations() -> AsyncIterator[RevocationList]:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: run the tests with `make test` (it starts the stack and exports it)")
    revocations = RevocationList(connect_redis(url, timeout_seconds=1), service="test")
    yield revocations
    await revocations.close()


async def test_a_revoked_token_is_refused_and_others_pass(revocations):
    revoked, live = uuid.uuid4().hex, uuid.uuid4().hex
    await revocations.client.set(REVOKED_JTI_KEY.format(jti=revoked), "1", ex=60)
    app = service_app(revocations)

    refused = await call(app, revoked)
    assert refused.status_code == 401 and refused.json()["code"] == "token_revoked"
    assert refused.headers["content-type"] == "application/problem+json"
    assert (await call(app, live)).status_code == 200


async def test_without_redis_tokens_pass_unchecked_and_the_failure_is_counted(caplog):
    # A port nothing listens on: connection refused at once.
    unreachable = RevocationList(connect_redis("redis://127.0.0.1:1/0", timeout_seconds=0.25), service="test-down")
    app = service_app(unreachable)
    before = REVOCATION_CHECK_FAILURES.labels("test-down")._value.get()
    try:
        assert (await call(app, uuid.uuid4().hex)).status_code == 200
        # Within the pause Redis is not asked again: no second failure, no added latency.
        assert (await call(app, uuid.uuid4().hex)).status_code == 200
    finally:
        await unreachable.close()
    assert REVOCATION_CHECK_FAILURES.labels("test-down")._value.get() == before + 1
    assert "accepting tokens without the revocation check" in caplog.text
