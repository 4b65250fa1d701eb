from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import requires
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems

from lathe_production.product_models.revisions import Revisions
from lathe_production.product_models.schemas import (
    BOM_PROBLEMS,
    PRODUCT_MODEL_EXISTS,
    PRODUCT_MODEL_NOT_FOUND,
    REVISION_NOT_FOUND,
    REVISION_REASON_REQUIRED,
    ROUTING_PROBLEMS,
    ProductModelCreate,
    ProductModelRead,
    ProductModelUpdate,
    RevisionRead,
    RevisionSummary,
)
from lathe_production.product_models.service import ProductModels

router = APIRouter(prefix="/product-models", tags=["product models"])

READ = [requires("processes:read")]
WRITE = [requires("processes:write")]


@router.get("", response_model=Page[ProductModelRead], dependencies=READ)
async def list_product_models(
    session: SessionDep,
    page: PageDep,
    category: str | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of the code or name")] = None,
) -> Page[ProductModelRead]:
    rows, total = await ProductModels(session).search(page, category=category, is_active=is_active, q=q)
    items = [ProductModelRead.model_validate(m) for m in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=ProductModelRead,
    status_code=status.HTTP_201_CREATED,
    dependencies=WRITE,
    responses=problems(PRODUCT_MODEL_EXISTS, *ROUTING_PROBLEMS, *BOM_PROBLEMS, EVENT_TOO_LARGE),
)
async def create_product_model(body: ProductModelCreate, session: SessionDep) -> ProductModelRead:
    return ProductModelRead.model_validate(await ProductModels(session).create(body))


@router.get(
    "/{model}",
    response_model=ProductModelRead,
    dependencies=READ,
    summary="A product model by id or code",
    responses=problems(PRODUCT_MODEL_NOT_FOUND),
)
async def get_product_model(model: str, session: SessionDep) -> ProductModelRead:
    return ProductModelRead.model_validate(await ProductModels(session).find(model))


@router.patch(
    "/{model}",
    response_model=ProductModelRead,
    dependencies=WRITE,
    summary="Change a model; a change of its routing or BOM makes its next revision",
    responses=problems(
        PRODUCT_MODEL_NOT_FOUND, *ROUTING_PROBLEMS, *BOM_PROBLEMS, REVISION_REASON_REQUIRED, EVENT_TOO_LARGE
    ),
)
async def update_product_model(model: str, body: ProductModelUpdate, session: SessionDep) -> ProductModelRead:
    return ProductModelRead.model_validate(await ProductModels(session).update(model, body))


@router.get(
    "/{model}/revisions",
    response_model=Page[RevisionSummary],
    dependencies=READ,
    summary="The revisions of a model's routing and BOM, newest first, each with what it changed",
    responses=problems(PRODUCT_MODEL_NOT_FOUND),
)
async def list_revisions(model: str, session: SessionDep, page: PageDep) -> Page[RevisionSummary]:
    found = await ProductModels(session).find(model)
    rows, total = await Revisions(session).page(found, page)
    items = [RevisionSummary.model_validate(r) for r in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/{model}/revisions/{revision}",
    response_model=RevisionRead,
    dependencies=READ,
    summary="One revision whole: the routing and BOM of the LOTs that pinned it",
    responses=problems(PRODUCT_MODEL_NOT_FOUND, REVISION_NOT_FOUND),
)
async def get_revision(model: str, revision: str, session: SessionDep) -> RevisionRead:
    found = await ProductModels(session).find(model)
    return RevisionRead.model_validate(await Revisions(session).find(found, revision))
