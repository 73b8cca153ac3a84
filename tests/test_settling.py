"""The harness's "settled" (tests/settling.py): what it waits for, and what it does not."""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.app import sender_of
from bot.scheduler import clock_of
from storage import broadcasts
from storage.broadcasts import Recipient
from storage.models import BroadcastKind, Priority
from tests.conftest import TEST_TOKEN, BotHarness, add_officer
from tests.dialogs import Person, PressData, says
from tests.settling import unsettled

SHANGHAI = ZoneInfo("Asia/Shanghai")
CROWD = [Person(7_960_000_000 + n, f"警员{n}") for n in range(12)]
WANG = Person(7_960_100_001, "王警官")


def _queue(bot: BotHarness, text: str, priority: Priority) -> None:
    recipients = []
    for n, person in enumerate(CROWD):
        officer = add_officer(
            bot.database, f"45{n:04d}", person.first_name, f"+86138004{n:05d}", bound_to=person.id
        )
        assert officer.id is not None
        recipients.append(Recipient(officer.id, person.id))
    with bot.database.session() as session:
        broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=priority,
            text=text,
            recipients=recipients,
            created_by="test",
        )


def _received(bot: BotHarness, person: Person) -> list[str]:
    return [
        event["message"]["text"]
        for event in bot.sandbox.events(TEST_TOKEN, person.id)
        if event["kind"] == "message"
    ]


async def test_settled_waits_for_the_reply_and_for_every_delivery(bot: BotHarness) -> None:
    add_officer(bot.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    await bot.meet(WANG, *CROWD)
    await bot.client.send_text(WANG.as_user(), "/help")
    await bot.settle()
    [help_text] = await bot.client.quiet(WANG.as_user(), 0)
    assert "/me" in help_text.text
    _queue(bot, "周五下午开会", Priority.NORMAL)
    sender_of(bot.application).wake()
    await bot.settle()
    assert all(_received(bot, person) == ["周五下午开会"] for person in CROWD)
    assert await unsettled(bot.database, bot.application) is None


async def test_in_the_quiet_hours_only_urgent_deliveries_are_waited_for(bot: BotHarness) -> None:
    clock_of(bot.application).freeze(datetime.combine(datetime.now(SHANGHAI), time(23), SHANGHAI))
    await bot.meet(*CROWD)
    _queue(bot, "明早八点集合", Priority.NORMAL)
    sender_of(bot.application).wake()
    await bot.settle()  # the notice waits for the morning, by design: nothing to wait for
    assert all(_received(bot, person) == [] for person in CROWD)
    assert await unsettled(bot.database, bot.application) is None
    clock_of(bot.application).freeze(datetime.combine(datetime.now(SHANGHAI), time(12), SHANGHAI))
    assert await unsettled(bot.database, bot.application) == "12 delivery(ies) still to send"


async def test_a_bot_that_does_not_settle_is_named(bot: BotHarness) -> None:
    add_officer(bot.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    await bot.meet(WANG)
    await bot.dialog.play([(WANG, "/help", [says("/me")])])
    await bot.client.configure(delay=1.0)  # every send hangs in the sandbox
    await bot.client.send_text(WANG.as_user(), "/help")
    with pytest.raises(AssertionError, match="sendMessage"):
        await bot.settle(timeout=0.3)
    await bot.client.configure(delay=0)
    [late] = await bot.quiet(WANG)  # the send in flight lands; nothing else comes
    assert "/me" in late.text
    await bot.dialog.play([(WANG, PressData("a" * 60, answer="此按钮已失效"), [])])
