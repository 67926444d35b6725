"""Webhook subscriptions and their deliveries (scope webhooks:admin)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.http import Limit, Offset, page_limit, problems
from app.core.routing import OneHopRoute, in_hop
from app.core.schemas import Page
from app.webhooks import service
from app.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from app.webhooks.schemas import (
    DeliveryDetail,
    DeliveryPublic,
    SecretRotated,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionPublic,
    SubscriptionUpdate,
)

router = APIRouter(route_class=OneHopRoute, prefix="/webhooks", tags=["webhooks"])

AdminPrincipal = Annotated[Principal, require(Scope.webhooks_admin)]

_URL_RULES = (
    "The URL must be https (http only with TRANTIB_WEBHOOKS_ALLOW_HTTP) and its host must "
    "resolve only to public addresses: loopback, private (RFC 1918, ULA), link-local "
    "(including 169.254.169.254), carrier-grade NAT, multicast and unspecified addresses "
    "are refused with 422 `webhook-url-not-allowed` unless TRANTIB_WEBHOOKS_ALLOW_PRIVATE. "
    "The check is made again before every delivery attempt."
)


@in_hop
def get_subscription_or_404(
    subscription_id: Annotated[uuid.UUID, Path(description="Subscription id")],
    session: SessionDep,
    _admin: AdminPrincipal,
) -> WebhookSubscription:
    return service.get_subscription(session, subscription_id)


@in_hop
def get_delivery_or_404(
    delivery_id: Annotated[uuid.UUID, Path(description="Delivery id")],
    session: SessionDep,
    _admin: AdminPrincipal,
) -> WebhookDelivery:
    return service.get_delivery(session, delivery_id)


SubscriptionDep = Annotated[WebhookSubscription, Depends(get_subscription_or_404)]
DeliveryDep = Annotated[WebhookDelivery, Depends(get_delivery_or_404)]


@router.post(
    "/subscriptions",
    operation_id="webhooks_subscriptions_create",
    summary="Subscribe a URL to events; the signing secret is shown in this answer only",
    description=(
        "Messages follow Standard Webhooks: headers `webhook-id` (the event id, the same "
        "on every retry), `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 "
        "HMAC-SHA256 of `{id}.{timestamp}.{body}` keyed with the decoded secret). "
        + _URL_RULES
        + " 422 `unknown-unit` when `unit_id` names no kecamatan."
    ),
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionCreated,
    responses=problems(401, 403, 422),
)
def create_subscription(
    body: SubscriptionCreate, session: SessionDep, response: Response, admin: AdminPrincipal
) -> SubscriptionCreated:
    created = service.create_subscription(session, body, actor_id=admin.id)
    response.headers["Location"] = f"/api/v1/webhooks/subscriptions/{created.id}"
    return created


@router.get(
    "/subscriptions",
    operation_id="webhooks_subscriptions_list",
    summary="List webhook subscriptions (oldest first)",
    response_model=Page[SubscriptionPublic],
    responses=problems(401, 403, 422),
)
def list_subscriptions(
    session: SessionDep,
    _admin: AdminPrincipal,
    active: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[SubscriptionPublic]:
    limit = page_limit(limit)
    rows, total = service.list_subscriptions(session, active=active, limit=limit, offset=offset)
    return Page[SubscriptionPublic](
        items=[service.to_public(s) for s in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/subscriptions/{subscription_id}",
    operation_id="webhooks_subscriptions_get",
    summary="One webhook subscription (without its secret)",
    response_model=SubscriptionPublic,
    responses=problems(401, 403, 404, 422),
)
def get_subscription(subscription: SubscriptionDep) -> SubscriptionPublic:
    return service.to_public(subscription)


@router.patch(
    "/subscriptions/{subscription_id}",
    operation_id="webhooks_subscriptions_update",
    summary="Change the URL, event types, description or active flag",
    description=(
        "Only the fields sent change. An inactive subscription gets no new deliveries and its "
        "pending ones wait until it is active again. " + _URL_RULES
    ),
    response_model=SubscriptionPublic,
    responses=problems(401, 403, 404, 422),
)
def update_subscription(
    subscription: SubscriptionDep, body: SubscriptionUpdate, session: SessionDep
) -> SubscriptionPublic:
    return service.to_public(service.update_subscription(session, subscription, body))


@router.delete(
    "/subscriptions/{subscription_id}",
    operation_id="webhooks_subscriptions_delete",
    summary="Delete a subscription with its deliveries and their attempts",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problems(401, 403, 404, 422),
)
def delete_subscription(subscription: SubscriptionDep, session: SessionDep) -> None:
    service.delete_subscription(session, subscription)


@router.post(
    "/subscriptions/{subscription_id}/rotate-secret",
    operation_id="webhooks_subscriptions_rotate_secret",
    summary="Issue a new signing secret, shown in this answer only",
    description=(
        "For TRANTIB_WEBHOOKS_ROTATION_GRACE_HOURS after a rotation every message carries two "
        "signatures in `webhook-signature`, one with the new secret and one with the old, so "
        "the receiver can switch secrets without refusing messages."
    ),
    response_model=SecretRotated,
    responses=problems(401, 403, 404, 422),
)
def rotate_secret(subscription: SubscriptionDep, session: SessionDep) -> SecretRotated:
    return service.rotate_secret(session, subscription)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    operation_id="webhooks_deliveries_list",
    summary="A subscription's deliveries, newest first, optionally by status",
    response_model=Page[DeliveryPublic],
    responses=problems(401, 403, 404, 422),
)
def list_deliveries(
    subscription: SubscriptionDep,
    session: SessionDep,
    status: Annotated[DeliveryStatus | None, Query(description="Only this status")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeliveryPublic]:
    limit = page_limit(limit)
    rows, total = service.list_deliveries(
        session, subscription, status=status, limit=limit, offset=offset
    )
    return Page[DeliveryPublic](
        items=[service.delivery_public(d) for d in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/deliveries/{delivery_id}",
    operation_id="webhooks_deliveries_get",
    summary="One delivery with its message and every attempt",
    response_model=DeliveryDetail,
    responses=problems(401, 403, 404, 422),
)
def get_delivery(delivery: DeliveryDep, session: SessionDep) -> DeliveryDetail:
    return service.delivery_detail(session, delivery)


@router.post(
    "/deliveries/{delivery_id}/replay",
    operation_id="webhooks_deliveries_replay",
    summary="Queue a delivered or dead delivery again",
    description=(
        "The delivery becomes pending and due now. Attempt numbers continue (the history is "
        "kept) and the retry budget starts afresh with TRANTIB_WEBHOOKS_MAX_ATTEMPTS tries; "
        "`webhook-id` stays the event id, so receivers that deduplicate will see it as the "
        "same message. 409 `delivery-pending` when it is still pending."
    ),
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryPublic,
    responses=problems(401, 403, 404, 409, 422),
)
def replay_delivery(delivery: DeliveryDep, session: SessionDep) -> DeliveryPublic:
    return service.delivery_public(service.replay(session, delivery))
