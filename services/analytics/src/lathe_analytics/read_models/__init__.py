"""Read models of the analytics service and how they are rebuilt.

A read model declares its tables, the topics it reads and a batch handler (``ReadModel``); the
service runs its live consumer (``ReadModel.consumer()``) and ``python -m lathe_analytics rebuild``
replays the topics from the beginning into fresh tables and switches them in (``rebuild``). To add
one: declare it next to its tables, add it to ``READ_MODELS`` in ``lathe_analytics.main``, and keep
its handler within the rules in ``declaration`` (``replaying()`` tells a handler not to announce).
"""

from lathe_analytics.read_models.declaration import ReadModel, replaying

__all__ = ["ReadModel", "replaying"]
