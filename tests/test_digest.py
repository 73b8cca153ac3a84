"""The monthly digest (bot/jobs/digest.py, issue 16 item 5): at 09:00 on the 1st, organizers and
admins (bound, active, not opted out in /me) get last month's figures and one chart, once per
month whatever the restarts; plain officers never get it.

Job level with `now` passed in, on SQLite and, with NUANJING_TEST_DATABASE_URL, on PostgreSQL;
then through the running bot and its clock (the chart is a photo the sender draws), and the /me
toggle as a dialog table.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.jobs.digest import (
    DIGEST_JOB,
    DIGEST_OCCASION,
    INTERVAL,
    digest_job,
    queue_digest,
    run_digest,
)
from bot.policy import load_policy
from bot.scheduler import clock_of
from storage import broadcasts, ledger
from storage.db import Database
from storage.models import BloodDonation, Broadcast, Delivery, Officer, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Expect, Person, Press, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
FIRST = date(2026, 12, 1)
NOVEMBER = date(2026, 11, 1)
BOUND_FROM = 9_700_000_000
PNG = b"\x89PNG"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall time in Shanghai as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _people(database: Database) -> dict[str, int]:
    """An organizer, an admin, an organizer who opted out, an unbound organizer, an officer."""
    made = {
        "organizer": add_officer(
            database,
            "710001",
            "组织者甲",
            "+8613720000001",
            bound_to=BOUND_FROM + 1,
            roles=[Role.ORGANIZER],
        ),
        "admin": add_officer(
            database,
            "710002",
            "管理员乙",
            "+8613720000002",
            bound_to=BOUND_FROM + 2,
            roles=[Role.ADMIN],
        ),
        "quiet": add_officer(
            database,
            "710003",
            "组织者丙",
            "+8613720000003",
            bound_to=BOUND_FROM + 3,
            roles=[Role.ORGANIZER],
            digest_opt_out=True,
        ),
        "unbound": add_officer(
            database, "710004", "组织者丁", "+8613720000004", roles=[Role.ORGANIZER]
        ),
        "officer": add_officer(
            database, "710005", "会员戊", "+8613720000005", bound_to=BOUND_FROM + 5
        ),
    }
    return {key: officer.id or 0 for key, officer in made.items()}


def _donations(database: Database, officer_id: int) -> None:
    """Two donations in November (400 ml, 1 platelet unit) and one in October, not counted."""
    with database.session() as session:
        for day, component, amount in (
            (date(2026, 11, 3), "whole_blood", 400),
            (date(2026, 11, 20), "platelets", 1),
            (date(2026, 10, 30), "whole_blood", 300),
        ):
            session.add(
                BloodDonation(
                    officer_id=officer_id,
                    donated_on=day,
                    component=component,
                    amount=amount,
                    recorded_by="test",
                )
            )


def _sent(database: Database) -> list[tuple[Broadcast, list[int]]]:
    with database.session() as session:
        found = session.exec(select(Broadcast).order_by(col(Broadcast.id))).all()
        return [
            (
                broadcast,
                sorted(
                    session.exec(
                        select(Delivery.officer_id).where(Delivery.broadcast_id == broadcast.id)
                    ).all()
                ),
            )
            for broadcast in found
        ]


def _run(database: Database, now: datetime) -> int:
    return queue_digest(database, POLICY, now, zone=SHANGHAI)


def test_at_nine_on_the_first_to_organizers_once_across_a_restart(
    database: Database, database_url: str
) -> None:
    people = _people(database)
    _donations(database, people["officer"])
    assert _run(database, at(FIRST - timedelta(days=1), 9)) == 0  # the 30th: not the 1st
    assert _run(database, at(FIRST, 8, 59)) == 0
    assert _run(database, at(FIRST, 9)) == 1
    assert _run(database, at(FIRST, 9, 1)) == 0
    restarted = Database(database_url)  # another process on the same database
    try:
        assert _run(restarted, at(FIRST, 9, 2)) == 0
        assert _run(restarted, at(FIRST + timedelta(days=1), 10)) == 0
    finally:
        restarted.dispose()
    [(broadcast, recipients)] = _sent(database)
    # Organizers and admins who are bound and did not opt out; never a plain officer.
    assert recipients == sorted([people["organizer"], people["admin"]])
    assert "2026年11月" in broadcast.text
    assert "1 人献血 2 次，400 毫升，血小板 1 个治疗量" in broadcast.text
    assert broadcast.created_by == "system:monthly-digest"
    assert broadcast.expires_at == at(date(2026, 12, 4), 0)
    with database.session() as session:
        assert ledger.claimed_count(session, DIGEST_OCCASION, NOVEMBER) == 2


def test_a_bot_down_on_the_first_catches_up_until_the_third(database: Database) -> None:
    _people(database)
    assert _run(database, at(date(2026, 12, 4), 9)) == 0
    assert _run(database, at(date(2026, 12, 3), 23)) == 1
    [(broadcast, _)] = _sent(database)
    assert "2026年11月" in broadcast.text


def test_january_sends_december_of_the_year_before(database: Database) -> None:
    _people(database)
    assert _run(database, at(date(2027, 1, 1), 9)) == 1
    [(broadcast, _)] = _sent(database)
    assert "2026年12月" in broadcast.text
    with database.session() as session:
        assert ledger.claimed_count(session, DIGEST_OCCASION, date(2026, 12, 1)) == 2


async def test_organizers_get_the_figures_and_the_chart_through_the_running_bot(
    bot: BotHarness,
) -> None:
    people = _people(bot.database)
    _donations(bot.database, people["officer"])
    organizer, admin = Person(BOUND_FROM + 1, "组织者甲"), Person(BOUND_FROM + 2, "管理员乙")
    quiet, officer = Person(BOUND_FROM + 3, "组织者丙"), Person(BOUND_FROM + 5, "会员戊")
    await bot.meet(organizer, admin, quiet, officer)
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name(DIGEST_JOB)
    assert job.callback is digest_job
    assert job.job.trigger.interval == timedelta(seconds=INTERVAL)
    clock = clock_of(bot.application)
    clock.freeze(at(FIRST, 8, 59))
    assert await run_digest(bot.application) == 0
    clock.freeze(at(FIRST, 9))
    assert await run_digest(bot.application) == 1
    assert await run_digest(bot.application) == 0
    photo = Expect(("月度简报", "2026年11月", "400 毫升"), "photo")
    await bot.dialog.play([(organizer, None, [photo]), (admin, None, [photo])])
    await bot.settle()
    for person in (organizer, admin):
        events = await bot.client.history(person.as_user())
        [picture] = [event for event in events if event.kind == "photo"]
        assert picture.document_bytes is not None and picture.document_bytes.startswith(PNG)
    assert await bot.quiet(quiet) == []
    assert await bot.quiet(officer) == []


async def test_the_me_toggle_stops_the_digest_and_officers_do_not_see_it(
    bot: BotHarness,
) -> None:
    people = _people(bot.database)
    organizer, officer = Person(BOUND_FROM + 1, "组织者甲"), Person(BOUND_FROM + 5, "会员戊")
    await bot.meet(organizer, officer)
    await bot.dialog.play(
        [
            (organizer, "/me", [says("月度简报：接收", buttons=["🔕 不收月度简报"])]),
            (
                organizer,
                Press("🔕 不收月度简报"),
                [edits("月度简报：不接收", buttons=["📊 接收月度简报"])],
            ),
            (officer, "/me", [says("年度暖警账单：接收", absent=["月度简报"])]),
        ]
    )
    clock_of(bot.application).freeze(at(FIRST, 9))
    assert await run_digest(bot.application) == 1
    [(_, recipients)] = _sent(bot.database)
    assert people["organizer"] not in recipients and recipients == [people["admin"]]
    assert await bot.quiet(organizer) == []
    await bot.dialog.play(
        [
            (
                organizer,
                Press("📊 接收月度简报"),
                [edits("月度简报：接收", buttons=["🔕 不收月度简报"])],
            ),
        ]
    )


def test_an_opt_out_after_the_digest_was_queued_still_holds(database: Database) -> None:
    people = _people(database)
    assert _run(database, at(FIRST, 9)) == 1
    with database.session() as session:
        officer = session.get(Officer, people["organizer"])
        assert officer is not None
        officer.digest_opt_out = True
        session.add(officer)
    claimed: list[int] = []
    with database.session() as session:
        # Due by the real clock (deliveries are written due now); not expired by the job's.
        due = datetime.now(UTC) + timedelta(minutes=1)
        while (taken := broadcasts.claim_next(session, due, wall=at(FIRST, 9, 5))) is not None:
            claimed.append(taken.officer_id)
        cancelled = session.exec(
            select(Delivery.officer_id).where(Delivery.error == "opted out")
        ).all()
    assert claimed == [people["admin"]]
    assert list(cancelled) == [people["organizer"]]
