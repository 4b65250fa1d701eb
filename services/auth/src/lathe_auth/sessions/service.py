"""Sign-in rules: credentials, lockout, refresh rotation with reuse detection, logout, password change.

Checking a password is slow on purpose (argon2), so it never runs under a row lock or on the
event loop: the stored hash is read in a short session of its own, verified in a worker thread
(``passwords.hashing``), and only then is the outcome applied in the request's transaction under
the account's row lock (so attempts on one account are decided one at a time), re-checking that
the hash did not change in between. Wrong passwords count per account and client address
(``lockouts``). A sign-in answers an unknown account, a wrong password, an inactive account and
a locked one identically, so its answers never tell whether an account exists.

Sign-ins are announced in their own transaction (``lathe.auth.logins.v1``, so audited): every
success, and every failure the lockout counts (``LoginFailedEvent``: the username as typed and
the client address, never the password). Attempts a lock refuses are not counted, so not
announced: a flood adds to the audit trail no faster than the lockout lets guesses through.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import redis.asyncio as redis
from lathe_common import context
from lathe_common.auth import REVOKED_JTI_KEY, Principal
from lathe_common.errors import InvalidInput, TooManyRequests, Unauthorized
from lathe_common.signatures import SignatureMeaning
from lathe_contracts.auth import LoginFailedEvent, LoginSucceededEvent, SignatureIssuedEvent, SignatureRefusedEvent
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from lathe_auth.keys import KeyStore
from lathe_auth.passwords import DUMMY_HASH, check_policy, hashing
from lathe_auth.sessions.lockouts import Counted, Lockouts, retry_after_seconds
from lathe_auth.sessions.models import RefreshToken
from lathe_auth.sessions.schemas import SignatureGranted, TokenPair
from lathe_auth.sessions.tokens import (
    hash_refresh_token,
    mint_access_token,
    mint_signature_token,
    new_refresh_token,
)
from lathe_auth.settings import AuthSettings
from lathe_auth.users.models import User
from lathe_auth.users.service import Users, outbox

logger = logging.getLogger(__name__)


class FailureReason(StrEnum):
    """Why a sign-in failed, as lathe.auth.login.failed.v1 says (never the answer's: that is one for all)."""

    UNKNOWN_ACCOUNT = "unknown_account"
    WRONG_PASSWORD = "wrong_password"  # noqa: S105 - a reason, not a password
    INACTIVE_ACCOUNT = "inactive_account"


def _invalid_credentials(**kw: object) -> Unauthorized:
    return Unauthorized("The username or password is wrong.", code="invalid_credentials", **kw)


def _locked(locked_until: datetime) -> TooManyRequests:
    retry_after = retry_after_seconds(locked_until, datetime.now(UTC))
    return TooManyRequests(
        f"Too many wrong passwords from this address; try again in {retry_after} s.",
        code="account_locked",
        headers={"Retry-After": str(retry_after)},
    )


@dataclass(frozen=True)
class StoredPassword:
    user_id: uuid.UUID
    password_hash: str


@dataclass
class Sessions:
    session: AsyncSession  # the request's unit of work
    keys: KeyStore
    settings: AuthSettings
    reader: async_sessionmaker[AsyncSession]  # short reads of their own, released before hashing

    def _lockouts(self, session: AsyncSession) -> Lockouts:
        return Lockouts(session, self.settings.lockout_threshold, self.settings.lockout_seconds)

    @staticmethod
    async def _stored_password(session: AsyncSession, condition: object) -> StoredPassword | None:
        row = (await session.execute(select(User.id, User.password_hash).where(condition))).one_or_none()
        return StoredPassword(row.id, row.password_hash) if row is not None else None

    async def _reauthenticating(self, user_id: uuid.UUID, address: str) -> StoredPassword:
        """The signed-in account's stored password, for a request that re-enters it (a password
        change, a signature): 401 ``account_inactive`` once the account is gone, 429 while this
        account and address are locked out."""
        async with self.reader() as reader:
            stored = await self._stored_password(reader, User.id == user_id)
            locked_until = await self._lockouts(reader).locked_until(user_id, address, datetime.now(UTC))
        if stored is None:
            raise Unauthorized("The account no longer exists.", code="account_inactive")
        if locked_until is not None:
            raise _locked(locked_until)
        return stored

    async def _lock_account(self, stored: StoredPassword) -> User | None:
        """The account under its row lock, or None if its password changed since ``stored`` was read."""
        user = await self.session.get(User, stored.user_id, with_for_update=True)
        return user if user is not None and user.password_hash == stored.password_hash else None

    async def login(self, username: str, password: str, address: str) -> TokenPair:
        async with self.reader() as reader:
            stored = await self._stored_password(reader, func.lower(User.username) == username.lower())
        if stored is None:
            await hashing.verify(DUMMY_HASH, password)  # the same work as for a real account
            counted = await self._lockouts(self.session).count_unknown_account_failure(address, datetime.now(UTC))
            if counted is None:
                raise _invalid_credentials()  # beyond what this address may have announced
            await self._failed(None, username, address, FailureReason.UNKNOWN_ACCOUNT, counted)
            raise _invalid_credentials(persist_changes=True)
        password_ok = await hashing.verify(stored.password_hash, password)
        user = await self._lock_account(stored)
        if user is None:
            raise _invalid_credentials()  # changed while we were hashing: what we verified is stale
        now = datetime.now(UTC)
        lockouts = self._lockouts(self.session)
        if await lockouts.locked_until(user.id, address, now) is not None:
            raise _invalid_credentials()  # not "locked": that would tell an outsider the account exists
        if not password_ok or not user.is_active:
            # An inactive account's right password counts too: every failure announced is one the
            # lockout counted, so a flood announces no more than the lockout lets through.
            counted = await lockouts.count_failure(user.id, address, now)
            if counted.locked_until is not None:
                logger.warning("account %s locked for %s after repeated failed sign-ins", user.username, address)
            reason = FailureReason.WRONG_PASSWORD if not password_ok else FailureReason.INACTIVE_ACCOUNT
            await self._failed(user.id, username, address, reason, counted)
            raise _invalid_credentials(persist_changes=True)
        await lockouts.forget(user.id, address)
        user.last_login_at = now
        issued = await self._issue(user, family_id=uuid.uuid4())
        signed_in = context.actor.set(user.username)  # the user is who acted, though not signed in before
        try:
            await outbox.add(
                self.session, LoginSucceededEvent(id=user.id, username=user.username, client_address=address)
            )
        finally:
            context.actor.reset(signed_in)
        return issued

    async def _failed(
        self, user_id: uuid.UUID | None, username: str, address: str, reason: FailureReason, counted: Counted
    ) -> None:
        """Announces a failed sign-in that was counted (in the request's transaction, which the
        refusal commits). The attempted username as typed; never the password."""
        subject = str(user_id) if user_id is not None else f"username:{username.lower()}"
        event = LoginFailedEvent(
            subject=subject,
            user_id=user_id,
            username=username,
            client_address=address,
            reason=reason,
            failures=counted.failures,
            locked_until=counted.locked_until,
        )
        await outbox.add(self.session, event)

    async def refresh(self, token: str) -> TokenPair:
        stored = await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(token)).with_for_update()
        )
        now = datetime.now(UTC)
        if stored is None or stored.revoked_at is not None:
            raise Unauthorized("The refresh token is not valid.", code="invalid_refresh_token")
        if stored.rotated_at is not None:
            # Someone is replaying a token that was already exchanged: assume it was stolen.
            await self.revoke_family(stored.family_id)
            logger.warning("refresh token reuse detected; family %s revoked", stored.family_id)
            raise Unauthorized(
                "This refresh token was already used; every session it belonged to is now closed.",
                code="refresh_token_reused",
                persist_changes=True,
            )
        if stored.expires_at <= now:
            raise Unauthorized("The refresh token has expired.", code="refresh_token_expired")
        user = await self.session.get(User, stored.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("The account is not active.", code="account_inactive")
        stored.rotated_at = now
        return await self._issue(user, family_id=stored.family_id)

    async def logout(self, principal: Principal, refresh_token: str | None, redis_client: redis.Redis) -> None:
        if principal.session_id:
            await self.revoke_family(uuid.UUID(principal.session_id))
        if refresh_token:
            stored = await self.session.scalar(
                select(RefreshToken).where(RefreshToken.token_hash == hash_refresh_token(refresh_token))
            )
            if stored is not None and str(stored.user_id) == principal.user_id:
                await self.revoke_family(stored.family_id)
        ttl = principal.expires_at - int(datetime.now(UTC).timestamp())
        if ttl > 0:
            try:
                await redis_client.set(REVOKED_JTI_KEY.format(jti=principal.token_id), "1", ex=ttl)
            except redis.RedisError:
                # The refresh family is revoked regardless; the access token then lapses on its own.
                logger.warning("could not record revoked token %s in Redis", principal.token_id, exc_info=True)

    async def change_password(
        self, principal: Principal, current_password: str, new_password: str, address: str
    ) -> None:
        """Wrong current passwords count toward the sign-in lockout of this account and address;
        while it is locked, a change is refused with 429 and Retry-After (the caller is signed in,
        so saying so tells nothing new)."""
        user_id = uuid.UUID(principal.user_id)
        stored = await self._reauthenticating(user_id, address)
        current_ok = await hashing.verify(stored.password_hash, current_password)
        new_hash = None
        if current_ok:
            check_policy(new_password)
            new_hash = await hashing.hash(new_password)
        if await self._lock_account(stored) is None:
            # Changed since we read it (another change won): the current password we checked is stale.
            raise InvalidInput("The current password is wrong.", code="wrong_password")
        now = datetime.now(UTC)
        lockouts = self._lockouts(self.session)
        if (locked_until := await lockouts.locked_until(user_id, address, now)) is not None:
            raise _locked(locked_until)
        if new_hash is None:
            await lockouts.record_failure(user_id, address, now)
            raise InvalidInput("The current password is wrong.", code="wrong_password", persist_changes=True)
        await lockouts.forget(user_id, address)
        # Through the users service: the change revokes every other session and is announced.
        await Users(self.session).password_changed(user_id, new_hash)

    async def sign(
        self, principal: Principal, password: str, *, record: str, meaning: SignatureMeaning, reason: str, address: str
    ) -> SignatureGranted:
        """A signature of ``record`` by the signed-in user, who re-enters their password (21 CFR
        §11.200(a)(1)). As for a password change, a wrong password counts toward the sign-in lockout
        of this account and address (announced: ``SignatureRefusedEvent``), and a locked account is
        refused with 429 and Retry-After. The token is single use: the service keeping the record
        stores its id. Nothing is stored here."""
        user_id = uuid.UUID(principal.user_id)
        stored = await self._reauthenticating(user_id, address)
        password_ok = await hashing.verify(stored.password_hash, password)
        user = await self._lock_account(stored)
        if user is None:
            # Changed since we read it: the password we checked may no longer be the account's.
            raise InvalidInput("The password is wrong.", code="wrong_password")
        if not user.is_active:
            raise Unauthorized("The account is not active.", code="account_inactive")
        now = datetime.now(UTC)
        lockouts = self._lockouts(self.session)
        if (locked_until := await lockouts.locked_until(user_id, address, now)) is not None:
            raise _locked(locked_until)
        if not password_ok:
            counted = await lockouts.count_failure(user_id, address, now)
            if counted.locked_until is not None:
                logger.warning("account %s locked for %s after wrong signature passwords", user.username, address)
            refused = SignatureRefusedEvent(
                id=user.id,
                username=user.username,
                record=record,
                meaning=meaning.value,
                client_address=address,
                refusal="wrong_password",
                failures=counted.failures,
                locked_until=counted.locked_until,
            )
            await outbox.add(self.session, refused)
            raise InvalidInput(
                "The password is wrong; nothing was signed.", code="wrong_password", persist_changes=True
            )
        await lockouts.forget(user_id, address)
        token_id = uuid.uuid4().hex
        ttl = self.settings.signature_token_ttl_seconds
        token, expires = mint_signature_token(
            self.keys, user, record=record, meaning=meaning, reason=reason, token_id=token_id, ttl_seconds=ttl
        )
        expires_at = datetime.fromtimestamp(expires, UTC)
        await outbox.add(
            self.session,
            SignatureIssuedEvent(
                id=user.id,
                username=user.username,
                token_id=token_id,
                record=record,
                meaning=meaning.value,
                reason=reason,
                client_address=address,
                expires_at=expires_at,
            ),
        )
        return SignatureGranted(
            signature=token,
            expires_in=ttl,
            expires_at=expires_at,
            record=record,
            meaning=meaning,
            reason=reason,
            signer=user.username,
        )

    async def revoke_family(self, family_id: uuid.UUID) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def _issue(self, user: User, *, family_id: uuid.UUID) -> TokenPair:
        token, token_hash = new_refresh_token()
        self.session.add(
            RefreshToken(
                family_id=family_id,
                user_id=user.id,
                token_hash=token_hash,
                expires_at=datetime.now(UTC) + timedelta(seconds=self.settings.refresh_token_ttl_seconds),
            )
        )
        await self.session.flush()
        ttl = self.settings.access_token_ttl_seconds
        access = mint_access_token(self.keys, user, session_id=family_id, ttl_seconds=ttl)
        return TokenPair(access_token=access, refresh_token=token, expires_in=ttl)
