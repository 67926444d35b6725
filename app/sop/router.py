"""The SOP definition, as data."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from app.auth.deps import Principal, require
from app.core.errors import NotFound
from app.core.http import problems
from app.sop.definition import CURRENT_VERSION, SopDefinition, load_definition

router = APIRouter(tags=["sop"])


@router.get(
    "/sop",
    response_model=SopDefinition,
    operation_id="sop_get",
    summary="The SOP definition: its 11 steps, actors, kelengkapan, time standards and outputs",
    responses=problems(401, 404),
)
def get_sop(
    _principal: Annotated[Principal, require()],
    version: Annotated[str, Query(max_length=64)] = CURRENT_VERSION,
) -> Any:
    try:
        return load_definition(version)
    except LookupError as exc:
        raise NotFound(f"No SOP definition {version!r}") from exc
