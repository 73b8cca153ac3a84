"""Surveys (问卷) through the real bot and the sandbox: building with each kind of question, the
housing template in a few taps, publishing to the audience, answering with buttons (back, once,
a double 提交), anonymity on the database rows, named XLSX, bad answers, closed and late
surveys, forged presses and non-organizers."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from openpyxl import load_workbook
from sqlalchemy import inspect, text
from sqlmodel import col, select

from bot.app import build_application, polling
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from storage import inbox as inbox_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import InboxUpdate, Role, Survey, SurveyAnswer, SurveyRespondent
from storage.types import utcnow
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, BotHarness, add_officer, bot_settings
from tests.dialogs import Person, Press, PressData, Row, edits, says

ZHAO = Person(7_950_000_001, "赵干事")  # organizer, woman
WANG = Person(7_950_000_002, "王警官")  # man, 天元分局
LI = Person(7_950_000_003, "李警官")  # man, 交警支队
SUN = Person(7_950_000_004, "孙警官")  # woman, 天元分局


async def _seed(bot: BotHarness) -> dict[str, int]:
    def officer(police_id: str, name: str, person: Person, **fields: Any) -> int:
        row = add_officer(
            bot.database, police_id, name, f"+86139{police_id}00", bound_to=person.id, **fields
        )
        assert row.id is not None
        return row.id

    ids = {
        "zhao": officer("300001", "赵敏", ZHAO, gender="F", roles=[Role.ORGANIZER]),
        "wang": officer("300002", "王建国", WANG, gender="M"),
        "li": officer("300003", "李强", LI, gender="M", unit="交警支队"),
        "sun": officer("300004", "孙丽", SUN, gender="F"),
    }
    await bot.meet(ZHAO, WANG, LI, SUN)
    return ids


def _build_canteen() -> list[Row]:
    """/survey with one question of each kind, named, for everyone."""
    return [
        (ZHAO, "/survey", [says("新建问卷", buttons=["🏠 使用模板：住房意向调查"])]),
        (ZHAO, "食堂满意度调查", [says("请选择问卷对象", buttons=["全体会员", "仅女警"])]),
        (ZHAO, Press("全体会员"), [edits("请选择截止时间", buttons=["3天后", "一周后"])]),
        (ZHAO, "昨天", [says("截止时间已经过去")]),
        (ZHAO, Press("一周后"), [edits("实名还是匿名", buttons=["👤 实名", "🕶 匿名"])]),
        (ZHAO, "实名", [says("请按下方按钮选择", buttons=["👤 实名"])]),
        (ZHAO, Press("👤 实名"), [edits("请选择第 1 题的题型", buttons=["🔘 单选", "✏️ 简答"])]),
        (ZHAO, Press("🔘 单选"), [edits("第 1 题（单选）：请输入题目")]),
        (ZHAO, "您对午餐满意吗？", [says("请输入选项")]),
        (ZHAO, Press("✅ 选项完成", answer="至少需要 2 个选项"), []),
        (ZHAO, "满意\n一般", [says("已有选项：满意、一般", buttons=["✅ 选项完成"])]),
        (ZHAO, "满意", [says("选项不能重复")]),
        (ZHAO, "不满意", [says("已有选项：满意、一般、不满意")]),
        (ZHAO, Press("✅ 选项完成"), [edits("已添加 1 题", "第 2 题", buttons=["✅ 完成题目"])]),
        (ZHAO, Press("☑️ 多选"), [edits("第 2 题（多选）")]),
        (ZHAO, "希望增加哪些主食？", [says("请输入选项")]),
        (ZHAO, "面条\n水饺\n米粉", [says("已有选项：面条、水饺、米粉")]),
        (ZHAO, Press("✅ 选项完成"), [edits("请选择第 3 题的题型")]),
        (ZHAO, Press("🔢 数字"), [edits("第 3 题（数字）")]),
        (ZHAO, "每周在食堂吃几顿？", [says("请输入允许的数字范围")]),
        (ZHAO, "21-0", [says("最小值要小于最大值")]),
        (ZHAO, "０－２１", [says("请选择第 4 题的题型", "范围 0–21")]),
        (ZHAO, Press("✏️ 简答"), [edits("第 4 题（简答）")]),
        (ZHAO, "其他建议", [says("请选择第 5 题的题型", "4. 其他建议（简答）")]),
        (
            ZHAO,
            Press("✅ 完成题目"),
            [
                edits(
                    "问卷预览",
                    "📋 食堂满意度调查",
                    "对象：全体会员",
                    "实名",
                    "1. 您对午餐满意吗？（单选）",
                    "○ 不满意",
                    "2. 希望增加哪些主食？（多选）",
                    "范围 0–21",
                    "不超过 200 字",
                    "将通知 4 位会员",
                    buttons=["✅ 发布", "取消"],
                )
            ],
        ),
        (ZHAO, Press("✅ 发布"), [edits("问卷 #1 已发布", "正在通知 4 位会员")]),
    ]


async def test_build_publish_and_answer_once_with_back(bot: BotHarness) -> None:
    ids = await _seed(bot)
    await bot.dialog.play(_build_canteen())
    announcement = says("工会问卷：食堂满意度调查", "共 4 题", "实名", buttons=["📝 开始填写"])
    await bot.dialog.play(
        [
            (WANG, None, [announcement]),
            (
                WANG,
                Press("📝 开始填写"),
                [edits("第 1/4 题", "您对午餐满意吗？", buttons=["一般"])],
            ),
            (WANG, "一般", [says("请按题目下方的按钮作答", buttons=["满意"])]),
            (WANG, Press("一般"), [edits("第 2/4 题", "可多选", buttons=["面条", "◀ 上一题"])]),
            (WANG, Press("下一题 ▶", answer="请至少选择一项"), []),
            (WANG, Press("面条"), [edits("第 2/4 题", buttons=["✅ 面条", "水饺"])]),
            (WANG, Press("米粉"), [edits("第 2/4 题", buttons=["✅ 面条", "✅ 米粉"])]),
            (WANG, Press("◀ 上一题"), [edits("第 1/4 题", buttons=["✅ 一般", "满意"])]),
            (WANG, Press("满意"), [edits("第 2/4 题", buttons=["✅ 面条", "✅ 米粉"])]),
            (WANG, Press("下一题 ▶"), [edits("第 3/4 题", "请输入 0–21 之间的数字")]),
            (WANG, "二十", [says("请输入一个数字")]),
            (WANG, "25", [says("请输入 0–21 之间的数字")]),
            (WANG, "１２", [says("第 4/4 题", "不超过 200 字")]),
            (WANG, "长" * 201, [says("回答不能超过 200 字")]),
            (
                WANG,
                "希望周末也开放",
                [
                    says(
                        "请确认您的回答",
                        "1. 您对午餐满意吗？\n   满意",
                        "面条、米粉",
                        "   12",
                        "希望周末也开放",
                        buttons=["✅ 提交", "◀ 上一题"],
                    )
                ],
            ),
            (WANG, Press("◀ 上一题"), [edits("第 4/4 题", "当前回答：希望周末也开放")]),
            (WANG, Press("保持原答案 ▶"), [edits("请确认您的回答", "希望周末也开放")]),
        ]
    )
    # 提交 pressed twice at once: stored once, the second press has expired.
    [summary] = [e for e in await bot.client.history(WANG.as_user()) if "请确认" in e.text][-1:]
    data = next(b.callback_data for row in summary.buttons for b in row if b.text == "✅ 提交")
    assert data is not None
    first = await bot.client.press_data(WANG.as_user(), summary.message_id, data)
    second = await bot.client.press_data(WANG.as_user(), summary.message_id, data)
    answers = [await bot.client.callback_answer(q, timeout=10) for q in (first, second)]
    await bot.settle()
    assert sorted(str((a or {}).get("text") or "") for a in answers) == ["", "此按钮已失效"]
    with bot.database.session() as session:
        respondents = session.exec(select(SurveyRespondent)).all()
        stored = session.exec(select(SurveyAnswer)).all()
    assert [(r.survey_id, r.officer_id) for r in respondents] == [(1, ids["wang"])]
    assert sorted(a.position for a in stored) == [0, 1, 2, 3]
    assert {a.officer_id for a in stored} == {ids["wang"]}  # named: linked
    by_position = {a.position: a for a in stored}
    assert by_position[0].choices == "0" and by_position[1].choices == "0,2"
    assert by_position[2].number == 12
    assert "希望周末" not in by_position[3].text_cipher  # sealed at rest
    await bot.dialog.play(
        [
            (WANG, None, [edits("已提交，感谢您填写「食堂满意度调查」")]),
            # Once only: a second attempt is refused in one sentence.
            (WANG, PressData("sva:fill:1", answer="您已经填写过这份问卷"), []),
            (WANG, "/surveys", [says("食堂满意度调查", "（已提交）")]),
            # Another officer starts, goes away, and comes back through /surveys.
            (LI, None, [announcement]),
            (LI, Press("📝 开始填写"), [edits("第 1/4 题")]),
            (LI, Press("稍后再填"), [edits("稍后可发送 /surveys 继续填写")]),
            (LI, "/surveys", [says("待填写的问卷", buttons=["📝 食堂满意度调查"])]),
            (LI, Press("📝 食堂满意度调查"), [edits("第 1/4 题")]),
            (LI, Press("不满意"), [edits("第 2/4 题")]),
            # A button of the question already answered (a double press) has expired.
            (LI, PressData("svf:0000:pick:1:1", answer="此按钮已失效"), []),
        ]
    )


async def test_results_xlsx_and_closing_are_for_organizers(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(_build_canteen())
    for person, pick, count in ((WANG, "满意", "3"), (SUN, "满意", "7"), (LI, "一般", "20")):
        await bot.dialog.play(
            [
                (person, None, [says("工会问卷")]),
                (person, Press("📝 开始填写"), [edits("第 1/4 题")]),
                (person, Press(pick), [edits("第 2/4 题")]),
                (person, Press("水饺"), [edits("第 2/4 题", buttons=["✅ 水饺"])]),
                (person, Press("下一题 ▶"), [edits("第 3/4 题")]),
                (person, count, [says("第 4/4 题")]),
                (person, f"{person.first_name}的建议", [says("请确认您的回答")]),
                (person, Press("✅ 提交"), [edits("已提交")]),
            ]
        )
    await bot.dialog.play(
        [
            (ZHAO, None, [says("工会问卷")]),  # an organizer is in the audience too
            (LI, "/survey", [says("只有工会干部可以发起问卷")]),
            (LI, PressData("sva:results:1", answer="只有工会干部"), []),
            (LI, PressData("sva:closeok:1", answer="只有工会干部"), []),
            (LI, PressData("svs:abcd1234:confirm:", answer="只有工会干部"), []),
            (ZHAO, PressData("svs:abcd1234:confirm:", answer="此按钮已失效"), []),
            (ZHAO, PressData("sva:results:99", answer="这份问卷已不存在"), []),
            (
                ZHAO,
                "/surveys",
                [
                    says("待填写的问卷", buttons=["📝 食堂满意度调查"]),
                    says("问卷管理", "#1 食堂满意度调查", "已答 3", buttons=["➕ 新建问卷"]),
                ],
            ),
            (ZHAO, Press("🟢 #1 食堂满意度调查"), [edits("已填写 3 / 4 人", buttons=["📊 结果"])]),
            (
                ZHAO,
                Press("📊 结果"),
                [
                    says(
                        "填写人数：3",
                        "1. 您对午餐满意吗？（3 人作答）",
                        "满意：2 人（66.7%）",
                        "一般：1 人（33.3%）",
                        "不满意：0 人（0.0%）",
                        "水饺：3 人（100.0%）",
                        "中位数 7，范围 3–20",
                        "· ",
                        "的建议",
                    )
                ],
            ),
        ]
    )
    await bot.client.press(ZHAO.as_user(), "📥 导出 XLSX")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.kind == "document" and document.document_name == "survey-1.xlsx"
    assert "共 3 份" in document.text and document.document_bytes is not None
    sheet = load_workbook(io.BytesIO(document.document_bytes), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["警号", "姓名", "单位", "1. 您对午餐满意吗？"]
    assert ["300002", "王建国", "天元分局", "满意", "水饺", 3, "王警官的建议"] in rows
    assert ["300003", "李强", "交警支队", "一般", "水饺", 20, "李警官的建议"] in rows
    await bot.dialog.play(
        [
            (ZHAO, Press("⏹ 结束问卷"), [edits("确定提前结束「食堂满意度调查」吗")]),
            (ZHAO, Press("⏹ 确定结束"), [edits("已结束，共 3 人填写")]),
            (ZHAO, PressData("sva:closeok:1", answer="这份问卷已经结束"), []),
            # Closed: no answers any more, in one sentence.
            (ZHAO, Press("📝 开始填写", answer="这份问卷已结束"), []),
        ]
    )


async def test_housing_template_anonymous_leaves_no_link_to_the_officer(bot: BotHarness) -> None:
    ids = await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/surveys 新建", [says("新建问卷")]),
            (ZHAO, Press("🏠 使用模板：住房意向调查"), [edits("请选择问卷对象")]),
            (ZHAO, Press("仅男警"), [edits("请选择截止时间")]),
            (ZHAO, Press("3天后"), [edits("实名还是匿名")]),
            (
                ZHAO,
                Press("🕶 匿名"),
                [
                    edits(
                        "住房意向调查",
                        "对象：男警",
                        "匿名",
                        "您意向的片区是？",
                        "您意向的住房面积是？",
                        "您的购房总预算（万元）？",
                        "范围 10–1000",
                        "是否首套住房？",
                        "将通知 2 位会员",
                    )
                ],
            ),
            (ZHAO, Press("✅ 发布"), [edits("已发布", "2 位会员")]),
        ]
    )
    for person, area, budget in ((WANG, "天元区", "120"), (LI, "荷塘区", "８０")):
        await bot.dialog.play(
            [
                (person, None, [says("住房意向调查", "匿名问卷", buttons=["📝 开始填写"])]),
                (person, Press("📝 开始填写"), [edits("第 1/4 题", buttons=[area])]),
                (person, Press(area), [edits("第 2/4 题")]),
                (person, Press("90–120㎡"), [edits("第 3/4 题", "10–1000")]),
                (person, "5", [says("请输入 10–1000 之间的数字")]),
                (person, budget, [says("第 4/4 题")]),
                (person, Press("是，首套"), [edits("请确认您的回答", "匿名问卷")]),
                (person, Press("✅ 提交"), [edits("已提交")]),
            ]
        )
    # Not in the audience (a woman): refused in one sentence.
    await bot.dialog.play(
        [
            (SUN, "/surveys", [says("目前没有需要您填写的问卷")]),
            (SUN, PressData("sva:fill:1", answer="这份问卷不面向您"), []),
        ]
    )
    # The rows: has-answered keeps only (survey, officer, day); the answers nothing of either.
    with bot.database.session() as session:
        survey = session.exec(select(Survey)).one()
        assert survey.anonymous
        respondents = session.exec(select(SurveyRespondent)).all()
        answers = session.exec(select(SurveyAnswer)).all()
        columns = {c["name"] for c in inspect(session.connection()).get_columns("survey_answer")}
        kinds = {
            c["name"]: str(c["type"])
            for c in inspect(session.connection()).get_columns("survey_answer")
        }
        dialect = session.connection().dialect.name
        if dialect == "sqlite":
            # No rowid whose order would follow the submissions.
            has_rowid = True
            try:
                session.execute(text("SELECT rowid FROM survey_answer"))
            except Exception:  # the error is the point
                has_rowid = False
            assert not has_rowid
    assert sorted(r.officer_id for r in respondents) == sorted([ids["wang"], ids["li"]])
    assert {r.answered_on for r in respondents} == {utcnow().date()}
    assert columns == {
        "id",
        "survey_id",
        "response_id",
        "position",
        "choices",
        "number",
        "text_cipher",
        "officer_id",
    }
    assert not any("DATE" in kind.upper() or "TIME" in kind.upper() for kind in kinds.values())
    assert len(answers) == 8 and all(a.officer_id is None for a in answers)
    assert len({a.response_id for a in answers}) == 2
    for answer in answers:
        assert re.fullmatch(r"[0-9a-f]{32}", answer.id)
        assert re.fullmatch(r"[0-9a-f]{32}", answer.response_id)
    officer_values = {str(v) for v in (*ids.values(), WANG.id, LI.id, "300002", "300003")}
    for answer in answers:
        # The keys are random: neither an officer's id, Telegram id nor police ID, nor a count.
        assert not {answer.id, answer.response_id} & officer_values
    budgets = sorted(a.number for a in answers if a.number is not None)
    assert budgets == [80, 120]
    # The organizers' XLSX has no names for an anonymous survey.
    await bot.dialog.play(
        [
            (ZHAO, "/surveys", [says("问卷管理")]),
            (ZHAO, Press("🟢 #1 住房意向调查"), [edits("已填写 2 / 2 人")]),
        ]
    )
    await bot.client.press(ZHAO.as_user(), "📥 导出 XLSX")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.document_bytes is not None
    sheet = load_workbook(io.BytesIO(document.document_bytes), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "序号" and len(rows) == 3
    flat = " ".join(str(cell) for row in rows for cell in row)
    assert "王建国" not in flat and "300002" not in flat and "李强" not in flat


def _housing(mode: str) -> list[Row]:
    """The housing template for men, named (👤 实名) or anonymous (🕶 匿名), published."""
    return [
        (ZHAO, "/surveys 新建", [says("新建问卷")]),
        (ZHAO, Press("🏠 使用模板：住房意向调查"), [edits("请选择问卷对象")]),
        (ZHAO, Press("仅男警"), [edits("请选择截止时间")]),
        (ZHAO, Press("3天后"), [edits("实名还是匿名")]),
        (ZHAO, Press(mode), [edits("住房意向调查", "将通知 2 位会员")]),
        (ZHAO, Press("✅ 发布"), [edits("已发布", "2 位会员")]),
    ]


def _fill_housing(person: Person, area: str, budget: str, mode: str) -> list[Row]:
    return [
        (person, None, [says("住房意向调查", mode, buttons=["📝 开始填写"])]),
        (person, Press("📝 开始填写"), [edits("第 1/4 题", buttons=[area])]),
        (person, Press(area), [edits("第 2/4 题")]),
        (person, Press("90–120㎡"), [edits("第 3/4 题", "10–1000")]),
        (person, budget, [says("第 4/4 题")]),
        (person, Press("是，首套"), [edits("请确认您的回答", area)]),
        (person, Press("✅ 提交"), [edits("已提交")]),
    ]


def _stored_updates(database: Database, person: Person) -> list[str]:
    """The person's updates in the inbox, unsealed ("" for a blanked one)."""
    cipher = FieldCipher(TEST_SECRET_KEY)
    with database.session() as session:
        rows = session.exec(
            select(InboxUpdate)
            .where(InboxUpdate.user_id == person.id)
            .order_by(col(InboxUpdate.update_id))
        ).all()
        return [cipher.decrypt(row.payload) for row in rows]


