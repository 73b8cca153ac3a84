"""The update inbox: every update stored before it is acknowledged, each handled exactly once.

A crash before an update's transaction commits leaves nothing of it and it is handled again; a
crash after it never handles it again, and the prompt it had not yet sent is sent on restart.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select
from telegram import Update
from telegram.request import BaseRequest

from bot.app import BotApplication, build_application, inbox_of, polling
from bot.inbox import MEMORY_WINDOW, POLL_BACKLOG, Inbox
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from storage import broadcasts, conversations
from storage import inbox as inbox_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import CareCase, InboxUpdate, Lease, PendingReply
from storage.types import utcnow
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, BotHarness, add_officer, bot_settings
from tests.dialogs import Dialog, Person, Press, edits, says
from tests.settling import settle
from tests.test_care_report import day, hospitalization_rows
from tests.test_crash import (
    _wait_for_send_in_flight,
    _wait_until_confirmed,
    _wait_until_polling,
    bot_process,
)

WANG = Person(7_400_000_001, "王警官")


def _seed(database: Database) -> None:
    add_officer(
        database, "100001", "王建国", "+8613800000001", bound_to=WANG.id, birthday=_birthday()
    )


def _birthday() -> date:
    return date(1985, 3, 12)


def _start_update(update_id: int, person: Person, text: str = "/start") -> Update:
    """An update as Telegram would send it: a private message from `person`."""
    user = {"id": person.id, "is_bot": False, "first_name": person.first_name}
    data: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(utcnow().timestamp()),
            "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": user,
            "text": text,
        },
    }
    if text.startswith("/"):
        data["message"]["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        ]
    update = Update.de_json(data, None)
    assert update is not None
    return update


def _application(sandbox: Sandbox, database: Database, database_url: str) -> BotApplication:
    return build_application(bot_settings(sandbox, database_url), database, load_policy(None))


# --- storage -------------------------------------------------------------------------------


def test_an_update_is_stored_once_however_often_it_comes(database: Database) -> None:
    now = utcnow()
    rows = [inbox_storage.Incoming(5, 1, "a"), inbox_storage.Incoming(6, None, "b")]
    with database.session() as session:
        assert inbox_storage.store(session, rows, now) == {5, 6}
    with database.session() as session:
        again = [inbox_storage.Incoming(6, None, "b"), inbox_storage.Incoming(7, 2, "c")]
        assert inbox_storage.store(session, again, now) == {7}
        assert inbox_storage.last_update_id(session) == 7
        assert [i for i, _ in inbox_storage.waiting(session)] == [5, 6, 7]
        assert inbox_storage.waiting(session, leave_out={5}, limit=1) == [(6, "b")]
        assert inbox_storage.count_waiting(session) == 3


def test_claim_mark_and_purge(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        inbox_storage.store(session, [inbox_storage.Incoming(1, 1, "x")], now)
        # Taking an update marks it handled in the same transaction.
        assert inbox_storage.claim(session, 1, now - timedelta(days=8)) is True
        assert inbox_storage.claim(session, 1, now) is False
        assert inbox_storage.claim(session, 99, now) is None
    with database.session() as session:
        assert inbox_storage.claim(session, 1, now) is False
        assert inbox_storage.waiting(session) == []
        inbox_storage.store(session, [inbox_storage.Incoming(2, 1, "y")], now)
        inbox_storage.mark_handled(session, 2, now - timedelta(days=6))
        inbox_storage.store(session, [inbox_storage.Incoming(3, 1, "z")], now)
    with database.session() as session:
        # Only what was handled more than a week ago goes; the unhandled stay.
        assert inbox_storage.purge(session, now - timedelta(days=7)) == 1
        left = session.exec(
            select(InboxUpdate.update_id).order_by(col(InboxUpdate.update_id))
        ).all()
        assert list(left) == [2, 3]


def test_replies_keep_their_order_until_forgotten(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        ids = inbox_storage.add_replies(session, 4, [("one", None), ("two", "appeal_tally:1")], now)
    with database.session() as session:
        pending = inbox_storage.pending_replies(session)
        assert [(r.payload, r.on_sent) for r in pending] == [
            ("one", None),
            ("two", "appeal_tally:1"),
        ]
        inbox_storage.forget_replies(session, ids[:1])
    with database.session() as session:
        assert [r.payload for r in inbox_storage.pending_replies(session)] == ["two"]


def test_erase_since_blanks_one_senders_handled_updates_only(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        rows = [
            inbox_storage.Incoming(10, 1, "before"),
            inbox_storage.Incoming(11, 1, "fill"),
            inbox_storage.Incoming(12, 2, "someone else"),
            inbox_storage.Incoming(13, 1, "submit"),
            inbox_storage.Incoming(14, 1, "not yet handled"),
            inbox_storage.Incoming(15, 1, "after"),
        ]
        inbox_storage.store(session, rows, now)
        for update_id in (10, 11, 12, 15):
            inbox_storage.mark_handled(session, update_id, now)
    with database.session() as session:
        # The update being handled: claimed in the same transaction, so blanked with the rest.
        assert inbox_storage.claim(session, 13, now) is True
        assert inbox_storage.erase_since(session, 1, 11, 14) == 2
    with database.session() as session:
        left = session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id))).all()
        assert [(u.update_id, u.payload) for u in left] == [
            (10, "before"),
            (11, ""),
            (12, "someone else"),
            (13, ""),
            (14, "not yet handled"),
            (15, "after"),
        ]
        # Still known as handled: never handled twice.
        assert inbox_storage.claim(session, 11, now) is False
        assert [i for i, _ in inbox_storage.waiting(session)] == [14]


# --- the bot -------------------------------------------------------------------------------


async def test_updates_are_stored_sealed_and_marked_handled(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    _seed(database)
    application = _application(sandbox, database, database_url)
    async with (
        SandboxClient(sandbox.base_url, TEST_TOKEN) as client,
        polling(application, poll_timeout=1),
    ):
        await Dialog(client).play([(WANG, "/me", [says("王建国")])])
        await _wait_until_confirmed(client)
    with database.session() as session:
        (row,) = session.exec(select(InboxUpdate)).all()
        assert row.handled_at is not None and row.user_id == WANG.id
        assert "/me" not in row.payload, "the update is stored sealed"
        assert (
            json.loads(FieldCipher(TEST_SECRET_KEY).decrypt(row.payload))["message"]["text"]
            == "/me"
        )
        assert session.exec(select(PendingReply)).all() == [], "made replies are dropped"


async def test_an_update_stored_but_not_handled_is_handled_at_start(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """Killed after storing, before handling: the next start handles it, once."""
    _seed(database)
    first = _application(sandbox, database, database_url)
    inbox = inbox_of(first)
    waiting, handled = _start_update(900_001, WANG, "/me"), _start_update(900_000, WANG, "/help")
    assert await inbox.store([handled, waiting]) == {900_000, 900_001}
    with database.session() as session:
        inbox_storage.mark_handled(session, 900_000, utcnow())
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        await client.ensure_user(WANG.as_user())
        application = _application(sandbox, database, database_url)
        async with polling(application, poll_timeout=1):
            await Dialog(client).play([(WANG, None, [says("王建国", "100001")])])
            await settle(client, database)
            assert await client.quiet(WANG.as_user(), 0) == [], "/help was handled before"
    with database.session() as session:
        assert inbox_storage.waiting(session) == []


async def test_a_backlog_larger_than_memory_is_read_back_a_window_at_a_time_in_order(
    sandbox: Sandbox, database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A restart finds more stored updates than memory may hold: no more than MEMORY_WINDOW
    are in hand at once, and each is handled once, every officer's in the order received."""
    people = [WANG, Person(7_400_000_002, "李警官"), Person(7_400_000_003, "赵警官")]
    _seed(database)
    add_officer(database, "100002", "李卫东", "+8613800000002", bound_to=people[1].id)
    add_officer(database, "100003", "赵红梅", "+8613800000003", bound_to=people[2].id)
    total = 2 * MEMORY_WINDOW + 17
    assert total % 3 == 0
    first = _application(sandbox, database, database_url)
    left = [_start_update(500_000 + n, people[n % 3], "/me") for n in range(total)]
    assert len(await inbox_of(first).store(left)) == total
    in_hand: list[int] = []
    began: list[tuple[int, int]] = []
    handle = Inbox._handle

    async def recorded(self: Inbox, update: Update, coroutine: Any) -> None:
        in_hand.append(self.backlog)
        assert update.effective_user is not None
        began.append((update.effective_user.id, update.update_id))
        await handle(self, update, coroutine)

    monkeypatch.setattr(Inbox, "_handle", recorded)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        for person in people:
            await client.ensure_user(person.as_user())
        application = _application(sandbox, database, database_url)
        async with polling(application, poll_timeout=1):
            await settle(client, database, application, timeout=60)
            assert not inbox_of(application).behind
        names = {WANG.id: "王建国", people[1].id: "李卫东", people[2].id: "赵红梅"}
        for person in people:
            cards = await client.history(person.as_user())
            assert len(cards) == total // 3
            assert all(names[person.id] in card.text for card in cards)
    assert max(in_hand) == MEMORY_WINDOW, "a window in hand at a time, no more"
    assert sorted(began) == sorted((u.effective_user.id, u.update_id) for u in left)  # type: ignore[union-attr]
    for person in people:
        ids = [update_id for officer, update_id in began if officer == person.id]
        assert ids == sorted(ids), "each officer's in order"
    with database.session() as session:
        assert inbox_storage.count_waiting(session) == 0


