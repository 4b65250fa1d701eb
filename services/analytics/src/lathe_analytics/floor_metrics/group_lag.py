"""How far analytics' consumer groups are behind, asked of Kafka rather than of the consumers.

``lathe_consumer_lag`` is set by a consumer after each batch it handles, so a consumer that stops
handling anything (stuck on retries, its subscription lost) keeps showing its last, small lag.
The group's committed offsets against the partitions' ends tell the truth either way, and every
replica reads the same numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka.admin import AIOKafkaAdminClient

from lathe_analytics.read_models.positions import OffsetReader, group_positions

TIMEOUT_SECONDS = 10.0


class GroupLag:
    """Kafka clients opened on first use and kept; closed after a failure and opened again next time."""

    def __init__(self, bootstrap: str, consumers: Sequence[str]) -> None:
        self.bootstrap = bootstrap
        self.consumers = tuple(consumers)
        self._admin: AIOKafkaAdminClient | None = None
        self._offsets: OffsetReader | None = None

    async def read(self) -> dict[str, int]:
        """consumer name -> records its group ``lathe.<name>`` has not committed, over the partitions
        it has committed offsets for. Raises when Kafka does not answer in time."""
        try:
            return await asyncio.wait_for(self._read(), TIMEOUT_SECONDS)
        except Exception:
            await self.close()
            raise

    async def _read(self) -> dict[str, int]:
        if self._admin is None or self._offsets is None:
            self._admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap, client_id="lathe-analytics-metrics")
            await self._admin.start()
            self._offsets = await OffsetReader(self.bootstrap).__aenter__()
        committed = {name: await group_positions(self._admin, f"lathe.{name}") for name in self.consumers}
        partitions = sorted({tp for positions in committed.values() for tp in positions})
        ends = await self._offsets.ends(partitions) if partitions else {}
        return {
            name: sum(max(ends.get(tp, offset) - offset, 0) for tp, offset in positions.items())
            for name, positions in committed.items()
        }

    async def close(self) -> None:
        admin, offsets = self._admin, self._offsets
        self._admin = self._offsets = None
        # Clients that failed half way may not close cleanly: they are dropped either way.
        with contextlib.suppress(Exception):
            if admin is not None:
                await admin.close()
        with contextlib.suppress(Exception):
            if offsets is not None:
                await offsets.__aexit__(None, None, None)
