"""The SOP definitions, as data: the active version and every version the service knows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from app.auth.deps import Principal, require
from app.core.errors import NotFound
from app.core.http import problems
from app.core.routing import OneHopRoute
from app.core.schemas import ResponseBody
from app.sop.definition import SopDefinition, registry

router = APIRouter(route_class=OneHopRoute, tags=["sop"])

VersionName = Annotated[str, Field(max_length=32)]


class SopVersion(ResponseBody):
    version: VersionName
    title: str
    steps: int = Field(description="How many steps the version has")
    active: bool = Field(description="Whether new incidents start under this version")


class SopVersionList(ResponseBody):
    active: VersionName
    items: list[SopVersion]


def _definition(version: str | None) -> SopDefinition:
    known = registry()
    try:
        return known.get(version or known.active)
    except LookupError as exc:
        # Only the versions the registry holds are answered: the name never reaches a path.
        raise NotFound(f"No SOP definition {version!r}") from exc


@router.get(
    "/sop",
    response_model=SopDefinition,
    operation_id="sop_get",
    summary="The SOP definition new incidents start under (or the one named by `version`)",
    description="Every step with its actors, kelengkapan, time standard, output, the rules of "
    "who takes which action at which stage, and where a correction returns. An incident "
    "keeps the version it started under (`sop_version` on the incident).",
    responses=problems(401, 404),
)
def get_sop(
    _principal: Annotated[Principal, require()],
    version: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    return _definition(version)


@router.get(
    "/sop/versions",
    response_model=SopVersionList,
    operation_id="sop_versions_list",
    summary="Every SOP version the service knows, oldest first, and which one is active",
    responses=problems(401),
)
def list_versions(_principal: Annotated[Principal, require()]) -> Any:
    known = registry()
    items = [
        SopVersion(
            version=name,
            title=known.definitions[name].title,
            steps=len(known.definitions[name].steps),
            active=name == known.active,
        )
        for name in known.versions()
    ]
    return SopVersionList(active=known.active, items=items)


@router.get(
    "/sop/versions/{version}",
    response_model=SopDefinition,
    operation_id="sop_versions_get",
    summary="One SOP version's definition",
    responses=problems(401, 404),
)
def get_version(
    _principal: Annotated[Principal, require()],
    version: Annotated[str, Path(max_length=32)],
) -> Any:
    return _definition(version)
