"""Polish (issue 17, item 8): a short /help grouped by task with Chinese subcommands first,
announcements under the union's header, a round notice limit, no stray spaces or nested
brackets in what officers read, greeting placeholders organizers can type on a phone."""

from __future__ import annotations

from storage.models import Role
from tests.conftest import TEST_TOKEN, BotHarness, add_officer
from tests.dialogs import Person, Press, Row, edits, says

WANG = Person(7_800_000_001, "王警官")
ZHAO = Person(7_800_000_002, "赵干事")
ADMIN = Person(7_800_000_003, "周管理")

# The English words subcommands also answer to; help names the Chinese ones only.
ENGLISH_SUBCOMMANDS = (
    " stats",
    " export",
    " record",
    " new",
    " mine",
    " leader",
    " staff",
    " organizer",
)


async def _seed(bot: BotHarness) -> None:
    add_officer(bot.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    add_officer(
        bot.database, "200001", "赵敏", "+8613800000002", bound_to=ZHAO.id, roles=[Role.ORGANIZER]
    )
    add_officer(
        bot.database,
        "300001",
        "周强",
        "+8613800000003",
        bound_to=ADMIN.id,
        roles=[Role.ORGANIZER, Role.ADMIN],
    )
    await bot.meet(WANG, ZHAO, ADMIN)


def _last_text(bot: BotHarness, person: Person) -> str:
    messages = [e for e in bot.sandbox.events(TEST_TOKEN, person.id) if e["kind"] == "message"]
    return str(messages[-1]["message"]["text"])


async def test_help_is_short_grouped_by_task_and_chinese_first(bot: BotHarness) -> None:
    await _seed(bot)
    groups = ["📣 发消息", "💐 慰问", "🩸 献血", "🎉 活动", "🏖 福利", "📊 数据", "👥 会员"]
    rows: list[Row] = [
        (WANG, "/help", [says("💐 慰问", "🩸 献血", "🎉 活动", absent=["工会干部", *groups[:1]])]),
        (
            ZHAO,
            "/help",
            [
                says(
                    *groups,
                    "/cases 统计",
                    "/blood 登记",
                    "/drives 新建",
                    absent=ENGLISH_SUBCOMMANDS,
                )
            ],
        ),
        (
            ADMIN,
            "/help",
            [says("管理员", "/grant 警号 工作人员 服务键", absent=ENGLISH_SUBCOMMANDS)],
        ),
    ]
    await bot.dialog.play(rows)
    # An organizer reads it on one phone screen.
    assert len(_last_text(bot, ADMIN).splitlines()) <= 18


async def test_announcements_carry_the_union_header_and_a_round_limit(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/announce", [says("请选择发送对象")]),
        (ZHAO, Press("全体会员"), [edits("不超过 4000 字")]),
        (ZHAO, "周六开会。", [says("📣 工会通知\n\n周六开会。"), says("确认发送吗")]),
        (ZHAO, Press("✅ 确认发送"), [says("准备发送给"), edits("已确认")]),
    ]
    await bot.dialog.play(rows)
    await bot.settle()
    assert "📣 工会通知\n\n周六开会。" in [
        e["message"]["text"] for e in bot.sandbox.events(TEST_TOKEN, WANG.id)
    ]


async def test_greeting_placeholders_read_and_typed_in_chinese(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/greetings", [says("【姓名】换成会员姓名", "问候语：【姓名】", absent=["{name}"])]),
        (ZHAO, Press("✏️ 修改问候语"), [edits("要修改哪个问候语")]),
        (ZHAO, Press("生日"), [edits("【姓名】【节日】【工会】", absent=["{name}"])]),
        (ZHAO, "【姓名】，生日快乐！【工会】祝您平安。", [says("请发送福利提示")]),
        (ZHAO, Press("不附福利提示"), [says("赵敏，生日快乐！"), says("保存吗")]),
    ]
    await bot.dialog.play(rows)
