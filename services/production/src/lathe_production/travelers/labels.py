"""Unit labels, free of storage: ZPL for Zebra printers and PDF, one label per unit.

A label is 4 × 2 inches (812 × 406 dots at 203 dpi; 101.6 × 50.8 mm in PDF): the model code and
name, the serial number as a barcode and in plain text, the LOT number and the production date.

The serial's barcode is Code 128 when it fits the label's width with 0.25 mm modules (2 dots) and
its quiet zones, and the serial is ASCII; otherwise a 2D code, which holds any serial in a square:
DataMatrix in ZPL (``^BX``), QR in PDF (what reportlab draws and common scanners read).

Every text put in a ZPL field goes through ``^FH`` (field hex): the characters that would end or
start a command (``^``, ``~``), the hex indicator itself (``_``), backslash and everything outside
printable ASCII are written as ``_XX``, the bytes of their UTF-8 (``^CI28``). A serial or model
name can therefore never end a field or inject a command into the printer's job. Inside the
barcodes' own data two more characters mean something: ``>`` starts a subset switch in ``^BC`` (so
a serial with one gets the 2D code), and ``~`` starts an escape in ``^BX`` (written ``~d126``,
its escape for the character ``~`` itself).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from reportlab.graphics.barcode import code128, qrencoder
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable

LABEL_WIDTH_DOTS = 812
LABEL_HEIGHT_DOTS = 406
MARGIN_DOTS = 24
MODULE_DOTS = 2  # 0.25 mm at 203 dpi: the narrowest bar every scanner reads
QUIET_MODULES = 10  # each side of a Code 128 symbol
BARCODE_HEIGHT_DOTS = 130
LABEL_WIDTH_MM = 101.6
LABEL_HEIGHT_MM = 50.8
MODULE_MM = 0.25
MAX_TEXT_CHARS = 38  # a 34-dot line across the label; longer names are cut with an ellipsis
# What one request for a LOT's labels may ask for; more units are asked for page by page.
MAX_LABELS_PER_REQUEST = 500
HEX_INDICATOR = "_"
_ZPL_SPECIAL = frozenset("^~_\\")


@dataclass(frozen=True)
class LabelUnit:
    """What a unit's label shows."""

    serial_number: str
    model_code: str
    model_name: str
    lot_number: str
    production_date: date


class Symbology(StrEnum):
    CODE128 = "code128"
    MATRIX = "matrix"  # DataMatrix in ZPL, QR in PDF


def code128_modules(text: str) -> int:
    """Modules of a Code 128 symbol of ``text`` in subset B (the widest case): start, one symbol a
    character, check symbol (11 modules each), stop (13); quiet zones not included."""
    return 11 * (len(text) + 2) + 13


def symbology(serial: str) -> Symbology:
    width = (LABEL_WIDTH_DOTS - 2 * MARGIN_DOTS) // MODULE_DOTS
    fits = code128_modules(serial) + 2 * QUIET_MODULES <= width
    plain = serial.isascii() and serial.isprintable() and ">" not in serial
    return Symbology.CODE128 if fits and plain else Symbology.MATRIX


