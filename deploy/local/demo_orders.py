"""The orders side of the demo: a supplier and a customer, a purchase order approved with four eyes
and partly received, a confirmed sales order, and a released work order for it whose LOT production
plans by itself; its units are then worked through the routing (with measurements, one failure),
so work-order progress, the analytics dashboards and an SPC chart have something to show."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta

from demo_client import Demo, call

SUPPLIER, CUSTOMER = "SUP-DEMO-PCB", "CUST-DEMO-CLINIC"
UNITS, FINISHED = 20, 12  # the work order's units; how many go through the whole routing


def load_demo_orders(gateway: str, admin: str, password: str, model: str, routing: list[str]) -> str:
    demo = Demo(gateway)
    status, _ = call(
        "POST",
        f"{gateway}/api/v1/suppliers",
        {"code": SUPPLIER, "name": "Shenzhen Boards Ltd.", "currency": "EUR", "payment_terms_days": 30},
        admin,
    )
    if status == 409:
        return "demo orders already loaded"
    demo.post("/api/v1/customers", {"code": CUSTOMER, "name": "NeuroClinic Berlin", "currency": "EUR"}, admin)
    purchasing, manager = demo.login("demo-purchasing", password), demo.login("demo-manager", password)
    purchase = purchase_order(demo, purchasing, manager)
    sales = demo.post(
        "/api/v1/sales-orders",
        {
            "customer_code": CUSTOMER,
            "currency": "EUR",
            "customer_po_number": "NC-2026-118",
            "lines": [{"model_code": model, "quantity": str(UNITS), "unit_price": "249.00", "tax_rate": "19"}],
        },
        manager,
    )
    demo.act(f"/api/v1/sales-orders/{sales['id']}", "confirm", manager)
    work = work_order(demo, manager, model, sales["lines"][0]["id"])
    lot = planned_lot(demo, manager, work["number"])
    work_through(demo, manager, lot, routing)
    progress = demo.get(f"/api/v1/work-orders/{work['id']}", manager)
    return (
        f"{purchase['number']} (approved, boards partly received), {sales['number']} (confirmed), "
        f"{work['number']} (released; LOT {lot['lot_number']}: {progress['quantity_good']} of {UNITS} good so far)"
    )


def purchase_order(demo: Demo, purchasing: str, manager: str) -> dict:
    """Created and submitted by purchasing, approved by the manager (four eyes), partly received."""
    order = demo.post(
        "/api/v1/purchase-orders",
        {
            "supplier_code": SUPPLIER,
            "currency": "EUR",
            "expected_date": (datetime.now(UTC).date() + timedelta(days=10)).isoformat(),
            "lines": [
                {
                    "item_code": "PCB-NH-2024",
                    "description": "NeuroHub main board, rev C",
                    "quantity": "40",
                    "unit": "EA",
                    "unit_price": "12.80",
                    "tax_rate": "19",
                },
                {
                    "item_code": "IMU-6AX",
                    "description": "6-axis IMU sensor",
                    "quantity": "40",
                    "unit": "EA",
                    "unit_price": "4.35",
                    "tax_rate": "19",
                    "discount_percent": "5",
                },
            ],
        },  # fmt: skip
        purchasing,
    )
    path = f"/api/v1/purchase-orders/{order['id']}"
    demo.act(path, "submit", purchasing)
    demo.act(path, "approve", manager, {})
    receipt = {
        "delivery_note": "DN-SZB-88213",
        "lines": [{"line_no": 1, "quantity": "25", "lot_numbers": ["SZB-2611-A"]}],
    }
    demo.post(f"{path}/receipts", receipt, purchasing)
    return order


def work_order(demo: Demo, manager: str, model: str, sales_order_line: str) -> dict:
    work = demo.post(
        "/api/v1/work-orders",
        {
            "model_code": model,
            "quantity": UNITS,
            "priority": "HIGH",
            "due_date": (datetime.now(UTC).date() + timedelta(days=14)).isoformat(),
            "create_serials": True,
            "sales_order_line_id": sales_order_line,
        },
        manager,
    )
    demo.act(f"/api/v1/work-orders/{work['id']}", "release", manager)
    return work


def planned_lot(demo: Demo, token: str, work_order_number: str) -> dict:
    """Production plans the released work order from its event: wait for the LOT to appear."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lots = demo.get(f"/api/v1/lots?work_order_number={work_order_number}", token)["items"]
        if lots:
            return lots[0]
        time.sleep(0.5)
    raise SystemExit(f"demo: production planned no LOT for {work_order_number} within 60 s (see .run/logs)")


def work_through(demo: Demo, token: str, lot: dict, routing: list[str]) -> None:
    """The first FINISHED units through the whole routing, the next few part-way; measurements
    drawn around their targets (reproducibly), one unit out of its offset limit (it fails)."""
    deadline = time.monotonic() + 60
    while not (units := demo.get(f"/api/v1/serials?lot={lot['id']}&limit=100", token)["items"]):
        if time.monotonic() > deadline:
            raise SystemExit(f"demo: LOT {lot['lot_number']} has no serial numbers after 60 s")
        time.sleep(0.5)
    draw = random.Random(2026)  # noqa: S311 - demo measurements, the same on every machine
    units = sorted(units, key=lambda unit: unit["serial_number"])
    for n, unit in enumerate(units[: FINISHED + 5]):
        steps = routing if n < FINISHED else routing[: 2 + n % 4]
        for process in steps:
            status, answer = call(
                "POST",
                f"{demo.gateway}/api/v1/process-data",
                {
                    "serial_number": unit["serial_number"],
                    "process_code": process,
                    "operator": "demo-operator" if n % 3 else "demo-quality",
                    "equipment_id": "DEMO-LINE-1",
                    "measurements": measurements(process, draw, out_of_limit=n == 7),
                },
                token,
            )
            if status != 201:
                raise SystemExit(f"demo: recording {process} for {unit['serial_number']} failed ({status}): {answer}")
            if answer.get("result") == "FAIL":
                break


def measurements(process: str, draw: random.Random, *, out_of_limit: bool) -> dict:
    if process == "P01_LASER_MARKING":
        return {"marking_depth_mm": round(draw.gauss(0.055, 0.004), 4)}
    if process == "P02_LMA_ASSEMBLY":
        return {"screw_torque_ncm": round(draw.gauss(50.5, 2.2), 2)}
    if process == "P03_SENSOR_INSPECTION":
        return {"offset_mv": 5.8 if out_of_limit else round(draw.gauss(0.6, 0.9), 3)}
    if process == "P06_PERFORMANCE_TEST":
        return {"latency_ms": round(draw.gauss(31, 4), 1), "accuracy_pct": round(draw.gauss(98.2, 0.6), 2)}
    return {}
