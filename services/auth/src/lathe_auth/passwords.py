"""Password hashing (argon2id) and policy.

argon2 is deliberately slow (~0.1 s of CPU and 64 MiB per hash or verify). The event loop never
runs it: ``hashing`` hands each one to a worker thread (argon2-cffi releases the GIL), at most
``PASSWORD_HASH_CONCURRENCY`` at once, so a burst of logins queues for the hasher while the
loop goes on answering JWKS, refreshes and everything else. Callers hold no row lock and no
database connection while they wait for it.
"""

from __future__ import annotations

import asyncio
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from lathe_common.errors import InvalidInput

from lathe_auth.settings import settings

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters

COMMON_PASSWORDS = frozenset(
    p.lower()
    for p in (
        "Password1",
        "Password123",
        "Passw0rd",
        "Welcome1",
        "Welcome123",
        "Qwerty123",
        "Admin123",
        "Administrator1",
        "Letmein1",
        "Changeme1",
        "Abcd1234",
        "Test1234",
        "Password1!",
        "P@ssw0rd",
        "Summer2024",
        "Winter2024",
        "Spring2025",
        "Autumn2025",
        "Iloveyou1",
        "Monkey123",
        "Dragon123",
        "Football1",
        "Baseball1",
        "Sunshine1",
        "Princess1",
        "Master123",
        "Trustno1",
        "Lathe123",
    )
)


def check_policy(password: str) -> None:
    problems = []
    if len(password) < 8:
        problems.append("at least 8 characters")
    if not re.search(r"[A-Z]", password):
        problems.append("an uppercase letter")
    if not re.search(r"[a-z]", password):
        problems.append("a lowercase letter")
    if not re.search(r"\d", password):
        problems.append("a digit")
    if problems:
        raise InvalidInput("The password needs " + ", ".join(problems) + ".", code="weak_password")
    if password.lower() in COMMON_PASSWORDS:
        raise InvalidInput("The password is too common.", code="common_password")


def hash_password(password: str) -> str:
    """Blocking: in a request, ``await hashing.hash(...)``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Blocking: in a request, ``await hashing.verify(...)``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class PasswordHashing:
    """argon2 in worker threads, at most ``concurrency`` at a time (each costs a core and 64 MiB)."""

    def __init__(self, concurrency: int) -> None:
        self.concurrency = concurrency
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        # One per event loop: a semaphore belongs to the loop it first waited in (the service has
        # one loop; tests and CLI commands may run several in turn).
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._loop, self._slots = loop, asyncio.Semaphore(self.concurrency)
        return self._slots

    async def hash(self, password: str) -> str:
        async with self._semaphore():
            return await asyncio.to_thread(hash_password, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        async with self._semaphore():
            return await asyncio.to_thread(verify_password, password_hash, password)


hashing = PasswordHashing(settings.password_hash_concurrency)

# Verified against when the user does not exist, so both failure paths cost one argon2 verify.
DUMMY_HASH = _hasher.hash("not-a-real-password-Lathe0")
