"""The audit log of privileged actions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, col, select

from storage.db import defer_insert
from storage.models import AuditEntry
from storage.types import stored_row, utcnow

_audit = AuditEntry.__table__  # type: ignore[attr-defined]
# Built once and run without the ORM's unit of work: nearly every change writes one, and an ORM
# flush of one row costs several times the INSERT itself.
_INSERT = insert(_audit).returning(_audit.c.id)


def record(
    session: Session, *, actor: str, action: str, target: str = "", **detail: object
) -> AuditEntry | None:
    """Write one audit entry in the caller's transaction; the entry, detached from the session.

    In a unit (an update being handled) the entry is written when the unit commits, with the
    unit's others in one statement (storage.db.defer_insert), and None comes back.
    """
    values: dict[str, Any] = {
        "at": utcnow(),
        "actor": actor,
        "action": action,
        "target": target,
        "detail": json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str),
    }
    if defer_insert(session, _audit, values):
        return None
    if session.new or session.dirty or session.deleted:
        # As an ORM write would: the caller's pending changes first (their ids, their errors).
        session.flush()
    entry_id = session.connection().execute(_INSERT, values).scalar_one()
    return stored_row(AuditEntry, {**values, "id": entry_id})


def recent(
    session: Session, *, action: str | None = None, limit: int = 100
) -> Sequence[AuditEntry]:
    """The newest audit entries, newest first."""
    query = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    return session.exec(query).all()
