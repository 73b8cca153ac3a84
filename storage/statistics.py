"""The union's figures (issue 16): every programme for a year, a month or a unit, as plain data.

Pure queries, no Telegram and no charts: /stats (handlers/stats.py), the yearly report
(bot/report.py) and its benchmark read the same numbers from here. Each figure is counted from
the rows its feature's own screens read, and where a feature already has the query (`/cases 统计`
in storage.care, `/blood 统计` in storage.blood, `/bookings` in storage.bookings) it is called
rather than written again, so the figures here and on those screens cannot drift apart.

Decisions:

- A period is a span of local dates (the union's zone), both ends included. Rows dated by a day
  (care cases by their event date, donations by their day, greetings by their day) are counted
  by that day; rows dated by a moment (events, drives, appeals, slots) by their local day.
- A unit is the officer's unit on the roster today, as /blood 统计 counts it: an officer who
  moved takes their history along.
- Members are the roster as it stands (today), not as it stood in the period: the roster keeps
  no history of units. Only who left is dated.
- Duplicates of care reports are never counted as cases (as /cases 统计); they are listed by
  status only.
- Counselling (a private service) is counted, never split by unit: a small unit's count could
  name someone. For the same reason care (health and family events) and matchmaking by gender
  are never split by unit either (UNIT_HIDDEN_SECTIONS; no gender line for a unit's events).
"""

from __future__ import annotations

import statistics as stats
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from storage import blood as blood_storage
from storage import bookings as booking_storage
from storage import care as care_storage
from storage.appeals import ASKED_STATES
from storage.models import (
    AppealAnswer,
    AppealReply,
    BloodAppeal,
    BloodDonation,
    BloodDrive,
    Booking,
    Broadcast,
    BroadcastKind,
    CareCase,
    CaseStatus,
    ClubMembership,
    Delivery,
    DeliveryState,
    DriveSignup,
    DriveStatus,
    Event,
    EventKind,
    EventSignup,
    EventStatus,
    Officer,
    SendLedger,
    ServiceSlot,
    SignupState,
    TelegramBinding,
)

COMING = (AppealAnswer.COMING, AppealAnswer.ARRIVED)


@dataclass(frozen=True)
class Period:
    """Local dates from `start` to `end`, both included, in the union's zone."""

    start: date
    end: date
    zone: ZoneInfo

    @classmethod
    def year(cls, year: int, zone: ZoneInfo) -> Period:
        """A calendar year."""
        return cls(date(year, 1, 1), date(year, 12, 31), zone)

    @classmethod
    def month(cls, year: int, month: int, zone: ZoneInfo) -> Period:
        """A calendar month."""
        first = date(year, month, 1)
        following = (first + timedelta(days=32)).replace(day=1)
        return cls(first, following - timedelta(days=1), zone)

    @property
    def whole_year(self) -> int | None:
        """The year, when the period is exactly one calendar year."""
        year = self.start.year
        if self.start == date(year, 1, 1) and self.end == date(year, 12, 31):
            return year
        return None

    def moments(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: from the first day's local midnight to the day after the last."""
        first = datetime.combine(self.start, time(0), tzinfo=self.zone)
        after = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=self.zone)
        return first.astimezone(UTC), after.astimezone(UTC)

    def before(self) -> Period:
        """The same span a year earlier (for the report's comparison)."""
        return Period(_year_earlier(self.start), _year_earlier(self.end), self.zone)


def _year_earlier(day: date) -> date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def _between(column: Any, period: Period) -> tuple[Any, Any]:
    start, end = period.moments()
    return col(column) >= start, col(column) < end


def _on_days(column: Any, period: Period) -> tuple[Any, Any]:
    return col(column) >= period.start, col(column) <= period.end


# --- members ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UnitMembers:
    """One unit's officers on the roster today: active, and of those bound to Telegram."""

    unit: str
    active: int
    bound: int


@dataclass(frozen=True)
class MemberFigures:
    """The roster today: every officer on it, the active, those bound, per unit and gender;
    and who left in the period."""

    on_roster: int
    active: int
    bound: int
    men: int
    women: int
    left_in_period: int
    by_unit: tuple[UnitMembers, ...] = ()


