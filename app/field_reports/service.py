"""Field work: reports by the briefed members, early close by the Danru, and attachments."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.audit.service import append_event, sha256_of
from app.auth.deps import Principal
from app.core.config import get_settings
from app.core.errors import AppError, Conflict, Forbidden, IncidentClosed, NotFound, Unprocessable
from app.field_reports import schemas, storage
from app.field_reports.models import Attachment, FieldReport
from app.field_reports.upload import ReceivedFile
from app.incidents.models import Incident, IncidentAssignment, IncidentStatus
from app.sop import engine
from app.sop.engine import CLOCK_SKEW, Action, Context, Outcome

CAPTION_MAX = 500


class AlreadyReported(Conflict):
    kind, title = "already-reported", "This member has already reported"


class NotAuthor(Forbidden):
    kind, title = "not-author", "Only the report's author may do this"


class AttachmentLimit(Conflict):
    kind, title = "attachment-limit", "The report has as many attachments as allowed"


class NoFieldReports(Conflict):
    kind, title = "no-field-reports", "Field work cannot close before any member has reported"


class ContentMissing(AppError):
    """The row is there but its file is not: an operations problem, not the client's."""

    status, kind, title = 500, "content-missing", "The attachment's file is missing from storage"


def briefed_members(session: Session, incident_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        session.execute(
            select(col(IncidentAssignment.user_id))
            .where(
                col(IncidentAssignment.incident_id) == incident_id,
                col(IncidentAssignment.kind) == "member",
            )
            .order_by(col(IncidentAssignment.created_at), col(IncidentAssignment.user_id))
        ).scalars()
    )


def _authors(session: Session, incident_id: uuid.UUID) -> set[uuid.UUID]:
    return set(
        session.execute(
            select(col(FieldReport.author_id)).where(col(FieldReport.incident_id) == incident_id)
        ).scalars()
    )


