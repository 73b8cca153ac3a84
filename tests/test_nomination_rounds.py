"""The organizers' side of nominations (issue 12) through the real bot and the sandbox: opening
a retreat round with edited quotas and batches and an honours round, review (通过 / 退回 with
a reason, nominee and contact told), 发布公示 to every bound officer, objections kept or
removed (the nominee never told who objected), 结束公示 once the window is over (a controlled
clock), the XLSX for finance read back, exclusion flags, and non-organizers and forged presses
refused. Nominations are seeded through storage.nominations (the member side has its own
dialogs)."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.policy import load_policy
from handlers.nominations import rounds
from storage import audit
from storage import nominations as store
from storage import roles as role_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    HonourAward,
    Nomination,
    NominationQuota,
    NominationRound,
    Programme,
    RetreatBatch,
    Role,
    RoundStatus,
)
from storage.nominations import BatchSpec, Refused
from storage.types import utcnow
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
TERMS = POLICY.nominations.terms()
CIPHER = FieldCipher(TEST_SECRET_KEY)
T = TypeVar("T")

ZHAO = Person(7_980_000_001, "赵干事")  # organizer, 市局机关
WANG = Person(7_980_000_002, "王警官")  # contact of 天元分局
LIU = Person(7_980_000_003, "刘警官")  # 天元分局
ZHOU = Person(7_980_000_004, "周警官")  # 天元分局
LI = Person(7_980_000_005, "李警官")  # contact of 交警支队
SUN = Person(7_980_000_006, "孙警官")  # 交警支队


def ok(value: T | Refused) -> T:
    """A storage step's result; the test fails with its refusal if it was refused."""
    assert not isinstance(value, Refused), value
    return value


async def _roster(bot: BotHarness) -> dict[str, int]:
    """9 active officers: 天元分局 5 (王 a contact), 交警支队 3 (李 a contact), 市局机关 1 (赵)."""
    db = bot.database

    def officer(police_id: str, name: str, unit: str, person: Person | None, **more: Any) -> int:
        row = add_officer(
            db,
            police_id,
            name,
            f"+86139{police_id}00",
            unit=unit,
            bound_to=person.id if person else None,
            **more,
        )
        assert row.id is not None
        return row.id

    ids = {
        "zhao": officer("500001", "赵敏", "市局机关", ZHAO, roles=[Role.ORGANIZER]),
        "wang": officer("500002", "王建国", "天元分局", WANG),
        "liu": officer("500003", "刘洋", "天元分局", LIU),
        "zhou": officer("500004", "周杰", "天元分局", ZHOU),
        "li": officer("500005", "李强", "交警支队", LI),
        "sun": officer("500006", "孙丽", "交警支队", SUN),
    }
    for number in range(3):
        officer(f"50010{number}", f"天元{number}", "天元分局" if number < 2 else "交警支队", None)
    with db.session() as session:
        for police_id, unit in (("500002", "天元分局"), ("500005", "交警支队")):
            role_storage.change_unit_contact(session, police_id, unit, grant_it=True, actor="test")
    await bot.meet(ZHAO, WANG, LIU, ZHOU, LI, SUN)
    return ids


def _day(day: date) -> str:
    return f"{day.month}月{day.day}日"


