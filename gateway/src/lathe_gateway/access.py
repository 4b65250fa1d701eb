"""Who may pass the gateway, and how often: token check and rate limits for every request.

Applied in pure ASGI middleware rather than a route dependency, so nothing reaches a route
(present or added later, proxied or served here) without passing it: ``edge.ProxyMiddleware``
applies it to proxied requests, ``AccessControlMiddleware`` to everything else. Refusals are
problem+json responses built here: exception handlers only see errors raised inside the router.

For a signed-in user, one Redis round trip both checks the revocation list and counts the request
(``RateLimiter.hit_unless_revoked``); a revoked token is then refused like any invalid one.

Buckets (one fixed window each, see ratelimit):
- ``user:{sub}`` for requests with a valid token: ``rate_limit_per_minute``;
- ``anonymous:{address}`` for public routes and for requests whose token is missing or invalid:
  ``anonymous_rate_limit_per_minute`` (so a flood of bad tokens gets 429 too);
- ``credentials:{path}:{address}`` for login and refresh: ``login_rate_limit_per_minute``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from lathe_common.auth import REVOKED_JTI_KEY, token_revoked
from lathe_common.client_address import Network, address_of
from lathe_common.errors import TooManyRequests, Unauthorized, problem_from
from prometheus_client import Counter
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lathe_gateway.ratelimit import RateLimitDecision, RateLimiter
from lathe_gateway.routes import public_endpoint
from lathe_gateway.tokens import AccessTokens

REJECTED = Counter("lathe_gateway_rejected_requests_total", "Requests the gateway refused itself", ["code"])


@dataclass(frozen=True)
class RateLimits:
    per_user: int
    anonymous: int
    credentials: int


@dataclass(frozen=True)
class Verdict:
    rejection: Response | None = None
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)  # ASGI pairs, added to the response either way


def authorization_of(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            return value.decode("latin-1")
    return None


class AccessPolicy:
    def __init__(
        self,
        tokens: AccessTokens,
        limiter: RateLimiter | None,
        limits: RateLimits,
        trusted_proxies: Sequence[Network] = (),
    ) -> None:
        self.tokens = tokens
        self.limiter = limiter  # None: rate limits disabled
        self.limits = limits
        self.trusted_proxies = trusted_proxies

    def client_address(self, scope: Scope) -> str:
        return address_of(scope, self.trusted_proxies)

    async def check(self, scope: Scope, address: str) -> Verdict:
        """The verdict on an HTTP request (its ASGI scope) from ``address`` (see ``client_address``)."""
        endpoint = public_endpoint(scope["method"], scope["path"])
        if endpoint is not None:
            if endpoint.exchanges_credentials:
                decision = await self._hit(f"credentials:{endpoint.path}:{address}", self.limits.credentials)
            else:
                decision = await self._hit(f"anonymous:{address}", self.limits.anonymous)
            return self._verdict(decision)
        try:
            principal = await self.tokens.principal(authorization_of(scope))
            # One Redis round trip: the revocation list, and the user's bucket unless revoked.
            if self.limiter is None:
                revoked, decision = await self.tokens.revoked(principal), None
            else:
                revoked, decision = await self.limiter.hit_unless_revoked(
                    f"user:{principal.user_id}",
                    self.limits.per_user,
                    REVOKED_JTI_KEY.format(jti=principal.token_id),
                )
            if revoked:
                raise token_revoked()
        except Unauthorized as error:
            decision = await self._hit(f"anonymous:{address}", self.limits.anonymous)
            if decision is not None and not decision.allowed:
                return self._verdict(decision)
            REJECTED.labels(error.code).inc()
            return Verdict(rejection=problem_from(error, decision.headers() if decision else {}))
        return self._verdict(decision)

    async def _hit(self, key: str, limit: int) -> RateLimitDecision | None:
        return None if self.limiter is None else await self.limiter.hit(key, limit)

    @staticmethod
    def _verdict(decision: RateLimitDecision | None) -> Verdict:
        if decision is None:
            return Verdict()
        if decision.allowed:
            return Verdict(headers=decision.raw_headers())
        REJECTED.labels(TooManyRequests.code).inc()
        refusal = TooManyRequests(f"Too many requests; retry in {decision.reset_seconds} s.")
        return Verdict(rejection=problem_from(refusal, decision.headers()))


class AccessControlMiddleware:
    """Applies ``app.state.access_policy`` (set at startup) to every HTTP request the proxy fast
    path (``edge``) has not taken: the gateway's own endpoints and paths that route nowhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy: AccessPolicy = scope["app"].state.access_policy
        verdict = await policy.check(scope, policy.client_address(scope))
        if verdict.rejection is not None:
            await verdict.rejection(scope, receive, send)
            return
        if not verdict.headers:
            await self.app(scope, receive, send)
            return
        extra = verdict.headers

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)
