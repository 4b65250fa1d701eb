"""Dead letters: a copy of a record that can never be processed, on ``<topic>.dlq``, with the reason.

The copy keeps the original key, body and headers and adds ``lathe_dlq_*`` headers saying why and
where the original sits (topic, partition, offset). It is awaited to acknowledgement before the
offset moves, so nothing is dropped. Whatever arrived, a copy can be sent:
- a record with neither key nor value gets an empty body (Kafka needs one of them) and
  ``lathe_dlq_null_record: true``;
- a record whose copy would not fit (our headers on a record already near the size limit, or a
  dead-letter topic with a smaller limit) goes with its body cut to fit, or empty, and
  ``lathe_dlq_truncated: true`` with ``lathe_dlq_original_bytes``: the whole record is still at
  its origin until the topic's retention removes it.
A send that fails for another reason (the broker unreachable) or does not finish within
``send_timeout_seconds`` raises: the caller retries later.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import MessageSizeTooLargeError, RecordTooLargeError
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from lathe_common.kafka import MAX_REQUEST_BYTES, dlq_topic

logger = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]]
DETAIL_BYTES = 2000
_SIZE_ERRORS = (MessageSizeTooLargeError, RecordTooLargeError)
_TRUNCATION_MARGIN = 512  # bytes kept free below the limit for the batch's own framing


def dead_letter_headers(record: ConsumerRecord, consumer: str, reason: str, detail: str) -> Headers:
    original = [
        (key, value if isinstance(value, bytes) else b"")
        for key, value in (record.headers or ())
        if not key.startswith("lathe_dlq_")
    ]
    return [
        *original,
        ("lathe_dlq_reason", reason.encode("utf-8", "replace")),
        ("lathe_dlq_message", detail.encode("utf-8", "replace")[:DETAIL_BYTES]),
        ("lathe_dlq_topic", record.topic.encode()),
        ("lathe_dlq_partition", str(record.partition).encode()),
        ("lathe_dlq_offset", str(record.offset).encode()),
        ("lathe_dlq_consumer", consumer.encode()),
        ("lathe_dlq_failed_at", datetime.now(UTC).isoformat().encode()),
    ]


def truncated(headers: Headers, original_bytes: int) -> Headers:
    """The headers of a copy whose body was cut (marked once, with the original body's length)."""
    if any(key == "lathe_dlq_truncated" for key, _ in headers):
        return headers
    return [*headers, ("lathe_dlq_truncated", b"true"), ("lathe_dlq_original_bytes", str(original_bytes).encode())]


def fitted_copy(
    key: bytes | None, value: bytes | None, headers: Headers, max_bytes: int
) -> tuple[bytes | None, bytes, Headers]:
    """Key, value and headers of a copy that Kafka accepts: a body cut short when the whole would
    be larger than ``max_bytes``, an empty one when there is neither key nor value."""
    if key is None and value is None:
        return None, b"", [*headers, ("lathe_dlq_null_record", b"true")]
    body = value or b""
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, body, headers)
    if size + _TRUNCATION_MARGIN <= max_bytes:
        return key, body, headers
    marked = truncated(headers, len(body))
    room = max_bytes - _TRUNCATION_MARGIN - DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"", marked)
    return key, body[: max(room, 0)], marked


class DeadLetters:
    def __init__(
        self,
        producer: AIOKafkaProducer,
        *,
        max_request_bytes: int = MAX_REQUEST_BYTES,
        send_timeout_seconds: float = 40.0,  # above the producer's own 30 s request timeout
    ) -> None:
        self.producer = producer
        self.max_request_bytes = max_request_bytes
        self.send_timeout_seconds = send_timeout_seconds

    async def send(self, record: ConsumerRecord, *, consumer: str, reason: str, detail: str) -> None:
        headers = dead_letter_headers(record, consumer, reason, detail)
        key, value, headers = fitted_copy(record.key, record.value, headers, self.max_request_bytes)
        topic = dlq_topic(record.topic)
        try:
            await self._send(topic, key, value, headers)
        except _SIZE_ERRORS as exc:
            # The dead-letter topic accepts less than the producer: the copy goes without its body.
            logger.warning("dead letter of %s[%d]@%d too large (%r); sent without its body", *_where(record), exc)
            await self._send(topic, key, b"", truncated(headers, len(value)))
        logger.warning("dead-lettered %s[%d]@%d: %s: %s", *_where(record), reason, detail)

    async def _send(self, topic: str, key: bytes | None, value: bytes, headers: Headers) -> None:
        # Awaited to acknowledgement, within a bound: a producer that can never deliver (closed,
        # wedged) must not hold the partition without the pauses and counts of a retry.
        send = self.producer.send_and_wait(topic, value=value, key=key, headers=headers)
        await asyncio.wait_for(send, self.send_timeout_seconds)


def _where(record: ConsumerRecord) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset
