"""Input hygiene end to end (issue 14): forged numbers in buttons, invisible text, dates in 9999,
long bad input quoted short, sealed reasons of care cases, exports readable by their owner only.
"""

from __future__ import annotations

import asyncio
import csv
import os
import stat
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlmodel import func, select

from bot.app import build_application, polling
from bot.care_export import export_file
from bot.policy import load_policy
from bot.roster import export_roster, read_roster
from bot.sandbox import Sandbox
from storage import care
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import AuditEntry, BloodAppeal, BloodDrive, CareCase, CaseStatus, Event, Role
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer, bot_settings
from tests.dialogs import Person, Press, PressData, Row, edits, says

ORG = Person(7_400_000_001, "赵干事")
WANG = Person(7_400_000_002, "王警官")

CIPHER = FieldCipher(TEST_SECRET_KEY)
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
STALE = "此按钮已失效"
INVISIBLE = "看不见的字符"
BIG = 2**63
# Zero-width space and joiners, BOM, word joiner; right-to-left override and pop; an isolate.
ZERO_WIDTH = "\u200b\u200c\u200d\ufeff\u2060"
OVERRIDES = "\u202e\u202c\u2067\u2069"
LONG = "x" * 5000
SHOWN = "x" * 50 + "…"


def _seed(database: Database) -> dict[str, int]:
    organizer = add_officer(
        database, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ORGANIZER]
    )
    officer = add_officer(
        database,
        "100001",
        "王建国",
        "+8613800000002",
        bound_to=WANG.id,
        birthday=date(1985, 3, 12),
        blood_type="O",
    )
    assert organizer.id is not None and officer.id is not None
    return {"zhao": organizer.id, "wang": officer.id}


async def _start(bot: BotHarness) -> dict[str, int]:
    ids = _seed(bot.database)
    await bot.meet(ORG, WANG)
    return ids


def _case(database: Database, officer_id: int) -> CareCase:
    with database.session() as session:
        return care.create(
            session,
            care.NewCase(
                officer_id=officer_id,
                reporter_id=officer_id,
                event="hospitalization",
                event_date=TODAY - timedelta(days=3),
                hospital="市中心医院",
                ward="心内科 3 床",
                policy_amount=1000,
            ),
            CIPHER,
        )


def _count(database: Database, model: type[Any]) -> int:
    with database.session() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


def _raw_case(database: Database, case_id: int) -> dict[str, Any]:
    """The case's row as the database holds it, by plain SQL."""
    with database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM care_case WHERE id = :id"), {"id": case_id}
        ).one()
    return dict(row._mapping)


async def _show_card(bot: BotHarness, case_id: int) -> None:
    """Send the organizer the case's card with its buttons, as a new report does."""
    from handlers.care_cards import case_card, case_markup
    from storage import officers

    with bot.database.session() as session:
        case = care.get(session, case_id)
        assert case is not None
        subject = officers.by_id(session, case.officer_id)
        assert subject is not None
        card = case_card(case, subject, CIPHER, reporter=subject)
    await bot.application.bot.send_message(ORG.id, card, reply_markup=case_markup(case))
    await bot.client.replies(ORG.as_user(), count=1)


# --- numbers in callback data -------------------------------------------------------------


async def test_forged_presses_with_numbers_out_of_range_are_outdated(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, case.id or 0)
    before = (_count(bot.database, AuditEntry), _raw_case(bot.database, case.id or 0))
    forged = [
        f"case:visit:{BIG}",
        "case:visit:-1",
        f"case:pay:{BIG}",
        "case:decline:-7",
        f"drv:join:{BIG}",
        "drv:leave:-1",
        f"drr:{BIG}:{ids['wang']}:whole_blood:400",
        f"drr:1:{ids['wang']}:whole_blood:{BIG}",
        f"apl:coming:{BIG}",
        "apl:end:-1",
        f"ev:join:{BIG}:",
        "ev:manage:-1:",
        f"evm:{BIG}:{ids['wang']}:1",
        f"bindreq:1:{BIG}",
        f"bc:{BIG}",
        f"case:visit:{2**31}",  # past the INTEGER column, though Python and SQLite take it
    ]
    rows: list[Row] = [(ORG, PressData(data, answer=STALE), []) for data in forged]
    rows.append((WANG, "/drives", [says("近期还没有安排献血活动")]))  # a message to press on
    rows += [(WANG, PressData(data, answer=STALE), []) for data in forged[4:8]]
    await bot.dialog.play(rows)
    # Nothing changed: no audit entry (not even of a forged privileged press), the case as it was.
    assert (_count(bot.database, AuditEntry), _raw_case(bot.database, case.id or 0)) == before


