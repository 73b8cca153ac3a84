"""Booking reminders (bot/jobs/bookings.py): at 20:00 the evening before a booked slot and an
hour before it, to those holding a place, each once (the send ledger); counselling unnamed.

Storage and job level with `now` passed in (no sleeps), on SQLite and, with
NUANJING_TEST_DATABASE_URL, on PostgreSQL; one test through the running bot and its clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot import texts
from bot.jobs.bookings import REMINDER_INTERVAL, queue_reminders
from bot.policy import ServicePolicy, load_policy
from bot.rules import slots as slot_rules
from bot.rules.capacity import Outcome
from bot.rules.slots import Reminder
from bot.scheduler import booking_reminders_job, clock_of, run_booking_reminders
from handlers.bookings import offer_of
from storage import bookings as booking_storage
from storage import ledger
from storage.db import Database
from storage.models import Booking, Broadcast, Delivery
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)


def _service(key: str) -> ServicePolicy:
    service = POLICY.service(key)
    assert service is not None, f"the shipped policy has no service {key}"
    return service


HEALTH = _service("health-room")
COUNSELLING = _service("counselling")
DAY = date(2030, 6, 4)  # a Tuesday: both services open
EVE = DAY - timedelta(days=1)
BOUND_FROM = 9_300_000_000


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall time in Shanghai as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _officers(database: Database, count: int, first: int = 1) -> list[int]:
    ids = []
    for number in range(first, first + count):
        officer = add_officer(
            database,
            f"4100{number:02d}",
            f"会员{number}",
            f"+86137000000{number:02d}",
            bound_to=BOUND_FROM + number,
        )
        assert officer.id is not None
        ids.append(officer.id)
    return ids


def _slot(database: Database, service: ServicePolicy, start: datetime) -> int:
    with database.session() as session:
        row = booking_storage.slot_row(
            session,
            service.key,
            start,
            start + timedelta(minutes=service.slot_minutes),
            service.places_per_slot,
        )
        assert row.id is not None
        return row.id


def _book(
    database: Database, service: ServicePolicy, slot_id: int, officer_id: int, now: datetime
) -> Outcome:
    with database.session() as session:
        return booking_storage.book(
            session, offer_of(service, SHANGHAI), slot_id, officer_id, now=now
        ).outcome


def _booked_at(database: Database, slot_id: int, officer_id: int, moment: datetime) -> None:
    """Date the booking's last change (when it was made) to `moment`: the rows take the real
    time, the tests' slots lie in 2030."""
    with database.session() as session:
        row = booking_storage.entry_of(session, slot_id, officer_id)
        assert row is not None
        row.updated_at = moment
        session.add(row)


def _run(database: Database, now: datetime) -> int:
    return queue_reminders(database, POLICY, now, zone=SHANGHAI)


def _sent(database: Database) -> list[tuple[str, list[int]]]:
    """Each broadcast queued so far, in order: its text and its recipients."""
    with database.session() as session:
        broadcasts = session.exec(select(Broadcast).order_by(col(Broadcast.id))).all()
        return [
            (
                broadcast.text,
                sorted(
                    session.exec(
                        select(Delivery.officer_id).where(Delivery.broadcast_id == broadcast.id)
                    ).all()
                ),
            )
            for broadcast in broadcasts
        ]


def _recipients(database: Database) -> list[list[int]]:
    return [officers for _, officers in _sent(database)]


# --- the rule ----------------------------------------------------------------------------------


def test_marks_are_20_the_evening_before_and_an_hour_before() -> None:
    start = at(DAY, 9)
    assert slot_rules.reminder_marks(start, SHANGHAI) == [
        (Reminder.EVENING, at(EVE, 20)),
        (Reminder.HOUR, at(DAY, 8)),
    ]
    due = slot_rules.reminder_due
    assert due(start, at(EVE, 19, 59), SHANGHAI) is None
    assert due(start, at(EVE, 20), SHANGHAI) == (Reminder.EVENING, at(EVE, 20))
    assert due(start, at(DAY, 7, 59), SHANGHAI) == (Reminder.EVENING, at(EVE, 20))
    assert due(start, at(DAY, 8), SHANGHAI) == (Reminder.HOUR, at(DAY, 8))
    assert due(start, at(DAY, 8, 59), SHANGHAI) == (Reminder.HOUR, at(DAY, 8))
    assert due(start, start, SHANGHAI) is None
    # Just after midnight: the hour's mark is late the evening before, after the evening's.
    late = at(DAY, 0, 30)
    assert slot_rules.reminder_marks(late, SHANGHAI) == [
        (Reminder.EVENING, at(EVE, 20)),
        (Reminder.HOUR, at(EVE, 23, 30)),
    ]


