"""The update inbox: every update stored before Telegram is told it arrived, each handled once.

The path of an update:

1. `Inbox.poll` fetches updates, stores them (sealed) in `update_inbox` and only then asks for
   the next ones, which is what acknowledges them to Telegram.
2. The Application's processor (bot/processing.py) takes each officer's updates in order and
   calls `Inbox.handle`: one database transaction (`Database.unit`) holds everything the
   handlers change; their Bot API calls are held back (bot/effects.py, `DeferringRequest`) and
   written as `pending_reply` rows in the same transaction, with the update marked handled.
3. After the commit the calls are made in order and their rows dropped.

After a SIGKILL anywhere: an update not yet committed is handled again from the start (nothing of
it was kept); a committed one is never handled again, and whatever of its calls had not been made
is made at the next start (`Inbox.recover`), so at most a call in flight at the kill repeats.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.exc import SQLAlchemyError
from telegram import Update
from telegram.error import (
    BadRequest,
    Conflict,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.ext import Application
from telegram.request import BaseRequest, RequestData

from bot import effects
from storage import appeals, broadcasts
from storage import inbox as inbox_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.types import utcnow

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# Handled updates are kept this long (to answer "was this one handled?"), then purged.
KEEP_HANDLED = timedelta(days=7)
# Attempts at one reply that met a network error or a 5xx before it is given up.
REPLY_ATTEMPTS = 5
# A reply whose answer timed out may have arrived: it is tried once more, never more.
TIMED_OUT_ATTEMPTS = 2
RETRY_AFTER_CAP = 60.0
# Tries at an update whose transaction the database refused.
HANDLE_ATTEMPTS = 3


def _is_read(method: str) -> bool:
    """Calls that change nothing are made at once, even while an update is handled."""
    return method.lower().startswith("get")


def _placeholder(method: str, parameters: dict[str, str]) -> object:
    """What Telegram would answer, for a call held back: a message for sends, True otherwise.

    Handlers rarely look at the answer; one that needs the message's id asks for it with
    effects.on_sent instead.
    """
    if not method.lower().startswith(("send", "copymessage", "forwardmessage")):
        return True
    try:
        chat_id: object = json.loads(parameters.get("chat_id", "0"))
    except ValueError:
        chat_id = 0
    message: dict[str, object] = {
        "message_id": 0,
        "date": int(time.time()),
        "chat": {"id": chat_id if isinstance(chat_id, int) else 0, "type": "private"},
    }
    if "text" in parameters:
        message["text"] = parameters["text"]
    return message


class StoredRequestData:
    """A held-back call's parameters in the shape HTTPXRequest reads from RequestData."""

    def __init__(self, parameters: dict[str, str], files: dict[str, tuple[str, bytes, str]]):
        self.json_parameters = parameters
        self.multipart_data = files
        self.contains_files = bool(files)

    @property
    def parameters(self) -> dict[str, str]:
        """The parameters as sent."""
        return self.json_parameters


def seal_call(cipher: FieldCipher, call: effects.Call) -> str:
    """A call as sealed JSON, for the pending_reply table."""
    files = {
        name: [filename, base64.b64encode(content).decode(), mime]
        for name, (filename, content, mime) in call.files.items()
    }
    text = json.dumps({"method": call.method, "parameters": call.parameters, "files": files})
    return cipher.encrypt(text)


def unseal_call(cipher: FieldCipher, payload: str, on_sent: str | None) -> effects.Call:
    """A call back from its sealed JSON."""
    data = json.loads(cipher.decrypt(payload))
    files = {
        name: (filename, base64.b64decode(content), mime)
        for name, (filename, content, mime) in data.get("files", {}).items()
    }
    return effects.Call(data["method"], data["parameters"], files, on_sent)


