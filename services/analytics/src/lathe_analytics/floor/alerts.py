"""The latest SPC alerts for realtime status, as the SPC read model stores them.

SPC keeps its alerts in its own tables (``lathe_analytics.spc``) and exposes
``repository.latest_alerts(session, limit)``; this reads through that function only. While the
SPC tables are not migrated yet the list is empty and the answer says why.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

LATEST_ALERTS = 20


async def latest_alerts(session: AsyncSession, limit: int = LATEST_ALERTS) -> tuple[list[dict[str, Any]], str | None]:
    """The newest alerts (newest first) and None, or an empty list and the reason there are none."""
    try:
        from lathe_analytics.spc.repository import latest_alerts as spc_latest_alerts
    except ImportError:
        return [], "SPC alerts are not available in this version"
    # Asked first, so a missing table never aborts the request's transaction.
    if await session.scalar(select(func.to_regclass("analytics.spc_alerts"))) is None:
        return [], "SPC alerts are not stored yet (the SPC migration has not run)"
    return [_alert(a) for a in await spc_latest_alerts(session, limit)], None


def _alert(alert: Any) -> dict[str, Any]:
    return {
        "id": str(alert.id),
        "process_code": alert.process_code,
        "measurement": alert.measurement,
        "rule": alert.rule,
        "centre_line": alert.centre_line,
        "upper_control_limit": alert.upper_control_limit,
        "lower_control_limit": alert.lower_control_limit,
        "points": alert.points,
        "detected_at": alert.detected_at.isoformat(),
    }
