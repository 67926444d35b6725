"""Request and response bodies of the webhooks API. Only the create and rotate answers carry
a secret, and only the one just issued."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Self

from pydantic import AfterValidator, Field, model_validator

from app.core.schemas import RequestBody, ResponseBody, enum_reference
from app.outbox.service import EVENT_TYPES
from app.webhooks.models import DeliveryStatus
from app.webhooks.ssrf import URL_MAX, syntax_problem


def _event_type(value: str) -> str:
    if value not in EVENT_TYPES:
        raise ValueError(f"unknown event type; one of {', '.join(EVENT_TYPES)}")
    return value


def _url(value: str) -> str:
    problem = syntax_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _distinct_sorted(values: list[str]) -> list[str]:
    return sorted(set(values))


# As answered: declared as the same enum, not checked again (a stored type stays readable).
EventTypeName = Annotated[
    str,
    enum_reference("EventType", tuple(EVENT_TYPES), "An event a webhook subscription receives"),
]
EventType = Annotated[EventTypeName, AfterValidator(_event_type)]
EventTypes = Annotated[
    list[EventType],
    Field(min_length=1, max_length=len(EVENT_TYPES) * 2, examples=[["step.completed"]]),
    AfterValidator(_distinct_sorted),
]
WebhookUrl = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX,
        description="https URL of the receiver; its host must resolve to public addresses only",
        examples=["https://sistem.tangerangkota.go.id/hooks/trantib"],
    ),
    AfterValidator(_url),
]
Description = Annotated[str, Field(max_length=500)]


class SubscriptionCreate(RequestBody):
    url: WebhookUrl
    event_types: EventTypes
    description: Description = ""
    unit_id: int | None = Field(
        default=None, description="Only this kecamatan's events; omit for every kecamatan"
    )
    active: bool = True

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "url": "https://sistem.tangerangkota.go.id/hooks/trantib",
                    "event_types": ["incident.created", "step.completed", "sla.breached"],
                    "description": "Dashboard Pemkot",
                }
            ]
        }
    }


class SubscriptionUpdate(RequestBody):
    url: WebhookUrl | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None

    model_config = {"json_schema_extra": {"examples": [{"active": False}]}}

    @model_validator(mode="after")
    def _no_nulls(self) -> Self:
        # A field left out stays as it is; an explicit null would mean "clear", which no
        # field allows.
        nulls = [name for name in self.model_fields_set if getattr(self, name) is None]
        if nulls:
            raise ValueError(f"{', '.join(sorted(nulls))} may not be null")
        return self


class SubscriptionPublic(ResponseBody):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[EventTypeName]
    unit_id: int | None
    active: bool
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation also signs each message"
    )


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(
        description="Signing secret (Standard Webhooks `whsec_...`); shown only in this answer",
    )


class SecretRotated(ResponseBody):
    id: uuid.UUID
    secret: str = Field(description="The new signing secret; shown only in this answer")
    previous_secret_expires_at: datetime | None = Field(
        description="Messages carry a second signature with the old secret until then"
    )


class AttemptPublic(ResponseBody):
    number: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None = Field(description="First 1 KB of the receiver's answer")


class DeliveryPublic(ResponseBody):
    id: uuid.UUID
    subscription_id: uuid.UUID
    event_id: uuid.UUID = Field(description="The `webhook-id` header of every attempt")
    event_type: str
    status: DeliveryStatus
    attempts: int = Field(description="Attempts made, replays included")
    replays: int
    next_attempt_at: datetime | None = Field(description="Set while pending")
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryPublic):
    payload: dict[str, object] = Field(description="The message body, as signed")
    attempt_log: list[AttemptPublic]
