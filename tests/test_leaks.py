"""Issue 14: what must not leak, and what a repeated press must bring back.

- A duplicate care report is linked silently: the reporter hears the ordinary reply, the
  organizers see the link on the card.
- An event's card goes only to its audience (and its managers, and whoever holds a place on it):
  forged ev:* / evm:* presses of any other event answer like an outdated button, show nothing.
- Nothing is ever answered into a group, supergroup or channel: a press there gets at most an
  answer of its own (seen by the presser alone) and changes nothing; commands get nothing.
- A repeated press brings back what the first one delivered (or should have): 我能去 after a kill
  the address and contact, a case card or a binding request its state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from bot import texts
from handlers import appeals as appeal_handlers
from handlers.context import services_of
from storage import appeals, care, clubs
from storage import events as event_storage
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import (
    AppealReply,
    BindingRequest,
    CareCase,
    CaseStatus,
    ClubMembership,
    EventSignup,
    Officer,
    RequestStatus,
    Role,
)
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()

WANG = Person(7_950_000_001, "王警官")  # man, single, 天元分局, plays football
LI = Person(7_950_000_002, "李警官")  # man, married, 交警支队, plays football
SUN = Person(7_950_000_004, "孙警官")  # woman, single, 天元分局
QIAN = Person(7_950_000_005, "钱警官")  # woman, married, 交警支队, does yoga
ZHOU = Person(7_950_000_006, "周队长")  # man, single, leads the football club
ZHAO = Person(7_950_000_009, "赵干事")  # organizer
ORG2 = Person(7_950_000_010, "钱干事")  # organizer
GROUP = -1_001_950_000_001
CHANNEL = -1_001_950_000_002
STALE = texts.STALE_BUTTON


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


async def _seed(bot: BotHarness) -> dict[str, int]:
    def officer(police_id: str, name: str, person: Person, **fields: Any) -> int:
        fields.setdefault("birthday", date(1985, 3, 12))
        return _id(
            add_officer(
                bot.database, police_id, name, f"+86138000{police_id}", bound_to=person.id, **fields
            )
        )

    ids = {
        "wang": officer("100001", "王建国", WANG, gender="M", single_opt_in=True),
        "li": officer("100002", "李强", LI, gender="M", unit="交警支队"),
        "sun": officer("100004", "孙丽", SUN, gender="F", single_opt_in=True),
        "qian": officer("100005", "钱芳", QIAN, gender="F", unit="交警支队"),
        "zhou": officer("100006", "周勇", ZHOU, gender="M", single_opt_in=True),
        "zhao": officer("200001", "赵敏", ZHAO, gender="F", roles=[Role.ORGANIZER]),
        "org2": officer("200002", "钱多", ORG2, gender="M", roles=[Role.ORGANIZER]),
    }
    with bot.database.session() as session:
        clubs.join(session, ids["wang"], "足球")
        clubs.join(session, ids["li"], "足球")
        clubs.join(session, ids["zhou"], "足球")
        clubs.join(session, ids["qian"], "瑜伽")
        clubs.set_leader(session, "足球", ids["zhou"], True, actor="test")
    await bot.meet(WANG, LI, SUN, QIAN, ZHOU, ZHAO, ORG2)
    return ids


def _event(database: Database, *, kind: str, audience: str, value: str = "", title: str) -> int:
    start = datetime.now(UTC) + timedelta(days=10)
    with database.session() as session:
        event = event_storage.create(
            session,
            kind=kind,
            title=title,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            place="工会活动室",
            capacity=10,
            signup_deadline=start,
            audience=audience,
            audience_value=value,
            waitlist=True,
            created_by="officer:200001",
        )
        assert event.id is not None
        return event.id


def _case(bot: BotHarness, officer_id: int, *, days_ago: int = 3) -> int:
    """A hospitalization report, as if filed through /report."""
    with bot.database.session() as session:
        case = care.create(
            session,
            care.NewCase(
                officer_id=officer_id,
                reporter_id=officer_id,
                event="hospitalization",
                event_date=TODAY - timedelta(days=days_ago),
                hospital="市中心医院",
                ward="心内科3床",
                policy_amount=1000,
            ),
            services_of(bot.application).cipher,
        )
        assert case.id is not None
        return case.id


def _signups(database: Database) -> list[tuple[int, int, str]]:
    with database.session() as session:
        rows = session.exec(select(EventSignup).order_by(col(EventSignup.id))).all()
        return [(s.event_id, s.officer_id, s.state) for s in rows]


# --- 7: a duplicate report is linked silently ------------------------------------------------


async def test_a_duplicate_report_is_linked_silently(bot: BotHarness) -> None:
    ids = await _seed(bot)
    first = _case(bot, ids["wang"])
    rows: list[Row] = [
        (LI, "/report", [says("请选择要申报的事项")]),
        (LI, Press("住院"), [edits("是为谁申报")]),
        (LI, Press("代同事申报"), [edits("请输入同事的警号")]),
        (LI, "100001", [says("请输入住院的医院名称")]),
        (LI, "市中心医院", [says("病区")]),
        (LI, "5床", [says("入院日期")]),
        (LI, (TODAY - timedelta(days=1)).isoformat(), [says("说明")]),
        (LI, Press("跳过"), [says("对象：王建国（100001")]),
        # The ordinary reply: nothing says that someone else reported it first.
        (
            LI,
            Press("✅ 提交"),
            [edits(f"已提交，编号 #{first + 1}", absent=["已经有人申报", f"#{first}）"])],
        ),
        # The organizers see the link on the card, which has no buttons: it is never paid.
        (
            ZHAO,
            None,
            [says(f"慰问申报 #{first + 1}", "状态：重复申报", f"与 #{first} 是同一件事")],
        ),
        (ORG2, None, [says(f"与 #{first} 是同一件事")]),
        (WANG, None, [says("同事李强为您申报了「住院」慰问")]),
        # In /myreports the reporter sees where the case stands, not that it is a duplicate.
        (LI, "/myreports", [says(f"#{first + 1} 住院", "已上报", "为王建国申报", absent=["重复"])]),
    ]
    await bot.dialog.play(rows)
    cards = [e for e in await bot.client.history(ZHAO.as_user()) if "慰问申报 #" in e.text]
    assert cards[-1].buttons == []
    with bot.database.session() as session:
        second = session.get(CareCase, first + 1)
        assert second is not None
        assert (second.status, second.duplicate_of) == (CaseStatus.DUPLICATE, first)
    # The first case moves on: the reporter of the duplicate sees it move.
    with bot.database.session() as session:
        original = care.get(session, first)
        assert original is not None
        cipher = services_of(bot.application).cipher
        assert care.advance(
            session, original, CaseStatus.VISITED, actor="officer:200001", cipher=cipher
        )
    await bot.dialog.play([(LI, "/myreports", [says(f"#{first + 1} 住院", "已探望")])])


# --- 7: an event's card goes to its audience only ---------------------------------------------


async def test_forged_event_presses_show_nothing_outside_the_audience(bot: BotHarness) -> None:
    ids = await _seed(bot)
    party = _event(bot.database, kind="matchmaking", audience="singles", title="芙蓉情缘联谊会")
    yoga = _event(
        bot.database, kind="club_activity", audience="club", value="瑜伽", title="瑜伽晨练"
    )
    match = _event(
        bot.database, kind="competition", audience="unit", value="交警支队", title="气排球比赛"
    )
    rows: list[Row] = [
        (LI, "/events", [says("气排球比赛", absent=["芙蓉情缘", "瑜伽"])]),
        # A married officer: a forged 取消报名 or 报名 of the matchmaking party shows nothing.
        (LI, PressData(f"ev:leave:{party}:", answer=STALE), []),
        (LI, PressData(f"ev:join:{party}:", answer=STALE), []),
        (LI, PressData(f"ev:manage:{party}:", answer=STALE), []),
        (LI, f"/events {party}", [says(f"没有找到编号为 {party} 的活动")]),
        # Not a member of the yoga club, not of 交警支队: the same, whatever the button.
        (WANG, "/events", [says("芙蓉情缘联谊会", absent=["瑜伽", "气排球"])]),
        (WANG, PressData(f"ev:leave:{yoga}:", answer=STALE), []),
        (WANG, PressData(f"ev:join:{yoga}:", answer=STALE), []),
        (WANG, PressData(f"ev:list:{yoga}:", answer=STALE), []),
        (WANG, PressData(f"ev:export:{yoga}:", answer=STALE), []),
        (WANG, PressData(f"ev:edit:{yoga}:place", answer=STALE), []),
        (WANG, PressData(f"evm:{yoga}:{ids['qian']}:1", answer=STALE), []),
        (WANG, PressData(f"ev:leave:{match}:", answer=STALE), []),
        (WANG, f"/events {yoga}", [says(f"没有找到编号为 {yoga} 的活动")]),
        (SUN, "/events", [says("芙蓉情缘联谊会")]),
        (SUN, PressData(f"ev:leave:{match}:", answer=STALE), []),
        # Those in the audience see the card; one who may see it but not manage it is told so.
        (QIAN, "/events", [says("瑜伽晨练"), says("气排球比赛")]),
        (QIAN, Press("报名"), [edits("报名成功", "气排球比赛")]),
        (QIAN, PressData(f"ev:join:{yoga}:"), [edits("报名成功", "瑜伽晨练")]),
        (QIAN, PressData(f"ev:list:{yoga}:", answer="您不能管理这个活动"), []),
        (SUN, PressData(f"ev:join:{party}:"), [edits("报名成功", "芙蓉情缘联谊会")]),
        # The organizer manages every event, in the audience or not.
        (ZHAO, f"/events {yoga}", [says("瑜伽晨练", "已报名 1 人")]),
    ]
    await bot.dialog.play(rows)
    assert sorted(_signups(bot.database)) == sorted(
        [
            (match, ids["qian"], "signed"),
            (yoga, ids["qian"], "signed"),
            (party, ids["sun"], "signed"),
        ]
    )
    # Who left the club keeps the card of the place they hold, to cancel it.
    with bot.database.session() as session:
        clubs.leave(session, ids["qian"], "瑜伽")
    await bot.dialog.play(
        [(QIAN, PressData(f"ev:leave:{yoga}:"), [edits("已取消报名", "瑜伽晨练")])]
    )
    # Now nothing ties her to it: the card is gone for her, like for anyone outside.
    await bot.dialog.play([(QIAN, PressData(f"ev:join:{yoga}:", answer=STALE), [])])


# --- 7: nothing goes into a group, a supergroup or a channel ---------------------------------


async def test_nothing_is_answered_into_a_group_or_a_channel(bot: BotHarness) -> None:
    ids = await _seed(bot)
    case_id = _case(bot, ids["wang"])
    party = _event(bot.database, kind="matchmaking", audience="singles", title="芙蓉情缘联谊会")
    client = bot.client
    await client.create_group(GROUP, "天元分局工会群", type="supergroup")
    await client.create_group(CHANNEL, "工会公告", type="channel")
    said = await client.send_text(ZHOU.as_user(), "大家好", chat_id=GROUP)
    posted = await client.send_text(ZHAO.as_user(), "本周公告", chat_id=CHANNEL)
    presses = [
        (ZHOU, "club:members:足球"),  # the member list
        (WANG, "menu:myreports"),  # a care-case line
        (WANG, "menu:profile"),  # a phone number
        (ZHAO, f"case:visit:{case_id}"),
        (ZHAO, "menu:requests"),
        (ZHOU, "club:join:瑜伽"),
        (ZHOU, f"ev:join:{party}:"),
        (SUN, f"ev:join:{party}:"),
        (ZHOU, "drv:join:1"),
        (WANG, "me:single:0"),
    ]
    answers = []
    for chat_id, message_id in ((GROUP, said["message_id"]), (CHANNEL, posted["message_id"])):
        for person, data in presses:
            query = await client.press_data(person.as_user(), message_id, data, chat_id=chat_id)
            answers.append(await client.callback_answer(query, timeout=10))
    for person, command in (
        (ZHOU, "/clubs 足球"),
        (WANG, "/myreports"),
        (WANG, "/me"),
        (ZHAO, "/cases"),
        (ZHAO, f"/cases #{case_id}"),
        (ZHOU, "/events"),
        (ZHOU, "/start"),
        (ZHOU, "/help"),
        (ZHOU, "随便说一句"),
    ):
        await client.send_text(person.as_user(), command, chat_id=GROUP)
    await client.send_text(ZHAO.as_user(), "/cases", chat_id=CHANNEL)
    await bot.settle()
    assert [str(event) for event in await client.history(GROUP)] == []
    assert [str(event) for event in await client.history(CHANNEL)] == []
    for person in (WANG, ZHOU, ZHAO, SUN):
        assert await client.history(person.as_user()) == [], person.first_name
    # Every press is answered (no spinning button), only to the presser.
    assert [(a or {}).get("text") for a in answers] == [texts.PRIVATE_CHAT_ONLY] * len(answers)
    # And nothing changed.
    with bot.database.session() as session:
        case = session.get(CareCase, case_id)
        assert case is not None and case.status == CaseStatus.REPORTED
        memberships = session.exec(
            select(ClubMembership.club).where(ClubMembership.officer_id == ids["zhou"])
        ).all()
        assert list(memberships) == ["足球"]
        wang = session.get(Officer, ids["wang"])
        assert wang is not None and wang.single_opt_in
    assert _signups(bot.database) == []
    # The same presses in a private chat still work.
    await bot.dialog.play([(ZHOU, "/clubs 足球", [says("足球俱乐部成员", "周勇")])])


# --- 2: a repeated press brings back what the first one delivered ----------------------------


async def test_a_repeated_coming_press_brings_the_address_again(bot: BotHarness) -> None:
    ids = await _seed(bot)
    found = services_of(bot.application)
    with bot.database.session() as session:
        appeal = appeals.create(
            session,
            blood_group="O",
            rh_negative=True,
            component="platelets",
            hospital="市中心医院",
            address="长沙路1号",
            contact="张医生 13800000000",
            units_needed=3,
            deadline=datetime.now(UTC) + timedelta(hours=12),
            created_by="officer:200001",
            tally_chat_id=None,
            recipients=[
                Recipient(ids["wang"], WANG.id),
                Recipient(ids["sun"], SUN.id),
            ],
            text="🩸 紧急用血呼吁\n市中心医院急需O型Rh阴性血小板",
            buttons_for=lambda appeal_id: appeal_handlers.answer_markup(appeal_id).to_json(),
        )
        appeal_id = appeal.id
    assert appeal_id is not None
    found.broadcaster.wake()
    await bot.dialog.play(
        [
            (WANG, None, [says("紧急用血呼吁", buttons=["🙋 我能去", "去不了"])]),
            (SUN, None, [says("紧急用血呼吁")]),
        ]
    )
    # 我能去 was recorded just before the bot was killed: its message never went out.
    with bot.database.session() as session:
        session.add(AppealReply(appeal_id=appeal_id, officer_id=ids["wang"], answer="coming"))
    way = ("请前往市中心医院：长沙路1号", "联系人：张医生 13800000000")
    coming = "谢谢！地址和联系人已发给您。"
    await bot.dialog.play(
        [
            (WANG, Press("🙋 我能去", answer=coming), [says(*way, buttons=["📍 已到达"])]),
            # Again: the same, never a bare "already".
            (
                WANG,
                PressData(f"apl:coming:{appeal_id}", answer=coming),
                [says(*way, buttons=["📍 已到达"])],
            ),
            (WANG, Press("📍 已到达", answer="已记录到达"), []),
            (WANG, PressData(f"apl:arrived:{appeal_id}", answer="已记录到达"), []),
            (WANG, PressData(f"apl:coming:{appeal_id}", answer="已记录到达"), []),
            (SUN, Press("去不了", answer="已记录，谢谢告诉我们"), []),
            (SUN, Press("去不了", answer="已记录，谢谢告诉我们"), []),
        ]
    )
    with bot.database.session() as session:
        replies = session.exec(select(AppealReply).order_by(col(AppealReply.officer_id))).all()
        assert [(r.officer_id, r.answer) for r in replies] == [
            (ids["wang"], "arrived"),
            (ids["sun"], "cannot"),
        ]
        stored = appeals.get(session, appeal_id)
        assert stored is not None
        state = appeals.tally(session, stored)
    assert (state.coming, state.arrived, state.cannot) == (1, 1, 1)


async def test_a_repeated_press_on_a_case_card_shows_it_as_it_stands(bot: BotHarness) -> None:
    ids = await _seed(bot)
    case_id = _case(bot, ids["wang"])
    card = f"慰问申报 #{case_id}"
    await bot.dialog.play(
        [
            (ZHAO, f"/cases #{case_id}", [says(card, "状态：已上报", buttons=["已探望"])]),
            (ORG2, f"/cases #{case_id}", [says(card, buttons=["已探望"])]),
            (ZHAO, Press("已探望", answer="已登记探望"), [edits("状态：已探望")]),
            (WANG, None, [says("探望")]),
            # Pressed again: the card already shows what the visit left (nothing to edit), and
            # nobody is told twice.
            (ZHAO, PressData(f"case:visit:{case_id}", answer="现在是「已探望」"), []),
            # Another organizer's copy of the card (or one a kill left behind) catches up.
            (
                ORG2,
                Press("已探望", answer="现在是「已探望」"),
                [edits(card, "状态：已探望", buttons=["已发放", "不予受理"])],
            ),
            (WANG, None, []),
        ]
    )


async def test_a_repeated_decision_on_a_binding_request_shows_the_decision(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    applicant = Person(7_950_000_099, "新同事")
    await bot.meet(applicant)
    with bot.database.session() as session:
        session.add(
            BindingRequest(
                telegram_user_id=applicant.id,
                chat_id=applicant.id,
                telegram_name="新同事",
                phone="+8613900000099",
                claimed_police_id="100099",
                claimed_name="刘新",
            )
        )
    await bot.dialog.play(
        [
            (ZHAO, "/requests", [says("共 1 条"), says("绑定申请 #1", buttons=["❌ 拒绝"])]),
            (ORG2, "/requests", [says("共 1 条"), says("绑定申请 #1", buttons=["✅ 批准"])]),
            (ZHAO, Press("❌ 拒绝"), [edits("绑定申请 #1", "❌ 已拒绝（赵敏）")]),
            (applicant, None, [says("未通过")]),
            # Pressed again (a second tap that raced the edit): the marked card stays as it is.
            (ZHAO, PressData("bindreq:0:1", answer="这条申请已处理"), []),
            # The other organizer's card shows how it was decided; nothing is approved.
            (
                ORG2,
                Press("✅ 批准", answer="这条申请已处理"),
                [edits("绑定申请 #1", "❌ 已拒绝（赵敏）")],
            ),
            (applicant, None, []),
        ]
    )
    with bot.database.session() as session:
        request = session.get(BindingRequest, 1)
        assert request is not None and request.status == RequestStatus.REJECTED
