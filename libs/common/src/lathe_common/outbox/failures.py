"""Which publish failures park an outbox row and which are retried for ever.

Only a failure that says the *record itself* can never be accepted parks it: sending it again
could not succeed, and retrying would hold up nothing but log noise. Every other failure (broker
down, timeouts, leader changes, missing topics, authorisation, a closed producer, anything
unexpected) says something about the world around the record, which an operator or time can fix:
those are retried for ever with backoff, visible in ``lathe_outbox_oldest_age_seconds``.

aiokafka's ``retriable`` flag does not draw this line: ``KafkaTimeoutError``, ``ProducerClosed``,
``BrokerNotAvailableError`` and ``TopicAuthorizationFailedError`` are "not retriable" for the
client's own in-flight retries, yet nothing is wrong with the record. Hence an explicit list.
"""

from __future__ import annotations

from aiokafka import errors as kafka

# The client or the broker refuses this record (or a batch holding only it) on its merits.
RECORD_REFUSALS: tuple[type[BaseException], ...] = (
    kafka.MessageSizeTooLargeError,  # beyond max_request_size (client) or the topic's max.message.bytes
    kafka.RecordTooLargeError,
    kafka.RecordListTooLargeError,  # its batch is larger than the log segment
    kafka.CorruptRecordException,  # fails the broker's validation (CRC, format)
    kafka.InvalidMessageError,  # the same broker error code (2), under its other name
    kafka.InvalidTimestampError,  # outside the topic's message.timestamp.difference.max.ms
    kafka.UnsupportedForMessageFormatError,
    kafka.InvalidTopicError,  # the topic name itself is invalid: no retry makes it valid
)


class RecordTooLargeForTopic(Exception):
    """The relay's own check: larger than the topic's ``max.message.bytes``. Found before sending,
    because a broker refusal would also break the idempotent producer's sequence for the partition
    (every later batch to it then fails with OutOfOrderSequenceNumber)."""

    def __init__(self, topic: str, size: int, limit: int) -> None:
        super().__init__(f"record of {size} bytes exceeds max.message.bytes={limit} of topic {topic}")
        self.topic, self.size, self.limit = topic, size, limit


def is_permanent(error: BaseException) -> bool:
    return isinstance(error, (*RECORD_REFUSALS, RecordTooLargeForTopic))


def describe(error: BaseException) -> str:
    """For ``last_error`` / ``parked_reason``: the class says what, the message says how much."""
    name, message = type(error).__name__, str(error)
    text = message if name in message else f"{name}: {message}" if message else name  # aiokafka's name themselves
    return text[:2000]
