"""What the notifications API reads and writes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import Field, model_validator

from app.core.schemas import RequestBody, ResponseBody
from app.notifications.models import NotificationKind

# Notification ids are BIGINT: a larger number names none, and the database would refuse it.
LARGEST_ID = 2**63 - 1
NotificationId = Annotated[int, Field(ge=1, le=LARGEST_ID)]


class NotificationPublic(ResponseBody):
    id: int = Field(description="Increases with every notification: the live stream's event id")
    kind: NotificationKind
    incident_id: uuid.UUID | None
    unit_id: int | None
    data: dict[str, Any] = Field(
        description="Small and lock-screen safe: the register number, the step and its name, "
        "the stage, the role and when the step is due; never the incident's title"
    )
    created_at: datetime
    read_at: datetime | None


class MarkRead(RequestBody):
    """Either every notification of the caller up to an id (what the client has shown), or
    the ones listed. Notifications of other people are never touched."""

    model_config = {"json_schema_extra": {"examples": [{"up_to_id": 42}, {"ids": [40, 42]}]}}

    up_to_id: NotificationId | None = None
    ids: list[NotificationId] | None = Field(default=None, min_length=1, max_length=500)

    @model_validator(mode="after")
    def _one_of(self) -> MarkRead:
        if (self.up_to_id is None) == (self.ids is None):
            raise ValueError("give either up_to_id or ids")
        return self


class MarkedRead(ResponseBody):
    marked: int = Field(description="How many of the caller's unread notifications are now read")
    unread: int = Field(description="How many of the caller's notifications are still unread")


class SettingsPublic(ResponseBody):
    push_muted: list[NotificationKind] = Field(
        description="Kinds not sent to the caller's phones; every other kind is, at any hour"
    )
    updated_at: datetime | None = Field(description="None while the defaults apply")


class SettingsUpdate(RequestBody):
    """The kinds to keep off the caller's phones; an empty list sends every kind."""

    model_config = {"json_schema_extra": {"examples": [{"push_muted": ["incident.archived"]}]}}

    push_muted: list[NotificationKind] = Field(max_length=len(NotificationKind))
