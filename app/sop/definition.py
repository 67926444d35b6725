"""The SOP as data: load, check and look up the versioned definition files.

Every version of the SOP is one TOML file, in the package (app/sop/definitions/) or in the
folder `TRANTIB_SOP_DEFINITIONS_DIR` names. New incidents take the active version
(`TRANTIB_SOP_VERSION`, the newest by default); an incident keeps the version it started
under to its end. A file that is inconsistent stops the service at start-up with one line
naming the file, the step and the field.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from app.auth.roles import ROLE_SCOPES, Role
from app.auth.scopes import Scope
from app.drafts.models import DraftKind
from app.sop.catalogue import (
    ASSIGNED_BY,
    DRAFT_ACTIONS,
    INCIDENT_ACTIONS,
    VERIFY_ACTIONS,
    Action,
    Assignment,
    DocumentKind,
)
from app.timing.calendars import CALENDAR_NAMES
from app.timing.sla import Sla, parse_sla

# The most steps a definition may have (step filters of the API are bounded by it).
MAX_STEPS = 99
PACKAGE_DIR = Path(__file__).resolve().parent / "definitions"
# Roles that act in a kecamatan; city roles and service clients take no step of the SOP.
KECAMATAN_ROLES = frozenset({Role.camat, Role.sekcam, Role.kasi_trantib, Role.danru, Role.anggota})


class RuleDefinition(BaseModel):
    """Who takes some actions of a step: a role with a scope, at a stage, narrowed to a person."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    actions: tuple[str, ...] = Field(min_length=1)
    role: str
    scope: str
    stage: str | None = None
    assignment: str | None = None


class IncidentActionDefinition(BaseModel):
    """An action on the incident as a whole (cancel, escalate), allowed over a range of steps."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    action: str
    role: str
    scope: str
    from_step: int = 1
    to_step: int | None = Field(default=None, description="The last step; omitted: every step")


class BackdatingDefinition(BaseModel):
    """How far before the moment an action is recorded its claimed `occurred_at` may lie."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    limit: str = Field(description='The furthest back a claim may go, e.g. "15 Menit"')
    reason_after: str = Field(
        description="A claim further back than this needs an `occurred_at_reason`"
    )

    @property
    def limit_seconds(self) -> int:
        return parse_sla(self.limit).seconds

    @property
    def reason_after_seconds(self) -> int:
        return parse_sla(self.reason_after).seconds


class StepDefinition(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    number: int = Field(ge=1)
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=48)
    name: str | None = Field(
        default=None,
        max_length=120,
        description="The step's short Indonesian name, as officers read it in messages",
    )
    uraian: str = Field(description="Uraian Kegiatan, as written in the SOP")
    summary: str = Field(description="Short English summary")
    actors: tuple[str, ...] = Field(min_length=1, description="Pelaksana, as the SOP names them")
    stages: tuple[str, ...] = ()
    kelengkapan: tuple[str, ...]
    equipment: tuple[str, ...] = ()
    waktu: str = Field(description='Time standard exactly as column 9 writes it, e.g. "2 Jam"')
    calendar: str
    output: str
    output_note: str | None = None
    produces: str = Field(description="The document the service keeps as the step's output")
    draft: str | None = Field(default=None, description="The draft this step writes or verifies")
    rules: tuple[RuleDefinition, ...] = Field(min_length=1)
    completes_with: tuple[str, ...] = Field(min_length=1)
    correction_returns_to: int | None = None
    backdating: BackdatingDefinition | None = Field(
        default=None, description="This step's own bound; omitted: the definition's"
    )

    @property
    def label(self) -> str:
        """The name officers read: the definition's, else the code in words."""
        return self.name or self.code.replace("_", " ").capitalize()

    @property
    def sla(self) -> Sla:
        return parse_sla(self.waktu)

    def waiting_role(self, stage: str | None) -> str:
        """The role the step waits on: the stage's actor, else the first Pelaksana."""
        if stage is not None:
            for rule in self.rules:
                if rule.stage == stage:
                    return rule.role
        return self.actors[0]

    def next_stage(self, stage: str | None) -> str | None:
        """The stage after `stage` within this step; None after the last."""
        if not self.stages or stage not in self.stages:
            return None
        position = self.stages.index(stage)
        return self.stages[position + 1] if position + 1 < len(self.stages) else None


