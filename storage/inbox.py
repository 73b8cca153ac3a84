"""The update inbox and the replies of handled updates: data access only."""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, or_, select, text, update
from sqlmodel import Session, col
from sqlmodel import select as model_select

from storage.models import InboxUpdate, PendingReply
from storage.upsert import insert_for


@dataclass(frozen=True)
class Incoming:
    """An update as fetched: its id, its sender (if any) and its sealed JSON."""

    update_id: int
    user_id: int | None
    payload: str


def store(
    session: Session, updates: Sequence[Incoming], now: datetime, owner: str | None = None
) -> set[int]:
    """Store updates not yet in the inbox; returns the ids that were new.

    An update Telegram sends again (it was fetched but not yet acknowledged) is stored once.
    `owner` is the instance that received them, when several share the database.
    """
    if not updates:
        return set()
    rows = [
        {
            "update_id": u.update_id,
            "user_id": u.user_id,
            "payload": u.payload,
            "received_at": now,
            "owner": owner,
        }
        for u in updates
    ]
    connection = session.connection()
    statement = _store_statement(connection.dialect.name)
    # Many parameter sets to one prebuilt statement: SQLAlchemy batches them into one INSERT
    # ("insertmanyvalues") whose SQL is compiled once, where .values(rows) compiled each batch.
    return set(connection.execute(statement, rows).scalars())


def last_update_id(session: Session) -> int | None:
    """The highest update id ever stored (the next poll starts after it)."""
    return session.execute(select(func.max(InboxUpdate.update_id))).scalar()


def waiting(
    session: Session,
    owner: str | None = None,
    *,
    leave_out: Collection[int] = (),
    limit: int | None = None,
) -> list[tuple[int, str]]:
    """Updates stored but not handled, oldest first: (id, sealed JSON), at most `limit`, those
    in `leave_out` (already in hand) left out. With several instances, `owner`'s own; with one
    (None), every one there is."""
    statement = select(_inbox.c.update_id, _inbox.c.payload).where(_inbox.c.handled_at.is_(None))
    if owner is not None:
        statement = statement.where(_inbox.c.owner == owner)
    if leave_out:
        statement = statement.where(_inbox.c.update_id.not_in(list(leave_out)))
    statement = statement.order_by(_inbox.c.update_id).limit(limit)
    return [(int(update_id), str(payload)) for update_id, payload in session.execute(statement)]


def count_waiting(session: Session) -> int:
    """How many updates are stored but not handled."""
    statement = select(func.count()).select_from(_inbox).where(_inbox.c.handled_at.is_(None))
    return int(session.execute(statement).scalar_one())


_inbox = InboxUpdate.__table__  # type: ignore[attr-defined]
_pending = PendingReply.__table__  # type: ignore[attr-defined]
# Built once: these run for every update, and building a statement costs more than running it.
_TAKE = (
    update(_inbox)
    .where(_inbox.c.update_id == bindparam("taken_id"), _inbox.c.handled_at.is_(None))
    .values(handled_at=bindparam("taken_at"))
    .returning(_inbox.c.update_id)
)
_TAKE_OWNED = (
    update(_inbox)
    .where(_inbox.c.update_id == bindparam("taken_id"), _inbox.c.handled_at.is_(None))
    .values(handled_at=bindparam("taken_at"), owner=bindparam("taken_by"))
    .returning(_inbox.c.update_id)
)


@functools.cache
def _store_statement(dialect: str) -> Any:
    """`store`'s INSERT of the dialect, built once."""
    return (
        insert_for(dialect, "the update inbox")(_inbox)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(_inbox.c.update_id)
    )


_HANDLED_AT = select(_inbox.c.handled_at).where(_inbox.c.update_id == bindparam("update_id"))
_ADD_REPLY = insert(_pending).returning(_pending.c.id, sort_by_parameter_order=True)
# SQLite: SQLAlchemy keeps the order above by inserting one row a statement there. Rows of one
# INSERT get their ids in the order of its VALUES (each the highest so far plus one, under
# the unit's write lock), so the ids sorted are in that order, from one statement.
_ADD_REPLY_SQLITE = insert(_pending).returning(_pending.c.id)
_FORGET = delete(_pending).where(_pending.c.id.in_(bindparam("ids", expanding=True)))


