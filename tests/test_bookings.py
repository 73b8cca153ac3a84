"""Bookings of the services by slot: storage as tables (book, cancel, promote, limit, no-show,
close, the race for the last place) and the officer's dialog through the sandbox."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from bot.policy import ServicePolicy, load_policy
from bot.rules import slots as slot_rules
from bot.rules.capacity import Outcome
from bot.rules.workdays import WorkCalendar
from handlers.bookings import DAY_FORMAT, SLOT_FORMAT, offer_of, promoted_text
from handlers.callbacks import BookingAction, BookStep
from storage import bookings, officers
from storage.db import Database
from storage.models import AuditEntry, Booking, Officer, SignupState
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
CALENDAR = WorkCalendar.with_policy(POLICY.workdays.years)
# A Monday far ahead (a working day), so that every slot of it is open and ahead.
MONDAY = date(2030, 6, 3)
NOW = datetime(2030, 5, 27, 1, 0, tzinfo=UTC)  # the Monday before, 09:00 in Shanghai


def service(key: str) -> ServicePolicy:
    found = POLICY.service(key)
    assert found is not None
    return found


HEALTH = service("health-room")  # 3 places a slot, one open booking each
GYM = service("gym")  # 15 places, 3 a week
COUNSELLING = service("counselling")  # 1 place, one open booking


def _slot(svc: ServicePolicy, day: date = MONDAY, index: int = 0) -> slot_rules.Slot:
    return slot_rules.slots_of_day(svc, CALENDAR, day, SHANGHAI)[index]


def _slot_id(database: Database, svc: ServicePolicy, slot: slot_rules.Slot) -> int:
    with database.session() as session:
        row = bookings.slot_row(session, svc.key, slot.start, slot.end, svc.places_per_slot)
        assert row.id is not None
        return row.id


def _people(database: Database, count: int, *, first: int = 1) -> list[Officer]:
    return [
        add_officer(
            database, f"3000{n:02d}", f"会员{n}", f"+86139000000{n:02d}", bound_to=7_900 + n
        )
        for n in range(first, first + count)
    ]


def _book(
    database: Database, svc: ServicePolicy, slot_id: int, officer: Officer, now: datetime = NOW
) -> tuple[Outcome, int | None]:
    assert officer.id is not None
    with database.session() as session:
        joined = bookings.book(session, offer_of(svc, SHANGHAI), slot_id, officer.id, now=now)
        return joined.outcome, joined.position


def _cancel(
    database: Database, svc: ServicePolicy, slot_id: int, officer: Officer, now: datetime = NOW
) -> bookings.capacity.Left:
    assert officer.id is not None
    with database.session() as session:
        return bookings.cancel(session, offer_of(svc, SHANGHAI), slot_id, officer.id, now=now)


def _states(database: Database, slot_id: int) -> list[tuple[str, str]]:
    with database.session() as session:
        rows = session.exec(
            select(Booking, Officer)
            .join(Officer, Officer.id == Booking.officer_id)  # type: ignore[arg-type]
            .where(Booking.slot_id == slot_id)
            .order_by(Booking.position)  # type: ignore[arg-type]
        ).all()
        return [(officer.name, booking.state) for booking, officer in rows]


# --- storage: the operations as a table -------------------------------------------------------


def test_book_fill_wait_and_again(database: Database) -> None:
    people = _people(database, 5)
    slot_id = _slot_id(database, HEALTH, _slot(HEALTH))
    table = [
        (people[0], (Outcome.SIGNED, None)),
        (people[1], (Outcome.SIGNED, None)),
        (people[2], (Outcome.SIGNED, None)),
        (people[3], (Outcome.WAITLISTED, 1)),
        (people[4], (Outcome.WAITLISTED, 2)),
        (people[0], (Outcome.ALREADY_SIGNED, None)),
        (people[4], (Outcome.ALREADY_WAITLISTED, 2)),
    ]
    for officer, wanted in table:
        assert _book(database, HEALTH, slot_id, officer) == wanted, officer.name
    with database.session() as session:
        use = bookings.usage(session, HEALTH.key, NOW, NOW + timedelta(days=30))
    assert use[_slot(HEALTH).start] == bookings.SlotUse(booked=3, waiting=2, closed=False)


def test_cancel_promotes_the_first_in_line_still_on_the_roster(database: Database) -> None:
    people = _people(database, 5)
    slot_id = _slot_id(database, HEALTH, _slot(HEALTH))
    for officer in people:
        _book(database, HEALTH, slot_id, officer)
    # 会员4 waits first but left the roster: 会员5 moves up, 会员4 keeps waiting.
    with database.session() as session:
        gone = officers.by_id(session, people[3].id or 0)
        assert gone is not None
        officers.update_profile(session, gone, active=False)
    left = _cancel(database, HEALTH, slot_id, people[0])
    assert (left.refused, left.was, left.promoted) == (None, SignupState.SIGNED, people[4].id)
    assert _states(database, slot_id) == [
        ("会员1", "cancelled"),
        ("会员2", "signed"),
        ("会员3", "signed"),
        ("会员4", "waitlisted"),
        ("会员5", "signed"),
    ]


@pytest.mark.parametrize(
    ("minutes_before", "refused"),
    [
        (24 * 60, None),
        (121, None),
        (120, Outcome.DEADLINE),
        (119, Outcome.DEADLINE),
        (0, Outcome.CLOSED),
    ],
)
def test_cancellation_deadline(
    database: Database, minutes_before: int, refused: Outcome | None
) -> None:
    """The health room: cancelling until 120 minutes before the slot, not at that moment."""
    (officer,) = _people(database, 1)
    slot = _slot(HEALTH)
    slot_id = _slot_id(database, HEALTH, slot)
    _book(database, HEALTH, slot_id, officer)
    left = _cancel(
        database, HEALTH, slot_id, officer, slot.start - timedelta(minutes=minutes_before)
    )
    assert left.refused == refused


def test_one_open_health_room_booking_but_other_services_are_apart(database: Database) -> None:
    (officer,) = _people(database, 1)
    first = _slot_id(database, HEALTH, _slot(HEALTH, index=0))
    second = _slot_id(database, HEALTH, _slot(HEALTH, index=1))
    gym = _slot_id(database, GYM, _slot(GYM))
    assert _book(database, HEALTH, first, officer)[0] == Outcome.SIGNED
    assert _book(database, HEALTH, second, officer)[0] == Outcome.LIMIT
    assert _book(database, GYM, gym, officer)[0] == Outcome.SIGNED
    # Once the first is given up, the second may be booked.
    assert _cancel(database, HEALTH, first, officer).was == SignupState.SIGNED
    assert _book(database, HEALTH, second, officer)[0] == Outcome.SIGNED


def test_facilities_at_most_three_a_week(database: Database) -> None:
    (officer,) = _people(database, 1)
    week = [MONDAY + timedelta(days=n) for n in range(4)]
    outcomes = [
        _book(database, GYM, _slot_id(database, GYM, _slot(GYM, day)), officer)[0] for day in week
    ]
    assert outcomes == [Outcome.SIGNED, Outcome.SIGNED, Outcome.SIGNED, Outcome.LIMIT]
    next_monday = _slot_id(database, GYM, _slot(GYM, MONDAY + timedelta(days=7)))
    assert _book(database, GYM, next_monday, officer)[0] == Outcome.SIGNED


def test_no_shows_are_counted_per_service(database: Database) -> None:
    (officer,) = _people(database, 1)
    assert officer.id is not None
    days = [MONDAY + timedelta(days=7 * n) for n in range(3)]
    for day in days:
        slot = _slot(HEALTH, day)
        slot_id = _slot_id(database, HEALTH, slot)
        # Booked the day before, once the last one is past (one open booking at a time).
        assert _book(database, HEALTH, slot_id, officer, slot.start - timedelta(days=1))[0] == (
            Outcome.SIGNED
        )
        with database.session() as session:
            assert bookings.mark_attendance(session, slot_id, officer.id, False)
    with database.session() as session:
        missed = bookings.missed_days(session, HEALTH.key, officer.id, NOW)
        assert bookings.missed_days(session, GYM.key, officer.id, NOW) == []
    local = [moment.astimezone(SHANGHAI).date() for moment in missed]
    assert sorted(local) == days
    until = slot_rules.no_show_block(HEALTH.no_show, local)
    assert until == days[-1] + timedelta(days=29)


def test_closing_a_slot_cancels_its_bookings_and_refuses_new_ones(database: Database) -> None:
    people = _people(database, 4)
    slot_id = _slot_id(database, HEALTH, _slot(HEALTH))
    for officer in people:
        _book(database, HEALTH, slot_id, officer)
    with database.session() as session:
        told = bookings.close_slot(session, slot_id)
    assert [r.officer_id for r in told] == [o.id for o in people]
    assert {state for _, state in _states(database, slot_id)} == {"cancelled"}
    (late,) = _people(database, 1, first=9)
    assert _book(database, HEALTH, slot_id, late)[0] == Outcome.CLOSED


def test_the_last_place_goes_to_one_of_two_racing_officers(database: Database) -> None:
    """Two threads book the counselling slot's one place at the same instant."""
    people = _people(database, 2)
    slot_id = _slot_id(database, COUNSELLING, _slot(COUNSELLING))
    barrier = threading.Barrier(2)

    def race(officer: Officer) -> Outcome:
        barrier.wait()
        return _book(database, COUNSELLING, slot_id, officer)[0]

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(race, people))
    assert outcomes == sorted([Outcome.SIGNED, Outcome.WAITLISTED])
    assert sorted(state for _, state in _states(database, slot_id)) == ["signed", "waitlisted"]