# --- the job -----------------------------------------------------------------------------------


def test_evening_and_hour_reminders_once_each_to_those_holding_a_place(
    database: Database, database_url: str
) -> None:
    """Three places, four officers: the waitlisted one is never reminded; nobody twice, even
    after a restart (another process on the same database)."""
    assert HEALTH.places_per_slot == 3
    ids = _officers(database, 4)
    slot_id = _slot(database, HEALTH, at(DAY, 9))
    outcomes = [
        _book(database, HEALTH, slot_id, officer, at(DAY - timedelta(3), 10)) for officer in ids
    ]
    assert outcomes == [Outcome.SIGNED] * 3 + [Outcome.WAITLISTED]
    signed = ids[:3]

    assert _run(database, at(EVE, 19, 59)) == 0
    assert _run(database, at(EVE, 20)) == 1
    assert _run(database, at(EVE, 20, 1)) == 0
    restarted = Database(database_url)
    try:
        assert _run(restarted, at(EVE, 20, 2)) == 0
    finally:
        restarted.dispose()
    assert _run(database, at(DAY, 7, 59)) == 0
    assert _run(database, at(DAY, 8)) == 1
    assert _run(database, at(DAY, 8, 1)) == 0
    assert _run(database, at(DAY, 8, 59)) == 0
    assert _run(database, at(DAY, 9)) == 0  # begun

    [(evening, first), (hour, second)] = _sent(database)
    assert first == second == signed
    assert "明天（6月4日 周二）09:00–09:30" in evening
    assert "健康屋" in evening and HEALTH.place in evening
    # Two hours before, the evening before, the booking may still be cancelled; at 08:00 not.
    assert "/book mine" in evening
    assert "即将开始" in hour and "今天 09:00–09:30" in hour and HEALTH.place in hour
    assert "/book mine" not in hour
    with database.session() as session:
        assert ledger.claimed_count(session, f"booking-eve:{slot_id}", DAY) == 3
        assert ledger.claimed_count(session, f"booking-1h:{slot_id}", DAY) == 3
        expiries = [
            b.expires_at for b in session.exec(select(Broadcast).order_by(col(Broadcast.id)))
        ]
    assert expiries == [at(DAY, 8), at(DAY, 9)]


def test_a_slot_booked_after_20_gets_the_hour_reminder_only(database: Database) -> None:
    early, late, last_minute = _officers(database, 3)
    slot_id = _slot(database, HEALTH, at(DAY, 10))
    for officer in (early, late, last_minute):
        assert _book(database, HEALTH, slot_id, officer, at(EVE, 12)) == Outcome.SIGNED
    _booked_at(database, slot_id, early, at(EVE, 19, 59))
    _booked_at(database, slot_id, late, at(EVE, 20, 30))
    _booked_at(database, slot_id, last_minute, at(DAY, 9, 30))  # within the last hour

    assert _run(database, at(EVE, 20)) == 1
    # Still the evening reminder's time: the late booking is not caught up with.
    assert _run(database, at(EVE, 21)) == 0
    assert _run(database, at(DAY, 9)) == 1
    assert _run(database, at(DAY, 9, 45)) == 0
    assert _recipients(database) == [[early], sorted([early, late])]


def test_cancelled_bookings_and_closed_slots_are_not_reminded(database: Database) -> None:
    """A cancellation before 20:00 moves the first in line up: they are reminded instead."""
    ids = _officers(database, 4)
    slot_id = _slot(database, HEALTH, at(DAY, 14, 30))
    for officer in ids:
        _book(database, HEALTH, slot_id, officer, at(EVE, 9))
    with database.session() as session:
        left = booking_storage.cancel(
            session, offer_of(HEALTH, SHANGHAI), slot_id, ids[0], now=at(EVE, 10)
        )
    assert left.was == "signed" and left.promoted == ids[3]
    closed_slot = _slot(database, HEALTH, at(DAY, 15))
    _book(database, HEALTH, closed_slot, ids[0], at(EVE, 9))
    with database.session() as session:
        assert booking_storage.close_slot(session, closed_slot)

    assert _run(database, at(EVE, 20)) == 1
    assert _recipients(database) == [sorted(ids[1:])]
    # Cancelled after the evening reminder: not reminded again an hour before.
    with database.session() as session:
        booking_storage.cancel(
            session, offer_of(HEALTH, SHANGHAI), slot_id, ids[1], now=at(EVE, 21)
        )
    assert _run(database, at(DAY, 13, 30)) == 1
    assert _recipients(database)[-1] == sorted(ids[2:])


