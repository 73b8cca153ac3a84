"""Survey reminders (bot/jobs/surveys.py): once, 24 hours before the deadline, to those asked who
have not answered; never after a close; the job runs by the application's clock.

Job level with `now` passed in (no sleeps), on SQLite and, with NUANJING_TEST_DATABASE_URL, on
PostgreSQL; one test through the running bot and its clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.jobs.surveys import (
    JOB_NAME,
    REMINDER_INTERVAL,
    queue_reminders,
    reminder_job,
    run_reminders,
)
from bot.rules.surveys import Question, QuestionKind
from bot.scheduler import clock_of
from storage import ledger
from storage import surveys as storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Broadcast, Delivery, Survey
from storage.surveys import AnswerIn
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUIET = (time(21, 0), time(8, 0))
DAY = date(2030, 6, 10)
BOUND_FROM = 9_600_000_000
CIPHER = FieldCipher(FieldCipher.generate_key())


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall time in Shanghai as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _officers(database: Database, count: int) -> list[int]:
    ids = []
    for number in range(1, count + 1):
        officer = add_officer(
            database,
            f"6100{number:02d}",
            f"会员{number}",
            f"+86137200000{number:02d}",
            bound_to=BOUND_FROM + number,
        )
        assert officer.id is not None
        ids.append(officer.id)
    return ids


def _survey(database: Database, deadline: datetime) -> int:
    with database.session() as session:
        survey = storage.create(
            session,
            Survey(title="食堂调查", deadline=deadline, anonymous=True, created_by="test"),
            [Question(QuestionKind.SINGLE, "满意吗", ("是", "否"))],
        )
        assert survey.id is not None
        return survey.id


def _answer(database: Database, survey_id: int, officer_id: int, now: datetime) -> None:
    with database.session() as session:
        storage.submit(session, survey_id, officer_id, [AnswerIn(0, (0,))], cipher=CIPHER, now=now)


def _sent(database: Database) -> list[tuple[str, list[int]]]:
    with database.session() as session:
        found = session.exec(select(Broadcast).order_by(col(Broadcast.id))).all()
        return [
            (
                broadcast.text,
                sorted(
                    session.exec(
                        select(Delivery.officer_id).where(Delivery.broadcast_id == broadcast.id)
                    ).all()
                ),
            )
            for broadcast in found
        ]


def _run(database: Database, now: datetime) -> int:
    return queue_reminders(database, now, zone=SHANGHAI, quiet=QUIET)


def test_reminded_once_24_hours_before_those_who_have_not_answered(
    database: Database, database_url: str
) -> None:
    first, second, third = _officers(database, 3)
    survey_id = _survey(database, at(DAY, 18))
    _answer(database, survey_id, first, at(DAY - timedelta(days=3), 9))
    eve = DAY - timedelta(days=1)
    assert _run(database, at(eve, 17, 59)) == 0
    assert _run(database, at(eve, 18)) == 1
    assert _run(database, at(eve, 18, 1)) == 0
    # A restart (another process on the same database) sends nothing again.
    restarted = Database(database_url)
    try:
        assert _run(restarted, at(eve, 18, 2)) == 0
    finally:
        restarted.dispose()
    # One who answers after the reminder is not reminded again, nor is anyone.
    _answer(database, survey_id, second, at(eve, 19))
    assert _run(database, at(DAY, 9)) == 0
    assert _run(database, at(DAY, 18)) == 0  # the deadline
    [(text, recipients)] = _sent(database)
    assert recipients == [second, third]
    assert "食堂调查" in text and "2030-06-10" in text and "18:00" in text
    with database.session() as session:
        assert ledger.claimed_count(session, f"survey-24h:{survey_id}", DAY) == 2
        [broadcast] = session.exec(select(Broadcast)).all()
    assert broadcast.expires_at == at(DAY, 18)
    assert broadcast.buttons is not None and f"sva:fill:{survey_id}" in broadcast.buttons


def test_a_mark_in_the_quiet_hours_comes_the_evening_before(database: Database) -> None:
    _officers(database, 1)
    _survey(database, at(DAY, 7))  # 24 hours before is 07:00, inside the quiet hours
    before = DAY - timedelta(days=2)
    assert _run(database, at(before, 20, 29)) == 0
    assert _run(database, at(before, 20, 30)) == 1


def test_closed_or_fully_answered_surveys_are_not_reminded(database: Database) -> None:
    (only,) = _officers(database, 1)
    closed = _survey(database, at(DAY, 18))
    answered = _survey(database, at(DAY, 18))
    with database.session() as session:
        assert storage.close(session, closed, at(DAY - timedelta(days=2), 9)) is not None
    _answer(database, answered, only, at(DAY - timedelta(days=2), 9))
    assert _run(database, at(DAY - timedelta(days=1), 18)) == 0
    assert _sent(database) == []


async def test_the_job_runs_every_minute_by_the_application_clock(bot: BotHarness) -> None:
    person = Person(BOUND_FROM + 1, "林警官")
    (officer,) = _officers(bot.database, 1)
    await bot.meet(person)
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name(JOB_NAME)
    assert job.callback is reminder_job
    assert job.job.trigger.interval == timedelta(seconds=REMINDER_INTERVAL)
    survey_id = _survey(bot.database, at(DAY, 18))
    clock = clock_of(bot.application)
    clock.freeze(at(DAY - timedelta(days=1), 17, 59))
    assert await run_reminders(bot.application) == 0
    clock.freeze(at(DAY - timedelta(days=1), 18))
    assert await run_reminders(bot.application) == 1
    assert await run_reminders(bot.application) == 0
    await bot.dialog.play(
        [
            (person, None, [says("问卷提醒", "食堂调查", "您还没有填写", buttons=["📝 开始填写"])]),
            (person, Press("📝 开始填写"), [edits("第 1/1 题", "满意吗")]),
        ]
    )
    assert officer and survey_id
