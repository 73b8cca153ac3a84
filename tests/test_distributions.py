"""Distributions (物资与消费券发放) through the real bot and the sandbox: 10,000 masks shared among
units by active officers and edited per unit, a unit's contact confirming its receipt (once; not
for another unit), an organizer confirming in part for a unit with no contact; vouchers one
each for women officers, 已领取 once, the contact's and organizers' outstanding lists, the one
reminder, XLSX; bad quantities, unbalanced tables, closed distributions, forged presses and
non-organizers."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.jobs.distributions import JOB_NAME, reminder_job
from bot.scheduler import clock_of
from storage import roles
from storage.models import (
    AuditEntry,
    Broadcast,
    Delivery,
    DistributionShare,
    DistributionUnit,
    Role,
)
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, edits, says

ZHAO = Person(7_960_000_001, "赵干事")  # organizer, woman, 天元分局
WANG = Person(7_960_000_002, "王联络员")  # man, 天元分局's contact
LI = Person(7_960_000_003, "李警官")  # man, 交警支队
SUN = Person(7_960_000_004, "孙警官")  # woman, 交警支队
SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _seed(bot: BotHarness) -> dict[str, int]:
    def officer(police_id: str, name: str, person: Person | None, **fields: Any) -> int:
        row = add_officer(
            bot.database,
            police_id,
            name,
            f"+86139{police_id}00",
            bound_to=person.id if person else None,
            **fields,
        )
        assert row.id is not None
        return row.id

    ids = {
        "zhao": officer("320001", "赵敏", ZHAO, gender="F", roles=[Role.ORGANIZER]),
        "wang": officer("320002", "王建国", WANG, gender="M"),
        "zhou": officer("320005", "周芳", None, gender="F"),  # on the roster, not bound
        "li": officer("320003", "李强", LI, gender="M", unit="交警支队"),
        "sun": officer("320004", "孙丽", SUN, gender="F", unit="交警支队"),
    }
    officer("320006", "吴退休", None, gender="F", active=False)  # left: never counted
    with bot.database.session() as session:
        roles.change_unit_contact(session, "320002", "天元分局", grant_it=True, actor="test")
    await bot.meet(ZHAO, WANG, LI, SUN)
    return ids


def _audits(bot: BotHarness, action: str) -> list[AuditEntry]:
    with bot.database.session() as session:
        return list(session.exec(select(AuditEntry).where(AuditEntry.action == action)).all())


async def test_masks_per_unit_edited_confirmed_by_contacts_and_organizers(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (LI, "/distribution", [says("只有工会干部可以发起")]),
            (ZHAO, "/distribution", [says("新建物资发放", "请输入物品名称")]),
            (ZHAO, "口" * 31, [says("物品名称不能超过 30 字")]),
            (ZHAO, "口罩", [says("「口罩」怎么发放", buttons=["📦 按单位发放"])]),
            (ZHAO, "按单位", [says("请按下方按钮选择", buttons=["📦 按单位发放"])]),
            (ZHAO, Press("📦 按单位发放"), [edits("请输入总数量")]),
            (ZHAO, "0", [says("数量至少为 1")]),
            (ZHAO, "2000000", [says("数量不能超过 1000000 份")]),
            (ZHAO, "一万", [says("请输入一个整数")]),
            (ZHAO, "１００００", [says("发给哪些会员", buttons=["全体会员", "某个单位"])]),
            (
                ZHAO,
                Press("全体会员"),
                [
                    edits(
                        "「口罩」共 10000 份",
                        "天元分局：6000 份（3 人）",
                        "交警支队：4000 份（2 人）",
                        "合计与总数一致",
                        buttons=["✏️ 天元分局 6000", "✏️ 交警支队 4000", "✅ 分配无误"],
                    )
                ],
            ),
            (
                ZHAO,
                Press("✏️ 天元分局 6000"),
                [edits("天元分局现为 6000 份", buttons=["按比例 6000", "0（不发）"])],
            ),
            (ZHAO, "20000", [says("不能超过 10000 份")]),
            (ZHAO, "７０００", [says("目前合计 11000 份，与总数 10000 份不符")]),
            (ZHAO, Press("✅ 分配无误", answer="各单位合计 11000 份，与总数 10000 份不符"), []),
            (
                ZHAO,
                Press("✏️ 交警支队 4000"),
                [edits("交警支队现为 4000 份", buttons=["补足合计 3000"])],
            ),
            (ZHAO, Press("补足合计 3000"), [edits("合计与总数一致", "交警支队：3000 份")]),
            (ZHAO, Press("✅ 分配无误"), [edits("请输入领取说明", buttons=["跳过"])]),
            (
                ZHAO,
                "各单位今晚到工会办公室（3楼）领取",
                [
                    says(
                        "发放预览",
                        "📦 口罩",
                        "方式：按单位发放",
                        "合计：10000 份",
                        "· 天元分局：7000 份",
                        "· 交警支队：3000 份",
                        "领取说明：各单位今晚到工会办公室",
                        "将通知 1 个单位的 1 位联络员",
                        "暂无联络员的单位：交警支队",
                        buttons=["✅ 发布", "取消"],
                    )
                ],
            ),
            (ZHAO, Press("✅ 发布"), [edits("发放 #1 已发布，正在通知 1 人")]),
            (ZHAO, PressData("dbs:abcd1234:confirm:", answer="此按钮已失效"), []),
            # The contact hears their own unit's number, and confirms with a tap.
            (
                WANG,
                None,
                [
                    says(
                        "工会物资发放：口罩",
                        "天元分局：7000 份",
                        "工会办公室",
                        absent=["交警支队"],
                        buttons=["📦 确认收到"],
                    )
                ],
            ),
            (
                WANG,
                Press("📦 确认收到"),
                [
                    edits(
                        "天元分局：分配 7000 份，待确认",
                        buttons=["✅ 天元分局 已收到 7000 份", "部分收到：天元分局"],
                    )
                ],
            ),
            (
                WANG,
                Press("✅ 天元分局 已收到 7000 份"),
                [says("已确认：天元分局收到「口罩」7000 份")],
            ),
            # Twice, another unit's (forged), a non-contact's: each refused in one sentence.
            (WANG, Press("✅ 天元分局 已收到 7000 份", answer="天元分局已经确认过收货了"), []),
            (WANG, PressData("dbu:full:1", answer="您不是交警支队的联络员"), []),
            (WANG, PressData("dbu:partial:1", answer="您不是交警支队的联络员"), []),
            (LI, PressData("dbu:full:1", answer="只有基层工会联络员或工会干部"), []),
            (LI, PressData("dba:units:1", answer="这次发放没有您联络的单位"), []),
            (LI, PressData("dba:open:1", answer="只有工会干部"), []),
            (LI, "/distributions", [says("目前没有需要您领取或确认的物资")]),
            # The organizer: the list, the panel, the outstanding units, a partial receipt for
            # the unit with no contact; not for the unit that has one.
            (ZHAO, "/distributions", [says("物资发放", "#1 口罩", "单位已确认 1 / 2")]),
            (
                ZHAO,
                Press("🟢 #1 口罩"),
                [
                    edits(
                        "合计：10000 份",
                        "状态：发放中",
                        "单位已确认 1 / 2，已收到 7000 / 10000 份",
                        buttons=["📋 未完成名单", "🔔 提醒未领取", "📥 导出 XLSX", "⏹ 结束发放"],
                    )
                ],
            ),
            (
                ZHAO,
                Press("📋 未完成名单"),
                [
                    says(
                        "#1 口罩 未完成",
                        "交警支队：分配 3000 份，待确认（无联络员）",
                        absent=["天元分局"],
                        buttons=["✅ 交警支队 已收到 3000 份", "部分收到：交警支队"],
                    )
                ],
            ),
            (ZHAO, PressData("dbu:full:2", answer="天元分局有联络员，请由联络员确认收货"), []),
            (ZHAO, Press("部分收到：交警支队"), [says("交警支队实际收到「口罩」多少份")]),
            (ZHAO, "3001", [says("不能超过 3000 份")]),
            (ZHAO, "２５００", [says("已记录：交警支队收到「口罩」2500 份（分配 3000 份）")]),
            (ZHAO, PressData("dbu:full:1", answer="交警支队已经确认过收货了"), []),
        ]
    )
    forged = _audits(bot, "forged.distribution_unit")
    assert {entry.target for entry in forged} >= {"distribution_unit:1"}
    assert any(entry.actor == "officer:320002" for entry in forged)
    with bot.database.session() as session:
        units = {row.unit: row for row in session.exec(select(DistributionUnit)).all()}
    assert units["天元分局"].received == 7000 and units["天元分局"].confirmed_by == "officer:320002"
    assert units["交警支队"].received == 2500 and units["交警支队"].confirmed_by == "officer:320001"
    receipts = [json.loads(e.detail) for e in _audits(bot, "distribution.receipt")]
    assert sorted(r["received"] for r in receipts) == [2500, 7000]
    # The workbook: per unit allocated and received, who confirmed and when.
    await bot.client.press(ZHAO.as_user(), "📥 导出 XLSX")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.kind == "document" and document.document_name == "distribution-1.xlsx"
    assert document.document_bytes is not None
    sheet = load_workbook(io.BytesIO(document.document_bytes), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == ["单位", "分配（份）", "已收到（份）", "确认人警号", "确认时间"]
    assert rows[1][:4] == ["交警支队", 3000, 2500, "320001"]
    assert rows[2][:4] == ["天元分局", 7000, 7000, "320002"]
    assert isinstance(rows[2][4], datetime)
    await bot.dialog.play(
        [
            (ZHAO, Press("⏹ 结束发放"), [edits("确定结束「口罩」的发放吗")]),
            (ZHAO, Press("⏹ 确定结束"), [edits("「口罩」的发放已结束")]),
            (ZHAO, PressData("dba:closeok:1", answer="这次发放已经结束了"), []),
            (WANG, PressData("dbu:full:2", answer="这次发放已结束"), []),
            (
                WANG,
                PressData("dba:units:1"),
                [edits("这次发放已结束", absent=["待确认"])],
            ),
        ]
    )


async def test_vouchers_one_each_collected_once_with_lists_reminder_and_xlsx(
    bot: BotHarness,
) -> None:
    ids = await _seed(bot)
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name(JOB_NAME)
    assert job.callback is reminder_job
    await bot.dialog.play(
        [
            (ZHAO, "/menu", [says("赵敏", buttons=["📦 物资发放"])]),
            (ZHAO, Press("📦 物资发放"), [says("还没有物资发放", buttons=["➕ 新建发放"])]),
            (ZHAO, Press("➕ 新建发放"), [says("新建物资发放")]),
            (ZHAO, "中秋消费券", [says("怎么发放")]),
            (ZHAO, Press("🎫 按人发放（每人一份）"), [edits("每人发几份", buttons=["每人 1 份"])]),
            (ZHAO, Press("每人 1 份"), [edits("发给哪些会员")]),
            (ZHAO, Press("仅女警"), [edits("请输入领取说明")]),
            (
                ZHAO,
                Press("跳过"),
                [
                    edits(
                        "📦 中秋消费券",
                        "按人发放，每人 1 份",
                        "对象：女警",
                        "合计：3 份",
                        "· 天元分局：2 份",
                        "· 交警支队：1 份",
                        "将通知 2 位会员（在册 3 人",
                        absent=["领取说明"],
                    )
                ],
            ),
            (ZHAO, Press("✅ 发布"), [edits("发放 #1 已发布，正在通知 2 人")]),
            (ZHAO, None, [says("工会发放：中秋消费券，每人 1 份", buttons=["✅ 已领取"])]),
            (SUN, None, [says("工会发放：中秋消费券", buttons=["✅ 已领取"])]),
            (SUN, Press("✅ 已领取"), [edits("已确认领取「中秋消费券」")]),
            (SUN, PressData("dba:collect:1", answer="您已经确认领取过了"), []),
            (LI, "/distributions", [says("目前没有需要您领取或确认的物资")]),
            (LI, PressData("dba:collect:1", answer="这次发放不面向您"), []),
            (LI, PressData("dba:collect:99", answer="这次发放已不存在"), []),
            (SUN, "/distributions", [says("目前没有需要您领取或确认的物资")]),
            # The contact sees their unit's outstanding officers, no other unit's.
            (WANG, "/distributions", [says("您联络的单位", buttons=["📦 中秋消费券"])]),
            (
                WANG,
                Press("📦 中秋消费券"),
                [
                    edits(
                        "天元分局：已领取 0 / 2 人",
                        "尚未领取",
                        "赵敏（320001）",
                        "周芳（320005）",
                        absent=["孙丽", "交警支队"],
                    )
                ],
            ),
            # The organizer is in the audience too; then the list and the panel.
            (
                ZHAO,
                "/distributions",
                [
                    says("待领取的物资", "中秋消费券", buttons=["✅ 已领取：中秋消费券"]),
                    says("#1 中秋消费券", "已领取 1 / 3 人"),
                ],
            ),
            (
                ZHAO,
                Press("🟢 #1 中秋消费券"),
                [edits("已领取 1 / 3 人", buttons=["🔔 提醒未领取"])],
            ),
            (
                ZHAO,
                Press("📋 未完成名单"),
                [
                    says(
                        "尚未领取",
                        "【天元分局】",
                        "赵敏（320001）",
                        "周芳（320005）",
                        absent=["孙丽"],
                    )
                ],
            ),
            (ZHAO, Press("🔔 提醒未领取"), [says("已提醒 1 人确认「中秋消费券」")]),
            (ZHAO, None, [says("提醒", "中秋消费券", "还没有确认领取", buttons=["✅ 已领取"])]),
            (ZHAO, PressData("dba:remind:1", answer="已经提醒过一次了"), []),
            (ZHAO, Press("✅ 已领取"), [edits("已确认领取「中秋消费券」")]),
        ]
    )
    assert await bot.quiet(SUN) == []  # collected: no reminder
    with bot.database.session() as session:
        shares = {s.officer_id: s for s in session.exec(select(DistributionShare)).all()}
        reminders = session.exec(
            select(Delivery.officer_id)
            .join(Broadcast, col(Broadcast.id) == col(Delivery.broadcast_id))
            .where(Broadcast.kind == "reminder")
        ).all()
    assert set(shares) == {ids["zhao"], ids["zhou"], ids["sun"]}
    assert shares[ids["sun"]].collected_at is not None
    assert shares[ids["zhou"]].collected_at is None
    assert list(reminders) == [ids["zhao"]]
    # The workbook: per unit, and every officer collected yes/no with the date.
    await bot.dialog.play([(ZHAO, "/distributions", [says("物资发放")])])
    await bot.dialog.play([(ZHAO, Press("🟢 #1 中秋消费券"), [edits("已领取 2 / 3 人")])])
    await bot.client.press(ZHAO.as_user(), "📥 导出 XLSX")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.document_bytes is not None
    book = load_workbook(io.BytesIO(document.document_bytes), read_only=True)
    units, people = ([list(r) for r in s.iter_rows(values_only=True)] for s in book.worksheets)
    assert units[0] == ["单位", "分配（份）", "已领取（人）", "应领取（人）"]
    assert ["交警支队", 1, 1, 1] in units and ["天元分局", 2, 1, 2] in units
    assert people[0] == ["警号", "姓名", "单位", "已领取", "领取时间"]
    by_id = {row[0]: row for row in people[1:]}
    assert by_id["320004"][:4] == ["320004", "孙丽", "交警支队", "是"]
    assert isinstance(by_id["320004"][4], datetime)
    assert by_id["320005"][:4] == ["320005", "周芳", "天元分局", "否"]
    assert all(cell is None for cell in by_id["320005"][4:])  # no date: not collected


# --- review fixes: forged digits, a closed distribution's reminder ---------------------------


async def _button(bot: BotHarness, person: Person, label: str) -> tuple[int, str]:
    """The message id and callback data of the newest button with this label."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == label and button.callback_data:
                    return event.message_id, button.callback_data
    raise AssertionError(f"no button {label!r}")