def test_a_counselling_reminder_never_names_the_service_nor_its_place(
    database: Database,
) -> None:
    (officer,) = _officers(database, 1)
    slot_id = _slot(database, COUNSELLING, at(DAY, 10))
    assert _book(database, COUNSELLING, slot_id, officer, at(EVE - timedelta(3), 9)) == (
        Outcome.SIGNED
    )
    assert _run(database, at(EVE, 20)) == 1
    assert _run(database, at(DAY, 9)) == 1
    [(evening, first), (hour, second)] = _sent(database)
    assert first == second == [officer]
    assert evening == texts.BOOKING_REMINDER_EVENING_PRIVATE.format(
        day="明天", date="6月4日", weekday="周二", start="10:00", end="11:00"
    )
    assert "今天 10:00–11:00" in hour and "请按时到场" in hour
    for text in (evening, hour):
        assert "您预约的服务" in text
        for revealing in ("咨询", "心理", COUNSELLING.place, COUNSELLING.name, "💬", "📍"):
            assert revealing not in text


def test_a_reminder_missed_while_down_is_made_up_until_the_next_mark(
    database: Database,
) -> None:
    """Down from before 20:00 to 07:30: the evening reminder then says 今天; down past the
    hour's mark: only the hour's reminder."""
    first, second = _officers(database, 2)
    morning = _slot(database, HEALTH, at(DAY, 9))
    later = _slot(database, HEALTH, at(DAY, 10))
    _book(database, HEALTH, morning, first, at(EVE, 9))
    _book(database, HEALTH, later, second, at(EVE, 9))
    assert _run(database, at(DAY, 7, 30)) == 2
    assert _run(database, at(DAY, 9, 5)) == 1  # 09:00 has begun; 10:00's hour reminder is due
    sent = _sent(database)
    assert [officers for _, officers in sent] == [[first], [second], [second]]
    assert "今天（6月4日 周二）09:00" in sent[0][0]
    assert "即将开始" in sent[2][0] and "10:00" in sent[2][0]
    with database.session() as session:
        assert ledger.claimed_count(session, f"booking-1h:{morning}", DAY) == 0


def test_a_service_gone_from_the_policy_is_not_reminded(database: Database) -> None:
    (officer,) = _officers(database, 1)
    gone = HEALTH.model_copy(update={"key": "old-room"})
    slot_id = _slot(database, gone, at(DAY, 9))
    _book(database, gone, slot_id, officer, at(EVE, 9))
    assert _run(database, at(EVE, 20)) == 0
    assert _sent(database) == []


# --- through the running bot ---------------------------------------------------------------


async def test_the_scheduler_runs_it_every_minute_by_the_application_clock(
    bot: BotHarness,
) -> None:
    person = Person(BOUND_FROM + 1, "林警官")
    (officer,) = _officers(bot.database, 1)
    await bot.meet(person)
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("booking-reminders")
    assert job.callback is booking_reminders_job
    assert job.job.trigger.interval == timedelta(seconds=REMINDER_INTERVAL)
    slot_id = _slot(bot.database, HEALTH, at(DAY, 15))
    _book(bot.database, HEALTH, slot_id, officer, at(EVE, 9))
    clock = clock_of(bot.application)
    clock.freeze(at(EVE, 19, 59))
    assert await run_booking_reminders(bot.application) == 0
    clock.freeze(at(EVE, 20))
    assert await run_booking_reminders(bot.application) == 1
    assert await run_booking_reminders(bot.application) == 0
    await bot.dialog.play(
        [(person, None, [says("预约提醒", "明天（6月4日 周二）15:00–15:30", "健康屋")])]
    )
    clock.freeze(at(DAY, 14))
    assert await run_booking_reminders(bot.application) == 1
    await bot.dialog.play([(person, None, [says("即将开始", "今天 15:00–15:30")])])
    with bot.database.session() as session:
        rows = session.exec(select(Booking).where(Booking.officer_id == officer)).all()
    assert [row.state for row in rows] == ["signed"]