def _open_rows(first: date, second: date) -> list[Row]:
    """A retreat round: quotas edited, two batches, the allowance; opened."""
    year = utcnow().astimezone(SHANGHAI).year
    too_long = first + timedelta(days=9)
    return [
        (ZHAO, "/rounds", [says("评选管理", "目前没有进行中的评选", buttons=["➕ 新一轮"])]),
        (
            ZHAO,
            Press("➕ 新一轮"),
            [edits("请选择项目", buttons=["🏖 疗休养", "🏅 株洲市五一劳动奖章", "取消"])],
        ),
        (ZHAO, Press("🏖 疗休养"), [edits("这一轮的名称", buttons=[f"使用「{year}年疗休养」"])]),
        (ZHAO, "春季疗休养", [says("总名额多少个", buttons=["5", "10"])]),
        (ZHAO, "一百", [says("请输入一个数字")]),
        (ZHAO, "20", [says("超过了全体在职会员人数（9人）")]),
        (
            ZHAO,
            "４个",
            [
                says(
                    "已按在职人数比例分配",
                    "· 天元分局（5人）：2",
                    "· 交警支队（3人）：1",
                    "· 市局机关（1人）：1",
                    "· 芦淞分局（0人）：0",
                    "合计 4 个，总名额 4 个",
                    buttons=["天元分局 2", "交警支队 1", "市局机关 1", "✅ 名额确定"],
                )
            ],
        ),
        (ZHAO, Press("市局机关 1"), [edits("市局机关（在职1人，现为1个）", buttons=["0", "1"])]),
        (
            ZHAO,
            Press("0"),
            [edits("合计 3 个，总名额 4 个", "各单位名额合计3个，与总名额4个不一致")],
        ),
        (ZHAO, Press("✅ 名额确定", answer="与总名额4个不一致"), []),
        (ZHAO, Press("天元分局 2"), [edits("天元分局（在职5人，现为2个）")]),
        (ZHAO, "9", [says("天元分局的名额超过了该单位的在职会员人数")]),
        (ZHAO, "３", [says("· 天元分局（5人）：3", "合计 4 个，总名额 4 个")]),
        (ZHAO, Press("✅ 名额确定"), [edits("推荐从什么时候开始", buttons=["立即开始"])]),
        (ZHAO, Press("立即开始"), [edits("推荐什么时候截止", buttons=["一周后", "两周后"])]),
        (ZHAO, "昨天", [says("推荐截止时间须晚于开始时间，并且晚于现在")]),
        (ZHAO, "下周几", [says("没看懂这个日期")]),
        (ZHAO, Press("两周后"), [edits("第1批的日期", "每批最多5天")]),
        (ZHAO, f"{_day(first)}-{_day(too_long)}", [says("每个批次最多5天（含路途）")]),
        (ZHAO, "随便", [says("没看懂这段日期")]),
        (ZHAO, f"{_day(first)}至{_day(first + timedelta(days=4))}", [says("这一批去哪里")]),
        (ZHAO, "张家界", [says("集合地点和时间", buttons=["跳过"])]),
        (ZHAO, "市局大院 07:30", [says("这一批可去多少人", "还需安排 4 人", buttons=["4"])]),
        (
            ZHAO,
            "2",
            [
                says(
                    "已添加的批次",
                    "第1批",
                    "张家界，2人，集合：市局大院 07:30",
                    "批次人数合计 2，总名额 4",
                    buttons=["➕ 再加一批", "🗑 删除最后一批", "✅ 批次完成"],
                )
            ],
        ),
        (ZHAO, Press("✅ 批次完成", answer="各批次人数合计少于总名额"), []),
        (ZHAO, Press("➕ 再加一批"), [edits("第2批的日期")]),
        (
            ZHAO,
            f"{second.isoformat()} 至 {(second + timedelta(days=4)).isoformat()}",
            [says("去哪里")],
        ),
        (ZHAO, "韶山", [says("集合地点")]),
        (ZHAO, Press("跳过"), [edits("还需安排 2 人", buttons=["2"])]),
        (ZHAO, Press("2"), [edits("批次人数合计 4，总名额 4")]),
        (
            ZHAO,
            Press("✅ 批次完成"),
            [edits("每人每天补助多少元", "上限 500 元", buttons=["300元", "400元", "500元"])],
        ),
        (ZHAO, "600", [says("每人每天补助不能超过500元")]),
        (
            ZHAO,
            Press("400元"),
            [
                edits(
                    "请确认新一轮评选",
                    "🏖 疗休养：春季疗休养",
                    "总名额：4 个",
                    "各单位名额：交警支队1个、天元分局3个",
                    "第1批：",
                    "张家界，2人，集合：市局大院 07:30",
                    "韶山，2人，集合：另行通知",
                    "每人每天补助：400 元",
                    "推荐条件（按政策）：在职会员；入会满1年；3年内未参加过疗休养。",
                    "开启后将通知 2 位单位联络员",
                    buttons=["✅ 开启", "取消"],
                )
            ],
        ),
        (ZHAO, "好的", [says("请点下面的按钮", "请确认新一轮评选", buttons=["✅ 开启"])]),
        (ZHAO, Press("✅ 开启"), [edits("已开启「春季疗休养」（#1），已通知 2 位单位联络员")]),
        (ZHAO, PressData("nrs:00000000:confirm:", answer="此按钮已失效"), []),
        (
            WANG,
            None,
            [says("新一轮🏖疗休养推荐已开启：春季疗休养", "贵单位名额：天元分局3个", "/retreats")],
        ),
        (LI, None, [says("贵单位名额：交警支队1个", "/retreats")]),
    ]


