"""Organizers' side of care cases end to end: the real bot, the sandbox, a real database."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook

from bot import cli, texts
from bot.app import build_application, polling
from bot.care_export import export_bytes
from bot.policy import load_policy
from bot.rules.case_query import FilterError, parse_filter, parse_period, split_arguments
from bot.sandbox import Sandbox, SandboxClient
from handlers.callbacks import CaseAction
from handlers.care_admin import CaseFlowButton, parse_amount
from handlers.care_cards import case_card, case_markup
from storage import audit, care, conversations, officers
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import AuditEntry, CareCase, CaseStatus, Role
from tests.conftest import (
    TEST_SECRET_KEY,
    TEST_TOKEN,
    BotHarness,
    add_officer,
    bot_settings,
)
from tests.dialogs import Dialog, Person, Photo, Press, PressData, Row, edits, says

ORG = Person(7_500_000_001, "赵干事")
ORG2 = Person(7_500_000_002, "钱干事")
WANG = Person(7_500_000_003, "王警官")
LI = Person(7_500_000_004, "李警官")
STRANGER = Person(7_500_000_005, "路人")

CIPHER = FieldCipher(TEST_SECRET_KEY)
WARD = "心内科 3 床"
NOTE = "心肌梗塞，已脱离危险"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOT_ALLOWED = "您没有权限进行此操作"
STALE = "此按钮已失效"
PAY_SUM = "✅ 按 1000 元发放"


def _seed(database: Database) -> dict[str, int]:
    """赵 and 钱 organize; 王 (天元) and 李 (荷塘) are bound officers; 周 (芦淞) is not bound."""
    ids: dict[str, int] = {}
    for key, police_id, name, person, unit, held in (
        ("zhao", "200001", "赵敏", ORG, "天元分局", [Role.ORGANIZER]),
        ("qian", "200002", "钱进", ORG2, "天元分局", [Role.ADMIN]),
        ("wang", "100001", "王建国", WANG, "天元分局", []),
        ("li", "100002", "李强", LI, "荷塘分局", []),
    ):
        officer = add_officer(
            database,
            police_id,
            name,
            f"+86138000000{police_id[-2:]}{len(ids)}",
            unit=unit,
            bound_to=person.id,
            roles=held,
        )
        assert officer.id is not None
        ids[key] = officer.id
    zhou = add_officer(database, "100003", "周平", "+8613800000099", unit="芦淞分局")
    assert zhou.id is not None
    ids["zhou"] = zhou.id
    return ids


def _case(
    database: Database,
    officer_id: int,
    *,
    event: str = "hospitalization",
    event_date: date = date(2026, 11, 20),
    policy_amount: int = 1000,
    reporter_id: int | None = None,
    duplicate_of: int | None = None,
    reported_at: datetime | None = None,
    **fields: Any,
) -> CareCase:
    """A case as handlers/care.py files it, ward and note encrypted."""
    new = care.NewCase(
        officer_id=officer_id,
        reporter_id=reporter_id or officer_id,
        event=event,
        event_date=event_date,
        hospital="市中心医院" if event == "hospitalization" else "",
        ward=WARD if event == "hospitalization" else "",
        note=NOTE,
        policy_amount=policy_amount,
        **fields,
    )
    with database.session() as session:
        case = care.create(session, new, CIPHER, duplicate_of=duplicate_of)
        if reported_at is not None:
            case.reported_at = reported_at
            session.add(case)
    return case


async def _show_card(bot: BotHarness, person: Person, case_id: int) -> None:
    """Send an organizer the case's card as handlers/care.py does, and read it off."""
    with bot.database.session() as session:
        case = care.get(session, case_id)
        assert case is not None
        subject = officers.by_id(session, case.officer_id)
        reporter = officers.by_id(session, case.reporter_id)
        assert subject is not None
        card = case_card(case, subject, CIPHER, reporter=reporter)
    await bot.application.bot.send_message(person.id, card, reply_markup=case_markup(case))
    await bot.client.replies(person.as_user(), count=1)


def _get(database: Database, case_id: int) -> CareCase:
    with database.session() as session:
        case = care.get(session, case_id)
        assert case is not None
        return case


def _audit(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        return list(audit.recent(session, action=action))


async def _start(bot: BotHarness) -> dict[str, int]:
    ids = _seed(bot.database)
    await bot.meet(ORG, ORG2, WANG, LI, STRANGER)
    return ids


# --- the steps on a card ------------------------------------------------------------------


async def test_visit_then_pay_the_policy_sum(
    bot: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # As `nuanjing run` sets it: PTB's debug lines carry every API call's parameters.
    caplog.set_level(logging.WARNING, logger="telegram.ext.ExtBot")
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, ORG, case.id or 0)
    rows: list[Row] = [
        (
            ORG,
            Press("已探望", answer="已登记探望"),
            [edits("状态：已探望", WARD, buttons=["已发放", "不予受理"])],
        ),
        (WANG, None, [says("工会已登记对您的探望", f"#{case.id}", "住院")]),
        (
            ORG,
            Press("已发放"),
            [says("政策标准：1000 元", "王建国（天元分局）", buttons=[PAY_SUM, "❌ 取消"])],
        ),
        (
            ORG,
            Press(PAY_SUM),
            [edits(f"已登记 #{case.id} 发放慰问金 1000 元", "已通知本人"), edits("状态：已发放")],
        ),
        (WANG, None, [says("您的慰问金已发放", "1000 元")]),
    ]
    await bot.dialog.play(rows)
    stored = _get(bot.database, case.id or 0)
    assert stored.status == CaseStatus.PAID and stored.paid_amount == 1000
    assert stored.visited_by == stored.paid_by == "officer:200001"
    assert care.pay_reason(stored, CIPHER) == ""
    (visit,) = _audit(bot.database, "care.visit")
    (pay,) = _audit(bot.database, "care.pay")
    assert visit.target == pay.target == str(case.id) and pay.actor == "officer:200001"
    detail = json.loads(pay.detail)
    assert detail["amount"] == 1000 and detail["from"] == "visited"
    assert detail["reason_given"] is False
    for entry in (visit, pay):
        assert WARD not in entry.detail and NOTE not in entry.detail
    # The final card has no buttons left; the flow's row is gone.
    history = await bot.client.history(ORG.as_user())
    assert history[0].kind == "message"
    card = await bot.client.message(ORG.as_user(), history[0].message_id)
    assert not card.get("reply_markup", {}).get("inline_keyboard")
    with bot.database.session() as session:
        assert conversations.load_states(session, "care_admin") == {}
    # Health details never reach a log line.
    for record in caplog.records:
        assert WARD not in record.getMessage() and NOTE not in record.getMessage()


async def test_a_smaller_amount_needs_a_reason_and_a_larger_one_is_refused(
    bot: BotHarness,
) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, ORG, case.id or 0)
    reason = "住院仅两天，按规定减发"
    rows: list[Row] = [
        (ORG, Press("已发放"), [says("政策标准：1000 元")]),
        (ORG, "1500", [says("不超过政策标准 1000 元")]),
        (ORG, "0", [says("不超过政策标准 1000 元")]),
        (ORG, "八百", [says("请输入整数金额")]),
        (ORG, Photo(), [says("请点上方按钮，或直接输入金额")]),
        (ORG, "８００ 元", [says("发放 800 元，与政策标准 1000 元不同", buttons=["❌ 取消"])]),
        (ORG, Photo(), [says("原因请用文字写明")]),
        (ORG, "长" * 201, [says("不超过 200 字")]),
        (ORG, reason, [says(f"已登记 #{case.id} 发放慰问金 800 元"), edits("状态：已发放")]),
        (WANG, None, [says("您的慰问金已发放", "800 元")]),
    ]
    await bot.dialog.play(rows)
    stored = _get(bot.database, case.id or 0)
    assert (stored.status, stored.paid_amount) == ("paid", 800)
    assert care.pay_reason(stored, CIPHER) == reason
    assert stored.visited_at is None  # reported → paid directly is allowed
    (pay,) = _audit(bot.database, "care.pay")
    detail = json.loads(pay.detail)
    assert detail["amount"] == 800 and detail["policy_amount"] == 1000
    assert detail["reason_given"] is True and reason not in pay.detail