async def test_an_anonymous_submission_leaves_no_answers_in_the_update_inbox(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """The inbox keeps handled updates a week: an anonymous fill's presses, typed answers and
    summary are blanked with the submission; a named fill's are kept; a restart handles
    nothing again."""
    settings = bot_settings(sandbox, database_url)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        application = build_application(settings, database, load_policy(None))
        async with polling(application, poll_timeout=1):
            bot = BotHarness(application, database, client, sandbox, settings)
            await _seed(bot)
            await bot.dialog.play(_housing("🕶 匿名"))
            await bot.dialog.play([(LI, None, [says("住房意向调查", "匿名问卷")])])
            await bot.dialog.play(_fill_housing(WANG, "天元区", "123", "匿名问卷"))
            await bot.dialog.play(_housing("👤 实名"))
            await bot.dialog.play(_fill_housing(LI, "荷塘区", "456", "实名"))
            await bot.dialog.play([(WANG, None, [says("住房意向调查", "实名")])])
            # The bot goes on as before.
            await bot.dialog.play([(WANG, "/surveys", [says("待填写的问卷")])])
            await bot.settle()
        wang = _stored_updates(database, WANG)
        assert wang and wang[-1] != ""  # /surveys, after the fill, is kept
        for payload in wang:
            for answer in ("天元区", '"text": "123"', "首套", "90–120", "svf:"):
                assert answer not in payload, payload
        li = " ".join(_stored_updates(database, LI))
        for answer in ("荷塘区", '"text": "456"', "首套", "svf:"):
            assert answer in li
        with database.session() as session:
            assert inbox_storage.waiting(session) == []
            assert inbox_storage.pending_replies(session) == []
        restarted = build_application(settings, database, load_policy(None))
        async with polling(restarted, poll_timeout=1):
            bot = BotHarness(restarted, database, client, sandbox, settings)
            await bot.settle()
            assert await bot.quiet(WANG) == [] and await bot.quiet(LI) == []
            await bot.dialog.play([(WANG, "/surveys", [says("住房意向调查", "（已提交）")])])


async def test_late_and_closed_mid_way_refuse_in_one_sentence(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(_build_canteen())
    await bot.dialog.play(
        [
            (WANG, None, [says("工会问卷")]),
            (WANG, Press("📝 开始填写"), [edits("第 1/4 题")]),
            (SUN, None, [says("工会问卷")]),
        ]
    )
    with bot.database.session() as session:
        survey = session.exec(select(Survey).where(col(Survey.id) == 1)).one()
        survey.deadline = utcnow() - timedelta(minutes=1)
        session.add(survey)
    await bot.dialog.play(
        [
            (WANG, Press("满意", answer="这份问卷已过截止时间"), []),
            (SUN, Press("📝 开始填写", answer="这份问卷已过截止时间"), []),
            (SUN, "/surveys", [says("目前没有需要您填写的问卷")]),
        ]
    )
    with bot.database.session() as session:
        assert session.exec(select(SurveyAnswer)).all() == []


def test_text_answers_in_the_draft_are_sealed_and_listed() -> None:
    from handlers import surveys
    from storage import sealed

    assert surveys.FillDraft.sealed_fields() == ("texts",)
    assert sealed.SealedDraft(surveys.FILL_NAME, ("texts",)) in sealed.SEALED
    assert sealed.SealedColumn(SurveyAnswer, "text_cipher") in sealed.SEALED
