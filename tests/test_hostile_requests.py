"""Hostile HTTP requests through the gateway (and to a service directly): every one gets a 4xx
problem with a stable code, never a 5xx, nothing already stored is changed, and no internal
address reaches the client."""

from __future__ import annotations

import uuid

import httpx
import pytest

from .conftest import SERVICE_PORTS, Catalog, bearer

pytestmark = pytest.mark.e2e

OFFSET_LISTS = ["/api/v1/users", "/api/v1/processes", "/api/v1/product-models"]
CURSOR_LISTS = ["/api/v1/lots", "/api/v1/serials", "/api/v1/process-data", "/api/v1/audit-logs"]


def problem_code(response: httpx.Response) -> str:
    assert response.headers["content-type"] == "application/problem+json", response.text
    return response.json()["code"]


@pytest.fixture
async def admin(accounts) -> dict[str, str]:
    return bearer(await accounts.admin_token())


@pytest.mark.parametrize("path", OFFSET_LISTS)
async def test_offsets_beyond_any_sensible_page_are_refused_on_every_list(gateway, admin, path):
    for offset in (2**64, 2**63, 1_000_001, -1):
        response = await gateway.get(path, params={"offset": offset}, headers=admin)
        assert response.status_code == 422 and problem_code(response) == "validation_error", (offset, response.text)
    assert (await gateway.get(path, params={"offset": 1_000_000, "limit": 1}, headers=admin)).status_code == 200


@pytest.mark.parametrize("path", [*OFFSET_LISTS, *CURSOR_LISTS])
async def test_page_sizes_outside_their_bounds_are_refused(gateway, admin, path):
    for limit in (0, 501, 2**64):
        response = await gateway.get(path, params={"limit": limit}, headers=admin)
        assert response.status_code == 422 and problem_code(response) == "validation_error", (limit, response.text)


@pytest.mark.parametrize("path", CURSOR_LISTS)
async def test_cursors_that_no_list_gave_out_are_refused(gateway, admin, path):
    first = (await gateway.get(path, params={"limit": 1}, headers=admin)).json()
    assert first["next"], "the list has more than one row"
    other = "WyJzb21ldGhpbmctZWxzZSIsWzFdXQ"  # ["something-else",[1]]
    for cursor in ("not base64!", "AAAA", other, first["next"][:-4] + "AAAA", "x" * 2000):
        response = await gateway.get(path, params={"cursor": cursor}, headers=admin)
        assert response.status_code == 422, (cursor, response.text)
        assert problem_code(response) in ("invalid_cursor", "validation_error")
    follows = await gateway.get(path, params={"limit": 1, "cursor": first["next"]}, headers=admin)
    assert follows.status_code == 200 and follows.json()["items"] != first["items"]


