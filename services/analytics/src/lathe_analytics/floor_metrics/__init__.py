"""Prometheus business metrics of the shop floor, read from the floor read model.

``exposition`` names the metrics and turns figures into samples (pure), ``history`` sums per-day
rows over all time cheaply, ``group_lag`` asks Kafka how far behind analytics' consumer groups
are, and ``refresher`` reads the figures periodically and serves them on ``/metrics``.

Why read, not count: a figure read from the read model is the same on every replica, survives a
restart, and a replay or ``rebuild`` adds nothing to it (the read model is idempotent; a counter
incremented by the consumer would count again what a rebuild replays). So the "counters" here are
all-time totals of the read model: monotonic, fit for ``rate()`` and ``increase()``, and equal on
every replica; aggregate them across replicas with ``max``, never ``sum``.
"""
