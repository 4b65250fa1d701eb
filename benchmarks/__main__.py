"""python -m benchmarks [name ...]: run against the stack of `make up` (env from .run/stack.env)."""

from __future__ import annotations

import sys

from benchmarks import (
    analytics_catchup,
    analytics_freshness,
    analytics_reads,
    analytics_stream,
    audit_trail,
    gateway_overhead,
    genealogy,
    holds,
    ingestion,
    list_pages,
    overload,
    purchase_orders,
    serials,
    traveler_pdf,
    work_order_progress,
)
from benchmarks.report import print_table

BENCHMARKS = {
    "gateway_overhead": gateway_overhead.run,
    "serial_bulk_create": serials.run,
    "genealogy_trace": genealogy.run,
    "machine_ingestion": ingestion.run,
    "list_pages": list_pages.run,
    "purchase_orders": purchase_orders.run,
    "audit_trail": audit_trail.run,
    "overload_1000_connections": overload.run,
    "work_order_progress": work_order_progress.run,
    "hold_by_component": holds.run,
    "analytics_reads": analytics_reads.run,
    "analytics_freshness": analytics_freshness.run,
    "analytics_catch_up": analytics_catchup.run,
    "analytics_stream_freshness": analytics_stream.run,
    "traveler_pdf": traveler_pdf.run,
}


def main() -> None:
    names = sys.argv[1:] or list(BENCHMARKS)
    results = []
    for name in names:
        print(f"running {name} ...", flush=True)
        result = BENCHMARKS[name]()
        print(f"  wrote {result.write()}")
        results.append(result)
    print()
    print_table(results)


if __name__ == "__main__":
    main()