def _file_parts(request_data: RequestData) -> dict[str, tuple[str, bytes, str]]:
    if not request_data.contains_files:
        return {}
    parts: dict[str, tuple[str, bytes, str]] = {}
    for name, part in request_data.multipart_data.items():
        filename, content, mime = part
        raw = content if isinstance(content, bytes) else content.read()
        parts[name] = (filename or name, raw, mime or "application/octet-stream")
    return parts


class DeferringRequest(BaseRequest):
    """The Application's Bot API transport: holds back changing calls made while handling."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner
        self.recorder: Callable[[str, str, int], None] | None = None

    @property
    def read_timeout(self) -> float | None:
        """The inner transport's read timeout."""
        return self.inner.read_timeout

    async def initialize(self) -> None:
        """Start the inner transport."""
        await self.inner.initialize()

    async def shutdown(self) -> None:
        """Stop the inner transport."""
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Record the call if an update is being handled and it changes something; else make it."""
        api_method = url.rsplit("/", 1)[-1]
        journal = effects.current()
        if journal is not None and not _is_read(api_method):
            parameters = dict(request_data.json_parameters) if request_data else {}
            files = _file_parts(request_data) if request_data else {}
            journal.record(effects.Call(api_method, parameters, files))
            body = {"ok": True, "result": _placeholder(api_method, parameters)}
            return 200, json.dumps(body).encode()
        tag = None if _is_read(api_method) else effects.take_direct_on_sent()
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if tag is not None and 200 <= code <= 299 and self.recorder is not None:
            message_id = _message_id(json.loads(payload).get("result"))
            if message_id:
                self.recorder(tag, api_method, message_id)
        return code, payload


def _seconds(value: object) -> float:
    """retry_after as seconds (PTB gives an int or a timedelta, depending on its settings)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(cast(float, value))


def _message_id(result: object) -> int | None:
    if isinstance(result, dict):
        value = result.get("message_id")
        return value if isinstance(value, int) else None
    return None


@dataclass
class Reply:
    """A pending reply as the deliverer holds it."""

    id: int
    call: effects.Call


