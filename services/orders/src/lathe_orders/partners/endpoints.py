"""``/customers`` and ``/suppliers``: one router factory, so the two CRUDs are one code."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import StreamingResponse
from lathe_common.auth import requires
from lathe_common.csv_export import FormatParam, ListFormat, csv_export
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep
from lathe_common.problem_docs import problems

from lathe_orders.partners.models import PartnerKind
from lathe_orders.partners.schemas import (
    UNKNOWN_CURRENCY,
    PartnerCreate,
    PartnerRead,
    PartnerUpdate,
    partner_problems,
)
from lathe_orders.partners.service import Partners

READ = [requires("orders:read")]
WRITE = [requires("partners:write")]
CSV_COLUMNS = ("code", "name", "email", "phone", "address", "currency", "payment_terms_days", "is_active")


def partner_router(kind: PartnerKind, path: str) -> APIRouter:
    noun = kind.value.lower()
    router = APIRouter(prefix=path, tags=[f"{noun}s"])
    not_found, exists = partner_problems(noun)

    @router.get(
        "",
        response_model=Page[PartnerRead],
        dependencies=READ,
        summary=f"{noun.title()}s, by code",
        name=f"list_{noun}s",
    )
    async def list_partners(
        request: Request,
        session: SessionDep,
        page: PageDep,
        is_active: bool | None = None,
        q: Annotated[str | None, Query(max_length=100, description="part of the code or name")] = None,
        format: FormatParam = ListFormat.JSON,  # noqa: A002 - the query parameter's name
    ) -> Page[PartnerRead] | StreamingResponse:
        partners = Partners(session, kind)
        if format is ListFormat.CSV:
            listed = partners.listed(is_active=is_active, q=q)
            return csv_export(request, listed, CSV_COLUMNS, filename=f"{noun}s.csv")
        items, total = await partners.search(page, is_active=is_active, q=q)
        return Page(
            items=[PartnerRead.model_validate(p) for p in items], total=total, limit=page.limit, offset=page.offset
        )

    @router.post(
        "",
        response_model=PartnerRead,
        status_code=status.HTTP_201_CREATED,
        dependencies=WRITE,
        name=f"create_{noun}",
        responses=problems(exists, UNKNOWN_CURRENCY),
    )
    async def create_partner(body: PartnerCreate, session: SessionDep) -> PartnerRead:
        return PartnerRead.model_validate(await Partners(session, kind).create(body))

    @router.get(
        "/{partner}",
        response_model=PartnerRead,
        dependencies=READ,
        summary=f"A {noun} by id or code",
        name=f"get_{noun}",
        responses=problems(not_found),
    )
    async def get_partner(partner: str, session: SessionDep) -> PartnerRead:
        return PartnerRead.model_validate(await Partners(session, kind).find(partner))

    @router.patch(
        "/{partner}",
        response_model=PartnerRead,
        dependencies=WRITE,
        name=f"update_{noun}",
        responses=problems(not_found, UNKNOWN_CURRENCY),
    )
    async def update_partner(partner: str, body: PartnerUpdate, session: SessionDep) -> PartnerRead:
        return PartnerRead.model_validate(await Partners(session, kind).update(partner, body))

    @router.delete(
        "/{partner}",
        response_model=PartnerRead,
        dependencies=WRITE,
        summary=f"Deactivate a {noun} (never deleted)",
        name=f"deactivate_{noun}",
        responses=problems(not_found),
    )
    async def deactivate_partner(partner: str, session: SessionDep) -> PartnerRead:
        return PartnerRead.model_validate(await Partners(session, kind).deactivate(partner))

    return router


customers_router = partner_router(PartnerKind.CUSTOMER, "/customers")
suppliers_router = partner_router(PartnerKind.SUPPLIER, "/suppliers")
