"""LOTs and serials through the gateway, with the invariants raced by concurrent requests."""

from __future__ import annotations

import asyncio
import re
import uuid

import pytest

from .conftest import Catalog, bearer

pytestmark = pytest.mark.e2e


@pytest.fixture
async def engineer(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("engineer"))


@pytest.fixture
async def model_code(gateway, engineer) -> str:
    catalog = Catalog(gateway, engineer)
    return await catalog.model(await catalog.processes(2), prefix="LOTM")


async def new_lot(gateway, headers, model_code, **extra) -> dict:
    response = await gateway.post(
        "/api/v1/lots", json={"model_code": model_code, "target_quantity": 100, **extra}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_concurrent_lot_creation_never_repeats_a_number(gateway, engineer, model_code):
    lots = await asyncio.gather(*(new_lot(gateway, engineer, model_code, shift="NIGHT") for _ in range(25)))
    numbers = [lot["lot_number"] for lot in lots]
    assert len(set(numbers)) == 25
    pattern = re.compile(r"^WF-KR-\d{6}N-(\d{3,})$")
    sequences = sorted(int(pattern.match(n).group(1)) for n in numbers)
    assert sequences == list(range(sequences[0], sequences[0] + 25))  # consecutive: no gaps, no repeats
    assert all(lot["status"] == "CREATED" and lot["serial_count"] == 0 for lot in lots)


async def test_lot_capacity_holds_under_concurrent_serial_requests(gateway, engineer, model_code):
    lot = await new_lot(gateway, engineer, model_code, shift="DAY", work_order_number="WO-RACE")

    async def add(count: int):
        return await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": count}, headers=engineer)

    responses = await asyncio.gather(*(add(15) for _ in range(10)))
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    assert len(created) == 6 and len(refused) == 4
    assert {r.json()["code"] for r in refused} == {"lot_full"}

    after = (await gateway.get(f"/api/v1/lots/{lot['lot_number']}", headers=engineer)).json()
    assert after["serial_count"] == 90
    serials = (
        await gateway.get(
            "/api/v1/serials", params={"lot": lot["lot_number"], "limit": 500, "count": "exact"}, headers=engineer
        )
    ).json()
    assert serials["total"] == 90
    assert sorted(s["sequence_in_lot"] for s in serials["items"]) == list(range(1, 91))

    last = await add(11)
    assert last.status_code == 409 and last.json()["remaining"] == 10
    assert (await add(10)).status_code == 201


async def test_given_serial_numbers_are_unique_everywhere(gateway, engineer, model_code):
    lot = await new_lot(gateway, engineer, model_code)
    numbers = [f"SN-{uuid.uuid4().hex[:10]}" for _ in range(3)]
    made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"serial_numbers": numbers}, headers=engineer)
    assert made.status_code == 201 and [s["serial_number"] for s in made.json()["items"]] == numbers

    other = await new_lot(gateway, engineer, model_code)
    clash = await gateway.post(
        f"/api/v1/lots/{other['id']}/serials", json={"serial_numbers": [numbers[1], "SN-fresh-x"]}, headers=engineer
    )
    assert clash.status_code == 409 and clash.json()["serial_numbers"] == [numbers[1]]
    assert (await gateway.get(f"/api/v1/lots/{other['id']}", headers=engineer)).json()["serial_count"] == 0

    one = (await gateway.get(f"/api/v1/serials/{numbers[0]}", headers=engineer)).json()
    assert one["lot_id"] == lot["id"] and one["status"] == "CREATED" and one["rework_count"] == 0


async def test_lot_status_moves_only_along_the_allowed_transitions(gateway, engineer, model_code):
    lot = await new_lot(gateway, engineer, model_code)

    async def move(status: str):
        return await gateway.post(f"/api/v1/lots/{lot['id']}/status", json={"status": status}, headers=engineer)

    wrong = await move("CLOSED")
    assert wrong.status_code == 409 and wrong.json()["code"] == "invalid_status_transition"
    started = await move("IN_PROGRESS")
    assert started.status_code == 200 and started.json()["started_at"]
    assert (await move("COMPLETED")).json()["completed_at"]
    no_more = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": 1}, headers=engineer)
    assert no_more.status_code == 409 and no_more.json()["code"] == "lot_not_open"
    assert (await move("CLOSED")).json()["status"] == "CLOSED"
    assert (await move("CANCELLED")).status_code == 409


async def test_lot_rules_reject_bad_requests_clearly(gateway, engineer, model_code):
    too_big = await gateway.post(
        "/api/v1/lots", json={"model_code": model_code, "target_quantity": 101}, headers=engineer
    )
    assert too_big.status_code == 422 and too_big.json()["code"] == "target_quantity_too_large"
    unknown = await gateway.post(
        "/api/v1/lots", json={"model_code": "NOPE-NOPE", "target_quantity": 5}, headers=engineer
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "product_model_not_found"
    given = f"WF-KR-GIVEN-{uuid.uuid4().hex[:6]}"
    assert (await new_lot(gateway, engineer, model_code, lot_number=given))["lot_number"] == given
    again = await gateway.post(
        "/api/v1/lots", json={"model_code": model_code, "target_quantity": 5, "lot_number": given}, headers=engineer
    )
    assert again.status_code == 409 and again.json()["code"] == "lot_exists"


async def test_lots_filter_by_status_model_work_order_and_date(gateway, engineer, model_code):
    wo = f"WO-{uuid.uuid4().hex[:6]}"
    lot = await new_lot(gateway, engineer, model_code, work_order_number=wo)
    found = (await gateway.get("/api/v1/lots", params={"work_order_number": wo}, headers=engineer)).json()
    assert [x["id"] for x in found["items"]] == [lot["id"]]
    day = lot["production_date"]
    params = {"model_code": model_code, "status": "CREATED", "date_from": day, "date_to": day, "limit": 1}
    page = (await gateway.get("/api/v1/lots", params={**params, "count": "exact"}, headers=engineer)).json()
    assert page["limit"] == 1 and page["total"] >= 1


async def test_the_same_given_lot_number_raced_gives_one_lot_and_conflicts(gateway, engineer, model_code):
    given = f"RACE-{uuid.uuid4().hex[:8]}"
    body = {"model_code": model_code, "target_quantity": 5, "lot_number": given}
    answers = await asyncio.gather(*(gateway.post("/api/v1/lots", json=body, headers=engineer) for _ in range(8)))
    assert sorted(a.status_code for a in answers) == [201] + [409] * 7
    assert all(a.headers["content-type"] == "application/problem+json" for a in answers if a.status_code == 409)
