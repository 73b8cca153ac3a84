"""Bookings of the services by slot (health room, counselling, facilities): data access.

The policy says which slots a service has (bot.rules.slots); a `service_slot` row is written
when a slot is first booked or closed, and each `booking` is a sign-up of the capacity engine
(storage.capacity: places, the waitlist, promotion, limits, attendance), one table among the
drives and events. A booking's limits count the officer's bookings of the same service only.

Counselling is health data: its bookings are read by their officer and the service's staff;
anyone else gets counts (`monthly_counts`). The pseudonym a booking goes by is sealed by the
caller (storage.crypto.FieldCipher, listed in storage.sealed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.rules.capacity import Limits, PerPeriod, Places, Terms, Week
from storage import audit, capacity
from storage.broadcasts import Recipient
from storage.db import unit_memo
from storage.locks import locked_first
from storage.models import (
    Booking,
    Officer,
    ServiceSlot,
    ServiceStaff,
    SignupState,
    SlotStatus,
    TelegramBinding,
)
from storage.officers import officers_ahead
from storage.types import stored_row, utcnow
from storage.upsert import insert_for

BOOKINGS: capacity.SignupTable[Booking, ServiceSlot] = capacity.SignupTable(
    model=Booking,
    parent=ServiceSlot,
    parent_key="slot_id",
    attended="attended",
    parent_status="status",
    live_status=SlotStatus.OPEN,
    parent_scope="service_key",
)


@dataclass(frozen=True)
class Offer:
    """What a service offers, as the policy says now (bot.policy.ServicePolicy, in values)."""

    key: str
    places: int
    cancel_before_minutes: int
    open_bookings: int | None
    per_week: int | None
    zone_name: str


def terms(offer: Offer, slot: ServiceSlot) -> Terms:
    """The capacity engine's terms of one slot: the policy's places, deadline and limits."""
    per_week = (
        PerPeriod(offer.per_week, Week(ZoneInfo(offer.zone_name)))
        if offer.per_week is not None
        else None
    )
    return Terms(
        open=slot.status == SlotStatus.OPEN,
        starts_at=slot.starts_at,
        places=Places(offer.places),
        cancel_until=slot.starts_at - timedelta(minutes=offer.cancel_before_minutes)
        if offer.cancel_before_minutes
        else None,
        limits=Limits(open_at_most=offer.open_bookings, per_period=per_week),
    )


# --- slots -----------------------------------------------------------------------------------


def slot_row(
    session: Session,
    service_key: str,
    starts_at: datetime,
    ends_at: datetime,
    places: int,
    *,
    lock: bool = False,
) -> ServiceSlot:
    """The slot's row, written now if this is its first booking (or closing); with `lock`, read
    fresh and locked until the transaction ends (storage.locks), as `book` wants it. In a unit,
    a locked row is one detached copy shared by the batch's presses on the slot: read it only
    (a change goes through the slots' own functions, whose write lets the copy go)."""
    found = _slot_at(session, service_key, starts_at, lock=lock)
    if found is not None:
        return found  # the common case: read, not written
    values = {
        "service_key": service_key,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "places": places,
        "status": SlotStatus.OPEN,
        "created_at": utcnow(),
        "updated_at": utcnow(),
    }
    insert = insert_for(session.get_bind().dialect.name)
    session.execute(
        insert(ServiceSlot)
        .values(values)
        .on_conflict_do_nothing(index_elements=["service_key", "starts_at"])
    )
    written = _slot_at(session, service_key, starts_at, lock=lock)
    assert written is not None
    return written


# Built once: a booking press reads its slot, and building the statement costs more than the read.
_SLOT_AT = select(ServiceSlot).where(
    col(ServiceSlot.service_key) == bindparam("service_key"),
    col(ServiceSlot.starts_at) == bindparam("starts_at"),
)


# What a locked slot was read from (a write to it lets the unit's copy go).
_SLOT_TABLES = frozenset({"service_slot"})


def _slot_at(
    session: Session, service_key: str, starts_at: datetime, *, lock: bool
) -> ServiceSlot | None:
    parameters = {"service_key": service_key, "starts_at": starts_at}
    if not lock:
        return session.exec(_SLOT_AT, params=parameters).first()
    memo = unit_memo(session)
    key = ("bookings.locked_slot", service_key, starts_at)
    if memo is not None:
        kept: ServiceSlot | None = memo.get(key)
        if kept is not None:
            # Locked by this unit since it was read, and written by nobody since: as read then.
            return kept
    found = locked_first(session, ServiceSlot, _SLOT_AT, parameters)
    if found is not None and memo is not None:
        # The batch's other presses on this slot read it from here.
        memo.put(key, stored_row(ServiceSlot, found.model_dump()), _SLOT_TABLES)
    return found


def slot(session: Session, slot_id: int) -> ServiceSlot | None:
    """A slot by id."""
    return session.get(ServiceSlot, slot_id)


@dataclass(frozen=True)
class SlotUse:
    """How a slot stands: places held, officers waiting, closed or not."""

    booked: int = 0
    waiting: int = 0
    closed: bool = False


def usage(
    session: Session, service_key: str, start: datetime, end: datetime
) -> dict[datetime, SlotUse]:
    """The slots of a service starting in [start, end) that have a row, by start."""
    slots = session.exec(
        select(ServiceSlot).where(
            ServiceSlot.service_key == service_key,
            col(ServiceSlot.starts_at) >= start,
            col(ServiceSlot.starts_at) < end,
        )
    ).all()
    if not slots:
        return {}
    counts: dict[tuple[int, str], int] = {}
    rows = session.exec(
        select(Booking.slot_id, Booking.state, func.count())
        .where(col(Booking.slot_id).in_([s.id for s in slots]))
        .where(col(Booking.state).in_(capacity.OPEN_STATES))
        .group_by(col(Booking.slot_id), col(Booking.state))
    ).all()
    for slot_id, state, count in rows:
        counts[(int(slot_id), str(state))] = int(count)
    return {
        s.starts_at: SlotUse(
            booked=counts.get((s.id or 0, SignupState.SIGNED), 0),
            waiting=counts.get((s.id or 0, SignupState.WAITLISTED), 0),
            closed=s.status == SlotStatus.CLOSED,
        )
        for s in slots
    }


# --- booking and cancelling --------------------------------------------------------------------


def book(
    session: Session,
    offer: Offer,
    slot_id: int,
    officer_id: int,
    *,
    now: datetime,
    pseudonym_cipher: str | None = None,
    slot: ServiceSlot | None = None,
) -> capacity.Joined[ServiceSlot]:
    """Book a place on the slot, or its waitlist when it is full; within the officer's limits
    for this service. Call it at the start of a transaction of its own, or pass the `slot` read
    there with `slot_row(..., lock=True)`."""
    return capacity.sign_up(
        session,
        BOOKINGS,
        slot_id,
        officer_id,
        terms_of=lambda parent: terms(offer, parent),
        now=now,
        extra={"service_key": offer.key, "pseudonym_cipher": pseudonym_cipher},
        parent=slot,
    )


def cancel(
    session: Session, offer: Offer, slot_id: int, officer_id: int, *, now: datetime
) -> capacity.Left[ServiceSlot]:
    """Give up a booking (or a place in line); the freed place goes to the first in line."""
    return capacity.cancel(
        session,
        BOOKINGS,
        slot_id,
        officer_id,
        terms_of=lambda parent: terms(offer, parent),
        now=now,
    )


@dataclass(frozen=True)
class MyBooking:
    """One of an officer's bookings ahead: the slot, the booking, the place in line."""

    slot: ServiceSlot
    booking: Booking
    position: int | None


def mine(session: Session, officer_id: int, now: datetime) -> list[MyBooking]:
    """An officer's bookings and waitlist places on open slots not yet begun, soonest first."""
    return [
        MyBooking(parent, row, position)
        for parent, row, position in capacity.mine(session, BOOKINGS, officer_id, now)
    ]


def booking(session: Session, booking_id: int) -> Booking | None:
    """A booking by id."""
    return session.get(Booking, booking_id)


def entry_of(session: Session, slot_id: int, officer_id: int) -> Booking | None:
    """The officer's booking row on a slot, in whatever state."""
    return capacity.entry(session, BOOKINGS, slot_id, officer_id)


def set_pseudonym(session: Session, booking_id: int, officer_id: int, sealed: str) -> bool:
    """Give the officer's own booking the (sealed) name it goes by; False if not theirs."""
    row = session.get(Booking, booking_id)
    if row is None or row.officer_id != officer_id or row.state != SignupState.SIGNED:
        return False
    # updated_at stays: it says when the place was taken (the reminders read it).
    row.pseudonym_cipher = sealed
    session.add(row)
    session.flush()
    return True


def counts_for_limits(
    session: Session,
    service_key: str,
    officer_id: int,
    week: tuple[datetime, datetime],
    now: datetime,
) -> tuple[int, int]:
    """The officer's open bookings of the service (not begun) and those in the week [a, b)."""
    base = (
        select(func.count())
        .select_from(Booking)
        .join(ServiceSlot, col(ServiceSlot.id) == col(Booking.slot_id))
        .where(Booking.officer_id == officer_id, Booking.service_key == service_key)
        .where(col(Booking.state).in_(capacity.OPEN_STATES))
        .where(ServiceSlot.status == SlotStatus.OPEN)
    )
    open_count = session.exec(base.where(col(ServiceSlot.starts_at) > now)).one()
    in_week = session.exec(
        base.where(col(ServiceSlot.starts_at) >= week[0], col(ServiceSlot.starts_at) < week[1])
    ).one()
    return int(open_count), int(in_week)


def missed_days(
    session: Session, service_key: str, officer_id: int, since: datetime
) -> list[datetime]:
    """Starts of the officer's bookings of the service since `since` marked absent.

    In a unit whose batch has more officers to come, theirs are read in the same statement
    and kept in the unit's memo for their own presses, until a write to bookings or slots
    (other than a new booking, which has no mark yet) or a rollback.
    """
    memo = unit_memo(session)
    if memo is not None:
        found: tuple[datetime, list[datetime]] | None = memo.get(
            ("bookings.missed", service_key, officer_id)
        )
        if found is not None and found[0] <= since:
            return [start for start in found[1] if start >= since]
        ahead = officers_ahead(session) - {officer_id}
        if ahead and found is None:
            return _missed_of(session, memo, service_key, sorted(ahead | {officer_id}), since)[
                officer_id
            ]
    parameters = {"officer_id": officer_id, "service_key": service_key, "since": since}
    return list(session.connection().execute(_MISSED, parameters).scalars())


def _missed_of(
    session: Session, memo: Any, service_key: str, officer_ids: list[int], since: datetime
) -> dict[int, list[datetime]]:
    """`missed_days` of several officers, in one statement, each kept in the unit's memo."""
    parameters = {"officer_ids": officer_ids, "service_key": service_key, "since": since}
    missed: dict[int, list[datetime]] = {each: [] for each in officer_ids}
    for each, start in session.connection().execute(_MISSED_OF, parameters):
        missed[int(each)].append(start)
    for each, starts in missed.items():
        key = ("bookings.missed", service_key, each)
        memo.put(key, (since, starts), _MISSED_TABLES, kind=capacity.ATTENDANCE)
    return missed


def _missed(*columns: Any) -> Any:
    """Starts of signed bookings of a service marked absent since a time, after `columns`."""
    return (
        sa_select(*columns, col(ServiceSlot.starts_at))
        .join(Booking, col(Booking.slot_id) == col(ServiceSlot.id))
        .where(col(Booking.service_key) == bindparam("service_key"))
        .where(col(Booking.state) == SignupState.SIGNED, col(Booking.attended).is_(False))
        .where(col(ServiceSlot.starts_at) >= bindparam("since"))
    )


# Built once and run without the ORM: every booking press asks it.
_MISSED = _missed().where(col(Booking.officer_id) == bindparam("officer_id"))
_MISSED_OF = _missed(col(Booking.officer_id)).where(
    col(Booking.officer_id).in_(bindparam("officer_ids", expanding=True))
)
_MISSED_TABLES = frozenset({"booking", "service_slot"})


# --- staff -------------------------------------------------------------------------------------


def grant_staff(session: Session, officer_id: int, service_key: str, *, granted_by: str) -> bool:
    """Make the officer staff of the service; False if they already were."""
    if service_key in staffed_by(session, officer_id):
        return False
    session.add(ServiceStaff(officer_id=officer_id, service_key=service_key, granted_by=granted_by))
    session.flush()
    return True


def revoke_staff(session: Session, officer_id: int, service_key: str) -> bool:
    """Take the service from the officer's staff roles; False if they were not its staff."""
    row = session.exec(
        select(ServiceStaff).where(
            ServiceStaff.officer_id == officer_id, ServiceStaff.service_key == service_key
        )
    ).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def staffed_by(session: Session, officer_id: int) -> set[str]:
    """The services the officer staffs."""
    rows = session.exec(
        select(ServiceStaff.service_key).where(ServiceStaff.officer_id == officer_id)
    ).all()
    return set(rows)


@dataclass(frozen=True)
class DayEntry:
    """One booking on a staff member's day list."""

    slot: ServiceSlot
    booking: Booking
    officer: Officer


def day_list(session: Session, service_key: str, start: datetime, end: datetime) -> list[DayEntry]:
    """Bookings holding a place on the service's slots in [start, end), by slot and order."""
    rows = session.exec(
        select(ServiceSlot, Booking, Officer)
        .join(Booking, col(Booking.slot_id) == col(ServiceSlot.id))
        .join(Officer, col(Officer.id) == col(Booking.officer_id))
        .where(ServiceSlot.service_key == service_key)
        .where(col(ServiceSlot.starts_at) >= start, col(ServiceSlot.starts_at) < end)
        .where(Booking.state == SignupState.SIGNED)
        .order_by(col(ServiceSlot.starts_at), col(Booking.position))
    ).all()
    return [DayEntry(s, b, o) for s, b, o in rows]


def mark_attendance(session: Session, slot_id: int, officer_id: int, attended: bool) -> bool:
    """Mark a booked officer present or absent; False if they hold no place on the slot."""
    return capacity.mark_attendance(session, BOOKINGS, slot_id, officer_id, attended)


def close_slot(session: Session, slot_id: int) -> list[Recipient]:
    """Close a slot: its bookings and waitlist are cancelled; who held them, to be told."""
    parent = capacity.lock(session, BOOKINGS, slot_id)
    if parent is None or parent.status == SlotStatus.CLOSED:
        return []
    told = capacity.recipients(
        session, BOOKINGS, slot_id, (SignupState.SIGNED, SignupState.WAITLISTED)
    )
    parent.status = SlotStatus.CLOSED
    parent.updated_at = utcnow()
    session.add(parent)
    for row in session.exec(
        select(Booking).where(
            Booking.slot_id == slot_id, col(Booking.state).in_(capacity.OPEN_STATES)
        )
    ).all():
        row.state = SignupState.CANCELLED
        row.updated_at = utcnow()
        session.add(row)
    session.flush()
    return told


# --- reminders and figures ----------------------------------------------------------------------


def slots_starting(session: Session, start: datetime, end: datetime) -> list[ServiceSlot]:
    """Open slots starting in [start, end), in order (their reminders are due)."""
    return list(
        session.exec(
            select(ServiceSlot)
            .where(col(ServiceSlot.starts_at) >= start, col(ServiceSlot.starts_at) < end)
            .where(ServiceSlot.status == SlotStatus.OPEN)
            .order_by(col(ServiceSlot.starts_at))
        ).all()
    )


def to_remind_since(
    session: Session, slot_id: int, occasion: str, on_date: date, *, signed_before: datetime
) -> list[Recipient]:
    """Those holding a place on the slot since `signed_before` at the latest (booked, or moved
    up from the waitlist, by then) and not yet reminded for this occasion: a hint, read
    without a lock (`lock_to_remind` reads it again under one)."""
    return capacity.to_remind(
        session, BOOKINGS, slot_id, occasion, on_date, signed_before=signed_before
    )


def lock_to_remind(
    session: Session, slot_id: int, occasion: str, on_date: date, *, signed_before: datetime
) -> tuple[ServiceSlot | None, list[Recipient]]:
    """The slot, locked until the transaction ends, and who `to_remind_since` names, read
    under the lock: nobody books, cancels or moves up on the slot until the reminder is
    queued in the same transaction. (None, []) if the slot is gone.

    Locks the slot first: call it at the start of a transaction of its own.
    """
    parent = capacity.lock(session, BOOKINGS, slot_id)
    if parent is None:
        return None, []
    return parent, to_remind_since(session, slot_id, occasion, on_date, signed_before=signed_before)


def monthly_counts(
    session: Session, service_key: str, start: datetime, end: datetime, zone_name: str
) -> dict[str, int]:
    """Bookings holding a place on the service's slots in [start, end), by local month
    ("YYYY-MM"): the figure organizers see of counselling, never names."""
    figures = monthly_figures(session, service_key, start, end, zone_name)
    return {month: figure.booked for month, figure in figures.items()}


# --- the staff's side and the figures (handlers/booking_staff.py) ------------------------------


class StaffChange(StrEnum):
    """What granting or revoking a service's staff role by police ID came to."""

    DONE = "done"
    UNCHANGED = "unchanged"
    NO_OFFICER = "no_officer"
    LEFT = "left"  # the officer has left the union: nobody makes them staff


def change_staff(
    session: Session, police_id: str, service_key: str, *, grant_it: bool, actor: str
) -> tuple[StaffChange, Officer | None]:
    """Grant or revoke a service's staff role by police ID (chat and CLI); audited when done.

    The caller checks that the service is one of the policy's.
    """
    officer = session.exec(select(Officer).where(Officer.police_id == police_id)).first()
    if officer is None or officer.id is None:
        return StaffChange.NO_OFFICER, None
    if grant_it and not officer.active:
        return StaffChange.LEFT, officer
    changed = (
        grant_staff(session, officer.id, service_key, granted_by=actor)
        if grant_it
        else revoke_staff(session, officer.id, service_key)
    )
    if not changed:
        return StaffChange.UNCHANGED, officer
    audit.record(
        session,
        actor=actor,
        action="staff.grant" if grant_it else "staff.revoke",
        target=police_id,
        service=service_key,
    )
    return StaffChange.DONE, officer


def staff_chats(session: Session, within: Iterable[str]) -> set[int]:
    """The chats of active, bound officers who staff any of these services (command menus)."""
    keys = list(within)
    if not keys:
        return set()
    rows = session.exec(
        select(TelegramBinding.chat_id)
        .join(ServiceStaff, col(ServiceStaff.officer_id) == col(TelegramBinding.officer_id))
        .join(Officer, col(Officer.id) == col(TelegramBinding.officer_id))
        .where(col(ServiceStaff.service_key).in_(keys), col(Officer.active).is_(True))
    ).all()
    return {int(chat_id) for chat_id in rows}


def slots_between(
    session: Session, service_key: str, start: datetime, end: datetime
) -> list[ServiceSlot]:
    """The service's slot rows starting in [start, end), in order."""
    return list(
        session.exec(
            select(ServiceSlot)
            .where(ServiceSlot.service_key == service_key)
            .where(col(ServiceSlot.starts_at) >= start, col(ServiceSlot.starts_at) < end)
            .order_by(col(ServiceSlot.starts_at))
        ).all()
    )


@dataclass(frozen=True)
class MonthFigures:
    """A service's bookings in one month: places held, marked present, marked absent."""

    booked: int = 0
    attended: int = 0
    missed: int = 0


def monthly_figures(
    session: Session, service_key: str, start: datetime, end: datetime, zone_name: str
) -> dict[str, MonthFigures]:
    """Bookings holding a place on the service's slots in [start, end), with attendance, by
    local month ("YYYY-MM"). Not for counselling: organizers see only its `monthly_counts`."""
    zone = ZoneInfo(zone_name)
    rows = session.exec(
        select(ServiceSlot.starts_at, Booking.attended)
        .join(Booking, col(Booking.slot_id) == col(ServiceSlot.id))
        .where(ServiceSlot.service_key == service_key, Booking.state == SignupState.SIGNED)
        .where(col(ServiceSlot.starts_at) >= start, col(ServiceSlot.starts_at) < end)
    ).all()
    tallies: dict[str, list[int]] = {}
    for starts_at, attended in rows:
        tally = tallies.setdefault(starts_at.astimezone(zone).strftime("%Y-%m"), [0, 0, 0])
        tally[0] += 1
        if attended is True:
            tally[1] += 1
        elif attended is False:
            tally[2] += 1
    return {month: MonthFigures(*tally) for month, tally in tallies.items()}
