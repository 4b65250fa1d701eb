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