async def test_an_error_reading_waiting_updates_back_stops_the_inbox(
    sandbox: Sandbox, database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Updates left behind must not wait for good: a reader that fails halts the inbox, so
    that the process restarts and reads them again."""
    _seed(database)
    first = _application(sandbox, database, database_url)
    assert await inbox_of(first).store([_start_update(600_000, WANG, "/me")]) == {600_000}

    def broken(*_args: Any, **_kwargs: Any) -> list[tuple[int, str]]:
        raise RuntimeError("a bug")

    monkeypatch.setattr(inbox_storage, "waiting", broken)
    application = _application(sandbox, database, database_url)
    async with polling(application, poll_timeout=1):
        inbox = inbox_of(application)
        await asyncio.wait_for(inbox.failed.wait(), timeout=10)
        assert inbox.halted and inbox.behind
    with database.session() as session:
        assert inbox_storage.count_waiting(session) == 1, "left for the next start"


def _three_officers(database: Database) -> list[Person]:
    people = [WANG, Person(7_400_000_002, "李警官"), Person(7_400_000_003, "赵警官")]
    _seed(database)
    add_officer(database, "100002", "李卫东", "+8613800000002", bound_to=people[1].id)
    add_officer(database, "100003", "赵红梅", "+8613800000003", bound_to=people[2].id)
    return people


class Claims:
    """The inbox's claim statements sent, each with the number of updates it takes."""

    def __init__(self, database: Database) -> None:
        self.sizes: list[int] = []
        self._engine = database.engine
        event.listen(self._engine, "before_cursor_execute", self._seen)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.startswith("UPDATE update_inbox SET handled_at") and "RETURNING" in statement:
            self.sizes.append(len(parameters) - 1)  # the ids, and when they were taken

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._seen)