async def test_the_sum_button_still_pays_the_policy_sum_at_the_reason_step(
    bot: BotHarness,
) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, ORG, case.id or 0)
    rows: list[Row] = [
        (ORG, Press("已发放"), [says("政策标准：1000 元")]),
        (ORG, "600", [says("请简要说明原因")]),
        (ORG, Press(PAY_SUM), [edits("发放慰问金 1000 元"), edits("状态：已发放")]),
        (WANG, None, [says("1000 元")]),
        # The prompt's buttons are spent: a replay is stale and changes nothing.
        (ORG, PressData(CaseFlowButton("abcd1234", "sum").pack(), answer=STALE), []),
    ]
    await bot.dialog.play(rows)
    assert _get(bot.database, case.id or 0).paid_amount == 1000
    assert len(_audit(bot.database, "care.pay")) == 1


async def test_a_case_without_a_policy_sum_takes_a_typed_amount_and_a_reason(
    bot: BotHarness,
) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"], event="retirement", policy_amount=0)
    await _show_card(bot, ORG, case.id or 0)
    rows: list[Row] = [
        (ORG, Press("已发放"), [says("这项没有政策标准", buttons=["❌ 取消"])]),
        (ORG, "1000000", [says("不超过 100000 元")]),
        (ORG, "300", [says("发放 300 元", "请简要说明依据")]),
        (ORG, "工会主席办公会决定", [says("发放慰问金 300 元"), edits("状态：已发放")]),
        (WANG, None, [says("300 元")]),
    ]
    await bot.dialog.play(rows)
    stored = _get(bot.database, case.id or 0)
    assert (stored.paid_amount, care.pay_reason(stored, CIPHER)) == (300, "工会主席办公会决定")


async def test_decline_needs_a_reason_and_the_officer_hears_it(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, ORG, case.id or 0)
    reason = "已在单位另行慰问，不重复发放"
    rows: list[Row] = [
        (ORG, Press("不予受理"), [says("请输入不予受理的原因", "会告知本人", buttons=["❌ 取消"])]),
        (ORG, "长" * 201, [says("不超过 200 字")]),
        (ORG, reason, [says(f"已登记 #{case.id} 不予受理", "已通知本人"), edits("不予受理")]),
        (WANG, None, [says("不予受理", f"原因：{reason}", "联系单位工会干部")]),
        # Declined is final: the card's old buttons only say where it stands (the card shows
        # it already, nothing to edit).
        (ORG, PressData(CaseAction("pay", case.id or 0).pack(), answer="现在是「不予受理」"), []),
        (ORG, PressData(CaseAction("visit", case.id or 0).pack(), answer="现在是「不予受理」"), []),
    ]
    await bot.dialog.play(rows)
    stored = _get(bot.database, case.id or 0)
    assert (stored.status, care.decline_reason(stored, CIPHER)) == ("declined", reason)
    assert stored.declined_by == "officer:200001"
    (entry,) = _audit(bot.database, "care.decline")
    assert reason not in entry.detail and json.loads(entry.detail)["reason_given"] is True


async def test_cancel_changes_nothing(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, ORG, case.id or 0)
    rows: list[Row] = [
        (ORG, Press("已发放"), [says("政策标准")]),
        (ORG, "/cancel", [says("已取消")]),
        (ORG, "800", [says("想办点什么")]),
        (ORG, Press("不予受理"), [says("请输入不予受理的原因")]),
        (ORG, Press("❌ 取消"), [edits("已取消")]),
        (ORG, "不想办了", [says("想办点什么")]),
    ]
    await bot.dialog.play(rows)
    assert _get(bot.database, case.id or 0).status == CaseStatus.REPORTED
    assert not _audit(bot.database, "care.pay") and not _audit(bot.database, "care.decline")
    with bot.database.session() as session:
        assert conversations.load_states(session, "care_admin") == {}
    assert not await bot.quiet(WANG)


async def test_forged_presses_by_an_officer_are_refused_and_audited(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    for person in (WANG, STRANGER):
        await bot.application.bot.send_message(person.id, "您好")
        await bot.client.replies(person.as_user(), count=1)
    case_id = case.id or 0
    rows: list[Row] = [
        (WANG, PressData(CaseAction("visit", case_id).pack(), answer=NOT_ALLOWED), []),
        (WANG, PressData(CaseAction("pay", case_id).pack(), answer=NOT_ALLOWED), []),
        (WANG, PressData(CaseAction("decline", case_id).pack(), answer=NOT_ALLOWED), []),
        (WANG, PressData(CaseFlowButton("abcd1234", "sum").pack(), answer=NOT_ALLOWED), []),
        (WANG, "1000", [says("想办点什么")]),
        (WANG, PressData("case:pay:not-a-number", answer=STALE), []),
        (STRANGER, PressData(CaseAction("visit", case_id).pack(), answer="请先发送 /start"), []),
    ]
    await bot.dialog.play(rows)
    assert _get(bot.database, case_id).status == CaseStatus.REPORTED
    for action in ("forged.case_visit", "forged.case_pay", "forged.case_decline"):
        (entry,) = _audit(bot.database, action)
        assert entry.actor == "officer:100001" and entry.target == str(case_id)
    (flow,) = _audit(bot.database, "forged.case_flow")
    assert flow.target == "sum"
    assert not _audit(bot.database, "care.visit")


async def test_second_presses_and_wrong_order_are_stale(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    case_id = case.id or 0
    await _show_card(bot, ORG, case_id)
    await _show_card(bot, ORG2, case_id)
    rows: list[Row] = [
        (ORG, Press("已探望"), [edits("状态：已探望")]),
        (WANG, None, [says("已登记对您的探望")]),
        # 钱's card still shows 已探望: the case moved on, and his card catches up.
        (
            ORG2,
            Press("已探望", answer="现在是「已探望」"),
            [edits("状态：已探望", buttons=["已发放", "不予受理"])],
        ),
        # 钱 starts paying; meanwhile 赵 declines; 钱's amount then finds it final.
        (ORG2, Press("已发放"), [says("政策标准")]),
        (ORG, Press("不予受理"), [says("请输入不予受理的原因")]),
        (ORG, "重复申报", [says("不予受理"), edits("状态：不予受理")]),
        (WANG, None, [says("不予受理", "重复申报")]),
        (ORG2, "1000", [says(f"#{case_id} 现在是「不予受理」", "什么都没有改动")]),
        (
            ORG2,
            PressData(CaseAction("pay", case_id).pack(), answer="现在是「不予受理」"),
            [edits("状态：不予受理")],
        ),
        (ORG2, PressData(CaseAction("decline", case_id).pack(), answer="现在是「不予受理」"), []),
    ]
    await bot.dialog.play(rows)
    stored = _get(bot.database, case_id)
    assert stored.status == CaseStatus.DECLINED and stored.paid_amount is None
    assert len(_audit(bot.database, "care.visit")) == 1
    assert not _audit(bot.database, "care.pay")
    assert not await bot.quiet(WANG)


async def test_the_sum_button_after_someone_else_paid_is_stale(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    case_id = case.id or 0
    await _show_card(bot, ORG, case_id)
    await _show_card(bot, ORG2, case_id)
    rows: list[Row] = [
        (ORG2, Press("已发放"), [says("政策标准")]),
        (ORG, Press("已发放"), [says("政策标准")]),
        (ORG, Press(PAY_SUM), [edits("发放慰问金 1000 元"), edits("状态：已发放")]),
        (WANG, None, [says("1000 元")]),
        (ORG2, Press(PAY_SUM, answer=STALE), []),
        (ORG2, Press("已探望", answer="现在是「已发放」"), [edits("状态：已发放")]),
    ]
    await bot.dialog.play(rows)
    assert len(_audit(bot.database, "care.pay")) == 1
    assert not await bot.quiet(WANG)


async def test_two_organizers_pressing_at_once_move_the_case_once(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    await _show_card(bot, ORG, case.id or 0)
    await _show_card(bot, ORG2, case.id or 0)
    queries = await asyncio.gather(
        bot.client.press(ORG.as_user(), "已探望"), bot.client.press(ORG2.as_user(), "已探望")
    )
    answers = [await bot.client.callback_answer(query, timeout=10) for query in queries]
    said = sorted(str((answer or {}).get("text")) for answer in answers)
    now = texts.CASE_NOW.format(status=texts.CASE_STATUS["visited"])
    assert said == sorted([texts.CASE_VISITED_DONE, now])
    assert len(_audit(bot.database, "care.visit")) == 1
    (told,) = await bot.client.replies(WANG.as_user(), count=1, timeout=10)
    assert "已登记对您的探望" in told.text
    assert not await bot.quiet(WANG)


async def test_an_officers_death_is_told_to_the_colleague_who_reported_it(
    bot: BotHarness,
) -> None:
    ids = await _start(bot)
    case = _case(
        bot.database,
        ids["zhou"],
        event="officer_death",
        policy_amount=2000,
        reporter_id=ids["li"],
    )
    await _show_card(bot, ORG, case.id or 0)
    rows: list[Row] = [
        (ORG, Press("已发放"), [says("政策标准：2000 元")]),
        (ORG, Press("✅ 按 2000 元发放"), [edits("2000 元", "已通知申报人"), edits("已发放")]),
        (LI, None, [says("您为周平申报的", "民警去世", "2000 元已发放")]),
    ]
    await bot.dialog.play(rows)


async def test_an_unbound_officer_is_not_told_and_the_organizer_knows(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["zhou"], event="marriage", up_to=True)
    await _show_card(bot, ORG, case.id or 0)
    rows: list[Row] = [
        (ORG, Press("已发放"), [says("政策标准：最高 1000 元")]),
        (ORG, Press(PAY_SUM), [edits("暂时收不到暖警的消息，请另行告知"), edits("已发放")]),
    ]
    await bot.dialog.play(rows)


async def test_a_flow_survives_a_restart(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    ids = _seed(database)
    case = _case(database, ids["wang"])
    settings = bot_settings(sandbox, database_url)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        for person in (ORG, WANG):
            await client.ensure_user(person.as_user())
        dialog = Dialog(client)
        first = build_application(settings, database, load_policy(None))
        async with polling(first, poll_timeout=1):
            await first.bot.send_message(ORG.id, "卡片", reply_markup=case_markup(case))
            await client.replies(ORG.as_user(), count=1)
            await dialog.play(
                [
                    (ORG, Press("已发放"), [says("政策标准")]),
                    (ORG, "900", [says("请简要说明原因")]),
                ]
            )
        with database.session() as session:
            key = conversations.key_of(ORG.id, ORG.id)
            assert conversations.state_of(session, "care_admin", key) == "ask_pay_reason"
            assert conversations.draft(session, "care_admin", key)["amount"] == 900
        second = build_application(settings, database, load_policy(None))
        async with polling(second, poll_timeout=1):
            await dialog.play(
                [
                    (ORG, "伤情较轻", [says("发放慰问金 900 元"), edits("已发放")]),
                    (WANG, None, [says("900 元")]),
                ]
            )
    assert _get(database, case.id or 0).paid_amount == 900


# --- /cases -------------------------------------------------------------------------------


def _list_seed(database: Database, ids: dict[str, int]) -> list[int]:
    """#1 王 住院 (reported in Jan), #2 李 结婚 (visited, Mar), #3 王 生育 (paid, Mar),
    #4 a duplicate of #1, #5 周 退休 (declined)."""
    jan = datetime(2026, 1, 15, 2, 0, tzinfo=UTC)
    mar = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
    first = _case(database, ids["wang"], event_date=date(2026, 1, 10), reported_at=jan)
    second = _case(
        database, ids["li"], event="marriage", event_date=date(2026, 2, 20), reported_at=mar
    )
    third = _case(
        database, ids["wang"], event="childbirth", event_date=date(2026, 3, 1), reported_at=mar
    )
    fourth = _case(
        database,
        ids["wang"],
        event_date=date(2026, 1, 11),
        duplicate_of=first.id,
        reported_at=jan,
    )
    fifth = _case(
        database, ids["zhou"], event="retirement", event_date=date(2026, 6, 30), reported_at=mar
    )
    with database.session() as session:
        for case_id, to, extra in (
            (second.id, CaseStatus.VISITED, {}),
            (third.id, CaseStatus.PAID, {"amount": 1000}),
            (fifth.id, CaseStatus.DECLINED, {"reason": "未满服务年限"}),
        ):
            locked = care.get(session, case_id or 0, for_update=True)
            assert locked is not None
            actor = "officer:200001" if case_id != fifth.id else "officer:200002"
            assert care.advance(session, locked, to, actor=actor, **extra, cipher=CIPHER)
    return [c.id or 0 for c in (first, second, third, fourth, fifth)]


def _listed(text: str) -> list[int]:
    """The case numbers a /cases answer lists, in order."""
    return [int(line.split()[0][1:]) for line in text.splitlines() if line.startswith("#")]


async def _cases(bot: BotHarness, who: Person, command: str) -> str:
    await bot.client.send_text(who.as_user(), command)
    (event,) = await bot.client.replies(who.as_user(), count=1, timeout=10)
    return event.text


async def test_cases_lists_open_cases_with_filters(bot: BotHarness) -> None:
    ids = await _start(bot)
    one, two, three, four, five = _list_seed(bot.database, ids)
    listed = await _cases(bot, ORG, "/cases")
    assert _listed(listed) == [one, two]
    assert "共 2 件" in listed and "待办" in listed and "/cases #编号" in listed
    assert f"#{one} 住院 王建国 天元分局 2026-01-10 已上报" in listed
    assert WARD not in listed and NOTE not in listed
    assert _listed(await _cases(bot, ORG, "/cases 住院")) == [one]
    assert _listed(await _cases(bot, ORG, "/cases 荷塘分局")) == [two]
    assert _listed(await _cases(bot, ORG, "/cases 已探望")) == [two]
    assert _listed(await _cases(bot, ORG, "/cases 已发放，不予受理")) == [three, five]
    assert _listed(await _cases(bot, ORG, "/cases 全部")) == [one, two, three, four, five]
    assert _listed(await _cases(bot, ORG, "/cases 全部 天元分局 住院")) == [one, four]
    # The period is the report date (Asia/Shanghai), both ends included.
    assert _listed(await _cases(bot, ORG, "/cases 2026-01-01 2026-01-31")) == [one]
    assert _listed(await _cases(bot, ORG, "/cases 全部 2026-03")) == [two, three, five]
    assert _listed(await _cases(bot, ORG, "/cases 2026/03/01")) == [two]
    assert _listed(await _cases(bot, ORG, "/cases 2026-03-02 2026-12-31")) == []
    assert "没有符合条件" in await _cases(bot, ORG, "/cases 生育")
    # #id shows the full card, health details included: an organizer's private chat.
    card = await _cases(bot, ORG, f"/cases #{one}")
    assert "慰问申报" in card and WARD in card and NOTE in card
    assert "没有编号为 #999" in await _cases(bot, ORG, "/cases #999")
    assert "/cases 住院 天元分局 已探望" in await _cases(bot, ORG, "/cases help")
    assert NOT_ALLOWED in await _cases(bot, WANG, "/cases")
    assert NOT_ALLOWED in await _cases(bot, WANG, "/cases export")
    assert "请先发送 /start" in await _cases(bot, STRANGER, "/cases")


async def test_an_unknown_word_is_named_with_the_usage(bot: BotHarness) -> None:
    await _start(bot)
    answer = await _cases(bot, ORG, "/cases 胡说")
    assert "看不懂「胡说」" in answer and "/cases 统计" in answer
    answer = await _cases(bot, ORG, "/cases 2026-01-01 2026-02-01 2026-03-01")
    assert "日期最多写两个" in answer


async def test_the_card_from_cases_has_working_buttons(bot: BotHarness) -> None:
    ids = await _start(bot)
    case = _case(bot.database, ids["wang"])
    rows: list[Row] = [
        (
            ORG,
            f"/cases #{case.id}",
            [says("状态：已上报", buttons=["已探望", "已发放", "不予受理"])],
        ),
        (ORG, Press("已探望"), [edits("状态：已探望")]),
        (WANG, None, [says("已登记对您的探望")]),
    ]
    await bot.dialog.play(rows)


# --- exports and figures ------------------------------------------------------------------


def _sheet_rows(data: bytes) -> list[tuple[Any, ...]]:
    workbook = load_workbook(io.BytesIO(data), read_only=True)
    sheet = workbook.worksheets[0]
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def _no_health_details(rows: list[tuple[Any, ...]]) -> None:
    for row in rows:
        for value in row:
            text = str(value or "")
            assert "心内科" not in text and "心肌梗塞" not in text and "床" not in text


async def test_cases_export_sends_finance_a_workbook(bot: BotHarness) -> None:
    ids = await _start(bot)
    one, two, three, four, five = _list_seed(bot.database, ids)
    outside = _case(bot.database, ids["wang"], event_date=date(2025, 12, 31))
    await bot.client.send_text(ORG.as_user(), "/cases export 2026-01-01 2026-12-31")
    (event,) = await bot.client.replies(ORG.as_user(), count=1, timeout=10)
    assert event.kind == "document"
    assert event.document_name == "cases-2026-01-01-2026-12-31.xlsx"
    assert "共 5 件" in event.text and "不含病区和说明" in event.text
    assert event.document_bytes is not None
    rows = _sheet_rows(event.document_bytes)
    assert rows[0] == texts.EXPORT_COLUMNS
    body = {row[0]: dict(zip(texts.EXPORT_COLUMNS, row, strict=True)) for row in rows[1:]}
    # Event date order; the case of 2025 is outside the period.
    assert [row[0] for row in rows[1:]] == [one, four, two, three, five]
    assert outside.id not in body
    first = body[one]
    assert (first["警号"], first["姓名"], first["单位"], first["事项"]) == (
        "100001",
        "王建国",
        "天元分局",
        "住院",
    )
    assert first["事件日期"].date() == date(2026, 1, 10)
    assert (first["政策金额"], first["发放金额"], first["状态"]) == (1000, None, "已上报")
    # 02:00 UTC is 10:00 in Shanghai.
    assert first["申报时间"] == datetime(2026, 1, 15, 10, 0)
    assert body[two]["探望人"] == "赵敏（200001）" and body[two]["探望时间"] is not None
    assert (body[three]["发放金额"], body[three]["发放人"]) == (1000, "赵敏（200001）")
    assert body[three]["状态"] == "已发放"
    assert (body[five]["不予受理人"], body[five]["原因"]) == ("钱进（200002）", "未满服务年限")
    assert body[four]["重复于"] == f"#{one}" and body[four]["状态"] == "重复申报"
    _no_health_details(rows)
    (entry,) = _audit(bot.database, "care.export")
    assert entry.actor == "officer:200001" and json.loads(entry.detail)["rows"] == 5


async def test_cases_export_defaults_to_this_year(bot: BotHarness) -> None:
    ids = await _start(bot)
    _case(bot.database, ids["wang"])
    year = datetime.now(SHANGHAI).year
    await bot.client.send_text(ORG.as_user(), "/cases export")
    (event,) = await bot.client.replies(ORG.as_user(), count=1, timeout=10)
    assert event.document_name == f"cases-{year}-01-01-{year}-12-31.xlsx"


def test_cli_export_writes_the_same_workbook(
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ids = _seed(database)
    _list_seed(database, ids)
    target = tmp_path / "cases.xlsx"
    env = {
        **os.environ,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": TEST_SECRET_KEY,
        "NUANJING_TIMEZONE": "Asia/Shanghai",
    }
    command = [sys.executable, "-m", "bot", "export", "cases"]
    done = subprocess.run(
        [*command, "--from", "2026-01-01", "--to", "2026-12-31", str(target)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "exported 5 cases" in done.stdout
    from_cli = _sheet_rows(target.read_bytes())
    in_chat, count = export_bytes(
        database, date(2026, 1, 1), date(2026, 12, 31), SHANGHAI, actor="test", cipher=CIPHER
    )
    assert count == 5 and from_cli == _sheet_rows(in_chat)
    _no_health_details(from_cli)
    assert _audit(database, "care.export")[-1].actor == "cli"
    # A reversed period or a file that is not .xlsx is refused in one line (in this process:
    # the run above already went through `python -m bot`).
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    capsys.readouterr()
    for args, message in (
        (["--from", "2026-12-31", "--to", "2026-01-01", str(target)], "is after"),
        (["--from", "2026-01-01", "--to", "2026-12-31", str(tmp_path / "x.csv")], ".xlsx"),
    ):
        assert cli.main(["export", "cases", *args]) == cli.EXIT_FAILED
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit) as bad_date:
        cli.main(["export", "cases", "--from", "soon", "--to", "2026-12-31", str(target)])
    assert bad_date.value.code == 2 and "not a date" in capsys.readouterr().err


async def test_cases_stats(bot: BotHarness) -> None:
    ids = await _start(bot)
    _list_seed(bot.database, ids)
    # An old case visited long ago counts towards "since 2018-09-01", not towards 2026.
    old = _case(bot.database, ids["zhou"], event_date=date(2019, 5, 1))
    with bot.database.session() as session:
        locked = care.get(session, old.id or 0, for_update=True)
        assert locked is not None
        care.advance(session, locked, CaseStatus.VISITED, actor="officer:200001", cipher=CIPHER)
    text = await _cases(bot, ORG, "/cases stats 2026-01-01 2026-12-31")
    assert "2026-01-01 至 2026-12-31" in text
    lines = text.splitlines()
    assert "住院：1 件，已发放 0 件，共 0 元" in lines  # the duplicate is not counted
    assert "结婚：1 件，已发放 0 件，共 0 元" in lines
    assert "生育：1 件，已发放 1 件，共 1000 元" in lines
    assert "退休：1 件，已发放 0 件，共 0 元" in lines
    assert "合计：4 件，已发放 1 件，共 1000 元" in lines
    # 李 (visited), 王 (paid) and 周 (visited in 2019).
    assert "自 2018-09-01 以来，工会共慰问 3 人。" in lines
    assert [line.split("：")[0] for line in lines[1:5]] == ["住院", "结婚", "生育", "退休"]
    empty = await _cases(bot, ORG, "/cases stats 2020")
    assert "2020-01-01 至 2020-12-31" in empty and "没有慰问申报" in empty
    assert NOT_ALLOWED in await _cases(bot, WANG, "/cases stats")


# --- the pure parts -----------------------------------------------------------------------


def test_parse_amount() -> None:
    assert parse_amount("800") == 800
    assert parse_amount(" 800 元 ") == 800
    assert parse_amount("１，０００元") == 1000
    assert parse_amount("1,000") == 1000
    for bad in ("", "八百", "800.5", "-5", "1e3", "12345678901"):
        assert parse_amount(bad) is None


def test_parse_filter_and_period() -> None:
    units = {"天元分局", "荷塘分局"}
    wanted = parse_filter(
        split_arguments("/cases 住院 天元分局 已探望 2026-01-01 2026-06-30"), units
    )
    assert (wanted.event, wanted.unit, wanted.statuses) == (
        "hospitalization",
        "天元分局",
        ("visited",),
    )
    assert (wanted.start, wanted.end) == (date(2026, 1, 1), date(2026, 6, 30))
    assert parse_filter(split_arguments("/cases 2026-06-30、2026-01-01"), units).start == date(
        2026, 1, 1
    )
    assert parse_filter(["#12"], units).case_id == 12
    assert parse_filter(["全部"], units).every_status
    assert parse_period(["2026"]) == (date(2026, 1, 1), date(2026, 12, 31))
    assert parse_period(["2026年2月"]) == (date(2026, 2, 1), date(2026, 2, 28))
    assert parse_period(["2026-03-05"]) == (date(2026, 3, 5), None)
    assert parse_period([]) == (None, None)
    for bad in (["胡说"], ["2026", "2026-01-01"], ["2026-13"], ["住院", "结婚"]):
        with pytest.raises(FilterError):
            parse_filter(bad, units)
    assert split_arguments("/cases") == []


@pytest.mark.parametrize(
    "command", ["/cases 9999", "/cases 2026-01-01 9999-12-31", "/cases 0001-01-01"]
)
async def test_far_dates_get_an_answer_not_a_crash(bot: BotHarness, command: str) -> None:
    await _start(bot)
    assert "看不懂" in await _cases(bot, ORG, command)
