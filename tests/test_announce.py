"""/announce end to end: the real bot and its sender, the sandbox, a real database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
from sqlmodel import func, select

from bot import texts
from bot.app import build_application, polling
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from handlers import announce
from storage import audit, conversations
from storage.db import Database
from storage.models import Broadcast, BroadcastStatus, Role
from tests.conftest import TEST_TOKEN, BotHarness, add_officer, bot_settings
from tests.dialogs import Dialog, Person, Photo, Press, PressData, Row, edits, says
from tests.racing import racing
from tests.settling import until

ORG = Person(7_400_000_001, "赵干事")
WANG = Person(7_400_000_002, "王警官")
LI = Person(7_400_000_003, "李警官")
ADMIN = Person(7_400_000_004, "孙管理")
STRANGER = Person(7_400_000_005, "路人")
CROWD_FIRST = 7_400_100_000

AUDIENCE_BUTTONS = ["全体会员", "按单位", "按角色"]
CONFIRM = "✅ 确认发送"
CANCEL = "❌ 取消"
STOP = "⏹ 停止发送"
NOTICE = "周六上午九点在分局礼堂召开工会会员大会，请准时参加。"
SUMMARY_TIMEOUT = 12.0  # the sender edits progress every 3 s


async def _seed(bot: BotHarness) -> None:
    """赵干事 (organizer) and 王 in 天元; 李 and 孙 (admin) in 荷塘; an unbound officer in 芦淞."""
    add_officer(
        bot.database, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ORGANIZER]
    )
    add_officer(bot.database, "100002", "王建国", "+8613800000002", bound_to=WANG.id)
    add_officer(bot.database, "100003", "李强", "+8613800000003", unit="荷塘分局", bound_to=LI.id)
    add_officer(
        bot.database,
        "900004",
        "孙立",
        "+8613800000004",
        unit="荷塘分局",
        bound_to=ADMIN.id,
        roles=[Role.ADMIN],
    )
    add_officer(bot.database, "100005", "周平", "+8613800000005", unit="芦淞分局")
    await bot.meet(ORG, WANG, LI, ADMIN)


def _received(bot: BotHarness, person: Person) -> list[str]:
    """Texts of every message the bot sent to this person (edits excluded)."""
    return [
        event["message"]["text"]
        for event in bot.sandbox.events(TEST_TOKEN, person.id)
        if event["kind"] == "message"
    ]


def sent(text: str) -> str:
    """An announcement as officers get it: the union's header above the organizer's text."""
    return texts.ANNOUNCE_HEADER + text


def _got(bot: BotHarness, person: Person, wanted: list[str]) -> Callable[[], bool]:
    """True once this person has received exactly these messages."""
    return lambda: _received(bot, person) == wanted


async def _progress_text(bot: BotHarness, fragment: str, timeout: float = SUMMARY_TIMEOUT) -> str:
    """Wait until the organizer's progress message reads `fragment`; return its text."""
    history = await bot.client.history(ORG.as_user())
    progress = [e for e in history if e.kind == "message" and "准备发送给" in e.text]
    assert len(progress) == 1, [str(e) for e in history]
    message_id = progress[0].message_id
    text = ""
    for _ in range(int(timeout / 0.1)):
        text = str((await bot.client.message(ORG.as_user(), message_id)).get("text", ""))
        if fragment in text:
            return text
        await asyncio.sleep(0.1)
    raise AssertionError(f"the progress message never said {fragment!r}: {text!r}")


async def _button_data(bot: BotHarness, person: Person, text: str) -> tuple[int, str]:
    """Message id and callback data of the newest button with this text."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == text and button.callback_data:
                    return event.message_id, button.callback_data
    raise AssertionError(f"no button {text!r}")


async def _press(bot: BotHarness, person: Person, data: str, message_id: int) -> str:
    """Press a button by its data, outside a dialog table; the text of the bot's answer."""
    query = await bot.client.press_data(person.as_user(), message_id, data)
    answer = await bot.client.callback_answer(query, timeout=10)
    assert answer is not None, "the press was not answered"
    return str(answer.get("text") or "")


def _broadcasts(database: Database) -> list[Broadcast]:
    with database.session() as session:
        return list(session.exec(select(Broadcast)).all())


def _audit_actions(database: Database) -> list[str]:
    with database.session() as session:
        return [entry.action for entry in audit.recent(session)]


def _to_preview(audience: list[Row], text: str, count: int, label: str) -> list[Row]:
    """The rows from /announce to the preview, through the given audience rows."""
    return [
        (ORG, "/announce", [says("请选择发送对象", buttons=AUDIENCE_BUTTONS)]),
        *audience,
        (
            ORG,
            text,
            [says(text), says(f"将发送给{label}，共 {count} 位会员", buttons=[CONFIRM, CANCEL])],
        ),
    ]


