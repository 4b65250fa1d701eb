"""Processes and product models through the gateway, and their events in the audit trail."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest
from lathe_common.testing import eventually

from .conftest import Catalog, bearer

pytestmark = pytest.mark.e2e

DEFAULT_CODES = [
    "P01_LASER_MARKING",
    "P02_LMA_ASSEMBLY",
    "P03_SENSOR_INSPECTION",
    "P04_FIRMWARE_UPLOAD",
    "P05_ROBOT_ASSEMBLY",
    "P06_PERFORMANCE_TEST",
    "P07_LABEL_PRINTING",
    "P08_PACKAGING_VISUAL_INSPECTION",
]


@pytest.fixture
async def engineer(accounts) -> dict[str, str]:
    return bearer(await accounts.token_for("engineer"))


MIGRATION = (
    Path(__file__).resolve().parents[1]
    / "services/production/src/lathe_production/migrations/versions/0002_processes_and_models.py"
)


def installed_by_migration():
    """The migration that installs the defaults, as a module: what a fresh install gets is its
    DEFAULT_PROCESSES, whatever a plant has since changed through the API."""
    spec = importlib.util.spec_from_file_location("production_migration_0002", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def test_a_fresh_install_has_the_eight_default_processes(gateway, engineer):
    migration = installed_by_migration()
    defaults = {code: (number, name, criteria) for number, code, name, criteria in migration.DEFAULT_PROCESSES}
    assert list(defaults) == DEFAULT_CODES
    assert [number for number, _, _ in defaults.values()] == list(range(1, 9))
    assert defaults["P03_SENSOR_INSPECTION"][2] == {
        "offset_mv": {"unit": "mV", "lower_limit": -5, "upper_limit": 5, "target": 0}
    }
    assert defaults["P06_PERFORMANCE_TEST"][2] == {
        "latency_ms": {"unit": "ms", "lower_limit": None, "upper_limit": 50, "target": None},
        "accuracy_pct": {"unit": "%", "lower_limit": 95, "upper_limit": None, "target": None},
    }
    # This stack ran the migration: each default is there with the id and number it wrote, which no
    # request can change (names, limits and is_active are the plant's to edit, so they are not read).
    for code, (number, _, _) in defaults.items():
        found = await gateway.get(f"/api/v1/processes/{code}", headers=engineer)
        assert found.status_code == 200, found.text
        assert found.json()["id"] == str(uuid.uuid5(migration._NS, code))
        assert found.json()["process_number"] == number


async def test_processes_are_defined_and_changed_with_their_criteria_checked(gateway, engineer, accounts):
    code = f"PT_{uuid.uuid4().hex[:8].upper()}"
    number = 10_000 + uuid.uuid4().int % 990_000
    body = {
        "process_code": code,
        "process_number": number,
        "name": "Burn-in",
        "quality_criteria": {"temp_c": {"unit": "°C", "lower_limit": 20, "upper_limit": 80}},
    }
    created = await gateway.post("/api/v1/processes", json=body, headers=engineer)
    assert created.status_code == 201, created.text
    again = await gateway.post("/api/v1/processes", json=body, headers=engineer)
    assert again.status_code == 409 and again.json()["code"] == "process_exists"

    bad = {"quality_criteria": {"temp_c": {"lower_limit": 90, "upper_limit": 80}}}
    rejected = await gateway.patch(f"/api/v1/processes/{code}", json=bad, headers=engineer)
    assert rejected.status_code == 422 and rejected.json()["code"] == "validation_error"

    process_id = created.json()["id"]
    changed = await gateway.patch(f"/api/v1/processes/{process_id}", json={"name": "Burn-in 48h"}, headers=engineer)
    assert changed.status_code == 200 and changed.json()["name"] == "Burn-in 48h"

    viewer = bearer(await accounts.token_for("viewer"))
    denied = await gateway.patch(f"/api/v1/processes/{code}", json={"name": "x"}, headers=viewer)
    assert denied.status_code == 403

    admin = bearer(await accounts.admin_token())

    async def audited() -> list[str]:
        response = await gateway.get("/api/v1/audit-logs", params={"subject": created.json()["id"]}, headers=admin)
        return sorted(e["event_type"] for e in response.json()["items"])

    assert await eventually(lambda: _has_two(audited())) == [
        "lathe.production.process.changed.v1",
        "lathe.production.process.defined.v1",
    ]


async def _has_two(entries):
    found = await entries
    return found if len(found) == 2 else None


async def test_product_models_carry_an_ordered_routing_of_known_active_processes(gateway, engineer):
    code = f"NH-{uuid.uuid4().hex[:8]}"
    first, *routing = await Catalog(gateway, engineer).processes(4)
    body = {
        "model_code": code,
        "model_name": "NeuroHub",
        "category": "Standard",
        "specifications": {"sensor_type": "IMU"},
        "routing": routing,
    }
    created = await gateway.post("/api/v1/product-models", json=body, headers=engineer)
    assert created.status_code == 201, created.text
    assert created.json()["routing"] == routing
    assert (await gateway.post("/api/v1/product-models", json=body, headers=engineer)).json()["code"] == (
        "product_model_exists"
    )

    by_code = (await gateway.get(f"/api/v1/product-models/{code}", headers=engineer)).json()
    assert by_code["id"] == created.json()["id"] and by_code["specifications"] == {"sensor_type": "IMU"}

    rerouted = await gateway.patch(
        f"/api/v1/product-models/{code}", json={"routing": [first, *routing]}, headers=engineer
    )
    assert rerouted.status_code == 200 and rerouted.json()["routing"][0] == first

    unknown = await gateway.patch(
        f"/api/v1/product-models/{code}",
        json={"routing": [f"NO_SUCH_{uuid.uuid4().hex[:8].upper()}"]},
        headers=engineer,
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "process_not_found"
    twice = await gateway.patch(f"/api/v1/product-models/{code}", json={"routing": [first] * 2}, headers=engineer)
    assert twice.status_code == 422

    listed = (await gateway.get("/api/v1/product-models", params={"q": code}, headers=engineer)).json()
    assert listed["total"] == 1 and listed["items"][0]["routing"] == [first, *routing]
    missing = await gateway.get("/api/v1/product-models/no-such-model", headers=engineer)
    assert missing.status_code == 404 and missing.json()["code"] == "product_model_not_found"


async def test_an_inactive_process_cannot_join_a_routing(gateway, engineer):
    code = f"PI_{uuid.uuid4().hex[:8].upper()}"
    number = 10_000 + uuid.uuid4().int % 990_000
    await gateway.post(
        "/api/v1/processes",
        json={"process_code": code, "process_number": number, "name": "Old", "is_active": False},
        headers=engineer,
    )
    refused = await gateway.post(
        "/api/v1/product-models",
        json={"model_code": f"M-{uuid.uuid4().hex[:6]}", "model_name": "M", "routing": [code]},
        headers=engineer,
    )
    assert refused.status_code == 422 and refused.json()["code"] == "inactive_process"
