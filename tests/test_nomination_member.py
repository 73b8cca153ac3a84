"""Nominations as unit contacts and officers see them (issue 12), end to end through the sandbox:
/retreats and /honours, a contact nominating within the quota (and every refusal: over the
quota, another unit's officer by a forged press, an ineligible officer shown greyed with the
reason, twice, after the window), applications and a reproducible lottery told to the
applicants, a nominee confirming with a batch or declining (the place returns), where a
nomination stands at each step, the publicity list open to all with a private objection, the
honours wall and /me; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.policy import load_policy
from bot.rules.nominations import NominationStatus, lottery_order
from handlers.callbacks import NominationPick, NominationUnit
from handlers.roles import unit_key
from storage import audit
from storage import nominations as store
from storage import roles as role_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    AuditEntry,
    Nomination,
    NominationObjection,
    NominationRound,
    Officer,
    Programme,
    Role,
)
from storage.nominations import BatchSpec, Refusal, Refused
from storage.types import utcnow
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
TERMS = load_policy(None).nominations.terms()
CIPHER = FieldCipher(TEST_SECRET_KEY)
S = NominationStatus
T = TypeVar("T")

CONTACT = Person(7_980_000_001, "周联络")
WANG = Person(7_980_000_002, "王警官")
LI = Person(7_980_000_003, "李警官")
ZHAO = Person(7_980_000_004, "赵警官")
LAO = Person(7_980_000_005, "老刘")
TRAFFIC = Person(7_980_000_006, "交警孙")
ORG = Person(7_980_000_009, "钱干事")


def ok(value: T | Refused) -> T:
    """The step's result, failing the test with its refusal if it was refused."""
    assert not isinstance(value, Refused), value
    return value


def _day(day: date) -> str:
    return f"{day.month}月{day.day}日"


class Roster:
    """天元分局: a contact (周敏) and four officers; 交警支队: one officer; an organizer."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.contact = add_officer(db, "100001", "周敏", "+8613800000001", bound_to=CONTACT.id)
        self.wang = add_officer(db, "100002", "王建国", "+8613800000002", bound_to=WANG.id)
        self.li = add_officer(db, "100003", "李四", "+8613800000003", bound_to=LI.id)
        self.zhao = add_officer(db, "100004", "赵六", "+8613800000004", bound_to=ZHAO.id)
        self.lao = add_officer(db, "100005", "刘老", "+8613800000005", bound_to=LAO.id)
        self.traffic = add_officer(
            db, "100006", "孙交", "+8613800000006", bound_to=TRAFFIC.id, unit="交警支队"
        )
        self.org = add_officer(
            db, "900001", "钱干事", "+8613800009001", bound_to=ORG.id, roles=[Role.ORGANIZER]
        )
        with db.session() as session:
            outcome, _ = role_storage.change_unit_contact(
                session, "100001", "天元分局", grant_it=True, actor="test"
            )
        assert outcome is role_storage.UnitContactChange.DONE

    def id(self, officer: Officer) -> int:
        assert officer.id is not None
        return officer.id


def _open_retreat(
    db: Database,
    *,
    name: str = "2027年疗休养第一期",
    quota: int = 2,
    now: datetime | None = None,
    closes_in: timedelta = timedelta(days=7),
    first_batch: date | None = None,
) -> NominationRound:
    now = now or utcnow()
    first = first_batch or (now + timedelta(days=60)).date()
    with db.session() as session:
        return ok(
            store.open_round(
                session,
                programme=Programme.RETREAT,
                name=name,
                places=quota + 1,
                quotas={"天元分局": quota, "交警支队": 1},
                opens_at=now - timedelta(hours=1),
                closes_at=now + closes_in,
                terms=TERMS,
                actor="test",
                now=now,
                batches=(
                    BatchSpec(first, first + timedelta(days=4), "张家界", 2, "市局大院 07:30"),
                    BatchSpec(first + timedelta(days=30), first + timedelta(days=34), "韶山", 2),
                ),
                daily_allowance=400,
            )
        )


def _open_honour(
    db: Database,
    *,
    name: str = "2026年度五一劳动奖章推荐",
    now: datetime | None = None,
    closes_in: timedelta = timedelta(days=7),
) -> NominationRound:
    now = now or utcnow()
    with db.session() as session:
        return ok(
            store.open_round(
                session,
                programme=Programme.HONOUR,
                title="city-may-day",
                name=name,
                places=2,
                quotas={"天元分局": 1, "交警支队": 1},
                opens_at=now - timedelta(hours=1),
                closes_at=now + closes_in,
                terms=TERMS,
                actor="test",
                now=now,
            )
        )


def _past_retreat(db: Database, roster: Roster, officer: Officer, *, days_ago: int) -> None:
    """A retreat round run to its final list long ago, with `officer` on its first batch."""
    then = utcnow() - timedelta(days=days_ago)
    round_ = _open_retreat(
        db, name="往年疗休养", now=then, first_batch=(then + timedelta(days=30)).date()
    )
    assert round_.id is not None
    with db.session() as session:
        batch = store.batches_of(session, round_.id)[0]
        nomination = ok(
            store.nominate(
                session,
                round_.id,
                roster.id(officer),
                contact_id=roster.id(roster.contact),
                actor="test",
                terms=TERMS,
                cipher=CIPHER,
                now=then + timedelta(hours=1),
                zone=SHANGHAI,
            )
        )
        assert nomination.id is not None
        ok(store.confirm(session, nomination.id, roster.id(officer), now=then, batch_id=batch.id))
        ok(store.approve(session, nomination.id, actor="test", now=then + timedelta(hours=2)))
        ok(
            store.publish(
                session, round_.id, terms=TERMS, actor="test", now=then + timedelta(hours=3)
            )
        )
        ok(
            store.finalize(
                session, round_.id, actor="test", now=then + timedelta(days=6), zone=SHANGHAI
            )
        )


def _nomination(db: Database, round_id: int, officer: Officer) -> Nomination:
    with db.session() as session:
        row = session.exec(
            select(Nomination).where(
                Nomination.round_id == round_id, Nomination.officer_id == officer.id
            )
        ).one()
    return row


def _close_window(db: Database, round_id: int) -> None:
    """Applications and nominations closed a minute ago; the round itself still open."""
    with db.session() as session:
        round_ = session.get(NominationRound, round_id)
        assert round_ is not None
        round_.closes_at = utcnow() - timedelta(minutes=1)
        session.add(round_)


def _audits(db: Database, action: str) -> list[AuditEntry]:
    with db.session() as session:
        return list(audit.recent(session, action=action, limit=100))


async def _buttons(bot: BotHarness, person: Person) -> list[str]:
    """The buttons of the newest message in the person's chat, as it stands now."""
    history = await bot.client.history(person.as_user())
    return history[-1].button_texts()


