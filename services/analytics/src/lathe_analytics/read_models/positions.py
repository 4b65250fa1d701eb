"""Where consumers stand in Kafka: partitions, first and next offsets, a group's committed positions,
and the event ids between two positions."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from lathe_common.consumers import Decoded, Undeliverable

Positions = dict[TopicPartition, int]


async def partitions_of(admin: AIOKafkaAdminClient, topics: Iterable[str]) -> list[TopicPartition]:
    described = await admin.describe_topics(sorted(set(topics)))
    return sorted(
        (TopicPartition(topic["topic"], p["partition"]) for topic in described for p in topic["partitions"]),
        key=lambda tp: (tp.topic, tp.partition),
    )


async def group_positions(admin: AIOKafkaAdminClient, group: str) -> Positions:
    """The group's committed offsets (the next record each partition gives it)."""
    committed = await admin.list_consumer_group_offsets(group)
    return {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}


class OffsetReader:
    """A consumer of no group, for offsets and for reading a range of records."""

    def __init__(self, bootstrap: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)

    async def __aenter__(self) -> OffsetReader:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def beginnings(self, partitions: list[TopicPartition]) -> Positions:
        return dict(await self.consumer.beginning_offsets(partitions))

    async def ends(self, partitions: list[TopicPartition]) -> Positions:
        return dict(await self.consumer.end_offsets(partitions))

    async def message_ids(
        self, ranges: Mapping[TopicPartition, tuple[int, int]], decode: Callable[[ConsumerRecord], Decoded]
    ) -> set[str]:
        """The message ids (as ``decode`` reads them) of the records in ``[start, end)`` of each
        partition; records it cannot read have none (no consumer applied them)."""
        wanted = {tp: span for tp, span in ranges.items() if span[0] < span[1]}
        if not wanted:
            return set()
        self.consumer.assign(list(wanted))
        for tp, (start, _) in wanted.items():
            self.consumer.seek(tp, start)
        ids: set[str] = set()
        open_ranges = dict(wanted)
        while open_ranges:
            fetched = await self.consumer.getmany(*open_ranges, timeout_ms=1000, max_records=5000)
            for tp, records in fetched.items():
                end = open_ranges.get(tp, (0, 0))[1]
                for record in records:
                    if record.offset >= end:
                        break
                    try:
                        ids.add(decode(record).message_id)
                    except Undeliverable:
                        continue
                if records and (records[-1].offset + 1 >= end):
                    open_ranges.pop(tp, None)
            for tp in list(open_ranges):
                if await self.consumer.position(tp) >= open_ranges[tp][1]:
                    open_ranges.pop(tp)
        return ids