async def test_open_a_retreat_round_with_edited_quotas_and_batches(bot: BotHarness) -> None:
    await _roster(bot)
    today = utcnow().astimezone(SHANGHAI).date()
    first, second = today + timedelta(days=40), today + timedelta(days=60)
    await bot.dialog.play(_open_rows(first, second))
    with bot.database.session() as session:
        [round_] = session.exec(select(NominationRound)).all()
        quotas = {q.unit: q.places for q in session.exec(select(NominationQuota)).all()}
        batches = session.exec(select(RetreatBatch).order_by(col(RetreatBatch.id))).all()
        [entry] = audit.recent(session, action="nomination.round_open")
    assert (round_.programme, round_.name, round_.places) == ("retreat", "春季疗休养", 4)
    assert round_.daily_allowance == 400 and round_.status == RoundStatus.OPEN
    closes = round_.closes_at.astimezone(SHANGHAI)
    assert closes.date() == today + timedelta(days=14) and closes.hour == 18
    assert quotas == {"天元分局": 3, "交警支队": 1}
    assert [(b.starts_on, b.place, b.meeting_point, b.places) for b in batches] == [
        (first, "张家界", "市局大院 07:30", 2),
        (second, "韶山", "", 2),
    ]
    assert entry.actor == "officer:500001"
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says("🏖 春季疗休养（疗休养·推荐中）")]),
            (
                ZHAO,
                Press("🏖 春季疗休养（疗休养·推荐中）"),
                [
                    edits(
                        "春季疗休养（疗休养）#1",
                        "每人每天补助：400 元",
                        "第1批：",
                        "已定 0/2 人",
                        "· 天元分局：名额3｜已占0",
                        "· 交警支队：名额1",
                        buttons=["📋 审核（0）", "📢 发布公示", "📊 导出名单", "◀ 全部评选"],
                    )
                ],
            ),
            (ZHAO, Press("📢 发布公示", answer="还没有审核通过的推荐"), []),
            (ZHAO, Press("📋 审核（0）"), [edits("目前没有待审核的推荐")]),
        ]
    )


async def test_open_an_honours_round_and_cancel_one(bot: BotHarness) -> None:
    await _roster(bot)
    year = utcnow().astimezone(SHANGHAI).year
    later = utcnow().astimezone(SHANGHAI).date() + timedelta(days=20)
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says("评选管理")]),
            (ZHAO, Press("➕ 新一轮"), [edits("请选择项目")]),
            (ZHAO, Press("取消"), [edits("已取消")]),
            (ZHAO, "/rounds", [says("评选管理")]),
            (ZHAO, Press("➕ 新一轮"), [edits("请选择项目")]),
            (ZHAO, Press("🏅 株洲市五一劳动奖章"), [edits("这一轮的名称")]),
            (ZHAO, Press(f"使用「{year}年株洲市五一劳动奖章」"), [edits("总名额多少个")]),
            (ZHAO, Press("5"), [edits("合计 5 个，总名额 5 个")]),
            (ZHAO, Press("✅ 名额确定"), [edits("推荐从什么时候开始")]),
            (ZHAO, "明天", [says("推荐什么时候截止")]),
            (
                ZHAO,
                f"{later.isoformat()} 17:30",
                [
                    says(
                        f"🏅 株洲市五一劳动奖章：{year}年株洲市五一劳动奖章",
                        "总名额：5 个",
                        f"{later.isoformat()}",
                        "17:30",
                        "推荐条件（按政策）：在职会员；5年内未获得过该荣誉；未列入工会的排除名单。",
                        buttons=["✅ 开启"],
                    )
                ],
            ),
            (ZHAO, Press("✅ 开启"), [edits("已开启", "已通知 2 位单位联络员")]),
            (WANG, None, [says("🏅株洲市五一劳动奖章推荐已开启", "/honours")]),
        ]
    )
    with bot.database.session() as session:
        [round_] = session.exec(select(NominationRound)).all()
    assert (round_.programme, round_.title, round_.daily_allowance) == ("honour", "city-may-day", 0)
    tomorrow = utcnow().astimezone(SHANGHAI).date() + timedelta(days=1)
    assert round_.opens_at.astimezone(SHANGHAI) == datetime.combine(
        tomorrow, datetime.min.time(), tzinfo=SHANGHAI
    )


