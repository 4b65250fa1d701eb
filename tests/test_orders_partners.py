"""Customers and suppliers through the gateway: one rule set for both, deactivated never deleted, CSV."""

from __future__ import annotations

import csv
import io
import uuid

import pytest

from .conftest import bearer

pytestmark = pytest.mark.e2e


@pytest.fixture
async def purchasing(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("purchasing"))


@pytest.mark.parametrize("path", ["/api/v1/customers", "/api/v1/suppliers"])
async def test_a_partner_is_created_found_changed_and_deactivated(gateway, purchasing, path):
    code = f"P-{uuid.uuid4().hex[:8]}"
    body = {
        "code": code,
        "name": "Kim Textiles",
        "currency": "KRW",
        "email": "kim@example.com",
        "payment_terms_days": 45,
    }
    created = await gateway.post(path, json=body, headers=purchasing)
    assert created.status_code == 201, created.text
    assert created.json()["is_active"] is True and created.json()["currency"] == "KRW"
    again = await gateway.post(path, json=body, headers=purchasing)
    noun = path.rsplit("/", 1)[1].removesuffix("s")
    assert again.status_code == 409 and again.json()["code"] == f"{noun}_exists"
    found = await gateway.get(f"{path}/{code}", headers=purchasing)
    assert found.json()["id"] == created.json()["id"]
    assert (await gateway.get(f"{path}/{created.json()['id']}", headers=purchasing)).json()["code"] == code
    changed = await gateway.patch(
        f"{path}/{code}", json={"name": "Kim Textile Co.", "phone": "+82 2 555"}, headers=purchasing
    )
    assert changed.json()["name"] == "Kim Textile Co." and changed.json()["phone"] == "+82 2 555"
    assert (await gateway.patch(f"{path}/{code}", json={"name": None}, headers=purchasing)).status_code == 422
    gone = await gateway.delete(f"{path}/{code}", headers=purchasing)
    assert gone.status_code == 200 and gone.json()["is_active"] is False
    assert (await gateway.get(f"{path}/{code}", headers=purchasing)).json()["is_active"] is False  # kept
    listed = (await gateway.get(path, params={"q": code, "is_active": False}, headers=purchasing)).json()
    assert [p["code"] for p in listed["items"]] == [code] and listed["total"] == 1


async def test_customers_and_suppliers_are_apart_and_codes_may_repeat_across(gateway, purchasing):
    code = f"BOTH-{uuid.uuid4().hex[:8]}"
    for path in ("/api/v1/customers", "/api/v1/suppliers"):
        made = await gateway.post(path, json={"code": code, "name": "Both", "currency": "EUR"}, headers=purchasing)
        assert made.status_code == 201
    missing = await gateway.get(f"/api/v1/customers/{uuid.uuid4()}", headers=purchasing)
    assert missing.status_code == 404 and missing.json()["code"] == "customer_not_found"


@pytest.mark.parametrize("currency", ["XAU", "ZZZ", "eur"])
async def test_a_currency_must_be_iso_4217_with_a_minor_unit(gateway, purchasing, currency):
    answer = await gateway.post(
        "/api/v1/suppliers",
        json={"code": f"C-{uuid.uuid4().hex[:6]}", "name": "X", "currency": currency},
        headers=purchasing,
    )
    assert answer.status_code == 422 and answer.json()["code"] in ("unknown_currency", "validation_error")


async def test_the_list_as_csv_is_every_match_and_never_a_formula(gateway, purchasing):
    tag = uuid.uuid4().hex[:8]
    for n in range(3):
        name = "=SUM(A1:A9)" if n == 0 else f"Supplier {n}"
        await gateway.post(
            "/api/v1/suppliers", json={"code": f"CSV-{tag}-{n}", "name": name, "currency": "EUR"}, headers=purchasing
        )
    answer = await gateway.get(
        "/api/v1/suppliers", params={"q": f"CSV-{tag}", "format": "csv", "limit": 1}, headers=purchasing
    )
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [r["code"] for r in rows] == [f"CSV-{tag}-{n}" for n in range(3)]  # every match, not one page
    assert rows[0]["name"] == "'=SUM(A1:A9)"


async def test_only_those_who_may_write_partners_do(gateway, accounts):
    viewer = bearer(await accounts.token_for("viewer"))
    refused = await gateway.post(
        "/api/v1/customers", json={"code": "V", "name": "V", "currency": "EUR"}, headers=viewer
    )
    assert refused.status_code == 403 and refused.json()["code"] == "insufficient_scope"
    assert (await gateway.get("/api/v1/customers", headers=viewer)).status_code == 200
