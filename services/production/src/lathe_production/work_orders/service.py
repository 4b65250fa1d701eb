"""Work orders drive production: planning a released work order (or a replacement, or an
increase) as LOTs, and cancelling the LOTs of a cancelled one that have not started.

Everything goes through production's own ``Lots`` service, so LOTs and serials are numbered,
checked and announced (``lot.created``, ``serials.created``, ``lot.status-changed``) exactly as
when a planner makes them by hand. Orders is never asked anything: the request carries what
production needs, and the answer is an event (``WorkOrderPlannedEvent`` or ``WorkOrderRejectedEvent``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lathe_common.errors import InvalidInput, LatheError, NotFound
from lathe_contracts.production import WorkOrderPlannedEvent, WorkOrderRejectedEvent
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_production.lots.models import Lot
from lathe_production.lots.rules import LotStatus
from lathe_production.lots.schemas import LotCreate, SerialsCreate
from lathe_production.lots.service import Lots
from lathe_production.outbox import outbox
from lathe_production.product_models.service import ProductModels
from lathe_production.settings import ProductionSettings
from lathe_production.work_orders.models import WorkOrderPlan
from lathe_production.work_orders.rules import check_plan_size, split_quantity


@dataclass(frozen=True)
class PlanRequest:
    work_order_number: str
    request_no: int  # 0: the release; 1, 2, ...: replacements and increases
    model_code: str
    quantity: int
    create_serials: bool


class WorkOrderPlanner:
    def __init__(self, session: AsyncSession, settings: ProductionSettings) -> None:
        self.session = session
        self.settings = settings
        self.lots = Lots(session, settings)

    async def plan(self, request: PlanRequest) -> list[Lot]:
        """The LOTs for the request (none if it was planned before), or a rejection announced."""
        sizes = split_quantity(request.quantity, self.settings.max_lot_quantity)
        # The plan's key claims the request first: a second delivery of it (another message id,
        # a replay, a concurrent consumer) finds the row, or waits for it, and plans nothing.
        claimed = await self.session.scalar(
            insert(WorkOrderPlan)
            .values(
                work_order_number=request.work_order_number,
                request_no=request.request_no,
                model_code=request.model_code,
                quantity=request.quantity,
                lot_count=len(sizes),
            )
            .on_conflict_do_nothing(index_elements=[WorkOrderPlan.work_order_number, WorkOrderPlan.request_no])
            .returning(WorkOrderPlan.request_no)
        )
        if claimed is None:
            return []
        try:
            await self._check(request)
        except LatheError as refused:
            # Not planned: the claim goes, so the work order can be released again once corrected.
            await self.session.execute(
                delete(WorkOrderPlan).where(
                    WorkOrderPlan.work_order_number == request.work_order_number,
                    WorkOrderPlan.request_no == request.request_no,
                )
            )
            await outbox.add(
                self.session,
                WorkOrderRejectedEvent(
                    work_order_number=request.work_order_number,
                    code=refused.code,
                    reason=refused.detail,
                    request_no=request.request_no,
                ),
            )
            return []
        lots = []
        for size in sizes:
            lot = await self.lots.create(
                LotCreate(
                    model_code=request.model_code, target_quantity=size, work_order_number=request.work_order_number
                )
            )
            if request.create_serials:
                await self.lots.add_serials(lot.lot_number, SerialsCreate(count=size))
            lots.append(lot)
        await outbox.add(
            self.session,
            WorkOrderPlannedEvent(
                work_order_number=request.work_order_number,
                lots=[
                    {"id": str(lot.id), "lot_number": lot.lot_number, "target_quantity": lot.target_quantity}
                    for lot in lots
                ],
                request_no=request.request_no,
            ),
        )
        return lots

    async def _check(self, request: PlanRequest) -> None:
        """What production refuses to plan: an unknown or inactive model, a plan beyond its size."""
        try:
            model = await ProductModels(self.session).find(request.model_code)
        except NotFound:
            raise NotFound(
                f"Production has no product model {request.model_code}.", code="product_model_not_found"
            ) from None
        if not model.is_active:
            raise InvalidInput(f"Product model {request.model_code} is inactive.", code="inactive_product_model")
        check_plan_size(request.quantity, self.settings.max_lot_quantity)

    async def cancel(self, work_order_number: str) -> list[Lot]:
        """Cancel the work order's LOTs that have not started; returns them. Each is locked and
        its status read again under the lock: a LOT a step started meanwhile is left to the plant."""
        candidates = await self.session.scalars(
            select(Lot.lot_number)
            .where(Lot.work_order_number == work_order_number, Lot.status == LotStatus.CREATED.value)
            .order_by(Lot.id)
        )
        cancelled = []
        for number in list(candidates):
            lot = await self.lots.find(number, for_update=True)
            if lot.status == LotStatus.CREATED.value:
                cancelled.append(await self.lots.change_status(number, LotStatus.CANCELLED))
        return cancelled
