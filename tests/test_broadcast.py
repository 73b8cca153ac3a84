"""The broadcast engine against the sandbox with Telegram's limits on."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from types import SimpleNamespace
from typing import Any

import pytest
from sqlmodel import select
from telegram import Bot
from telegram.error import RetryAfter

from bot.broadcast import Picture, Sender
from bot.sandbox import Sandbox
from bot.sandbox import state as sandbox_state
from storage import broadcasts, officers
from storage.broadcasts import Claimed, Recipient
from storage.db import Database
from storage.models import BroadcastKind, Delivery, DeliveryState, Priority, TelegramBinding
from storage.types import utcnow
from tests.conftest import TEST_TOKEN, add_officer

FIRST_USER = 8_000_000_000


async def seed(
    database: Database, sandbox: Sandbox, count: int, *, known: bool = True, start: int = 0
) -> list[Recipient]:
    """Bound officers; `known` ones have written to the bot, so the sandbox knows their chat."""
    recipients = []
    client = sandbox.client(TEST_TOKEN)
    for index in range(start, start + count):
        user_id = FIRST_USER + index
        officer = add_officer(
            database,
            f"{500000 + index}",
            f"警员{index}",
            f"+861390000{index:04d}",
            bound_to=user_id,
        )
        assert officer.id is not None
        recipients.append(Recipient(officer.id, user_id))
        if known:
            await client.ensure_user({"id": user_id, "first_name": f"警员{index}"})
    await client.aclose()
    return recipients


def queue(
    database: Database,
    recipients: Sequence[Recipient],
    *,
    text: str = "通知",
    priority: Priority = Priority.NORMAL,
) -> int:
    with database.session() as session:
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=priority,
            text=text,
            recipients=recipients,
            created_by="test",
        )
    assert broadcast.id is not None
    return broadcast.id


@pytest.fixture
async def limited_sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox(limits=True) as sandbox:
        yield sandbox


async def running_sender(sandbox: Sandbox, database: Database, **options: float) -> Sender:
    bot = Bot(TEST_TOKEN, base_url=sandbox.api_base_url, base_file_url=sandbox.file_base_url)
    await bot.initialize()
    sender = Sender(bot, database, **{"rate": 25.0, **options})  # type: ignore[arg-type]
    await sender.start()
    return sender


async def stop(sender: Sender) -> None:
    await sender.stop()
    await sender.bot.shutdown()


async def settled(database: Database, broadcast_id: int, timeout: float = 30) -> None:
    for _ in range(int(timeout / 0.05)):
        with database.session() as session:
            if broadcasts.progress(session, broadcast_id).settled:
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the broadcast never settled")


async def until(condition: Callable[[], bool], what: str, timeout: float = 30) -> None:
    """Wait for a condition, polling; fail with `what` if it never holds."""
    for _ in range(int(timeout / 0.02)):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"never happened: {what}")


async def nothing_in_flight(sandbox: Sandbox) -> None:
    """Until the sandbox has answered every call of the bot and none is in progress."""
    state = await sandbox.wait_idle(TEST_TOKEN, settle=0.0, timeout=30)
    assert state.idle, f"calls still in flight: {state.in_flight}"


def sends_per_chat(sandbox: Sandbox) -> Counter[int]:
    return Counter(
        call.chat_id
        for call in sandbox.calls(TEST_TOKEN)
        if call.method == "sendMessage" and call.status == 200 and call.chat_id is not None
    )


async def test_default_rate_gets_no_429_and_reaches_everyone_once(
    limited_sandbox: Sandbox, database: Database
) -> None:
    recipients = await seed(database, limited_sandbox, 60)
    broadcast_id = queue(database, recipients, text="今晚八点全体会议")
    sender = await running_sender(limited_sandbox, database)
    try:
        await settled(database, broadcast_id)
    finally:
        await stop(sender)
    assert limited_sandbox.stats(TEST_TOKEN)["rate_limited"] == 0
    assert sends_per_chat(limited_sandbox) == Counter({r.chat_id: 1 for r in recipients})
    events = limited_sandbox.events(TEST_TOKEN, recipients[7].chat_id)
    assert [e["message"]["text"] for e in events] == ["今晚八点全体会议"]
    with database.session() as session:
        state = broadcasts.progress(session, broadcast_id)
    assert (state.sent, state.failed, state.blocked, state.waiting) == (60, 0, 0, 0)


async def test_retry_after_pauses_all_sending(
    limited_sandbox: Sandbox, database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sent faster than the sandbox allows: every 429 stops all sends for retry_after."""
    # A limit the sender passes even on a loaded machine (30 a second was missed once, with the
    # whole suite running on PostgreSQL).
    monkeypatch.setattr(sandbox_state, "GLOBAL_SENDS_PER_SECOND", 15)
    recipients = await seed(database, limited_sandbox, 80)
    broadcast_id = queue(database, recipients)
    sender = await running_sender(limited_sandbox, database, rate=200.0)
    try:
        await settled(database, broadcast_id, timeout=60)
    finally:
        await stop(sender)
    calls = [c for c in limited_sandbox.calls(TEST_TOKEN) if c.method == "sendMessage"]
    limited = [c for c in calls if c.status == 429]
    assert limited, "the test needs the sender to hit the limit"
    for hit in limited:
        # retry_after is at least 1 s; sends already in flight may land just after the 429.
        during_pause = [c for c in calls if hit.time + 0.15 < c.time < hit.time + 0.9]
        assert during_pause == [], f"sent during a pause: {during_pause}"
    assert sends_per_chat(limited_sandbox) == Counter({r.chat_id: 1 for r in recipients})