# --- invisible text -----------------------------------------------------------------------


async def test_invisible_hospital_and_ward_are_refused_and_asked_again(bot: BotHarness) -> None:
    await _start(bot)
    rows: list[Row] = [
        (WANG, "/report", [says("请选择要申报的事项")]),
        (WANG, Press("住院"), [edits("申报「住院」，是为谁申报？")]),
        (WANG, Press("为本人"), [says("请输入住院的医院名称")]),
        (WANG, ZERO_WIDTH, [says(INVISIBLE, "重新输入")]),
        (WANG, OVERRIDES, [says(INVISIBLE, "重新输入")]),
        (WANG, "\u3164\u3164", [says(INVISIBLE)]),  # Hangul fillers: letters that show nothing
        (WANG, "\u202e市中心医院\u202c", [says("请输入病区和床号")]),
        (WANG, "\ufeff\u200b", [says(INVISIBLE)]),
        (WANG, "心内科3床", [says("请输入入院日期")]),
        (WANG, (TODAY - timedelta(days=2)).isoformat(), [says("还有需要说明的吗")]),
        (WANG, "\u2066\u2069\u200b", [says(INVISIBLE)]),
        (WANG, "胸痛观察", [says("请确认申报内容", "医院：市中心医院", "说明：胸痛观察")]),
        (WANG, Press("✅ 提交"), [edits("已提交")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        (case,) = session.exec(select(CareCase)).all()
    # Stored without the override: the name reads as typed, not backwards.
    assert case.hospital == "市中心医院"


async def test_invisible_event_title_and_a_date_in_9999_are_refused(bot: BotHarness) -> None:
    await _start(bot)
    day = (TODAY + timedelta(days=10)).isoformat()
    rows: list[Row] = [
        (ORG, "/events new", [says("要发布哪类活动")]),
        (ORG, Press("联谊交友"), [edits("请输入活动名称")]),
        (ORG, ZERO_WIDTH, [says("内容不能为空", "重新输入")]),
        (ORG, OVERRIDES + "\u3000", [says("内容不能为空")]),
        (ORG, "芙蓉情缘联谊会", [says("活动什么时候")]),
        (ORG, "9999-12-31 14:00-17:00", [says("两年内", "重新输入")]),
        (ORG, f"{day} 14:00 至 9999-01-01 12:00", [says("两年内")]),
        (ORG, f"{day} 14:00-17:00", [says("活动地点在哪里")]),
        (ORG, "\u200b", [says("内容不能为空")]),
        (ORG, "神农湖畔", [says("男20 女20")]),
    ]
    await bot.dialog.play(rows)
    assert _count(bot.database, Event) == 0


async def test_invisible_reasons_are_refused_and_reasons_are_sealed(bot: BotHarness) -> None:
    ids = await _start(bot)
    declined = _case(bot.database, ids["wang"])
    paid = _case(bot.database, ids["wang"])
    decline_reason = "已在单位另行慰问，不重复发放"
    pay_reason = "住院仅两天，按规定减发"
    await _show_card(bot, declined.id or 0)
    await bot.dialog.play(
        [
            (ORG, Press("不予受理"), [says("请输入不予受理的原因")]),
            (ORG, ZERO_WIDTH, [says("原因请用文字写明")]),
            (ORG, OVERRIDES, [says("原因请用文字写明")]),
            (ORG, decline_reason, [says(f"已登记 #{declined.id} 不予受理"), edits("不予受理")]),
            (WANG, None, [says("不予受理", f"原因：{decline_reason}")]),
            (WANG, "/myreports", [says(f"原因：{decline_reason}")]),
        ]
    )
    await _show_card(bot, paid.id or 0)
    await bot.dialog.play(
        [
            (ORG, Press("已发放"), [says("政策标准：1000 元")]),
            (ORG, "800", [says("请简要说明原因")]),
            (ORG, "\u200b\ufeff", [says("原因请用文字写明")]),
            (ORG, pay_reason, [says(f"已登记 #{paid.id} 发放慰问金 800 元"), edits("已发放")]),
            (WANG, None, [says("800 元")]),
        ]
    )
    for case_id, column, reason in (
        (declined.id or 0, "decline_reason_cipher", decline_reason),
        (paid.id or 0, "pay_reason_cipher", pay_reason),
    ):
        row = _raw_case(bot.database, case_id)
        # No column of the row holds the reason in clear; its column holds a token of it.
        assert all(reason not in str(value) for value in row.values()), row
        assert row[column] != reason and CIPHER.decrypt(row[column]) == reason
        assert (row["adjust_reason"], row["decline_reason"]) == ("", "")


def test_reasons_stored_in_clear_before_0009_are_read_then_sealed(database: Database) -> None:
    ids = _seed(database)
    case = _case(database, ids["wang"])
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE care_case SET status = 'declined', decline_reason = :reason, "
                "adjust_reason = '' WHERE id = :id"
            ),
            {"reason": "不符合条件", "id": case.id},
        )
    with database.session() as session:
        stored = care.get(session, case.id or 0)
        assert stored is not None
        assert care.decline_reason(stored, CIPHER) == "不符合条件"  # read from the old column
        assert care.seal_plain_reasons(session, CIPHER) == 1
    with database.session() as session:
        assert care.seal_plain_reasons(session, CIPHER) == 0  # nothing left the second time
        stored = care.get(session, case.id or 0)
        assert stored is not None and care.decline_reason(stored, CIPHER) == "不符合条件"
    row = _raw_case(database, case.id or 0)
    assert row["decline_reason"] == "" and "不符合条件" not in row["decline_reason_cipher"]
    assert CIPHER.decrypt(row["decline_reason_cipher"]) == "不符合条件"


async def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until the condition holds (it is checked again whenever the loop is free)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


async def test_the_bot_seals_old_plain_reasons_when_it_starts(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    ids = _seed(database)
    case = _case(database, ids["wang"])
    with database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE care_case SET status = 'paid', paid_amount = 800, adjust_reason = :reason "
                "WHERE id = :id"
            ),
            {"reason": "按规定减发", "id": case.id},
        )
    application = build_application(
        bot_settings(sandbox, database_url), database, load_policy(None)
    )
    async with polling(application, poll_timeout=1):
        await _until(lambda: _raw_case(database, case.id or 0)["adjust_reason"] == "")
    row = _raw_case(database, case.id or 0)
    assert CIPHER.decrypt(row["pay_reason_cipher"]) == "按规定减发"


