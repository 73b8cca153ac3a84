"""Clubs: storage (memberships, leaders, recipients) and /clubs, leaders and notices end to end."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli import main
from handlers.clubs import club_key, club_of_key, find_club
from storage import audit, officers
from storage import clubs as club_storage
from storage.clubs import LeaderChange
from storage.db import Database
from storage.models import (
    Broadcast,
    BroadcastKind,
    ClubMembership,
    Delivery,
    Officer,
    Priority,
    Role,
)
from storage.types import utcnow
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says
from tests.settling import until

ORG = Person(7_950_000_001, "赵干事")
WANG = Person(7_950_000_002, "王警官")
LI = Person(7_950_000_003, "李警官")
ZHANG = Person(7_950_000_004, "张警官")
SUN = Person(7_950_000_005, "孙警官")
QIAN = Person(7_950_000_006, "钱警官")
STRANGER = Person(7_950_000_099, "路人")

SEND = "✅ 发送"
CANCEL = "❌ 取消"
NOTICE = "本周六早上七点湘江风光带集合，练习接力跑，记得带水。"


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


# --- storage ---------------------------------------------------------------------------------


def _roster(database: Database) -> dict[str, Officer]:
    """王 and 李 bound, 张 unbound, 孙 bound but blocked the bot, 周 left the union."""
    people = {
        "wang": add_officer(database, "100002", "王建国", "+8613800000002", bound_to=902),
        "li": add_officer(database, "100003", "李强", "+8613800000003", bound_to=903),
        "zhang": add_officer(database, "100004", "张伟", "+8613800000004"),
        "sun": add_officer(database, "100005", "孙丽", "+8613800000005", bound_to=905),
        "zhou": add_officer(database, "100006", "周平", "+8613800000006", bound_to=906),
    }
    with database.session() as session:
        binding = officers.binding_of(session, _id(people["sun"]))
        assert binding is not None
        binding.unreachable_since = utcnow()
        session.add(binding)
        zhou = session.get(Officer, _id(people["zhou"]))
        assert zhou is not None
        zhou.active = False
        session.add(zhou)
    return people


def test_join_leave_and_counts(database: Database) -> None:
    people = _roster(database)
    wang, li, zhou = _id(people["wang"]), _id(people["li"]), _id(people["zhou"])
    with database.session() as session:
        assert club_storage.join(session, wang, "足球") is True
    with database.session() as session:
        # A double press joins once.
        assert club_storage.join(session, wang, "足球") is False
    for officer_id, club in ((li, "足球"), (li, "瑜伽"), (zhou, "足球"), (wang, "篮球")):
        with database.session() as session:
            assert club_storage.join(session, officer_id, club)
    with database.session() as session:
        # 周 left the union: not counted, not a member id; 篮球 is not in the policy.
        assert club_storage.member_counts(session) == {"足球": 2, "瑜伽": 1, "篮球": 1}
        assert club_storage.member_counts(session, within=["足球", "瑜伽"]) == {
            "足球": 2,
            "瑜伽": 1,
        }
        assert club_storage.member_ids(session, "足球") == [wang, li]
        assert club_storage.clubs_of(session, li) == ["瑜伽", "足球"]
        assert club_storage.clubs_of(session, wang, within=["足球", "瑜伽"]) == ["足球"]
        assert club_storage.is_member(session, li, "瑜伽")
        assert not club_storage.is_member(session, wang, "瑜伽")
    with database.session() as session:
        assert club_storage.leave(session, li, "瑜伽") is True
    with database.session() as session:
        assert club_storage.leave(session, li, "瑜伽") is False
        assert club_storage.clubs_of(session, li) == ["足球"]
        assert club_storage.member_counts(session, within=["瑜伽"]) == {}
        rows = session.exec(select(ClubMembership).where(ClubMembership.officer_id == wang)).all()
        assert sorted(row.club for row in rows) == ["篮球", "足球"]


def test_leaders_are_audited_members_and_lose_the_lead_when_leaving(database: Database) -> None:
    people = _roster(database)
    wang, li = _id(people["wang"]), _id(people["li"])
    with database.session() as session:
        # Not a member yet: leading makes them one.
        assert club_storage.set_leader(session, "足球", wang, True, "officer:200001") is True
    with database.session() as session:
        assert club_storage.set_leader(session, "足球", wang, True, "officer:200001") is False
        assert club_storage.is_leader(session, wang, "足球")
        assert club_storage.is_member(session, wang, "足球")
        assert club_storage.led_by(session, wang) == ["足球"]
        assert club_storage.led_by(session, li) == []
        [entry] = audit.recent(session, action="club.leader.grant")
    assert (entry.actor, entry.target) == ("officer:200001", "officer:100002")
    assert json.loads(entry.detail) == {"club": "足球", "joined": True}
    with database.session() as session:
        assert club_storage.join(session, li, "足球")
    with database.session() as session:
        club_storage.set_leader(session, "足球", li, True, "cli")
    with database.session() as session:
        # Removing the lead keeps the membership.
        assert club_storage.set_leader(session, "足球", li, False, "cli") is True
    with database.session() as session:
        assert club_storage.set_leader(session, "足球", li, False, "cli") is False
        assert club_storage.is_member(session, li, "足球")
        assert not club_storage.is_leader(session, li, "足球")
        assert [m.police_id for m in club_storage.members(session, "足球")] == ["100002", "100003"]
        assert [m.leader for m in club_storage.members(session, "足球")] == [True, False]
    with database.session() as session:
        # A leader who leaves loses the lead with the membership.
        assert club_storage.leave(session, wang, "足球")
    with database.session() as session:
        assert club_storage.led_by(session, wang) == []
        assert not club_storage.is_leader(session, wang, "足球")
        assert len(audit.recent(session, action="club.leader.revoke")) == 1


def test_change_leader_by_police_id(database: Database) -> None:
    people = _roster(database)
    with database.session() as session:
        outcome, officer = club_storage.change_leader(
            session, "100003", "瑜伽", lead=True, actor="cli"
        )
        assert outcome is LeaderChange.DONE and officer is not None
        assert officer.police_id == "100003"
    with database.session() as session:
        assert club_storage.change_leader(session, "100003", "瑜伽", lead=True, actor="cli")[0] is (
            LeaderChange.UNCHANGED
        )
        assert club_storage.change_leader(session, "999999", "瑜伽", lead=True, actor="cli") == (
            LeaderChange.NO_OFFICER,
            None,
        )
        # 周 left the union: nobody gives them a lead.
        left, _ = club_storage.change_leader(session, "100006", "瑜伽", lead=True, actor="cli")
        assert left is LeaderChange.LEFT
        assert not club_storage.is_member(session, _id(people["zhou"]), "瑜伽")


def test_member_recipients_are_bound_and_active(database: Database) -> None:
    people = _roster(database)
    for key in ("wang", "li", "zhang", "sun", "zhou"):
        with database.session() as session:
            club_storage.join(session, _id(people[key]), "马拉松")
    with database.session() as session:
        club_storage.join(session, _id(people["li"]), "羽毛球")
    with database.session() as session:
        recipients = club_storage.member_recipients(session, "马拉松")
        # 张 is not bound, 周 left; 孙 blocked the bot but stays in the audience, to be
        # counted as unreachable rather than silently dropped (issue 14).
        assert [(r.officer_id, r.chat_id) for r in recipients] == [
            (_id(people["wang"]), 902),
            (_id(people["li"]), 903),
            (_id(people["sun"]), 905),
        ]
        assert club_storage.member_recipients(session, "瑜伽") == []


def test_two_joins_at_once_make_one_membership(database: Database) -> None:
    people = _roster(database)
    wang = _id(people["wang"])

    def join() -> bool:
        with database.session() as session:
            return club_storage.join(session, wang, "气排球")

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: join(), range(4)))
    assert sorted(results) == [False, False, False, True]
    with database.session() as session:
        assert club_storage.member_ids(session, "气排球") == [wang]


def test_club_keys_fit_buttons_and_resolve_only_policy_clubs() -> None:
    clubs = ["马拉松", "足球", "一个名字很长很长很长很长很长的俱乐部名称", "a:b"]
    for club in clubs:
        assert club_of_key(club_key(club), clubs) == club
        assert len(club_key(club).encode()) <= 40
    assert club_key("足球") == "足球"
    assert club_of_key("篮球", clubs) is None
    assert club_of_key(club_key("篮球"), clubs) is None
    assert find_club(" 足球俱乐部 ", clubs) == "足球"
    assert find_club("篮球", clubs) is None


# --- dialogs ---------------------------------------------------------------------------------


async def _seed(bot: BotHarness, *, memberships: bool = True) -> dict[str, Officer]:
    """赵 organizer; 足球: 王 (leader), 李, 周 (unbound); 瑜伽: 孙 (leader), 张; 钱 in none."""
    db = bot.database
    people = {
        "zhao": add_officer(
            db, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ORGANIZER]
        ),
        "wang": add_officer(db, "100002", "王建国", "+8613800000002", bound_to=WANG.id),
        "li": add_officer(db, "100003", "李强", "+8613800000003", bound_to=LI.id),
        "zhang": add_officer(
            db, "100004", "张伟", "+8613800000004", unit="荷塘分局", bound_to=ZHANG.id
        ),
        "sun": add_officer(db, "100005", "孙丽", "+8613800000005", bound_to=SUN.id),
        "qian": add_officer(db, "100006", "钱进", "+8613800000006", bound_to=QIAN.id),
        "zhou": add_officer(db, "100007", "周平", "+8613800000007"),
    }
    if memberships:
        for key, club in (("li", "足球"), ("zhou", "足球"), ("zhang", "瑜伽")):
            with db.session() as session:
                club_storage.join(session, _id(people[key]), club)
        for key, club in (("wang", "足球"), ("sun", "瑜伽")):
            with db.session() as session:
                club_storage.set_leader(session, club, _id(people[key]), True, "test")
    await bot.meet(ORG, WANG, LI, ZHANG, SUN, QIAN)
    return people


def _received(bot: BotHarness, person: Person) -> list[str]:
    """Texts of every message the bot sent to this person (edits excluded)."""
    return [
        event["message"]["text"]
        for event in bot.sandbox.events(TEST_TOKEN, person.id)
        if event["kind"] == "message"
    ]


def _got(bot: BotHarness, person: Person, wanted: list[str]) -> Callable[[], bool]:
    """True once this person has received exactly these messages."""
    return lambda: _received(bot, person) == wanted


async def _button_data(bot: BotHarness, person: Person, text: str) -> tuple[int, str]:
    """Message id and callback data of the newest button with this text."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == text and button.callback_data:
                    return event.message_id, button.callback_data
    raise AssertionError(f"no button {text!r}")