async def test_a_contact_nominates_within_the_quota_and_each_refusal_is_one_sentence(
    bot: BotHarness,
) -> None:
    """The unit's quota and candidates (the ineligible greyed with the reason, no button); a
    nomination confirmed and told to the nominee, who picks a batch; twice, over the quota,
    another unit's officer (forged) and after the window each refused in one sentence."""
    db = bot.database
    roster = Roster(db)
    _past_retreat(db, roster, roster.lao, days_ago=400)
    round_ = _open_retreat(db)
    assert round_.id is not None
    with db.session() as session:
        batch = store.batches_of(session, round_.id)[0]
    first, last = _day(batch.starts_on), _day(batch.ends_on)
    await bot.meet(CONTACT, WANG, LI, ZHAO, LAO, TRAFFIC)
    name = "2027年疗休养第一期"
    rows: list[Row] = [
        (
            CONTACT,
            "/retreats",
            [
                says(
                    "🏖 疗休养",
                    name,
                    "天元分局名额：2 个",
                    f"{first}—{last} 张家界（5天，余2个名额）",
                    buttons=[f"👥 天元分局推荐：{name}", f"✋ 报名：{name}"],
                )
            ],
        ),
        (
            CONTACT,
            Press(f"👥 天元分局推荐：{name}"),
            [
                edits(
                    "名额 2 个，已用 0 个，还可推荐 2 个",
                    "还没有推荐或报名",
                    buttons=["➕ 推荐人选"],
                )
            ],
        ),
        (
            CONTACT,
            Press("➕ 推荐人选"),
            [
                edits(
                    "请点选要推荐的同志（天元分局，第1/1页）",
                    "🚫 刘老（100005）：3年内已参加疗休养",
                    "✅ 王建国（100002）",
                    buttons=["✅ 王建国（100002）", "✅ 李四（100003）", "« 本单位名单"],
                )
            ],
        ),
    ]
    await bot.dialog.play(rows)
    assert "✅ 刘老（100005）" not in await _buttons(bot, CONTACT)
    rows = [
        # The ineligible officer by a forged press: refused with the reason, nothing asked.
        (
            CONTACT,
            PressData(
                NominationPick(round_.id, roster.id(roster.lao)).pack(),
                answer="规定年限内已参加过疗休养",
            ),
            [],
        ),
        (
            CONTACT,
            Press("✅ 王建国（100002）"),
            [says(f"确认推荐王建国（100002）参加「{name}」？", buttons=["✅ 确认推荐", "取消"])],
        ),
        (CONTACT, Press("✅ 确认推荐"), [edits("✅ 已推荐王建国（100002）", "已私信请本人确认")]),
        (
            WANG,
            None,
            [
                says(
                    f"天元分局推荐您参加「{name}」（疗休养）",
                    "请选择您方便的批次",
                    buttons=[f"{first}—{last} 张家界（余2）", "放弃名额"],
                )
            ],
        ),
        # Twice: refused at the tap.
        (CONTACT, Press("✅ 王建国（100002）", answer="不能重复推荐"), []),
        (CONTACT, Press("✅ 李四（100003）"), [says("确认推荐李四（100003）")]),
        # Typed words at a step that wants a tap: a reminder, the step stays.
        (CONTACT, "好的", [says("请点上面消息下方的按钮继续")]),
        (CONTACT, Press("✅ 确认推荐"), [edits("✅ 已推荐李四（100003）")]),
        (LI, None, [says("天元分局推荐您参加")]),
        # Over the quota.
        (CONTACT, Press("✅ 赵六（100004）", answer="本单位名额已满"), []),
        # Another unit's officer, or another unit's view: forged, refused and audited.
        (
            CONTACT,
            PressData(
                NominationPick(round_.id, roster.id(roster.traffic)).pack(),
                answer="您只能为自己负责的单位推荐",
            ),
            [],
        ),
        (
            CONTACT,
            PressData(
                NominationUnit("unit", round_.id, unit_key("交警支队")).pack(),
                answer="您只能为自己负责的单位推荐",
            ),
            [],
        ),
        # An officer who is no contact at all.
        (ZHAO, "/retreats", [says(name)]),
        (
            ZHAO,
            PressData(
                NominationUnit("unit", round_.id, unit_key("天元分局")).pack(),
                answer="只有基层工会联络员可以进行推荐",
            ),
            [],
        ),
        # The nominee picks a batch.
        (
            WANG,
            Press(f"{first}—{last} 张家界（余2）"),
            [edits(f"✅ 已确认参加「{name}」", "张家界")],
        ),
    ]
    await bot.dialog.play(rows)
    assert _nomination(db, round_.id, roster.wang).status == S.CONFIRMED
    assert _nomination(db, round_.id, roster.wang).batch_id == batch.id
    assert _nomination(db, round_.id, roster.li).status == S.NOMINATED
    with db.session() as session:
        assert store.unit_view(session, round_.id, "天元分局").held == 2  # type: ignore[union-attr]
        nominated_by_traffic = session.exec(
            select(Nomination).where(Nomination.officer_id == roster.traffic.id)
        ).all()
    assert nominated_by_traffic == []
    assert len(_audits(db, "forged.unit_contact")) == 3
    # After the window: the round is still open, but nominating is over.
    _close_window(db, round_.id)
    await bot.dialog.play(
        [
            (CONTACT, Press("✅ 赵六（100004）", answer="推荐已经截止"), []),
            (CONTACT, "/retreats", [says(name)]),
            (CONTACT, Press(f"👥 天元分局推荐：{name}"), [edits("还可推荐 0 个")]),
        ]
    )
    assert "➕ 推荐人选" not in await _buttons(bot, CONTACT)


