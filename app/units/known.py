"""The kecamatan as a process knows them: read once, kept for the process's life.

The units table is reference data (Kota Tangerang's 13 kecamatan with their Kemendagri
codes), written by the migrations and never by the service, so a read of it per answer (an
incident's unit, the caller's) bought nothing.
"""

from __future__ import annotations

from sqlmodel import Session

from app.units.models import Unit, UnitPublic

_KNOWN: dict[int, UnitPublic] = {}


def known_unit(session: Session, unit_id: int) -> UnitPublic:
    """The unit of `unit_id`, which must exist (a foreign key points at it)."""
    found = _KNOWN.get(unit_id)
    if found is None:
        unit = session.get(Unit, unit_id)
        assert unit is not None, f"no unit {unit_id}"
        found = _KNOWN[unit_id] = UnitPublic.model_validate(unit, from_attributes=True)
    return found
