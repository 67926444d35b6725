"""Service clients: city (Pemkot) systems registered for the client-credentials grant
(scope clients:admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response, status

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.clients import service
from app.clients.models import CLIENT_ID_MAX, ServiceClient
from app.clients.schemas import (
    CLIENT_SCOPES,
    ClientCreate,
    ClientCreated,
    ClientPublic,
    ClientSecret,
    ClientUpdate,
)
from app.core.db import SessionDep
from app.core.http import Limit, Offset, page_limit, problems
from app.core.routing import OneHopRoute, in_hop
from app.core.schemas import Page

router = APIRouter(route_class=OneHopRoute, prefix="/clients", tags=["clients"])

AdminPrincipal = Annotated[Principal, require(Scope.clients_admin)]


@in_hop
def get_client_or_404(
    client_id: Annotated[str, Path(max_length=CLIENT_ID_MAX, description="The client id")],
    session: SessionDep,
    _admin: AdminPrincipal,
) -> ServiceClient:
    return service.get_client(session, client_id)


ClientDep = Annotated[ServiceClient, Depends(get_client_or_404)]


@router.post(
    "",
    operation_id="clients_create",
    summary="Register a service client; its secret is shown in this answer only",
    description=(
        "A city system that calls the API with `grant_type=client_credentials`. `scopes` is a "
        f"subset of: {', '.join(f'`{s}`' for s in CLIENT_SCOPES)} (anything else is 422); "
        "step actions stay with the people the SOP names. With `unit_id` or `unit` the "
        "client acts for one kecamatan and sees only its incidents; without, it sees every "
        "kecamatan and must name one when it registers an incident. The secret is stored "
        "hashed and cannot be shown again: rotate it when it is lost. 422 `unknown-unit` when "
        "the kecamatan does not exist."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=ClientCreated,
    responses=problems(401, 403, 422),
)
def create_client(
    body: ClientCreate, session: SessionDep, response: Response, admin: AdminPrincipal
) -> ClientCreated:
    created = service.create_client(session, body, actor_id=admin.id)
    response.headers["Location"] = f"/api/v1/clients/{created.client_id}"
    response.headers["Cache-Control"] = "no-store"
    return created


@router.get(
    "",
    operation_id="clients_list",
    summary="List service clients (oldest first), without their secrets",
    response_model=Page[ClientPublic],
    responses=problems(401, 403, 422),
)
def list_clients(
    session: SessionDep,
    _admin: AdminPrincipal,
    active: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ClientPublic]:
    limit = page_limit(limit)
    items, total = service.list_clients(session, active=active, limit=limit, offset=offset)
    return Page[ClientPublic](items=items, total=total, limit=limit, offset=offset)


@router.get(
    "/{client_id}",
    operation_id="clients_get",
    summary="One service client, without its secret",
    response_model=ClientPublic,
    responses=problems(401, 403, 404, 422),
)
def get_client(client: ClientDep, session: SessionDep) -> ClientPublic:
    return service.to_public(session, client)


@router.patch(
    "/{client_id}",
    operation_id="clients_update",
    summary="Change the name, description, scopes or active flag",
    description=(
        "Only the fields sent change. Deactivation refuses new tokens and ends the live ones "
        "at once; scopes taken away stop working at once, even in live tokens, while scopes "
        "added reach only tokens issued afterwards. The kecamatan never changes."
    ),
    response_model=ClientPublic,
    responses=problems(401, 403, 404, 422),
)
def update_client(client: ClientDep, body: ClientUpdate, session: SessionDep) -> ClientPublic:
    return service.to_public(session, service.update_client(session, client, body))


@router.post(
    "/{client_id}/rotate-secret",
    operation_id="clients_rotate_secret",
    summary="Issue a new secret, shown in this answer only; the old one stops at once",
    description=(
        "The old secret is refused from now on and every token issued with it stops "
        "working: the client must ask for a new token with the new secret."
    ),
    response_model=ClientSecret,
    responses=problems(401, 403, 404, 422),
)
def rotate_secret(client: ClientDep, session: SessionDep, response: Response) -> ClientSecret:
    response.headers["Cache-Control"] = "no-store"
    return service.rotate_secret(session, client)
