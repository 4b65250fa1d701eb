import time
import uuid

from lathe_common.db import time_ordered_id


def test_time_ordered_ids_are_rfc_9562_version_7_and_unique():
    ids = [time_ordered_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == uuid.RFC_4122 for i in ids)


def test_ids_made_later_sort_later_and_carry_their_millisecond():
    before_ms = time.time_ns() // 1_000_000
    first = time_ordered_id()
    time.sleep(0.002)
    later = time_ordered_id()
    assert later > first
    assert abs((first.int >> 80) - before_ms) <= 1