def _members(database: Database, club: str) -> list[str]:
    with database.session() as session:
        return [member.police_id for member in club_storage.members(session, club)]


def _audit_actions(database: Database) -> list[str]:
    with database.session() as session:
        return [entry.action for entry in audit.recent(session)]


def _broadcasts(database: Database) -> list[Broadcast]:
    with database.session() as session:
        return list(session.exec(select(Broadcast)).all())


async def test_list_join_double_join_and_leave(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (
            QIAN,
            "/clubs",
            [
                says(
                    "工会兴趣俱乐部（共 6 个）",
                    "1. 马拉松：0 人",
                    "2. 足球：3 人",
                    "6. 瑜伽：2 人",
                    buttons=["➕ 加入马拉松", "➕ 加入足球", "➕ 加入瑜伽"],
                    absent=["已加入", "成员", "王建国", "李强"],
                )
            ],
        ),
        (QIAN, Press("➕ 加入足球"), [edits("欢迎加入足球俱乐部", "2. 足球：4 人　✅ 已加入")]),
    ]
    await bot.dialog.play(rows)
    # The old join button pressed twice more at the same instant: still one membership.
    message_id, join = await _button_data(bot, QIAN, "➕ 加入马拉松")
    join_football = join.replace(club_key("马拉松"), club_key("足球"))
    user = QIAN.as_user()
    queries = await asyncio.gather(
        bot.client.press_data(user, message_id, join_football),
        bot.client.press_data(user, message_id, join_football),
    )
    for query in queries:
        assert await bot.client.callback_answer(query, timeout=10) is not None
    await bot.quiet(QIAN)  # whatever the two presses showed
    assert _members(bot.database, "足球") == ["100002", "100003", "100006", "100007"]
    await bot.dialog.play(
        [
            (
                QIAN,
                "/clubs",
                [says("2. 足球：4 人　✅ 已加入", buttons=["➖ 退出足球", "➕ 加入瑜伽"])],
            ),
            (QIAN, Press("➖ 退出足球"), [edits("已退出足球俱乐部", "2. 足球：3 人")]),
            (
                QIAN,
                PressData("club:leave:足球"),
                [edits("您还不是足球俱乐部的会员", "2. 足球：3 人")],
            ),
            # A club the policy does not have, and data of no known shape.
            (QIAN, PressData("club:join:篮球", answer="此按钮已失效"), []),
            (QIAN, PressData("club:dance:足球", answer="此按钮已失效"), []),
            (STRANGER, "/clubs", [says("请先发送 /start")]),
        ]
    )
    assert _members(bot.database, "足球") == ["100002", "100003", "100007"]
    with bot.database.session() as session:
        rows_of = session.exec(select(ClubMembership.club).where(ClubMembership.club == "篮球"))
        assert rows_of.all() == []


