"""Password policy, the role → scope table, and signing keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from lathe_auth.keys import KeyStore
from lathe_auth.passwords import check_policy, hash_password, verify_password
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


def test_password_policy_accepts_and_hashes_with_argon2id():
    check_policy("Lathe-Plant-42")
    hashed = hash_password("Lathe-Plant-42")
    assert hashed.startswith("$argon2id$")
    assert verify_password(hashed, "Lathe-Plant-42")
    assert not verify_password(hashed, "lathe-plant-42")


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
