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


@pytest.mark.parametrize(
    ("failures", "delay"), [(-1, 0.0), (0, 0.0), (1, 2.0), (2, 4.0), (3, 5.0), (63, 5.0), (64, 5.0)]
)
def test_backoff_with_other_settings(failures, delay):
    assert Backoff(first_seconds=2, max_seconds=5).delay(failures) == delay


def test_the_default_backoff_is_half_a_second_to_thirty():
    assert (Backoff().first_seconds, Backoff().max_seconds) == (0.5, 30.0)
    assert Backoff(first_seconds=1, max_seconds=1e30).delay(100) == 2.0**62  # the exponent is capped


def test_a_database_error_that_invalidated_the_connection_is_transient():
    from sqlalchemy.exc import DBAPIError

    lost = DBAPIError("SELECT 1", {}, Exception("terminating connection"), connection_invalidated=True)
    kept = DBAPIError("SELECT 1", {}, Exception("division by zero"), connection_invalidated=False)
    assert is_transient(lost) is True
    assert is_transient(kept) is False


def test_a_retriable_kafka_error_is_transient_and_a_final_one_is_not():
    from aiokafka.errors import KafkaError, NotLeaderForPartitionError, UnknownTopicOrPartitionError

    assert is_transient(NotLeaderForPartitionError()) is True
    assert UnknownTopicOrPartitionError.retriable is True and is_transient(UnknownTopicOrPartitionError()) is True
    assert is_transient(KafkaError()) is False


def test_failure_counts_start_at_zero_and_count_up():
    counts = FailureCounts()
    assert counts.limit == 10_000
    assert counts[("t", 0, 0)] == 0
    assert [counts.add(("t", 0, 0)) for _ in range(3)] == [1, 2, 3]
    counts.forget(("t", 9, 9), ("t", 0, 0))  # forgetting one never counted is fine
    assert counts[("t", 0, 0)] == 0


def test_a_full_map_is_cleared_for_a_new_record_but_not_for_one_it_holds():
    counts = FailureCounts(limit=2)
    counts.add(("t", 0, 1))
    counts.add(("t", 0, 2))
    assert counts.add(("t", 0, 2)) == 2  # held: counted on, nothing cleared
    assert counts[("t", 0, 1)] == 1
    assert counts.add(("t", 0, 3)) == 1  # new while full: the others are forgotten
    assert (counts[("t", 0, 1)], counts[("t", 0, 2)]) == (0, 0)
    counts.add(("t", 0, 4))
    assert (counts[("t", 0, 3)], counts[("t", 0, 4)]) == (1, 1)


def test_a_copy_that_just_fits_is_not_cut_and_one_byte_more_is():
    key, headers = b"k", HEADERS
    room = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"x" * 100, headers) + 512
    assert fitted_copy(key, b"x" * 100, headers, room) == (key, b"x" * 100, headers)
    _, value, marked = fitted_copy(key, b"x" * 101, headers, room)
    assert len(value) < 101 and dict(marked)["lathe_dlq_original_bytes"] == b"101"


def test_a_record_with_a_key_and_no_value_keeps_its_key_and_gets_an_empty_body():
    assert fitted_copy(b"k", None, HEADERS, 1024) == (b"k", b"", HEADERS)
    assert fitted_copy(None, b"v", HEADERS, 1024) == (None, b"v", HEADERS)


@pytest.mark.parametrize("key", [None, b"k", b"a longer key" * 10])
def test_a_cut_body_takes_exactly_the_room_left_by_the_key_and_the_marked_headers(key):
    from lathe_common.consumers.dead_letters import truncated

    key_, value, headers = fitted_copy(key, b"x" * 5000, HEADERS, 2048)
    room = 2048 - 512 - DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"", truncated(HEADERS, 5000))
    assert key_ == key and len(value) == room and headers == truncated(HEADERS, 5000)


def test_when_not_even_the_headers_fit_the_body_is_empty():
    key, value, headers = fitted_copy(b"k", b"x" * 5000, HEADERS, 600)
    assert value == b"" and dict(headers)["lathe_dlq_truncated"] == b"true"


def test_a_copy_is_marked_truncated_once():
    from lathe_common.consumers.dead_letters import truncated

    once = truncated(HEADERS, 10)
    assert once == [*HEADERS, ("lathe_dlq_truncated", b"true"), ("lathe_dlq_original_bytes", b"10")]
    assert truncated(once, 99) == once


def test_dead_letter_headers_keep_the_originals_and_say_why_and_where():
    from aiokafka import ConsumerRecord
    from lathe_common.consumers.dead_letters import DETAIL_BYTES, dead_letter_headers

    record = ConsumerRecord(
        topic="lathe.t.v1",
        partition=3,
        offset=42,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"v",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=1,
        headers=[("ce_id", b"1"), ("empty", None), ("lathe_dlq_reason", b"old")],
    )
    headers = dead_letter_headers(record, "lathe-audit", "invalid_envelope", "é" * 2000)
    names = [k for k, _ in headers]
    assert names == [
        "ce_id",
        "empty",
        "lathe_dlq_reason",
        "lathe_dlq_message",
        "lathe_dlq_topic",
        "lathe_dlq_partition",
        "lathe_dlq_offset",
        "lathe_dlq_consumer",
        "lathe_dlq_failed_at",
    ]
    values = dict(headers)
    assert values["ce_id"] == b"1" and values["empty"] == b""
    assert values["lathe_dlq_reason"] == b"invalid_envelope"
    assert values["lathe_dlq_message"] == ("é" * 2000).encode()[:DETAIL_BYTES] and DETAIL_BYTES == 2000
    assert (values["lathe_dlq_topic"], values["lathe_dlq_partition"], values["lathe_dlq_offset"]) == (
        b"lathe.t.v1",
        b"3",
        b"42",
    )
    assert values["lathe_dlq_consumer"] == b"lathe-audit"
    # A reason or detail that cannot be encoded (a lone surrogate from a decoder) still makes a header.
    unencodable = dict(dead_letter_headers(record, "c", "bad\ud800reason", "bad \ud800 detail"))
    assert unencodable["lathe_dlq_reason"] == b"bad?reason"
    assert unencodable["lathe_dlq_message"] == b"bad ? detail"
    from datetime import datetime

    assert datetime.fromisoformat(values["lathe_dlq_failed_at"].decode()).utcoffset().total_seconds() == 0