async def test_leave_as_leader_and_who_sees_the_member_list(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            # An officer sees the count, never the names.
            (
                LI,
                "/clubs 足球",
                [says("足球俱乐部现有 3 位会员", "只有本俱乐部队长", absent=["王建国"])],
            ),
            (LI, PressData("club:members:足球", answer="您没有权限进行此操作"), []),
            (LI, "/clubs 篮球", [says("没有叫「篮球」的俱乐部", "马拉松、足球")]),
            # The leader sees their own club's list, and only theirs.
            (
                WANG,
                "/clubs",
                [says("2. 足球：3 人　⭐ 您是队长", "/clubnotice", buttons=["👥 足球成员"])],
            ),
            (
                WANG,
                Press("👥 足球成员"),
                [
                    says(
                        "足球俱乐部成员（3 人）",
                        "1. 王建国（100002，天元分局）⭐ 队长",
                        "2. 李强（100003，天元分局）\n3. 周平（100007，天元分局）",
                    )
                ],
            ),
            (WANG, "/clubs 瑜伽俱乐部", [says("瑜伽俱乐部现有 2 位会员", absent=["孙丽", "张伟"])]),
            (WANG, PressData("club:members:瑜伽", answer="您没有权限进行此操作"), []),
            # Organizers see every club's list.
            (
                ORG,
                "/clubs 瑜伽",
                [says("瑜伽俱乐部成员（2 人）", "孙丽", "张伟（100004，荷塘分局）")],
            ),
            (ORG, "/clubs", [says("/clubs leader", buttons=["👥 马拉松成员", "👥 瑜伽成员"])]),
            # A leader who leaves gives up the lead.
            (WANG, Press("➖ 退出足球"), [edits("队长职务也一并卸下", "2. 足球：2 人")]),
            (WANG, "/clubs 足球", [says("足球俱乐部现有 2 位会员", absent=["李强"])]),
        ]
    )
    assert _audit_actions(bot.database).count("forged.club_members") == 2
    with bot.database.session() as session:
        entry = audit.recent(session, action="forged.club_members")[0]
    assert entry.actor == "officer:100002" and entry.target == "club:瑜伽"


