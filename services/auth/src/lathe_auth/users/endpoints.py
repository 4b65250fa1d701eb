from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status
from lathe_common.auth import Principal, requires
from lathe_common.db import SessionDep
from lathe_common.pagination import Page, PageDep
from lathe_common.problem_docs import EVENT_TOO_LARGE, problems

from lathe_auth.roles import Role
from lathe_auth.users.schemas import (
    CANNOT_CHANGE_SELF,
    PASSWORD_POLICY,
    USER_EXISTS,
    USER_NOT_FOUND,
    UserCreate,
    UserRead,
    UserUpdate,
)
from lathe_auth.users.service import Users

router = APIRouter(prefix="/users", tags=["users"])

Reader = Annotated[Principal, requires("users:read")]
Admin = Annotated[Principal, requires("users:admin")]


@router.get("", response_model=Page[UserRead])
async def list_users(
    _: Reader,
    session: SessionDep,
    page: PageDep,
    role: Role | None = None,
    is_active: bool | None = None,
    q: Annotated[str | None, Query(max_length=100, description="part of username, email or name")] = None,
) -> Page[UserRead]:
    rows, total = await Users(session).search(page, role=role, is_active=is_active, q=q)
    return Page(items=[UserRead.model_validate(u) for u in rows], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "",
    response_model=UserRead,
    status_code=status.HTTP_201_CREATED,
    responses=problems(USER_EXISTS, *PASSWORD_POLICY, EVENT_TOO_LARGE),
)
async def create_user(body: UserCreate, _: Admin, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await Users(session).create(body))


@router.get("/{user_id}", response_model=UserRead, responses=problems(USER_NOT_FOUND))
async def get_user(user_id: uuid.UUID, _: Reader, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await Users(session).get(user_id))


@router.patch(
    "/{user_id}",
    response_model=UserRead,
    responses=problems(USER_NOT_FOUND, USER_EXISTS, CANNOT_CHANGE_SELF, *PASSWORD_POLICY, EVENT_TOO_LARGE),
)
async def update_user(user_id: uuid.UUID, body: UserUpdate, admin: Admin, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await Users(session).update(str(user_id), body, acting_user_id=admin.user_id))


@router.delete(
    "/{user_id}",
    response_model=UserRead,
    summary="Deactivate a user (accounts are never deleted)",
    responses=problems(USER_NOT_FOUND, CANNOT_CHANGE_SELF, EVENT_TOO_LARGE),
)
async def deactivate_user(user_id: uuid.UUID, admin: Admin, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await Users(session).deactivate(str(user_id), acting_user_id=admin.user_id))


@router.post(
    "/{user_id}/unlock",
    response_model=UserRead,
    summary="Lift a lockout after failed logins",
    responses=problems(USER_NOT_FOUND),
)
async def unlock_user(user_id: uuid.UUID, _: Admin, session: SessionDep) -> UserRead:
    return UserRead.model_validate(await Users(session).unlock(str(user_id)))
