"""The staff's side of bookings: granting staff (chat and CLI), /staff's day list, attendance,
closing slots and days, forged presses, and counselling's privacy (/bookings counts only)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import announce_commands
from bot.cli import main
from bot.policy import Policy, ServicePolicy, load_policy
from bot.rules.capacity import Outcome
from handlers.bookings import day_label, offer_of
from handlers.callbacks import StaffMark, StaffStep
from handlers.context import install, services_of
from storage import audit
from storage import bookings as booking_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    AuditEntry,
    Booking,
    Broadcast,
    Delivery,
    Officer,
    Role,
    ServiceSlot,
    SignupState,
    SlotStatus,
)
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")

ADMIN = Person(7_960_000_001, "管理员")
ORG = Person(7_960_000_002, "赵干事")
DOC = Person(7_960_000_003, "刘医生")
TALKER = Person(7_960_000_004, "周咨询师")
WANG = Person(7_960_000_011, "王警官")
LI = Person(7_960_000_012, "李警官")
ZHANG = Person(7_960_000_013, "张警官")
SUN = Person(7_960_000_014, "孙警官")
QIAN = Person(7_960_000_015, "钱警官")

EVERY_DAY = {day: ["00:00-23:00"] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
# Open every day from 00:00 to 23:00 (23 slots of an hour), whatever day the tests run on.
CLINIC = ServicePolicy.model_validate(
    {
        "key": "clinic",
        "name": "健康屋",
        "kind": "health_room",
        "place": "市局健康屋",
        "staff_title": "值班医生",
        "hours": EVERY_DAY,
        "slot_minutes": 60,
        "places_per_slot": 3,
        "follows_workdays": False,
        "no_show": {"count": 2, "within_days": 90, "blocked_days": 30},
    }
)
TALK = ServicePolicy.model_validate(
    {
        "key": "talk",
        "name": "心理咨询",
        "kind": "counselling",
        "place": "市局心理咨询室",
        "staff_title": "心理咨询师",
        "hours": EVERY_DAY,
        "slot_minutes": 60,
        "places_per_slot": 1,
        "follows_workdays": False,
    }
)
POLICY: Policy = load_policy(None).model_copy(update={"services": [CLINIC, TALK]})
SLOTS_A_DAY = 23


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


def _today() -> date:
    return datetime.now(SHANGHAI).date()


def _at(day: date, hour: int) -> datetime:
    """A slot's start: this hour of the day in Shanghai, in UTC."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def _use_policy(bot: BotHarness) -> None:
    """The running bot reads the test policy from now on (two services open every day)."""
    application = bot.application
    install(application, dataclasses.replace(services_of(application), policy=POLICY))


def _book(
    database: Database,
    service: ServicePolicy,
    officer: Officer,
    start: datetime,
    *,
    alias: str | None = None,
) -> int:
    """Book the officer on the slot starting then (booked an hour before it, so past slots too)."""
    end = start + timedelta(minutes=service.slot_minutes)
    with database.session() as session:
        row = booking_storage.slot_row(session, service.key, start, end, service.places_per_slot)
        assert row.id is not None
        slot_id = row.id
    sealed = FieldCipher(TEST_SECRET_KEY).encrypt(alias) if alias else None
    with database.session() as session:
        joined = booking_storage.book(
            session,
            offer_of(service, SHANGHAI),
            slot_id,
            _id(officer),
            now=start - timedelta(hours=1),
            pseudonym_cipher=sealed,
        )
        assert joined.outcome == Outcome.SIGNED
        booking = booking_storage.entry_of(session, slot_id, _id(officer))
        assert booking is not None and booking.id is not None
        return booking.id


def _staff(database: Database, officer: Officer, *keys: str) -> None:
    for key in keys:
        with database.session() as session:
            booking_storage.grant_staff(session, _id(officer), key, granted_by="test")


def _booking(database: Database, booking_id: int) -> Booking:
    with database.session() as session:
        found = session.get(Booking, booking_id)
        assert found is not None
        return found


def _audits(database: Database, action: str | None = None) -> list[AuditEntry]:
    """Audit entries, newest first."""
    with database.session() as session:
        return list(audit.recent(session, action=action, limit=1000))


