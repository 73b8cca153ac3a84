"""A graceful stop (issue 15, item 3), with real `nuanjing run` processes against the sandbox.

SIGTERM while an officer's answer is on its way (the sandbox holds every send for a while):
the process takes no new update (webhook: a POST is answered 503, so Telegram keeps it; polling:
it stops asking), finishes the update under way and its send, releases the lease and exits 0
within 10 s. The update refused meanwhile is handled after the restart, once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.policy import policy_text_without_quiet_hours
from bot.sandbox import Sandbox, SandboxClient
from storage import leases
from storage.db import Database
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, add_officer
from tests.dialogs import Dialog, Person, says
from tests.test_webhook import SECRET, bot_api, stored_updates

WANG = Person(7_700_000_001, "王警官")
LI = Person(7_700_000_002, "李警官")
START_TIMEOUT = 30.0
# Every send the sandbox answers this late: long enough to stop the bot while one is on its way.
SEND_DELAY = 3.0
STOP_LIMIT = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _environment(
    sandbox: Sandbox, database_url: str, tmp_path: Path, port: int, *, webhook: bool
) -> dict[str, str]:
    policy = tmp_path / "policy-without-quiet-hours.toml"
    policy.write_text(policy_text_without_quiet_hours(), encoding="utf-8")
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "NUANJING_API_BASE_URL": sandbox.api_base_url,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": TEST_SECRET_KEY,
        "NUANJING_POLICY_FILE": str(policy),
        "NUANJING_HTTP_LISTEN": f"127.0.0.1:{port}",
    }
    for name in ("NUANJING_WEBHOOK_URL", "NUANJING_WEBHOOK_SECRET"):
        env.pop(name, None)
    if webhook:
        env["NUANJING_WEBHOOK_URL"] = f"http://127.0.0.1:{port}/telegram/hook"
        env["NUANJING_WEBHOOK_SECRET"] = SECRET
    return env


@contextmanager
def _nuanjing_run(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
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


async def _wait_for(what: str, check: Any, timeout: float = START_TIMEOUT) -> None:
    """Wait until the coroutine function `check` returns true, looking every 0.05 s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def _healthy(port: int) -> bool:
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return False
    return answer.status_code == 200


async def _sending(client: SandboxClient, since: int) -> bool:
    """A sendMessage of the bot is in progress in the sandbox."""
    return any(
        call.method == "sendMessage" and call.status == 0 for call in (await client.calls())[since:]
    )


def _lease(database: Database) -> Any:
    with database.session() as session:
        return leases.current(session, "poller")


async def _stop_while_answering(process: subprocess.Popen[bytes], client: SandboxClient) -> float:
    """/me from 王, SIGTERM once its answer is on its way; the seconds the process took."""
    await client.configure(delay=SEND_DELAY)
    before = len(await client.calls())
    await client.send_text(WANG.as_user(), "/me")
    await _wait_for("the answer to be on its way", lambda: _sending(client, before))
    loop = asyncio.get_running_loop()
    signalled = loop.time()
    process.send_signal(signal.SIGTERM)
    return signalled


async def _exit_code(process: subprocess.Popen[bytes]) -> int:
    return await asyncio.to_thread(process.wait, STOP_LIMIT + 5)


async def test_sigterm_in_webhook_mode_finishes_the_update_refuses_new_ones_and_exits_0(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    add_officer(database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    add_officer(database, "100002", "李四", "+8613800000002", bound_to=LI.id)
    port = _free_port()
    env = _environment(sandbox, database_url, tmp_path, port, webhook=True)
    log = tmp_path / "run.log"
    loop = asyncio.get_running_loop()
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        await client.ensure_user(WANG.as_user())
        await client.ensure_user(LI.as_user())
        with _nuanjing_run(env, log) as run:
            await _wait_for("the listener", lambda: _healthy(port))

            async def webhook_set() -> bool:
                return bool((await bot_api(sandbox, "getWebhookInfo"))[1]["result"]["url"])

            await _wait_for("setWebhook", webhook_set)
            assert _lease(database) is not None
            signalled = await _stop_while_answering(run, client)

            # Meanwhile 李 writes: his update is refused (503) and stays with Telegram.
            async def refused() -> bool:
                info = (await bot_api(sandbox, "getWebhookInfo"))[1]["result"]
                return "503" in str(info.get("last_error_message"))

            async def stopped_taking() -> bool:
                async with httpx.AsyncClient() as http:
                    health = (await http.get(f"http://127.0.0.1:{port}/healthz")).json()
                return health["accepting_updates"] is False

            await _wait_for("the bot to stop taking updates", stopped_taking, STOP_LIMIT)
            await client.send_text(LI.as_user(), "/me")
            await _wait_for("李's update to be refused", refused, STOP_LIMIT)
            assert run.poll() is None, "still finishing 王's answer"
            code = await _exit_code(run)
            took = loop.time() - signalled
        assert code == 0, log.read_text(encoding="utf-8", errors="replace")
        assert took < STOP_LIMIT, f"the stop took {took:.1f} s"
        # 王's update was finished: his answer arrived, once.
        wang = await client.history(WANG.as_user())
        assert [("王建国" in event.text) for event in wang] == [True]
        assert await client.history(LI.as_user()) == []
        assert _lease(database) is None, "the lease was released"
        assert stored_updates(database) == 1, "李's update was never stored"
        info = (await bot_api(sandbox, "getWebhookInfo"))[1]["result"]
        assert info["pending_update_count"] == 1

        # The restart takes 李's update from Telegram and answers it; 王 hears nothing again.
        await client.configure(delay=0)
        with _nuanjing_run(env, log) as again:
            await Dialog(client).play([(LI, None, [says("李四")])])
            assert again.poll() is None
            again.send_signal(signal.SIGTERM)
            assert await _exit_code(again) == 0
        assert len(await client.history(WANG.as_user())) == 1
    text = log.read_text(encoding="utf-8", errors="replace")
    assert "stopped" in text
    assert SECRET not in text and TEST_TOKEN not in text


async def test_sigterm_in_polling_mode_finishes_the_update_and_exits_0(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    add_officer(database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    port = _free_port()
    env = _environment(sandbox, database_url, tmp_path, port, webhook=False)
    log = tmp_path / "run.log"
    loop = asyncio.get_running_loop()
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        await client.ensure_user(WANG.as_user())
        with _nuanjing_run(env, log) as run:
            await _wait_for("the listener", lambda: _healthy(port))
            signalled = await _stop_while_answering(run, client)
            code = await _exit_code(run)
            took = loop.time() - signalled
        assert code == 0, log.read_text(encoding="utf-8", errors="replace")
        assert took < STOP_LIMIT, f"the stop took {took:.1f} s"
        wang = await client.history(WANG.as_user())
        assert len(wang) == 1 and "王建国" in wang[0].text
        assert _lease(database) is None
    assert "stopped" in log.read_text(encoding="utf-8", errors="replace")
