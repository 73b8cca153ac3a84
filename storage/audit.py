"""The audit log of privileged actions."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlmodel import Session, col, select

from storage.models import AuditEntry


def record(
    session: Session, *, actor: str, action: str, target: str = "", **detail: object
) -> AuditEntry:
    """Write one audit entry in the caller's transaction."""
    entry = AuditEntry(
        actor=actor,
        action=action,
        target=target,
        detail=json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    )
    session.add(entry)
    session.flush()
    return entry


def recent(
    session: Session, *, action: str | None = None, limit: int = 100
) -> Sequence[AuditEntry]:
    """The newest audit entries, newest first."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return session.exec(query).all()
