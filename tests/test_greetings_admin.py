"""/greetings for organizers and the lunar birthday in /me, end to end through the sandbox."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot.app import build_application, polling
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from handlers import greetings
from handlers.context import install, services_of
from storage import audit, conversations, greeting_texts, officers
from storage.db import Database
from storage.models import Broadcast, Role, SendLedger
from tests.conftest import TEST_TOKEN, BotHarness, add_officer, bot_settings
from tests.dialogs import Dialog, Person, Photo, Press, PressData, Row, edits, says
from tests.policies import policy_enabling

ORG = Person(7_700_000_001, "赵干事")
WANG = Person(7_700_000_002, "王警官")
LI = Person(7_700_000_003, "李警官")
QIAN = Person(7_700_000_004, "钱警官")
STRANGER = Person(7_700_000_005, "路人")

EDIT = "✏️ 修改问候语"
TEST = "📨 试发给我"
SAVE = "✅ 保存"
CANCEL = "❌ 取消"
KEEP_TEXT = "沿用现在的问候语"
KEEP_NOTE = "沿用现在的提示"
NO_NOTE = "不附福利提示"
NOT_ALLOWED = "您没有权限进行此操作"
LUNAR_ON = "🌙 按农历过生日"
LUNAR_OFF = "📅 改回公历生日"
OCCASION_BUTTONS = [
    "元旦",
    "春节",
    "元宵节",
    "清明节",
    "劳动节",
    "端午节",
    "国庆节",
    "中秋节",
    "生日",
]
# 01:00 on 1 June 2026 in Shanghai, still 31 May in UTC: the view counts from the Beijing date.
JUNE_FIRST = datetime(2026, 5, 31, 17, 0, tzinfo=UTC)
NEW_TEXT = "{name}，新春快乐！{union}给您拜年，祝您马年大吉。"
NEW_NOTE = "慰问品和消费券请于正月十五前到本单位工会领取。"


@pytest.fixture(autouse=True)
def june_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bot's clock stands at 1 June 2026 (Beijing) unless a test moves it."""
    monkeypatch.setattr(greetings, "clock", lambda: JUNE_FIRST)


async def _seed(bot: BotHarness) -> None:
    """赵敏 organizes; 王 has a birthday, 李 one in a leap month, 钱 none on the roster."""
    add_officer(
        bot.database, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ORGANIZER]
    )
    add_officer(
        bot.database,
        "100002",
        "王建国",
        "+8613800000002",
        bound_to=WANG.id,
        birthday=date(1990, 4, 3),
    )
    add_officer(
        bot.database, "100003", "李强", "+8613800000003", bound_to=LI.id, birthday=date(1990, 7, 7)
    )
    add_officer(bot.database, "100004", "钱多多", "+8613800000004", bound_to=QIAN.id)
    await bot.meet(ORG, WANG, LI, QIAN)


def _audit_actions(database: Database) -> list[str]:
    with database.session() as session:
        return [entry.action for entry in audit.recent(session)]


def _count(database: Database, table: type[Broadcast] | type[SendLedger]) -> int:
    with database.session() as session:
        return int(session.exec(select(func.count()).select_from(table)).one())


