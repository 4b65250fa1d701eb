"""User rules: creation, changes, deactivation (never deletion), the bootstrap admin."""

from __future__ import annotations

import uuid
from typing import Any

from lathe_common.errors import Conflict, InvalidInput
from lathe_common.outbox import Outbox
from lathe_common.pagination import PageParams
from lathe_common.repository import Repository
from lathe_contracts.auth import UserCreatedEvent, UserDeactivatedEvent, UserUpdatedEvent
from sqlalchemy import func, or_, select, update

from lathe_auth.passwords import check_policy, hashing
from lathe_auth.roles import Role
from lathe_auth.sessions.lockouts import Lockouts
from lathe_auth.sessions.models import RefreshToken
from lathe_auth.settings import settings
from lathe_auth.tables import plumbing
from lathe_auth.users.models import User
from lathe_auth.users.schemas import UserCreate, UserUpdate

outbox = Outbox(plumbing, source="lathe/auth", max_event_bytes=settings.outbox_max_event_bytes)


def _updated(user: User, changed: list[str], previous: dict[str, Any]) -> UserUpdatedEvent:
    """The change, with the account as it is now and the old values of what changed (no secrets:
    ``changes`` never carries the password, its hash is set apart)."""
    return UserUpdatedEvent(
        id=user.id,
        username=user.username,
        changed=changed,
        email=user.email,
        full_name=user.full_name,
        role=user.role,
        is_active=user.is_active,
        previous=previous,
    )


class Users(Repository[User]):
    model = User
    noun = "user"

    async def search(
        self, page: PageParams, *, role: str | None, is_active: bool | None, q: str | None
    ) -> tuple[list[User], int]:
        statement = self.containing(select(User).order_by(User.username), q, User.username, User.email, User.full_name)
        return await self.page(page, equal={User.role: role, User.is_active: is_active}, statement=statement)

    async def create(self, data: UserCreate) -> User:
        check_policy(data.password)
        # Hashed before the first query, so no connection or lock is held while argon2 runs.
        password_hash = await hashing.hash(data.password)
        clash = await self.session.scalar(
            select(User.id).where(
                or_(
                    func.lower(User.username) == data.username.lower(),
                    *([User.email == data.email] if data.email else []),
                )
            )
        )
        if clash is not None:
            raise Conflict("A user with this username or email already exists.", code="user_exists")
        user = User(
            username=data.username,
            email=data.email,
            full_name=data.full_name,
            role=data.role.value,
            password_hash=password_hash,
        )
        self.session.add(user)
        await self.session.flush()
        await outbox.add(
            self.session,
            UserCreatedEvent(
                id=user.id, username=user.username, email=user.email, full_name=user.full_name, role=user.role
            ),
        )
        return user

    async def update(self, user_id: str, data: UserUpdate, *, acting_user_id: str) -> User:
        changes = data.model_dump(exclude_unset=True, mode="json")
        password = changes.pop("password", None)
        password_hash = None
        if password is not None:
            check_policy(password)
            password_hash = await hashing.hash(password)  # before the row lock is taken
        user = await self.get(user_id, for_update=True)
        demoted = changes.get("role", Role.ADMIN.value) != Role.ADMIN.value
        if str(user.id) == acting_user_id and (changes.get("is_active") is False or demoted):
            raise InvalidInput("You cannot deactivate or demote your own account.", code="cannot_change_self")
        if changes.get("email") and changes["email"] != user.email:
            if await self.session.scalar(select(User.id).where(User.email == changes["email"], User.id != user.id)):
                raise Conflict("Another user has this email.", code="user_exists")
        previous = self.apply_recording(user, changes)
        changed = list(previous)
        if password_hash is not None:
            await self._set_password(user, password_hash)
            changed.append("password")  # named, never valued: `previous` has no password
        if changed:
            await self.session.flush()
            await outbox.add(self.session, _updated(user, changed, previous))
            if user.is_active is False and "is_active" in changed:
                await self._deactivated(user)
        return user

    async def password_changed(self, user_id: uuid.UUID, password_hash: str) -> User:
        """A user's own new password (hashed, the current one checked by the caller, the row locked):
        every other session ends and the change is announced, as for an administrator's reset."""
        user = await self.get(user_id)
        await self._set_password(user, password_hash)
        await self.session.flush()
        await outbox.add(self.session, _updated(user, ["password"], {}))
        return user

    async def _set_password(self, user: User, password_hash: str) -> None:
        user.password_hash = password_hash
        await self._revoke_sessions(user)

    async def deactivate(self, user_id: str, *, acting_user_id: str) -> User:
        user = await self.get(user_id, for_update=True)
        if str(user.id) == acting_user_id:
            raise InvalidInput("You cannot deactivate your own account.", code="cannot_change_self")
        if user.is_active:
            user.is_active = False
            await self.session.flush()
            await self._deactivated(user)
        return user

    async def unlock(self, user_id: str) -> User:
        """Lifts the account's lockouts from every address."""
        user = await self.get(user_id, for_update=True)
        await Lockouts(self.session, settings.lockout_threshold, settings.lockout_seconds).unlock(user.id)
        return user

    async def _deactivated(self, user: User) -> None:
        await self._revoke_sessions(user)
        await outbox.add(self.session, UserDeactivatedEvent(id=user.id, username=user.username))

    async def _revoke_sessions(self, user: User) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=func.now())
        )

    async def ensure_admin(self, *, username: str, password: str) -> tuple[User, bool]:
        """The bootstrap admin: created once, left alone afterwards. Returns (user, created)."""
        existing = await self.session.scalar(select(User).where(func.lower(User.username) == username.lower()))
        if existing is not None:
            return existing, False
        return await self.create(UserCreate(username=username, password=password, role=Role.ADMIN)), True
