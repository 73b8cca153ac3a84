"""`nuanjing sample-data`: a believable year of a union's activity in an empty database.

So that a new union can see /stats and the yearly report before it has data of its own, and so
that benchmarks have a year to count. Everything is written through the storage functions the
bot itself uses (the roster import, care cases and their steps, drive and event sign-ups with
their locks, donations, appeals and their answers, club joins, the greeting run with its send
ledger), with a seeded random generator: the same seed gives the same data.

Nothing goes to Telegram. What the bot's sender would have done long ago (delivering the past
greetings and appeals) is written as done, and moments the storage functions stamp with "now"
(an appeal's creation, its answers) are set back to the sample year, so the figures fall in it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.greetings import may_greet, queue_greetings
from bot.policy import Policy
from bot.rules.capacity import Outcome
from bot.rules.care import price
from storage import appeals, blood, care, clubs, drives, events, officers, roster
from storage import bookings as booking_storage
from storage import greetings as greeting_storage
from storage import statistics as st
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    AppealAnswer,
    AppealReply,
    Audience,
    BloodAppeal,
    Broadcast,
    BroadcastStatus,
    CaseStatus,
    Delivery,
    DeliveryState,
    EventKind,
    Officer,
)

ACTOR = "system:sample-data"
Progress = Callable[[str, int, int], None]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏辉建国志宏海波斌晨阳宇浩"
# Shares of the ABO groups among Han Chinese donors, roughly.
BLOOD_GROUPS = (("O", 34), ("A", 30), ("B", 28), ("AB", 8))
CARE_KINDS = (
    ("hospitalization", 46),
    ("relative_death", 20),
    ("marriage", 12),
    ("childbirth", 12),
    ("retirement", 8),
    ("officer_death", 2),
)
DRIVE_MONTHS = (1, 3, 4, 6, 8, 9, 11, 12)  # eight drives a year, as the seed union holds
EVENT_KINDS = (
    (EventKind.MATCHMAKING, "芙蓉情缘联谊会"),
    (EventKind.CLASS, "心理成长营"),
    (EventKind.CLASS, "声乐兴趣班"),
    (EventKind.OUTING, "春季健步行"),
    (EventKind.COMPETITION, "气排球比赛"),
)
TELEGRAM_BASE = 7_000_000_000  # sample accounts: far from real users' ids in a test sandbox


class SampleRefused(Exception):
    """The database already has officers: sample data goes only into an empty one."""


@dataclass(frozen=True)
class Summary:
    """What was written."""

    year: int
    officers: int
    bound: int
    cases: int
    donations: int
    drives: int
    appeals: int
    events: int
    signups: int
    club_members: int
    bookings: int
    greetings: int

    def line(self) -> str:
        """One line for the terminal."""
        return (
            f"sample data for {self.year}: {self.officers} officers ({self.bound} bound), "
            f"{self.cases} care cases, {self.drives} drives with {self.donations} donations, "
            f"{self.appeals} appeals, {self.events} events with {self.signups} sign-ups, "
            f"{self.club_members} club members, {self.bookings} bookings, "
            f"{self.greetings} greetings"
        )


@dataclass(frozen=True)
class _Person:
    id: int
    gender: str
    blood_group: str
    single: bool


def _pick(rng: random.Random, weighted: Sequence[tuple[object, int]]) -> object:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


def _moment(day: date, hour: int, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=zone).astimezone(UTC)


def fill(
    database: Database,
    policy: Policy,
    *,
    officers: int,
    year: int,
    seed: int,
    zone: ZoneInfo,
    cipher: FieldCipher,
    progress: Progress | None = None,
) -> Summary:
    """Write a year of sample activity; SampleRefused if anyone is on the roster already."""
    with database.session() as session:
        if st.has_officers(session):
            raise SampleRefused(
                "the database already has officers on its roster: sample data goes only into "
                "an empty database."
            )
    rng = random.Random(seed)
    today = datetime.now(zone).date()
    last_day = min(date(year, 12, 31), today) if year == today.year else date(year, 12, 31)
    show = progress or (lambda _label, _done, _total: None)
    people = _roster(database, policy, rng, officers, show)
    cases = _care(database, policy, rng, people, year, last_day, cipher, show)
    drive_count, donations = _drives(database, rng, people, year, last_day, zone, show)
    appeal_count, given = _appeals(database, rng, people, year, last_day, zone, show)
    club_members = _clubs(database, policy, rng, people, show)
    event_count, signups = _events(database, policy, rng, people, year, last_day, zone, show)
    booked = _bookings(database, policy, rng, people, year, last_day, zone, show)
    greetings = _greetings(database, policy, year, last_day, zone, show)
    return Summary(
        year=year,
        officers=len(people),
        bound=sum(1 for p in people if p.id >= 0),
        cases=cases,
        donations=donations + given,
        drives=drive_count,
        appeals=appeal_count,
        events=event_count,
        signups=signups,
        club_members=club_members,
        bookings=booked,
        greetings=greetings,
    )


def _roster(
    database: Database, policy: Policy, rng: random.Random, count: int, show: Progress
) -> list[_Person]:
    """The officers, through the roster import: 90% with a bound account."""
    units = policy.units or ["市局机关"]
    # Some units are larger than others, as in any city: the first ones by a little.
    unit_weights = [(unit, len(units) * 2 - index) for index, unit in enumerate(units)]
    entries = []
    for n in range(1, count + 1):
        gender = "M" if rng.random() < 0.72 else "F"
        entries.append(
            roster.RosterEntry(
                police_id=f"S{n:06d}",
                name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.choice((1, 2)))),
                unit=str(_pick(rng, unit_weights)),
                phone=f"139{n:08d}",
                birthday=date(rng.randint(1966, 2001), rng.randint(1, 12), rng.randint(1, 28)),
                gender=gender,
                blood_group=str(_pick(rng, BLOOD_GROUPS)),
                rh_negative=rng.random() < 0.004,
                telegram_user_id=TELEGRAM_BASE + n if rng.random() < 0.9 else None,
            )
        )
    show("roster", 0, count)
    with database.session() as session:
        roster.apply_records(session, entries, deactivate_missing=False)
    singles = {e.police_id for e in entries if rng.random() < 0.12}
    with database.session() as session:
        rows = session.exec(select(Officer).order_by(col(Officer.id))).all()
        ids = [int(o.id or 0) for o in rows]
        bound: set[int] = set()
        for start in range(0, len(ids), 10_000):  # PostgreSQL takes 65,535 parameters at most
            bound |= set(officers.bound_chats(session, ids[start : start + 10_000]))
        people = []
        for officer in rows:
            officer_id = int(officer.id or 0)
            single = officer.police_id in singles and officer_id in bound
            if single:
                officers.update_profile(session, officer, single_opt_in=True)
            people.append(
                _Person(
                    officer_id if officer_id in bound else -officer_id,
                    officer.gender or "M",
                    officer.blood_group or "O",
                    single,
                )
            )
    show("roster", count, count)
    return people


def _bound(people: Sequence[_Person]) -> list[_Person]:
    """Officers with an account: only they take part in the bot's programmes."""
    return [p for p in people if p.id > 0]


