"""Urgent blood appeals end to end: the real bot and its sender, the sandbox, a real database."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from telegram.ext import CallbackContext

from bot.jobs import appeals as appeal_jobs
from handlers import appeals as appeal_handlers
from handlers.callbacks import AppealAction
from storage import blood as blood_storage
from storage import roles as role_storage
from storage.models import (
    AppealReply,
    BloodAppeal,
    Broadcast,
    Officer,
    Priority,
    Role,
    TelegramBinding,
)
from tests.conftest import TEST_TOKEN, BotHarness, add_officer
from tests.dialogs import Person, says
from tests.settling import until

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
TOMORROW = (TODAY + timedelta(days=1)).isoformat()

ORG = Person(7_900_000_001, "赵干事")
NEW1 = Person(7_900_000_002, "新一")  # O- never gave: asked
PLT20 = Person(7_900_000_003, "板二十")  # O- platelets 20 days ago (14 needed): asked
WB30 = Person(7_900_000_004, "全三十")  # O- whole blood 30 days ago (90 needed): not asked
PLT5 = Person(7_900_000_005, "板五")  # O- platelets 5 days ago: not asked
POS = Person(7_900_000_006, "阳性")  # O+: not asked
AMINUS = Person(7_900_000_007, "甲阴")  # A-: not asked
GONE = Person(7_900_000_009, "离会")  # O- left the union: not asked
YOUNG = Person(7_900_000_010, "少年")  # O- under 18: not asked
NEW2 = Person(7_900_000_011, "新二")  # O- never gave: asked
WB100 = Person(7_900_000_012, "全一百")  # O- whole blood 100 days ago: asked
NOBDAY = Person(7_900_000_013, "无生日")  # O- birthday unknown: not asked
PEOPLE = (ORG, NEW1, PLT20, WB30, PLT5, POS, AMINUS, GONE, YOUNG, NEW2, WB100, NOBDAY)
ASKED = (NEW1, PLT20, NEW2, WB100)

COMMAND = f"/appeal O- 血小板 2 {TOMORROW} 08:00 市中心医院|长沙路1号|张医生 13800000000"
APPEAL = "紧急用血呼吁\n市中心医院急需O型Rh阴性血小板"
GO = "请前往市中心医院：长沙路1号\n联系人：张医生 13800000000"
# O- and left out: NOBDAY (no birthday), WB30 and PLT5 (too soon), YOUNG (age), one unbound.
LEFT_OUT = (
    "另有 5 位血型相符的会员这次不会收到：\n"
    "· 1 位花名册上没有生日，无法核对年龄\n"
    "· 2 位距上次献血未满规定间隔\n"
    "· 1 位年龄不在献血范围内\n"
    "· 1 位尚未绑定机器人"
)
STAND_DOWN = "已满足，感谢"
STILL = "您仍在名单上，请按时到达"
CLOSED = "紧急用血呼吁已结束"


@pytest.fixture(autouse=True)
def quick_tallies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tally is edited at most every 0.5 s instead of 3 s: presses a few hundredths of a
    second apart still meet both the edit at once and the edit put off until it is due."""
    monkeypatch.setattr(appeal_handlers, "TALLY_EVERY", 0.5)


def _gave(bot: BotHarness, officer: Officer, days_ago: int, component: str) -> None:
    with bot.database.session() as session:
        blood_storage.record(
            session,
            officer_id=int(officer.id or 0),
            donated_on=TODAY - timedelta(days=days_ago),
            component=component,
            amount=1 if component == "platelets" else 400,
            recorded_by="test",
        )


async def _seed(bot: BotHarness) -> None:
    """A dozen officers of mixed blood types and histories, plus one unbound O-."""

    def officer(
        number: int,
        person: Person | None,
        blood: str = "O",
        *,
        negative: bool = True,
        **fields: Any,
    ) -> Officer:
        fields.setdefault("birthday", date(1985, 3, 12))
        return add_officer(
            bot.database,
            f"1000{number:02d}",
            person.first_name if person else f"未绑定{number}",
            f"+86138000000{number:02d}",
            bound_to=person.id if person else None,
            blood_group=blood,
            rh_negative=negative,
            **fields,
        )

    officer(1, ORG, "AB", negative=False, roles=[Role.ORGANIZER])
    officer(2, NEW1)
    _gave(bot, officer(3, PLT20), 20, "platelets")
    _gave(bot, officer(4, WB30), 30, "whole_blood")
    _gave(bot, officer(5, PLT5), 5, "platelets")
    officer(6, POS, negative=False)
    officer(7, AMINUS, "A")
    officer(8, None)  # unbound
    officer(9, GONE, active=False)
    officer(10, YOUNG, birthday=TODAY.replace(year=TODAY.year - 16) - timedelta(days=3))
    officer(11, NEW2)
    _gave(bot, officer(12, WB100), 100, "whole_blood")
    officer(13, NOBDAY, birthday=None)
    await bot.meet(*PEOPLE)


