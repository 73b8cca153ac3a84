"""Blood drives by taps (issue 17, items 1 and 5): the /drives new dialog with its preview, the
duplicate warning, the announcement to eligible officers, editing and cancelling from the card,
the paged donor list; storage of edits, cancellation and reminders on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot.jobs.drives import queue_reminders
from bot.scheduler import clock_of
from storage import audit, broadcasts
from storage import blood as blood_storage
from storage import drives as drive_storage
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import (
    BloodDrive,
    Broadcast,
    BroadcastKind,
    BroadcastStatus,
    Delivery,
    DriveStatus,
    Officer,
    Priority,
    Role,
)
from storage.roles import revoke
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
STALE = "此按钮已失效"

WANG = Person(7_820_000_001, "王警官")  # O: eligible
LI = Person(7_820_000_002, "李警官")  # A, gave whole blood 30 days ago: not yet
ZHANG = Person(7_820_000_003, "张警官")  # B: not wanted
SUN = Person(7_820_000_004, "孙警官")  # O: eligible
QIAN = Person(7_820_000_005, "钱警官")  # A: eligible
HE = Person(7_820_000_006, "何警官")  # O, 76 years old: too old
ZHAO = Person(7_820_000_009, "赵干事")  # organizer, AB


def _day(offset: int) -> str:
    return (TODAY + timedelta(days=offset)).isoformat()


def _at(offset: int, hour: int, minute: int = 0) -> datetime:
    day = TODAY + timedelta(days=offset)
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)
    return local.astimezone(UTC)


async def _seed(bot: BotHarness) -> dict[str, Officer]:
    def officer(
        police_id: str, name: str, person: Person | None, blood: str, **fields: Any
    ) -> Officer:
        fields.setdefault("birthday", date(1985, 3, 12))
        return add_officer(
            bot.database,
            police_id,
            name,
            f"+86138000{police_id}",
            bound_to=person.id if person else None,
            blood_group=blood,
            **fields,
        )

    people = {
        "wang": officer("100001", "王建国", WANG, "O"),
        "li": officer("100002", "李强", LI, "A"),
        "zhang": officer("100003", "张伟", ZHANG, "B"),
        "sun": officer("100004", "孙丽", SUN, "O"),
        "qian": officer("100005", "钱进", QIAN, "A"),
        "he": officer("100006", "何老", HE, "O", birthday=date(1950, 1, 1)),
        "unbound": officer("100007", "未绑定", None, "O"),
        "zhao": officer("200001", "赵敏", ZHAO, "AB", roles=[Role.ORGANIZER]),
    }
    with bot.database.session() as session:
        blood_storage.record(
            session,
            officer_id=people["li"].id or 0,
            donated_on=TODAY - timedelta(days=30),
            component="whole_blood",
            amount=400,
            recorded_by="test",
        )
    await bot.meet(WANG, LI, ZHANG, SUN, QIAN, HE, ZHAO)
    return people


def _drive(
    database: Database,
    *,
    capacity: int = 30,
    types: str = "",
    starts: datetime | None = None,
    place: str = "市中心血站",
    signed: tuple[Officer, ...] = (),
) -> int:
    with database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=starts or _at(10, 9),
            place=place,
            capacity=capacity,
            blood_types_wanted=types,
            created_by="officer:200001",
        )
        assert drive.id is not None
        drive_id = drive.id
    for officer in signed:
        with database.session() as session:
            drive_storage.sign_up(session, drive_id, officer.id or 0, now=datetime.now(UTC))
    return drive_id


def _drives(database: Database) -> list[BloodDrive]:
    with database.session() as session:
        return list(session.exec(select(BloodDrive).order_by(col(BloodDrive.id))).all())


async def _button_data(bot: BotHarness, person: Person, text: str, label: str) -> tuple[int, str]:
    """The message id and callback data of a button the bot showed (for a later, stale press)."""
    for event in reversed(await bot.client.history(person.as_user())):
        if text in event.text:
            for row in event.buttons:
                for button in row:
                    if button.text == label and button.callback_data:
                        return event.message_id, button.callback_data
    raise AssertionError(f"no button {label!r} under {text!r}")


# --- the new-drive dialog ---------------------------------------------------------------------


async def test_a_drive_scheduled_by_taps_is_announced_to_eligible_officers_only(
    bot: BotHarness,
) -> None:
    people = await _seed(bot)
    day = _day(2)
    rows: list[Row] = [
        (ZHAO, "/drives new", [says("哪一天", buttons=["今天", "明天", "后天", "❌ 取消"])]),
        (ZHAO, Press("后天"), [edits(f"{day}（", "几点开始", buttons=["08:30", "09:00"])]),
        (ZHAO, Press("09:00"), [edits("在哪里")]),
        (ZHAO, "市中心血站 二楼", [says("几个名额", buttons=["20", "30", "50"])]),
        (ZHAO, Press("30"), [edits("需要哪些血型", "还没选", buttons=["O 型", "完成", "全部"])]),
        (ZHAO, Press("O 型"), [edits("现在选了：O 型", buttons=["✅ O 型", "A 型"])]),
        (ZHAO, Press("A 型"), [edits("现在选了：A、O 型", buttons=["✅ A 型", "✅ O 型"])]),
        (ZHAO, Press("✅ O 型"), [edits("现在选了：A 型", buttons=["O 型"])]),
        (ZHAO, Press("O 型"), [edits("现在选了：A、O 型")]),
        (
            ZHAO,
            Press("完成"),
            [
                edits(
                    "新献血活动预览",
                    f"{day}（",
                    "09:00",
                    "市中心血站 二楼",
                    "A、O 型",
                    "30 人",
                    "通知 3 位符合条件的会员",
                    buttons=["✅ 发布", "🔔 通知符合条件的会员：开", "❌ 取消"],
                    absent=["⚠️"],
                )
            ],
        ),
        (ZHAO, Press("✅ 发布"), [edits("已发布献血活动 #1", "已通知 3 位")]),
        # Bound, a wanted type, may give whole blood that day: each told, with 报名.
        (WANG, None, [says("新的献血活动", "市中心血站 二楼", "A、O 型", buttons=["报名"])]),
        (SUN, None, [says("新的献血活动", buttons=["报名"])]),
        (QIAN, None, [says("新的献血活动", buttons=["报名"])]),
        # Too soon after a donation, a type not wanted, too old, the organizer's AB: nothing.
        (LI, None, []),
        (ZHANG, None, []),
        (HE, None, []),
        (ZHAO, None, []),
        (WANG, Press("报名"), [edits("报名成功", "已报名 1 人")]),
    ]
    await bot.dialog.play(rows)
    [drive] = _drives(bot.database)
    assert drive.starts_at == _at(2, 9)
    assert (drive.place, drive.capacity, drive.blood_types_wanted) == ("市中心血站 二楼", 30, "A,O")
    with bot.database.session() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        told = session.exec(select(Delivery.officer_id).order_by(col(Delivery.officer_id))).all()
        [entry] = audit.recent(session, action="drive.create")
    assert list(told) == sorted(people[name].id or 0 for name in ("wang", "sun", "qian"))
    assert broadcast.expires_at == drive.starts_at
    assert entry.target == "drive:1"


async def test_typed_forgiving_values_a_button_start_and_no_notice(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/drives", [says("近期还没有安排献血活动", buttons=["➕ 安排献血活动"])]),
        (ZHAO, Press("➕ 安排献血活动"), [says("哪一天")]),
        (ZHAO, "下个月吧", [says("看不懂日期「下个月吧」", "哪一天", buttons=["明天"])]),
        (ZHAO, _day(-1), [says("已经过去了", "哪一天")]),
        (ZHAO, "明天", [says(f"{_day(1)}（", "几点开始")]),
        (ZHAO, "25点", [says("看不懂时间「25点」", "几点开始", buttons=["09:00"])]),
        (ZHAO, "上午８点半", [says("在哪里")]),
        (ZHAO, "人民广场献血屋", [says("几个名额")]),
        (ZHAO, "0", [says("名额请写 1～10000", "几个名额")]),
        (ZHAO, "５０", [says("需要哪些血型")]),
        (ZHAO, "o，a", [says("新献血活动预览", "08:30", "50 人", "A、O 型", "通知 3 位")]),
        (ZHAO, "好的", [says("请点上面的按钮", buttons=["✅ 发布"])]),
        (
            ZHAO,
            Press("🔔 通知符合条件的会员：开"),
            [edits("不通知会员", buttons=["🔕 通知符合条件的会员：关"])],
        ),
        (ZHAO, Press("✅ 发布"), [edits("已发布献血活动 #1", "没有发通知")]),
        (WANG, None, []),
        (SUN, None, []),
        (QIAN, None, []),
    ]
    await bot.dialog.play(rows)
    [drive] = _drives(bot.database)
    assert drive.starts_at == _at(1, 8, 30) and drive.capacity == 50
    with bot.database.session() as session:
        assert session.exec(select(Broadcast)).all() == []


async def test_a_one_line_drive_in_part_opens_the_dialog_where_it_stops(bot: BotHarness) -> None:
    await _seed(bot)
    day = _day(10)
    rows: list[Row] = [
        (ZHAO, f"/drives new {day} 09:00", [says("请写日期、时间、地点和名额", "在哪里")]),
        (ZHAO, "市中心血站", [says("几个名额")]),
        (ZHAO, Press("20"), [edits("需要哪些血型")]),
        (ZHAO, Press("全部"), [edits("预览", f"{day}（", "09:00", "各血型都欢迎", "通知 5 位")]),
        (ZHAO, Press("❌ 取消"), [edits("已取消")]),
        (ZHAO, "/drives 新建 明天", [says("请写日期", f"{_day(1)}（", "几点开始")]),
        (ZHAO, "/cancel", [says("已取消")]),
    ]
    await bot.dialog.play(rows)
    assert _drives(bot.database) == []


async def test_a_drive_at_the_same_time_and_place_needs_a_second_confirmation(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    day = _day(10)
    _drive(bot.database, starts=_at(10, 9), place="市中心血站")
    rows: list[Row] = [
        # The shortcut does not publish a repeat unasked: its preview, with the warning.
        (
            ZHAO,
            f"/drives new {day} 09:00 市中心血站 30 O",
            [says("新献血活动预览", "⚠️ 已有一场同一时间、同一地点的献血活动 #1")],
        ),
        (
            ZHAO,
            Press("✅ 发布"),
            [edits("确定还要再发布一场吗", buttons=["仍然发布", "❌ 取消"], absent=["✅ 发布"])],
        ),
        (ZHAO, Press("仍然发布"), [edits("已发布献血活动 #2", "已通知 2 位")]),
        (WANG, None, [says("新的献血活动", "献血活动 #2")]),
        # By taps, the same place written with other blanks: warned again; 取消 keeps nothing.
        (ZHAO, "/drives new", [says("哪一天")]),
        (ZHAO, day, [says("几点开始")]),
        (ZHAO, Press("09:00"), [edits("在哪里")]),
        (ZHAO, "市中心 血站", [says("几个名额")]),
        (ZHAO, Press("30"), [edits("需要哪些血型")]),
        (ZHAO, Press("全部"), [edits("预览", "⚠️ 已有一场同一时间、同一地点的献血活动 #1")]),
        (ZHAO, Press("✅ 发布"), [edits("确定还要再发布一场吗", buttons=["仍然发布"])]),
        (ZHAO, Press("❌ 取消"), [edits("已取消")]),
        # Another hour at that place is no repeat.
        (ZHAO, f"/drives new {day} 14:00 市中心血站 30", [says("已安排献血活动 #3")]),
    ]
    await bot.dialog.play(rows)
    assert [drive.id for drive in _drives(bot.database)] == [1, 2, 3]


async def test_a_double_press_or_an_older_drafts_button_publishes_once(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/drives new", [says("哪一天")]),
        (ZHAO, "/drives new", [says("哪一天")]),
    ]
    await bot.dialog.play(rows)
    history = await bot.client.history(ZHAO.as_user())
    first = history[-2]
    [tomorrow] = [b.callback_data for row in first.buttons for b in row if b.text == "明天"]
    assert tomorrow is not None
    rows = [
        # A button of the first draft: the second is the one open.
        (ZHAO, PressData(tomorrow, answer=STALE, message_id=first.message_id), []),
        (ZHAO, Press("明天"), [edits("几点开始")]),
        (ZHAO, Press("10:00"), [edits("在哪里")]),
        (ZHAO, "市中心血站", [says("几个名额")]),
        (ZHAO, Press("10"), [edits("需要哪些血型")]),
        (ZHAO, Press("O 型"), [edits("现在选了：O 型")]),
        (ZHAO, Press("完成"), [edits("预览")]),
    ]
    await bot.dialog.play(rows)
    message_id, publish = await _button_data(bot, ZHAO, "预览", "✅ 发布")
    rows = [
        (ZHAO, Press("✅ 发布"), [edits("已发布献血活动 #1")]),
        (ZHAO, PressData(publish, answer=STALE, message_id=message_id), []),
    ]
    await bot.dialog.play(rows)
    assert len(_drives(bot.database)) == 1


# --- managing a drive -------------------------------------------------------------------------


async def test_edits_are_told_to_everyone_signed_up_or_waiting(bot: BotHarness) -> None:
    people = await _seed(bot)
    day = _day(10)
    drive_id = _drive(bot.database, capacity=2, signed=(people["wang"], people["qian"]))
    _drive(bot.database, capacity=2, signed=(people["sun"],))  # another drive: nobody hears
    with bot.database.session() as session:
        drive_storage.sign_up(session, drive_id, people["sun"].id or 0, now=datetime.now(UTC))
    rows: list[Row] = [
        (
            ZHAO,
            "/drives",
            [
                says("献血活动 #1", buttons=["报名候补", "👥 名单", "✏️ 修改", "⏹ 取消活动"]),
                says("献血活动 #2", buttons=["➕ 安排献血活动"]),
            ],
        ),
        (
            ZHAO,
            PressData(f"drm:edit:{drive_id}"),
            [says("修改献血活动 #1", "要改哪一项", buttons=["🕘 时间", "📍 地点", "👥 名额"])],
        ),
        (ZHAO, Press("🕘 时间"), [edits("新的日期", buttons=[f"日期不变（{day}）", "明天"])]),
        (ZHAO, Press(f"日期不变（{day}）"), [edits("几点开始")]),
        (ZHAO, Press("09:00"), [edits("和原来一样", "几点开始")]),
        (
            ZHAO,
            "下午3点",
            [says("时间：", f"{day}（", "09:00 → ", "15:00", "通知", "3 位")],
        ),
        (ZHAO, Press("✅ 确认修改"), [edits("已修改献血活动 #1", "15:00", "已通知 3 位")]),
        (WANG, None, [says("献血活动 #1 有变动", "时间改为", "15:00")]),
        (QIAN, None, [says("有变动", "15:00")]),
        (SUN, None, [says("有变动", "15:00")]),
        (LI, None, []),
        # The place.
        (ZHAO, PressData(f"drm:edit:{drive_id}"), [says("要改哪一项")]),
        (ZHAO, Press("📍 地点"), [edits("在哪里")]),
        (ZHAO, "人民广场献血屋", [says("地点：市中心血站 → 人民广场献血屋", "3 位")]),
        (ZHAO, Press("✅ 确认修改"), [edits("地点改为 人民广场献血屋")]),
        (WANG, None, [says("地点改为 人民广场献血屋", "15:00")]),
        (QIAN, None, [says("人民广场献血屋")]),
        (SUN, None, [says("人民广场献血屋")]),
        # Places: not below those signed up (typed or in the transaction), more move people up.
        (ZHAO, PressData(f"drm:edit:{drive_id}"), [says("要改哪一项")]),
        (ZHAO, Press("👥 名额"), [edits("几个名额")]),
        (ZHAO, "1", [says("已有 2 人报名，名额不能少于 2", "几个名额")]),
        (ZHAO, Press("10"), [edits("名额：2 人 → 10 人", "3 位")]),
        (
            ZHAO,
            Press("✅ 确认修改"),
            [edits("名额改为 10 人", "已通知 2 位", "1 位递补为正式报名")],
        ),
        # The one moved up hears it once, in words of its own.
        (SUN, None, [says("增加了名额", "递补为正式报名", "献血活动 #1")]),
        (WANG, None, [says("名额改为 10 人")]),
        (QIAN, None, [says("名额改为 10 人")]),
        # The blood types.
        (ZHAO, PressData(f"drm:edit:{drive_id}"), [says("要改哪一项")]),
        (ZHAO, Press("🩸 血型"), [edits("需要哪些血型", "还没选")]),
        (ZHAO, Press("O 型"), [edits("现在选了：O 型")]),
        (ZHAO, Press("完成"), [edits("血型：各血型都欢迎 → O 型", "3 位")]),
        (
            ZHAO,
            Press("✅ 确认修改"),
            [edits("血型改为 O 型", "已通知 2 位", "1 位血型不再需要的会员的报名已取消")],
        ),
        (WANG, None, [says("血型改为 O 型")]),
        # 钱 (A) is let go, told why in words of his own, once.
        (QIAN, None, [says("现在只需要 O 型血", "您的报名（A 型）已取消", absent=["有变动"])]),
        (SUN, None, [says("血型改为 O 型")]),
        (ZHAO, f"/drives {drive_id}", [says("已报名 2 人，候补 0 人", "人民广场献血屋")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        drive = drive_storage.get(session, drive_id)
        states = [(a.police_id, a.state) for a in drive_storage.attendees(session, drive_id)]
        edits_made = list(audit.recent(session, action="drive.edit"))
    assert drive is not None
    assert (drive.starts_at, drive.place, drive.capacity) == (_at(10, 15), "人民广场献血屋", 10)
    assert drive.blood_types_wanted == "O"
    assert states == [("100001", "signed"), ("100004", "signed")]
    assert len(edits_made) == 4


async def test_a_type_no_longer_wanted_lets_go_and_the_next_in_line_moves_up(
    bot: BotHarness,
) -> None:
    people = await _seed(bot)
    drive_id = _drive(bot.database, capacity=1, signed=(people["qian"],))
    with bot.database.session() as session:
        drive_storage.sign_up(session, drive_id, people["sun"].id or 0, now=datetime.now(UTC))
    await bot.dialog.play(
        [
            (ZHAO, "/drives", [says("献血活动 #1", buttons=["✏️ 修改"])]),
            (ZHAO, PressData(f"drm:edit:{drive_id}"), [says("要改哪一项")]),
            (ZHAO, Press("🩸 血型"), [edits("需要哪些血型")]),
            (ZHAO, Press("O 型"), [edits("现在选了：O 型")]),
            (ZHAO, Press("完成"), [edits("血型：各血型都欢迎 → O 型")]),
            (
                ZHAO,
                Press("✅ 确认修改"),
                [edits("血型改为 O 型", "1 位血型不再需要", "1 位递补为正式报名")],
            ),
            (QIAN, None, [says("您的报名（A 型）已取消")]),
            # 孙 (O) waited: the freed place is hers, told once in words of its own.
            (SUN, None, [says("有名额空出", "递补为正式报名", absent=["增加了名额"])]),
        ]
    )
    with bot.database.session() as session:
        states = [(a.police_id, a.state) for a in drive_storage.attendees(session, drive_id)]
    assert states == [("100004", "signed")]


async def test_cancelling_asks_first_tells_everyone_and_closes_sign_ups(bot: BotHarness) -> None:
    people = await _seed(bot)
    drive_id = _drive(bot.database, capacity=1, starts=_at(1, 9), signed=(people["wang"],))
    with bot.database.session() as session:
        drive_storage.sign_up(session, drive_id, people["sun"].id or 0, now=datetime.now(UTC))
    rows: list[Row] = [
        (QIAN, "/drives", [says("献血活动 #1", buttons=["报名候补"])]),
        (ZHAO, "/drives", [says("献血活动 #1", buttons=["⏹ 取消活动"])]),
        (
            ZHAO,
            Press("⏹ 取消活动"),
            [edits("确定取消献血活动 #1", "2 位", buttons=["确定取消活动", "先不取消"])],
        ),
        (ZHAO, Press("先不取消"), [edits("献血活动 #1", "市中心血站", buttons=["⏹ 取消活动"])]),
        (ZHAO, Press("⏹ 取消活动"), [edits("确定取消献血活动 #1")]),
        (ZHAO, Press("确定取消活动"), [edits("已取消献血活动 #1", "已通知 2 位")]),
        (WANG, None, [says("献血活动 #1", "已取消，不用去了")]),
        (SUN, None, [says("已取消，不用去了")]),
        (QIAN, None, []),
        # No more sign-ups: the old card's button says so; the list no longer shows it.
        (QIAN, Press("报名候补"), [edits("不能再报名")]),
        (QIAN, "/drives", [says("近期还没有安排献血活动")]),
        # Pressed again: what the first press said.
        (ZHAO, PressData(f"drm:cancelok:{drive_id}"), [edits("已经取消了")]),
        (ZHAO, PressData(f"drm:edit:{drive_id}", answer="不能再修改"), []),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        drive = drive_storage.get(session, drive_id)
        [entry] = audit.recent(session, action="drive.cancel")
    assert drive is not None and drive.status == DriveStatus.CANCELLED
    assert entry.target == f"drive:{drive_id}"
    # Its day before has come, but a cancelled drive is reminded of no more.
    assert queue_reminders(bot.database, datetime.now(UTC), zone=SHANGHAI) == 0


async def test_the_donor_list_is_one_message_turned_page_by_page(bot: BotHarness) -> None:
    await _seed(bot)
    donors = [
        add_officer(
            bot.database,
            f"3000{n:02d}",
            f"献血者{n}",
            f"+86139000000{n:02d}",
            bound_to=7_820_100_000 + n,
            blood_group="O",
        )
        for n in range(1, 32)
    ]
    drive_id = _drive(bot.database, capacity=40, signed=tuple(donors))
    rows: list[Row] = [
        (
            ZHAO,
            f"/drives {drive_id}",
            [
                says(
                    "已报名 31 人",
                    "（第 1/4 页）",
                    "1. 献血者1（300001，天元分局，O 型）已报名",
                    "10. 献血者10",
                    buttons=["📝 1. 献血者1", "📝 10. 献血者10", "下一页 ▶"],
                    absent=["11. 献血者11", "◀ 上一页"],
                )
            ],
        ),
        # One message, not one per donor.
        (ZHAO, None, []),
        (
            ZHAO,
            Press("下一页 ▶"),
            [
                edits(
                    "（第 2/4 页）",
                    "11. 献血者11",
                    "20. 献血者20",
                    buttons=["◀ 上一页", "下一页 ▶", "📝 12. 献血者12"],
                    absent=["10. 献血者10", "21. 献血者21"],
                )
            ],
        ),
        (
            ZHAO,
            Press("📝 12. 献血者12"),
            [edits("12. 献血者12", buttons=["全血400", "◀ 返回名单"])],
        ),
        (ZHAO, Press("◀ 返回名单"), [edits("（第 2/4 页）", "12. 献血者12")]),
        (ZHAO, Press("下一页 ▶"), [edits("（第 3/4 页）")]),
        (ZHAO, Press("下一页 ▶"), [edits("（第 4/4 页）", "31. 献血者31", absent=["下一页"])]),
        (ZHAO, Press("◀ 上一页"), [edits("（第 3/4 页）")]),
        # From the card too, as a message of its own.
        (ZHAO, "/drives", [says("献血活动 #1", buttons=["👥 名单"])]),
        (ZHAO, Press("👥 名单"), [says("已报名 31 人", "（第 1/4 页）")]),
    ]
    await bot.dialog.play(rows)


async def test_officers_and_forged_presses_manage_nothing(bot: BotHarness) -> None:
    people = await _seed(bot)
    drive_id = _drive(bot.database, signed=(people["wang"],))
    refused = "您没有权限进行此操作"
    rows: list[Row] = [
        (WANG, "/drives new", [says("没有权限")]),
        (WANG, f"/drives new {_day(3)} 09:00 市中心血站 30", [says("没有权限")]),
        (WANG, "/drives", [says("献血活动 #1", buttons=["取消报名"])]),
        (WANG, PressData(f"drm:edit:{drive_id}", answer=refused), []),
        (WANG, PressData(f"drm:cancel:{drive_id}", answer=refused), []),
        (WANG, PressData(f"drm:cancelok:{drive_id}", answer=refused), []),
        (WANG, PressData(f"drm:list:{drive_id}", answer=refused), []),
        (WANG, PressData(f"drl:{drive_id}:1", answer=refused), []),
        (WANG, PressData(f"drd:{drive_id}:{people['wang'].id}:1", answer=refused), []),
        (WANG, PressData("drs:0:start:", answer=refused), []),
        (WANG, PressData("drs:abcd1234:confirm:", answer=refused), []),
        # Outdated or malformed presses of an organizer change nothing either.
        (ZHAO, "/drives", [says("献血活动 #1")]),
        (ZHAO, PressData("drm:cancel:999", answer=STALE), []),
        (ZHAO, PressData(f"drm:explode:{drive_id}", answer=STALE), []),
        (ZHAO, PressData("drl:1:abc", answer=STALE), []),
        (ZHAO, PressData("drs:abcd1234:confirm:", answer=STALE), []),
        (ZHAO, PressData("drs:abcd1234:nope", answer=STALE), []),
        (ZHAO, PressData(f"drd:{drive_id}:{people['sun'].id}:1", answer="没有报名"), []),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        forged = list(audit.recent(session, action="forged.drive_manage"))
        listed = list(audit.recent(session, action="forged.drive_list"))
        drive = drive_storage.get(session, drive_id)
    assert len(forged) == 6 and len(listed) == 2
    assert all(entry.actor == "officer:100001" for entry in forged + listed)
    assert drive is not None and drive.status == DriveStatus.OPEN


async def test_an_organizer_who_loses_the_role_half_way_loses_the_draft(bot: BotHarness) -> None:
    people = await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/drives new", [says("哪一天")]),
            (ZHAO, Press("明天"), [edits("几点开始")]),
        ]
    )
    with bot.database.session() as session:
        revoke(session, people["zhao"].id or 0, Role.ORGANIZER)
    await bot.dialog.play(
        [
            (ZHAO, Press("09:00", answer="您没有权限进行此操作"), []),
            (ZHAO, "市中心血站", [says("发送 /menu")]),
        ]
    )
    assert _drives(bot.database) == []


# --- storage ----------------------------------------------------------------------------------


def _people(database: Database, count: int) -> list[Officer]:
    return [
        add_officer(database, f"1000{n:02d}", f"会员{n}", f"+86138000000{n:02d}", bound_to=900 + n)
        for n in range(1, count + 1)
    ]


def test_duplicates_are_the_open_drives_at_that_start_and_place(database: Database) -> None:
    first = _drive(database, starts=_at(5, 9), place="市中心血站")
    _drive(database, starts=_at(5, 10), place="市中心血站")
    _drive(database, starts=_at(5, 9), place="人民广场")
    with database.session() as session:
        found = drive_storage.duplicates(session, _at(5, 9), " 市中心  血站 ")
        assert [drive.id for drive in found] == [first]
        assert drive_storage.duplicates(session, _at(5, 9), "市中心血站", other_than=first) == []
        assert drive_storage.cancel_drive(session, first) is not None
        assert drive_storage.duplicates(session, _at(5, 9), "市中心血站") == []


def test_more_places_promote_in_order_and_a_cancelled_drive_takes_nobody(
    database: Database,
) -> None:
    a, b, c, d = _people(database, 4)
    drive_id = _drive(database, capacity=1, signed=(a, b, c))
    with database.session() as session:
        changed = drive_storage.update_drive(session, drive_id, capacity=3, place="人民广场")
        assert changed is not None
        assert drive_storage.promote_waiting(session, changed) == [b.id, c.id]
    with database.session() as session:
        assert drive_storage.signed_count(session, drive_id) == 3
        assert [r.officer_id for r in drive_storage.concerned(session, drive_id)] == [
            a.id,
            b.id,
            c.id,
        ]
        assert drive_storage.cancel_drive(session, drive_id) is not None
        assert drive_storage.cancel_drive(session, drive_id) is None
        assert drive_storage.update_drive(session, drive_id, capacity=5) is None
    with database.session() as session:
        joined = drive_storage.sign_up(session, drive_id, d.id or 0, now=datetime.now(UTC))
    assert joined.outcome == drive_storage.Outcome.CLOSED


def test_a_cancelled_drive_stops_its_reminder_and_a_moved_one_is_reminded_anew(
    database: Database,
) -> None:
    a, b = _people(database, 2)
    cancelled = _drive(database, starts=_at(20, 9), signed=(a,))
    moved = _drive(database, starts=_at(20, 9), place="人民广场", signed=(b,))
    day_before = _at(19, 8)
    assert queue_reminders(database, day_before, zone=SHANGHAI) == 2
    with database.session() as session:
        drive_storage.cancel_drive(session, cancelled)
        assert drive_storage.stop_reminders(session, cancelled) == 1
        drive_storage.update_drive(session, moved, starts_at=_at(20, 15))
        assert drive_storage.stop_reminders(session, moved, again=True) == 1
    with database.session() as session:
        statuses = session.exec(select(Broadcast.status)).all()
        waiting = session.exec(select(Delivery).where(Delivery.state == "pending")).all()
    assert list(statuses) == [BroadcastStatus.CANCELLED, BroadcastStatus.CANCELLED]
    assert list(waiting) == []
    # The cancelled drive is never due again; the moved one is, with its new time.
    assert queue_reminders(database, day_before, zone=SHANGHAI) == 1
    with database.session() as session:
        newest = session.exec(select(Broadcast).order_by(col(Broadcast.id).desc())).first()
        assert newest is not None and "15:00" in newest.text
        deliveries = session.exec(
            select(Delivery.officer_id).where(Delivery.broadcast_id == newest.id)
        ).all()
    assert list(deliveries) == [b.id]


# --- review fixes: the announcement stops with a cancelled or moved drive --------------------


def _pending(database: Database) -> int:
    with database.session() as session:
        return len(session.exec(select(Delivery).where(Delivery.state == "pending")).all())


async def _publish_quietly(bot: BotHarness) -> int:
    """A drive announced to 2 officers while the sender holds it back (quiet hours)."""
    await _seed(bot)
    evening = datetime.combine(TODAY, datetime.min.time(), tzinfo=SHANGHAI).replace(hour=22)
    clock_of(bot.application).freeze(evening.astimezone(UTC))
    rows: list[Row] = [
        (ZHAO, f"/drives new {_day(3)} 09:00", [says("在哪里")]),
        (ZHAO, "市中心血站", [says("几个名额")]),
        (ZHAO, Press("30"), [edits("需要哪些血型")]),
        (ZHAO, Press("O 型"), [edits("现在选了：O 型")]),
        (ZHAO, Press("完成"), [edits("预览", "通知 2 位")]),
        (ZHAO, Press("✅ 发布"), [edits("已发布献血活动 #1", "已通知 2 位")]),
        (WANG, None, []),
    ]
    await bot.dialog.play(rows)
    [drive] = _drives(bot.database)
    assert drive.id is not None and drive.announcement_id is not None
    assert _pending(bot.database) == 2
    return drive.id


async def test_a_cancelled_drive_is_not_announced_after_all(bot: BotHarness) -> None:
    drive_id = await _publish_quietly(bot)
    rows: list[Row] = [
        (ZHAO, PressData(f"drm:cancel:{drive_id}"), [edits("确定取消献血活动 #1")]),
        (ZHAO, Press("确定取消活动"), [edits("已取消献血活动 #1")]),
    ]
    await bot.dialog.play(rows)
    assert _pending(bot.database) == 0


async def test_a_moved_drive_stops_its_announcement_more_places_do_not(bot: BotHarness) -> None:
    drive_id = await _publish_quietly(bot)
    rows: list[Row] = [
        (ZHAO, PressData(f"drm:edit:{drive_id}"), [says("要改哪一项")]),
        (ZHAO, Press("👥 名额"), [edits("几个名额")]),
        (ZHAO, Press("50"), [edits("名额：30 人 → 50 人")]),
        (ZHAO, Press("✅ 确认修改"), [edits("名额改为 50 人")]),
    ]
    await bot.dialog.play(rows)
    assert _pending(bot.database) == 2
    rows = [
        (ZHAO, PressData(f"drm:edit:{drive_id}"), [says("要改哪一项")]),
        (ZHAO, Press("📍 地点"), [edits("在哪里")]),
        (ZHAO, "人民广场献血屋", [says("地点：市中心血站 → 人民广场献血屋")]),
        (ZHAO, Press("✅ 确认修改"), [edits("地点改为 人民广场献血屋")]),
    ]
    await bot.dialog.play(rows)
    assert _pending(bot.database) == 0


def test_stopping_an_announcement_cancels_only_what_waits(database: Database) -> None:
    a, b = _people(database, 2)
    drive_id = _drive(database)
    with database.session() as session:
        assert drive_storage.stop_announcement(session, drive_id) is False
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text="新的献血活动",
            recipients=[Recipient(a.id or 0, 901), Recipient(b.id or 0, 902)],
            created_by="test",
        )
        assert broadcast.id is not None
        drive_storage.link_announcement(session, drive_id, broadcast.id)
    with database.session() as session:
        assert drive_storage.stop_announcement(session, drive_id) is True
        assert drive_storage.stop_announcement(session, drive_id) is False
    assert _pending(database) == 0
