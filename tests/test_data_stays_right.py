"""Data that stays right (issue 17, item 6): what a case card says was paid, a phone changed in
chat that a roster import keeps, a stranger approved with unit and gender, the organizers' other
copies of a request, and an officer's confirmed death that stops every message."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import inspect, update
from sqlmodel import col, select

from bot.app import sender_of
from bot.roster import import_roster
from storage import audit, broadcasts, care, deaths, events, greetings, officers
from storage.broadcasts import Recipient
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    BindingRequestCopy,
    BroadcastKind,
    CaseStatus,
    Delivery,
    Priority,
    Role,
    SignupState,
)
from storage.roster import KeptPhone
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Contact, Person, Press, PressData, Row, edits, says

ORG = Person(7_600_000_001, "赵干事")
ORG2 = Person(7_600_000_002, "钱干事")
WANG = Person(7_600_000_003, "王警官")
LI = Person(7_600_000_004, "李警官")
ZHOU = Person(7_600_000_005, "周警官")
STRANGER = Person(7_600_000_006, "孙新人")

CIPHER = FieldCipher(TEST_SECRET_KEY)
SHANGHAI = ZoneInfo("Asia/Shanghai")
REASON = "家属婉拒部分慰问金"
WANG_PHONE = "+8613800000003"


def _seed(bot: BotHarness) -> dict[str, int]:
    """赵 organizes, 钱 is an admin; 王 (天元, M), 李 (荷塘) and 周 (天元, M) are bound officers."""
    ids: dict[str, int] = {}
    for key, police_id, name, person, unit, held in (
        ("zhao", "200001", "赵敏", ORG, "天元分局", [Role.ORGANIZER]),
        ("qian", "200002", "钱进", ORG2, "天元分局", [Role.ADMIN]),
        ("wang", "100001", "王建国", WANG, "天元分局", []),
        ("li", "100002", "李强", LI, "荷塘分局", []),
        ("zhou", "100003", "周平", ZHOU, "天元分局", []),
    ):
        phone = WANG_PHONE if key == "wang" else f"+86138000001{len(ids):02d}"
        officer = add_officer(
            bot.database,
            police_id,
            name,
            phone,
            unit=unit,
            bound_to=person.id,
            roles=held,
            gender="M",
        )
        assert officer.id is not None
        ids[key] = officer.id
    return ids


def _case(database: Database, officer_id: int, *, event: str, reporter_id: int) -> int:
    with database.session() as session:
        case = care.create(
            session,
            care.NewCase(
                officer_id=officer_id,
                reporter_id=reporter_id,
                event=event,
                event_date=date(2026, 11, 20),
                policy_amount=2000 if event == "officer_death" else 1000,
            ),
            CIPHER,
        )
        assert case.id is not None
        return case.id


def _today() -> str:
    return datetime.now(SHANGHAI).date().isoformat()


# --- 1. a case card shows what was paid, by whom and when ---------------------------------------


async def test_paying_800_of_1000_shows_the_sum_reason_who_and_when(bot: BotHarness) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, ORG2, WANG, LI, ZHOU)
    case_id = _case(bot.database, ids["wang"], event="hospitalization", reporter_id=ids["wang"])
    today = _today()
    rows: list[Row] = [
        (ORG, f"/cases #{case_id}", [says("慰问金标准：1000 元", "状态：已上报", absent=["实发"])]),
        (ORG, Press("已探望"), [edits("状态：已探望", f"探望：赵敏（200001），{today}")]),
        (WANG, None, [says("工会已登记对您的探望")]),
        (ORG, Press("已发放"), [says("政策标准：1000 元")]),
        (ORG, "８００元", [says("与政策标准 1000 元不同", "请简要说明原因")]),
        (
            ORG,
            REASON,
            [
                says(f"已登记 #{case_id} 发放慰问金 800 元"),
                edits(
                    "状态：已发放",
                    f"实发：800 元（标准 1000 元）· 赵敏（200001），{today}",
                    f"发放说明：{REASON}",
                ),
            ],
        ),
        (WANG, None, [says("您的慰问金已发放", "800 元")]),
        # Another organizer reads the case later: everything on the card.
        (
            ORG2,
            f"/cases #{case_id}",
            [
                says(
                    "慰问金标准：1000 元",
                    "状态：已发放",
                    f"探望：赵敏（200001），{today}",
                    f"实发：800 元（标准 1000 元）· 赵敏（200001），{today}",
                    f"发放说明：{REASON}",
                )
            ],
        ),
        # The officer sees the sum and the day, not the organizers' names nor the reason.
        (
            WANG,
            "/myreports",
            [
                says(
                    f"#{case_id} 住院",
                    "已发放，800 元",
                    f"（{today} 发放）",
                    absent=["赵敏", REASON],
                )
            ],
        ),
    ]
    await bot.dialog.play(rows)
    # The step's time is the stored UTC moment, shown on Shanghai's clock.
    with bot.database.session() as session:
        case = care.get(session, case_id)
        assert case is not None and case.paid_at is not None
        shown = case.paid_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    history = await bot.client.history(ORG2.as_user())
    assert shown in history[-1].text


async def test_a_declined_case_card_says_who_declined_and_why(bot: BotHarness) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, WANG)
    case_id = _case(bot.database, ids["wang"], event="hospitalization", reporter_id=ids["wang"])
    await bot.dialog.play(
        [
            (ORG, f"/cases #{case_id}", [says("状态：已上报")]),
            (ORG, Press("不予受理"), [says("请输入不予受理的原因")]),
            (ORG, "门诊治疗，未住院", [says("已登记"), edits("状态：不予受理")]),
            (WANG, None, [says("不予受理", "门诊治疗，未住院")]),
            (
                ORG,
                f"/cases #{case_id}",
                [says(f"不予受理：赵敏（200001），{_today()}", "不予受理原因：门诊治疗，未住院")],
            ),
        ]
    )


# --- 2. a roster re-import keeps a phone changed in chat ---------------------------------------


def _roster_file(path: Path, wang_phone: str) -> Path:
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["police_id", "name", "unit", "phone", "birthday", "gender", "blood_type"])
        writer.writerow(["100001", "王建国", "天元分局", wang_phone, "1985-03-12", "男", "A"])
        writer.writerow(["100002", "李强", "荷塘分局", "13800000199", "1990-01-01", "男", "O"])
    return path


async def test_a_reimport_keeps_the_phone_changed_in_chat(bot: BotHarness, tmp_path: Path) -> None:
    _seed(bot)
    await bot.meet(WANG)
    await bot.dialog.play(
        [
            (WANG, "/me", [says("138****0003")]),
            (WANG, Press("📱 更换手机号"), [says("请点下方按钮分享", contact_button=True)]),
            (
                WANG,
                Contact("+8613700000000"),
                [says("手机号已更新为 137****0000"), says("我的资料")],
            ),
        ]
    )
    with bot.database.session() as session:
        wang = officers.by_police_id(session, "100001")
        assert wang is not None and wang.phone_changed_at is not None

    # HR's file still has the old phone: the officer's own word stands, and the operator sees it.
    report = import_roster(
        bot.database, _roster_file(tmp_path / "a.csv", "13800000003"), actor="cli"
    )
    assert report.kept_phones == [KeptPhone("100001", "王建国", "+8613800000003", "+8613700000000")]
    lines = "\n".join(report.lines())
    assert "100001 王建国: file +8613800000003, kept +8613700000000" in lines
    with bot.database.session() as session:
        wang = officers.by_police_id(session, "100001")
        assert wang is not None and wang.phone == "+8613700000000"
        assert wang.birthday == date(1985, 3, 12)  # the rest of the row is applied
        (entry,) = audit.recent(session, action="roster.import")
        assert json.loads(entry.detail)["kept_phones"] == 1
        assert "13700000000" not in entry.detail and "13800000003" not in entry.detail

    # The file caught up: the mark clears, nothing is listed.
    report = import_roster(
        bot.database, _roster_file(tmp_path / "b.csv", "13700000000"), actor="cli"
    )
    assert report.kept_phones == []
    with bot.database.session() as session:
        wang = officers.by_police_id(session, "100001")
        assert wang is not None and wang.phone == "+8613700000000"
        assert wang.phone_changed_at is None

    # From then on the roster leads again.
    report = import_roster(
        bot.database, _roster_file(tmp_path / "c.csv", "13800000003"), actor="cli"
    )
    assert report.kept_phones == []
    with bot.database.session() as session:
        wang = officers.by_police_id(session, "100001")
        assert wang is not None and wang.phone == "+8613800000003"


# --- 3. approving a stranger asks for unit and gender; the other copies close ------------------


async def test_approving_a_stranger_asks_unit_and_gender_and_closes_other_copies(
    bot: BotHarness,
) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, ORG2, STRANGER)
    rows: list[Row] = [
        (STRANGER, "/start", [says("欢迎使用暖警")]),
        (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有")]),
        (STRANGER, "300009", [says("请输入您的姓名")]),
        (STRANGER, "孙新人", [says("申请已提交")]),
        (ORG, None, [says("绑定申请", "孙新人", buttons=["✅ 批准", "❌ 拒绝"])]),
        (ORG2, None, [says("绑定申请", "孙新人", buttons=["✅ 批准", "❌ 拒绝"])]),
        (
            ORG,
            Press("✅ 批准"),
            [edits("请选择所在单位", "孙新人（300009）", buttons=["天元分局", "下一页 ▶"])],
        ),
        (ORG, Press("下一页 ▶"), [edits("第 2/2 页", buttons=["荷塘分局", "◀ 上一页"])]),
        # Typed instead of a button: the unit as written.
        (ORG, "  荷塘分局  ", [says("单位：荷塘分局", "请选择性别", buttons=["男", "女"])]),
        (ORG, "女", [says("请点上方「男」或「女」")]),
        (
            ORG,
            Press("女"),
            [
                edits("已批准（赵敏）", "单位：荷塘分局；性别：女"),
                # 赵's own first copy (now the unit step) is closed too.
                edits("绑定申请", "已批准（赵敏）", absent=["请选择"]),
            ],
        ),
        (STRANGER, None, [says("申请已通过", "孙新人"), says("请选择")]),
        # 钱's copy: who decided, and no buttons left.
        (ORG2, None, [edits("绑定申请", "孙新人", "已批准（赵敏）")]),
    ]
    await bot.dialog.play(rows)
    history = await bot.client.history(ORG2.as_user())
    card = await bot.client.message(ORG2.as_user(), history[0].message_id)
    assert not card.get("reply_markup", {}).get("inline_keyboard")
    # A press on a stale copy (forged or an old client) is answered as decided.
    await bot.dialog.play(
        [
            (
                ORG2,
                PressData("bindreq:1:1", answer="这条申请已处理", message_id=history[0].message_id),
                [],
            )
        ]
    )
    with bot.database.session() as session:
        officer = officers.by_police_id(session, "300009")
        assert officer is not None and officer.id is not None
        assert (officer.unit, officer.gender) == ("荷塘分局", "F")
        copies = session.exec(select(BindingRequestCopy)).all()
        assert len(copies) == 2 and all(copy.message_id for copy in copies)
        # Now in their unit's announcements and women-only events.
        unit = {r.officer_id for r in broadcasts.audience(session, unit="荷塘分局")}
        women = events.audience_recipients(session, kind="class", audience="women", value="")
        assert officer.id in unit and officer.id in {r.officer_id for r in women}
    assert ids["li"] in unit


async def test_rejecting_closes_the_other_copies(bot: BotHarness) -> None:
    _seed(bot)
    await bot.meet(ORG, ORG2, STRANGER)
    await bot.dialog.play(
        [
            (STRANGER, "/start", [says("欢迎使用暖警")]),
            (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有")]),
            (STRANGER, "300009", [says("请输入您的姓名")]),
            (STRANGER, "孙新人", [says("申请已提交")]),
            (ORG, None, [says("绑定申请")]),
            (ORG2, None, [says("绑定申请")]),
            # Settled: the cards' message ids are recorded (bot/inbox.py, after they went out).
            (ORG, None, []),
            (ORG2, Press("❌ 拒绝"), [edits("已拒绝（钱进）")]),
            (ORG, None, [edits("绑定申请", "已拒绝（钱进）")]),
            (STRANGER, None, [says("未通过")]),
        ]
    )


# --- 4. a confirmed death stops every message ----------------------------------------------------


def _event(database: Database) -> int:
    start = datetime.now(UTC) + timedelta(days=10)
    with database.session() as session:
        event = events.create(
            session,
            kind="class",
            title="插花课",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place="工会活动室",
            capacity=1,
            signup_deadline=start - timedelta(days=1),
            audience="everyone",
            audience_value="",
            waitlist=True,
            created_by="officer:200001",
        )
        assert event.id is not None
        return event.id


def _queue_later(database: Database, recipients: list[Recipient]) -> int:
    """A broadcast whose deliveries are still waiting (due in an hour)."""
    with database.session() as session:
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text="工会通知",
            recipients=recipients,
            created_by="test",
        )
        session.execute(
            update(Delivery)
            .where(col(Delivery.broadcast_id) == broadcast.id)
            .values(next_attempt_at=datetime.now(UTC) + timedelta(hours=1))
        )
        assert broadcast.id is not None
        return broadcast.id


def _deliveries(database: Database, broadcast_id: int) -> dict[int, tuple[str, str]]:
    with database.session() as session:
        rows = session.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).all()
        return {row.officer_id: (str(row.state), row.error) for row in rows}


async def test_a_confirmed_death_stops_every_message(bot: BotHarness) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, WANG, LI, ZHOU)
    event_id = _event(bot.database)
    now = datetime.now(UTC)
    with bot.database.session() as session:
        assert (
            events.sign_up(session, event_id, ids["wang"], "M", now=now).outcome.value == "signed"
        )
    with bot.database.session() as session:
        assert (
            events.sign_up(session, event_id, ids["zhou"], "M", now=now).outcome.value
            == "waitlisted"
        )
    waiting = _queue_later(bot.database, [Recipient(ids["wang"], WANG.id)])
    case_id = _case(bot.database, ids["wang"], event="officer_death", reporter_id=ids["li"])

    # Reported, not yet confirmed: nothing changes.
    with bot.database.session() as session:
        wang = officers.by_id(session, ids["wang"])
        assert wang is not None and wang.active and wang.deceased_at is None
        assert ids["wang"] in {r.officer_id for r in broadcasts.audience(session)}

    rows: list[Row] = [
        (ORG, f"/cases #{case_id}", [says("民警去世", "王建国", "状态：已上报")]),
        (
            ORG,
            Press("已探望"),
            [
                edits("状态：已探望"),
                says(
                    "已登记王建国同志离世",
                    "不再向其账号发送任何消息",
                    "撤下待发消息 1 条",
                    "让出报名名额 1 个",
                ),
            ],
        ),
        (LI, None, [says("您为王建国申报的", "工会已登记探望")]),
        (ZHOU, None, [says("插花课")]),
        (WANG, None, []),
        # The account is no member any more.
        (WANG, "/me", [says("请先发送 /start")]),
    ]
    await bot.dialog.play(rows)

    with bot.database.session() as session:
        wang = officers.by_id(session, ids["wang"])
        assert wang is not None and not wang.active and wang.deceased_at is not None
        assert officers.binding_of(session, ids["wang"]) is None
        audience = {r.officer_id for r in broadcasts.audience(session, unit="天元分局")}
        assert ids["wang"] not in audience and ids["zhou"] in audience
        greeted = greetings.festival_recipients(session, "guoqing", date(2026, 10, 1))
        assert ids["wang"] not in {g.officer_id for g in greeted}
        counts = events.counts(session, event_id)
        assert counts.signed == 1 and counts.waitlisted == 0
        event = events.get(session, event_id)
        assert event is not None
        assert events.view(session, event, ids["zhou"]).mine == SignupState.SIGNED
        (entry,) = audit.recent(session, action="officer.deceased")
        assert entry.target == "100001"
    assert _deliveries(bot.database, waiting)[ids["wang"]] == ("cancelled", "deceased")

    # Safety net: a delivery written for the account anyway is never sent.
    stray = _queue_later(bot.database, [Recipient(ids["wang"], WANG.id)])
    with bot.database.session() as session:
        session.execute(
            update(Delivery)
            .where(col(Delivery.broadcast_id) == stray)
            .values(next_attempt_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    sender_of(bot.application).wake()
    await bot.dialog.play([(WANG, None, [])])
    assert _deliveries(bot.database, stray)[ids["wang"]] == ("cancelled", "deceased")

    # Paying afterwards confirms nothing new: no second line.
    await bot.dialog.play(
        [
            (ORG, Press("已发放"), [says("政策标准：2000 元")]),
            (
                ORG,
                Press("✅ 按 2000 元发放"),
                [edits("发放慰问金 2000 元", absent=["离世"]), edits("状态：已发放")],
            ),
            (LI, None, [says("慰问金 2000 元已发放")]),
        ]
    )


async def test_an_unconfirmed_or_declined_death_changes_nothing(bot: BotHarness) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, WANG, LI)
    event_id = _event(bot.database)
    with bot.database.session() as session:
        events.sign_up(session, event_id, ids["wang"], "M", now=datetime.now(UTC))
    case_id = _case(bot.database, ids["wang"], event="officer_death", reporter_id=ids["li"])
    await bot.dialog.play(
        [
            (ORG, f"/cases #{case_id}", [says("状态：已上报")]),
            (ORG, Press("不予受理"), [says("请输入不予受理的原因")]),
            (ORG, "误报，本人安好", [says("已登记", absent=["离世"]), edits("状态：不予受理")]),
            (LI, None, [says("不予受理")]),
            (WANG, "/me", [says("我的资料", "王建国")]),
        ]
    )
    with bot.database.session() as session:
        wang = officers.by_id(session, ids["wang"])
        assert wang is not None and wang.active and wang.deceased_at is None
        assert officers.binding_of(session, ids["wang"]) is not None
        assert events.counts(session, event_id).signed == 1
        assert audit.recent(session, action="officer.deceased") == []


async def test_a_declined_confirmation_withdraws_the_death(bot: BotHarness) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, WANG, LI)
    case_id = _case(bot.database, ids["wang"], event="officer_death", reporter_id=ids["li"])
    await bot.dialog.play(
        [
            (ORG, f"/cases #{case_id}", [says("状态：已上报")]),
            (ORG, Press("已探望"), [edits("状态：已探望"), says("已登记王建国同志离世")]),
            (LI, None, [says("工会已登记探望")]),
        ]
    )
    with bot.database.session() as session:
        wang = officers.by_id(session, ids["wang"])
        assert wang is not None and not wang.active and wang.deceased_at is not None
    await bot.dialog.play(
        [
            (ORG, Press("不予受理"), [says("请输入不予受理的原因")]),
            (
                ORG,
                "误报，本人安好",
                [says("已登记", "已撤销王建国同志的离世登记"), edits("状态：不予受理")],
            ),
            (LI, None, [says("不予受理")]),
            (WANG, None, []),
        ]
    )
    with bot.database.session() as session:
        wang = officers.by_id(session, ids["wang"])
        assert wang is not None and wang.active and wang.deceased_at is None
        assert officers.binding_of(session, ids["wang"]) is None
        (entry,) = audit.recent(session, action="officer.death_withdrawn")
        assert entry.target == "100001"
    # Unbound still: they bind again as anyone does.
    await bot.dialog.play(
        [
            (WANG, "/start", [says("欢迎使用暖警")]),
            (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
            (WANG, "100001", [says("绑定成功", "王建国"), says("请选择")]),
        ]
    )
    with bot.database.session() as session:
        assert officers.binding_of(session, ids["wang"]) is not None


def test_a_death_another_case_confirms_is_not_withdrawn(database: Database) -> None:
    wang = add_officer(database, "100001", "王建国", WANG_PHONE)
    li = add_officer(database, "100002", "李强", "+8613800000004")
    assert wang.id is not None and li.id is not None
    first = _case(database, wang.id, event="officer_death", reporter_id=li.id)
    second = _case(database, wang.id, event="officer_death", reporter_id=li.id)
    with database.session() as session:
        for case_id in (first, second):
            case = care.get(session, case_id)
            assert case is not None
            assert care.advance(session, case, CaseStatus.VISITED, actor="t", cipher=CIPHER)
        officer = officers.by_id(session, wang.id)
        assert officer is not None
        deaths.confirm(session, officer, actor="t", now=datetime.now(UTC), offers={})
    with database.session() as session:
        case = care.get(session, first)
        officer = officers.by_id(session, wang.id)
        assert case is not None and officer is not None
        assert care.advance(session, case, CaseStatus.DECLINED, actor="t", cipher=CIPHER)
        assert not deaths.withdraw(session, officer, actor="t")
        assert officer.deceased_at is not None and not officer.active
    with database.session() as session:
        case = care.get(session, second)
        officer = officers.by_id(session, wang.id)
        assert case is not None and officer is not None
        assert care.advance(session, case, CaseStatus.DECLINED, actor="t", cipher=CIPHER)
        assert deaths.withdraw(session, officer, actor="t")
    with database.session() as session:
        officer = officers.by_id(session, wang.id)
        assert officer is not None and officer.active and officer.deceased_at is None


async def test_an_officer_who_reported_their_own_death_is_not_told(bot: BotHarness) -> None:
    ids = _seed(bot)
    await bot.meet(ORG, WANG)
    case_id = _case(bot.database, ids["wang"], event="officer_death", reporter_id=ids["wang"])
    await bot.dialog.play(
        [
            (ORG, f"/cases #{case_id}", [says("状态：已上报")]),
            (ORG, Press("已探望"), [edits("状态：已探望"), says("已登记王建国同志离世")]),
            (WANG, None, []),
        ]
    )


def test_a_roster_import_leaves_a_deceased_officer_inactive(
    database: Database, tmp_path: Path
) -> None:
    add_officer(database, "100001", "王建国", WANG_PHONE)
    with database.session() as session:
        wang = officers.by_police_id(session, "100001")
        assert wang is not None
        officers.update_profile(session, wang, active=False, deceased_at=datetime.now(UTC))
    report = import_roster(database, _roster_file(tmp_path / "a.csv", "13800000003"), actor="cli")
    assert (
        report.deceased == 1 and "1 deceased officer in the file left inactive." in report.lines()
    )
    with database.session() as session:
        wang = officers.by_police_id(session, "100001")
        assert wang is not None and not wang.active


def test_migration_0012_makes_the_columns_and_the_copies_table(database: Database) -> None:
    with database.session() as session:
        inspector = inspect(session.connection())
        columns = {column["name"] for column in inspector.get_columns("officer")}
        assert {"phone_changed_at", "deceased_at"} <= columns
        copies = {column["name"] for column in inspector.get_columns("binding_request_copy")}
        assert copies == {"id", "request_id", "chat_id", "message_id"}