class Inbox:
    """Stores, hands out and settles the updates of one Application."""

    def __init__(
        self,
        application: AnyApplication,
        database: Database,
        cipher: FieldCipher,
        request: DeferringRequest,
    ) -> None:
        self.application = application
        self.database = database
        self.cipher = cipher
        self.request = request
        request.recorder = self._record_sent
        self._stopping = asyncio.Event()

    # --- handling ---------------------------------------------------------------------------

    async def handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers of one update in one transaction, then make its calls.

        A transaction the database refused (a lock timeout, a lost connection) is tried again
        from the start: nothing of it was kept.
        """
        if not isinstance(update, Update):
            await coroutine
            return
        for attempt in range(1, HANDLE_ATTEMPTS + 1):
            try:
                await self._handle_once(update, coroutine)
                return
            except SQLAlchemyError as exc:
                cast(Any, coroutine).close()  # if the failure came before it started
                if attempt == HANDLE_ATTEMPTS:
                    log.error(
                        "update %s not handled (%s); it waits for the next start",
                        update.update_id,
                        type(exc).__name__,
                    )
                    return
                log.warning("update %s: %s; trying again", update.update_id, type(exc).__name__)
                await asyncio.sleep(0.2 * attempt)
                coroutine = self.application.process_update(update)

    async def _handle_once(self, update: Update, coroutine: Awaitable[Any]) -> None:
        replies: list[Reply] = []
        journal: effects.Journal | None = None
        async with self.database.gate:
            with self.database.unit() as session:
                claimed = inbox_storage.claim(session, update.update_id)
                if claimed is False:
                    # Handled before a restart (or by another process): never twice.
                    cast(Any, coroutine).close()
                    return
                journal, token = effects.open_journal()
                # Fires only if the handling lets the event loop run while the transaction is
                # open, which keeps every other writer waiting: worth knowing, never expected.
                yielded: list[bool] = []
                probe = asyncio.get_running_loop().call_soon(yielded.append, True)
                try:
                    await coroutine
                    while journal.redispatch:
                        journal.redispatch = False
                        await self.application.process_update(update)
                finally:
                    effects.close_journal(token)
                    probe.cancel()
                if yielded:
                    log.debug("update %s waited while its transaction was open", update.update_id)
                now = utcnow()
                sealed = [(seal_call(self.cipher, c), c.on_sent) for c in journal.calls]
                ids = inbox_storage.add_replies(session, update.update_id, sealed, now)
                if claimed is True:
                    inbox_storage.mark_handled(session, update.update_id, now)
                replies = [Reply(i, c) for i, c in zip(ids, journal.calls, strict=True)]
        for callback in journal.after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit work of update %s failed", update.update_id)
        await self.deliver(replies)

    # --- delivery ---------------------------------------------------------------------------

    async def deliver(self, replies: Sequence[Reply]) -> None:
        """Make the calls in order; drop each row once Telegram took it or it was given up."""
        if not replies:
            return
        done: list[int] = []
        sent: list[tuple[str, str, int]] = []
        for reply in replies:
            message_id = await self._make(reply.call)
            done.append(reply.id)
            if reply.call.on_sent is not None and message_id:
                sent.append((reply.call.on_sent, reply.call.method, message_id))
        async with self.database.gate:
            with self.database.session() as session:
                inbox_storage.forget_replies(session, done)
                for tag, method, message_id in sent:
                    _record(session, tag, method, message_id)

    async def _make(self, call: effects.Call) -> int | None:
        """One call, retried as Telegram's errors deserve; the message id it returned, if any."""
        url = f"{self.application.bot.base_url}/{call.method}"
        data = cast(RequestData, StoredRequestData(call.parameters, call.files))
        failures = timeouts = 0
        while True:
            try:
                result = await self.request.inner.post(url, request_data=data)
                return _message_id(result)
            except RetryAfter as exc:
                await asyncio.sleep(min(_seconds(exc.retry_after), RETRY_AFTER_CAP))
            except TimedOut:
                # It may have arrived: once more at most, so nobody reads it three times.
                timeouts += 1
                if timeouts >= TIMED_OUT_ATTEMPTS:
                    log.warning("%s timed out twice; it may have arrived", call.method)
                    return None
            except BadRequest as exc:
                return await self._after_bad_request(call, exc)
            except Forbidden:
                log.info("%s refused: the officer blocked the bot", call.method)
                return None
            except (InvalidToken, Conflict):
                raise
            except NetworkError as exc:
                failures += 1
                if failures >= REPLY_ATTEMPTS:
                    log.warning("%s given up: %s", call.method, type(exc).__name__)
                    return None
                await asyncio.sleep(min(0.5 * 2 ** (failures - 1), 8.0))
            except TelegramError as exc:
                log.warning("%s failed: %s", call.method, type(exc).__name__)
                return None

    async def _after_bad_request(self, call: effects.Call, error: BadRequest) -> int | None:
        """A refused edit becomes a new message (as the handlers' edit_or_send did)."""
        text = str(error).lower()
        if "not modified" in text or "query is too old" in text or "query id is invalid" in text:
            return None
        if call.method == "editMessageText" and "chat_id" in call.parameters:
            parameters = {
                name: value
                for name, value in call.parameters.items()
                if name in ("chat_id", "text", "reply_markup", "parse_mode", "entities")
            }
            return await self._make(effects.Call("sendMessage", parameters, {}, call.on_sent))
        log.warning("%s refused: %s", call.method, type(error).__name__)
        return None

    def _record_sent(self, tag: str, method: str, message_id: int) -> None:
        """A tagged call made outside any update (a scheduled job): record its message now."""
        with self.database.session() as session:
            _record(session, tag, method, message_id)

    # --- start-up ---------------------------------------------------------------------------

    async def recover(self) -> int:
        """Make the calls a crash left behind, then queue the updates not yet handled."""
        with self.database.session() as session:
            pending = [
                (row.id, row.update_id, row.payload, row.on_sent)
                for row in inbox_storage.pending_replies(session)
            ]
            waiting = [(row.update_id, row.payload) for row in inbox_storage.unhandled(session)]
            purged = inbox_storage.purge(session, utcnow() - KEEP_HANDLED)
        if purged:
            log.info("purged %d handled updates older than a week", purged)
        replies = [
            Reply(reply_id, unseal_call(self.cipher, payload, on_sent))
            for reply_id, _update_id, payload, on_sent in pending
            if reply_id is not None
        ]
        if replies:
            log.info("making %d replies left by the last run", len(replies))
            await self.deliver(replies)
        for update_id, payload in waiting:
            data = json.loads(self.cipher.decrypt(payload))
            update = Update.de_json(data, self.application.bot)
            if update is None:
                log.warning("update %s could not be read back", update_id)
                continue
            await self.application.update_queue.put(update)
        if waiting:
            log.info("handling %d updates left by the last run", len(waiting))
        return len(waiting)

    def purge(self) -> int:
        """Drop updates handled more than a week ago."""
        with self.database.session() as session:
            return inbox_storage.purge(session, utcnow() - KEEP_HANDLED)

    # --- polling ----------------------------------------------------------------------------

    async def poll(
        self, *, timeout: int = 30, allowed_updates: Sequence[str] | None = None
    ) -> None:
        """Long-poll Telegram until stopped: store each batch, then acknowledge it by asking on."""
        with self.database.session() as session:
            last = inbox_storage.last_update_id(session)
        offset = None if last is None else last + 1
        failures = 0
        bot = self.application.bot
        allowed = list(allowed_updates) if allowed_updates is not None else Update.ALL_TYPES
        while not self._stopping.is_set():
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=timeout,
                    allowed_updates=allowed,
                    read_timeout=timeout + 10,
                )
            except InvalidToken:
                raise
            except (TimedOut, RetryAfter, NetworkError, Conflict) as exc:
                failures += 1
                if isinstance(exc, Conflict):
                    log.error("another process polls this bot: %s", type(exc).__name__)
                else:
                    log.warning("getUpdates failed (%s); retrying", type(exc).__name__)
                await self._pause(min(0.5 * 2 ** min(failures, 6), 30.0))
                continue
            failures = 0
            if not updates:
                continue
            stored = await self.store(updates)
            for update in updates:
                if update.update_id in stored:
                    await self.application.update_queue.put(update)
            offset = updates[-1].update_id + 1

    async def store(self, updates: Sequence[Update]) -> set[int]:
        """Store fetched updates (sealed); the ids that were new."""
        rows = [
            inbox_storage.Incoming(
                update.update_id,
                update.effective_user.id if update.effective_user else None,
                self.cipher.encrypt(json.dumps(update.to_dict(), ensure_ascii=False)),
            )
            for update in updates
        ]
        async with self.database.gate:
            with self.database.session() as session:
                return inbox_storage.store(session, rows, utcnow())

    def stop(self) -> None:
        """End `poll` at its next turn."""
        self._stopping.set()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)


def _record(session: Any, tag: str, method: str, message_id: int) -> None:
    """Store the id of a message sent for `tag` ("kind:key")."""
    kind, _, key = tag.partition(":")
    if kind == "appeal_tally":
        appeals.set_tally_message(session, int(key), message_id)
    elif kind == "broadcast_progress":
        broadcasts.set_progress_message(session, int(key), message_id)
    else:
        log.warning("no record for sent %s of kind %s", method, kind)


class DeferredWake:
    """The broadcaster as handlers see it: a wake during an update waits for its commit."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def wake(self) -> None:
        """Start sending once what was just written is committed."""
        effects.after_commit(self._wake)
