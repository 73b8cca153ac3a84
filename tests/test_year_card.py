"""My year (我的年度暖警账单, bot/jobs/digest.py, issue 16 item 6): on 1 January, right after the
New Year greeting, each bound active officer who has not opted out gets a picture of their own
past year with the same figures in its caption; nothing of anyone else; once per officer.

Job level with `now` passed in, on SQLite and, with NUANJING_TEST_DATABASE_URL, on PostgreSQL;
then through the running bot and its clock, and the /me toggle as a dialog table.
"""

from __future__ import annotations

import time as timer
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot import charts
from bot.greetings import queue_greetings
from bot.jobs.digest import (
    YEAR_CARD_JOB,
    YEAR_CARD_OCCASION,
    draw_card,
    queue_year_cards,
    run_year_cards,
    year_card_job,
)
from bot.policy import load_policy
from bot.scheduler import clock_of, run_greetings
from storage import broadcasts, ledger
from storage import statistics as st
from storage.db import Database
from storage.models import (
    BloodDonation,
    Broadcast,
    BroadcastKind,
    CareCase,
    CaseStatus,
    Delivery,
    Event,
    EventKind,
    EventSignup,
)
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Expect, Person, Press, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
NEW_YEAR = date(2027, 1, 1)
BOUND_FROM = 9_800_000_000
PNG = b"\x89PNG"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall time in Shanghai as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def _people(database: Database) -> dict[str, int]:
    """林 (a donor who joined things), 陈 (cared for), 周 (opted out), 吴 (unbound)."""
    made = {
        "lin": add_officer(database, "720001", "林晓", "+8613720000011", bound_to=BOUND_FROM + 1),
        "chen": add_officer(database, "720002", "陈默", "+8613720000012", bound_to=BOUND_FROM + 2),
        "zhou": add_officer(
            database,
            "720003",
            "周全",
            "+8613720000013",
            bound_to=BOUND_FROM + 3,
            year_card_opt_out=True,
        ),
        "wu": add_officer(database, "720004", "吴同", "+8613720000014"),
    }
    return {key: officer.id or 0 for key, officer in made.items()}


def _event(session: Session, kind: str, starts: datetime, club: str = "") -> int:
    event = Event(
        kind=kind,
        title="活动",
        starts_at=starts,
        ends_at=starts + timedelta(hours=2),
        place="工会",
        capacity=30,
        signup_deadline=starts - timedelta(days=1),
        audience_value=club,
        created_by="test",
    )
    session.add(event)
    session.flush()
    assert event.id is not None
    return event.id


def _year_of_activity(database: Database, people: dict[str, int]) -> None:
    """林: 3 donations in 2026 (700 ml, 2 platelet units) and one in 2025; 2 events signed, 1
    attended; 1 club activity attended. 陈: one hospital visit and one childbirth visit, and a
    paid sum that must never show; a declined case, not received."""
    lin, chen = people["lin"], people["chen"]
    with database.session() as session:
        for day, component, amount in (
            (date(2026, 3, 1), "whole_blood", 400),
            (date(2026, 9, 1), "whole_blood", 300),
            (date(2026, 11, 1), "platelets", 2),
            (date(2025, 12, 30), "whole_blood", 400),
        ):
            session.add(
                BloodDonation(
                    officer_id=lin,
                    donated_on=day,
                    component=component,
                    amount=amount,
                    recorded_by="test",
                )
            )
        talk = _event(session, EventKind.CLASS, at(date(2026, 5, 1), 14))
        trip = _event(session, EventKind.CLASS, at(date(2026, 6, 1), 14))
        run = _event(session, EventKind.CLUB_ACTIVITY, at(date(2026, 7, 1), 7), club="跑团")
        old = _event(session, EventKind.CLASS, at(date(2025, 7, 1), 14))
        for event_id, position, attended in ((talk, 1, True), (trip, 1, None), (run, 1, True)):
            session.add(
                EventSignup(event_id=event_id, officer_id=lin, position=position, attended=attended)
            )
        session.add(EventSignup(event_id=old, officer_id=lin, position=1, attended=True))
        session.add(EventSignup(event_id=talk, officer_id=chen, position=2, attended=False))
        for event, status, paid in (
            ("hospitalization", CaseStatus.PAID, 88_888),
            ("childbirth", CaseStatus.VISITED, None),
            ("hospitalization", CaseStatus.DECLINED, None),
        ):
            session.add(
                CareCase(
                    officer_id=chen,
                    reporter_id=chen,
                    event=event,
                    event_date=date(2026, 4, 2),
                    status=status,
                    paid_amount=paid,
                )
            )


