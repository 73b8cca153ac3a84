"""storage/statistics.py against a hand-counted year, on SQLite and PostgreSQL.

The fixture below is written through the features' own storage functions; every expected
number in the tests was counted by hand from it (the comments say which rows make it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select, update

from storage import appeals, blood, bookings, broadcasts, care, clubs, drives, events, ledger
from storage import statistics as st
from storage.broadcasts import Recipient
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    AppealAnswer,
    AppealReply,
    BloodAppeal,
    BroadcastKind,
    CaseStatus,
    Delivery,
    EventKind,
    Priority,
)
from tests.conftest import add_officer

ZONE = ZoneInfo("Asia/Shanghai")
YEAR = 2025
A, B = "天元分局", "芦淞分局"
SINCE = date(2018, 9, 1)
CLUBS = ("马拉松", "足球")
SERVICES = (("health-room", False), ("counselling", True))
CIPHER = FieldCipher(FieldCipher.generate_key())
TEXTS = appeals.NoticeTexts(stand_down="够了", still_expected="请来", closed="结束")


def at(month: int, day: int, hour: int = 10, year: int = YEAR) -> datetime:
    """A moment in Shanghai, as UTC."""
    return datetime(year, month, day, hour, tzinfo=ZONE).astimezone(UTC)


@dataclass
class World:
    """The officers' ids, by name."""

    o1: int
    o2: int
    o3: int
    o4: int
    o5: int
    o6: int


def _officers(database: Database) -> World:
    o1 = add_officer(
        database, "P1", "甲", "13800000001", unit=A, bound_to=101, gender="M", single_opt_in=True
    )
    o2 = add_officer(
        database, "P2", "乙", "13800000002", unit=A, bound_to=102, gender="F", single_opt_in=True
    )
    o3 = add_officer(database, "P3", "丙", "13800000003", unit=A, gender="F")
    o4 = add_officer(database, "P4", "丁", "13800000004", unit=B, bound_to=104, gender="M")
    o5 = add_officer(
        database, "P5", "戊", "13800000005", unit=B, gender="M", active=False, left_at=at(6, 1)
    )
    o6 = add_officer(
        database, "P6", "己", "13800000006", unit=B, bound_to=106, gender="F", single_opt_in=True
    )
    ids = [o.id for o in (o1, o2, o3, o4, o5, o6)]
    assert all(i is not None for i in ids)
    return World(*[int(i or 0) for i in ids])


def _care(database: Database, w: World) -> None:
    def case(officer: int, event: str, day: date, amount: int = 1000, **kw: object) -> int:
        with database.session() as session:
            new = care.NewCase(officer, officer, event, day, policy_amount=amount)
            return int(care.create(session, new, CIPHER, **kw).id or 0)  # type: ignore[arg-type]

    def step(case_id: int, to: CaseStatus, amount: int | None = None) -> None:
        with database.session() as session:
            found = care.get(session, case_id)
            assert found is not None
            assert care.advance(session, found, to, actor="t", amount=amount, cipher=CIPHER)

    c1 = case(w.o1, "hospitalization", date(YEAR, 3, 1))
    step(c1, CaseStatus.PAID)  # 1000
    c2 = case(w.o2, "marriage", date(YEAR, 5, 1))
    step(c2, CaseStatus.VISITED)
    c3 = case(w.o4, "hospitalization", date(YEAR, 7, 1))
    case(w.o4, "hospitalization", date(YEAR, 7, 1), duplicate_of=c3)
    c5 = case(w.o6, "childbirth", date(YEAR - 1, 12, 31))
    step(c5, CaseStatus.PAID, 800)
    c6 = case(w.o2, "retirement", date(YEAR, 11, 11))
    step(c6, CaseStatus.DECLINED)


