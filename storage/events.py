"""Data access for events: the events, sign-ups with gender caps and waitlist, attendance.

A sign-up or a cancellation locks the event's row first (storage.locks), then counts inside the
transaction, so the last place (or the last place of a gender) cannot be taken twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from bot.rules.events import has_place
from storage.broadcasts import Recipient
from storage.locks import locked
from storage.models import (
    Audience,
    ClubMembership,
    Event,
    EventKind,
    EventSignup,
    EventStatus,
    Officer,
    SignupState,
    TelegramBinding,
)
from storage.types import utcnow

EDITABLE = (
    "title",
    "description",
    "starts_at",
    "ends_at",
    "place",
    "signup_deadline",
    "capacity",
    "male_cap",
    "female_cap",
)


class Outcome(StrEnum):
    """What a sign-up did."""

    SIGNED = "signed"
    WAITLISTED = "waitlisted"
    ALREADY_SIGNED = "already_signed"
    ALREADY_WAITLISTED = "already_waitlisted"
    FULL = "full"  # no place and the event keeps no waitlist
    DEADLINE = "deadline"  # sign-ups (and cancellations) closed
    CLOSED = "closed"  # cancelled, started, or no such event


@dataclass(frozen=True)
class Counts:
    """Signed-up officers (in all and per gender) and the waitlist of one event."""

    signed: int = 0
    signed_male: int = 0
    signed_female: int = 0
    waitlisted: int = 0


@dataclass(frozen=True)
class EventView:
    """An event with its counts and, when asked for one officer, that officer's state."""

    event: Event
    counts: Counts
    mine: str | None = None
    my_position: int | None = None  # place on the waitlist, from 1

    @property
    def places_left(self) -> int:
        """Places still free in all (never negative)."""
        return max(0, self.event.capacity - self.counts.signed)

    def gender_left(self, gender: str) -> int | None:
        """Places left for one gender when the event caps it, else None."""
        event, counts = self.event, self.counts
        if gender == "M" and event.male_cap is not None:
            return max(0, min(event.male_cap - counts.signed_male, self.places_left))
        if gender == "F" and event.female_cap is not None:
            return max(0, min(event.female_cap - counts.signed_female, self.places_left))
        return None


@dataclass(frozen=True)
class SignUpResult:
    """The outcome of a sign-up; `position` is the waitlist place when waitlisted."""

    outcome: Outcome
    event: Event | None
    position: int | None = None


@dataclass(frozen=True)
class CancelResult:
    """The outcome of a cancellation; `promoted` is the officer moved up from the waitlist."""

    outcome: Outcome | None  # None when cancelled; else why not (CLOSED, DEADLINE)
    was: str | None
    event: Event | None
    promoted: int | None = None


@dataclass(frozen=True)
class Attendee:
    """Someone signed up for (or waiting for) an event, with their attendance record."""

    officer_id: int
    name: str
    police_id: str
    unit: str
    gender: str | None
    state: str
    attended: bool | None
    signed_at: datetime
    no_shows: int


@dataclass(frozen=True)
class MySignup:
    """One of an officer's own sign-ups."""

    event: Event
    state: str
    position: int | None


def create(session: Session, **fields: object) -> Event:
    """Store a new open event."""
    event = Event(**fields)  # type: ignore[arg-type]
    session.add(event)
    session.flush()
    return event


def get(session: Session, event_id: int, *, for_update: bool = False) -> Event | None:
    """An event by id; locked for a sign-up, cancellation or edit when asked."""
    if for_update:
        return locked(session, Event, event_id)
    return session.exec(select(Event).where(Event.id == event_id)).first()


def update(session: Session, event_id: int, changes: dict[str, object]) -> Event | None:
    """Change editable fields of an open event; None if it is gone or cancelled."""
    event = get(session, event_id, for_update=True)
    if event is None or event.status != EventStatus.OPEN:
        return None
    for name, value in changes.items():
        if name not in EDITABLE:
            raise ValueError(f"not editable: {name}")
        setattr(event, name, value)
    event.updated_at = utcnow()
    session.add(event)
    session.flush()
    return event


def cancel_event(session: Session, event_id: int) -> Event | None:
    """Cancel an open event; None if it was already cancelled or is gone."""
    event = get(session, event_id, for_update=True)
    if event is None or event.status != EventStatus.OPEN:
        return None
    event.status = EventStatus.CANCELLED
    event.updated_at = utcnow()
    session.add(event)
    session.flush()
    return event


