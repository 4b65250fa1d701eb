from lathe_common.settings import ServiceSettings, secret, settings_config


class OrdersSettings(ServiceSettings):
    model_config = settings_config("LATHE_ORDERS_")

    port: int = 8003
    database_url: str = secret("postgresql+asyncpg://lathe_orders:lathe_orders@127.0.0.1:55432/lathe")


settings = OrdersSettings()
