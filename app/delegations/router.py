"""Delegations: record a Plh or Plt for a post of a kecamatan, list them, end one early."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from app.auth.deps import CurrentPrincipal, Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import Limit, Offset, page_limit, problems
from app.core.routing import OneHopRoute
from app.core.schemas import AwareDatetime, Page
from app.delegations import schemas, service
from app.delegations.models import Position

router = APIRouter(route_class=OneHopRoute, prefix="/delegations", tags=["delegations"])

_WHO = (
    "An administrator (`delegations:admin`) records either kind for any kecamatan. The holder "
    "of a post (`delegations:write`, which the camat, sekcam and kasi_trantib roles carry) may "
    "name a Plh for their own post while away, unless TRANTIB_DELEGATION_SELF_PLH is false; "
    "anyone else is 403 `delegation-not-yours`."
)

# Either scope will do; which one decides what the caller may record.
_EITHER_SCOPE = {"x-required-scopes": ["delegations:admin", "delegations:write"]}


@router.post(
    "",
    operation_id="delegations_create",
    summary="Name a Plh (holder away) or Plt (post vacant) for a post of a kecamatan",
    description=(
        "While it is in force the deputy takes every action of the post in that kecamatan, "
        "with the post's scopes, on every request (no new login needed); the holder keeps "
        "their own power. Each act records the deputy and the capacity "
        '(`acting_as`, e.g. "Plh. CAMAT CILEDUG").\n\n'
        f"{_WHO}\n\n"
        "The deputy is an active officer of the same kecamatan, not an anggota and not the "
        "holder (422 `delegate-not-eligible`). A Plh needs `ends_at`; a start in the past or "
        "an end before the start is 422 `delegation-period-invalid`. One delegation per post "
        "at any moment: an overlap is 409 `delegation-overlap` naming the other (`other`)."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.DelegationPublic,
    responses=problems(401, 403, 409, 422),
    openapi_extra=_EITHER_SCOPE,
)
def create_delegation(
    body: schemas.DelegationCreate,
    session: SessionDep,
    response: Response,
    principal: CurrentPrincipal,
) -> schemas.DelegationPublic:
    delegation = service.create(session, principal, body)
    response.headers["Location"] = f"/api/v1/delegations/{delegation.id}"
    return service.to_public(session, delegation)


@router.get(
    "",
    operation_id="delegations_list",
    summary="Delegations, newest start first: the caller's kecamatan, or all for city roles",
    response_model=Page[schemas.DelegationPublic],
    responses=problems(401, 403, 422),
)
def list_delegations(
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_read)],
    unit: Annotated[
        str | None, Query(max_length=32, description="Kecamatan code (36.71.06) or slug")
    ] = None,
    position: Position | None = None,
    active_at: Annotated[
        AwareDatetime | None, Query(description="Only those in force at this moment")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[schemas.DelegationPublic]:
    limit = page_limit(limit)
    rows, total = service.list_delegations(
        session,
        principal,
        unit=unit,
        position=position,
        active_at=active_at,
        limit=limit,
        offset=offset,
    )
    return Page[schemas.DelegationPublic](
        items=[service.to_public(session, d) for d in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/{delegation_id}",
    operation_id="delegations_get",
    summary="One delegation (another kecamatan's is 404)",
    response_model=schemas.DelegationPublic,
    responses=problems(401, 403, 404, 422),
)
def get_delegation(
    delegation_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_read)],
) -> schemas.DelegationPublic:
    return service.to_public(session, service.get(session, principal, delegation_id))


@router.post(
    "/{delegation_id}/revoke",
    operation_id="delegations_revoke",
    summary="End a delegation now (the holder is back early, or the post is filled)",
    description=(
        "The deputy loses the post's power at once, on tokens issued before too; what they "
        f"did under it stays on the record. {_WHO} A delegation that already ended is 409 "
        "`delegation-ended`."
    ),
    response_model=schemas.DelegationPublic,
    responses=problems(401, 403, 404, 409, 422),
    openapi_extra=_EITHER_SCOPE,
)
def revoke_delegation(
    delegation_id: uuid.UUID,
    body: schemas.DelegationRevoke,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> schemas.DelegationPublic:
    delegation = service.get(session, principal, delegation_id)
    return service.to_public(session, service.revoke(session, principal, delegation, body.reason))
