"""How refusals are documented (lathe_common.problem_docs) and what a 405 says it allows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Query
from fastapi.testclient import TestClient
from lathe_common.auth import PUBLIC, CurrentPrincipal, requires
from lathe_common.csv_export import FormatParam, ListFormat
from lathe_common.errors import PROBLEM_JSON
from lathe_common.http import install_http_plumbing
from lathe_common.keyset import CursorDep
from lathe_common.problem_docs import (
    EVENT_TOO_LARGE,
    PROBLEM_REF,
    ProblemCode,
    add_problems,
    document_problems,
    documented_codes,
    problem_response,
    problems,
)
from pydantic import BaseModel

THING_NOT_FOUND = ProblemCode(404, "thing_not_found", "no thing has that id")
THING_EXISTS = ProblemCode(409, "thing_exists", "a thing with that name exists")
SHARED = {"413": ["payload_too_large"], "500": ["internal_error"]}


class Thing(BaseModel):
    name: str


def _codes(operation: dict) -> dict[str, list[str]]:
    """Per status, the documented codes (every one must be a problem+json response)."""
    found = {}
    for status, response in operation["responses"].items():
        if status.startswith("2"):
            continue
        assert list(response["content"]) == [PROBLEM_JSON], status
        found[status] = [c.code for c in documented_codes(response, int(status))]
    return found


def test_a_problem_response_names_its_status_codes_and_their_meanings():
    response = problem_response(409, [THING_EXISTS, ProblemCode(409, "conflict", "retry")])

    schema = response["content"][PROBLEM_JSON]["schema"]
    assert schema["allOf"][0] == {"$ref": PROBLEM_REF}
    properties = schema["allOf"][1]["properties"]
    assert properties["status"] == {"const": 409}
    assert properties["code"] == {
        "enum": ["thing_exists", "conflict"],
        "x-enum-descriptions": ["a thing with that name exists", "retry"],
    }
    assert response["description"] == (
        "Conflict. `code` is one of:\n\n- `thing_exists`: a thing with that name exists\n- `conflict`: retry"
    )
    assert "headers" not in response
    assert problem_response(429, [ProblemCode(429, "rate_limited", "slow down")])["headers"]["Retry-After"]


def test_problems_group_codes_by_status_once_each():
    declared = problems(THING_NOT_FOUND, THING_EXISTS, THING_NOT_FOUND, EVENT_TOO_LARGE)

    assert list(declared) == [404, 409, 422]
    assert [c.code for c in documented_codes(declared[404], 404)] == ["thing_not_found"]


def test_adding_codes_keeps_what_a_status_documents_and_replaces_other_shapes():
    operation = {
        "responses": {
            "200": {"description": "ok"},
            "404": problem_response(404, [THING_NOT_FOUND]),
            "422": {"description": "Validation Error", "content": {"application/json": {"schema": {}}}},
        }
    }

    add_problems(operation, [ProblemCode(404, "route_not_found", "no route"), THING_NOT_FOUND, EVENT_TOO_LARGE])

    assert _codes(operation) == {"404": ["thing_not_found", "route_not_found"], "422": ["event_too_large"]}
    assert operation["responses"]["200"] == {"description": "ok"}


def _app() -> FastAPI:
    app = FastAPI()
    install_http_plumbing(app, "test")
    readers = APIRouter(prefix="/things")
    writers = APIRouter(prefix="/things")  # the same paths, declared in another router

    @readers.get("", dependencies=[requires("things:read")])
    async def list_things(page: CursorDep, q: Annotated[str | None, Query(max_length=10)] = None) -> list[Thing]:
        return []

    @readers.get("/{thing_id}", dependencies=[requires("things:read")], responses=problems(THING_NOT_FOUND))
    async def get_thing(thing_id: str) -> Thing:
        return Thing(name=thing_id)

    @writers.patch("/{thing_id}", dependencies=[requires("things:write")], responses=problems(THING_NOT_FOUND))
    async def change_thing(thing_id: str, body: Thing) -> Thing:
        return body

    @writers.delete("/{thing_id}", dependencies=[requires("things:write")])
    async def delete_thing(thing_id: str) -> None:
        return None

    @writers.get("/me/own")
    async def mine(principal: CurrentPrincipal) -> Thing:
        return Thing(name=principal.username)

    @writers.post("/hello", dependencies=[PUBLIC], responses=problems(THING_EXISTS))
    async def hello(body: Thing) -> Thing:
        return body

    app.include_router(readers)
    app.include_router(writers)
    document_problems(app)
    return app


def test_every_route_documents_what_its_kind_shares_beside_its_own():
    document = _app().openapi()
    paths = document["paths"]
    signed_in = ["missing_token", "invalid_token", "token_expired", "token_revoked"]

    assert _codes(paths["/things"]["get"]) == {
        "401": signed_in,
        "403": ["insufficient_scope"],
        **SHARED,
        "422": ["invalid_value", "validation_error", "invalid_cursor"],
        "503": ["overloaded"],
    }
    assert _codes(paths["/things/{thing_id}"]["patch"]) == {
        "400": ["bad_request"],
        "401": signed_in,
        "403": ["insufficient_scope"],
        "404": ["thing_not_found"],
        "409": ["conflict"],
        **SHARED,
        "422": ["invalid_value", "validation_error"],
        "503": ["overloaded"],
    }
    # Signed in, no scope: no 403. No parameters: nothing to fail validation but unstorable values.
    assert _codes(paths["/things/me/own"]["get"]) == {
        "401": signed_in,
        **SHARED,
        "422": ["invalid_value"],
        "503": ["overloaded"],
    }
    # Public: no 401 / 403; the route's own 409 beside the shared one.
    assert _codes(paths["/things/hello"]["post"]) == {
        "400": ["bad_request"],
        "409": ["thing_exists", "conflict"],
        **SHARED,
        "422": ["invalid_value", "validation_error"],
        "503": ["overloaded"],
    }
    schemas = document["components"]["schemas"]
    assert {"Problem", "ValidationIssue"} <= set(schemas)
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas  # every 422 is a problem
    assert schemas["Problem"]["required"] == ["type", "title", "status", "detail", "code"]


def test_the_document_is_built_once():
    app = _app()
    assert app.openapi() is app.openapi()


def test_a_405_allows_every_method_of_the_path_across_routers():
    client = TestClient(_app())

    refused = client.request("OPTIONS", "/things/42")
    put = client.put("/things/42")

    # Starlette's own answer names the methods of the first route that matched: GET.
    assert refused.status_code == 405 and refused.headers["allow"] == "DELETE, GET, PATCH"
    assert refused.json()["code"] == "method_not_allowed"
    assert put.status_code == 405 and put.headers["allow"] == "DELETE, GET, PATCH"
    assert client.request("TRACE", "/things").headers["allow"] == "GET"


def test_a_list_that_gives_csv_documents_it_beside_its_json():
    app = FastAPI()
    install_http_plumbing(app, "test")

    @app.get("/things", dependencies=[PUBLIC])
    async def list_things(format: FormatParam = ListFormat.JSON) -> list[Thing]:  # noqa: A002
        return []

    @app.get("/plain", dependencies=[PUBLIC])
    async def plain() -> list[Thing]:
        return []

    document_problems(app)
    paths = app.openapi()["paths"]

    assert set(paths["/things"]["get"]["responses"]["200"]["content"]) == {"application/json", "text/csv"}
    assert set(paths["/plain"]["get"]["responses"]["200"]["content"]) == {"application/json"}