async def _button_data(bot: BotHarness, person: Person, text: str) -> str:
    """Callback data of the newest button with this text."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == text and button.callback_data:
                    return button.callback_data
    raise AssertionError(f"no button {text!r}")


async def test_view_lists_the_next_twelve_months_in_beijing(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (
                ORG,
                "/greetings",
                [
                    says(
                        "未来 12 个月",
                        "09:00",
                        "【姓名】换成会员姓名",
                        "端午节：2026-06-19（周五）",
                        "中秋节：2026-09-25（周五）",
                        "国庆节：2026-10-01（周四）",
                        "元旦：2027-01-01（周五）",
                        "春节：2027-02-06（周六）",
                        "元宵节：2027-02-20（周六）",
                        "清明节：2027-04-05（周一）",
                        "劳动节：2027-05-01（周六）",
                        "🎂 生日：每位会员生日当天",
                        # Placeholders stay visible, and so does the welfare note.
                        "问候语：【姓名】，过年好！【工会】给您拜年",
                        "福利提示：🎁 春节慰问品和消费券",
                        "福利提示：无",
                        absent=["2026-02-17", "2026-03-03", "2027-06-09", "已修改"],
                        buttons=[EDIT, TEST],
                    )
                ],
            ),
        ]
    )
    [view] = [e for e in await bot.client.history(ORG.as_user()) if "未来 12 个月" in e.text]
    text = view.text
    # In date order: the festivals of 2026 first, birthdays last.
    order = [
        "端午节：",
        "中秋节：",
        "国庆节：",
        "元旦：",
        "春节：",
        "元宵节：",
        "清明节：",
        "劳动节：",
    ]
    positions = [text.index(name) for name in order]
    assert positions == sorted(positions) and text.index("🎂 生日") > positions[-1]


async def test_a_lunar_festival_twice_within_twelve_months(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _seed(bot)
    monkeypatch.setattr(greetings, "clock", lambda: datetime(2026, 9, 20, 1, 0, tzinfo=UTC))
    await bot.dialog.play(
        [
            (
                ORG,
                "/greetings",
                [
                    says(
                        "中秋节：2026-09-25（周五）、2027-09-15（周三）",
                        "国庆节：2026-10-01（周四）",
                        "端午节：2027-06-09（周三）",
                        absent=["2026-06-19", "2027-10-01"],
                    )
                ],
            ),
        ]
    )


async def _buttons_shown(bot: BotHarness, person: Person) -> list[str]:
    """The button texts of the newest message with buttons in this person's chat."""
    for event in reversed(await bot.client.history(person.as_user())):
        if event.buttons:
            return [button.text for row in event.buttons for button in row]
    raise AssertionError("no buttons")


async def test_the_occasions_the_policy_switches_on_are_listed_edited_and_tested(
    bot: BotHarness, tmp_path: Path
) -> None:
    """三八妇女节 and 除夕 switched on: listed (women only marked), editable, testable; 重阳 and
    中国人民警察节, still off, are neither listed nor pressable."""
    _, policy = policy_enabling(tmp_path, "funvjie", "chuxi")
    install(bot.application, dataclasses.replace(services_of(bot.application), policy=policy))
    await _seed(bot)
    buttons = [*OCCASION_BUTTONS[:-1], "三八妇女节", "除夕", "生日"]
    await bot.dialog.play(
        [
            (
                ORG,
                "/greetings",
                [
                    says(
                        "元旦：2027-01-01（周五）",
                        "除夕：2027-02-05（周五）",
                        "春节：2027-02-06（周六）",
                        "三八妇女节（只问候女会员）：2027-03-08（周一）",
                        "问候语：【姓名】，三八妇女节快乐！【工会】",
                        absent=["重阳节", "中国人民警察节", "2026-10-18", "2027-01-10"],
                    )
                ],
            ),
            (ORG, Press(TEST), [edits("试发哪个问候", buttons=buttons)]),
        ]
    )
    assert await _buttons_shown(bot, ORG) == buttons
    await bot.dialog.play(
        [
            (ORG, Press("除夕", answer="已试发给您"), [says("赵敏，除夕快乐！株洲市公安局工会")]),
            (ORG, PressData("grtt:chongyang", answer="此按钮已失效"), []),
            (ORG, PressData("grtt:jingchajie", answer="此按钮已失效"), []),
            (ORG, "/greetings", [says("未来 12 个月")]),
            (ORG, Press(EDIT), [edits("要修改哪个问候语", buttons=buttons)]),
            (ORG, Press("三八妇女节"), [edits("请发送新的三八妇女节问候语")]),
            (ORG, "{name}，{festival}快乐！", [says("请发送福利提示")]),
            (ORG, Press(NO_NOTE), [says("赵敏，三八妇女节快乐！"), says("保存吗")]),
            (ORG, Press(SAVE), [edits("已保存三八妇女节问候语")]),
        ]
    )
    with bot.database.session() as session:
        assert greeting_texts.overrides(session)["funvjie"].text == "{name}，{festival}快乐！"


