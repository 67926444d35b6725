"""Verification of drafts: each stage of a verifying step (the definition's `stages`, e.g.
review → paraf → verify) approves the draft or returns it to the step that revises it."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlmodel import Session, col

from app.auth.deps import Principal
from app.core.errors import Conflict, Forbidden, OwnDraft
from app.documents import service as documents
from app.drafts.models import Draft, DraftKind, DraftStatus
from app.drafts.service import check_draft_of_step, current_version, move_draft
from app.orders.models import Order
from app.sop import engine
from app.sop.engine import Action, Context, Outcome
from app.units.models import Unit
from app.verifications import schemas
from app.verifications.models import Verification


class SamePersonTwice(Forbidden):
    kind, title = "same-person-twice", "One official takes one stage of a draft version"


class DraftNotSubmitted(Conflict):
    kind, title = "draft-not-submitted", "The draft is not waiting for verification"


def verify(
    session: Session, principal: Principal, draft: Draft, body: schemas.VerificationCreate
) -> Verification:
    def handler(ctx: Context) -> Outcome:
        step = ctx.step
        check_draft_of_step(ctx, draft.kind)
        if draft.status != DraftStatus.submitted:
            raise DraftNotSubmitted(f"The draft is {draft.status}")
        if draft.author_id == ctx.principal.id:
            raise OwnDraft("Nobody verifies a draft they wrote")
        stage = ctx.incident.stage or step.stages[0]
        version = current_version(ctx.session, draft)
        _check_four_eyes(ctx.session, draft, version.number, ctx.principal, stage)
        verification = Verification(
            draft_id=draft.id,
            incident_id=draft.incident_id,
            draft_version=version.number,
            sop_version=ctx.definition.version,
            step=step.number,
            step_code=step.code,
            stage=stage,
            decision=body.decision,
            note=body.note,
            actor_id=ctx.principal.id,
            actor_role=str(ctx.principal.role),
            acting_as=ctx.acting_as,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(verification)
        audit = {
            "draft_id": str(draft.id),
            "draft_version": version.number,
            "stage": stage,
            "decision": body.decision,
            "note": body.note,
        }
        if body.decision == "return":
            move_draft(ctx.session, draft, ctx.now, status=DraftStatus.returned, stage=None)
            return Outcome(
                result=verification,
                correction=True,
                audit=audit,
                events=[
                    (
                        "draft.returned",
                        {
                            "draft_id": str(draft.id),
                            "kind": draft.kind,
                            "draft_version": version.number,
                            "stage": stage,
                            "note": body.note,
                            "returns_to_step": step.correction_returns_to,
                        },
                    )
                ],
            )
        next_stage = ctx.next_stage
        if next_stage is not None:
            move_draft(ctx.session, draft, ctx.now, stage=next_stage)
            return Outcome(result=verification, complete=False, stage=next_stage, audit=audit)
        move_draft(ctx.session, draft, ctx.now, status=DraftStatus.approved, stage=None)
        if draft.kind == DraftKind.report:
            # The approved report is the Laporan Pelaksanaan: issued now, never re-rendered.
            unit = ctx.session.get(Unit, ctx.incident.unit_id)
            assert unit is not None
            order_id = ctx.incident.order_id
            issued = documents.issue_laporan(
                ctx.session,
                version,
                incident_id=ctx.incident.id,
                unit=unit,
                order=ctx.session.get(Order, order_id) if order_id else None,
                approved_by_id=ctx.principal.id,
                now=ctx.now,
                acting=ctx.acting_as,
            )
            audit["pdf_sha256"] = issued.sha256
        return Outcome(result=verification, audit=audit)

    return engine.perform(
        session,
        principal,
        draft.incident_id,
        Action.verify,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
    ).result


# The stage of a draft version the person already took, if any.
_TAKEN_BY = (
    select(col(Verification.stage))
    .where(
        col(Verification.draft_id) == bindparam("draft_id"),
        col(Verification.draft_version) == bindparam("version"),
        col(Verification.actor_id) == bindparam("actor_id"),
    )
    .limit(1)
)


def _check_four_eyes(
    session: Session, draft: Draft, version: int, principal: Principal, stage: str
) -> None:
    """One person takes one stage of a draft version: a Sekcam who is also Plh Camat paraf'd
    it as Sekcam and cannot verify the same version as Camat."""
    params = {"draft_id": draft.id, "version": version, "actor_id": principal.id}
    taken = session.connection().execute(_TAKEN_BY, params).first()
    if taken is not None:
        raise SamePersonTwice(
            f"You took the {taken.stage} stage of version {version}; another official must "
            f"take the {stage} stage",
            stage=stage,
            taken_stage=taken.stage,
        )


def for_draft(session: Session, draft: Draft) -> list[Verification]:
    return list(
        session.execute(
            select(Verification)
            .where(Verification.draft_id == draft.id)  # type: ignore[arg-type]
            .order_by(Verification.recorded_at)  # type: ignore[arg-type]
        ).scalars()
    )
