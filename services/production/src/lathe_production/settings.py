from typing import Literal

from lathe_common.settings import ServiceSettings, secret, settings_config
from pydantic import Field


class ProductionSettings(ServiceSettings):
    model_config = settings_config("LATHE_PRODUCTION_")

    port: int = 8002
    database_url: str = secret("postgresql+asyncpg://lathe_production:lathe_production@127.0.0.1:55432/lathe")
    lot_number_prefix: str = Field("WF-KR", pattern=r"^[A-Z0-9][A-Z0-9-]{0,15}$")
    max_lot_quantity: int = Field(100, ge=1, le=100_000)
    max_reworks: int = Field(3, ge=0, le=100)
    plant_timezone: str = Field("UTC", description="IANA zone: lot dates and shifts follow the plant's clock")
    day_shift_starts_hour: int = Field(6, ge=0, le=23)
    night_shift_starts_hour: int = Field(18, ge=0, le=23)
    # lathe.machine.process-data.v1: records per batch (one transaction) and group members per process
    # (each takes its share of the partitions; more than the topic has partitions would sit idle).
    machine_batch_size: int = Field(2000, ge=1, le=10_000)
    machine_consumer_members: int = Field(3, ge=1, le=64)
    # Components consumed against the BOM of the consuming unit's LOT (genealogy/bom_rules.py):
    # enforce refuses a deviation, warn records it and lets it through, off checks nothing.
    bom_check: Literal["enforce", "warn", "off"] = "enforce"


settings = ProductionSettings()
