"""Drafts: create, revise (a new version after a return), submit for verification."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import bindparam, select, update
from sqlmodel import Session, col

from app.audit.service import sha256_of, to_jsonable
from app.auth.deps import Principal
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.guarded import guarded_update
from app.drafts import schemas
from app.drafts.models import Draft, DraftKind, DraftStatus, DraftVersion
from app.field_reports.models import FieldReport
from app.sop import engine
from app.sop.engine import Action, Context, Outcome

# The incident column that points at each kind of draft.
INCIDENT_COLUMN = {DraftKind.order: "order_draft_id", DraftKind.report: "report_draft_id"}
CONTENT_MODEL: dict[str, type[schemas.OrderDraftContent] | type[schemas.ReportDraftContent]] = {
    DraftKind.order: schemas.OrderDraftContent,
    DraftKind.report: schemas.ReportDraftContent,
}


class DraftFrozen(Conflict):
    kind, title = "draft-frozen", "The draft can no longer change"


class DraftInReview(Conflict):
    kind, title = "draft-in-review", "The draft is being verified"


class DraftExists(Conflict):
    kind, title = "draft-exists", "The incident already has this draft"


class DraftNotRevised(Conflict):
    kind, title = "draft-not-revised", "A returned draft must be revised before resubmitting"


class NotAuthor(Forbidden):
    kind, title = "not-author", "Only the draft's author may change it"


_DRAFT = select(Draft).where(Draft.id == bindparam("draft_id"))  # type: ignore[arg-type]
_DRAFT_IN_UNIT = _DRAFT.where(Draft.unit_id == bindparam("unit_id"))  # type: ignore[arg-type]
_VERSION = select(DraftVersion).where(
    DraftVersion.draft_id == bindparam("draft_id"),  # type: ignore[arg-type]
    DraftVersion.number == bindparam("number"),  # type: ignore[arg-type]
)


def load_draft(session: Session, principal: Principal, draft_id: uuid.UUID) -> Draft:
    params: dict[str, Any] = {"draft_id": draft_id, "unit_id": principal.unit_id}
    query = _DRAFT if principal.city_wide else _DRAFT_IN_UNIT
    draft = session.execute(query, params).scalar_one_or_none()
    if draft is None:
        raise NotFound("Draft not found")
    return draft


def current_version(session: Session, draft: Draft) -> DraftVersion:
    return session.execute(
        _VERSION, {"draft_id": draft.id, "number": draft.current_version}
    ).scalar_one()


def approved_report(session: Session, incident_id: uuid.UUID) -> DraftVersion:
    """The Laporan Pelaksanaan: the report draft's version its review approved; else 404."""
    draft = session.execute(
        select(Draft).where(
            Draft.incident_id == incident_id,  # type: ignore[arg-type]
            Draft.kind == DraftKind.report,  # type: ignore[arg-type]
        )
    ).scalar_one_or_none()
    if draft is None or draft.status != DraftStatus.approved:
        raise NotFound("The incident has no approved Laporan Pelaksanaan yet")
    return current_version(session, draft)


def versions(session: Session, draft: Draft) -> list[DraftVersion]:
    return list(
        session.execute(
            select(DraftVersion)
            .where(DraftVersion.draft_id == draft.id)  # type: ignore[arg-type]
            .order_by(DraftVersion.number)  # type: ignore[arg-type]
        ).scalars()
    )


def to_public(session: Session, draft: Draft) -> dict[str, Any]:
    version = current_version(session, draft)
    return {
        **draft.model_dump(),
        "content": version.content,
        "content_sha256": version.content_sha256,
    }


def check_draft_of_step(ctx: Context, kind: str) -> None:
    """The step the incident is at writes or verifies drafts of this kind (the definition's
    `draft`); another kind of draft waits for its own step."""
    if ctx.step.draft != kind:
        works_on = f"the {ctx.step.draft} draft" if ctx.step.draft else "no draft"
        raise engine.wrong_step(
            ctx.incident,
            f"This step works on {works_on}, not the {kind} draft",
        )


# Which of the ids are field reports of the incident.
_REPORTS_OF_INCIDENT = select(col(FieldReport.id)).where(
    col(FieldReport.incident_id) == bindparam("incident_id"),
    col(FieldReport.id).in_(bindparam("ids", expanding=True)),
)


def _check_field_reports(ctx: Context, content: dict[str, Any]) -> None:
    wanted = [uuid.UUID(str(i)) for i in content.get("field_report_ids", [])]
    params = {"incident_id": ctx.incident.id, "ids": wanted}
    found = set(ctx.session.connection().execute(_REPORTS_OF_INCIDENT, params).scalars())
    bad = [str(i) for i in wanted if i not in found]
    if bad:
        raise Unprocessable(
            f"field_report_ids: not field reports of this incident: {', '.join(bad)}",
            field="field_report_ids",
            invalid_ids=bad,
        )


