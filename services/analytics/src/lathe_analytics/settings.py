from lathe_common.settings import ServiceSettings, secret, settings_config
from pydantic import Field


class AnalyticsSettings(ServiceSettings):
    model_config = settings_config("LATHE_ANALYTICS_")

    port: int = 8004
    database_url: str = secret("postgresql+asyncpg://lathe_analytics:lathe_analytics@127.0.0.1:55432/lathe")
    # The audit trail's monthly partitions exist this many months ahead (created at start and daily).
    audit_partition_months_ahead: int = Field(default=3, ge=1, le=24)
    # SPC keeps each chart's latest points only: at least the largest window the API reads.
    spc_points_per_chart: int = Field(default=10_000, ge=10_000, le=1_000_000)


settings = AnalyticsSettings()
