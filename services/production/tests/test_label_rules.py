"""Unit labels with no database: ZPL field escaping (a serial or model name can never end a field or
start a command), the choice of barcode by what fits the label, and the PDF's pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from lathe_production.travelers.labels import (
    LABEL_WIDTH_DOTS,
    MARGIN_DOTS,
    MODULE_DOTS,
    QUIET_MODULES,
    LabelUnit,
    Symbology,
    code128_modules,
    label_text,
    pdf_labels,
    symbology,
    zpl_field,
    zpl_label,
    zpl_labels,
)

DAY = date(2026, 11, 30)


def unit(serial: str = "WF-KR-261130D-001-0001", model: str = "PCB-1", name: str = "Main board") -> LabelUnit:
    return LabelUnit(serial, model, name, "WF-KR-261130D-001", DAY)


def commands(zpl: str) -> list[str]:
    """The ZPL commands of a job, in order (^XX or ~XX)."""
    return re.findall(r"[\^~][A-Z@][A-Z0-9@]?", zpl)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("PCB-1 rev.B", "PCB-1 rev.B"),
        ("A^XZ", "A_5EXZ"),
        ("~JA~DG", "_7EJA_7EDG"),
        ("under_score", "under_5Fscore"),
        ("back\\slash", "back_5Cslash"),
        ("é中", "_C3_A9_E4_B8_AD"),
        ("tab\there\nnew", "tab_09here_0Anew"),
        ("^FS^XA^FDinjected", "_5EFS_5EXA_5EFDinjected"),
    ],
)
def test_field_data_hex_escapes_what_zpl_would_read_as_commands(text, field):
    assert zpl_field(text) == field
    assert not set(zpl_field(text)) & {"^", "~", "\\"} and zpl_field(text).isascii()


def test_a_hostile_name_and_serial_leave_the_label_s_commands_as_they_are():
    plain = zpl_label(unit())
    hostile = zpl_label(unit(serial="SN^XZ~JA_1", model="^XA~DGR:X", name="^FS^XZ^XA^PQ999"))
    assert commands(hostile) == commands(plain)
    # Same commands, one job: ^XA first, ^XZ last and only there.
    assert hostile.startswith("^XA\n") and hostile.endswith("^XZ\n") and hostile.count("^XZ") == 1
    assert hostile.count("^XA") == 1 and "^PQ" not in hostile and "~" not in hostile
    # Every field is hex-escaped (^FH_) and UTF-8 (^CI28).
    assert "^CI28" in hostile and hostile.count("^FH_^FD") == hostile.count("^FD") == 4


def test_a_serial_that_fits_is_code_128_with_its_interpretation_line():
    label = zpl_label(unit())
    assert "^BY2,3,130^BCN,130,Y,N,N^FH_^FDWF-KR-261130D-001-0001^FS" in label
    assert "^FDPCB-1^FS" in label and "^FDMain board^FS" in label and "2026-11-30" in label
    assert label.splitlines()[:5] == ["^XA", "^CI28", f"^PW{LABEL_WIDTH_DOTS}", "^LL406", "^LH0,0"]


def test_code_128_is_used_up_to_the_label_s_width_then_datamatrix():
    room = (LABEL_WIDTH_DOTS - 2 * MARGIN_DOTS) // MODULE_DOTS - 2 * QUIET_MODULES
    longest = max(n for n in range(1, 100) if code128_modules("X" * n) <= room)
    assert longest == 29
    assert symbology("X" * longest) is Symbology.CODE128
    assert symbology("X" * (longest + 1)) is Symbology.MATRIX
    long_label = zpl_label(unit(serial="X" * 80))
    assert "^BXN,6,200^FH_^FD" + "X" * 80 + "^FS" in long_label and "^BC" not in long_label


@pytest.mark.parametrize("serial", ["SN-é-1", "SN>5-1", "SN\u00a0x"])
def test_serials_code_128_cannot_carry_get_the_2d_code(serial):
    # Not ASCII, or ``>`` (a subset switch inside ^BC data), or not printable.
    assert symbology(serial) is Symbology.MATRIX


def test_datamatrix_data_writes_tilde_as_its_own_escape():
    label = zpl_label(unit(serial="SN~1" + "X" * 40))
    assert "^BXN,6,200^FH_^FDSN_7Ed1261" + "X" * 40 + "^FS" in label


def test_long_texts_are_cut_to_the_label():
    assert label_text("A" * 38) == "A" * 38
    assert label_text("A" * 39) == "A" * 37 + "…"
    assert "^FD" + "N" * 49 + "_E2_80_A6^FS" in zpl_label(unit(name="N" * 200))


def test_a_lot_s_labels_are_one_job_each_and_no_units_is_no_label():
    labels = zpl_labels([unit(f"SN-{n}") for n in range(3)])
    assert labels.count("^XA") == 3 == labels.count("^XZ")
    assert zpl_labels([]) == ""


def test_pdf_labels_are_a_page_each_and_never_empty():
    three = pdf_labels([unit(f"SN-{n}", name="<b>&amp;") for n in range(3)] + [unit("é" * 80)])
    assert three.startswith(b"%PDF-") and three.count(b"/Type /Page\n") == 4
    assert pdf_labels([]).count(b"/Type /Page\n") == 1