def _received(bot: BotHarness, person: Person) -> list[str]:
    return [
        event["message"]["text"]
        for event in bot.sandbox.events(TEST_TOKEN, person.id)
        if event["kind"] == "message"
    ]


def _has(bot: BotHarness, person: Person, fragment: str, count: int = 1) -> Callable[[], bool]:
    return lambda: sum(fragment in text for text in _received(bot, person)) >= count


async def _button(bot: BotHarness, person: Person, text: str) -> tuple[int, str]:
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == text and button.callback_data:
                    return event.message_id, button.callback_data
    raise AssertionError(f"no button {text!r} for {person.first_name}")


async def _press(bot: BotHarness, person: Person, text: str) -> str:
    message_id, data = await _button(bot, person, text)
    return await _press_data(bot, person, message_id, data)


async def _press_data(bot: BotHarness, person: Person, message_id: int, data: str) -> str:
    query = await bot.client.press_data(person.as_user(), message_id, data)
    answer = await bot.client.callback_answer(query, timeout=10)
    assert answer is not None, "the press was not answered"
    return str(answer.get("text") or "")


async def _tally(bot: BotHarness, fragment: str, timeout: float = 8.0) -> str:
    """Wait until the organizer's tally message reads `fragment`; return its text."""
    history = await bot.client.history(ORG.as_user())
    [tally] = [e for e in history if e.kind == "message" and e.text.startswith("🆘 紧急用血呼吁 #")]
    text = ""
    for _ in range(int(timeout / 0.1)):
        text = str((await bot.client.message(ORG.as_user(), tally.message_id)).get("text", ""))
        if fragment in text:
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"the tally never said {fragment!r}: {text!r}")


async def _open_appeal(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (
                ORG,
                COMMAND,
                [
                    says(
                        "O型Rh阴性",
                        "血小板",
                        "市中心医院（长沙路1号）",
                        "将以紧急优先级发送给 4 位",
                        LEFT_OUT,
                        buttons=["✅ 确认发送", "❌ 取消"],
                    )
                ],
            ),
        ]
    )
    assert await _press(bot, ORG, "✅ 确认发送") == ""
    for person in ASKED:
        await until(_has(bot, person, APPEAL), what=person.first_name)
    await _tally(bot, "已询问 4 人｜我能去 0｜已到达 0｜去不了 0")


