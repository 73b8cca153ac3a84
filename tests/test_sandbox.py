"""The Bot API sandbox, exercised through python-telegram-bot itself and the control client."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dtm
import re
import struct
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.sandbox import BotEvent, Sandbox, SandboxClient
from bot.sandbox.server import serve

TOKEN = "424242:sandbox-suite-token"
ALICE = {"id": 1001, "first_name": "李", "last_name": "警官", "username": "li_jg"}
BOB = 1002


class FakeClock:
    """A monotonic clock that only moves when told, so rate limits are deterministic."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def png(width: int, height: int) -> bytes:
    """A valid grey PNG of the given size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"".join(b"\x00" + b"\x80" * width for _ in range(height)))
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    """A running sandbox on a free port."""
    async with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
async def tg(sb: Sandbox) -> AsyncIterator[Bot]:
    """A PTB Bot pointed at the sandbox."""
    async with Bot(TOKEN, base_url=sb.api_base_url, base_file_url=sb.file_base_url) as bot:
        yield bot


@pytest.fixture
async def officer(sb: Sandbox) -> AsyncIterator[SandboxClient]:
    """The client that plays officers."""
    async with SandboxClient(sb.base_url, TOKEN) as client:
        yield client


@pytest.fixture
async def http(sb: Sandbox) -> AsyncIterator[httpx.AsyncClient]:
    """A raw HTTP client for protocol-level checks."""
    async with httpx.AsyncClient(base_url=sb.base_url) as client:
        yield client


@contextlib.asynccontextmanager
async def running(
    sb: Sandbox, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[Application[Any, Any, Any, Any, Any, Any]]:
    """A real PTB Application long-polling the sandbox."""
    app = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(sb.api_base_url)
        .base_file_url(sb.file_base_url)
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)
    async with app:
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(timeout=dtm.timedelta(seconds=1))
        try:
            yield app
        finally:
            await app.updater.stop()
            await app.stop()


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Offer a reply keyboard that asks for the phone number."""
    assert update.message is not None
    keyboard = [[KeyboardButton("分享手机号", request_contact=True)]]
    await update.message.reply_text(
        "欢迎", reply_markup=ReplyKeyboardMarkup(keyboard, one_time_keyboard=True)
    )