def label_text(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def zpl_field(text: str) -> str:
    """``text`` as ``^FH`` field data: safe to put between ``^FD`` and ``^FS``."""
    out = []
    for char in text:
        if char in _ZPL_SPECIAL or not (" " <= char <= "~"):
            out.extend(f"{HEX_INDICATOR}{byte:02X}" for byte in char.encode())
        else:
            out.append(char)
    return "".join(out)


def _text(x: int, y: int, height: int, text: str) -> str:
    return f"^FO{x},{y}^A0N,{height},{height}^FH{HEX_INDICATOR}^FD{zpl_field(text)}^FS"


def zpl_label(unit: LabelUnit) -> str:
    m = MARGIN_DOTS
    lines = [
        "^XA",
        "^CI28",  # field data (after ^FH) is UTF-8
        f"^PW{LABEL_WIDTH_DOTS}",
        f"^LL{LABEL_HEIGHT_DOTS}",
        "^LH0,0",
        _text(m, 20, 34, label_text(unit.model_code)),
        _text(m, 60, 26, label_text(unit.model_name, 50)),
    ]
    if symbology(unit.serial_number) is Symbology.CODE128:
        serial = zpl_field(unit.serial_number)
        # Interpretation line printed by the printer below the bars (Y), no check digit shown.
        lines.append(
            f"^FO{m + QUIET_MODULES * MODULE_DOTS},100^BY{MODULE_DOTS},3,{BARCODE_HEIGHT_DOTS}"
            f"^BCN,{BARCODE_HEIGHT_DOTS},Y,N,N^FH{HEX_INDICATOR}^FD{serial}^FS"
        )
    else:
        serial = zpl_field(unit.serial_number.replace("~", "~d126"))
        lines.append(f"^FO{m},100^BXN,6,200^FH{HEX_INDICATOR}^FD{serial}^FS")
        lines.append(_text(m + 230, 150, 26, label_text(unit.serial_number, 36)))
    lines.append(_text(m, 352, 26, f"LOT {label_text(unit.lot_number, 30)}  {unit.production_date.isoformat()}"))
    lines.append("^XZ")
    return "\n".join(lines) + "\n"


def zpl_labels(units: Iterable[LabelUnit]) -> str:
    return "".join(zpl_label(unit) for unit in units)


def pdf_labels(units: Iterable[LabelUnit]) -> bytes:
    """One label-sized page per unit."""
    buffer = io.BytesIO()
    width, height = LABEL_WIDTH_MM * mm, LABEL_HEIGHT_MM * mm
    canvas = Canvas(buffer, pagesize=(width, height), pageCompression=1)
    canvas.setTitle("Labels")
    margin = 4 * mm
    quiet = QUIET_MODULES * MODULE_MM * mm
    pages = 0
    for unit in units:
        pages += 1
        canvas.setFont("Helvetica-Bold", 12)
        canvas.drawString(margin, height - margin - 10, label_text(unit.model_code))
        canvas.setFont("Helvetica", 8)
        canvas.drawString(margin, height - margin - 20, label_text(unit.model_name, 60))
        if symbology(unit.serial_number) is Symbology.CODE128:
            # Bars start after the quiet zone, which the white label provides.
            bars = code128.Code128(unit.serial_number, barWidth=MODULE_MM * mm, barHeight=16 * mm, quiet=0)
            bars.drawOn(canvas, margin + quiet, 14 * mm)
            canvas.setFont("Helvetica", 9)
            canvas.drawString(margin + quiet, 10 * mm, unit.serial_number)
        else:
            side = 26 * mm
            qr_drawing(unit.serial_number, side).drawOn(canvas, margin, 8 * mm)
            canvas.setFont("Helvetica", 8)
            canvas.drawString(margin + side + 2 * mm, 20 * mm, label_text(unit.serial_number, 40))
        canvas.setFont("Helvetica", 8)
        canvas.drawString(margin, 4 * mm, f"LOT {label_text(unit.lot_number, 40)}   {unit.production_date.isoformat()}")
        canvas.showPage()
    if not pages:
        canvas.showPage()  # a PDF has at least one page
    canvas.save()
    return buffer.getvalue()


class QrSymbol(Flowable):
    """A QR code of ``value`` (UTF-8), ``side`` points square with its quiet zone. Encoded once and
    drawn as one path of row runs: reportlab's widget encodes twice and draws a shape per run,
    some six times slower, which a page of unit codes feels."""

    QUIET_MODULES = 4

    def __init__(self, value: str, side: float) -> None:
        super().__init__()
        code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
        code.addData(value)
        code.make()
        self.modules = code.modules
        self.width = self.height = side

    def draw(self) -> None:
        count = len(self.modules)
        box = self.width / (count + 2 * self.QUIET_MODULES)
        path = self.canv.beginPath()
        for r, row in enumerate(self.modules):
            y = self.height - (r + self.QUIET_MODULES + 1) * box
            c = 0
            for dark, run in itertools.groupby(bool(m) for m in row):
                length = len(list(run))
                if dark:
                    path.rect((c + self.QUIET_MODULES) * box, y, length * box, box)
                c += length
        self.canv.drawPath(path, stroke=0, fill=1)


def qr_drawing(value: str, side: float) -> QrSymbol:
    return QrSymbol(value, side)