class SuperiorDefinition(BaseModel):
    """Who answers for a role's late step: a role of the kecamatan (narrowed to the person an
    assignment names, e.g. the Danru who dispatched a member), or the city's `pimpinan`."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    role: str
    assignment: str | None = None


class SopDefinition(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_serialization_defaults_required=True
    )

    code: str
    version: str = Field(max_length=32)
    title: str
    unit: str
    incident_actions: tuple[IncidentActionDefinition, ...] = ()
    backdating: BackdatingDefinition
    steps: tuple[StepDefinition, ...] = Field(min_length=1, max_length=MAX_STEPS)
    # A breach is told to the step's actor and to their superior, by the actor's role.
    chain_of_command: dict[str, SuperiorDefinition] = Field(default_factory=dict)

    def backdating_of(self, step: StepDefinition) -> BackdatingDefinition:
        return step.backdating or self.backdating

    @property
    def last_step(self) -> int:
        return self.steps[-1].number

    def step(self, number: int) -> StepDefinition:
        return self.steps[number - 1]

    def following(self, number: int) -> StepDefinition | None:
        """The step that completing step `number` opens; None after the last (the incident
        closes)."""
        return self.steps[number] if number < len(self.steps) else None


class DefinitionError(ValueError):
    """An SOP definition file is inconsistent; the message is one line naming where."""


def _where(step: StepDefinition | None, field: str) -> str:
    if step is None:
        return f"field {field}"
    return f"step {step.number} ({step.code}), field {field}"


def _rule_problems(
    definition: SopDefinition, step: StepDefinition, index: int, rule: RuleDefinition
) -> list[str]:
    field = f"rules[{index}]"
    found: list[str] = []
    for name in rule.actions:
        if name not in Action.__members__:
            found.append(f"{_where(step, field + '.actions')}: unknown action {name!r}")
        elif Action(name) in INCIDENT_ACTIONS:
            found.append(
                f"{_where(step, field + '.actions')}: {name!r} is an incident action; "
                "list it under incident_actions"
            )
    found.extend(_who_problems(step, field, rule.role, rule.scope))
    if rule.stage is not None and rule.stage not in step.stages:
        found.append(f"{_where(step, field + '.stage')}: {rule.stage!r} is not a stage of the step")
    if rule.assignment is not None:
        if rule.assignment not in Assignment.__members__:
            found.append(
                f"{_where(step, field + '.assignment')}: unknown assignment {rule.assignment!r}"
            )
        else:
            naming = ASSIGNED_BY[Assignment(rule.assignment)]
            earlier = definition.steps[: step.number - 1]
            if not any(naming in s.completes_with for s in earlier):
                found.append(
                    f"{_where(step, field + '.assignment')}: {rule.assignment} needs an earlier "
                    f"step completed by {naming}, which names the person"
                )
    return found


def _who_problems(step: StepDefinition | None, field: str, role: str, scope: str) -> list[str]:
    if role not in Role.__members__ or Role(role) not in KECAMATAN_ROLES:
        return [f"{_where(step, field + '.role')}: {role!r} is not a kecamatan role"]
    if scope not in {s.value for s in Scope}:
        return [f"{_where(step, field + '.scope')}: unknown scope {scope!r}"]
    if Scope(scope) not in ROLE_SCOPES[Role(role)]:
        return [
            f"{_where(step, field + '.scope')}: the role {role} does not hold {scope}, "
            "so nobody could take the action"
        ]
    return []


def _backdating_problems(step: StepDefinition | None, bound: BackdatingDefinition) -> list[str]:
    found: list[str] = []
    for name in ("limit", "reason_after"):
        try:
            parse_sla(getattr(bound, name))
        except ValueError as exc:
            found.append(f"{_where(step, 'backdating.' + name)}: {exc}")
    if not found and bound.reason_after_seconds > bound.limit_seconds:
        found.append(f"{_where(step, 'backdating.reason_after')}: longer than the limit")
    return found


def _step_problems(definition: SopDefinition, step: StepDefinition) -> list[str]:
    found: list[str] = []
    try:
        parse_sla(step.waktu)
    except ValueError as exc:
        found.append(f"{_where(step, 'waktu')}: {exc}")
    if step.backdating is not None:
        found.extend(_backdating_problems(step, step.backdating))
    if step.calendar not in CALENDAR_NAMES:
        found.append(f"{_where(step, 'calendar')}: unknown calendar {step.calendar!r}")
    if step.produces not in DocumentKind.__members__:
        found.append(f"{_where(step, 'produces')}: unknown document kind {step.produces!r}")
    for index, rule in enumerate(step.rules):
        found.extend(_rule_problems(definition, step, index, rule))
    taken = {name for rule in step.rules for name in rule.actions}
    for name in step.completes_with:
        if name not in taken:
            found.append(f"{_where(step, 'completes_with')}: no rule of the step takes {name!r}")
    roles = {rule.role for rule in step.rules}
    for actor in step.actors:
        if actor not in roles:
            found.append(f"{_where(step, 'actors')}: {actor!r} takes no action at this step")
    if len(set(step.stages)) != len(step.stages):
        found.append(f"{_where(step, 'stages')}: a stage is named twice")
    for stage in step.stages:
        if not any(rule.stage == stage for rule in step.rules):
            found.append(f"{_where(step, 'stages')}: the stage {stage!r} has no actor")
    found.extend(_draft_problems(definition, step, taken))
    return found


def _draft_problems(definition: SopDefinition, step: StepDefinition, taken: set[str]) -> list[str]:
    writes = bool(taken & DRAFT_ACTIONS)
    verifies = bool(taken & VERIFY_ACTIONS)
    if step.draft is not None and step.draft not in DraftKind.__members__:
        return [f"{_where(step, 'draft')}: unknown draft kind {step.draft!r}"]
    if (writes or verifies) and step.draft is None:
        return [f"{_where(step, 'draft')}: the step writes or verifies a draft; name its kind"]
    found: list[str] = []
    following = definition.following(step.number)
    if Action.draft_submit in step.completes_with and (
        following is None
        or following.draft != step.draft
        or Action.verify not in following.completes_with
    ):
        found.append(
            f"{_where(step, 'completes_with')}: a submitted draft must go to a next step "
            "that verifies the same draft"
        )
    back = step.correction_returns_to
    if back is not None:
        if not verifies:
            found.append(f"{_where(step, 'correction_returns_to')}: only a verifying step returns")
        elif not 1 <= back < step.number:
            found.append(
                f"{_where(step, 'correction_returns_to')}: a correction must return to an "
                f"earlier step, not {back}"
            )
        elif definition.step(back).draft != step.draft or Action.draft_update not in {
            name for rule in definition.step(back).rules for name in rule.actions
        }:
            found.append(
                f"{_where(step, 'correction_returns_to')}: step {back} does not revise the "
                f"{step.draft} draft"
            )
    elif verifies:
        found.append(f"{_where(step, 'correction_returns_to')}: a verifying step needs one")
    if verifies and not step.stages:
        found.append(f"{_where(step, 'stages')}: a verifying step names its stages (paraf chain)")
    return found


def problems(definition: SopDefinition) -> list[str]:
    """Every inconsistency of a parsed definition, one line each; empty when it is sound."""
    numbers = [s.number for s in definition.steps]
    if numbers != list(range(1, len(numbers) + 1)):
        return [f"field steps: steps must be numbered 1..n in order, got {numbers}"]
    found: list[str] = _backdating_problems(None, definition.backdating)
    codes = [s.code for s in definition.steps]
    for code in sorted({c for c in codes if codes.count(c) > 1}):
        found.append(f"field steps: the step code {code!r} is used twice")
    for index, item in enumerate(definition.incident_actions):
        field = f"incident_actions[{index}]"
        if item.action not in {a.value for a in INCIDENT_ACTIONS}:
            found.append(f"{_where(None, field + '.action')}: {item.action!r} is not one")
        found.extend(_who_problems(None, field, item.role, item.scope))
        last = item.to_step if item.to_step is not None else definition.last_step
        if not 1 <= item.from_step <= last <= definition.last_step:
            found.append(f"{_where(None, field)}: steps {item.from_step} to {last} do not exist")
    for step in definition.steps:
        found.extend(_step_problems(definition, step))
    found.extend(_chain_problems(definition))
    return found


def _chain_problems(definition: SopDefinition) -> list[str]:
    found = []
    for role, superior in definition.chain_of_command.items():
        field = f"chain_of_command.{role}"
        if role not in Role.__members__ or Role(role) not in KECAMATAN_ROLES:
            found.append(f"{_where(None, field)}: {role!r} is not a kecamatan role")
        if superior.role not in Role.__members__ or Role(superior.role) not in (
            KECAMATAN_ROLES | {Role.pimpinan}
        ):
            found.append(f"{_where(None, field + '.role')}: {superior.role!r} is no superior")
        if superior.assignment is not None and superior.assignment not in Assignment.__members__:
            found.append(
                f"{_where(None, field + '.assignment')}: unknown assignment {superior.assignment!r}"
            )
    return found


def _pydantic_line(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = list(error["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        where = f"step {loc[1] + 1}, "
        loc = loc[2:]
    field = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
    return f"{where}field {field or '(top)'}: {error['msg']}"


def parse_definition(text: str, *, source: str = "<text>") -> SopDefinition:
    """Parse and check one definition; DefinitionError names the source, step and field."""
    try:
        data: Any = tomllib.loads(text)
        definition = SopDefinition.model_validate(data)
    except tomllib.TOMLDecodeError as exc:
        raise DefinitionError(f"{source}: not valid TOML: {exc}") from exc
    except ValidationError as exc:
        raise DefinitionError(f"{source}: {_pydantic_line(exc)}") from exc
    found = problems(definition)
    if found:
        raise DefinitionError(f"{source}: {found[0]}")
    return definition


def _natural(version: str) -> tuple[Any, ...]:
    """Order versions as people do: v2 before v10."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", version))