def _pressed(
    database: Database, svc: ServicePolicy, slot: slot_rules.Slot, officer: Officer
) -> tuple[Outcome, int | None]:
    """What a 确认预约 press does in its block: the slot read and locked, then the booking."""
    assert officer.id is not None
    with database.session() as session:
        row = bookings.slot_row(
            session, svc.key, slot.start, slot.end, svc.places_per_slot, lock=True
        )
        assert row.id is not None and row.starts_at == slot.start
        joined = bookings.book(
            session, offer_of(svc, SHANGHAI), row.id, officer.id, now=NOW, slot=row
        )
        return joined.outcome, joined.position


def _slot_reads(statements: list[str]) -> int:
    """Reads of a slot's row (the limits' reads join the slots too, for their starts only)."""
    return sum(1 for statement in statements if statement.startswith("SELECT service_slot.id"))


async def test_a_batchs_presses_read_their_locked_slot_once(database: Database) -> None:
    """In one unit (a batch of presses) the slot is read and locked by the first press only;
    a write to the slots, or a block that rolls back, has it read again."""
    people = _people(database, 5)
    slot = _slot(HEALTH)
    _slot_id(database, HEALTH, slot)  # the slot's row exists, as after its first booking
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        with database.unit():
            assert _pressed(database, HEALTH, slot, people[0]) == (Outcome.SIGNED, None)
            assert _pressed(database, HEALTH, slot, people[1]) == (Outcome.SIGNED, None)
            assert _slot_reads(statements) == 1
            # Another slot's first booking writes its row: this slot is read again.
            _slot_id(database, HEALTH, _slot(HEALTH, index=1))
            assert _pressed(database, HEALTH, slot, people[2]) == (Outcome.SIGNED, None)
            assert _slot_reads(statements) == 4  # the other slot's two reads, this one's
            with pytest.raises(RuntimeError), database.session() as session:
                _add_undone(session)
            assert _pressed(database, HEALTH, slot, people[3]) == (Outcome.WAITLISTED, 1)
            assert _slot_reads(statements) == 5
            assert _pressed(database, HEALTH, slot, people[4]) == (Outcome.WAITLISTED, 2)
            assert _slot_reads(statements) == 5
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
    slot_id = _slot_id(database, HEALTH, slot)
    assert [state for _, state in _states(database, slot_id)] == [
        "signed",
        "signed",
        "signed",
        "waitlisted",
        "waitlisted",
    ]