async def test_an_appeal_from_preview_to_fulfilment_and_close(bot: BotHarness) -> None:
    await _open_appeal(bot)
    # Only the right ones were asked, at urgent priority, with the answer buttons.
    with bot.database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
        broadcast = session.get(Broadcast, appeal.broadcast_id)
    assert broadcast is not None and broadcast.priority == Priority.URGENT
    assert (appeal.blood_group, appeal.rh_negative, appeal.component) == ("O", True, "platelets")
    for person in PEOPLE:
        if person not in ASKED:
            assert not any(APPEAL in text for text in _received(bot, person)), person.first_name
    buttons = [
        b.text
        for event in await bot.client.history(NEW1.as_user())
        for row in event.buttons
        for b in row
    ]
    assert buttons == ["🙋 我能去", "去不了"]

    # 我能去 gives the address and contact; a second press counts once, and brings them again.
    assert await _press(bot, NEW1, "🙋 我能去") == "谢谢！地址和联系人已发给您。"
    await until(_has(bot, NEW1, GO), what="the address")
    assert await _press(bot, NEW1, "🙋 我能去") == "谢谢！地址和联系人已发给您。"
    await until(_has(bot, NEW1, GO, count=2), what="the address again")
    assert await _press(bot, PLT20, "去不了") == "已记录，谢谢告诉我们。"
    assert await _press(bot, PLT20, "去不了") == "已记录，谢谢告诉我们。"
    await _tally(bot, "已询问 4 人｜我能去 1｜已到达 0｜去不了 1")
    # 已到达 only after 我能去.
    message_id, coming = await _button(bot, NEW2, "🙋 我能去")
    arrived = coming.replace("coming", "arrived")
    assert await _press_data(bot, NEW2, message_id, arrived) == "请先按「我能去」。"
    assert await _press(bot, NEW1, "📍 已到达") == "已记录到达，谢谢您的爱心！"
    assert await _press(bot, NEW1, "📍 已到达") == "已记录到达，谢谢您的爱心！"
    # A forged press from someone never asked changes nothing.
    await bot.dialog.play([(POS, "/drives", [says("献血活动")])])
    history = await bot.client.history(POS.as_user())
    assert await _press_data(bot, POS, history[-1].message_id, coming) == "这条呼吁不是发给您的。"
    await _tally(bot, "我能去 1｜已到达 1｜去不了 1")

    # The second donor coming fulfils it: stand-down to the asked not coming, "still expected"
    # to those coming and not yet there; nothing to who has arrived.
    assert await _press(bot, NEW2, "🙋 我能去") == "谢谢！地址和联系人已发给您。"
    tally = await _tally(bot, "已满足")
    assert "我能去 2｜已到达 1｜去不了 1" in tally
    for person in (PLT20, WB100):
        await until(_has(bot, person, STAND_DOWN), what=f"stand-down to {person.first_name}")
    await until(_has(bot, NEW2, STILL), what="still expected")
    await bot.settle()
    assert not any(STAND_DOWN in t or STILL in t for t in _received(bot, NEW1))
    assert not any(STAND_DOWN in t for t in _received(bot, NEW2))
    assert not any(STILL in t for t in _received(bot, PLT20) + _received(bot, WB100))
    for person in PEOPLE:
        if person not in ASKED:
            assert _received(bot, person) == [] or person is POS or person is ORG

    # Late presses are inert; those coming may still say they arrived.
    assert await _press(bot, WB100, "🙋 我能去") == "此呼吁已满足，感谢"
    assert await _press(bot, PLT20, "🙋 我能去") == "此呼吁已满足，感谢"
    assert await _press(bot, NEW2, "📍 已到达") == "已记录到达，谢谢您的爱心！"
    await _tally(bot, "我能去 2｜已到达 2｜去不了 1")

    # The organizer closes it: everyone asked who has not arrived is told.
    assert await _press(bot, WB100, "🙋 我能去") == "此呼吁已满足，感谢"
    assert await _press(bot, ORG, "⏹ 结束呼吁") == ""
    assert await _press(bot, ORG, "确认结束") == "呼吁已结束，已通知尚未到达的会员。"
    await _tally(bot, "已结束")
    for person in (PLT20, WB100):
        await until(_has(bot, person, CLOSED), what=f"closed to {person.first_name}")
    await bot.settle()
    assert not any(CLOSED in t for t in _received(bot, NEW1) + _received(bot, NEW2))
    assert await _press(bot, WB100, "去不了") == "此呼吁已结束"
    assert await _press(bot, NEW1, "🙋 我能去") == "已记录到达，谢谢您的爱心！"
    assert sum(GO in text for text in _received(bot, NEW1)) == 2
    with bot.database.session() as session:
        replies = session.exec(select(AppealReply)).all()
    assert sorted(r.answer for r in replies) == ["arrived", "arrived", "cannot"]


async def test_the_deadline_closes_an_open_appeal(bot: BotHarness) -> None:
    await _open_appeal(bot)
    assert await _press(bot, NEW1, "🙋 我能去") == "谢谢！地址和联系人已发给您。"
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name("appeal-deadlines")
    assert job.callback is appeal_jobs.deadline_job
    # Not due yet: nothing happens.
    await appeal_jobs.deadline_job(CallbackContext(bot.application))
    assert await _press(bot, PLT20, "去不了") == "已记录，谢谢告诉我们。"
    with bot.database.session() as session:
        session.execute(
            update(BloodAppeal).values(deadline=datetime.now(UTC) - timedelta(minutes=1))
        )
    await appeal_jobs.deadline_job(CallbackContext(bot.application))
    await _tally(bot, "已结束")
    for person in ASKED:
        await until(_has(bot, person, CLOSED), what=f"closed to {person.first_name}")
    assert await _press(bot, NEW1, "📍 已到达") == "此呼吁已结束"
    assert await _press(bot, NEW2, "🙋 我能去") == "此呼吁已结束"
    # Who was coming presses 我能去 again: it is over, the address is not sent again.
    assert await _press(bot, NEW1, "🙋 我能去") == "此呼吁已结束"
    assert sum(GO in text for text in _received(bot, NEW1)) == 1
    # A second run finds nothing more to close.
    assert appeal_jobs.close_overdue(bot.database, datetime.now(UTC)) == []
    with bot.database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
    assert appeal.status == "closed" and appeal.closed_at is not None


