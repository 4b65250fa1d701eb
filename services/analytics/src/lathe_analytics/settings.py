from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lathe_common.settings import ServiceSettings, secret, settings_config
from pydantic import Field, model_validator


class AnalyticsSettings(ServiceSettings):
    model_config = settings_config("LATHE_ANALYTICS_")

    port: int = 8004
    database_url: str = secret("postgresql+asyncpg://lathe_analytics:lathe_analytics@127.0.0.1:55432/lathe")
    # The audit trail's monthly partitions exist this many months ahead (created at start and daily).
    audit_partition_months_ahead: int = Field(default=3, ge=1, le=24)
    # SPC keeps each chart's latest points only: at least the largest window the API reads.
    spc_points_per_chart: int = Field(default=10_000, ge=10_000, le=1_000_000)
    spc_alert_max_age_hours: float = Field(
        24.0,
        gt=0,
        description="A rule violation is announced only if its newest point was recorded within this many hours",
    )
    # The floor's business metrics on /metrics are read from the read model this often (floor_metrics).
    metrics_refresh_seconds: float = Field(default=15.0, ge=1, le=300)
    # The floor read models bucket by the plant's clock: the same values as production's settings.
    plant_timezone: str = Field("UTC", description="IANA zone: days and shifts follow the plant's clock")
    day_shift_starts_hour: int = Field(6, ge=0, le=23)
    night_shift_starts_hour: int = Field(18, ge=0, le=23)
    # The realtime stream (GET /api/v1/analytics/stream, lathe_analytics.stream).
    stream_retention_minutes: int = Field(
        60, ge=1, le=7 * 24 * 60, description="How long stream entries are kept for clients resuming with Last-Event-ID"
    )
    stream_retention_entries: int = Field(
        1_000_000, ge=1_000, description="At most about this many stream entries are kept, whatever their age"
    )
    stream_heartbeat_seconds: float = Field(15.0, gt=0, description="A comment is sent after this long without events")
    stream_kpi_seconds: float = Field(
        5.0, ge=1, description="A kpi event every this many seconds (one for all replicas)"
    )
    stream_max_clients: int = Field(500, ge=1, description="Open streams per process; more get 503 too_many_streams")
    stream_client_queue: int = Field(
        1_000, ge=10, description="Events waiting per client; past it the client reads on from the table at its pace"
    )
    stream_poll_seconds: float = Field(
        0.5, gt=0, description="New entries are looked for this often when no NOTIFY wakes the fan-out first"
    )

    @model_validator(mode="after")
    def _plant_clock(self) -> "AnalyticsSettings":
        # A production day runs from the day shift's start to the next one's; the night shift is the rest.
        if self.day_shift_starts_hour >= self.night_shift_starts_hour:
            raise ValueError("DAY_SHIFT_STARTS_HOUR must be before NIGHT_SHIFT_STARTS_HOUR")
        try:
            ZoneInfo(self.plant_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"PLANT_TIMEZONE {self.plant_timezone!r} is not an IANA time zone") from None
        return self


settings = AnalyticsSettings()