def _reads(statements: list[str]) -> dict[str, int]:
    """The reads a booking press makes, by what they ask."""
    counted = {"missed": 0, "tally": 0, "rows": 0, "others": 0, "officer locks": 0}
    for statement in statements:
        if "booking.attended IS" in statement:
            counted["missed"] += 1
        elif statement.startswith("SELECT booking.state"):
            counted["tally"] += 1
        elif statement.startswith("SELECT booking.officer_id, booking.id"):
            counted["rows"] += 1
        elif "booking.slot_id !=" in statement:
            counted["others"] += 1
        elif statement.startswith("SELECT officer.id") and "FOR UPDATE" in statement:
            counted["officer locks"] += 1
    return counted


def _read_counts(missed: int, tally: int, rows: int, others: int, locks: int) -> dict[str, int]:
    return {
        "missed": missed,
        "tally": tally,
        "rows": rows,
        "others": others,
        "officer locks": locks,
    }


async def test_a_batchs_presses_are_decided_on_what_its_first_press_read(
    database: Database,
) -> None:
    """In a unit whose callers were read together (a batch of presses), the first press on a
    slot reads the tally, every caller's row, missed days and other bookings for them all; the
    presses after it are decided on that, kept up to date by their own bookings, until another
    write to the bookings (a cancellation) has the next press read again."""
    people = _people(database, 7)
    first, second = _slot(HEALTH), _slot(HEALTH, index=1)
    first_id, _ = _slot_id(database, HEALTH, first), _slot_id(database, HEALTH, second)
    # 会员7 missed a booking last week.
    missed = _slot(HEALTH, MONDAY - timedelta(days=7))
    missed_id = _slot_id(database, HEALTH, missed)
    assert _book(database, HEALTH, missed_id, people[6], missed.start - timedelta(days=1))[0] == (
        Outcome.SIGNED
    )
    with database.session() as session:
        assert bookings.mark_attendance(session, missed_id, people[6].id or 0, False)
    since = NOW - timedelta(days=120)
    statements: list[str] = []

    def listen(*args: object) -> None:
        statements.append(str(args[2]))

    def press(n: int, slot: slot_rules.Slot) -> tuple[Outcome, int | None, int]:
        """One caller's update: its caller taken, its missed days, its press."""
        officer = people[n]
        with database.session() as session:
            assert officers.bound_with_roles(session, 7_901 + n) is not None
            days = bookings.missed_days(session, HEALTH.key, officer.id or 0, since)
        return (*_pressed(database, HEALTH, slot, officer), len(days))

    event.listen(database.engine, "before_cursor_execute", listen)
    locks = 1 if database.dialect == "postgresql" else 0  # SQLite's unit holds its write lock
    try:
        with database.unit():
            with database.session() as session:
                officers.expect_callers(session, [7_901 + n for n in range(7)])
            assert press(0, first) == (Outcome.SIGNED, None, 0)
            assert _reads(statements) == _read_counts(1, 1, 1, 1, locks)
            assert press(1, first) == (Outcome.SIGNED, None, 0)
            # Another slot: its own tally and rows; the first slot's booking counts as open.
            assert press(0, second) == (Outcome.LIMIT, None, 0)
            assert press(2, first) == (Outcome.SIGNED, None, 0)
            assert press(3, first) == (Outcome.WAITLISTED, 1, 0)
            assert press(4, first) == (Outcome.WAITLISTED, 2, 0)
            assert _reads(statements) == _read_counts(1, 2, 2, 2, locks)
            # 会员2 cancels: 会员4 moves up, and the next press reads again.
            left = _cancel(database, HEALTH, first_id, people[1])
            assert left.promoted == people[3].id
            statements.clear()
            assert press(5, first) == (Outcome.WAITLISTED, 2, 0)
            assert press(6, first) == (Outcome.WAITLISTED, 3, 1)
            assert _reads(statements) == _read_counts(1, 1, 1, 1, 0)
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
    assert _states(database, first_id) == [
        ("会员1", "signed"),
        ("会员2", "cancelled"),
        ("会员3", "signed"),
        ("会员4", "signed"),
        ("会员5", "waitlisted"),
        ("会员6", "waitlisted"),
        ("会员7", "waitlisted"),
    ]
    assert _states(database, _slot_id(database, HEALTH, second)) == []