async def test_bad_arguments_cancel_and_officers_refused(bot: BotHarness) -> None:
    await _seed(bot)
    yesterday = (TODAY - timedelta(days=1)).isoformat()
    await bot.dialog.play(
        [
            (NEW1, COMMAND, [says("没有权限")]),
            (ORG, "/appeal", [says("用法：/appeal")]),
            (ORG, COMMAND.replace("O-", "X-"), [says("看不懂血型「X-」")]),
            (ORG, COMMAND.replace("血小板", "骨髓"), [says("看不懂成分「骨髓」")]),
            (ORG, COMMAND.replace(" 2 ", " 0 "), [says("人数「0」不对")]),
            (ORG, COMMAND.replace(TOMORROW, yesterday), [says("已经过去了")]),
            (ORG, COMMAND.replace("|张医生 13800000000", ""), [says("医院|地址|联系人")]),
            (ORG, COMMAND.replace("O-", "O+"), [says("发送给 1 位")]),
        ]
    )
    message_id, confirm = await _button(bot, ORG, "✅ 确认发送")
    assert await _press(bot, ORG, "❌ 取消") == ""
    text = str((await bot.client.message(ORG.as_user(), message_id)).get("text", ""))
    assert "已取消" in text
    assert await _press_data(bot, ORG, message_id, confirm) == "此按钮已失效"
    await bot.settle()
    assert _received(bot, POS) == []
    with bot.database.session() as session:
        assert session.exec(select(BloodAppeal)).all() == []


def _appeal_id(bot: BotHarness) -> int:
    with bot.database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
    assert appeal.id is not None
    return appeal.id


async def test_the_organizer_gets_the_list_privately_and_others_are_refused(
    bot: BotHarness,
) -> None:
    await _open_appeal(bot)
    appeal_id = _appeal_id(bot)
    history = await bot.client.history(ORG.as_user())
    [tally] = [e for e in history if e.kind == "message" and e.text.startswith("🆘 紧急用血呼吁 #")]
    assert [b.text for row in tally.buttons for b in row] == ["👥 名单", "⏹ 结束呼吁"]
    # Nobody yet: the list says so.
    assert await _press(bot, ORG, "👥 名单") == "名单已私信发给您。"
    await until(_has(bot, ORG, "🙋 我能去（0 人）：\n（暂无）"), what="the empty list")
    assert await _press(bot, PLT20, "去不了") == "已记录，谢谢告诉我们。"
    assert await _press(bot, NEW1, "🙋 我能去") == "谢谢！地址和联系人已发给您。"
    assert await _press(bot, NEW1, "📍 已到达") == "已记录到达，谢谢您的爱心！"
    assert await _press(bot, WB100, "🙋 我能去") == "谢谢！地址和联系人已发给您。"
    # Each press sends the list as it stands: names, units and phones.
    assert await _press(bot, ORG, "👥 名单") == "名单已私信发给您。"
    expected = (
        f"👥 紧急用血呼吁 #{appeal_id} 名单（市中心医院，需要 2 人）\n\n"
        "🙋 我能去（1 人）：\n1. 全一百｜天元分局｜+8613800000012\n\n"
        "📍 已到达（1 人）：\n1. 新一｜天元分局｜+8613800000002"
    )
    await until(_has(bot, ORG, expected), what="the list with names")
    # An ordinary officer pressing forged list data is refused and gets nothing.
    forged = AppealAction("list", appeal_id).pack()
    _, coming = await _button(bot, NEW2, "🙋 我能去")
    message_id, _ = await _button(bot, NEW2, "🙋 我能去")
    assert coming != forged
    answer = await bot.client.press_data(NEW2.as_user(), message_id, forged)
    refused = await bot.client.callback_answer(answer, timeout=10)
    assert refused is not None and refused.get("text") == "只有发起人和工会干部可以查看名单。"
    assert refused.get("show_alert") is True
    await bot.settle()
    assert not any("名单" in text or "+86138" in text for text in _received(bot, NEW2))
    # An organizer who lost the role and did not create the appeal is refused too; the
    # creator who lost it still sees the list of their own appeal.
    with bot.database.session() as session:
        session.execute(update(BloodAppeal).values(created_by="officer:100099"))
    with bot.database.session() as session:
        [org] = session.exec(select(Officer).where(Officer.name == ORG.first_name)).all()
        role_storage.revoke(session, int(org.id or 0), Role.ORGANIZER)
    assert await _press(bot, ORG, "👥 名单") == "只有发起人和工会干部可以查看名单。"
    with bot.database.session() as session:
        session.execute(update(BloodAppeal).values(created_by="officer:100001"))
    assert await _press(bot, ORG, "👥 名单") == "名单已私信发给您。"