async def test_honours_ask_for_a_reason_and_keep_exclusions_private(bot: BotHarness) -> None:
    """An honour's nomination takes a typed reason (over the limit refused in one sentence);
    an excluded officer shows only 暂不参评, never the flag's reason; the nominee accepts."""
    db = bot.database
    roster = Roster(db)
    round_ = _open_honour(db)
    assert round_.id is not None
    with db.session() as session:
        ok(
            store.set_exclusion(
                session,
                roster.id(roster.zhao),
                "city-may-day",
                "家庭原因暂缓，保密",
                cipher=CIPHER,
                actor="test",
                now=utcnow(),
            )
        )
    await bot.meet(CONTACT, WANG, ZHAO)
    name = "2026年度五一劳动奖章推荐"
    reason = "多年坚守一线，破获多起案件。"
    rows: list[Row] = [
        (
            CONTACT,
            "/honours",
            [says("🏅 评先评优", name, "荣誉：株洲市五一劳动奖章", buttons=["🏆 荣誉榜"])],
        ),
        (CONTACT, Press(f"👥 天元分局推荐：{name}"), [edits("名额 1 个")]),
        (
            CONTACT,
            Press("➕ 推荐人选"),
            [edits("🚫 赵六（100004）：暂不参评此项荣誉", absent=["家庭原因"])],
        ),
        (
            CONTACT,
            Press("✅ 王建国（100002）"),
            [says("请写推荐王建国（100002）参评", "500字以内", buttons=["取消"])],
        ),
        (CONTACT, "很" * 501, [says("理由不能超过500字。")]),
        (
            CONTACT,
            reason,
            [says("确认推荐王建国（100002）", f"推荐理由：{reason}", buttons=["✅ 确认推荐"])],
        ),
        (CONTACT, Press("✅ 确认推荐"), [edits("✅ 已推荐王建国（100002）")]),
        (
            WANG,
            None,
            [says("天元分局推荐您参加", "评先评优", buttons=["✅ 接受推荐", "放弃名额"])],
        ),
        (WANG, Press("✅ 接受推荐"), [edits(f"✅ 已确认参加「{name}」")]),
        (
            WANG,
            "/honours",
            [says("我的推荐与报名", f"• {name}：本人已确认，待审核", absent=["家庭原因"])],
        ),
        (ZHAO, "/honours", [says(name, absent=["家庭原因", "暂不参评"])]),
    ]
    await bot.dialog.play(rows)
    nomination = _nomination(db, round_.id, roster.wang)
    assert nomination.status == S.CONFIRMED
    assert reason not in nomination.reason_cipher and store.reason_of(nomination, CIPHER) == reason


