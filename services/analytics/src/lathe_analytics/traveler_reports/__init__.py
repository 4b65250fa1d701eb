"""Seed 000's reports from production's events: labor efficiency, coating status, traveler completion.

Labor and coating come from the ``analytics.traveler-reports`` read model (``consumer``); traveler
completion reads the floor read model's LOTs, units and routings (``reads``), which already follow
every step."""