async def test_403_marks_the_officer_blocked_until_they_write(
    limited_sandbox: Sandbox, database: Database
) -> None:
    recipients = await seed(database, limited_sandbox, 5)
    blocked = recipients[2]
    limited_sandbox.configure(blocked_users=[blocked.chat_id])
    first = queue(database, recipients)
    second = queue(database, recipients)  # the blocked officer's second message is not tried
    sender = await running_sender(limited_sandbox, database)
    try:
        await settled(database, first)
        await settled(database, second)
        assert blocked.chat_id in sender.unreachable
        with database.session() as session:
            states = dict(
                session.exec(
                    select(Delivery.broadcast_id, Delivery.state).where(
                        Delivery.officer_id == blocked.officer_id
                    )
                ).all()
            )
            assert states == {first: DeliveryState.BLOCKED, second: DeliveryState.BLOCKED}
            # Still in the audience: a later broadcast counts them as unreachable, unsent.
            assert blocked in broadcasts.audience(session)
            assert broadcasts.unreached(session, first) == [("警员2", "500002", "blocked")]
        third = queue(database, recipients)
        await settled(database, third)
        with database.session() as session:
            assert broadcasts.unreached(session, third) == [("警员2", "500002", "unreachable")]
            state = broadcasts.progress(session, third)
            assert (state.total, state.sent, state.unreachable, state.not_reachable) == (5, 4, 1, 1)
        tried = [
            c
            for c in limited_sandbox.calls(TEST_TOKEN)
            if c.chat_id == blocked.chat_id and c.method == "sendMessage"
        ]
        assert [c.status for c in tried] == [403]
        sender.reachable_again(blocked.chat_id)  # they wrote to the bot
        with database.session() as session:
            binding = session.exec(
                select(TelegramBinding).where(TelegramBinding.chat_id == blocked.chat_id)
            ).one()
            assert binding.unreachable_since is None
            assert blocked in broadcasts.audience(session)
        limited_sandbox.configure(blocked_users=[])  # they unblocked the bot, then wrote
        fourth = queue(database, recipients)  # reachable again: sent to like anyone
        await settled(database, fourth)
        with database.session() as session:
            assert broadcasts.progress(session, fourth).sent == 5
    finally:
        await stop(sender)


async def test_5xx_is_retried_with_backoff_then_failed(
    limited_sandbox: Sandbox, database: Database
) -> None:
    recipients = await seed(database, limited_sandbox, 3)
    limited_sandbox.configure(error_rate=1.0)
    broadcast_id = queue(database, recipients)
    sender = await running_sender(limited_sandbox, database, max_attempts=3, backoff_seconds=0.05)
    try:
        await settled(database, broadcast_id)
    finally:
        await stop(sender)
    with database.session() as session:
        rows = session.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).all()
    assert {(r.state, r.attempts) for r in rows} == {(DeliveryState.FAILED, 3)}
    assert all("NetworkError" in r.error for r in rows)
    tries = Counter(
        c.chat_id for c in limited_sandbox.calls(TEST_TOKEN) if c.method == "sendMessage"
    )
    assert tries == Counter({r.chat_id: 3 for r in recipients})


async def test_transient_faults_still_deliver_once(
    limited_sandbox: Sandbox, database: Database
) -> None:
    recipients = await seed(database, limited_sandbox, 20)
    limited_sandbox.configure(error_rate=0.3, seed=7)
    broadcast_id = queue(database, recipients)
    sender = await running_sender(limited_sandbox, database, max_attempts=20, backoff_seconds=0.05)
    try:
        await settled(database, broadcast_id)
    finally:
        await stop(sender)
    assert limited_sandbox.stats(TEST_TOKEN)["faults"] > 0
    assert sends_per_chat(limited_sandbox) == Counter({r.chat_id: 1 for r in recipients})


async def test_chat_not_found_fails_without_retry(
    limited_sandbox: Sandbox, database: Database
) -> None:
    known = await seed(database, limited_sandbox, 2)
    unknown = await seed(database, limited_sandbox, 1, known=False, start=2)
    broadcast_id = queue(database, [*known, *unknown])
    sender = await running_sender(limited_sandbox, database)
    try:
        await settled(database, broadcast_id)
    finally:
        await stop(sender)
    with database.session() as session:
        row = session.exec(
            select(Delivery).where(Delivery.officer_id == unknown[0].officer_id)
        ).one()
    assert (row.state, row.attempts) == (DeliveryState.FAILED, 1)
    assert "chat not found" in row.error.lower()


async def test_urgent_goes_ahead_of_waiting_greetings(
    limited_sandbox: Sandbox, database: Database
) -> None:
    greeted = await seed(database, limited_sandbox, 300)
    urgent_to = await seed(database, limited_sandbox, 1, start=300)
    greetings = queue(database, greeted, text="节日快乐", priority=Priority.LOW)
    sender = await running_sender(limited_sandbox, database)
    try:
        # The greetings under way (a slot is 40 ms), then the appeal.
        await until(lambda: sum(sends_per_chat(limited_sandbox).values()) >= 5, "greetings sent")
        appeal = queue(database, urgent_to, text="紧急献血", priority=Priority.URGENT)
        sender.wake()
        await settled(database, appeal)
        with database.session() as session:
            waiting = broadcasts.progress(session, greetings).waiting
    finally:
        await stop(sender)
    assert waiting > 200, "the appeal must not wait for the greetings"
    calls = [c for c in limited_sandbox.calls(TEST_TOKEN) if c.method == "sendMessage"]
    urgent_index = next(i for i, c in enumerate(calls) if c.chat_id == urgent_to[0].chat_id)
    # At most a slot or two (plus sends already in flight) go out before it.
    assert urgent_index < 25


async def test_cancel_stops_further_sends(limited_sandbox: Sandbox, database: Database) -> None:
    recipients = await seed(database, limited_sandbox, 100)
    broadcast_id = queue(database, recipients)
    sender = await running_sender(limited_sandbox, database)
    try:
        await until(lambda: sum(sends_per_chat(limited_sandbox).values()) >= 5, "sends begun")
        with database.session() as session:
            assert broadcasts.cancel(session, broadcast_id)
        at_cancel = sum(sends_per_chat(limited_sandbox).values())
        # Settled: nothing left to send; then every send already under way has been answered.
        await settled(database, broadcast_id)
        await nothing_in_flight(limited_sandbox)
        after = sum(sends_per_chat(limited_sandbox).values())
    finally:
        await stop(sender)
    assert 0 < at_cancel < 100
    assert after - at_cancel <= 4  # only what was already in flight
    with database.session() as session:
        state = broadcasts.progress(session, broadcast_id)
        assert not broadcasts.cancel(session, broadcast_id)
    assert state.cancelled == 100 - after and state.sent == after


async def test_two_messages_to_one_chat_are_a_second_apart(
    limited_sandbox: Sandbox, database: Database
) -> None:
    recipients = await seed(database, limited_sandbox, 3)
    first = queue(database, recipients, text="第一条")
    second = queue(database, recipients, text="第二条")
    sender = await running_sender(limited_sandbox, database, rate=30.0)
    try:
        await settled(database, first)
        await settled(database, second)
    finally:
        await stop(sender)
    assert limited_sandbox.stats(TEST_TOKEN)["rate_limited"] == 0
    for recipient in recipients:
        times = [
            c.time
            for c in limited_sandbox.calls(TEST_TOKEN)
            if c.chat_id == recipient.chat_id and c.method == "sendMessage"
        ]
        assert len(times) == 2 and times[1] - times[0] >= 0.95


async def test_a_chat_second_counts_from_the_send_not_from_the_claim(
    limited_sandbox: Sandbox, database: Database
) -> None:
    """The first message's picture takes most of a second to draw: the second message still
    waits a whole second after the first one went out."""

    def slow_then_broken(claimed: Claimed) -> Picture:
        if claimed.text == "第一条":
            time.sleep(0.8)  # a slow drawing, in the sender's worker thread
        raise RuntimeError("no font")  # the text goes instead

    recipients = await seed(database, limited_sandbox, 1)
    sender = await running_sender(limited_sandbox, database, rate=30.0)
    sender.pictures["test"] = slow_then_broken
    try:
        first = queue(database, recipients, text="第一条")
        second = queue(database, recipients, text="第二条")
        await settled(database, first)
        await settled(database, second)
    finally:
        await stop(sender)
    chat_id = recipients[0].chat_id
    events = limited_sandbox.events(TEST_TOKEN, chat_id)
    assert [event["message"]["text"] for event in events] == ["第一条", "第二条"]
    times = [
        call.time
        for call in limited_sandbox.calls(TEST_TOKEN)
        if call.chat_id == chat_id and call.method == "sendMessage"
    ]
    assert len(times) == 2 and times[1] - times[0] >= 0.95


def test_queueing_twice_the_same_officer_is_impossible(database: Database) -> None:
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None
    twice = [Recipient(officer.id, 42), Recipient(officer.id, 42)]
    broadcast_id = queue(database, twice)
    with database.session() as session:
        rows = session.exec(select(Delivery).where(Delivery.broadcast_id == broadcast_id)).all()
        assert len(rows) == 1
        broadcast = broadcasts.get(session, broadcast_id)
        assert broadcast is not None and broadcast.total == 1


def test_in_flight_deliveries_are_requeued_at_start(database: Database) -> None:
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None
    queue(database, [Recipient(officer.id, 42)])
    with database.session() as session:
        claimed = broadcasts.claim_next(session, utcnow())
        assert claimed is not None
        assert broadcasts.claim_next(session, utcnow()) is None
    with database.session() as session:
        assert broadcasts.release_in_flight(session) == 1
        assert broadcasts.claim_next(session, utcnow()) is not None


async def test_progress_message_and_final_summary(
    limited_sandbox: Sandbox, database: Database
) -> None:
    organizer = (await seed(database, limited_sandbox, 1, start=900))[0]
    recipients = await seed(database, limited_sandbox, 12)
    limited_sandbox.configure(blocked_users=[recipients[0].chat_id])
    with database.session() as session:
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text="通知",
            recipients=recipients,
            created_by="test",
            progress_chat_id=organizer.chat_id,
        )
    assert broadcast.id is not None
    sender = await running_sender(limited_sandbox, database, rate=10.0, progress_every=0.3)
    try:
        shown = await sender.bot.send_message(organizer.chat_id, "准备发送")
        with database.session() as session:
            broadcasts.set_progress_message(session, broadcast.id, shown.message_id)
        await settled(database, broadcast.id)
        for _ in range(100):
            with database.session() as session:
                done = broadcasts.get(session, broadcast.id)
            if done is not None and done.finished_at is not None:
                break
            await asyncio.sleep(0.05)
        await nothing_in_flight(limited_sandbox)
    finally:
        await stop(sender)
    events = limited_sandbox.events(TEST_TOKEN, organizer.chat_id)
    edits = [e for e in events if e["kind"] == "edit"]
    assert any("发送中" in e["message"]["text"] for e in edits), "no progress was shown"
    assert any(
        b["text"] == "⏹ 停止发送"
        for e in edits
        for row in e["message"].get("reply_markup", {}).get("inline_keyboard", [])
        for b in row
    )
    final = edits[-1]["message"]
    assert final["text"] == "✅ 发送完成：已送达 11/12，失败 0，无法送达 1"
    assert "reply_markup" not in final  # no stop button on a finished broadcast
    assert events[-1]["kind"] == "message"
    assert events[-1]["message"]["text"] == "以下会员未能收到：\n警员0（500000）：已屏蔽机器人"
    with database.session() as session:
        finished = broadcasts.get(session, broadcast.id)
    assert finished is not None and finished.status == "done"


class FakeBot:
    """Stands in for telegram.Bot where a test needs a fault the sandbox cannot make."""

    def __init__(self, behaviour: Callable[[int, int], Awaitable[object]]) -> None:
        self.behaviour = behaviour
        self.sends: list[tuple[float, int]] = []

    async def send_message(self, chat_id: int, text: str, **_: object) -> object:
        self.sends.append((time.monotonic(), chat_id))
        return await self.behaviour(len(self.sends), chat_id)

    async def edit_message_text(self, *_: object, **__: object) -> None:
        return None


def test_a_stopped_broadcast_is_not_resumed_by_a_requeue(database: Database) -> None:
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None
    broadcast_id = queue(database, [Recipient(officer.id, 42)])
    with database.session() as session:
        claimed = broadcasts.claim_next(session, utcnow())
    assert claimed is not None
    with database.session() as session:
        assert broadcasts.cancel(session, broadcast_id)
    with database.session() as session:
        broadcasts.requeue(session, claimed.id)  # the in-flight send came back with a 429
    with database.session() as session:
        assert broadcasts.claim_next(session, utcnow()) is None
        state = broadcasts.progress(session, broadcast_id)
    assert (state.cancelled, state.waiting) == (1, 0)


def test_an_officer_unbound_since_queueing_is_skipped(database: Database) -> None:
    first = add_officer(database, "600001", "甲", "+8613700000001", bound_to=41)
    second = add_officer(database, "600002", "乙", "+8613700000002", bound_to=42)
    assert first.id is not None and second.id is not None
    broadcast_id = queue(database, [Recipient(first.id, 41), Recipient(second.id, 42)])
    with database.session() as session:
        officers.unbind(session, first.id)
    with database.session() as session:
        claimed = broadcasts.claim_next(session, utcnow())
        assert claimed is not None and claimed.chat_id == 42
        assert broadcasts.claim_next(session, utcnow()) is None
        assert broadcasts.progress(session, broadcast_id).cancelled == 1


async def test_no_send_starts_during_a_retry_after_pause(database: Database) -> None:
    recipients = []
    for index in range(6):
        officer = add_officer(
            database,
            f"{610000 + index}",
            f"员{index}",
            f"+861371000{index:04d}",
            bound_to=9_700_000 + index,
        )
        assert officer.id is not None
        recipients.append(Recipient(officer.id, 9_700_000 + index))
    queue(database, recipients)
    limited_at: list[float] = []

    async def behaviour(number: int, _chat: int) -> object:
        await asyncio.sleep(0.2)
        if number == 1:
            limited_at.append(time.monotonic())
            raise RetryAfter(1)
        return SimpleNamespace(message_id=number)

    bot = FakeBot(behaviour)
    sender = Sender(bot, database, rate=100, max_in_flight=2)  # type: ignore[arg-type]
    await sender.start()
    try:
        # Until sending goes on after the 429: the first send since is the pause's end.
        await until(
            lambda: bool(limited_at) and any(at > limited_at[0] for at, _ in bot.sends),
            "sending resumed after the pause",
        )
    finally:
        await sender.stop()
    during = [at for at, _ in bot.sends if limited_at[0] < at < limited_at[0] + 0.9]
    assert during == []


async def test_a_database_error_after_a_send_does_not_send_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=42)
    assert officer.id is not None
    broadcast_id = queue(database, [Recipient(officer.id, 42)])
    real = broadcasts.mark_sent
    failures = [RuntimeError("database is locked")]

    def flaky(session: Any, delivery_id: int, message_id: int) -> None:
        if failures:
            raise failures.pop()
        real(session, delivery_id, message_id)

    monkeypatch.setattr(broadcasts, "mark_sent", flaky)

    async def behaviour(number: int, _chat: int) -> object:
        return SimpleNamespace(message_id=number)

    bot = FakeBot(behaviour)
    sender = Sender(bot, database, rate=100)  # type: ignore[arg-type]
    await sender.start()
    try:
        await settled(database, broadcast_id, timeout=5)
    finally:
        await sender.stop()  # waits for any send still under way
    assert len(bot.sends) == 1
    with database.session() as session:
        assert broadcasts.progress(session, broadcast_id).sent == 1


async def test_a_picture_that_cannot_be_drawn_sends_the_text(
    limited_sandbox: Sandbox, database: Database
) -> None:
    """A picture maker that raises: the person still gets the text, the delivery is sent."""

    def broken(claimed: object) -> object:
        raise RuntimeError("no font")

    recipients = await seed(database, limited_sandbox, 1)
    sender = await running_sender(limited_sandbox, database)
    sender.pictures["test"] = broken  # type: ignore[assignment]
    try:
        broadcast_id = queue(database, recipients, text="新年快乐")
        await settled(database, broadcast_id)
    finally:
        await stop(sender)
    events = limited_sandbox.events(TEST_TOKEN, recipients[0].chat_id)
    assert [e["message"]["text"] for e in events] == ["新年快乐"]
    with database.session() as session:
        state = broadcasts.progress(session, broadcast_id)
    assert (state.sent, state.failed) == (1, 0)