def claim(session: Session, update_id: int, now: datetime, owner: str | None = None) -> bool | None:
    """Take an update for handling: True if it waited, False if already handled, None if absent.

    The update is marked handled at once, in the transaction that will hold its changes: a
    rollback takes the mark back with them. The row lock the UPDATE takes (PostgreSQL; the
    transaction already holds SQLite's write lock) keeps a second process from handling it at
    the same time. `owner` (several instances) becomes the instance that makes its replies.
    """
    connection = session.connection()
    if owner is None:
        taken = connection.execute(_TAKE, {"taken_id": update_id, "taken_at": now}).first()
    else:
        parameters = {"taken_id": update_id, "taken_at": now, "taken_by": owner}
        taken = connection.execute(_TAKE_OWNED, parameters).first()
    if taken is not None:
        return True
    handled = connection.execute(_HANDLED_AT, {"update_id": update_id}).first()
    return None if handled is None else False


_TAKE_MANY = (
    update(_inbox)
    .where(
        _inbox.c.update_id.in_(bindparam("taken_ids", expanding=True)),
        _inbox.c.handled_at.is_(None),
    )
    .values(handled_at=bindparam("taken_at"))
    .returning(_inbox.c.update_id)
)
_STORED = select(_inbox.c.update_id).where(
    _inbox.c.update_id.in_(bindparam("update_ids", expanding=True))
)


def claim_many(
    session: Session, update_ids: Sequence[int], now: datetime
) -> dict[int, bool | None]:
    """`claim` for several updates at once (one instance), in one statement when all waited:
    each id to True if it waited, False if already handled, None if absent."""
    connection = session.connection()
    taken = set(
        connection.execute(_TAKE_MANY, {"taken_ids": list(update_ids), "taken_at": now}).scalars()
    )
    claimed: dict[int, bool | None] = {update_id: True for update_id in taken}
    others = [update_id for update_id in update_ids if update_id not in taken]
    if others:
        stored = set(connection.execute(_STORED, {"update_ids": others}).scalars())
        claimed.update({update_id: False if update_id in stored else None for update_id in others})
    return claimed


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
    return add_replies_of(
        session, [(update_id, payload, on_sent) for payload, on_sent in replies], now
    )


def add_replies_of(
    session: Session, replies: Sequence[tuple[int, str, str | None]], now: datetime
) -> list[int]:
    """Store the sealed calls of handled updates (update id, payload, tag), in order, in one
    statement; returns their ids in the same order."""
    if not replies:
        return []
    rows = [
        {"update_id": update_id, "payload": payload, "on_sent": on_sent, "created_at": now}
        for update_id, payload, on_sent in replies
    ]
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        return sorted(connection.execute(_ADD_REPLY_SQLITE, rows).scalars())
    return list(connection.execute(_ADD_REPLY, rows).scalars())


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


# --- several instances on one PostgreSQL database (bot/cluster.py) ---------------------------

# Advisory lock keys of officers' turns: bit 62 keeps them apart from any other advisory lock
# (Telegram's user ids stay below 2**53).
_USER_LOCK_SPACE = 1 << 62
# How long adopting waits for a row another transaction holds before giving up this round.
ADOPT_LOCK_WAIT_MS = 2000
_TRY_USER_LOCK = text("SELECT pg_try_advisory_xact_lock(:key)")
_OLDER_WAITING = (
    select(_inbox.c.update_id, _inbox.c.payload)
    .where(
        _inbox.c.user_id == bindparam("user_id"),
        _inbox.c.update_id < bindparam("update_id"),
        _inbox.c.handled_at.is_(None),
    )
    .order_by(_inbox.c.update_id)
)