def _add_undone(session: Session) -> None:
    session.add(AuditEntry(at=NOW, actor="test", action="undone", target="", detail="{}"))
    session.flush()
    raise RuntimeError("the block fails")


def test_counselling_counts_by_month_never_names(database: Database) -> None:
    people = _people(database, 2)
    for index, officer in enumerate(people):
        _book(
            database,
            COUNSELLING,
            _slot_id(database, COUNSELLING, _slot(COUNSELLING, index=index)),
            officer,
        )
    with database.session() as session:
        counts = bookings.monthly_counts(
            session, COUNSELLING.key, NOW, NOW + timedelta(days=60), "Asia/Shanghai"
        )
    assert counts == {"2030-06": 2}


def test_working_days_of_2026() -> None:
    """The health room follows the official arrangement: open on 2026-02-14, a Saturday made a
    working day, closed on 2026-10-05, a Monday of the National Day holiday."""
    assert slot_rules.is_open(HEALTH, CALENDAR, date(2026, 2, 14))
    assert not slot_rules.is_open(HEALTH, CALENDAR, date(2026, 10, 5))
    assert slot_rules.is_open(GYM, CALENDAR, date(2026, 10, 5))  # facilities keep their hours


# --- the officer's dialog ------------------------------------------------------------------------

WANG = Person(7_950_000_001, "王警官")
LI = Person(7_950_000_002, "李警官")
ZHAO = Person(7_950_000_003, "赵警官")


