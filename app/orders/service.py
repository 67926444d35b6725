"""Orders: record the Surat Perintah Walikota, validate the Surat Perintah, dispatch it."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from app.audit.service import sha256_of, to_jsonable
from app.auth.deps import Principal
from app.auth.roles import Role
from app.core import clock
from app.core.config import get_settings
from app.core.counters import next_value
from app.core.errors import Conflict, NotFound, violated_constraint
from app.core.records import recorded_for_incident
from app.documents import service as documents
from app.drafts.models import Draft, DraftKind, DraftStatus
from app.drafts.service import current_version, move_draft
from app.orders import schemas
from app.orders.models import Order, OrderKind
from app.sop import engine
from app.sop.engine import Action, Context, Outcome
from app.units.models import Unit
from app.users.lookup import require_members


class NumberTaken(Conflict):
    kind, title = "number-taken", "The number is already used"


class DraftNotApproved(Conflict):
    kind, title = "draft-not-approved", "The draft has not been fully verified"


class AlreadyDispatched(Conflict):
    kind, title = "already-dispatched", "The order has already been dispatched"


def load_order(session: Session, principal: Principal, order_id: uuid.UUID) -> Order:
    query = select(Order).where(Order.id == order_id)  # type: ignore[arg-type]
    if not principal.city_wide:
        query = query.where(Order.unit_id == principal.unit_id)  # type: ignore[arg-type]
    order = session.execute(query).scalar_one_or_none()
    if order is None:
        raise NotFound("Order not found")
    return order


def for_incident(session: Session, incident_id: uuid.UUID) -> list[Order]:
    return recorded_for_incident(session, Order, incident_id)


def _order_event(order: Order) -> dict[str, Any]:
    return {"order_id": str(order.id), "kind": order.kind, "number": order.number}


# A Walikota order's number is the kecamatan's once.
_WALIKOTA_NUMBER_TAKEN = (
    select(col(Order.id))
    .where(
        col(Order.unit_id) == bindparam("unit_id"),
        col(Order.kind) == OrderKind.walikota,
        col(Order.number) == bindparam("number"),
    )
    .limit(1)
)


def record_walikota(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.WalikotaOrderCreate,
    if_match: int | None,
) -> Order:
    def handler(ctx: Context) -> Outcome:
        params = {"unit_id": ctx.incident.unit_id, "number": body.number}
        taken = ctx.session.connection().execute(_WALIKOTA_NUMBER_TAKEN, params).first()
        taken_message = (
            f"Surat Perintah Walikota {body.number} is already recorded for another incident"
        )
        if taken is not None:
            raise NumberTaken(taken_message)
        content = to_jsonable(
            body.model_dump(mode="json", exclude={"occurred_at", "occurred_at_reason"})
        )
        order = Order(
            incident_id=ctx.incident.id,
            unit_id=ctx.incident.unit_id,
            kind=OrderKind.walikota,
            number=body.number,
            issued_on=body.issued_on,
            issuer=body.issuer,
            police_coordination=content["police_coordination"],
            content=content,
            content_sha256=sha256_of(content),
            created_by=ctx.principal.id,
            acting_as=ctx.acting_as,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        # The check above cannot see a number another camat's request is recording at this
        # moment (PostgreSQL); the unique constraint can, once that request commits.
        try:
            with ctx.session.begin_nested():
                ctx.session.add(order)
                ctx.session.flush()
        except IntegrityError as exc:
            if violated_constraint(exc) == "uq_orders_number":
                raise NumberTaken(taken_message) from exc
            raise
        return Outcome(
            result=order,
            audit=_order_event(order),
            document={"sha256": order.content_sha256},
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.order_walikota,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def format_number(unit: Unit, sequence: int, year: int) -> str:
    settings = get_settings()
    return settings.order_number_format.format(
        classification=settings.order_classification,
        sequence=sequence,
        unit_code=unit.code,
        year=year,
    )


def validate(
    session: Session,
    principal: Principal,
    incident_id: uuid.UUID,
    body: schemas.SuratPerintahCreate,
    if_match: int | None,
) -> Order:
    def handler(ctx: Context) -> Outcome:
        draft = ctx.session.execute(
            select(Draft).where(
                Draft.id == body.draft_id,  # type: ignore[arg-type]
                Draft.incident_id == ctx.incident.id,  # type: ignore[arg-type]
            )
        ).scalar_one_or_none()
        if draft is None or draft.kind != DraftKind.order:
            raise NotFound("No draft order with this id in the incident")
        if draft.status != DraftStatus.approved:
            raise DraftNotApproved(
                f"The draft is {draft.status}; the kasi, sekcam and camat must approve it first"
            )
        version = current_version(ctx.session, draft)
        unit = ctx.session.get(Unit, ctx.incident.unit_id)
        assert unit is not None
        issued_on = body.issued_on or ctx.now.astimezone(clock.WIB).date()
        year = issued_on.year
        sequence = next_value(ctx.session, "surat_perintah", unit.id, year)
        number = format_number(unit, sequence, year)
        content = {**version.content, "nomor": number, "issued_on": issued_on.isoformat()}
        content["letter"] = {
            **content["letter"],
            "tanggal": content["letter"].get("tanggal") or issued_on.isoformat(),
        }
        order = Order(
            incident_id=ctx.incident.id,
            unit_id=unit.id,
            kind=OrderKind.surat_perintah,
            number=number,
            year=year,
            sequence=sequence,
            issued_on=issued_on,
            issuer=content["letter"]["penandatangan"]["jabatan"],
            draft_id=draft.id,
            draft_version=version.number,
            content=content,
            content_sha256=sha256_of(content),
            created_by=ctx.principal.id,
            acting_as=ctx.acting_as,
            occurred_at=ctx.occurred_at,
            recorded_at=ctx.now,
        )
        ctx.session.add(order)
        ctx.session.flush()
        # Rendered once, here: the letter is fixed with the number, inside this transaction.
        issued = documents.issue_surat_perintah(
            ctx.session,
            order,
            unit,
            signed_by_id=ctx.principal.id,
            now=ctx.now,
            acting=ctx.acting_as,
        )
        move_draft(ctx.session, draft, ctx.now, status=DraftStatus.validated)
        return Outcome(
            result=order,
            incident={"order_id": order.id},
            audit={**_order_event(order), "draft_version": version.number},
            document={"sha256": order.content_sha256, "pdf_sha256": issued.sha256},
            events=[
                ("order.validated", {**_order_event(order), "issued_on": issued_on.isoformat()})
            ],
        )

    return engine.perform(
        session,
        principal,
        incident_id,
        Action.order_validate,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result


def dispatch(
    session: Session,
    principal: Principal,
    order: Order,
    body: schemas.DispatchBody,
    if_match: int | None,
) -> Order:
    def handler(ctx: Context) -> Outcome:
        if order.kind != OrderKind.surat_perintah or ctx.incident.order_id != order.id:
            raise NotFound("Only the incident's validated Surat Perintah is dispatched")
        if order.dispatched_at is not None:
            raise AlreadyDispatched("The order has already been dispatched")
        require_members(
            ctx.session,
            [body.danru_id],
            role=Role.danru,
            unit_id=ctx.incident.unit_id,
            field="danru_id",
        )
        values = {
            "dispatched_to": body.danru_id,
            "dispatch_note": body.note,
            "dispatched_at": ctx.occurred_at,
        }
        ctx.session.execute(update(Order).where(Order.id == order.id).values(**values))  # type: ignore[arg-type]
        for key, value in values.items():
            setattr(order, key, value)
        return Outcome(
            result=order,
            incident={"dispatched_danru_id": body.danru_id},
            assignments=[(body.danru_id, "dispatched_danru")],
            audit={**_order_event(order), "danru_id": str(body.danru_id), "note": body.note},
        )

    return engine.perform(
        session,
        principal,
        order.incident_id,
        Action.order_dispatch,
        handler,
        occurred_at=body.occurred_at,
        occurred_at_reason=body.occurred_at_reason,
        if_match=if_match,
    ).result
