"""Events: storage (gender caps, waitlist, racing presses), publishing, audiences, sign-ups,
managers' panel (attendance, roster, edits, cancellation), club leaders' limits, reminders."""

from __future__ import annotations

import asyncio
import io
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.jobs.events import queue_reminders
from bot.scheduler import clock_of, event_reminders_job, run_event_reminders
from handlers.context import services_of
from storage import audit, clubs
from storage import events as event_storage
from storage.db import Database
from storage.events import Outcome
from storage.models import Broadcast, Delivery, Event, EventSignup, Officer, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
DAY = TODAY + timedelta(days=10)
EVE = DAY - timedelta(days=1)
YESTERDAY = TODAY - timedelta(days=1)

WANG = Person(7_900_000_001, "王警官")  # man, single, 天元分局, plays football
LI = Person(7_900_000_002, "李警官")  # man, married, 交警支队, plays football
SUN = Person(7_900_000_004, "孙警官")  # woman, single, 天元分局
QIAN = Person(7_900_000_005, "钱警官")  # woman, married, 交警支队, does yoga
ZHOU = Person(7_900_000_006, "周队长")  # man, single, leads the football club
ZHAO = Person(7_900_000_009, "赵干事")  # organizer


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


async def _seed(bot: BotHarness) -> dict[str, int]:
    def officer(police_id: str, name: str, person: Person, **fields: Any) -> int:
        return _id(
            add_officer(
                bot.database, police_id, name, f"+86138000{police_id}", bound_to=person.id, **fields
            )
        )

    ids = {
        "wang": officer("100001", "王建国", WANG, gender="M", single_opt_in=True),
        "li": officer("100002", "李强", LI, gender="M", unit="交警支队"),
        "sun": officer("100004", "孙丽", SUN, gender="F", single_opt_in=True),
        "qian": officer("100005", "钱芳", QIAN, gender="F", unit="交警支队"),
        "zhou": officer("100006", "周勇", ZHOU, gender="M", single_opt_in=True),
        "zhao": officer("200001", "赵敏", ZHAO, gender="F", roles=[Role.ORGANIZER]),
    }
    with bot.database.session() as session:
        clubs.join(session, ids["wang"], "足球")
        clubs.join(session, ids["li"], "足球")
        clubs.join(session, ids["qian"], "瑜伽")
        clubs.set_leader(session, "足球", ids["zhou"], True, actor="test")
    await bot.meet(WANG, LI, SUN, QIAN, ZHOU, ZHAO)
    return ids


def _event(
    database: Database,
    *,
    starts: datetime | None = None,
    capacity: int = 2,
    male_cap: int | None = None,
    female_cap: int | None = None,
    waitlist: bool = True,
    kind: str = "class",
    audience: str = "everyone",
    value: str = "",
    title: str = "插花课",
) -> int:
    start = starts or datetime.now(UTC) + timedelta(days=10)
    with database.session() as session:
        event = event_storage.create(
            session,
            kind=kind,
            title=title,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place="工会活动室",
            capacity=capacity,
            signup_deadline=start,
            audience=audience,
            audience_value=value,
            male_cap=male_cap,
            female_cap=female_cap,
            waitlist=waitlist,
            created_by="officer:200001",
        )
        assert event.id is not None
        return event.id


def _people(database: Database, genders: str) -> list[int]:
    return [
        _id(
            add_officer(
                database,
                f"3000{n:02d}",
                f"会员{n}",
                f"+86139000000{n:02d}",
                bound_to=9_100 + n,
                gender=gender,
            )
        )
        for n, gender in enumerate(genders, start=1)
    ]


def _sign_up(database: Database, event_id: int, officer_id: int, gender: str) -> Outcome:
    with database.session() as session:
        return event_storage.sign_up(
            session, event_id, officer_id, gender, now=datetime.now(UTC)
        ).outcome


def _states(database: Database, event_id: int) -> list[tuple[str, str]]:
    with database.session() as session:
        return [(a.police_id, a.state) for a in event_storage.attendees(session, event_id)]


# --- storage ---------------------------------------------------------------------------------


