"""The Bot API methods the sandbox speaks, with Telegram's answers, checks and errors."""

from __future__ import annotations

import contextlib
import copy
import json
import mimetypes
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from . import webhook
from .errors import JSON, ApiError, _bad
from .formatting import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, format_text, utf16_len
from .markup import _inline_only, validate_markup
from .state import (
    _TOKEN_RE,
    DROPPED,
    IN_PROGRESS,
    ApiCall,
    SandboxState,
    StoredFile,
    StoredMessage,
    _BotState,
    _Chat,
    _image_size,
)

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
# What a scripted fault answers, by status (SandboxConfig.scripted_faults).
_SCRIPTED_DESCRIPTIONS = {
    400: "Bad Request: message can't be edited",
    403: "Forbidden: bot was blocked by the user",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class _Upload:
    filename: str | None
    data: bytes
    content_type: str | None


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
    "setWebhook",
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


class BotApi(SandboxState):
    """The Bot API half of `Sandbox`: ``/bot{token}/{method}`` and ``/file/bot{token}/{path}``."""

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
        conflict = webhook.conflict_if_set(bot)
        if conflict is not None:
            raise ApiError(409, conflict)
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

    async def _api_set_webhook(self, bot: _BotState, call: _Call) -> bool:
        params = call.params
        url = params.get_str("url") or ""
        if not url:
            webhook.delete(bot)  # an empty URL removes the webhook, as deleteWebhook
            return True
        hook = webhook.checked(
            url, params.get_str("secret_token"), params.get_int("max_connections")
        )
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = [str(kind) for kind in allowed]
        if params.get_bool("drop_pending_updates"):
            bot.updates.clear()
        # A long poll under way ends (409), as a newer getUpdates would end it.
        bot.poll_generation += 1
        bot.update_signal.notify()
        webhook.start(self, bot, hook)
        bot.activity.touch()
        return True

    async def _api_delete_webhook(self, bot: _BotState, call: _Call) -> bool:
        webhook.delete(bot)
        if call.params.get_bool("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _api_get_webhook_info(self, bot: _BotState, call: _Call) -> JSON:
        if bot.webhook is not None:
            return bot.webhook.info(bot)
        return webhook.no_webhook_info(bot)

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
