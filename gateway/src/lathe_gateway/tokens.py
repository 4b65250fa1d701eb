"""Access tokens at the gateway: the shared verifier, then the revocation list the auth service keeps.

Signature, algorithm, issuer, audience and expiry are checked by ``lathe_common.auth`` exactly as
every service checks them (services verify again: the gateway adds no identity they would trust).
What only the gateway adds is refusing tokens revoked by a logout before they expire.
"""

from __future__ import annotations

from fastapi.security import HTTPBearer
from lathe_common.auth import REVOKED_JTI_KEY, Principal, authenticate
from lathe_common.errors import Unauthorized
from starlette.requests import Request

from lathe_gateway.fail_open_redis import FailOpenRedis

_bearer = HTTPBearer(auto_error=False)


class AccessTokens:
    def __init__(self, redis: FailOpenRedis) -> None:
        self.redis = redis

    async def principal(self, request: Request) -> Principal:
        """The caller, or Unauthorized (missing_token, invalid_token, token_expired, token_revoked).

        Verification uses ``request.app.state.token_verifier``, as ``lathe_common.auth`` does everywhere.
        """
        principal = await authenticate(request, await _bearer(request))
        key = REVOKED_JTI_KEY.format(jti=principal.token_id)
        # None (Redis unavailable) counts as not revoked: see fail_open_redis for why.
        if await self.redis.run("revocation_check", lambda client: client.exists(key)):
            detail = "The token has been revoked."
            raise Unauthorized(
                detail,
                code="token_revoked",
                headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{detail}"'},
            )
        return principal
