"""The staff a kecamatan's officers may pick from."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from app.auth.deps import Principal
from app.auth.roles import UNIT_ROLES, Role
from app.core.errors import Forbidden, NotFound, Unprocessable
from app.timing.service import ForbiddenUnit
from app.units.models import Unit
from app.users.models import User
from app.users.service import find_unit

# The order a kecamatan's staff are listed in: its chain of command.
_RANK = {role: rank for rank, role in enumerate(Role)}


class StaffMember(BaseModel):
    """A person of the kecamatan, as another officer needs them to assign work: no contact
    data, which the users API (users:admin) keeps."""

    id: uuid.UUID
    username: str
    full_name: str
    role: Role
    nip: str | None
    assignable: bool = Field(
        description="The account is active, so the person can be named in an order, a "
        "briefing or an instruction; deactivated accounts are listed with false"
    )


class StaffForPeopleOnly(Forbidden):
    kind, title = "staff-for-people-only", "Staff lists are for signed-in officers"


def check_unit_visible(session: Session, principal: Principal, code_or_slug: str) -> Unit:
    """The kecamatan whose people the caller may read: their own, or any for city-wide users.

    Another kecamatan's is 403 `forbidden-unit`, as in the SLA reports: the kecamatan are
    public, so a 404 would hide nothing. Service clients read no names (403).
    """
    if principal.is_client:
        raise StaffForPeopleOnly("Service clients do not read the names of a kecamatan's staff")
    unit = find_unit(session, code_or_slug)
    if unit is None:
        raise NotFound(f"No kecamatan {code_or_slug!r}")
    if not principal.city_wide and unit.id != principal.unit_id:
        raise ForbiddenUnit("A kecamatan role sees only its own kecamatan's people")
    return unit


def staff_of(
    session: Session, principal: Principal, code_or_slug: str, role: Role | None
) -> list[StaffMember]:
    """The kecamatan's own staff, for its officers and for city-wide users."""
    if role is not None and role not in UNIT_ROLES:
        allowed = ", ".join(r for r in Role if r in UNIT_ROLES)
        raise Unprocessable(f"role must be a kecamatan role: {allowed}", field="role")
    unit = check_unit_visible(session, principal, code_or_slug)
    query = select(User).where(col(User.unit_id) == unit.id, col(User.role).in_(UNIT_ROLES))
    if role is not None:
        query = query.where(col(User.role) == role)
    people = sorted(session.exec(query), key=lambda u: (_RANK[u.role], u.full_name, u.username))
    return [
        StaffMember(
            id=u.id,
            username=u.username,
            full_name=u.full_name,
            role=u.role,
            nip=u.nip,
            assignable=u.active,
        )
        for u in people
    ]
