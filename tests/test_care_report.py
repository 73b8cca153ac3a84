"""Care reports end to end: the officer's dialog, pricing, duplicates, privacy, /myreports."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from storage import audit, conversations
from storage.models import CareCase, CaseStatus, ConversationState, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Photo, Press, PressData, Row, edits, says

WANG = Person(7_600_000_001, "王警官")
LI = Person(7_600_000_002, "李警官")
ZHAO = Person(7_600_000_003, "赵干事")
OUTSIDER = Person(7_600_000_004, "外单位")

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


async def _seed(bot: BotHarness) -> None:
    add_officer(
        bot.database,
        "100001",
        "王建国",
        "+8613800000001",
        bound_to=WANG.id,
        birthday=date(1985, 3, 12),
    )
    add_officer(bot.database, "100002", "李强", "+8613800000002", bound_to=LI.id)
    add_officer(bot.database, "100003", "张伟", "+8613800000004")
    add_officer(bot.database, "100004", "张伟", "+8613800000005")
    add_officer(
        bot.database, "300001", "刘洋", "+8613800000006", unit="芦淞分局", bound_to=OUTSIDER.id
    )
    add_officer(
        bot.database,
        "200001",
        "赵敏",
        "+8613800000003",
        unit="市局机关",
        bound_to=ZHAO.id,
        roles=[Role.ORGANIZER],
    )
    await bot.meet(WANG, LI, ZHAO, OUTSIDER)


def _cases(bot: BotHarness) -> list[CareCase]:
    with bot.database.session() as session:
        return list(session.exec(select(CareCase).order_by(col(CareCase.id))).all())


def hospitalization_rows(who: Person, for_self: bool = True) -> list[Row]:
    rows: list[Row] = [
        (who, "/report", [says("请选择要申报的事项", buttons=["住院", "结婚", "民警去世"])]),
        (
            who,
            Press("住院"),
            [edits("申报「住院」，是为谁申报？", buttons=["为本人", "代同事申报"])],
        ),
    ]
    if for_self:
        rows.append((who, Press("为本人"), [says("请输入住院的医院名称")]))
    return rows


async def test_hospitalization_for_oneself_reaches_organizers_privately(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    await _seed(bot)
    caplog.set_level(logging.INFO)  # the level `nuanjing run` logs at
    rows: list[Row] = [
        *hospitalization_rows(WANG),
        (WANG, "市中心医院", [says("请输入病区和床号")]),
        (WANG, "心内科3床", [says("请输入入院日期")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        (draft,) = session.exec(select(ConversationState.draft)).all()
    assert "心内科" not in draft and "ward" in draft  # sealed in the draft as well
    rows = [
        (WANG, Photo(), [says("请直接输入文字")]),
        (WANG, "明天吧", [says("日期格式不对")]),
        (WANG, "2026-02-30", [says("日期格式不对")]),
        (WANG, day(1), [says("不能晚于今天")]),
        (WANG, day(-400), [says("只能申报一年以内")]),
        (WANG, "1985-03-11", [says("早于出生日期")]),
        (WANG, day(-2), [says("还有需要说明的吗", buttons=["跳过"])]),
        (
            WANG,
            "胸痛入院观察",
            [
                says(
                    "请确认申报内容",
                    "事项：住院",
                    "王建国（100001，天元分局）",
                    "医院：市中心医院",
                    "病区：心内科3床",
                    "说明：胸痛入院观察",
                    f"日期：{day(-2)}",
                    "慰问金：1000 元",
                    buttons=["✅ 提交", "❌ 取消"],
                )
            ],
        ),
        (WANG, Press("✅ 提交"), [edits("已提交，编号 #1", absent=["哀悼"])]),
        (
            ZHAO,
            None,
            [
                says(
                    "慰问申报 #1",
                    "事项：住院",
                    "王建国（100001，天元分局）",
                    "病区：心内科3床",
                    "说明：胸痛入院观察",
                    "状态：已上报",
                    buttons=["已探望", "已发放", "不予受理"],
                )
            ],
        ),
        (LI, None, []),
        (WANG, PressData("cr:confirm:yes", answer="此按钮已失效"), []),
    ]
    await bot.dialog.play(rows)
    (case,) = _cases(bot)
    assert (case.event, case.event_date, case.status, case.policy_amount) == (
        "hospitalization",
        TODAY - timedelta(days=2),
        CaseStatus.REPORTED,
        1000,
    )
    assert "心内科" not in case.ward_cipher and "胸痛" not in case.note_cipher
    for record in caplog.records:
        assert "心内科" not in record.getMessage() and "胸痛" not in record.getMessage()
    with bot.database.session() as session:
        (entry,) = audit.recent(session, action="care.report")
        assert "心内科" not in entry.detail and "胸痛" not in entry.detail
        assert conversations.load_states(session, "care_report") == {}


async def test_the_same_event_reported_twice_is_linked_not_paid_twice(bot: BotHarness) -> None:
    await _seed(bot)
    first: list[Row] = [
        *hospitalization_rows(WANG),
        (WANG, "市中心医院", [says("病区")]),
        (WANG, "5床", [says("入院日期")]),
        (WANG, day(-3), [says("说明")]),
        (WANG, Press("跳过"), [says("请确认申报内容")]),
        (WANG, Press("✅ 提交"), [edits("编号 #1")]),
        (ZHAO, None, [says("慰问申报 #1")]),
    ]
    by_colleague: list[Row] = [
        *hospitalization_rows(LI, for_self=False),
        (LI, Press("代同事申报"), [edits("请输入同事的警号")]),
        (LI, "100001", [says("请输入住院的医院名称")]),
        (LI, "市中心医院", [says("病区")]),
        (LI, "5床", [says("入院日期")]),
        (LI, day(-1), [says("说明")]),
        (LI, Press("跳过"), [says("对象：王建国（100001")]),
        # Linked silently: the reporter hears what any reporter hears, the organizers see the
        # link on the card (no buttons: it is never paid); 王 hears of his colleague's care.
        (LI, Press("✅ 提交"), [edits("已提交，编号 #2")]),
        (ZHAO, None, [says("慰问申报 #2", "与 #1 是同一件事", "不会重复发放")]),
        (WANG, None, [says("同事李强为您申报了「住院」慰问")]),
    ]
    await bot.dialog.play([*first, *by_colleague])
    first_case, second_case = _cases(bot)
    assert second_case.status == CaseStatus.DUPLICATE and second_case.duplicate_of == first_case.id


async def test_on_behalf_by_name_in_ones_unit(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/report", [says("请选择要申报的事项")]),
        (WANG, Press("直系亲属去世"), [edits("是为谁申报")]),
        (WANG, Press("代同事申报"), [edits("请输入同事的警号")]),
        (WANG, "刘洋", [says("没有找到这位同事")]),  # another unit: by police ID only
        (
            WANG,
            "张伟",
            [says("本单位有几位同名同事", buttons=["张伟（100003）", "张伟（100004）"])],
        ),
        (WANG, PressData("cr:pick:999", answer="此按钮已失效"), []),
        (WANG, Press("张伟（100004）"), [says("请选择去世的亲属", buttons=["父母", "配偶父母"])]),
        (WANG, Press("父母"), [edits("请输入去世日期")]),
        (WANG, day(-5), [says("说明")]),
        (
            WANG,
            Press("跳过"),
            [says("事项：父母去世", "张伟（100004，天元分局）", "慰问金：1000 元")],
        ),
        (WANG, Press("✅ 提交"), [edits("深表哀悼", "已提交")]),
        (ZHAO, None, [says("父母去世", "申报人：王建国（100001）")]),
        (LI, "/report", [says("请选择")]),
        (LI, Press("民警去世"), [edits("请输入同事的警号")]),
        (LI, "300001", [says("请输入去世日期")]),
        (LI, "/cancel", [says("已取消")]),
    ]
    await bot.dialog.play(rows)
    (case,) = _cases(bot)
    assert (case.event, case.relation) == ("relative_death", "parent")
    with bot.database.session() as session:
        assert conversations.load_states(session, "care_report") == {}


async def test_planned_wedding_and_the_subject_is_told(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (LI, "/report", [says("请选择")]),
        (LI, Press("结婚"), [edits("是为谁申报")]),
        (LI, Press("代同事申报"), [edits("警号")]),
        (LI, "100001", [says("结婚登记日期")]),
        (LI, day(61), [says("60 天以内")]),
        (LI, day(60), [says("说明")]),
        (LI, "x" * 201, [says("不超过 200 个字")]),
        (LI, "同事婚礼", [says("慰问金：最高 1000 元")]),
        (LI, Press("✅ 提交"), [edits("已提交")]),
        (WANG, None, [says("同事李强为您申报了「结婚」慰问")]),
        (ZHAO, None, [says("事项：结婚")]),
    ]
    await bot.dialog.play(rows)


async def test_my_reports_shows_only_ones_own(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/myreports", [says("还没有慰问申报")]),
            *hospitalization_rows(WANG),
            (WANG, "市中心医院", [says("病区")]),
            (WANG, "5床", [says("入院日期")]),
            (WANG, day(-3), [says("说明")]),
            (WANG, Press("跳过"), [says("请确认")]),
            (WANG, Press("✅ 提交"), [edits("编号 #1")]),
            (ZHAO, None, [says("慰问申报 #1")]),
            (LI, "/report", [says("请选择")]),
            (LI, Press("生育"), [edits("是为谁申报")]),
            (LI, Press("为本人"), [says("请输入生育日期")]),
            (LI, day(-1), [says("说明")]),
            (LI, Press("跳过"), [says("请确认")]),
            (LI, Press("❌ 取消"), [says("已取消")]),
            (LI, "/myreports", [says("还没有慰问申报")]),
            (WANG, "/menu", [says("请选择", buttons=["📝 慰问申报", "🗂 我的申报"])]),
            (WANG, Press("🗂 我的申报"), [says(f"#1 住院 {day(-3)}：已上报", absent=["5床"])]),
        ]
    )
    assert len(_cases(bot)) == 1


async def test_a_report_left_for_the_menu_no_longer_takes_answers(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/report", [says("请选择")]),
            (WANG, Press("退休"), [edits("是为谁申报")]),
            (WANG, Press("为本人"), [says("请输入退休日期")]),
            (WANG, "/menu", [says("请选择")]),
            (WANG, "你好", [says("发送 /menu 打开菜单")]),
            (WANG, day(-1), [says("发送 /menu 打开菜单")]),
            (WANG, "/report", [says("请选择要申报的事项")]),
        ]
    )
    assert _cases(bot) == []
