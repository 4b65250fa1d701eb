"""The audit trail's seven read endpoints through the gateway, before / after values of changes,
sign-ins and failed sign-ins, and no secret anywhere. Each test makes its own subjects (a process,
a user, addresses of its own) and asserts on those only."""

from __future__ import annotations

import csv
import io
import os
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from lathe_auth.settings import settings as auth_settings
from lathe_common.testing import eventually

from .conftest import Catalog, bearer

pytestmark = pytest.mark.e2e

AUDIT = "/api/v1/audit-logs"


def new_address() -> str:
    # Written as auth writes it (no leading zeros in a group), so the recorded one compares equal.
    return "2001:db8:a::{:x}:{:x}".format(*(0x1000 + uuid.uuid4().int % 0xF000 for _ in range(2)))


async def signed_in(accounts, role: str) -> tuple[dict, dict[str, str]]:
    user = await accounts.create_user(role)
    return user, bearer((await accounts.login(user["username"], user["password"]))["access_token"])


async def entries(gateway: httpx.AsyncClient, path: str, headers: dict, **params) -> list[dict]:
    """Every entry of a list, following its cursors."""
    found: list[dict] = []
    params = {"limit": 500, **params}
    while True:
        response = await gateway.get(path, params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        found += page["items"]
        if not page["next"]:
            return found
        params["cursor"] = page["next"]


async def history(gateway, subject: str, headers: dict, count: int) -> list[dict]:
    async def arrived() -> list[dict] | None:
        found = await entries(gateway, f"{AUDIT}/subjects/{subject}", headers)
        return found if len(found) >= count else None

    return await eventually(arrived, timeout=30)


async def test_the_seven_endpoints_on_a_process_of_its_own(gateway, accounts):
    started = datetime.now(UTC) - timedelta(seconds=1)
    engineer, engineer_headers = await signed_in(accounts, "engineer")
    _, quality = await signed_in(accounts, "quality")  # audit:read
    code = await Catalog(gateway, engineer_headers).process()
    process = (await gateway.get(f"/api/v1/processes/{code}", headers=engineer_headers)).json()
    changed = await gateway.patch(
        f"/api/v1/processes/{code}", json={"name": "Burn-in 48h", "is_active": False}, headers=engineer_headers
    )
    assert changed.status_code == 200, changed.text

    # History of one subject, newest first, a page at a time.
    both = await history(gateway, process["id"], quality, 2)
    assert [e["event_type"] for e in both] == [
        "lathe.production.process.changed.v1",
        "lathe.production.process.defined.v1",
    ]
    change, definition = both
    assert change["changes"] == [
        {"field": "is_active", "before": True, "after": False, "recorded": True},
        {"field": "name", "before": "Test step", "after": "Burn-in 48h", "recorded": True},
    ]
    assert definition["changes"] == [] and change["actor"] == engineer["username"]
    first = (await gateway.get(f"{AUDIT}/subjects/{process['id']}", params={"limit": 1}, headers=quality)).json()
    second = await gateway.get(
        f"{AUDIT}/subjects/{process['id']}", params={"limit": 1, "cursor": first["next"]}, headers=quality
    )
    assert [e["id"] for e in first["items"] + second.json()["items"]] == [change["id"], definition["id"]]
    assert second.json()["next"] is None

    # The list with filters.
    listed = await entries(
        gateway, AUDIT, quality, subject=process["id"], event_type="lathe.production.process.changed.v1"
    )
    assert [e["id"] for e in listed] == [change["id"]]
    assert (await gateway.get(AUDIT, params={"subject": process["id"], "count": "exact"}, headers=quality)).json()[
        "total"
    ] == 2

    # One entry, by id or by event id.
    by_id = await gateway.get(f"{AUDIT}/{change['id']}", headers=quality)
    by_event = await gateway.get(f"{AUDIT}/{change['event_id']}", headers=quality)
    assert by_id.status_code == by_event.status_code == 200 and by_id.json() == by_event.json() == change
    for missing in ("9223372036854775807", "9999999999999999999", str(uuid.uuid4())):
        response = await gateway.get(f"{AUDIT}/{missing}", headers=quality)
        assert response.status_code == 404 and response.json()["code"] == "audit_entry_not_found", missing

    # By actor, by event type, by time range: ours among them.
    until = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    window = {"since": started.isoformat(), "until": until}
    by_actor = await entries(gateway, f"{AUDIT}/actors/{engineer['username']}", quality)
    assert {change["id"], definition["id"]} <= {e["id"] for e in by_actor}
    assert {e["actor"] for e in by_actor} == {engineer["username"]}
    by_type = await entries(gateway, f"{AUDIT}/event-types/lathe.production.process.changed.v1", quality, **window)
    assert change["id"] in {e["id"] for e in by_type}
    assert {e["event_type"] for e in by_type} == {"lathe.production.process.changed.v1"}
    in_range = await entries(gateway, f"{AUDIT}/time-range", quality, **window)
    assert {change["id"], definition["id"]} <= {e["id"] for e in in_range}
    assert all(started.isoformat() <= e["occurred_at"].replace("Z", "+00:00") < until for e in in_range)

    # The CSV export of a filter.
    exported = await gateway.get(f"{AUDIT}/export", params={"subject": process["id"]}, headers=quality)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [int(r["id"]) for r in rows] == [change["id"], definition["id"]]
    assert '"before": "Test step", "after": "Burn-in 48h"' in rows[0]["changes"]
    assert rows[0]["actor"] == engineer["username"] and "link" not in exported.headers

    # ... a chunk at a time: the next one's URL (relative: the gateway's path) in Link.
    first_chunk = await gateway.get(f"{AUDIT}/export", params={"subject": process["id"], "limit": 1}, headers=quality)
    link = first_chunk.headers["link"]
    assert link.startswith(f"<{AUDIT}/export?") and link.endswith('>; rel="next"'), link
    second_chunk = await gateway.get(link[1 : link.index(">")], headers=quality)
    assert "link" not in second_chunk.headers
    chunks = [list(csv.DictReader(io.StringIO(c.text))) for c in (first_chunk, second_chunk)]
    assert [[int(r["id"]) for r in chunk] for chunk in chunks] == [[change["id"]], [definition["id"]]]


async def test_hostile_parameters_are_refused_with_codes(gateway, accounts):
    _, quality = await signed_in(accounts, "quality")
    now = datetime.now(UTC).isoformat()
    refusals = {
        (AUDIT, "since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z"): "invalid_time_range",
        (AUDIT, f"since={now}&until={now}".replace("+", "%2B")): "invalid_time_range",
        (f"{AUDIT}/time-range", "since=2026-01-01T00:00:00"): "validation_error",  # no zone, no until
        (f"{AUDIT}/time-range", "since=0&until=1"): "validation_error",  # seconds since 1970 are not dates
        (f"{AUDIT}/time-range", "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z"): "invalid_time_range",
        (AUDIT, "subject=" + "x" * 257): "validation_error",
        (AUDIT, "actor=a%00b"): "invalid_value",
        (f"{AUDIT}/subjects/{'s' * 257}", ""): "validation_error",
        (f"{AUDIT}/actors/ann", "since=yesterday"): "validation_error",
        (f"{AUDIT}/event-types/x", "limit=501"): "validation_error",
        (f"{AUDIT}/12345678901234567890", ""): "validation_error",  # beyond 64 bits
        (f"{AUDIT}/not-an-id", ""): "validation_error",
        (f"{AUDIT}/-1", ""): "validation_error",
        (f"{AUDIT}/export", "until=2026-01-01T00:00:00Z&since=2026-06-01T00:00:00Z"): "invalid_time_range",
        (f"{AUDIT}/export", "limit=5001"): "validation_error",
        (f"{AUDIT}/export", "cursor=WyJsb3RzIixbMV1d"): "invalid_cursor",
        (AUDIT, "cursor=WyJsb3RzIixbMV1d"): "invalid_cursor",  # another list's
    }
    for (path, query), code in refusals.items():
        response = await gateway.get(f"{path}?{query}", headers=quality)
        assert response.status_code == 422, (path, query, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, (path, query, response.text)

    operator = bearer(await accounts.token_for("operator"))  # no audit:read
    for path in (AUDIT, f"{AUDIT}/1", f"{AUDIT}/export", f"{AUDIT}/subjects/x", f"{AUDIT}/time-range"):
        denied = await gateway.get(path, headers=operator)
        assert denied.status_code == 403 and denied.json()["code"] == "insufficient_scope", path


async def test_a_user_change_shows_before_and_after_and_no_password_anywhere(gateway, accounts, auth):
    admin = bearer(await accounts.admin_token())
    first_password, reset_password, own_password = "First-Pass-91", "Reset-Pass-92", "Own-Pass-93"
    wrong_password = f"Wrong-{uuid.uuid4().hex[:6]}-9Z"
    user = await accounts.create_user("viewer", password=first_password)
    patched = await auth.patch(
        f"/api/v1/users/{user['id']}",
        json={
            "full_name": "Ann Auditor",
            "role": "quality",
            "email": f"{user['username']}@example.com",
            "password": reset_password,
        },
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    token = (await accounts.login(user["username"], reset_password))["access_token"]
    own = await auth.put(
        "/api/v1/auth/me/password",
        json={"current_password": reset_password, "new_password": own_password},
        headers=bearer(token),
    )
    assert own.status_code == 204, own.text
    failed = await auth.post(
        "/api/v1/auth/login",
        json={"username": user["username"], "password": wrong_password},
        headers={"X-Forwarded-For": new_address()},
    )
    assert failed.status_code == 401
    await accounts.login(user["username"], own_password)

    # created, updated by the admin, logged in, updated by the owner, failed, logged in
    trail = await history(gateway, user["id"], admin, 6)
    updates = [e for e in trail if e["event_type"] == "lathe.auth.user.updated.v1"]
    by_owner, by_admin = updates
    assert by_admin["changes"] == [
        {"field": "email", "before": None, "after": f"{user['username']}@example.com", "recorded": True},
        {"field": "full_name", "before": "Test viewer", "after": "Ann Auditor", "recorded": True},
        {"field": "role", "before": "viewer", "after": "quality", "recorded": True},
        {"field": "password", "before": None, "after": None, "recorded": False},
    ]
    assert by_owner["changes"] == [{"field": "password", "before": None, "after": None, "recorded": False}]
    assert (by_owner["actor"], by_admin["actor"]) == (user["username"], os.environ["LATHE_ADMIN_USERNAME"])

    exported = (await gateway.get(f"{AUDIT}/export", params={"subject": user["id"]}, headers=admin)).text
    for text in (str(trail), exported):
        for secret in (first_password, reset_password, own_password, wrong_password, "$argon2"):
            assert secret not in text, secret


async def test_sign_ins_and_failed_sign_ins_are_audited_no_faster_than_the_lockout(gateway, accounts, auth):
    admin = bearer(await accounts.admin_token())
    threshold = auth_settings.lockout_threshold
    started = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    user = await accounts.create_user("viewer")
    home, guesser, sprayer = new_address(), new_address(), new_address()

    def sign_in(username: str, password: str, address: str):
        return auth.post(
            "/api/v1/auth/login",
            json={"username": username, "password": password},
            headers={"X-Forwarded-For": address},
        )

    assert (await sign_in(user["username"], user["password"], home)).status_code == 200
    for n in range(threshold + 3):  # the last three are refused by the lockout: not counted, not announced
        assert (await sign_in(user["username"], f"Guess-{n}-Wrong", guesser)).status_code == 401
    names = [f"nobody-{uuid.uuid4().hex[:8]}" for _ in range(threshold + 3)]
    for name in names:  # made-up names from one address: as many announced as the lockout counts
        assert (await sign_in(name, "Whatever-1x", sprayer)).status_code == 401
    assert (await sign_in(user["username"], user["password"], home)).status_code == 200

    # The user's sign-in events share a partition: the last one there means every earlier one is in.
    trail = await history(gateway, user["id"], admin, 3 + threshold)
    assert len(trail) == 3 + threshold, [e["event_type"] for e in trail]
    succeeded = [e for e in trail if e["event_type"] == "lathe.auth.login.succeeded.v1"]
    assert trail[0] == succeeded[0]
    assert [(e["actor"], e["data"]["client_address"]) for e in succeeded] == [(user["username"], home)] * 2
    failures = [e for e in reversed(trail) if e["event_type"] == "lathe.auth.login.failed.v1"]
    assert [e["data"]["failures"] for e in failures] == list(range(1, threshold + 1))
    assert {(e["data"]["reason"], e["data"]["client_address"], e["data"]["username"]) for e in failures} == {
        ("wrong_password", guesser, user["username"])
    }
    assert [e["data"]["locked_until"] is not None for e in failures] == [False] * (threshold - 1) + [True]
    assert all(e["actor"] is None for e in failures)

    async def sprayed() -> list[dict] | None:
        failed = await entries(gateway, f"{AUDIT}/event-types/lathe.auth.login.failed.v1", admin, since=started)
        found = [entry for entry in failed if entry["data"]["client_address"] == sprayer]
        return found if len(found) >= threshold else None

    await eventually(sprayed, timeout=30)
    unknown = await sprayed()  # again, after the sign-in that followed them was audited
    assert sorted(e["data"]["username"] for e in unknown) == sorted(names[:threshold])
    assert sorted(e["subject"] for e in unknown) == sorted(f"username:{name}" for name in names[:threshold])
    assert {(e["data"]["reason"], e["data"]["client_address"], e["data"]["user_id"]) for e in unknown} == {
        ("unknown_account", sprayer, None)
    }
    assert "Whatever-1x" not in str(unknown) and "Guess-" not in str(trail)
