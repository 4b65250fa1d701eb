"""Access tokens: verification against the auth service's public keys, and per-route permissions.

Every route declares what it needs: ``requires("lots:write")`` or ``PUBLIC``. The gateway verifies
tokens too, but services never trust it blindly: they check the signature and claims themselves,
and the revocation list a logout writes (``RevocationList``), so a request that bypasses the
gateway meets every check the gateway makes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import httpx
import jwt
import redis.asyncio as redis
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt import PyJWK, PyJWKSet
from prometheus_client import Counter
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from lathe_common import context
from lathe_common.errors import Forbidden, Unauthorized

logger = logging.getLogger(__name__)

ALGORITHMS = ["EdDSA"]  # an allow-list: "none", HS* and anything else are refused before any key is used
ISSUER = "lathe-auth"
AUDIENCE = "lathe"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
# Written by the auth service on logout (value "1", expiring with the token), read by the gateway
# and by every service (RevocationList).
REVOKED_JTI_KEY = "lathe:revoked-jti:{jti}"

REVOCATION_CHECK_FAILURES = Counter(
    "lathe_revocation_check_failures_total",
    "Revocation checks that could not reach Redis, so the token was accepted unchecked",
    ["service"],
)


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    scopes: frozenset[str]
    token_id: str
    session_id: str | None
    expires_at: int
    key_id: str = ""  # the signing key's kid: a cached verdict holds only while that key is published


class KeySource(Protocol):
    async def key_for(self, kid: str) -> PyJWK | None: ...


class JwksKeySource:
    """Public keys from a JWKS URL, cached for ``cache_seconds``.

    Once the cache is that old, the next request fetches the JWKS again, so a key the auth service
    retired stops verifying within ``cache_seconds``. A token naming a kid the cache lacks also
    triggers a fetch (a rotation's new key is picked up at once). Fetches happen at most once per
    ``min_refetch_seconds``, so forged kids cannot hammer the auth service. A failed fetch keeps
    the last keys (logged) and is retried after ``min_refetch_seconds``: an auth service that is
    down for a while does not log everyone out.
    """

    def __init__(
        self,
        url: str,
        *,
        cache_seconds: float = 300.0,
        min_refetch_seconds: float = 1.0,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout = timeout
        self._clock = clock
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")  # the last attempt
        self._loaded_at = float("-inf")  # the last attempt that brought keys
        self._refresh_lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self._clock() - self._loaded_at < self.cache_seconds

    async def key_for(self, kid: str) -> PyJWK | None:
        key = self._keys.get(kid)
        if key is not None and (self._fresh() or self._refresh_lock.locked()):
            # Fresh; or stale but another request is fetching right now: this one need not wait.
            return key
        # One fetch at a time; requests that waited for it use what it brought.
        async with self._refresh_lock:
            due = kid not in self._keys or not self._fresh()
            if due and self._clock() - self._fetched_at >= self.min_refetch_seconds:
                await self.refresh()
        return self._keys.get(kid)

    async def refresh(self) -> None:
        self._fetched_at = self._clock()
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(self.url)
                response.raise_for_status()
            keys = PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, jwt.PyJWTError, ValueError) as exc:
            kept = len(self._keys)
            logger.warning("could not fetch JWKS from %s (%r); still using the %d keys we had", self.url, exc, kept)
            return
        self._keys = {k.key_id: k for k in keys if k.key_id}
        self._loaded_at = self._fetched_at


def _invalid(detail: str, code: str = "invalid_token") -> Unauthorized:
    return Unauthorized(
        detail, code=code, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'}
    )


def token_revoked() -> Unauthorized:
    return _invalid("The token has been revoked.", code="token_revoked")


def connect_redis(url: str, *, timeout_seconds: float) -> redis.Redis:
    # redis-py retries 10 times with backoff by default; one quick retry only replaces a pooled
    # connection that Redis closed, anything longer would hold every request while Redis is down.
    return redis.from_url(
        url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds, retry=Retry(NoBackoff(), 1)
    )


class RevocationList:
    """Whether a logout revoked a token: ``REVOKED_JTI_KEY`` in Redis, asked on every authenticated request.

    Fails open, as the gateway does (gateway/README.md, "When Redis is down"): if Redis does not
    answer, the token is accepted. A revoked token is still correctly signed and expires within
    its short lifetime, while refusing every request would stop the plant floor. Each failure
    counts in ``lathe_revocation_check_failures_total{service}`` (alert on it) and logs a warning
    at most every ``warning_interval_seconds``; after a failure Redis is left alone for
    ``pause_seconds`` so a Redis that hangs does not add its timeout to every request.
    """

    def __init__(
        self,
        client: redis.Redis,
        *,
        service: str,
        pause_seconds: float = 1.0,
        warning_interval_seconds: float = 30.0,
    ) -> None:
        self.client = client
        self.pause_seconds = pause_seconds
        self.warning_interval_seconds = warning_interval_seconds
        self._failures = REVOCATION_CHECK_FAILURES.labels(service)
        self._paused_until = float("-inf")
        self._last_warning = float("-inf")

    async def is_revoked(self, token_id: str) -> bool:
        if time.monotonic() < self._paused_until:
            return False
        try:
            return bool(await self.client.exists(REVOKED_JTI_KEY.format(jti=token_id)))
        except (redis.RedisError, OSError) as exc:
            self._failures.inc()
            now = time.monotonic()
            self._paused_until = now + self.pause_seconds
            if now - self._last_warning >= self.warning_interval_seconds:
                self._last_warning = now
                logger.warning("Redis unavailable (%r); accepting tokens without the revocation check", exc)
            return False

    async def close(self) -> None:
        await self.client.aclose()


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str = ISSUER, audience: str = AUDIENCE, leeway: int = 5) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
        claims, kid = await self.claims(token)
        return Principal(
            user_id=str(claims["sub"]),
            username=str(claims.get("preferred_username", claims["sub"])),
            role=str(claims.get("role", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=str(claims["jti"]),
            session_id=claims.get("sid"),
            expires_at=int(claims["exp"]),
            key_id=kid,
        )

    async def claims(self, token: str) -> tuple[dict[str, Any], str]:
        """The verified claims of a token and the kid of the key that signed it (or ``Unauthorized``).
        Other kinds of token than access tokens (a signature, ``lathe_common.signatures``) are read
        through it with their own audience."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("The token is malformed.") from None
        if header.get("alg") not in ALGORITHMS:
            raise _invalid("The token's algorithm is not accepted.")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise _invalid("The token names no signing key.")
        key = await self.keys.key_for(kid)
        if key is None:
            raise _invalid("The token was signed with an unknown key.")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise _invalid("The token has expired.", code="token_expired") from None
        except jwt.PyJWTError as exc:
            raise _invalid(f"The token is not valid: {exc}.") from None
        return claims, kid

    async def still_trusted(self, principal: Principal) -> bool:
        """Whether the key that signed a token verified earlier is still published (not retired)."""
        return await self.keys.key_for(principal.key_id) is not None


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


class CachedVerification:
    """A token verifier behind a ``TokenCache``. A client sends the same token with every request for
    up to 15 minutes, so a verified token is kept, keyed by its exact string, until its ``exp`` and
    never past it, and used only while its signing key is still published (a lookup in the JWKS
    cache, so a retired key ends its tokens' cached verdicts within the JWKS cache time): a repeated
    request skips the Ed25519 check and the JSON parsing. Any other string (a forged signature, a
    changed claim) is another key and is verified in full. Revocation is never cached."""

    def __init__(self, verifier: TokenVerifier, cache: TokenCache | None) -> None:
        self.verifier = verifier
        self.cache = cache

    async def verify(self, token: str) -> Principal:
        principal = self.cache.get(token) if self.cache is not None else None
        if principal is not None and not await self.verifier.still_trusted(principal):
            principal = None  # its signing key was retired since: verified afresh, and refused
        if principal is None:
            principal = await self.verifier.verify(token)
            if self.cache is not None:
                self.cache.put(token, principal)
        return principal


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "A bearer access token is required.", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
        )
    principal = await request.app.state.token_verifier.verify(credentials.credentials)
    revocations: RevocationList = request.app.state.revocations
    if await revocations.is_revoked(principal.token_id):
        raise token_revoked()
    context.actor.set(principal.username)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(authenticate)]


class RequireScope:
    def __init__(self, scope: str) -> None:
        self.scope = scope

    async def __call__(self, principal: CurrentPrincipal) -> Principal:
        if self.scope not in principal.scopes:
            raise Forbidden(
                f"This needs the '{self.scope}' permission.", code="insufficient_scope", required=self.scope
            )
        return principal


class Public:
    """Marks a route as deliberately open; a route with neither this nor a scope fails the tests."""

    async def __call__(self) -> None:
        return None


def requires(scope: str) -> Any:
    return Depends(RequireScope(scope))


PUBLIC: Any = Depends(Public())

AUTHENTICATED = "authenticated"  # declared access of routes any signed-in user may call


def declared_access(route: APIRoute) -> str | None:
    """``"public"``, ``"authenticated"``, a scope, or None when the route declares nothing."""
    stack = list(route.dependant.dependencies)
    found: str | None = None
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, RequireScope):
            return dep.call.scope
        if isinstance(dep.call, Public):
            found = found or "public"
        if dep.call is authenticate:
            found = AUTHENTICATED
        stack.extend(dep.dependencies)
    return found