def _blood(database: Database, w: World) -> None:
    with database.session() as session:
        d1 = drives.create(
            session,
            starts_at=at(4, 10),
            place="中心血站",
            capacity=2,
            blood_types_wanted="",
            created_by="t",
        )
        d2 = drives.create(
            session,
            starts_at=at(8, 1),
            place="中心血站",
            capacity=5,
            blood_types_wanted="",
            created_by="t",
        )
        ids = int(d1.id or 0), int(d2.id or 0)
    early = at(3, 1)
    for officer in (w.o1, w.o4, w.o6):  # o6 waits: two places
        with database.session() as session:
            drives.sign_up(session, ids[0], officer, now=early)
    with database.session() as session:
        drives.sign_up(session, ids[1], w.o2, now=early)
    with database.session() as session:
        drives.cancel_drive(session, ids[1])
    rows = [
        (w.o1, date(YEAR, 4, 10), blood.WHOLE_BLOOD, 400, ids[0]),
        (w.o4, date(YEAR, 4, 10), blood.WHOLE_BLOOD, 300, ids[0]),
        (w.o4, date(YEAR, 9, 1), blood.PLATELETS, 2, None),
        (w.o2, date(YEAR, 9, 1), blood.PLASMA, 200, None),
        (w.o1, date(YEAR - 1, 10, 1), blood.WHOLE_BLOOD, 400, None),
    ]
    with database.session() as session:
        for officer, day, component, amount, drive in rows:
            blood.record(
                session,
                officer_id=officer,
                donated_on=day,
                component=component,
                amount=amount,
                recorded_by="t",
                drive_id=drive,
            )
    # An appeal to o1, o2 and o4: o1 and o2 reached, o4's still waiting (asked, not reached).
    with database.session() as session:
        appeal = appeals.create(
            session,
            blood_group="O",
            rh_negative=False,
            component="platelets",
            hospital="市中心医院",
            address="-",
            contact="-",
            units_needed=5,
            deadline=at(9, 2),
            created_by="t",
            tally_chat_id=None,
            recipients=[Recipient(w.o1, 101), Recipient(w.o2, 102), Recipient(w.o4, 104)],
            text="急需",
            buttons_for=lambda _id: "[]",
        )
        appeal_id = int(appeal.id or 0)
        # The appeal is dated in the fixture's year (created_at is the moment it was made).
        session.execute(
            update(BloodAppeal)
            .where(col(BloodAppeal.id) == appeal_id)
            .values(created_at=at(9, 1, 10))
        )
        deliveries = session.exec(
            select(Delivery).where(Delivery.broadcast_id == appeal.broadcast_id)
        ).all()
        for delivery in deliveries:
            if delivery.officer_id in (w.o1, w.o2):
                broadcasts.mark_sent(session, int(delivery.id or 0), 1)
    for officer, answer in (
        (w.o1, AppealAnswer.COMING),
        (w.o2, AppealAnswer.CANNOT),
        (w.o1, AppealAnswer.ARRIVED),
    ):
        with database.session() as session:
            appeals.reply(session, appeal_id, officer, answer, texts=TEXTS)
    with database.session() as session:
        session.execute(
            update(AppealReply)
            .where(col(AppealReply.officer_id) == w.o1)
            .values(at=at(9, 1, 10) + timedelta(minutes=30))
        )


def _events(database: Database, w: World) -> None:
    def event(kind: EventKind, starts: datetime, capacity: int, **kw: object) -> int:
        with database.session() as session:
            made = events.create(
                session,
                kind=kind,
                title="活动",
                starts_at=starts,
                ends_at=starts + timedelta(hours=2),
                place="工会",
                capacity=capacity,
                signup_deadline=starts - timedelta(days=1),
                created_by="t",
                **kw,
            )
            return int(made.id or 0)

    def join(event_id: int, officer: int, gender: str | None) -> None:
        with database.session() as session:
            events.sign_up(session, event_id, officer, gender, now=at(1, 2))

    def mark(event_id: int, officer: int, present: bool) -> None:
        with database.session() as session:
            assert events.mark_attendance(session, event_id, officer, present)

    e1 = event(EventKind.MATCHMAKING, at(2, 14), 10)
    join(e1, w.o1, "M")
    join(e1, w.o2, "F")
    join(e1, w.o6, "F")
    mark(e1, w.o1, True)
    mark(e1, w.o2, False)
    e2 = event(EventKind.CLASS, at(6, 1), 1)
    join(e2, w.o3, "F")
    join(e2, w.o4, "M")  # waitlisted
    mark(e2, w.o3, True)
    e3 = event(EventKind.OUTING, at(7, 1), 5)
    join(e3, w.o1, "M")
    with database.session() as session:
        events.cancel_event(session, e3)
    e4 = event(EventKind.CLUB_ACTIVITY, at(10, 1), 20, audience="club", audience_value="马拉松")
    with database.session() as session:
        for officer, club in ((w.o1, "马拉松"), (w.o4, "马拉松"), (w.o5, "马拉松"), (w.o2, "足球")):
            clubs.join(session, officer, club)
    join(e4, w.o1, "M")
    join(e4, w.o4, "M")
    mark(e4, w.o1, True)
    mark(e4, w.o4, True)
    e5 = event(EventKind.CLASS, at(3, 1, year=YEAR + 1), 5)  # next year: never counted
    join(e5, w.o1, "M")


