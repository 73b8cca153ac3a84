"""The broadcast engine under faults: slow answers, timeouts, 5xx and dropped connections on the
organizer's messages, and officers who blocked the bot before a broadcast (issue 14)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlmodel import col, select
from telegram import Bot
from telegram.error import NetworkError, TimedOut
from telegram.request import HTTPXRequest

from bot.broadcast import Sender
from bot.sandbox import Sandbox
from bot.sandbox.server import DROPPED
from storage import appeals, broadcasts, clubs, drives, events, greetings
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import (
    Audience,
    BroadcastKind,
    Delivery,
    DeliveryState,
    EventKind,
    Priority,
    TelegramBinding,
)
from storage.types import utcnow
from tests.conftest import TEST_TOKEN, add_officer
from tests.test_broadcast import FakeBot, queue, seed, settled

STOP_BUTTON = "⏹ 停止发送"


# --- helpers ---------------------------------------------------------------------------------


async def make_bot(sandbox: Sandbox) -> Bot:
    """The sender's own Bot, pooled as bot/app.py pools it (4 sends in flight + 1)."""
    bot = Bot(
        TEST_TOKEN,
        base_url=sandbox.api_base_url,
        base_file_url=sandbox.file_base_url,
        request=HTTPXRequest(connection_pool_size=5),
    )
    await bot.initialize()
    return bot


async def sender_for(
    sandbox: Sandbox, database: Database, bot: Bot | None = None, **options: Any
) -> Sender:
    """A started sender on `bot` (a new one if None), quick to retry and to report."""
    bot = bot or await make_bot(sandbox)
    defaults: dict[str, Any] = {
        "rate": 25.0,
        "backoff_seconds": 0.05,
        "report_backoff": 0.05,
        "progress_every": 0.1,
    }
    sender = Sender(bot, database, **{**defaults, **options})
    await sender.start()
    return sender


async def stop(sender: Sender) -> None:
    await sender.stop()
    await sender.bot.shutdown()


def announce(
    database: Database, recipients: Sequence[Recipient], organizer: Recipient, text: str = "通知"
) -> int:
    """An announcement whose progress the organizer watches, as /announce writes it."""
    with database.session() as session:
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text=text,
            recipients=recipients,
            created_by="test",
            progress_chat_id=organizer.chat_id,
        )
    assert broadcast.id is not None
    return broadcast.id


async def progress_message(
    bot: Bot, database: Database, organizer: Recipient, broadcast_id: int
) -> int:
    """The handler's part: the progress message, its id stored for the sender."""
    shown = await bot.send_message(organizer.chat_id, "📣 准备发送……")
    with database.session() as session:
        broadcasts.set_progress_message(session, broadcast_id, shown.message_id)
    return shown.message_id


async def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait for a condition, polling; fail with `what` if it never holds."""
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


def is_finished(database: Database, broadcast_id: int) -> bool:
    with database.session() as session:
        broadcast = broadcasts.get(session, broadcast_id)
    return broadcast is not None and broadcast.finished_at is not None


async def finished(database: Database, broadcast_id: int, timeout: float = 30) -> None:
    """Until the organizer was told everything (the broadcast is closed only then)."""
    await until(lambda: is_finished(database, broadcast_id), "the broadcast finished", timeout)


async def sandbox_idle(sandbox: Sandbox) -> None:
    """Until every call the sandbox took has been answered (slow ones commit late)."""
    state = await sandbox.wait_idle(TEST_TOKEN, settle=0.0, timeout=30)
    assert state.idle, f"calls still in flight: {state.in_flight}"


def copies(sandbox: Sandbox, chat_id: int) -> list[str]:
    """The texts of the messages the bot sent into a chat (what the officer sees)."""
    return [
        e["message"]["text"] for e in sandbox.events(TEST_TOKEN, chat_id) if e["kind"] == "message"
    ]


def edits(sandbox: Sandbox, chat_id: int) -> list[dict[str, Any]]:
    return [e["message"] for e in sandbox.events(TEST_TOKEN, chat_id) if e["kind"] == "edit"]


def has_stop_button(message: dict[str, Any]) -> bool:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return any(button["text"] == STOP_BUTTON for row in rows for button in row)


def states(database: Database, broadcast_id: int) -> Counter[str]:
    with database.session() as session:
        rows = session.exec(
            select(Delivery.state).where(Delivery.broadcast_id == broadcast_id)
        ).all()
    return Counter(str(state) for state in rows)


def mark_unreachable(database: Database, chat_id: int) -> None:
    """The officer blocked the bot during an earlier broadcast."""
    with database.session() as session:
        session.execute(
            update(TelegramBinding)
            .where(col(TelegramBinding.chat_id) == chat_id)
            .values(unreachable_since=utcnow())
        )


def timed_out(cause: Exception) -> TimedOut:
    """PTB's TimedOut as its HTTPXRequest raises it, from the httpx timeout."""
    error = TimedOut()
    error.__cause__ = cause
    return error


