import json

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lathe_common import context
from lathe_common.errors import (
    PROBLEM_JSON,
    Conflict,
    Forbidden,
    InvalidInput,
    LatheError,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    install_error_handlers,
    problem,
    problem_from,
)
from lathe_common.http import install_http_plumbing
from pydantic import BaseModel

app = FastAPI()
install_http_plumbing(app, "test")


class Body(BaseModel):
    quantity: int


@app.post("/things")
async def make_thing(body: Body) -> dict:
    if body.quantity > 100:
        raise Conflict("The lot is full.", code="lot_full", capacity=100)
    raise NotFound("No such thing.")


@app.get("/boom")
async def boom() -> dict:
    raise RuntimeError("secret internals")


client = TestClient(app, raise_server_exceptions=False)


def test_domain_error_becomes_problem_json_with_stable_code():
    response = client.post("/things", json={"quantity": 101}, headers={"X-Request-ID": "req-42"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"] == "req-42"
    body = response.json()
    assert body["code"] == "lot_full"
    assert body["status"] == 409
    assert body["capacity"] == 100
    assert body["request_id"] == "req-42"


def test_validation_error_has_the_same_shape():
    response = client.post("/things", json={"quantity": "many"})
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert body["errors"][0]["loc"] == ["body", "quantity"]


def test_unknown_route_and_method_are_problems_too():
    assert client.get("/nowhere").json()["code"] == "not_found"
    assert client.delete("/things").json()["code"] == "method_not_allowed"


def test_unexpected_error_is_500_without_internals():
    response = client.get("/boom")
    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
    assert "secret internals" not in response.text


def test_request_id_is_generated_when_missing():
    response = client.post("/things", json={"quantity": 1})
    assert len(response.headers["x-request-id"]) == 32


def test_a_problem_renders_whatever_its_extra_members_hold():
    from datetime import date
    from decimal import Decimal

    from lathe_common.errors import problem

    response = problem(
        422,
        "validation_error",
        "Invalid",
        "x",
        errors=[{"input": b"\xff\x00raw"}],
        at=date(2026, 1, 2),
        q=Decimal("1.5"),
    )
    body = json.loads(response.body)
    assert body["errors"] == [{"input": "\ufffd\x00raw"}] and body["at"] == "2026-01-02" and body["q"] == "1.5"


# --- each error class, and the handlers as installed on a fresh app --------------------------------


@pytest.mark.parametrize(
    ("error", "status", "code", "title"),
    [
        (LatheError, 400, "bad_request", "Bad request"),
        (InvalidInput, 422, "invalid_input", "Invalid input"),
        (NotFound, 404, "not_found", "Not found"),
        (Conflict, 409, "conflict", "Conflict"),
        (Unauthorized, 401, "unauthorized", "Unauthorized"),
        (Forbidden, 403, "forbidden", "Forbidden"),
        (TooManyRequests, 429, "rate_limited", "Too many requests"),
        (ServiceUnavailable, 503, "service_unavailable", "Service unavailable"),
    ],
)
def test_each_error_class_has_its_status_code_and_title(error, status, code, title):
    raised = error("what went wrong")
    assert (raised.status, raised.code, raised.title, raised.detail) == (status, code, title, "what went wrong")
    assert str(raised) == "what went wrong"
    assert raised.extra == {} and raised.persist_changes is False
    assert isinstance(raised, LatheError) and isinstance(raised, Exception)


def test_an_error_may_name_its_own_code_keep_changes_and_carry_members():
    raised = Conflict("full", code="lot_full", persist_changes=True, capacity=100)
    assert (raised.status, raised.code, raised.persist_changes, raised.extra) == (
        409,
        "lot_full",
        True,
        {"capacity": 100},
    )
    assert Conflict("x").code == "conflict"  # the override stays on the instance


def test_a_problem_body():
    response = problem(409, "lot_full", "Conflict", "The lot is full.", capacity=100)
    assert response.status_code == 409 and response.media_type == PROBLEM_JSON == "application/problem+json"
    assert json.loads(response.body) == {
        "type": "https://lathe.dev/problems/lot_full",
        "title": "Conflict",
        "status": 409,
        "detail": "The lot is full.",
        "code": "lot_full",
        "capacity": 100,
    }


def test_a_problem_carries_the_request_id_and_headers():
    token = context.request_id.set("req-7")
    try:
        response = problem(429, "rate_limited", "Too many requests", "Slow down.", headers={"Retry-After": "3"})
    finally:
        context.request_id.reset(token)
    assert json.loads(response.body)["request_id"] == "req-7"
    assert response.headers["retry-after"] == "3"
    assert "request_id" not in json.loads(problem(400, "x", "X", "x").body)


def test_the_problem_of_a_domain_error_moves_its_headers_out_of_the_body():
    error = TooManyRequests("Slow down.", code="account_locked", headers={"Retry-After": "60"}, attempts=5)
    response = problem_from(error, {"X-Extra": "1"})
    body = json.loads(response.body)
    assert response.status_code == 429
    assert (response.headers["retry-after"], response.headers["x-extra"]) == ("60", "1")
    assert body["code"] == "account_locked" and body["attempts"] == 5 and "headers" not in body
    assert body["title"] == "Too many requests" and body["detail"] == "Slow down."
    assert error.extra == {"headers": {"Retry-After": "60"}, "attempts": 5}  # the error itself is left as it was
    assert problem_from(error, {"Retry-After": "1"}).headers["retry-after"] == "1"  # the caller's headers win


def test_the_problem_of_an_error_without_headers_has_none():
    response = problem_from(NotFound("No such LOT.", code="lot_not_found"))
    assert "retry-after" not in response.headers and response.status_code == 404


def test_members_a_json_encoder_refuses_are_rendered_as_text():
    body = json.loads(problem(422, "x", "X", "x", a=b"ok", b=bytearray(b"\xff"), c={3}, d=(1, 2), e=frozenset()).body)
    assert body["a"] == "ok" and body["b"] == "\ufffd" and body["c"] == [3] and body["d"] == [1, 2] and body["e"] == []
    assert problem(422, "x", "X", "é").body.decode("utf-8").count("é") == 1  # not escaped
    assert b", " not in problem(400, "x", "X", "x", a=[1, 2]).body  # compact


@pytest.fixture
def handled() -> TestClient:
    from sqlalchemy.exc import IntegrityError
    from starlette.exceptions import HTTPException

    fresh = FastAPI()
    install_error_handlers(fresh)

    @fresh.get("/status/{status}")
    async def refuse(status: int) -> dict:
        raise HTTPException(status, detail=f"refused with {status}", headers={"X-Why": "test"})

    @fresh.get("/integrity")
    async def integrity() -> dict:
        raise IntegrityError("INSERT", {}, Exception("duplicate key"))

    @fresh.get("/domain")
    async def domain() -> dict:
        raise InvalidInput("Bad value.", code="invalid_value", field="x")

    @fresh.get("/bug")
    async def bug() -> dict:
        raise KeyError("internals")

    @fresh.post("/typed")
    async def typed(body: Body) -> dict:
        return {}

    return TestClient(fresh, raise_server_exceptions=False)


@pytest.mark.parametrize(
    ("status", "code", "title"),
    [
        (400, "bad_request", "Bad request"),
        (401, "unauthorized", "Unauthorized"),
        (403, "forbidden", "Forbidden"),
        (404, "not_found", "Not found"),
        (405, "method_not_allowed", "Method not allowed"),
        (406, "not_acceptable", "Not acceptable"),
        (409, "conflict", "Conflict"),
        (413, "payload_too_large", "Payload too large"),
        (415, "unsupported_media_type", "Unsupported media type"),
        (429, "rate_limited", "Too many requests"),
        (418, "http_error", "HTTP error"),
        (502, "http_error", "HTTP error"),
    ],
)
def test_http_errors_become_problems_with_a_code_per_status(handled, status, code, title):
    response = handled.get(f"/status/{status}")
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-why"] == "test"
    body = response.json()
    assert (body["code"], body["title"], body["detail"], body["status"]) == (
        code,
        title,
        f"refused with {status}",
        status,
    )
    assert body["type"] == f"https://lathe.dev/problems/{code}"


def test_a_domain_error_through_the_handler(handled):
    response = handled.get("/domain")
    assert response.status_code == 422
    assert response.json() == {
        "type": "https://lathe.dev/problems/invalid_value",
        "title": "Invalid input",
        "status": 422,
        "detail": "Bad value.",
        "code": "invalid_value",
        "field": "x",
    }


def test_a_constraint_violation_is_a_conflict_to_retry(handled):
    response = handled.get("/integrity")
    assert response.status_code == 409
    body = response.json()
    assert (body["code"], body["title"]) == ("conflict", "Conflict")
    assert body["detail"] == "A concurrent change conflicts with this request; retry it."
    assert "duplicate key" not in response.text


def test_an_unexpected_error_through_the_handler(handled):
    response = handled.get("/bug")
    assert response.status_code == 500
    body = response.json()
    assert (body["code"], body["title"]) == ("internal_error", "Internal error")
    assert body["detail"] == "An unexpected error occurred; it has been logged."
    assert "internals" not in response.text


def test_a_validation_error_lists_each_problem(handled):
    response = handled.post("/typed", json={"quantity": "many"})
    assert response.status_code == 422
    body = response.json()
    assert (body["code"], body["title"], body["detail"]) == (
        "validation_error",
        "Invalid request",
        "The request is not valid.",
    )
    assert body["errors"] == [
        {
            "loc": ["body", "quantity"],
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "type": "int_parsing",
        }
    ]
    assert handled.post("/typed", json={}).json()["errors"] == [
        {"loc": ["body", "quantity"], "msg": "Field required", "type": "missing"}
    ]


def test_a_405_allows_every_method_any_route_of_the_path_takes():
    fresh = FastAPI()
    install_error_handlers(fresh)

    @fresh.get("/things/{thing_id}")
    async def read(thing_id: int) -> dict:
        return {}

    @fresh.post("/things")
    async def make() -> dict:
        return {}

    @fresh.patch("/things/{thing_id}")  # the same path, declared apart
    async def change(thing_id: int) -> dict:
        return {}

    response = TestClient(fresh).delete("/things/1")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, PATCH"
    assert response.json()["code"] == "method_not_allowed"


def test_the_problem_schema_documents_optional_members_as_absent_not_null():
    from lathe_common.errors import Problem

    properties = Problem.model_json_schema()["properties"]
    assert "default" not in properties["request_id"] and "default" not in properties["errors"]


def test_an_extra_member_named_like_a_standard_one_is_logged_and_left_out(caplog):
    with caplog.at_level("WARNING", logger="lathe_common.errors"):
        body = json.loads(problem(409, "lot_full", "Conflict", "full", detail="mine", instance="i", size=2).body)
    assert body["detail"] == "full" and "instance" not in body and body["size"] == 2
    assert [r.getMessage() for r in caplog.records if r.name == "lathe_common.errors"] == [
        "problem lot_full: extra member 'detail' clashes with a standard one and is left out",
        "problem lot_full: extra member 'instance' clashes with a standard one and is left out",
    ]
