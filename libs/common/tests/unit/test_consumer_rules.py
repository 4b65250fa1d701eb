"""The consumer runtime's pure rules: pauses between tries, what is transient, dead-letter copies."""

from __future__ import annotations

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError, MessageSizeTooLargeError, ProducerClosed
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from lathe_common.consumers import Backoff, is_transient
from lathe_common.consumers.dead_letters import fitted_copy
from lathe_common.consumers.retries import FailureCounts
from sqlalchemy.exc import DataError, OperationalError


def test_backoff_doubles_from_the_first_pause_and_stops_at_the_cap():
    backoff = Backoff(first_seconds=0.5, max_seconds=30)
    assert [backoff.delay(n) for n in range(0, 9)] == [0, 0.5, 1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay(10_000) == 30  # no overflow however long an outage lasts


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (KafkaConnectionError(), True),
        (KafkaTimeoutError(), True),
        (DataError("INSERT", {}, Exception("invalid byte sequence")), False),
        (MessageSizeTooLargeError(), False),
        (ProducerClosed(), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_failures_of_a_dependency_are_transient(error, transient):
    assert is_transient(error) is transient


def test_failure_counts_are_per_record_and_forgotten_when_done():
    counts = FailureCounts(limit=3)
    assert [counts.add(("t", 0, 5)), counts.add(("t", 0, 5)), counts.add(("t", 1, 5))] == [1, 2, 1]
    counts.forget(("t", 0, 5))
    assert counts[("t", 0, 5)] == 0 and counts[("t", 1, 5)] == 1
    for offset in range(10):  # bounded: a partition that moved elsewhere cannot grow it for ever
        counts.add(("t", 2, offset))
    assert sum(counts[("t", 2, o)] for o in range(10)) <= 3


HEADERS = [("lathe_dlq_reason", b"invalid_envelope")]


def test_a_copy_that_fits_is_the_record_itself():
    assert fitted_copy(b"k", b"body", HEADERS, 1024) == (b"k", b"body", HEADERS)


def test_a_record_with_neither_key_nor_value_gets_an_empty_body_and_a_mark():
    key, value, headers = fitted_copy(None, None, HEADERS, 1024)
    assert (key, value) == (None, b"") and ("lathe_dlq_null_record", b"true") in headers


@pytest.mark.parametrize("size", [900, 1_000, 5_000, 1_000_000])
def test_a_copy_too_large_is_cut_to_fit_and_says_how_large_the_original_was(size):
    body = bytes(range(256)) * (size // 256 + 1)
    body = body[:size]
    key, value, headers = fitted_copy(b"key", body, HEADERS, 1024)
    assert body.startswith(value) and len(value) < size
    assert DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers) <= 1024
    assert dict(headers)["lathe_dlq_truncated"] == b"true"
    assert dict(headers)["lathe_dlq_original_bytes"] == str(size).encode()
