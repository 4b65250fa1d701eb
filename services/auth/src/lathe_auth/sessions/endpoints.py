from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request, status
from lathe_common.auth import PUBLIC, CurrentPrincipal
from lathe_common.client_address import client_address
from lathe_common.db import SessionDep
from lathe_common.errors import InvalidInput
from lathe_common.problem_docs import EVENT_TOO_LARGE, VALIDATION_ERROR, problems
from pydantic import ValidationError

from lathe_auth.roles import scopes_for
from lathe_auth.sessions.schemas import (
    ACCOUNT_INACTIVE,
    ACCOUNT_LOCKED,
    INVALID_CREDENTIALS,
    INVALID_REFRESH_TOKEN,
    REFRESH_TOKEN_EXPIRED,
    REFRESH_TOKEN_REUSED,
    WRONG_PASSWORD,
    WRONG_SIGNATURE_PASSWORD,
    LoginRequest,
    LogoutRequest,
    PasswordChange,
    RefreshRequest,
    SignatureGranted,
    SignatureRequest,
    TokenPair,
)
from lathe_auth.sessions.service import Sessions
from lathe_auth.settings import settings
from lathe_auth.users.schemas import PASSWORD_POLICY, USER_NOT_FOUND, Me
from lathe_auth.users.service import Users

router = APIRouter(prefix="/auth", tags=["auth"])
jwks_router = APIRouter(tags=["auth"])


def _sessions(session: SessionDep, request: Request) -> Sessions:
    return Sessions(session, request.app.state.keys, settings, request.app.state.session_factory)


SessionsDep = Annotated[Sessions, Depends(_sessions)]


def _client_address(request: Request) -> str:
    # X-Forwarded-For believed only from TRUSTED_PROXIES (the gateway, which puts the address it
    # determined there); the lockout counts per account and this address.
    return client_address(request, settings.trusted_proxies)


ClientAddress = Annotated[str, Depends(_client_address)]

_LOGIN_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": LoginRequest.model_json_schema()},
            # The OAuth2 password form, so Swagger UI's Authorize button can sign in.
            "application/x-www-form-urlencoded": {"schema": LoginRequest.model_json_schema()},
        },
    }
}


async def _credentials(request: Request) -> LoginRequest:
    try:
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            return LoginRequest(username=form.get("username", [""])[0], password=form.get("password", [""])[0])
        return LoginRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        raise InvalidInput(
            "Send a username and a password.",
            code="validation_error",
            # Where and why only: a validation error's input would echo the password back.
            errors=[{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()],
        ) from None


@router.post(
    "/login",
    response_model=TokenPair,
    dependencies=[PUBLIC],
    openapi_extra=_LOGIN_BODY,
    # The body is read here, not by FastAPI: its refusals are declared here too.
    responses=problems(INVALID_CREDENTIALS, VALIDATION_ERROR),
)
async def login(request: Request, sessions: SessionsDep, address: ClientAddress) -> TokenPair:
    credentials = await _credentials(request)
    return await sessions.login(credentials.username, credentials.password, address)


@router.post(
    "/refresh",
    response_model=TokenPair,
    dependencies=[PUBLIC],
    responses=problems(INVALID_REFRESH_TOKEN, REFRESH_TOKEN_REUSED, REFRESH_TOKEN_EXPIRED, ACCOUNT_INACTIVE),
)
async def refresh(body: RefreshRequest, sessions: SessionsDep) -> TokenPair:
    return await sessions.refresh(body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    principal: CurrentPrincipal, sessions: SessionsDep, request: Request, body: LogoutRequest | None = None
) -> None:
    await sessions.logout(principal, body.refresh_token if body else None, request.app.state.redis)


@router.get("/me", response_model=Me, responses=problems(USER_NOT_FOUND))
async def me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    user = await Users(session).get(principal.user_id)
    return Me.model_validate(user).model_copy(update={"scopes": sorted(scopes_for(user.role))})


@router.put(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(WRONG_PASSWORD, *PASSWORD_POLICY, ACCOUNT_LOCKED, ACCOUNT_INACTIVE, EVENT_TOO_LARGE),
)
async def change_password(
    body: PasswordChange, principal: CurrentPrincipal, sessions: SessionsDep, address: ClientAddress
) -> None:
    await sessions.change_password(principal, body.current_password, body.new_password, address)


@router.post(
    "/signatures",
    response_model=SignatureGranted,
    status_code=status.HTTP_201_CREATED,
    summary="Sign a record with your password: a single-use signature token for it",
    responses=problems(WRONG_SIGNATURE_PASSWORD, ACCOUNT_LOCKED, ACCOUNT_INACTIVE, EVENT_TOO_LARGE),
)
async def sign(
    body: SignatureRequest, principal: CurrentPrincipal, sessions: SessionsDep, address: ClientAddress
) -> SignatureGranted:
    return await sessions.sign(
        principal, body.password, record=body.record, meaning=body.meaning, reason=body.reason, address=address
    )


@jwks_router.get("/.well-known/jwks.json", dependencies=[PUBLIC], summary="Public keys that verify access tokens")
async def jwks(request: Request) -> dict[str, list[dict[str, str]]]:
    return request.app.state.keys.jwks()
