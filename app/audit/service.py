"""Append to and verify an incident's hash-chained audit trail."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlmodel import Session

from app.audit.models import AuditEvent
from app.core import clock
from app.core.errors import ConcurrentUpdate, NotFound
from app.incidents.models import Incident
from app.sop.definition import load_definition

GENESIS = "0" * 64


def to_jsonable(value: Any) -> Any:
    """Datetimes as UTC ISO strings, UUIDs as strings, recursively: ready for JSON columns."""
    if isinstance(value, datetime):
        return clock.as_utc(value).isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTC ISO times; the input of every hash."""
    return json.dumps(to_jsonable(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


HASHED_FIELDS = (
    "incident_id",
    "seq",
    "prev_hash",
    "action",
    "step",
    "actor_id",
    "actor_role",
    "unit_id",
    "occurred_at",
    "recorded_at",
    "before",
    "after",
    "data",
)


# Hashed only when set: events recorded before these columns existed keep the hash they were
# written with, so their chains still verify.
HASHED_WHEN_SET = ("sop_version", "step_code", "acting_as")


def event_hash(row: dict[str, Any]) -> str:
    hashed = {name: row.get(name) for name in HASHED_FIELDS}
    hashed.update({name: row[name] for name in HASHED_WHEN_SET if row.get(name) is not None})
    return sha256_of(hashed)


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str


def build_event(
    head: ChainHead,
    *,
    incident_id: uuid.UUID,
    unit_id: int,
    action: str,
    step: int | None,
    actor_id: uuid.UUID | None,
    actor_role: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
    sop_version: str | None = None,
    step_code: str | None = None,
    acting_as: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of the next event after `head`, hash included (not yet written)."""
    row: dict[str, Any] = {
        "incident_id": incident_id,
        "seq": head.seq + 1,
        "prev_hash": head.hash,
        "action": action,
        "sop_version": sop_version,
        "step": step,
        "step_code": step_code,
        "actor_id": actor_id,
        "actor_role": actor_role,
        "acting_as": to_jsonable(acting_as) if acting_as is not None else None,
        "unit_id": unit_id,
        "occurred_at": clock.as_utc(occurred_at),
        "recorded_at": clock.as_utc(recorded_at),
        "before": to_jsonable(before) if before is not None else None,
        "after": to_jsonable(after) if after is not None else None,
        "data": to_jsonable(data) if data is not None else None,
    }
    row["hash"] = event_hash(row)
    return row


def append_event(
    session: Session,
    *,
    incident_id: uuid.UUID,
    action: str,
    step: int | None = None,
    actor_id: uuid.UUID | None = None,
    actor_role: str | None = None,
    occurred_at: datetime | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Append one event outside a step action (e.g. the SLA worker).

    Locks the incident row (PostgreSQL) and moves its chain head with a conditional UPDATE, so
    concurrent appenders cannot fork the chain; the loser gets ConcurrentUpdate.
    """
    found = session.execute(
        select(  # type: ignore[call-overload]
            Incident.unit_id, Incident.audit_seq, Incident.audit_head, Incident.sop_version
        )
        .where(Incident.id == incident_id)
        .with_for_update()
    ).first()
    if found is None:
        raise NotFound("Incident not found")
    step_code = load_definition(found.sop_version).step(step).code if step else None
    now = clock.now()
    row = build_event(
        ChainHead(found.audit_seq, found.audit_head),
        incident_id=incident_id,
        unit_id=found.unit_id,
        action=action,
        step=step,
        actor_id=actor_id,
        actor_role=actor_role,
        occurred_at=occurred_at or now,
        recorded_at=now,
        before=before,
        after=after,
        data=data,
        sop_version=found.sop_version,
        step_code=step_code,
    )
    moved = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.audit_seq == found.audit_seq)  # type: ignore[arg-type]
        .values(audit_seq=row["seq"], audit_head=row["hash"])
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise ConcurrentUpdate("The incident's audit chain moved; retry")
    session.execute(insert(AuditEvent).values(**row))
    return row


@dataclass(frozen=True)
class ChainReport:
    valid: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None


def verify_chain(session: Session, incident_id: uuid.UUID) -> ChainReport:
    """Recompute every hash in order and name the first event that does not match."""
    rows = session.execute(
        select(AuditEvent).where(AuditEvent.incident_id == incident_id).order_by(AuditEvent.seq)  # type: ignore[arg-type]
    ).scalars()
    prev = GENESIS
    count = 0
    for count, event in enumerate(rows, start=1):
        row = event.model_dump()
        if event.seq != count:
            return ChainReport(False, count, event.seq, "sequence gap")
        if event.prev_hash != prev:
            return ChainReport(False, count, event.seq, "previous hash does not match")
        if event_hash(row) != event.hash:
            return ChainReport(False, count, event.seq, "content does not match its hash")
        prev = event.hash
    head = session.execute(
        select(Incident.audit_head).where(Incident.id == incident_id)  # type: ignore[call-overload]
    ).scalar()
    if head is not None and head != prev:
        return ChainReport(False, count, count + 1, "chain head missing events")
    return ChainReport(True, count)