# --- dates too far ahead, long bad input --------------------------------------------------


async def test_a_drive_and_an_appeal_in_9999_are_refused(bot: BotHarness) -> None:
    await _start(bot)
    day = (TODAY + timedelta(days=10)).isoformat()
    await bot.dialog.play(
        [
            (ORG, "/drives new 9999-12-31 09:00 市中心血站 30", [says("太远了", "最远")]),
            (ORG, f"/drives new {day} 09:00 {ZERO_WIDTH} 30", [says("地点不能只有空格")]),
            (ORG, f"/drives new {day} 09:00 {OVERRIDES} 30 O", [says("地点不能只有空格")]),
            (ORG, f"/drives new {day} 09:00 {'站' * 101} 30", [says("地点不能超过 100 字")]),
            (ORG, f"/drives new {day} 09:00 市中心血站 ²", [says("名额请写")]),
            (
                ORG,
                "/appeal O- 血小板 2 9999-12-31 08:00 市中心医院|长沙路1号|张医生",
                [says("太远了", "最远")],
            ),
            (
                ORG,
                f"/appeal O- 血小板 2 {day} 08:00 {ZERO_WIDTH}|长沙路1号|张医生",
                [says("三项都不能空")],
            ),
            (ORG, f"/appeal O- 血小板 ² {day} 08:00 医院|地址|联系人", [says("人数「²」不对")]),
            (ORG, "/drives", [says("近期还没有安排献血活动")]),
        ]
    )
    assert _count(bot.database, BloodDrive) == 0 and _count(bot.database, BloodAppeal) == 0


