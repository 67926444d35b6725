"""Load-or-404 dependency that already applies the caller's kecamatan."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.archive import service
from app.archive.models import ArchiveRecord
from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.routing import in_hop


@in_hop
def visible_record(
    record_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.archive_read)],
) -> ArchiveRecord:
    return service.get(session, principal, record_id)


ArchiveRecordDep = Annotated[ArchiveRecord, Depends(visible_record)]
