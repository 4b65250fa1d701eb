"""Product models: a unique code, a routing of known, active processes and a BOM; each change of
the routing or BOM is the model's next revision (``revisions.py``)."""

from __future__ import annotations

from typing import Any

from lathe_common.errors import Conflict, InvalidInput
from lathe_common.pagination import PageParams
from lathe_common.repository import Repository
from lathe_contracts.production import ProductModelChangedEvent, ProductModelDefinedEvent
from sqlalchemy import Select, exists, select
from sqlalchemy.orm import selectinload

from lathe_production.lots.models import Lot
from lathe_production.outbox import outbox
from lathe_production.processes.models import Process
from lathe_production.product_models.models import ProductModel, RoutingStep
from lathe_production.product_models.revisions import Revisions
from lathe_production.product_models.rules import bom_diff, check_bom
from lathe_production.product_models.schemas import ProductModelCreate, ProductModelUpdate


def _with_routing() -> Select:
    return select(ProductModel).options(selectinload(ProductModel.steps).selectinload(RoutingStep.process))


def _facts(model: ProductModel, reason: str | None) -> dict:
    return {
        "id": model.id,
        "model_code": model.model_code,
        "model_name": model.model_name,
        "category": model.category,
        "routing": model.routing,
        "is_active": model.is_active,
        "traveler_type": model.traveler_type,
        "revision": model.revision,
        "bom": model.bom,
        "revision_reason": reason,
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

    async def find_to_pin(self, key: str) -> ProductModel:
        """The model for a new LOT to pin its current revision, read ``FOR KEY SHARE``: a change of
        the routing or BOM (``update`` holds ``FOR UPDATE``) either waits for the LOT's transaction,
        and then sees the LOT (its reason is required), or makes the LOT wait and pin the new revision.
        LOTs created at the same time do not wait for each other."""
        statement = select(ProductModel).with_for_update(read=True, key_share=True)
        return await super().find(key, ProductModel.model_code, statement=statement)

    async def create(self, data: ProductModelCreate) -> ProductModel:
        if await self.session.scalar(select(ProductModel.id).where(ProductModel.model_code == data.model_code)):
            raise Conflict(f"Product model {data.model_code} already exists.", code="product_model_exists")
        model = ProductModel(**data.model_dump(exclude={"routing", "revision_reason"}, mode="json"))
        model.steps = await self._steps(data.routing)
        bom = model.bom
        check_bom(bom, routing=data.routing, model_code=data.model_code)
        self.session.add(model)
        await self.session.flush()
        first = await Revisions(self.session).record(
            model, before=None, routing=data.routing, bom=bom, reason=data.revision_reason
        )
        model.revision = first.revision
        await self.session.flush()
        await outbox.add(self.session, ProductModelDefinedEvent(**_facts(model, data.revision_reason)))
        return model

    async def update(self, key: str, data: ProductModelUpdate) -> ProductModel:
        model = await self.find(key, for_update=True)
        changes = data.model_dump(exclude_unset=True, mode="json")
        routing = changes.pop("routing", None)
        changes.pop("bom", None)  # exclude_unset reaches into the lines too: dumped whole below
        bom = data.model_dump(mode="json", include={"bom"})["bom"] if "bom" in data.model_fields_set else None
        reason = changes.pop("revision_reason", None)
        previous = self.apply_recording(model, changes)
        previous |= await self._revise(model, routing, bom, reason)
        if previous:
            await self.session.flush()
            changed = sorted(previous)
            await outbox.add(
                self.session,
                ProductModelChangedEvent(
                    **_facts(model, reason), changed=changed, previous={name: previous[name] for name in changed}
                ),
            )
        return model

    async def _revise(
        self, model: ProductModel, routing: list[str] | None, bom: list[dict[str, Any]] | None, reason: str | None
    ) -> dict[str, Any]:
        """The next revision when the routing or BOM really changes (a BOM in another order is the
        same BOM); returns the previous values of what changed."""
        before = (model.routing, model.bom)
        new_routing = routing if routing is not None and routing != model.routing else None
        new_bom = bom if bom is not None and bom_diff(model.bom, bom) is not None else None
        if new_routing is None and new_bom is None:
            return {}
        after = (new_routing or model.routing, model.bom if new_bom is None else new_bom)
        steps = await self._steps(new_routing) if new_routing is not None else None
        check_bom(after[1], routing=after[0], model_code=model.model_code)
        if reason is None and await self.session.scalar(select(exists().where(Lot.product_model_id == model.id))):
            raise InvalidInput(
                f"Product model {model.model_code} has LOTs: say why its routing or BOM changes (revision_reason).",
                code="revision_reason_required",
            )
        previous: dict[str, Any] = {"revision": model.revision}
        if new_routing is not None:
            previous["routing"] = before[0]
            model.steps = steps
        if new_bom is not None:
            previous["bom"] = before[1]
            model.bom = new_bom
        revision = await Revisions(self.session).record(
            model, before=before, routing=after[0], bom=after[1], reason=reason
        )
        model.revision = revision.revision
        return previous

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
