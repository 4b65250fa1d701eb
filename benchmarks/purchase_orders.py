"""Purchase orders at volume: creating 10,000 orders of 10 lines each through a gateway (documents
per second, p50 / p99 of a creation), then reading the list and its filters with 1M order lines
stored (goal: p99 under 50 ms each).

Requests go through a gateway process of the benchmark's own (the stack's rate limits out of the
way) to an orders process of its own (the API only, on the stack's database and broker: the
stack's is restarted as people work). Creations come from ``WORKERS`` clients at once, each
creating one order after another: every creation prices ten lines, claims a number (the counter's
row is locked until the creating transaction commits, so creations queue there), writes the
order, its lines and its event.

The list's data set is written by PostgreSQL itself (``INSERT ... SELECT generate_series``, the
superuser's session with foreign-key triggers off: consistent by construction): 100,000 orders of
10 lines from 100 suppliers over two years, numbered ``BENCH-PO-...`` so the PO- counter is left
alone, with the statuses, receipt states and expected dates spread as a plant's would be. It is
kept and reused. Reads are one request at a time (a read's own cost, not its wait in a queue), and
each is made again by the service's own query code in this process ("query alone": the database
and the ORM without the gateway, HTTP and JSON), so a figure taken on a busy machine says where
its time went. The load average before and after is in the description.
"""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, date, datetime

import asyncpg
import httpx
from lathe_common.db import create_engine, create_session_factory
from lathe_common.keyset import CursorParams
from lathe_orders.fulfilment import ReceiptState
from lathe_orders.lifecycles import PurchaseOrderStatus
from lathe_orders.purchase_orders import queries
from lathe_orders.purchase_orders.queries import KEYSETS, Sort
from lathe_orders.purchase_orders.service import PurchaseOrders
from lathe_orders.purchase_orders.views import order_read, order_summary

from benchmarks.report import Figure, Result
from benchmarks.stack import admin_token, bench_gateway, extra_process, percentile

PORT = 18090
ORDERS_PORT = 18094
ORDERS = 10_000
LINES = 10
WORKERS = 32
DATA_ORDERS = 100_000  # x 10 lines: 1M order lines
SUPPLIERS = 100
SAMPLES = 300
PAGE = 50
PREFIX = "BENCH-PO"
START = datetime(2024, 1, 1, tzinfo=UTC)


def _order(supplier: str, n: int) -> dict:
    return {
        "supplier_code": supplier,
        "currency": "EUR",
        "notes": f"benchmark order {n}",
        "lines": [
            {
                "item_code": f"MAT-{k:03d}",
                "description": f"Material {k}",
                "quantity": str(10 + k),
                "unit": "KG",
                "unit_price": f"{1 + k / 7:.4f}",
                "tax_rate": "19",
                "discount_percent": "2.5" if k % 3 == 0 else "0",
            }
            for k in range(LINES)
        ],
    }


async def _create_all(url: str, headers: dict[str, str], supplier: str) -> tuple[list[float], float]:
    timings: list[float] = []
    numbers: set[str] = set()
    queue = iter(range(ORDERS))
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as client:
        await client.post("/api/v1/purchase-orders", json=_order(supplier, -1))  # warm

        async def worker() -> None:
            for n in queue:
                started = time.perf_counter()
                response = await client.post("/api/v1/purchase-orders", json=_order(supplier, n))
                timings.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                numbers.add(response.json()["number"])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(WORKERS)))
        elapsed = time.perf_counter() - started
    assert len(numbers) == ORDERS, "numbers repeated"
    return timings, elapsed


async def _bench_orders(conn: asyncpg.Connection) -> int:
    return int(await conn.fetchval("SELECT count(*) FROM orders.purchase_orders WHERE number LIKE $1", f"{PREFIX}-%"))