def counts(session: Session, event_id: int) -> Counts:
    """How many signed up (per gender) and how many wait."""
    signed = col(EventSignup.state) == SignupState.SIGNED
    row = session.exec(
        select(
            func.count(case((signed, 1))),
            func.count(case((signed & (col(EventSignup.gender) == "M"), 1))),
            func.count(case((signed & (col(EventSignup.gender) == "F"), 1))),
            func.count(case((col(EventSignup.state) == SignupState.WAITLISTED, 1))),
        ).where(EventSignup.event_id == event_id)
    ).one()
    return Counts(int(row[0]), int(row[1]), int(row[2]), int(row[3]))


def _signup(session: Session, event_id: int, officer_id: int) -> EventSignup | None:
    return session.exec(
        select(EventSignup).where(
            EventSignup.event_id == event_id, EventSignup.officer_id == officer_id
        )
    ).first()


def waitlist_position(session: Session, signup: EventSignup) -> int:
    """The place of a waitlisted sign-up on its event's waitlist, from 1."""
    return int(
        session.exec(
            select(func.count())
            .select_from(EventSignup)
            .where(
                EventSignup.event_id == signup.event_id,
                EventSignup.state == SignupState.WAITLISTED,
                col(EventSignup.position) <= signup.position,
            )
        ).one()
    )


def view(session: Session, event: Event, officer_id: int | None = None) -> EventView:
    """An event's counts and, if given, one officer's state there."""
    assert event.id is not None
    mine: str | None = None
    position: int | None = None
    if officer_id is not None:
        signup = _signup(session, event.id, officer_id)
        if signup is not None and signup.state != SignupState.CANCELLED:
            mine = signup.state
            if signup.state == SignupState.WAITLISTED:
                position = waitlist_position(session, signup)
    return EventView(event, counts(session, event.id), mine, position)


def upcoming(session: Session, now: datetime) -> list[Event]:
    """Open events that have not started, soonest first."""
    return list(
        session.exec(
            select(Event)
            .where(Event.status == EventStatus.OPEN, col(Event.starts_at) > now)
            .order_by(col(Event.starts_at), col(Event.id))
        ).all()
    )


def recent(session: Session, now: datetime, *, since: datetime) -> list[Event]:
    """Events that started since `since` and are not cancelled: attendance is marked on them."""
    return list(
        session.exec(
            select(Event)
            .where(Event.status == EventStatus.OPEN)
            .where(col(Event.starts_at) <= now, col(Event.starts_at) >= since)
            .order_by(col(Event.starts_at), col(Event.id))
        ).all()
    )


def _fits(event: Event, tally: Counts, gender: str | None) -> bool:
    return has_place(
        capacity=event.capacity,
        male_cap=event.male_cap,
        female_cap=event.female_cap,
        signed=tally.signed,
        signed_male=tally.signed_male,
        signed_female=tally.signed_female,
        gender=gender,
    )


def _closed(event: Event | None, now: datetime) -> Outcome | None:
    """Why nobody may sign up or cancel now; None while the event is open for that."""
    if event is None or event.status != EventStatus.OPEN or event.starts_at <= now:
        return Outcome.CLOSED
    if event.signup_deadline <= now:
        return Outcome.DEADLINE
    return None


def sign_up(
    session: Session, event_id: int, officer_id: int, gender: str | None, *, now: datetime
) -> SignUpResult:
    """Take a place, or join the waitlist when full (if the event keeps one); once per officer.

    Locks the event first: call it at the start of its own transaction.
    """
    event = get(session, event_id, for_update=True)
    closed = _closed(event, now)
    if closed is not None:
        return SignUpResult(closed, event)
    assert event is not None
    signup = _signup(session, event_id, officer_id)
    if signup is not None and signup.state == SignupState.SIGNED:
        return SignUpResult(Outcome.ALREADY_SIGNED, event)
    if signup is not None and signup.state == SignupState.WAITLISTED:
        return SignUpResult(Outcome.ALREADY_WAITLISTED, event, waitlist_position(session, signup))
    fits = _fits(event, counts(session, event_id), gender)
    if not fits and not event.waitlist:
        return SignUpResult(Outcome.FULL, event)
    state = SignupState.SIGNED if fits else SignupState.WAITLISTED
    last = session.exec(
        select(func.max(EventSignup.position)).where(EventSignup.event_id == event_id)
    ).one()
    position = int(last or 0) + 1
    if signup is None:
        signup = EventSignup(
            event_id=event_id, officer_id=officer_id, state=state, position=position, gender=gender
        )
    else:  # signed up before and cancelled: back at the end of the line
        signup.state, signup.position, signup.gender = state, position, gender
        signup.attended = None
        signup.updated_at = utcnow()
    session.add(signup)
    session.flush()
    if not fits:
        return SignUpResult(Outcome.WAITLISTED, event, waitlist_position(session, signup))
    return SignUpResult(Outcome.SIGNED, event)


