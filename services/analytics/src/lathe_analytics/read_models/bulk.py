"""Writing a batch's rows with one statement of constant text, whatever the batch size.

The rows travel as one array per column and are unnested by PostgreSQL (as the inbox claims its
ids), so the statement is compiled and planned once, not once per batch size, and a batch of
thousands of rows is one round trip. Arrays of arrays cannot travel this way (unnest flattens
them): tables with array columns insert with ``VALUES``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, Table, Uuid, bindparam, func, select
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import TypeEngine


def unnested(
    table: Table,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    types: Mapping[str, TypeEngine[Any]] | None = None,
) -> Select[Any]:
    """``SELECT`` of ``rows`` (tuples in ``columns`` order), typed as ``table``'s columns (or as
    ``types`` says, for values that are not a column as they are)."""
    types = types or {}
    arrays = []
    for n, name in enumerate(columns):
        kind = types.get(name) or table.c[name].type
        values = [row[n] for row in rows]
        if isinstance(kind, Uuid):  # ids travel as text (uuid.UUID objects are slow to make): PostgreSQL parses them
            kind, values = Uuid(as_uuid=False), [None if v is None else str(v) for v in values]
        arrays.append(bindparam(f"rows_{name}", values, type_=ARRAY(kind)))
    values = func.unnest(*arrays).table_valued(*columns).render_derived(name="v")
    return select(*(values.c[name] for name in columns))


async def add_up(
    session: AsyncSession,
    table: Table,
    *,
    keys: Sequence[str],
    added: Sequence[str],
    rows: Iterable[Sequence[Any]],
    replaced: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (``keys``, then ``added``, then ``replaced`` columns); where a row with the
    same keys exists, add the ``added`` columns to it and overwrite the ``replaced`` ones.

    Rows must have distinct keys (PostgreSQL updates a row once per statement); rows are sorted by
    key so that concurrent writers lock shared rows in the same order and never deadlock."""
    ordered = sorted(rows, key=lambda row: tuple(str(v) for v in row[: len(keys)]))
    if not ordered:
        return
    columns = [*keys, *added, *replaced]
    statement = insert(table).from_select(columns, unnested(table, columns, ordered))
    updates = {name: table.c[name] + statement.excluded[name] for name in added}
    updates |= {name: statement.excluded[name] for name in replaced}
    await session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=updates))