def _greet_national_day(database: Database, reached: int) -> None:
    """The National Day greeting of 2026 to everyone, delivered to one officer only."""
    assert queue_greetings(database, POLICY, at(date(2026, 10, 1), 9), zone=SHANGHAI) >= 1
    with database.session() as session:
        [delivery] = session.exec(
            select(Delivery)
            .join(Broadcast, col(Broadcast.id) == col(Delivery.broadcast_id))
            .where(Delivery.officer_id == reached, Broadcast.kind == BroadcastKind.GREETING)
        ).all()
        assert delivery.id is not None
        broadcasts.mark_sent(session, delivery.id, 1)


def _cards(database: Database) -> list[tuple[Broadcast, list[int]]]:
    with database.session() as session:
        found = session.exec(
            select(Broadcast).where(Broadcast.created_by == "system:year-card")
        ).all()
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
    return queue_year_cards(database, POLICY, now, zone=SHANGHAI)


def test_each_officers_own_year_and_nobody_elses(database: Database) -> None:
    people = _people(database)
    _year_of_activity(database, people)
    _greet_national_day(database, people["lin"])
    with database.session() as session:
        lin = st.officer_year(session, people["lin"], st.Period.year(2026, SHANGHAI))
        chen = st.officer_year(session, people["chen"], st.Period.year(2026, SHANGHAI))
    assert lin == st.OfficerYear(
        greetings=1,
        donations=3,
        ml=700,
        platelet_units=2,
        events_signed=2,
        events_attended=1,
        club_signed=1,
        club_attended=1,
        care_by_kind=(),
    )
    assert chen == st.OfficerYear(
        0, 0, 0, 0, 1, 0, 0, 0, (("childbirth", 1), ("hospitalization", 1))
    )
    lin_card = draw_card(database, SHANGHAI, people["lin"], 2026)
    assert lin_card.png.startswith(PNG)
    caption = lin_card.caption or ""
    for fragment in (
        "林晓",
        "2026 年暖警账单",
        "收到问候 1 条",
        "献血 3 次，700 毫升，血小板 2 个治疗量",
        "参加活动 2 次（到场 1 次）",
        "俱乐部活动 1 次（到场 1 次）",
        "谢谢您",
    ):
        assert fragment in caption, (fragment, caption)
    assert "陈默" not in caption and "工会关怀" not in caption
    chen_caption = draw_card(database, SHANGHAI, people["chen"], 2026).caption or ""
    assert "工会关怀：生育 1 次、住院 1 次" in chen_caption
    assert "88888" not in chen_caption and "88,888" not in chen_caption  # never a sum
    assert "林晓" not in chen_caption and "700" not in chen_caption
    assert "献血：今年还没有记录" in chen_caption and "收到问候 0 条" in chen_caption
    # What the card's picture says is what its rows say: the officer's own, and never the
    # union's care (住院…): the picture is made to be shared, the caption alone says it.
    rows = dict(charts.year_card_rows(chen))
    assert rows["献血"] == "—" and "工会关怀" not in rows
    assert not any("住院" in value or "生育" in value for value in rows.values())


def test_on_new_years_day_after_the_greeting_once_and_not_to_those_who_opted_out(
    database: Database, database_url: str
) -> None:
    people = _people(database)
    assert _run(database, at(NEW_YEAR - timedelta(days=1), 10)) == 0  # New Year's Eve
    assert _run(database, at(NEW_YEAR, 8, 59)) == 0
    # 09:00, but the New Year greeting is not queued yet: the card waits to come after it.
    assert _run(database, at(NEW_YEAR, 9)) == 0
    assert queue_greetings(database, POLICY, at(NEW_YEAR, 9), zone=SHANGHAI) >= 1
    assert _run(database, at(NEW_YEAR, 9)) == 1
    assert _run(database, at(NEW_YEAR, 9, 1)) == 0
    restarted = Database(database_url)  # another process on the same database
    try:
        assert _run(restarted, at(NEW_YEAR, 9, 2)) == 0
    finally:
        restarted.dispose()
    [(broadcast, recipients)] = _cards(database)
    assert recipients == sorted([people["lin"], people["chen"]])
    assert broadcast.expires_at == at(NEW_YEAR, 21)
    with database.session() as session:
        assert ledger.claimed_count(session, YEAR_CARD_OCCASION, date(2026, 1, 1)) == 2
        greeting = session.exec(
            select(Broadcast.id).where(Broadcast.kind == BroadcastKind.GREETING)
        ).first()
    assert greeting is not None and broadcast.id is not None and greeting < broadcast.id
    assert _run(database, at(NEW_YEAR + timedelta(days=1), 9)) == 0  # 2 January


