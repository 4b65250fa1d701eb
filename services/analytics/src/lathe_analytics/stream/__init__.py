"""The realtime stream: GET /api/v1/analytics/stream, Server-Sent Events for many clients and replicas.

- ``consumer``: steps, LOT changes and SPC alerts from Kafka into ``stream_entries`` (one INSERT
  per batch; ids increase in commit order, see ``repository``), and ``lifecycle`` adds the kpi tick;
- ``hub``: one fan-out per process, woken by NOTIFY, offering each new entry to every open stream
  through bounded queues;
- ``sender``: one client's stream (replay after Last-Event-ID, live events, catching up from the
  table when it reads slowly, heartbeats, ``end`` at the token's expiry);
- ``wire`` and ``payloads``: the SSE format, filters and event shapes (pure).
"""