def _bound(database: Database, person: Person, police_id: str, name: str) -> Officer:
    return add_officer(database, police_id, name, f"+861370000{police_id[-4:]}", bound_to=person.id)


def _tomorrow() -> date:
    return datetime.now(SHANGHAI).date() + timedelta(days=1)


def _first_slot_of(svc: ServicePolicy, after: date) -> slot_rules.Slot:
    """The first slot of the service on its first open day from `after`."""
    day = after
    while not slot_rules.is_open(svc, CALENDAR, day):
        day += timedelta(days=1)
    return slot_rules.slots_of_day(svc, CALENDAR, day, SHANGHAI)[0]


def _step(step: str, svc: ServicePolicy, slot: slot_rules.Slot) -> str:
    local = slot.start.astimezone(SHANGHAI)
    return BookStep(step, svc.key, local.strftime(DAY_FORMAT), local.strftime(SLOT_FORMAT)).pack()


def _time(slot: slot_rules.Slot) -> str:
    return slot.start.astimezone(SHANGHAI).strftime("%H:%M")


def _label(slot: slot_rules.Slot) -> str:
    local = slot.start.astimezone(SHANGHAI)
    return f"{local.month}月{local.day}日"


async def test_an_officer_books_with_taps_sees_it_and_cancels(bot: BotHarness) -> None:
    _bound(bot.database, WANG, "310001", "王建国")
    slot = _first_slot_of(GYM, _tomorrow())
    day = slot.start.astimezone(SHANGHAI).strftime(DAY_FORMAT)
    time_label = slot.start.astimezone(SHANGHAI).strftime("%H:%M")
    await bot.dialog.play(
        [
            (
                WANG,
                "/book",
                [says("想预约什么", buttons=["🏓 健身房", "🩺 健康屋", "📋 我的预约"])],
            ),
            (WANG, Press("🏓 健身房"), [edits("健身房", "请选择日期")]),
            (
                WANG,
                PressData(BookStep("day", GYM.key, day).pack()),
                [edits("健身房", _label(slot), "请选择时段", buttons=[f"{time_label} 余 15"])],
            ),
            (
                WANG,
                Press(f"{time_label} 余 15"),
                [
                    edits(
                        "请确认预约",
                        "健身房",
                        _label(slot),
                        time_label,
                        "市局机关大楼健身房",
                        buttons=["✅ 确认预约", "↩️ 返回"],
                    )
                ],
            ),
            (
                WANG,
                Press("✅ 确认预约"),
                [edits("预约成功", "健身房", time_label, buttons=["取消预约"])],
            ),
            (WANG, "/book mine", [says("我的预约（1 个）", "健身房", time_label)]),
            (WANG, Press("取消预约"), [edits("已取消预约")]),
            (WANG, "/book mine", [says("您目前没有预约")]),
        ]
    )


async def test_the_menu_opens_bookings(bot: BotHarness) -> None:
    _bound(bot.database, WANG, "310001", "王建国")
    await bot.dialog.play(
        [
            (WANG, "/menu", [says("请选择", buttons=["📅 预约"])]),
            (WANG, Press("📅 预约"), [edits("想预约什么", buttons=["🩺 健康屋"])]),
        ]
    )


