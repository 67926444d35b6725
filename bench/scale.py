"""Bulk history for the scale figures: incidents and their step runs, made by PostgreSQL.

The history grows backwards in time at a steady rate (RATE_PER_DAY incidents a day across the
city, kecamatan in turn), so a bigger load is a longer past, while the recent weeks that the
read endpoints look at hold the same rows whatever the size. Incidents of the last
ACTIVE_HOURS are still open, each at some step with one running run; older ones are closed
after 11 completed runs, or (one in CANCEL_EVERY) cancelled part way.

The rows are generated inside the database (INSERT ... SELECT over generate_series): a
million runs take seconds instead of minutes of Python. Working-day figures are approximated
(5 working days in 7): these rows feed read queries, never the timing service's own checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

RATE_PER_DAY = 40
ACTIVE_HOURS = 48
CANCEL_EVERY = 31
RUNS_PER_CLOSED = 11

_GENERATE = """
CREATE TEMP TABLE gen ON COMMIT DROP AS
WITH u AS (
    SELECT row_number() OVER (ORDER BY u.id) - 1 AS n, u.id, u.code, k.id AS kasi, d.id AS danru
    FROM units u
    JOIN users k ON k.username = 'kasi.' || u.slug
    JOIN users d ON d.username = 'danru.' || u.slug
)
SELECT i, gen_random_uuid() AS id, u.id AS unit_id, u.code, u.kasi, u.danru,
       %(now)s::timestamptz - make_interval(secs => i * %(spacing)s + (i * 7919) %% 600)
           AS reported_at,
       i * %(spacing)s < %(active_seconds)s AS active,
       i * %(spacing)s >= %(active_seconds)s AND i %% %(cancel_every)s = 0 AS cancelled
FROM generate_series(%(first)s, %(last)s - 1) AS i
JOIN u ON u.n = i %% (SELECT count(*) FROM u);

ALTER TABLE gen ADD COLUMN last_step int;
UPDATE gen SET last_step = CASE
    WHEN active THEN 1 + i %% %(steps)s
    WHEN cancelled THEN least(1 + i %% %(steps)s, %(cancel_last)s)
    ELSE %(steps)s END;

CREATE TEMP TABLE steps (
    step int, code text, role text, sla_text text, sla_seconds int, calendar text,
    first_stage text, danru_waits boolean) ON COMMIT DROP;