async def test_applicants_are_drawn_by_a_lottery_they_can_recompute(bot: BotHarness) -> None:
    """Two apply for one place; after the window the contact draws: the seed and order are
    shown to the contact and told to each applicant; the winner confirms, then declines and
    the place goes back; the other applicant is chosen for it."""
    db = bot.database
    roster = Roster(db)
    round_ = _open_retreat(db, quota=1)
    assert round_.id is not None
    await bot.meet(CONTACT, WANG, LI, ZHAO)
    name = "2027年疗休养第一期"
    await bot.dialog.play(
        [
            (WANG, "/retreats", [says(name, buttons=[f"✋ 报名：{name}"])]),
            (WANG, Press(f"✋ 报名：{name}"), [edits(f"✋ 已报名「{name}」")]),
            (LI, "/retreats", [says(name)]),
            (LI, Press(f"✋ 报名：{name}"), [edits(f"✋ 已报名「{name}」")]),
            (ZHAO, "/retreats", [says(name)]),
            (ZHAO, Press(f"✋ 报名：{name}"), [edits("已报名")]),
            (
                ZHAO,
                "/retreats",
                [says("• 2027年疗休养第一期：已报名", buttons=[f"📝 我的：{name}"])],
            ),
            (ZHAO, Press(f"📝 我的：{name}"), [edits("当前状态：已报名", buttons=["撤回报名"])]),
            (ZHAO, Press("撤回报名"), [edits(f"已撤回「{name}」的报名")]),
            (WANG, "/retreats", [says("已报名")]),
            (
                CONTACT,
                "/retreats",
                [says(name, buttons=[f"👥 天元分局推荐：{name}"])],
            ),
            (
                CONTACT,
                Press(f"👥 天元分局推荐：{name}"),
                [
                    edits(
                        "王建国（100002）［本人报名］：已报名",
                        "李四（100003）［本人报名］：已报名",
                        "赵六（100004）［本人报名］：已撤回",
                        buttons=["选定 王建国", "选定 李四"],
                    )
                ],
            ),
        ]
    )
    # No draw while applications are open.
    assert not any(b.startswith("🎲") for b in await _buttons(bot, CONTACT))
    _close_window(db, round_.id)
    await bot.dialog.play(
        [
            (CONTACT, "/retreats", [says(name)]),
            (
                CONTACT,
                Press(f"👥 天元分局推荐：{name}"),
                [edits("名额 1 个", buttons=["🎲 抽签（2人报名，1个名额）"])],
            ),
            (
                CONTACT,
                Press("🎲 抽签（2人报名，1个名额）"),
                [edits("2人报名，1个名额", "抽签结果不可更改", buttons=["🎲 确定抽签"])],
            ),
            (CONTACT, Press("🎲 确定抽签"), [edits("抽签结果", "种子：", "前1位入选")]),
        ]
    )
    with db.session() as session:
        seed = store.get_round(session, round_.id).lottery_seed  # type: ignore[union-attr]
    assert seed
    order = lottery_order(seed, ["100003", "100002"])
    assert order == lottery_order(seed, ["100002", "100003"])  # recomputable, in any order
    people = {"100002": (WANG, roster.wang, "王建国"), "100003": (LI, roster.li, "李四")}
    winner, loser = people[order[0]], people[order[1]]
    contact_text = (await bot.client.history(CONTACT.as_user()))[-1].text
    assert f"种子：{seed}" in contact_text
    assert f"1. {winner[2]}（{order[0]}）✅ 入选" in contact_text
    assert f"2. {loser[2]}（{order[1]}）未入选" in contact_text
    with db.session() as session:
        batch = store.batches_of(session, round_.id)[0]
    label = f"{_day(batch.starts_on)}—{_day(batch.ends_on)} 张家界（余2）"
    await bot.dialog.play(
        [
            (
                winner[0],
                None,
                [says("您在抽签中入选了", f"种子：{seed}", buttons=[label, "放弃名额"])],
            ),
            (loser[0], None, [says("这次抽签您未入选", "排在第2位", f"种子：{seed}")]),
            (winner[0], Press(label), [edits("✅ 已确认参加")]),
            # The winner declines after all: asked once more, then the place goes back.
            (winner[0], "/retreats", [says("本人已确认，待审核")]),
            (winner[0], Press(f"📝 我的：{name}"), [edits("当前状态：本人已确认，待审核")]),
            (winner[0], Press("放弃名额"), [edits("确定放弃", buttons=["确定放弃", "再想想"])]),
            (winner[0], Press("确定放弃"), [edits(f"已放弃「{name}」，名额已退回单位")]),
            (
                CONTACT,
                None,
                [says(f"{winner[2]}（{order[0]}）已放弃「{name}」，名额已退回天元分局")],
            ),
            (CONTACT, "/retreats", [says(name)]),
            (
                CONTACT,
                Press(f"👥 天元分局推荐：{name}"),
                [edits("已用 0 个", "未入选", buttons=[f"选定 {loser[2]}"])],
            ),
            (
                CONTACT,
                Press(f"选定 {loser[2]}"),
                [edits(f"✅ 已选定{loser[2]}", "已私信请本人确认")],
            ),
            (loser[0], None, [says("天元分局推荐您参加", buttons=[label, "放弃名额"])]),
        ]
    )
    assert _nomination(db, round_.id, winner[1]).status == S.DECLINED
    assert _nomination(db, round_.id, loser[1]).status == S.NOMINATED
    # A forged press on someone else's nomination: refused, audited, nothing changes.
    theirs = _nomination(db, round_.id, loser[1]).id
    await bot.dialog.play([(ZHAO, PressData(f"nans:sure:{theirs}:1", answer="这不是您的推荐"), [])])
    assert _nomination(db, round_.id, loser[1]).status == S.NOMINATED
    assert len(_audits(db, "forged.nomination")) == 1


