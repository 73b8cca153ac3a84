"""Quiet hours: from 21:00 to 08:00 only urgent deliveries go out; the rest pause and resume."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.app import sender_of
from bot.broadcast import IDLE_POLL_SECONDS, QuietHours, Sender
from bot.policy import GreetingPolicy, load_policy
from bot.scheduler import clock_of
from bot.settings import SettingsError
from storage import broadcasts
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import BroadcastKind, Delivery, DeliveryState, Officer, Priority
from storage.types import utcnow
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 30)
QUIET = QuietHours.of(load_policy(None).greetings, SHANGHAI)
NOTICE = "明早八点在分局礼堂开会，请准时参加。"
APPEAL = "🆘 市中心医院急需 O 型血小板，能去的请回复。"
PEOPLE = [Person(7_950_000_000 + n, f"警员{n}") for n in range(8)]


def at(day: date, hour: int, minute: int = 0, second: float = 0) -> datetime:
    """A moment in Shanghai."""
    whole = int(second)
    moment = datetime.combine(day, time(hour, minute, whole), tzinfo=SHANGHAI)
    return moment + timedelta(seconds=second - whole)


def test_the_quiet_hours_span_midnight() -> None:
    assert (QUIET.start, QUIET.end) == (time(21, 0), time(8, 0))
    assert not QUIET.covers(at(DAY, 20, 59, 59))
    assert QUIET.covers(at(DAY, 21, 0))
    assert QUIET.covers(at(DAY, 23, 0))
    assert QUIET.covers(at(DAY, 7, 59, 59))
    assert not QUIET.covers(at(DAY, 8, 0))
    assert not QUIET.covers(at(DAY, 12, 0))
    # Read in the union's zone: 13:30 UTC is 21:30 in Shanghai.
    assert QUIET.covers(at(DAY, 21, 30).astimezone(ZoneInfo("UTC")))
    assert QUIET.seconds_left(at(DAY, 23, 0)) == 9 * 3600
    assert QUIET.seconds_left(at(DAY, 7, 59, 30)) == 30
    assert QUIET.seconds_left(at(DAY, 12, 0)) == 0
    never = QuietHours.of(GreetingPolicy(quiet_from="00:00", quiet_until="00:00"), SHANGHAI)
    assert not never.covers(at(DAY, 3, 0))
    daytime = QuietHours.of(GreetingPolicy(quiet_from="12:00", quiet_until="14:00"), SHANGHAI)
    assert daytime.covers(at(DAY, 13, 0)) and not daytime.covers(at(DAY, 23, 0))


def _queue(
    database: Database, recipients: Sequence[Recipient], text: str, priority: Priority
) -> int:
    with database.session() as session:
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.APPEAL if priority == Priority.URGENT else BroadcastKind.GREETING,
            priority=priority,
            text=text,
            recipients=recipients,
            created_by="test",
        )
    assert broadcast.id is not None
    return broadcast.id


def test_the_sender_neither_spins_nor_oversleeps_in_quiet_hours(database: Database) -> None:
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=41)
    assert officer.id is not None
    _queue(database, [Recipient(officer.id, 41)], "节日快乐", Priority.LOW)
    moments = {"now": at(DAY, 23, 0)}
    sender = Sender(
        object(),  # type: ignore[arg-type]
        database,
        rate=25,
        quiet=QUIET,
        now=lambda: moments["now"],
    )
    # A greeting is due, but at 23:00 it may not go: poll at the idle pace, not every 50 ms.
    assert sender.quiet_now()
    assert sender.idle_seconds() == IDLE_POLL_SECONDS
    with database.session() as session:
        assert broadcasts.claim_next(session, datetime.now(SHANGHAI), urgent_only=True) is None
    # Half a second before 08:00: wake up at 08:00, not a poll later.
    moments["now"] = at(DAY + timedelta(days=1), 7, 59, 59.5)
    assert sender.idle_seconds() == 0.5
    # Daytime: the due greeting is taken at once.
    moments["now"] = at(DAY + timedelta(days=1), 8, 0)
    assert not sender.quiet_now()
    assert sender.idle_seconds() == 0.05


def _received(bot: BotHarness, person: Person) -> list[str]:
    return [
        event["message"]["text"]
        for event in bot.sandbox.events(bot.settings.token(), person.id)
        if event["kind"] == "message"
    ]


def _states(database: Database, broadcast_id: int) -> dict[str, int]:
    with database.session() as session:
        rows = session.exec(
            select(Delivery.state).where(Delivery.broadcast_id == broadcast_id)
        ).all()
    counts: dict[str, int] = {}
    for state in rows:
        counts[str(state)] = counts.get(str(state), 0) + 1
    return counts


async def _until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    for _ in range(int(timeout / 0.05)):
        if check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_a_broadcast_pauses_at_nine_pm_urgent_goes_at_eleven_rest_at_eight(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    recipients = []
    for n, person in enumerate(PEOPLE):
        officer = add_officer(
            bot.database, f"40000{n}", person.first_name, f"+861380040000{n}", bound_to=person.id
        )
        assert officer.id is not None
        recipients.append(Recipient(officer.id, person.id))
    await bot.meet(*PEOPLE)
    token = bot.settings.token()
    sender = sender_of(bot.application)
    # Every look at the queue that found nothing it may send ends in idle_seconds.
    looks: list[bool] = []
    found_nothing = sender.idle_seconds

    def counted() -> float:
        looks.append(sender.quiet_now())
        return found_nothing()

    monkeypatch.setattr(sender, "idle_seconds", counted)

    async def nothing_taken_twice() -> None:
        """Woken twice, the sender found nothing it may send, twice, in the quiet hours.

        The second look began after the first ended, so after the caller's last check.
        """
        for seen in (len(looks), len(looks) + 1):
            sender.wake()
            await _until(lambda: len(looks) > seen, "the sender looked at the queue")  # noqa: B023
            assert looks[-1], "the sender looked outside the quiet hours"

    def delivered(text: str) -> int:
        return sum(text in _received(bot, person) for person in PEOPLE)

    # 20:59 until three officers have the notice, then 21:00: it reaches the quiet hours.
    clock = clock_of(bot.application)
    clock.set(lambda: at(DAY, 21, 0) if delivered(NOTICE) >= 3 else at(DAY, 20, 59))
    notice = _queue(bot.database, recipients, NOTICE, Priority.NORMAL)
    sender.wake()
    await _until(
        lambda: delivered(NOTICE) >= 3 and "sending" not in _states(bot.database, notice),
        "three notices sent and none in flight",
    )
    paused = _states(bot.database, notice)
    sent_before = paused.get("sent", 0)
    assert 3 <= sent_before < len(PEOPLE) and paused["pending"] == len(PEOPLE) - sent_before
    # Nothing more goes out while it is 21:00, however often the sender looks.
    await nothing_taken_twice()
    assert _states(bot.database, notice) == paused and delivered(NOTICE) == sent_before

    # 23:00: an urgent appeal goes out at once, to one who had the notice and one who had not.
    clock.freeze(at(DAY, 23, 0))
    waiting = [p for p in PEOPLE if NOTICE not in _received(bot, p)]
    had_it = [p for p in PEOPLE if NOTICE in _received(bot, p)]
    asked = [waiting[0], had_it[0]]
    appeal = _queue(
        bot.database,
        [r for r in recipients if r.chat_id in {p.id for p in asked}],
        APPEAL,
        Priority.URGENT,
    )
    sender.wake()
    await _until(lambda: _states(bot.database, appeal) == {"sent": 2}, "the appeal sent")
    assert [APPEAL in _received(bot, p) for p in asked] == [True, True]
    assert _states(bot.database, notice) == paused

    # 07:59 the next morning: still quiet.
    clock.freeze(at(DAY + timedelta(days=1), 7, 59))
    await nothing_taken_twice()
    assert _states(bot.database, notice) == paused

    # 08:00: the notice goes on by itself, to those still waiting, once each.
    clock.freeze(at(DAY + timedelta(days=1), 8, 0))
    await _until(lambda: _states(bot.database, notice) == {"sent": len(PEOPLE)}, "notice done")
    for person in PEOPLE:
        assert _received(bot, person).count(NOTICE) == 1
    assert _received(bot, waiting[0]) == [APPEAL, NOTICE]
    assert _received(bot, had_it[0]) == [NOTICE, APPEAL]
    sends = [c for c in bot.sandbox.calls(token) if c.method == "sendMessage" and c.status == 200]
    assert len(sends) == len(PEOPLE) + 2
    with bot.database.session() as session:
        assert broadcasts.progress(session, notice).sent == len(PEOPLE)


def test_a_bad_time_in_the_policy_stops_the_start() -> None:
    with pytest.raises(SettingsError, match=r"greetings\.quiet_from"):
        QuietHours.of(GreetingPolicy(quiet_from="21点"), SHANGHAI)
    with pytest.raises(SettingsError, match=r"greetings\.send_at"):
        QuietHours.of(GreetingPolicy(send_at="nine"), SHANGHAI)


def test_expired_and_opted_out_deliveries_are_dropped_when_taken(database: Database) -> None:
    """The sender's claim drops what is over (by the app's clock) and greetings refused since."""
    stays = add_officer(database, "600001", "甲", "+8613960000001", bound_to=9_600_001)
    leaves = add_officer(database, "600002", "乙", "+8613960000002", bound_to=9_600_002)
    assert stays.id is not None and leaves.id is not None
    start = datetime(2030, 6, 2, 9, tzinfo=UTC)
    with database.session() as session:
        reminder = broadcasts.create(
            session,
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text="提醒",
            recipients=[Recipient(stays.id, 9_600_001)],
            created_by="test",
            expires_at=start,
        )
        broadcasts.create(
            session,
            kind=BroadcastKind.GREETING,
            priority=Priority.LOW,
            text="问候",
            recipients=[Recipient(leaves.id, 9_600_002), Recipient(stays.id, 9_600_001)],
            created_by="test",
        )
        session.get(Officer, leaves.id).greetings_opt_out = True  # type: ignore[union-attr]
    with database.session() as session:
        # Past its end by the application's clock: the reminder is dropped, not sent late.
        claimed = broadcasts.claim_next(session, utcnow(), wall=start)
        assert claimed is not None and claimed.text == "问候" and claimed.officer_id == stays.id
    with database.session() as session:
        states = {
            (d.broadcast_id == reminder.id, d.officer_id): (d.state, d.error)
            for d in session.exec(select(Delivery))
        }
    assert states[(True, stays.id)] == (DeliveryState.CANCELLED, "expired")
    assert states[(False, leaves.id)] == (DeliveryState.CANCELLED, "opted out")
    assert states[(False, stays.id)][0] == DeliveryState.SENDING
