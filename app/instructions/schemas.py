"""The Kasi Trantib's instruction to a Danru."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import ActionBody, ResponseBody


class InstructionCreate(ActionBody):
    danru_id: uuid.UUID = Field(description="An active danru of the same kecamatan")
    note: str | None = Field(default=None, max_length=4000)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "danru_id": "5f1d8a52-3c1e-4b7a-9e0d-2a6b7c8d9e01",
                    "note": "Siapkan rencana pengamanan dan draft Surat Perintah",
                }
            ]
        }
    }


class InstructionPublic(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    danru_id: uuid.UUID
    note: str | None
    created_by: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
