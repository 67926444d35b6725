"""The SOP as data: load and validate a versioned definition file."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.auth.roles import Role
from app.timing.sla import Sla, parse_sla

CURRENT_VERSION = "unjuk-rasa-v1"
CALENDARS = ("wall", "working_days")


class StepDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int = Field(ge=1)
    code: str
    uraian: str = Field(description="Uraian Kegiatan, as written in the SOP")
    summary: str = Field(description="Short English summary")
    actors: tuple[Role, ...]
    stages: tuple[str, ...] = ()
    kelengkapan: tuple[str, ...]
    equipment: tuple[str, ...] = ()
    waktu: str = Field(description='Time standard exactly as column 9 writes it, e.g. "2 Jam"')
    calendar: str
    output: str
    output_note: str | None = None
    completes_with: str
    correction_returns_to: int | None = None

    @property
    def sla(self) -> Sla:
        return parse_sla(self.waktu)


class SopDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    version: str
    title: str
    unit: str
    cancellable_before_step: int
    steps: tuple[StepDefinition, ...]

    @model_validator(mode="after")
    def _consistent(self) -> SopDefinition:
        numbers = [s.number for s in self.steps]
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"steps must be numbered 1..n in order, got {numbers}")
        for step in self.steps:
            try:
                parse_sla(step.waktu)
            except ValueError as exc:
                raise ValueError(f"step {step.number}: {exc}") from exc
            if step.calendar not in CALENDARS:
                raise ValueError(f"step {step.number}: unknown calendar {step.calendar!r}")
            back = step.correction_returns_to
            if back is not None and not 1 <= back < step.number:
                raise ValueError(f"step {step.number}: correction must return to an earlier step")
            if step.stages and len(step.stages) != len(step.actors):
                raise ValueError(f"step {step.number}: one actor per stage")
        return self

    @property
    def last_step(self) -> int:
        return self.steps[-1].number

    def step(self, number: int) -> StepDefinition:
        return self.steps[number - 1]


def parse_definition(text: str) -> SopDefinition:
    return SopDefinition.model_validate(tomllib.loads(text))


@cache
def load_definition(version: str = CURRENT_VERSION) -> SopDefinition:
    """The definition of a version; every incident keeps the version it started under."""
    name = f"{version}.toml"
    files = resources.files("app.sop") / "definitions"
    if not (files / name).is_file():
        raise LookupError(f"no SOP definition {version!r}")
    return parse_definition((files / name).read_text(encoding="utf-8"))
