"""The 13 kecamatan of Kota Tangerang and their kelurahan (read only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlmodel import col, select

from app.auth.deps import Principal, require
from app.auth.roles import Role
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.errors import NotFound
from app.core.http import problems
from app.core.routing import OneHopRoute
from app.core.schemas import ResponseBody
from app.delegations import service as delegations
from app.delegations.schemas import DelegationAudit, PostHolder
from app.units.data import KECAMATAN, Kecamatan, kelurahan_code
from app.units.models import Unit, UnitPublic
from app.units.service import StaffMember, staff_of
from app.users.service import find_unit

router = APIRouter(
    route_class=OneHopRoute,
    prefix="/units",
    tags=["units"],
    dependencies=[require(Scope.units_read)],
)

_BY_CODE: dict[str, Kecamatan] = {k.code: k for k in KECAMATAN}


class Kelurahan(ResponseBody):
    code: str
    name: str


class UnitDetail(UnitPublic):
    kelurahan: list[Kelurahan]


def _detail(unit: Unit) -> UnitDetail:
    kecamatan = _BY_CODE.get(unit.code)
    kelurahan = (
        [Kelurahan(code=kelurahan_code(kecamatan, n) or "", name=n) for n in kecamatan.kelurahan]
        if kecamatan
        else []
    )
    return UnitDetail(
        id=unit.id, code=unit.code, name=unit.name, slug=unit.slug, kelurahan=kelurahan
    )


@router.get(
    "",
    operation_id="units_list",
    summary="Every kecamatan with its kelurahan",
    response_model=list[UnitDetail],
    responses=problems(401, 403),
)
def list_units(session: SessionDep) -> list[UnitDetail]:
    units = session.exec(select(Unit).order_by(col(Unit.code)))
    return [_detail(u) for u in units]


@router.get(
    "/{code_or_slug}",
    operation_id="units_get",
    summary="One kecamatan by code (36.71.06) or slug (ciledug)",
    response_model=UnitDetail,
    responses=problems(401, 403, 404),
)
def get_unit(
    code_or_slug: Annotated[str, Path(max_length=32, examples=["36.71.06", "ciledug"])],
    session: SessionDep,
) -> UnitDetail:
    unit = find_unit(session, code_or_slug)
    if unit is None:
        raise NotFound(f"No kecamatan {code_or_slug!r}")
    return _detail(unit)


@router.get(
    "/{unit}/staff",
    operation_id="units_staff",
    summary="The staff of one kecamatan, to pick the Danru and members from",
    description=(
        "The kecamatan's camat, sekcam, kasi_trantib, danru and anggota, in that order, with "
        "the ids that orders, instructions and briefings name. `assignable` is false for a "
        "deactivated account, which the SOP's steps refuse. No contact data.\n\n"
        "A kecamatan's officers read their own kecamatan; another kecamatan is 403 "
        "`forbidden-unit`. Pimpinan and administrators read any kecamatan. Service clients "
        "are 403 `staff-for-people-only`."
    ),
    response_model=list[StaffMember],
    responses=problems(401, 403, 404, 422),
)
def list_staff(
    unit: Annotated[str, Path(max_length=32, examples=["36.71.06", "ciledug"])],
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_read)],
    role: Annotated[Role | None, Query(description="Only this kecamatan role")] = None,
) -> list[StaffMember]:
    return staff_of(session, principal, unit, role)


@router.get(
    "/{unit}/positions",
    operation_id="units_positions",
    summary="Who holds the camat, sekcam and kasi_trantib posts now: holder, deputy or vacant",
    description=(
        "For each post: its active holder, the Plh or Plt in force now (`acting`), and "
        "`vacant` when there is neither, so work waiting on the post stalls until an "
        "administrator records a Plt. Same visibility as the staff list."
    ),
    response_model=list[PostHolder],
    responses=problems(401, 403, 404, 422),
)
def list_positions(
    unit: Annotated[str, Path(max_length=32, examples=["36.71.06", "ciledug"])],
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_read)],
) -> list[PostHolder]:
    return delegations.positions(session, principal, unit)


@router.get(
    "/{unit}/delegation-events",
    operation_id="units_delegation_events",
    summary="The kecamatan's delegation trail (recorded, revoked), hash-chained and checked",
    response_model=DelegationAudit,
    responses=problems(401, 403, 404, 422),
)
def delegation_events(
    unit: Annotated[str, Path(max_length=32, examples=["36.71.06", "ciledug"])],
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.units_read)],
) -> DelegationAudit:
    return delegations.audit(session, principal, unit)