def _content(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The draft's whole content, checked as one: a change valid on its own may still make an
    invalid draft with what is stored (422, never a 500)."""
    try:
        content = CONTENT_MODEL[kind].model_validate(data)
    except ValidationError as exc:
        located = [(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
        summary = "; ".join(f"{field}: {message}" for field, message in located[:5])
        raise Unprocessable(
            f"The {kind} draft would not be valid: {summary}",
            fields=sorted({field for field, _ in located}),
        ) from exc
    return to_jsonable(content.model_dump(mode="json"))


def create(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.OrderDraftCreate | schemas.ReportDraftCreate,
    if_match: int | None,
) -> Draft:
    kind = DraftKind(body.kind)

    def handler(ctx: Context) -> Outcome:
        check_draft_of_step(ctx, kind)
        if getattr(ctx.incident, INCIDENT_COLUMN[kind]) is not None:
            raise DraftExists("The incident already has this draft; revise it with PATCH")
        content = _content(
            kind,
            body.model_dump(mode="json", exclude={"kind", "occurred_at", "occurred_at_reason"}),
        )
        if kind is DraftKind.report:
            _check_field_reports(ctx, content)
        draft = Draft(
            incident_id=ctx.incident.id,
            unit_id=ctx.incident.unit_id,
            kind=kind,
            author_id=ctx.principal.id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.session.add(draft)
        version = DraftVersion(
            draft_id=draft.id,
            number=1,
            content=content,
            content_sha256=sha256_of(content),
            created_by=ctx.principal.id,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        ctx.session.add(version)
        ctx.session.flush()
        return Outcome(
            result=draft,
            incident={INCIDENT_COLUMN[kind]: draft.id},
            audit={"draft_id": str(draft.id), "kind": kind, "version": 1},
            document={"sha256": version.content_sha256},
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.draft_create,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def _check_editable(draft: Draft, principal: Principal) -> None:
    if draft.author_id != principal.id:
        raise NotAuthor("Only the draft's author may change it")
    if draft.status in (DraftStatus.approved, DraftStatus.validated):
        raise DraftFrozen(f"The draft is {draft.status}; it can no longer change")
    if draft.status == DraftStatus.submitted:
        raise DraftInReview("The draft is being verified; wait for the decision")


def move_draft(session: Session, draft: Draft, now: Any, **values: Any) -> None:
    """Move the draft with a version-guarded UPDATE (If-Match and concurrent edits)."""
    if not guarded_update(
        session, draft, {"version": draft.version + 1, "updated_at": now, **values}
    ):
        raise Conflict("The draft changed while the request ran; reload it")


def revise(
    session: Session, principal: Principal, draft: Draft, body: schemas.DraftUpdate
) -> Draft:
    """PATCH: edit the unsubmitted version in place, or start version n+1 after a return."""
    changes = body.model_dump(
        mode="json", exclude_unset=True, exclude={"occurred_at", "occurred_at_reason"}
    )
    allowed = set(CONTENT_MODEL[draft.kind].model_fields)
    foreign = sorted(set(changes) - allowed)
    if foreign:
        raise Unprocessable(
            f"Fields not part of a {draft.kind} draft: {', '.join(foreign)}", fields=foreign
        )
    if not changes:
        raise Unprocessable("Nothing to change")

    def handler(ctx: Context) -> Outcome:
        check_draft_of_step(ctx, draft.kind)
        _check_editable(draft, ctx.principal)
        latest = current_version(ctx.session, draft)
        content = _content(draft.kind, {**latest.content, **changes})
        if draft.kind == DraftKind.report:
            _check_field_reports(ctx, content)
        digest = sha256_of(content)
        if draft.status == DraftStatus.returned:
            number = draft.current_version + 1
            ctx.session.add(
                DraftVersion(
                    draft_id=draft.id,
                    number=number,
                    content=content,
                    content_sha256=digest,
                    created_by=ctx.principal.id,
                    created_at=ctx.now,
                    updated_at=ctx.now,
                )
            )
            move_draft(
                ctx.session, draft, ctx.now, current_version=number, status=DraftStatus.editing
            )
        else:
            ctx.session.execute(
                update(DraftVersion)
                .where(DraftVersion.id == latest.id)  # type: ignore[arg-type]
                .values(content=content, content_sha256=digest, updated_at=ctx.now)
            )
            move_draft(ctx.session, draft, ctx.now)
        return Outcome(
            result=draft,
            audit={
                "draft_id": str(draft.id),
                "version": draft.current_version,
                "fields": sorted(changes),
            },
            document={"sha256": digest},
        )

    return engine.perform(
        session,
        principal,
        draft.incident_id,
        Action.draft_update,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
    ).result


def submit(session: Session, principal: Principal, draft: Draft, body: schemas.SubmitBody) -> Draft:
    def handler(ctx: Context) -> Outcome:
        kind = DraftKind(draft.kind)
        check_draft_of_step(ctx, kind)
        _check_editable(draft, ctx.principal)
        if draft.status == DraftStatus.returned:
            raise DraftNotRevised("Revise the returned draft (PATCH) before submitting it again")
        latest = current_version(ctx.session, draft)
        if kind is DraftKind.report:
            _check_field_reports(ctx, latest.content)
        ctx.session.execute(
            update(DraftVersion)
            .where(DraftVersion.id == latest.id)  # type: ignore[arg-type]
            .values(submitted_at=ctx.now)
        )
        # The definition guarantees the next step verifies this draft.
        verifying = ctx.following
        first_stage = verifying.stages[0] if verifying is not None and verifying.stages else None
        move_draft(ctx.session, draft, ctx.now, status=DraftStatus.submitted, stage=first_stage)
        return Outcome(
            result=draft,
            audit={"draft_id": str(draft.id), "version": draft.current_version},
            document={"sha256": latest.content_sha256},
        )

    return engine.perform(
        session,
        principal,
        draft.incident_id,
        Action.draft_submit,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
    ).result