async def _shows(bot: BotHarness, message_id: int, fragment: str) -> None:
    """Wait until the organizer's message `message_id` reads `fragment` (it is edited)."""
    text = ""
    for _ in range(80):
        text = str((await bot.client.message(ORG.as_user(), message_id)).get("text", ""))
        if fragment in text:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"the message never said {fragment!r}: {text!r}")


async def test_ending_asks_for_confirmation_first(bot: BotHarness) -> None:
    await _open_appeal(bot)
    assert await _press(bot, ORG, "⏹ 结束呼吁") == ""
    await until(_has(bot, ORG, "确定结束紧急用血呼吁 #"), what="the question")
    question, _ = await _button(bot, ORG, "先不结束")
    assert await _press(bot, ORG, "先不结束") == ""
    await _shows(bot, question, "继续进行")
    with bot.database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
    assert appeal.status == "open"
    await bot.settle()
    assert not any(CLOSED in t for p in ASKED for t in _received(bot, p))
    # A forged confirmation from an ordinary officer changes nothing.
    message_id, _ = await _button(bot, NEW1, "🙋 我能去")
    forged = AppealAction("endok", _appeal_id(bot)).pack()
    assert await _press_data(bot, NEW1, message_id, forged) == "您没有权限进行此操作。"
    with bot.database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
    assert appeal.status == "open"
    # Asked again, and confirmed: closed, everyone told.
    assert await _press(bot, ORG, "⏹ 结束呼吁") == ""
    await until(_has(bot, ORG, "确定结束紧急用血呼吁 #", count=2), what="the question again")
    question, _ = await _button(bot, ORG, "确认结束")
    assert await _press(bot, ORG, "确认结束") == "呼吁已结束，已通知尚未到达的会员。"
    await _shows(bot, question, "已结束，已通知尚未到达的会员")
    await _tally(bot, "已结束")
    for person in ASKED:
        await until(_has(bot, person, CLOSED), what=f"closed to {person.first_name}")
    # The tally's 结束呼吁 pressed again, and a second 确认结束: it is over already.
    assert await _press(bot, ORG, "⏹ 结束呼吁") == "此呼吁已结束"
    assert await _press_data(bot, ORG, question, AppealAction("endok", _appeal_id(bot)).pack()) == (
        "此呼吁已结束"
    )


async def test_the_preview_counts_the_unreachable_left_out(bot: BotHarness) -> None:
    await _seed(bot)
    with bot.database.session() as session:
        session.execute(
            update(TelegramBinding)
            .where(col(TelegramBinding.telegram_user_id) == NEW2.id)
            .values(unreachable_since=datetime.now(UTC))
        )
    await bot.dialog.play(
        [
            (
                ORG,
                COMMAND,
                [
                    says(
                        "将以紧急优先级发送给 3 位",
                        "另有 6 位血型相符的会员这次不会收到：",
                        "· 1 位花名册上没有生日，无法核对年龄\n",
                        "· 1 位已屏蔽机器人，无法送达\n",
                    )
                ],
            )
        ]
    )


def test_the_deadline_may_be_typed_as_people_say_it() -> None:
    """明天 8点 and full-width digits, as a phone keyboard gives them (issue 17)."""
    from zoneinfo import ZoneInfo

    from handlers.appeals import parse_appeal

    zone = ZoneInfo("Asia/Shanghai")
    now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
    tokens = ["O-", "血小板", "２", "明天", "晚上8点", "市中心医院|长沙路1号|张医生"]
    draft = parse_appeal(tokens, now=now, zone=zone, flow="appeal")
    assert draft.units == 2
    assert draft.deadline.astimezone(zone) == datetime(2026, 12, 3, 20, 0, tzinfo=zone)
