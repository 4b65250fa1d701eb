"""Every table of the analytics service, for Alembic."""

from lathe_analytics.audit.models import AuditLog
from lathe_analytics.spc.models import SpcAlert, SpcAlertPoint, SpcChart, SpcPoint, SpcProcess
from lathe_analytics.tables import Base, plumbing

__all__ = ["AuditLog", "Base", "SpcAlert", "SpcAlertPoint", "SpcChart", "SpcPoint", "SpcProcess", "plumbing"]
