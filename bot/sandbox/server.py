"""A local emulator of the Telegram Bot API for tests, benchmarks and demos.

Text lengths are counted in UTF-16 code units after ``parse_mode`` markup has been removed and
surrounding whitespace trimmed, like Telegram does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import json
import math
import mimetypes
import random
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from aiohttp import web

if TYPE_CHECKING:
    from types import TracebackType

    from .client import SandboxClient

JSON = dict[str, Any]

BOT_FIRST_NAME = "暖警"
BOT_USERNAME = "nuanjing_sandbox_bot"
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_DATA_BYTES = 64
GLOBAL_SENDS_PER_SECOND = 30
CHAT_BURST = 3
CHAT_SENDS_PER_SECOND = 1.0
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

_TOKEN_RE = re.compile(r"^(\d+):(.+)$")
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
_SENDING_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
# PTB sends nested parameters as JSON-encoded strings inside forms.
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "commands",
        "scope",
        "reply_parameters",
        "link_preview_options",
        "allowed_updates",
    }
)
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_SCOPE_TYPES = frozenset(
    {
        "default",
        "all_private_chats",
        "all_group_chats",
        "all_chat_administrators",
        "chat",
        "chat_administrators",
        "chat_member",
    }
)
_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
# A 1x1 transparent PNG, used when a simulated user sends a photo without bytes.
_TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


IN_PROGRESS = 0
# Status logged for a call whose connection a scripted fault dropped without an answer.
DROPPED = -1
# What a scripted fault answers, by status (SandboxConfig.scripted_faults).
_SCRIPTED_DESCRIPTIONS = {
    400: "Bad Request: message can't be edited",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class ApiCall(NamedTuple):
    """One logged Bot API call; ``status`` is IN_PROGRESS (0) until it is answered."""

    time: float
    method: str
    chat_id: int | None
    status: int


class ApiError(Exception):
    """A Bot API error answered as ``{"ok": false, ...}`` with the same HTTP status."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSON:
        """Return the Telegram error body."""
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


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
# Formatted text (parse_mode) handling


def utf16_len(text: str) -> int:
    """Return the length of ``text`` in UTF-16 code units, as Telegram counts it."""
    return len(text.encode("utf-16-le")) // 2


class _EntityError(Exception):
    pass


@dataclass
class _Open:
    kind: str
    start: int
    byte_offset: int
    tag: str = ""
    extra: JSON = field(default_factory=dict)
    merged: bool = False


class _Builder:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.offset = 0
        self.entities: list[JSON] = []

    def add(self, chunk: str) -> None:
        self.parts.append(chunk)
        self.offset += utf16_len(chunk)

    def close(self, item: _Open) -> None:
        self.entity(item.kind, item.start, self.offset, item.extra)

    def entity(self, kind: str, start: int, end: int, extra: JSON | None = None) -> None:
        if end > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": end - start, **(extra or {})}
            )

    def result(self) -> tuple[str, list[JSON]]:
        return "".join(self.parts), sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


_HTML_KINDS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_ENTITY_RE = re.compile(r"&(#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot);")
_HTML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HTML_ATTR_RE = re.compile(r"\s*([a-zA-Z_:-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")