async def _seed(bot: BotHarness) -> dict[str, Officer]:
    """管理员 admin, 赵 organizer, 刘 the clinic's doctor, 周 the counsellor, five officers."""
    db = bot.database
    people = {
        "admin": add_officer(
            db, "900001", "陈管理", "+8613800009001", bound_to=ADMIN.id, roles=[Role.ADMIN]
        ),
        "org": add_officer(
            db, "200001", "赵敏", "+8613800002001", bound_to=ORG.id, roles=[Role.ORGANIZER]
        ),
        "doc": add_officer(db, "300001", "刘医生", "+8613800003001", bound_to=DOC.id),
        "talker": add_officer(db, "300002", "周老师", "+8613800003002", bound_to=TALKER.id),
        "wang": add_officer(db, "100002", "王建国", "+8613800000002", bound_to=WANG.id),
        "li": add_officer(db, "100003", "李强", "+8613800000003", bound_to=LI.id),
        "zhang": add_officer(db, "100004", "张伟", "+8613800000004", bound_to=ZHANG.id),
        "sun": add_officer(db, "100005", "孙丽", "+8613800000005", bound_to=SUN.id),
        "qian": add_officer(db, "100006", "钱进", "+8613800000006", bound_to=QIAN.id),
    }
    _use_policy(bot)
    await bot.meet(ADMIN, ORG, DOC, TALKER, WANG, LI, ZHANG, SUN, QIAN)
    return people


async def _buttons(bot: BotHarness, person: Person) -> list[str]:
    """The buttons of the newest message in the person's chat that has any."""
    for event in reversed(await bot.client.history(person.as_user())):
        if event.buttons:
            return [button.text for row in event.buttons for button in row]
    return []


# --- granting staff ------------------------------------------------------------------------------


async def test_admin_grants_and_revokes_staff_in_chat(bot: BotHarness) -> None:
    people = await _seed(bot)
    doc_scope = {"type": "chat", "chat_id": DOC.id}
    rows: list[Row] = [
        (DOC, "/staff", [says("只有服务工作人员可以查看预约名单")]),
        (DOC, "/help", [says("/book", absent=["/staff"])]),
        (
            ADMIN,
            "/grant 300001 staff clinic",
            [says("已任命刘医生（300001）为健康屋值班医生", "已私信告诉本人")],
        ),
        (DOC, None, [says("您已被任命为健康屋值班医生", "/staff")]),
        (ADMIN, "/grant 300001 staff 健康屋", [says("刘医生（300001）已经是健康屋值班医生")]),
        (
            ADMIN,
            "/grant 300001 staff pool",
            [says("没有服务键为「pool」的服务", "clinic 健康屋", "talk 心理咨询")],
        ),
        (
            ADMIN,
            "/grant 300001 staff",
            [says("用法：/grant 警号 角色", "/grant 警号 staff 服务键")],
        ),
        (ADMIN, "/grant 999999 staff clinic", [says("名册中没有警号 999999")]),
        # Only admins grant; an organizer or the staff member themselves are refused.
        (ORG, "/grant 100002 staff clinic", [says("您没有权限进行此操作")]),
        (DOC, "/grant 100002 staff clinic", [says("您没有权限进行此操作")]),
        (DOC, "/help", [says("服务工作人员", "/staff")]),
        (DOC, "/staff", [says("🩺 健康屋", "（今天）", "这一天还没有预约")]),
        (ADMIN, "/help", [says("/grant 警号 工作人员 服务键")]),
        (ORG, "/help", [says("/bookings")]),
    ]
    await bot.dialog.play(rows)
    assert "staff" in [name for name, _ in await bot.client.commands(doc_scope)]
    assert "staff" not in [name for name, _ in await bot.client.commands()]
    # Staff of two services choose one first.
    await bot.dialog.play(
        [
            (ADMIN, "/grant 300001 staff talk", [says("为心理咨询心理咨询师")]),
            (DOC, None, [says("您已被任命为心理咨询心理咨询师")]),
            (DOC, "/staff", [says("您负责以下服务", buttons=["🩺 健康屋", "💬 心理咨询"])]),
            (DOC, Press("💬 心理咨询"), [edits("💬 心理咨询", buttons=["↩️ 换服务"])]),
            (ADMIN, "/revoke 300001 staff talk", [says("已撤销刘医生（300001）的心理咨询")]),
            (DOC, None, [says("您的心理咨询心理咨询师身份已撤销")]),
            (
                ADMIN,
                "/revoke 300001 staff clinic",
                [says("已撤销刘医生（300001）的健康屋值班医生身份")],
            ),
            (DOC, None, [says("您的健康屋值班医生身份已撤销")]),
            (ADMIN, "/revoke 300001 staff clinic", [says("刘医生（300001）不是健康屋值班医生")]),
            (DOC, "/staff", [says("只有服务工作人员可以查看预约名单")]),
            # The old button of a service no longer staffed: refused and audited.
            (DOC, Press("↩️ 换服务", answer="只有服务工作人员可以查看预约名单"), []),
        ]
    )
    assert await bot.client.commands(doc_scope) == []
    grants = _audits(bot.database, "staff.grant")
    revokes = _audits(bot.database, "staff.revoke")
    assert len(grants) == 2 and len(revokes) == 2
    assert grants[-1].actor == "officer:900001" and grants[-1].target == "300001"
    assert json.loads(grants[-1].detail) == {"service": "clinic"}
    assert len(_audits(bot.database, "forged.role_change")) == 2
    assert len(_audits(bot.database, "forged.staff")) == 1
    with bot.database.session() as session:
        assert booking_storage.staffed_by(session, _id(people["doc"])) == set()
    # At start-up every staff chat gets its menu.
    _staff(bot.database, people["talker"], "talk")
    talker_scope = {"type": "chat", "chat_id": TALKER.id}
    assert await bot.client.commands(talker_scope) == []
    await announce_commands(bot.application)
    assert "staff" in [name for name, _ in await bot.client.commands(talker_scope)]


