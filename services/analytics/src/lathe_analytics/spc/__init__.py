"""Statistical process control: an individuals / moving-range chart per process measurement.

- ``statistics``, ``rules``, ``analysis``: the pure part (capability indices, I-MR limits, Nelson
  rules 1-4, a window judged against a baseline);
- ``measurements``, ``consumer``, ``repository``: points kept from production's ``step.recorded``
  events and spec limits from its process events;
- ``novelty``, ``alerts``: which violations are new, announced on ``lathe.analytics.spc-alerts.v1``;
- ``charts``, ``endpoints``: ``GET /api/v1/analytics/spc`` and ``.../spc/{process_code}/{measurement}``.
"""
