"""Async client for the sandbox control API: how tests play officers talking to the bot."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import aiohttp

from .state import ApiCall, Idle

JSON = dict[str, Any]
DEFAULT_LANGUAGE = "zh-hans"


class _Unset(enum.Enum):
    TOKEN = enum.auto()


_SELF = _Unset.TOKEN


@dataclass(frozen=True)
class Button:
    """One keyboard button the bot showed (inline or reply keyboard)."""

    text: str
    callback_data: str | None = None
    request_contact: bool = False
    url: str | None = None


@dataclass
class BotEvent:
    """Something the bot did in a chat: a message, an edit, a delete, a document or a photo.

    ``text`` is the message text or caption (for a delete: the deleted message's);
    ``document_bytes`` holds the file bytes of document and photo events.
    """

    kind: str
    message_id: int
    chat_id: int
    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    reply_keyboard: bool = False
    remove_keyboard: bool = False
    document_name: str | None = None
    document_bytes: bytes | None = None
    raw: JSON = field(default_factory=dict, repr=False)

    def button_texts(self) -> list[str]:
        """Return the texts of all buttons, row by row."""
        return [button.text for row in self.buttons for button in row]

    @property
    def message(self) -> JSON:
        """The Telegram message as it was right after this event (empty for unknown)."""
        message = self.raw.get("message")
        return message if isinstance(message, dict) else {}

    @classmethod
    def from_json(cls, data: JSON) -> BotEvent:
        """Build an event from the sandbox's JSON."""
        message: JSON = data.get("message") or {}
        markup: JSON = message.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        buttons = [
            [
                Button(
                    text=str(button.get("text", "")),
                    callback_data=button.get("callback_data"),
                    request_contact=bool(button.get("request_contact", False)),
                    url=button.get("url"),
                )
                for button in row
            ]
            for row in rows
        ]
        file: JSON = data.get("file") or {}
        document: JSON = message.get("document") or {}
        return cls(
            kind=str(data["kind"]),
            message_id=int(data["message_id"]),
            chat_id=int(data["chat_id"]),
            text=str(message.get("text") or message.get("caption") or ""),
            buttons=buttons,
            reply_keyboard="keyboard" in markup,
            remove_keyboard=bool(markup.get("remove_keyboard", False)),
            document_name=document.get("file_name") or file.get("file_name"),
            document_bytes=base64.b64decode(file["data_b64"]) if file.get("data_b64") else None,
            raw=data,
        )

    def __str__(self) -> str:
        parts = [f"{self.kind} #{self.message_id}"]
        if self.text:
            text = self.text if len(self.text) <= 120 else self.text[:117] + "..."
            parts.append(repr(text))
        if self.buttons:
            keyboard = "reply keyboard" if self.reply_keyboard else "buttons"
            parts.append(f"{keyboard} {self.button_texts()}")
        if self.remove_keyboard:
            parts.append("(removes keyboard)")
        if self.document_name:
            parts.append(f"file {self.document_name!r}")
        return " ".join(parts)


UserLike = int | Mapping[str, Any] | Any


class SandboxClient:
    """Plays Telegram users against a running Sandbox, over its HTTP control API."""

    def __init__(self, base_url: str, token: str) -> None:
        """Connect to the sandbox at ``base_url`` (e.g. ``http://127.0.0.1:8081``) as ``token``."""
        self.token = token
        self._base_url = base_url.rstrip("/")
        # aiohttp, not httpx: a rush of a thousand simulated officers shares the machine's cores
        # with the bot it measures, and httpx costs about three times the CPU a request. Made on
        # first use, inside the event loop that will use it.
        self._http: aiohttp.ClientSession | None = None
        self._prefix = f"/sandbox/{token}"
        self._users: dict[int, JSON] = {}
        self._cursors: dict[int, int] = {}

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def __aenter__(self) -> SandboxClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- plumbing ---------------------------------------------------------------------------

    async def _request(
        self,
        method: str,
        path: str,
        *,
        body: JSON | None = None,
        params: Mapping[str, Any] | None = None,
        wait: float = 0.0,
    ) -> Any:
        if self._http is None:
            self._http = aiohttp.ClientSession()
        async with self._http.request(
            method,
            self._base_url + self._prefix + path,
            json=body,
            params=None if params is None else {key: str(value) for key, value in params.items()},
            timeout=aiohttp.ClientTimeout(total=wait + 30.0),
        ) as response:
            text = await response.text()
            status = response.status
        try:
            payload = json.loads(text)
        except ValueError:
            raise AssertionError(
                f"sandbox answered {status} with non-JSON: {text[:200]!r}"
            ) from None
        if not payload.get("ok"):
            raise AssertionError(f"sandbox: {payload.get('description', payload)}")
        return payload["result"]

    def _user(self, user: UserLike) -> JSON:
        if isinstance(user, int) and not isinstance(user, bool):
            return dict(self._users.get(user) or self._default_user(user))
        if dataclasses.is_dataclass(user) and not isinstance(user, type):
            spec: JSON = dataclasses.asdict(user)
        elif isinstance(user, Mapping):
            spec = dict(user)
        else:
            spec = {
                key: getattr(user, key)
                for key in ("id", "first_name", "last_name", "username", "language_code")
                if getattr(user, key, None) is not None
            }
        if "id" not in spec:
            raise TypeError(f"a user needs an id: {user!r}")
        user_id = int(spec["id"])
        merged = {**self._default_user(user_id), **self._users.get(user_id, {})}
        for key in ("first_name", "last_name", "username", "language_code"):
            if spec.get(key) is not None:
                merged[key] = spec[key]
        self._users[user_id] = merged
        return dict(merged)

    @staticmethod
    def _default_user(user_id: int) -> JSON:
        return {"id": user_id, "first_name": f"User{user_id}", "language_code": DEFAULT_LANGUAGE}

    def _chat_id(self, who: UserLike) -> int:
        """A chat id: an int is taken as is (private chat id == user id; groups are negative)."""
        if isinstance(who, int) and not isinstance(who, bool):
            return who
        return int(self._user(who)["id"])

    async def _post_message(self, user: UserLike, chat_id: int | None, content: JSON) -> JSON:
        body: JSON = {"user": self._user(user), **content}
        if chat_id is not None:
            body["chat_id"] = chat_id
        result = await self._request("POST", "/messages", body=body)
        message: JSON = result["message"]
        return message

    # -- acting as users --------------------------------------------------------------------

    async def ensure_user(self, user: UserLike) -> JSON:
        """Make the user (and their private chat) known to the sandbox; return the User."""
        result = await self._request("POST", "/users", body={"user": self._user(user)})
        known: JSON = result["user"]
        return known

    async def create_group(
        self, chat_id: int, title: str = "Group", *, type: str = "group"
    ) -> JSON:
        """Create a group chat (negative id) that users can write in via ``chat_id=``.

        ``type`` is "group", "supergroup" or "channel"; what a user sends to a channel arrives
        as a ``channel_post`` signed by the channel (``sender_chat``), with no ``from``. Presses
        (``press``, ``press_data``) take ``chat_id=`` as well: a button on a message there.
        """
        body = {"id": chat_id, "title": title, "type": type}
        chat: JSON = await self._request("POST", "/chats", body=body)
        return chat

    async def send_text(
        self,
        user: UserLike,
        text: str,
        *,
        chat_id: int | None = None,
        reply_to_message_id: int | None = None,
    ) -> JSON:
        """Send a text message from ``user``; a leading /command gets a bot_command entity."""
        content: JSON = {"text": text}
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            length = len(command.encode("utf-16-le")) // 2
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        if reply_to_message_id is not None:
            content["reply_to_message_id"] = reply_to_message_id
        return await self._post_message(user, chat_id, content)

    async def send_command(
        self, user: UserLike, command: str, args: str = "", *, chat_id: int | None = None
    ) -> JSON:
        """Send ``/command args``."""
        text = f"/{command.removeprefix('/')}"
        if args:
            text = f"{text} {args}"
        return await self.send_text(user, text, chat_id=chat_id)

    async def share_contact(
        self,
        user: UserLike,
        phone_number: str,
        *,
        contact_user_id: int | _Unset | None = _SELF,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> JSON:
        """Share a phone contact, by default the sender's own; ``contact_user_id=None`` omits it."""
        sender = self._user(user)
        contact: JSON = {
            "phone_number": phone_number,
            "first_name": first_name or sender["first_name"],
        }
        if last_name:
            contact["last_name"] = last_name
        if contact_user_id is _SELF:
            contact["user_id"] = sender["id"]
        elif contact_user_id is not None:
            contact["user_id"] = contact_user_id
        return await self._post_message(sender, None, {"contact": contact})

    async def send_photo(
        self,
        user: UserLike,
        data: bytes | None = None,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a photo (a tiny PNG unless ``data`` is given)."""
        spec: JSON = {"data_b64": base64.b64encode(data).decode("ascii")} if data else {}
        content: JSON = {"photo": spec}
        if caption:
            content["caption"] = caption
        return await self._post_message(user, chat_id, content)

    async def send_sticker(
        self, user: UserLike, emoji: str = "👍", *, chat_id: int | None = None
    ) -> JSON:
        """Send a sticker."""
        return await self._post_message(user, chat_id, {"sticker": {"emoji": emoji}})

    async def send_document(
        self,
        user: UserLike,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> JSON:
        """Send a document file."""
        spec = {"file_name": file_name, "data_b64": base64.b64encode(data).decode("ascii")}
        content: JSON = {"document": spec}
        if caption:
            content["caption"] = caption
        return await self._post_message(user, chat_id, content)

    async def press(
        self,
        user: UserLike,
        button_text: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
    ) -> str:
        """Press the inline button with exactly this text; return the callback query id.

        Looks on ``message_id`` if given, otherwise on the newest bot message that has it.
        """
        body: JSON = {"user": self._user(user), "button_text": button_text}
        if message_id is not None:
            body["message_id"] = message_id
        if chat_id is not None:
            body["chat_id"] = chat_id
        result = await self._request("POST", "/callbacks", body=body)
        return str(result["id"])

    async def press_data(
        self, user: UserLike, message_id: int, data: str, *, chat_id: int | None = None
    ) -> str:
        """Press a button with arbitrary (possibly forged) callback data on a message."""
        body: JSON = {"user": self._user(user), "message_id": message_id, "data": data}
        if chat_id is not None:
            body["chat_id"] = chat_id
        result = await self._request("POST", "/callbacks", body=body)
        return str(result["id"])

    async def callback_answer(self, query_id: str, timeout: float = 5) -> JSON | None:
        """Return the bot's answer (text, show_alert, url, cache_time), waiting up to timeout."""
        result = await self._request(
            "GET", f"/callbacks/{query_id}", params={"wait": timeout}, wait=timeout
        )
        answer: JSON | None = result["answer"]
        return answer

    # -- reading what the bot did -----------------------------------------------------------

    async def _events(
        self, chat_id: int, since: int, count: int, wait: float
    ) -> tuple[list[BotEvent], int]:
        result = await self._request(
            "GET",
            f"/chats/{chat_id}/events",
            params={"since": since, "count": count, "wait": wait},
            wait=wait,
        )
        return [BotEvent.from_json(event) for event in result["events"]], int(result["next"])

    async def replies(
        self, user: UserLike, *, count: int = 1, timeout: float = 5.0
    ) -> list[BotEvent]:
        """Wait for at least ``count`` new bot events in the chat and return all new ones.

        ``user`` may also be a chat id (e.g. a negative group id).
        """
        chat_id = self._chat_id(user)
        since = self._cursors.get(chat_id, 0)
        events, cursor = await self._events(chat_id, since, count, timeout)
        self._cursors[chat_id] = cursor
        if len(events) < count:
            arrived = "\n".join(f"  - {event}" for event in events) or "  (nothing)"
            raise AssertionError(
                f"expected {count} bot event(s) in chat {chat_id} within {timeout}s, "
                f"got {len(events)}:\n{arrived}"
            )
        return events

    async def quiet(self, user: UserLike, seconds: float = 0.3) -> list[BotEvent]:
        """Return whatever new bot events arrive within ``seconds`` (to assert silence).

        Silence is better asserted once the bot is idle: ``await wait_idle()``, then ``quiet(0)``.
        """
        await asyncio.sleep(seconds)
        chat_id = self._chat_id(user)
        events, cursor = await self._events(chat_id, self._cursors.get(chat_id, 0), 0, 0.0)
        self._cursors[chat_id] = cursor
        return events

    async def history(self, user: UserLike) -> list[BotEvent]:
        """Return every bot event in the chat so far (does not move the read cursor)."""
        events, _ = await self._events(self._chat_id(user), 0, 0, 0.0)
        return events

    async def message(self, user: UserLike, message_id: int) -> JSON:
        """Return a stored message in its current state (reply_markup included)."""
        result = await self._request("GET", f"/chats/{self._chat_id(user)}/messages/{message_id}")
        message: JSON = result["message"]
        return message

    async def file_bytes(self, file_id: str) -> bytes:
        """Return the bytes of a stored file."""
        result = await self._request("GET", f"/files/{file_id}")
        return base64.b64decode(result["data_b64"])

    # -- bot configuration, limits and statistics --------------------------------------------

    async def commands(
        self, scope: Mapping[str, Any] | None = None, language_code: str = ""
    ) -> list[tuple[str, str]]:
        """Return the bot's commands for a scope (default scope if None) as (command, desc)."""
        params: JSON = {"language_code": language_code}
        if scope is not None:
            params["scope"] = json.dumps(dict(scope))
        result = await self._request("GET", "/commands", params=params)
        return [(c["command"], c["description"]) for c in result["commands"]]

    async def configure(self, **settings: Any) -> JSON:
        """Change sandbox limits/faults: limits, error_rate, delay, blocked_users, timeout_rate,
        hang_seconds, seed. Settings are shared by every bot of the sandbox."""
        if "blocked_users" in settings:
            settings["blocked_users"] = sorted(settings["blocked_users"] or ())
        config: JSON = await self._request("POST", "/config", body=settings)
        return config

    async def stats(self) -> JSON:
        """Return counters: calls, sends, edits, deletes, rate_limited, faults, by_status..."""
        stats: JSON = await self._request("GET", "/stats")
        return stats

    async def calls(self) -> list[ApiCall]:
        """Return the Bot API call log, in arrival order; status is 0 while still in flight."""
        result = await self._request("GET", "/calls")
        return [ApiCall(float(t), str(m), c, int(s)) for t, m, c, s in result["calls"]]

    async def pending_updates(self) -> list[JSON]:
        """Return the updates not yet confirmed by the bot."""
        result = await self._request("GET", "/updates")
        updates: list[JSON] = result["updates"]
        return updates

    async def idle(self, *, settle: float = 0.0, timeout: float = 0.0, fresh: bool = False) -> Idle:
        """What the bot is doing, once it is idle or at ``timeout`` (see Sandbox.wait_idle).

        Idle: every update taken (confirmed), no Bot API call of the bot in progress (long polls
        aside), and neither for ``settle`` seconds; ``fresh`` counts those from now at the
        earliest. ``mark`` changes whenever anything happens.
        """
        params = {"settle": settle, "wait": timeout, "fresh": int(fresh)}
        result = await self._request("GET", "/idle", params=params, wait=timeout + settle)
        return Idle(
            bool(result["idle"]),
            int(result["mark"]),
            int(result["pending_updates"]),
            {str(method): int(count) for method, count in result["in_flight"].items()},
        )

    async def wait_idle(
        self, *, settle: float = 0.05, timeout: float = 10.0, fresh: bool = False
    ) -> int:
        """Wait until the bot has taken every update and has nothing in flight; its mark.

        Raises AssertionError, naming what is still going on, if that takes over ``timeout``.
        """
        state = await self.idle(settle=settle, timeout=timeout, fresh=fresh)
        if not state.idle:
            raise AssertionError(
                f"the bot was not idle within {timeout}s: {state.pending_updates} update(s) "
                f"not taken, calls in flight: {state.in_flight or 'none'}"
            )
        return state.mark

    async def reset(self) -> None:
        """Forget everything about this bot in the sandbox."""
        await self._request("POST", "/reset")
        self._cursors.clear()