"""

_RUNS = """
CREATE TEMP TABLE r ON COMMIT DROP AS
WITH base AS (
    SELECT g.i, g.id AS incident_id, g.unit_id, g.danru, g.reported_at, g.active, g.cancelled,
           s.step, s.code, s.role, s.sla_text, s.sla_seconds, s.calendar, s.danru_waits,
           s.step = g.last_step AND (g.active OR g.cancelled) AS open_run,
           CASE WHEN g.active THEN 60 + random() * 1140
                ELSE s.sla_seconds * (0.1 + random() * 1.2)
                     * CASE WHEN s.calendar = 'wall' THEN 1 ELSE 1.4 END
           END AS dur
    FROM gen g JOIN steps s ON s.step <= g.last_step
)
SELECT *, gen_random_uuid() AS run_id,
       reported_at + make_interval(secs => coalesce(sum(dur) OVER (
           PARTITION BY i ORDER BY step ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0))
           AS started_at,
       CASE WHEN calendar = 'wall' THEN 1 ELSE 1.4 END AS stretch
FROM base;

INSERT INTO incidents (
    id, unit_id, register_year, register_sequence, register_number, kind, title, location,
    reported_at, estimated_crowd, demands, police, escalation_level, sop_version, status,
    current_step, stage, current_run_id, assigned_danru_id, dispatched_danru_id, audit_seq,
    audit_head, created_by, created_at, updated_at, closed_at, version)
SELECT g.id, g.unit_id, g.year, g.sequence,
       g.code || '/UR/' || g.year || '/' || lpad(g.sequence::text, 6, '0'),
       CASE WHEN g.i %% 5 = 0 THEN 'kerusuhan' ELSE 'unjuk_rasa' END,
       'Unjuk rasa ' || g.i,
       '{"address": "Jl. Raya", "kelurahan": "-"}'::jsonb,
       g.reported_at, 20 + g.i %% 2000, '[]'::jsonb, '{"notified": true}'::jsonb, 'hijau',
       %(version)s,
       CASE WHEN g.active THEN 'active' WHEN g.cancelled THEN 'cancelled' ELSE 'closed' END,
       g.last_step,
       CASE WHEN g.active THEN (SELECT first_stage FROM steps WHERE step = g.last_step) END,
       CASE WHEN g.active THEN a.open_run_id END,
       CASE WHEN g.last_step > %(instruct_step)s THEN g.danru END,
       CASE WHEN g.last_step > %(dispatch_step)s THEN g.danru END,
       0, repeat('0', 64), g.kasi, g.reported_at, a.last_end,
       CASE WHEN NOT g.active THEN a.last_end END,
       g.last_step
FROM (
    SELECT gen.*, extract(year FROM reported_at)::int AS year,
           coalesce((SELECT max(register_sequence) FROM incidents x
                     WHERE x.unit_id = gen.unit_id
                       AND x.register_year = extract(year FROM gen.reported_at)::int), 0)
           + row_number() OVER (PARTITION BY unit_id, extract(year FROM reported_at)
                                ORDER BY i) AS sequence
    FROM gen
) g
JOIN (
    SELECT i, max(started_at + make_interval(secs => dur)) AS last_end,
           (array_agg(run_id) FILTER (WHERE open_run))[1] AS open_run_id
    FROM r GROUP BY i
) a ON a.i = g.i;

INSERT INTO step_runs (
    id, incident_id, unit_id, sop_version, step, step_code, attempt, role, assignee_id,
    sla_text, sla_seconds, calendar, started_at, actionable_at, due_at, completed_at,
    recorded_completed_at, elapsed_seconds, claimed_elapsed_seconds, recorded_elapsed_seconds,
    backdated, status, at_risk_at)
SELECT run_id, incident_id, unit_id, %(version)s, step, code, 1, role,
       CASE WHEN danru_waits THEN danru END,
       sla_text, sla_seconds, calendar, started_at, started_at,
       started_at + make_interval(secs => sla_seconds * stretch),
       CASE WHEN open_run AND active THEN NULL ELSE started_at + make_interval(secs => dur) END,
       CASE WHEN open_run AND active THEN NULL ELSE started_at + make_interval(secs => dur) END,
       CASE WHEN open_run THEN NULL ELSE (dur / stretch)::int END,
       CASE WHEN open_run THEN NULL ELSE (dur / stretch)::int END,
       CASE WHEN open_run THEN NULL ELSE (dur / stretch)::int END,
       false,
       CASE WHEN open_run AND active THEN 'running'
            WHEN open_run THEN 'cancelled'
            WHEN (dur / stretch)::int <= sla_seconds THEN 'on_time'
            ELSE 'late' END,
       started_at + make_interval(secs => sla_seconds * stretch * 0.75)
FROM r;
"""


@dataclass
class History:
    """Where the last load stopped, so the next one continues further back in time."""

    now: datetime
    next_index: int = 0
    runs: int = 0
    incidents: int = 0


def psycopg_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _steps() -> tuple[dict[str, Any], list[tuple[Any, ...]]]:
    """The active SOP version's steps as the generator needs them, and its shape."""
    from app.sop.definition import load_definition

    definition = load_definition()
    rows = []
    for step in definition.steps:
        stage = step.stages[0] if step.stages else None
        role = step.waiting_role(stage)
        danru = any(
            r.role == role and r.assignment in ("instructed_danru", "dispatched_danru")
            for r in step.rules
        )
        rows.append(
            (
                step.number,
                step.code,
                role,
                step.waktu,
                step.sla.seconds,
                step.calendar,
                stage,
                danru,
            )
        )
    cancel = next(a for a in definition.incident_actions if a.action == "cancel")

    def completed_by(action: str) -> int:
        return next(s.number for s in definition.steps if action in s.completes_with)

    shape = {
        "version": definition.version,
        "steps": definition.last_step,
        "cancel_last": cancel.to_step or definition.last_step,
        "instruct_step": completed_by("instruct"),
        "dispatch_step": completed_by("order_dispatch"),
    }
    return shape, rows


def _statements(script: str) -> list[str]:
    return [part.strip() for part in script.split(";\n") if part.strip()]


def load(database_url: str, history: History, target_runs: int) -> tuple[int, int]:
    """Add incidents further back in time until about `target_runs` runs exist.
    Returns the incidents and runs added."""
    shape, steps = _steps()
    missing = target_runs - history.runs
    if missing <= 0:
        return 0, 0
    # Closed incidents have 11 runs, the few open and cancelled ones fewer.
    count = max(1, round(missing / (RUNS_PER_CLOSED - 11 / CANCEL_EVERY / 2)))
    params = {
        "now": history.now,
        "spacing": 86400 / RATE_PER_DAY,
        "active_seconds": ACTIVE_HOURS * 3600,
        "cancel_every": CANCEL_EVERY,
        "first": history.next_index,
        "last": history.next_index + count,
        **shape,
    }
    with psycopg.connect(psycopg_url(database_url)) as conn:
        with conn.cursor() as cur:
            # Foreign keys hold by construction; skipping their triggers halves the load time.
            cur.execute("SET LOCAL session_replication_role = replica")
            for statement in _statements(_GENERATE):
                cur.execute(statement, params)
            cur.executemany("INSERT INTO steps VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", steps)
            for statement in _statements(_RUNS):
                cur.execute(statement, params)
            added = cur.execute("SELECT count(*) FROM r").fetchone()
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE incidents")
        conn.execute("VACUUM ANALYZE step_runs")
        # Write the load out now, not during the reads that follow.
        conn.execute("CHECKPOINT")
    runs = int(added[0]) if added else 0
    history.next_index += count
    history.runs += runs
    history.incidents += count
    return count, runs