def _promote_first_fitting(session: Session, event: Event) -> int | None:
    """Move up the first on the waitlist who fits now (their gender's cap may still be full)."""
    assert event.id is not None
    # Only those who may still come: still on the roster, and single for matchmaking.
    query = (
        select(EventSignup)
        .join(Officer, col(Officer.id) == col(EventSignup.officer_id))
        .where(EventSignup.event_id == event.id, EventSignup.state == SignupState.WAITLISTED)
        .where(col(Officer.active).is_(True))
        .order_by(col(EventSignup.position))
    )
    if event.kind == EventKind.MATCHMAKING:
        query = query.where(col(Officer.single_opt_in).is_(True))
    waiting = session.exec(query).all()
    tally = counts(session, event.id)
    for signup in waiting:
        if _fits(event, tally, signup.gender):
            signup.state = SignupState.SIGNED
            signup.updated_at = utcnow()
            session.add(signup)
            session.flush()
            return signup.officer_id
    return None


def promote_waiting(session: Session, event: Event) -> list[int]:
    """After more places were made: move up everyone in line who now fits, in order."""
    promoted: list[int] = []
    while (officer_id := _promote_first_fitting(session, event)) is not None:
        promoted.append(officer_id)
    return promoted


def cancel(session: Session, event_id: int, officer_id: int, *, now: datetime) -> CancelResult:
    """Give up a place (or leave the waitlist) before the deadline; promote the first who fits.

    Locks the event first: call it at the start of its own transaction.
    """
    event = get(session, event_id, for_update=True)
    closed = _closed(event, now)
    if closed is not None:
        return CancelResult(closed, None, event)
    assert event is not None
    return _withdraw(session, event, _signup(session, event_id, officer_id))


def _withdraw(session: Session, event: Event, signup: EventSignup | None) -> CancelResult:
    """Cancel one sign-up of a locked event; a freed place goes to the first who fits."""
    if signup is None or signup.state == SignupState.CANCELLED:
        return CancelResult(None, None, event)
    was = signup.state
    signup.state = SignupState.CANCELLED
    signup.updated_at = utcnow()
    session.add(signup)
    session.flush()
    promoted = _promote_first_fitting(session, event) if was == SignupState.SIGNED else None
    return CancelResult(None, was, event, promoted)


def withdraw_from_matchmaking(
    session: Session, officer_id: int, *, now: datetime
) -> list[CancelResult]:
    """Cancel an officer's places at matchmaking events not yet started (no longer single).

    Each event is locked in turn as a cancellation locks it; the deadline does not apply, since
    the officer is no longer in the audience.
    """
    event_ids = session.exec(
        select(EventSignup.event_id)
        .join(Event, col(Event.id) == col(EventSignup.event_id))
        .where(EventSignup.officer_id == officer_id)
        .where(col(EventSignup.state).in_([SignupState.SIGNED, SignupState.WAITLISTED]))
        .where(Event.kind == EventKind.MATCHMAKING, Event.status == EventStatus.OPEN)
        .where(col(Event.starts_at) > now)
    ).all()
    results = []
    for event_id in event_ids:
        event = get(session, int(event_id), for_update=True)
        if event is not None:
            results.append(_withdraw(session, event, _signup(session, int(event_id), officer_id)))
    return [result for result in results if result.was is not None]


def mine(session: Session, officer_id: int, now: datetime) -> list[MySignup]:
    """An officer's sign-ups and waitlist places for open events not yet started."""
    rows = session.exec(
        select(Event, EventSignup)
        .join(EventSignup, col(EventSignup.event_id) == col(Event.id))
        .where(EventSignup.officer_id == officer_id)
        .where(col(EventSignup.state).in_([SignupState.SIGNED, SignupState.WAITLISTED]))
        .where(Event.status == EventStatus.OPEN, col(Event.starts_at) > now)
        .order_by(col(Event.starts_at), col(Event.id))
    ).all()
    return [
        MySignup(
            event,
            str(signup.state),
            waitlist_position(session, signup) if signup.state == SignupState.WAITLISTED else None,
        )
        for event, signup in rows
    ]


