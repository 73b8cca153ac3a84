"""Webhook mode (issue 15, item 1): the sandbox speaks Telegram's webhook methods and POSTs
updates; the bot takes them through its HTTP listener into the same inbox polling fills.

Sandbox: setWebhook's checks, getWebhookInfo, getUpdates refused while a webhook is set,
deleteWebhook; delivery with the secret header, in order per chat, retried after a non-2xx.
Bot: a dialog (an officer's /me and a button press) by webhook; setWebhook called with the URL,
the secret, allowed_updates and max_connections; a retried update handled once; polling after a
webhook deletes it first, and only then.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlmodel import col, func, select
from telegram import Update

from bot.app import BotApplication, build_application, inbox_of
from bot.http import Listener, bind
from bot.inbox import MEMORY_WINDOW, Inbox
from bot.policy import load_policy
from bot.runner import taking_updates
from bot.sandbox import Sandbox, SandboxClient
from bot.settings import Settings
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import InboxUpdate
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, add_officer
from tests.dialogs import Dialog, Person, Press, edits, says
from tests.settling import settle, until

SECRET = "webhook_Secret-2026"
HOOK_PATH = "/telegram/nuanjing"
WANG = Person(7_500_000_001, "王警官")
LI = Person(7_500_000_002, "李警官")


# --- the bot in webhook mode, in this process ----------------------------------------------


@dataclass
class WebhookBot:
    """A bot taking updates by webhook from the sandbox, with its listener's address."""

    application: BotApplication
    database: Database
    client: SandboxClient
    sandbox: Sandbox
    settings: Settings
    listener: Listener
    base: str  # http://127.0.0.1:PORT

    @property
    def hook_url(self) -> str:
        """Where the listener takes the webhook's POSTs."""
        return self.base + HOOK_PATH

    async def settle(self) -> None:
        """Every update delivered, stored, handled and answered."""
        await settle(self.client, self.database, self.application)

    @property
    def dialog(self) -> Dialog:
        """A table player on this bot."""
        return Dialog(self.client, settled=self.settle)


def webhook_settings(sandbox: Sandbox, database_url: str, port: int, **more: Any) -> Settings:
    """Settings of a bot in webhook mode listening on 127.0.0.1:port, ignoring .env."""
    values: dict[str, Any] = {
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "NUANJING_API_BASE_URL": sandbox.api_base_url,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": TEST_SECRET_KEY,
        "NUANJING_HTTP_LISTEN": f"127.0.0.1:{port}",
        "NUANJING_WEBHOOK_URL": f"http://127.0.0.1:{port}{HOOK_PATH}",
        "NUANJING_WEBHOOK_SECRET": SECRET,
        "NUANJING_WEBHOOK_MAX_CONNECTIONS": "12",
        **more,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@asynccontextmanager
async def webhook_bot(
    sandbox: Sandbox, database: Database, database_url: str
) -> AsyncIterator[WebhookBot]:
    """The real Application in webhook mode, started as `nuanjing run` starts it."""
    sock = bind("127.0.0.1", 0)  # a free port, held from here on
    port = int(sock.getsockname()[1])
    settings = webhook_settings(sandbox, database_url, port)
    application = build_application(settings, database, load_policy(None))
    async with (
        SandboxClient(sandbox.base_url, TEST_TOKEN) as client,
        taking_updates(application, settings, sock, token=TEST_TOKEN) as listener,
    ):
        assert listener is not None
        yield WebhookBot(
            application, database, client, sandbox, settings, listener, f"http://127.0.0.1:{port}"
        )


@pytest.fixture
async def hooked(
    sandbox: Sandbox, database: Database, database_url: str
) -> AsyncIterator[WebhookBot]:
    """A bot in webhook mode against the sandbox."""
    async with webhook_bot(sandbox, database, database_url) as running:
        yield running


async def bot_api(sandbox: Sandbox, method: str, **parameters: Any) -> tuple[int, Any]:
    """Call the sandbox's Bot API directly: (HTTP status, the answer's JSON)."""
    async with httpx.AsyncClient() as http:
        response = await http.post(f"{sandbox.api_base_url}{TEST_TOKEN}/{method}", json=parameters)
    return response.status_code, response.json()


def stored_updates(database: Database) -> int:
    """Rows in the update inbox."""
    with database.session() as session:
        return int(session.exec(select(func.count()).select_from(InboxUpdate)).one())


def message_update(update_id: int, person: Person, text: str) -> dict[str, Any]:
    """An update as Telegram POSTs it: a private text message from `person`."""
    data: dict[str, Any] = {
        "update_id": update_id,
        "message": {
            "message_id": update_id % 100_000,
            "date": 1_790_000_000,
            "chat": {"id": person.id, "type": "private", "first_name": person.first_name},
            "from": {"id": person.id, "is_bot": False, "first_name": person.first_name},
            "text": text,
        },
    }
    if text.startswith("/"):
        data["message"]["entities"] = [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}
        ]
    return data


