"""Access tokens: verification against the auth service's public keys, and per-route permissions.

Every route declares what it needs: ``requires("lots:write")`` or ``PUBLIC``. The gateway verifies
tokens too, but services never trust it blindly: they check the signature and claims themselves.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Annotated, Any, Protocol

import httpx
import jwt
from fastapi import Depends, Request
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jwt import PyJWK, PyJWKSet

from lathe_common import context
from lathe_common.errors import Forbidden, Unauthorized

logger = logging.getLogger(__name__)

ALGORITHMS = ["EdDSA"]  # an allow-list: "none", HS* and anything else are refused before any key is used
ISSUER = "lathe-auth"
AUDIENCE = "lathe"
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
# Written by the auth service on logout (value "1", expiring with the token), read by the gateway.
REVOKED_JTI_KEY = "lathe:revoked-jti:{jti}"


@dataclass(frozen=True)
class Principal:
    user_id: str
    username: str
    role: str
    scopes: frozenset[str]
    token_id: str
    session_id: str | None
    expires_at: int


class KeySource(Protocol):
    async def key_for(self, kid: str) -> PyJWK | None: ...


class JwksKeySource:
    """Public keys from a JWKS URL, cached; refetched when a token names an unknown ``kid``
    (at most once per ``min_refetch_seconds``, so forged kids cannot hammer the auth service)."""

    def __init__(self, url: str, *, min_refetch_seconds: float = 1.0, timeout: float = 3.0) -> None:
        self.url = url
        self.min_refetch_seconds = min_refetch_seconds
        self.timeout = timeout
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._refresh_lock = asyncio.Lock()

    async def key_for(self, kid: str) -> PyJWK | None:
        if kid in self._keys:
            return self._keys[kid]
        # One fetch at a time; requests that waited for it use what it brought.
        async with self._refresh_lock:
            if kid not in self._keys and time.monotonic() - self._fetched_at >= self.min_refetch_seconds:
                await self.refresh()
        return self._keys.get(kid)

    async def refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(self.url)
                response.raise_for_status()
            keys = PyJWKSet.from_dict(response.json()).keys
        except (httpx.HTTPError, jwt.PyJWTError, ValueError) as exc:
            logger.warning("could not fetch JWKS from %s: %r", self.url, exc)
            return
        self._keys = {k.key_id: k for k in keys if k.key_id}


def _invalid(detail: str, code: str = "invalid_token") -> Unauthorized:
    return Unauthorized(
        detail, code=code, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'}
    )


class TokenVerifier:
    def __init__(self, keys: KeySource, *, issuer: str = ISSUER, audience: str = AUDIENCE, leeway: int = 5) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    async def verify(self, token: str) -> Principal:
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
        return Principal(
            user_id=str(claims["sub"]),
            username=str(claims.get("preferred_username", claims["sub"])),
            role=str(claims.get("role", "")),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            token_id=str(claims["jti"]),
            session_id=claims.get("sid"),
            expires_at=int(claims["exp"]),
        )


_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


async def authenticate(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized(
            "A bearer access token is required.", code="missing_token", headers={"WWW-Authenticate": "Bearer"}
        )
    principal = await request.app.state.token_verifier.verify(credentials.credentials)
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