def _html_unescape(value: str) -> str:
    def repl(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _HTML_NAMED:
            return _HTML_NAMED[name]
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        return chr(code) if 0 < code <= 0x10FFFF else match.group(0)

    return _HTML_ENTITY_RE.sub(repl, value)


def _parse_html(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    stack: list[_Open] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            match = _HTML_ENTITY_RE.match(text, i)
            if match:
                out.add(_html_unescape(match.group(0)))
                i = match.end()
            else:
                out.add("&")
                i += 1
            continue
        if char != "<":
            j = i
            while j < n and text[j] not in "<&":
                j += 1
            out.add(text[i:j])
            i = j
            continue
        offset = _byte_offset(text, i)
        if i + 1 < n and text[i + 1] == "/":
            end = text.find(">", i)
            if end < 0:
                raise _EntityError(f"Unclosed end tag at byte offset {offset}")
            name = text[i + 2 : end].strip().lower()
            if not stack:
                raise _EntityError(f"Unexpected end tag at byte offset {offset}")
            top = stack.pop()
            if name != top.tag:
                raise _EntityError(
                    f'Unmatched end tag at byte offset {offset}, expected "</{top.tag}>", '
                    f'found "</{name}>"'
                )
            if not top.merged:
                out.close(top)
            i = end + 1
            continue
        j = i + 1
        while j < n and not text[j].isspace() and text[j] not in ">":
            j += 1
        if j >= n:
            raise _EntityError(f"Unclosed start tag at byte offset {offset}")
        name = text[i + 1 : j].lower()
        if name not in _HTML_KINDS:
            raise _EntityError(f'Unsupported start tag "{name}" at byte offset {offset}')
        attrs: dict[str, str] = {}
        while True:
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] == ">":
                break
            match = _HTML_ATTR_RE.match(text, j)
            if j >= n or not match or match.end() == j:
                raise _EntityError(f"Unclosed start tag at byte offset {offset}")
            value = next((g for g in match.groups()[1:] if g is not None), "")
            attrs[match.group(1).lower()] = _html_unescape(value)
            j = match.end()
        item = _Open(_HTML_KINDS[name], out.offset, offset, tag=name)
        if name == "span" and attrs.get("class") != "tg-spoiler":
            raise _EntityError(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
        if name == "a":
            item.extra["url"] = attrs.get("href", "")
            if not item.extra["url"]:
                item.merged = True
        elif name == "tg-emoji":
            item.extra["custom_emoji_id"] = attrs.get("emoji-id", "")
        elif name == "blockquote" and "expandable" in attrs:
            item.kind = "expandable_blockquote"
        elif name == "code" and stack and stack[-1].tag == "pre":
            # <pre><code class="language-x"> is one "pre" entity with a language.
            item.merged = True
            language = attrs.get("class", "")
            if language.startswith("language-"):
                stack[-1].extra["language"] = language.removeprefix("language-")
        stack.append(item)
        i = j + 1
    if stack:
        raise _EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    return out.result()


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def _mdv2_ends(item: _Open, text: str, i: int) -> bool:
    char, nxt = text[i], text[i + 1 : i + 2]
    return {
        "bold": char == "*",
        "italic": char == "_" and nxt != "_",
        "underline": char == "_" and nxt == "_",
        "strikethrough": char == "~",
        "spoiler": char == "|" and nxt == "|",
        "text_link": char == "]",
        "custom_emoji": char == "]",
    }.get(item.kind, False)


def _is_language(chunk: str) -> bool:
    return bool(chunk.strip()) and not any(c in chunk for c in " `")


def _parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    stack: list[_Open] = []
    quote_start: int | None = None
    quote_end = 0
    line_start = True
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        in_code = bool(stack) and stack[-1].kind in ("code", "pre")
        if line_start and not in_code:
            line_start = False
            if char == ">":
                if quote_start is None:
                    quote_start = out.offset
                i += 1
                continue
            if quote_start is not None:
                out.entity("blockquote", quote_start, quote_end)
                quote_start = None
        if char == "\\" and i + 1 < n and 0 < ord(text[i + 1]) <= 126:
            out.add(text[i + 1])
            i += 2
            continue
        if in_code:
            top = stack[-1]
            if top.kind == "code" and char == "`":
                out.close(stack.pop())
                i += 1
            elif top.kind == "pre" and text.startswith("```", i):
                out.close(stack.pop())
                i += 3
            else:
                out.add(char)
                i += 1
            continue
        if char not in _MDV2_RESERVED:
            if char == "\n":
                quote_end = out.offset
                line_start = True
            out.add(char)
            i += 1
            continue
        if stack and _mdv2_ends(stack[-1], text, i):
            top = stack.pop()
            i += 2 if top.kind in ("underline", "spoiler") else 1
            if top.kind in ("text_link", "custom_emoji"):
                url = ""
                if i < n and text[i] == "(":
                    j = i + 1
                    chars: list[str] = []
                    while j < n and text[j] != ")":
                        if text[j] == "\\" and j + 1 < n:
                            j += 1
                        chars.append(text[j])
                        j += 1
                    if j >= n:
                        raise _EntityError(
                            f"Can't find end of a url at byte offset {top.byte_offset}"
                        )
                    url = "".join(chars)
                    i = j + 1
                if top.kind == "custom_emoji":
                    top.extra["custom_emoji_id"] = url.partition("id=")[2]
                elif url:
                    top.extra["url"] = url
                else:
                    continue
            out.close(top)
            continue
        offset = _byte_offset(text, i)
        nxt = text[i + 1 : i + 2]
        if char == "_":
            kind = "underline" if nxt == "_" else "italic"
        elif char == "*":
            kind = "bold"
        elif char == "~":
            kind = "strikethrough"
        elif char == "|" and nxt == "|":
            kind = "spoiler"
        elif char == "[":
            kind = "text_link"
        elif char == "!" and nxt == "[":
            kind = "custom_emoji"
        elif char == "`":
            kind = "pre" if text.startswith("```", i) else "code"
        else:
            raise _EntityError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        item = _Open(kind, out.offset, offset)
        i += {"underline": 2, "spoiler": 2, "custom_emoji": 2, "pre": 3}.get(kind, 1)
        if kind == "pre":
            newline = text.find("\n", i)
            if newline >= 0 and _is_language(text[i:newline]):
                item.extra["language"] = text[i:newline]
                i = newline + 1
            item.start = out.offset
        stack.append(item)
    if stack:
        top = stack[-1]
        raise _EntityError(
            f"Can't find end of {_MDV2_NAMES[top.kind]} entity at byte offset {top.byte_offset}"
        )
    if quote_start is not None:
        out.entity("blockquote", quote_start, out.offset)
    return out.result()


def _parse_markdown(text: str) -> tuple[str, list[JSON]]:
    out = _Builder()
    kinds = {"*": "bold", "_": "italic", "`": "code", "[": "text_link"}
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and text[i + 1] in "_*`[":
            out.add(text[i + 1])
            i += 2
            continue
        if char not in kinds:
            out.add(char)
            i += 1
            continue
        begin = _byte_offset(text, i)
        start = out.offset
        is_pre = text.startswith("```", i)
        i += 3 if is_pre else 1
        extra: JSON = {}
        if is_pre:
            newline = text.find("\n", i)
            if newline >= 0 and _is_language(text[i:newline]):
                extra["language"] = text[i:newline]
                i = newline + 1
        end_char = "]" if char == "[" else char
        while i < n and not (text.startswith("```", i) if is_pre else text[i] == end_char):
            out.add(text[i])
            i += 1
        if i >= n:
            raise _EntityError(f"Can't find end of the entity starting at byte offset {begin}")
        i += 3 if is_pre else 1
        kind = "pre" if is_pre else kinds[char]
        if kind == "text_link":
            close = text.find(")", i) if text[i : i + 1] == "(" else -1
            if close < 0:
                continue
            extra["url"] = text[i + 1 : close]
            i = close + 1
        out.entity(kind, start, out.offset, extra)
    return out.result()


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[JSON]]:
    """Apply ``parse_mode`` to ``text`` and trim it; return the plain text and its entities."""
    mode = (parse_mode or "").lower()
    try:
        if mode == "html":
            plain, found = _parse_html(text)
        elif mode == "markdownv2":
            plain, found = _parse_markdown_v2(text)
        elif mode == "markdown":
            plain, found = _parse_markdown(text)
        elif mode == "":
            plain, found = text, list(entities) if isinstance(entities, list) else []
        else:
            raise _bad("unsupported parse_mode")
    except _EntityError as exc:
        raise _bad(f"can't parse entities: {exc}") from None
    stripped = plain.strip()
    if stripped == plain:
        return plain, found
    shift = utf16_len(plain[: len(plain) - len(plain.lstrip())])
    total = utf16_len(stripped)
    trimmed: list[JSON] = []
    for entity in found:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    return stripped, trimmed


# ---------------------------------------------------------------------------------------------
# Markup validation


def validate_markup(markup: Any) -> JSON | None:
    """Validate a reply_markup object like Telegram and return it normalized."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse inline keyboard button: InlineKeyboardMarkup must be an Array")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad(
                        'can\'t parse inline keyboard button: Field "text" must be of type String'
                    )
                if not any(key in button for key in _INLINE_ACTIONS):
                    raise _bad(
                        "can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    size = len(data.encode("utf-8")) if isinstance(data, str) else 0
                    if not 1 <= size <= MAX_CALLBACK_DATA_BYTES:
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button and not str(button["url"]).startswith(
                    ("http://", "https://", "tg://")
                ):
                    raise _bad("BUTTON_URL_INVALID")
        return {"inline_keyboard": [[dict(button) for button in row] for row in rows]}
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise _bad("can't parse reply keyboard markup JSON object")
        keyboard: list[list[JSON]] = []
        for row in rows:
            buttons: list[JSON] = []
            for button in row:
                if isinstance(button, str):
                    button = {"text": button}
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise _bad('can\'t parse keyboard button: Field "text" must be of type String')
                buttons.append(dict(button))
            keyboard.append(buttons)
        return {**markup, "keyboard": keyboard}
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return dict(markup)
    raise _bad("can't parse reply keyboard markup JSON object")


def _inline_only(markup: JSON | None) -> JSON | None:
    return markup if markup and "inline_keyboard" in markup else None


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
# State


@dataclass
class _Upload:
    filename: str | None
    data: bytes
    content_type: str | None


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


class _Params:
    """Bot API parameters; values may be strings (forms) or JSON values."""

    def __init__(self, values: dict[str, Any], files: dict[str, _Upload]) -> None:
        self.values = values
        self.files = files

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        if name in _JSON_PARAMS and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise _bad(f"can't parse {name} JSON object") from None
        return value

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        return None if value is None else str(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool):
            raise _bad(f"invalid {name} specified")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def get_float(self, name: str, default: float) -> float:
        value = self.values.get(name)
        if value is None or value == "":
            return default
        try:
            return float(value)
        except (TypeError, ValueError):
            raise _bad(f"invalid {name} specified") from None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)


@dataclass
class _Call:
    params: _Params
    chat_id: int | None = None


_METHODS = (
    "getMe",
    "getUpdates",
    "deleteWebhook",
    "getWebhookInfo",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendDocument",
    "sendPhoto",
    "sendChatAction",
    "getFile",
    "close",
    "logOut",
)
_METHOD_NAMES = {name.lower(): name for name in _METHODS}


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


# ---------------------------------------------------------------------------------------------
# The server


class Sandbox:
    """An in-process Telegram Bot API emulator served over HTTP with aiohttp."""

    def __init__(
        self,
        *,
        limits: bool = False,
        seed: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create a stopped sandbox; ``clock`` drives rate limits and the call log."""
        self.config = SandboxConfig(limits=limits)
        self._seed = seed
        self._rng = random.Random(seed)
        self._clock = clock
        self._bots: dict[str, _BotState] = {}
        self._runner: web.AppRunner | None = None
        self._host = "127.0.0.1"
        self._port = 0
        self._closing = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Start serving; ``port=0`` picks a free port."""
        if self._runner is not None:
            raise RuntimeError("sandbox already started")
        self._closing = asyncio.Event()
        for bot in self._bots.values():
            bot.reset_signals()
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.router.add_route("*", "/bot{token}/{method}", self._tracked(self._handle_api))
        app.router.add_get("/file/bot{token}/{path:.+}", self._tracked(self._handle_file))
        self._add_control_routes(app)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._host = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else port

    async def stop(self) -> None:
        """Stop serving, waking every long poll and simulated hang first."""
        if self._runner is None:
            return
        self._closing.set()
        for bot in self._bots.values():
            for signal in bot.signals():
                signal.notify()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> Sandbox:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        """The TCP port the sandbox listens on."""
        return self._port

    @property
    def base_url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:8081``."""
        return f"http://{self._host}:{self._port}"

    @property
    def api_base_url(self) -> str:
        """PTB ``base_url`` (the token is appended by PTB)."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """PTB ``base_file_url``."""
        return f"{self.base_url}/file/bot"

    # -- in-process API -------------------------------------------------------------------

    def client(self, token: str) -> SandboxClient:
        """Return a SandboxClient for ``token`` talking to this sandbox."""
        from .client import SandboxClient

        return SandboxClient(self.base_url, token)

    def configure(self, **settings: Any) -> JSON:
        """Change limits/faults: limits, error_rate, delay, blocked_users, timeout_rate,
        hang_seconds, scripted_faults, seed. Returns the resulting settings."""
        cfg = self.config
        for key, value in settings.items():
            if key == "limits":
                cfg.limits = bool(value)
            elif key in ("error_rate", "timeout_rate"):
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{key} must be between 0 and 1")
                setattr(cfg, key, rate)
            elif key in ("delay", "hang_seconds"):
                setattr(cfg, key, max(0.0, float(value)))
            elif key == "blocked_users":
                cfg.blocked_users = {int(user) for user in (value or ())}
            elif key == "scripted_faults":
                cfg.scripted_faults = {
                    str(name): [int(status) for status in statuses]
                    for name, statuses in (value or {}).items()
                }
            elif key == "seed":
                self._seed = int(value)
                self._rng = random.Random(self._seed)
            else:
                raise ValueError(f"unknown sandbox setting: {key}")
        return cfg.to_json()

    def stats(self, token: str) -> JSON:
        """Return counters for one bot."""
        bot = self._bot(token)
        counters = bot.counters
        return {
            "calls": len(bot.calls),
            "sends": counters["sends"],
            "edits": counters["edits"],
            "deletes": counters["deletes"],
            "rate_limited": counters["rate_limited"],
            "faults": counters["faults"],
            "forbidden": counters["forbidden"],
            "bad_requests": counters["bad_requests"],
            "pending_updates": len(bot.updates),
            "by_method": dict(Counter(call.method for call in bot.calls)),
            "by_status": {str(k): v for k, v in Counter(c.status for c in bot.calls).items()},
        }

    def calls(self, token: str) -> list[ApiCall]:
        """Return the API call log of one bot, in arrival order."""
        return list(self._bot(token).calls)

    def events(self, token: str, chat_id: int) -> list[JSON]:
        """Return every bot event recorded in a chat."""
        chat = self._bot(token).chats.get(chat_id)
        return [self._event_json(self._bot(token), ev) for ev in chat.events] if chat else []

    def reset(self, token: str) -> None:
        """Forget everything about one bot."""
        self._bots.pop(token, None)

    # -- idle: the bot has taken every update and has nothing in flight ------------------

    async def wait_idle(
        self, token: str, *, settle: float = 0.05, timeout: float = 10.0, fresh: bool = False
    ) -> Idle:
        """Wait until the bot is idle: every update confirmed, no call in progress (long polls
        aside), and nothing of either for ``settle`` seconds; return at ``timeout`` regardless.

        ``fresh``: the quiet ``settle`` seconds are counted from this call at the earliest, so a
        caller that checked something else meanwhile learns that nothing began since.
        """
        bot = self._bot(token)
        activity = bot.activity
        loop = asyncio.get_running_loop()
        asked_at = loop.time()
        deadline = asked_at + timeout
        while True:
            now = loop.time()
            busy = bool(bot.updates) or bool(activity.in_flight)
            quiet_since = max(activity.changed_at, asked_at) if fresh else activity.changed_at
            left = deadline - now
            if not busy and now - quiet_since >= settle:
                return self._idle_state(bot, idle=True)
            if left <= 0 or self._closing.is_set():
                return self._idle_state(bot, idle=False)
            await activity.signal.wait(left if busy else min(left, quiet_since + settle - now))

    @staticmethod
    def _idle_state(bot: _BotState, *, idle: bool) -> Idle:
        return Idle(idle, bot.activity.mark, len(bot.updates), dict(bot.activity.in_flight))

    def _tracked(
        self, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The Bot API handler, with each call counted in flight while it runs (not getUpdates:
        a long poll is the bot waiting, not working)."""

        async def tracked(request: web.Request) -> web.StreamResponse:
            token = request.match_info["token"]
            method = request.match_info.get("method", "file")
            if not _TOKEN_RE.match(token) or method.lower() == "getupdates":
                return await handler(request)
            activity = self._bot(token).activity
            activity.begin(method)
            try:
                return await handler(request)
            finally:
                activity.end(method)

        return tracked

    # -- helpers --------------------------------------------------------------------------

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

    def _chat(self, bot: _BotState, call: _Call) -> _Chat:
        raw = call.params.values.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        try:
            chat_id = int(raw)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None
        call.chat_id = chat_id
        chat = bot.chats.get(chat_id)
        if chat is None:
            raise _bad("chat not found")
        return chat

    def _push_update(self, bot: _BotState, kind: str, payload: JSON) -> int | None:
        if bot.allowed_updates and kind not in bot.allowed_updates:
            return None
        update_id = bot.next_update_id
        bot.next_update_id += 1
        bot.updates.append({"update_id": update_id, kind: copy.deepcopy(payload)})
        bot.update_signal.notify()
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

    def _input_file(self, bot: _BotState, call: _Call, name: str) -> _Upload | StoredFile:
        params = call.params
        upload = params.files.get(name)
        if upload is None:
            value = params.get_str(name)
            if not value:
                raise _bad(f"there is no {name} in the request")
            if value.startswith("attach://"):
                upload = params.files.get(value.removeprefix("attach://"))
                if upload is None:
                    raise _bad(f"there is no {name} in the request")
            elif value in bot.files:
                return bot.files[value]
            elif value.startswith(("http://", "https://")):
                raise _bad("failed to get HTTP URL content")
            else:
                raise _bad("wrong file identifier/HTTP URL specified")
        if not upload.data:
            raise _bad("file must be non-empty")
        return upload

    def _reply_target(self, chat: _Chat, params: _Params) -> JSON | None:
        reply = params.get("reply_parameters")
        allow_missing = params.get_bool("allow_sending_without_reply")
        if reply is None:
            message_id = params.get_int("reply_to_message_id")
            if message_id is None:
                return None
            reply = {"message_id": message_id}
        if not isinstance(reply, dict) or not str(reply.get("message_id", "")).isdigit():
            raise _bad("can't parse reply parameters JSON object")
        target = chat.messages.get(int(reply["message_id"]))
        if target is None:
            if allow_missing or reply.get("allow_sending_without_reply"):
                return None
            raise _bad("message to be replied not found")
        public = target.public()
        public.pop("reply_to_message", None)
        return public

    def _caption(self, params: _Params) -> tuple[str | None, list[JSON]]:
        caption = params.get_str("caption")
        if not caption:
            return None, []
        text, entities = format_text(
            caption, params.get_str("parse_mode"), params.get("caption_entities")
        )
        if utf16_len(text) > MAX_CAPTION_LENGTH:
            raise _bad("message caption is too long")
        return text or None, entities

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

    def _new_bot_message(
        self,
        bot: _BotState,
        chat: _Chat,
        content: JSON,
        *,
        markup: JSON | None,
        reply_to: JSON | None,
        params: _Params,
    ) -> StoredMessage:
        data: JSON = {
            "message_id": chat.allocate_id(),
            "from": bot.user,
            "chat": chat.data,
            "date": int(time.time()),
            **content,
        }
        if reply_to is not None:
            data["reply_to_message"] = reply_to
        if markup is not None:
            data["reply_markup"] = markup
        if params.get_bool("protect_content"):
            data["has_protected_content"] = True
        options = {
            key: params.get(key)
            for key in (
                "disable_notification",
                "protect_content",
                "link_preview_options",
                "disable_web_page_preview",
                "message_thread_id",
            )
            if params.values.get(key) is not None
        }
        stored = StoredMessage(
            data,
            from_bot=True,
            parse_mode=params.get_str("parse_mode"),
            options=options,
        )
        chat.messages[data["message_id"]] = stored
        bot.counters["sends"] += 1
        return stored

    # -- HTTP plumbing --------------------------------------------------------------------

    async def _read_params(self, request: web.Request) -> _Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.can_read_body:
            ctype = request.content_type
            if ctype == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON request body") from None
                if isinstance(body, dict):
                    values.update(body)
            elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = _Upload(value.filename, value.file.read(), value.content_type)
                    elif isinstance(value, bytes):
                        values[key] = value.decode("utf-8", "replace")
                    else:
                        values[key] = value
        return _Params(values, files)

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        name = request.match_info["method"]
        started = self._clock()
        if not _TOKEN_RE.match(token):
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        bot = self._bot(token)
        method = _METHOD_NAMES.get(name.lower())
        call = _Call(_Params({}, {}))
        # Logged on arrival with status 0 so in-flight calls (long polls) are visible.
        calls, index = bot.calls, len(bot.calls)
        calls.append(ApiCall(started, method or name, None, IN_PROGRESS))
        status = 200
        try:
            if method is None:
                raise ApiError(404, "Not Found")
            call.params = await self._read_params(request)
            with contextlib.suppress(ApiError):
                call.chat_id = call.params.get_int("chat_id")
            calls[index] = ApiCall(started, method, call.chat_id, IN_PROGRESS)
            scripted = self.config.next_scripted(method, call.chat_id)
            if scripted == DROPPED:
                bot.counters["faults"] += 1
                calls[index] = ApiCall(started, method, call.chat_id, DROPPED)
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=500)  # never written: the connection is gone
            if scripted is not None:
                raise ApiError(scripted, _SCRIPTED_DESCRIPTIONS.get(scripted, f"Error {scripted}"))
            if method in _SENDING_METHODS and self.config.delay > 0:
                await self._sleep(self.config.delay)
            handler: Callable[[_BotState, _Call], Any] = getattr(self, f"_api_{_snake(method)}")
            body: JSON = {"ok": True, "result": await handler(bot, call)}
        except ApiError as exc:
            status = exc.status
            body = exc.payload()
            counter = {400: "bad_requests", 403: "forbidden", 429: "rate_limited"}.get(status)
            if counter is None and status >= 500:
                counter = "faults"
            if counter:
                bot.counters[counter] += 1
        calls[index] = ApiCall(started, method or name, call.chat_id, status)
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if not _TOKEN_RE.match(token):
            return web.json_response(ApiError(401, "Unauthorized").payload(), status=401)
        stored = self._bot(token).files_by_path.get(request.match_info["path"])
        if stored is None:
            return web.json_response(ApiError(404, "Not Found").payload(), status=404)
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # -- Bot API methods ------------------------------------------------------------------

    async def _api_get_me(self, bot: _BotState, call: _Call) -> JSON:
        return {
            **bot.user,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _api_get_updates(self, bot: _BotState, call: _Call) -> list[JSON]:
        params = call.params
        offset = params.get_int("offset")
        limit = min(100, max(1, params.get_int("limit") or 100))
        timeout = min(50.0, max(0.0, params.get_float("timeout", 0.0)))
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = [str(kind) for kind in allowed]
        if offset:
            waiting = len(bot.updates)
            if offset > 0:
                bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
            else:
                bot.updates = bot.updates[offset:]
            if len(bot.updates) != waiting:
                bot.activity.touch()  # confirmed: the bot has them
        # A newer getUpdates terminates an older long poll, as on Telegram.
        bot.poll_generation += 1
        generation = bot.poll_generation
        bot.update_signal.notify()
        await self._wait_until(
            bot.update_signal,
            lambda: bool(bot.updates) or bot.poll_generation != generation,
            timeout,
        )
        if bot.poll_generation != generation:
            raise ApiError(409, _CONFLICT)
        return copy.deepcopy(bot.updates[:limit])

    async def _api_delete_webhook(self, bot: _BotState, call: _Call) -> bool:
        if call.params.get_bool("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _api_get_webhook_info(self, bot: _BotState, call: _Call) -> JSON:
        return {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }

    def _scope_key(self, params: _Params) -> tuple[str, int | str | None, int | None, str]:
        scope = params.get("scope") or {"type": "default"}
        if not isinstance(scope, dict) or scope.get("type") not in _SCOPE_TYPES:
            raise _bad("can't parse BotCommandScope")
        kind = str(scope["type"])
        chat_id: int | str | None = None
        user_id: int | None = None
        if kind in ("chat", "chat_administrators", "chat_member"):
            raw = scope.get("chat_id")
            if raw is None or raw == "":
                raise _bad("chat_id is empty")
            chat_id = int(raw) if str(raw).lstrip("-").isdigit() else str(raw)
        if kind == "chat_member":
            raw_user = scope.get("user_id")
            if raw_user is None or not str(raw_user).isdigit():
                raise _bad("user_id is empty")
            user_id = int(raw_user)
        return kind, chat_id, user_id, params.get_str("language_code") or ""

    async def _api_set_my_commands(self, bot: _BotState, call: _Call) -> bool:
        commands = call.params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        normalized: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand")
            name = str(command.get("command", "")).removeprefix("/")
            description = str(command.get("description", ""))
            if not _COMMAND_RE.match(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description is empty")
            normalized.append({"command": name, "description": description})
        key = self._scope_key(call.params)
        if normalized:
            bot.commands[key] = normalized
        else:
            bot.commands.pop(key, None)
        return True

    async def _api_get_my_commands(self, bot: _BotState, call: _Call) -> list[JSON]:
        return copy.deepcopy(bot.commands.get(self._scope_key(call.params), []))

    async def _api_delete_my_commands(self, bot: _BotState, call: _Call) -> bool:
        bot.commands.pop(self._scope_key(call.params), None)
        return True

    async def _api_send_message(self, bot: _BotState, call: _Call) -> JSON:
        params = call.params
        chat = self._chat(bot, call)
        raw_text = params.get_str("text")
        if not raw_text or not raw_text.strip():
            raise _bad("message text is empty")
        text, entities = format_text(raw_text, params.get_str("parse_mode"), params.get("entities"))
        if not text:
            raise _bad("message text is empty")
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        markup = validate_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        commit = await self._gate(bot, chat)
        commit()
        content: JSON = {"text": text}
        if entities:
            content["entities"] = entities
        stored = self._new_bot_message(
            bot, chat, content, markup=markup, reply_to=reply_to, params=params
        )
        stored.raw_text = raw_text
        self._record_event(bot, chat, "message", stored.data["message_id"])
        return stored.public()

    async def _api_send_document(self, bot: _BotState, call: _Call) -> JSON:
        params = call.params
        chat = self._chat(bot, call)
        source = self._input_file(bot, call, "document")
        caption, caption_entities = self._caption(params)
        markup = validate_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        commit = await self._gate(bot, chat)
        commit()
        if isinstance(source, StoredFile):
            stored_file = source
        else:
            name = source.filename or "document"
            mime = source.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            stored_file = self._store_file(
                bot, "documents", source.data, file_name=name, mime_type=mime
            )
        content: JSON = {"document": stored_file.document()}
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        stored = self._new_bot_message(
            bot, chat, content, markup=markup, reply_to=reply_to, params=params
        )
        stored.raw_text = params.get_str("caption")
        stored.file_id = stored_file.file_id
        self._record_event(bot, chat, "document", stored.data["message_id"])
        return stored.public()

    async def _api_send_photo(self, bot: _BotState, call: _Call) -> JSON:
        params = call.params
        chat = self._chat(bot, call)
        source = self._input_file(bot, call, "photo")
        caption, caption_entities = self._caption(params)
        markup = validate_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        if isinstance(source, StoredFile):
            data, size = source.data, (source.width, source.height)
            if not size[0]:
                size = _image_size(data) or (512, 512)
        else:
            data = source.data
            found = _image_size(data)
            if found is None:
                raise _bad("IMAGE_PROCESS_FAILED")
            size = found
        commit = await self._gate(bot, chat)
        commit()
        sizes = self._photo_sizes(bot, data, size)
        content: JSON = {"photo": sizes}
        if caption:
            content["caption"] = caption
            if caption_entities:
                content["caption_entities"] = caption_entities
        stored = self._new_bot_message(
            bot, chat, content, markup=markup, reply_to=reply_to, params=params
        )
        stored.raw_text = params.get_str("caption")
        stored.file_id = sizes[-1]["file_id"]
        self._record_event(bot, chat, "photo", stored.data["message_id"])
        return stored.public()

    def _editable(self, bot: _BotState, call: _Call) -> tuple[_Chat, StoredMessage]:
        params = call.params
        if params.values.get("inline_message_id"):
            raise _bad("message to edit not found")
        chat = self._chat(bot, call)
        message_id = params.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        stored = chat.messages.get(message_id)
        if stored is None:
            raise _bad("message to edit not found")
        if not stored.from_bot:
            raise _bad("message can't be edited")
        return chat, stored

    async def _api_edit_message_text(self, bot: _BotState, call: _Call) -> JSON:
        params = call.params
        raw_text = params.get_str("text")
        if not raw_text or not raw_text.strip():
            raise _bad("message text is empty")
        text, entities = format_text(raw_text, params.get_str("parse_mode"), params.get("entities"))
        if utf16_len(text) > MAX_TEXT_LENGTH:
            raise _bad("message is too long")
        markup = _inline_only(validate_markup(params.get("reply_markup")))
        chat, stored = self._editable(bot, call)
        if "text" not in stored.data:
            raise _bad("there is no text in the message to edit")
        current_markup = _inline_only(stored.data.get("reply_markup"))
        if (
            stored.data["text"] == text
            and stored.data.get("entities", []) == entities
            and current_markup == markup
        ):
            raise _bad(_NOT_MODIFIED)
        stored.data["text"] = text
        stored.data.pop("entities", None)
        if entities:
            stored.data["entities"] = entities
        self._apply_markup(stored, markup)
        stored.raw_text = raw_text
        stored.parse_mode = params.get_str("parse_mode")
        stored.data["edit_date"] = int(time.time())
        bot.counters["edits"] += 1
        self._record_event(bot, chat, "edit", stored.data["message_id"])
        return stored.public()

    async def _api_edit_message_reply_markup(self, bot: _BotState, call: _Call) -> JSON:
        markup = _inline_only(validate_markup(call.params.get("reply_markup")))
        chat, stored = self._editable(bot, call)
        if _inline_only(stored.data.get("reply_markup")) == markup:
            raise _bad(_NOT_MODIFIED)
        self._apply_markup(stored, markup)
        stored.data["edit_date"] = int(time.time())
        bot.counters["edits"] += 1
        self._record_event(bot, chat, "edit", stored.data["message_id"])
        return stored.public()

    @staticmethod
    def _apply_markup(stored: StoredMessage, markup: JSON | None) -> None:
        if markup is None:
            stored.data.pop("reply_markup", None)
        else:
            stored.data["reply_markup"] = markup

    async def _api_delete_message(self, bot: _BotState, call: _Call) -> bool:
        chat = self._chat(bot, call)
        message_id = call.params.get_int("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        if message_id not in chat.messages:
            raise _bad("message to delete not found")
        self._record_event(bot, chat, "delete", message_id)
        del chat.messages[message_id]
        bot.counters["deletes"] += 1
        return True

    async def _api_answer_callback_query(self, bot: _BotState, call: _Call) -> bool:
        params = call.params
        query = bot.callbacks.get(params.get_str("callback_query_id") or "")
        if query is None or query.answer is not None:
            raise ApiError(400, _QUERY_INVALID)
        call.chat_id = query.chat_id
        answer: JSON = {
            "text": params.get_str("text") or "",
            "show_alert": params.get_bool("show_alert"),
            "url": params.get_str("url"),
            "cache_time": params.get_int("cache_time") or 0,
        }
        if len(answer["text"]) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        query.answer = answer
        bot.answer_signal.notify()
        return True

    async def _api_send_chat_action(self, bot: _BotState, call: _Call) -> bool:
        chat = self._chat(bot, call)
        if call.params.get_str("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        if chat.data.get("type") == "private" and chat.id in self.config.blocked_users:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return True

    async def _api_get_file(self, bot: _BotState, call: _Call) -> JSON:
        stored = bot.files.get(call.params.get_str("file_id") or "")
        if stored is None:
            raise _bad("invalid file_id")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": len(stored.data),
            "file_path": stored.file_path,
        }

    async def _api_close(self, bot: _BotState, call: _Call) -> bool:
        return True

    async def _api_log_out(self, bot: _BotState, call: _Call) -> bool:
        return True

    # -- control API ----------------------------------------------------------------------

    def _add_control_routes(self, app: web.Application) -> None:
        base = "/sandbox/{token}"
        routes: list[tuple[str, str, Callable[[_BotState, web.Request], Any]]] = [
            ("POST", "/users", self._ctl_user),
            ("POST", "/chats", self._ctl_chat),
            ("POST", "/messages", self._ctl_message),
            ("POST", "/callbacks", self._ctl_press),
            ("GET", "/callbacks/{query_id}", self._ctl_answer),
            ("GET", "/chats/{chat_id}/events", self._ctl_events),
            ("GET", "/chats/{chat_id}/messages/{message_id}", self._ctl_get_message),
            ("GET", "/commands", self._ctl_commands),
            ("GET", "/calls", self._ctl_calls),
            ("GET", "/stats", self._ctl_stats),
            ("GET", "/config", self._ctl_config),
            ("POST", "/config", self._ctl_config),
            ("GET", "/files/{file_id}", self._ctl_file),
            ("GET", "/updates", self._ctl_updates),
            ("GET", "/idle", self._ctl_idle),
            ("POST", "/reset", self._ctl_reset),
        ]
        for verb, path, handler in routes:
            app.router.add_route(verb, base + path, self._control(handler))

    def _control(
        self, handler: Callable[[_BotState, web.Request], Any]
    ) -> Callable[[web.Request], Any]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                bot = self._bot(request.match_info["token"])
                result = await handler(bot, request)
                if isinstance(result, web.StreamResponse):
                    return result
                return web.json_response({"ok": True, "result": result})
            except ApiError as exc:
                return web.json_response(exc.payload(), status=exc.status)
            except KeyError as exc:
                error = ApiError(400, f"Bad Request: missing field {exc}")
                return web.json_response(error.payload(), status=400)
            except (TypeError, ValueError) as exc:
                error = ApiError(400, f"Bad Request: {exc}")
                return web.json_response(error.payload(), status=400)

        return wrapped

    @staticmethod
    async def _body(request: web.Request) -> JSON:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise _bad("control API expects a JSON object") from None
        if not isinstance(body, dict):
            raise _bad("control API expects a JSON object")
        return body

    def _group_or_private(self, bot: _BotState, body: JSON, user: JSON) -> _Chat:
        chat_id = body.get("chat_id")
        if chat_id is None:
            return bot.chats[user["id"]]
        chat = bot.chats.get(int(chat_id))
        if chat is None:
            raise ApiError(404, f"Not Found: chat {chat_id} does not exist in the sandbox")
        return chat

    async def _ctl_user(self, bot: _BotState, request: web.Request) -> JSON:
        body = await self._body(request)
        user = self._ensure_user(bot, body.get("user", body))
        return {"user": user, "chat": bot.chats[user["id"]].data}

    async def _ctl_chat(self, bot: _BotState, request: web.Request) -> JSON:
        body = await self._body(request)
        chat_id = int(body["id"])
        kind = str(body.get("type", "group"))
        if kind not in ("group", "supergroup", "channel") or chat_id >= 0:
            raise _bad("sandbox chats must be groups, supergroups or channels with a negative id")
        data: JSON = {"id": chat_id, "type": kind, "title": str(body.get("title") or "Group")}
        chat = bot.chats.get(chat_id)
        if chat is None:
            bot.chats[chat_id] = _Chat(data)
        else:
            chat.data.update(data)
        return data

    async def _ctl_message(self, bot: _BotState, request: web.Request) -> JSON:
        body = await self._body(request)
        user = self._ensure_user(bot, body["user"])
        chat = self._group_or_private(bot, body, user)
        content: JSON = {}
        if body.get("text") is not None:
            content["text"] = str(body["text"])
            if body.get("entities"):
                content["entities"] = list(body["entities"])
        if body.get("contact") is not None:
            content["contact"] = dict(body["contact"])
        if body.get("photo") is not None:
            spec = body["photo"] if isinstance(body["photo"], dict) else {}
            image = base64.b64decode(spec["data_b64"]) if spec.get("data_b64") else _TINY_PNG
            content["photo"] = self._photo_sizes(bot, image, _image_size(image) or (512, 512))
        if body.get("sticker") is not None:
            spec = body["sticker"] if isinstance(body["sticker"], dict) else {}
            sticker = self._store_file(bot, "stickers", b"RIFF\x00\x00\x00\x00WEBPVP8 ")
            content["sticker"] = {
                "file_id": sticker.file_id,
                "file_unique_id": sticker.file_unique_id,
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "type": "regular",
                "emoji": spec.get("emoji", "👍"),
                "file_size": len(sticker.data),
            }
        if body.get("document") is not None:
            spec = dict(body["document"])
            name = str(spec.get("file_name") or "document")
            mime = spec.get("mime_type") or mimetypes.guess_type(name)[0]
            doc = self._store_file(
                bot,
                "documents",
                base64.b64decode(spec.get("data_b64") or ""),
                file_name=name,
                mime_type=mime or "application/octet-stream",
            )
            content["document"] = doc.document()
        if body.get("caption") and "text" not in content:
            content["caption"] = str(body["caption"])
        if not content:
            raise _bad("a simulated message needs text, contact, photo, sticker or document")
        data: JSON = {
            "message_id": chat.allocate_id(),
            "from": user,
            "chat": chat.data,
            "date": int(time.time()),
            **content,
        }
        channel = chat.data.get("type") == "channel"
        if channel:
            # A channel post is signed by the channel, not by the admin who wrote it.
            del data["from"]
            data["sender_chat"] = chat.data
        reply_to = body.get("reply_to_message_id")
        if reply_to is not None and int(reply_to) in chat.messages:
            target = chat.messages[int(reply_to)].public()
            target.pop("reply_to_message", None)
            data["reply_to_message"] = target
        chat.messages[data["message_id"]] = StoredMessage(data, from_bot=False)
        update_id = self._push_update(bot, "channel_post" if channel else "message", data)
        return {"message": copy.deepcopy(data), "update_id": update_id}

    async def _ctl_press(self, bot: _BotState, request: web.Request) -> JSON:
        body = await self._body(request)
        user = self._ensure_user(bot, body["user"])
        chat = self._group_or_private(bot, body, user)
        message_id = body.get("message_id")
        button_text = body.get("button_text")
        data: str | None = body.get("data")
        if message_id is not None:
            stored = chat.messages.get(int(message_id))
            if stored is None:
                raise ApiError(404, f"Not Found: message {message_id} is not in chat {chat.id}")
            candidates = [stored]
        else:
            candidates = [m for _, m in sorted(chat.messages.items(), reverse=True) if m.from_bot]
        if button_text is not None:
            target = None
            for candidate in candidates:
                for row in (_inline_only(candidate.data.get("reply_markup")) or {}).get(
                    "inline_keyboard", []
                ):
                    for button in row:
                        if button.get("text") == button_text and target is None:
                            target, data = candidate, button.get("callback_data")
                if target is not None:
                    break
            if target is None:
                raise ApiError(404, self._missing_button(candidates, str(button_text)))
            if data is None:
                raise _bad(f"inline button {button_text!r} has no callback_data")
            stored = target
        elif data is not None and message_id is not None:
            stored = candidates[0]
        else:
            raise _bad("press needs button_text, or message_id and data")
        query_id = str(bot.bot_id % 1_000_000 * 10_000_000_000 + bot.next_seq())
        payload: JSON = {
            "id": query_id,
            "from": user,
            "message": stored.public(),
            "chat_instance": str(abs(chat.id * 7919 + bot.bot_id)),
        }
        if data is not None:
            payload["data"] = data
        bot.callbacks[query_id] = _CallbackQuery(query_id, chat.id, stored.data["message_id"], data)
        update_id = self._push_update(bot, "callback_query", payload)
        return {
            "id": query_id,
            "update_id": update_id,
            "message_id": stored.data["message_id"],
            "data": data,
        }

    @staticmethod
    def _missing_button(candidates: list[StoredMessage], text: str) -> str:
        seen: list[str] = []
        for candidate in candidates:
            markup = _inline_only(candidate.data.get("reply_markup")) or {}
            for row in markup.get("inline_keyboard", []):
                seen.extend(str(button.get("text")) for button in row)
        available = ", ".join(repr(t) for t in seen) or "none"
        return f"Not Found: no inline button {text!r}; available buttons: {available}"

    async def _ctl_answer(self, bot: _BotState, request: web.Request) -> JSON:
        query_id = request.match_info["query_id"]
        if query_id not in bot.callbacks:
            raise ApiError(404, "Not Found: unknown callback query")
        wait = min(60.0, float(request.query.get("wait", "0")))
        query = bot.callbacks[query_id]
        await self._wait_until(bot.answer_signal, lambda: query.answer is not None, wait)
        return {"answered": query.answer is not None, "answer": query.answer}

    async def _ctl_events(self, bot: _BotState, request: web.Request) -> JSON:
        chat_id = int(request.match_info["chat_id"])
        since = max(0, int(request.query.get("since", "0")))
        count = max(0, int(request.query.get("count", "1")))
        wait = min(60.0, float(request.query.get("wait", "0")))

        def events() -> list[JSON]:
            chat = bot.chats.get(chat_id)
            return chat.events[since:] if chat else []

        await self._wait_until(bot.event_signal, lambda: len(events()) >= count, wait)
        found = events()
        return {"events": [self._event_json(bot, ev) for ev in found], "next": since + len(found)}

    async def _ctl_get_message(self, bot: _BotState, request: web.Request) -> JSON:
        chat = bot.chats.get(int(request.match_info["chat_id"]))
        stored = chat.messages.get(int(request.match_info["message_id"])) if chat else None
        if stored is None:
            raise ApiError(404, "Not Found: message does not exist")
        return {
            "message": copy.deepcopy(stored.data),
            "from_bot": stored.from_bot,
            "raw_text": stored.raw_text,
            "parse_mode": stored.parse_mode,
            "options": stored.options,
        }

    async def _ctl_commands(self, bot: _BotState, request: web.Request) -> JSON:
        if request.query.get("all"):
            return {
                "scopes": [
                    {
                        "scope": {"type": kind, "chat_id": chat_id, "user_id": user_id},
                        "language_code": language,
                        "commands": commands,
                    }
                    for (kind, chat_id, user_id, language), commands in bot.commands.items()
                ]
            }
        params = _Params(dict(request.query), {})
        return {"commands": bot.commands.get(self._scope_key(params), [])}

    async def _ctl_calls(self, bot: _BotState, request: web.Request) -> JSON:
        return {"calls": [list(call) for call in bot.calls]}

    async def _ctl_stats(self, bot: _BotState, request: web.Request) -> JSON:
        return self.stats(bot.token)

    async def _ctl_config(self, bot: _BotState, request: web.Request) -> JSON:
        if request.method == "POST":
            try:
                return self.configure(**await self._body(request))
            except ValueError as exc:
                raise _bad(str(exc)) from None
        return self.config.to_json()

    async def _ctl_file(self, bot: _BotState, request: web.Request) -> Any:
        stored = bot.files.get(request.match_info["file_id"])
        if stored is None:
            raise ApiError(404, "Not Found: unknown file_id")
        if request.query.get("encoding", "base64") == "raw":
            return web.Response(
                body=stored.data, content_type=stored.mime_type or "application/octet-stream"
            )
        return {
            "file_id": stored.file_id,
            "file_name": stored.file_name,
            "mime_type": stored.mime_type,
            "file_path": stored.file_path,
            "data_b64": base64.b64encode(stored.data).decode("ascii"),
        }

    async def _ctl_updates(self, bot: _BotState, request: web.Request) -> JSON:
        return {"updates": copy.deepcopy(bot.updates)}

    async def _ctl_idle(self, bot: _BotState, request: web.Request) -> JSON:
        state = await self.wait_idle(
            bot.token,
            settle=float(request.query.get("settle", "0")),
            timeout=min(60.0, float(request.query.get("wait", "0"))),
            fresh=request.query.get("fresh", "") in ("1", "true"),
        )
        return state._asdict()

    async def _ctl_reset(self, bot: _BotState, request: web.Request) -> JSON:
        self.reset(bot.token)
        return {"reset": True}


async def serve(host: str, port: int, *, limits: bool) -> None:
    """Run a sandbox until cancelled, printing its Bot API base URL."""
    sandbox = Sandbox(limits=limits)
    await sandbox.start(host, port)
    print(f"Telegram Bot API sandbox listening: {sandbox.api_base_url}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await sandbox.stop()