async def test_organizer_grants_and_removes_a_leader_who_is_told(bot: BotHarness) -> None:
    await _seed(bot, memberships=False)
    await bot.dialog.play(
        [
            (WANG, "/help", [says("/clubs", absent=["俱乐部队长", "/clubnotice"])]),
            (
                ORG,
                "/clubs leader 100002 足球",
                [says("已任命王建国（100002）为足球俱乐部队长", "已私信告诉本人")],
            ),
            (WANG, None, [says("您已被任命为足球俱乐部队长", "/clubnotice")]),
            (
                ORG,
                "/clubs leader 100002 足球俱乐部",
                [says("王建国（100002）已经是足球俱乐部队长")],
            ),
            (WANG, "/help", [says("俱乐部队长（足球）", "/clubnotice", "/events")]),
            (WANG, "/clubs", [says("2. 足球：1 人　⭐ 您是队长")]),
            # The club first, then the police ID, is understood too.
            (ORG, "/clubs leader 瑜伽 100004", [says("已任命张伟（100004）为瑜伽俱乐部队长")]),
            (ZHANG, None, [says("您已被任命为瑜伽俱乐部队长")]),
            # Clear sentences for what cannot be done.
            (ORG, "/clubs leader 999999 足球", [says("名册中没有警号 999999")]),
            (ORG, "/clubs leader 100002 篮球", [says("没有叫「篮球」的俱乐部", "现有俱乐部")]),
            (ORG, "/clubs leader 100002", [says("用法：/clubs leader 警号 俱乐部名")]),
            (ORG, "/clubs leader 王 足球", [says("名册中没有警号 王")]),
            # An officer, even a leader, cannot make leaders.
            (WANG, "/clubs leader 100003 足球", [says("您没有权限进行此操作")]),
            (LI, "/clubs unleader 100002 足球", [says("您没有权限进行此操作")]),
            (
                ORG,
                "/clubs unleader 100002 足球",
                [says("已撤销王建国（100002）的足球俱乐部队长职务", "仍保留会员身份")],
            ),
            (WANG, None, [says("您的足球俱乐部队长职务已撤销")]),
            (ORG, "/clubs unleader 100002 足球", [says("王建国（100002）不是足球俱乐部队长")]),
            (WANG, "/clubs", [says("2. 足球：1 人　✅ 已加入")]),
            (WANG, "/help", [says("/clubs", absent=["俱乐部队长"])]),
            (ORG, "/help", [says("/clubs 队长 警号 俱乐部名", "/clubnotice")]),
        ]
    )
    actions = _audit_actions(bot.database)
    assert actions.count("club.leader.grant") == 2
    assert actions.count("club.leader.revoke") == 1
    assert actions.count("forged.club_leader") == 2
    with bot.database.session() as session:
        [grant] = audit.recent(session, action="club.leader.grant")[-1:]
    assert grant.actor == "officer:200001" and grant.target == "officer:100002"
    commands = dict(await bot.client.commands())
    assert "clubs" in commands


