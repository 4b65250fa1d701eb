"""The Kafka contracts of Lathe: every topic by name, and every event published on it.

One home for each contract that a producer and its consumers both use. The producing service
imports its events from here to announce them; a consuming service imports the same classes (and
topic constants) to read them, never a string of its own. A module per producing service:
``auth``, ``production``, ``orders``, ``analytics``; ``machine`` and ``erp`` for what machines and ERP systems
publish to Lathe. A breaking change to an
event gets a new type and topic (``.v2``), never an edit in place.
"""

from types import ModuleType

from lathe_common.events import DomainEvent, events_in

from lathe_contracts import analytics, auth, erp, machine, orders, production

PRODUCERS: dict[str, ModuleType] = {
    "auth": auth,
    "production": production,
    "orders": orders,
    "analytics": analytics,
}


def published_events() -> list[type[DomainEvent]]:
    """Every event a Lathe service publishes, in declaration order."""
    return [event for module in PRODUCERS.values() for event in events_in(module)]


def published_topics() -> tuple[str, ...]:
    """Every topic a Lathe service publishes events on."""
    return tuple(sorted({event.topic for event in published_events()}))


__all__ = [
    "PRODUCERS",
    "analytics",
    "auth",
    "erp",
    "machine",
    "orders",
    "production",
    "published_events",
    "published_topics",
]