# --- the sandbox's webhook methods ---------------------------------------------------------


@pytest.mark.parametrize(
    ("parameters", "description"),
    [
        ({"url": "http://bot.example.org/hook"}, "An HTTPS URL must be provided"),
        ({"url": "https://bot.example.org:8080/hook"}, "ports 80, 88, 443 or 8443"),
        ({"url": "https://bot.example.org/hook", "secret_token": "a b"}, "unallowed characters"),
        ({"url": "https://bot.example.org/hook", "secret_token": "é"}, "unallowed characters"),
        ({"url": "https://bot.example.org/hook", "secret_token": "x" * 257}, "too long"),
        ({"url": "https://bot.example.org/hook", "max_connections": 0}, "max_connections"),
        ({"url": "https://bot.example.org/hook", "max_connections": 101}, "max_connections"),
    ],
)
async def test_set_webhook_checks_its_parameters_as_telegram_does(
    sandbox: Sandbox, parameters: dict[str, Any], description: str
) -> None:
    status, answer = await bot_api(sandbox, "setWebhook", **parameters)
    assert status == 400, answer
    assert description in answer["description"]
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"]["url"] == ""


async def test_webhook_info_get_updates_conflict_and_delete(sandbox: Sandbox) -> None:
    url = "https://bot.example.org:8443/hook"
    status, answer = await bot_api(
        sandbox,
        "setWebhook",
        url=url,
        secret_token="abc_DEF-123",
        allowed_updates=["message", "callback_query"],
        max_connections=7,
    )
    assert (status, answer["result"]) == (200, True)
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"] == {
        "url": url,
        "has_custom_certificate": False,
        "pending_update_count": 0,
        "max_connections": 7,
        "allowed_updates": ["message", "callback_query"],
    }
    # Telegram refuses getUpdates while a webhook is set.
    status, answer = await bot_api(sandbox, "getUpdates", timeout=0)
    assert status == 409
    assert "can't use getUpdates method while webhook is active" in answer["description"]
    # Nobody listens at bot.example.org: the update waits, counted, with the error told.
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        await client.send_text(WANG.as_user(), "你好")
        for _ in range(200):
            _, info = await bot_api(sandbox, "getWebhookInfo")
            if "last_error_message" in info["result"]:
                break
            await asyncio.sleep(0.02)
    assert info["result"]["pending_update_count"] == 1
    assert info["result"]["last_error_date"] > 0
    assert info["result"]["last_error_message"]
    # deleteWebhook: polling works again and the update comes by getUpdates.
    status, answer = await bot_api(sandbox, "deleteWebhook")
    assert (status, answer["result"]) == (200, True)
    status, answer = await bot_api(sandbox, "getUpdates", timeout=0)
    assert status == 200
    assert [update["message"]["text"] for update in answer["result"]] == ["你好"]
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"] == {
        "url": "",
        "has_custom_certificate": False,
        "pending_update_count": 1,
    }
    # setWebhook with an empty URL removes the webhook too; drop_pending_updates drops them.
    await bot_api(sandbox, "setWebhook", url=url, drop_pending_updates=True)
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 0
    await bot_api(sandbox, "setWebhook", url="")
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"]["url"] == ""


@dataclass
class Receiver:
    """A webhook endpoint of the test's own: records each POST, answers from a script."""

    # Statuses for the next POSTs of a message text, then 200.
    answers: dict[str, list[int]] = field(default_factory=dict)
    seen: list[tuple[str | None, dict[str, Any], int]] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        """Answer one POST."""
        body = await request.json()
        script = self.answers.get(body.get("message", {}).get("text", ""), [])
        status = script.pop(0) if script else 200
        self.seen.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), body, status))
        self.arrived.set()
        return web.Response(status=status)

    async def wait_for(self, count: int) -> None:
        """Wait until `count` POSTs were answered 2xx."""
        for _ in range(500):
            if sum(1 for *_, status in self.seen if status == 200) >= count:
                return
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), 0.1)
        raise AssertionError(f"only {self.seen} arrived")

    def texts(self, *, ok_only: bool = True) -> list[str]:
        """The message texts POSTed, in arrival order."""
        return [
            body["message"]["text"]
            for _, body, status in self.seen
            if "message" in body and (status == 200 or not ok_only)
        ]


