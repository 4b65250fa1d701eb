"""Access tokens at the gateway: the shared verifier (behind a cache), then the revocation list.

Signature, algorithm, issuer, audience and expiry are checked by ``lathe_common.auth`` exactly as
every service checks them (services verify again: the gateway adds no identity they would trust).
What only the gateway adds is refusing tokens revoked by a logout before they expire.

A client sends the same token with every request for up to 15 minutes, so verified tokens are
kept in a small LRU keyed by the exact token string, each until its ``exp`` and never past it,
and only while its signing key is still published (a dictionary lookup in the JWKS cache, so a
retired key ends its tokens' cached verdicts within the JWKS cache time): a repeated request
skips the Ed25519 check and the JSON parsing. Any other string (a forged
signature, a changed claim) is a different key and is verified in full. Revocation is not cached:
it is asked of Redis on every request (see ``AccessPolicy`` and ``ratelimit``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from lathe_common import context
from lathe_common.auth import REVOKED_JTI_KEY, Principal, TokenVerifier
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


class TokenCache:
    """Verified tokens, least recently used first out; an entry is dropped at its token's ``exp``."""

    def __init__(self, max_entries: int = 10_000, *, clock: Callable[[], float] = time.time) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, Principal] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str) -> Principal | None:
        principal = self._entries.get(token)
        if principal is None:
            return None
        if self._clock() >= principal.expires_at:
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return principal

    def put(self, token: str, principal: Principal) -> None:
        if self.max_entries <= 0 or self._clock() >= principal.expires_at:
            return
        self._entries[token] = principal
        self._entries.move_to_end(token)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class AccessTokens:
    def __init__(self, verifier: TokenVerifier, redis: FailOpenRedis, cache: TokenCache | None = None) -> None:
        self.verifier = verifier
        self.redis = redis
        self.cache = cache

    async def principal(self, authorization: str | None) -> Principal:
        """The caller named by an ``Authorization`` header value, revocation aside; or Unauthorized
        (missing_token, invalid_token, token_expired)."""
        token = bearer_token(authorization)
        if token is None:
            raise missing_token()
        principal = self.cache.get(token) if self.cache is not None else None
        if principal is not None and not await self.verifier.still_trusted(principal):
            principal = None  # its signing key was retired since: verified afresh, and refused
        if principal is None:
            principal = await self.verifier.verify(token)
            if self.cache is not None:
                self.cache.put(token, principal)
        context.actor.set(principal.username)
        return principal

    async def revoked(self, principal: Principal) -> bool:
        """Whether a logout revoked the token. Redis unavailable counts as not revoked (fail_open_redis).

        Used when rate limits are off; otherwise one script asks this and counts the request."""
        key = REVOKED_JTI_KEY.format(jti=principal.token_id)
        return bool(await self.redis.run("revocation_check", lambda client: client.exists(key)))