def take_user_turn(session: Session, user_id: int) -> bool:
    """Take this officer's turn for the rest of the transaction; False if another instance
    handles one of their updates right now.

    PostgreSQL only (a transaction-scoped advisory lock, released by the commit or rollback);
    SQLite's single writer already makes every turn exclusive.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = _USER_LOCK_SPACE | user_id
    return bool(session.connection().execute(_TRY_USER_LOCK, {"key": key}).scalar())


def older_waiting(session: Session, user_id: int, update_id: int) -> list[tuple[int, str]]:
    """The officer's updates stored before this one and not yet handled: (id, sealed JSON),
    oldest first."""
    rows = session.connection().execute(
        _OLDER_WAITING, {"user_id": user_id, "update_id": update_id}
    )
    return [(int(row[0]), str(row[1])) for row in rows]


_EARLIER_REPLIES_ELSEWHERE = (
    select(_pending.c.id)
    .join(_inbox, _inbox.c.update_id == _pending.c.update_id)
    .where(
        _inbox.c.user_id == bindparam("user_id"),
        _inbox.c.update_id < bindparam("update_id"),
        _inbox.c.owner != bindparam("owner"),
    )
    .limit(1)
)


def earlier_replies_elsewhere(session: Session, user_id: int, update_id: int, owner: str) -> bool:
    """True if replies to an earlier update of this officer, handled by another instance, are
    still to be made (the next answer should not overtake them)."""
    parameters = {"user_id": user_id, "update_id": update_id, "owner": owner}
    return session.connection().execute(_EARLIER_REPLIES_ELSEWHERE, parameters).first() is not None


def owners_with_work(session: Session) -> set[str | None]:
    """Instances (None: no instance, a single-instance run's rows) that hold updates not yet
    handled or replies not yet made."""
    waiting = select(_inbox.c.owner).where(_inbox.c.handled_at.is_(None)).distinct()
    replying = (
        select(_inbox.c.owner)
        .where(_inbox.c.update_id.in_(select(_pending.c.update_id)))
        .distinct()
    )
    owners: set[str | None] = {row[0] for row in session.connection().execute(waiting)}
    owners |= {row[0] for row in session.connection().execute(replying)}
    return owners


def _of_owners(owners: set[str | None]) -> object:
    named = [owner for owner in owners if owner is not None]
    conditions = [_inbox.c.owner.in_(named)] if named else []
    if None in owners:
        conditions.append(_inbox.c.owner.is_(None))
    return or_(*conditions)


def adopt(
    session: Session, owners: set[str | None], adopter: str
) -> tuple[list[int], list[PendingReply]]:
    """Take over the work of instances that are gone: the ids of their updates not yet handled
    (oldest first; `waiting` reads them back) and the replies of their handled updates not yet
    made (in order).

    One UPDATE moves the rows to `adopter`; an instance adopting at the same moment waits for
    it and then finds nothing left to take.
    """
    if not owners:
        return [], []
    if session.get_bind().dialect.name == "postgresql":
        # A row still locked by an instance that froze (not died) is left for a later round
        # instead of holding the adopter, and the lead, until that transaction ends.
        session.execute(text(f"SET LOCAL lock_timeout = '{ADOPT_LOCK_WAIT_MS}ms'"))
    which = _of_owners(owners)
    moved = session.connection().execute(
        update(_inbox)
        .where(
            which,  # type: ignore[arg-type]
            or_(
                _inbox.c.handled_at.is_(None),
                _inbox.c.update_id.in_(select(_pending.c.update_id)),
            ),
        )
        .values(owner=adopter)
        .returning(_inbox.c.update_id, _inbox.c.handled_at)
    )
    waiting: list[int] = []
    handled: list[int] = []
    for update_id, handled_at in moved:
        if handled_at is None:
            waiting.append(int(update_id))
        else:
            handled.append(int(update_id))
    waiting.sort()
    replies: list[PendingReply] = []
    if handled:
        replies = list(
            session.exec(
                model_select(PendingReply)
                .where(col(PendingReply.update_id).in_(handled))
                .order_by(col(PendingReply.id))
            ).all()
        )
    return waiting, replies