HOTANG: list[Row] = [
    (ORG, Press("按单位"), [edits("请选择单位", buttons=["天元分局", "荷塘分局", "芦淞分局"])]),
    (ORG, Press("荷塘分局"), [edits("发送对象：荷塘分局", "4000")]),
]


@pytest.mark.progress_every(0.3)
async def test_announce_to_everyone_reaches_every_bound_officer(bot: BotHarness) -> None:
    await _seed(bot)
    rows = _to_preview(
        [(ORG, Press("全体会员"), [edits("发送对象：全体会员", "不超过 4000 字")])],
        NOTICE,
        4,
        "全体会员",
    )
    await bot.dialog.play(rows)
    message_id, confirm = await _button_data(bot, ORG, CONFIRM)
    assert await _press(bot, ORG, confirm, message_id) == ""
    # Everyone bound gets exactly the text once; the organizer too (after their own preview).
    for person in (WANG, LI, ADMIN):
        await until(_got(bot, person, [sent(NOTICE)]), what=person.first_name)
    await until(lambda: _received(bot, ORG).count(sent(NOTICE)) == 2, what="the organizer's copy")
    summary = await _progress_text(bot, "发送完成")
    assert "已送达 4/4" in summary and "失败 0" in summary
    history = await bot.client.history(ORG.as_user())
    assert any(e.kind == "edit" and "已确认" in e.text for e in history)
    [broadcast] = _broadcasts(bot.database)
    assert (broadcast.total, broadcast.status, broadcast.created_by) == (
        4,
        BroadcastStatus.DONE,
        "officer:200001",
    )
    with bot.database.session() as session:
        [entry] = audit.recent(session, action="broadcast.create")
        assert conversations.load_states(session, "announce") == {}
    detail = json.loads(entry.detail)
    assert detail["recipients"] == 4 and detail["audience"] == "all"
    assert NOTICE not in entry.detail and "周六" not in entry.detail
    # The old preview's button is spent.
    assert await _press(bot, ORG, confirm, message_id) == "此按钮已失效"
    assert len(_broadcasts(bot.database)) == 1


async def test_unit_audience_reaches_only_that_unit(bot: BotHarness) -> None:
    await _seed(bot)
    text = "荷塘分局本周五下午开展读书分享会。"
    rows = [
        *_to_preview(HOTANG, text, 2, "荷塘分局"),
        (ORG, Press(CONFIRM), [says("准备发送给 2 位会员", buttons=[STOP]), edits("已确认")]),
    ]
    await bot.dialog.play(rows)
    for person in (LI, ADMIN):
        await until(_got(bot, person, [sent(text)]), what=person.first_name)
    await bot.settle()
    assert _received(bot, WANG) == []
    assert _received(bot, ORG).count(sent(text)) == 1  # only the preview


async def test_role_audience_and_a_unit_nobody_can_receive(bot: BotHarness) -> None:
    await _seed(bot)
    text = "管理员请于今晚核对名册。"
    rows: list[Row] = [
        (ORG, "/announce", [says("请选择发送对象", buttons=AUDIENCE_BUTTONS)]),
        (ORG, Press("按单位"), [edits("请选择单位", buttons=["芦淞分局"])]),
        # 芦淞 has an officer on the roster, but nobody bound: back to the audience.
        (ORG, Press("芦淞分局"), [edits("芦淞分局暂时没有可以接收消息的会员", buttons=["按角色"])]),
        (ORG, Press("按角色"), [edits("请选择角色", buttons=["工会干部", "管理员"])]),
        (ORG, Press("管理员"), [edits("发送对象：全体管理员")]),
        (ORG, text, [says(text), says("将发送给全体管理员，共 1 位会员")]),
        (ORG, Press(CONFIRM), [says("准备发送给 1 位会员"), edits("已确认")]),
    ]
    await bot.dialog.play(rows)
    await until(_got(bot, ADMIN, [sent(text)]), what="the admin")
    await bot.settle()
    assert _received(bot, WANG) == [] and _received(bot, LI) == []


async def test_text_limits_and_photo(bot: BotHarness) -> None:
    await _seed(bot)
    longest = "通" * 4000
    rows: list[Row] = [
        (ORG, "/announce", [says("请选择发送对象")]),
        *HOTANG,
        (ORG, Photo(), [says("通知只能是文字")]),
        (ORG, "  \n ", [says("通知内容不能为空")]),
        (ORG, "通" * 4001, [says("通知最多 4000 字，这次有 4001 字")]),
        # Emoji count twice against Telegram's limit, as Telegram counts them.
        (ORG, "🎉" * 2001, [says("这次有 4002 字")]),
        (ORG, longest, [says(longest), says("共 2 位会员")]),
        (ORG, "再说一句", [says("请点上方的按钮")]),
        (ORG, Press(CONFIRM), [says("准备发送给 2 位会员"), edits("已确认")]),
    ]
    await bot.dialog.play(rows)
    for person in (LI, ADMIN):
        await until(_got(bot, person, [sent(longest)]), what=person.first_name)


