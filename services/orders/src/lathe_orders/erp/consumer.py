"""ERP documents in: upserted by (source, external_id) and revision, under the REST API's rules.

- the first revision Lathe sees creates the document (a local number beside the external id);
- a higher revision changes it as a change through the API would (dates always, quantities never
  below what is done): a change the rules refuse is dead-lettered with the rule's code;
- the revision Lathe holds again is nothing; a lower one arrived late and is ignored (counted in
  ``lathe_erp_documents_total{outcome="stale"}``, logged);
- whatever is dead-lettered (bad JSON, a document that is not the kind's shape, an unknown partner or
  model, a change the rules refuse) is also listed for planners in ``/api/v1/erp-conflicts``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiokafka import ConsumerRecord
from lathe_common.consumers import ConsumerSpec
from lathe_contracts.erp import ErpDocument
from prometheus_client import Counter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.erp.conflicts import ErpConflicts
from lathe_orders.erp.inbound import ErpInbound, ErpKind, erp_decoder
from lathe_orders.erp.kinds import ERP_KINDS
from lathe_orders.erp.revisions import Verdict, verdict

logger = logging.getLogger(__name__)

ERP_DOCUMENTS = Counter(
    "lathe_erp_documents_total",
    "ERP documents received, by what became of them (created, applied, same, stale)",
    ["topic", "outcome"],
)


class ErpUpserts:
    def __init__(self, kinds: Mapping[str, ErpKind]) -> None:
        self.kinds = kinds

    async def apply(self, session: AsyncSession, inbound: ErpInbound) -> None:
        kind, origin = self.kinds[inbound.topic], inbound.origin
        held = await session.scalar(
            select(kind.model)
            .where(kind.model.external_source == origin.source, kind.model.external_id == origin.external_id)
            .with_for_update()
        )
        outcome = verdict(None if held is None else held.external_revision, origin.revision)
        if outcome is Verdict.CREATE:
            await kind.create(session, inbound.document, origin)
        elif outcome is Verdict.APPLY:
            await kind.change(session, held, inbound.document, origin)
        elif outcome is Verdict.STALE:
            logger.info(
                "ERP %s %s:%s revision %s ignored: revision %s is applied",
                kind.noun,
                origin.source,
                origin.external_id,
                origin.revision,
                held.external_revision,  # type: ignore[union-attr]
            )
        if outcome in (Verdict.CREATE, Verdict.APPLY):
            await ErpConflicts(session).resolve_by_revision(inbound.topic, origin)
        ERP_DOCUMENTS.labels(inbound.topic, outcome.value.lower()).inc()


async def list_conflict(session: AsyncSession, record: ConsumerRecord, reason: str, detail: str) -> None:
    await ErpConflicts(session).record(record, reason, detail)


erp_documents = ConsumerSpec(
    name="orders.erp-documents",
    topics=tuple(ERP_KINDS),
    handler=ErpUpserts(ERP_KINDS).apply,
    decode=erp_decoder(ERP_KINDS),
    on_dead_letter=list_conflict,
    payload=ErpDocument,
    description="Purchase, sales and work orders from ERP systems, upserted by (source, external_id) and revision.",
)