@dataclass(frozen=True)
class Registry:
    """Every definition the service knows, by version, and the active one."""

    definitions: dict[str, SopDefinition]
    files: dict[str, Path]
    active: str

    def get(self, version: str) -> SopDefinition:
        try:
            return self.definitions[version]
        except KeyError:
            raise LookupError(f"no SOP definition {version!r}") from None

    def versions(self) -> list[str]:
        return sorted(self.definitions, key=_natural)


def definition_files(extra_dir: Path | None) -> list[Path]:
    folders = [PACKAGE_DIR, *([extra_dir] if extra_dir is not None else [])]
    return [path for folder in folders for path in sorted(folder.glob("*.toml"))]


@cache
def build_registry(extra_dir: Path | None, wanted: str | None) -> Registry:
    """Load every file; DefinitionError (one line) for the first one that is unsound."""
    definitions: dict[str, SopDefinition] = {}
    files: dict[str, Path] = {}
    for path in definition_files(extra_dir):
        definition = parse_definition(path.read_text(encoding="utf-8"), source=str(path))
        if definition.version != path.stem:
            raise DefinitionError(
                f"{path}: field version: {definition.version!r} differs from the file name"
            )
        if definition.version in definitions:
            raise DefinitionError(
                f"{path}: field version: {definition.version!r} is also defined in "
                f"{files[definition.version]}"
            )
        definitions[definition.version] = definition
        files[definition.version] = path
    if not definitions:
        raise DefinitionError(f"{PACKAGE_DIR}: no SOP definition file")
    ordered = sorted(definitions, key=_natural)
    if wanted is not None and wanted not in definitions:
        raise DefinitionError(
            f"TRANTIB_SOP_VERSION names {wanted!r}, which no definition file holds "
            f"(known: {', '.join(ordered)})"
        )
    return Registry(definitions, files, wanted or ordered[-1])