def _greetings(database: Database, w: World) -> None:
    def queue(occasion: str, day: date, people: list[int], kind: BroadcastKind) -> int:
        with database.session() as session:
            made = ledger.queue_once(
                session,
                occasion,
                day,
                [Recipient(p, 100 + p) for p in people],
                kind=kind,
                priority=Priority.LOW,
                text="好",
                created_by="t",
            )
            assert made is not None
            return int(made.id or 0)

    def deliver(broadcast_id: int, sent: list[int], blocked: list[int] = ()) -> None:  # type: ignore[assignment]
        with database.session() as session:
            for delivery in session.exec(
                select(Delivery).where(Delivery.broadcast_id == broadcast_id)
            ).all():
                if delivery.officer_id in sent:
                    broadcasts.mark_sent(session, int(delivery.id or 0), 1)
                elif delivery.officer_id in blocked:
                    broadcasts.mark_blocked(session, int(delivery.id or 0), delivery.chat_id)

    chunjie = queue("chunjie", date(YEAR, 1, 29), [w.o1, w.o2, w.o4, w.o6], BroadcastKind.GREETING)
    deliver(chunjie, [w.o1, w.o2, w.o4], [w.o6])
    birthday = queue("birthday", date(YEAR, 3, 3), [w.o1], BroadcastKind.GREETING)
    deliver(birthday, [w.o1])
    reminder = queue("drive:1", date(YEAR, 4, 9), [w.o1], BroadcastKind.REMINDER)
    deliver(reminder, [w.o1])
    earlier = queue("guoqing", date(YEAR - 1, 10, 1), [w.o1], BroadcastKind.GREETING)
    deliver(earlier, [w.o1])


def _bookings(database: Database, w: World) -> None:
    def offer(key: str) -> bookings.Offer:
        return bookings.Offer(key, 4, 0, None, None, ZONE.key)

    def book(key: str, starts: datetime, officer: int, present: bool | None) -> None:
        with database.session() as session:
            slot = bookings.slot_row(session, key, starts, starts + timedelta(hours=1), 4)
            slot_id = int(slot.id or 0)
        with database.session() as session:
            bookings.book(session, offer(key), slot_id, officer, now=at(1, 1))
        if present is not None:
            with database.session() as session:
                assert bookings.mark_attendance(session, slot_id, officer, present)

    book("health-room", at(5, 6, 9), w.o1, True)
    book("health-room", at(5, 6, 9), w.o4, False)
    book("health-room", at(5, 7, 9), w.o2, None)
    book("counselling", at(5, 8, 15), w.o3, True)


@pytest.fixture
def world(database: Database) -> World:
    w = _officers(database)
    _care(database, w)
    _blood(database, w)
    _events(database, w)
    _greetings(database, w)
    _bookings(database, w)
    return w


YEAR_PERIOD = st.Period.year(YEAR, ZONE)


def test_members_are_the_roster_today(database: Database, world: World) -> None:
    with database.session() as session:
        union = st.members(session, YEAR_PERIOD)
        unit_a = st.members(session, YEAR_PERIOD, unit=A)
    # 6 rows, o5 left (inactive) on 2025-06-01; bound: o1 o2 o4 o6; men o1 o4; women o2 o3 o6.
    assert union == st.MemberFigures(
        6, 5, 4, 2, 3, 1, (st.UnitMembers(A, 3, 2), st.UnitMembers(B, 2, 2))
    )
    assert unit_a == st.MemberFigures(3, 3, 2, 1, 2, 0, (st.UnitMembers(A, 3, 2),))


