"""Easy on a phone (issue 17, items 2-3): forgiving input, every feature in the menu, free text
naming a feature, and typed text at a step that waits for a button."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from storage.models import Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Contact, Person, Press, PressData, Row, edits, says

WANG = Person(7_700_000_001, "王警官")
ZHAO = Person(7_700_000_002, "赵干事")
NEWCOMER = Person(7_700_000_003, "李新人")

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
OFFICER_BUTTONS = ["📝 慰问申报", "🩸 献血活动", "💉 我的献血", "🎉 活动", "🏃 俱乐部", "📅 预约"]
ORGANIZER_BUTTONS = ["📣 发通知", "🆘 献血呼吁", "📋 慰问办理", "🎊 节日问候", "📊 预约统计"]


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def _seed(bot: BotHarness) -> None:
    add_officer(bot.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    add_officer(
        bot.database,
        "200001",
        "赵敏",
        "+8613800000003",
        bound_to=ZHAO.id,
        roles=[Role.ORGANIZER],
    )
    add_officer(bot.database, "100002", "李强", "+8613800000002")
    await bot.meet(WANG, ZHAO)


async def test_yesterday_typed_and_text_at_button_steps_keep_the_report(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/report", [says("请选择要申报的事项")]),
        (WANG, "好的", [says("请点上面的按钮选择要申报的事项")]),
        (WANG, Press("住院"), [edits("是为谁申报")]),
        (WANG, "好的", [says("请点上面的「为本人」或「代同事申报」按钮")]),
        (WANG, Press("为本人"), [says("请输入住院的医院名称")]),
        (WANG, "市中心医院", [says("请输入病区和床号")]),
        (WANG, "心内科3床", [says("请输入入院日期", buttons=["今天", "昨天"])]),
        (WANG, "昨天", [says("还有需要说明的吗", buttons=["跳过"])]),
        (WANG, Press("跳过"), [says("请确认申报内容", f"日期：{day(-1)}")]),
        (WANG, "好的", [says("请点上面的「✅ 提交」或「❌ 取消」按钮")]),
        (WANG, Press("✅ 提交"), [edits("已提交，编号 #1")]),
    ]
    await bot.dialog.play(rows)


async def test_a_date_button_gives_what_typing_gives(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/report", [says("请选择要申报的事项")]),
        (WANG, Press("退休"), [edits("是为谁申报")]),
        (WANG, Press("为本人"), [says("请输入", buttons=["今天", "昨天"])]),
        (WANG, "１２月３２日", [says("日期格式不对")]),
        (WANG, Press("昨天"), [says("还有需要说明的吗")]),
        (WANG, Press("跳过"), [says("请确认申报内容", f"日期：{day(-1)}")]),
        (WANG, Press("❌ 取消"), [says("已取消")]),
    ]
    await bot.dialog.play(rows)


async def test_a_full_width_police_id_binds_without_using_a_try(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (NEWCOMER, "/start", [says("欢迎使用暖警", contact_button=True)]),
        (NEWCOMER, Contact("8613800000002"), [says("请输入您的警号")]),
        (
            NEWCOMER,
            "１００００２",
            [says("绑定成功", "李强"), says("请选择", buttons=OFFICER_BUTTONS)],
        ),
    ]
    await bot.dialog.play(rows)


async def test_every_officer_feature_opens_from_the_menu(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/menu", [says("王建国，您好", buttons=OFFICER_BUTTONS)]),
        (WANG, Press("🩸 献血活动"), [says("近期还没有安排献血活动")]),
        (WANG, Press("💉 我的献血"), [says("🩸 我的献血", "还没有献血记录")]),
        (WANG, Press("🎉 活动"), [says("近期还没有您可以报名的活动")]),
        (WANG, Press("🏃 俱乐部"), [says("工会兴趣俱乐部", buttons=["➕ 加入马拉松"])]),
        # An organizer's tool is not the officer's, whatever the button says.
        (WANG, PressData("menu:cases", answer="您没有权限"), []),
    ]
    await bot.dialog.play(rows)
    events = await bot.dialog.client.history(WANG.as_user())
    menus = [event for event in events if "您好" in event.text]
    assert not set(ORGANIZER_BUTTONS) & set(menus[-1].button_texts())


async def test_organizer_tools_open_from_the_menu(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/menu", [says("赵敏，您好", buttons=OFFICER_BUTTONS + ORGANIZER_BUTTONS)]),
        (ZHAO, Press("📋 慰问办理"), [says("没有符合条件的慰问申报")]),
        (ZHAO, Press("📊 预约统计"), [says("📊 预约统计", "健康屋")]),
        (ZHAO, Press("🆘 献血呼吁"), [says("/appeal 血型 成分 人数")]),
        (ZHAO, Press("🎊 节日问候"), [says("节日和生日问候")]),
        (ZHAO, Press("📣 发通知"), [says("请选择发送对象")]),
        (ZHAO, "好的", [says("请点上方的按钮选择")]),
        (ZHAO, "/cancel", [says("已取消")]),
    ]
    await bot.dialog.play(rows)


async def test_free_text_naming_a_feature_opens_it(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "献血", [says("近期还没有安排献血活动")]),
        (WANG, "我的献血", [says("🩸 我的献血")]),
        (WANG, "体检", [says("想预约什么", buttons=["🩺 健康屋"])]),
        (WANG, "俱乐部", [says("工会兴趣俱乐部")]),
        (WANG, "活动", [says("近期还没有您可以报名的活动")]),
        (WANG, "手机号", [says("我的资料")]),
        (WANG, "菜单", [says("王建国，您好", buttons=OFFICER_BUTTONS)]),
        (WANG, "住院", [says("要申报慰问吗", buttons=["📝 慰问申报"])]),
        (WANG, Press("📝 慰问申报"), [says("请选择要申报的事项")]),
        (WANG, "/cancel", [says("已取消")]),
        (WANG, "好的", [says("想办点什么？发送 /menu 打开菜单。")]),
        # An appeal is an organizer's tool: the word opens it for them only.
        (WANG, "紧急呼吁", [says("想办点什么？发送 /menu 打开菜单。")]),
        (ZHAO, "紧急呼吁", [says("要发紧急用血呼吁吗", buttons=["🆘 献血呼吁"])]),
        (ZHAO, Press("🆘 献血呼吁"), [says("血型")]),
        (ZHAO, "/cancel", [says("已取消")]),
        # This round's services answer to their names too.
        (WANG, "问卷", [says("问卷")]),
        (WANG, "我要捐款", [says("募捐")]),
        (WANG, "医疗互助", [says("我的资料")]),
        (ZHAO, "年度数据", [says("年")]),
    ]
    await bot.dialog.play(rows)


async def test_chinese_subcommands_and_forgiving_times(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/drives 帮助", [says("/drives 新建 日期 时间 地点 名额")]),
        (
            ZHAO,
            "/drives 新建 明天 上午９点 市中心血站 ３０",
            [says("已安排献血活动 #1", day(1), "09:00", "30 个名额")],
        ),
        (ZHAO, "/blood 帮助", [says("/blood 登记 警号 成分 数量 [日期]")]),
        (ZHAO, "/blood 登记 １００００１ 全血 400 昨天", [says("已登记", day(-1))]),
        (ZHAO, "/events 帮助", [says("/events 我的", "/events 新建")]),
    ]
    await bot.dialog.play(rows)