def _forged(data: str) -> str:
    """The same button with a digit no int() takes: "²" passes str.isdigit."""
    return data.rsplit(":", 1)[0] + ":²"


async def test_a_forged_superscript_digit_is_a_stale_button_not_a_crash(bot: BotHarness) -> None:
    """Guarded twice: the button's data already takes only [a-z0-9] (DistributionStep), and
    the steps read only ASCII digits as numbers."""
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/distribution", [says("请输入物品名称")]),
            (ZHAO, "口罩", [says("怎么发放")]),
            (ZHAO, Press("📦 按单位发放"), [edits("请输入总数量")]),
            (ZHAO, "10000", [says("发给哪些会员")]),
            (ZHAO, Press("全体会员"), [edits("合计与总数一致", buttons=["✏️ 天元分局 6000"])]),
        ]
    )
    message_id, data = await _button(bot, ZHAO, "✏️ 天元分局 6000")
    await bot.dialog.play(
        [
            (ZHAO, PressData(_forged(data), answer="此按钮已失效", message_id=message_id), []),
            (ZHAO, Press("✏️ 天元分局 6000"), [edits("天元分局现为 6000 份")]),
        ]
    )
    message_id, data = await _button(bot, ZHAO, "按比例 6000")
    await bot.dialog.play(
        [
            (ZHAO, PressData(_forged(data), answer="此按钮已失效", message_id=message_id), []),
            (ZHAO, Press("按比例 6000"), [edits("合计与总数一致")]),
        ]
    )