async def _write_data_set(conn: asyncpg.Connection) -> float:
    """The 100,000 orders and their 1M lines, unless they are there; returns seconds spent."""
    if await _bench_orders(conn) >= DATA_ORDERS:
        return 0.0
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(
            "DELETE FROM orders.purchase_order_lines l USING orders.purchase_orders o "
            "WHERE l.purchase_order_id = o.id AND o.number LIKE $1",
            f"{PREFIX}-%",
        )
        await conn.execute("DELETE FROM orders.purchase_orders WHERE number LIKE $1", f"{PREFIX}-%")
        await conn.execute(
            """INSERT INTO orders.partners (id, kind, code, name, currency)
               SELECT gen_random_uuid(), 'SUPPLIER', $1 || '-S-' || lpad(s::text, 3, '0'), 'Bench supplier ' || s, 'EUR'
               FROM generate_series(1, $2) AS s
               ON CONFLICT (kind, code) DO NOTHING""",
            PREFIX,
            SUPPLIERS,
        )
        # Statuses and receipt states as a plant's spread: mostly approved, some in each other state.
        await conn.execute(
            """WITH suppliers AS (
                   SELECT array_agg(id ORDER BY code) AS ids FROM orders.partners
                   WHERE kind = 'SUPPLIER' AND code LIKE $1 || '-S-%'
               ), new_orders AS (
                   INSERT INTO orders.purchase_orders (id, number, status, receipt_state, supplier_id, currency,
                       expected_date, notes, created_by, created_at, updated_at, version)
                   SELECT gen_random_uuid(), $1 || '-' || lpad(n::text, 7, '0'),
                          (ARRAY['DRAFT','SUBMITTED','APPROVED','APPROVED','APPROVED','APPROVED','APPROVED',
                                 'APPROVED','CLOSED','CANCELLED'])[n % 10 + 1],
                          CASE WHEN n % 10 BETWEEN 2 AND 7 THEN
                               (ARRAY['NOT_RECEIVED','PARTIALLY_RECEIVED','RECEIVED'])[n % 3 + 1]
                               WHEN n % 10 = 8 THEN 'RECEIVED' ELSE 'NOT_RECEIVED' END,
                          (SELECT ids FROM suppliers)[n % $2 + 1], 'EUR',
                          ($3::timestamptz + n * interval '10 minutes')::date + 14 + n % 30,
                          'bench order ' || n, 'bench', $3::timestamptz + n * interval '10 minutes',
                          $3::timestamptz + n * interval '10 minutes', 1
                   FROM generate_series(1, $4) AS n
                   RETURNING id
               )
               INSERT INTO orders.purchase_order_lines (id, purchase_order_id, line_no, item_code, description,
                   quantity, unit, unit_price, tax_rate, amount, tax)
               SELECT gen_random_uuid(), o.id, k, 'MAT-' || lpad(k::text, 3, '0'), 'Material ' || k,
                      10 + k, 'KG', 1 + k / 8.0, 19, round((10 + k) * (1 + k / 8.0), 2),
                      round(round((10 + k) * (1 + k / 8.0), 2) * 0.19, 2)
               FROM new_orders o CROSS JOIN generate_series(1, $5) AS k""",
            PREFIX,
            SUPPLIERS,
            START,
            DATA_ORDERS,
            LINES,
        )
        await conn.execute(
            """UPDATE orders.purchase_orders o SET subtotal = t.subtotal, tax_total = t.tax_total,
                      total = t.subtotal + t.tax_total
               FROM (SELECT purchase_order_id, sum(amount) AS subtotal, sum(tax) AS tax_total
                     FROM orders.purchase_order_lines GROUP BY purchase_order_id) t
               WHERE t.purchase_order_id = o.id AND o.number LIKE $1""",
            f"{PREFIX}-%",
        )
    await conn.execute("ANALYZE orders.purchase_orders; ANALYZE orders.purchase_order_lines; ANALYZE orders.partners")
    return time.perf_counter() - started


class _Row:
    def __init__(self, record: asyncpg.Record) -> None:
        self.__dict__.update(dict(record))


async def _prepare(dsn: str) -> tuple[float, int, str, str]:
    """Writes the data set if needed; returns its seconds, the order lines stored, a deep cursor
    (90 % into the newest-first list) and one of the data set's order numbers."""
    conn = await asyncpg.connect(dsn)
    try:
        seconds = await _write_data_set(conn)
        lines = int(await conn.fetchval("SELECT count(*) FROM orders.purchase_order_lines"))
        total = int(await conn.fetchval("SELECT count(*) FROM orders.purchase_orders"))
        deep = await conn.fetchrow(
            "SELECT created_at, id FROM orders.purchase_orders ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1",
            int(total * 0.9),
        )
        # Half-way through the data set: a search for it reads half the list before it finds it.
        number = f"{PREFIX}-{DATA_ORDERS // 2:07d}"
        return seconds, lines, KEYSETS[Sort.NEWEST].cursor_of(_Row(deep)), number
    finally:
        await conn.close()


def _reads(deep_cursor: str, number: str) -> dict[str, tuple[str, dict[str, str]]]:
    base = "/api/v1/purchase-orders"
    return {
        "first page": (base, {}),
        "page 90% deep": (base, {"cursor": deep_cursor}),
        "status=SUBMITTED": (base, {"status": "SUBMITTED"}),
        "supplier": (base, {"supplier": f"{PREFIX}-S-042"}),
        "receipt_state=PARTIALLY_RECEIVED": (base, {"receipt_state": "PARTIALLY_RECEIVED"}),
        "supplier + status": (base, {"supplier": f"{PREFIX}-S-042", "status": "APPROVED"}),
        "expected date range (a month)": (base, {"expected_from": "2025-03-01", "expected_to": "2025-03-31"}),
        "created date range (a week)": (base, {"created_from": "2025-06-01", "created_to": "2025-06-07"}),
        "sort=number": (base, {"sort": "number"}),
        "q (one order's number, half-way down)": (base, {"q": number}),
        "one order with its lines": (f"{base}/{number}", {}),
    }


