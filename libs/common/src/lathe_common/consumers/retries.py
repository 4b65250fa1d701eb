"""Retrying in place: which failures may succeed later, and how long to wait before the next try.

A record that fails is redelivered in place (the offset does not move), after a pause that grows
with each consecutive failure of that record and is capped, so a database or broker outage costs
a few log lines a minute, not thousands, and the partition resumes by itself when it is over.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiokafka.errors import KafkaError, KafkaTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError

Origin = tuple[str, int, int]  # topic, partition, offset: where a record sits

# Failures of a dependency, not of the record: retried for as long as they last.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    ConnectionError,
    OSError,
    TimeoutError,
    KafkaTimeoutError,
)


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, TRANSIENT_ERRORS):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, KafkaError) and exc.retriable  # broker unreachable, leader moving, ...


@dataclass(frozen=True)
class Backoff:
    """Exponential: ``first_seconds`` after the first failure, doubling, never above ``max_seconds``."""

    first_seconds: float = 0.5
    max_seconds: float = 30.0

    def delay(self, failures: int) -> float:
        if failures <= 0:
            return 0.0
        return min(self.first_seconds * 2 ** min(failures - 1, 62), self.max_seconds)


@dataclass
class FailureCounts:
    """Consecutive failures per record while it is retried in place. Records are forgotten once
    they are done; the map is bounded, in case a rebalance takes a failing partition elsewhere."""

    limit: int = 10_000
    _counts: dict[Origin, int] = field(default_factory=dict)

    def __getitem__(self, origin: Origin) -> int:
        return self._counts.get(origin, 0)

    def add(self, origin: Origin) -> int:
        if len(self._counts) >= self.limit and origin not in self._counts:
            self._counts.clear()
        self._counts[origin] = self._counts.get(origin, 0) + 1
        return self._counts[origin]

    def forget(self, *origins: Origin) -> None:
        for origin in origins:
            self._counts.pop(origin, None)
