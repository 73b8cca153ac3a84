"""Greetings end to end: the real bot, its clock set by the test, officers reading the sandbox."""

from __future__ import annotations

import dataclasses
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select

from bot.app import build_application
from bot.greetings import BIRTHDAY, greeting_day, may_greet, queue_greetings, renderer
from bot.policy import Policy, load_policy
from bot.rules.calendar import LunarDate, festivals_on, lunar_of, occasion_keys_on
from bot.rules.greeting_text import render
from bot.scheduler import clock_of, greetings_job, run_greetings
from handlers.context import install, services_of
from storage import broadcasts, greeting_texts, ledger
from storage.db import Database
from storage.greetings import RosterBirthdays, roster_birthdays
from storage.models import (
    Broadcast,
    Delivery,
    DeliveryState,
    Officer,
    SendLedger,
    TelegramBinding,
)
from storage.types import utcnow
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, says
from tests.policies import policy_enabling

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
UNION = POLICY.union_name
NATIONAL_DAY = date(2026, 10, 1)  # 国庆节, and no other festival

WANG = Person(7_900_000_001, "王警官")
LI = Person(7_900_000_002, "李警官")
OPTED_OUT = Person(7_900_000_003, "孙警官")
BLOCKED = Person(7_900_000_004, "周警官")
LEAP = Person(7_900_000_005, "闰警官")
LUNAR = Person(7_900_000_006, "农警官")
SOLAR = Person(7_900_000_007, "阳警官")
WOMAN = Person(7_900_000_008, "刘警官")
MAN = Person(7_900_000_009, "赵警官")
UNKNOWN = Person(7_900_000_010, "钱警官")  # no gender on the roster


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A moment in Shanghai."""
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI)


def expected(occasion: str, name: str, policy: Policy = POLICY) -> str:
    """The greeting as the policy words it for this officer."""
    template = policy.greetings.texts[occasion]
    text = template.replace("{name}", name).replace("{union}", UNION).strip()
    note = policy.greetings.notes.get(occasion, "").strip()
    return f"{text}\n{note}" if note else text


async def _roster(bot: BotHarness) -> None:
    """Two greetable officers, one opted out, one who blocked the bot, one not bound."""
    add_officer(bot.database, "100001", "王建国", "+8613800100001", bound_to=WANG.id)
    add_officer(bot.database, "100002", "李强", "+8613800100002", bound_to=LI.id)
    add_officer(
        bot.database,
        "100003",
        "孙丽",
        "+8613800100003",
        bound_to=OPTED_OUT.id,
        greetings_opt_out=True,
    )
    add_officer(bot.database, "100004", "周平", "+8613800100004", bound_to=BLOCKED.id)
    add_officer(bot.database, "100005", "吴未绑", "+8613800100005")
    with bot.database.session() as session:
        session.execute(
            update(TelegramBinding)
            .where(col(TelegramBinding.telegram_user_id) == BLOCKED.id)
            .values(unreachable_since=utcnow())
        )
    await bot.meet(WANG, LI, OPTED_OUT, BLOCKED)


def _greetings_to(database: Database, officer_name: str) -> list[str]:
    """Every greeting delivery (any state) queued for an officer, by text."""
    with database.session() as session:
        rows = session.exec(
            select(Delivery.text)
            .join(Officer, col(Officer.id) == col(Delivery.officer_id))
            .where(Officer.name == officer_name)
        ).all()
    return [text or "" for text in rows]


def _greeting_states(database: Database, officer_name: str) -> list[str]:
    """The state of every greeting delivery queued for an officer."""
    with database.session() as session:
        rows = session.exec(
            select(Delivery.state)
            .join(Officer, col(Officer.id) == col(Delivery.officer_id))
            .where(Officer.name == officer_name)
        ).all()
    return list(rows)


def sent_to(bot: BotHarness, person: Person) -> list[str]:
    """The texts of every message the bot sent this person."""
    return [
        event["message"]["text"]
        for event in bot.sandbox.events(bot.settings.token(), person.id)
        if event["kind"] == "message"
    ]


# --- the rules of the sending hours ----------------------------------------------------------


def test_greetings_go_out_from_nine_until_nine_pm_of_the_same_day() -> None:
    day = NATIONAL_DAY
    assert greeting_day(at(day, 8, 59), POLICY, SHANGHAI) is None
    assert greeting_day(at(day, 9, 0), POLICY, SHANGHAI) == day
    assert greeting_day(at(day, 20, 59), POLICY, SHANGHAI) == day
    assert greeting_day(at(day, 21, 0), POLICY, SHANGHAI) is None
    assert greeting_day(at(day, 23, 30), POLICY, SHANGHAI) is None
    # 09:00 in Shanghai is 01:00 UTC: the local date counts, not the UTC one.
    assert greeting_day(at(day, 9, 0).astimezone(ZoneInfo("UTC")), POLICY, SHANGHAI) == day


@pytest.mark.parametrize(
    ("day", "gregorian", "lunar", "expected"),
    [
        (date(2025, 3, 5), {(3, 5)}, set(), True),  # a birthday on the roster
        (date(2025, 3, 5), {(3, 6)}, set(), False),  # nobody born that day
        (date(2025, 2, 28), {(2, 29)}, set(), True),  # 29 February, greeted on the 28th
        (date(2024, 2, 28), {(2, 29)}, set(), False),  # a leap year has its own 29th
        (date(2025, 3, 31), set(), {(3, 3, False)}, True),  # the lunar 3rd of the 3rd month
        (date(2025, 3, 31), {(3, 31)}, {(3, 4, False)}, True),  # its Gregorian date counts too
        (date(2025, 4, 1), set(), {(3, 3, False)}, False),
        (date(2025, 10, 1), set(), set(), True),  # 国庆节: everyone
    ],
)
def test_a_greeting_run_can_find_someone_only_on_a_festival_or_a_birthday_on_the_roster(
    day: date, gregorian: set[tuple[int, int]], lunar: set[tuple[int, int, bool]], expected: bool
) -> None:
    assert may_greet(day, POLICY, RosterBirthdays(gregorian, lunar)) is expected


def test_the_roster_birthdays_are_read_as_the_runs_match_them(database: Database) -> None:
    add_officer(database, "100001", "甲", "13800000001", birthday=date(1980, 3, 5))
    add_officer(database, "100002", "乙", "13800000002", birthday=date(1990, 3, 5))
    add_officer(
        database,
        "100003",
        "丙",
        "13800000003",
        birthday=date(1985, 7, 1),
        lunar_birth_month=5,
        lunar_birth_day=20,
        lunar_birth_leap=False,
    )
    add_officer(database, "100004", "丁", "13800000004")  # no birthday on the roster
    with database.session() as session:
        found = roster_birthdays(session)
    # The lunar birthday replaces the Gregorian one, as in birthday_recipients.
    assert found == RosterBirthdays({(3, 5)}, {(5, 20, False)})


# --- festivals ----------------------------------------------------------------------------


async def test_a_festival_greeting_at_nine_with_name_and_union(bot: BotHarness) -> None:
    await _roster(bot)
    assert festivals_on(NATIONAL_DAY) and str(festivals_on(NATIONAL_DAY)[0]) == "guoqing"
    clock = clock_of(bot.application)
    clock.freeze(at(NATIONAL_DAY, 8, 59))
    assert await run_greetings(bot.application) == 0
    await bot.dialog.play([(WANG, None, [])])

    clock.freeze(at(NATIONAL_DAY, 9, 0))
    assert await run_greetings(bot.application) == 1
    wang, li = expected("guoqing", "王建国"), expected("guoqing", "李强")
    assert "王建国" in wang and UNION in wang
    await bot.dialog.play(
        [
            (WANG, None, [says(wang)]),
            (LI, None, [says(li)]),
            # Opted out, blocked or unbound: nothing, not even tried.
            (OPTED_OUT, None, []),
            (BLOCKED, None, []),
        ]
    )
    assert sent_to(bot, WANG) == [wang] and sent_to(bot, LI) == [li]
    # Another tick the same day queues nobody again.
    clock.freeze(at(NATIONAL_DAY, 9, 1))
    assert await run_greetings(bot.application) == 0
    assert _greetings_to(bot.database, "孙丽") == []
    # 周平 blocked the bot: counted once as unreachable (issue 14), never sent.
    assert _greeting_states(bot.database, "周平") == ["unreachable"]
    assert _greetings_to(bot.database, "吴未绑") == []


async def test_an_organizers_text_and_welfare_note_are_used(bot: BotHarness) -> None:
    await _roster(bot)
    with bot.database.session() as session:
        greeting_texts.save(
            session,
            "guoqing",
            "{name}同志：{union}祝您{festival}快乐！",
            "礼品到工会领取。",
            "test",
        )
    clock_of(bot.application).freeze(at(NATIONAL_DAY, 10, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play(
        [(WANG, None, [says(f"王建国同志：{UNION}祝您国庆节快乐！\n礼品到工会领取。")])]
    )


async def test_a_bot_started_at_three_pm_catches_up(bot: BotHarness) -> None:
    await _roster(bot)
    # The app ticks every minute from PTB's JobQueue; here the tick is run directly.
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("greetings")
    assert job.callback is greetings_job
    clock_of(bot.application).freeze(at(NATIONAL_DAY, 15, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play(
        [
            (WANG, None, [says(expected("guoqing", "王建国"))]),
            (LI, None, [says(expected("guoqing", "李强"))]),
        ]
    )


async def test_nothing_after_nine_pm_and_nothing_of_yesterday_next_morning(
    bot: BotHarness,
) -> None:
    await _roster(bot)
    clock = clock_of(bot.application)
    clock.freeze(at(NATIONAL_DAY, 21, 30))
    assert await run_greetings(bot.application) == 0
    next_day = NATIONAL_DAY + timedelta(days=1)
    assert festivals_on(next_day) == []
    for hour in (8, 9, 12):
        clock.freeze(at(next_day, hour))
        assert await run_greetings(bot.application) == 0
    await bot.dialog.play([(WANG, None, []), (LI, None, [])])
    with bot.database.session() as session:
        assert session.exec(select(SendLedger)).all() == []


# --- the policy's occasions (issue 17, item 7) ---------------------------------------------

WOMENS_DAY = date(2027, 3, 8)  # 三八妇女节, a Monday with no other festival


async def test_womens_day_switched_on_greets_women_only_and_once(
    bot: BotHarness, tmp_path: Path
) -> None:
    _, policy = policy_enabling(tmp_path, "funvjie")
    add_officer(bot.database, "400001", "刘芳", "+8613800400001", bound_to=WOMAN.id, gender="F")
    add_officer(bot.database, "400002", "赵刚", "+8613800400002", bound_to=MAN.id, gender="M")
    add_officer(bot.database, "400003", "钱某", "+8613800400003", bound_to=UNKNOWN.id)
    add_officer(bot.database, "400004", "孙丽", "+8613800400004", gender="F")  # not bound
    await bot.meet(WOMAN, MAN, UNKNOWN)
    assert occasion_keys_on(POLICY.greetings.rules(), WOMENS_DAY) == []
    assert occasion_keys_on(policy.greetings.rules(), WOMENS_DAY) == ["funvjie"]
    clock = clock_of(bot.application)
    clock.freeze(at(WOMENS_DAY, 9, 0))
    # The shipped policy lists it switched off: nobody is greeted.
    assert await run_greetings(bot.application) == 0
    install(bot.application, dataclasses.replace(services_of(bot.application), policy=policy))
    assert await run_greetings(bot.application) == 1
    greeting = expected("funvjie", "刘芳", policy)
    assert "三八妇女节" in greeting
    await bot.dialog.play([(WOMAN, None, [says(greeting)]), (MAN, None, []), (UNKNOWN, None, [])])
    clock.freeze(at(WOMENS_DAY, 9, 1))
    assert await run_greetings(bot.application) == 0
    await bot.dialog.play([(WOMAN, None, []), (MAN, None, []), (UNKNOWN, None, [])])
    with bot.database.session() as session:
        assert ledger.claimed_count(session, "funvjie", WOMENS_DAY) == 1
    assert _greetings_to(bot.database, "赵刚") == [] and _greetings_to(bot.database, "钱某") == []


def test_switched_off_occasions_are_not_greeted_until_switched_on(
    database: Database, tmp_path: Path
) -> None:
    _many(database, 3)  # born on 1 October or 6 June: no birthday on these days
    _, on = policy_enabling(tmp_path, "jingchajie", "chongyang", "chuxi")
    days = {
        "jingchajie": date(2026, 1, 10),
        "chuxi": date(2026, 2, 16),
        "chongyang": date(2026, 10, 18),
    }
    for occasion, day in days.items():
        assert queue_greetings(database, POLICY, at(day, 9, 0), zone=SHANGHAI) == 0
        assert queue_greetings(database, on, at(day, 9, 0), zone=SHANGHAI) == 1, occasion
        assert queue_greetings(database, on, at(day, 10, 0), zone=SHANGHAI) == 0
        with database.session() as session:
            assert ledger.claimed_count(session, occasion, day) == 3
    # 三八妇女节 is still off in this policy.
    assert queue_greetings(database, on, at(date(2026, 3, 8), 9, 0), zone=SHANGHAI) == 0
    with database.session() as session:
        texts = sorted(text or "" for text in session.exec(select(Delivery.text)).all())
    assert len(texts) == 9
    assert expected("chuxi", "警员0", on) in texts
    assert expected("jingchajie", "警员2", on) in texts


# --- birthdays ----------------------------------------------------------------------------


async def test_born_on_29_february_greeted_on_28_february_of_a_common_year(
    bot: BotHarness,
) -> None:
    add_officer(
        bot.database,
        "200001",
        "林闰",
        "+8613800200001",
        bound_to=LEAP.id,
        birthday=date(1988, 2, 29),
    )
    add_officer(
        bot.database,
        "200002",
        "王建国",
        "+8613800200002",
        bound_to=WANG.id,
        birthday=date(1985, 3, 1),
    )
    await bot.meet(LEAP, WANG)
    clock = clock_of(bot.application)
    clock.freeze(at(date(2027, 2, 28), 9, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play([(LEAP, None, [says(expected(BIRTHDAY, "林闰"))]), (WANG, None, [])])
    # 1 March: the other officer's birthday, not a second one for the leap-day officer.
    clock.freeze(at(date(2027, 3, 1), 9, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play([(WANG, None, [says(expected(BIRTHDAY, "王建国"))]), (LEAP, None, [])])
    # In a leap year, 28 February is nobody's day here; 29 February is theirs.
    clock.freeze(at(date(2028, 2, 28), 9, 0))
    assert await run_greetings(bot.application) == 0
    clock.freeze(at(date(2028, 2, 29), 9, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play([(LEAP, None, [says(expected(BIRTHDAY, "林闰"))])])


def _gregorian_of(lunar: LunarDate, year: int) -> date:
    """The day of a Gregorian year that has this lunar date."""
    day = date(year, 1, 1)
    while lunar_of(day) != lunar:
        day += timedelta(days=1)
    return day


async def test_a_lunar_birthday_is_greeted_on_the_lunar_date_only(bot: BotHarness) -> None:
    born = date(1990, 5, 20)
    chosen = lunar_of(born)  # the officer keeps their lunar birthday
    add_officer(
        bot.database,
        "300001",
        "农历生",
        "+8613800300001",
        bound_to=LUNAR.id,
        birthday=born,
        lunar_birth_month=chosen.month,
        lunar_birth_day=chosen.day,
        lunar_birth_leap=chosen.leap,
    )
    add_officer(
        bot.database, "300002", "阳历生", "+8613800300002", bound_to=SOLAR.id, birthday=born
    )
    await bot.meet(LUNAR, SOLAR)
    lunar_day = _gregorian_of(chosen, 2027)
    solar_day = date(2027, 5, 20)
    assert lunar_day != solar_day and not festivals_on(lunar_day)
    clock = clock_of(bot.application)
    clock.freeze(at(solar_day, 9, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play([(SOLAR, None, [says(expected(BIRTHDAY, "阳历生"))]), (LUNAR, None, [])])
    clock.freeze(at(lunar_day, 9, 0))
    assert await run_greetings(bot.application) == 1
    await bot.dialog.play([(LUNAR, None, [says(expected(BIRTHDAY, "农历生"))]), (SOLAR, None, [])])


# --- exactly once -------------------------------------------------------------------------


async def test_no_second_greeting_after_a_restart_or_a_clock_put_back(bot: BotHarness) -> None:
    await _roster(bot)
    add_officer(
        bot.database,
        "100009",
        "寿星",
        "+8613800100009",
        bound_to=LEAP.id,
        birthday=date(1980, 10, 1),
    )
    await bot.meet(LEAP)
    # A restarted bot (a new Application on the same database) queues the greetings first,
    # and dies before its sender sends any of them.
    restarted = build_application(bot.settings, bot.database, POLICY)
    clock_of(restarted).freeze(at(NATIONAL_DAY, 9, 0))
    assert await run_greetings(restarted) == 2  # the festival and a birthday
    # The running bot ticks at 09:05, then again with its clock put back to 09:00.
    clock = clock_of(bot.application)
    clock.freeze(at(NATIONAL_DAY, 9, 5))
    assert await run_greetings(bot.application) == 0
    clock.freeze(at(NATIONAL_DAY, 9, 0))
    assert await run_greetings(bot.application) == 0
    bot.application.bot_data["nuanjing.sender"].wake()
    await bot.dialog.play(
        [
            (WANG, None, [says(expected("guoqing", "王建国"))]),
            (LEAP, None, [says(expected("guoqing", "寿星")), says(expected(BIRTHDAY, "寿星"))]),
        ]
    )
    assert await run_greetings(restarted) == 0
    await bot.dialog.play([(WANG, None, []), (LEAP, None, [])])


def _many(database: Database, count: int) -> None:
    for n in range(count):
        add_officer(
            database,
            f"8{n:05d}",
            f"警员{n}",
            f"+86139{n:08d}",
            bound_to=9_100_000 + n,
            birthday=date(1980 + n % 20, 10, 1) if n % 3 == 0 else date(1980, 6, 6),
        )


def test_two_runs_at_the_same_moment_greet_everyone_once(database: Database) -> None:
    """Two processes (threads here, each with its own sessions) start the same run at once."""
    _many(database, 30)
    barrier = threading.Barrier(2)

    def run(_: int) -> int:
        barrier.wait(timeout=10)
        return queue_greetings(database, POLICY, at(NATIONAL_DAY, 9, 0), zone=SHANGHAI)

    with ThreadPoolExecutor(max_workers=2) as pool:
        assert sum(pool.map(run, range(2))) == 2  # one festival and one birthday broadcast
    with database.session() as session:
        rows: list[Any] = list(session.exec(select(Delivery.officer_id, Delivery.state)).all())
        festival = ledger.claimed_count(session, "guoqing", NATIONAL_DAY)
        birthdays = ledger.claimed_count(session, BIRTHDAY, NATIONAL_DAY)
    per_officer = Counter(officer_id for officer_id, _ in rows)
    assert festival == 30 and birthdays == 10
    assert sorted(per_officer.values()) == [1] * 20 + [2] * 10
    assert {state for _, state in rows} == {DeliveryState.PENDING}


def test_rendering_once_for_a_run_gives_what_render_gives() -> None:
    templates = [
        "{name}，{festival}快乐！{union}",
        "  {name}  ",
        "{name}{name}",
        "",
        "无名",
        "{x} {name}",
    ]
    names = ["王建国", " 王 ", "", "  ", "{union}", "\n李\n"]
    for template in templates:
        for name in names:
            for note in ("", "礼品到工会领取。", "  "):
                options = {"festival": "国庆节", "union": UNION, "welfare_note": note}
                want = render(template, name=name, **options)
                assert renderer(template, **options)(name) == want, (template, name, note)


def test_greetings_still_waiting_when_their_day_is_over_are_dropped(database: Database) -> None:
    """Queued at 20:59 and not sent by 21:00: stopped, never sent the next morning a day late."""
    _many(database, 3)
    assert queue_greetings(database, POLICY, at(NATIONAL_DAY, 20, 59), zone=SHANGHAI) == 2
    with database.session() as session:
        assert broadcasts.expire(session, at(NATIONAL_DAY, 20, 59)) == []
        assert len(broadcasts.expire(session, at(NATIONAL_DAY, 21, 0))) == 2
        states = set(session.exec(select(Delivery.state)).all())
        ends = {b.expires_at for b in session.exec(select(Broadcast))}
    assert states == {DeliveryState.CANCELLED}
    assert ends == {at(NATIONAL_DAY, 21, 0)}
    # Nothing is queued again for that day, however often the run looks.
    assert queue_greetings(database, POLICY, at(NATIONAL_DAY, 20, 59), zone=SHANGHAI) == 0
