from lathe_common.settings import LatheSettings, settings_config


class GatewaySettings(LatheSettings):
    model_config = settings_config("LATHE_GATEWAY_")

    port: int = 8000
    redis_url: str = "redis://127.0.0.1:56379/0"
    auth_url: str = "http://127.0.0.1:8001"
    production_url: str = "http://127.0.0.1:8002"
    orders_url: str = "http://127.0.0.1:8003"
    analytics_url: str = "http://127.0.0.1:8004"
    upstream_timeout_seconds: float = 30.0
    upstream_connect_timeout_seconds: float = 2.0
    max_upstream_connections: int = 200


settings = GatewaySettings()
