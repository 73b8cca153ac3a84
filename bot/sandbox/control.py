"""The sandbox as a whole: the aiohttp app serving both APIs, and the test-control API.

The control API (``/sandbox/{token}/...``) plays users (messages, contacts, button presses)
and reads what the bot did (events, calls, stats); `Sandbox` offers the same in process.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import mimetypes
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from . import webhook
from .api import BotApi, _Params
from .errors import JSON, ApiError, _bad
from .markup import _inline_only
from .state import (
    _TOKEN_RE,
    ApiCall,
    Idle,
    SandboxConfig,
    StoredMessage,
    _BotState,
    _CallbackQuery,
    _Chat,
    _image_size,
)

if TYPE_CHECKING:
    from types import TracebackType

    from .client import SandboxClient


MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# A 1x1 transparent PNG, used when a simulated user sends a photo without bytes.
_TINY_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


class Sandbox(BotApi):
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
            if bot.webhook is not None:  # set before a restart: delivery goes on
                webhook.start(self, bot, bot.webhook)
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
            if bot.webhook is not None:
                bot.webhook.stop()
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
        forgotten = self._bots.pop(token, None)
        if forgotten is not None:
            webhook.delete(forgotten)

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
