"""Step records: what was done at a step that the SOP completes with a note."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import Field

from app.core.schemas import ActionBody, RequestBody, ResponseBody
from app.sop.definition import step_code_field


class Contact(RequestBody):
    """Someone the step's actor dealt with (e.g. the Polsek officer coordinated with)."""

    name: str = Field(min_length=1, max_length=200)
    organization: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)


class StepRecordCreate(ActionBody):
    note: str = Field(min_length=1, max_length=4000, description="What was done, and agreed")
    contacts: list[Contact] = Field(default_factory=list, max_length=20)

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "note": "Koordinasi dengan Kapolsek: pengamanan bersama, titik kumpul di "
                    "halaman kantor kecamatan pukul 07.30 WIB",
                    "contacts": [
                        {"name": "AKP Rahmat", "organization": "Polsek Ciledug"},
                    ],
                }
            ]
        }
    }


class ContactPublic(ResponseBody):
    name: str
    organization: str | None = None
    phone: str | None = None


class StepRecordPublic(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    sop_version: str
    step: int
    step_code: str = step_code_field()
    note: str
    contacts: list[ContactPublic]
    created_by: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime
