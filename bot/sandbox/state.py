"""The sandbox's state: bots, users, chats, messages, files, updates, the call log, settings.

Also the limits and faults applied to a sending call (`SandboxState._gate`): the limits are
module constants read on every send.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import math
import random
import re
import struct
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .errors import JSON, ApiError, _bad
from .markup import _inline_only
from .webhook import Webhook

BOT_FIRST_NAME = "暖警"
BOT_USERNAME = "nuanjing_sandbox_bot"
GLOBAL_SENDS_PER_SECOND = 30
CHAT_BURST = 3
CHAT_SENDS_PER_SECOND = 1.0

_TOKEN_RE = re.compile(r"^(\d+):(.+)$")

IN_PROGRESS = 0
# Status logged for a call whose connection a scripted fault dropped without an answer.
DROPPED = -1


class ApiCall(NamedTuple):
    """One logged Bot API call; ``status`` is IN_PROGRESS (0) until it is answered."""

    time: float
    method: str
    chat_id: int | None
    status: int


@dataclass
class SandboxConfig:
    """Limits and fault injection settings, shared by every bot of a sandbox."""

    limits: bool = False
    error_rate: float = 0.0
    delay: float = 0.0
    blocked_users: set[int] = field(default_factory=set)
    timeout_rate: float = 0.0
    hang_seconds: float = 30.0
    # Faults answered to the next calls of a method, in order, one per call: the key is a
    # method ("editMessageText") or a method in one chat ("sendMessage:12345", tried first);
    # each value an HTTP status (e.g. 502) or DROPPED (-1: the connection is closed unanswered).
    scripted_faults: dict[str, list[int]] = field(default_factory=dict)

    def to_json(self) -> JSON:
        """Return the settings as JSON."""
        return {
            "limits": self.limits,
            "error_rate": self.error_rate,
            "delay": self.delay,
            "blocked_users": sorted(self.blocked_users),
            "timeout_rate": self.timeout_rate,
            "hang_seconds": self.hang_seconds,
            "scripted_faults": {key: list(value) for key, value in self.scripted_faults.items()},
        }

    def next_scripted(self, method: str, chat_id: int | None) -> int | None:
        """Take the next scripted fault for this call, if any."""
        for key in (f"{method}:{chat_id}", method):
            queue = self.scripted_faults.get(key)
            if queue:
                return queue.pop(0)
        return None


# ---------------------------------------------------------------------------------------------
# Images


def _image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) of a PNG, GIF, JPEG or WebP image, or None if unrecognised."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        width, height = struct.unpack("<HH", data[6:10])
        return int(width), int(height)
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return 512, 512
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        return 800, 600
    return None


# ---------------------------------------------------------------------------------------------
# Bots, chats, messages, files, updates


@dataclass
class StoredFile:
    """A file known to the sandbox (uploaded by the bot or sent by a simulated user)."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def document(self) -> JSON:
        """Return a Telegram Document object."""
        doc: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def photo_size(self) -> JSON:
        """Return a Telegram PhotoSize object."""
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
            "width": self.width,
            "height": self.height,
        }


@dataclass
class StoredMessage:
    """A message in a chat; ``data`` is Telegram JSON (reply_markup kept even if not inline)."""

    data: JSON
    from_bot: bool
    raw_text: str | None = None
    parse_mode: str | None = None
    options: JSON = field(default_factory=dict)
    file_id: str | None = None

    def public(self) -> JSON:
        """Return the message as the Bot API shows it (only inline keyboards are echoed)."""
        data = copy.deepcopy(self.data)
        if not _inline_only(data.get("reply_markup")):
            data.pop("reply_markup", None)
        return data


@dataclass
class _Chat:
    data: JSON
    next_message_id: int = 1
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    events: list[JSON] = field(default_factory=list)
    tokens: float = float(CHAT_BURST)
    refilled_at: float | None = None

    @property
    def id(self) -> int:
        return int(self.data["id"])

    def allocate_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


@dataclass
class _CallbackQuery:
    query_id: str
    chat_id: int
    message_id: int
    data: str | None
    answer: JSON | None = None


