"""The caller's own profile and user administration (scope users:admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.auth.deps import CurrentPrincipal, Principal, require
from app.auth.roles import Role
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.http import Limit, Offset, page_limit, problems
from app.core.routing import OneHopRoute, in_hop
from app.core.schemas import Page
from app.delegations.service import held_posts
from app.units.known import known_unit
from app.users import service
from app.users.models import User
from app.users.schemas import Me, PasswordReset, UserCreate, UserPublic, UserUpdate

router = APIRouter(route_class=OneHopRoute, prefix="/users", tags=["users"])

AdminPrincipal = Annotated[Principal, require(Scope.users_admin)]


@in_hop
def get_user_or_404(
    user_id: Annotated[uuid.UUID, Path(description="User id")],
    session: SessionDep,
    _admin: AdminPrincipal,
) -> User:
    return service.get_user(session, user_id)


UserDep = Annotated[User, Depends(get_user_or_404)]


@router.get(
    "/me",
    operation_id="users_me",
    summary="Who am I: the caller's profile, unit and token scopes",
    description="A service client is no user: its token is answered 404.",
    response_model=Me,
    responses=problems(401, 404),
)
def me(principal: CurrentPrincipal, session: SessionDep) -> Me:
    # Who the caller is was read with the token's check (app.auth.deps); only the unit is left.
    if principal.is_client:
        raise NotFound("No user with this id")
    unit = known_unit(session, principal.unit_id) if principal.unit_id is not None else None
    return Me(
        id=principal.id,
        username=principal.username,
        full_name=principal.full_name,
        role=principal.role,
        unit=unit,
        scopes=sorted(principal.scopes),
        posts=held_posts(session, principal, unit.name if unit else ""),
    )


@router.get(
    "",
    operation_id="users_list",
    summary="List users, filtered and paginated (ordered by username)",
    response_model=Page[UserPublic],
    responses=problems(401, 403, 422),
)
def list_users(
    session: SessionDep,
    _admin: AdminPrincipal,
    role: Role | None = None,
    unit: Annotated[
        str | None,
        Query(max_length=32, description="Kecamatan id, code (36.71.06) or slug (ciledug)"),
    ] = None,
    active: bool | None = None,
    q: Annotated[
        str | None,
        Query(max_length=64, description="Part of the username or full name, any case"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[UserPublic]:
    limit = page_limit(limit)
    users, total = service.list_users(
        session, role=role, unit=unit, active=active, q=q, limit=limit, offset=offset
    )
    units = service.units_by_id(session)
    return Page[UserPublic](
        items=[service.to_public(u, units) for u in users], total=total, limit=limit, offset=offset
    )


@router.post(
    "",
    operation_id="users_create",
    summary="Create a user",
    description=(
        "Kecamatan roles (camat, sekcam, kasi_trantib, danru, anggota) need `unit_id` or "
        "`unit`; pimpinan and admin take none (422 `unit-role-mismatch`). A kecamatan has one "
        "active camat, sekcam and kasi_trantib at a time (409 `role-holder-exists`); usernames "
        "are unique (409 `username-taken`)."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=problems(401, 403, 409, 422),
)
def create_user(
    body: UserCreate, session: SessionDep, response: Response, _admin: AdminPrincipal
) -> UserPublic:
    user = service.create_user(session, body)
    response.headers["Location"] = f"/api/v1/users/{user.id}"
    return service.public(session, user)


@router.get(
    "/{user_id}",
    operation_id="users_get",
    summary="One user",
    response_model=UserPublic,
    responses=problems(401, 403, 404, 422),
)
def get_user(user: UserDep, session: SessionDep) -> UserPublic:
    return service.public(session, user)


@router.patch(
    "/{user_id}",
    operation_id="users_update",
    summary="Change role, unit, active flag, name or NIP",
    description=(
        "Only the fields sent change; other fields are refused (422). Deactivation, a role "
        "change and a unit change end the user's live tokens at once. 409 `role-holder-exists` "
        "when the single-holder role is filled; 409 `self-lockout` when administrators would "
        "deactivate or demote themselves.\n\n"
        "Taking the only camat, sekcam or kasi_trantib of a kecamatan out (deactivation, role "
        "or unit change) while its incidents wait on that post is 409 "
        "`position-would-be-vacant` listing them (`incidents`), unless a Plt is in force; "
        "`allow_vacancy=true` does it anyway, and the post then shows as vacant in "
        "GET /api/v1/units/{unit}/positions and the SLA breach board."
    ),
    response_model=UserPublic,
    responses=problems(401, 403, 404, 409, 422),
)
def update_user(
    user: UserDep,
    body: UserUpdate,
    session: SessionDep,
    admin: AdminPrincipal,
    allow_vacancy: Annotated[
        bool, Query(description="Leave a post without holder or Plt, incidents waiting")
    ] = False,
) -> UserPublic:
    service.update_user(session, user, body, actor_id=admin.id, allow_vacancy=allow_vacancy)
    return service.public(session, user)


@router.post(
    "/{user_id}/password",
    operation_id="users_reset_password",
    summary="Set a new password; the user's live tokens stop",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 422),
)
def reset_password(user: UserDep, body: PasswordReset, session: SessionDep) -> None:
    service.reset_password(session, user, body.password)
