"""Record, list and revoke delegations; who may appoint whom; the per-kecamatan event chain.
Flushes, never commits."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from app.audit.service import GENESIS, sha256_of, to_jsonable
from app.auth.deps import Principal
from app.auth.roles import Role
from app.auth.scopes import Scope
from app.core import clock
from app.core.config import get_settings
from app.core.errors import Conflict, Forbidden, InsufficientScope, NotFound, Unprocessable
from app.delegations import edges, schemas
from app.delegations.capacity import capacity, jabatan
from app.delegations.models import Delegation, DelegationEvent, DelegationKind
from app.delegations.posts import effective_end, holders, in_force, in_force_at
from app.sop.engine import CLOCK_SKEW
from app.units.models import Unit
from app.units.service import check_unit_visible
from app.users.models import User
from app.users.service import UnknownUnit, find_unit


class DelegationNotYours(Forbidden):
    kind, title = "delegation-not-yours", "Only an administrator or the post's holder may do this"


class DelegationsForPeopleOnly(Forbidden):
    kind, title = "delegations-for-people-only", "Delegations are read by signed-in officers"


class DelegateNotEligible(Unprocessable):
    kind, title = "delegate-not-eligible", "The deputy cannot take this post"


class DelegationPeriodInvalid(Unprocessable):
    kind, title = "delegation-period-invalid", "The delegation's period is not valid"


class DelegationOverlap(Conflict):
    kind, title = "delegation-overlap", "Another delegation covers the post in this period"


class DelegationEnded(Conflict):
    kind, title = "delegation-ended", "The delegation has already ended"


# A deputy takes a post above a field officer's: a Sekcam for the Camat, a Kasi or Danru for
# the Kasi Trantib. Members (anggota) carry the orders and take no post.
_ELIGIBLE = frozenset({Role.camat, Role.sekcam, Role.kasi_trantib, Role.danru})


def _require_people(principal: Principal) -> None:
    if principal.is_client:
        raise DelegationsForPeopleOnly("Service clients do not read or record delegations")


def _check_may_record(principal: Principal, unit: Unit, position: str, kind: str) -> None:
    """An administrator records either kind; the holder of a post may name their own Plh
    (unless TRANTIB_DELEGATION_SELF_PLH is off). Anyone else: 403."""
    _require_people(principal)
    if principal.has(Scope.delegations_admin):
        return
    if not principal.has(Scope.delegations_write):
        needed = [str(Scope.delegations_admin), str(Scope.delegations_write)]
        raise InsufficientScope(
            f"This needs the scope {' or '.join(needed)}", required_scopes=needed
        )
    if principal.role != position or principal.unit_id != unit.id:
        raise DelegationNotYours(
            f"Only the {position} of {unit.name} or an administrator names its deputy"
        )
    if kind != DelegationKind.plh:
        raise DelegationNotYours(
            "A Plt fills a vacant post: the city appoints it and an administrator records it"
        )
    if not get_settings().delegation_self_plh:
        raise DelegationNotYours(
            "Here every Plh is appointed by the city: an administrator records it"
        )


def _check_delegate(session: Session, delegate_id: uuid.UUID, unit: Unit, position: str) -> User:
    person = session.get(User, delegate_id)
    if person is None or not person.active or person.unit_id != unit.id:
        raise DelegateNotEligible(
            f"The deputy must be an active officer of {unit.name}", field="delegate_id"
        )
    if person.role == position:
        raise DelegateNotEligible(
            f"{person.username} holds the post; a deputy is someone else", field="delegate_id"
        )
    if person.role not in _ELIGIBLE:
        raise DelegateNotEligible(
            f"A {person.role} takes no post; choose a sekcam, kasi_trantib or danru",
            field="delegate_id",
        )
    return person


def _check_period(starts_at: datetime, ends_at: datetime | None, now: datetime) -> None:
    if starts_at < now - CLOCK_SKEW:
        raise DelegationPeriodInvalid(
            "starts_at lies in the past: a delegation takes effect from now on, and what was "
            "done before stays as it was",
            field="starts_at",
        )
    if ends_at is not None and ends_at <= starts_at:
        raise DelegationPeriodInvalid("ends_at must come after starts_at", field="ends_at")


def _overlapping(
    session: Session, unit_id: int, position: str, starts_at: datetime, ends_at: datetime | None
) -> Delegation | None:
    """A delegation of the post whose period (up to its end or revocation) meets this one."""
    conditions: list[ColumnElement[bool]] = [
        col(Delegation.unit_id) == unit_id,
        col(Delegation.position) == position,
        or_(col(Delegation.ends_at).is_(None), col(Delegation.ends_at) > starts_at),
        or_(col(Delegation.revoked_at).is_(None), col(Delegation.revoked_at) > starts_at),
        # Revoked before it began: it never covered anything.
        or_(
            col(Delegation.revoked_at).is_(None),
            col(Delegation.revoked_at) > col(Delegation.starts_at),
        ),
    ]
    if ends_at is not None:
        conditions.append(col(Delegation.starts_at) < ends_at)
    return session.exec(select(Delegation).where(*conditions).limit(1)).first()


def _lock_unit(session: Session, unit_id: int) -> None:
    """Delegations of one kecamatan are recorded one at a time (PostgreSQL; SQLite writes
    one transaction at a time anyway), so two overlapping ones cannot both pass the check."""
    session.execute(select(Unit.id).where(Unit.id == unit_id).with_for_update())


def _append_event(
    session: Session,
    principal: Principal,
    delegation: Delegation,
    action: str,
    data: dict[str, Any],
) -> None:
    head = session.execute(
        select(DelegationEvent.seq, DelegationEvent.hash)
        .where(DelegationEvent.unit_id == delegation.unit_id)
        .order_by(col(DelegationEvent.seq).desc())
        .limit(1)
    ).first()
    row: dict[str, Any] = {
        "unit_id": delegation.unit_id,
        "seq": (head.seq if head else 0) + 1,
        "prev_hash": head.hash if head else GENESIS,
        "delegation_id": delegation.id,
        "action": action,
        "actor_id": principal.id,
        "actor_role": str(principal.role),
        "recorded_at": clock.now(),
        "data": to_jsonable(data),
    }
    row["hash"] = event_hash(row)
    session.add(DelegationEvent(**row))


_HASHED = (
    "unit_id",
    "seq",
    "prev_hash",
    "delegation_id",
    "action",
    "actor_id",
    "actor_role",
    "recorded_at",
    "data",
)


def event_hash(row: dict[str, Any]) -> str:
    return sha256_of({name: row.get(name) for name in _HASHED})


def _unit(session: Session, key: str) -> Unit:
    unit = find_unit(session, key)
    if unit is None:
        raise UnknownUnit(f"No kecamatan {key!r}", field="unit")
    return unit


def create(session: Session, principal: Principal, body: schemas.DelegationCreate) -> Delegation:
    unit = _unit(session, body.unit)
    _check_may_record(principal, unit, body.position, body.kind)
    _check_delegate(session, body.delegate_id, unit, body.position)
    now = clock.now()
    starts_at = body.starts_at or now
    _check_period(starts_at, body.ends_at, now)
    _lock_unit(session, unit.id)
    other = _overlapping(session, unit.id, body.position, starts_at, body.ends_at)
    if other is not None:
        end = effective_end(other)
        until = end.isoformat() if end is not None else "open-ended"
        raise DelegationOverlap(
            f"The {body.position} of {unit.name} is delegated by {other.id} "
            f"({other.kind}, from {other.starts_at.isoformat()} to {until})",
            other=str(other.id),
        )
    delegation = Delegation(
        unit_id=unit.id,
        position=body.position,
        kind=body.kind,
        delegate_id=body.delegate_id,
        starts_at=starts_at,
        ends_at=body.ends_at,
        basis_number=body.basis.number,
        basis_date=body.basis.date,
        note=body.note,
        created_by=principal.id,
        created_at=now,
    )
    session.add(delegation)
    session.flush()
    _append_event(
        session,
        principal,
        delegation,
        "delegation_create",
        {
            "position": body.position,
            "kind": body.kind,
            "delegate_id": body.delegate_id,
            "starts_at": starts_at,
            "ends_at": body.ends_at,
            "basis": {"number": body.basis.number, "date": body.basis.date.isoformat()},
            "note": body.note,
        },
    )
    session.flush()
    # A deputy from now on is told at once of the work now waiting on them.
    edges.tell(session, delegation, now, principal.id)
    return delegation


def _visible(principal: Principal) -> ColumnElement[bool] | bool:
    _require_people(principal)
    if principal.city_wide:
        return True
    return col(Delegation.unit_id) == principal.unit_id


def get(session: Session, principal: Principal, delegation_id: uuid.UUID) -> Delegation:
    found = session.exec(
        select(Delegation).where(col(Delegation.id) == delegation_id, _visible(principal))
    ).first()
    if found is None:
        raise NotFound("Delegation not found")
    return found


def revoke(
    session: Session, principal: Principal, delegation: Delegation, reason: str
) -> Delegation:
    """End a delegation now (one not yet begun never begins); what was done under it stays."""
    unit = session.get(Unit, delegation.unit_id)
    assert unit is not None
    _check_may_record(principal, unit, delegation.position, delegation.kind)
    _lock_unit(session, unit.id)
    session.refresh(delegation)
    now = clock.now()
    end = effective_end(delegation)
    if end is not None and end <= now:
        raise DelegationEnded(f"The delegation ended at {end.isoformat()}")
    delegation.revoked_at = now
    delegation.revoked_by = principal.id
    delegation.revoke_reason = reason
    session.add(delegation)
    _append_event(session, principal, delegation, "delegation_revoke", {"reason": reason})
    session.flush()
    edges.tell(session, delegation, now, principal.id)
    return delegation


def list_delegations(
    session: Session,
    principal: Principal,
    *,
    unit: str | None,
    position: str | None,
    active_at: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Delegation], int]:
    conditions: list[Any] = [_visible(principal)]
    if unit is not None:
        conditions.append(col(Delegation.unit_id) == _unit(session, unit).id)
    if position is not None:
        conditions.append(col(Delegation.position) == position)
    if active_at is not None:
        conditions.append(in_force_at(active_at))
    total = session.execute(
        select(func.count()).select_from(Delegation).where(*conditions)
    ).scalar_one()
    rows = session.exec(
        select(Delegation)
        .where(*conditions)
        .order_by(col(Delegation.starts_at).desc(), col(Delegation.id))
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def _person(user: User) -> schemas.PersonRef:
    return schemas.PersonRef(
        id=user.id, username=user.username, full_name=user.full_name, role=user.role, nip=user.nip
    )


def to_public(session: Session, delegation: Delegation) -> schemas.DelegationPublic:
    unit = session.get(Unit, delegation.unit_id)
    delegate = session.get(User, delegation.delegate_id)
    assert unit is not None and delegate is not None
    now = clock.now()
    end = effective_end(delegation)
    return schemas.DelegationPublic(
        id=delegation.id,
        unit_id=unit.id,
        unit_code=unit.code,
        position=delegation.position,
        kind=delegation.kind,
        capacity=capacity(delegation.kind, delegation.position, unit.name),
        delegate=_person(delegate),
        starts_at=delegation.starts_at,
        ends_at=delegation.ends_at,
        basis=schemas.Basis(number=delegation.basis_number, date=delegation.basis_date),
        note=delegation.note,
        created_by=delegation.created_by,
        created_at=delegation.created_at,
        revoked_at=delegation.revoked_at,
        revoked_by=delegation.revoked_by,
        revoke_reason=delegation.revoke_reason,
        in_force=delegation.starts_at <= now and (end is None or now < end),
    )


def positions(session: Session, principal: Principal, key: str) -> list[schemas.PostHolder]:
    """Who holds each post of the kecamatan now: its holder, the deputy in force, or nobody."""
    unit = check_unit_visible(session, principal, key)
    now = clock.now()
    held = holders(session, unit.id)
    acting = in_force(session, unit.id, now)
    result = []
    for position in schemas.Position:
        holder = held.get(position)
        deputy = acting.get(position)
        result.append(
            schemas.PostHolder(
                position=position,
                jabatan=jabatan(position, unit.name),
                holder=_person(holder) if holder else None,
                acting=to_public(session, deputy) if deputy else None,
                vacant=holder is None and deputy is None,
            )
        )
    return result


def audit(session: Session, principal: Principal, key: str) -> schemas.DelegationAudit:
    """The kecamatan's delegation events in order, each hash recomputed."""
    unit = check_unit_visible(session, principal, key)
    events = list(
        session.exec(
            select(DelegationEvent)
            .where(col(DelegationEvent.unit_id) == unit.id)
            .order_by(col(DelegationEvent.seq))
        )
    )
    prev, broken = GENESIS, None
    for count, event in enumerate(events, start=1):
        row = event.model_dump()
        if event.seq != count or event.prev_hash != prev or event_hash(row) != event.hash:
            broken = event.seq
            break
        prev = event.hash
    listed = [schemas.DelegationEventPublic.model_validate(e, from_attributes=True) for e in events]
    return schemas.DelegationAudit(
        unit_id=unit.id,
        items=listed,
        events=listed,
        chain_valid=broken is None,
        first_broken_seq=broken,
    )


def held_posts(session: Session, principal: Principal, unit_name: str) -> list[schemas.HeldPost]:
    """The caller's own kecamatan role and each post they act in now, in the kecamatan
    named `unit_name` (theirs)."""
    if principal.unit_id is None or principal.is_client:
        return []
    found = [schemas.HeldPost(position=str(principal.role), kind="own")]
    for acting in principal.acting:
        delegation = session.get(Delegation, acting.delegation_id)
        found.append(
            schemas.HeldPost(
                position=str(acting.position),
                kind=acting.kind,
                delegation_id=acting.delegation_id,
                capacity=capacity(acting.kind, acting.position, unit_name),
                ends_at=effective_end(delegation) if delegation else None,
            )
        )
    return found
