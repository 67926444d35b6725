"""Verification decisions: approve, or return with a note."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Self

from pydantic import Field, model_validator

from app.auth.roles import Role
from app.core.schemas import ActionBody, ResponseBody
from app.delegations.schemas import ActingAs
from app.sop.definition import stage_field
from app.verifications.models import Decision


class VerificationCreate(ActionBody):
    decision: Decision
    note: str | None = Field(default=None, max_length=4000)

    @model_validator(mode="after")
    def _return_needs_note(self) -> Self:
        if self.decision == "return" and not (self.note and self.note.strip()):
            raise ValueError("a return needs a note saying what to correct")
        return self

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"decision": "approve", "note": "Sesuai"},
                {
                    "decision": "return",
                    "note": "Perbaiki dasar: cantumkan nomor Surat Perintah Walikota",
                },
            ]
        }
    }


class VerificationPublic(ResponseBody):
    id: uuid.UUID
    draft_id: uuid.UUID
    incident_id: uuid.UUID
    draft_version: int
    step: int
    stage: str = stage_field("The stage of the step this decision took")
    decision: Decision
    note: str | None
    actor_id: uuid.UUID
    actor_role: Role = Field(description="The actor's own role")
    acting_as: ActingAs | None = Field(
        default=None,
        description="Set when a deputy took the stage in the post it belongs to (e.g. a "
        "Sekcam as Plh Camat verifying)",
    )
    occurred_at: datetime
    recorded_at: datetime