def test_care_counts_as_the_cases_screen(database: Database, world: World) -> None:
    with database.session() as session:
        union = st.care(session, YEAR_PERIOD, since=SINCE)
        unit_a = st.figures(
            session,
            YEAR_PERIOD,
            comforted_since=SINCE,
            clubs_named=CLUBS,
            services=SERVICES,
            unit=A,
            only="care",
        ).care
        july = st.care(session, st.Period.month(YEAR, 7, ZONE), since=SINCE)
        screen = care.figures(session, date(YEAR, 1, 1), date(YEAR, 12, 31))
    # c1 paid 1000, c2 visited, c3 reported (+ its duplicate c4), c6 declined; c5 is 2024.
    assert [(k.event, k.cases, k.paid_cases, k.paid_sum) for k in union.by_kind] == [
        ("hospitalization", 2, 1, 1000),
        ("marriage", 1, 0, 0),
        ("retirement", 1, 0, 0),
    ]
    assert [(k.event, k.cases, k.paid_cases, k.paid_sum) for k in union.by_kind] == [
        (r.event, r.cases, r.paid_cases, r.paid_sum) for r in screen
    ]
    assert (union.cases, union.paid_cases, union.paid_sum) == (4, 1, 1000)
    assert dict(union.by_status) == {
        "reported": 1,
        "visited": 1,
        "paid": 1,
        "declined": 1,
        "duplicate": 1,
    }
    # Comforted since 2018-09-01: o1 (paid), o2 (visited), o6 (paid in 2024).
    assert union.comforted == 3 and union.comforted_since == SINCE
    # Never split by unit: a small unit's cases would name its colleagues' troubles.
    assert unit_a == st.CareFigures(0, 0, 0, (), (), SINCE, 0)
    assert (july.cases, dict(july.by_status)["duplicate"], dict(july.by_status)["reported"]) == (
        1,
        1,
        1,
    )


def test_blood_counts_as_the_blood_screen(database: Database, world: World) -> None:
    with database.session() as session:
        union = st.blood(session, YEAR_PERIOD)
        unit_a = st.blood(session, YEAR_PERIOD, unit=A)
        april = st.blood(session, st.Period.month(YEAR, 4, ZONE))
        screen = blood.year_figures(session, YEAR)
    # 2025: o1 400 whole, o4 300 whole, o4 2 platelet units, o2 200 plasma; o1's 2024 aside.
    assert (union.donors, union.donations, union.ml, union.whole_ml) == (3, 4, 900, 700)
    assert (union.platelet_units, union.drives_recorded) == (2, 1)
    assert (screen.donors, screen.donations, screen.ml, screen.units) == (3, 4, 900, 2)
    assert union.by_month == (0, 0, 0, 2, 0, 0, 0, 0, 2, 0, 0, 0)
    # Drive 1 held with o1 and o4 (o6 waits); drive 2 was cancelled.
    assert (union.drives_held, union.drive_signups) == (1, 2)
    assert (unit_a.donors, unit_a.donations, unit_a.ml, unit_a.whole_ml) == (2, 2, 600, 400)
    assert (unit_a.drives_held, unit_a.drive_signups, unit_a.platelet_units) == (1, 1, 0)
    assert (april.donors, april.donations, april.ml, april.by_month) == (2, 2, 700, (2,))
    assert union.appeals == st.AppealFigures(1, 3, 2, 2, 1, 1, 30.0)
    assert unit_a.appeals == st.AppealFigures(1, 2, 2, 2, 1, 1, None)
    with database.session() as session:
        assert st.blood(session, st.Period.month(YEAR, 1, ZONE)).appeals == st.AppealFigures()


def test_events_by_kind_and_matchmaking_by_gender(database: Database, world: World) -> None:
    with database.session() as session:
        union = st.events(session, YEAR_PERIOD)
        unit_a = st.events(session, YEAR_PERIOD, unit=A)
    assert union.by_kind == (
        st.EventKindFigures("matchmaking", 1, 10, 3, 0, 1, 1),
        st.EventKindFigures("class", 1, 1, 1, 1, 1, 0),
        st.EventKindFigures("club_activity", 1, 20, 2, 0, 2, 0),
    )
    assert (union.events, union.places, union.signed, union.attended, union.absent) == (
        3,
        31,
        6,
        4,
        1,
    )
    assert union.no_show_rate == 0.2
    assert union.matchmaking_by_gender == (("M", 1, 1), ("F", 2, 0))
    assert unit_a.by_kind == (
        st.EventKindFigures("matchmaking", 1, 0, 2, 0, 1, 1),
        st.EventKindFigures("class", 1, 0, 1, 0, 1, 0),
        st.EventKindFigures("club_activity", 1, 0, 1, 0, 1, 0),
    )
    # Matchmaking is never split by gender for a unit: it would name who signed up.
    assert unit_a.matchmaking_by_gender == ()


