"""The printed traveler, free of storage: an A4 PDF of a traveler (``TravelerRead``).

Page one starts with the LOT number as Code 128 and the header; then the process sequence with
sign-off columns (operator and date filled in from the step's latest execution, when there is one;
the signature box is for the paper sign-off), the BOM with planned against consumed quantities,
and the NCRs and holds the traveler lists. Every page's footer names the LOT and the page.

The document is bounded whatever the LOT's size: it prints what the traveler holds (a routing, a
BOM of at most 500 lines, the newest NCRs and holds), and per-unit QR codes (``unit_qr``) for at
most ``MAX_UNIT_QR_CODES`` units, saying how many more there are and where their labels come from.
Texts are escaped before reportlab's paragraph markup reads them.
"""

from __future__ import annotations

import io
from datetime import datetime
from xml.sax.saxutils import escape

from reportlab.graphics.barcode import code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from lathe_production.travelers.labels import qr_drawing
from lathe_production.travelers.rules import UNIT_QR_PER_PAGE, plain
from lathe_production.travelers.schemas import TravelerRead

_STYLES = getSampleStyleSheet()
_BODY = ParagraphStyle("body", parent=_STYLES["BodyText"], fontSize=8, leading=10)
_SMALL = ParagraphStyle("small", parent=_BODY, fontSize=7, leading=8.5)
_H1 = ParagraphStyle("h1", parent=_STYLES["Heading1"], fontSize=16, leading=20, spaceAfter=2)
_H2 = ParagraphStyle("h2", parent=_STYLES["Heading2"], fontSize=11, leading=14, spaceBefore=8, spaceAfter=4)
_GRID = TableStyle(
    [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        # Plain strings in cells (numbers) would be in reportlab's 10 pt: the body's size instead.
        ("FONT", (0, 1), (-1, -1), "Helvetica", 8),
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 7),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
)
QR_COLUMNS = 6
MAX_DESIGNATOR_CHARS = 80


def _p(text: object, style: ParagraphStyle = _BODY) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)), style)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def render_traveler(traveler: TravelerRead, *, unit_numbers: list[str] | None = None, more_units: int = 0) -> bytes:
    """The traveler as PDF; ``unit_numbers`` (at most ``MAX_UNIT_QR_CODES``) adds their QR codes,
    ``more_units`` says how many of the LOT's units are left out of them."""
    lot = traveler.lot
    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=12 * mm,
        bottomMargin=14 * mm,
        title=f"Traveler {lot.lot_number}",
        author="Lathe",
    )
    width = A4[0] - 24 * mm

    def footer(canvas, doc) -> None:  # noqa: ANN001 - reportlab's page callback
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.drawString(12 * mm, 8 * mm, f"Traveler {lot.lot_number} · generated {_when(traveler.generated_at)}")
        canvas.drawRightString(A4[0] - 12 * mm, 8 * mm, f"page {doc.page}")
        canvas.restoreState()

    story: list = [
        *_head(traveler, width),
        *_steps(traveler),
        *_bom(traveler),
        *_quality(traveler),
        *_labor_and_coating(traveler),
    ]
    if unit_numbers is not None:
        story += _unit_codes(unit_numbers, more_units, lot.lot_number)
    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _head(traveler: TravelerRead, width: float) -> list:
    lot = traveler.lot
    # The number is the title beside it: reportlab's human-readable line overlapped the bars.
    barcode = code128.Code128(lot.lot_number, barWidth=0.4 * mm, barHeight=14 * mm, humanReadable=False)
    title = [_p(f"{lot.traveler_type or 'Production'} traveler", _H1), _p(lot.lot_number, _H2)]
    top = Table([[title, barcode]], colWidths=[width - barcode.width - 4, barcode.width + 4])
    top.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))
    counts = ", ".join(f"{status} {count}" for status, count in traveler.unit_counts.items()) or "none yet"
    fields = [
        ("Model", f"{lot.model_code} — {lot.model_name}"),
        ("Revision", lot.revision),
        ("Work order", lot.work_order_number or "—"),
        ("Status", f"{lot.status.value}{' · ON HOLD' if lot.on_hold else ''}"),
        ("Target quantity", str(lot.target_quantity)),
        ("Units", f"{lot.serial_count} ({counts})"),
        ("Production date", f"{lot.production_date.isoformat()} ({lot.shift.value} shift)"),
        ("Created", _when(lot.created_at)),
        ("Started", _when(lot.started_at)),
        ("Completed", _when(lot.completed_at)),
    ]
    rows = [[_p(label, _SMALL), _p(value)] for label, value in fields]
    pairs = [rows[i] + (rows[i + 1] if i + 1 < len(rows) else ["", ""]) for i in range(0, len(rows), 2)]
    header = Table(pairs, colWidths=[24 * mm, width / 2 - 24 * mm] * 2)
    header.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return [top, Spacer(1, 3 * mm), header]


