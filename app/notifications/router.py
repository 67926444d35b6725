"""The caller's notifications: what they were told, read or not; marking them read."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.concurrency import run_in_threadpool
from sse_starlette import EventSourceResponse, ServerSentEvent

from app.auth.deps import Principal, oauth2_scheme, require
from app.auth.scopes import Scope
from app.core.config import get_settings
from app.core.db import SessionDep, settle
from app.core.http import Limit, Offset, page_limit, problems
from app.core.routing import OneHopRoute
from app.core.schemas import Page
from app.core.security import decode_access_token
from app.notifications import schemas, service, stream
from app.notifications.models import NotificationKind, NotificationSettings
from app.notifications.schemas import LARGEST_ID

router = APIRouter(route_class=OneHopRoute, prefix="/notifications", tags=["notifications"])


@router.get(
    "",
    response_model=Page[schemas.NotificationPublic],
    operation_id="notifications_list",
    summary="The caller's own notifications, newest first",
    description=(
        "One notification per person and event: task.assigned when a step now waits on the "
        "caller, task.withdrawn when it no longer does, sla.at_risk and sla.breached, "
        "draft.returned to its drafter, incident.cancelled and incident.archived to everyone "
        "who held a task on it. Nobody is told of their own action. `after_id` returns only "
        "newer ones (the id is the live stream's event id)."
    ),
    responses=problems(401, 403, 422),
)
def list_notifications(
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.notifications_read)],
    unread: Annotated[bool | None, Query(description="Only unread (true) or read (false)")] = None,
    after_id: Annotated[
        int | None, Query(ge=0, le=LARGEST_ID, description="Only ids above this one")
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[schemas.NotificationPublic]:
    limit = page_limit(limit)
    rows, total = service.list_own(
        session, principal, unread=unread, after_id=after_id, limit=limit, offset=offset
    )
    return Page[schemas.NotificationPublic](
        items=[schemas.NotificationPublic.model_validate(r, from_attributes=True) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.post(
    "/read",
    response_model=schemas.MarkedRead,
    operation_id="notifications_mark_read",
    summary="Mark the caller's notifications read: up to an id, or the ones listed",
    responses=problems(401, 403, 422),
)
def mark_read(
    body: schemas.MarkRead,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.notifications_write)],
) -> schemas.MarkedRead:
    marked, unread = service.mark_read(session, principal, body)
    return schemas.MarkedRead(marked=marked, unread=unread)


settings_router = APIRouter(route_class=OneHopRoute, prefix="/users/me", tags=["notifications"])


def _settings(row: NotificationSettings | None) -> schemas.SettingsPublic:
    if row is None:
        return schemas.SettingsPublic(push_muted=[], updated_at=None)
    return schemas.SettingsPublic(
        push_muted=[NotificationKind(kind) for kind in row.push_muted], updated_at=row.updated_at
    )


@settings_router.get(
    "/notification-settings",
    response_model=schemas.SettingsPublic,
    operation_id="notification_settings_get",
    summary="Which kinds of notification the caller keeps off their phones",
    description="By default every kind is pushed, at any hour: riots happen at night.",
    responses=problems(401, 403),
)
def read_notification_settings(
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.notifications_read)],
) -> schemas.SettingsPublic:
    return _settings(service.settings_of(session, principal))


@settings_router.patch(
    "/notification-settings",
    response_model=schemas.SettingsPublic,
    operation_id="notification_settings_update",
    summary="Choose which kinds of notification stay off the caller's phones",
    description="The list replaces the stored one; an empty list pushes every kind again. "
    "The live stream and GET /notifications carry every kind regardless.",
    responses=problems(401, 403, 422),
)
def update_notification_settings(
    body: schemas.SettingsUpdate,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.notifications_write)],
) -> schemas.SettingsPublic:
    return _settings(service.update_settings(session, principal, body))


stream_router = APIRouter(route_class=OneHopRoute, tags=["notifications"])


@stream_router.get(
    "/stream",
    operation_id="notifications_stream",
    summary="The caller's notifications as they happen (Server-Sent Events)",
    description=(
        "text/event-stream: first a `ready` event (refetch /tasks then: nothing falls between "
        "the fetch and the stream), then each new notification as an event whose id is the "
        "notification id, type its kind and data small JSON; a comment line every "
        "TRANTIB_STREAM_PING_SECONDS. A client reconnecting sends its last id as "
        "`Last-Event-ID` (or `last_event_id`) and gets what it missed, or a `reset` event "
        "when it missed more than TRANTIB_STREAM_BACKLOG_LIMIT (refetch). The stream ends "
        "when the access token expires: reconnect with a fresh token and the last id."
    ),
    response_class=EventSourceResponse,
    responses={200: {"content": {"text/event-stream": {}}}, **problems(401, 403, 422, 429)},
)
async def live_stream(
    principal: Annotated[Principal, require(Scope.notifications_read)],
    session: SessionDep,
    token: Annotated[str, Depends(oauth2_scheme)],
    last_event_id_header: Annotated[
        str,
        Header(
            alias="Last-Event-ID",
            pattern=r"^[0-9]{0,18}$",
            description="The last id the client saw",
        ),
    ] = "",
    last_event_id: Annotated[
        int | None,
        Query(ge=0, le=LARGEST_ID, description="As Last-Event-ID, for clients without headers"),
    ] = None,
) -> EventSourceResponse:
    expires_at = decode_access_token(get_settings(), token).expires_at
    # The caller's lookup is done: its pooled connection goes back before the stream waits
    # for anything. Kept until the endpoint returned, a burst of openings held every
    # connection while waiting for the process's reader to start, and its start needs one.
    await run_in_threadpool(settle, session)
    queue = await stream.broadcaster.subscribe(principal.id)
    resume = int(last_event_id_header) if last_event_id_header else last_event_id

    async def events() -> AsyncIterator[ServerSentEvent]:
        async for message in stream.messages(principal.id, queue, expires_at, resume):
            yield ServerSentEvent(
                data=json.dumps(message.data, default=str, separators=(",", ":")),
                event=message.event,
                id=None if message.id is None else str(message.id),
            )

    return EventSourceResponse(events(), ping=get_settings().stream_ping_seconds)
