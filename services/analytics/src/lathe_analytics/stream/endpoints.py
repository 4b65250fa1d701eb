"""GET /api/v1/analytics/stream: the floor's events as Server-Sent Events.

The stream is exempt from the process's admission control (a slot held for the whole stream
would starve ordinary requests); it has its own limit, STREAM_MAX_CLIENTS per process.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from lathe_common.auth import Principal, requires
from lathe_common.problem_docs import problems

from lathe_analytics.settings import settings
from lathe_analytics.stream.hub import Hub
from lathe_analytics.stream.repository import TableSource
from lathe_analytics.stream.sender import EventStream, StreamStart
from lathe_analytics.stream.wire import (
    INVALID_LAST_EVENT_ID,
    KINDS,
    TOO_MANY_STREAMS,
    UNKNOWN_EVENT_TYPE,
    StreamFilter,
    parse_last_event_id,
)

STREAM_PATH = "/analytics/stream"
router = APIRouter(tags=["analytics"])

_DESCRIPTION = f"""Server-Sent Events (`text/event-stream`), each with `id:` (send the last one back
as `Last-Event-ID` when reconnecting to get exactly what came since), `event:` ({", ".join(KINDS)};
`gap` when events were lost to the retention and the state should be reloaded; `end` before the
server closes: at the token's expiry, on revocation, when the process stops) and its JSON in
`data:`. A comment line comes after {settings.stream_heartbeat_seconds:g} s without events.
The event shapes are in the README (Analytics, realtime stream)."""


@router.get(
    STREAM_PATH,
    response_class=EventStream,
    status_code=200,
    summary="The floor's events as they happen: steps, LOT changes, SPC alerts and a kpi tick (SSE)",
    description=_DESCRIPTION,
    responses={
        200: {"description": "the stream", "content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **problems(UNKNOWN_EVENT_TYPE, INVALID_LAST_EVENT_ID, TOO_MANY_STREAMS),
    },
)
async def stream(
    request: Request,
    principal: Annotated[Principal, requires("analytics:read")],
    types: Annotated[
        str | None, Query(max_length=64, description=f"comma-separated, among {','.join(KINDS)} (default: all)")
    ] = None,
    process_code: Annotated[
        str | None, Query(max_length=100, description="only events of this process (kpi events pass)")
    ] = None,
    model_code: Annotated[
        str | None, Query(max_length=100, description="only events of this product model (kpi events pass)")
    ] = None,
    last_event_id: Annotated[
        str | None, Header(alias="Last-Event-ID", max_length=32, description="the id of the last event received")
    ] = None,
) -> EventStream:
    wanted = StreamFilter.parse(types, process_code, model_code)
    resume = parse_last_event_id(last_event_id)
    hub: Hub = request.app.state.stream_hub
    subscription = hub.subscribe(wanted)
    start = StreamStart(live_from=hub.last_id, resume=resume)  # in the same step as subscribing
    revocations = request.app.state.revocations
    return EventStream(
        hub,
        TableSource(request.app.state.engine),
        subscription,
        start,
        heartbeat_seconds=settings.stream_heartbeat_seconds,
        expires_at=float(principal.expires_at),
        revoked=lambda: revocations.is_revoked(principal.token_id),
    )