def test_cli_grants_and_revokes_staff(
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doc = add_officer(database, "300001", "刘医生", "+8613800003001", bound_to=903)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("NUANJING_POLICY_FILE", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["staff", *args])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, _ = run("grant", "300001", "health-room")
    assert status == 0
    assert out.strip().startswith("300001: staff of health-room (健康屋) granted")
    assert len(out.strip().splitlines()) == 1
    assert run("grant", "300001", "health-room")[1].strip() == (
        "300001: nothing to do (already staff of health-room)"
    )
    status, out, err = run("grant", "300001", "pool")
    assert status == 2 and out == ""
    assert "no service with key 'pool'" in err and "health-room" in err
    assert len(err.strip().splitlines()) == 1
    status, _, err = run("grant", "999999", "counselling")
    assert status == 1 and "no officer with police ID 999999" in err
    with database.session() as session:
        assert booking_storage.staffed_by(session, _id(doc)) == {"health-room"}
        [entry] = audit.recent(session, action="staff.grant")
        # The officer is told through the outbox: the running bot delivers it.
        [told] = session.exec(select(Broadcast)).all()
        [delivery] = session.exec(select(Delivery)).all()
    assert (entry.actor, entry.target) == ("cli", "300001")
    assert "健康屋值班医生" in told.text and delivery.chat_id == 903
    status, out, _ = run("revoke", "300001", "health-room")
    assert status == 0 and "staff of health-room (健康屋) revoked" in out
    assert "not staff of health-room" in run("revoke", "300001", "health-room")[1]
    with database.session() as session:
        assert booking_storage.staffed_by(session, _id(doc)) == set()
        assert len(audit.recent(session, action="staff.revoke")) == 1
        assert len(session.exec(select(Broadcast)).all()) == 2


# --- the day list and attendance -----------------------------------------------------------------


async def test_day_list_and_attendance_and_a_block_told_once(bot: BotHarness) -> None:
    people = await _seed(bot)
    db = bot.database
    _staff(db, people["doc"], "clinic")
    today = _today()
    tomorrow = today + timedelta(days=1)
    wang = _book(db, CLINIC, people["wang"], _at(today, 0))
    li = _book(db, CLINIC, people["li"], _at(today, 0))
    _book(db, CLINIC, people["zhang"], _at(tomorrow, 10))
    # 李 missed one booking already: one more and the rule (2 within 90 days) blocks him.
    earlier = _book(db, CLINIC, people["li"], _at(today - timedelta(days=3), 9))
    with db.session() as session:
        slot_id = _booking(db, earlier).slot_id
        assert booking_storage.mark_attendance(session, slot_id, _id(people["li"]), False)
    until = today + timedelta(days=29)
    again, weekday = day_label(until + timedelta(days=1))
    rows: list[Row] = [
        (
            DOC,
            "/staff",
            [
                says(
                    "🩺 健康屋",
                    "（今天）",
                    "⏰ 00:00–01:00 · 2/3 人",
                    "1. 王建国（100002）\n",
                    "2. 李强（100003）",
                    buttons=["00:00 · 2人", "◀ 前一天", "后一天 ▶"],
                    absent=["张伟"],
                )
            ],
        ),
        (
            DOC,
            Press("00:00 · 2人"),
            [edits("00:00–01:00", "王建国", buttons=["1. ✅ 到场", "1. ❌ 未到", "2. ❌ 未到"])],
        ),
        (DOC, Press("1. ✅ 到场", answer="已标记到场"), [edits("1. 王建国（100002） ✅ 已到场")]),
        (DOC, Press("2. ❌ 未到", answer="已标记未到"), [edits("2. 李强（100003） ❌ 未到")]),
        # The second miss blocks 李: told once, why and until when.
        (
            LI,
            None,
            [says("近 90 天内有 2 次健康屋预约未到场", f"{again}（{weekday}）起可以再预约")],
        ),
        # Pressed again, or set right and wrong again: no second notice.
        (DOC, Press("2. ❌ 未到", answer="已标记未到"), []),
        (DOC, Press("2. ✅ 到场", answer="已标记到场"), [edits("2. 李强（100003） ✅ 已到场")]),
        (DOC, Press("2. ❌ 未到", answer="已标记未到"), [edits("2. 李强（100003） ❌ 未到")]),
        (LI, None, []),
        (DOC, Press("↩️ 返回当天"), [edits("王建国（100002） ✅ 已到场", "李强（100003） ❌ 未到")]),
        (
            DOC,
            Press("后一天 ▶"),
            [edits("⏰ 10:00–11:00 · 1/3 人", "1. 张伟（100004）", absent=["（今天）", "王建国"])],
        ),
        (
            DOC,
            Press("10:00 · 1人"),
            [edits("张伟（100004）", "时段当天就可以在这里签到", buttons=["🚫 关闭此时段"])],
        ),
    ]
    await bot.dialog.play(rows)
    assert _booking(db, wang).attended is True
    assert _booking(db, li).attended is False
    # Attendance of tomorrow's booking cannot be taken yet, even by a forged press.
    with db.session() as session:
        [entry] = booking_storage.day_list(session, "clinic", _at(tomorrow, 0), _at(tomorrow, 23))
    zhang = entry.booking
    assert zhang.id is not None
    await bot.dialog.play(
        [(DOC, PressData(StaffMark(zhang.id, False).pack(), answer="开始后才能签到"), [])]
    )
    assert _booking(db, zhang.id).attended is None
    # A week either side, no further.
    far = (today + timedelta(days=8)).strftime("%Y%m%d")
    await bot.dialog.play(
        [
            (
                DOC,
                PressData(StaffStep("day", "clinic", far).pack(), answer="只能查看前后一周"),
                [edits("（今天）")],
            )
        ]
    )
    marks = _audits(db, "booking.attendance")
    assert len(marks) == 5 and marks[0].actor == "officer:300001"
    assert marks[0].target == f"booking:{li}"


# --- closing -------------------------------------------------------------------------------------


async def test_closing_a_slot_and_a_day_tells_the_booked_and_offers_the_next_slots(
    bot: BotHarness,
) -> None:
    people = await _seed(bot)
    db = bot.database
    _staff(db, people["doc"], "clinic")
    tomorrow = _today() + timedelta(days=1)
    zhang = _book(db, CLINIC, people["zhang"], _at(tomorrow, 10))
    sun = _book(db, CLINIC, people["sun"], _at(tomorrow, 15))
    label, weekday = day_label(tomorrow)
    await bot.dialog.play(
        [
            (DOC, "/staff", [says("（今天）")]),
            (DOC, Press("后一天 ▶"), [edits("10:00–11:00 · 1/3 人", "15:00–16:00 · 1/3 人")]),
            (DOC, Press("10:00 · 1人"), [edits("张伟（100004）")]),
            (
                DOC,
                Press("🚫 关闭此时段"),
                [
                    edits(
                        f"确定关闭 {label} {weekday} 10:00–11:00 吗",
                        "1 位同事会收到通知",
                        buttons=["✅ 确定关闭", "↩️ 不关闭"],
                    )
                ],
            ),
            (DOC, Press("✅ 确定关闭"), [edits("已关闭", "10:00–11:00", "已通知 1 位同事")]),
            (
                ZHANG,
                None,
                [
                    says(
                        f"很抱歉，您预约的健康屋 {label} {weekday} 10:00–11:00 因故关闭",
                        "点一下就能改约",
                    )
                ],
            ),
        ]
    )
    offered = await _buttons(bot, ZHANG)
    assert len(offered) == 4 and f"{label} {weekday} 10:00" not in offered
    assert _booking(db, zhang).state == SignupState.CANCELLED
    # The offered button goes straight to the officer's confirm step.
    await bot.dialog.play(
        [(ZHANG, Press(offered[0]), [edits("请确认预约", "健康屋", buttons=["✅ 确认预约"])])]
    )
    # The old confirm pressed again: nothing more to close.
    closeok = StaffStep("closeok", "clinic", tomorrow.strftime("%Y%m%d"), "1000").pack()
    await bot.dialog.play(
        [(DOC, PressData(closeok, answer="不能再关闭"), [edits("🚫 这个时段已关闭")])]
    )
    # The whole day: the 22 slots still open, booked or not.
    await bot.dialog.play(
        [
            (DOC, Press("↩️ 返回当天"), [edits("10:00–11:00 🚫 已关闭", buttons=["🚫 关闭当天"])]),
            (
                DOC,
                Press("🚫 关闭当天"),
                [edits(f"确定关闭 {label} {weekday} 全天吗", "22 个时段", "1 位同事")],
            ),
            (DOC, Press("✅ 确定关闭"), [edits(f"已关闭 {label} {weekday} 的 22 个时段")]),
            (SUN, None, [says("很抱歉，您预约的健康屋", "15:00–16:00 因故关闭")]),
            (DOC, Press("↩️ 返回当天"), [edits("15:00–16:00 🚫 已关闭", absent=["关闭当天"])]),
        ]
    )
    assert _booking(db, sun).state == SignupState.CANCELLED
    start, end = _at(tomorrow, 0), _at(tomorrow, 23)
    with db.session() as session:
        rows = booking_storage.slots_between(session, "clinic", start, end)
    assert len(rows) == SLOTS_A_DAY and all(row.status == SlotStatus.CLOSED for row in rows)
    [closed_slot] = _audits(db, "booking.slot_closed")
    [closed_day] = _audits(db, "booking.day_closed")
    assert closed_slot.target.startswith("slot:")
    assert json.loads(closed_day.detail) == {
        "day": tomorrow.isoformat(),
        "slots": 22,
        "told": 1,
    }
    # 孙 is offered no slot of the closed day.
    for text in await _buttons(bot, SUN):
        assert not text.startswith(f"{label} {weekday}")


# --- forged presses ------------------------------------------------------------------------------


async def test_forged_presses_of_non_staff_and_other_staff_change_nothing(bot: BotHarness) -> None:
    people = await _seed(bot)
    db = bot.database
    _staff(db, people["doc"], "clinic")
    _staff(db, people["talker"], "talk")
    today, tomorrow = _today(), _today() + timedelta(days=1)
    wang = _book(db, CLINIC, people["wang"], _at(today, 0))
    talk = _book(db, TALK, people["li"], _at(today, 0), alias="小林")
    day = tomorrow.strftime("%Y%m%d")
    clinic_steps = [
        StaffStep("day", "clinic", day),
        StaffStep("slot", "clinic", today.strftime("%Y%m%d"), "0000"),
        StaffStep("closeok", "clinic", day, "1000"),
        StaffStep("cdayok", "clinic", day),
    ]
    rows: list[Row] = [
        (QIAN, "/staff", [says("只有服务工作人员可以查看预约名单")]),
        (TALKER, "/staff", [says("💬 心理咨询", "🎭 小林", absent=["健康屋", "王建国"])]),
        (DOC, "/staff", [says("🩺 健康屋", "王建国（100002）", absent=["心理咨询", "小林"])]),
    ]
    for step in clinic_steps:
        rows.append((QIAN, PressData(step.pack(), answer="只有服务工作人员可以查看预约名单"), []))
        rows.append((TALKER, PressData(step.pack(), answer="您不是健康屋的工作人员"), []))
    rows += [
        (QIAN, PressData(StaffMark(wang, False).pack(), answer="只有服务工作人员"), []),
        (TALKER, PressData(StaffMark(wang, False).pack(), answer="您没有权限进行此操作"), []),
        # The doctor cannot see (nor mark) counselling.
        (DOC, PressData(StaffStep("day", "talk", day).pack(), answer="您不是心理咨询的"), []),
        (DOC, PressData(StaffMark(talk, True).pack(), answer="您没有权限进行此操作"), []),
        # Of no known shape, or no such booking.
        (DOC, PressData("stf:burn:clinic:-:-", answer="此按钮已失效"), []),
        (DOC, PressData(StaffMark(99_999, True).pack(), answer="您没有权限进行此操作"), []),
    ]
    await bot.dialog.play(rows)
    assert _booking(db, wang).attended is None
    assert _booking(db, talk).attended is None
    with db.session() as session:
        closed = select(ServiceSlot).where(ServiceSlot.status == SlotStatus.CLOSED)
        assert session.exec(closed).all() == []
    forged = _audits(db, "forged.staff")
    assert len(forged) == 2 * len(clinic_steps) + 5
    assert {entry.target for entry in forged} >= {"service:clinic", f"booking:{wang}"}
    assert _audits(db, "booking.attendance") == []


# --- counselling's privacy -----------------------------------------------------------------------


async def test_counselling_is_seen_by_the_counsellor_alone_and_counted_for_organizers(
    bot: BotHarness,
) -> None:
    people = await _seed(bot)
    db = bot.database
    _staff(db, people["doc"], "clinic")
    _staff(db, people["talker"], "talk")
    today, tomorrow = _today(), _today() + timedelta(days=1)
    _book(db, TALK, people["wang"], _at(today, 0), alias="小林")
    _book(db, TALK, people["li"], _at(today, 1))
    _book(db, TALK, people["sun"], _at(tomorrow, 10), alias="阿丽")
    present = _book(db, CLINIC, people["zhang"], _at(today, 0))
    with db.session() as session:
        slot_id = _booking(db, present).slot_id
        booking_storage.mark_attendance(session, slot_id, _id(people["zhang"]), True)
    label, weekday = day_label(tomorrow)
    month = f"{today.year}年{today.month}月"
    await bot.dialog.play(
        [
            # The counsellor: the pseudonym, else the name alone; never a police ID.
            (
                TALKER,
                "/staff",
                [
                    says(
                        "💬 心理咨询",
                        "⏰ 00:00–01:00 · 1/1 人\n　1. 🎭 小林",
                        "⏰ 01:00–02:00 · 1/1 人\n　1. 李强",
                        absent=["王建国", "100002", "100003"],
                    )
                ],
            ),
            (TALKER, Press("00:00 · 1人"), [edits("🎭 小林", absent=["王建国"])]),
            (TALKER, Press("1. ✅ 到场", answer="已标记到场"), [edits("🎭 小林 ✅ 已到场")]),
            (TALKER, Press("↩️ 返回当天"), [edits("💬 心理咨询")]),
            (TALKER, Press("后一天 ▶"), [edits("🎭 阿丽", absent=["孙丽", "100005"])]),
            (TALKER, Press("10:00 · 1人"), [edits("🎭 阿丽")]),
            (TALKER, Press("🚫 关闭此时段"), [edits("1 位同事会收到通知")]),
            (TALKER, Press("✅ 确定关闭"), [edits("已通知 1 位同事")]),
            # The notice never names counselling (a lock screen shows it).
            (
                SUN,
                None,
                [
                    says(
                        f"很抱歉，您预约的服务 {label} {weekday} 10:00–11:00 因故关闭",
                        absent=["心理咨询", "咨询"],
                    )
                ],
            ),
            # Organizers and admins: figures; of counselling only the counts, never a name.
            (
                ORG,
                "/bookings",
                [
                    says(
                        "📊 预约统计",
                        f"🩺 健康屋\n　{month}：预约 1 人次，到场 1，未到 0",
                        f"💬 心理咨询\n　{month}：预约 2 人次\n",
                        "只统计人次",
                        absent=["王建国", "李强", "孙丽", "小林", "阿丽", "100002", "100003"],
                    )
                ],
            ),
            (ADMIN, "/bookings", [says("💬 心理咨询", absent=["小林", "王建国"])]),
            (ORG, "/staff", [says("只有服务工作人员可以查看预约名单")]),
            (WANG, "/bookings", [says("您没有权限进行此操作")]),
            (DOC, "/staff", [says("🩺 健康屋", absent=["心理咨询", "小林", "王建国"])]),
        ]
    )
    # The audit log keeps that counselling changed, never whose.
    counselling = [e for e in _audits(db) if '"service": "talk"' in e.detail]
    assert {e.action for e in counselling} == {"booking.attendance", "booking.slot_closed"}
    for entry in counselling:
        assert entry.target == ""
        for secret in ("100002", "100005", "王建国", "孙丽", "小林", "阿丽"):
            assert secret not in entry.detail
    with db.session() as session:
        [told] = [b for b in session.exec(select(Broadcast)).all() if "因故关闭" in b.text]
    assert told.created_by == "system:counselling"