# --- item 3: ambiguous sends -----------------------------------------------------------------


async def test_an_api_answering_after_5_5_s_is_waited_for(
    sandbox: Sandbox, database: Database
) -> None:
    """The sender's read timeout is well above 5.5 s: one copy each, every one sent."""
    recipients = await seed(database, sandbox, 3)
    sandbox.configure(delay=5.5)
    broadcast_id = queue(database, recipients, text="明早八点集合")
    sender = await sender_for(sandbox, database)
    try:
        await settled(database, broadcast_id)
    finally:
        await stop(sender)
    for recipient in recipients:
        assert copies(sandbox, recipient.chat_id) == ["明早八点集合"]
    assert states(database, broadcast_id) == Counter({"sent": 3})


async def test_answers_slower_than_the_timeout_give_two_copies_at_most_and_maybe_delivered(
    sandbox: Sandbox, database: Database
) -> None:
    """The finding: Telegram answering after 5.5 s, the client giving up at 5 s (PTB's default).

    Played ten times faster, with more room between the two: Telegram answering after 1.5 s,
    the client giving up at 0.5 s. Every send arrives although it timed out. Each is tried at
    most twice (not five times), and the deliveries are reported as 可能已送达, not failed.
    """
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 3)
    broadcast_id = announce(database, recipients, organizer, text="紧急通知")
    bot = await make_bot(sandbox)
    await progress_message(bot, database, organizer, broadcast_id)
    sandbox.configure(delay=1.5)
    sender = await sender_for(sandbox, database, bot, send_timeout=0.5)
    try:
        await finished(database, broadcast_id, timeout=60)
    finally:
        await stop(sender)
    await sandbox_idle(sandbox)
    for recipient in recipients:
        assert copies(sandbox, recipient.chat_id) == ["紧急通知", "紧急通知"]
    assert states(database, broadcast_id) == Counter({"uncertain": 3})
    with database.session() as session:
        state = broadcasts.progress(session, broadcast_id)
    assert (state.sent, state.uncertain, state.failed, state.settled) == (0, 3, 0, True)
    summary = edits(sandbox, organizer.chat_id)[-1]
    assert summary["text"] == "✅ 发送完成：已送达 0/3，可能已送达 3，失败 0，无法送达 0"
    assert not has_stop_button(summary)
    # The list is a send too: it timed out twice, so it may be there twice, never more.
    lists = copies(sandbox, organizer.chat_id)[1:]
    expected = (
        "以下会员可能已收到（Telegram 未及时确认，为免重复未再补发）：\n"
        "警员0（500000）\n警员1（500001）\n警员2（500002）"
    )
    assert lists in ([expected], [expected, expected])


class ScriptedBot(FakeBot):
    """Answers sends in turn from a script: an exception to raise, or a message id."""

    def __init__(self, script: list[Exception | None]) -> None:
        async def behaviour(number: int, _chat: int) -> object:
            outcome = script[number - 1] if number <= len(script) else None
            if outcome is not None:
                raise outcome
            return SimpleNamespace(message_id=number)

        super().__init__(behaviour)


def fast_clock() -> float:
    """The sender's clock, ten times fast: the second between two sends to one chat (each
    retry of one delivery waits for it) takes a tenth of a second."""
    return time.monotonic() * 10


