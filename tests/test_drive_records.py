"""Recording donations from a blood drive's list: the organizer's buttons under each officer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from handlers.callbacks import DriveRecord
from storage import audit
from storage import drives as drive_storage
from storage.db import Database
from storage.models import BloodDonation, BloodDrive, DriveStatus, Officer, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
YESTERDAY = TODAY - timedelta(days=1)

WANG = Person(7_810_000_001, "王警官")
SUN = Person(7_810_000_004, "孙警官")
QIAN = Person(7_810_000_005, "钱警官")
ZHAO = Person(7_810_000_009, "赵干事")


def _at_nine(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI).astimezone(UTC)


def _drive(database: Database, on: date, *signed: Officer) -> int:
    """A drive on that day with these officers signed up (signed while it was still ahead)."""
    with database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=datetime.now(UTC) + timedelta(days=30),
            place="市中心血站",
            capacity=30,
            blood_types_wanted="",
            created_by="officer:200001",
        )
        assert drive.id is not None
        drive_id = drive.id
    for officer in signed:
        assert officer.id is not None
        with database.session() as session:
            drive_storage.sign_up(session, drive_id, officer.id, now=datetime.now(UTC))
    with database.session() as session:
        stored = session.get(BloodDrive, drive_id)
        assert stored is not None
        stored.starts_at = _at_nine(on)
        session.add(stored)
    return drive_id


async def _seed(bot: BotHarness) -> dict[str, Officer]:
    def officer(police_id: str, name: str, person: Person, **fields: Any) -> Officer:
        return add_officer(
            bot.database,
            police_id,
            name,
            f"+86138000{police_id}",
            bound_to=person.id,
            birthday=date(1985, 3, 12),
            blood_group="O",
            **fields,
        )

    people = {
        "wang": officer("100001", "王建国", WANG),
        "sun": officer("100004", "孙丽", SUN),
        "qian": officer("100005", "钱进", QIAN),
        "zhao": officer("200001", "赵敏", ZHAO, roles=[Role.ORGANIZER]),
    }
    await bot.meet(WANG, SUN, QIAN, ZHAO)
    return people


def _donations(database: Database) -> list[BloodDonation]:
    with database.session() as session:
        return list(session.exec(select(BloodDonation).order_by(col(BloodDonation.id))).all())


def _press(drive_id: int, officer: Officer, component: str, amount: int) -> str:
    assert officer.id is not None
    return DriveRecord(drive_id, officer.id, component, amount).pack()


async def test_organizer_records_from_the_list_and_the_donor_is_thanked(bot: BotHarness) -> None:
    people = await _seed(bot)
    drive_id = _drive(bot.database, YESTERDAY, people["wang"], people["sun"])
    day = YESTERDAY.isoformat()
    await bot.dialog.play(
        [
            # One message for the list (it used to be one more per donor): a name opens that
            # donor's record buttons in the same message, and ◀ 返回名单 goes back.
            (
                ZHAO,
                f"/drives {drive_id}",
                [
                    says(
                        "报名名单",
                        "1. 王建国（100001",
                        "登记献血",
                        buttons=["📝 1. 王建国", "📝 2. 孙丽"],
                    ),
                ],
            ),
            (
                ZHAO,
                Press("📝 2. 孙丽"),
                [edits("2. 孙丽（100004", buttons=["全血200", "全血400", "血小板1", "◀ 返回名单"])],
            ),
            (
                ZHAO,
                Press("全血400"),
                [
                    edits(
                        "已登记：孙丽（100004）", day, "全血", "已通知本人", buttons=["◀ 返回名单"]
                    )
                ],
            ),
            (SUN, None, [says("感谢您", day, "全血")]),
            (ZHAO, Press("◀ 返回名单"), [edits("2. 孙丽（100004", "✅ 已登记 全血 400 毫升")]),
            (ZHAO, Press("📝 1. 王建国"), [edits("1. 王建国（100001", buttons=["血小板2"])]),
            (ZHAO, Press("血小板2"), [edits("已登记：王建国（100001）", day, "血小板")]),
            (WANG, None, [says("感谢您", day, "血小板")]),
            # The same officer, day and component again: nothing written, the button's message
            # shows the record as it stands (400, not 300), and 孙丽 is not thanked twice.
            (
                ZHAO,
                PressData(
                    _press(drive_id, people["sun"], "whole_blood", 300), answer="已经登记过了"
                ),
                [edits("已登记：孙丽（100004）", day, "全血 400")],
            ),
            (ZHAO, f"/blood stats {YESTERDAY.year}", [says("献血活动 1 场")]),
            (SUN, None, []),
        ]
    )
    donations = _donations(bot.database)
    assert [(d.officer_id, d.component, d.amount) for d in donations] == [
        (people["sun"].id, "whole_blood", 400),
        (people["wang"].id, "platelets", 2),
    ]
    assert all(d.drive_id == drive_id and d.donated_on == YESTERDAY for d in donations)
    assert all(d.recorded_by == "officer:200001" for d in donations)
    with bot.database.session() as session:
        entries = list(audit.recent(session, action="blood.record"))
    assert len(entries) == 2


async def test_forged_future_and_unsigned_presses_record_nothing(bot: BotHarness) -> None:
    people = await _seed(bot)
    past = _drive(bot.database, YESTERDAY, people["wang"])
    future = _drive(bot.database, TODAY + timedelta(days=3), people["wang"])
    await bot.dialog.play(
        [
            (ZHAO, f"/drives {future}", [says("报名名单", "1. 王建国", buttons=["📝 1. 王建国"])]),
            (ZHAO, Press("📝 1. 王建国"), [edits("1. 王建国", buttons=["全血400"])]),
            (ZHAO, Press("全血400", answer="献血日还没到"), []),
            # 钱进 never signed up for the drive.
            (
                ZHAO,
                PressData(_press(past, people["qian"], "whole_blood", 400), answer="没有报名"),
                [],
            ),
            # A forged amount is no button of ours.
            (
                ZHAO,
                PressData(_press(past, people["wang"], "whole_blood", 500), answer="此按钮已失效"),
                [],
            ),
            # An officer's forged press: refused and audited.
            (WANG, "/blood", [says("我的献血")]),
            (
                WANG,
                PressData(
                    _press(past, people["wang"], "whole_blood", 400), answer="您没有权限进行此操作"
                ),
                [],
            ),
        ]
    )
    assert _donations(bot.database) == []
    with bot.database.session() as session:
        (entry,) = list(audit.recent(session, action="forged.drive_record"))
    assert entry.actor == "officer:100001" and entry.target == f"drive:{past}"


async def test_a_cancelled_drive_records_nothing(bot: BotHarness) -> None:
    people = await _seed(bot)
    drive_id = _drive(bot.database, YESTERDAY, people["wang"])
    await bot.dialog.play(
        [
            (ZHAO, f"/drives {drive_id}", [says("报名名单", buttons=["📝 1. 王建国"])]),
            (ZHAO, Press("📝 1. 王建国"), [edits("1. 王建国", buttons=["全血400"])]),
        ]
    )
    # Cancelled while the organizer's list was open.
    with bot.database.session() as session:
        drive = session.get(BloodDrive, drive_id)
        assert drive is not None
        drive.status = DriveStatus.CANCELLED
        session.add(drive)
    await bot.dialog.play(
        [
            (ZHAO, Press("全血400", answer="已经取消"), []),
            (WANG, None, []),
        ]
    )
    assert _donations(bot.database) == []
