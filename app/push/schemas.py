"""Request and response bodies of the Web Push API."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from app.core.schemas import RequestBody, ResponseBody
from app.webhooks.ssrf import URL_MAX, syntax_problem


def _url(value: str) -> str:
    problem = syntax_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Endpoint = Annotated[
    str,
    Field(
        min_length=1,
        max_length=URL_MAX,
        description="PushSubscription.endpoint: the push service's https URL for this browser",
        examples=["https://fcm.googleapis.com/fcm/send/GANTI-ENDPOINT"],
    ),
    AfterValidator(_url),
]


class PushSubscriptionKeys(RequestBody):
    p256dh: str = Field(
        min_length=1,
        max_length=100,
        description="The browser's P-256 public key: 65 bytes (uncompressed point), base64url",
    )
    auth: str = Field(
        min_length=1, max_length=40, description="The auth secret: 16 bytes, base64url"
    )


class PushSubscriptionPut(RequestBody):
    """What `PushSubscription.toJSON()` gives, as the browser hands it over."""

    endpoint: Endpoint
    keys: PushSubscriptionKeys
    # toJSON() sends it (mostly null); the push service's own expiry, not ours to keep.
    expirationTime: int | None = Field(default=None, ge=0)  # noqa: N815  (the browser's name)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "endpoint": "https://fcm.googleapis.com/fcm/send/GANTI-ENDPOINT",
                    "expirationTime": None,
                    "keys": {
                        "p256dh": "BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-"
                        "Ts1XbjhazAkj7I99e8QcYP7DkM",
                        "auth": "tBHItJI5svbpez7KI4CCXg",
                    },
                }
            ]
        }
    }


class PushSubscriptionPublic(ResponseBody):
    id: uuid.UUID
    endpoint: str
    user_agent: str | None
    created_at: datetime
    updated_at: datetime
    last_delivered_at: datetime | None


class VapidPublicKey(ResponseBody):
    public_key: str = Field(
        description="applicationServerKey for PushManager.subscribe(): the VAPID public key, "
        "an uncompressed P-256 point in base64url"
    )
