from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from lathe_auth.tables import Base


class RefreshToken(Base):
    """One issued refresh token. Only its SHA-256 is stored. A login starts a family; each refresh
    rotates within it; presenting a rotated token again revokes the whole family."""

    __tablename__ = "refresh_tokens"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LoginFailure(Base):
    """Wrong passwords for one account from one client address (sign-ins and password changes).

    The lockout is per account *and* address, so an outsider who knows a username can lock it
    out only from their own address; its owner elsewhere signs in as usual (see ``lockouts``)."""

    __tablename__ = "login_failures"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id"), primary_key=True)
    client_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class UnknownAccountFailure(Base):
    """Failed sign-ins from one client address with usernames no account has. Nothing can be
    locked, so nothing is refused because of them: they are counted as an account's wrong
    passwords are, so that they are announced (and audited) no faster than a lockout would let
    guesses through (see ``lockouts``)."""

    __tablename__ = "unknown_account_failures"

    client_address: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
