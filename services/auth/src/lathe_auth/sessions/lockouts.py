"""Lockout after repeated wrong passwords, per account *and* client address.

An account-wide lockout lets anyone who knows a username keep its owner out (five wrong
passwords every 15 minutes would do). Counting per (account, address) instead means an outsider
locks the account only for their own address, while its owner, from any other address, signs in
as usual; guessing still costs every address ``threshold`` tries per ``lockout_seconds``, and
the gateway's per-address login rate limit bounds how fast those tries come.

The address is the client's as the gateway determined it (X-Forwarded-For believed only from
``TRUSTED_PROXIES``, see ``lathe_common.client_address``). Sign-ins and password changes count
toward the same lockout. Counting is one atomic statement (INSERT ... ON CONFLICT DO UPDATE ...
RETURNING), so concurrent failures are never under-counted; a lockout ends by itself after
``lockout_seconds``, failures older than that are forgotten, and an administrator's unlock
clears every address of the account.

Sign-ins with usernames no account has are counted the same way per address
(``unknown_account_failures``). Nothing is refused because of that count (no account could sign
in under those names anyway): it bounds what is announced. A failure is announced, and so
audited, only when it is counted, so a flood from one address adds at most ``threshold``
failed-login entries per ``lockout_seconds`` for each account it tries, and as many for all the
names no account has.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_auth.sessions.models import LoginFailure, UnknownAccountFailure


def retry_after_seconds(locked_until: datetime, now: datetime) -> int:
    """Whole seconds until a lockout ends, at least 1 (the value of a Retry-After header)."""
    return max(1, math.ceil((locked_until - now).total_seconds()))


@dataclass(frozen=True)
class Counted:
    """A failure just counted: how many within the window from this address, this one included,
    and when the lock it is under ends (set on the failure that reached the threshold)."""

    failures: int
    locked_until: datetime | None


@dataclass
class Lockouts:
    session: AsyncSession
    threshold: int
    lockout_seconds: int

    async def locked_until(self, user_id: uuid.UUID, address: str, now: datetime) -> datetime | None:
        """When the account's lockout from this address ends, if it is locked at ``now``."""
        return await self.session.scalar(
            select(LoginFailure.locked_until).where(
                LoginFailure.user_id == user_id,
                LoginFailure.client_address == address,
                LoginFailure.locked_until > now,
            )
        )

    async def record_failure(self, user_id: uuid.UUID, address: str, now: datetime) -> datetime | None:
        """Count one wrong password; returns when the lockout ends if the account is now locked
        from this address (by this failure or an earlier one)."""
        return (await self.count_failure(user_id, address, now)).locked_until

    async def count_failure(self, user_id: uuid.UUID, address: str, now: datetime) -> Counted:
        """Count one wrong password of an account (not locked from this address: the caller checked)."""
        keys = {"user_id": user_id, "client_address": address}
        counted = await self._count(LoginFailure, keys, now, unless_locked=False)
        assert counted is not None  # noqa: S101 - without unless_locked a row is always returned
        return counted

    async def count_unknown_account_failure(self, address: str, now: datetime) -> Counted | None:
        """Count one sign-in with a username no account has, from this address; None when such
        failures from there are locked (not counted: the caller announces nothing)."""
        return await self._count(UnknownAccountFailure, {"client_address": address}, now, unless_locked=True)

    async def _count(
        self,
        table: type[LoginFailure | UnknownAccountFailure],
        keys: dict[str, Any],
        now: datetime,
        *,
        unless_locked: bool,
    ) -> Counted | None:
        lock_ends = now + timedelta(seconds=self.lockout_seconds)
        existing = table  # in ON CONFLICT DO UPDATE, the row already there
        still_locked = existing.locked_until > now
        # A lockout that has run out, or failures older than the window, start the count afresh.
        failures = case(
            (still_locked, existing.failures),
            (
                or_(
                    existing.locked_until.is_not(None),
                    existing.last_failed_at <= now - timedelta(seconds=self.lockout_seconds),
                ),
                1,
            ),
            else_=existing.failures + 1,
        )
        statement = (
            insert(table)
            .values(
                **keys,
                failures=1,
                last_failed_at=now,
                locked_until=lock_ends if self.threshold <= 1 else None,
            )
            .on_conflict_do_update(
                index_elements=[getattr(table, key) for key in keys],
                set_={
                    "failures": failures,
                    "last_failed_at": now,
                    "locked_until": case(
                        (still_locked, existing.locked_until),
                        (failures >= self.threshold, lock_ends),
                        else_=None,
                    ),
                },
                # Refused by a lock: no row is updated or returned, so nothing is counted.
                where=~func.coalesce(still_locked, False) if unless_locked else None,
            )
            .returning(table.failures, table.locked_until)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return Counted(row.failures, row.locked_until) if row is not None else None

    async def forget(self, user_id: uuid.UUID, address: str) -> None:
        """After the right password from this address: its count starts again."""
        await self.session.execute(
            delete(LoginFailure).where(LoginFailure.user_id == user_id, LoginFailure.client_address == address)
        )

    async def unlock(self, user_id: uuid.UUID) -> None:
        """An administrator's unlock: every address of the account."""
        await self.session.execute(delete(LoginFailure).where(LoginFailure.user_id == user_id))