@asynccontextmanager
async def receiver_at(path: str) -> AsyncIterator[tuple[Receiver, str]]:
    """A Receiver served on a free port: (receiver, its URL)."""
    receiver = Receiver()
    app = web.Application()
    app.router.add_post(path, receiver.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield receiver, f"http://127.0.0.1:{port}{path}"
    finally:
        await runner.cleanup()


async def test_the_sandbox_posts_updates_with_the_secret_in_order_per_chat_and_retries(
    sandbox: Sandbox,
) -> None:
    async with (
        receiver_at("/hook") as (receiver, url),
        SandboxClient(sandbox.base_url, TEST_TOKEN) as client,
    ):
        # The first POST (王's first message) fails twice: his later ones wait for it, 李's not.
        receiver.answers = {"一": [503, 502]}
        await bot_api(sandbox, "setWebhook", url=url, secret_token=SECRET, max_connections=5)
        for text in ("一", "二", "三"):
            await client.send_text(WANG.as_user(), text)
        await client.send_text(LI.as_user(), "李的消息")
        await receiver.wait_for(4)
        _, info = await bot_api(sandbox, "getWebhookInfo")
    assert {secret for secret, *_ in receiver.seen} == {SECRET}
    wang = [text for text in receiver.texts() if text != "李的消息"]
    assert wang == ["一", "二", "三"], "one chat's updates in order"
    failed = [body["message"]["text"] for _, body, status in receiver.seen if status != 200]
    assert failed == ["一", "一"], "the refused update was retried, and only it"
    assert receiver.texts().index("李的消息") < receiver.texts().index("一"), (
        "another chat does not wait for a failing one"
    )
    result = info["result"]
    assert result["pending_update_count"] == 0
    assert result["last_error_message"] == "Wrong response from the webhook: 502 Bad Gateway"
    ids = [body["update_id"] for _, body, status in receiver.seen if status == 200]
    assert len(set(ids)) == 4


async def test_a_webhook_without_a_secret_sends_no_header(sandbox: Sandbox) -> None:
    async with (
        receiver_at("/plain") as (receiver, url),
        SandboxClient(sandbox.base_url, TEST_TOKEN) as client,
    ):
        await bot_api(sandbox, "setWebhook", url=url)
        await client.send_text(WANG.as_user(), "hi")
        await receiver.wait_for(1)
    assert receiver.seen[0][0] is None


# --- the bot in webhook mode ---------------------------------------------------------------


async def test_a_dialog_by_webhook(hooked: WebhookBot) -> None:
    """An officer's /me and a button press come by webhook, are stored and answered."""
    add_officer(hooked.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    await hooked.client.ensure_user(WANG.as_user())
    await hooked.dialog.play(
        [
            (WANG, "/me", [says("王建国", "100001", "节日生日问候：接收", absent=["13800000001"])]),
            (WANG, Press("🔕 不再接收问候"), [edits("节日生日问候：不接收")]),
        ]
    )
    await hooked.settle()
    calls = await hooked.client.calls()
    methods = {call.method for call in calls}
    assert "getUpdates" not in methods, "webhook mode never polls"
    assert "setWebhook" in methods
    with hooked.database.session() as session:
        rows = session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id))).all()
        assert len(rows) == 2 and all(row.handled_at is not None for row in rows)
        assert "/me" not in rows[0].payload, "stored sealed, as polling stores it"
        data = json.loads(FieldCipher(TEST_SECRET_KEY).decrypt(rows[0].payload))
        assert data["message"]["text"] == "/me", "the JSON as Telegram sent it"
        assert "callback_query" in json.loads(FieldCipher(TEST_SECRET_KEY).decrypt(rows[1].payload))


async def test_set_webhook_is_called_with_the_url_secret_kinds_and_connections(
    hooked: WebhookBot,
) -> None:
    _, info = await bot_api(hooked.sandbox, "getWebhookInfo")
    result = info["result"]
    assert result["url"] == hooked.hook_url
    assert result["max_connections"] == 12
    # The same kinds polling asks for: every kind.
    assert sorted(result["allowed_updates"]) == sorted(Update.ALL_TYPES)
    assert result["pending_update_count"] == 0
    assert hooked.sandbox._bot(TEST_TOKEN).webhook.secret_token == SECRET  # type: ignore[union-attr]