def no_shows(session: Session, officer_ids: Sequence[int]) -> dict[int, int]:
    """How many events each officer signed up for and was marked absent from."""
    if not officer_ids:
        return {}
    rows = session.exec(
        select(EventSignup.officer_id, func.count())
        .join(Event, col(Event.id) == col(EventSignup.event_id))
        .where(col(EventSignup.officer_id).in_(list(officer_ids)))
        .where(EventSignup.state == SignupState.SIGNED, col(EventSignup.attended).is_(False))
        .where(Event.status == EventStatus.OPEN)
        .group_by(col(EventSignup.officer_id))
    ).all()
    return {int(officer_id): int(count) for officer_id, count in rows}


def attendees(session: Session, event_id: int) -> list[Attendee]:
    """Everyone signed up and waiting, signed first, each in sign-up order, with no-shows."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Officer.id,
            Officer.name,
            Officer.police_id,
            Officer.unit,
            EventSignup.gender,
            EventSignup.state,
            EventSignup.attended,
            EventSignup.updated_at,
        )
        .join(EventSignup, col(EventSignup.officer_id) == col(Officer.id))
        .where(
            EventSignup.event_id == event_id,
            col(EventSignup.state).in_([SignupState.SIGNED, SignupState.WAITLISTED]),
        )
        # Signed up first, then the waitlist, each in sign-up order.
        .order_by(case((col(EventSignup.state) == SignupState.SIGNED, 0), else_=1))
        .order_by(col(EventSignup.position))
    ).all()
    absent = no_shows(session, [int(row[0]) for row in rows])
    return [
        Attendee(
            int(officer_id),
            name,
            police_id,
            unit,
            gender,
            str(state),
            attended,
            signed_at,
            absent.get(int(officer_id), 0),
        )
        for officer_id, name, police_id, unit, gender, state, attended, signed_at in rows
    ]


def mark_attendance(session: Session, event_id: int, officer_id: int, attended: bool) -> bool:
    """Mark a signed-up officer present or absent; False if they are not signed up."""
    signup = _signup(session, event_id, officer_id)
    if signup is None or signup.state != SignupState.SIGNED:
        return False
    signup.attended = attended
    session.add(signup)
    session.flush()
    return True


def _recipients(
    session: Session, event_id: int, states: Sequence[str], before: datetime | None = None
) -> list[Recipient]:
    # Officers who blocked the bot are included: the broadcast records them as unreachable
    # without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    query = (
        select(Officer.id, TelegramBinding.chat_id)
        .join(EventSignup, col(EventSignup.officer_id) == col(Officer.id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(EventSignup.event_id == event_id, col(EventSignup.state).in_(list(states)))
        .where(col(Officer.active).is_(True))
        .order_by(col(EventSignup.position))
    )
    if before is not None:
        query = query.where(col(EventSignup.updated_at) <= before)
    return [
        Recipient(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in session.exec(query)
    ]


def audience_recipients(
    session: Session, *, kind: str, audience: str, value: str
) -> list[Recipient]:
    """Active, bound officers an event's announcement goes to (its audience).

    Officers who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    query = (
        select(Officer.id, TelegramBinding.chat_id)
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(Officer.active).is_(True))
        .order_by(col(Officer.id))
    )
    if kind == EventKind.MATCHMAKING or audience == Audience.SINGLES:
        query = query.where(col(Officer.single_opt_in).is_(True))
    if audience == Audience.UNIT:
        query = query.where(Officer.unit == value)
    elif audience == Audience.CLUB:
        query = query.join(ClubMembership, col(ClubMembership.officer_id) == col(Officer.id)).where(
            ClubMembership.club == value
        )
    elif audience == Audience.WOMEN:
        query = query.where(Officer.gender == "F")
    elif audience == Audience.MEN:
        query = query.where(Officer.gender == "M")
    return [
        Recipient(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in session.exec(query)
    ]


def concerned(session: Session, event_id: int) -> list[Recipient]:
    """Everyone signed up or waiting: told of a changed or cancelled event."""
    return _recipients(session, event_id, [SignupState.SIGNED, SignupState.WAITLISTED])


def signed_before(session: Session, event_id: int, moment: datetime) -> list[Recipient]:
    """Officers signed up (not waiting) since before `moment`: those a reminder is for."""
    return _recipients(session, event_id, [SignupState.SIGNED], before=moment)


def starting_between(session: Session, start: datetime, end: datetime) -> list[Event]:
    """Open events starting after `start` and no later than `end`."""
    return list(
        session.exec(
            select(Event)
            .where(Event.status == EventStatus.OPEN)
            .where(col(Event.starts_at) > start, col(Event.starts_at) <= end)
            .order_by(col(Event.starts_at), col(Event.id))
        ).all()
    )