def _seed_retreat(database: Database, ids: dict[str, int]) -> tuple[int, dict[str, int]]:
    """An open retreat round (天元分局 2, 交警支队 1): 刘, 周 and 孙 nominated and confirmed."""
    now = utcnow()
    today = now.astimezone(SHANGHAI).date()
    with database.session() as session:
        round_ = ok(
            store.open_round(
                session,
                programme=Programme.RETREAT,
                name="秋季疗休养",
                places=3,
                quotas={"天元分局": 2, "交警支队": 1},
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=7),
                terms=TERMS,
                actor="test",
                now=now,
                batches=[
                    BatchSpec(
                        today + timedelta(days=30),
                        today + timedelta(days=34),
                        "张家界",
                        3,
                        "市局大院 07:30",
                    )
                ],
                daily_allowance=450,
                units=POLICY.units,
            )
        )
        assert round_.id is not None
        [batch] = store.batches_of(session, round_.id)
        nominations = {}
        for key, contact in (("liu", "wang"), ("zhou", "wang"), ("sun", "li")):
            nomination = ok(
                store.nominate(
                    session,
                    round_.id,
                    ids[key],
                    contact_id=ids[contact],
                    actor="test",
                    terms=TERMS,
                    cipher=CIPHER,
                    now=now,
                    zone=SHANGHAI,
                )
            )
            assert nomination.id is not None
            ok(store.confirm(session, nomination.id, ids[key], now=now, batch_id=batch.id))
            nominations[key] = nomination.id
        return round_.id, nominations


def _status(database: Database, nomination_id: int) -> str:
    with database.session() as session:
        nomination = session.get(Nomination, nomination_id)
        assert nomination is not None
        return nomination.status


