"""The login throttle: slows guessing down without locking the owner out.

Every attempt counts against three streaks: the account from this address (the pair), the
account from anywhere, and the address for any account. Each streak has some free
attempts; past them, each further attempt must wait a delay that doubles with every
attempt (429 with Retry-After until then). A streak is forgotten FORGET_AFTER after its
last attempt; a success ends the pair's streak.

A pair that has logged in successfully is trusted for TRUST_DAYS: it counts against its
own streak only. So failures from elsewhere, however many, never delay the owner at the
address they log in from, nor the other users behind an address someone guesses from.

An attempt is counted before its password is checked, by one atomic INSERT ... ON CONFLICT
DO UPDATE per streak in a transaction of its own (committed whatever the login's outcome):
parallel guesses cannot all pass the check before any of them is counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, case, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from app.auth.models import LoginThrottle
from app.core import clock
from app.core.db import get_engine
from app.core.errors import TooManyRequests

FORGET_AFTER = timedelta(minutes=15)
TRUST_DAYS = 30
PAIR_FREE_ATTEMPTS = 5
ACCOUNT_FREE_ATTEMPTS = 10
ADDRESS_FREE_ATTEMPTS = 20
FIRST_DELAY = timedelta(seconds=30)
LONGEST_DELAY = timedelta(minutes=15)
NAME_MAX = 80
ADDRESS_MAX = 64

_TABLE = LoginThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claim:
    """An attempt let through: the streaks it was counted in."""

    pair: str
    others: tuple[str, ...]


def pair_key(name: str, address: str) -> str:
    # The address comes last and never holds "|", so no two pairs share a key.
    return f"pair|{name[:NAME_MAX]}|{address[:ADDRESS_MAX]}"


def _streaks(name: str, address: str) -> list[tuple[str, int]]:
    return [
        (f"account|{name[:NAME_MAX]}", ACCOUNT_FREE_ATTEMPTS),
        (f"address|{address[:ADDRESS_MAX]}", ADDRESS_FREE_ATTEMPTS),
    ]


def _delay(attempts: int, free: int) -> timedelta:
    """How long the next attempt waits after `attempts` in a streak with `free` free ones."""
    if attempts < free:
        return timedelta(0)
    doublings = min(attempts - free, 16)
    return min(FIRST_DELAY * 2**doublings, LONGEST_DELAY)


def _count(conn: Connection, key: str, now: datetime) -> Any:
    """Count an attempt in the streak `key`; None when the streak makes it wait."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    forgotten = _TABLE.c.last_attempt_at <= now - FORGET_AFTER
    statement = (
        insert(_TABLE)
        .values(key=key, attempts=1, last_attempt_at=now, next_attempt_at=now)
        .on_conflict_do_update(
            index_elements=[_TABLE.c.key],
            set_={
                "attempts": case((forgotten, 1), else_=_TABLE.c.attempts + 1),
                "last_attempt_at": now,
            },
            # A waiting attempt is refused without being counted: hammering does not
            # lengthen the wait, only attempts that were let through do.
            where=(_TABLE.c.next_attempt_at <= now) | forgotten,
        )
        .returning(_TABLE.c.attempts, _TABLE.c.trusted_until)
    )
    return conn.execute(statement).first()


def _refuse(conn: Connection, key: str, now: datetime) -> TooManyRequests:
    waits_until = conn.execute(
        select(_TABLE.c.next_attempt_at).where(_TABLE.c.key == key)
    ).scalar_one()
    retry = max(1, math.ceil((clock.as_utc(waits_until) - now).total_seconds()))
    return TooManyRequests(retry, f"Too many failed logins; try again in {retry} seconds")


def claim_attempt(name: str, address: str) -> Claim:
    """Count a login attempt before its password is checked, or raise 429.

    Its own transaction, committed at once: the attempt stays counted when the login fails
    and the request's transaction rolls back. Run it before the request's session has
    begun one (SQLite has a single writer).
    """
    now = clock.now()
    pair = pair_key(name, address)
    with get_engine().connect() as conn, conn.begin() as transaction:
        counted = _count(conn, pair, now)
        if counted is None:
            error = _refuse(conn, pair, now)
            transaction.rollback()
            raise error
        trusted = counted.trusted_until is not None and clock.as_utc(counted.trusted_until) > now
        waits = {pair: _delay(counted.attempts, PAIR_FREE_ATTEMPTS)}
        others: list[str] = []
        for key, free in [] if trusted else _streaks(name, address):
            row = _count(conn, key, now)
            if row is None:
                # Nothing of this attempt is counted: it never ran.
                error = _refuse(conn, key, now)
                transaction.rollback()
                raise error
            waits[key] = _delay(row.attempts, free)
            others.append(key)
        for key, wait in waits.items():
            if wait:
                conn.execute(
                    update(_TABLE).where(_TABLE.c.key == key).values(next_attempt_at=now + wait)
                )
    return Claim(pair=pair, others=tuple(others))


def succeeded(session: Session, claim: Claim) -> None:
    """The attempt logged in: its pair is trusted and starts afresh, and it no longer counts
    against the account's and the address's streaks (in the request's transaction)."""
    now = clock.now()
    session.exec(
        update(LoginThrottle)
        .where(col(LoginThrottle.key) == claim.pair)
        .values(attempts=0, next_attempt_at=now, trusted_until=now + timedelta(days=TRUST_DAYS))
    )
    if claim.others:
        session.exec(
            update(LoginThrottle)
            .where(col(LoginThrottle.key).in_(claim.others), col(LoginThrottle.attempts) > 0)
            .values(attempts=col(LoginThrottle.attempts) - 1)
        )


def forgettable_before(now: datetime) -> tuple[datetime, datetime]:
    """(last attempt before, trust ended before): rows past both hold nothing to remember."""
    return now - FORGET_AFTER, now