def test_gender_caps_waitlist_and_promotion_of_the_first_who_fits(database: Database) -> None:
    m1, m2, m3, f1 = _people(database, "MMMF")
    event_id = _event(database, capacity=3, male_cap=1, female_cap=2)
    assert _sign_up(database, event_id, m1, "M") == Outcome.SIGNED
    # The men's cap is full although places are left: men wait, women still get in.
    assert _sign_up(database, event_id, m2, "M") == Outcome.WAITLISTED
    assert _sign_up(database, event_id, m3, "M") == Outcome.WAITLISTED
    assert _sign_up(database, event_id, f1, "F") == Outcome.SIGNED
    with database.session() as session:
        view = event_storage.view(session, event_storage.get(session, event_id), f1)  # type: ignore[arg-type]
    assert (view.places_left, view.gender_left("M"), view.gender_left("F")) == (1, 0, 1)
    # The man signed up leaves: the first man in line moves up, not the second.
    with database.session() as session:
        left = event_storage.cancel(session, event_id, m1, now=datetime.now(UTC))
    assert (left.was, left.promoted) == ("signed", m2)
    assert _states(database, event_id) == [
        ("300002", "signed"),
        ("300004", "signed"),
        ("300003", "waitlisted"),
    ]
    # A woman leaving frees a woman's place; the waiting man still does not fit.
    with database.session() as session:
        left = event_storage.cancel(session, event_id, f1, now=datetime.now(UTC))
    assert (left.was, left.promoted) == ("signed", None)


def test_full_without_waitlist_deadline_and_double_sign_up(database: Database) -> None:
    a, b = _people(database, "MF")
    event_id = _event(database, capacity=1, waitlist=False)
    assert _sign_up(database, event_id, a, "M") == Outcome.SIGNED
    assert _sign_up(database, event_id, a, "M") == Outcome.ALREADY_SIGNED
    assert _sign_up(database, event_id, b, "F") == Outcome.FULL
    assert _states(database, event_id) == [("300001", "signed")]
    closed = _event(database, starts=datetime.now(UTC) + timedelta(days=3))
    with database.session() as session:
        event = session.get(Event, closed)
        assert event is not None
        event.signup_deadline = datetime.now(UTC) - timedelta(minutes=1)
        session.add(event)
    assert _sign_up(database, closed, a, "M") == Outcome.DEADLINE
    with database.session() as session:
        assert event_storage.cancel(session, closed, a, now=datetime.now(UTC)).outcome == (
            Outcome.DEADLINE
        )


def test_the_last_place_is_taken_once_by_simultaneous_presses(database: Database) -> None:
    """Two threads released at the same instant on the last place: one place is taken."""
    a, b = _people(database, "FF")
    event_id = _event(database, capacity=1, female_cap=1)
    barrier = threading.Barrier(2)

    def press(officer_id: int) -> Outcome:
        barrier.wait(timeout=10)
        return _sign_up(database, event_id, officer_id, "F")

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(press, [a, b]))
    assert outcomes == sorted([Outcome.SIGNED, Outcome.WAITLISTED])
    with database.session() as session:
        counts = event_storage.counts(session, event_id)
    assert (counts.signed, counts.signed_female, counts.waitlisted) == (1, 1, 1)


# --- publishing ------------------------------------------------------------------------------


def _publish_rows(
    who: Person,
    *,
    choose: list[tuple[str, str]],
    title: str,
    capacity: str,
    preview: list[str],
    published: str,
) -> list[Row]:
    """Rows that walk a manager from the first choice to 发布, without mistakes."""
    rows: list[Row] = []
    for button, next_question in choose:
        rows.append((who, Press(button), [edits(next_question)]))
    rows += [
        (who, title, [says("活动什么时候")]),
        (who, f"{DAY.isoformat()} 14:00-17:00", [says("活动地点在哪里")]),
        (who, "神农湖畔", [says("多少个名额")]),
        (who, capacity, [says("报名截止时间", buttons=["开始前都可报名"])]),
        (who, Press("开始前都可报名"), [edits("请简单介绍一下活动")]),
        (who, Press("跳过"), [edits("请核对活动信息", *preview, buttons=["✅ 发布"])]),
        (who, Press("✅ 发布"), [edits(published)]),
    ]
    return rows


async def test_matchmaking_with_bad_input_caps_privacy_and_promotion(bot: BotHarness) -> None:
    ids = await _seed(bot)
    day, eve = DAY.isoformat(), EVE.isoformat()
    rows: list[Row] = [
        (
            ZHAO,
            "/events new",
            [
                says(
                    "要发布哪类活动",
                    buttons=["联谊交友", "兴趣课堂", "户外活动", "体育比赛", "俱乐部活动"],
                )
            ],
        ),
        (ZHAO, Press("联谊交友"), [edits("请输入活动名称")]),
        (ZHAO, "缘" * 101, [says("活动名称不能超过 100 字")]),
        (ZHAO, "芙蓉情缘联谊会", [says("活动什么时候")]),
        (ZHAO, f"{YESTERDAY.isoformat()} 14:00-17:00", [says("已经过去了")]),
        (ZHAO, f"{day} 17:00-14:00", [says("结束时间要晚于开始时间")]),
        (ZHAO, "下周六下午", [says("看不懂这个时间")]),
        (ZHAO, f"{day} 14:00-17:00", [says("活动地点在哪里")]),
        (ZHAO, "神农湖畔", [says("男20 女20")]),
        (ZHAO, "0", [says("1～10000")]),
        (ZHAO, "10001", [says("1～10000")]),
        (ZHAO, "3 男1 女2", [says("报名截止时间", buttons=["开始前都可报名"])]),
        (ZHAO, f"{day} 18:00", [says("不能晚于活动开始", f"{day}（")]),
        (ZHAO, f"{eve} 18:00", [says("请简单介绍一下活动", buttons=["跳过"])]),
        (ZHAO, "单身民警交友，欢迎参加。", [says("请核对活动信息", "芙蓉情缘联谊会")]),
    ]
    await bot.dialog.play(rows)
    # The preview as the organizer checks it: audience, caps, deadline, the number told.
    [preview] = [e for e in await bot.client.history(ZHAO.as_user()) if "请核对" in e.text]
    for fragment in (
        "单身会员",
        "男 1 个，女 2 个",
        f"{eve}（",
        "18:00",
        "神农湖畔",
        "将通知 3 位",
    ):
        assert fragment in preview.text, fragment
    await bot.dialog.play(
        [
            (ZHAO, Press("不设候补"), [edits("候补：不开", buttons=["开放候补"])]),
            (ZHAO, Press("开放候补"), [edits("候补：开", buttons=["不设候补"])]),
            (ZHAO, Press("✅ 发布"), [edits("活动已发布（#1）", "3 位会员")]),
            # A double press on 发布 publishes once.
            (ZHAO, PressData("evs:0000:confirm", answer="此按钮已失效"), []),
            # Only those who opted in as single hear of it; the married never do.
            (WANG, None, [says("新活动", "芙蓉情缘联谊会", buttons=["我要报名"])]),
            (SUN, None, [says("新活动", "芙蓉情缘联谊会")]),
            (ZHOU, None, [says("新活动")]),
            (LI, None, []),
            (QIAN, None, []),
            (LI, "/events", [says("近期还没有您可以报名的活动")]),
            # A forged press by a married officer does not sign him up, nor tell him of it.
            (LI, PressData("ev:join:1:", answer="此按钮已失效"), []),
            (WANG, Press("我要报名"), [edits("报名成功", "还剩 2 个", "男 0 个，女 2 个")]),
            (WANG, Press("取消报名"), [edits("已取消报名", "还剩 3 个")]),
            (WANG, Press("报名"), [edits("报名成功")]),
            # The men's cap is full: the next man is offered the waitlist, women still get in.
            (ZHOU, "/events", [says("芙蓉情缘联谊会", "男 0 个", buttons=["候补报名"])]),
            (ZHOU, Press("候补报名"), [edits("候补", "第 1 位", buttons=["取消报名"])]),
            (SUN, "/events", [says("女 2 个", buttons=["报名"])]),
            (SUN, Press("报名"), [edits("报名成功", "还剩 1 个")]),
            # Officers see counts only: the list is the organizers'.
            (SUN, "/events 1", [says("您不能管理这个活动")]),
            (SUN, PressData("ev:list:1:", answer="您不能管理这个活动"), []),
            (
                ZHAO,
                "/events 1",
                [says("已报名 2 人（男 1，女 1），候补 1 人", buttons=["📋 名单和签到"])],
            ),
            (
                ZHAO,
                Press("📋 名单和签到"),
                [
                    says("名单", "候补：", "1. 周勇（100006"),
                    says("1. 王建国（100001", "2. 孙丽（100004", buttons=["✅ 1. 王建国", "❌"]),
                ],
            ),
            (ZHAO, Press("✅ 1. 王建国", answer="活动当天"), []),
            # The man signed up leaves: the waiting man moves up and is told privately.
            (WANG, "/events mine", [says("我的报名", "芙蓉情缘联谊会", "已报名")]),
            (WANG, "/events", [says(buttons=["取消报名"])]),
            (WANG, Press("取消报名"), [edits("已取消报名")]),
            (ZHOU, None, [says("递补为正式报名", "芙蓉情缘联谊会", "神农湖畔")]),
            (ZHOU, "/events mine", [says("已报名")]),
        ]
    )
    forged = [e.action for e in _audit(bot.database) if e.action.startswith("forged.")]
    assert forged == ["forged.event_manage"]
    with bot.database.session() as session:
        event = session.get(Event, 1)
        assert event is not None
        assert (event.capacity, event.male_cap, event.female_cap) == (3, 1, 2)
        assert event.description == "单身民警交友，欢迎参加。"
        assert event.signup_deadline == datetime(EVE.year, EVE.month, EVE.day, 18, tzinfo=SHANGHAI)
    assert ids


def _audit(database: Database) -> list[Any]:
    with database.session() as session:
        return list(audit.recent(session))