async def test_review_publish_objections_and_the_final_list(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _roster(bot)
    round_id, nominated = _seed_retreat(bot.database, ids)
    card = "🏖 秋季疗休养（疗休养·推荐中）"
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says(card)]),
            (ZHAO, Press(card), [edits("秋季疗休养", "待审核2", buttons=["📋 审核（3）"])]),
            (
                ZHAO,
                Press("📋 审核（3）"),
                [edits("待审核 3 位", "孙丽（警号500006，交警支队）", "批次：", "张家界")],
            ),
            (ZHAO, Press("↩️ 退回"), [says("请输入退回孙丽的理由（500字以内）")]),
            (ZHAO, "长" * 501, [says("理由不能超过500字")]),
            (ZHAO, "本年度已安排其他休养", [says("已退回孙丽的推荐", buttons=["📋 继续审核"])]),
            (ZHAO, Press("📋 继续审核"), [edits("待审核 2 位", "刘洋（警号500003，天元分局）")]),
            (ZHAO, Press("✅ 通过"), [edits("已通过刘洋", "待审核 1 位", "周杰")]),
            (ZHAO, Press("✅ 通过"), [edits("已通过周杰", "目前没有待审核的推荐")]),
            (LIU, None, [says("您在「秋季疗休养」中的推荐已审核通过")]),
            (WANG, None, [says("刘洋（天元分局）的推荐已审核通过"), says("周杰（天元分局）")]),
            (ZHOU, None, [says("已审核通过")]),
            (SUN, None, [says("已退回单位", "本年度已安排其他休养")]),
            (LI, None, [says("孙丽（交警支队）的推荐已退回", "名额已归还本单位")]),
            (ZHAO, Press("◀ 返回本轮"), [edits("秋季疗休养", buttons=["📢 发布公示"])]),
            (
                ZHAO,
                Press("📢 发布公示"),
                [edits("以下 2 位同志将公示 5 天", "刘洋（天元分局）", "周杰（天元分局）")],
            ),
            (ZHAO, Press("✅ 确认发布公示"), [edits("已公示 2 位同志，正在通知 6 位会员")]),
            (ZHAO, None, [says("📢 公示", "秋季疗休养", buttons=["📋 查看公示名单"])]),
            (ZHAO, PressData(f"nra:publishok:{round_id}:1", answer="这一轮推荐已经结束"), []),
        ]
    )
    notice = says("📢 公示", "秋季疗休养", "拟入选 2 位同志", buttons=["📋 查看公示名单"])
    for person in (WANG, LIU, ZHOU, LI, SUN):
        await bot.dialog.play([(person, None, [notice])])
    # Its button opens the list as the member side shows it: names and units only.
    await bot.dialog.play(
        [(SUN, Press("📋 查看公示名单"), [says("刘洋", "周杰", absent=["孙丽", "500003"])])]
    )
    assert _status(bot.database, nominated["liu"]) == "published"
    assert _status(bot.database, nominated["sun"]) == "returned"
    # Two officers object (the member side's dialog does this; here through storage).
    with bot.database.session() as session:
        for key in ("liu", "zhou"):
            ok(
                store.object_to(
                    session,
                    nominated[key],
                    ids["li"],
                    f"对{key}的意见",
                    terms=TERMS,
                    cipher=CIPHER,
                    now=utcnow(),
                )
            )
    card = "🏖 秋季疗休养（疗休养·公示中）"
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says(card)]),
            # The window is not over: no 结束公示, and a forged press of it is refused.
            (ZHAO, Press(card), [edits("公示至", buttons=["⚠️ 异议（待处理2）", "📊 导出名单"])]),
            (ZHAO, PressData(f"nra:finalize:{round_id}:1", answer="公示期还没有结束"), []),
            (
                ZHAO,
                Press("⚠️ 异议（待处理2）"),
                [
                    edits(
                        "仅工会干部可见",
                        "对刘洋（天元分局）——李强（警号500005）：对liu的意见",
                        buttons=["✅ 保留刘洋", "❌ 撤下刘洋", "✅ 保留周杰", "❌ 撤下周杰"],
                    )
                ],
            ),
            (ZHAO, Press("✅ 保留刘洋"), [says("请输入保留刘洋的理由")]),
            (ZHAO, "经核实，情况属实", [says("已保留刘洋", buttons=["⚠️ 返回异议"])]),
            (ZHAO, Press("❌ 撤下周杰"), [says("请输入撤下周杰的理由", "不会知道是谁")]),
            (ZHAO, "不符合推荐条件", [says("已撤下周杰")]),
            (ZHAO, Press("⚠️ 返回异议"), [edits("【已保留】", "【已撤下】")]),
            (ZHOU, None, [says("未能入选", "不符合推荐条件", absent=["李强", "异议", "500005"])]),
            (ZHAO, PressData(f"nra:keep:{round_id}:{nominated['liu']}", answer="状态已经变化"), []),
        ]
    )
    assert (await bot.quiet(LIU)) == []  # kept: the nominee hears nothing of an objection
    assert _status(bot.database, nominated["zhou"]) == "removed"
    # Six days on, the publicity is over: 结束公示 makes the list final and tells the nominee.
    later = utcnow() + timedelta(days=6)
    monkeypatch.setattr(rounds, "utcnow", lambda: later)
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says(card)]),
            (ZHAO, Press(card), [edits("公示至", buttons=["⏹ 结束公示"])]),
            (ZHAO, Press("⏹ 结束公示"), [edits("公示已结束，1 位同志正式入选", "已结束")]),
            (LIU, None, [says("您已确定参加「秋季疗休养」", "张家界", "出发前三天")]),
            (ZHAO, PressData(f"nra:finalize:{round_id}:1", answer="不在公示期"), []),
        ]
    )
    assert _status(bot.database, nominated["liu"]) == "final"
    # The workbook for finance.
    await bot.client.press(ZHAO.as_user(), "📊 导出名单")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.kind == "document" and document.document_name == f"round-{round_id}.xlsx"
    assert document.document_bytes is not None and "秋季疗休养" in document.text
    sheet = load_workbook(io.BytesIO(document.document_bytes), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == [
        "警号",
        "姓名",
        "单位",
        "批次",
        "开始日期",
        "结束日期",
        "天数",
        "每天补助（元）",
        "补助合计（元）",
        "状态",
    ]
    assert len(rows) == 2
    assert rows[1][:3] == ["500003", "刘洋", "天元分局"]
    assert "张家界" in rows[1][3] and rows[1][6:] == [5, 450, 2250, "已确定"]


async def test_an_honours_round_goes_to_the_register(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = await _roster(bot)
    now = utcnow()
    with bot.database.session() as session:
        round_ = ok(
            store.open_round(
                session,
                programme=Programme.HONOUR,
                title="city-may-day",
                name="五一奖章推荐",
                places=1,
                quotas={"天元分局": 1},
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=7),
                terms=TERMS,
                actor="test",
                now=now,
                units=POLICY.units,
            )
        )
        assert round_.id is not None
        round_id = round_.id
        nomination = ok(
            store.nominate(
                session,
                round_id,
                ids["liu"],
                contact_id=ids["wang"],
                actor="test",
                terms=TERMS,
                cipher=CIPHER,
                now=now,
                zone=SHANGHAI,
                reason="扎根一线十年，群众口碑好",
            )
        )
        assert nomination.id is not None
        ok(store.confirm(session, nomination.id, ids["liu"], now=now))
    card = "🏅 五一奖章推荐（株洲市五一劳动奖章·推荐中）"
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says(card)]),
            (ZHAO, Press(card), [edits("五一奖章推荐", buttons=["📋 审核（1）"])]),
            (ZHAO, Press("📋 审核（1）"), [edits("刘洋", "推荐理由：扎根一线十年，群众口碑好")]),
            (ZHAO, Press("✅ 通过"), [edits("已通过刘洋")]),
            (ZHAO, Press("◀ 返回本轮"), [edits("五一奖章推荐")]),
            (ZHAO, Press("📢 发布公示"), [edits("以下 1 位同志")]),
            (ZHAO, Press("✅ 确认发布公示"), [edits("已公示 1 位同志")]),
            (ZHAO, None, [says("📢 公示")]),
        ]
    )
    later = utcnow() + timedelta(days=5, minutes=1)
    monkeypatch.setattr(rounds, "utcnow", lambda: later)
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says("五一奖章推荐（株洲市五一劳动奖章·公示中）")]),
            (
                ZHAO,
                Press("🏅 五一奖章推荐（株洲市五一劳动奖章·公示中）"),
                [edits("公示至", buttons=["⏹ 结束公示"])],
            ),
            (ZHAO, Press("⏹ 结束公示"), [edits("1 位同志正式入选")]),
            (
                LIU,
                None,
                [says("已审核通过"), says("📢 公示"), says("正式获评「株洲市五一劳动奖章」")],
            ),
        ]
    )
    with bot.database.session() as session:
        [award] = session.exec(select(HonourAward)).all()
    assert (award.officer_id, award.title, award.round_id) == (ids["liu"], "city-may-day", round_id)
    assert award.year == later.astimezone(SHANGHAI).year
    # The honours' workbook: the final list.
    await bot.client.press(ZHAO.as_user(), "📊 导出名单")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.document_bytes is not None
    sheet = load_workbook(io.BytesIO(document.document_bytes), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows == [
        ["警号", "姓名", "单位", "荣誉", "状态"],
        ["500003", "刘洋", "天元分局", "株洲市五一劳动奖章", "已确定"],
    ]


async def test_exclusion_flags_are_set_and_lifted_by_organizers(bot: BotHarness) -> None:
    ids = await _roster(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/rounds", [says("评选管理", buttons=["🚫 排除名单"])]),
            (ZHAO, Press("🚫 排除名单"), [edits("排除名单（仅工会干部可见）", "暂无")]),
            (ZHAO, Press("➕ 添加"), [says("请输入要排除的会员警号")]),
            (ZHAO, "999999", [says("名册中没有这位会员")]),
            (
                ZHAO,
                "５０００03",
                [says("刘洋（警号500003，天元分局）", buttons=["株洲市先进工作者", "全部荣誉"])],
            ),
            (ZHAO, "先进", [says("请点下面的按钮")]),
            (ZHAO, Press("株洲市先进工作者"), [edits("把刘洋排除出「株洲市先进工作者」的理由")]),
            (
                ZHAO,
                "正在接受组织调查",
                [
                    says(
                        "已把刘洋排除出「株洲市先进工作者」",
                        "刘洋（警号500003）：株洲市先进工作者。理由：正在接受组织调查",
                        buttons=["解除：刘洋·株洲市先进工作者"],
                    )
                ],
            ),
        ]
    )
    with bot.database.session() as session:
        [flag] = store.exclusions(session, CIPHER)
    assert (flag.officer.id, flag.title, flag.reason) == (
        ids["liu"],
        "city-advanced",
        "正在接受组织调查",
    )
    await bot.dialog.play(
        [
            (WANG, "/rounds", [says("只有工会干部")]),
            (WANG, PressData(f"nxl:{ids['liu']}:city-advanced", answer="只有工会干部"), []),
            (
                ZHAO,
                Press("解除：刘洋·株洲市先进工作者"),
                [edits("已解除刘洋的「株洲市先进工作者」排除", "暂无")],
            ),
        ]
    )
    with bot.database.session() as session:
        assert store.exclusions(session, CIPHER) == []
    assert await bot.quiet(LIU) == []  # the officer never hears of a flag


