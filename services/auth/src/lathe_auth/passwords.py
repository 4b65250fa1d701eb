"""Password hashing (argon2id) and policy."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from lathe_common.errors import InvalidInput

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
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Verified against when the user does not exist, so both failure paths cost one argon2 verify.
DUMMY_HASH = _hasher.hash("not-a-real-password-Lathe0")