async def test_an_update_telegram_sends_again_is_stored_and_handled_once(
    hooked: WebhookBot,
) -> None:
    add_officer(hooked.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    await hooked.client.ensure_user(WANG.as_user())
    update = message_update(880_001, WANG, "/me")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with httpx.AsyncClient() as http:
        answers = await asyncio.gather(
            *(http.post(hooked.hook_url, json=update, headers=headers) for _ in range(3))
        )
        await hooked.settle()
        again = await http.post(hooked.hook_url, json=update, headers=headers)
        await hooked.settle()
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert again.status_code == 200
    assert stored_updates(hooked.database) == 1
    replies = await hooked.client.history(WANG.as_user())
    assert len(replies) == 1 and "王建国" in replies[0].text, "handled once, answered once"


async def test_polling_after_a_webhook_deletes_it_first_and_only_then(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    add_officer(database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    async with webhook_bot(sandbox, database, database_url):
        pass  # leaves its webhook set, as a stopped webhook-mode run does
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"]["url"], "the webhook stays set after a stop"
    settings = webhook_settings(
        sandbox, database_url, 0, NUANJING_WEBHOOK_URL="", NUANJING_HTTP_LISTEN="off"
    )
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        for round_ in range(2):
            application = build_application(settings, database, load_policy(None))
            seen = len(await client.calls())
            async with taking_updates(
                application, settings, None, token=TEST_TOKEN, poll_timeout=1
            ):
                await Dialog(client).play([(WANG, "/me", [says("王建国")])])
            methods = [call.method for call in (await client.calls())[seen:]]
            assert "getWebhookInfo" in methods
            assert methods.count("deleteWebhook") == (1 if round_ == 0 else 0)
            assert all(call.status != 409 for call in (await client.calls())[seen:])
    _, info = await bot_api(sandbox, "getWebhookInfo")
    assert info["result"]["url"] == ""


async def test_a_flood_waits_in_the_database_not_in_memory(
    hooked: WebhookBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Telegram pushes faster than the handlers go: every update is stored and acknowledged,
    no more than MEMORY_WINDOW wait in memory (parsed, each a task), the rest in the inbox;
    once the handlers go on, each is handled once, every officer's in the order sent."""
    people = [Person(7_500_100_000 + n, f"警官{n:02d}") for n in range(30)]
    for n, person in enumerate(people):
        add_officer(
            hooked.database, f"2{n:05d}", f"郑{n:02d}号", f"+86139000{n:05d}", bound_to=person.id
        )
        await hooked.client.ensure_user(person.as_user())
    per_person = 15
    total = len(people) * per_person
    assert total > 2 * MEMORY_WINDOW
    inbox = inbox_of(hooked.application)
    handlers_go = asyncio.Event()
    began: list[tuple[int, int]] = []  # (officer, update id) as each handling began
    in_memory: list[int] = []
    handle = Inbox._handle

    async def held_up(self: Inbox, update: Update, coroutine: Any) -> None:
        in_memory.append(self.backlog)
        await handlers_go.wait()
        assert update.effective_user is not None
        began.append((update.effective_user.id, update.update_id))
        await handle(self, update, coroutine)

    monkeypatch.setattr(Inbox, "_handle", held_up)
    for _ in range(per_person):
        for person in people:
            await hooked.client.send_command(person.as_user(), "/me")
    await until(
        lambda: stored_updates(hooked.database) == total, timeout=30, what="every update stored"
    )
    await hooked.client.wait_idle(settle=0.0, timeout=10)
    _, info = await bot_api(hooked.sandbox, "getWebhookInfo")
    assert info["result"]["pending_update_count"] == 0, "every POST was acknowledged"
    assert inbox.behind and inbox.backlog == MEMORY_WINDOW
    processing = [
        task
        for task in asyncio.all_tasks()
        if task.get_name().endswith(":process_concurrent_update")
    ]
    assert len(processing) == MEMORY_WINDOW, "one task per update in memory, no more"

    handlers_go.set()
    await settle(hooked.client, hooked.database, hooked.application, timeout=60)
    assert max(in_memory) <= MEMORY_WINDOW
    assert len(began) == total and len(set(began)) == total, "each handled once"
    for person in people:
        ids = [update_id for officer, update_id in began if officer == person.id]
        assert len(ids) == per_person and ids == sorted(ids), "each officer's in order"
    assert not inbox.behind and inbox.backlog == 0
    for n, person in enumerate(people):
        cards = await hooked.client.history(person.as_user())
        assert len(cards) == per_person and all(f"郑{n:02d}号" in card.text for card in cards)
