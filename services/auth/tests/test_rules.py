"""Password policy, the role → scope table, and signing keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from lathe_auth.keys import KeyStore
from lathe_auth.passwords import COMMON_PASSWORDS, DUMMY_HASH, check_policy, hash_password, verify_password
from lathe_auth.roles import ROLE_SCOPES, SCOPES, Role, matrix_markdown, scopes_for
from lathe_auth.sessions.tokens import mint_access_token
from lathe_auth.users.models import User
from lathe_common.auth import TokenVerifier
from lathe_common.errors import InvalidInput

README = Path(__file__).resolve().parents[3] / "README.md"


@pytest.mark.parametrize(
    "password,code",
    [
        ("Sh0rt", "weak_password"),
        ("alllowercase1", "weak_password"),
        ("ALLUPPERCASE1", "weak_password"),
        ("NoDigitsHere", "weak_password"),
        ("Password123", "common_password"),
        ("Welcome1", "common_password"),
    ],
)
def test_password_policy_rejects(password, code):
    with pytest.raises(InvalidInput) as rejected:
        check_policy(password)
    assert rejected.value.code == code


@pytest.mark.parametrize(
    ("password", "missing"),
    [
        ("Abcdef1", "at least 8 characters"),  # 7 characters, every class
        ("abcdefg1", "an uppercase letter"),
        ("ABCDEFG1", "a lowercase letter"),
        ("Abcdefgh", "a digit"),
        ("", "at least 8 characters, an uppercase letter, a lowercase letter, a digit"),
        ("ab1", "at least 8 characters, an uppercase letter"),
        ("12345678", "an uppercase letter, a lowercase letter"),
    ],
)
def test_a_weak_password_is_told_exactly_what_it_lacks(password, missing):
    with pytest.raises(InvalidInput) as rejected:
        check_policy(password)
    assert (rejected.value.status, rejected.value.code) == (422, "weak_password")
    assert rejected.value.detail == f"The password needs {missing}."


@pytest.mark.parametrize("password", ["Abcdefg1", "Zz0zzzzz", "1234567aB", "Lathe-Plant-42"])
def test_eight_characters_with_every_class_are_enough(password):
    check_policy(password)


def test_every_common_password_that_meets_the_rules_is_refused_whatever_its_case():
    refused = 0
    for common in COMMON_PASSWORDS:
        for variant in (common, common.upper(), common.capitalize(), common.swapcase(), common.title()):
            if len(variant) < 8 or variant == variant.lower() or variant == variant.upper():
                continue  # refused as weak before it is compared
            with pytest.raises(InvalidInput) as rejected:
                check_policy(variant)
            assert rejected.value.code == "common_password", variant
            assert rejected.value.detail == "The password is too common."
            refused += 1
    assert refused >= 2 * len(COMMON_PASSWORDS)


def test_a_weak_common_password_is_told_it_is_weak_first():
    with pytest.raises(InvalidInput) as rejected:
        check_policy("password123")  # common, and no uppercase letter
    assert rejected.value.code == "weak_password"


def test_the_list_of_common_passwords_is_kept_in_lowercase():
    assert all(p == p.lower() for p in COMMON_PASSWORDS)
    assert {"password1", "welcome1", "lathe123", "p@ssw0rd"} <= COMMON_PASSWORDS


def test_a_hash_that_is_not_an_argon2_hash_verifies_nothing():
    assert verify_password("not-a-hash", "Lathe-Plant-42") is False
    assert verify_password(DUMMY_HASH, "") is False


def test_password_policy_accepts_and_hashes_with_argon2id():
    check_policy("Lathe-Plant-42")
    hashed = hash_password("Lathe-Plant-42")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Lathe-Plant-42")
    assert not verify_password(hashed, "lathe-plant-42")


READ = {"processes:read", "lots:read", "process-data:read", "orders:read", "analytics:read"}
EXPECTED_SCOPES = {
    "admin": set(SCOPES),
    "manager": set(SCOPES) - {"users:admin", "orders:approve-own"},
    "engineer": READ | {"processes:write", "lots:write", "process-data:write"},
    "quality": READ | {"lots:write", "process-data:write", "audit:read", "quality:write", "quality:approve"},
    "operator": {"processes:read", "lots:read", "process-data:read", "orders:read", "process-data:write"},
    "purchasing": READ | {"purchase-orders:write", "partners:write"},
    "viewer": READ,
}


@pytest.mark.parametrize("role", list(Role))
def test_each_role_grants_exactly_its_scopes(role):
    assert ROLE_SCOPES[role] == EXPECTED_SCOPES[role.value]
    assert scopes_for(role.value) == EXPECTED_SCOPES[role.value]
    assert isinstance(scopes_for(role.value), frozenset)


def test_the_scopes_are_these_nineteen():
    assert list(SCOPES) == [
        "users:read",
        "users:admin",
        "audit:read",
        "processes:read",
        "processes:write",
        "lots:read",
        "lots:write",
        "process-data:read",
        "process-data:write",
        "quality:write",
        "quality:approve",
        "orders:read",
        "partners:write",
        "purchase-orders:write",
        "sales-orders:write",
        "work-orders:write",
        "orders:approve",
        "orders:approve-own",
        "analytics:read",
    ]


@pytest.mark.parametrize("role", ["", "ADMIN", "Admin", "root", " admin", "admin "])
def test_an_unknown_role_grants_nothing(role):
    assert scopes_for(role) == frozenset()


def test_the_role_matrix_in_markdown():
    lines = matrix_markdown().split("\n")
    assert lines[0] == "| scope | meaning | admin | manager | engineer | quality | operator | purchasing | viewer |"
    assert lines[1] == "|---|---|---|---|---|---|---|---|---|"
    assert lines[2] == "| `users:read` | see user accounts | ✓ | ✓ |  |  |  |  |  |"
    assert lines[-1] == "| `analytics:read` | see yield, performance and WIP analytics | ✓ | ✓ | ✓ | ✓ |  | ✓ | ✓ |"
    assert len(lines) == 2 + len(SCOPES)


def test_every_role_has_only_known_scopes_and_admin_has_all():
    assert set(ROLE_SCOPES) == set(Role)
    for scopes in ROLE_SCOPES.values():
        assert scopes <= set(SCOPES)
    assert ROLE_SCOPES[Role.ADMIN] == set(SCOPES)
    assert "users:admin" not in ROLE_SCOPES[Role.MANAGER]
    assert scopes_for("operator") >= {"process-data:write"} and "lots:write" not in scopes_for("operator")
    assert scopes_for("no-such-role") == frozenset()


def test_readme_shows_the_current_role_matrix():
    assert matrix_markdown() in README.read_text(), (
        "regenerate the README table with lathe_auth.roles.matrix_markdown()"
    )


def _user(role: str = "operator") -> User:
    import uuid

    return User(id=uuid.uuid4(), username="petrov", role=role, password_hash="x")


async def test_rotation_keeps_old_tokens_verifiable_until_the_key_is_retired(tmp_path):
    import uuid

    keys = KeyStore(tmp_path / "keys")
    keys.ensure()
    old_kid = keys.active().kid
    old_token = mint_access_token(keys, _user(), session_id=uuid.uuid4(), ttl_seconds=60)

    new_kid = keys.rotate()
    new_token = mint_access_token(keys, _user(), session_id=uuid.uuid4(), ttl_seconds=60)
    assert new_kid != old_kid
    assert {k["kid"] for k in keys.jwks()["keys"]} == {old_kid, new_kid}

    verifier = TokenVerifier(keys)
    assert (await verifier.verify(old_token)).username == "petrov"
    assert (await verifier.verify(new_token)).username == "petrov"

    keys.retire(old_kid)
    with pytest.raises(Exception, match="unknown key"):
        await verifier.verify(old_token)
    with pytest.raises(ValueError):
        keys.retire(new_kid)  # the active key stays


def test_private_keys_are_private_and_not_in_the_jwks(tmp_path):
    keys = KeyStore(tmp_path / "keys")
    keys.ensure()
    pem = next((tmp_path / "keys").glob("*.pem"))
    assert pem.stat().st_mode & 0o077 == 0
    assert all(set(k) == {"kty", "crv", "x", "kid", "alg", "use"} for k in keys.jwks()["keys"])


def test_a_second_store_on_the_same_directory_sees_a_rotation(tmp_path):
    first, second = KeyStore(tmp_path / "k"), KeyStore(tmp_path / "k")
    first.ensure()
    second.ensure()
    kid = first.rotate()
    assert second.active().kid == kid


def test_retry_after_is_whole_seconds_and_never_zero():
    from datetime import UTC, datetime, timedelta

    from lathe_auth.sessions.lockouts import retry_after_seconds

    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert retry_after_seconds(now + timedelta(seconds=899.2), now) == 900
    assert retry_after_seconds(now + timedelta(milliseconds=1), now) == 1
    assert retry_after_seconds(now, now) == 1
