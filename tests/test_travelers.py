"""Travelers and labels (issue 12) through the gateway: a LOT of a line with a BOM, a failed unit
with its NCR, a rework and a hold; the JSON traveler's numbers, the printed traveler read back
with poppler (pdftotext, pdftoppm) and its barcodes decoded with zbarimg, unit labels in ZPL and
PDF, the LOT's labels page by page, and hostile requests answered with codes."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from .conftest import OFFSET_LIMITS, Catalog, bearer
from .quality_kit import OUT_OF_LIMIT, Signer, signer

pytestmark = pytest.mark.e2e

# ZPL's command prefixes and PDF markup in a model's name: neither may break a document.
HOSTILE_NAME = "Board ^XZ~JA_1 <b>&amp; \\ é"


def bom_line(component: str, quantity: str, step: str | None = None) -> dict:
    line = {
        "component_code": component,
        "description": f"{component} part",
        "quantity_per_unit": quantity,
        "unit": "pcs",
    }
    return {**line, "process_code": step} if step else line


@dataclass
class TravelerLine:
    gateway: httpx.AsyncClient
    engineer: dict[str, str]
    quality: Signer
    steps: list[str]  # process codes: marking, inspection, packing
    names: list[str]
    model: str
    screw: str
    board: str

    async def get(self, path: str, **params) -> httpx.Response:
        return await self.gateway.get(path, params=params, headers=self.engineer)

    async def step(self, serial: str, process: str, operator: str, **body) -> None:
        done = await self.gateway.post(
            "/api/v1/process-data",
            json={"serial_number": serial, "process_code": process, "operator": operator, **body},
            headers=self.engineer,
        )
        assert done.status_code == 201, done.text

    async def lot(self, model: str, units: int, target: int | None = None) -> tuple[dict, list[str]]:
        made = await self.gateway.post(
            "/api/v1/lots", json={"model_code": model, "target_quantity": target or units}, headers=self.engineer
        )
        assert made.status_code == 201, made.text
        serials: list[str] = []
        if units:
            created = await self.gateway.post(
                f"/api/v1/lots/{made.json()['id']}/serials", json={"count": units}, headers=self.engineer
            )
            assert created.status_code == 201, created.text
            serials = [s["serial_number"] for s in created.json()["items"]]
        return made.json(), serials


@pytest.fixture
async def line(gateway, accounts) -> TravelerLine:
    engineer = bearer(await accounts.token_for("engineer"))
    catalog = Catalog(gateway, engineer)
    tag = uuid.uuid4().hex[:6]
    names = [f"Marking {tag}", f"Inspection {tag}", f"Packing {tag}"]
    steps = [
        await catalog.process(name=names[0]),
        await catalog.process(OFFSET_LIMITS, name=names[1]),
        await catalog.process(name=names[2]),
    ]
    screw, board = await catalog.model([steps[0]], prefix="SCREW"), await catalog.model([steps[0]], prefix="BOARD")
    model = f"TRV-{tag}"
    created = await gateway.post(
        "/api/v1/product-models",
        json={
            "model_code": model,
            "model_name": HOSTILE_NAME,
            "routing": steps,
            "traveler_type": "PCB",
            "bom": [bom_line(screw, "2", steps[0]), bom_line(board, "1")],
        },
        headers=engineer,
    )
    assert created.status_code == 201, created.text
    return TravelerLine(gateway, engineer, await signer(accounts, "quality"), steps, names, model, screw, board)


async def built_lot(line: TravelerLine) -> tuple[dict, list[str]]:
    """Four units: one passes everything (with its components), one fails inspection (its NCR), one
    is reworked at inspection and passes it, one is held before it starts."""
    marking, inspection, packing = line.steps
    lot, (done, failed, reworked, held) = await line.lot(line.model, 4)
    screws, _ = await line.lot(line.screw, 0, target=100)
    _, (board,) = await line.lot(line.board, 1)
    for unit in (done, failed, reworked):
        await line.step(unit, marking, "ana")
    consumed = await line.gateway.post(
        f"/api/v1/serials/{done}/components",
        json={"components": [{"lot_number": screws["lot_number"], "quantity": "2"}], "process_code": marking},
        headers=line.engineer,
    )
    assert consumed.status_code == 201, consumed.text
    consumed = await line.gateway.post(
        f"/api/v1/serials/{done}/components", json={"components": [{"serial_number": board}]}, headers=line.engineer
    )
    assert consumed.status_code == 201, consumed.text
    await line.step(done, inspection, "ben", measurements={"offset_mv": 1.0})
    await line.step(done, packing, "cho")
    await line.step(failed, inspection, "ben", measurements=OUT_OF_LIMIT, defects=["BRIDGE"])
    await line.step(reworked, inspection, "ben", result="REWORK")
    await line.step(reworked, inspection, "dan", measurements={"offset_mv": 0.5})
    hold = await line.gateway.post(
        f"/api/v1/serials/{held}/hold", json={"reason": "suspect screws"}, headers=line.quality.headers
    )
    assert hold.status_code == 201, hold.text
    now = datetime.now(UTC)

    async def post(path: str, body: dict) -> None:
        answer = await line.gateway.post(path, json=body, headers=line.engineer)
        assert answer.status_code == 201, answer.text

    def ago(minutes: int) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    # Labor: 30 min setting up marking for the LOT, 12 min reworking the reworked unit's inspection.
    await post(
        "/api/v1/labor-entries",
        {
            "operator": "ana",
            "lot": lot["lot_number"],
            "process_code": marking,
            "activity": "SETUP",
            "started_at": ago(90),
            "ended_at": ago(60),
        },
    )
    await post(
        "/api/v1/labor-entries",
        {
            "operator": "dan",
            "serial_number": reworked,
            "process_code": inspection,
            "activity": "REWORK",
            "started_at": ago(40),
            "ended_at": ago(28),
        },
    )
    # Coating at packing, one reading beyond its limits: the LOT's coating FAILED.
    await post(
        "/api/v1/coating-logs",
        {
            "lot": lot["id"],
            "process_code": packing,
            "coating_type": "acrylic",
            "material_lot": "AC-7",
            "thickness_readings_um": [30, 80],
            "thickness_lower_um": 25,
            "thickness_upper_um": 75,
            "cure_temperature_c": 60,
            "cure_minutes": 30,
            "inspector": "ines",
            "applied_at": ago(20),
        },
    )
    return lot, [done, failed, reworked, held]


async def test_the_traveler_counts_what_the_lot_went_through(line):
    lot, (done, failed, _, held) = await built_lot(line)

    answer = await line.get(f"/api/v1/lots/{lot['lot_number']}/traveler")
    assert answer.status_code == 200, answer.text
    traveler = answer.json()
    head = traveler["lot"]
    assert head["lot_number"] == lot["lot_number"] and head["lot_id"] == lot["id"]
    assert (head["model_code"], head["model_name"], head["revision"]) == (line.model, HOSTILE_NAME, "A")
    assert head["traveler_type"] == "PCB" and head["status"] == "IN_PROGRESS" and head["started_at"]
    assert head["target_quantity"] == 4 and head["serial_count"] == 4 and head["on_hold"] is False
    assert traveler["unit_counts"] == {"CREATED": 1, "FAILED": 1, "IN_PROGRESS": 1, "PASSED": 1}
    steps = [
        (s["process_code"], s["process_name"], s["state"], s["units_done"], s["passed"], s["failed"], s["reworked"])
        for s in traveler["steps"]
    ]
    marking, inspection, packing = line.steps
    assert steps == [
        # The failed unit stays past marking; the held one never started.
        (marking, line.names[0], "IN_PROGRESS", 3, 3, 0, 0),
        (inspection, line.names[1], "IN_PROGRESS", 2, 2, 1, 1),
        (packing, line.names[2], "IN_PROGRESS", 1, 1, 0, 0),
    ]
    assert [s["sign_off"]["operator"] for s in traveler["steps"]] == ["ana", "dan", "cho"]
    assert all(s["sign_off"]["at"] for s in traveler["steps"])
    bom = [
        (b["component_code"], b["process_code"], b["planned_quantity"], b["consumed_quantity"]) for b in traveler["bom"]
    ]
    assert bom == [(line.screw, marking, "8", "2"), (line.board, None, "4", "1")]
    assert traveler["unplanned_consumption"] == []
    ncrs = traveler["nonconformances"]
    assert (ncrs["open"], ncrs["closed"]) == (1, 0)
    assert [(n["serial_number"], n["process_code"], n["defect_codes"]) for n in ncrs["items"]] == [
        (failed, inspection, ["BRIDGE"])
    ]
    holds = traveler["holds"]
    assert (holds["active"], holds["released"]) == (1, 0) and holds["items"][0]["serial_number"] == held
    labor = traveler["labor"]
    assert (labor["entries"], labor["minutes"]) == (2, "42.00")
    assert [(t["process_code"], t["activity"], t["entries"], t["minutes"]) for t in labor["totals"]] == [
        (marking, "SETUP", 1, "30.00"),
        (inspection, "REWORK", 1, "12.00"),
    ]
    assert [e["operator"] for e in labor["items"]] == ["dan", "ana"]  # newest first
    coating = traveler["coating"]
    assert (coating["status"], coating["logs_total"]) == ("FAILED", 1)
    assert [(c["process_code"], c["result"]) for c in coating["processes"]] == [(packing, "FAIL")]
    assert "notes" not in traveler  # LOTs have no notes
    # By id as by number.
    assert (await line.get(f"/api/v1/lots/{lot['id']}/traveler")).json()["steps"] == traveler["steps"]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed (the Makefile's SYSTEM_NEEDS installs it: make deps)")
    return path


def read_pdf(document: bytes, folder: Path) -> tuple[str, list[str]]:
    """The PDF's text (pdftotext) and every barcode on its pages (pdftoppm at 200 dpi, zbarimg)."""
    path = folder / "document.pdf"
    path.write_bytes(document)
    text = subprocess.run(
        [tool("pdftotext"), "-layout", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    subprocess.run([tool("pdftoppm"), "-r", "200", "-png", str(path), str(folder / "page")], check=True)
    pages = sorted(str(p) for p in folder.glob("page*.png"))
    scanned = subprocess.run([tool("zbarimg"), "-q", "--raw", *pages], capture_output=True, text=True)
    return text, [code for code in scanned.stdout.splitlines() if code]


async def test_the_printed_traveler_reads_back_with_its_barcode(line, tmp_path):
    lot, serials = await built_lot(line)

    answer = await line.get(f"/api/v1/lots/{lot['lot_number']}/traveler.pdf")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.headers["content-disposition"].startswith(f'attachment; filename="{lot["lot_number"]}.pdf"')
    text, codes = read_pdf(answer.content, tmp_path)
    assert lot["lot_number"] in text
    assert all(name in text for name in line.names), text
    assert "Operator" in text and "Signature" in text and line.screw in text
    assert re.search(r"Labor\s+2 entries, 42 minutes", text) and "SETUP" in text and "REWORK" in text
    assert re.search(r"Coating\s+failed; logs: 1", text), text
    assert codes == [lot["lot_number"]]

    with_units = await line.get(f"/api/v1/lots/{lot['id']}/traveler.pdf", unit_qr="true")
    assert with_units.status_code == 200
    (tmp_path / "units").mkdir()
    _, codes = read_pdf(with_units.content, tmp_path / "units")
    assert sorted(codes) == sorted([lot["lot_number"], *serials])


async def test_a_unit_s_label_in_zpl_and_pdf(line, tmp_path):
    lot, (unit,) = await line.lot(line.model, 1)

    zpl = await line.get(f"/api/v1/serials/{unit}/label", format="zpl")
    assert zpl.status_code == 200, zpl.text
    assert zpl.headers["content-type"] == "text/plain; charset=utf-8"
    assert zpl.headers["content-disposition"].startswith(f'attachment; filename="{unit}.zpl"')
    label = zpl.text
    assert label.startswith("^XA\n") and label.endswith("^XZ\n") and label.count("^XA") == 1
    assert f"^BCN,130,Y,N,N^FH_^FD{unit}^FS" in label
    assert f"^FD{line.model}^FS" in label and lot["production_date"] in label
    # The name's ^ ~ _ and \ are hex-escaped: no command but the label's own.
    assert "^FDBoard _5EXZ_7EJA_5F1 <b>&amp; _5C _C3_A9^FS" in label
    assert re.findall(r"\^XZ", label) == ["^XZ"] and "~" not in label

    pdf = await line.get(f"/api/v1/serials/{unit}/label", format="pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text, codes = read_pdf(pdf.content, tmp_path)
    assert codes == [unit] and line.model in text


async def test_a_lot_s_labels_come_a_page_at_a_time(line, tmp_path):
    lot, serials = await line.lot(line.model, 5)

    first = await line.get(f"/api/v1/lots/{lot['lot_number']}/labels", limit=3)
    assert first.status_code == 200, first.text
    assert first.text.count("^XA") == 3 and all(s in first.text for s in serials[:3])
    following = re.fullmatch(r"<(.+)>; rel=\"next\"", first.headers["link"])
    assert following and "from_sequence=4" in following.group(1) and "limit=3" in following.group(1)
    rest = await line.gateway.get(following.group(1), headers=line.engineer)
    assert rest.status_code == 200 and rest.text.count("^XA") == 2 and serials[4] in rest.text
    assert "link" not in rest.headers

    pdf = await line.get(f"/api/v1/lots/{lot['id']}/labels", format="pdf")
    assert pdf.status_code == 200 and "link" not in pdf.headers
    _, codes = read_pdf(pdf.content, tmp_path)
    assert sorted(codes) == sorted(serials)


HOSTILE = [
    ("/api/v1/lots/NO-SUCH-LOT/traveler", {}, 404, "lot_not_found"),
    (f"/api/v1/lots/{uuid.uuid4()}/traveler.pdf", {}, 404, "lot_not_found"),
    ("/api/v1/lots/NO-SUCH-LOT/labels", {}, 404, "lot_not_found"),
    ("/api/v1/serials/NO-SUCH-UNIT/label", {}, 404, "serial_not_found"),
    ("/api/v1/serials/NO-SUCH-UNIT/label", {"format": "docx"}, 422, "validation_error"),
    ("/api/v1/lots/{lot}/labels", {"format": "ZPL;rm -rf"}, 422, "validation_error"),
    ("/api/v1/lots/{lot}/labels", {"limit": 501}, 422, "validation_error"),
    ("/api/v1/lots/{lot}/labels", {"limit": 0}, 422, "validation_error"),
    ("/api/v1/lots/{lot}/labels", {"from_sequence": -1}, 422, "validation_error"),
    ("/api/v1/lots/{lot}/labels", {"from_sequence": "9" * 30}, 422, "validation_error"),
    ("/api/v1/lots/{lot}/traveler.pdf", {"unit_qr": "maybe"}, 422, "validation_error"),
    ("/api/v1/lots/%E2%80%AE%00x/traveler", {}, 422, "invalid_value"),
    ("/api/v1/lots/" + "L" * 5000 + "/traveler", {}, 404, "lot_not_found"),
    ("/api/v1/serials/%27%3B%20DROP%20TABLE%20serials%3B--/label", {"format": "pdf"}, 404, "serial_not_found"),
]


async def test_hostile_requests_are_refused_with_codes(line):
    lot, _ = await line.lot(line.model, 1)
    wrong = []
    for path, params, status, code in HOSTILE:
        answer = await line.get(path.replace("{lot}", lot["lot_number"]), **params)
        if (answer.status_code, answer.json().get("code")) != (status, code):
            wrong.append(f"{path} {params}: {answer.status_code} {answer.text[:200]}")
    assert not wrong, wrong


async def test_a_lot_beyond_the_last_unit_has_an_empty_label_page(line):
    lot, _ = await line.lot(line.model, 2)
    answer = await line.get(f"/api/v1/lots/{lot['lot_number']}/labels", from_sequence=3)
    assert answer.status_code == 200 and answer.text == "" and "link" not in answer.headers