def members(session: Session, period: Period, *, unit: str | None = None) -> MemberFigures:
    """The roster today (of one unit, if given), and the officers who left in the period."""
    active = col(Officer.active).is_(True)
    bound = col(TelegramBinding.id).is_not(None)
    query = select(  # type: ignore[call-overload]
        Officer.unit,
        func.count(),
        func.sum(case((active, 1), else_=0)),
        func.sum(case((active & bound, 1), else_=0)),
        func.sum(case((active & (col(Officer.gender) == "M"), 1), else_=0)),
        func.sum(case((active & (col(Officer.gender) == "F"), 1), else_=0)),
        func.sum(case((_left_in(period), 1), else_=0)),
    ).outerjoin(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
    if unit is not None:
        query = query.where(Officer.unit == unit)
    rows = session.exec(query.group_by(col(Officer.unit))).all()
    totals = [0] * 6
    by_unit = []
    for name, *counts in rows:
        values = [int(count or 0) for count in counts]
        totals = [total + value for total, value in zip(totals, values, strict=True)]
        if values[1]:
            by_unit.append(UnitMembers(str(name or ""), values[1], values[2]))
    by_unit.sort(key=lambda row: (-row.active, row.unit))
    on_roster, active_count, bound_count, men, women, left = totals
    return MemberFigures(on_roster, active_count, bound_count, men, women, left, tuple(by_unit))


def _left_in(period: Period) -> Any:
    start, end = period.moments()
    return (col(Officer.left_at) >= start) & (col(Officer.left_at) < end)


# --- care (慰问) --------------------------------------------------------------------------


@dataclass(frozen=True)
class CareKind:
    """One kind of event: cases reported (duplicates aside), cases paid, the sum paid."""

    event: str
    cases: int
    paid_cases: int
    paid_sum: int


@dataclass(frozen=True)
class CareFigures:
    """Care cases by event date in the period, by kind and by status, and the officers
    comforted (visited or paid) since the policy's date, as /cases 统计 counts them."""

    cases: int
    paid_cases: int
    paid_sum: int
    by_kind: tuple[CareKind, ...]
    by_status: tuple[tuple[str, int], ...]
    comforted_since: date
    comforted: int


def care(session: Session, period: Period, *, since: date) -> CareFigures:
    """The period's cases by kind and status, and the officers comforted since `since`, for
    the whole union only: a unit's cases would name its colleagues' illnesses and losses."""
    kinds = [
        CareKind(row.event, row.cases, row.paid_cases, row.paid_sum)
        for row in care_storage.figures(session, period.start, period.end)
    ]
    status_query = (
        select(CareCase.status, func.count())
        .where(*_on_days(CareCase.event_date, period))
        .group_by(col(CareCase.status))
    )
    counted = {str(status): int(count) for status, count in session.exec(status_query).all()}
    by_status = tuple((str(status), counted.get(status, 0)) for status in CaseStatus)
    return CareFigures(
        cases=sum(kind.cases for kind in kinds),
        paid_cases=sum(kind.paid_cases for kind in kinds),
        paid_sum=sum(kind.paid_sum for kind in kinds),
        by_kind=tuple(kinds),
        by_status=by_status,
        comforted_since=since,
        comforted=care_storage.comforted_since(session, since),
    )


# --- blood (献血) -------------------------------------------------------------------------


@dataclass(frozen=True)
class AppealFigures:
    """Urgent appeals created in the period: officers asked, reached (Telegram took the
    message), who answered, said 我能去 (still coming or arrived) and arrived; the median minutes
    from the appeal to its first 我能去."""

    appeals: int = 0
    asked: int = 0
    reached: int = 0
    answered: int = 0
    coming: int = 0
    arrived: int = 0
    first_coming_minutes: float | None = None


@dataclass(frozen=True)
class BloodFigures:
    """Donations by day in the period (as /blood 统计: ml is whole blood and plasma, platelets
    in units, drives those donations were recorded at); drives held and their sign-ups; the
    donations of each month; and the urgent appeals."""

    donors: int
    donations: int
    ml: int
    whole_ml: int
    platelet_units: int
    drives_recorded: int
    drives_held: int
    drive_signups: int
    by_month: tuple[int, ...]
    appeals: AppealFigures = field(default_factory=AppealFigures)


def blood(session: Session, period: Period, *, unit: str | None = None) -> BloodFigures:
    """Donations, drives and appeals of the period (of one unit's officers, if given)."""
    year = period.whole_year
    if year is not None:
        if unit is None:
            found: blood_storage.Figures | None = blood_storage.year_figures(session, year)
        else:
            found = next(
                (row for row in blood_storage.unit_figures(session, year) if row.unit == unit),
                None,
            )
        totals = (
            (found.donors, found.donations, found.ml, found.units, found.drives)
            if found is not None
            else (0, 0, 0, 0, 0)
        )
    else:
        totals = _donation_totals(session, period, unit)
    whole, by_month = _whole_ml_and_months(session, period, unit)
    held, signups = _drives(session, period, unit)
    donors, donations, ml, units, recorded = totals
    return BloodFigures(
        donors=donors,
        donations=donations,
        ml=ml,
        whole_ml=whole,
        platelet_units=units,
        drives_recorded=recorded,
        drives_held=held,
        drive_signups=signups,
        by_month=by_month,
        appeals=appeals(session, period, unit=unit),
    )


def _donations(period: Period, unit: str | None, *columns: Any) -> Any:
    query = select(*columns).where(*_on_days(BloodDonation.donated_on, period))
    if unit is not None:
        query = query.join(Officer, col(Officer.id) == col(BloodDonation.officer_id)).where(
            Officer.unit == unit
        )
    return query


def _sum_when(condition: Any, value: Any) -> Any:
    return func.coalesce(func.sum(case((condition, value), else_=0)), 0)


def _donation_totals(
    session: Session, period: Period, unit: str | None
) -> tuple[int, int, int, int, int]:
    """storage.blood.year_figures' figures for any period: donors, donations, ml, units, drives."""
    component, amount = col(BloodDonation.component), col(BloodDonation.amount)
    query = _donations(
        period,
        unit,
        func.count(func.distinct(BloodDonation.officer_id)),
        func.count(),
        _sum_when(component.in_(blood_storage.IN_ML), amount),
        _sum_when(component == blood_storage.PLATELETS, amount),
        func.count(func.distinct(BloodDonation.drive_id)),
    )
    donors, count, ml, units, drives = session.exec(query).one()
    return int(donors), int(count), int(ml or 0), int(units or 0), int(drives)


def _whole_ml_and_months(
    session: Session, period: Period, unit: str | None
) -> tuple[int, tuple[int, ...]]:
    """Whole blood ml, and the donations of each month of the period (by donation day)."""
    component, amount = col(BloodDonation.component), col(BloodDonation.amount)
    query = _donations(
        period,
        unit,
        BloodDonation.donated_on,
        func.count(),
        _sum_when(component == blood_storage.WHOLE_BLOOD, amount),
    )
    rows = session.exec(query.group_by(col(BloodDonation.donated_on))).all()
    months = _months_of(period)
    counts = [0] * len(months)
    whole = 0
    for day, count, ml in rows:
        counts[months.index((day.year, day.month))] += int(count)
        whole += int(ml or 0)
    return whole, tuple(counts)


def _months_of(period: Period) -> list[tuple[int, int]]:
    months, day = [], period.start.replace(day=1)
    while day <= period.end:
        months.append((day.year, day.month))
        day = (day + timedelta(days=32)).replace(day=1)
    return months


def _drives(session: Session, period: Period, unit: str | None) -> tuple[int, int]:
    """Drives held (not cancelled) in the period, and the places taken at them."""
    live = (*_between(BloodDrive.starts_at, period), BloodDrive.status == DriveStatus.OPEN)
    if unit is None:
        held = session.exec(select(func.count()).select_from(BloodDrive).where(*live)).one()
    else:
        held = session.exec(
            select(func.count(func.distinct(DriveSignup.drive_id)))
            .join(BloodDrive, col(BloodDrive.id) == col(DriveSignup.drive_id))
            .join(Officer, col(Officer.id) == col(DriveSignup.officer_id))
            .where(*live, DriveSignup.state == SignupState.SIGNED, Officer.unit == unit)
        ).one()
    signups = select(func.count()).select_from(DriveSignup)
    signups = signups.join(BloodDrive, col(BloodDrive.id) == col(DriveSignup.drive_id)).where(
        *live, DriveSignup.state == SignupState.SIGNED
    )
    if unit is not None:
        signups = signups.join(Officer, col(Officer.id) == col(DriveSignup.officer_id)).where(
            Officer.unit == unit
        )
    return int(held), int(session.exec(signups).one())


def appeals(session: Session, period: Period, *, unit: str | None = None) -> AppealFigures:
    """Appeals created in the period: asked and reached as their broadcasts' deliveries say,
    answers as storage.appeals.tally counts them. With a unit: that unit's officers only (and
    no time to the first answer, which is the appeal's, not the unit's)."""
    appeal_rows = session.exec(
        select(BloodAppeal.id, BloodAppeal.broadcast_id, BloodAppeal.created_at).where(
            *_between(BloodAppeal.created_at, period)
        )
    ).all()
    if not appeal_rows:
        return AppealFigures()
    appeal_ids = [int(row[0] or 0) for row in appeal_rows]
    broadcast_ids = [int(row[1]) for row in appeal_rows if row[1] is not None]
    state = col(Delivery.state)
    asked_query = select(
        _sum_when(state.in_(ASKED_STATES), 1), _sum_when(state == DeliveryState.SENT, 1)
    ).where(col(Delivery.broadcast_id).in_(broadcast_ids or [0]))
    answer_query = (
        select(AppealReply.answer, func.count())
        .where(col(AppealReply.appeal_id).in_(appeal_ids))
        .group_by(col(AppealReply.answer))
    )
    if unit is not None:
        asked_query = asked_query.join(Officer, col(Officer.id) == col(Delivery.officer_id)).where(
            Officer.unit == unit
        )
        answer_query = answer_query.join(
            Officer, col(Officer.id) == col(AppealReply.officer_id)
        ).where(Officer.unit == unit)
    asked, reached = session.exec(asked_query).one()
    answers = {str(answer): int(count) for answer, count in session.exec(answer_query).all()}
    arrived = answers.get(AppealAnswer.ARRIVED, 0)
    coming = answers.get(AppealAnswer.COMING, 0) + arrived
    asked_in_unit = int(asked or 0)
    if unit is not None and not asked_in_unit and not answers:
        return AppealFigures()
    return AppealFigures(
        appeals=len(appeal_ids)
        if unit is None
        else _appeals_asking_unit(session, broadcast_ids, unit),
        asked=asked_in_unit,
        reached=int(reached or 0),
        answered=sum(answers.values()),
        coming=coming,
        arrived=arrived,
        first_coming_minutes=None
        if unit is not None
        else _median_first_coming(session, {int(r[0] or 0): r[2] for r in appeal_rows}),
    )


def _appeals_asking_unit(session: Session, broadcast_ids: Sequence[int], unit: str) -> int:
    count = session.exec(
        select(func.count(func.distinct(Delivery.broadcast_id)))
        .join(Officer, col(Officer.id) == col(Delivery.officer_id))
        .where(col(Delivery.broadcast_id).in_(list(broadcast_ids) or [0]), Officer.unit == unit)
        .where(col(Delivery.state).in_(ASKED_STATES))
    ).one()
    return int(count)


def _median_first_coming(session: Session, created: dict[int, datetime]) -> float | None:
    """The median of minutes from each appeal to its earliest 我能去 that still stands.

    A reply row keeps its latest answer's time, so an officer who has since arrived counts at
    their arrival: the figure is at most a little late, never early.
    """
    rows = session.exec(
        select(AppealReply.appeal_id, func.min(AppealReply.at))
        .where(col(AppealReply.appeal_id).in_(list(created)))
        .where(col(AppealReply.answer).in_(COMING))
        .group_by(col(AppealReply.appeal_id))
    ).all()
    minutes = [
        max(0.0, (_aware(first) - created[int(appeal_id)]).total_seconds() / 60)
        for appeal_id, first in rows
        if first is not None
    ]
    return round(stats.median(minutes), 1) if minutes else None


def _aware(moment: datetime) -> datetime:
    # func.min() loses the column's type on SQLite: the text comes back naive, in UTC.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


# --- events and classes (活动) -------------------------------------------------------------


@dataclass(frozen=True)
class EventKindFigures:
    """One kind of event in the period: events held (not cancelled), places offered, places
    taken, waiting, marked present and marked absent."""

    kind: str
    events: int
    places: int
    signed: int
    waitlisted: int
    attended: int
    absent: int


@dataclass(frozen=True)
class EventFigures:
    """Events starting in the period by kind; the no-show rate among those marked; the
    matchmaking places taken and attended per gender (roster gender at sign-up)."""

    by_kind: tuple[EventKindFigures, ...]
    matchmaking_by_gender: tuple[tuple[str, int, int], ...]

    @property
    def events(self) -> int:
        """Events held, every kind."""
        return sum(row.events for row in self.by_kind)

    @property
    def places(self) -> int:
        """Places offered, every kind."""
        return sum(row.places for row in self.by_kind)

    @property
    def signed(self) -> int:
        """Places taken, every kind."""
        return sum(row.signed for row in self.by_kind)

    @property
    def attended(self) -> int:
        """Marked present, every kind."""
        return sum(row.attended for row in self.by_kind)

    @property
    def absent(self) -> int:
        """Marked absent, every kind."""
        return sum(row.absent for row in self.by_kind)

    @property
    def no_show_rate(self) -> float | None:
        """Absent among those marked, 0 to 1; None before anyone was marked."""
        marked = self.attended + self.absent
        return round(self.absent / marked, 4) if marked else None


def events(session: Session, period: Period, *, unit: str | None = None) -> EventFigures:
    """Events starting in the period, by kind. With a unit: the events its officers took a
    place at, and their sign-ups; places are the union's and not counted, and matchmaking is
    not split by gender."""
    live = (*_between(Event.starts_at, period), Event.status == EventStatus.OPEN)
    state, attended = col(EventSignup.state), col(EventSignup.attended)
    counts = (
        _sum_when(state == SignupState.SIGNED, 1),
        _sum_when(state == SignupState.WAITLISTED, 1),
        _sum_when((state == SignupState.SIGNED) & attended.is_(True), 1),
        _sum_when((state == SignupState.SIGNED) & attended.is_(False), 1),
    )
    signup_query = (
        select(Event.kind, *counts)  # type: ignore[call-overload]
        .join(EventSignup, col(EventSignup.event_id) == col(Event.id))
        .where(*live)
        .group_by(col(Event.kind))
    )
    if unit is None:
        held_query = (
            select(Event.kind, func.count(), func.coalesce(func.sum(Event.capacity), 0))
            .where(*live)
            .group_by(col(Event.kind))
        )
        held = {str(k): (int(n), int(p or 0)) for k, n, p in session.exec(held_query).all()}
    else:
        signup_query = signup_query.join(
            Officer, col(Officer.id) == col(EventSignup.officer_id)
        ).where(Officer.unit == unit)
        unit_held = (
            select(Event.kind, func.count(func.distinct(Event.id)))
            .join(EventSignup, col(EventSignup.event_id) == col(Event.id))
            .join(Officer, col(Officer.id) == col(EventSignup.officer_id))
            .where(*live, Officer.unit == unit, EventSignup.state == SignupState.SIGNED)
            .group_by(col(Event.kind))
        )
        held = {str(k): (int(n), 0) for k, n in session.exec(unit_held).all()}
    taken = {str(row[0]): [int(v or 0) for v in row[1:]] for row in session.exec(signup_query)}
    by_kind = tuple(
        EventKindFigures(str(kind), *held.get(kind, (0, 0)), *taken.get(kind, [0, 0, 0, 0]))
        for kind in EventKind
        if kind in held or kind in taken
    )
    if unit is not None:  # a small unit's matchmaking by gender would name its colleagues
        return EventFigures(by_kind, ())
    gender_query = (
        select(EventSignup.gender, func.count(), _sum_when(attended.is_(True), 1))
        .join(Event, col(Event.id) == col(EventSignup.event_id))
        .where(*live, Event.kind == EventKind.MATCHMAKING, state == SignupState.SIGNED)
        .group_by(col(EventSignup.gender))
    )
    genders = {str(g or ""): (int(n), int(a or 0)) for g, n, a in session.exec(gender_query)}
    by_gender = tuple((g, *genders[g]) for g in ("M", "F", "") if g in genders)
    return EventFigures(by_kind, by_gender)


# --- clubs (俱乐部) ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClubFigures:
    """One club: its active members today, its activities in the period (events of kind club
    activity for its members), the places taken and attended at them."""

    club: str
    members: int
    activities: int
    signed: int
    attended: int


def clubs(
    session: Session, period: Period, names: Sequence[str], *, unit: str | None = None
) -> tuple[ClubFigures, ...]:
    """The policy's clubs in its order (members of one unit, if given)."""
    member_query = (
        select(ClubMembership.club, func.count())
        .join(Officer, col(Officer.id) == col(ClubMembership.officer_id))
        .where(col(Officer.active).is_(True))
        .group_by(col(ClubMembership.club))
    )
    live = (
        *_between(Event.starts_at, period),
        Event.status == EventStatus.OPEN,
        Event.kind == EventKind.CLUB_ACTIVITY,
    )
    held_query = (
        select(Event.audience_value, func.count()).where(*live).group_by(col(Event.audience_value))
    )
    signed = EventSignup.state == SignupState.SIGNED
    taken_query = (
        select(
            Event.audience_value,
            func.count(),
            _sum_when(col(EventSignup.attended).is_(True), 1),
        )
        .join(EventSignup, col(EventSignup.event_id) == col(Event.id))
        .where(*live, signed)
        .group_by(col(Event.audience_value))
    )
    if unit is not None:
        member_query = member_query.where(Officer.unit == unit)
        taken_query = taken_query.join(
            Officer, col(Officer.id) == col(EventSignup.officer_id)
        ).where(Officer.unit == unit)
    members_of = {str(c): int(n) for c, n in session.exec(member_query).all()}
    held = {str(c): int(n) for c, n in session.exec(held_query).all()}
    taken = {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in session.exec(taken_query).all()}
    return tuple(
        ClubFigures(name, members_of.get(name, 0), held.get(name, 0), *taken.get(name, (0, 0)))
        for name in names
    )


# --- greetings (问候) ---------------------------------------------------------------------


@dataclass(frozen=True)
class GreetingFigures:
    """One occasion's greetings on days of the period: officers queued (the send ledger),
    reached (Telegram took the message), and not reached (failed, blocked, expired)."""

    occasion: str
    sent: int
    reached: int

    @property
    def not_reached(self) -> int:
        """Queued and never delivered."""
        return self.sent - self.reached


def greetings(
    session: Session, period: Period, *, unit: str | None = None
) -> tuple[GreetingFigures, ...]:
    """Greetings per occasion, the most sent first: the ledger's rows of greeting broadcasts,
    and their deliveries that went out."""
    query = (
        select(
            SendLedger.occasion,
            func.count(),
            _sum_when(col(Delivery.state) == DeliveryState.SENT, 1),
        )
        .join(Broadcast, col(Broadcast.id) == col(SendLedger.broadcast_id))
        .outerjoin(
            Delivery,
            (col(Delivery.broadcast_id) == col(SendLedger.broadcast_id))
            & (col(Delivery.officer_id) == col(SendLedger.officer_id)),
        )
        .where(*_on_days(SendLedger.on_date, period), Broadcast.kind == BroadcastKind.GREETING)
        .group_by(col(SendLedger.occasion))
    )
    if unit is not None:
        query = query.join(Officer, col(Officer.id) == col(SendLedger.officer_id)).where(
            Officer.unit == unit
        )
    rows = [GreetingFigures(str(o), int(n), int(r or 0)) for o, n, r in session.exec(query)]
    return tuple(sorted(rows, key=lambda row: (-row.sent, row.occasion)))


# --- bookings (预约) ----------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceFigures:
    """One bookable service in the period: places held, marked present, marked absent; a
    private service (counselling) gives its count only."""

    key: str
    private: bool
    booked: int
    attended: int
    missed: int


def bookings(
    session: Session,
    period: Period,
    services: Sequence[tuple[str, bool]],
    *,
    unit: str | None = None,
) -> tuple[ServiceFigures, ...]:
    """The policy's services (key, private) in its order, as /bookings counts them; with a
    unit, its officers' bookings, and private services left out."""
    start, end = period.moments()
    zone = period.zone.key
    found = []
    for key, private in services:
        if unit is not None:
            if not private:
                found.append(
                    ServiceFigures(key, False, *_unit_bookings(session, key, period, unit))
                )
            continue
        if private:
            counts = booking_storage.monthly_counts(session, key, start, end, zone)
            found.append(ServiceFigures(key, True, sum(counts.values()), 0, 0))
            continue
        months = booking_storage.monthly_figures(session, key, start, end, zone).values()
        found.append(
            ServiceFigures(
                key,
                False,
                sum(m.booked for m in months),
                sum(m.attended for m in months),
                sum(m.missed for m in months),
            )
        )
    return tuple(found)


def _unit_bookings(session: Session, key: str, period: Period, unit: str) -> tuple[int, int, int]:
    """storage.bookings.monthly_figures' conditions for one unit's officers, summed."""
    attended = col(Booking.attended)
    booked, present, absent = session.exec(
        select(func.count(), _sum_when(attended.is_(True), 1), _sum_when(attended.is_(False), 1))
        .select_from(ServiceSlot)
        .join(Booking, col(Booking.slot_id) == col(ServiceSlot.id))
        .join(Officer, col(Officer.id) == col(Booking.officer_id))
        .where(ServiceSlot.service_key == key, Booking.state == SignupState.SIGNED)
        .where(*_between(ServiceSlot.starts_at, period), Officer.unit == unit)
    ).one()
    return int(booked), int(present or 0), int(absent or 0)


# --- everything at once ---------------------------------------------------------------------


UNIT_HIDDEN_SECTIONS = frozenset({"care"})
"""Sections never counted for one unit: a small unit's figures would name a colleague."""


@dataclass(frozen=True)
class Figures:
    """Every programme's figures for one period (and one unit, or the whole union)."""

    period: Period
    unit: str | None
    members: MemberFigures
    care: CareFigures
    blood: BloodFigures
    events: EventFigures
    clubs: tuple[ClubFigures, ...]
    greetings: tuple[GreetingFigures, ...]
    bookings: tuple[ServiceFigures, ...]


def figures(
    session: Session,
    period: Period,
    *,
    comforted_since: date,
    clubs_named: Sequence[str],
    services: Sequence[tuple[str, bool]],
    unit: str | None = None,
    only: str | None = None,
) -> Figures:
    """Every programme's figures for the period; with `only` (a section's name: members, care,
    blood, events, clubs, greetings, bookings), that programme's alone and the others empty,
    so that one chart of /stats reads no more than it shows. With a unit, the sections of
    UNIT_HIDDEN_SECTIONS are left empty."""

    def wanted(section: str) -> bool:
        if unit is not None and section in UNIT_HIDDEN_SECTIONS:
            return False
        return only is None or only == section

    return Figures(
        period=period,
        unit=unit,
        members=members(session, period, unit=unit)
        if wanted("members")
        else MemberFigures(0, 0, 0, 0, 0, 0),
        care=care(session, period, since=comforted_since)
        if wanted("care")
        else CareFigures(0, 0, 0, (), (), comforted_since, 0),
        blood=blood(session, period, unit=unit)
        if wanted("blood")
        else BloodFigures(0, 0, 0, 0, 0, 0, 0, 0, ()),
        events=events(session, period, unit=unit) if wanted("events") else EventFigures((), ()),
        clubs=clubs(session, period, clubs_named, unit=unit) if wanted("clubs") else (),
        greetings=greetings(session, period, unit=unit) if wanted("greetings") else (),
        bookings=bookings(session, period, services, unit=unit) if wanted("bookings") else (),
    )


@dataclass(frozen=True)
class UnitRow:
    """One unit's line of the report: active and bound officers, care cases and sums,
    donors and ml, event places taken and attended, greetings sent and reached."""

    unit: str
    active: int = 0
    bound: int = 0
    care_cases: int = 0
    care_paid_sum: int = 0
    blood_donors: int = 0
    blood_ml: int = 0
    event_signed: int = 0
    event_attended: int = 0
    greetings_sent: int = 0
    greetings_reached: int = 0


def unit_rows(session: Session, period: Period) -> tuple[UnitRow, ...]:
    """Every unit with an active officer, the most officers first: each programme counted in
    one query grouped by unit (the report's per-unit pages; 100,000 officers in one pass)."""
    rows: dict[str, dict[str, int]] = {}

    def put(name: object, **values: object) -> None:
        target = rows.setdefault(str(name or ""), {})
        for key, value in values.items():
            target[key] = target.get(key, 0) + int(value or 0)  # type: ignore[call-overload]

    for row in members(session, period).by_unit:
        put(row.unit, active=row.active, bound=row.bound)
    unit = col(Officer.unit)
    for name, count, paid in session.exec(
        select(Officer.unit, func.count(), func.coalesce(func.sum(CareCase.paid_amount), 0))
        .join(Officer, col(Officer.id) == col(CareCase.officer_id))
        .where(*_on_days(CareCase.event_date, period), CareCase.status != CaseStatus.DUPLICATE)
        .group_by(unit)
    ).all():
        put(name, care_cases=count, care_paid_sum=paid)
    component, amount = col(BloodDonation.component), col(BloodDonation.amount)
    for name, donors, ml in session.exec(
        select(
            Officer.unit,
            func.count(func.distinct(BloodDonation.officer_id)),
            _sum_when(component.in_(blood_storage.IN_ML), amount),
        )
        .join(Officer, col(Officer.id) == col(BloodDonation.officer_id))
        .where(*_on_days(BloodDonation.donated_on, period))
        .group_by(unit)
    ).all():
        put(name, blood_donors=donors, blood_ml=ml)
    for name, signed, present in session.exec(
        select(Officer.unit, func.count(), _sum_when(col(EventSignup.attended).is_(True), 1))
        .join(EventSignup, col(EventSignup.officer_id) == col(Officer.id))
        .join(Event, col(Event.id) == col(EventSignup.event_id))
        .where(*_between(Event.starts_at, period), Event.status == EventStatus.OPEN)
        .where(EventSignup.state == SignupState.SIGNED)
        .group_by(unit)
    ).all():
        put(name, event_signed=signed, event_attended=present)
    for name, sent, reached in session.exec(
        select(Officer.unit, func.count(), _sum_when(col(Delivery.state) == DeliveryState.SENT, 1))
        .select_from(SendLedger)
        .join(Broadcast, col(Broadcast.id) == col(SendLedger.broadcast_id))
        .join(Officer, col(Officer.id) == col(SendLedger.officer_id))
        .outerjoin(
            Delivery,
            (col(Delivery.broadcast_id) == col(SendLedger.broadcast_id))
            & (col(Delivery.officer_id) == col(SendLedger.officer_id)),
        )
        .where(*_on_days(SendLedger.on_date, period), Broadcast.kind == BroadcastKind.GREETING)
        .group_by(unit)
    ).all():
        put(name, greetings_sent=sent, greetings_reached=reached)
    found = [UnitRow(name, **values) for name, values in rows.items() if values.get("active")]
    return tuple(sorted(found, key=lambda row: (-row.active, row.unit)))


def units_with_officers(session: Session) -> list[str]:
    """Units that have an active officer today, by name."""
    rows = session.exec(
        select(Officer.unit).where(col(Officer.active).is_(True), Officer.unit != "").distinct()
    ).all()
    return sorted(str(unit) for unit in rows)


def has_officers(session: Session) -> bool:
    """True if the roster holds anyone at all (sample data refuses such a database)."""
    return session.exec(select(Officer.id).limit(1)).first() is not None


# --- one officer's own year (我的年度暖警账单, issue 16 item 6) -----------------------------


@dataclass(frozen=True)
class OfficerYear:
    """One officer's own figures of a period, and nobody else's: greetings that reached them,
    their donations, the events and club activities they took a place at (signed up) and
    were marked present at, and the care they received by kind only (never a sum of money)."""

    greetings: int
    donations: int
    ml: int
    platelet_units: int
    events_signed: int
    events_attended: int
    club_signed: int
    club_attended: int
    care_by_kind: tuple[tuple[str, int], ...]


def officer_year(session: Session, officer_id: int, period: Period) -> OfficerYear:
    """One officer's figures of the period; every query is limited to their own rows."""
    greetings_query = (
        select(func.count())
        .select_from(SendLedger)
        .join(Broadcast, col(Broadcast.id) == col(SendLedger.broadcast_id))
        .join(
            Delivery,
            (col(Delivery.broadcast_id) == col(SendLedger.broadcast_id))
            & (col(Delivery.officer_id) == col(SendLedger.officer_id)),
        )
        .where(SendLedger.officer_id == officer_id, Broadcast.kind == BroadcastKind.GREETING)
        .where(*_on_days(SendLedger.on_date, period), Delivery.state == DeliveryState.SENT)
    )
    component, amount = col(BloodDonation.component), col(BloodDonation.amount)
    blood_query = select(
        func.count(),
        _sum_when(component.in_(blood_storage.IN_ML), amount),
        _sum_when(component == blood_storage.PLATELETS, amount),
    ).where(BloodDonation.officer_id == officer_id, *_on_days(BloodDonation.donated_on, period))
    club = col(Event.kind) == EventKind.CLUB_ACTIVITY
    present = col(EventSignup.attended).is_(True)
    events_query = (
        select(
            _sum_when(~club, 1),
            _sum_when(~club & present, 1),
            _sum_when(club, 1),
            _sum_when(club & present, 1),
        )
        .select_from(EventSignup)
        .join(Event, col(Event.id) == col(EventSignup.event_id))
        .where(EventSignup.officer_id == officer_id, EventSignup.state == SignupState.SIGNED)
        .where(*_between(Event.starts_at, period), Event.status == EventStatus.OPEN)
    )
    # Received is visited or paid, as "comforted since" counts it; the amounts are not read.
    care_query = (
        select(CareCase.event, func.count())
        .where(CareCase.officer_id == officer_id, *_on_days(CareCase.event_date, period))
        .where(col(CareCase.status).in_([CaseStatus.VISITED, CaseStatus.PAID]))
        .group_by(col(CareCase.event))
        .order_by(col(CareCase.event))
    )
    greetings_count = session.exec(greetings_query).one()
    donations, ml, units = session.exec(blood_query).one()
    signed, attended, club_signed, club_attended = session.exec(events_query).one()
    return OfficerYear(
        greetings=int(greetings_count),
        donations=int(donations),
        ml=int(ml or 0),
        platelet_units=int(units or 0),
        events_signed=int(signed or 0),
        events_attended=int(attended or 0),
        club_signed=int(club_signed or 0),
        club_attended=int(club_attended or 0),
        care_by_kind=tuple((str(e), int(n)) for e, n in session.exec(care_query).all()),
    )


def year_card_recipients(session: Session) -> list[tuple[int, int]]:
    """(officer id, chat id) of every active, bound officer who has not opted out of the card."""
    rows = session.exec(
        select(Officer.id, TelegramBinding.chat_id)
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(Officer.active).is_(True), col(Officer.year_card_opt_out).is_(False))
        .where(col(Officer.deceased_at).is_(None))
        .order_by(col(Officer.id))
    ).all()
    return [(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in rows]


def officer_name(session: Session, officer_id: int) -> str:
    """The officer's name as the roster has it (the card is addressed to them)."""
    return session.exec(select(Officer.name).where(Officer.id == officer_id)).first() or ""