async def deliver_one(database: Database, bot: FakeBot, **options: Any) -> Delivery:
    """Send one delivery through a sender on `bot` until it settles; the row."""
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None
    broadcast_id = queue(database, [Recipient(officer.id, 42)])
    sender = Sender(
        bot,  # type: ignore[arg-type]
        database,
        rate=100,
        backoff_seconds=0.01,
        clock=fast_clock,
        **options,
    )
    await sender.start()
    try:
        await settled(database, broadcast_id, timeout=10)
    finally:
        await sender.stop()
    with database.session() as session:
        return session.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).one()


READ_TIMEOUT = httpx.ReadTimeout("no answer")
SERVER_ERROR = NetworkError("Internal Server Error")


async def test_a_send_that_timed_out_twice_is_uncertain(database: Database) -> None:
    bot = ScriptedBot([timed_out(READ_TIMEOUT), timed_out(READ_TIMEOUT)])
    row = await deliver_one(database, bot)
    assert len(bot.sends) == 2
    assert (row.state, row.attempts) == ("uncertain", 2)
    assert row.error.startswith(broadcasts.TIMED_OUT_MARK)


async def test_a_send_that_timed_out_then_went_through_is_sent(database: Database) -> None:
    bot = ScriptedBot([timed_out(READ_TIMEOUT)])
    row = await deliver_one(database, bot)
    assert len(bot.sends) == 2
    assert (row.state, row.message_id) == (DeliveryState.SENT, 2)


async def test_after_a_timeout_5xx_are_retried_but_a_second_timeout_ends_it(
    database: Database,
) -> None:
    script: list[Exception | None] = [timed_out(READ_TIMEOUT), SERVER_ERROR, SERVER_ERROR]
    bot = ScriptedBot([*script, timed_out(READ_TIMEOUT)])
    row = await deliver_one(database, bot, max_attempts=10)
    assert len(bot.sends) == 4  # two of them may have arrived: never a third
    assert (row.state, row.attempts) == ("uncertain", 4)


async def test_given_up_after_a_timeout_is_uncertain_not_failed(database: Database) -> None:
    bot = ScriptedBot([timed_out(READ_TIMEOUT), SERVER_ERROR, SERVER_ERROR, SERVER_ERROR])
    row = await deliver_one(database, bot, max_attempts=3)
    assert len(bot.sends) == 3
    assert (row.state, row.attempts) == ("uncertain", 3)


async def test_timeouts_before_the_request_left_keep_the_ordinary_backoff(
    database: Database,
) -> None:
    """Connecting or waiting for the pool timed out: nothing was sent, so nothing is uncertain."""
    connect = timed_out(httpx.ConnectTimeout("no connection"))
    pool = timed_out(httpx.PoolTimeout("pool full"))
    bot = ScriptedBot([connect, pool, connect, pool, connect])
    row = await deliver_one(database, bot, max_attempts=5)
    assert len(bot.sends) == 5
    assert (row.state, row.attempts) == (DeliveryState.FAILED, 5)
    assert not row.error.startswith(broadcasts.TIMED_OUT_MARK)


async def test_a_timeout_is_remembered_across_a_restart(database: Database) -> None:
    """The first send timed out, then the process died: the next timeout ends it."""
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None
    broadcast_id = queue(database, [Recipient(officer.id, 42)])
    with database.session() as session:
        claimed = broadcasts.claim_next(session, utcnow())
        assert claimed is not None and not claimed.timed_out
        broadcasts.retry_later(
            session, claimed.id, at=utcnow(), error="TimedOut: Timed out", timed_out=True
        )
        again = broadcasts.claim_next(session, utcnow())
        assert again is not None and again.timed_out  # as a restart would find it
    with database.session() as session:
        assert broadcasts.release_in_flight(session) == 1
    bot = ScriptedBot([timed_out(READ_TIMEOUT)])
    sender = Sender(bot, database, rate=100, backoff_seconds=0.01)  # type: ignore[arg-type]
    await sender.start()
    try:
        await settled(database, broadcast_id, timeout=10)
    finally:
        await sender.stop()
    assert len(bot.sends) == 1
    assert states(database, broadcast_id) == Counter({"uncertain": 1})