async def test_officers_see_each_step_and_object_privately_during_the_publicity(
    bot: BotHarness,
) -> None:
    """The nominee's status at every step; the published list (names, units, title) open to
    everyone; an objection (over 1,000 characters refused) seen by organizers only, never by
    the nominee."""
    db = bot.database
    roster = Roster(db)
    round_ = _open_retreat(db)
    assert round_.id is not None
    name = "2027年疗休养第一期"
    with db.session() as session:
        batch = store.batches_of(session, round_.id)[0]
        nomination = ok(
            store.nominate(
                session,
                round_.id,
                roster.id(roster.wang),
                contact_id=roster.id(roster.contact),
                actor="test",
                terms=TERMS,
                cipher=CIPHER,
                now=utcnow(),
                zone=SHANGHAI,
            )
        )
    nid = nomination.id
    assert nid is not None
    await bot.meet(WANG, ZHAO, ORG, LI)
    mine = f"• {name}："
    await bot.dialog.play([(WANG, "/retreats", [says(mine + "已推荐，待本人确认")])])

    def step(action: str) -> None:
        with db.session() as session:
            if action == "confirm":
                ok(
                    store.confirm(
                        session, nid, roster.id(roster.wang), now=utcnow(), batch_id=batch.id
                    )
                )
            elif action == "approve":
                ok(store.approve(session, nid, actor="test", now=utcnow()))
            elif action == "publish":
                ok(store.publish(session, round_.id or 0, terms=TERMS, actor="test", now=utcnow()))

    for action, shown in (
        ("confirm", "本人已确认，待审核"),
        ("approve", "已审核通过，待公示"),
        ("publish", "公示中"),
    ):
        step(action)
        await bot.dialog.play([(WANG, "/retreats", [says(mine + shown)])])
    await bot.dialog.play(
        [
            (
                ZHAO,
                "/retreats",
                [says(name, "公示至", buttons=[f"📋 公示名单：{name}"])],
            ),
            (
                ZHAO,
                Press(f"📋 公示名单：{name}"),
                [
                    says(
                        f"📋「{name}」公示名单（疗休养）",
                        "1. 王建国　天元分局",
                        buttons=["提出异议"],
                    )
                ],
            ),
            (ZHAO, Press("提出异议"), [says("您对哪位同志有意见", buttons=["王建国（天元分局）"])]),
            (
                ZHAO,
                Press("王建国（天元分局）"),
                [edits("请写下您对王建国（天元分局）的意见", "1000字以内")],
            ),
            (ZHAO, "长" * 1001, [says("意见不能超过1000字。")]),
            (
                ZHAO,
                "他上月刚参加过单位组织的休养。",
                [says("确认提交吗", buttons=["提交", "取消"])],
            ),
            (ZHAO, Press("提交"), [edits("已收到您的意见", "您的身份只有工会干部知道")]),
            (ORG, None, [says(f"「{name}」公示收到一条新的异议")]),
            # The nominee: still 公示中, no word of the objection nor of who made it.
            (WANG, "/retreats", [says(mine + "公示中", absent=["异议", "赵六", "休养。"])]),
            (
                WANG,
                Press(f"📋 公示名单：{name}"),
                [says("王建国　天元分局", absent=["赵六", "异议："])],
            ),
            # Nobody else on the list: the nominee cannot object to themselves.
            (WANG, Press("提出异议", answer="名单上没有您可以提出异议的同志"), []),
        ]
    )
    with db.session() as session:
        [objection] = session.exec(select(NominationObjection)).all()
        assert objection.objector_id == roster.zhao.id
        assert "休养" not in objection.text_cipher  # sealed
        assert store.get_nomination(session, nid).status == S.OBJECTED  # type: ignore[union-attr]
    # Organizers keep it; the publicity ends; the list is final.
    with db.session() as session:
        ok(
            store.resolve(
                session, nid, keep=True, reason="已核实", cipher=CIPHER, actor="test", now=utcnow()
            )
        )
        ok(
            store.finalize(
                session,
                round_.id,
                actor="test",
                now=utcnow() + timedelta(days=TERMS.publicity_days, hours=1),
                zone=SHANGHAI,
            )
        )
    await bot.dialog.play(
        [
            (WANG, "/retreats", [says(mine + "已确定", "张家界")]),
            (WANG, "/me", [says("🏖 我的疗休养", f"{batch.starts_on.year}年张家界")]),
        ]
    )


