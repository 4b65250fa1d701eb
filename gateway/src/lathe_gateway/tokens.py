"""Access tokens at the gateway: the shared verifier (behind the shared cache of verified tokens,
``lathe_common.auth.CachedVerification``), then the revocation list.

Signature, algorithm, issuer, audience and expiry are checked by ``lathe_common.auth`` exactly as
every service checks them (services verify again: the gateway adds no identity they would trust).
Revocation is not cached: it is asked of Redis on every request (see ``AccessPolicy`` and
``ratelimit``), in the same round trip as the rate limit.
"""

from __future__ import annotations

from lathe_common import context
from lathe_common.auth import REVOKED_JTI_KEY, CachedVerification, Principal, TokenCache, TokenVerifier
from lathe_common.errors import Unauthorized

from lathe_gateway.fail_open_redis import FailOpenRedis


def missing_token() -> Unauthorized:
    return Unauthorized(
        "A bearer access token is required.", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
    )


def bearer_token(authorization: str | None) -> str | None:
    """The credentials of ``Authorization: Bearer <token>``, parsed as FastAPI's HTTPBearer does."""
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    if not scheme or not credentials or scheme.lower() != "bearer":
        return None
    return credentials


class AccessTokens:
    def __init__(self, verifier: TokenVerifier, redis: FailOpenRedis, cache: TokenCache | None = None) -> None:
        self.verification = CachedVerification(verifier, cache)
        self.redis = redis

    async def principal(self, authorization: str | None) -> Principal:
        """The caller named by an ``Authorization`` header value, revocation aside; or Unauthorized
        (missing_token, invalid_token, token_expired)."""
        token = bearer_token(authorization)
        if token is None:
            raise missing_token()
        principal = await self.verification.verify(token)
        context.actor.set(principal.username)
        return principal

    async def revoked(self, principal: Principal) -> bool:
        """Whether a logout revoked the token. Redis unavailable counts as not revoked (fail_open_redis).

        Used when rate limits are off; otherwise one script asks this and counts the request."""
        key = REVOKED_JTI_KEY.format(jti=principal.token_id)
        return bool(await self.redis.run("revocation_check", lambda client: client.exists(key)))
