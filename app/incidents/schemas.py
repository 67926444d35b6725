"""Request and response bodies for incidents."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Annotated, Any, Union, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel, computed_field, create_model

from app.auth.roles import Role
from app.core.http import etag
from app.core.schemas import ActionBody, AsStored, AwareDatetime, RequestBody, ResponseBody
from app.delegations.schemas import ActingAs
from app.incidents.models import EscalationLevel, IncidentKind, IncidentStatus
from app.sop.catalogue import Action
from app.sop.definition import stage_field, step_code_field


class InfoSource(StrEnum):
    polri_notice = "polri_notice"  # surat pemberitahuan / STTP from the police
    organizer_letter = "organizer_letter"
    citizen_report = "citizen_report"
    early_detection = "early_detection"
    media = "media"
    coordination_meeting = "coordination_meeting"


class Location(RequestBody):
    address: str = Field(min_length=3, max_length=300)
    kelurahan: str = Field(
        min_length=2, max_length=64, description="A kelurahan of the incident's kecamatan"
    )
    landmark: str | None = Field(default=None, max_length=200)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)


class LocationPublic(Location):
    """The location as registered (members not given are absent, not null), with the code of
    its kelurahan."""

    kelurahan_code: str = Field(description="The kelurahan's Kemendagri code")


class Organizer(RequestBody):
    name: str = Field(min_length=2, max_length=120, description="Penanggung jawab / korlap")
    organization: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=64, description="Phone number")
    role: str | None = Field(default=None, max_length=32)


class IncidentCreate(RequestBody):
    kind: IncidentKind
    title: str = Field(min_length=3, max_length=200)
    location: Location
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the demonstration or riot began (or will begin)"
    )
    reported_at: AwareDatetime | None = Field(
        default=None,
        description="When the kecamatan learned of it; the first step starts here. "
        "Defaults to now.",
    )
    organizer: Organizer | None = None
    estimated_crowd: int | None = Field(default=None, ge=0, le=10_000_000)
    demands: list[str] = Field(
        default_factory=list, max_length=50, description="Tuntutan, one per entry"
    )
    police_notified: bool = False
    police_receipt_number: str | None = Field(
        default=None, max_length=80, description="STTP number when there is one"
    )
    police_unit: str | None = Field(
        default=None, max_length=120, description="Receiving police unit, e.g. Polsek Ciledug"
    )
    escalation_level: EscalationLevel = EscalationLevel.hijau
    info_source: InfoSource | None = None
    notes: str | None = Field(default=None, max_length=4000)
    unit: str | None = Field(
        default=None,
        max_length=32,
        description="Kecamatan code or slug. A city-wide caller (a city system registered for "
        "every kecamatan) must name it (422 without); a kecamatan's caller may leave it out or "
        "name its own (403 for another kecamatan).",
    )

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "kind": "unjuk_rasa",
                    "title": "Unjuk rasa buruh di depan kantor kecamatan",
                    "location": {
                        "address": "Jl. HOS Cokroaminoto No. 1",
                        "kelurahan": "Sudimara Timur",
                        "lat": -6.2297,
                        "lon": 106.7108,
                    },
                    "occurred_at": "2026-11-28T09:00:00+07:00",
                    "organizer": {
                        "name": "Budi Santoso",
                        "organization": "Serikat Pekerja",
                        "contact": "081234567890",
                    },
                    "estimated_crowd": 250,
                    "demands": ["Kenaikan upah minimum"],
                    "police_notified": True,
                    "police_receipt_number": "STTP/123/XI/2026/Polsek Ciledug",
                    "escalation_level": "hijau",
                }
            ]
        }
    }


class EscalationCreate(ActionBody):
    level: EscalationLevel
    note: str | None = Field(default=None, max_length=2000)

    model_config = {
        "json_schema_extra": {
            "examples": [{"level": "kuning", "note": "Massa mulai mendorong pagar kantor"}]
        }
    }


class CancelBody(ActionBody):
    reason: str = Field(min_length=5, max_length=2000)

    model_config = {
        "json_schema_extra": {
            "examples": [{"reason": "Rencana unjuk rasa dibatalkan oleh koordinator aksi"}]
        }
    }


class PoliceNotice(ResponseBody):
    """Whether the police were told of it (surat pemberitahuan), with the receipt (STTP)."""

    model_config = ConfigDict(extra="forbid")

    notified: bool
    receipt_number: str | None
    unit: str | None = Field(description="The receiving police unit, e.g. Polsek Ciledug")


ALLOWED_ACTIONS = (
    "Actions the caller may take now: kinds of the API's action catalogue (which step takes "
    "which is the SOP definition's), so that a client shows only the buttons that will work"
)


class UnitRef(ResponseBody):
    id: int
    code: str
    name: str


class IncidentPublic(ResponseBody):
    id: uuid.UUID
    register_number: str
    unit: UnitRef
    kind: IncidentKind
    title: str
    location: Annotated[dict[str, Any], AsStored(LocationPublic)]
    occurred_at: datetime | None
    reported_at: datetime
    organizer: Annotated[dict[str, Any], AsStored(Organizer)] | None = Field(
        description="As registered: members not given are absent, not null"
    )
    estimated_crowd: int | None
    demands: list[str]
    police: Annotated[dict[str, Any], AsStored(PoliceNotice)]
    escalation_level: EscalationLevel
    info_source: InfoSource | None
    notes: str | None
    status: IncidentStatus
    current_step: int | None
    current_step_code: str | None = step_code_field("The code of the step the incident is at")
    stage: str | None = stage_field()
    waiting_on: Role | None = Field(description="The role the current step waits on")
    sop_version: str
    assigned_danru_id: uuid.UUID | None
    dispatched_danru_id: uuid.UUID | None
    order_draft_id: uuid.UUID | None
    report_draft_id: uuid.UUID | None
    order_id: uuid.UUID | None
    cancel_reason: str | None
    created_by: uuid.UUID | None = Field(description="The user who registered it")
    created_by_client: str | None = Field(
        description="The service client (city system) that registered it, when not a user"
    )
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None
    version: int
    allowed_actions: list[Action] = Field(description=ALLOWED_ACTIONS)

    @computed_field(  # type: ignore[prop-decorator]
        description='The ETag header\'s value, e.g. "7": send it as If-Match with the next '
        "action (a client that does not read headers has it here)"
    )
    @property
    def etag(self) -> str:
        return etag(self.version)


@cache
def with_incident(model: type[BaseModel]) -> type[BaseModel]:
    """The answer of a step action: what the action wrote, and the incident as it left it.
    One model per written record, however many actions answer with it; a record typed by
    its kind (a RootModel of a discriminated union) answers with the union of each kind's."""
    name = f"{model.__name__.removesuffix('Public')}Answer"
    if issubclass(model, RootModel):
        root = model.model_fields["root"]
        kinds = tuple(with_incident(kind) for kind in get_args(root.annotation))
        union = Annotated[Union[kinds], Field(discriminator=root.discriminator)]  # type: ignore[valid-type]  # noqa: UP007
        doc = f"{model.__doc__ or ''} With the incident as the action left it.".strip()
        return create_model(name, __base__=RootModel[union], __doc__=doc)
    return create_model(
        name,
        __base__=model,
        incident=(
            IncidentPublic,
            Field(
                description="The incident after the action, as GET /api/v1/incidents/{id} "
                "shows it: current step, stage, whom it waits on, the caller's allowed actions "
                "and the version for the next If-Match"
            ),
        ),
    )


