"""Orders (Surat Perintah Walikota, Surat Perintah) and the execution order (dispatch)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Response, status
from sqlmodel import Session

from app.auth.deps import Principal, require
from app.auth.roles import role_name, staff_roles_with
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.errors import InsufficientScope
from app.core.http import ACTION, READ, IfMatch, parse_if_match
from app.core.routing import OneHopRoute
from app.documents import service as documents
from app.documents.models import DocumentKind
from app.incidents.deps import IncidentDep
from app.incidents.schemas import with_incident
from app.incidents.service import answer
from app.orders import schemas, service

router = APIRouter(route_class=OneHopRoute, tags=["orders"])


def _public(session: Session, order: Any) -> dict[str, Any]:
    return documents.with_document(session, DocumentKind.surat_perintah, order)


_KIND_SCOPE = {"walikota": Scope.orders_command, "surat_perintah": Scope.orders_validate}


@router.post(
    "/incidents/{incident_id}/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=with_incident(schemas.OrderPublic),
    operation_id="orders_create",
    summary="Record the Surat Perintah Walikota; validate the Surat Perintah",
    description="`kind: walikota` (scope orders:command) records the Camat's order and "
    "passes the handling order to the Kasi Trantib. `kind: surat_perintah` (scope "
    "orders:validate) turns the fully verified draft into the numbered, immutable Surat "
    "Perintah.",
    responses=ACTION,
    openapi_extra={"x-required-scopes": ["orders:command", "orders:validate"]},
)
def create_order(
    incident_id: uuid.UUID,
    body: Annotated[
        schemas.OrderCreate, Body(openapi_examples=schemas.ORDER_EXAMPLES, title="OrderCreate")
    ],
    session: SessionDep,
    principal: Annotated[Principal, require()],
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    scope = _KIND_SCOPE[body.kind]
    if not principal.has(scope):
        roles = [str(r) for r in staff_roles_with([str(scope)])]
        raise InsufficientScope(
            f"Only the {' or the '.join(role_name(r) for r in roles)} may record an order of "
            f"kind {body.kind} (it needs the scope {scope})",
            required_scopes=[str(scope)],
            allowed_roles=roles,
        )
    seen = parse_if_match(if_match)
    if isinstance(body, schemas.WalikotaOrderCreate):
        order = service.record_walikota(session, principal, incident_id, body, seen)
    else:
        order = service.validate(session, principal, incident_id, body, seen)
    response.headers["Location"] = f"/api/v1/orders/{order.id}"
    return answer(session, principal, _public(session, order))


@router.get(
    "/incidents/{incident_id}/orders",
    response_model=list[schemas.OrderPublic],
    operation_id="orders_list",
    summary="The orders of an incident",
    responses=READ,
)
def list_orders(
    incident: IncidentDep,
    session: SessionDep,
    _principal: Annotated[Principal, require(Scope.orders_read)],
) -> Any:
    return [_public(session, order) for order in service.for_incident(session, incident.id)]


@router.get(
    "/orders/{order_id}",
    response_model=schemas.OrderPublic,
    operation_id="orders_get",
    summary="One order",
    responses=READ,
)
def get_order(
    order_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.orders_read)],
) -> Any:
    return _public(session, service.load_order(session, principal, order_id))


@router.post(
    "/orders/{order_id}/dispatch",
    response_model=with_incident(schemas.OrderPublic),
    operation_id="orders_dispatch",
    summary="Give the execution order to a Danru",
    responses=ACTION,
)
def dispatch(
    order_id: uuid.UUID,
    body: schemas.DispatchBody,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.orders_dispatch)],
    if_match: IfMatch = None,
) -> Any:
    order = service.load_order(session, principal, order_id)
    order = service.dispatch(session, principal, order, body, parse_if_match(if_match))
    return answer(session, principal, _public(session, order))