# --- item 4: the organizer always hears the result -------------------------------------------


async def test_5xx_and_a_dropped_connection_on_progress_edits_still_end_in_the_summary(
    sandbox: Sandbox, database: Database
) -> None:
    """Every progress edit fails while one delivery waits out its own 5xx: the failed edit is
    tried again (with the stop button), and the summary and the list still arrive."""
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 3)
    blocked, slow = recipients[0], recipients[2]
    sandbox.configure(blocked_users=[blocked.chat_id])
    broadcast_id = announce(database, recipients, organizer)
    bot = await make_bot(sandbox)
    message_id = await progress_message(bot, database, organizer, broadcast_id)
    sandbox.configure(
        scripted_faults={
            "editMessageText": [502, DROPPED, 500],
            f"sendMessage:{slow.chat_id}": [502, 502, 502],  # 3 s at 1 s per chat
        }
    )
    sender = await sender_for(sandbox, database, bot)
    try:
        # The stop button shows while the slow delivery is still being retried.
        await until(
            lambda: any(has_stop_button(m) for m in edits(sandbox, organizer.chat_id)),
            "the stop button is shown",
        )
        with database.session() as session:
            assert not broadcasts.progress(session, broadcast_id).settled
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    tried = [c.status for c in sandbox.calls(TEST_TOKEN) if c.method == "editMessageText"]
    assert tried[:3] == [502, DROPPED, 500] and tried[-1] == 200
    shown = edits(sandbox, organizer.chat_id)
    assert shown[0]["text"].startswith("📣 发送中：") and has_stop_button(shown[0])
    assert shown[-1]["message_id"] == message_id
    assert shown[-1]["text"] == "✅ 发送完成：已送达 2/3，失败 0，无法送达 1"
    assert not has_stop_button(shown[-1])
    assert copies(sandbox, organizer.chat_id) == [
        "📣 准备发送……",
        "以下会员未能收到：\n警员0（500000）：已屏蔽机器人",
    ]
    assert states(database, broadcast_id) == Counter({"sent": 2, "blocked": 1})


async def test_a_failed_list_of_the_unreached_is_sent_again(
    sandbox: Sandbox, database: Database
) -> None:
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 3)
    sandbox.configure(blocked_users=[recipients[1].chat_id])
    broadcast_id = announce(database, recipients, organizer)
    bot = await make_bot(sandbox)
    await progress_message(bot, database, organizer, broadcast_id)
    sandbox.configure(scripted_faults={f"sendMessage:{organizer.chat_id}": [502, DROPPED, 500]})
    sender = await sender_for(sandbox, database, bot)
    try:
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    tried = [
        c.status
        for c in sandbox.calls(TEST_TOKEN)
        if c.method == "sendMessage" and c.chat_id == organizer.chat_id
    ]
    assert tried == [200, 502, DROPPED, 500, 200]
    assert copies(sandbox, organizer.chat_id)[1:] == [
        "以下会员未能收到：\n警员1（500001）：已屏蔽机器人"
    ]


async def test_a_progress_message_that_never_arrived_is_replaced(
    sandbox: Sandbox, database: Database
) -> None:
    """The handler's progress message met a network error: the sender posts its own."""
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 15)
    broadcast_id = announce(database, recipients, organizer)
    bot = await make_bot(sandbox)
    sandbox.configure(scripted_faults={f"sendMessage:{organizer.chat_id}": [502]})
    with pytest.raises(NetworkError):
        await progress_message(bot, database, organizer, broadcast_id)
    sender = await sender_for(sandbox, database, bot, rate=5.0, progress_grace=timedelta(0))
    try:
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    events = sandbox.events(TEST_TOKEN, organizer.chat_id)
    posted = events[0]["message"]
    assert events[0]["kind"] == "message" and "发送中" in posted["text"]
    assert has_stop_button(posted)
    assert [e["kind"] for e in events[1:]] == ["edit"] * (len(events) - 1)
    assert events[-1]["message"]["message_id"] == posted["message_id"]
    assert events[-1]["message"]["text"] == "✅ 发送完成：已送达 15/15，失败 0，无法送达 0"
    with database.session() as session:
        broadcast = broadcasts.get(session, broadcast_id)
    assert broadcast is not None and broadcast.progress_message_id == posted["message_id"]


async def test_a_progress_message_that_cannot_be_edited_gets_the_summary_anew(
    sandbox: Sandbox, database: Database
) -> None:
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 4)
    mark_unreachable(database, recipients[3].chat_id)
    broadcast_id = announce(database, recipients, organizer)
    bot = await make_bot(sandbox)
    message_id = await progress_message(bot, database, organizer, broadcast_id)
    await bot.delete_message(organizer.chat_id, message_id)
    sender = await sender_for(sandbox, database, bot)
    try:
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    assert copies(sandbox, organizer.chat_id)[1:] == [
        "✅ 发送完成：已送达 3/4，失败 0，无法送达 1",
        "以下会员未能收到：\n警员3（500003）：此前已屏蔽机器人，未发送",
    ]


async def test_a_summary_that_edits_keep_failing_on_comes_as_a_new_message(
    sandbox: Sandbox, database: Database
) -> None:
    """Edits failing again and again (sends do not): after a few, the summary comes anew."""
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 2)
    broadcast_id = announce(database, recipients, organizer)
    bot = await make_bot(sandbox)
    await progress_message(bot, database, organizer, broadcast_id)
    sandbox.configure(scripted_faults={"editMessageText": [502] * 50})
    # The organizer's backoff doubles from here with each failed edit.
    sender = await sender_for(sandbox, database, bot, report_backoff=0.01)
    try:
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    assert copies(sandbox, organizer.chat_id)[1:] == ["✅ 发送完成：已送达 2/2，失败 0，无法送达 0"]


# --- item 4: officers who blocked the bot are counted, not dropped ---------------------------


async def test_an_unreachable_officer_is_counted_and_named_in_the_summary(
    sandbox: Sandbox, database: Database
) -> None:
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 5)
    mark_unreachable(database, recipients[2].chat_id)
    with database.session() as session:
        audience = broadcasts.audience(session)
    # The preview's count includes them (the organizer is an officer of the unit too).
    assert len(audience) == 6 and recipients[2] in audience
    staff = [r for r in audience if r != organizer]
    broadcast_id = announce(database, staff, organizer)
    with database.session() as session:
        broadcast = broadcasts.get(session, broadcast_id)
        assert broadcast is not None and broadcast.total == 5
        state = broadcasts.progress(session, broadcast_id)
        assert (state.total, state.waiting, state.unreachable) == (5, 4, 1)
    bot = await make_bot(sandbox)
    await progress_message(bot, database, organizer, broadcast_id)
    sender = await sender_for(sandbox, database, bot)
    try:
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    assert copies(sandbox, recipients[2].chat_id) == []
    assert all(
        c.chat_id != recipients[2].chat_id
        for c in sandbox.calls(TEST_TOKEN)
        if c.method == "sendMessage"
    ), "an unreachable officer is not tried"
    assert edits(sandbox, organizer.chat_id)[-1]["text"] == (
        "✅ 发送完成：已送达 4/5，失败 0，无法送达 1"
    )
    assert copies(sandbox, organizer.chat_id)[-1] == (
        "以下会员未能收到：\n警员2（500002）：此前已屏蔽机器人，未发送"
    )


async def test_a_broadcast_to_unreachable_officers_only_still_reports(
    sandbox: Sandbox, database: Database
) -> None:
    organizer = (await seed(database, sandbox, 1, start=900))[0]
    recipients = await seed(database, sandbox, 2)
    for recipient in recipients:
        mark_unreachable(database, recipient.chat_id)
    broadcast_id = announce(database, recipients, organizer)
    bot = await make_bot(sandbox)
    await progress_message(bot, database, organizer, broadcast_id)
    sender = await sender_for(sandbox, database, bot)
    try:
        await finished(database, broadcast_id)
    finally:
        await stop(sender)
    assert edits(sandbox, organizer.chat_id)[-1]["text"] == (
        "✅ 发送完成：已送达 0/2，失败 0，无法送达 2"
    )
    assert copies(sandbox, organizer.chat_id)[-1] == (
        "以下会员未能收到：\n"
        "警员0（500000）：此前已屏蔽机器人，未发送\n"
        "警员1（500001）：此前已屏蔽机器人，未发送"
    )


