"""The SOP versions the tests run, read from their definition files, and what they allow.

Expectations come from the files themselves (the shipped one is checked against the SOP
table in tests/fixtures/), never from the engine's own rule table.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.auth.roles import ROLE_SCOPES, Role
from app.sop.definition import SopDefinition, StepDefinition, parse_definition

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "app" / "sop" / "definitions"
FIXTURES = ROOT / "tests" / "fixtures" / "sop"
FILES = {path.stem: path for folder in (SHIPPED, FIXTURES) for path in folder.glob("*.toml")}
VERSIONS = sorted(FILES)
V1, V2 = "unjuk-rasa-v1", "unjuk-rasa-v2"

# The demo user who holds each role in a kecamatan (anggota: the first member).
ROLE_USER = {
    "camat": "camat",
    "sekcam": "sekcam",
    "kasi_trantib": "kasi",
    "danru": "danru",
    "anggota": "anggota1",
}


def definition(version: str) -> SopDefinition:
    path = FILES[version]
    return parse_definition(path.read_text(encoding="utf-8"), source=str(path))


def _places(
    sop: SopDefinition, action: str, role: Role
) -> list[tuple[set[int], str | None, str | None]]:
    """Where the role (with its scopes) takes the action in a version: steps, stage,
    assignment."""
    scopes = {str(s) for s in ROLE_SCOPES[role]}
    places: list[tuple[set[int], str | None, str | None]] = []
    for item in sop.incident_actions:
        if item.action == action and item.role == role and item.scope in scopes:
            last = item.to_step or sop.last_step
            places.append((set(range(item.from_step, last + 1)), None, None))
    for s in sop.steps:
        for rule in s.rules:
            if action in rule.actions and rule.role == role and rule.scope in scopes:
                places.append(({s.number}, rule.stage, rule.assignment))
    return places


def expected_refusal(
    sop: SopDefinition,
    action: str,
    who: str,
    role: Role,
    step: int,
    stage: str | None,
    briefed: set[str],
) -> int | None:
    """The status the guards must give for `who` taking `action` at `step` (and `stage`) of
    an incident under `sop`, or None when the definition allows it: 403 for a role or scope
    that takes the action in no version; 409 at another step or stage (or in a version
    where no step takes the action); 403 for a member not briefed."""
    if not any(_places(definition(v), action, role) for v in VERSIONS):
        return 403
    places = _places(sop, action, role)
    in_version = any(action in r.actions for s in sop.steps for r in s.rules) or any(
        i.action == action for i in sop.incident_actions
    )
    if not places and in_version:
        return 403  # the version has the action, for other roles only
    here = [p for p in places if step in p[0] and (p[1] is None or p[1] == stage)]
    if not here:
        return 409
    if any(p[2] == "briefed_member" for p in here) and who not in briefed:
        return 403
    return None


def step_of(sop: SopDefinition, action: str) -> StepDefinition:
    """The first step that completes with `action`."""
    return next(s for s in sop.steps if action in s.completes_with)


@contextmanager
def active(version: str) -> Iterator[None]:
    """New incidents start under `version` while the block runs (the server reads the
    setting per registration)."""
    from app.core.config import get_settings

    before = os.environ.get("TRANTIB_SOP_VERSION")
    os.environ["TRANTIB_SOP_VERSION"] = version
    get_settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("TRANTIB_SOP_VERSION", None)
        else:
            os.environ["TRANTIB_SOP_VERSION"] = before
        get_settings.cache_clear()
