"""Component genealogy: consumption rules and multi-level traces in both directions."""

from __future__ import annotations

import uuid

import pytest

from .conftest import bearer

pytestmark = pytest.mark.e2e


async def test_multi_level_genealogy_traces_both_ways(gateway, accounts):
    engineer = bearer(await accounts.token_for("engineer"))
    model = f"GEN-{uuid.uuid4().hex[:8]}"
    await gateway.post(
        "/api/v1/product-models",
        json={"model_code": model, "model_name": "G", "routing": ["P02_LMA_ASSEMBLY"]},
        headers=engineer,
    )

    async def lot_with(n: int) -> tuple[str, list[str]]:
        lot = (
            await gateway.post("/api/v1/lots", json={"model_code": model, "target_quantity": n}, headers=engineer)
        ).json()
        made = await gateway.post(f"/api/v1/lots/{lot['id']}/serials", json={"count": n}, headers=engineer)
        return lot["lot_number"], [s["serial_number"] for s in made.json()["items"]]

    _, (a, b, c, d) = await lot_with(4)
    screws, _ = await lot_with(1)

    async def consume(parent: str, *components: dict):
        return await gateway.post(
            f"/api/v1/serials/{parent}/components",
            json={"components": list(components), "process_code": "P02_LMA_ASSEMBLY", "operator": "lee"},
            headers=engineer,
        )

    assert (await consume(c, {"serial_number": d})).status_code == 201
    made = await consume(a, {"serial_number": b}, {"serial_number": c}, {"lot_number": screws, "quantity": "5"})
    assert made.status_code == 201, made.text
    assert sorted(x["serial_number"] or x["lot_number"] for x in made.json()["consumed"]) == sorted([b, c, screws])

    backward = (await gateway.get(f"/api/v1/serials/{a}/genealogy", headers=engineer)).json()
    assert backward["units"] == sorted([b, c, d])
    assert {(x["depth"], x["serial_number"] or x["lot_number"]) for x in backward["links"]} == {
        (1, b),
        (1, c),
        (1, screws),
        (2, d),
    }
    forward = (
        await gateway.get(f"/api/v1/serials/{d}/genealogy", params={"direction": "forward"}, headers=engineer)
    ).json()
    assert forward["units"] == sorted([a, c])
    assert [(x["depth"], x["parent_serial_number"]) for x in forward["links"]] == [(1, c), (2, a)]
    recall = (await gateway.get(f"/api/v1/lots/{screws}/genealogy", headers=engineer)).json()
    assert recall["units"] == [a]

    reused = await consume(b, {"serial_number": d})
    assert reused.status_code == 409 and reused.json()["code"] == "component_already_used"
    assert reused.json()["used_in"] == c
    cycle = await consume(d, {"serial_number": a})
    assert cycle.status_code == 409 and cycle.json()["code"] == "component_cycle"
    itself = await consume(b, {"serial_number": b})
    assert itself.status_code == 409 and itself.json()["code"] == "component_cycle"
    unknown = await consume(b, {"lot_number": "NO-SUCH-LOT", "quantity": "1"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_lot"
    half = await consume(b, {"serial_number": c, "quantity": "2"})
    assert half.status_code == 422
