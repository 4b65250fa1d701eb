"""Every table of the analytics service, for Alembic."""

from lathe_analytics.audit.models import AuditLog
from lathe_analytics.floor.models import FLOOR_TABLES
from lathe_analytics.read_models.models import ReadModelSkip, ReadModelState
from lathe_analytics.spc.models import SpcAlert, SpcAlertPoint, SpcChart, SpcPoint, SpcProcess
from lathe_analytics.stream.models import StreamEntry, StreamState
from lathe_analytics.tables import Base, plumbing
from lathe_analytics.traveler_reports.models import TRAVELER_REPORT_TABLES

__all__ = [
    "FLOOR_TABLES",
    "TRAVELER_REPORT_TABLES",
    "AuditLog",
    "Base",
    "ReadModelSkip",
    "ReadModelState",
    "SpcAlert",
    "SpcAlertPoint",
    "SpcChart",
    "SpcPoint",
    "SpcProcess",
    "StreamEntry",
    "StreamState",
    "plumbing",
]
