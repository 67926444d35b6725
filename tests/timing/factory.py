"""Test data for report tests: incidents and step runs written straight into the tables."""

from __future__ import annotations

import itertools
import uuid
from datetime import datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from app.core.clock import WIB
from app.incidents.models import Incident
from app.timing.calendars import calendar_for
from app.timing.models import StepRun
from app.timing.sla import parse_sla
from app.units.models import Unit
from app.users.models import User
from tests.lifecycle.sop import V1, definition

_sequence = itertools.count(1)


def wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=WIB)


class Seeder:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def unit_id(self, slug: str) -> int:
        with Session(self.engine) as session:
            return session.exec(select(Unit.id).where(Unit.slug == slug)).one()

    def incident(self, slug: str, reported_at: datetime, version: str = V1) -> uuid.UUID:
        with Session(self.engine) as session:
            unit = session.exec(select(Unit).where(Unit.slug == slug)).one()
            camat = session.exec(select(User.id).where(User.username == f"camat.{slug}")).one()
            number = next(_sequence)
            incident = Incident(
                unit_id=unit.id,
                register_year=2026,
                register_sequence=number,
                register_number=f"{unit.code}/UR/2026/{number:04d}",
                kind="unjuk_rasa",
                title=f"Unjuk rasa {number}",
                location={"kelurahan": "-"},
                reported_at=reported_at,
                escalation_level="hijau",
                sop_version=version,
                created_by=camat,
            )
            session.add(incident)
            session.commit()
            return incident.id

    def run(
        self,
        incident_id: uuid.UUID,
        step: int,
        started_at: datetime,
        *,
        sla: str = "1 Jam",
        calendar: str = "wall",
        attempt: int = 1,
        completed_at: datetime | None = None,
        elapsed: int | None = None,
        cancelled: bool = False,
        role: str = "camat",
    ) -> uuid.UUID:
        """A run measured as the engine measures it; `elapsed` sets completed_at for you."""
        cal = calendar_for(calendar)
        standard = parse_sla(sla)
        if elapsed is not None:
            completed_at = cal.advance(started_at, elapsed)
        status, measured = "running", None
        if completed_at is not None:
            measured = cal.elapsed_seconds(started_at, completed_at)
            status = "on_time" if measured <= standard.seconds else "late"
        if cancelled:
            status, measured = "cancelled", None
        with Session(self.engine) as session:
            unit_id, version = session.exec(
                select(Incident.unit_id, Incident.sop_version).where(Incident.id == incident_id)
            ).one()
            run = StepRun(
                incident_id=incident_id,
                unit_id=unit_id,
                sop_version=version,
                step=step,
                step_code=definition(version).step(step).code,
                attempt=attempt,
                role=role,
                sla_text=standard.text,
                sla_seconds=standard.seconds,
                calendar=calendar,
                started_at=started_at,
                actionable_at=started_at,
                due_at=cal.due_at(started_at, standard),
                completed_at=completed_at,
                recorded_completed_at=completed_at,
                elapsed_seconds=measured,
                claimed_elapsed_seconds=measured,
                recorded_elapsed_seconds=measured,
                status=status,
            )
            session.add(run)
            session.commit()
            return run.id
