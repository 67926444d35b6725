"""Roles (Pelaksana) and the one table that maps each role to its scopes."""

from enum import StrEnum

from app.auth.scopes import Scope as S


class Role(StrEnum):
    camat = "camat"
    sekcam = "sekcam"
    kasi_trantib = "kasi_trantib"
    danru = "danru"
    anggota = "anggota"
    pimpinan = "pimpinan"
    admin = "admin"
    # A city system calling with client credentials; never a user's role.
    service = "service"


# Roles a user account may hold; `service` belongs to service clients only.
STAFF_ROLES = frozenset(r for r in Role if r is not Role.service)
UNIT_ROLES = frozenset({Role.camat, Role.sekcam, Role.kasi_trantib, Role.danru, Role.anggota})
# One holder of each of these per kecamatan at a time.
SINGLE_HOLDER_ROLES = frozenset({Role.camat, Role.sekcam, Role.kasi_trantib})

_READ = (
    S.incidents_read,
    S.orders_read,
    S.drafts_read,
    S.verifications_read,
    S.field_reports_read,
    S.archive_read,
    S.sla_read,
    S.tasks_read,
    S.units_read,
)
# Every person of the SOP is told what concerns them: their tasks, breaches up the chain.
_TOLD = (S.notifications_read, S.notifications_write)

ROLE_SCOPES: dict[Role, frozenset[S]] = {
    Role.camat: frozenset(
        {
            *_READ,
            *_TOLD,
            S.incidents_write,
            S.incidents_cancel,
            S.orders_command,
            S.verifications_verify,
            S.orders_validate,
            S.delegations_write,
        }
    ),
    Role.sekcam: frozenset({*_READ, *_TOLD, S.verifications_paraf, S.delegations_write}),
    Role.kasi_trantib: frozenset(
        {
            *_READ,
            *_TOLD,
            S.incidents_write,
            S.instructions_write,
            S.verifications_review,
            S.orders_dispatch,
            S.archive_write,
            S.delegations_write,
        }
    ),
    Role.danru: frozenset({*_READ, *_TOLD, S.drafts_write, S.briefings_write, S.field_work_close}),
    Role.anggota: frozenset(
        {
            S.incidents_read,
            S.orders_read,
            S.field_reports_read,
            S.field_reports_write,
            S.tasks_read,
            S.units_read,
            *_TOLD,
        }
    ),
    Role.pimpinan: frozenset({*(s for s in _READ if s is not S.tasks_read), *_TOLD}),
    Role.admin: frozenset(
        {
            S.users_admin,
            S.units_read,
            S.units_admin,
            S.calendar_admin,
            S.sla_read,
            S.webhooks_admin,
            S.clients_admin,
            S.delegations_admin,
        }
    ),
    # The ceiling for service clients: each client holds the subset an administrator grants
    # it. Reading, and registering incidents; never a step action, which the SOP gives to
    # people by role.
    Role.service: frozenset({*(s for s in _READ if s is not S.tasks_read), S.incidents_write}),
}


def scopes_for(role: Role) -> list[str]:
    return sorted(str(scope) for scope in ROLE_SCOPES[role])


# How a person names each role, in either language (the posts' own Indonesian names).
ROLE_NAMES: dict[Role, str] = {
    Role.camat: "Camat",
    Role.sekcam: "Sekretaris Camat",
    Role.kasi_trantib: "Kasi Trantib",
    Role.danru: "Danru (Komandan Regu)",
    Role.anggota: "Anggota Trantib",
    Role.pimpinan: "Pimpinan Kota",
    Role.admin: "Administrator",
    Role.service: "Sistem Pemkot",
}


def role_name(role: str) -> str:
    """The role as a person names it; an unknown code stays as it is."""
    return ROLE_NAMES.get(Role(role), role) if role in Role.__members__ else role


def staff_roles_with(scopes: list[str]) -> list[Role]:
    """The staff roles whose scopes include every one of `scopes` (who may do it)."""
    wanted = set(scopes)
    return [
        role
        for role in Role
        if role in STAFF_ROLES and wanted <= {str(s) for s in ROLE_SCOPES[role]}
    ]