def test_a_new_year_greeting_that_claimed_nobody_holds_the_cards_ten_minutes_only(
    database: Database,
) -> None:
    """元旦 greeted nobody (all opted out, or disabled with no claim): cards go at 09:10."""
    people = _people(database)
    assert _run(database, at(NEW_YEAR, 9)) == 0
    assert _run(database, at(NEW_YEAR, 9, 9)) == 0
    assert _run(database, at(NEW_YEAR, 9, 10)) == 1
    [(_, recipients)] = _cards(database)
    assert recipients == sorted([people["lin"], people["chen"]])
    with database.session() as session:
        assert ledger.claimed_count(session, "yuandan", NEW_YEAR) == 0


def test_one_card_draws_in_well_under_a_second(database: Database) -> None:
    people = _people(database)
    _year_of_activity(database, people)
    draw_card(database, SHANGHAI, people["lin"], 2026)  # the font is loaded once
    started = timer.perf_counter()
    for _ in range(5):
        draw_card(database, SHANGHAI, people["lin"], 2026)
    assert (timer.perf_counter() - started) / 5 < 1.0


async def test_the_card_follows_the_new_year_greeting_through_the_running_bot(
    bot: BotHarness,
) -> None:
    people = _people(bot.database)
    _year_of_activity(bot.database, people)
    lin, chen = Person(BOUND_FROM + 1, "林晓"), Person(BOUND_FROM + 2, "陈默")
    zhou = Person(BOUND_FROM + 3, "周全")
    await bot.meet(lin, chen, zhou)
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name(YEAR_CARD_JOB)
    assert job.callback is year_card_job
    clock = clock_of(bot.application)
    clock.freeze(at(NEW_YEAR, 9))
    assert await run_year_cards(bot.application) == 0  # the greeting goes first
    assert await run_greetings(bot.application) >= 1
    assert await run_year_cards(bot.application) == 1
    assert await run_year_cards(bot.application) == 0
    await bot.dialog.play(
        [
            (lin, None, [says("新年好"), Expect(("林晓", "献血 3 次，700 毫升"), "photo")]),
            (
                chen,
                None,
                [
                    says("新年好"),
                    Expect(("陈默", "工会关怀：生育 1 次、住院 1 次"), "photo", absent=("林晓",)),
                ],
            ),
            (zhou, None, [says("新年好")]),
        ]
    )
    assert await bot.quiet(zhou) == []
    history = await bot.client.history(lin.as_user())
    [picture] = [event for event in history if event.kind == "photo"]
    assert picture.document_bytes is not None and picture.document_bytes.startswith(PNG)


async def test_the_me_toggle_stops_the_card(bot: BotHarness) -> None:
    people = _people(bot.database)
    lin = Person(BOUND_FROM + 1, "林晓")
    await bot.meet(lin)
    await bot.dialog.play(
        [
            (lin, "/me", [says("年度暖警账单：接收", buttons=["🔕 不收年度账单"])]),
            (
                lin,
                Press("🔕 不收年度账单"),
                [edits("年度暖警账单：不接收", buttons=["🧧 接收年度账单"])],
            ),
        ]
    )
    clock_of(bot.application).freeze(at(NEW_YEAR, 9))
    assert await run_greetings(bot.application) >= 1
    assert await run_year_cards(bot.application) == 1
    [(_, recipients)] = _cards(bot.database)
    assert recipients == [people["chen"]]
    await bot.dialog.play(
        [
            (lin, None, [says("新年好")]),
            (
                lin,
                Press("🧧 接收年度账单"),
                [edits("年度暖警账单：接收", buttons=["🔕 不收年度账单"])],
            ),
        ]
    )
    assert await bot.quiet(lin) == []
