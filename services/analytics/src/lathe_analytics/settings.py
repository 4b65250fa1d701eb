from lathe_common.settings import ServiceSettings, secret, settings_config


class AnalyticsSettings(ServiceSettings):
    model_config = settings_config("LATHE_ANALYTICS_")

    port: int = 8004
    database_url: str = secret("postgresql+asyncpg://lathe_analytics:lathe_analytics@127.0.0.1:55432/lathe")


settings = AnalyticsSettings()
