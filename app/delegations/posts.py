"""Who holds a kecamatan's posts now, and which incidents wait on a post: read by the
delegation service, the positions view, user administration and the SLA breach board."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, and_, or_
from sqlmodel import Session, col, select

from app.delegations.models import Delegation, DelegationKind, Position
from app.incidents.models import Incident, IncidentStatus
from app.sop.definition import registry
from app.users.models import User

POSTS = tuple(Position)


def in_force_at(moment: datetime | BindParameter[datetime]) -> Any:
    """The SQL condition that a delegation is in force at `moment` (its period is half-open:
    from its start, up to its end or revocation)."""
    return and_(
        col(Delegation.starts_at) <= moment,
        or_(col(Delegation.ends_at).is_(None), col(Delegation.ends_at) > moment),
        or_(col(Delegation.revoked_at).is_(None), col(Delegation.revoked_at) > moment),
    )


def effective_end(delegation: Delegation) -> datetime | None:
    """When the delegation stops: its end or its revocation, whichever comes first."""
    ends = [t for t in (delegation.ends_at, delegation.revoked_at) if t is not None]
    return min(ends) if ends else None


def in_force(session: Session, unit_id: int, moment: datetime) -> dict[str, Delegation]:
    """The delegation in force for each post of the kecamatan at `moment`."""
    rows = session.exec(
        select(Delegation).where(col(Delegation.unit_id) == unit_id, in_force_at(moment))
    )
    return {d.position: d for d in rows}


def holders(session: Session, unit_id: int) -> dict[str, User]:
    """The active definitive holder of each post of the kecamatan."""
    rows = session.exec(
        select(User).where(
            col(User.unit_id) == unit_id, col(User.role).in_(POSTS), col(User.active)
        )
    )
    return {str(u.role): u for u in rows}


def vacant_posts(session: Session, unit_ids: set[int], moment: datetime) -> set[tuple[int, str]]:
    """The (unit, post) pairs with neither an active holder nor a deputy in force."""
    if not unit_ids:
        return set()
    held = {
        (u, str(r))
        for u, r in session.execute(
            select(User.unit_id, User.role).where(
                col(User.unit_id).in_(unit_ids), col(User.role).in_(POSTS), col(User.active)
            )
        )
    }
    acted = {
        (u, p)
        for u, p in session.execute(
            select(Delegation.unit_id, Delegation.position).where(
                col(Delegation.unit_id).in_(unit_ids), in_force_at(moment)
            )
        )
    }
    return {(u, str(p)) for u in unit_ids for p in POSTS} - held - acted


def waiting_on_post(session: Session, unit_id: int, position: str) -> list[Incident]:
    """The kecamatan's open incidents whose step (and stage), in their own SOP version, waits
    on the post."""
    clauses = []
    for version, definition in registry().definitions.items():
        for step in definition.steps:
            for stage in step.stages or [None]:
                if step.waiting_role(stage) != position:
                    continue
                parts: list[Any] = [
                    col(Incident.sop_version) == version,
                    col(Incident.current_step) == step.number,
                ]
                if stage is not None:
                    parts.append(col(Incident.stage) == stage)
                clauses.append(and_(*parts))
    if not clauses:
        return []
    return list(
        session.exec(
            select(Incident)
            .where(
                col(Incident.unit_id) == unit_id,
                col(Incident.status) == IncidentStatus.active,
                or_(*clauses),
            )
            .order_by(col(Incident.reported_at))
        )
    )


def plt_in_force(session: Session, unit_id: int, position: str, moment: datetime) -> bool:
    found = in_force(session, unit_id, moment).get(position)
    return found is not None and found.kind == DelegationKind.plt
