"""The local override table of the working-day calendar."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import CheckConstraint, Column, Date, String
from sqlmodel import Field, SQLModel

from app.core import clock
from app.core.types import UTCDateTime


class NonWorkingDay(SQLModel, table=True):
    """A date decided locally: a non-working day the national list lacks (`working` false),
    the decree behind a listed one, or a listed day that is worked after all (`working` true)."""

    __tablename__ = "non_working_days"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('libur_nasional', 'cuti_bersama', 'lainnya')", name="ck_non_working_days_kind"
        ),
    )

    date: dt.date = Field(sa_column=Column(Date(), primary_key=True))
    name: str = Field(max_length=128)
    kind: str = Field(sa_type=String(16))
    source: str = Field(max_length=256)
    working: bool = False
    updated_by: uuid.UUID | None = Field(default=None, foreign_key="users.id")
    updated_at: dt.datetime = Field(
        default_factory=clock.now, sa_column=Column(UTCDateTime(), nullable=False)
    )
