"""A bot process killed with SIGKILL mid-binding resumes at the step the officer last saw."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.policy import policy_text_without_quiet_hours
from bot.sandbox import Sandbox, SandboxClient
from storage import conversations, officers
from storage.db import Database
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, add_officer
from tests.dialogs import Contact, Dialog, Person, says
from tests.settling import settle

WANG = Person(7_300_000_001, "王警官")
START_TIMEOUT = 30.0


@contextmanager
def bot_process(
    sandbox: Sandbox, database_url: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot run` against the sandbox, as an operator would start it."""
    # Broadcasts must go out whatever the hour the tests run at: no quiet hours.
    policy = log.with_name("policy-without-quiet-hours.toml")
    policy.write_text(policy_text_without_quiet_hours(), encoding="utf-8")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "NUANJING_API_BASE_URL": sandbox.api_base_url,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": TEST_SECRET_KEY,
        "NUANJING_POLICY_FILE": str(policy),
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stdout=output, stderr=output
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


async def _wait_until_polling(client: SandboxClient, since: int) -> None:
    """Wait for the process's first getUpdates, i.e. until it is ready for officers."""
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        calls = await client.calls()
        if any(call.method.lower() == "getupdates" for call in calls[since:]):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot process did not start polling")


async def _wait_until_confirmed(client: SandboxClient) -> None:
    """Wait until the bot has confirmed every update, as it does on its next poll."""
    for _ in range(100):
        if not await client.pending_updates():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot never confirmed its updates")


async def test_sigkill_mid_binding_then_restart(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    add_officer(database, "100001", "王建国", "+8613800000001")
    log = tmp_path / "bot.log"
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        dialog = Dialog(client)
        with bot_process(sandbox, database_url, log) as first:
            await _wait_until_polling(client, 0)
            await dialog.play(
                [
                    (WANG, "/start", [says("欢迎使用暖警")]),
                    (WANG, Contact("+8613800000001"), [says("请输入您的警号")]),
                ]
            )
            # Killed with nothing in flight: a reply made but not yet struck off would be made
            # again on restart (at most twice, by design), which this test is not about.
            await settle(client, database)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert first.returncode == -signal.SIGKILL
        seen = len(await client.calls())
        with bot_process(sandbox, database_url, log):
            await _wait_until_polling(client, seen)
            await dialog.play(
                [
                    (WANG, "100001", [says("绑定成功", "王建国"), says("请选择")]),
                ]
            )
    with database.session() as session:
        assert officers.bound_officer(session, WANG.id) is not None
    text = log.read_text(encoding="utf-8", errors="replace")
    assert TEST_TOKEN not in text, "the token leaked into the log"
    assert "13800000001" not in text, "a phone number leaked into the log"


async def test_state_is_committed_before_its_prompt_is_sent(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    """Killed while the prompt is still on its way: the step is in the database, and the
    prompt is sent again on restart (issue 14)."""
    add_officer(database, "100001", "王建国", "+8613800000001")
    log = tmp_path / "bot.log"
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        dialog = Dialog(client)
        with bot_process(sandbox, database_url, log) as first:
            await _wait_until_polling(client, 0)
            await dialog.play([(WANG, "/start", [says("欢迎使用暖警")])])
            await client.configure(delay=60)  # every send now hangs in the sandbox
            before = len(await client.calls())
            await client.share_contact(WANG.as_user(), "+8613800000001")
            await _wait_for_send_in_flight(client, before)
            with database.session() as session:
                key = conversations.key_of(WANG.id, WANG.id)
                assert conversations.state_of(session, "binding", key) == "ask_police_id"
            await _wait_until_confirmed(client)
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        await client.configure(delay=0)
        seen = len(await client.calls())
        with bot_process(sandbox, database_url, log):
            await _wait_until_polling(client, seen)
            # The step was committed, its prompt never arrived: the restart sends it.
            await dialog.play(
                [
                    (WANG, None, [says("请输入您的警号")]),
                    (WANG, "100001", [says("绑定成功"), says("请选择")]),
                ]
            )


async def _wait_for_send_in_flight(client: SandboxClient, since: int) -> None:
    for _ in range(200):
        calls = (await client.calls())[since:]
        if any(c.method.lower() == "sendmessage" and c.status == 0 for c in calls):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the bot never started sending the prompt")


async def test_sigkill_mid_broadcast_then_restart(
    database: Database, database_url: str, tmp_path: Path
) -> None:
    """Every recipient gets the message; only sends in flight at the kill may come twice."""
    from bot.app import SENDER_IN_FLIGHT
    from storage import broadcasts
    from storage.broadcasts import Recipient
    from storage.models import BroadcastKind, Priority

    async with Sandbox(limits=True) as sandbox:
        recipients = []
        async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
            for index in range(60):
                user_id = 8_100_000_000 + index
                officer = add_officer(
                    database,
                    f"{700000 + index}",
                    f"警员{index}",
                    f"+861370000{index:04d}",
                    bound_to=user_id,
                )
                assert officer.id is not None
                recipients.append(Recipient(officer.id, user_id))
                await client.ensure_user({"id": user_id, "first_name": f"警员{index}"})
            with database.session() as session:
                broadcast = broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text="工会通知",
                    recipients=recipients,
                    created_by="test",
                )
            assert broadcast.id is not None
            log = tmp_path / "bot.log"
            with bot_process(sandbox, database_url, log) as first:
                for _ in range(400):
                    if sum(_sent(sandbox).values()) >= 15:
                        break
                    await asyncio.sleep(0.02)
                first.send_signal(signal.SIGKILL)
                first.wait(timeout=10)
            at_kill = sum(_sent(sandbox).values())
            assert 15 <= at_kill < 60, "kill while the broadcast is under way"
            with bot_process(sandbox, database_url, log):
                for _ in range(600):
                    with database.session() as session:
                        if broadcasts.progress(session, broadcast.id).settled:
                            break
                    await asyncio.sleep(0.05)
        per_chat = _sent(sandbox)
        assert set(per_chat) == {r.chat_id for r in recipients}, "somebody was lost"
        duplicates = sum(count - 1 for count in per_chat.values())
        assert duplicates <= SENDER_IN_FLIGHT
        assert sandbox.stats(TEST_TOKEN)["rate_limited"] == 0


def _sent(sandbox: Sandbox) -> dict[int, int]:
    counts: dict[int, int] = {}
    for call in sandbox.calls(TEST_TOKEN):
        if call.method == "sendMessage" and call.status == 200 and call.chat_id is not None:
            counts[call.chat_id] = counts.get(call.chat_id, 0) + 1
    return counts
