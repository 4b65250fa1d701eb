"""User rules: creation, bootstrap admin."""

from __future__ import annotations

from lathe_common.errors import Conflict
from lathe_common.outbox import Outbox
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_auth.events import UserCreated
from lathe_auth.passwords import check_policy, hash_password
from lathe_auth.tables import plumbing
from lathe_auth.users.models import User

outbox = Outbox(plumbing, source="lathe/auth")


async def create_user(
    session: AsyncSession,
    *,
    username: str,
    password: str,
    role: str,
    email: str | None = None,
    full_name: str | None = None,
) -> User:
    check_policy(password)
    clash = await session.scalar(
        select(User.id).where(
            or_(func.lower(User.username) == username.lower(), *([User.email == email] if email else []))
        )
    )
    if clash is not None:
        raise Conflict("A user with this username or email already exists.", code="user_exists")
    user = User(
        username=username, email=email, full_name=full_name, role=role, password_hash=hash_password(password)
    )
    session.add(user)
    await session.flush()
    await outbox.add(
        session, UserCreated(id=user.id, username=username, email=email, full_name=full_name, role=role)
    )
    return user


async def ensure_admin(session: AsyncSession, *, username: str, password: str) -> tuple[User, bool]:
    """The bootstrap admin: created once, left alone afterwards. Returns (user, created)."""
    existing = await session.scalar(select(User).where(User.username == username))
    if existing is not None:
        return existing, False
    return await create_user(session, username=username, password=password, role="admin"), True
