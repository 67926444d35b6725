"""Web Push: a phone's subscriptions (its owner's own) and the VAPID key it subscribes with."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response, status

from app.auth.deps import CurrentPrincipal, Principal
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.http import problems
from app.core.routing import OneHopRoute
from app.push import service
from app.push.models import PushSubscription
from app.push.schemas import PushSubscriptionPublic, PushSubscriptionPut, VapidPublicKey

router = APIRouter(route_class=OneHopRoute, tags=["push"])

_ENDPOINT_RULES = (
    "The endpoint must be https and its host must resolve only to public addresses (the "
    "webhooks' rules): otherwise 422 `push-endpoint-not-allowed`; keys that are not a P-256 "
    "point and a 16-byte secret in base64url: 422 `push-keys-invalid`. 404 `push-disabled` "
    "when the service does not send Web Push."
)


def _user(principal: Principal) -> uuid.UUID:
    if principal.is_client:
        raise NotFound("A service client has no push subscriptions")
    return principal.id


def _public(subscription: PushSubscription) -> PushSubscriptionPublic:
    return PushSubscriptionPublic.model_validate(subscription, from_attributes=True)


@router.get(
    "/push/vapid-public-key",
    operation_id="push_vapid_public_key",
    summary="The applicationServerKey to pass to PushManager.subscribe()",
    response_model=VapidPublicKey,
    responses=problems(401, 404),
)
def vapid_public_key(principal: CurrentPrincipal) -> VapidPublicKey:
    _user(principal)
    return VapidPublicKey(public_key=service.public_key())


@router.put(
    "/push-subscriptions",
    operation_id="push_subscriptions_put",
    summary="Store this browser's push subscription for the caller (upsert by endpoint)",
    description=(
        "Send `PushSubscription.toJSON()` as it is. 201 when the endpoint is new to the caller, "
        "200 when it was already theirs (its keys are replaced). On a phone shared between "
        "shifts the endpoint moves to the caller (201; what was queued for the previous user "
        f"is dropped). At most "
        f"{service.MAX_PER_USER} per user: a further one replaces the caller's least recently "
        "stored. Subscriptions are dropped on logout, deactivation, password and role "
        "changes: subscribe again after the next login. " + _ENDPOINT_RULES
    ),
    response_model=PushSubscriptionPublic,
    responses={201: {"model": PushSubscriptionPublic}, **problems(401, 404, 422)},
)
def put_subscription(
    body: PushSubscriptionPut,
    principal: CurrentPrincipal,
    session: SessionDep,
    response: Response,
    user_agent: Annotated[str | None, Header(max_length=1000)] = None,
) -> PushSubscriptionPublic:
    subscription, created = service.upsert(session, _user(principal), body, user_agent)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/api/v1/push-subscriptions/{subscription.id}"
    return _public(subscription)


@router.get(
    "/push-subscriptions",
    operation_id="push_subscriptions_list",
    summary="The caller's own push subscriptions (oldest first)",
    response_model=list[PushSubscriptionPublic],
    responses=problems(401, 404),
)
def list_subscriptions(
    principal: CurrentPrincipal, session: SessionDep
) -> list[PushSubscriptionPublic]:
    return [_public(s) for s in service.list_own(session, _user(principal))]


@router.delete(
    "/push-subscriptions/{push_subscription_id}",
    operation_id="push_subscriptions_delete",
    summary="Stop pushing to one of the caller's browsers",
    description="Another person's subscription is answered 404, as one that does not exist.",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 404, 422),
)
def delete_subscription(
    push_subscription_id: Annotated[uuid.UUID, Path(description="Push subscription id")],
    principal: CurrentPrincipal,
    session: SessionDep,
) -> None:
    service.delete_own(session, _user(principal), push_subscription_id)