def _day(rng: random.Random, year: int, last_day: date) -> date:
    first = date(year, 1, 1)
    return first + timedelta(days=rng.randrange((last_day - first).days + 1))


def _care(
    database: Database,
    policy: Policy,
    rng: random.Random,
    people: Sequence[_Person],
    year: int,
    last_day: date,
    cipher: FieldCipher,
    show: Progress,
) -> int:
    """Care cases, about six in a hundred officers a year, through their steps."""
    total = max(1, len(people) * 6 // 100)
    for start in range(0, total, 500):
        with database.session() as session:
            for _ in range(start, min(total, start + 500)):
                person = rng.choice(people)
                officer_id = abs(person.id)
                event = str(_pick(rng, CARE_KINDS))
                day = _day(rng, year, last_day)
                found = price(policy.care.rules, event, day)
                new = care.NewCase(
                    officer_id=officer_id,
                    reporter_id=officer_id,
                    event=event,
                    event_date=day,
                    relation="parent" if event == "relative_death" else "",
                    hospital="市中心医院" if event == "hospitalization" else "",
                    policy_amount=found.amount if found else 0,
                    up_to=found.up_to if found else False,
                )
                case = care.create(session, new, cipher)
                roll, recent = rng.random(), (last_day - day).days < 30
                if recent and roll < 0.5:
                    continue  # still waiting for its visit
                if roll < 0.05:
                    care.advance(
                        session,
                        case,
                        CaseStatus.DECLINED,
                        actor=ACTOR,
                        cipher=cipher,
                        reason="不符合慰问条件",
                    )
                    continue
                care.advance(session, case, CaseStatus.VISITED, actor=ACTOR, cipher=cipher)
                if roll < 0.85:
                    care.advance(session, case, CaseStatus.PAID, actor=ACTOR, cipher=cipher)
        show("care", min(total, start + 500), total)
    return total


def _drives(
    database: Database,
    rng: random.Random,
    people: Sequence[_Person],
    year: int,
    last_day: date,
    zone: ZoneInfo,
    show: Progress,
) -> tuple[int, int]:
    """Eight drives, each with about one officer in a hundred signed up; nine in ten give."""
    pool = _bound(people)
    rng.shuffle(pool)
    days = [date(year, month, 10 + rng.randrange(10)) for month in DRIVE_MONTHS]
    days = [day for day in days if day <= last_day]
    per_drive = max(2, len(people) // 100)
    donations = 0
    for index, day in enumerate(days):
        starts = _moment(day, 9, zone)
        donors = pool[index * per_drive : (index + 1) * per_drive]
        with database.session() as session:
            drive = drives.create(
                session,
                starts_at=starts,
                place="市中心血站",
                capacity=per_drive + 5,
                blood_types_wanted="",
                created_by=ACTOR,
            )
            drive_id = int(drive.id or 0)
        for person in donors:
            with database.session() as session:
                drives.sign_up(session, drive_id, person.id, now=starts - timedelta(days=7))
        with database.session() as session:
            for person in donors:
                if rng.random() < 0.9:
                    blood.record(
                        session,
                        officer_id=person.id,
                        donated_on=day,
                        component=blood.WHOLE_BLOOD,
                        amount=rng.choice((200, 300, 400, 400)),
                        recorded_by=ACTOR,
                        drive_id=drive_id,
                    )
                    donations += 1
        show("drives", index + 1, len(days))
    return len(days), donations


def _appeals(
    database: Database,
    rng: random.Random,
    people: Sequence[_Person],
    year: int,
    last_day: date,
    zone: ZoneInfo,
    show: Progress,
) -> tuple[int, int]:
    """A winter night's call for O platelets: asked, answered, given; (appeals, donations)."""
    day = date(year, 1, 18)
    if day > last_day:
        return 0, 0
    created = _moment(day, 20, zone)
    with database.session() as session:
        candidates = appeals.candidates(session, blood_group="O", rh_negative=False)
        recipients = [c.recipient for c in candidates if c.recipient is not None]
        if not recipients:
            return 0, 0
        # The seed night: 48 officers gave platelets before morning.
        coming_wanted = max(1, min(48, len(recipients) // 10))
        appeal = appeals.create(
            session,
            blood_group="O",
            rh_negative=False,
            component=blood.PLATELETS,
            hospital="市中心医院",
            address="市中心医院血库",
            contact="血库 0731-00000000",
            units_needed=coming_wanted,
            deadline=created + timedelta(hours=12),
            created_by=ACTOR,
            tally_chat_id=None,
            recipients=recipients,
            text="紧急呼吁：O型血小板",
            buttons_for=lambda _id: "[]",
        )
        appeal_id, broadcast_id = int(appeal.id or 0), int(appeal.broadcast_id or 0)
        session.execute(
            update(BloodAppeal).where(col(BloodAppeal.id) == appeal_id).values(created_at=created)
        )
        _delivered(session, broadcast_id, created)
    texts = appeals.NoticeTexts(
        stand_down="已满足，感谢", still_expected="请按时到达", closed="已结束"
    )
    answering = rng.sample(recipients, k=min(len(recipients), coming_wanted * 2))
    answered: dict[int, datetime] = {}
    came: list[int] = []
    for number, recipient in enumerate(answering):
        answer = AppealAnswer.COMING if number % 2 == 0 else AppealAnswer.CANNOT
        with database.session() as session:
            change = appeals.reply(session, appeal_id, recipient.officer_id, answer, texts=texts)
        if change.outcome != appeals.Outcome.RECORDED:
            continue  # enough were coming already
        answered[recipient.officer_id] = created + timedelta(minutes=3 + rng.expovariate(1 / 40))
        if answer == AppealAnswer.COMING and rng.random() < 0.8:
            with database.session() as session:
                arrived = appeals.reply(
                    session, appeal_id, recipient.officer_id, AppealAnswer.ARRIVED, texts=texts
                )
            if arrived.outcome == appeals.Outcome.RECORDED:
                came.append(recipient.officer_id)
    with database.session() as session:
        for officer_id, moment in answered.items():
            session.execute(
                update(AppealReply)
                .where(col(AppealReply.appeal_id) == appeal_id)
                .where(col(AppealReply.officer_id) == officer_id)
                .values(at=moment)
            )
        # The notices a fulfilled appeal sends (stand down, still expected) went out that night.
        _deliver_waiting(session, created + timedelta(hours=1))
        for officer_id in came:
            blood.record(
                session,
                officer_id=officer_id,
                donated_on=day,
                component=blood.PLATELETS,
                amount=1,
                recorded_by=ACTOR,
            )
    show("appeals", 1, 1)
    return 1, len(came)


def _delivered(session: Session, broadcast_id: int, at: datetime) -> None:
    """What the sender did back then: every waiting delivery of the broadcast went out (a
    few to officers who had blocked the bot), and the broadcast is finished."""
    pending = (col(Delivery.broadcast_id) == broadcast_id) & (
        col(Delivery.state) == DeliveryState.PENDING
    )
    # One in fifty accounts (by id, so the same ones each time) had blocked the bot.
    session.execute(
        update(Delivery)
        .where(pending, col(Delivery.officer_id) % 50 == 7)
        .values(state=DeliveryState.BLOCKED, error="blocked by the user")
    )
    session.execute(update(Delivery).where(pending).values(state=DeliveryState.SENT, sent_at=at))
    session.execute(
        update(Broadcast)
        .where(col(Broadcast.id) == broadcast_id)
        .values(status=BroadcastStatus.DONE, finished_at=at)
    )


def _deliver_waiting(session: Session, at: datetime) -> int:
    """Every broadcast still sending, delivered as of `at`; recipients written."""
    waiting = session.exec(
        select(Broadcast.id, Broadcast.total).where(Broadcast.status == BroadcastStatus.SENDING)
    ).all()
    for broadcast_id, _ in waiting:
        _delivered(session, int(broadcast_id or 0), at)
    return sum(int(total) for _, total in waiting)


def _clubs(
    database: Database,
    policy: Policy,
    rng: random.Random,
    people: Sequence[_Person],
    show: Progress,
) -> int:
    """About one officer in seven in a club; the marathon club the largest."""
    if not policy.clubs:
        return 0
    weights = [(club, len(policy.clubs) * 2 - i) for i, club in enumerate(policy.clubs)]
    joining = [p for p in _bound(people) if rng.random() < 0.15]
    for start in range(0, len(joining), 1000):
        with database.session() as session:
            for person in joining[start : start + 1000]:
                clubs.join(session, person.id, str(_pick(rng, weights)))
        show("clubs", min(len(joining), start + 1000), len(joining))
    return len(joining)


def _events(
    database: Database,
    policy: Policy,
    rng: random.Random,
    people: Sequence[_Person],
    year: int,
    last_day: date,
    zone: ZoneInfo,
    show: Progress,
) -> tuple[int, int]:
    """Two events a month and a club activity for each club every quarter, with sign-ups and
    attendance taken."""
    pool = _bound(people)
    singles = [p for p in pool if p.single]
    plans: list[tuple[EventKind, str, date, str]] = []
    for month in range(1, 13):
        for _ in range(2):
            kind, title = EVENT_KINDS[rng.randrange(len(EVENT_KINDS))]
            plans.append((kind, title, date(year, month, rng.randint(5, 26)), ""))
    for club in policy.clubs:
        for month in (3, 6, 9, 11):
            plans.append(
                (EventKind.CLUB_ACTIVITY, f"{club}俱乐部活动", date(year, month, 15), club)
            )
    plans = [plan for plan in plans if plan[2] <= last_day]
    capacity = max(4, min(200, len(people) // 20))
    signups = 0
    for index, (kind, title, day, club) in enumerate(plans):
        starts = _moment(day, 14, zone)
        with database.session() as session:
            event = events.create(
                session,
                kind=kind,
                title=title,
                starts_at=starts,
                ends_at=starts + timedelta(hours=3),
                place="市局工会活动中心",
                capacity=capacity,
                signup_deadline=starts - timedelta(days=1),
                audience=Audience.CLUB if club else Audience.EVERYONE,
                audience_value=club,
                created_by=ACTOR,
            )
            event_id = int(event.id or 0)
            members = set(clubs.member_ids(session, club)) if club else set()
        if kind == EventKind.MATCHMAKING:
            candidates = singles
        elif club:
            candidates = [p for p in pool if p.id in members]
        else:
            candidates = pool
        chosen = rng.sample(candidates, k=min(len(candidates), int(capacity * 0.9)))
        for person in chosen:
            with database.session() as session:
                events.sign_up(
                    session, event_id, person.id, person.gender, now=starts - timedelta(days=3)
                )
        with database.session() as session:
            for person in chosen:
                events.mark_attendance(session, event_id, person.id, rng.random() < 0.88)
        signups += len(chosen)
        show("events", index + 1, len(plans))
    return len(plans), signups


def _bookings(
    database: Database,
    policy: Policy,
    rng: random.Random,
    people: Sequence[_Person],
    year: int,
    last_day: date,
    zone: ZoneInfo,
    show: Progress,
) -> int:
    """Each service booked about once a year per hundred officers, on its own slots (working
    days, opening hours), nine in ten of them attended."""
    from bot.rules.slots import slots_of_day
    from handlers.bookings import calendar_of, offer_of

    pool = _bound(people)
    calendar = calendar_of(policy)
    total = 0
    for number, service in enumerate(policy.services, start=1):
        offer = offer_of(service, zone)
        for _ in range(max(1, len(pool) // 100)):
            day = _day(rng, year, last_day)
            slots = slots_of_day(service, calendar, day, zone)
            if not slots:
                continue  # a day off
            slot = rng.choice(slots)
            person = rng.choice(pool)
            with database.session() as session:
                row = booking_storage.slot_row(
                    session, service.key, slot.start, slot.end, service.places_per_slot
                )
                slot_id = int(row.id or 0)
            with database.session() as session:
                joined = booking_storage.book(
                    session, offer, slot_id, person.id, now=slot.start - timedelta(days=2)
                )
            if joined.outcome != Outcome.SIGNED:
                continue  # full, or past the officer's limits
            total += 1
            with database.session() as session:
                booking_storage.mark_attendance(session, slot_id, person.id, rng.random() < 0.9)
        show("bookings", number, len(policy.services))
    return total


def _greetings(
    database: Database,
    policy: Policy,
    year: int,
    last_day: date,
    zone: ZoneInfo,
    show: Progress,
) -> int:
    """Every day's greeting run at 10:00, through the bot's own greeting run; delivered.

    The days when no run can find anyone (no festival, no birthday on the roster) are passed
    over: a run there would write nothing, and with a small roster they are most of the year.
    The first day always runs, delivering whatever the earlier steps left sending.
    """
    first = date(year, 1, 1)
    day, total, sent = first, (last_day - first).days + 1, 0
    number = 0
    with database.session() as session:
        birthdays = greeting_storage.roster_birthdays(session)
    while day <= last_day:
        if day == first or may_greet(day, policy, birthdays):
            at_ten = _moment(day, 10, zone)
            queue_greetings(database, policy, at_ten, zone=zone)
            with database.session() as session:
                sent += _deliver_waiting(session, at_ten)
        number += 1
        if number % 30 == 0 or day == last_day:
            show("greetings", number, total)
        day += timedelta(days=1)
    return sent