class IncidentSummary(ResponseBody):
    id: uuid.UUID
    register_number: str
    unit_id: int
    kind: IncidentKind
    title: str
    status: IncidentStatus
    current_step: int | None
    stage: str | None = stage_field()
    escalation_level: EscalationLevel
    reported_at: datetime
    updated_at: datetime


class IncidentPage(ResponseBody):
    items: list[IncidentSummary]
    total: int
    limit: int
    offset: int


class EscalationPublic(ResponseBody):
    id: uuid.UUID
    incident_id: uuid.UUID
    from_level: EscalationLevel | None
    to_level: EscalationLevel
    note: str | None
    changed_by: uuid.UUID
    occurred_at: datetime
    recorded_at: datetime


class AuditEventPublic(ResponseBody):
    seq: int
    action: str
    sop_version: str | None = Field(
        description="The SOP version of the step (null on events recorded before it was kept)"
    )
    step: int | None
    step_code: str | None = step_code_field()
    actor_id: uuid.UUID | None
    actor_role: Role | None = Field(
        description="The actor's own role (a service client's is `service`); null for what "
        "the service itself recorded"
    )
    acting_as: ActingAs | None = Field(
        default=None, description="The post a deputy (Plh/Plt) took the action in"
    )
    occurred_at: datetime
    recorded_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    data: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditTrail(ResponseBody):
    """An incident's audit events, oldest first, in `items` like every list."""

    incident_id: uuid.UUID
    items: list[AuditEventPublic]
    events: list[AuditEventPublic] = Field(
        deprecated="The same list as `items`, kept for clients written before it"
    )
    chain_valid: bool
    first_broken_seq: int | None


class Task(ResponseBody):
    incident_id: uuid.UUID
    register_number: str
    title: str
    unit_id: int
    sop_version: str
    step: int
    step_code: str = step_code_field()
    stage: str | None = stage_field()
    actions: list[Action] = Field(description=ALLOWED_ACTIONS)
    waiting_since: datetime
    due_at: datetime | None
    escalation_level: EscalationLevel
    acting_as: ActingAs | None = Field(
        default=None,
        description="Set when the work waits on a post the caller takes as a deputy",
    )


class TaskList(ResponseBody):
    items: list[Task]
