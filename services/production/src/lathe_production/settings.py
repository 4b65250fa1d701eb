from lathe_common.settings import ServiceSettings, secret, settings_config


class ProductionSettings(ServiceSettings):
    model_config = settings_config("LATHE_PRODUCTION_")

    port: int = 8002
    database_url: str = secret("postgresql+asyncpg://lathe_production:lathe_production@127.0.0.1:55432/lathe")


settings = ProductionSettings()