async def test_edit_a_text_with_preview_and_save(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ORG, "/greetings", [says("未来 12 个月", buttons=[EDIT, TEST])]),
        (ORG, Press(EDIT), [edits("要修改哪个问候语", buttons=OCCASION_BUTTONS)]),
        (
            ORG,
            Press("春节"),
            [
                edits(
                    "请发送新的春节问候语",
                    "不超过 1000 字",
                    "【姓名】，过年好！",
                    buttons=[KEEP_TEXT],
                )
            ],
        ),
        # Refused texts say why and ask again; the step stays.
        (ORG, "{名字}，新春快乐！", [says("只能用【姓名】【节日】【工会】", "请重新发送")]),
        (ORG, "{name}}，新春快乐！", [says("请去掉多余的 { 或 }", "请重新发送")]),
        (ORG, "春" * 1001, [says("最多 1000 字，这次有 1001 字", "请重新发送")]),
        (ORG, "   ", [says("问候语不能为空", "请重新发送")]),
        (ORG, Photo(), [says("请直接发送文字")]),
        (
            ORG,
            NEW_TEXT,
            [
                says(
                    "请发送福利提示",
                    "现在的福利提示：🎁 春节慰问品和消费券",
                    buttons=[KEEP_NOTE, NO_NOTE],
                )
            ],
        ),
        (ORG, "领" * 1001, [says("最多 1000 字，这次有 1001 字", "请重新发送")]),
        (
            ORG,
            NEW_NOTE,
            [
                # The preview is the greeting as the organizer would get it: their own name.
                says(f"赵敏，新春快乐！株洲市公安局工会给您拜年，祝您马年大吉。\n{NEW_NOTE}"),
                says("以上是春节问候发给您时的样子", buttons=[SAVE, CANCEL]),
            ],
        ),
        (ORG, "好的", [says("请点上方的按钮")]),
    ]
    await bot.dialog.play(rows)
    save = await _button_data(bot, ORG, SAVE)
    rows = [
        (ORG, Press(SAVE), [edits("已保存春节问候语")]),
        (
            ORG,
            "/greetings",
            [
                says(
                    "问候语：【姓名】，新春快乐！【工会】给您拜年，祝您马年大吉。（已修改）",
                    f"福利提示：{NEW_NOTE}",
                    absent=["【姓名】，过年好！"],
                )
            ],
        ),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        saved = greeting_texts.overrides(session)
        assert set(saved) == {"chunjie"}
        assert (saved["chunjie"].text, saved["chunjie"].welfare_note) == (NEW_TEXT, NEW_NOTE)
        assert saved["chunjie"].updated_by == "officer:200001"
        [entry] = audit.recent(session, action="greeting.text")
        assert entry.target == "chunjie" and NEW_TEXT not in entry.detail
        assert conversations.load_states(session, greetings.NAME) == {}
    # The saved preview's button is spent.
    await bot.dialog.play([(ORG, PressData(save, answer="此按钮已失效"), [])])
    # Nothing went to officers: editing is not sending.
    assert await bot.client.history(WANG.as_user()) == []


async def test_keep_the_text_drop_the_note_or_cancel(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ORG, "/greetings", [says("未来 12 个月")]),
        (ORG, Press(EDIT), [edits("要修改哪个问候语")]),
        (ORG, Press("春节"), [edits("请发送新的春节问候语")]),
        (ORG, Press(KEEP_TEXT), [says("现在的福利提示：🎁 春节慰问品")]),
        (
            ORG,
            Press(NO_NOTE),
            [says("赵敏，过年好！株洲市公安局工会给您拜年", absent=["🎁"]), says("保存吗")],
        ),
        (ORG, Press(SAVE), [edits("已保存春节问候语")]),
        (ORG, "/greetings", [says("福利提示：无", absent=["🎁 春节慰问品"])]),
        # 取消 at the preview keeps nothing.
        (ORG, Press(EDIT), [edits("要修改哪个问候语")]),
        (ORG, Press("生日"), [edits("请发送新的生日问候语", "【姓名】，生日快乐！")]),
        (ORG, "{name}，生日快乐！", [says("现在的福利提示：无")]),
        (ORG, Press(KEEP_NOTE), [says("赵敏，生日快乐！"), says("以上是生日问候")]),
        (ORG, Press(CANCEL), [edits("已取消")]),
        # /cancel half-way, then the text is only free text.
        (ORG, "/greetings", [says("未来 12 个月")]),
        (ORG, Press(EDIT), [edits("要修改哪个问候语")]),
        (ORG, Press("中秋节"), [edits("请发送新的中秋节问候语")]),
        (ORG, "/cancel", [says("已取消")]),
        (ORG, "{name}，中秋快乐！", [says("发送 /menu 打开菜单")]),
        # /menu drops the flow although this conversation never saw it.
        (ORG, "/greetings", [says("未来 12 个月")]),
        (ORG, Press(EDIT), [edits("要修改哪个问候语")]),
    ]
    await bot.dialog.play(rows)
    new_year = await _button_data(bot, ORG, "元旦")
    rows = [
        (ORG, Press("元旦"), [edits("请发送新的元旦问候语")]),
        (ORG, "/menu", [says("请选择")]),
        (ORG, "{name}，元旦快乐！", [says("发送 /menu 打开菜单")]),
        (ORG, PressData(new_year, answer="此按钮已失效"), []),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        saved = greeting_texts.overrides(session)
        assert set(saved) == {"chunjie"}
        assert saved["chunjie"].welfare_note == ""
        assert saved["chunjie"].text == load_policy(None).greetings.texts["chunjie"]
        assert conversations.load_states(session, greetings.NAME) == {}


async def test_test_greeting_reaches_the_organizer_only(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ORG, "/greetings", [says("未来 12 个月")]),
        (ORG, Press(TEST), [edits("试发哪个问候", buttons=OCCASION_BUTTONS)]),
        (
            ORG,
            Press("春节", answer="已试发给您"),
            [says("赵敏，过年好！株洲市公安局工会给您拜年", "\n🎁 春节慰问品和消费券")],
        ),
        (ORG, Press("生日", answer="已试发给您"), [says("赵敏，生日快乐！株洲市公安局工会祝您")]),
        (ORG, PressData("grtt:nonsense", answer="此按钮已失效"), []),
    ]
    await bot.dialog.play(rows)
    await bot.settle()
    for person in (WANG, LI, QIAN):
        assert await bot.client.history(person.as_user()) == []
    assert _count(bot.database, Broadcast) == 0 and _count(bot.database, SendLedger) == 0