async def test_non_organizers_and_forged_presses_are_refused(bot: BotHarness) -> None:
    ids = await _roster(bot)
    round_id, nominated = _seed_retreat(bot.database, ids)
    liu = nominated["liu"]
    await bot.dialog.play(
        [
            (WANG, "/rounds", [says("只有工会干部可以管理疗休养和评先评优")]),
            (WANG, PressData(f"nra:approve:{round_id}:{liu}", answer="只有工会干部"), []),
            (WANG, PressData(f"nra:return:{round_id}:{liu}", answer="只有工会干部"), []),
            (WANG, PressData("nrm:new:all", answer="只有工会干部"), []),
            (WANG, PressData("nrs:abcd1234:confirm:", answer="只有工会干部"), []),
            (ZHAO, "/rounds", [says("评选管理")]),
            (ZHAO, PressData("nrs:abcd1234:confirm:", answer="此按钮已失效"), []),
            (ZHAO, PressData(f"nra:approve:{round_id}:999", answer="这条推荐已不存在"), []),
            (ZHAO, PressData(f"nra:approve:{round_id + 1}:{liu}", answer="这条推荐已不存在"), []),
            (ZHAO, PressData("nra:show:999:1", answer="这一轮推荐已不存在"), []),
            (ZHAO, PressData(f"nra:wipe:{round_id}:1", answer="此按钮已失效"), []),
            (ZHAO, PressData(f"nra:keep:{round_id}:{liu}", answer="状态已经变化"), []),
        ]
    )
    assert _status(bot.database, liu) == "confirmed"
    with bot.database.session() as session:
        forged = audit.recent(session, action="forged.nomination_admin")
    assert {entry.target for entry in forged} >= {f"round:{round_id}", "rounds"}


async def test_the_allowance_buttons_read_their_words_from_the_texts(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The allowance step's amounts are worded by bot.texts (ROUNDS_ALLOWANCE_BUTTON)."""
    from bot import texts

    monkeypatch.setattr(texts, "ROUNDS_ALLOWANCE_BUTTON", "每天{amount}元")
    await _roster(bot)
    today = utcnow().astimezone(SHANGHAI).date()
    rows = _open_rows(today + timedelta(days=40), today + timedelta(days=60))
    # The batches' last 批次完成 (the first one is refused) asks for the allowance.
    asked = next(i for i, (_, action, _) in enumerate(rows) if action == Press("✅ 批次完成"))
    await bot.dialog.play(rows[:asked])
    await bot.dialog.play(
        [
            (
                ZHAO,
                Press("✅ 批次完成"),
                [edits("每人每天补助多少元", buttons=["每天300元", "每天400元", "每天500元"])],
            ),
        ]
    )
