"""Data access for events: the events, sign-ups with gender caps and waitlist, attendance.

Sign-ups, cancellations, the waitlist and its promotion, counts, attendance, no-shows and who to
remind are the capacity engine's (storage.capacity, over `SIGNUPS`): an event offers its
capacity with caps per gender (the sign-up's `gender` column), a waitlist if it keeps one, and
its sign-up deadline for sign-ups and cancellations alike. A sign-up or a cancellation locks the
event's row first, then counts inside the transaction, so the last place (or the last place of
a gender) cannot be taken twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from bot.rules import capacity as rules
from bot.rules.capacity import Outcome, Places, Tally, Terms
from bot.rules.events import gender_caps
from storage import capacity as engine
from storage.broadcasts import Recipient
from storage.capacity import SignupTable
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


SIGNUPS: SignupTable[EventSignup, Event] = SignupTable(
    EventSignup, Event, parent_key="event_id", group="gender", attended="attended"
)


@dataclass(frozen=True)
class Counts:
    """Signed-up officers (in all and per gender) and the waitlist of one event."""

    signed: int = 0
    signed_male: int = 0
    signed_female: int = 0
    waitlisted: int = 0

    @classmethod
    def of(cls, tally: Tally) -> Counts:
        """The engine's tally, per gender."""
        return cls(tally.signed, tally.in_group("M"), tally.in_group("F"), tally.waitlisted)

    def tally(self) -> Tally:
        """As the engine counts."""
        by_gender = {"M": self.signed_male, "F": self.signed_female}
        return Tally(self.signed, self.waitlisted, by_gender)


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
        return rules.places_left(places(self.event), self.counts.tally())

    def gender_left(self, gender: str) -> int | None:
        """Places left for one gender when the event caps it, else None."""
        return rules.group_left(places(self.event), self.counts.tally(), gender)


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
        return engine.lock(session, SIGNUPS, event_id)
    return session.exec(select(Event).where(Event.id == event_id)).first()


def places(event: Event) -> Places:
    """An event's places: its capacity, its caps per gender, and whether it keeps a waitlist."""
    return Places(event.capacity, gender_caps(event.male_cap, event.female_cap), event.waitlist)


def terms(event: Event) -> Terms:
    """What an event offers the capacity engine. Sign-ups and cancellations close at the
    deadline; someone waiting for a matchmaking event moves up only while still single."""
    return Terms(
        open=event.status == EventStatus.OPEN,
        starts_at=event.starts_at,
        places=places(event),
        join_until=event.signup_deadline,
        cancel_until=event.signup_deadline,
        requires=("single_opt_in",) if event.kind == EventKind.MATCHMAKING else (),
    )


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
    return Counts.of(engine.tally(session, SIGNUPS, event_id))


def waitlist_position(session: Session, signup: EventSignup) -> int:
    """The place of a waitlisted sign-up on its event's waitlist, from 1."""
    return engine.waitlist_position(session, SIGNUPS, signup)


def view(session: Session, event: Event, officer_id: int | None = None) -> EventView:
    """An event's counts and, if given, one officer's state there."""
    assert event.id is not None
    mine = engine.Standing()
    if officer_id is not None:
        mine = engine.standing(session, SIGNUPS, event.id, officer_id)
    return EventView(event, counts(session, event.id), mine.state, mine.position)


def views(session: Session, events: Sequence[Event], officer_id: int) -> list[EventView]:
    """`view` of several events for one officer, counted in two queries (the /events cards)."""
    ids = [event.id for event in events if event.id is not None]
    counted = engine.tallies(session, SIGNUPS, ids)
    held = engine.standings(session, SIGNUPS, ids, officer_id)
    return [
        EventView(
            event,
            Counts.of(counted[event.id]),
            held[event.id].state,
            held[event.id].position,
        )
        for event in events
        if event.id is not None
    ]


