"""Merging the services' OpenAPI documents (pure function)."""

from __future__ import annotations

from lathe_common.problem_docs import ProblemCode, problem_schemas, problems
from lathe_gateway.openapi import SECURITY, merge_openapi, schema_renames

# The gateway's own refusals refer to these, whatever the services define.
PROBLEM_SCHEMAS = set(problem_schemas())


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _op(schema: str | None = None, **extra) -> dict:
    operation = {"responses": {"200": {"description": "ok"}}, **extra}
    if schema:
        operation["responses"]["200"]["content"] = {"application/json": {"schema": _ref(schema)}}
    return operation


def _doc(paths: dict, schemas: dict | None = None, **extra) -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "x", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas or {}},
        **extra,
    }


VALIDATION = {
    "ValidationError": {"type": "object", "properties": {"msg": {"type": "string"}}},
    "HTTPValidationError": {
        "type": "object",
        "properties": {"detail": {"type": "array", "items": _ref("ValidationError")}},
    },
}


def _schema_of(document: dict, path: str, method: str = "get") -> str:
    return document["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]


def test_only_api_and_well_known_paths_routed_to_their_service_are_published():
    auth = _doc(
        {
            "/health/live": {"get": _op()},
            "/internal/debug": {"get": _op()},
            "/api/v1/users": {"get": _op()},
            "/.well-known/jwks.json": {"get": _op()},
            "/api/v1/lots": {"get": _op()},  # production's prefix: the gateway would never send it to auth
        }
    )
    production = _doc({"/health/ready": {"get": _op()}, "/api/v1/lots/{lot_id}": {"get": _op()}})

    merged = merge_openapi({"auth": auth, "production": production})

    assert list(merged["paths"]) == ["/.well-known/jwks.json", "/api/v1/lots/{lot_id}", "/api/v1/users"]


def test_identical_schemas_are_shared():
    auth = _doc({"/api/v1/users": {"post": _op("HTTPValidationError")}}, VALIDATION)
    production = _doc({"/api/v1/lots": {"post": _op("HTTPValidationError")}}, VALIDATION)

    merged = merge_openapi({"auth": auth, "production": production})

    assert set(merged["components"]["schemas"]) == {"ValidationError", "HTTPValidationError", *PROBLEM_SCHEMAS}
    assert _schema_of(merged, "/api/v1/users", "post") == "#/components/schemas/HTTPValidationError"


def test_different_schemas_with_one_name_are_renamed_and_refs_rewritten():
    auth = _doc(
        {"/api/v1/users": {"get": _op("Item")}},
        {"Item": {"type": "object", "properties": {"username": {"type": "string"}}}, **VALIDATION},
    )
    production = _doc(
        {"/api/v1/lots": {"get": _op("Item")}},
        {"Item": {"type": "object", "properties": {"lot_number": {"type": "string"}}}, **VALIDATION},
    )

    merged = merge_openapi({"auth": auth, "production": production})
    schemas = merged["components"]["schemas"]

    assert "Item" not in schemas
    assert schemas["auth_Item"]["properties"] == {"username": {"type": "string"}}
    assert schemas["production_Item"]["properties"] == {"lot_number": {"type": "string"}}
    assert _schema_of(merged, "/api/v1/users") == "#/components/schemas/auth_Item"
    assert _schema_of(merged, "/api/v1/lots") == "#/components/schemas/production_Item"
    assert "ValidationError" in schemas and "HTTPValidationError" in schemas  # the identical ones stay shared


def test_same_text_referring_to_renamed_schemas_is_renamed_too():
    page = {"type": "object", "properties": {"items": {"type": "array", "items": _ref("Item")}}}
    auth = _doc({"/api/v1/users": {"get": _op("Page_Item_")}}, {"Item": {"title": "user"}, "Page_Item_": page})
    production = _doc({"/api/v1/lots": {"get": _op("Page_Item_")}}, {"Item": {"title": "lot"}, "Page_Item_": page})

    merged = merge_openapi({"auth": auth, "production": production})
    schemas = merged["components"]["schemas"]

    assert set(schemas) == {
        "auth_Item",
        "production_Item",
        "auth_Page_Item_",
        "production_Page_Item_",
        *PROBLEM_SCHEMAS,
    }
    assert schemas["production_Page_Item_"]["properties"]["items"]["items"] == _ref("production_Item")
    assert schemas["auth_Page_Item_"]["properties"]["items"]["items"] == _ref("auth_Item")
    assert _schema_of(merged, "/api/v1/lots") == "#/components/schemas/production_Page_Item_"


def test_a_new_name_never_overwrites_an_existing_one():
    renames = schema_renames(
        {"auth": {"Item": {"title": "a"}, "auth_Item": {"title": "taken"}}, "orders": {"Item": {"title": "b"}}}
    )
    assert renames["auth"]["Item"] not in {"Item", "auth_Item"}
    assert renames["orders"]["Item"] == "orders_Item"


def test_security_applies_to_everything_but_the_public_endpoints():
    bearer_only = [{"HTTPBearer": []}]
    auth = _doc(
        {
            "/api/v1/auth/login": {"post": _op()},
            "/api/v1/auth/refresh": {"post": _op()},
            "/api/v1/auth/me": {"get": _op(security=bearer_only)},
            "/.well-known/jwks.json": {"get": _op()},
            "/api/v1/users": {"get": _op(), "post": _op(security=bearer_only)},
        }
    )

    merged = merge_openapi({"auth": auth})
    paths = merged["paths"]

    assert merged["security"] == SECURITY
    schemes = merged["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/login"
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    assert paths["/api/v1/auth/refresh"]["post"]["security"] == []
    assert paths["/.well-known/jwks.json"]["get"]["security"] == []
    # A service's own requirement (HTTPBearer only) gives way to the document's, so Authorize covers it.
    for path, method in [("/api/v1/auth/me", "get"), ("/api/v1/users", "get"), ("/api/v1/users", "post")]:
        assert "security" not in paths[path][method], (path, method)


def test_path_level_fields_are_kept_but_not_secured():
    parameters = [{"name": "user_id", "in": "path", "required": True, "schema": {"type": "string"}}]
    auth = _doc({"/api/v1/users/{user_id}": {"parameters": parameters, "get": _op()}})

    item = merge_openapi({"auth": auth})["paths"]["/api/v1/users/{user_id}"]

    assert item["parameters"] == parameters


def test_a_missing_service_is_named_and_the_rest_still_merged():
    auth = _doc({"/api/v1/users": {"get": _op()}}, tags=[{"name": "users"}])
    analytics = _doc({"/api/v1/audit-logs": {"get": _op()}}, tags=[{"name": "users"}, {"name": "audit"}])

    merged = merge_openapi({"auth": auth, "production": None, "analytics": analytics})

    assert "production" in merged["info"]["description"]
    assert "auth" not in merged["info"]["description"].split("**")[-1]
    assert set(merged["paths"]) == {"/api/v1/users", "/api/v1/audit-logs"}
    assert merged["tags"] == [{"name": "users"}, {"name": "audit"}]
    assert merged["openapi"] == "3.1.0"


def test_nothing_available():
    merged = merge_openapi({"auth": None})
    assert merged["paths"] == {}
    assert "auth" in merged["info"]["description"]


def _codes(operation: dict, status: str) -> list[str]:
    response = operation["responses"][status]
    assert list(response["content"]) == ["application/problem+json"]
    return response["content"]["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"]["enum"]


def test_what_the_gateway_answers_itself_is_added_to_every_operation_beside_the_services_codes():
    not_found = problems(ProblemCode(404, "user_not_found", "no such user"))
    auth = _doc(
        {
            "/api/v1/auth/login": {"post": _op()},
            "/api/v1/users/{user_id}": {"get": _op(responses={"200": {"description": "ok"}, **_str_keys(not_found)})},
        }
    )

    merged = merge_openapi({"auth": auth})
    login = merged["paths"]["/api/v1/auth/login"]["post"]
    user = merged["paths"]["/api/v1/users/{user_id}"]["get"]

    for operation in (login, user):
        assert _codes(operation, "429") == ["rate_limited"]
        assert _codes(operation, "413") == ["payload_too_large"]
        assert _codes(operation, "503") == ["overloaded", "upstream_unavailable"]
        assert _codes(operation, "504") == ["upstream_timeout"]
        assert "Retry-After" in operation["responses"]["429"]["headers"]
    assert "401" not in login["responses"]  # public: the gateway checks no token there
    assert _codes(user, "401") == ["missing_token", "invalid_token", "token_expired", "token_revoked"]
    assert _codes(user, "404") == ["user_not_found"]  # the service's own stay as they were
    assert user["responses"]["200"] == {"description": "ok"}
    assert auth["paths"]["/api/v1/users/{user_id}"]["get"]["responses"].keys() == {"200", "404"}  # input untouched


def _str_keys(responses: dict) -> dict:
    return {str(status): response for status, response in responses.items()}
