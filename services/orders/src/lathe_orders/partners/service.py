"""Customers and suppliers: one rule set, two kinds. Deactivated, never deleted (documents refer to them)."""

from __future__ import annotations

from typing import Any

from lathe_common.errors import Conflict, InvalidInput
from lathe_common.pagination import PageParams
from lathe_common.repository import Repository
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from lathe_orders.money import minor_unit
from lathe_orders.partners.models import Partner, PartnerKind
from lathe_orders.partners.schemas import PartnerCreate, PartnerUpdate


class Partners(Repository[Partner]):
    model = Partner

    def __init__(self, session: AsyncSession, kind: PartnerKind) -> None:
        super().__init__(session)
        self.kind = kind
        self.noun = kind.value.lower()  # "customer" / "supplier": customer_not_found, ...

    async def find(self, key: str, *, for_update: bool = False) -> Partner:  # type: ignore[override]
        return await super().find(
            key, Partner.code, for_update=for_update, statement=select(Partner).where(Partner.kind == self.kind.value)
        )

    async def usable(self, code: str) -> Partner:
        """A partner a new document may name: known, of this kind, and active."""
        partner = await self.find(code)
        if not partner.is_active:
            raise InvalidInput(f"The {self.noun} {code} is inactive.", code=f"inactive_{self.noun}")
        return partner

    def listed(self, *, is_active: bool | None, q: str | None) -> Select[Any]:
        """The list's statement, by code: a page of it, or all of it for an export."""
        statement = select(Partner).where(Partner.kind == self.kind.value).order_by(Partner.code)
        statement = self.containing(statement, q, Partner.code, Partner.name)
        return self.filtered({Partner.is_active: is_active}, statement)

    async def search(self, page: PageParams, *, is_active: bool | None, q: str | None) -> tuple[list[Partner], int]:
        return await self.page(page, statement=self.listed(is_active=is_active, q=q))

    async def create(self, data: PartnerCreate) -> Partner:
        minor_unit(data.currency)  # an ISO 4217 currency with a minor unit, or 422
        clash = await self.session.scalar(
            select(Partner.id).where(Partner.kind == self.kind.value, Partner.code == data.code)
        )
        if clash is not None:
            raise Conflict(f"A {self.noun} {data.code} exists already.", code=f"{self.noun}_exists")
        partner = Partner(kind=self.kind.value, **data.model_dump(mode="json"))
        self.session.add(partner)
        await self.session.flush()
        return partner

    async def update(self, key: str, data: PartnerUpdate) -> Partner:
        partner = await self.find(key, for_update=True)
        changes = data.model_dump(exclude_unset=True, mode="json")
        if "currency" in changes:
            minor_unit(changes["currency"])
        if self.apply(partner, changes):
            await self.session.flush()
        return partner

    async def deactivate(self, key: str) -> Partner:
        partner = await self.find(key, for_update=True)
        if partner.is_active:
            partner.is_active = False
            await self.session.flush()
        return partner