def _steps(traveler: TravelerRead) -> list:
    rows = [["#", "Process", "State", "Done", "Pass", "Fail", "Rework", "Operator", "Date", "Signature"]]
    for step in traveler.steps:
        signed = step.sign_off
        rows.append(
            [
                str(step.step_no),
                _p(f"{step.process_name} ({step.process_code})"),
                _p(step.state.value.replace("_", " ").lower(), _SMALL),
                str(step.units_done),
                str(step.passed),
                str(step.failed),
                str(step.reworked),
                _p(signed.operator if signed else "", _SMALL),
                _p(_when(signed.at) if signed else "", _SMALL),
                "",
            ]
        )
    widths = [7, 46, 19, 11, 10, 10, 12, 22, 22, 27]
    table = Table(
        rows, colWidths=[w * mm for w in widths], repeatRows=1, rowHeights=[None] + [10 * mm] * (len(rows) - 1)
    )
    table.setStyle(_GRID)
    note = "Operator and date: the step's latest execution as recorded; sign in the box when the step is complete."
    return [_p("Process sequence", _H2), table, _p(note, _SMALL)]


def _bom(traveler: TravelerRead) -> list:
    if not traveler.bom and not traveler.unplanned_consumption:
        return [_p("Bill of materials", _H2), _p("The revision has no BOM.")]
    rows = [["Component", "Description", "Step", "Per unit", "Planned", "Consumed", "Unit"]]
    for line in traveler.bom:
        designators = " ".join(line.reference_designators)
        if len(designators) > MAX_DESIGNATOR_CHARS:
            designators = designators[: MAX_DESIGNATOR_CHARS - 1] + "…"
        description = escape(line.description) + (f"<br/>{escape(designators)}" if designators else "")
        rows.append(
            [
                _p(line.component_code, _SMALL),
                Paragraph(description, _SMALL),
                _p(line.process_code or "any", _SMALL),
                plain(line.quantity_per_unit),
                plain(line.planned_quantity),
                plain(line.consumed_quantity),
                _p(line.unit, _SMALL),
            ]
        )
    for extra in traveler.unplanned_consumption:
        rows.append(
            [
                _p(extra.component_code, _SMALL),
                _p("not on the BOM", _SMALL),
                _p(extra.process_code or "—", _SMALL),
                "—",
                "—",
                plain(extra.consumed_quantity),
                "",
            ]
        )
    table = Table(rows, colWidths=[w * mm for w in (34, 62, 22, 16, 18, 18, 16)], repeatRows=1)
    table.setStyle(_GRID)
    return [_p("Bill of materials", _H2), table]