@pytest.mark.progress_every(0.3)
async def test_a_leader_notice_reaches_the_club_members_only(bot: BotHarness) -> None:
    await _seed(bot)
    limit = 4000
    rows: list[Row] = [
        (
            WANG,
            "/clubnotice",
            [says("发给足球俱乐部的会员", f"不超过 {limit} 字")],
        ),
        (WANG, "足" * (limit + 1), [says(f"通知最多 {limit} 字，这次有 {limit + 1} 字")]),
        (
            WANG,
            NOTICE,
            [
                says("【足球俱乐部】\n" + NOTICE),
                says("将发送给足球俱乐部的 2 位会员", buttons=[SEND, CANCEL]),
            ],
        ),
    ]
    await bot.dialog.play(rows)
    message_id, send = await _button_data(bot, WANG, SEND)
    user = WANG.as_user()
    # 发送 pressed twice at the same instant: one broadcast.
    queries = await asyncio.gather(
        bot.client.press_data(user, message_id, send),
        bot.client.press_data(user, message_id, send),
    )
    answers = [await bot.client.callback_answer(q, timeout=10) for q in queries]
    assert sorted(str((a or {}).get("text") or "") for a in answers) == ["", "此按钮已失效"]
    delivered = "【足球俱乐部】\n" + NOTICE
    await until(_got(bot, LI, [delivered]), what="李")
    await until(lambda: _received(bot, WANG).count(delivered) == 2, what="the leader's copy")
    await bot.settle()
    for person in (ZHANG, SUN, QIAN, ORG):
        assert _received(bot, person) == [], person.first_name
    assert _received(bot, LI) == [delivered]
    history = await bot.client.history(user)
    assert any(e.kind == "edit" and "通知正在发送给足球俱乐部的会员" in e.text for e in history)
    assert any(e.kind == "message" and "准备发送给 2 位会员" in e.text for e in history)
    [broadcast] = _broadcasts(bot.database)
    assert (broadcast.kind, broadcast.priority, broadcast.total, broadcast.created_by) == (
        BroadcastKind.ANNOUNCEMENT,
        Priority.NORMAL,
        2,
        "officer:100002",
    )
    assert broadcast.progress_chat_id == WANG.id
    with bot.database.session() as session:
        [entry] = audit.recent(session, action="club.notice")
        chats = session.exec(select(Delivery.chat_id).order_by(col(Delivery.chat_id))).all()
    assert sorted(chats) == sorted([WANG.id, LI.id])
    assert entry.target == "club:足球" and json.loads(entry.detail)["recipients"] == 2
    assert NOTICE not in entry.detail
    # The broadcast engine reports to the leader as to an organizer.
    for _ in range(150):
        progress = [e for e in await bot.client.history(user) if "准备发送给" in e.text]
        text = str((await bot.client.message(user, progress[0].message_id)).get("text", ""))
        if "发送完成" in text:
            break
        await asyncio.sleep(0.1)
    assert "已送达 2/2" in text
    # Its sender may press ⏹ like an organizer (nothing is left to stop now): not a forgery.
    query = await bot.client.press_data(user, progress[0].message_id, f"bc:{broadcast.id}")
    stopped = await bot.client.callback_answer(query, timeout=10)
    assert (stopped or {}).get("text") == "此按钮已失效"
    with bot.database.session() as session:
        assert audit.recent(session, action="forged.broadcast_cancel") == []


