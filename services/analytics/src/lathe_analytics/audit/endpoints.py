"""The audit trail's seven read endpoints (scope ``audit:read``): the list with filters, one entry,
the history of one subject, by actor, by event type, by time range, and the CSV export. Lists are
newest first, by cursor; nothing here writes."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse
from lathe_common.auth import requires
from lathe_common.csv_export import csv_export
from lathe_common.db import SessionDep
from lathe_common.keyset import CursorDep, CursorPage
from lathe_common.problem_docs import INVALID_CURSOR, problems
from lathe_common.schema_rules import IsoAwareDateTime

from lathe_analytics.audit.changes import field_changes
from lathe_analytics.audit.models import AuditLog
from lathe_analytics.audit.schemas import AUDIT_ENTRY_NOT_FOUND, INVALID_TIME_RANGE, AuditLogRead
from lathe_analytics.audit.trail import AuditFilter, AuditTrail, export_chunk

router = APIRouter(prefix="/audit-logs", tags=["audit"])

READ = [requires("audit:read")]
MAX_TEXT = 256  # subjects, actors, event types and correlation ids are ids and names, never longer

TextQuery = Annotated[str | None, Query(max_length=MAX_TEXT)]
Since = Annotated[IsoAwareDateTime | None, Query(description="occurred at or after (ISO 8601 with a zone)")]
Until = Annotated[IsoAwareDateTime | None, Query(description="occurred before (ISO 8601 with a zone)")]


def _filter(
    subject: Annotated[str | None, Query(max_length=MAX_TEXT, description="what the event is about (its id)")] = None,
    event_type: Annotated[str | None, Query(max_length=MAX_TEXT, description="e.g. lathe.auth.user.created.v1")] = None,
    actor: Annotated[str | None, Query(max_length=MAX_TEXT, description="the username who caused it")] = None,
    correlation_id: TextQuery = None,
    since: Since = None,
    until: Until = None,
) -> AuditFilter:
    return AuditFilter(subject, event_type, actor, correlation_id, since, until)


FilterDep = Annotated[AuditFilter, Depends(_filter)]


def _time_range(since: Since = None, until: Until = None) -> AuditFilter:
    return AuditFilter(since=since, until=until)


TimeRangeDep = Annotated[AuditFilter, Depends(_time_range)]


async def _page(session: SessionDep, page: CursorDep, where: AuditFilter) -> CursorPage[AuditLogRead]:
    found = await AuditTrail(session).search(page, where)
    return found.answer([AuditLogRead.of(entry) for entry in found.rows], page.limit)


@router.get(
    "",
    response_model=CursorPage[AuditLogRead],
    summary="The audit trail, newest first, filtered",
    dependencies=READ,
    responses=problems(INVALID_TIME_RANGE),
)
async def list_audit_logs(session: SessionDep, page: CursorDep, where: FilterDep) -> CursorPage[AuditLogRead]:
    return await _page(session, page, where)


CSV_COLUMNS = (
    "id",
    "event_id",
    "occurred_at",
    "recorded_at",
    "event_type",
    "source",
    "subject",
    "actor",
    "correlation_id",
    "changes",
    "data",
)


def _csv_value(entry: AuditLog, column: str) -> Any:
    if column == "changes":
        return json.dumps([vars(change) for change in field_changes(entry.data)], default=str, ensure_ascii=False)
    if column == "data":
        return json.dumps(entry.data, ensure_ascii=False)
    return getattr(entry, column)


# An export is read chunk after chunk, by cursor: each request a bounded answer (the gateway holds
# an answer whole before passing it on), a million entries in two hundred requests.
EXPORT_ROWS = 5_000
NEXT_CHUNK = {
    "Link": {
        "description": '`<this URL with ?cursor=...>; rel="next"` while more entries follow; absent on the last chunk',
        "schema": {"type": "string"},
    }
}


@router.get(
    "/export",
    response_class=StreamingResponse,
    summary="The entries the filters match, newest first, as CSV: a chunk at a time",
    dependencies=READ,
    responses={
        200: {
            "description": "CSV, streamed as it is read; the next chunk's URL in `Link`",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": NEXT_CHUNK,
        },
        **problems(INVALID_TIME_RANGE, INVALID_CURSOR),
    },
)
async def export_audit_logs(
    request: Request,
    session: SessionDep,
    where: FilterDep,
    limit: Annotated[int, Query(ge=1, le=EXPORT_ROWS, description="Entries in this chunk")] = 1_000,
    cursor: Annotated[
        str | None,
        Query(max_length=1024, pattern=r"^[A-Za-z0-9_-]+$", description="from the previous chunk's `Link`"),
    ] = None,
) -> StreamingResponse:
    chunk = await export_chunk(AuditTrail(session), where, limit, cursor)
    answer = csv_export(request, chunk.statement, CSV_COLUMNS, filename="audit-log.csv", extract=_csv_value)
    if chunk.next is not None:
        # Relative (path and query): the client knows the gateway's address, never this process's.
        following = request.url.include_query_params(cursor=chunk.next)
        answer.headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return answer


@router.get(
    "/subjects/{subject}",
    response_model=CursorPage[AuditLogRead],
    summary="The history of one subject (a user, process, LOT, order, ...), newest first",
    dependencies=READ,
    responses=problems(INVALID_TIME_RANGE),
)
async def subject_history(
    session: SessionDep,
    page: CursorDep,
    subject: Annotated[str, Path(max_length=MAX_TEXT, description="its id, as events carry it")],
    window: TimeRangeDep,
) -> CursorPage[AuditLogRead]:
    return await _page(session, page, AuditFilter(subject=subject, since=window.since, until=window.until))


@router.get(
    "/actors/{actor}",
    response_model=CursorPage[AuditLogRead],
    summary="What one user did, newest first",
    dependencies=READ,
    responses=problems(INVALID_TIME_RANGE),
)
async def by_actor(
    session: SessionDep,
    page: CursorDep,
    actor: Annotated[str, Path(max_length=MAX_TEXT, description="a username")],
    window: TimeRangeDep,
) -> CursorPage[AuditLogRead]:
    return await _page(session, page, AuditFilter(actor=actor, since=window.since, until=window.until))


@router.get(
    "/event-types/{event_type}",
    response_model=CursorPage[AuditLogRead],
    summary="Entries of one event type, newest first",
    dependencies=READ,
    responses=problems(INVALID_TIME_RANGE),
)
async def by_event_type(
    session: SessionDep,
    page: CursorDep,
    event_type: Annotated[str, Path(max_length=MAX_TEXT, description="e.g. lathe.auth.login.failed.v1")],
    window: TimeRangeDep,
) -> CursorPage[AuditLogRead]:
    return await _page(session, page, AuditFilter(event_type=event_type, since=window.since, until=window.until))


@router.get(
    "/time-range",
    response_model=CursorPage[AuditLogRead],
    summary="Entries that occurred in [since, until), newest first",
    dependencies=READ,
    responses=problems(INVALID_TIME_RANGE),
)
async def by_time_range(
    session: SessionDep,
    page: CursorDep,
    since: Annotated[IsoAwareDateTime, Query(description="occurred at or after (ISO 8601 with a zone)")],
    until: Annotated[IsoAwareDateTime, Query(description="occurred before (ISO 8601 with a zone)")],
) -> CursorPage[AuditLogRead]:
    return await _page(session, page, AuditFilter(since=since, until=until))


@router.get(
    "/{entry_id}",
    response_model=AuditLogRead,
    summary="One entry, by its id or its event's id",
    dependencies=READ,
    responses=problems(AUDIT_ENTRY_NOT_FOUND),
)
async def get_audit_log(
    session: SessionDep,
    entry_id: Annotated[
        str,
        Path(
            pattern=r"^([0-9]{1,19}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$",
            description="the entry's id (a number) or its event's id (a UUID)",
        ),
    ],
) -> AuditLogRead:
    return AuditLogRead.of(await AuditTrail(session).entry(entry_id))