async def test_honours_wall_by_year_and_me_lines(bot: BotHarness) -> None:
    """The honours wall (names, units, titles) with a button per year; /me lists the officer's
    own retreats and honours; the menu and the free words open both pages."""
    db = bot.database
    roster = Roster(db)
    _past_retreat(db, roster, roster.wang, days_ago=400)
    with db.session() as session:
        store.record_award(session, roster.id(roster.wang), "city-may-day", 2024, actor="test")
        store.record_award(session, roster.id(roster.li), "city-advanced", 2024, actor="test")
        store.record_award(session, roster.id(roster.traffic), "city-advanced", 2023, actor="test")
    await bot.meet(WANG, ZHAO)
    await bot.dialog.play(
        [
            (ZHAO, "评优", [says("🏅 评先评优", "目前没有正在进行的推荐", buttons=["🏆 荣誉榜"])]),
            (
                ZHAO,
                Press("🏆 荣誉榜"),
                [
                    edits(
                        "🏆 2024年荣誉榜",
                        "【株洲市先进工作者】\n  李四（天元分局）",
                        "【株洲市五一劳动奖章】\n  王建国（天元分局）",
                        absent=["孙交"],
                        buttons=["2023年", "« 返回"],
                    )
                ],
            ),
            (
                ZHAO,
                Press("2023年"),
                [edits("🏆 2023年荣誉榜", "孙交（交警支队）", buttons=["2024年"])],
            ),
            (ZHAO, Press("« 返回"), [edits("🏅 评先评优")]),
            (
                WANG,
                "/me",
                [
                    says(
                        "王建国",
                        "🏖 我的疗休养：",
                        "张家界",
                        "🏅 我的荣誉：2024年株洲市五一劳动奖章",
                        buttons=["资料有误？"],
                    )
                ],
            ),
            (ZHAO, "/me", [says("赵六", absent=["我的疗休养", "我的荣誉"])]),
            (ZHAO, "疗休养", [says("🏖 疗休养")]),
            (ZHAO, "/menu", [says("赵六", buttons=["🏖 疗休养", "🏅 评先评优"])]),
            (ZHAO, Press("🏖 疗休养"), [says("🏖 疗休养")]),
        ]
    )


