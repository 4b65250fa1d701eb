"""Failure counters exist at 0 from the moment their consumer or relay is set up: a counter that
first appears at 1 shows no increase in Prometheus (increase() needs a sample before it), so the
first retry or publish failure would go unseen by dashboards and alerts."""

from __future__ import annotations

import uuid

from faststream.kafka import KafkaBroker
from lathe_common.consumers import ConsumerRuntime, ConsumerSpec
from lathe_common.consumers.handling import RETRY_KINDS
from lathe_common.outbox.relay import OutboxRelay
from prometheus_client import REGISTRY


async def _ignore(session, payload) -> None:  # noqa: ANN001 - a handler never called here
    return None


def test_retry_counters_start_at_zero_for_every_topic_and_kind():
    name = f"test.metrics-{uuid.uuid4().hex[:8]}"
    spec = ConsumerSpec(name=name, handler=_ignore, topics=("lathe.test.a.v1", "lathe.test.b.v1"))
    runtime = ConsumerRuntime(service="test", session_factory=None, inbox=None, producer=None)  # type: ignore[arg-type]
    runtime.register(KafkaBroker("127.0.0.1:1"), spec)
    for topic in spec.topics:
        for kind in RETRY_KINDS:
            labels = {"service": "test", "consumer": name, "topic": topic, "kind": kind}
            assert REGISTRY.get_sample_value("lathe_consumer_retries_total", labels) == 0.0
    assert set(RETRY_KINDS) == {"transient", "unexpected", "dead_letter"}


def test_publish_failure_counters_start_at_zero():
    service = f"test-{uuid.uuid4().hex[:8]}"

    class _Tables:
        outbox = None

    OutboxRelay(service=service, tables=_Tables(), engine=None, producer=None)  # type: ignore[arg-type]
    for outcome in ("retrying", "parked"):
        labels = {"service": service, "outcome": outcome}
        assert REGISTRY.get_sample_value("lathe_outbox_publish_failures_total", labels) == 0.0