async def test_forged_and_outdated_presses_are_refused_and_change_nothing(
    bot: BotHarness,
) -> None:
    wang = _bound(bot.database, WANG, "310001", "王建国")
    _bound(bot.database, LI, "310002", "李明")
    slot = _first_slot_of(GYM, _tomorrow())
    slot_id = _slot_id(bot.database, GYM, slot)
    with bot.database.session() as session:
        bookings.book(
            session, offer_of(GYM, SHANGHAI), slot_id, wang.id or 0, now=datetime.now(UTC)
        )
        booking = bookings.entry_of(session, slot_id, wang.id or 0)
        assert booking is not None and booking.id is not None
        booking_id = booking.id
    local = slot.start.astimezone(SHANGHAI)
    past = datetime.now(SHANGHAI).date() - timedelta(days=2)
    far = datetime.now(SHANGHAI).date() + timedelta(days=GYM.horizon_days + 3)
    await bot.dialog.play(
        [
            (LI, "/book", [says("想预约什么")]),
            # Another officer's booking.
            (
                LI,
                PressData(BookingAction("cancel", booking_id).pack(), answer="没有找到这个预约"),
                [],
            ),
            # Not a slot of the gym (07:13), a day gone by, a day past the horizon.
            (
                LI,
                PressData(
                    BookStep("ok", GYM.key, local.strftime(DAY_FORMAT), "0713").pack(),
                    answer="不能预约",
                ),
                [],
            ),
            (
                LI,
                PressData(
                    BookStep("ok", GYM.key, past.strftime(DAY_FORMAT), "1200").pack(),
                    answer="不能预约",
                ),
                [],
            ),
            (
                LI,
                PressData(
                    BookStep("ok", GYM.key, far.strftime(DAY_FORMAT), "1200").pack(),
                    answer="不能预约",
                ),
                [],
            ),
            # A service the policy does not have; data of another shape.
            (
                LI,
                PressData(
                    BookStep("ok", "sauna", local.strftime(DAY_FORMAT), "1200").pack(),
                    answer="不再开放",
                ),
                [],
            ),
            (LI, PressData("bk:ok:gym:2030x101:1200", answer="此按钮已失效"), []),
        ]
    )
    assert _states(bot.database, slot_id) == [("王建国", "signed")]


async def test_limits_and_the_closed_holiday_in_one_sentence(bot: BotHarness) -> None:
    wang = _bound(bot.database, WANG, "310001", "王建国")
    first = _first_slot_of(HEALTH, _tomorrow())
    slot_id = _slot_id(bot.database, HEALTH, first)
    with bot.database.session() as session:
        bookings.book(
            session, offer_of(HEALTH, SHANGHAI), slot_id, wang.id or 0, now=datetime.now(UTC)
        )
    second = slot_rules.slots_of_day(HEALTH, CALENDAR, first.local_day(SHANGHAI), SHANGHAI)[1]
    await bot.dialog.play(
        [
            (WANG, "/book", [says("想预约什么")]),
            (WANG, PressData(_step("ok", HEALTH, second), answer="您已有 1 个未完成的预约"), []),
        ]
    )


async def test_a_full_slot_offers_its_waitlist_and_a_cancellation_promotes(
    bot: BotHarness,
) -> None:
    """Counselling's one place: 李 waits, 王 cancels, 李 is told without naming the service."""
    wang = _bound(bot.database, WANG, "310001", "王建国")
    _bound(bot.database, LI, "310002", "李明")
    slot = _first_slot_of(COUNSELLING, _tomorrow() + timedelta(days=2))
    slot_id = _slot_id(bot.database, COUNSELLING, slot)
    with bot.database.session() as session:
        bookings.book(
            session, offer_of(COUNSELLING, SHANGHAI), slot_id, wang.id or 0, now=datetime.now(UTC)
        )
    await bot.meet(WANG)
    await bot.dialog.play(
        [
            (LI, "/book", [says("想预约什么")]),
            (
                LI,
                PressData(_step("slot", COUNSELLING, slot)),
                [edits("请确认预约", "已满", "严格保密", buttons=["✅ 排入候补"])],
            ),
            (LI, Press("✅ 排入候补"), [edits("候补第 1 位", buttons=["取消候补"])]),
            (WANG, "/book mine", [says("心理咨询")]),
            (WANG, Press(f"取消预约：{_label(slot)} {_time(slot)}"), [edits("已取消预约")]),
            (LI, None, [says("候补成功", "您预约的服务", absent=("心理咨询", "咨询室"))]),
        ]
    )
    assert _states(bot.database, slot_id) == [("王建国", "cancelled"), ("李明", "signed")]
    audit_rows = _audit(bot.database)
    assert audit_rows and all(
        row.actor == "system:counselling" and "3100" not in row.target for row in audit_rows
    )