async def test_organizers_see_their_panel_after_their_own_page(bot: BotHarness) -> None:
    """/retreats for an organizer: their officer's page, then the organizers' panel."""
    roster = Roster(bot.database)
    assert roster.org.id is not None
    _open_retreat(bot.database)
    await bot.meet(ORG)
    await bot.dialog.play([(ORG, "/retreats", [says("🏖 疗休养", "2027年疗休养第一期"), says()])])


def test_nomination_problem_tries_nominate_and_leaves_nothing(database: Database) -> None:
    """The contact's tap is checked by nominate's own rules, in a savepoint rolled back."""
    roster = Roster(database)
    round_ = _open_retreat(database, quota=1)
    assert round_.id is not None
    contact = roster.id(roster.contact)

    def problem(officer: Officer, who: int = contact) -> Refusal | None:
        with database.session() as session:
            found = store.nomination_problem(
                session,
                round_.id or 0,
                roster.id(officer),
                contact_id=who,
                terms=TERMS,
                cipher=CIPHER,
                now=utcnow(),
                zone=SHANGHAI,
            )
        return found.refusal if found is not None else None

    assert problem(roster.wang) is None
    assert problem(roster.traffic) is Refusal.OTHER_UNIT
    assert problem(roster.wang, roster.id(roster.li)) is Refusal.OTHER_UNIT
    with database.session() as session:
        assert session.exec(select(Nomination)).all() == []
        ok(
            store.nominate(
                session,
                round_.id,
                roster.id(roster.li),
                contact_id=contact,
                actor="test",
                terms=TERMS,
                cipher=CIPHER,
                now=utcnow(),
                zone=SHANGHAI,
            )
        )
    assert problem(roster.li) is Refusal.ALREADY
    assert problem(roster.wang) is Refusal.QUOTA_FULL
    with database.session() as session:
        assert len(session.exec(select(Nomination)).all()) == 1
    assert len(_audits(database, "nomination.nominate")) == 1


