"""Every table of the auth service, for Alembic."""

from lathe_auth.sessions.models import LoginFailure, RefreshToken, UnknownAccountFailure
from lathe_auth.tables import Base, plumbing
from lathe_auth.users.models import User

__all__ = ["Base", "LoginFailure", "RefreshToken", "UnknownAccountFailure", "User", "plumbing"]