async def _handle_at_once(bot: BotHarness, updates: list[Update]) -> list[int]:
    """Store the updates, then hand them to the inbox at the same moment, as the processor
    does with different officers' updates; the claims made, by how many updates each took."""
    inbox = inbox_of(bot.application)
    assert await inbox.store(updates) == {update.update_id for update in updates}
    # As the poller hands them over: tied to the bot that answers them.
    bound = [Update.de_json(update.to_dict(), bot.application.bot) for update in updates]
    claims = Claims(bot.database)
    try:
        await asyncio.gather(
            *(inbox.handle(update, bot.application.process_update(update)) for update in bound)
        )
    finally:
        claims.close()
    return claims.sizes


async def test_updates_waiting_together_are_handled_in_one_transaction(bot: BotHarness) -> None:
    """Different officers' updates that wait for the database at once are taken by one claim
    and committed together; each is answered once, with its own card."""
    people = _three_officers(bot.database)
    await bot.meet(*people)
    updates = [_start_update(700_000 + n, person, "/me") for n, person in enumerate(people)]
    assert await _handle_at_once(bot, updates) == [3], "one claim for the three"
    for person, name in zip(people, ("王建国", "李卫东", "赵红梅"), strict=True):
        (card,) = await bot.client.history(person.as_user())
        assert name in card.text
    with bot.database.session() as session:
        assert inbox_storage.count_waiting(session) == 0


