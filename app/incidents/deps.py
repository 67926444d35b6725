"""Load-or-404 dependencies that already apply the caller's kecamatan."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.routing import in_hop
from app.incidents.models import Incident
from app.sop.engine import load_incident


@in_hop
def visible_incident(
    incident_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.incidents_read)],
) -> Incident:
    return load_incident(session, principal, incident_id)


IncidentDep = Annotated[Incident, Depends(visible_incident)]