class _Signal:
    """Wakes every waiter on ``notify`` (an Event replaced on each notification)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), timeout)


class Idle(NamedTuple):
    """What a bot is doing, as `Sandbox.wait_idle` found it.

    ``idle``: no update waits to be confirmed, no Bot API call of the bot is in progress (its
    long polls aside) and none was for the settle window. ``mark`` counts the changes so far: the
    same mark twice means nothing happened in between.
    """

    idle: bool
    mark: int
    pending_updates: int
    in_flight: dict[str, int]


class _Activity:
    """The calls of one bot in progress and when anything last changed (see wait_idle)."""

    def __init__(self) -> None:
        self.in_flight: Counter[str] = Counter()
        self.mark = 0
        self.changed_at = 0.0
        self.signal = _Signal()

    def touch(self) -> None:
        """Something changed: an update came or was confirmed, a call began or ended."""
        self.mark += 1
        self.changed_at = asyncio.get_running_loop().time()
        self.signal.notify()

    def begin(self, method: str) -> None:
        self.in_flight[method] += 1
        self.touch()

    def end(self, method: str) -> None:
        self.in_flight[method] -= 1
        if self.in_flight[method] <= 0:
            del self.in_flight[method]
        self.touch()


class _BotState:
    def __init__(self, token: str, bot_id: int) -> None:
        self.token = token
        self.bot_id = bot_id
        self.user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, _Chat] = {}
        self.updates: list[JSON] = []
        self.next_update_id = 1
        self.allowed_updates: list[str] = []
        self.poll_generation = 0
        # Set by setWebhook: updates are then POSTed to it (webhook.py), not fetched.
        self.webhook: Webhook | None = None
        self.activity = _Activity()
        self.reset_signals()
        self.callbacks: dict[str, _CallbackQuery] = {}
        self.commands: dict[tuple[str, int | str | None, int | None, str], list[JSON]] = {}
        self.files: dict[str, StoredFile] = {}
        self.files_by_path: dict[str, StoredFile] = {}
        self.calls: list[ApiCall] = []
        self.counters: Counter[str] = Counter()
        self.send_window: deque[float] = deque()
        self.sequence = 0

    def reset_signals(self) -> None:
        # asyncio primitives bind to the loop that first waits on them.
        self.update_signal = _Signal()
        self.event_signal = _Signal()
        self.answer_signal = _Signal()
        self.activity.signal = _Signal()

    def next_seq(self) -> int:
        self.sequence += 1
        return self.sequence

    def signals(self) -> tuple[_Signal, ...]:
        signals = (self.update_signal, self.event_signal, self.answer_signal)
        return (*signals, self.activity.signal)


class SandboxState:
    """What a sandbox knows of its bots, and the changes both of its APIs make to it.

    A base of `Sandbox` (control.py), which sets these attributes; `BotApi` (api.py) adds the
    Bot API methods on top.
    """

    config: SandboxConfig
    _rng: random.Random
    _clock: Callable[[], float]
    _bots: dict[str, _BotState]
    _closing: asyncio.Event

    def _bot(self, token: str) -> _BotState:
        bot = self._bots.get(token)
        if bot is None:
            match = _TOKEN_RE.match(token)
            if not match:
                raise ApiError(401, "Unauthorized")
            bot = self._bots[token] = _BotState(token, int(match.group(1)))
        return bot

    async def _sleep(self, seconds: float) -> None:
        if seconds > 0 and not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    async def _wait_until(self, signal: _Signal, ready: Callable[[], bool], timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready() and not self._closing.is_set():
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            await signal.wait(remaining)

    def _ensure_user(self, bot: _BotState, spec: Any) -> JSON:
        if isinstance(spec, int) and not isinstance(spec, bool):
            spec = {"id": spec}
        if not isinstance(spec, Mapping) or not isinstance(spec.get("id"), int):
            raise _bad("user must be an object with an integer id")
        user_id = int(spec["id"])
        previous = bot.users.get(user_id, {})
        user: JSON = {
            "id": user_id,
            "is_bot": False,
            "first_name": spec.get("first_name") or previous.get("first_name") or f"User{user_id}",
        }
        for key in ("last_name", "username", "language_code"):
            value = spec.get(key, previous.get(key))
            if value:
                user[key] = value
        bot.users[user_id] = user
        chat_data: JSON = {"id": user_id, "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if key in user:
                chat_data[key] = user[key]
        chat = bot.chats.get(user_id)
        if chat is None:
            bot.chats[user_id] = _Chat(chat_data)
        else:
            chat.data.clear()
            chat.data.update(chat_data)
        return user

    def _push_update(self, bot: _BotState, kind: str, payload: JSON) -> int | None:
        if bot.allowed_updates and kind not in bot.allowed_updates:
            return None
        update_id = bot.next_update_id
        bot.next_update_id += 1
        bot.updates.append({"update_id": update_id, kind: copy.deepcopy(payload)})
        bot.update_signal.notify()
        if bot.webhook is not None:
            bot.webhook.wake.set()
        bot.activity.touch()
        return update_id

    def _record_event(self, bot: _BotState, chat: _Chat, kind: str, message_id: int) -> None:
        stored = chat.messages.get(message_id)
        event: JSON = {
            "seq": len(chat.events),
            "kind": kind,
            "chat_id": chat.id,
            "message_id": message_id,
            "time": self._clock(),
            "message": copy.deepcopy(stored.data) if stored else None,
            "raw_text": stored.raw_text if stored else None,
            "parse_mode": stored.parse_mode if stored else None,
            "options": dict(stored.options) if stored else {},
            "file_id": stored.file_id if stored else None,
        }
        chat.events.append(event)
        bot.event_signal.notify()

    def _event_json(self, bot: _BotState, event: JSON) -> JSON:
        data = dict(event)
        stored = bot.files.get(event["file_id"]) if event.get("file_id") else None
        if stored is not None:
            data["file"] = {
                "file_name": stored.file_name,
                "mime_type": stored.mime_type,
                "data_b64": base64.b64encode(stored.data).decode("ascii"),
            }
        return data

    def _store_file(
        self,
        bot: _BotState,
        kind: str,
        data: bytes,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        size: tuple[int, int] = (0, 0),
    ) -> StoredFile:
        seq = bot.next_seq()
        prefix = {"documents": "BQAC", "photos": "AgAC", "stickers": "CAAC"}[kind]
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        elif kind == "photos":
            ext = ".jpg"
        elif kind == "stickers":
            ext = ".webp"
        stored = StoredFile(
            file_id=f"{prefix}{bot.bot_id}x{seq:08d}",
            file_unique_id=f"AQAD{seq:08d}",
            data=data,
            file_path=f"{kind}/file_{seq}{ext}",
            file_name=file_name,
            mime_type=mime_type,
            width=size[0],
            height=size[1],
        )
        bot.files[stored.file_id] = stored
        bot.files_by_path[stored.file_path] = stored
        return stored

    def _photo_sizes(self, bot: _BotState, data: bytes, size: tuple[int, int]) -> list[JSON]:
        width, height = size
        scale = min(1.0, 90 / max(width, height, 1))
        small = self._store_file(
            bot, "photos", data, size=(max(1, round(width * scale)), max(1, round(height * scale)))
        )
        full = self._store_file(bot, "photos", data, size=size)
        return [small.photo_size(), full.photo_size()]

    async def _gate(self, bot: _BotState, chat: _Chat) -> Callable[[], None]:
        """Apply blocking, limits and faults to a sending call; return the commit action."""
        cfg = self.config
        if chat.data.get("type") == "private" and chat.id in cfg.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        now = self._clock()
        tokens = float(CHAT_BURST)
        if cfg.limits:
            window = bot.send_window
            while window and window[0] <= now - 1.0:
                window.popleft()
            waits: list[float] = []
            if len(window) >= GLOBAL_SENDS_PER_SECOND:
                waits.append(window[0] + 1.0 - now)
            if chat.refilled_at is not None:
                elapsed = max(0.0, now - chat.refilled_at)
                tokens = min(float(CHAT_BURST), chat.tokens + elapsed * CHAT_SENDS_PER_SECOND)
            if tokens < 1.0:
                waits.append((1.0 - tokens) / CHAT_SENDS_PER_SECOND)
            if waits:
                retry_after = max(1, math.ceil(max(waits) - 1e-9))
                raise ApiError(
                    429,
                    f"Too Many Requests: retry after {retry_after}",
                    {"retry_after": retry_after},
                )
        if cfg.error_rate > 0 and self._rng.random() < cfg.error_rate:
            if self._rng.random() < 0.5:
                raise ApiError(500, "Internal Server Error")
            raise ApiError(502, "Bad Gateway")
        if cfg.timeout_rate > 0 and self._rng.random() < cfg.timeout_rate:
            await self._sleep(cfg.hang_seconds)
            raise ApiError(504, "Gateway Timeout")

        def commit() -> None:
            if cfg.limits:
                bot.send_window.append(now)
                chat.tokens = tokens - 1.0
                chat.refilled_at = now

        return commit