def registry() -> Registry:
    from app.core.config import get_settings

    settings = get_settings()
    return build_registry(settings.sop_definitions_dir, settings.sop_version)


def active_version() -> str:
    """The version new incidents start under."""
    return registry().active


def load_definition(version: str | None = None) -> SopDefinition:
    """The definition of a version (the active one when omitted); LookupError if unknown."""
    found = registry()
    return found.get(version or found.active)


def _packaged(values_of: Any) -> list[str]:
    """The values the definitions shipped with the service name, in the order they come."""
    found: dict[str, None] = {}
    for definition in build_registry(None, None).definitions.values():
        for step in definition.steps:
            found.update(dict.fromkeys(values_of(step)))
    return list(found)


def _sop_data_field(what: str, plural: str, listed_as: str, values: list[str]) -> Any:
    return Field(
        description=f"{what}. {plural} are data of each SOP version (GET "
        f"/api/v1/sop/versions/{{version}} lists each step's `{listed_as}`), not a fixed set: "
        "a revised SOP may add some. The shipped definitions name: "
        + ", ".join(f"`{v}`" for v in values),
        examples=values[:1],
    )


# Stage names and step codes are documented in answers, never enums: a revised definition may
# add one without a new API version, and a client generated with an enum (openapi-python-
# client raises on an unknown value) would refuse every answer naming it.


def stage_field(
    what: str = "The stage within the step, for a step its SOP definition splits into stages "
    "(null otherwise)",
) -> Any:
    """The field of a stage's name in an answer."""
    return _sop_data_field(what, "Stage names", "stages", _packaged(lambda s: s.stages))


def step_code_field(what: str = "The step's code") -> Any:
    """The field of a step's code in an answer."""
    return _sop_data_field(what, "Step codes", "code", _packaged(lambda s: [s.code]))
