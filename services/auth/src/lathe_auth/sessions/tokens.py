"""Minting access tokens and refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid

import jwt
from lathe_common.auth import AUDIENCE, ISSUER
from lathe_common.signatures import SignatureMeaning, signature_claims

from lathe_auth.keys import KeyStore
from lathe_auth.roles import scopes_for
from lathe_auth.users.models import User


def mint_access_token(keys: KeyStore, user: User, *, session_id: uuid.UUID, ttl_seconds: int) -> str:
    key = keys.active()
    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(user.id),
        "preferred_username": user.username,
        "role": user.role,
        "scope": " ".join(sorted(scopes_for(user.role))),
        "sid": str(session_id),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid})


def mint_signature_token(
    keys: KeyStore, user: User, *, record: str, meaning: SignatureMeaning, reason: str, token_id: str, ttl_seconds: int
) -> tuple[str, int]:
    """A single-use signature of ``record`` by ``user`` (whose password was just checked); returns it
    and its expiry (epoch seconds). See lathe_common.signatures."""
    key = keys.active()
    claims = signature_claims(
        signer_id=str(user.id),
        username=user.username,
        full_name=user.full_name,
        record=record,
        meaning=meaning,
        reason=reason,
        token_id=token_id,
        now=int(time.time()),
        ttl_seconds=ttl_seconds,
    )
    return jwt.encode(claims, key.private_key, algorithm="EdDSA", headers={"kid": key.kid}), claims["exp"]


def new_refresh_token() -> tuple[str, bytes]:
    """The opaque token for the client and the hash we keep."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
