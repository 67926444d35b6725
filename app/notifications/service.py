"""The caller's own notifications: list them, mark them read; what goes to their phones."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlmodel import Session, col

from app.auth.deps import Principal
from app.core import clock
from app.notifications.models import Notification, NotificationSettings
from app.notifications.schemas import MarkRead, SettingsUpdate


def list_own(
    session: Session,
    principal: Principal,
    *,
    unread: bool | None,
    after_id: int | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Notification], int]:
    """The caller's notifications, newest first."""
    query = select(Notification).where(col(Notification.user_id) == principal.id)
    if unread is not None:
        read = col(Notification.read_at)
        query = query.where(read.is_(None) if unread else read.is_not(None))
    if after_id is not None:
        query = query.where(col(Notification.id) > after_id)
    total = session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = (
        session.execute(query.order_by(col(Notification.id).desc()).limit(limit).offset(offset))
        .scalars()
        .all()
    )
    return rows, total


def mark_read(session: Session, principal: Principal, body: MarkRead) -> tuple[int, int]:
    """Mark the caller's unread notifications read; returns (marked, still unread)."""
    mine = col(Notification.user_id) == principal.id
    unread = col(Notification.read_at).is_(None)
    which = (
        col(Notification.id) <= body.up_to_id
        if body.up_to_id is not None
        else col(Notification.id).in_(body.ids or [])
    )
    changed = session.execute(
        update(Notification).where(mine, unread, which).values(read_at=clock.now())
    )
    left = session.execute(
        select(func.count()).select_from(Notification).where(mine, unread)
    ).scalar_one()
    return changed.rowcount, left  # type: ignore[attr-defined]


def settings_of(session: Session, principal: Principal) -> NotificationSettings | None:
    """The caller's stored choice, None while the defaults (everything pushed) apply."""
    return session.get(NotificationSettings, principal.id)


def update_settings(
    session: Session, principal: Principal, body: SettingsUpdate
) -> NotificationSettings:
    row = session.get(NotificationSettings, principal.id) or NotificationSettings(
        user_id=principal.id
    )
    row.push_muted = sorted({str(kind) for kind in body.push_muted})
    row.updated_at = clock.now()
    session.add(row)
    session.flush()
    return row