async def test_a_long_bad_input_is_quoted_in_one_short_reply(bot: BotHarness) -> None:
    await _start(bot)
    day = (TODAY + timedelta(days=10)).isoformat()
    commands = [
        f"/drives new {LONG} 09:00 市中心血站 30",
        f"/drives new {day} {LONG} 市中心血站 30",
        f"/drives new {day} 09:00 市中心血站 30 {LONG}",
        f"/drives {LONG}",
        f"/appeal {LONG} 血小板 2 {day} 08:00 医院|地址|联系人",
        f"/appeal O- 血小板 2 {LONG} 08:00 医院|地址|联系人",
        f"/cases {LONG}",
        f"/cases stats 2026-01-01 {LONG}",
        f"/blood record 100001 {LONG} 400",
        f"/blood {LONG}",
        f"/events {LONG}",
    ]
    rows: list[Row] = [(ORG, command, [says(SHOWN, absent=["x" * 51])]) for command in commands]
    # Numbers too long for int() (over 4,300 digits) or for a C int are refused the same way.
    digits = "9" * 5000
    rows += [
        (ORG, f"/drives new {day} 09:00 市中心血站 {digits}", [says("9" * 50 + "…")]),
        (ORG, f"/appeal O- 血小板 {digits} {day} 08:00 医院|地址|联系人", [says("9" * 50 + "…")]),
        (ORG, "/drives new 99999999999-01-01 09:00 市中心血站 30", [says("看不懂日期")]),
        (ORG, f"/blood record 100001 全血 400 {digits}-01-01", [says("看不懂日期")]),
    ]
    await bot.dialog.play(rows)


# --- files on disk ------------------------------------------------------------------------


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most machines run with (0022): a file not made private would be 0644."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_exports_are_written_readable_by_their_owner_only(
    database: Database, tmp_path: Path, usual_umask: None
) -> None:
    ids = _seed(database)
    case = _case(database, ids["wang"])
    with database.session() as session:
        stored = care.get(session, case.id or 0, for_update=True)
        assert stored is not None
        care.advance(
            session,
            stored,
            CaseStatus.DECLINED,
            actor="officer:200001",
            reason="不符合条件",
            cipher=CIPHER,
        )
    cases = tmp_path / "cases.xlsx"
    cases.write_bytes(b"an older export, world-readable")
    cases.chmod(0o644)
    start, end = TODAY - timedelta(days=30), TODAY
    assert export_file(database, start, end, SHANGHAI, cases, cipher=CIPHER) == 1
    assert _mode(cases) == 0o600
    for name in ("roster.csv", "roster.xlsx"):
        target = tmp_path / name
        assert export_roster(database, target) == 2
        assert _mode(target) == 0o600
        export_roster(database, target)  # replacing it keeps it private
        assert _mode(target) == 0o600
    # No partial file is left beside them.
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_the_exported_workbook_carries_the_reason_in_clear(
    database: Database, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    ids = _seed(database)
    case = _case(database, ids["wang"])
    with database.session() as session:
        stored = care.get(session, case.id or 0, for_update=True)
        assert stored is not None
        care.advance(
            session,
            stored,
            CaseStatus.DECLINED,
            actor="officer:200001",
            reason="不符合条件",
            cipher=CIPHER,
        )
    target = tmp_path / "cases.xlsx"
    export_file(database, TODAY - timedelta(days=30), TODAY, SHANGHAI, target, cipher=CIPHER)
    sheet = load_workbook(target).active
    assert sheet is not None
    cells = [cell for row in sheet.iter_rows(values_only=True) for cell in row]
    assert "不符合条件" in cells


def test_roster_names_made_of_invisible_characters_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["police_id", "name", "unit", "phone", "birthday", "gender", "blood_type"])
        writer.writerow(["100001", "\u200b\u200b", "天元分局", "13800138001", "", "", ""])
        writer.writerow(["100002", "\u3164\u3164", "天元分局", "13800138002", "", "", ""])
        writer.writerow(["100003", "\u202e国建王", "\ufeff天元分局", "13800138003", "", "", ""])
    entries, errors = read_roster(path, today=TODAY)
    assert [(e.line, e.reason) for e in errors] == [
        (2, "name is empty"),
        (3, "name is empty"),
    ]
    [(_line, entry)] = entries
    assert (entry.name, entry.unit) == ("国建王", "天元分局")


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    """The database holds the union's records: created 0600, and so are its -wal and -shm."""
    from storage.db import Database

    database = Database(f"sqlite:///{tmp_path / 'union.db'}")
    database.upgrade()
    try:
        created = sorted(tmp_path.iterdir())
        assert [path.name for path in created][:1] == ["union.db"]
        for path in created:
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
    finally:
        database.dispose()