async def test_officers_strangers_and_forged_presses_are_refused(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/greetings", [says(NOT_ALLOWED)]),
            (STRANGER, "/greetings", [says("请先发送 /start")]),
            (WANG, "/help", [says("/me", absent=["/greetings"])]),
            (ORG, "/help", [says("/greetings", "问候语")]),
            (ORG, "/greetings", [says("未来 12 个月")]),
            (ORG, Press(EDIT), [edits("要修改哪个问候语")]),
            (ORG, Press("春节"), [edits("请发送新的春节问候语")]),
            (ORG, NEW_TEXT, [says("请发送福利提示")]),
            (ORG, Press(KEEP_NOTE), [says("赵敏，新春快乐"), says("保存吗")]),
        ]
    )
    save = await _button_data(bot, ORG, SAVE)
    await bot.dialog.play(
        [
            (WANG, PressData("grm:edit", answer=NOT_ALLOWED), []),
            (WANG, PressData("grm:test", answer=NOT_ALLOWED), []),
            (WANG, PressData("grtt:chunjie", answer=NOT_ALLOWED), []),
            (WANG, PressData(save, answer=NOT_ALLOWED), []),
            (STRANGER, PressData(save, answer="请先发送 /start"), []),
            (WANG, PressData("grt:!!:save", answer="此按钮已失效"), []),
        ]
    )
    await bot.settle()
    # Nothing was sent on the forged presses: 王 only ever saw his refusals.
    assert all("拜年" not in e.text for e in await bot.client.history(WANG.as_user()))
    with bot.database.session() as session:
        assert greeting_texts.overrides(session) == {}
    assert _audit_actions(bot.database).count("forged.greetings") == 4
    # The organizer's preview is still open and still saves.
    await bot.dialog.play([(ORG, Press(SAVE), [edits("已保存春节问候语")])])
    with bot.database.session() as session:
        assert greeting_texts.overrides(session)["chunjie"].text == NEW_TEXT