async def test_closing_stops_the_notice_and_the_reminder_still_waiting(bot: BotHarness) -> None:
    await _seed(bot)
    # Quiet hours: what the distribution sends waits for the morning.
    evening = datetime.now(SHANGHAI).replace(hour=22, minute=0, second=0, microsecond=0)
    clock_of(bot.application).freeze(evening.astimezone(UTC))
    await bot.dialog.play(
        [
            (ZHAO, "/distribution", [says("请输入物品名称")]),
            (ZHAO, "中秋消费券", [says("怎么发放")]),
            (ZHAO, Press("🎫 按人发放（每人一份）"), [edits("每人发几份")]),
            (ZHAO, Press("每人 1 份"), [edits("发给哪些会员")]),
            (ZHAO, Press("仅女警"), [edits("请输入领取说明")]),
            (ZHAO, Press("跳过"), [edits("📦 中秋消费券")]),
            (ZHAO, Press("✅ 发布"), [edits("发放 #1 已发布")]),
            (ZHAO, "/distributions", [says("待领取的物资"), says("#1 中秋消费券")]),
            (ZHAO, Press("🟢 #1 中秋消费券"), [edits("已领取 0 / 3 人")]),
            (ZHAO, Press("🔔 提醒未领取"), [says("已提醒 2 人")]),
        ]
    )

    def waiting(kind: str) -> int:
        with bot.database.session() as session:
            found = session.exec(
                select(Delivery.id)
                .join(Broadcast, col(Broadcast.id) == col(Delivery.broadcast_id))
                .where(Broadcast.kind == kind, Delivery.state == "pending")
            ).all()
        return len(found)

    assert waiting("reminder") == 2
    assert waiting("announcement") == 2  # the notice to the bound women, waiting as well
    await bot.dialog.play(
        [
            (ZHAO, Press("⏹ 结束发放"), [edits("确定结束「中秋消费券」的发放吗")]),
            (ZHAO, Press("⏹ 确定结束"), [edits("「中秋消费券」的发放已结束")]),
        ]
    )
    assert waiting("reminder") == 0
    assert waiting("announcement") == 0
