"""The send ledger: who was already sent what, so that nobody gets a greeting or reminder twice.

A row is keyed by (occasion, on_date, officer): occasion is a festival key ("chunjie"),
"birthday", or a reminder's own key ("drive:3", "event-24h:7", "event-2h:7"); on_date is the
local date it belongs to. `claim` inserts the keys that are not there yet and returns the
officers it inserted, in one INSERT … ON CONFLICT DO NOTHING RETURNING per batch (SQLite ≥ 3.35
and PostgreSQL alike). Claim in the same transaction that writes the deliveries: if that
transaction commits, both are there; if it fails, neither is. A second tick, a restart, a
clock change or a second process running the same run at the same moment then claims nobody
twice: PostgreSQL makes the second INSERT wait for the first transaction's keys and skip them
once it commits; SQLite lets one writer in at a time.

Usage for a reminder (the events engine does this for "event-24h:{id}" and "event-2h:{id}"),
inside the caller's transaction, before anything is sent:

    with database.session() as session:
        fresh = set(ledger.claim(session, f"event-24h:{event.id}", day, [r.officer_id for r in rs]))
        if fresh:
            broadcast = broadcasts.create(
                session, ..., recipients=[r for r in rs if r.officer_id in fresh]
            )
            ledger.attach(session, f"event-24h:{event.id}", day, broadcast.id)  # optional
    # after the commit: broadcaster.wake()

`queue_once` does the same in one call (and writes the broadcast id with the claim); filter the
candidates with `unclaimed` first when the run repeats often, so a run with nobody new writes
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, update
from sqlmodel import Session, col, select

from storage import broadcasts
from storage.broadcasts import Recipient, driver_value
from storage.models import Broadcast, BroadcastKind, Priority, SendLedger
from storage.types import utcnow

# Officers per INSERT: the ids travel as one JSON text (SQLite) or one array (PostgreSQL), so a
# statement's size is bounded, not its parameters; 100,000 officers take ten statements.
CLAIM_BATCH = 10_000
_COLUMNS = "occasion, on_date, officer_id, broadcast_id, created_at"
_CLAIM_SQL = {
    # "WHERE true" is SQLite's own rule: an upsert after INSERT … SELECT needs a WHERE clause.
    "sqlite": (
        f"INSERT INTO send_ledger ({_COLUMNS}) SELECT ?, ?, value, ?, ? FROM json_each(?) "
        "WHERE true ON CONFLICT (occasion, on_date, officer_id) DO NOTHING RETURNING officer_id"
    ),
    "postgresql": (
        f"INSERT INTO send_ledger ({_COLUMNS}) SELECT %s, %s, u.id, %s, %s "
        "FROM unnest(%s::integer[]) AS u(id) "
        "ON CONFLICT (occasion, on_date, officer_id) DO NOTHING RETURNING officer_id"
    ),
}


def claim(
    session: Session,
    occasion: str,
    on_date: date,
    officer_ids: Sequence[int],
    *,
    broadcast_id: int | None = None,
) -> list[int]:
    """Take the (occasion, on_date, officer) keys not taken yet; the officers newly claimed.

    Runs in the caller's transaction: the claim holds only if that transaction commits.
    """
    # One order for every caller, so that racing inserts on PostgreSQL cannot deadlock.
    ids = sorted({int(officer_id) for officer_id in officer_ids})
    if not ids:
        return []
    connection = session.connection()
    dialect = connection.dialect.name
    if dialect not in _CLAIM_SQL:
        raise NotImplementedError(f"the send ledger needs SQLite or PostgreSQL, not {dialect}")
    day = driver_value(connection, SendLedger, "on_date", on_date)
    now = driver_value(connection, SendLedger, "created_at", utcnow())
    claimed: list[int] = []
    for start in range(0, len(ids), CLAIM_BATCH):
        batch = ids[start : start + CLAIM_BATCH]
        given: Any = json.dumps(batch) if dialect == "sqlite" else batch
        # Past SQLAlchemy to the driver: one statement, and its parameters are a handful.
        result = connection.exec_driver_sql(
            _CLAIM_SQL[dialect], (occasion, day, broadcast_id, now, given)
        )
        claimed.extend(int(row[0]) for row in result)
    return claimed


def unclaimed(
    session: Session, occasion: str, on_date: date, officer_ids: Sequence[int]
) -> list[int]:
    """Of these officers, those not in the ledger for this occasion and date (a cheap pre-check).

    Only a hint: the claim itself decides, since another run may claim in between.
    """
    taken = set(
        session.exec(
            select(SendLedger.officer_id).where(
                SendLedger.occasion == occasion, SendLedger.on_date == on_date
            )
        ).all()
    )
    return [officer_id for officer_id in officer_ids if officer_id not in taken]


def attach(session: Session, occasion: str, on_date: date, broadcast_id: int) -> int:
    """Note the broadcast on this occasion's rows claimed without one; how many rows."""
    result = session.execute(
        update(SendLedger)
        .where(col(SendLedger.occasion) == occasion, col(SendLedger.on_date) == on_date)
        .where(col(SendLedger.broadcast_id).is_(None))
        .values(broadcast_id=broadcast_id)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def queue_once(
    session: Session,
    occasion: str,
    on_date: date,
    recipients: Sequence[Recipient],
    *,
    kind: BroadcastKind,
    priority: Priority,
    text: str,
    created_by: str,
    buttons: str | None = None,
    expires_at: datetime | None = None,
) -> Broadcast | None:
    """Claim the recipients and queue one broadcast to those newly claimed; None if nobody was.

    The broadcast row is written first so that the ledger rows can name it; when nobody is left
    to claim it is deleted again, in the same transaction. Wake the sender after the commit.
    """
    broadcast = broadcasts.open_broadcast(
        session,
        kind=kind,
        priority=priority,
        text=text,
        created_by=created_by,
        buttons=buttons,
        expires_at=expires_at,
    )
    assert broadcast.id is not None
    fresh = set(
        claim(
            session,
            occasion,
            on_date,
            [recipient.officer_id for recipient in recipients],
            broadcast_id=broadcast.id,
        )
    )
    if not fresh:
        # Everyone had it already: no empty broadcast left behind.
        session.execute(delete(Broadcast).where(col(Broadcast.id) == broadcast.id))
        session.expunge(broadcast)
        return None
    broadcasts.add_deliveries(
        session, broadcast, [recipient for recipient in recipients if recipient.officer_id in fresh]
    )
    return broadcast


def day_of(session: Session, broadcast_id: int, officer_id: int) -> date | None:
    """The date an officer's claim of this broadcast was made for (the month of a digest, the
    year of a year card), so a picture drawn at send time knows its period."""
    found = session.exec(
        select(SendLedger).where(
            SendLedger.broadcast_id == broadcast_id, SendLedger.officer_id == officer_id
        )
    ).first()
    return None if found is None else found.on_date


def claimed_count(session: Session, occasion: str, on_date: date) -> int:
    """How many officers this occasion's date has claimed (for tests and benchmarks)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(SendLedger)
            .where(SendLedger.occasion == occasion, SendLedger.on_date == on_date)
        ).one()
    )
