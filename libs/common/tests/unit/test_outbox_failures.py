"""Which publish failures park an outbox row: only Kafka refusing the record itself."""

import pytest
from aiokafka import errors as kafka
from lathe_common.outbox.failures import RecordTooLargeForTopic, describe, is_permanent


@pytest.mark.parametrize(
    "error",
    [
        kafka.MessageSizeTooLargeError("larger than max_request_size"),
        kafka.RecordListTooLargeError(),
        kafka.CorruptRecordException(),
        kafka.InvalidMessageError(),
        kafka.InvalidTimestampError(),
        kafka.UnsupportedForMessageFormatError(),
        kafka.InvalidTopicError(),
        RecordTooLargeForTopic("lathe.x.v1", 5123, 2000),
    ],
)
def test_a_record_kafka_refuses_on_its_merits_is_parked(error):
    assert is_permanent(error)


@pytest.mark.parametrize(
    "error",
    [
        kafka.KafkaConnectionError("Unable to bootstrap"),  # broker down
        kafka.NoBrokersAvailable(),
        kafka.KafkaTimeoutError(),  # not "retriable" for aiokafka, yet nothing is wrong with the record
        kafka.RequestTimedOutError(),
        kafka.NotLeaderForPartitionError(),  # leader change
        kafka.LeaderNotAvailableError(),
        kafka.NotEnoughReplicasError(),
        kafka.BrokerNotAvailableError(),
        kafka.UnknownTopicOrPartitionError(),
        kafka.TopicAuthorizationFailedError(),  # an operator fixes the ACL
        kafka.ProducerClosed(),
        kafka.OutOfOrderSequenceNumber(),
        kafka.KafkaError("Unexpected error during batch delivery"),
        TimeoutError(),
        RuntimeError("anything else"),
    ],
)
def test_every_other_failure_is_retried_for_ever(error):
    assert not is_permanent(error)


def test_the_reason_names_the_error_and_what_it_said():
    assert describe(RecordTooLargeForTopic("lathe.x.v1", 5123, 2000)) == (
        "RecordTooLargeForTopic: record of 5123 bytes exceeds max.message.bytes=2000 of topic lathe.x.v1"
    )
    assert describe(kafka.ProducerClosed()) == "ProducerClosed"
    assert describe(kafka.MessageSizeTooLargeError()) == "[Error 10] MessageSizeTooLargeError"
    assert len(describe(RuntimeError("x" * 5000))) == 2000
