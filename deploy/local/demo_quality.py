"""The quality side of the demo: a PCB with a BOM and two revisions (the LOT made before the change
keeps revision A), units worked through the routing, two failures with their nonconformance
records, one of them decided REWORK with an electronic signature of the demo quality engineer."""

from __future__ import annotations

from demo_client import Demo, call

PCB_MODEL = "PCB-CTRL-01"
PCB_ROUTING = ["P01_LASER_MARKING", "P02_LMA_ASSEMBLY", "P03_SENSOR_INSPECTION"]
BOM_A = [
    {
        "component_code": "PCB-BARE-CTRL",
        "description": "Bare board, 4 layers",
        "quantity_per_unit": "1",
        "unit": "pcs",
        "process_code": "P01_LASER_MARKING",
    },
    {
        "component_code": "MCU-STM32G4",
        "description": "Microcontroller",
        "quantity_per_unit": "1",
        "unit": "pcs",
        "reference_designators": ["U1"],
        "process_code": "P02_LMA_ASSEMBLY",
    },
    {
        "component_code": "CAP-100N-0402",
        "description": "Capacitor 100 nF 0402",
        "quantity_per_unit": "4",
        "unit": "pcs",
        "reference_designators": ["C1", "C2", "C3", "C4"],
        "process_code": "P02_LMA_ASSEMBLY",
    },
    {
        "component_code": "SOLDER-SAC305",
        "description": "Solder paste SAC305",
        "quantity_per_unit": "0.8",
        "unit": "g",
        "process_code": "P02_LMA_ASSEMBLY",
    },
]
# Revision B: two more decoupling capacitors after a brown-out finding.
BOM_B = [
    *(line for line in BOM_A if line["component_code"] != "CAP-100N-0402"),
    {
        "component_code": "CAP-100N-0402",
        "description": "Capacitor 100 nF 0402",
        "quantity_per_unit": "6",
        "unit": "pcs",
        "reference_designators": ["C1", "C2", "C3", "C4", "C5", "C6"],
        "process_code": "P02_LMA_ASSEMBLY",
    },
]


def load_demo_quality(gateway: str, admin: str, quality: str, quality_password: str) -> str:
    status, _ = call(
        "POST",
        f"{gateway}/api/v1/product-models",
        {
            "model_code": PCB_MODEL,
            "model_name": "Controller board",
            "category": "PCB",
            "traveler_type": "PCB",
            "routing": PCB_ROUTING,
            "bom": BOM_A,
        },
        admin,
    )
    if status == 409:
        return "demo PCB, revisions and NCRs already loaded"
    demo = Demo(gateway)
    lot = demo.post("/api/v1/lots", {"model_code": PCB_MODEL, "target_quantity": 6}, admin)
    units = [u["serial_number"] for u in demo.post(f"/api/v1/lots/{lot['id']}/serials", {"count": 6}, admin)["items"]]
    status, changed = call(
        "PATCH",
        f"{gateway}/api/v1/product-models/{PCB_MODEL}",
        {"bom": BOM_B, "revision_reason": "ECN-118: two more decoupling capacitors (brown-out at cold start)"},
        admin,
    )
    if status != 200:
        raise SystemExit(f"demo: revising {PCB_MODEL} failed ({status}): {changed}")

    def step(unit: str, process: str, **body) -> dict:
        return demo.post(
            "/api/v1/process-data",
            {"serial_number": unit, "process_code": process, "operator": "demo-operator", **body},
            admin,
        )

    failed = []
    for n, unit in enumerate(units):
        for process in PCB_ROUTING[:2]:
            step(unit, process)
        if n < 4:
            step(unit, PCB_ROUTING[2], result="PASS")
        elif n < 6:
            step(unit, PCB_ROUTING[2], result="FAIL", defects=["SOLDER_BRIDGE"] if n == 4 else ["TOMBSTONE"])
            failed.append(unit)
    ncr = demo.get(f"/api/v1/nonconformances?serial_number={failed[0]}", admin)["items"][0]
    reason = "bridge between U1 pins 7-8 reflowed by hand"
    record = f"nonconformance/{ncr['id']}/disposition/REWORK"
    signed = demo.post(
        "/api/v1/auth/signatures",
        {"password": quality_password, "record": record, "meaning": "approved", "reason": reason},
        quality,
    )
    demo.post(
        f"/api/v1/nonconformances/{ncr['id']}/disposition",
        {"disposition": "REWORK", "reason": reason, "meaning": "approved", "signature": signed["signature"]},
        quality,
        expect=200,
    )
    return (
        f"{PCB_MODEL} revisions A and B (LOT {lot['lot_number']} keeps A); NCRs for {failed[0]} (REWORK, signed "
        f"by demo-quality) and {failed[1]} (open): {gateway}/api/v1/nonconformances\n"
        f"                     traveler {gateway}/api/v1/lots/{lot['lot_number']}/traveler.pdf, "
        f"labels .../labels?format=pdf"
    )