async def test_each_kind_reaches_its_audience_only(bot: BotHarness) -> None:
    await _seed(bot)
    # An outing for women only.
    rows: list[Row] = [(ZHAO, "/events new", [says("要发布哪类活动")])]
    rows += _publish_rows(
        ZHAO,
        choose=[("户外活动", "谁可以报名"), ("仅女警", "请输入活动名称")],
        title="女警春季踏青",
        capacity="50",
        preview=["户外活动", "女警", "将通知 3 位"],
        published="活动已发布（#1）",
    )
    rows += [
        (SUN, None, [says("女警春季踏青", buttons=["我要报名"])]),
        (QIAN, None, [says("女警春季踏青")]),
        (ZHAO, None, [says("女警春季踏青")]),
        (WANG, None, []),
        (LI, "/events", [says("近期还没有您可以报名的活动")]),
        (LI, PressData("ev:join:1:", answer="此按钮已失效"), []),
    ]
    # A competition for one unit.
    rows.append((ZHAO, "/events new", [says("要发布哪类活动")]))
    rows += _publish_rows(
        ZHAO,
        choose=[
            ("体育比赛", "谁可以报名"),
            ("某个单位", "请选择单位"),
            ("交警支队", "请输入活动名称"),
        ],
        title="气排球比赛",
        capacity="12",
        preview=["交警支队会员", "将通知 2 位"],
        published="活动已发布（#2）",
    )
    rows += [
        (LI, None, [says("气排球比赛")]),
        (QIAN, None, [says("气排球比赛")]),
        (SUN, None, []),
        (WANG, "/events", [says("近期还没有您可以报名的活动")]),
    ]
    # A class for everyone, men only and singles work alike.
    rows.append((ZHAO, "/events new", [says("要发布哪类活动")]))
    rows += _publish_rows(
        ZHAO,
        choose=[("兴趣课堂", "谁可以报名"), ("全体会员", "请输入活动名称")],
        title="心理成长营",
        capacity="30",
        preview=["全体会员", "将通知 6 位"],
        published="活动已发布（#3）",
    )
    rows += [(person, None, [says("心理成长营")]) for person in (WANG, LI, SUN, QIAN, ZHOU, ZHAO)]
    # A club activity chosen by an organizer goes to that club's members only.
    rows.append((ZHAO, "/events new", [says("要发布哪类活动")]))
    rows += _publish_rows(
        ZHAO,
        choose=[("俱乐部活动", "是哪个俱乐部的活动"), ("瑜伽", "请输入活动名称")],
        title="瑜伽晨练",
        capacity="20",
        preview=["瑜伽俱乐部成员", "将通知 1 位"],
        published="活动已发布（#4）",
    )
    rows += [(QIAN, None, [says("瑜伽晨练")]), (WANG, None, [])]
    await bot.dialog.play(rows)
    # Each officer's list holds exactly the events of their audiences.
    await bot.dialog.play(
        [
            (LI, "/events", [says("气排球比赛"), says("心理成长营")]),
            (
                QIAN,
                "/events",
                [says("女警春季踏青"), says("气排球比赛"), says("心理成长营"), says("瑜伽晨练")],
            ),
        ]
    )


