"""Blood drives: storage (sign-up, waitlist, cancel, reminders, the racing last place), dialogs."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.jobs.drives import queue_reminders, reminder_job
from handlers.context import services_of
from storage import blood as blood_storage
from storage import drives as drive_storage
from storage.db import Database
from storage.drives import Outcome, SignUpResult
from storage.models import Broadcast, BroadcastKind, Delivery, Officer, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, edits, says
from tests.racing import racing

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
# 09:00 in Shanghai on 2 June 2030 (01:00 UTC): far enough ahead to be open in every test.
STARTS = datetime(2030, 6, 2, 1, 0, tzinfo=UTC)

WANG = Person(7_800_000_001, "王警官")
LI = Person(7_800_000_002, "李警官")
ZHANG = Person(7_800_000_003, "张警官")
SUN = Person(7_800_000_004, "孙警官")
QIAN = Person(7_800_000_005, "钱警官")
ZHAO = Person(7_800_000_009, "赵干事")


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


def _drive(database: Database, capacity: int, *, types: str = "", starts: datetime = STARTS) -> int:
    with database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=starts,
            place="市中心血站",
            capacity=capacity,
            blood_types_wanted=types,
            created_by="officer:200001",
        )
        assert drive.id is not None
        return drive.id


def _sign_up(database: Database, drive_id: int, officer: Officer) -> SignUpResult:
    with database.session() as session:
        return drive_storage.sign_up(session, drive_id, _id(officer), now=datetime.now(UTC))


def _cancel(database: Database, drive_id: int, officer: Officer) -> drive_storage.CancelResult:
    with database.session() as session:
        return drive_storage.cancel(session, drive_id, _id(officer), now=datetime.now(UTC))


def _people(database: Database, count: int) -> list[Officer]:
    return [
        add_officer(database, f"1000{n:02d}", f"会员{n}", f"+86138000000{n:02d}", bound_to=900 + n)
        for n in range(1, count + 1)
    ]


def _states(database: Database, drive_id: int) -> list[tuple[str, str]]:
    with database.session() as session:
        return [(a.police_id, a.state) for a in drive_storage.attendees(session, drive_id)]


# --- storage -----------------------------------------------------------------------------


def test_sign_up_fills_then_waitlists_in_order_and_cancel_promotes_the_first(
    database: Database,
) -> None:
    a, b, c, d = _people(database, 4)
    drive_id = _drive(database, 2)
    assert _sign_up(database, drive_id, a).outcome == Outcome.SIGNED
    assert _sign_up(database, drive_id, b).outcome == Outcome.SIGNED
    third = _sign_up(database, drive_id, c)
    fourth = _sign_up(database, drive_id, d)
    assert (third.outcome, third.position) == (Outcome.WAITLISTED, 1)
    assert (fourth.outcome, fourth.position) == (Outcome.WAITLISTED, 2)
    with database.session() as session:
        [view] = drive_storage.upcoming(session, datetime.now(UTC), officer_id=_id(d))
    assert (view.signed, view.waitlisted, view.places_left) == (2, 2, 0)
    assert (view.mine, view.my_position) == ("waitlisted", 2)

    # A signed officer cancels: the first in line moves up, and is named for the handler.
    cancelled = _cancel(database, drive_id, a)
    assert (cancelled.cancelled, cancelled.was, cancelled.promoted) == (True, "signed", _id(c))
    assert _states(database, drive_id) == [
        ("100002", "signed"),
        ("100003", "signed"),
        ("100004", "waitlisted"),
    ]
    # Someone on the waitlist leaving frees no place: nobody is promoted.
    left = _cancel(database, drive_id, d)
    assert (left.cancelled, left.was, left.promoted) == (True, "waitlisted", None)
    # Cancelling twice changes nothing; signing up again goes to the end of the line.
    assert _cancel(database, drive_id, d).cancelled is False
    again = _sign_up(database, drive_id, a)
    assert (again.outcome, again.position) == (Outcome.WAITLISTED, 1)


def test_a_double_sign_up_signs_up_once(database: Database) -> None:
    a, b = _people(database, 2)
    drive_id = _drive(database, 1)
    assert _sign_up(database, drive_id, a).outcome == Outcome.SIGNED
    assert _sign_up(database, drive_id, a).outcome == Outcome.ALREADY_SIGNED
    assert _sign_up(database, drive_id, b).outcome == Outcome.WAITLISTED
    again = _sign_up(database, drive_id, b)
    assert (again.outcome, again.position) == (Outcome.ALREADY_WAITLISTED, 1)
    assert _states(database, drive_id) == [("100001", "signed"), ("100002", "waitlisted")]


def test_closed_drives_take_nobody(database: Database) -> None:
    [a] = _people(database, 1)
    past = _drive(database, 5, starts=datetime.now(UTC) - timedelta(minutes=1))
    assert _sign_up(database, past, a).outcome == Outcome.CLOSED
    assert _sign_up(database, 999_999, a).outcome == Outcome.CLOSED
    with database.session() as session:
        assert drive_storage.upcoming(session, datetime.now(UTC)) == []


def test_reminders_are_queued_once_the_day_before_for_those_signed_up(database: Database) -> None:
    a, b, c = _people(database, 3)
    unbound = add_officer(database, "100099", "未绑定", "+8613800000099")
    drive_id = _drive(database, 2)
    other = _drive(database, 5, starts=STARTS + timedelta(days=3))
    for officer in (a, unbound, b):  # b ends up on the waitlist
        _sign_up(database, drive_id, officer)
    _sign_up(database, other, c)
    # 31 May, 23:59 in Shanghai: two days before, not yet.
    assert queue_reminders(database, datetime(2030, 5, 31, 15, 59, tzinfo=UTC), zone=SHANGHAI) == 0
    # 1 June, 00:00 in Shanghai (still 31 May in UTC): the day before has begun.
    assert queue_reminders(database, datetime(2030, 5, 31, 16, 0, tzinfo=UTC), zone=SHANGHAI) == 1
    assert queue_reminders(database, datetime(2030, 6, 1, 12, 0, tzinfo=UTC), zone=SHANGHAI) == 0
    with database.session() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        recipients = session.exec(
            select(Delivery.officer_id).where(Delivery.broadcast_id == broadcast.id)
        ).all()
        reminded = drive_storage.get(session, drive_id)
    assert broadcast.kind == BroadcastKind.REMINDER
    assert "2030-06-02（周日）09:00" in broadcast.text and "市中心血站" in broadcast.text
    assert list(recipients) == [_id(a)]  # not the unbound officer, not the waitlist
    assert reminded is not None and reminded.reminded_at is not None


def test_the_last_place_is_taken_once_even_by_racing_transactions(database: Database) -> None:
    """Two presses on the last place: the second transaction waits, then finds it full."""
    a, b = _people(database, 2)
    drive_id = _drive(database, 1)

    def take(officer: Officer) -> SignUpResult:
        return _sign_up(database, drive_id, officer)

    with racing(database, lambda: take(b)) as race:
        with database.session() as session:
            first = drive_storage.sign_up(session, drive_id, _id(a), now=datetime.now(UTC))
            assert first.outcome == Outcome.SIGNED
            race.start()
            race.assert_waiting()
        assert race.result(timeout=10).outcome == Outcome.WAITLISTED
    assert _states(database, drive_id) == [("100001", "signed"), ("100002", "waitlisted")]


def test_simultaneous_presses_on_the_last_place(database: Database) -> None:
    """Two threads released at the same instant: exactly one place is taken."""
    a, b = _people(database, 2)
    drive_id = _drive(database, 1)
    barrier = threading.Barrier(2)

    def press(officer: Officer) -> Outcome:
        barrier.wait(timeout=10)
        return _sign_up(database, drive_id, officer).outcome

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(press, [a, b]))
    assert outcomes == sorted([Outcome.SIGNED, Outcome.WAITLISTED])
    with database.session() as session:
        [view] = drive_storage.upcoming(session, datetime.now(UTC))
    assert (view.signed, view.waitlisted) == (1, 1)


# --- dialogs -----------------------------------------------------------------------------


async def _seed(bot: BotHarness) -> None:
    def officer(police_id: str, name: str, person: Person, blood: str, **fields: Any) -> None:
        add_officer(
            bot.database,
            police_id,
            name,
            f"+86138000{police_id}",
            bound_to=person.id,
            birthday=date(1985, 3, 12),
            blood_group=blood,
            **fields,
        )

    officer("100001", "王建国", WANG, "O")
    officer("100002", "李强", LI, "A")
    officer("100003", "张伟", ZHANG, "B")
    officer("100004", "孙丽", SUN, "O")
    officer("100005", "钱进", QIAN, "A")
    officer("200001", "赵敏", ZHAO, "AB", roles=[Role.ORGANIZER])
    await bot.meet(WANG, LI, ZHANG, SUN, QIAN, ZHAO)


DRIVE_DAY = TODAY + timedelta(days=10)


async def test_organizer_schedules_and_bad_arguments_are_refused(bot: BotHarness) -> None:
    await _seed(bot)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    day = DRIVE_DAY.isoformat()
    await bot.dialog.play(
        [
            (ZHAO, f"/drives new {yesterday} 09:00 市中心血站 30", [says("已经过去了")]),
            (ZHAO, f"/drives new {day} 09:00 市中心血站 0", [says("名额请写 1～10000")]),
            (ZHAO, f"/drives new {day} 09:00 市中心血站 10001", [says("名额请写 1～10000")]),
            (ZHAO, f"/drives new {day} 09:00 市中心血站 30 O,X", [says("看不懂血型「O,X」")]),
            (ZHAO, f"/drives new {day} 25:00 市中心血站 30", [says("看不懂时间「25:00」")]),
            (ZHAO, f"/drives new {day} 09:00", [says("请写日期、时间、地点和名额")]),
            (
                ZHAO,
                f"/drive new {day} 09:00 市中心血站 二楼 30 o，a",
                [says("已安排献血活动 #1", f"{day}（", "09:00", "市中心血站 二楼", "O、A 型")],
            ),
            (ZHAO, "/drives 1", [says("献血活动 #1", "还没有人报名")]),
            # Officers may not schedule drives nor see the lists.
            (WANG, f"/drives new {day} 09:00 市中心血站 30", [says("没有权限")]),
            (WANG, "/drives 1", [says("没有权限")]),
        ]
    )
    with bot.database.session() as session:
        [view] = drive_storage.upcoming(session, datetime.now(UTC))
    assert view.drive.starts_at == datetime(
        DRIVE_DAY.year, DRIVE_DAY.month, DRIVE_DAY.day, 9, tzinfo=SHANGHAI
    )
    assert view.drive.blood_types_wanted == "O,A" and view.drive.capacity == 30


async def test_sign_up_refusals_waitlist_and_promotion(bot: BotHarness) -> None:
    await _seed(bot)
    day = DRIVE_DAY.isoformat()
    # 李强 gave whole blood 30 days ago: 180 days must pass.
    with bot.database.session() as session:
        li = session.exec(select(Officer).where(col(Officer.police_id) == "100002")).one()
        blood_storage.record(
            session,
            officer_id=_id(li),
            donated_on=TODAY - timedelta(days=30),
            component="whole_blood",
            amount=400,
            recorded_by="test",
        )
    may_from = (TODAY + timedelta(days=150)).isoformat()
    await bot.dialog.play(
        [
            (WANG, "/drives", [says("近期还没有安排献血活动")]),
            (ZHAO, f"/drives new {day} 09:00 市中心血站 2 O,A", [says("已安排献血活动 #1")]),
            (
                WANG,
                "/drives",
                [says("献血活动 #1", "还剩 2 个", "O、A 型", buttons=["报名"])],
            ),
            (WANG, Press("报名"), [edits("报名成功", "已报名 1 人", buttons=["取消报名"])]),
            (WANG, Press("取消报名"), [edits("已取消报名", "还剩 2 个", buttons=["报名"])]),
            (WANG, Press("报名"), [edits("报名成功", buttons=["取消报名"])]),
            # Not eligible on the drive's day: told why and from when, not signed up.
            (LI, "/drives", [says("献血活动 #1", buttons=["报名"])]),
            (
                LI,
                Press("报名"),
                [edits(f"{day} 您还不能献全血", f"{may_from} 起可以献", buttons=["报名"])],
            ),
            # A blood type the drive does not ask for.
            (ZHANG, "/drives", [says("献血活动 #1")]),
            (ZHANG, Press("报名"), [edits("需要的血型是 O、A", "您的血型是 B")]),
            (SUN, "/drives", [says("还剩 1 个")]),
            (SUN, Press("报名"), [edits("报名成功", "还剩 0 个")]),
            # Full: the button offers the waitlist, and the place in line is said.
            (QIAN, "/drives", [says("还剩 0 个", buttons=["报名候补"])]),
            (QIAN, Press("报名候补"), [edits("候补第 1 位", buttons=["取消报名"])]),
            # The list is one message (it used to be one more per donor): a name opens the
            # record buttons in the same message.
            (
                ZHAO,
                "/drives 1",
                [
                    says(
                        "1. 王建国（100001",
                        "2. 孙丽（100004",
                        "候补：\n1. 钱进（100005",
                        buttons=["📝 1. 王建国", "📝 2. 孙丽"],
                    ),
                ],
            ),
            (
                ZHAO,
                Press("📝 1. 王建国"),
                [
                    edits(
                        "1. 王建国（100001", buttons=["全血200", "全血400", "血小板2", "◀ 返回名单"]
                    )
                ],
            ),
            (ZHAO, Press("◀ 返回名单"), [edits("2. 孙丽（100004", buttons=["📝 2. 孙丽"])]),
            (
                ZHAO,
                Press("📝 2. 孙丽"),
                [edits("2. 孙丽（100004", buttons=["全血300", "血小板1"])],
            ),
            # A place is freed: the first in line moves up and hears of it privately.
            (WANG, Press("取消报名"), [edits("已取消报名", buttons=["报名候补"])]),
            (QIAN, None, [says("递补为正式报名", "献血活动 #1", "市中心血站")]),
            (QIAN, "/drives", [says("您已报名", buttons=["取消报名"])]),
            (LI, None, []),
            (ZHANG, None, []),
        ]
    )
    with bot.database.session() as session:
        states = [(a.police_id, a.state) for a in drive_storage.attendees(session, 1)]
    assert states == [("100004", "signed"), ("100005", "signed")]


async def test_forged_drive_buttons_change_nothing(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/drives", [says("近期还没有安排献血活动")]),
            (WANG, PressData("drv:join:999", answer="此按钮已失效"), []),
            (WANG, PressData("drv:leave:abc", answer="此按钮已失效"), []),
        ]
    )


async def test_the_reminder_goes_out_through_the_broadcast_engine(bot: BotHarness) -> None:
    await _seed(bot)
    tomorrow = TODAY + timedelta(days=1)
    starts = datetime(tomorrow.year, tomorrow.month, tomorrow.day, 9, tzinfo=SHANGHAI)
    drive_id = _drive(bot.database, 1, starts=starts.astimezone(UTC))
    with bot.database.session() as session:
        officers = session.exec(select(Officer).order_by(col(Officer.police_id))).all()
    wang, sun = officers[0], officers[3]
    _sign_up(bot.database, drive_id, wang)
    _sign_up(bot.database, drive_id, sun)  # full: on the waitlist, not reminded
    # The app runs it every ten minutes from PTB's JobQueue; here it is called directly.
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("drive-reminders")
    assert job.callback is reminder_job
    assert queue_reminders(bot.database, datetime.now(UTC), zone=SHANGHAI) == 1
    services_of(bot.application).broadcaster.wake()
    await bot.dialog.play(
        [
            (WANG, None, [says("献血提醒", f"{tomorrow.isoformat()}", "09:00", "市中心血站")]),
            (SUN, None, []),
        ]
    )
    assert queue_reminders(bot.database, datetime.now(UTC), zone=SHANGHAI) == 0
