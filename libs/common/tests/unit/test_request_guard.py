"""The request guard in front of every route: body limits and values PostgreSQL cannot store."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from lathe_common.http import install_http_plumbing

app = FastAPI()
install_http_plumbing(app, "test", max_body_bytes=1024, body_limits={"/big": 4096})


@app.post("/echo")
async def echo(body: dict[str, Any]) -> dict[str, Any]:
    return body


@app.post("/big/echo")
async def big_echo(body: dict[str, Any]) -> dict[str, Any]:
    return {"size": len(body["text"])}


@app.post("/form")
async def form(request: Request) -> dict[str, str]:
    return {"raw": (await request.body()).decode()}


@app.get("/search")
async def search(q: str = "") -> dict[str, str]:
    return {"q": q}


@pytest.fixture
async def client():
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def is_problem(response: httpx.Response, status: int, code: str) -> bool:
    return (
        response.status_code == status
        and response.headers["content-type"] == "application/problem+json"
        and response.json()["code"] == code
    )


@pytest.mark.parametrize(
    ("raw", "loc"),
    [
        (b'{"name": "a\\u0000b"}', ["body", "name"]),
        (b'{"a\\u0000": 1}', ["body", "a\\u0000"]),
        (b'{"m": {"x": NaN}}', ["body", "m", "x"]),
        (b'{"m": [1, Infinity]}', ["body", "m[1]"]),
        (b'{"m": -Infinity}', ["body", "m"]),
        (b'{"m": 1e400}', ["body", "m"]),
        (b'{"m": 9223372036854775808}', ["body", "m"]),
        (b'{"m": -9223372036854775809}', ["body", "m"]),
        (b'{"m": 1.7976931348623157e308}', ["body", "m"]),  # JSONB would make it a 309-digit integer
        (b'{"m": -9.3e18}', ["body", "m"]),
    ],
)
async def test_values_the_database_cannot_store_get_422_invalid_value(client, raw, loc):
    response = await client.post("/echo", content=raw, headers={"content-type": "application/json"})
    assert is_problem(response, 422, "invalid_value"), response.text
    assert response.json()["errors"][0]["loc"] == loc


@pytest.mark.parametrize(
    "raw",
    [
        b'{"m": 9223372036854775807, "n": -9223372036854775808}',  # the edges of 64 bits pass
        b'{"name": "a\\\\u0000b"}',  # an escaped backslash followed by "u0000" is plain text
        b'{"m": 9.2e18, "n": -9.2e18, "o": 1e-300}',
    ],
)
async def test_storable_values_pass_unchanged(client, raw):
    response = await client.post("/echo", content=raw, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


async def test_nul_in_the_query_path_or_a_form_is_refused(client):
    assert is_problem(await client.get("/search", params={"q": "a\x00b"}), 422, "invalid_value")
    assert is_problem(await client.get("/search%00x"), 422, "invalid_value")
    form = await client.post(
        "/form", content=b"username=ad%00min", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert is_problem(form, 422, "invalid_value")
    assert (await client.get("/search", params={"q": "%00 as text"})).json() == {"q": "%00 as text"}


async def test_a_body_over_the_limit_gets_413_whether_declared_or_streamed(client):
    declared = await client.post(
        "/echo", content=b'{"t": "' + b"x" * 2000 + b'"}', headers={"content-type": "application/json"}
    )
    assert is_problem(declared, 413, "payload_too_large")

    async def chunks():
        for _ in range(10):
            yield b" " * 200  # no Content-Length: sent chunked

    streamed = await client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert is_problem(streamed, 413, "payload_too_large")


async def test_the_limit_is_inclusive_and_a_route_can_allow_more(client):
    exactly = b'{"t": "' + b"x" * (1024 - 9) + b'"}'
    assert len(exactly) == 1024
    assert (
        await client.post("/echo", content=exactly, headers={"content-type": "application/json"})
    ).status_code == 200
    one_more = exactly.replace(b'"}', b'x"}')
    response = await client.post("/echo", content=one_more, headers={"content-type": "application/json"})
    assert is_problem(response, 413, "payload_too_large")
    bigger = b'{"text": "' + b"x" * 3000 + b'"}'
    response = await client.post("/big/echo", content=bigger, headers={"content-type": "application/json"})
    assert response.json() == {"size": 3000}
    assert is_problem(
        await client.post("/echo", content=bigger, headers={"content-type": "application/json"}),
        413,
        "payload_too_large",
    )


async def test_json_deeper_than_any_parser_allows_is_a_client_error_not_a_500(client):
    response = await client.post(
        "/echo", content=b"[" * 100_000 + b"]" * 100_000, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500
