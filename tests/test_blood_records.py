"""Blood donation records: storage, /blood for officers, recording and figures for organizers."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from storage import audit
from storage import blood as blood_storage
from storage.db import Database
from storage.models import BloodDonation, Officer, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, says

WANG = Person(7_700_000_001, "王警官")
LI = Person(7_700_000_002, "李警官")
ZHAO = Person(7_700_000_003, "赵干事")
STRANGER = Person(7_700_000_009, "陌生人")

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()


def day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


def _donations(database: Database) -> list[BloodDonation]:
    with database.session() as session:
        return list(session.exec(select(BloodDonation).order_by(col(BloodDonation.id))).all())


# --- storage -----------------------------------------------------------------------------


def _give(
    database: Database, officer: Officer, on: date, component: str, amount: int
) -> BloodDonation | None:
    with database.session() as session:
        return blood_storage.record(
            session,
            officer_id=_id(officer),
            donated_on=on,
            component=component,
            amount=amount,
            recorded_by="officer:200001",
        )


def test_a_donation_is_recorded_once(database: Database) -> None:
    wang = add_officer(database, "100001", "王建国", "+8613800000001")
    first = _give(database, wang, date(2026, 3, 1), "whole_blood", 400)
    assert first is not None and first.id is not None
    assert first.recorded_by == "officer:200001" and first.recorded_at.tzinfo is not None
    # The same officer, day and component again: refused, nothing written.
    assert _give(database, wang, date(2026, 3, 1), "whole_blood", 300) is None
    # Another component the same day, or the same component another day, is a new donation.
    assert _give(database, wang, date(2026, 3, 1), "plasma", 200) is not None
    assert _give(database, wang, date(2026, 3, 2), "whole_blood", 200) is not None
    assert [(d.donated_on.day, d.component, d.amount) for d in _donations(database)] == [
        (1, "whole_blood", 400),
        (1, "plasma", 200),
        (2, "whole_blood", 200),
    ]
    with database.session() as session, pytest.raises(ValueError):
        blood_storage.record(
            session,
            officer_id=_id(wang),
            donated_on=date(2026, 3, 3),
            component="red_cells",
            amount=1,
            recorded_by="x",
        )


def test_history_and_totals_of_one_officer(database: Database) -> None:
    wang = add_officer(database, "100001", "王建国", "+8613800000001")
    li = add_officer(database, "100002", "李强", "+8613800000002")
    _give(database, wang, date(2025, 6, 1), "whole_blood", 400)
    _give(database, wang, date(2026, 1, 10), "platelets", 2)
    _give(database, wang, date(2026, 2, 10), "platelets", 1)
    _give(database, wang, date(2026, 5, 1), "plasma", 200)
    _give(database, li, date(2026, 5, 1), "whole_blood", 300)
    with database.session() as session:
        history = blood_storage.history(session, _id(wang))
        totals = blood_storage.totals(session, _id(wang))
        nothing = blood_storage.totals(
            session, _id(add_officer(database, "100003", "张伟", "+8613800000003"))
        )
    assert [d.donated_on for d in history] == [
        date(2026, 5, 1),
        date(2026, 2, 10),
        date(2026, 1, 10),
        date(2025, 6, 1),
    ]
    assert totals == blood_storage.Totals(donations=4, whole_ml=400, plasma_ml=200, units=3)
    assert totals.ml == 600
    assert nothing == blood_storage.Totals(donations=0, whole_ml=0, plasma_ml=0, units=0)


def test_officers_found_by_name_for_recording(database: Database) -> None:
    add_officer(database, "100001", "王建国", "+8613800000001")
    add_officer(database, "100002", "王建", "+8613800000002", unit="芦淞分局")
    add_officer(database, "100003", "王建", "+8613800000003", unit="荷塘分局")
    add_officer(database, "100004", "王建", "+8613800000004", active=False)
    add_officer(database, "100005", "李_强", "+8613800000005")
    add_officer(database, "100006", "李大强", "+8613800000006")

    def found(name: str, limit: int = 8) -> list[str]:
        with database.session() as session:
            return [o.police_id for o in blood_storage.active_named(session, name, limit=limit)]

    # The exact name first (only active officers); none exact: the names holding it.
    assert found("王建") == ["100002", "100003"]
    assert found("建国") == ["100001"]
    assert found("王") == ["100001", "100002", "100003"]
    # LIKE's wildcards are read literally.
    assert found("_强") == ["100005"]
    assert found("%") == []
    assert found("张") == []
    # One more than the limit, so the caller can tell there are too many.
    assert len(found("王", limit=1)) == 2


def test_figures_per_year_and_unit(database: Database) -> None:
    wang = add_officer(database, "100001", "王建国", "+8613800000001")
    li = add_officer(database, "100002", "李强", "+8613800000002")
    liu = add_officer(database, "300001", "刘洋", "+8613800000006", unit="芦淞分局")
    _give(database, wang, date(2025, 1, 1), "whole_blood", 400)
    _give(database, wang, date(2025, 12, 31), "platelets", 2)
    _give(database, li, date(2025, 7, 1), "whole_blood", 300)
    _give(database, liu, date(2025, 7, 1), "plasma", 250)
    _give(database, liu, date(2024, 12, 31), "whole_blood", 400)  # another year
    _give(database, wang, date(2026, 1, 1), "whole_blood", 200)  # another year
    with database.session() as session:
        year = blood_storage.year_figures(session, 2025)
        units = blood_storage.unit_figures(session, 2025)
        empty = blood_storage.year_figures(session, 2023)
        no_units = blood_storage.unit_figures(session, 2023)
    assert (year.donors, year.donations, year.ml, year.units, year.drives) == (3, 4, 950, 2, 0)
    assert [(u.unit, u.donors, u.donations, u.ml, u.units) for u in units] == [
        ("天元分局", 2, 3, 700, 2),
        ("芦淞分局", 1, 1, 250, 0),
    ]
    assert (empty.donors, empty.donations, empty.ml, empty.units) == (0, 0, 0, 0)
    assert no_units == []


def test_donations_go_with_their_officer(database: Database) -> None:
    wang = add_officer(database, "100001", "王建国", "+8613800000001")
    _give(database, wang, date(2026, 3, 1), "whole_blood", 400)
    with database.session() as session:
        officer = session.get(Officer, _id(wang))
        session.delete(officer)
    assert _donations(database) == []


# --- dialogs -----------------------------------------------------------------------------


async def _seed(bot: BotHarness) -> None:
    add_officer(
        bot.database,
        "100001",
        "王建国",
        "+8613800000001",
        bound_to=WANG.id,
        birthday=date(1985, 3, 12),
        blood_group="O",
        rh_negative=True,
    )
    add_officer(bot.database, "100002", "李强", "+8613800000002", unit="芦淞分局", bound_to=LI.id)
    add_officer(bot.database, "100003", "张伟", "+8613800000004", active=False)
    add_officer(
        bot.database,
        "200001",
        "赵敏",
        "+8613800000003",
        unit="市局机关",
        bound_to=ZHAO.id,
        roles=[Role.ORGANIZER],
        birthday=date(1990, 1, 1),
    )
    await bot.meet(WANG, LI, ZHAO, STRANGER)


async def test_officer_without_donations_may_give(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (
                WANG,
                "/blood",
                [
                    says(
                        "🩸 我的献血",
                        "血型：O Rh-",
                        "还没有献血记录",
                        "全血：现在就可以献",
                        "血小板：现在就可以献",
                        "以血站当天的检查为准",
                        absent=["/blood help"],
                    )
                ],
            ),
            # No birthday on the roster: no promise, and a kind word on what to do.
            (
                LI,
                "/blood",
                [
                    says(
                        "血型：未登记（可在 /me 中填写）",
                        "全血：暂时不能献（名册里没有出生日期，请联系工会干部补登）",
                    )
                ],
            ),
            (STRANGER, "/blood", [says("发送 /start")]),
        ]
    )


async def test_organizer_records_and_the_donor_sees_history_and_next_dates(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    whole_on, platelets_on = TODAY - timedelta(days=30), TODAY - timedelta(days=100)
    await bot.dialog.play(
        [
            (
                ZHAO,
                f"/blood record 100001 全血 400 {whole_on.isoformat()}",
                [says("✅ 已登记：王建国（100001）", "全血 400 毫升", "已通知本人")],
            ),
            (
                WANG,
                None,
                [
                    says(
                        f"感谢您 {whole_on.isoformat()} 无偿献血（全血 400 毫升）",
                        # Only what was given: no 「血小板 0 个治疗量」.
                        "累计献血 1 次：全血 400 毫升。",
                    )
                ],
            ),
            (
                ZHAO,
                f"/blood record 100001 血小板 2个 {platelets_on.strftime('%Y年%m月%d日')}",
                [says("血小板 2 个治疗量", "已通知本人")],
            ),
            (WANG, None, [says("累计献血 2 次：全血 400 毫升，血小板 2 个治疗量。")]),
            # The same donation again: refused, and the donor hears nothing.
            (
                ZHAO,
                f"/blood record 100001 全血 300 {whole_on.isoformat()}",
                [says(f"{whole_on.isoformat()} 的全血已经登记过了")],
            ),
            (WANG, None, []),
            (
                WANG,
                "/blood",
                [
                    says(
                        "累计献血 2 次",
                        f"{whole_on.isoformat()} 全血 400 毫升\n"
                        f"{platelets_on.isoformat()} 血小板 2 个治疗量",
                        # Whole blood 180 days after whole blood; platelets 90 days after it.
                        f"全血：{day(150)} 起可以献（离上次献血还要再休息一段时间）",
                        f"血小板：{day(60)} 起可以献",
                    )
                ],
            ),
            # Organizers may look at an officer's record.
            (
                ZHAO,
                "/blood 100001",
                [says("王建国（100001，天元分局）的献血记录", "血型：O Rh-", "累计献血 2 次")],
            ),
        ]
    )
    donations = _donations(bot.database)
    assert [(d.component, d.amount, d.recorded_by) for d in donations] == [
        ("whole_blood", 400, "officer:200001"),
        ("platelets", 2, "officer:200001"),
    ]
    with bot.database.session() as session:
        entries = audit.recent(session, action="blood.record")
    assert len(entries) == 2
    assert all(e.actor == "officer:200001" and e.target == "officer:100001" for e in entries)
    assert json.loads(entries[-1].detail)["amount"] == 400


async def test_recording_defaults_to_today_and_thanks_an_organizer_once(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (
                ZHAO,
                "/blood record 200001 血浆 300",
                [
                    says(f"✅ 已登记：赵敏（200001）{day(0)} 血浆 300 毫升", "谢谢您的爱心"),
                    says("感谢您", "累计献血 1 次：血浆 300 毫升。"),
                ],
            ),
            (ZHAO, "/blood", [says("全血：", "/blood help")]),
        ]
    )
    assert [d.donated_on for d in _donations(bot.database)] == [TODAY]


async def test_bad_records_are_refused_with_the_reason(bot: BotHarness) -> None:
    await _seed(bot)
    cases: list[tuple[str, str]] = [
        ("/blood record 100001 全血 500", "全血只能登记 200、300 或 400 毫升"),
        ("/blood record 100001 血小板 4", "只能是 1、2 或 3 个"),
        ("/blood record 100001 血小板 0", "只能是 1、2 或 3 个"),
        ("/blood record 100001 血浆 120", "50 的整数倍"),
        ("/blood record 100001 血浆 850", "100～800 毫升"),
        ("/blood record 100001 红细胞 1", "看不懂成分「红细胞」"),
        ("/blood record 100001 全血 四百", "看不懂数量「四百」"),
        (f"/blood record 100001 全血 400 {day(1)}", "献血日期不能晚于今天"),
        (f"/blood record 100001 全血 400 {day(-400)}", "只能补登一年以内"),
        ("/blood record 100001 全血 400 2026-02-30", "看不懂日期「2026-02-30」"),
        ("/blood record 100001 全血 400 2026-01-01 多余", "多了「多余」"),
        ("/blood record 999999 全血 400", "名册中没有警号 999999"),
        ("/blood record 100003 全血 400", "张伟（100003）已不在会员名册中"),
        # Fewer words open the dialog (tests/test_blood_record_dialog.py) at the first gap.
        ("/blood record 100001 全血", "请选择数量"),
        ("/blood stats 明年", "看不懂年份「明年」"),
        ("/blood 999999", "名册中没有警号 999999"),
        ("/blood 100001 全血", "看不懂「100001」"),
    ]
    for command, refusal in cases:
        await bot.dialog.play([(ZHAO, command, [says(refusal)]), (WANG, None, [])])
    assert _donations(bot.database) == []
    await bot.dialog.play(
        [(ZHAO, "/blood help", [says("/blood 登记 警号 成分 数量 [日期]", "record")])]
    )


async def test_officers_see_only_their_own_record(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/blood record 100001 全血 400", [says("已登记")]),
            (WANG, None, [says("感谢您")]),
            (LI, "/blood record 100002 全血 400", [says("您没有权限进行此操作")]),
            (LI, "/blood stats", [says("您没有权限进行此操作")]),
            (LI, "/blood 100001", [says("您没有权限进行此操作")]),
            (LI, "/blood", [says("🩸 我的献血", "还没有献血记录", absent=["王建国", "400"])]),
            (LI, "/blood 100002", [says("🩸 我的献血", "还没有献血记录")]),
            (WANG, None, []),
            (STRANGER, "/blood stats", [says("发送 /start")]),
        ]
    )
    assert len(_donations(bot.database)) == 1


async def test_stats_per_year_and_unit(bot: BotHarness) -> None:
    await _seed(bot)
    with bot.database.session() as session:
        wang = session.exec(select(Officer).where(Officer.police_id == "100001")).one()
        li = session.exec(select(Officer).where(Officer.police_id == "100002")).one()
        for officer, on, component, amount in [
            (wang, date(2025, 3, 1), "whole_blood", 400),
            (wang, date(2025, 9, 1), "platelets", 2),
            (li, date(2025, 9, 1), "whole_blood", 300),
            (li, date(2024, 9, 1), "whole_blood", 300),
            (wang, TODAY, "plasma", 200),
        ]:
            blood_storage.record(
                session,
                officer_id=_id(officer),
                donated_on=on,
                component=component,
                amount=amount,
                recorded_by="test",
            )
    await bot.dialog.play(
        [
            (
                ZHAO,
                "/blood stats 2025",
                [
                    says(
                        "2025 年献血统计",
                        "共 2 人献血 3 人次：全血和血浆 700 毫升，血小板 2 个治疗量",
                        "天元分局：1 人，2 人次，400 毫升，2 个治疗量",
                        "芦淞分局：1 人，1 人次，300 毫升，0 个治疗量",
                    )
                ],
            ),
            (
                ZHAO,
                "/blood stats",
                [says(f"{TODAY.year} 年献血统计", "共 1 人献血 1 人次：全血和血浆 200 毫升")],
            ),
            (ZHAO, "/blood 统计 2020年", [says("2020 年还没有献血记录")]),
        ]
    )
