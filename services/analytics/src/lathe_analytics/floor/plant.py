"""The plant's clock as this service is configured (``PLANT_TIMEZONE``, the shift start hours)."""

from lathe_analytics.floor.buckets import PlantClock
from lathe_analytics.settings import settings

CLOCK = PlantClock(settings.plant_timezone, settings.day_shift_starts_hour, settings.night_shift_starts_hour)
