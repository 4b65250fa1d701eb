"""CSV answers for lists (``?format=csv``): every row the filters match, streamed as it is read.

Rows are written as the database returns them (``AsyncSession.stream``), so an export of a
million lines holds one chunk in memory, not the list. The stream reads in a transaction of its
own, opened when the answer starts and closed when it ends: the request's session is committed
before an answer is sent, so it cannot be the one a streamed answer reads from. Values are written as text: decimals as
they are (never floats), times in ISO 8601 UTC. A cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return) is prefixed with an apostrophe,
so an exported order never executes what someone typed into its notes (CSV injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
CHUNK_ROWS = 500


class ListFormat(StrEnum):
    JSON = "json"
    CSV = "csv"


FormatParam = Annotated[
    ListFormat, Query(alias="format", description="`csv`: every matching row as CSV (limit and cursor ignored)")
]


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    if text.startswith(FORMULA_PREFIXES) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


async def _lines(header: Sequence[str], rows: AsyncIterable[Sequence[Any]]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    async for row in rows:
        writer.writerow([cell(value) for value in row])
        count += 1
        if count % CHUNK_ROWS == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_response(header: Sequence[str], rows: AsyncIterable[Sequence[Any]], *, filename: str) -> StreamingResponse:
    return StreamingResponse(
        _lines(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_export(
    request: Request,
    statement: Select[Any],
    columns: Sequence[str],
    *,
    filename: str,
    extract: Callable[[Any, str], Any] = getattr,
) -> StreamingResponse:
    """Every row of ``statement`` (ORM objects; ``extract`` reads a column of one) as CSV."""
    factory: async_sessionmaker[AsyncSession] = request.app.state.session_factory

    async def rows() -> AsyncIterator[Sequence[Any]]:
        async with factory() as session, session.begin():
            async for item in await session.stream_scalars(statement.execution_options(yield_per=CHUNK_ROWS)):
                yield [extract(item, column) for column in columns]

    return csv_response(columns, rows(), filename=filename)
