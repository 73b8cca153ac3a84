"""The update inbox and the replies of handled updates: data access only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col
from sqlmodel import select as model_select

from storage.models import InboxUpdate, PendingReply


@dataclass(frozen=True)
class Incoming:
    """An update as fetched: its id, its sender (if any) and its sealed JSON."""

    update_id: int
    user_id: int | None
    payload: str


def store(session: Session, updates: Sequence[Incoming], now: datetime) -> set[int]:
    """Store updates not yet in the inbox; returns the ids that were new.

    An update Telegram sends again (it was fetched but not yet acknowledged) is stored once.
    """
    if not updates:
        return set()
    rows = [
        {"update_id": u.update_id, "user_id": u.user_id, "payload": u.payload, "received_at": now}
        for u in updates
    ]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(InboxUpdate)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(col(InboxUpdate.update_id))
    )
    return {row[0] for row in session.execute(statement)}


def last_update_id(session: Session) -> int | None:
    """The highest update id ever stored (the next poll starts after it)."""
    return session.execute(select(func.max(InboxUpdate.update_id))).scalar()


def unhandled(session: Session) -> list[InboxUpdate]:
    """Updates stored but not handled, oldest first."""
    return list(
        session.exec(
            model_select(InboxUpdate)
            .where(col(InboxUpdate.handled_at).is_(None))
            .order_by(col(InboxUpdate.update_id))
        ).all()
    )


_inbox = InboxUpdate.__table__  # type: ignore[attr-defined]
_pending = PendingReply.__table__  # type: ignore[attr-defined]
# Built once: these run for every update, and building a statement costs more than running it.
_TAKE = (
    update(_inbox)
    .where(_inbox.c.update_id == bindparam("taken_id"), _inbox.c.handled_at.is_(None))
    .values(handled_at=bindparam("taken_at"))
    .returning(_inbox.c.update_id)
)
_HANDLED_AT = select(_inbox.c.handled_at).where(_inbox.c.update_id == bindparam("update_id"))
_ADD_REPLY = insert(_pending).returning(_pending.c.id, sort_by_parameter_order=True)
_FORGET = delete(_pending).where(_pending.c.id.in_(bindparam("ids", expanding=True)))


def claim(session: Session, update_id: int, now: datetime) -> bool | None:
    """Take an update for handling: True if it waited, False if already handled, None if absent.

    The update is marked handled at once, in the transaction that will hold its changes: a
    rollback takes the mark back with them. The row lock the UPDATE takes (PostgreSQL; the
    transaction already holds SQLite's write lock) keeps a second process from handling it at
    the same time.
    """
    connection = session.connection()
    taken = connection.execute(_TAKE, {"taken_id": update_id, "taken_at": now}).first()
    if taken is not None:
        return True
    handled = connection.execute(_HANDLED_AT, {"update_id": update_id}).first()
    return None if handled is None else False


def mark_handled(session: Session, update_id: int, now: datetime) -> None:
    """The update counts as handled (one whose handling failed for good is set aside so)."""
    session.execute(
        update(InboxUpdate)
        .where(col(InboxUpdate.update_id) == update_id)
        .values(handled_at=now)
        .execution_options(synchronize_session=False)
    )


def add_replies(
    session: Session, update_id: int, replies: Sequence[tuple[str, str | None]], now: datetime
) -> list[int]:
    """Store the sealed calls of a handled update, in order; returns their ids."""
    if not replies:
        return []
    rows = [
        {"update_id": update_id, "payload": payload, "on_sent": on_sent, "created_at": now}
        for payload, on_sent in replies
    ]
    return list(session.connection().execute(_ADD_REPLY, rows).scalars())


def pending_replies(session: Session) -> list[PendingReply]:
    """Every reply not yet made, in the order it was recorded."""
    return list(session.exec(model_select(PendingReply).order_by(col(PendingReply.id))).all())


def replies_of(session: Session, update_id: int) -> list[PendingReply]:
    """The replies of one update still to be made, in order."""
    return list(
        session.exec(
            model_select(PendingReply)
            .where(col(PendingReply.update_id) == update_id)
            .order_by(col(PendingReply.id))
        ).all()
    )


def forget_replies(session: Session, ids: Sequence[int]) -> None:
    """Drop replies that were made (or given up)."""
    if ids:
        session.connection().execute(_FORGET, {"ids": list(ids)})


def purge(session: Session, before: datetime) -> int:
    """Delete updates handled before `before`; returns how many."""
    result = session.execute(
        delete(InboxUpdate).where(
            col(InboxUpdate.handled_at).is_not(None), col(InboxUpdate.handled_at) < before
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def erase_since(session: Session, user_id: int, first: int, last: int) -> int:
    """Blank the stored JSON of one sender's handled updates from `first` to `last` (ids,
    both included); returns how many rows.

    For an anonymous survey's answers: the rows stay (an update is still known as handled,
    never handled twice), only what the officer pressed and typed is gone. Updates not yet
    handled are left alone: they are still to be read.
    """
    result = session.execute(
        update(InboxUpdate)
        .where(
            col(InboxUpdate.user_id) == user_id,
            col(InboxUpdate.update_id) >= first,
            col(InboxUpdate.update_id) <= last,
            col(InboxUpdate.handled_at).is_not(None),
        )
        .values(payload="")
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
