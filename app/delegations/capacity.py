"""How a deputy's capacity is written: "Plh. CAMAT CILEDUG" before their own name."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.auth.deps import Acting, Principal
from app.units.models import Unit
from app.users.models import User

# The jabatan of each post as it heads a signature block, before the kecamatan's name.
POST_TITLES = {
    "camat": "Camat",
    "sekcam": "Sekretaris Kecamatan",
    "kasi_trantib": "Kepala Seksi Ketenteraman dan Ketertiban Umum Kecamatan",
}
KIND_PREFIXES = {"plh": "Plh.", "plt": "Plt."}


def jabatan(position: str, unit_name: str) -> str:
    """The post's jabatan in capitals, as a signature block writes it: CAMAT CILEDUG."""
    return f"{POST_TITLES[position]} {unit_name}".upper()


def capacity(kind: str, position: str, unit_name: str) -> str:
    """The deputy's capacity: Plh. CAMAT CILEDUG, Plt. SEKRETARIS KECAMATAN CILEDUG."""
    return f"{KIND_PREFIXES[kind]} {jabatan(position, unit_name)}"


def acting_record(
    session: Session, principal: Principal, unit_id: int, acting: Acting
) -> dict[str, Any]:
    """What a record taken by a deputy keeps of their capacity and of them, frozen as it was
    then (a letter signed by a Plh shows the name and NIP they had that day)."""
    unit = session.get(Unit, unit_id)
    person = session.get(User, principal.id)
    return {
        "position": str(acting.position),
        "kind": acting.kind,
        "delegation_id": str(acting.delegation_id),
        "capacity": capacity(acting.kind, acting.position, unit.name if unit else ""),
        "name": person.full_name if person else None,
        "nip": person.nip if person else None,
    }