def create(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.FieldReportCreate,
    if_match: int | None,
) -> FieldReport:
    def handler(ctx: Context) -> Outcome:
        latest = ctx.now + CLOCK_SKEW
        if body.ended_at > latest:
            raise Unprocessable(
                f"ended_at is in the future; it may be at most {latest.isoformat()}",
                field="ended_at",
                bound=latest.isoformat(),
            )
        authors = _authors(ctx.session, ctx.incident.id)
        if ctx.principal.id in authors:
            raise AlreadyReported("You have already submitted your field report for this incident")
        content = body.model_dump(mode="json", exclude={"occurred_at", "occurred_at_reason"})
        report = FieldReport(
            incident_id=ctx.incident.id,
            author_id=ctx.principal.id,
            content=content,
            content_sha256=sha256_of(content),
            situation=body.situation,
            started_at=body.started_at,
            ended_at=body.ended_at,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(report)
        ctx.session.flush()
        members = briefed_members(ctx.session, ctx.incident.id)
        waiting = [m for m in members if m not in authors | {ctx.principal.id}]
        return Outcome(
            result=report,
            # The step is done when the last briefed member has reported.
            complete=not waiting,
            audit={"field_report_id": report.id, "waiting_for": waiting},
            events=[
                (
                    "field_report.submitted",
                    {
                        "field_report_id": report.id,
                        "author_id": report.author_id,
                        "situation": report.situation,
                        "content_sha256": report.content_sha256,
                        "reports": len(members) - len(waiting),
                        "members": len(members),
                    },
                )
            ],
            document=report.model_dump(),
        )

    outcome = engine.perform(
        session,
        principal,
        incident_id,
        Action.field_report,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    )
    return outcome.result


def close_field_work(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.FieldWorkClose,
    if_match: int | None,
) -> dict[str, Any]:
    def handler(ctx: Context) -> Outcome:
        members = briefed_members(ctx.session, ctx.incident.id)
        authors = _authors(ctx.session, ctx.incident.id)
        reported = [m for m in members if m in authors]
        missing = [m for m in members if m not in authors]
        if not reported:
            # The execution report is compiled from field reports: closing with none would leave
            # the incident at a step nobody can finish.
            raise NoFieldReports(
                "No briefed member has reported yet; the execution report needs at least one "
                "field report",
                not_reported=[str(m) for m in missing],
            )
        result = {
            "incident_id": ctx.incident.id,
            "current_step": ctx.following.number if ctx.following else None,
            "reason": body.reason,
            "reported": reported,
            "not_reported": missing,
            "occurred_at": ctx.occurred_at,
        }
        return Outcome(
            result=result,
            audit={"reason": body.reason, "reported": reported, "not_reported": missing},
        )

    outcome = engine.perform(
        session,
        principal,
        incident_id,
        Action.field_work_close,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    )
    return outcome.result


def to_public(report: FieldReport) -> dict[str, Any]:
    return {
        **report.content,
        "id": report.id,
        "incident_id": report.incident_id,
        "author_id": report.author_id,
        "content_sha256": report.content_sha256,
        "occurred_at": report.occurred_at,
        "recorded_at": report.recorded_at,
    }


def list_for(session: Session, incident: Incident) -> list[FieldReport]:
    return list(
        session.execute(
            select(FieldReport)
            .where(col(FieldReport.incident_id) == incident.id)
            .order_by(col(FieldReport.recorded_at), col(FieldReport.id))
        ).scalars()
    )


def get_report(session: Session, principal: Principal, report_id: uuid.UUID) -> FieldReport:
    """The report if the caller's kecamatan owns its incident, else 404."""
    found = session.execute(
        select(FieldReport)
        .join(Incident, col(Incident.id) == col(FieldReport.incident_id))
        .where(
            col(FieldReport.id) == report_id,
            engine.visible_incident_filter(principal),
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("Field report not found")
    return found


def _check_attachable(
    session: Session, principal: Principal, report: FieldReport, incident: Incident
) -> None:
    if report.author_id != principal.id:
        raise NotAuthor("Only the member who wrote this report may attach files to it")
    if incident.status != IncidentStatus.active:
        raise IncidentClosed(
            f"The incident is {incident.status}; it takes no more attachments",
            status=incident.status,
        )
    limit = get_settings().attachments_per_report
    count = session.execute(
        select(func.count())
        .select_from(Attachment)
        .where(col(Attachment.field_report_id) == report.id)
    ).scalar_one()
    if count >= limit:
        raise AttachmentLimit(f"A field report holds at most {limit} attachments", limit=limit)


def check_attachable(session: Session, principal: Principal, report_id: uuid.UUID) -> None:
    """Every refusal that does not depend on the file, before its bytes are read."""
    report = get_report(session, principal, report_id)
    incident = session.get(Incident, report.incident_id)
    assert incident is not None
    _check_attachable(session, principal, report, incident)


def add_attachment(
    session: Session, principal: Principal, report_id: uuid.UUID, received: ReceivedFile
) -> Attachment:
    """Store a received file and record it, under the incident's lock; not a step action."""
    caption = (received.fields.get("caption") or "").strip() or None
    if caption is not None and len(caption) > CAPTION_MAX:
        raise Unprocessable(f"caption is longer than {CAPTION_MAX} characters", field="caption")
    report = get_report(session, principal, report_id)
    incident = session.execute(
        select(Incident).where(col(Incident.id) == report.incident_id).with_for_update()
    ).scalar_one()
    # Checked again under the lock: the incident may have closed while the file arrived.
    _check_attachable(session, principal, report, incident)
    key = storage.store(received.path, received.sha256)
    attachment = Attachment(
        field_report_id=report.id,
        incident_id=incident.id,
        filename=received.filename,
        content_type=received.content_type,
        size=received.size,
        sha256=received.sha256,
        storage_key=key,
        caption=caption,
        uploaded_by=principal.id,
    )
    session.add(attachment)
    session.flush()
    append_event(
        session,
        incident_id=incident.id,
        action="attachment_add",
        step=incident.current_step,
        actor_id=principal.id,
        actor_role=str(principal.role),
        data={"document": attachment.model_dump()},
    )
    return attachment


def list_attachments(session: Session, report: FieldReport) -> list[Attachment]:
    return list(
        session.execute(
            select(Attachment)
            .where(col(Attachment.field_report_id) == report.id)
            .order_by(col(Attachment.recorded_at), col(Attachment.id))
        ).scalars()
    )


def get_attachment(session: Session, principal: Principal, attachment_id: uuid.UUID) -> Attachment:
    found = session.execute(
        select(Attachment)
        .join(Incident, col(Incident.id) == col(Attachment.incident_id))
        .where(
            col(Attachment.id) == attachment_id,
            engine.visible_incident_filter(principal),
        )
    ).scalar_one_or_none()
    if found is None:
        raise NotFound("Attachment not found")
    return found


def content_path(attachment: Attachment) -> Path:
    path = storage.path_for(attachment.storage_key)
    if not path.is_file():
        raise ContentMissing(f"The file of attachment {attachment.id} is missing from storage")
    return path