def _quality(traveler: TravelerRead) -> list:
    ncrs, holds = traveler.nonconformances, traveler.holds
    story: list = [_p("Nonconformances", _H2), _p(f"{ncrs.open} open, {ncrs.closed} dispositioned or closed.")]
    if ncrs.items:
        rows = [["Unit", "Step", "Defects", "Status", "Disposition", "Opened"]]
        rows += [
            [
                _p(n.serial_number, _SMALL),
                _p(f"{n.step_no} {n.process_code}", _SMALL),
                _p(", ".join(n.defect_codes) or "—", _SMALL),
                _p(n.status.value, _SMALL),
                _p(n.disposition.value if n.disposition else "—", _SMALL),
                _p(_when(n.opened_at), _SMALL),
            ]
            for n in ncrs.items
        ]
        table = Table(rows, colWidths=[w * mm for w in (44, 32, 36, 24, 22, 28)], repeatRows=1)
        table.setStyle(_GRID)
        story.append(table)
    story += [_p("Holds", _H2), _p(f"{holds.active} active, {holds.released} released.")]
    if holds.items:
        rows = [["On", "Reason", "Placed", "Released"]]
        rows += [
            [
                _p(h.serial_number or f"LOT {h.lot_number}", _SMALL),
                _p(h.reason, _SMALL),
                _p(f"{_when(h.placed_at)} {h.placed_by or ''}", _SMALL),
                _p(f"{_when(h.released_at)} {h.released_by or ''}" if h.released_at else "active", _SMALL),
            ]
            for h in holds.items
        ]
        table = Table(rows, colWidths=[w * mm for w in (44, 62, 40, 40)], repeatRows=1)
        table.setStyle(_GRID)
        story.append(table)
    return story


def _labor_and_coating(traveler: TravelerRead) -> list:
    labor, coating = traveler.labor, traveler.coating
    entries = f"{labor.entries} {'entry' if labor.entries == 1 else 'entries'}"
    story: list = [_p("Labor", _H2), _p(f"{entries}, {plain(labor.minutes)} minutes.")]
    if labor.totals:
        rows = [["Process", "Activity", "Entries", "Minutes"]]
        rows += [[_p(t.process_code, _SMALL), t.activity, str(t.entries), plain(t.minutes)] for t in labor.totals]
        table = Table(rows, colWidths=[w * mm for w in (70, 40, 30, 30)], repeatRows=1)
        table.setStyle(_GRID)
        story.append(table)
    story += [_p("Coating", _H2), _p(f"{coating.status.value.replace('_', ' ').lower()}; logs: {coating.logs_total}.")]
    if coating.processes:
        rows = [["Process", "Result of its latest log", "Applied"]]
        rows += [
            [_p(c.process_code, _SMALL), c.result.value, _p(_when(c.applied_at), _SMALL)] for c in coating.processes
        ]
        table = Table(rows, colWidths=[w * mm for w in (70, 50, 50)], repeatRows=1)
        table.setStyle(_GRID)
        story.append(table)
    return story


def _unit_codes(numbers: list[str], more: int, lot_number: str) -> list:
    story: list = [PageBreak(), _p("Units", _H2)]
    if more:
        story.append(
            _p(
                f"The first {len(numbers)} units by sequence; {more} more are on their labels "
                f"(GET /api/v1/lots/{lot_number}/labels)."
            )
        )
    side = 24 * mm
    cells = [[qr_drawing(number, side), _p(number, _SMALL)] for number in numbers]
    rows = [cells[i : i + QR_COLUMNS] for i in range(0, len(cells), QR_COLUMNS)]
    if rows:
        rows[-1] += [""] * (QR_COLUMNS - len(rows[-1]))
        per_page = UNIT_QR_PER_PAGE // QR_COLUMNS
        for start in range(0, len(rows), per_page):
            chunk = rows[start : start + per_page]
            table = Table(chunk, colWidths=[31 * mm] * QR_COLUMNS, rowHeights=[31 * mm] * len(chunk))
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (0, 0), (-1, -1), "CENTER")]))
            story.append(table)
    else:
        story.append(_p("The LOT has no units yet."))
    return story