async def test_cancel_and_menu_leave_nothing_behind(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ORG, "/announce", [says("请选择发送对象")]),
        (ORG, "你好", [says("请点上方的按钮")]),
        (ORG, Press("全体会员"), [edits("请输入通知内容")]),
        (ORG, "/cancel", [says("已取消")]),
        (ORG, "这句不是通知", [says("发送 /menu 打开菜单")]),
        (ORG, PressData("ann:00000000:audience:all", answer="此按钮已失效"), []),
        # /menu drops the flow although this conversation never saw it.
        (ORG, "/announce", [says("请选择发送对象")]),
        (ORG, Press("全体会员"), [edits("请输入通知内容")]),
        (ORG, "/menu", [says("请选择")]),
        (ORG, "这句也不是通知", [says("发送 /menu 打开菜单")]),
        (ORG, "/cancel", [says("当前没有进行中的操作")]),
        # So does /start, and the buttons of the dropped flow are spent.
        (ORG, "/announce", [says("请选择发送对象")]),
        (ORG, Press("按角色"), [edits("请选择角色")]),
        (ORG, "/start", [says("请选择")]),
        (ORG, Press("管理员", answer="此按钮已失效"), []),
        # At the preview: /cancel, then the button 取消.
        *_to_preview([(ORG, Press("全体会员"), [edits("请输入")])], NOTICE, 4, "全体会员"),
        (ORG, "/cancel", [says("已取消")]),
        (ORG, Press(CONFIRM, answer="此按钮已失效"), []),
        *_to_preview([(ORG, Press("全体会员"), [edits("请输入")])], NOTICE, 4, "全体会员"),
        (ORG, Press(CANCEL), [edits("已取消")]),
    ]
    await bot.dialog.play(rows)
    await bot.settle()
    assert _broadcasts(bot.database) == []
    for person in (WANG, LI, ADMIN):
        assert _received(bot, person) == []
    with bot.database.session() as session:
        assert conversations.load_states(session, "announce") == {}


async def test_officers_and_strangers_cannot_announce(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/announce", [says("您没有权限进行此操作")]),
            (STRANGER, "/announce", [says("请先发送 /start")]),
            (WANG, "/help", [says("/me", absent=["/announce"])]),
            (ORG, "/help", [says("/announce", "/requests")]),
            *_to_preview(HOTANG, NOTICE, 2, "荷塘分局"),
        ]
    )
    # 王 forges presses of the organizer's real preview buttons, and a stop button.
    _, confirm = await _button_data(bot, ORG, CONFIRM)
    _, cancel = await _button_data(bot, ORG, CANCEL)
    await bot.dialog.play(
        [
            (WANG, PressData(confirm, answer="您没有权限进行此操作"), []),
            (WANG, PressData(cancel, answer="您没有权限进行此操作"), []),
            (WANG, PressData("bc:1", answer="您没有权限进行此操作"), []),
            (STRANGER, PressData(confirm, answer="请先发送 /start"), []),
        ]
    )
    await bot.settle()
    assert _broadcasts(bot.database) == []
    actions = _audit_actions(bot.database)
    assert actions.count("forged.announce") == 2
    assert actions.count("forged.broadcast_cancel") == 1
    # The organizer's preview is still open and still works.
    await bot.dialog.play([(ORG, Press(CONFIRM), [says("准备发送给 2 位会员"), edits("已确认")])])
    await until(_got(bot, LI, [sent(NOTICE)]), what="李")
    assert len(_broadcasts(bot.database)) == 1