async def test_a_contact_of_two_units_picks_the_unit_then_pages_through_candidates(
    bot: BotHarness,
) -> None:
    """A contact of two units chooses the unit first; a long roster comes a page at a time."""
    db = bot.database
    roster = Roster(db)
    for n in range(10):
        add_officer(db, f"1101{n:02d}", f"新警{n}", f"+86139000011{n:02d}")
    with db.session() as session:
        role_storage.change_unit_contact(session, "100001", "交警支队", grant_it=True, actor="t")
    round_ = _open_retreat(db)
    assert round_.id is not None
    await bot.meet(CONTACT)
    name = "2027年疗休养第一期"
    await bot.dialog.play(
        [
            (
                CONTACT,
                "/retreats",
                [says(name, buttons=[f"👥 交警支队推荐：{name}", f"👥 天元分局推荐：{name}"])],
            ),
            (CONTACT, Press(f"👥 交警支队推荐：{name}"), [edits("👥 交警支队", "名额 1 个")]),
            (CONTACT, Press("➕ 推荐人选"), [edits("第1/1页", "✅ 孙交（100006）")]),
            (CONTACT, Press("« 本单位名单"), [edits("👥 交警支队")]),
            (CONTACT, "/retreats", [says(name)]),
            (CONTACT, Press(f"👥 天元分局推荐：{name}"), [edits("👥 天元分局", "名额 2 个")]),
            (
                CONTACT,
                Press("➕ 推荐人选"),
                [edits("天元分局，第1/2页", "周敏（100001）", buttons=["下一页 ›"])],
            ),
            (
                CONTACT,
                Press("下一页 ›"),
                [edits("天元分局，第2/2页", "新警9（110109）", buttons=["‹ 上一页"])],
            ),
            (CONTACT, Press("✅ 新警9（110109）"), [says("确认推荐新警9（110109）")]),
            (CONTACT, Press("取消"), [edits("已取消")]),
        ]
    )
    with db.session() as session:
        assert session.exec(select(Nomination)).all() == []
    assert roster.contact.id is not None


async def test_the_objection_picker_pages_a_long_list(bot: BotHarness) -> None:
    """Twelve names on the publicity list: the picker shows ten, then the rest on a second
    page (‹ › in place), and a name of the second page can be chosen."""
    db = bot.database
    roster = Roster(db)
    now = utcnow()
    people = [
        add_officer(db, f"1201{n:02d}", f"新警{n:02d}", f"+86139000012{n:02d}") for n in range(12)
    ]
    name = "2026年度先进工作者推荐"
    with db.session() as session:
        round_ = ok(
            store.open_round(
                session,
                programme=Programme.HONOUR,
                title="city-advanced",
                name=name,
                places=12,
                quotas={"天元分局": 12},
                opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=7),
                terms=TERMS,
                actor="test",
                now=now,
            )
        )
        assert round_.id is not None
        for officer in people:
            nomination = ok(
                store.nominate(
                    session,
                    round_.id,
                    roster.id(officer),
                    contact_id=roster.id(roster.contact),
                    actor="test",
                    terms=TERMS,
                    cipher=CIPHER,
                    now=now,
                    zone=SHANGHAI,
                    reason="表现突出",
                )
            )
            assert nomination.id is not None
            ok(store.confirm(session, nomination.id, roster.id(officer), now=now))
            ok(store.approve(session, nomination.id, actor="test", now=now))
        ok(store.publish(session, round_.id, terms=TERMS, actor="test", now=now))
    await bot.meet(ZHAO)
    first_page = [f"新警{n:02d}（天元分局）" for n in range(10)]
    second_page = [f"新警{n:02d}（天元分局）" for n in (10, 11)]

    async def shown() -> list[str]:
        return [b for b in await _buttons(bot, ZHAO) if "新警" in b]

    await bot.dialog.play(
        [
            (ZHAO, "/honours", [says(name, buttons=[f"📋 公示名单：{name}"])]),
            (ZHAO, Press(f"📋 公示名单：{name}"), [says("12. 新警11", buttons=["提出异议"])]),
            (
                ZHAO,
                Press("提出异议"),
                [says("您对哪位同志有意见", buttons=[*first_page, "下一页 ›", "取消"])],
            ),
        ]
    )
    assert await shown() == first_page
    await bot.dialog.play(
        [
            (
                ZHAO,
                Press("下一页 ›"),
                [edits("您对哪位同志有意见", buttons=[*second_page, "‹ 上一页", "取消"])],
            ),
        ]
    )
    assert await shown() == second_page
    await bot.dialog.play(
        [
            (ZHAO, Press("‹ 上一页"), [edits("您对哪位同志有意见", buttons=first_page)]),
            (ZHAO, Press("下一页 ›"), [edits("您对哪位同志有意见", buttons=second_page)]),
            (ZHAO, Press("新警11（天元分局）"), [edits("请写下您对新警11（天元分局）的意见")]),
            (ZHAO, Press("取消"), [edits("已取消")]),
        ]
    )
