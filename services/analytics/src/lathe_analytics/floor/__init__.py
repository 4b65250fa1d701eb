"""The floor read model: production's events pre-aggregated for /api/v1/analytics.

``decoding`` reads the records, ``facts`` computes what a batch adds (pure), ``writes`` stores it
set-based, ``projector`` ties them into the read model's batch handler; ``reads_summary`` and
``reads_quality`` answer the endpoints from the aggregates only; ``buckets``, ``cycle_bins`` and
``rates`` are the pure rules of time buckets, percentiles and yields.
"""