async def test_a_leader_cannot_post_to_another_club(bot: BotHarness) -> None:
    people = await _seed(bot)
    with bot.database.session() as session:
        club_storage.set_leader(session, "马拉松", _id(people["wang"]), True, "test")
    await bot.dialog.play(
        [
            # Typed: refused, audited.
            (WANG, "/clubnotice 瑜伽", [says("您不是瑜伽俱乐部的队长")]),
            (WANG, "/clubs notice 瑜伽", [says("您不是瑜伽俱乐部的队长")]),
            (WANG, "/clubnotice 篮球", [says("没有叫「篮球」的俱乐部")]),
            (QIAN, "/clubnotice", [says("只有俱乐部队长和工会干部可以发俱乐部通知")]),
            # Two clubs led: a choice of exactly those two.
            (WANG, "/clubnotice", [says("请选择俱乐部", buttons=["马拉松", "足球"])]),
        ]
    )
    message_id, football = await _button_data(bot, WANG, "足球")
    history = await bot.client.history(WANG.as_user())
    buttons = [b.text for e in history if e.message_id == message_id for r in e.buttons for b in r]
    assert buttons == ["马拉松", "足球"]
    forged = football.replace(club_key("足球"), club_key("瑜伽"))
    await bot.dialog.play(
        [
            # The real flow's button with another club in it: refused, audited, flow unchanged.
            (WANG, PressData(forged, answer="您不是瑜伽俱乐部的队长", message_id=message_id), []),
            (WANG, PressData("clbn:00000000:club:瑜伽", answer="您不是瑜伽俱乐部的队长"), []),
            (WANG, Press("足球"), [edits("发给足球俱乐部的会员")]),
            (WANG, "只给足球队的通知", [says("【足球俱乐部】"), says("2 位会员")]),
            # 李 (no lead) forges 王's send button: refused, audited.
            (LI, "/clubs", [says("工会兴趣俱乐部")]),
            (LI, PressData("clbn:00000000:send:", answer="您没有权限进行此操作"), []),
        ]
    )
    # Taken away before 发送: the press is refused and nothing goes out.
    preview_id, send = await _button_data(bot, WANG, SEND)
    await bot.dialog.play(
        [
            (ORG, "/clubs unleader 100002 足球", [says("已撤销")]),
            (WANG, None, [says("队长职务已撤销")]),
            (WANG, Press(SEND, answer="您不是足球俱乐部的队长"), [edits("您不是足球俱乐部的队长")]),
            (WANG, PressData(send, answer="此按钮已失效", message_id=preview_id), []),
        ]
    )
    await bot.settle()
    assert _broadcasts(bot.database) == []
    for person in (ZHANG, SUN):
        assert _received(bot, person) == [], person.first_name
    assert not any("足球队" in text for text in _received(bot, LI))
    actions = _audit_actions(bot.database)
    assert actions.count("forged.club_notice") == 6
    assert "club.notice" not in actions