async def test_a_pseudonym_is_sealed_and_shown_to_its_officer(bot: BotHarness) -> None:
    _bound(bot.database, ZHAO, "310003", "赵强")
    slot = _first_slot_of(COUNSELLING, _tomorrow() + timedelta(days=2))
    await bot.dialog.play(
        [
            (ZHAO, "/book", [says("想预约什么")]),
            (
                ZHAO,
                PressData(_step("ok", COUNSELLING, slot)),
                [edits("预约成功", buttons=["取消预约", "🎭 设置化名"])],
            ),
            (ZHAO, Press("🎭 设置化名"), [says("化名")]),
            (ZHAO, "!", [says("2–10 个字")]),
            (ZHAO, "小林", [says("咨询师只会看到“小林”")]),
        ]
    )
    with bot.database.session() as session:
        (row,) = session.exec(select(Booking)).all()
    assert row.pseudonym_cipher and "小林" not in row.pseudonym_cipher
    from storage.crypto import FieldCipher

    assert FieldCipher(TEST_SECRET_KEY).decrypt(row.pseudonym_cipher) == "小林"


def test_the_promotion_notice_names_other_services() -> None:
    slot = _slot(GYM)
    row = bookings.ServiceSlot(
        id=1, service_key=GYM.key, starts_at=slot.start, ends_at=slot.end, places=15
    )
    assert "健身房" in promoted_text(GYM, row, SHANGHAI)


def _audit(database: Database) -> list[AuditEntry]:
    with database.session() as session:
        return list(
            session.exec(select(AuditEntry).where(AuditEntry.action.startswith("booking."))).all()
        )


def test_a_listings_counts_in_one_query_agree_with_each_parents(database: Database) -> None:
    """capacity.tallies and standings (the /events cards) say what tally and standing say."""
    people = _people(database, 5)
    slot_ids = [_slot_id(database, HEALTH, _slot(HEALTH, index=n)) for n in range(3)]
    for officer in people:
        _book(database, HEALTH, slot_ids[0], officer)
    _book(database, GYM, _slot_id(database, GYM, _slot(GYM)), people[0])
    with database.session() as session:
        table = bookings.BOOKINGS
        tallies = bookings.capacity.tallies(session, table, slot_ids)
        assert tallies == {i: bookings.capacity.tally(session, table, i) for i in slot_ids}
        assert tallies[slot_ids[0]].signed == 3 and tallies[slot_ids[0]].waitlisted == 2
        for officer in (people[0], people[4]):
            assert officer.id is not None
            held = bookings.capacity.standings(session, table, slot_ids, officer.id)
            assert held == {
                i: bookings.capacity.standing(session, table, i, officer.id) for i in slot_ids
            }
        assert held[slot_ids[0]] == bookings.capacity.Standing("waitlisted", 2)


async def test_three_missed_bookings_block_booking_and_say_until_when(bot: BotHarness) -> None:
    """Three 未到 within 90 days (the last two days ago) block the gym for 30 days."""
    wang = _bound(bot.database, WANG, "310001", "王建国")
    assert wang.id is not None
    today = datetime.now(SHANGHAI).date()
    missed = [today - timedelta(days=days) for days in (20, 9, 2)]
    for day in missed:
        slot = _slot(GYM, day)
        slot_id = _slot_id(bot.database, GYM, slot)
        _book(bot.database, GYM, slot_id, wang, slot.start - timedelta(days=1))
        with bot.database.session() as session:
            assert bookings.mark_attendance(session, slot_id, wang.id, False)
    free_again = missed[-1] + timedelta(days=30)
    until = f"{free_again.month}月{free_again.day}日"
    ahead = _first_slot_of(GYM, _tomorrow())
    await bot.dialog.play(
        [
            (WANG, "/book", [says("想预约什么")]),
            (WANG, PressData(_step("ok", GYM, ahead), answer=f"暂时不能预约，{until}"), []),
        ]
    )
    assert _states(bot.database, _slot_id(bot.database, GYM, ahead)) == []