async def _li_fails_alone(bot: BotHarness, people: list[Person], first_update_id: int) -> None:
    """The three officers send /me at once, and 李卫东's handler fails: the batch is taken by one
    claim and each update again alone; the others get their cards, 李卫东 nothing, and every
    update counts as handled."""
    updates = [_start_update(first_update_id + n, person, "/me") for n, person in enumerate(people)]
    claims = await _handle_at_once(bot, updates)
    assert claims == [3, 1, 1, 1], "the batch's claim, then each alone"
    (wang_card,) = await bot.client.history(WANG.as_user())
    (zhao_card,) = await bot.client.history(people[2].as_user())
    assert "王建国" in wang_card.text and "赵红梅" in zhao_card.text
    assert await bot.client.history(people[1].as_user()) == []
    with bot.database.session() as session:
        assert inbox_storage.count_waiting(session) == 0, "the failed one counts as handled"


async def test_a_failure_in_a_batch_keeps_nothing_of_it_and_each_goes_again_alone(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One officer's handler fails in a batch: the batch is rolled back whole, then each update
    is handled in a transaction of its own: the others are answered once, the failing one
    counts as handled and answers nothing."""
    people = _three_officers(bot.database)
    await bot.meet(*people)
    from handlers import profile

    card = profile.profile_card

    def broken_for_li(officer: Any, **kwargs: Any) -> str:
        if officer.name == "李卫东":
            raise ValueError("a bug in one card")
        return card(officer, **kwargs)

    monkeypatch.setattr(profile, "profile_card", broken_for_li)
    await _li_fails_alone(bot, people, first_update_id=710_000)


async def test_a_block_without_a_savepoint_that_fails_after_writing_fails_its_update(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handler catches the error of a block that makes no savepoint, after the block wrote:
    its writes cannot be undone alone, so the batch is rolled back whole and each update goes
    again alone, where that one fails; the others are answered once, and nothing of the failed
    block is kept."""
    people = _three_officers(bot.database)
    await bot.meet(*people)
    from handlers import profile

    card = profile.profile_card

    def caught_for_li(officer: Any, **kwargs: Any) -> str:
        if officer.name == "李卫东":
            try:
                with bot.database.session(savepoint=False) as session:
                    session.add(Lease(name="half-done", holder="li", expires_at=utcnow()))
                    session.flush()
                    raise ValueError("an error the handler catches")
            except ValueError:
                pass
        return card(officer, **kwargs)

    monkeypatch.setattr(profile, "profile_card", caught_for_li)
    await _li_fails_alone(bot, people, first_update_id=715_000)
    with bot.database.session() as session:
        assert session.exec(select(Lease)).all() == []


async def test_a_reader_that_caught_up_never_stops_the_inbox(bot: BotHarness) -> None:
    """The race bench/webhook.py met: the reader catches up and ends, and an update is left
    behind again before the ended reader's callback runs (a new reader takes that one). The
    callback must not take the reader for a failed one."""
    inbox = inbox_of(bot.application)

    async def caught_up() -> None:
        return None

    ended = asyncio.create_task(caught_up())
    await ended
    inbox._behind = True  # left behind again, its own reader already started
    try:
        inbox._reader_ended(ended)
        assert not inbox.halted and not inbox.failed.is_set()
    finally:
        inbox._behind = False


class Crash(BaseException):
    """What a SIGKILL does to a handler: nothing after it runs, nothing is caught."""


async def test_a_crash_before_the_commit_leaves_nothing_and_the_update_is_handled_again(
    sandbox: Sandbox, database: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hospital answer is handled, its step saved and its prompt held back, when the
    process dies just before the commit: after the restart it is handled from the start, the
    officer hears the ward question once, and the ward lands under the ward."""
    _seed(database)
    original = inbox_storage.add_replies_of
    crashes: list[int] = []

    def die_before_the_commit(session: Any, replies: Any, now: Any) -> None:
        crashes.extend(sorted({update_id for update_id, _, _ in replies}))
        raise Crash

    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        dialog = Dialog(client)
        application = _application(sandbox, database, database_url)
        async with polling(application, poll_timeout=1):
            await dialog.play(hospitalization_rows(WANG))
            await settle(client, database)
            monkeypatch.setattr(inbox_storage, "add_replies_of", die_before_the_commit)
            loop = asyncio.get_running_loop()
            previous = loop.get_exception_handler()
            loop.set_exception_handler(lambda _loop, _context: None)
            try:
                await client.send_text(WANG.as_user(), "市中心医院")
                for _ in range(200):
                    if crashes:
                        break
                    await asyncio.sleep(0.02)
                assert crashes, "the handling never reached its commit"
                await _wait_until_confirmed(client)
            finally:
                loop.set_exception_handler(previous)
        monkeypatch.setattr(inbox_storage, "add_replies_of", original)
        with database.session() as session:
            key = conversations.key_of(WANG.id, WANG.id)
            # The step was saved inside the handling; the crash took it back with everything.
            assert conversations.state_of(session, "care_report", key) == "hospital"
            assert "hospital" not in conversations.draft(session, "care_report", key)
            assert [i for i, _ in inbox_storage.waiting(session)] == crashes
            assert inbox_storage.pending_replies(session) == []
        assert await client.quiet(WANG.as_user(), 0) == [], "no prompt escaped the crash"
        restarted = _application(sandbox, database, database_url)
        async with polling(restarted, poll_timeout=1):
            await dialog.play(
                [
                    (WANG, None, [says("请输入病区和床号")]),
                    (WANG, "心内科3床", [says("请输入入院日期")]),
                ]
            )
            await settle(client, database)
            assert await client.quiet(WANG.as_user(), 0) == [], "the ward question came once"


async def test_a_handler_error_keeps_nothing_and_later_updates_go_on(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A step that raises after saving rolls back whole: no half-saved step, no prompt; the
    update counts as handled and the officer's next message is answered as usual."""
    _seed(bot.database)
    await bot.dialog.play(hospitalization_rows(WANG))
    from handlers import care

    original = care.prompt

    async def broken_prompt(*args: Any, **kwargs: Any) -> None:
        raise ValueError("a bug in a step")

    monkeypatch.setattr(care, "prompt", broken_prompt)
    await bot.client.send_text(WANG.as_user(), "市中心医院")
    await settle(bot.client, bot.database)
    monkeypatch.setattr(care, "prompt", original)
    with bot.database.session() as session:
        key = conversations.key_of(WANG.id, WANG.id)
        assert conversations.state_of(session, "care_report", key) == "hospital"
        assert "hospital" not in conversations.draft(session, "care_report", key)
    assert await bot.client.quiet(WANG.as_user(), 0) == []
    await bot.dialog.play([(WANG, "市中心医院", [says("请输入病区和床号")])])


async def test_a_busy_database_is_waited_for_without_blocking_the_bot(
    bot: BotHarness,
) -> None:
    """Another connection holds SQLite's write lock (a worker thread, a roster import): the
    update waits for it with the event loop free, then is handled once."""
    if bot.database.dialect != "sqlite":
        pytest.skip("SQLite's database lock")
    _seed(bot.database)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with bot.database.engine.connect() as connection:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            holding.set()
            release.wait(timeout=30)
            connection.commit()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert await asyncio.to_thread(holding.wait, 10)
        await bot.client.send_command(WANG.as_user(), "/me")
        # The loop stays free while the update waits: the sandbox (same loop) answers.
        for _ in range(20):
            assert await bot.client.quiet(WANG.as_user(), 0) == []
            await asyncio.sleep(0.05)
    finally:
        release.set()
        await asyncio.to_thread(holder.join, 10)
    await bot.dialog.play([(WANG, None, [says("王建国")])])
    await settle(bot.client, bot.database)
    assert await bot.client.quiet(WANG.as_user(), 0) == [], "answered once"


async def test_a_reply_refused_by_a_blocked_officer_marks_them_unreachable(
    bot: BotHarness,
) -> None:
    """A reply Telegram refuses with 403 marks the account, so the next notice is honest."""
    _seed(bot.database)
    await bot.client.configure(blocked_users=[WANG.id])
    await bot.client.send_command(WANG.as_user(), "/me")
    for _ in range(200):
        with bot.database.session() as session:
            if broadcasts.is_unreachable(session, WANG.id):
                break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the refusal was not recorded")


async def test_the_poller_survives_a_database_error_and_asks_again(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that could not be stored is not acknowledged: Telegram sends it again."""
    _seed(bot.database)
    original = inbox_storage.store
    failures: list[int] = []

    def fail_once(*args: Any, **kwargs: Any) -> set[int]:
        if not failures:
            failures.append(1)
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return original(*args, **kwargs)

    monkeypatch.setattr(inbox_storage, "store", fail_once)
    await bot.dialog.play([(WANG, "/me", [says("王建国")])])
    assert failures == [1]
    await settle(bot.client, bot.database)
    assert await bot.client.quiet(WANG.as_user(), 0) == [], "answered once"


async def test_a_prompt_killed_in_flight_is_sent_on_restart_and_the_answer_lands_in_its_step(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    """SIGKILL after the hospital answer committed, while its prompt hangs on the way: the
    restart sends the ward question, and the ward answer is stored as the ward."""
    _seed(database)
    log = tmp_path / "bot.log"
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        dialog = Dialog(client)
        with bot_process(sandbox, database_url, log) as first:
            await _wait_until_polling(client, 0)
            await dialog.play(hospitalization_rows(WANG))
            await client.configure(delay=60)  # every send now hangs in the sandbox
            before = len(await client.calls())
            await client.send_text(WANG.as_user(), "市中心医院")
            await _wait_for_send_in_flight(client, before)
            await _wait_until_confirmed(client)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        await client.configure(delay=0)
        seen = len(await client.calls())
        with bot_process(sandbox, database_url, log):
            await _wait_until_polling(client, seen)
            await dialog.play(
                [
                    (WANG, None, [says("请输入病区和床号")]),
                    (WANG, "心内科3床", [says("请输入入院日期")]),
                    (WANG, _days_ago(2), [says("还有需要说明的吗", buttons=["跳过"])]),
                    (
                        WANG,
                        Press("跳过"),
                        [says("请确认申报内容", "医院：市中心医院", "病区：心内科3床")],
                    ),
                    (WANG, Press("✅ 提交"), [edits("已提交，编号 #1")]),
                ]
            )
    with database.session() as session:
        (case,) = session.exec(select(CareCase)).all()
        assert case.hospital == "市中心医院"


def _days_ago(days: int) -> str:
    return day(-days)


async def test_updates_are_kept_as_telegram_sent_them() -> None:
    """The getUpdates transport keeps the batch's JSON (the inbox stores it, not to_dict)."""
    from bot.inbox import RawUpdatesRequest

    batch = [{"update_id": 7, "message": {"message_id": 1, "text": "/me", "x_new": 1}}]

    class Fake(BaseRequest):
        @property
        def read_timeout(self) -> float | None:
            return None

        async def initialize(self) -> None: ...

        async def shutdown(self) -> None: ...

        async def do_request(self, url: str, method: str, *args: Any, **kwargs: Any) -> Any:
            if url.endswith("/getUpdates"):
                return 200, json.dumps({"ok": True, "result": batch}).encode()
            return 200, b'{"ok": true, "result": true}'

    raw = RawUpdatesRequest(Fake())
    await raw.do_request("https://api/bot1:x/getUpdates", "POST")
    assert raw.take() == {7: batch[0]}
    assert raw.take() == {}, "taken once"
    await raw.do_request("https://api/bot1:x/getMe", "POST")
    assert raw.take() == {}


# The most updates one getUpdates call returns (the Bot API's limit, the poller's default).
GET_UPDATES_LIMIT = 100


async def test_the_poller_takes_no_more_than_the_handlers_keep_up_with(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the handlers are held up the poller stops asking, the rest waiting at Telegram;
    once they go on it takes the rest, and every update is answered once."""
    _seed(bot.database)
    inbox = inbox_of(bot.application)
    handlers_go = asyncio.Event()
    backlogs: list[int] = []
    handle = Inbox._handle

    async def held_up(self: Inbox, update: Update, coroutine: Any) -> None:
        backlogs.append(self.backlog)
        await handlers_go.wait()
        await handle(self, update, coroutine)

    monkeypatch.setattr(Inbox, "_handle", held_up)
    sent = POLL_BACKLOG + 2 * GET_UPDATES_LIMIT
    for _ in range(sent):
        await bot.client.send_command(WANG.as_user(), "/me")
    deadline = asyncio.get_running_loop().time() + 10
    while not inbox.poller_waits:
        assert asyncio.get_running_loop().time() < deadline, "the poller never stopped asking"
        await asyncio.sleep(0.01)
    with bot.database.session() as session:
        taken = len(session.exec(select(InboxUpdate.update_id)).all())
    assert taken == inbox.backlog
    assert POLL_BACKLOG < taken <= POLL_BACKLOG + GET_UPDATES_LIMIT
    assert len(await bot.client.pending_updates()) >= sent - taken, "the rest wait at Telegram"

    handlers_go.set()
    cards = await bot.client.replies(WANG.as_user(), count=sent, timeout=30)
    assert len(cards) == sent and all("王建国" in card.text for card in cards)
    assert max(backlogs) <= POLL_BACKLOG + GET_UPDATES_LIMIT
    assert await bot.quiet(WANG) == [], "each answered once"
    assert inbox.backlog == 0 and not inbox.poller_waits