async def test_club_leaders_publish_and_manage_their_club_only(bot: BotHarness) -> None:
    await _seed(bot)
    yoga = _event(
        bot.database, kind="club_activity", audience="club", value="瑜伽", title="瑜伽晨练"
    )
    # A leader of one club goes straight to the title: the only kind and club they may choose.
    rows: list[Row] = [(ZHOU, "/events new", [says("请输入活动名称")])]
    rows += _publish_rows(
        ZHOU,
        choose=[],
        title="环湖接力跑训练",
        capacity="30",
        preview=["俱乐部活动", "足球俱乐部成员", "将通知 3 位"],
        published="活动已发布（#2）",
    )
    rows += [
        (ZHOU, None, [says("环湖接力跑训练")]),
        (WANG, None, [says("环湖接力跑训练")]),
        (LI, None, [says("环湖接力跑训练")]),
        (QIAN, None, []),
        (ZHOU, "/events 2", [says("环湖接力跑训练", "已报名 0 人", buttons=["取消活动"])]),
        # Another club's activity: no panel, no edit, no cancel, however the press is made; not
        # in its audience either, he is not even told that it exists.
        (ZHOU, f"/events {yoga}", [says(f"没有找到编号为 {yoga} 的活动")]),
        (ZHOU, PressData(f"ev:manage:{yoga}:", answer="此按钮已失效"), []),
        (ZHOU, PressData(f"ev:edit:{yoga}:place", answer="此按钮已失效"), []),
        (ZHOU, PressData(f"ev:cancelok:{yoga}:", answer="此按钮已失效"), []),
        (ZHOU, PressData(f"evm:{yoga}:1:1", answer="此按钮已失效"), []),
        # Officers who lead nothing cannot publish.
        (WANG, "/events new", [says("只有工会干部和俱乐部负责人可以发布活动")]),
        (
            WANG,
            PressData("evs:abcd:kind:class", answer="只有工会干部和俱乐部负责人可以发布活动"),
            [],
        ),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        event = session.get(Event, yoga)
        assert event is not None and event.status == "open" and event.place == "工会活动室"
        published = session.get(Event, 2)
        assert published is not None
        assert (published.kind, published.audience, published.audience_value) == (
            "club_activity",
            "club",
            "足球",
        )
    forged = [e for e in _audit(bot.database) if e.action == "forged.event_manage"]
    assert len(forged) == 5  # the presses; typed commands are only refused


async def test_two_officers_press_for_the_last_place_at_once(bot: BotHarness) -> None:
    await _seed(bot)
    event_id = _event(bot.database, capacity=1)
    await bot.dialog.play(
        [(WANG, "/events", [says("插花课", "还剩 1 个")]), (SUN, "/events", [says("还剩 1 个")])]
    )
    # Both press in the same instant, and Wang presses twice.
    await asyncio.gather(
        bot.client.press(WANG.as_user(), "报名"),
        bot.client.press(SUN.as_user(), "报名"),
        bot.client.press(WANG.as_user(), "报名"),
    )
    wang = await bot.client.replies(WANG.as_user(), count=2, timeout=10)
    sun = await bot.client.replies(SUN.as_user(), count=1, timeout=10)
    texts = [e.text for e in wang + sun]
    assert sum("报名成功" in t for t in texts) == 1
    assert sum("第 1 位" in t for t in texts) == 1
    with bot.database.session() as session:
        counts = event_storage.counts(session, event_id)
        rows = session.exec(select(EventSignup).where(EventSignup.event_id == event_id)).all()
    assert (counts.signed, counts.waitlisted) == (1, 1)
    assert sorted(row.officer_id for row in rows) == sorted({row.officer_id for row in rows})


async def test_edit_and_cancel_tell_everyone_signed_up_or_waiting(bot: BotHarness) -> None:
    ids = await _seed(bot)
    event_id = _event(bot.database, capacity=1)
    _sign_up(bot.database, event_id, ids["wang"], "M")
    _sign_up(bot.database, event_id, ids["sun"], "F")  # waiting
    new_day = (DAY + timedelta(days=1)).isoformat()
    await bot.dialog.play(
        [
            (ZHAO, f"/events {event_id}", [says("已报名 1 人", "候补 1 人", buttons=["修改时间"])]),
            (ZHAO, Press("修改时间"), [says("活动什么时候")]),
            (ZHAO, f"{new_day} 17:00-15:00", [says("结束时间要晚于开始时间")]),
            (
                ZHAO,
                f"{new_day} 15:00-17:00",
                [says("时间将改为", f"{new_day}（", "将通知", "2 位")],
            ),
            (ZHAO, Press("✅ 确认修改"), [edits("已修改", "正在通知 2 位")]),
            (WANG, None, [says("活动变更", "插花课", f"{new_day}（", "15:00 至 17:00")]),
            (SUN, None, [says("活动变更")]),
            (QIAN, None, []),
            (ZHAO, f"/events {event_id}", [says(buttons=["修改名称"])]),
            (ZHAO, Press("修改名称"), [says("请输入活动名称")]),
            (ZHAO, "插花与茶艺课", [says("名称将改为", "不另行通知")]),
            (ZHAO, Press("✅ 确认修改"), [edits("已修改")]),
            (WANG, None, []),
            # More places: the one waiting moves up and is told; fewer than signed is refused.
            (ZHAO, f"/events {event_id}", [says("插花与茶艺课", buttons=["修改名额"])]),
            (ZHAO, Press("修改名额"), [says("新的名额是多少")]),
            (ZHAO, "0", [says("1～10000")]),
            (ZHAO, "2", [says("名额将改为", "2 个")]),
            (ZHAO, Press("✅ 确认修改"), [edits("已修改")]),
            (SUN, None, [says("增加了名额", "转为正式报名", "插花与茶艺课")]),
            (ZHAO, f"/events {event_id}", [says("已报名 2 人", "候补 0 人")]),
            (ZHAO, Press("修改名额"), [says("新的名额是多少")]),
            (ZHAO, "1", [says("名额不能少于已报名人数")]),
            (ZHAO, "/cancel", [says("已取消")]),
            (ZHAO, f"/events {event_id}", [says("插花与茶艺课", buttons=["取消活动"])]),
            (
                ZHAO,
                Press("取消活动"),
                [edits("确定取消活动「插花与茶艺课」吗", "2 位", buttons=["不取消"])],
            ),
            (ZHAO, Press("不取消"), [edits("插花与茶艺课", buttons=["取消活动"])]),
            (ZHAO, Press("取消活动"), [edits("确定取消活动")]),
            (ZHAO, Press("确定取消活动"), [edits("已取消", "正在通知 2 位")]),
            (
                WANG,
                None,
                [says("很抱歉，您报名的活动「插花与茶艺课」已取消", f"原定时间：{new_day}（")],
            ),
            (SUN, None, [says("已取消")]),
            # Cancelled: gone from lists, and old buttons change nothing.
            (WANG, "/events", [says("近期还没有您可以报名的活动")]),
            (WANG, PressData(f"ev:leave:{event_id}:", answer="已开始或已取消"), []),
            # Pressed again: what the first press said, not a bare "no".
            (ZHAO, PressData(f"ev:cancelok:{event_id}:"), [edits("插花与茶艺课", "已取消")]),
        ]
    )
    with bot.database.session() as session:
        event = session.get(Event, event_id)
        assert event is not None and event.status == "cancelled"
        assert event.starts_at.astimezone(SHANGHAI).hour == 15


async def test_attendance_roster_and_no_shows(bot: BotHarness) -> None:
    ids = await _seed(bot)
    # An event that began an hour ago, with two officers signed up before it started.
    started = _event(bot.database, starts=datetime.now(UTC) - timedelta(hours=1), title="篮球赛")
    with bot.database.session() as session:
        for position, (name, gender) in enumerate((("wang", "M"), ("sun", "F")), start=1):
            session.add(
                EventSignup(
                    event_id=started,
                    officer_id=ids[name],
                    state="signed",
                    position=position,
                    gender=gender,
                )
            )
    await bot.dialog.play(
        [
            (ZHAO, f"/events {started}", [says("篮球赛", "已报名 2 人", absent=["取消活动"])]),
            (
                ZHAO,
                Press("📋 名单和签到"),
                [says("篮球赛", "✅ 到场"), says("1. 王建国", "2. 孙丽", buttons=["✅ 1. 王建国"])],
            ),
            (ZHAO, Press("✅ 1. 王建国", answer="已记录"), [edits("1. ✅王建国", "2. 孙丽")]),
            (
                ZHAO,
                PressData(f"evm:{started}:{ids['sun']}:0", answer="已记录"),
                [edits("1. ✅王建国", "2. ❌孙丽", "累计缺席 1 次")],
            ),
            (ZHAO, PressData(f"evm:{started}:{ids['li']}:1", answer="不在报名名单上"), []),
            (WANG, "/events", [says("近期还没有您可以报名的活动")]),
            (WANG, PressData(f"evm:{started}:{ids['wang']}:1", answer="您不能管理这个活动"), []),
        ]
    )
    await bot.client.press(ZHAO.as_user(), "📥 导出名单")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.kind == "document" and document.document_name == f"event-{started}.xlsx"
    assert "篮球赛" in document.text and "共 2 人" in document.text
    assert document.document_bytes is not None
    sheet = load_workbook(io.BytesIO(document.document_bytes), read_only=True).worksheets[0]
    rows = [tuple(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == (
        "序号",
        "姓名",
        "警号",
        "单位",
        "性别",
        "状态",
        "报名时间",
        "签到",
        "累计缺席",
    )
    assert rows[1][:6] == (1, "王建国", "100001", "天元分局", "男", "已报名")
    assert rows[1][7:] == ("到场", 0)
    assert rows[2][1] == "孙丽" and rows[2][7:] == ("缺席", 1)
    # The no-show follows the officer to the next event's list.
    later = _event(bot.database, title="书法课")
    _sign_up(bot.database, later, ids["sun"], "F")
    await bot.dialog.play(
        [
            (ZHAO, f"/events {later}", [says("书法课")]),
            (ZHAO, Press("📋 名单和签到"), [says("书法课"), says("孙丽", "累计缺席 1 次")]),
        ]
    )
    assert {e.action for e in _audit(bot.database)} >= {"event.attendance", "event.export"}


async def test_reminders_24_and_2_hours_before_once_and_not_to_the_waitlist(
    bot: BotHarness,
) -> None:
    ids = await _seed(bot)
    # Noon in three days: neither mark falls in the quiet hours.
    day = TODAY + timedelta(days=3)
    starts = datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI).astimezone(UTC)
    event_id = _event(bot.database, starts=starts, capacity=1, title="羽毛球赛")
    _sign_up(bot.database, event_id, ids["wang"], "M")
    _sign_up(bot.database, event_id, ids["sun"], "F")  # waiting: never reminded
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("event-reminders")
    assert job.callback is event_reminders_job
    # What the job does every minute, by the application's clock.
    clock = clock_of(bot.application)
    clock.freeze(starts - timedelta(hours=25))
    assert await run_event_reminders(bot.application) == 0
    clock.freeze(starts - timedelta(hours=23, minutes=59))
    assert await run_event_reminders(bot.application) == 1
    clock.freeze(starts - timedelta(hours=23, minutes=58))
    assert await run_event_reminders(bot.application) == 0
    local = starts.astimezone(SHANGHAI)
    await bot.dialog.play(
        [
            (WANG, None, [says("活动提醒", "羽毛球赛", local.date().isoformat(), "工会活动室")]),
            (SUN, None, []),
        ]
    )
    now = starts - timedelta(hours=1, minutes=30)
    assert queue_reminders(bot.database, now, zone=SHANGHAI) == 1
    assert queue_reminders(bot.database, now, zone=SHANGHAI) == 0
    services_of(bot.application).broadcaster.wake()
    await bot.dialog.play(
        [(WANG, None, [says("即将开始", "羽毛球赛", local.strftime("%H:%M"))]), (SUN, None, [])]
    )
    with bot.database.session() as session:
        deliveries = session.exec(select(Delivery).where(col(Delivery.officer_id) == ids["wang"]))
        assert len(list(deliveries)) == 2


def test_a_late_sign_up_gets_the_two_hour_reminder_only(database: Database) -> None:
    """Signed up three hours before: no 24-hour reminder; signed up after the 2-hour mark: none."""
    early, late = _people(database, "MF")
    starts = datetime.now(UTC) + timedelta(hours=3)
    event_id = _event(database, starts=starts, capacity=5)
    _sign_up(database, event_id, early, "M")
    assert queue_reminders(database, starts - timedelta(hours=3), zone=SHANGHAI) == 0
    assert queue_reminders(database, starts - timedelta(hours=1), zone=SHANGHAI) == 1
    _sign_up(database, event_id, late, "F")
    with database.session() as session:
        signup = session.exec(select(EventSignup).where(EventSignup.officer_id == late)).one()
        signup.updated_at = starts - timedelta(minutes=50)
        session.add(signup)
    assert queue_reminders(database, starts - timedelta(minutes=30), zone=SHANGHAI) == 0
    with database.session() as session:
        deliveries = session.exec(select(Delivery)).all()
    assert [d.officer_id for d in deliveries] == [early]


def test_two_presses_by_one_officer_at_once_sign_up_once(database: Database) -> None:
    """The same officer's two presses released together: one sign-up row, one place."""
    (officer,) = _people(database, "M")
    event_id = _event(database, capacity=5)
    barrier = threading.Barrier(2)

    def press(_: int) -> Outcome:
        barrier.wait(timeout=10)
        return _sign_up(database, event_id, officer, "M")

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = sorted(pool.map(press, [1, 2]))
    assert outcomes == sorted([Outcome.SIGNED, Outcome.ALREADY_SIGNED])
    with database.session() as session:
        rows = session.exec(select(EventSignup).where(EventSignup.event_id == event_id)).all()
    assert len(rows) == 1


def test_quiet_hours_move_a_night_reminder_to_the_evening_before(database: Database) -> None:
    """A 09:30 outing: its 2-hour reminder is due at 20:30 the day before, not at 07:30."""
    (officer,) = _people(database, "F")
    starts = datetime(2030, 6, 2, 9, 30, tzinfo=SHANGHAI)
    event_id = _event(database, starts=starts.astimezone(UTC), capacity=5)
    _sign_up(database, event_id, officer, "F")
    quiet = (time(21), time(8))

    def queue(year: int, month: int, day: int, hour: int, minute: int) -> int:
        now = datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)
        return queue_reminders(database, now.astimezone(UTC), zone=SHANGHAI, quiet=quiet)

    assert queue(2030, 6, 1, 9, 29) == 0
    assert queue(2030, 6, 1, 9, 30) == 1  # 24 hours before
    assert queue(2030, 6, 1, 20, 29) == 0
    assert queue(2030, 6, 1, 20, 30) == 1  # the 2-hour one, before the quiet hours begin
    assert queue(2030, 6, 2, 7, 30) == 0  # and not again at the real mark
    with database.session() as session:
        texts = [b.text for b in session.exec(select(Broadcast).order_by(col(Broadcast.id)))]
    assert "活动时间：2030-06-02（周日）09:30 至 11:30" in texts[0]
    assert "即将开始" in texts[1] and "2030-06-02 09:30 开始" in texts[1]


async def test_leaving_singles_withdraws_from_matchmaking_and_promotes(bot: BotHarness) -> None:
    ids = await _seed(bot)
    event_id = _event(bot.database, capacity=1, kind="matchmaking", audience="singles")
    _sign_up(bot.database, event_id, ids["wang"], "M")
    _sign_up(bot.database, event_id, ids["zhou"], "M")  # waiting
    await bot.dialog.play(
        [
            (WANG, "/me", [says("单身交友", buttons=["💞 关闭单身交友"])]),
            (WANG, Press("💞 关闭单身交友"), [edits("已为您取消联谊活动「插花课」的报名")]),
            (ZHOU, None, [says("递补为正式报名", "插花课")]),
            (WANG, "/events", [says("近期还没有您可以报名的活动")]),
        ]
    )
    assert _states(bot.database, event_id) == [("100006", "signed")]


async def test_a_capped_event_needs_the_officers_gender(bot: BotHarness) -> None:
    await _seed(bot)
    add_officer(bot.database, "100008", "郑青", "+86138000100008", bound_to=7_900_000_008)
    nobody = Person(7_900_000_008, "郑警官")
    await bot.meet(nobody)
    _event(bot.database, capacity=4, male_cap=2, female_cap=2, title="联谊舞会")
    await bot.dialog.play(
        [
            (nobody, "/events", [says("联谊舞会", buttons=["报名"])]),
            (nobody, Press("报名", answer="名册里还没有您的性别"), []),
        ]
    )


async def test_a_double_press_on_publish_publishes_once(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [(ZHAO, "/events new", [says("要发布哪类活动")])]
    rows += _publish_rows(
        ZHAO,
        choose=[("兴趣课堂", "谁可以报名"), ("全体会员", "请输入活动名称")],
        title="插花课",
        capacity="30",
        preview=["将通知 6 位"],
        published="",
    )[:-1]
    await bot.dialog.play(rows)
    message_id, publish = "", ""
    for event in reversed(await bot.client.history(ZHAO.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == "✅ 发布" and button.callback_data and not publish:
                    message_id, publish = str(event.message_id), button.callback_data
    user = ZHAO.as_user()
    queries = await asyncio.gather(
        bot.client.press_data(user, int(message_id), publish),
        bot.client.press_data(user, int(message_id), publish),
    )
    answers = [await bot.client.callback_answer(q, timeout=10) for q in queries]
    assert sorted(str((a or {}).get("text") or "") for a in answers) == ["", "此按钮已失效"]
    with bot.database.session() as session:
        assert len(session.exec(select(Event)).all()) == 1
        assert len(session.exec(select(Broadcast)).all()) == 1


async def test_the_list_shows_the_ten_soonest_and_says_how_many_follow(bot: BotHarness) -> None:
    await _seed(bot)
    for day in range(1, 13):
        _event(bot.database, starts=datetime.now(UTC) + timedelta(days=day), title=f"课程{day}")
    cards = [says(f"课程{day}（") for day in range(1, 10)]
    cards.append(says("课程10（", "后面还有 2 个活动", "/events 我的"))
    await bot.dialog.play([(WANG, "/events", cards)])


async def test_after_the_deadline_nobody_signs_up_or_cancels(bot: BotHarness) -> None:
    ids = await _seed(bot)
    event_id = _event(bot.database, capacity=5)
    _sign_up(bot.database, event_id, ids["wang"], "M")
    with bot.database.session() as session:
        event = session.get(Event, event_id)
        assert event is not None
        event.signup_deadline = datetime.now(UTC) - timedelta(minutes=1)
        session.add(event)
    await bot.dialog.play(
        [
            (WANG, "/events", [says("报名已截止", "您已报名")]),
            (WANG, PressData(f"ev:leave:{event_id}:", answer="报名已截止"), []),
            (SUN, "/events", [says("报名已截止")]),
            (SUN, PressData(f"ev:join:{event_id}:", answer="报名已截止"), []),
            # The manager moves the deadline: sign-ups open again.
            (ZHAO, f"/events {event_id}", [says(buttons=["修改截止"])]),
            (ZHAO, Press("修改截止"), [says("新的报名截止时间")]),
            (ZHAO, f"{YESTERDAY.isoformat()} 18:00", [says("已经过去了")]),
            (
                ZHAO,
                f"{EVE.isoformat()} 18:00",
                [says("报名截止时间将改为", f"{EVE.isoformat()}（")],
            ),
            (ZHAO, Press("✅ 确认修改"), [edits("已修改")]),
            (SUN, "/events", [says("插花课", buttons=["报名"])]),
            (SUN, Press("报名"), [edits("报名成功")]),
        ]
    )
    with bot.database.session() as session:
        events = session.exec(select(Broadcast)).all()
    assert events == []  # a new deadline is not news for those signed up
