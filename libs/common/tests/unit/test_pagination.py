"""Page-size, offset and cursor bounds as a client meets them: 422 outside, the value inside.

(Cursor round trips are in test_keyset.py; pages read from PostgreSQL in the integration tests.)
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from lathe_common.errors import install_error_handlers
from lathe_common.keyset import CountMode, CursorDep, CursorPage, CursorParams, KeysetPage
from lathe_common.pagination import MAX_LIMIT, MAX_OFFSET, Page, PageDep, PageParams


@pytest.fixture
def client() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/offset")
    async def offset_page(page: PageDep) -> dict:
        return page.model_dump()

    @app.get("/cursor")
    async def cursor_page(params: CursorDep) -> dict:
        return params.model_dump(mode="json")

    return TestClient(app)


def test_the_bounds_are_500_rows_and_a_million_skipped():
    assert (MAX_LIMIT, MAX_OFFSET) == (500, 1_000_000)


def test_offset_defaults(client):
    assert client.get("/offset").json() == {"limit": 50, "offset": 0}
    assert PageParams() == PageParams(limit=50, offset=0)


@pytest.mark.parametrize(("limit", "status"), [(-1, 422), (0, 422), (1, 200), (499, 200), (500, 200), (501, 422)])
@pytest.mark.parametrize("path", ["/offset", "/cursor"])
def test_page_size_bounds(client, path, limit, status):
    response = client.get(path, params={"limit": limit})
    assert response.status_code == status
    if status == 200:
        assert response.json()["limit"] == limit
    else:
        assert response.json()["code"] == "validation_error"
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]


@pytest.mark.parametrize(
    ("offset", "status"), [(-1, 422), (0, 200), (1, 200), (999_999, 200), (1_000_000, 200), (1_000_001, 422)]
)
def test_offset_bounds(client, offset, status):
    response = client.get("/offset", params={"offset": offset})
    assert response.status_code == status
    if status == 200:
        assert response.json() == {"limit": 50, "offset": offset}
    else:
        assert response.json()["errors"][0]["loc"] == ["query", "offset"]


def test_cursor_defaults(client):
    assert client.get("/cursor").json() == {"limit": 50, "cursor": None, "count": "none"}
    assert CursorParams() == CursorParams(limit=50, cursor=None, count=CountMode.NONE)


@pytest.mark.parametrize(
    ("cursor", "status"),
    [
        ("a", 200),
        ("AZaz09-_", 200),
        ("x" * 1024, 200),
        ("x" * 1025, 422),
        ("abc=", 422),  # padding is never given out
        ("ab+c", 422),  # standard base64 is not URL-safe base64
        ("ab/c", 422),
        ("ab c", 422),
    ],
)
def test_cursor_shape(client, cursor, status):
    response = client.get("/cursor", params={"cursor": cursor})
    assert response.status_code == status
    if status == 200:
        assert response.json()["cursor"] == cursor


@pytest.mark.parametrize(
    ("count", "status"), [("none", 200), ("exact", 200), ("estimate", 200), ("EXACT", 422), ("all", 422)]
)
def test_count_modes(client, count, status):
    response = client.get("/cursor", params={"count": count})
    assert response.status_code == status
    if status == 200:
        assert response.json()["count"] == count


def test_a_keyset_page_answers_with_its_cursor_and_totals():
    page = KeysetPage(rows=["r1", "r2"], next="abc", total=7)
    assert page.answer(["a", "b"], 2) == CursorPage(
        items=["a", "b"], limit=2, next="abc", total=7, estimated_total=None
    )
    estimated = KeysetPage(rows=[], next=None, estimated_total=1234)
    assert estimated.answer([], 50).model_dump() == {
        "items": [],
        "limit": 50,
        "next": None,
        "total": None,
        "estimated_total": 1234,
    }


def test_an_offset_page_model():
    assert Page[int](items=[1], total=1, limit=50, offset=0).model_dump() == {
        "items": [1],
        "total": 1,
        "limit": 50,
        "offset": 0,
    }
