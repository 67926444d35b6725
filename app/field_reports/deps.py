"""Load-or-404 dependencies that already apply the caller's kecamatan."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Depends

from app.auth.deps import Principal, require
from app.auth.scopes import Scope
from app.core.db import SessionDep
from app.core.routing import in_hop
from app.field_reports import service
from app.field_reports.models import Attachment, FieldReport


@in_hop
def visible_report(
    report_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.field_reports_read)],
) -> FieldReport:
    return service.get_report(session, principal, report_id)


@in_hop
def visible_attachment(
    attachment_id: uuid.UUID,
    session: SessionDep,
    principal: Annotated[Principal, require(Scope.field_reports_read)],
) -> Attachment:
    return service.get_attachment(session, principal, attachment_id)


FieldReportDep = Annotated[FieldReport, Depends(visible_report)]
AttachmentDep = Annotated[Attachment, Depends(visible_attachment)]