async def test_double_confirm_creates_one_broadcast(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(_to_preview(HOTANG, NOTICE, 2, "荷塘分局"))
    message_id, confirm = await _button_data(bot, ORG, CONFIRM)
    user = ORG.as_user()
    first, second = await asyncio.gather(
        bot.client.press_data(user, message_id, confirm),
        bot.client.press_data(user, message_id, confirm),
    )
    answers = [await bot.client.callback_answer(q, timeout=10) for q in (first, second)]
    assert all(answer is not None for answer in answers)
    assert sorted(str((a or {}).get("text") or "") for a in answers) == ["", "此按钮已失效"]
    for person in (LI, ADMIN):
        await until(_got(bot, person, [sent(NOTICE)]), what=person.first_name)
    await bot.settle()
    assert _received(bot, LI) == [sent(NOTICE)] and _received(bot, ADMIN) == [sent(NOTICE)]
    assert len(_broadcasts(bot.database)) == 1
    assert _audit_actions(bot.database).count("broadcast.create") == 1


@pytest.mark.progress_every(0.3)
async def test_stop_button_cancels_the_rest(bot: BotHarness) -> None:
    await _seed(bot)
    crowd = [Person(CROWD_FIRST + index, f"警员{index}") for index in range(60)]
    for index, person in enumerate(crowd):
        add_officer(
            bot.database,
            f"{600000 + index}",
            person.first_name,
            f"+861390001{index:04d}",
            unit="石峰分局",
            bound_to=person.id,
        )
    await bot.meet(*crowd)
    text = "石峰分局全体会员：今晚例会取消。"
    rows: list[Row] = [
        (ORG, "/announce", [says("请选择发送对象")]),
        (ORG, Press("按单位"), [edits("请选择单位", buttons=["石峰分局"])]),
        (ORG, Press("石峰分局"), [edits("发送对象：石峰分局")]),
        (ORG, text, [says(text), says("共 60 位会员")]),
        (ORG, Press(CONFIRM), [says("准备发送给 60 位会员", buttons=[STOP]), edits("已确认")]),
    ]
    await bot.dialog.play(rows)
    # Pressed at once, outside the table: the sender's progress edits may arrive meanwhile.
    message_id, stop = await _button_data(bot, ORG, STOP)
    assert "已停止" in await _press(bot, ORG, stop, message_id)
    summary = await _progress_text(bot, "已停止发送")

    def reached() -> int:
        return sum(1 for person in crowd if _received(bot, person) == [sent(text)])

    got = reached()
    assert got < 60
    assert f"已送达 {got}/60" in summary and f"未发送 {60 - got}" in summary
    await bot.settle()
    assert reached() == got
    assert all(len(_received(bot, person)) <= 1 for person in crowd)
    [broadcast] = _broadcasts(bot.database)
    assert broadcast.status == BroadcastStatus.CANCELLED
    # A stop pressed again, on the finished summary, changes nothing and says it is stopped.
    assert await _press(bot, ORG, stop, message_id) == "已停止，不会再发出新的消息。"
    actions = _audit_actions(bot.database)
    assert actions.count("broadcast.cancel") == 1


async def test_flow_resumes_after_a_restart(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """Each step is committed before its prompt: a new process continues at the same step."""
    add_officer(database, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ADMIN])
    add_officer(database, "100003", "李强", "+8613800000003", unit="荷塘分局", bound_to=LI.id)
    settings = bot_settings(sandbox, database_url)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        await client.ensure_user(LI.as_user())
        dialog = Dialog(client)
        steps: list[list[Row]] = [
            [
                (ORG, "/announce", [says("请选择发送对象")]),
                (ORG, Press("按单位"), [edits("请选择单位", buttons=["天元分局", "荷塘分局"])]),
            ],
            [(ORG, Press("荷塘分局"), [edits("发送对象：荷塘分局")])],
            [(ORG, NOTICE, [says(NOTICE), says("共 1 位会员")])],
            [(ORG, Press(CONFIRM), [says("准备发送给 1 位会员"), edits("已确认")])],
        ]
        for number, rows in enumerate(steps, start=1):
            application = build_application(settings, database, load_policy(None))
            async with polling(application, poll_timeout=1):
                await dialog.play(rows)
                if number == len(steps):
                    for _ in range(200):
                        delivered = await client.history(LI.as_user())
                        if delivered:
                            break
                        await asyncio.sleep(0.05)
    assert [e.text for e in delivered] == [sent(NOTICE)]
    with database.session() as session:
        assert session.exec(select(func.count()).select_from(Broadcast)).one() == 1
        assert conversations.load_states(session, "announce") == {}


def test_a_preview_is_taken_once_even_by_racing_transactions(database: Database) -> None:
    """Two 确认发送 at the same moment: the second transaction waits, then finds nothing."""
    key = conversations.key_of(ORG.id, ORG.id)
    draft = {"flow": "ab12cd34", "audience": "all", "text": NOTICE}
    with database.session() as session:
        conversations.save(session, announce.NAME, key, announce.PREVIEW, draft)

    def take() -> dict[str, Any] | None:
        with database.session() as session:
            return announce._take_preview(session, key)

    with racing(database, take) as race:
        with database.session() as session:
            assert announce._take_preview(session, key) == draft
            race.start()
            race.assert_waiting()
        assert race.result(timeout=10) is None
    assert take() is None