def test_clubs_greetings_and_bookings(database: Database, world: World) -> None:
    with database.session() as session:
        club_rows = st.clubs(session, YEAR_PERIOD, CLUBS)
        club_a = st.clubs(session, YEAR_PERIOD, CLUBS, unit=A)
        greeted = st.greetings(session, YEAR_PERIOD)
        greeted_a = st.greetings(session, YEAR_PERIOD, unit=A)
        booked = st.bookings(session, YEAR_PERIOD, SERVICES)
        booked_a = st.bookings(session, YEAR_PERIOD, SERVICES, unit=A)
    # 马拉松: o1, o4 (o5 left); one activity, o1 and o4 came. 足球: o2.
    assert club_rows == (st.ClubFigures("马拉松", 2, 1, 2, 2), st.ClubFigures("足球", 1, 0, 0, 0))
    assert club_a == (st.ClubFigures("马拉松", 1, 1, 1, 1), st.ClubFigures("足球", 1, 0, 0, 0))
    # 春节 to four, o6 blocked; o1's birthday; the drive reminder and 2024's 国庆 aside.
    assert greeted == (st.GreetingFigures("chunjie", 4, 3), st.GreetingFigures("birthday", 1, 1))
    assert greeted[0].not_reached == 1
    assert greeted_a == (st.GreetingFigures("chunjie", 2, 2), st.GreetingFigures("birthday", 1, 1))
    assert booked == (
        st.ServiceFigures("health-room", False, 3, 1, 1),
        st.ServiceFigures("counselling", True, 1, 0, 0),
    )
    # A unit sees its own health-room bookings and nothing of counselling.
    assert booked_a == (st.ServiceFigures("health-room", False, 2, 1, 0),)


def test_unit_rows_agree_with_the_unit_figures(database: Database, world: World) -> None:
    with database.session() as session:
        rows = st.unit_rows(session, YEAR_PERIOD)
        for row in rows:
            f = st.figures(
                session,
                YEAR_PERIOD,
                comforted_since=SINCE,
                clubs_named=CLUBS,
                services=SERVICES,
                unit=row.unit,
            )
            assert (row.active, row.bound) == (f.members.active, f.members.bound)
            assert (f.care.cases, f.events.matchmaking_by_gender) == (0, ())  # never by unit
            assert (row.blood_donors, row.blood_ml) == (f.blood.donors, f.blood.ml)
            assert (row.event_signed, row.event_attended) == (f.events.signed, f.events.attended)
            assert row.greetings_sent == sum(g.sent for g in f.greetings)
            assert row.greetings_reached == sum(g.reached for g in f.greetings)
    assert [r.unit for r in rows] == [A, B]
    # The organizers' report still counts care per unit (c1 c2 c3 in A, c6 in B).
    assert [(r.care_cases, r.care_paid_sum) for r in rows] == [(3, 1000), (1, 0)]
    assert rows[1] == st.UnitRow(B, 2, 2, 1, 0, 1, 300, 2, 1, 2, 1)


def test_one_section_alone_is_the_same_as_in_the_whole(database: Database, world: World) -> None:
    with database.session() as session:
        whole = st.figures(
            session, YEAR_PERIOD, comforted_since=SINCE, clubs_named=CLUBS, services=SERVICES
        )
        care_only = st.figures(
            session,
            YEAR_PERIOD,
            comforted_since=SINCE,
            clubs_named=CLUBS,
            services=SERVICES,
            only="care",
        )
    assert care_only.care == whole.care
    assert care_only.blood.donations == 0 and care_only.members.on_roster == 0
    assert care_only.greetings == () and whole.greetings != ()


def test_an_empty_database_has_no_figures_and_no_officers(database: Database) -> None:
    with database.session() as session:
        assert not st.has_officers(session)
        f = st.figures(
            session, YEAR_PERIOD, comforted_since=SINCE, clubs_named=CLUBS, services=SERVICES
        )
        assert f.members.on_roster == 0 and f.care.cases == 0 and f.blood.donations == 0
        assert (
            f.events.no_show_rate is None
            and f.greetings == ()
            and st.unit_rows(session, YEAR_PERIOD) == ()
        )
    add_officer(database, "P9", "庚", "13800000009")
    with database.session() as session:
        assert st.has_officers(session)
        assert st.units_with_officers(session) == ["天元分局"]


def test_periods() -> None:
    assert st.Period.month(2024, 2, ZONE).end == date(2024, 2, 29)
    assert st.Period.month(2025, 12, ZONE).end == date(2025, 12, 31)
    assert st.Period.year(2025, ZONE).whole_year == 2025
    assert st.Period.month(2025, 1, ZONE).whole_year is None
    assert st.Period(date(2024, 2, 29), date(2024, 2, 29), ZONE).before().start == date(2023, 2, 28)
    start, end = st.Period.year(2025, ZONE).moments()
    assert start == datetime(2024, 12, 31, 16, tzinfo=UTC) and end - start == timedelta(days=365)