async def test_sign_in_without_a_body_or_with_nul_is_a_client_error(auth):
    # Straight to auth: the gateway's per-address login limit (10 a minute, one bucket for every
    # test on this machine) is the subject of tests of its own and would answer 429 here.
    bare = await auth.post("/api/v1/auth/login")
    assert bare.status_code == 422 and problem_code(bare) == "validation_error"
    form = await auth.post(
        "/api/v1/auth/login",
        content=b"username=ad%00min&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 422 and problem_code(form) == "invalid_value"
    too_long = await auth.post("/api/v1/auth/login", json={"username": "admin", "password": "S3cret-" * 100})
    assert too_long.status_code == 422 and "S3cret-" not in too_long.text  # the password is never echoed


async def test_nul_and_non_finite_values_in_a_process_are_refused_and_nothing_changes(gateway, accounts):
    engineer = bearer(await accounts.token_for("engineer"))
    code = f"NUL_{uuid.uuid4().hex[:8].upper()}"
    number = 100_000 + uuid.uuid4().int % 900_000
    hostile = [
        {"process_code": code, "process_number": number, "name": "a\x00b"},
        {"process_code": code, "process_number": number, "name": "ok", "description": "\x00"},
    ]
    for body in hostile:
        response = await gateway.post("/api/v1/processes", json=body, headers=engineer)
        assert response.status_code == 422 and problem_code(response) == "invalid_value", response.text
    raw = b'{"process_code": "%s", "process_number": %d, "name": "n", "quality_criteria": {"x": {"upper_limit": NaN}}}'
    nan = await gateway.post(
        "/api/v1/processes",
        content=raw % (code.encode(), number),
        headers={**engineer, "content-type": "application/json"},
    )
    assert nan.status_code == 422 and problem_code(nan) == "invalid_value"
    assert (await gateway.get(f"/api/v1/processes/{code}", headers=engineer)).status_code == 404

    created = await gateway.post(
        "/api/v1/processes", json={"process_code": code, "process_number": number, "name": "Kept"}, headers=engineer
    )
    assert created.status_code == 201
    patched = await gateway.patch(f"/api/v1/processes/{code}", json={"name": "gone\x00"}, headers=engineer)
    assert patched.status_code == 422 and problem_code(patched) == "invalid_value"
    assert (await gateway.get(f"/api/v1/processes/{code}", headers=engineer)).json()["name"] == "Kept"


async def test_unstorable_step_executions_are_refused_before_the_database(gateway, accounts):
    engineer = bearer(await accounts.token_for("engineer"))
    catalog = Catalog(gateway, engineer)
    process = await catalog.process()
    model = await catalog.model([process], prefix="REST")
    lot = (
        await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": 1}, headers=engineer)
    ).json()
    (unit,) = (await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 1}, headers=engineer)).json()[
        "items"
    ]
    serial = unit["serial_number"]
    step = b'{"serial_number": "%s", "process_code": "%s", "measurements": {"x": %s}}'
    # 1e20 would be stored, but JSONB writes it back as a 21-digit integer no consumer of the event takes
    for value in (b"NaN", b"Infinity", b"-Infinity", b"1e400", b"1" + b"0" * 30, b"1e20", b"-9.3e18"):
        response = await gateway.post(
            "/api/v1/process-data",
            content=step % (serial.encode(), process.encode(), value),
            headers={**engineer, "content-type": "application/json"},
        )
        assert response.status_code == 422 and problem_code(response) == "invalid_value", (value, response.text)
    old = await gateway.post(
        "/api/v1/process-data",
        json={"serial_number": serial, "process_code": process, "started_at": "1900-01-01T00:00:00Z"},
        headers=engineer,
    )
    assert old.status_code == 422 and problem_code(old) == "invalid_value", old.text
    assert (await gateway.get(f"/api/v1/serials/{serial}/history", headers=engineer)).json() == []
    nul_query = await gateway.get("/api/v1/serials", params={"q": "x\x00"}, headers=engineer)
    assert nul_query.status_code == 422 and problem_code(nul_query) == "invalid_value"


async def test_bodies_over_the_limit_get_413_at_the_gateway_and_at_a_service(gateway, admin):
    big = b'{"name": "' + b"x" * (1024 * 1024) + b'"}'
    headers = {**admin, "content-type": "application/json"}
    at_gateway = await gateway.post("/api/v1/processes", content=big, headers=headers)
    assert at_gateway.status_code == 413 and problem_code(at_gateway) == "payload_too_large"
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{SERVICE_PORTS['production']}", timeout=10) as direct:
        at_service = await direct.post("/api/v1/processes", content=big, headers=headers)
    assert at_service.status_code == 413 and problem_code(at_service) == "payload_too_large"


async def test_no_internal_address_reaches_a_client(gateway, admin):
    internal = [f"127.0.0.1:{port}" for name, port in SERVICE_PORTS.items() if name != "gateway"]
    for path in ("/api/v1/lots/", "/api/v1/users/", "/api/v1/audit-logs/", "/api/v1/processes/P01_LASER_MARKING/"):
        response = await gateway.get(path, headers=admin)
        assert response.status_code == 404 and problem_code(response) == "not_found", (path, response.text)
        seen = str(response.headers) + response.text
        assert not any(address in seen for address in internal), (path, seen)
