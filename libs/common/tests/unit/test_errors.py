import json

from fastapi import FastAPI
from fastapi.testclient import TestClient
from lathe_common.errors import Conflict, NotFound
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