async def test_an_organizer_posts_to_any_club(bot: BotHarness) -> None:
    await _seed(bot)
    text = "瑜伽课改到周三晚上七点，地点不变。"
    await bot.dialog.play(
        [
            (ORG, "/clubnotice 乒乓球", [says("乒乓球俱乐部暂时没有可以接收消息的会员")]),
            (
                ORG,
                "/clubnotice",
                [
                    says(
                        "请选择俱乐部",
                        buttons=["马拉松", "足球", "气排球", "羽毛球", "乒乓球", "瑜伽"],
                    )
                ],
            ),
            (ORG, "随便说一句", [says("请点上方的按钮")]),
            (ORG, Press("瑜伽"), [edits("发给瑜伽俱乐部的会员")]),
            (ORG, text, [says("【瑜伽俱乐部】\n" + text), says("瑜伽俱乐部的 2 位会员")]),
            (ORG, Press(SEND), [says("准备发送给 2 位会员"), edits("通知正在发送给瑜伽俱乐部")]),
            # The organizer's own flow for 足球, cancelled.
            (ORG, "/clubs notice 足球", [says("发给足球俱乐部的会员")]),
            (ORG, "不发了", [says("【足球俱乐部】\n不发了"), says("足球俱乐部的 2 位会员")]),
            (ORG, Press(CANCEL), [edits("已取消")]),
        ]
    )
    delivered = "【瑜伽俱乐部】\n" + text
    for person in (ZHANG, SUN):
        await until(_got(bot, person, [delivered]), what=person.first_name)
    await bot.settle()
    for person in (WANG, LI, QIAN):
        assert _received(bot, person) == [], person.first_name
    assert len(_broadcasts(bot.database)) == 1


# --- the command line ------------------------------------------------------------------------


def test_cli_grants_and_revokes_a_lead(
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wang = add_officer(database, "100002", "王建国", "+8613800000002", bound_to=902)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("NUANJING_POLICY_FILE", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["club-leader", *args])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, _ = run("grant", "100002", "足球")
    assert status == 0 and "100002: lead of 足球 granted" in out
    assert run("grant", "100002", "足球")[1].strip() == "100002: nothing to do (already leads 足球)"
    status, _, err = run("grant", "100002", "篮球")
    assert status == 1 and "no club named '篮球'" in err and "足球" in err
    status, _, err = run("grant", "999999", "足球")
    assert status == 1 and "no officer with police ID 999999" in err
    with database.session() as session:
        assert club_storage.led_by(session, _id(wang)) == ["足球"]
        [entry] = audit.recent(session, action="club.leader.grant")
        # The officer is told through the outbox: the running bot delivers it.
        [told] = session.exec(select(Broadcast)).all()
        [delivery] = session.exec(select(Delivery)).all()
    assert entry.actor == "cli"
    assert "足球俱乐部队长" in told.text and delivery.chat_id == 902
    status, out, _ = run("revoke", "100002", "足球")
    assert status == 0 and "lead of 足球 revoked" in out
    assert "does not lead 足球" in run("revoke", "100002", "足球")[1]
    with database.session() as session:
        assert club_storage.led_by(session, _id(wang)) == []
        assert club_storage.is_member(session, _id(wang), "足球")
        assert len(session.exec(select(Broadcast)).all()) == 2