def _measure(client: httpx.Client, path: str, params: dict[str, str]) -> list[float]:
    query = ({"limit": str(PAGE)} if path.endswith("orders") else {}) | params
    client.get(path, params=query).raise_for_status()  # warm
    print(f"  reading {path} {params}", flush=True)
    timings = []
    for _ in range(SAMPLES):
        started = time.perf_counter()
        response = client.get(path, params=query)
        timings.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return timings


async def _query_timings(reads: dict[str, tuple[str, dict[str, str]]]) -> dict[str, list[float]]:
    """The same reads as the service's own code makes them (queries.search, PurchaseOrders.find and
    the answer's model), in this process on the service's database role, without HTTP: what a read
    costs the database and the ORM, apart from the gateway, the service's event loop and JSON."""
    engine = create_engine(os.environ["LATHE_ORDERS_DATABASE_URL"], pool_size=1)
    factory = create_session_factory(engine)
    found: dict[str, list[float]] = {}
    try:
        for name, (path, params) in reads.items():
            timings = []
            for _ in range(SAMPLES + 1):  # the first warms
                started = time.perf_counter()
                async with factory() as session, session.begin():
                    if path.endswith("purchase-orders"):
                        cursor = CursorParams(limit=PAGE, cursor=params.get("cursor"))
                        page = await queries.search(
                            PurchaseOrders(session),
                            cursor,
                            _filters(params),
                            queries.Sort(params.get("sort", "-created_at")),
                            "UTC",
                        )
                        [order_summary(order) for order in page.rows]
                    else:
                        order_read(await PurchaseOrders(session).find(path.rsplit("/", 1)[1]))
                timings.append((time.perf_counter() - started) * 1000)
            found[name] = timings[1:]
    finally:
        await engine.dispose()
    return found


def _filters(params: dict[str, str]) -> queries.Filters:
    day = {key: date.fromisoformat(value) for key, value in params.items() if key.endswith(("_from", "_to"))}
    return queries.Filters(
        status=PurchaseOrderStatus(params["status"]) if "status" in params else None,
        supplier=params.get("supplier"),
        receipt_state=ReceiptState(params["receipt_state"]) if "receipt_state" in params else None,
        q=params.get("q"),
        **day,
    )


def run() -> Result:
    dsn = os.environ["DATABASE_URL"]
    load_before = os.getloadavg()
    headers = {"Authorization": f"Bearer {admin_token()}"}
    generation, lines, deep_cursor, number = asyncio.run(_prepare(dsn))
    # An orders process of the benchmark's own (API only): the stack's is restarted as people work.
    with (
        extra_process("lathe_orders", ORDERS_PORT, consumers_enabled="false") as orders_url,
        bench_gateway(PORT, orders_url=orders_url) as url,
    ):
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            supplier = f"{PREFIX}-S-001"
            reads = {
                name: _measure(client, path, params) for name, (path, params) in _reads(deep_cursor, number).items()
            }
        queried = asyncio.run(_query_timings(_reads(deep_cursor, number)))
        # A fresh token: access tokens live 15 minutes, the reads above may have taken some of them.
        fresh = {"Authorization": f"Bearer {admin_token()}"}
        timings, elapsed = asyncio.run(_create_all(url, fresh, supplier))
    rate = ORDERS / elapsed
    figures = [
        Figure("created per second", rate, "documents/s"),
        Figure("creation p50", percentile(timings, 50), "ms"),
        Figure("creation p99", percentile(timings, 99), "ms"),
    ]
    for name, values in reads.items():
        p99 = percentile(values, 99)
        figures.append(Figure(f"{name} p99", p99, "ms", "< 50", p99 < 50))
        figures.append(Figure(f"{name}: query alone p99", percentile(queried[name], 99), "ms"))
    return Result(
        benchmark="purchase_orders",
        description=f"GET /purchase-orders (limit {PAGE}) and its filters, and one order, {SAMPLES} sequential "
        f"requests each through a gateway with {lines:,} order lines stored (and the same reads by the service's "
        f"query code in-process, without HTTP: 'query alone'); then POST /purchase-orders, {ORDERS:,} orders "
        f"of {LINES} lines from {WORKERS} clients at once. Load average before / after: {load_before} / "
        f"{os.getloadavg()} (on {os.cpu_count()} cores)",
        figures=figures,
        comparison={
            "creation_seconds": elapsed,
            "order_lines_stored": lines,
            "data_set_generation_seconds": generation,
            "reads_p50_ms": {name: percentile(values, 50) for name, values in reads.items()},
            "queries_p50_ms": {name: percentile(values, 50) for name, values in queried.items()},
        },
    )