async def on_contact(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Acknowledge a shared contact and remove the keyboard."""
    assert update.message is not None and update.message.contact is not None
    contact = update.message.contact
    await update.message.reply_text(
        f"contact {contact.phone_number} {contact.user_id}", reply_markup=ReplyKeyboardRemove()
    )


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo text with two inline buttons."""
    assert update.message is not None
    buttons = [
        [
            InlineKeyboardButton("同意", callback_data="yes"),
            InlineKeyboardButton("拒绝", callback_data="no"),
        ]
    ]
    await update.message.reply_text(
        f"echo: {update.message.text}", reply_markup=InlineKeyboardMarkup(buttons)
    )


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Report the size of the largest photo."""
    assert update.message is not None
    largest = update.message.photo[-1]
    await update.message.reply_text(f"photo {largest.width}x{largest.height}")


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the message."""
    query = update.callback_query
    assert query is not None
    await query.answer(f"got {query.data}")
    await query.edit_message_text(f"chosen: {query.data}")


ECHO_BOT: tuple[BaseHandler[Any, Any, Any], ...] = (
    CommandHandler("start", on_start),
    MessageHandler(filters.CONTACT, on_contact),
    MessageHandler(filters.PHOTO, on_photo),
    MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
    CallbackQueryHandler(on_press),
)


# --- the Bot API surface through PTB ---------------------------------------------------------


async def test_get_me(tg: Bot) -> None:
    me = await tg.get_me()
    assert (me.id, me.is_bot, me.first_name, me.username) == (
        424242,
        True,
        "暖警",
        "nuanjing_sandbox_bot",
    )
    assert me.can_join_groups is False and me.supports_inline_queries is False


async def test_get_updates_offsets_and_long_polling(tg: Bot, officer: SandboxClient) -> None:
    for text in ("a", "b", "/start now"):
        await officer.send_text(ALICE, text)
    updates = await tg.get_updates()
    assert [u.message.text for u in updates if u.message] == ["a", "b", "/start now"]
    first = updates[0].message
    assert first is not None and first.from_user is not None
    assert (first.from_user.id, first.from_user.username, first.chat.type) == (
        1001,
        "li_jg",
        "private",
    )
    command = updates[2].message
    assert command is not None
    assert [(e.type, e.offset, e.length) for e in command.entities] == [("bot_command", 0, 6)]

    again = await tg.get_updates()  # nothing confirmed yet: redelivered
    assert [u.update_id for u in again] == [u.update_id for u in updates]
    rest = await tg.get_updates(offset=updates[1].update_id)
    assert [u.update_id for u in rest] == [u.update_id for u in updates[1:]]
    assert await tg.get_updates(offset=updates[-1].update_id + 1) == ()

    poll = asyncio.create_task(
        tg.get_updates(offset=updates[-1].update_id + 1, timeout=dtm.timedelta(seconds=10))
    )
    for _ in range(200):  # until the long poll is parked in the sandbox
        calls = await officer.calls()
        if calls[-1].status == 0:
            break
        await asyncio.sleep(0.01)
    assert (calls[-1].method, calls[-1].status) == ("getUpdates", 0)
    await officer.send_text(BOB, "late")
    late = await poll
    assert [(u.message.chat.id, u.message.text) for u in late if u.message] == [(BOB, "late")]
    assert (await officer.calls())[len(calls) - 1].status == 200


async def test_application_conversation(sb: Sandbox, officer: SandboxClient) -> None:
    async with running(sb, *ECHO_BOT):
        await officer.send_command(ALICE, "start")
        [welcome] = await officer.replies(ALICE)
        assert welcome.text == "欢迎" and welcome.reply_keyboard
        assert welcome.buttons[0][0].text == "分享手机号" and welcome.buttons[0][0].request_contact

        await officer.share_contact(ALICE, "+8613800000000")
        await officer.share_contact(ALICE, "+8613900000000", contact_user_id=None)
        first, second = await officer.replies(ALICE, count=2)
        assert first.text == "contact +8613800000000 1001" and first.remove_keyboard
        assert second.text == "contact +8613900000000 None"

        await officer.send_text(ALICE, "你好")
        [echo] = await officer.replies(ALICE)
        assert echo.kind == "message" and echo.text == "echo: 你好"
        assert echo.button_texts() == ["同意", "拒绝"] and not echo.reply_keyboard
        assert echo.buttons[0][1].callback_data == "no"

        query_id = await officer.press(ALICE, "同意")
        assert await officer.callback_answer(query_id) == {
            "text": "got yes",
            "show_alert": False,
            "url": None,
            "cache_time": 0,
        }
        [edit] = await officer.replies(ALICE)
        assert (edit.kind, edit.message_id, edit.text, edit.buttons) == (
            "edit",
            echo.message_id,
            "chosen: yes",
            [],
        )
        current = await officer.message(ALICE, echo.message_id)
        assert current["text"] == "chosen: yes" and "reply_markup" not in current

        forged = await officer.press_data(ALICE, echo.message_id, "forged:1")
        answer = await officer.callback_answer(forged)
        assert answer is not None and answer["text"] == "got forged:1"
        [forged_edit] = await officer.replies(ALICE)
        assert forged_edit.text == "chosen: forged:1"

        # Updates are handled in order, so a reply to the sticker would come first.
        await officer.send_sticker(ALICE)
        await officer.send_photo(ALICE, png(40, 30))
        [photo_reply] = await officer.replies(ALICE)
        assert photo_reply.text == "photo 40x30"
        await officer.wait_idle(settle=0.1)
        assert await officer.quiet(ALICE, 0) == []

        with pytest.raises(AssertionError, match="no inline button '同意'"):
            await officer.press(ALICE, "同意")
    assert (await officer.stats())["pending_updates"] == 0


async def test_restart_gets_only_unconfirmed_updates(sb: Sandbox, officer: SandboxClient) -> None:
    async with running(sb, *ECHO_BOT):
        await officer.send_text(ALICE, "one")
        [reply] = await officer.replies(ALICE)
        assert reply.text == "echo: one"
    await officer.send_text(ALICE, "two")  # while the bot is down
    pending = await officer.pending_updates()
    assert [u["message"]["text"] for u in pending] == ["two"]
    async with running(sb, *ECHO_BOT):
        [reply] = await officer.replies(ALICE)
        assert reply.text == "echo: two"
        await officer.wait_idle(settle=0.1)
        assert await officer.quiet(ALICE, 0) == []


async def test_idle_means_every_update_taken_and_no_call_in_flight(
    sb: Sandbox, tg: Bot, officer: SandboxClient
) -> None:
    start = await officer.idle()
    assert start.idle and start.pending_updates == 0 and start.in_flight == {}
    await officer.send_text(ALICE, "hello")
    waiting = await officer.idle()
    assert not waiting.idle and waiting.pending_updates == 1 and waiting.mark > start.mark
    [update] = await tg.get_updates()
    assert not (await officer.idle()).idle, "fetched is not taken: not yet confirmed"
    await tg.get_updates(offset=update.update_id + 1)
    taken = await officer.idle()
    assert taken.idle and taken.mark > waiting.mark
    # A parked long poll is the bot waiting, not working.
    poll = asyncio.create_task(
        tg.get_updates(offset=update.update_id + 1, timeout=dtm.timedelta(seconds=10))
    )
    while not (calls := await officer.calls()) or calls[-1].status != 0:
        await asyncio.sleep(0.01)
    parked = await officer.idle()
    assert parked.idle and parked.mark == taken.mark
    # A call in progress is not idle; the wait ends when it has been answered.
    sb.configure(delay=0.3)
    send = asyncio.create_task(tg.send_message(1001, "slow"))
    while not (busy := await officer.idle()).in_flight:
        await asyncio.sleep(0.01)
    assert not busy.idle and busy.in_flight == {"sendMessage": 1}
    with pytest.raises(AssertionError, match=r"calls in flight: \{'sendMessage': 1\}"):
        await officer.wait_idle(settle=0, timeout=0.01)
    await officer.wait_idle(settle=0, timeout=10)
    assert [e.text for e in await officer.history(ALICE)] == ["slow"]
    assert (await send).text == "slow"
    # settle: quiet for that long since the last change; fresh: counted from the asking.
    loop = asyncio.get_running_loop()
    asked = loop.time()
    assert (await officer.idle(settle=0.2, timeout=5, fresh=True)).idle
    assert loop.time() - asked >= 0.2
    await officer.send_text(ALICE, "unseen")
    assert not (await officer.idle(settle=0, timeout=0.05)).idle
    poll.cancel()
    with contextlib.suppress(asyncio.CancelledError, NetworkError):
        await poll


async def test_keyboards_edits_replies_and_deletes(tg: Bot, officer: SandboxClient) -> None:
    asked = await officer.send_text(ALICE, "question")
    yes_no = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="y")]])
    sent = await tg.send_message(
        1001,
        "answer",
        reply_markup=yes_no,
        reply_to_message_id=asked["message_id"],
        protect_content=True,
    )
    assert sent.reply_to_message is not None and sent.reply_to_message.text == "question"
    assert sent.reply_markup == yes_no and sent.has_protected_content

    contact_keyboard = ReplyKeyboardMarkup([[KeyboardButton("手机号", request_contact=True)]])
    plain = await tg.send_message(1001, "keyboard", reply_markup=contact_keyboard)
    assert plain.reply_markup is None  # Telegram only echoes inline keyboards

    url_button = InlineKeyboardButton("Docs", url="https://example.org")
    edited = await tg.edit_message_reply_markup(
        1001, sent.message_id, reply_markup=InlineKeyboardMarkup([[url_button]])
    )
    assert isinstance(edited, type(sent)) and edited.reply_markup is not None
    assert edited.text == "answer"
    assert await tg.delete_message(1001, plain.message_id)

    events = await officer.replies(ALICE, count=4)
    assert [(e.kind, e.message_id) for e in events] == [
        ("message", sent.message_id),
        ("message", plain.message_id),
        ("edit", sent.message_id),
        ("delete", plain.message_id),
    ]
    assert events[1].reply_keyboard and events[1].buttons[0][0].request_contact
    assert events[2].buttons[0][0].url == "https://example.org"
    assert events[3].text == "keyboard"  # what was deleted
    assert events[0].raw["options"]["protect_content"] in (True, "true")
    with pytest.raises(AssertionError, match="does not exist"):
        await officer.message(ALICE, plain.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await tg.send_message(1001, "x", reply_to_message_id=999)
    assert await tg.send_chat_action(1001, "typing")


async def test_formatting(tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    html = "  <b>粗体</b> &lt;tag&gt; <a href='https://x.example/'>链接</a> 😀<i>斜</i>  "
    sent = await tg.send_message(1001, html, parse_mode="HTML")
    assert sent.text == "粗体 <tag> 链接 😀斜"
    assert [(e.type, e.offset, e.length, e.url) for e in sent.entities] == [
        ("bold", 0, 2, None),
        ("text_link", 9, 2, "https://x.example/"),
        ("italic", 14, 1, None),  # the emoji is two UTF-16 code units
    ]
    md = await tg.send_message(
        1001, r"*粗* 版本 1\.5 [链接](https://x.example/)", parse_mode="MarkdownV2"
    )
    assert md.text == "粗 版本 1.5 链接"
    [html_event, md_event] = await officer.replies(ALICE, count=2)
    assert html_event.raw["raw_text"] == html and html_event.raw["parse_mode"] == "HTML"
    assert md_event.text == "粗 版本 1.5 链接"

    with pytest.raises(BadRequest, match=r'(?i)can.t find end tag corresponding to start tag "b"'):
        await tg.send_message(1001, "<b>open", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)unsupported start tag "br"'):
        await tg.send_message(1001, "a<br>b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await tg.send_message(1001, "版本 1.5", parse_mode="MarkdownV2")


def _keyboard(data: str) -> InlineKeyboardMarkup:
    """A one-button inline keyboard with this callback data."""
    return InlineKeyboardMarkup([[InlineKeyboardButton("b", callback_data=data)]])


ValidationCase = Callable[[Bot, int], Awaitable[object]]
VALIDATION_CASES: list[tuple[str, ValidationCase, str]] = [
    ("empty", lambda b, m: b.send_message(1001, ""), "Bad Request: message text is empty"),
    ("blank", lambda b, m: b.send_message(1001, " \n "), "Bad Request: message text is empty"),
    ("long", lambda b, m: b.send_message(1001, "a" * 4097), "Bad Request: message is too long"),
    (
        "long_utf16",
        lambda b, m: b.send_message(1001, "😀" * 2049),
        "Bad Request: message is too long",
    ),
    (
        "button_data",
        lambda b, m: b.send_message(1001, "x", reply_markup=_keyboard("数" * 22)),
        "Bad Request: BUTTON_DATA_INVALID",
    ),
    ("chat", lambda b, m: b.send_message(424, "x"), "Bad Request: chat not found"),
    (
        "not_modified",
        lambda b, m: b.edit_message_text("ok", 1001, m, reply_markup=_keyboard("k")),
        "Bad Request: message is not modified: specified new message content and reply markup"
        " are exactly the same as a current content and reply markup of the message",
    ),
    (
        "edit_missing",
        lambda b, m: b.edit_message_text("new", 1001, 999),
        "Bad Request: message to edit not found",
    ),
    (
        "delete_missing",
        lambda b, m: b.delete_message(1001, 999),
        "Bad Request: message to delete not found",
    ),
    (
        "query",
        lambda b, m: b.answer_callback_query("31337"),
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    ),
]


@pytest.mark.parametrize(
    ("call", "description"),
    [case[1:] for case in VALIDATION_CASES],
    ids=[case[0] for case in VALIDATION_CASES],
)
async def test_validation_errors(
    tg: Bot, officer: SandboxClient, call: ValidationCase, description: str
) -> None:
    await officer.ensure_user(ALICE)
    message = await tg.send_message(1001, "ok", reply_markup=_keyboard("k"))
    with pytest.raises(BadRequest) as caught:
        await call(tg, message.message_id)
    # PTB drops the "Bad Request: " prefix and capitalizes the rest.
    assert caught.value.message.lower() == description.removeprefix("Bad Request: ").lower()
    [event] = await officer.history(ALICE)
    assert (event.kind, event.text) == ("message", "ok")
    assert (await officer.stats())["bad_requests"] == 1


async def test_validation_boundaries_are_accepted(tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    assert (await tg.send_message(1001, "a" * 4096)).text == "a" * 4096
    assert (await tg.send_message(1001, "😀" * 2048)).text == "😀" * 2048
    sent = await tg.send_message(1001, "x", reply_markup=_keyboard("数" * 21 + "a"))
    assert sent.reply_markup == _keyboard("数" * 21 + "a")


async def test_raw_protocol(http: httpx.AsyncClient, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    me = (await http.get(f"/bot{TOKEN}/GETME")).json()
    assert me["ok"] and me["result"]["id"] == 424242

    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    as_json = await http.post(
        f"/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": "j", "reply_markup": keyboard}
    )
    as_form = await http.post(
        f"/bot{TOKEN}/sendmessage",
        data={"chat_id": "1001", "text": "f", "reply_markup": '{"remove_keyboard": true}'},
    )
    as_query = await http.get(f"/bot{TOKEN}/sendMessage", params={"chat_id": 1001, "text": "q"})
    assert as_json.json()["result"]["reply_markup"] == keyboard
    assert as_form.json()["result"]["text"] == "f" and as_query.json()["result"]["text"] == "q"

    empty = await http.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": 1001, "text": ""})
    assert (empty.status_code, empty.json()) == (
        400,
        {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"},
    )
    unknown = await http.post(f"/bot{TOKEN}/sendTelepathy")
    assert (unknown.status_code, unknown.json()["description"]) == (404, "Not Found")
    bad_token = await http.post("/botnot-a-token/getMe")
    assert (bad_token.status_code, bad_token.json()["error_code"]) == (401, 401)
    assert bad_token.json()["description"] == "Unauthorized"

    poll = await http.post(f"/bot{TOKEN}/getUpdates", data={"timeout": "0.2"})
    assert poll.json() == {"ok": True, "result": []}
    info = (await http.get(f"/bot{TOKEN}/getWebhookInfo")).json()["result"]
    assert info == {"url": "", "has_custom_certificate": False, "pending_update_count": 0}


async def test_documents_and_photos(tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    data = bytes(range(256)) * 4
    sent = await tg.send_document(
        1001, data, filename="名单.xlsx", caption="<b>导出</b>", parse_mode="HTML"
    )
    document = sent.document
    assert document is not None
    assert (document.file_name, document.file_size, sent.caption) == ("名单.xlsx", 1024, "导出")
    assert document.mime_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    downloaded = await (await tg.get_file(document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == data
    again = await tg.send_document(1001, document.file_id)
    assert again.document is not None and again.document.file_id == document.file_id

    picture = png(400, 300)
    photo = await tg.send_photo(1001, picture, caption="照片")
    assert [(p.width, p.height) for p in photo.photo] == [(90, 68), (400, 300)]
    assert photo.caption == "照片"

    events = await officer.replies(ALICE, count=3)
    assert [(e.kind, e.text, e.document_name) for e in events] == [
        ("document", "导出", "名单.xlsx"),
        ("document", "", "名单.xlsx"),
        ("photo", "照片", None),
    ]
    assert events[0].document_bytes == data and events[2].document_bytes == picture
    assert await officer.file_bytes(document.file_id) == data

    with pytest.raises(BadRequest, match=r"(?i)image_process_failed"):
        await tg.send_photo(1001, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await tg.send_document(1001, "no-such-file-id")


async def test_user_photo_can_be_downloaded(tg: Bot, officer: SandboxClient) -> None:
    picture = png(20, 10)
    await officer.send_photo(ALICE, picture, caption="现场")
    [update] = await tg.get_updates()
    assert update.message is not None and update.message.caption == "现场"
    largest = update.message.photo[-1]
    assert (largest.width, largest.height) == (20, 10)
    file = await tg.get_file(largest.file_id)
    assert bytes(await file.download_as_bytearray()) == picture


async def test_commands_per_scope(tg: Bot, officer: SandboxClient) -> None:
    await tg.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await tg.set_my_commands([BotCommand("admin", "管理")], scope=BotCommandScopeChat(1001))
    await tg.set_my_commands([BotCommand("start", "Start")], language_code="en")

    def pairs(commands: tuple[BotCommand, ...]) -> list[tuple[str, str]]:
        return [(c.command, c.description) for c in commands]

    assert pairs(await tg.get_my_commands()) == [("start", "开始"), ("help", "帮助")]
    assert pairs(await tg.get_my_commands(scope=BotCommandScopeChat(1001))) == [("admin", "管理")]
    assert pairs(await tg.get_my_commands(language_code="en")) == [("start", "Start")]
    assert await tg.get_my_commands(scope=BotCommandScopeAllPrivateChats()) == ()
    assert await officer.commands() == [("start", "开始"), ("help", "帮助")]
    assert await officer.commands({"type": "chat", "chat_id": 1001}) == [("admin", "管理")]
    assert await officer.commands(language_code="en") == [("start", "Start")]

    assert await tg.delete_my_commands(scope=BotCommandScopeChat(1001))
    assert await officer.commands({"type": "chat", "chat_id": 1001}) == []
    with pytest.raises(BadRequest, match=r"(?i)bot_command_invalid"):
        await tg.set_my_commands([BotCommand("Bad-Name", "x")])


async def test_group_chat(tg: Bot, officer: SandboxClient) -> None:
    await officer.create_group(-100500, "天元分局工会")
    await officer.send_text(ALICE, "/start@nuanjing_sandbox_bot", chat_id=-100500)
    [update] = await tg.get_updates()
    message = update.message
    assert message is not None and message.from_user is not None
    assert (message.chat.id, message.chat.type, message.chat.title) == (
        -100500,
        "group",
        "天元分局工会",
    )
    assert message.from_user.id == 1001 and message.entities[0].length == 27
    await tg.send_message(-100500, "群消息")
    [event] = await officer.replies(-100500)
    assert (event.chat_id, event.text) == (-100500, "群消息")
    assert await officer.history(ALICE) == []


async def test_channel_posts_and_presses_outside_private_chats(
    tg: Bot, officer: SandboxClient
) -> None:
    await officer.create_group(-100600, "工会公告", type="channel")
    posted = await officer.send_text(ALICE, "本周公告", chat_id=-100600)
    [update] = await tg.get_updates()
    post = update.channel_post
    assert update.message is None and post is not None and post.from_user is None
    assert post.sender_chat is not None and post.sender_chat.id == -100600
    assert (post.chat.type, post.text) == ("channel", "本周公告")
    # A press on a message of a group or channel comes with that chat, not the presser's own.
    await officer.create_group(-100500, "天元分局工会", type="supergroup")
    said = await officer.send_text(BOB, "大家好", chat_id=-100500)
    for chat_id, message_id in ((-100600, posted["message_id"]), (-100500, said["message_id"])):
        await officer.press_data(BOB, message_id, "club:members:足球", chat_id=chat_id)
    pressed = await tg.get_updates(offset=update.update_id + 1)
    queries = [u.callback_query for u in pressed if u.callback_query is not None]
    assert [(q.from_user.id, q.data) for q in queries] == [(BOB, "club:members:足球")] * 2
    assert [q.message.chat.type for q in queries if q.message] == ["channel", "supergroup"]
    with pytest.raises(AssertionError, match="groups, supergroups or channels"):
        await officer.create_group(-100700, "私聊", type="private")


async def test_tokens_are_separate_bots(sb: Sandbox, tg: Bot, officer: SandboxClient) -> None:
    other_token = "555:another-bot"
    async with (
        Bot(other_token, base_url=sb.api_base_url) as other,
        SandboxClient(sb.base_url, other_token) as other_officer,
    ):
        assert (await other.get_me()).id == 555
        await other_officer.send_text(BOB, "for the other bot")
        assert await tg.get_updates() == ()
        [update] = await other.get_updates()
        assert update.message is not None and update.message.text == "for the other bot"
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await tg.send_message(BOB, "unknown to this bot")


async def test_replies_reports_what_arrived(tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    await tg.send_message(1001, "only one")
    with pytest.raises(AssertionError) as caught:
        await officer.replies(ALICE, count=2, timeout=0.2)
    assert "expected 2 bot event(s) in chat 1001" in str(caught.value)
    assert "message #1 'only one'" in str(caught.value)
    assert await officer.quiet(ALICE, 0) == []  # already reported


# --- limits and faults -----------------------------------------------------------------------


async def test_blocked_user_is_forbidden(tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    config = await officer.configure(blocked_users={1001})
    assert config["blocked_users"] == [1001]
    with pytest.raises(Forbidden, match="Forbidden: bot was blocked by the user"):
        await tg.send_message(1001, "hello")
    assert await officer.history(ALICE) == []
    stats = await officer.stats()
    assert (stats["forbidden"], stats["sends"]) == (1, 0)
    last = (await officer.calls())[-1]
    assert (last.method, last.chat_id, last.status) == ("sendMessage", 1001, 403)


async def test_error_rate_gives_network_errors(tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    await officer.configure(error_rate=1.0)
    for _ in range(3):
        with pytest.raises(NetworkError) as caught:
            await tg.send_message(1001, "lost")
        assert type(caught.value) is NetworkError
        assert caught.value.message in ("Internal Server Error", "Bad Gateway")
    assert await officer.history(ALICE) == []
    assert (await officer.stats())["faults"] == 3
    await officer.configure(error_rate=0.0)
    assert (await tg.send_message(1001, "delivered")).text == "delivered"


async def test_error_rate_is_deterministic_per_seed() -> None:
    async def statuses() -> list[int]:
        async with Sandbox(seed=7) as sandbox, SandboxClient(sandbox.base_url, TOKEN) as c:
            await c.ensure_user(ALICE)
            sandbox.configure(error_rate=0.5)
            async with httpx.AsyncClient(base_url=sandbox.api_base_url + TOKEN) as raw:
                return [
                    (
                        await raw.post("/sendMessage", json={"chat_id": 1001, "text": "x"})
                    ).status_code
                    for _ in range(20)
                ]

    first, second = await statuses(), await statuses()
    assert first == second
    assert set(first) <= {200, 500, 502} and 200 in first and len(set(first)) > 1


async def test_timeouts_hang_without_effect(sb: Sandbox, tg: Bot, officer: SandboxClient) -> None:
    await officer.ensure_user(ALICE)
    await officer.configure(timeout_rate=1.0, hang_seconds=30)
    with pytest.raises(TimedOut):
        await tg.send_message(1001, "never", read_timeout=0.2)
    assert await officer.history(ALICE) == []
    await officer.configure(timeout_rate=0.0)
    assert (await tg.send_message(1001, "works")).text == "works"
    # The hung call is still parked in the sandbox; stopping must not wait 30 s for it.


@pytest.mark.parametrize("limits", [True, False])
async def test_forty_quick_sends(monkeypatch: pytest.MonkeyPatch, limits: bool) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock()
    async with (
        Sandbox(limits=limits, clock=clock) as sandbox,
        SandboxClient(sandbox.base_url, TOKEN) as client,
        Bot(TOKEN, base_url=sandbox.api_base_url) as bot,
    ):
        chats = [2000 + n for n in range(40)]
        for chat in chats:
            await client.ensure_user(chat)
        results = await asyncio.gather(
            *(bot.send_message(chat, "notice") for chat in chats), return_exceptions=True
        )
        limited = [r for r in results if isinstance(r, RetryAfter)]
        delivered = [r for r in results if not isinstance(r, BaseException)]
        stats = await client.stats()
    if limits:
        # The clock stands still, so exactly the global 30-per-second budget gets through.
        assert (len(delivered), len(limited)) == (30, 10)
        assert all(r.retry_after == dtm.timedelta(seconds=1) for r in limited)
    else:
        assert (len(delivered), len(limited)) == (40, 0)
    assert (stats["sends"], stats["rate_limited"]) == (len(delivered), len(limited))


async def test_per_chat_token_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    clock = FakeClock()
    async with (
        Sandbox(clock=clock) as sandbox,
        SandboxClient(sandbox.base_url, TOKEN) as client,
        Bot(TOKEN, base_url=sandbox.api_base_url) as bot,
        httpx.AsyncClient(base_url=sandbox.api_base_url + TOKEN) as raw,
    ):
        await client.ensure_user(ALICE)
        await client.configure(limits=True)
        for n in range(3):  # the burst
            await bot.send_message(1001, f"burst {n}")
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(1001, "too fast")
        assert caught.value.retry_after == dtm.timedelta(seconds=1)

        clock.now += 0.5
        response = await raw.post("/sendMessage", json={"chat_id": 1001, "text": "still fast"})
        assert (response.status_code, response.json()) == (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            },
        )
        clock.now += 0.5
        assert (await bot.send_message(1001, "refilled")).text == "refilled"
        events = await client.history(ALICE)
        assert [e.text for e in events] == ["burst 0", "burst 1", "burst 2", "refilled"]
        assert (await client.stats())["rate_limited"] == 2


async def test_serve_runs_until_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    task = asyncio.create_task(serve("127.0.0.1", 0, limits=False))
    output = ""
    for _ in range(200):
        await asyncio.sleep(0.01)
        output += capsys.readouterr().out
        if output:
            break
    match = re.search(r"(http://127\.0\.0\.1:\d+/bot)\s*$", output)
    assert match, output
    async with Bot(TOKEN, base_url=match.group(1)) as bot:
        assert (await bot.get_me()).username == "nuanjing_sandbox_bot"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_bot_event_summary() -> None:
    event = BotEvent.from_json(
        {
            "kind": "message",
            "message_id": 3,
            "chat_id": 1001,
            "message": {
                "text": "选择",
                "reply_markup": {"keyboard": [[{"text": "手机号", "request_contact": True}]]},
            },
        }
    )
    assert event.reply_keyboard and event.buttons[0][0].request_contact
    assert str(event) == "message #3 '选择' reply keyboard ['手机号']"