# Built once: every /events reads it.
_UPCOMING = (
    select(Event)
    .where(Event.status == EventStatus.OPEN, col(Event.starts_at) > bindparam("now"))
    .order_by(col(Event.starts_at), col(Event.id))
)


def upcoming(session: Session, now: datetime) -> list[Event]:
    """Open events that have not started, soonest first."""
    return list(session.exec(_UPCOMING, params={"now": now}).all())


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


def sign_up(
    session: Session, event_id: int, officer_id: int, gender: str | None, *, now: datetime
) -> SignUpResult:
    """Take a place, or join the waitlist when full (if the event keeps one); once per officer.

    Locks the event first: call it at the start of its own transaction.
    """
    joined = engine.sign_up(
        session, SIGNUPS, event_id, officer_id, terms_of=terms, now=now, group=gender
    )
    return SignUpResult(joined.outcome, joined.parent, joined.position)


def promote_waiting(session: Session, event: Event) -> list[int]:
    """After more places were made: move up everyone in line who now fits, in order.

    Call it with the event locked (as `update` leaves it).
    """
    assert event.id is not None
    return engine.promote(session, SIGNUPS, event.id, terms(event))


def cancel(
    session: Session, event_id: int, officer_id: int, *, now: datetime, deadline: bool = True
) -> CancelResult:
    """Give up a place (or leave the waitlist) before the deadline; promote the first who fits.

    Locks the event first: call it at the start of its own transaction.
    """
    left = engine.cancel(
        session, SIGNUPS, event_id, officer_id, terms_of=terms, now=now, deadline=deadline
    )
    return CancelResult(left.refused, left.was, left.parent, left.promoted)


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
    results = [
        cancel(session, int(event_id), officer_id, now=now, deadline=False)
        for event_id in event_ids
    ]
    return [result for result in results if result.was is not None]


def mine(session: Session, officer_id: int, now: datetime) -> list[MySignup]:
    """An officer's sign-ups and waitlist places for open events not yet started."""
    return [
        MySignup(event, str(signup.state), position)
        for event, signup, position in engine.mine(session, SIGNUPS, officer_id, now)
    ]


def no_shows(session: Session, officer_ids: Sequence[int]) -> dict[int, int]:
    """How many events each officer signed up for and was marked absent from."""
    return engine.no_shows(session, SIGNUPS, officer_ids)


def attendees(session: Session, event_id: int) -> list[Attendee]:
    """Everyone signed up and waiting, signed first, each in sign-up order, with no-shows."""
    rows = engine.entries(session, SIGNUPS, event_id)
    absent = no_shows(session, [int(officer.id or 0) for officer, _ in rows])
    return [
        Attendee(
            int(officer.id or 0),
            officer.name,
            officer.police_id,
            officer.unit,
            signup.gender,
            str(signup.state),
            signup.attended,
            signup.updated_at,
            absent.get(int(officer.id or 0), 0),
        )
        for officer, signup in rows
    ]


def mark_attendance(session: Session, event_id: int, officer_id: int, attended: bool) -> bool:
    """Mark a signed-up officer present or absent; False if they are not signed up."""
    return engine.mark_attendance(session, SIGNUPS, event_id, officer_id, attended)


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
    return engine.recipients(session, SIGNUPS, event_id, engine.OPEN_STATES)


def signed_before(session: Session, event_id: int, moment: datetime) -> list[Recipient]:
    """Officers signed up (not waiting) since before `moment`: those a reminder is for."""
    return engine.recipients(session, SIGNUPS, event_id, changed_before=moment)


def to_remind(
    session: Session, event_id: int, occasion: str, on_date: date, *, signed_before: datetime
) -> list[Recipient]:
    """Those signed up since before `signed_before` and not yet reminded on this occasion
    (storage.capacity.to_remind)."""
    return engine.to_remind(
        session, SIGNUPS, event_id, occasion, on_date, signed_before=signed_before
    )


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
