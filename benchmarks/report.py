"""Writing results: one JSON file per benchmark, and a table on stdout."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / ".run" / "bench"


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    goal: str | None = None
    met: bool | None = None


@dataclass
class Result:
    benchmark: str
    description: str
    figures: list[Figure]
    comparison: dict[str, object] = field(default_factory=dict)
    machine: dict[str, object] = field(
        default_factory=lambda: {
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "system": platform.platform(),
        }
    )
    measured_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def write(self) -> Path:
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{self.benchmark}.json"
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def print_table(results: list[Result]) -> None:
    rows = [("benchmark", "figure", "value", "unit", "goal", "met")]
    for result in results:
        for f in result.figures:
            met = "" if f.met is None else ("yes" if f.met else "NO")
            rows.append(
                (result.benchmark, f.name, f"{f.value:,.3f}".rstrip("0").rstrip("."), f.unit, f.goal or "", met)
            )
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
        if n == 0:
            print("  ".join("-" * w for w in widths))
