"""Product models: a unique code and a routing of known, active processes."""

from __future__ import annotations

from lathe_common.errors import Conflict, InvalidInput
from lathe_common.pagination import PageParams
from lathe_common.repository import Repository
from lathe_contracts.production import ProductModelChangedEvent, ProductModelDefinedEvent
from sqlalchemy import Select, select
from sqlalchemy.orm import selectinload

from lathe_production.outbox import outbox
from lathe_production.processes.models import Process
from lathe_production.product_models.models import ProductModel, RoutingStep
from lathe_production.product_models.schemas import ProductModelCreate, ProductModelUpdate


def _with_routing() -> Select:
    return select(ProductModel).options(selectinload(ProductModel.steps).selectinload(RoutingStep.process))


def _facts(model: ProductModel) -> dict:
    return {
        "id": model.id,
        "model_code": model.model_code,
        "model_name": model.model_name,
        "category": model.category,
        "routing": model.routing,
        "is_active": model.is_active,
    }


class ProductModels(Repository[ProductModel]):
    model = ProductModel
    noun = "product model"

    async def find(self, key: str, *, for_update: bool = False) -> ProductModel:  # type: ignore[override]
        return await super().find(key, ProductModel.model_code, for_update=for_update, statement=_with_routing())

    async def search(
        self, page: PageParams, *, category: str | None, is_active: bool | None, q: str | None
    ) -> tuple[list[ProductModel], int]:
        statement = self.containing(
            _with_routing().order_by(ProductModel.model_code), q, ProductModel.model_code, ProductModel.model_name
        )
        equal = {ProductModel.category: category, ProductModel.is_active: is_active}
        return await self.page(page, equal=equal, statement=statement)

    async def create(self, data: ProductModelCreate) -> ProductModel:
        if await self.session.scalar(select(ProductModel.id).where(ProductModel.model_code == data.model_code)):
            raise Conflict(f"Product model {data.model_code} already exists.", code="product_model_exists")
        model = ProductModel(**data.model_dump(exclude={"routing"}, mode="json"))
        model.steps = await self._steps(data.routing)
        self.session.add(model)
        await self.session.flush()
        await outbox.add(self.session, ProductModelDefinedEvent(**_facts(model)))
        return model

    async def update(self, key: str, data: ProductModelUpdate) -> ProductModel:
        model = await self.find(key, for_update=True)
        changes = data.model_dump(exclude_unset=True, mode="json")
        routing = changes.pop("routing", None)
        previous = self.apply_recording(model, changes)
        if routing is not None and routing != model.routing:
            previous["routing"] = model.routing
            model.steps = await self._steps(routing)
        if previous:
            await self.session.flush()
            changed = sorted(previous)
            await outbox.add(
                self.session,
                ProductModelChangedEvent(
                    **_facts(model), changed=changed, previous={name: previous[name] for name in changed}
                ),
            )
        return model

    async def _steps(self, routing: list[str]) -> list[RoutingStep]:
        found = {
            p.process_code: p
            for p in await self.session.scalars(select(Process).where(Process.process_code.in_(routing)))
        }
        unknown = [code for code in routing if code not in found]
        if unknown:
            raise InvalidInput(f"Unknown processes in the routing: {', '.join(unknown)}.", code="process_not_found")
        inactive = [code for code in routing if not found[code].is_active]
        if inactive:
            raise InvalidInput(f"Inactive processes in the routing: {', '.join(inactive)}.", code="inactive_process")
        return [RoutingStep(step_no=n, process_id=found[c].id, process=found[c]) for n, c in enumerate(routing, 1)]