def test_every_audience_includes_officers_who_blocked_the_bot(database: Database) -> None:
    """broadcasts, appeals, clubs, drives, events and greetings: nobody silently left out."""
    reachable = add_officer(
        database, "700001", "甲", "+8613700000001", bound_to=71, blood_group="O", gender="F"
    )
    blocked = add_officer(
        database, "700002", "乙", "+8613700000002", bound_to=72, blood_group="O", gender="F"
    )
    assert reachable.id is not None and blocked.id is not None
    mark_unreachable(database, 72)
    both = [Recipient(reachable.id, 71), Recipient(blocked.id, 72)]
    now = utcnow()
    with database.session() as session:
        drive = drives.create(
            session,
            starts_at=now + timedelta(days=3),
            place="市中心血站",
            capacity=10,
            blood_types_wanted="",
            created_by="test",
        )
        event = events.create(
            session,
            kind=EventKind.OUTING,
            title="登山",
            starts_at=now + timedelta(days=3),
            ends_at=now + timedelta(days=3, hours=2),
            place="岳麓山",
            capacity=10,
            signup_deadline=now + timedelta(days=2),
            created_by="test",
        )
        assert drive.id is not None and event.id is not None
        drive_id, event_id = drive.id, event.id
    for officer_id in (reachable.id, blocked.id):
        with database.session() as session:
            clubs.join(session, officer_id, "马拉松")
        with database.session() as session:
            assert drives.sign_up(session, drive_id, officer_id, now=now).outcome == "signed"
        with database.session() as session:
            signed = events.sign_up(session, event_id, officer_id, "F", now=now)
            assert signed.outcome == "signed"
    with database.session() as session:
        assert broadcasts.audience(session) == both
        candidates = appeals.candidates(session, blood_group="O", rh_negative=False)
        assert [c.recipient for c in candidates] == both
        assert clubs.member_recipients(session, "马拉松") == both
        assert drives.signed_recipients(session, drive_id) == both
        everyone = events.audience_recipients(
            session, kind=EventKind.OUTING, audience=Audience.WOMEN, value=""
        )
        assert everyone == both
        assert events.concerned(session, event_id) == both
        assert events.signed_before(session, event_id, utcnow()) == both
        greeted = greetings.festival_recipients(session, "guoqing", date(2026, 10, 1))
        assert [(g.officer_id, g.chat_id) for g in greeted] == [
            (r.officer_id, r.chat_id) for r in both
        ]
        # Written as a broadcast: the blocked officer is settled at once, never claimed.
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text="通知",
            recipients=both,
            created_by="test",
        )
        assert broadcast.id is not None and broadcast.total == 2
        claimed = broadcasts.claim_next(session, utcnow())
        assert claimed is not None and claimed.officer_id == reachable.id
        assert broadcasts.claim_next(session, utcnow()) is None
        assert broadcasts.unreached(session, broadcast.id) == [("乙", "700002", "unreachable")]


# --- the database gate -----------------------------------------------------------------------


async def test_the_sender_writes_only_when_the_gate_is_free(database: Database) -> None:
    """While an update's handling holds Database.gate, the sender claims nothing."""
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None

    async def behaviour(number: int, _chat: int) -> object:
        return SimpleNamespace(message_id=number)

    bot = FakeBot(behaviour)
    sender = Sender(bot, database, rate=100, progress_every=0.05)  # type: ignore[arg-type]
    await sender.start()
    try:
        async with database.gate:
            broadcast_id = queue(database, [Recipient(officer.id, 42)])
            sender.wake()
            # Both of the sender's tasks queue up: the claim (woken) and the progress watcher.
            await until(
                lambda: len(getattr(database.gate, "_waiters", None) or ()) >= 2,
                "the sender waits for the gate",
            )
            assert bot.sends == []
            assert states(database, broadcast_id) == Counter({"pending": 1})
        await settled(database, broadcast_id, timeout=5)
    finally:
        await sender.stop()
    assert len(bot.sends) == 1
