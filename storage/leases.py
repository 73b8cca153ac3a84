"""Named leases (table `lease`): one process at a time holds a name, e.g. "poller".

A lease is a row (name, holder, acquired_at, expires_at). `acquire` takes it in one statement,
INSERT … ON CONFLICT (name) DO UPDATE … WHERE the lease has expired (or is the caller's own),
RETURNING the holder: the caller holds the lease exactly when a row comes back. SQLite lets one
writer in at a time; PostgreSQL makes a racing INSERT wait for the other's transaction and then
checks the WHERE against the row that transaction left, so of any number of racers one wins.
`renew` extends the lease only while the caller is still its holder; `release` deletes it, so
the next process need not wait for it to expire. A holder that dies without releasing (SIGKILL)
simply lets its lease run out.

Times come from the caller (the UTC clock, `storage.types.utcnow`); every process must have a
clock within a fraction of the ttl of the others'. Each function runs in the caller's session;
commit it (`Database.session()` does) before relying on the outcome.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, or_, select, update
from sqlmodel import Session, col

from storage.models import Lease
from storage.upsert import insert_for


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None:
        raise ValueError("a lease needs an aware UTC time, not a naive datetime")
    return now


def acquire(session: Session, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Take the lease `name` for `holder` until now + ttl if it is free, expired or already its.

    True if `holder` now holds it. The holder's own lease is extended, keeping its acquired_at.
    """
    now = _aware(now)
    connection = session.connection()
    dialect = connection.dialect.name
    inserts = insert_for(dialect, "a lease")
    table: Any = Lease.__table__  # type: ignore[attr-defined]
    statement = inserts(table).values(
        name=name, holder=holder, acquired_at=now, expires_at=now + ttl
    )
    theirs = table.c.holder != statement.excluded.holder
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.name],
        set_={
            "holder": statement.excluded.holder,
            "acquired_at": case(
                (theirs, statement.excluded.acquired_at), else_=table.c.acquired_at
            ),
            "expires_at": statement.excluded.expires_at,
        },
        where=or_(table.c.expires_at < now, table.c.holder == holder),
    ).returning(table.c.holder)
    return session.execute(statement).first() is not None


def renew(session: Session, name: str, holder: str, ttl: timedelta, now: datetime) -> bool:
    """Extend `holder`'s lease to now + ttl; False if it does not hold it (any more)."""
    now = _aware(now)
    result = session.execute(
        update(Lease)
        .where(col(Lease.name) == name, col(Lease.holder) == holder)
        .values(expires_at=now + ttl)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def release(session: Session, name: str, holder: str) -> bool:
    """Give the lease up at once; False if `holder` did not hold it."""
    result = session.execute(
        delete(Lease)
        .where(col(Lease.name) == name, col(Lease.holder) == holder)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def current(session: Session, name: str) -> Lease | None:
    """The lease row as it stands (possibly expired), or None if nobody holds it."""
    return session.get(Lease, name, populate_existing=True)


def live_holders(session: Session, prefix: str, now: datetime) -> set[str]:
    """Holders of the leases whose name starts with `prefix` and that have not run out."""
    rows = session.execute(
        select(col(Lease.holder)).where(
            col(Lease.name).startswith(prefix, autoescape=True), col(Lease.expires_at) >= now
        )
    )
    return {str(row[0]) for row in rows}