async def test_organizer_command_menu_lists_greetings(bot: BotHarness) -> None:
    await _seed(bot)
    default = [name for name, _ in await bot.client.commands()]
    assert "greetings" not in default
    from bot.app import announce_commands

    await announce_commands(bot.application)
    scope = {"type": "chat", "chat_id": ORG.id}
    assert "greetings" in [name for name, _ in await bot.client.commands(scope)]


async def test_lunar_birthday_on_and_off(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (
            WANG,
            "/me",
            [says("生日：1990-04-03", "生日问候：按公历生日", buttons=[LUNAR_ON])],
        ),
        (
            WANG,
            Press(LUNAR_ON, answer="以后在农历三月初八为您送上生日祝福"),
            [edits("生日问候：按农历生日（农历三月初八）", buttons=[LUNAR_OFF])],
        ),
        # The old button pressed again sets the same value.
        (WANG, PressData("mel:1", answer="农历三月初八"), []),
        (WANG, "/me", [says("生日问候：按农历生日（农历三月初八）", buttons=[LUNAR_OFF])]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        wang = officers.by_police_id(session, "100002")
        assert wang is not None
        assert (wang.lunar_birth_month, wang.lunar_birth_day, wang.lunar_birth_leap) == (
            3,
            8,
            False,
        )
    await bot.dialog.play(
        [
            (
                WANG,
                Press(LUNAR_OFF, answer="以后在公历生日为您送上祝福"),
                [edits("生日问候：按公历生日", buttons=[LUNAR_ON])],
            ),
        ]
    )
    with bot.database.session() as session:
        wang = officers.by_police_id(session, "100002")
        assert wang is not None
        assert (wang.lunar_birth_month, wang.lunar_birth_day, wang.lunar_birth_leap) == (
            None,
            None,
            False,
        )
        actions = [entry.action for entry in audit.recent(session, action="profile.lunar")]
        assert len(actions) == 3


async def test_lunar_birthday_in_a_leap_month_and_without_a_birthday(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (LI, "/me", [says("生日：1990-07-07")]),
        (LI, Press(LUNAR_ON), [edits("生日问候：按农历生日（农历闰五月十五）")]),
        (
            QIAN,
            "/me",
            [says("生日：未登记", absent=["按公历生日", "按农历生日"], buttons=[LUNAR_ON])],
        ),
        (QIAN, Press(LUNAR_ON, answer="名册里还没有您的生日"), []),
        (QIAN, PressData("mel:x", answer="此按钮已失效"), []),
        (STRANGER, "/me", [says("请先发送 /start")]),
        (STRANGER, PressData("mel:1", answer="请先发送 /start"), []),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        li = officers.by_police_id(session, "100003")
        qian = officers.by_police_id(session, "100004")
        assert li is not None and qian is not None
        assert (li.lunar_birth_month, li.lunar_birth_day, li.lunar_birth_leap) == (5, 15, True)
        assert qian.lunar_birth_month is None and qian.lunar_birth_day is None


async def test_edit_resumes_after_a_restart(
    sandbox: Sandbox, database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step is committed before its prompt: a new process continues at the same step."""
    add_officer(database, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ADMIN])
    settings = bot_settings(sandbox, database_url)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        dialog = Dialog(client)
        steps: list[list[Row]] = [
            [
                (ORG, "/greetings", [says("未来 12 个月")]),
                (ORG, Press(EDIT), [edits("要修改哪个问候语")]),
            ],
            [(ORG, Press("端午节"), [edits("请发送新的端午节问候语")])],
            [(ORG, "{name}，端午安康！", [says("请发送福利提示")])],
            [
                (
                    ORG,
                    "粽子请到食堂领取。",
                    [says("赵敏，端午安康！\n粽子请到食堂领取。"), says("保存吗")],
                )
            ],
            [(ORG, Press(SAVE), [edits("已保存端午节问候语")])],
        ]
        for rows in steps:
            application = build_application(settings, database, load_policy(None))
            async with polling(application, poll_timeout=1):
                await dialog.play(rows)
    with database.session() as session:
        saved = greeting_texts.overrides(session)["duanwu"]
        assert (saved.text, saved.welfare_note) == ("{name}，端午安康！", "粽子请到食堂领取。")
        assert conversations.load_states(session, greetings.NAME) == {}
