"""The update inbox: every update stored before Telegram is told it arrived, each handled once.

The path of an update:

1. `Inbox.poll` fetches updates, stores them (sealed) in `update_inbox` and only then asks for
   the next ones, which is what acknowledges them to Telegram; it asks once the handlers have
   caught up (`POLL_BACKLOG`), so that the queue waits at Telegram, not in memory.
2. The Application's processor (bot/processing.py) takes each officer's updates in order and
   calls `Inbox.handle`: one database transaction (`Database.unit`) holds everything the
   handlers change; their Bot API calls are held back (bot/effects.py, `DeferringRequest`) and
   written as `pending_reply` rows in the same transaction, with the update marked handled.
   Updates of different officers that wait for the database at the same time share that
   transaction (a batch, one instance only); if one of them fails, the batch keeps nothing and
   each is handled again in a transaction of its own.
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
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
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
from telegram.ext import AIORateLimiter, Application
from telegram.request import BaseRequest, RequestData

from bot import effects, metrics, processing
from bot.broadcast import may_have_arrived
from storage import appeals, bindings, broadcasts, officers
from storage import inbox as inbox_storage
from storage.crypto import FieldCipher
from storage.db import Database, DatabaseBusy, commit_unit, unit_failure, unit_scratch
from storage.types import utcnow

log = logging.getLogger(__name__)

AnyApplication = Application[Any, Any, Any, Any, Any, Any]

# Handled updates are kept this long (to answer "was this one handled?"), then purged.
KEEP_HANDLED = timedelta(days=7)
# How long a reply waits for Telegram's answer: well above a slow API's, so that a late answer
# (even a 5xx, which surely sent nothing) is seen instead of a timeout that leaves it unknown.
REPLY_READ_TIMEOUT = 20.0
# How long a reply is retried while Telegram cannot be reached before it waits for the next
# start (the officer's later updates wait meanwhile, so their answers keep their order).
REPLY_PATIENCE = 600.0
# A reply whose answer timed out may have arrived: it is tried once more, never more.
TIMED_OUT_ATTEMPTS = 2
RETRY_AFTER_CAP = 60.0
# How soon the rows of made calls are dropped when no update's transaction does it first.
STRIKE_DELAY = 0.2
# The poller asks Telegram for more updates only once no more than this many of those it took
# are still queued or under way. Taking them faster than the handlers go only moved the queue
# into memory, a parsed update and a task each: after 1,000 queued /me, bench/updates.py's bot
# kept 3-5 MB more resident, and spent more CPU per update. Telegram keeps what is not yet
# asked for, and what was taken is already stored, so nothing waits longer for it.
POLL_BACKLOG = 50
# The most updates held in memory (queued for the handlers or under way), whatever brought them:
# a webhook's POSTs, a restart's recovery, an adopted instance's work. Beyond it they wait in
# update_inbox alone and are read back, oldest first, each time the handlers are down to
# POLL_BACKLOG. Telegram pushes webhooks as fast as the listener answers (max_connections at a
# time), and each update held costs a parsed Update and a task: a rush must queue on disk.
MEMORY_WINDOW = 200
# How long the poller waits before asking again when SQLite's write lock was taken.
STORE_BUSY_PAUSE = 0.05
# Tries at an update whose transaction the database refused (about a minute of waiting).
HANDLE_ATTEMPTS = 40
# Pauses while another instance has an officer's turn (several instances: bot/cluster.py).
TURN_PAUSE_FIRST = 0.01
TURN_PAUSE_CAP = 0.2
# How long an update waits for another instance to make the replies of the officer's previous
# one (so that answers arrive in order) before it goes ahead anyway.
REPLY_ORDER_PATIENCE = 5.0
# The update kinds asked for, by getUpdates and by setWebhook alike.
ALLOWED_UPDATES: tuple[str, ...] = tuple(Update.ALL_TYPES)
# How long a webhook POST waits for SQLite's write lock before Telegram is told to retry.
RECEIVE_PATIENCE = 5.0

# Reply rows struck off and the messages recorded with them.
Struck = tuple[list[int], list[tuple[str, str, int]]]


class NotAnUpdate(ValueError):
    """A webhook body that is not a Telegram update."""


class HandlerFailed(Exception):
    """A handler raised while the update was handled: its transaction keeps nothing."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(type(error).__name__)
        self.error = error


class _UserBusy(Exception):
    """Another instance handles one of this officer's updates right now, or has still to make
    the replies of their previous one: wait for the turn."""

    def __init__(self, replies: bool = False) -> None:
        super().__init__("replies" if replies else "handling")
        self.replies = replies


class _OlderFirst(Exception):
    """The officer has older updates not yet handled (received by other instances): those go
    first, so their steps keep their order whichever instance received them."""

    def __init__(self, waiting: list[tuple[int, str]]) -> None:
        super().__init__(f"{len(waiting)} older")
        self.waiting = waiting


class _AloneAgain(Exception):
    """A batch of updates failed as a whole (one handler's error, the database's): nothing of
    it was kept, and each of its updates is handled again in a transaction of its own."""


class _BeforeHandlers(Exception):
    """The database failed before any handler ran: safe to try again."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


class WrappingRequest(BaseRequest):
    """A Bot API transport around another one (PTB's public extension point)."""

    def __init__(self, inner: BaseRequest) -> None:
        self.inner = inner

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


class DeferringRequest(WrappingRequest):
    """The Application's Bot API transport: holds back changing calls made while handling."""

    def __init__(self, inner: BaseRequest) -> None:
        super().__init__(inner)
        self.recorder: Callable[[str, str, int], Awaitable[None]] | None = None

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
        # Only Bot API methods are POSTed; a GET is a file download, made at once.
        if journal is not None and method == "POST" and not _is_read(api_method):
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
                await self.recorder(tag, api_method, message_id)
        return code, payload


class RawUpdatesRequest(WrappingRequest):
    """The transport of getUpdates: keeps the JSON of the last batch as Telegram sent it.

    The inbox stores each update as received: re-serialising PTB's Update objects
    (`to_dict`) would cost more than handling most updates.
    """

    def __init__(self, inner: BaseRequest) -> None:
        super().__init__(inner)
        self._last: list[Any] = []

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
        """Make the call and keep the updates of a successful answer."""
        self._last = []
        code, payload = await self.inner.do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )
        if 200 <= code <= 299 and url.endswith("/getUpdates"):
            with contextlib.suppress(ValueError, AttributeError):
                result = json.loads(payload).get("result")
                self._last = result if isinstance(result, list) else []
        return code, payload

    def take(self) -> dict[int, Any]:
        """The last batch's updates as sent, by update id (once)."""
        batch, self._last = self._last, []
        return {
            item["update_id"]: item
            for item in batch
            if isinstance(item, dict) and isinstance(item.get("update_id"), int)
        }


def _transient(error: BaseException) -> bool:
    """A database error worth trying again: a lock, a deadlock, a lost connection."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError)


def _chat_of(call: effects.Call) -> int | None:
    try:
        value = json.loads(call.parameters.get("chat_id", "null"))
    except ValueError:
        return None
    return value if isinstance(value, int) else None


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
    """A pending reply as the deliverer holds it; `id` None: a call kept in memory only."""

    id: int | None
    call: effects.Call


@dataclass(frozen=True)
class _Done:
    """An update handled in a batch: its calls to make, and its handlers' journal (None if
    it was handled before)."""

    replies: list[Reply]
    journal: effects.Journal | None
    started: float


@dataclass(frozen=True)
class _Waiting:
    """An update waiting for the database, and where its batch's outcome for it goes."""

    update: Update
    coroutine: Awaitable[Any]
    done: asyncio.Future[_Done]
    # Set when its outcome is in, or when it may lead the next batch.
    turn: asyncio.Event = field(default_factory=asyncio.Event)


async def _committed(unit: Any, session: Any) -> None:
    """Commit the unit (its COMMIT off the event loop where it waits for the disk) and leave it."""
    try:
        await commit_unit(session)
    except BaseException:
        unit.__exit__(*sys.exc_info())
        raise
    unit.__exit__(None, None, None)


def _fail_all(batch: Sequence[_Waiting], error: Exception) -> None:
    for entry in batch:
        if not entry.done.done():
            entry.done.set_exception(error)
        entry.turn.set()


class Inbox:
    """Stores, hands out and settles the updates of one Application."""

    def __init__(
        self,
        application: AnyApplication,
        database: Database,
        cipher: FieldCipher,
        request: DeferringRequest,
        updates_request: RawUpdatesRequest | None = None,
    ) -> None:
        self.application = application
        self.database = database
        self.cipher = cipher
        self.request = request
        self.updates_request = updates_request
        request.recorder = self._record_sent
        self._stopping = asyncio.Event()
        # Set when the inbox stopped for good (see handle): the process must restart.
        self.failed = asyncio.Event()
        self.halted = False
        # Calls made whose rows are still to be dropped (see _strike), and chats that refused.
        self._made_ids: list[int] = []
        self._sent: list[tuple[str, str, int]] = []
        self._blocked: list[int] = []
        # Told at once of a chat that refused a reply (the sender's in-memory mark).
        self.on_blocked: Callable[[int], None] = lambda _chat_id: None
        self._strike_task: asyncio.Task[None] | None = None
        # A graceful stop (close): updates not yet begun stay in the database for the next start.
        self.closing = False
        self._active = 0
        self._none_active = asyncio.Event()
        self._none_active.set()
        # The ids of updates queued or under way, and whether there is room for more (see
        # POLL_BACKLOG); set as well when the inbox is told to stop, so that waiters see it.
        self._queued: set[int] = set()
        # Updates waiting for the database, taken as one batch by the next to get it.
        self._waiting: list[_Waiting] = []
        self._leading = False
        self._room = asyncio.Event()
        self._room.set()
        # Set while stored updates wait that memory had no room for (MEMORY_WINDOW): they are
        # read back in order (`_read_behind`), and newer ones queue behind them, so that each
        # officer's updates keep their order. Each update left behind bumps the count.
        self._behind = False
        self._left_behind = 0
        self._caught_up = asyncio.Event()
        self._caught_up.set()
        self._reader: asyncio.Task[None] | None = None
        # Stored updates that could not be read back: left out of every later read.
        self._unreadable: set[int] = set()
        # Set when several instances share the database (bot/cluster.py): this instance's name.
        # Updates it receives and handles are marked with it; an officer's updates are then
        # taken in order across instances, one at a time (an advisory lock per officer).
        self.owner: str | None = None
        # With several instances, another waits for these rows to go before it answers the
        # same officer again (see _take_turn): struck sooner.
        self.strike_delay = STRIKE_DELAY

    # --- handling ---------------------------------------------------------------------------

    async def handle(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Run the handlers of one update in one transaction, then make its calls.

        The officer's later updates wait meanwhile (bot/processing.py). A transaction the
        database refused before any handler ran is tried again; so is one a handler's database
        error rolled back. A handler's other error rolls everything back and the update counts
        as handled. A failure after the handlers ran (the commit itself) leaves it unknown
        whether the update was kept: the inbox then halts and the process must restart
        (`failed`), which goes on from what the database holds.
        """
        if not isinstance(update, Update) or self.halted or self.closing:
            cast(Any, coroutine).close()
            if not isinstance(update, Update):
                log.warning("an update of type %s was ignored", type(update).__name__)
            else:
                self._settled(update.update_id)
            return
        self._active += 1
        self._none_active.clear()
        try:
            await self._handle(update, coroutine)
        finally:
            self._active -= 1
            if self._active == 0:
                self._none_active.set()
            self._settled(update.update_id)

    def _settled(self, update_id: int) -> None:
        self._queued.discard(update_id)
        if len(self._queued) <= POLL_BACKLOG:
            self._room.set()

    async def _queue(self, update: Update) -> None:
        """Hand a stored update to the handlers (once while it is in hand)."""
        if update.update_id in self._queued:
            return
        self._queued.add(update.update_id)
        if len(self._queued) > POLL_BACKLOG:
            self._room.clear()
        await self.application.update_queue.put(update)

    def _fall_behind(self) -> None:
        """Stored updates wait that are not in memory: read them back as room appears."""
        self._left_behind += 1
        self._behind = True
        self._caught_up.clear()
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read_behind(), name="inbox-read-behind")
            self._reader.add_done_callback(self._reader_ended)

    def _reader_ended(self, task: asyncio.Task[None]) -> None:
        """The reader ends caught up or told to stop. If it failed instead, the updates behind
        would wait for good: the inbox stops, and the restart reads them."""
        if task.cancelled() or self._stopping.is_set():
            return
        error = task.exception()
        # Ended caught up: anything left behind since has a reader of its own.
        if error is not None:
            self._halt(f"reading waiting updates back failed: {type(error).__name__}")

    async def _read_behind(self) -> None:
        """Queue the stored updates memory had no room for, oldest first, a window at a time,
        until none is left that is not queued."""
        while self._behind and not self._stopping.is_set():
            await self._room.wait()
            if self._stopping.is_set():
                return
            left_behind = self._left_behind
            room = MEMORY_WINDOW - len(self._queued)
            if room <= 0:
                self._room.clear()
                continue
            try:
                async with self.database.gate:
                    with self.database.session() as session:
                        rows = inbox_storage.waiting(
                            session,
                            self.owner,
                            leave_out=self._queued | self._unreadable,
                            limit=room,
                        )
            except SQLAlchemyError as exc:
                log.warning("could not read waiting updates back (%s)", type(exc).__name__)
                await self._pause(1.0)
                continue
            for update_id, payload in rows:
                update = self._read_back(update_id, payload)
                if update is None:
                    self._unreadable.add(update_id)
                else:
                    await self._queue(update)
            if len(rows) < room and left_behind == self._left_behind:
                # Nothing stored is left out of memory, and nothing was left behind meanwhile.
                self._behind = False
                self._caught_up.set()

    @property
    def backlog(self) -> int:
        """Updates queued or under way in memory."""
        return len(self._queued)

    @property
    def behind(self) -> bool:
        """True while stored updates wait that memory had no room for."""
        return self._behind

    @property
    def poller_waits(self) -> bool:
        """True while the poller waits for the backlog to shrink before it asks for more."""
        return not self._room.is_set()

    async def _handle(self, update: Update, coroutine: Awaitable[Any]) -> None:
        attempt = 0
        turn_pause = TURN_PAUSE_FIRST
        replies_waited = 0.0
        # Several instances take turns per officer, so they handle one update at a time.
        alone = self.owner is not None
        while True:
            attempt += 1
            pause: float | None = None  # set when the next try need not back off
            earlier: list[tuple[int, str]] = []
            try:
                if alone:
                    in_order = replies_waited < REPLY_ORDER_PATIENCE
                    await self._handle_once(update, coroutine, replies_in_order=in_order)
                else:
                    await self._handle_batched(update, coroutine)
                return
            except _AloneAgain:
                attempt -= 1
                pause, alone = 0.0, True
            except _UserBusy as busy:
                # Not a failure: another instance is handling this officer's previous update.
                attempt -= 1
                pause, turn_pause = turn_pause, min(turn_pause * 2, TURN_PAUSE_CAP)
                if busy.replies:
                    replies_waited += pause
            except _OlderFirst as older:
                attempt -= 1
                pause, earlier = 0.0, older.waiting
            except DatabaseBusy:
                pass  # SQLite's write lock is taken (a worker thread): wait for it
            except HandlerFailed as failure:
                if not _transient(failure.error) or attempt >= HANDLE_ATTEMPTS:
                    await self._give_up(update, failure.error)
                    return
            except _BeforeHandlers as exc:
                log.warning("update %s: %s; trying again", update.update_id, exc.reason)
            except SQLAlchemyError as exc:
                self._halt(
                    f"update {update.update_id} failed after its handlers ran: {type(exc).__name__}"
                )
                return
            finally:
                cast(Any, coroutine).close()  # if it never started
            for update_id, payload in earlier:
                first = self._read_back(update_id, payload)
                if first is not None:
                    await self._handle(first, self.application.process_update(first))
            if self._stopping.is_set():
                return  # shutting down: it waits in the inbox for the next start
            if attempt >= HANDLE_ATTEMPTS:
                self._halt(f"update {update.update_id} could not be handled ({attempt} tries)")
                return
            await asyncio.sleep(min(0.02 * 2**attempt, 2.0) if pause is None else pause)
            coroutine = self.application.process_update(update)

    async def _handle_batched(self, update: Update, coroutine: Awaitable[Any]) -> None:
        """Handle the update in one transaction with the others waiting for the database
        (one instance), then make its calls.

        The task that takes the gate handles every update waiting for it, each officer's one
        at most (bot/processing.py): in a rush one BEGIN, claim and COMMIT serve them all,
        where each update paid for its own. If any of them fails, nothing of the batch is kept
        and each is handled again alone (`_AloneAgain`), where failures are dealt with as ever.
        """
        entry = _Waiting(update, coroutine, asyncio.get_running_loop().create_future())
        self._waiting.append(entry)
        try:
            while not entry.done.done():
                if self._leading:
                    # A batch is under way: this update goes in the next one, which it leads
                    # if nobody else has begun it by the time this one ends.
                    await entry.turn.wait()
                    entry.turn.clear()
                    continue
                self._leading = True
                try:
                    # Let the updates that are ready to run join this batch first.
                    await asyncio.sleep(0)
                    async with self.database.gate:
                        batch, self._waiting = self._waiting, []
                        await self._handle_batch(batch)
                finally:
                    self._leading = False
                    if self._waiting:
                        self._waiting[0].turn.set()
        except BaseException:  # cancelled, or killed in its batch (what a SIGKILL does)
            if entry in self._waiting:
                self._waiting.remove(entry)
            elif entry.done.done() and not entry.done.cancelled():
                entry.done.exception()  # its batch's outcome for it goes nowhere now
            raise
        done = entry.done.result()
        self._after_commit(update, done.journal, done.started)
        processing.handled(update)
        await self.deliver(done.replies)

    async def _handle_batch(self, batch: list[_Waiting]) -> None:
        """One transaction for the updates of `batch`; each one's outcome on its future."""
        started = time.perf_counter()
        try:
            unit = self.database.unit()
            session = unit.__enter__()
        except DatabaseBusy as busy:
            _fail_all(batch, busy)
            return
        except SQLAlchemyError as exc:
            _fail_all(batch, _BeforeHandlers(type(exc).__name__))
            return
        struck: Struck = ([], [])
        ran: list[tuple[effects.Journal | None, list[Reply]]] = []
        try:
            try:
                claimed = inbox_storage.claim_many(
                    session, [entry.update.update_id for entry in batch], utcnow()
                )
            except SQLAlchemyError as exc:
                raise _BeforeHandlers(type(exc).__name__) from exc
            # Nearly every handler first asks who its caller is: one read for the batch.
            officers.expect_callers(
                session,
                [
                    entry.update.effective_user.id
                    for entry in batch
                    if entry.update.effective_user is not None and claimed[entry.update.update_id]
                ],
            )
            for entry in batch:
                update_id = entry.update.update_id
                if claimed[update_id] is False:
                    # Handled before (a restart): never twice; its calls still to make are made.
                    cast(Any, entry.coroutine).close()
                    ran.append((None, self._pending_of(session, update_id)))
                    continue
                # What a unit keeps for its handlers is the update's own.
                scratch = unit_scratch(session)
                if scratch is not None:
                    scratch.clear()
                journal = await self._run_handlers(entry.update, entry.coroutine)
                error = journal.error or unit_failure(session)
                if error is not None:
                    raise HandlerFailed(error)
                ran.append((journal, []))
            outcomes = self._with_stored_replies(session, batch, ran, started)
            struck = self._strike(session)
        except BaseException as exc:
            self._unstrike(struck)
            unit.__exit__(*sys.exc_info())
            if len(batch) == 1 or not isinstance(exc, Exception):
                _fail_all(batch, exc if isinstance(exc, Exception) else _AloneAgain())
                if not isinstance(exc, Exception):
                    raise
            else:
                _fail_all(batch, _AloneAgain())
            return
        try:
            await _committed(unit, session)
        except BaseException as exc:
            self._unstrike(struck)
            # Whether the commit kept the batch is unknown: every update of it halts the inbox.
            _fail_all(batch, exc if isinstance(exc, Exception) else _AloneAgain())
            if not isinstance(exc, Exception):
                raise
            return
        for entry, outcome in zip(batch, outcomes, strict=True):
            entry.done.set_result(outcome)
            entry.turn.set()

    def _stored_replies(
        self, session: Any, update_id: int, journal: effects.Journal
    ) -> list[Reply]:
        """The update's calls, the durable ones written as pending_reply rows."""
        durable = [c for c in journal.calls if c.durable]
        sealed = [(seal_call(self.cipher, c), c.on_sent) for c in durable]
        ids = iter(inbox_storage.add_replies(session, update_id, sealed, utcnow()))
        return [Reply(next(ids) if c.durable else None, c) for c in journal.calls]

    def _with_stored_replies(
        self,
        session: Any,
        batch: Sequence[_Waiting],
        ran: Sequence[tuple[effects.Journal | None, list[Reply]]],
        started: float,
    ) -> list[_Done]:
        """Each update's outcome: the calls of those whose handlers ran, the durable ones
        written as pending_reply rows (one statement for the batch), or those still to make of
        an update handled before."""
        sealed = [
            (entry.update.update_id, seal_call(self.cipher, call), call.on_sent)
            for entry, (journal, _) in zip(batch, ran, strict=True)
            if journal is not None
            for call in journal.calls
            if call.durable
        ]
        ids = iter(inbox_storage.add_replies_of(session, sealed, utcnow()))
        return [
            _Done(
                pending
                if journal is None
                else [Reply(next(ids) if c.durable else None, c) for c in journal.calls],
                journal,
                started,
            )
            for journal, pending in ran
        ]

    def _after_commit(
        self, update: Update, journal: effects.Journal | None, started: float
    ) -> None:
        """The handlers' work for after the commit, and the update counted (if it ran now)."""
        if journal is None:
            return
        for callback in journal.after_commit:
            try:
                callback()
            except Exception:
                log.exception("after-commit work of update %s failed", update.update_id)
        metrics.HANDLER_SECONDS.observe(time.perf_counter() - started)
        metrics.UPDATES_HANDLED.labels(metrics.update_kind(update)).inc()

    async def _handle_once(
        self, update: Update, coroutine: Awaitable[Any], *, replies_in_order: bool = True
    ) -> None:
        started = time.perf_counter()
        replies: list[Reply] = []
        async with self.database.gate:
            try:
                unit = self.database.unit()
                session = unit.__enter__()
            except DatabaseBusy:
                raise
            except SQLAlchemyError as exc:
                raise _BeforeHandlers(type(exc).__name__) from exc
            struck: Struck = ([], [])
            try:
                try:
                    if self.owner is not None:
                        self._take_turn(session, update, replies_in_order)
                    claimed = inbox_storage.claim(session, update.update_id, utcnow(), self.owner)
                except SQLAlchemyError as exc:
                    raise _BeforeHandlers(type(exc).__name__) from exc
                if claimed is False and self.owner is not None:
                    # Another instance handled it (it came first in the officer's order
                    # there): that one makes its replies, or the leader if it dies.
                    replies = []
                elif claimed is False:
                    # Handled before (a restart, or a commit whose answer was lost): never
                    # twice; whatever of its calls is still to make is made now.
                    replies = self._pending_of(session, update.update_id)
                else:
                    journal = await self._run_handlers(update, coroutine)
                    error = journal.error or unit_failure(session)
                    if error is not None:
                        raise HandlerFailed(error)
                    replies = self._stored_replies(session, update.update_id, journal)
                struck = self._strike(session)
            except BaseException:
                self._unstrike(struck)
                unit.__exit__(*sys.exc_info())
                raise
            try:
                await _committed(unit, session)
            except BaseException:
                self._unstrike(struck)
                raise
        self._after_commit(update, None if claimed is False else journal, started)
        processing.handled(update)
        await self.deliver(replies)

    def _take_turn(self, session: Any, update: Update, replies_in_order: bool) -> None:
        """Several instances: this officer's turn, their older updates first, and the replies
        of those handled elsewhere made before this one's (for REPLY_ORDER_PATIENCE at most)."""
        user = update.effective_user
        if user is None or self.owner is None:
            return
        if not inbox_storage.take_user_turn(session, user.id):
            raise _UserBusy()
        waiting = inbox_storage.older_waiting(session, user.id, update.update_id)
        if waiting:
            raise _OlderFirst(waiting)
        if replies_in_order and inbox_storage.earlier_replies_elsewhere(
            session, user.id, update.update_id, self.owner
        ):
            raise _UserBusy(replies=True)

    def _read_back(self, update_id: int, payload: str) -> Update | None:
        """An update as stored (sealed JSON), or None if it cannot be read back."""
        try:
            data = json.loads(self.cipher.decrypt(payload)) if payload else None
            update = Update.de_json(data, self.application.bot) if data else None
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("update %s could not be read back (%s)", update_id, type(exc).__name__)
            return None
        if update is None:
            log.warning("update %s could not be read back", update_id)
        return update

    def _pending_of(self, session: Any, update_id: int) -> list[Reply]:
        return [
            Reply(row.id, unseal_call(self.cipher, row.payload, row.on_sent))
            for row in inbox_storage.replies_of(session, update_id)
            if row.id is not None and row.id not in self._made_ids
        ]

    async def _give_up(self, update: Update, error: BaseException) -> None:
        """A handler failed for good: nothing of the update was kept; it counts as handled."""
        log.error("update %s failed in a handler: %s", update.update_id, type(error).__name__)
        metrics.UPDATES_HANDLED.labels(metrics.update_kind(update)).inc()
        try:
            async with self.database.gate:
                with self.database.session() as session:
                    inbox_storage.mark_handled(session, update.update_id, utcnow())
        except SQLAlchemyError as exc:
            self._halt(f"update {update.update_id} could not be set aside: {type(exc).__name__}")

    def _halt(self, reason: str) -> None:
        """Stop handling and polling: the process must restart to go on from the database."""
        if not self.halted:
            log.error("%s; the update inbox stops until the bot restarts", reason)
        self.halted = True
        self.stop()
        self.failed.set()

    async def _run_handlers(self, update: Update, coroutine: Awaitable[Any]) -> effects.Journal:
        """The handlers' pass, their calls held back."""
        journal, token = effects.open_journal()
        # Fires only if the handling lets the event loop run while the transaction is open,
        # which keeps every other writer waiting: worth knowing, never expected.
        yielded: list[bool] = []
        probe = asyncio.get_running_loop().call_soon(yielded.append, True)
        try:
            await coroutine
        finally:
            effects.close_journal(token)
            probe.cancel()
        if yielded:
            log.warning("update %s waited while its transaction was open", update.update_id)
        return journal

    # --- delivery ---------------------------------------------------------------------------

    async def deliver(self, replies: Sequence[Reply]) -> None:
        """Make the calls in order; a call made (or refused for good) is struck off.

        A call Telegram cannot be reached for stays pending, and so do the rest of the
        update's: the next start makes them.
        """
        for reply in replies:
            made, message_id = await self._made(reply.call)
            if not made:
                break
            if reply.id is not None:
                self._made_ids.append(reply.id)
            if reply.call.on_sent is not None and message_id:
                self._sent.append((reply.call.on_sent, reply.call.method, message_id))
        if self._strike_task is None or self._strike_task.done():
            self._strike_task = asyncio.create_task(self._strike_soon(), name="inbox-strike")

    def _strike(self, session: Any) -> Struck:
        """Drop the rows of the calls made so far and record their messages, in `session`.

        Done in the next transaction that runs anyway (an update's), or shortly after: a commit
        of its own for every update would cost more than the handling. A crash before it makes
        those calls again on restart: at most twice, as for any call in flight at a kill.
        """
        made, sent, blocked = self._made_ids, self._sent, self._blocked
        self._made_ids, self._sent, self._blocked = [], [], []
        try:
            inbox_storage.forget_replies(session, made)
            for tag, method, message_id in sent:
                _record(session, tag, method, message_id)
            for chat_id in blocked:
                broadcasts.mark_unreachable(session, chat_id)
        except BaseException:
            self._unstrike((made, sent))
            self._blocked[:0] = blocked
            raise
        return made, sent

    def _unstrike(self, struck: Struck) -> None:
        """The transaction that was to strike these failed: keep them for the next one."""
        self._made_ids[:0], self._sent[:0] = struck

    async def _strike_soon(self) -> None:
        await asyncio.sleep(self.strike_delay)
        await self.strike_now()

    async def strike_now(self) -> None:
        """Drop the rows of the calls made so far, in a transaction of its own."""
        if not self._made_ids and not self._sent and not self._blocked:
            return
        async with self.database.gate:
            struck: Struck = ([], [])
            try:
                with self.database.session() as session:
                    struck = self._strike(session)
            except SQLAlchemyError as exc:
                self._unstrike(struck)
                log.warning("could not strike made replies off: %s", type(exc).__name__)

    async def _made(self, call: effects.Call) -> tuple[bool, int | None]:
        """Make one call, retried as Telegram's errors deserve.

        (True, message id) once it is made or refused for good; (False, None) if Telegram
        could not be reached for REPLY_PATIENCE seconds (or the bot is stopping): it stays
        pending for the next start.
        """
        url = f"{self.application.bot.base_url}/{call.method}"
        data = cast(RequestData, StoredRequestData(call.parameters, call.files))
        started = time.monotonic()
        failures = timeouts = 0
        while True:
            try:
                result = await self.request.inner.post(
                    url, request_data=data, read_timeout=REPLY_READ_TIMEOUT
                )
                metrics.sent("reply", metrics.OK)
                return True, _message_id(result)
            except RetryAfter as exc:
                metrics.sent("reply", metrics.RATE_LIMITED)
                await self._pause(min(_seconds(exc.retry_after), RETRY_AFTER_CAP))
                continue
            except TimedOut as exc:
                metrics.sent("reply", metrics.TIMEOUT)
                if may_have_arrived(exc):
                    # It may have arrived: once more at most, so nobody reads it three times.
                    timeouts += 1
                    if timeouts >= TIMED_OUT_ATTEMPTS:
                        log.warning("%s timed out twice; it may have arrived", call.method)
                        return True, None
                    continue
                failures += 1
            except BadRequest as exc:
                metrics.sent("reply", metrics.BAD_REQUEST)
                return True, await self._after_bad_request(call, exc)
            except Forbidden:
                metrics.sent("reply", metrics.FORBIDDEN)
                log.info("%s refused: the officer blocked the bot", call.method)
                chat_id = _chat_of(call)
                if chat_id is not None and chat_id > 0:
                    self._blocked.append(chat_id)
                    self.on_blocked(chat_id)
                return True, None
            except NetworkError as exc:  # 5xx, connection errors; surely not delivered
                metrics.sent("reply", metrics.SERVER_ERROR)
                failures += 1
                log.debug("%s failed (%s); trying again", call.method, type(exc).__name__)
            except TelegramError as exc:
                metrics.sent("reply", metrics.OTHER)
                log.warning("%s refused: %s", call.method, type(exc).__name__)
                return True, None
            if self._stopping.is_set() or time.monotonic() - started > REPLY_PATIENCE:
                log.warning("%s kept for the next start: Telegram unreachable", call.method)
                return False, None
            await self._pause(min(0.5 * 2 ** (failures - 1), 30.0))

    async def _after_bad_request(self, call: effects.Call, error: BadRequest) -> int | None:
        """A refused edit the handler asked for becomes a new message (edit_or_send)."""
        text = str(error).lower()
        if "not modified" in text or "query is too old" in text or "query id is invalid" in text:
            return None
        if (
            call.send_if_refused
            and call.method == "editMessageText"
            and "chat_id" in call.parameters
        ):
            parameters = {
                name: value
                for name, value in call.parameters.items()
                if name in ("chat_id", "text", "reply_markup", "parse_mode", "entities")
            }
            made, message_id = await self._made(
                effects.Call("sendMessage", parameters, {}, call.on_sent)
            )
            return message_id if made else None
        log.warning("%s refused: %s", call.method, type(error).__name__)
        return None

    async def _record_sent(self, tag: str, method: str, message_id: int) -> None:
        """A tagged call made outside any update (a scheduled job): record its message now."""
        async with self.database.gate:
            with self.database.session() as session:
                _record(session, tag, method, message_id)

    # --- start-up ---------------------------------------------------------------------------

    async def recover(self) -> int:
        """Make the calls a crash left behind, then queue the updates not yet handled."""
        with self.database.session() as session:
            pending = [
                (row.id, row.payload, row.on_sent) for row in inbox_storage.pending_replies(session)
            ]
            waiting = inbox_storage.count_waiting(session)
            purged = inbox_storage.purge(session, utcnow() - KEEP_HANDLED)
        if purged:
            log.info("purged %d handled updates older than a week", purged)
        if await self._take_up(pending, waiting, "left by the last run"):
            await self.strike_now()
        return waiting

    async def _take_up(
        self, pending: Sequence[tuple[int | None, str, str | None]], waiting: int, whose: str
    ) -> int:
        """Make stored replies (each chat's in order), then read the `waiting` stored updates
        back, a window at a time; how many replies."""
        replies = [
            Reply(reply_id, unseal_call(self.cipher, payload, on_sent))
            for reply_id, payload, on_sent in pending
            if reply_id is not None
        ]
        if replies:
            log.info("making %d replies %s", len(replies), whose)
            # Each chat's in order, the chats side by side: one slow chat must not hold the rest.
            by_chat: dict[int | None, list[Reply]] = {}
            for reply in replies:
                by_chat.setdefault(_chat_of(reply.call), []).append(reply)
            await asyncio.gather(*(self.deliver(group) for group in by_chat.values()))
        if waiting:
            log.info("handling %d updates %s", waiting, whose)
            self._fall_behind()
        return len(replies)

    async def adopt(self, gone: set[str | None]) -> int:
        """Several instances: take over the work of instances that are gone (their updates
        not yet handled, the replies of their handled ones not yet made); how many updates.

        Only the leader calls this (bot/cluster.py), and one UPDATE moves the rows, so no
        reply is made by two instances (beyond one in flight when its instance died).
        """
        owner = self.owner
        assert owner is not None

        def take_over() -> tuple[list[int], list[tuple[int | None, str, str | None]]]:
            # In a worker thread: a row lock held by a frozen instance must not stop the loop.
            with self.database.session() as session:
                waiting, rows = inbox_storage.adopt(session, gone, owner)
                return waiting, [(row.id, row.payload, row.on_sent) for row in rows]

        waiting, pending = await asyncio.to_thread(take_over)
        await self._take_up(pending, len(waiting), "of an instance that stopped")
        return len(waiting)

    def purge(self) -> int:
        """Drop updates handled more than a week ago."""
        with self.database.session() as session:
            return inbox_storage.purge(session, utcnow() - KEEP_HANDLED)

    # --- polling ----------------------------------------------------------------------------

    async def poll(
        self, *, timeout: int = 30, allowed_updates: Sequence[str] | None = None
    ) -> None:
        """Long-poll Telegram until stopped: store each batch, then acknowledge it by asking on
        once the handlers have caught up (POLL_BACKLOG)."""
        with self.database.session() as session:
            last = inbox_storage.last_update_id(session)
        offset = None if last is None else last + 1
        failures = 0
        bot = self.application.bot
        allowed = list(allowed_updates if allowed_updates is not None else ALLOWED_UPDATES)
        while not self._stopping.is_set():
            await self._room.wait()
            if self._behind:
                # Updates stored at the last run go first: Telegram keeps the newer ones.
                await self._caught_up.wait()
                continue
            if self._stopping.is_set():
                break
            try:
                updates = await bot.get_updates(
                    offset=offset,
                    timeout=timeout,
                    allowed_updates=allowed,
                    read_timeout=timeout + 10,
                )
            except InvalidToken:
                self._halt("Telegram refused the bot token")
                return
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
            raw = self.updates_request.take() if self.updates_request is not None else {}
            try:
                stored = await self.store(updates, raw)
            except DatabaseBusy:
                # Another connection writes: not stored, so not acknowledged; ask again soon.
                await self._pause(STORE_BUSY_PAUSE)
                continue
            except SQLAlchemyError as exc:
                # Not stored, so not acknowledged: the same batch comes again.
                log.warning("could not store updates (%s); asking again", type(exc).__name__)
                await self._pause(1.0)
                continue
            for update in updates:
                if update.update_id not in stored:
                    continue
                if self._behind:
                    self._fall_behind()
                else:
                    await self._queue(update)
            offset = updates[-1].update_id + 1

    def poller_ended(self, task: asyncio.Task[None]) -> None:
        """The poller must only end when told to: anything else stops the inbox for good."""
        if task.cancelled() or self._stopping.is_set():
            return
        error = task.exception()
        self._halt(f"the poller ended: {type(error).__name__ if error else 'no error'}")

    async def store(self, updates: Sequence[Update], raw: dict[int, Any] | None = None) -> set[int]:
        """Store fetched updates (sealed), as Telegram sent them when `raw` has them; the ids
        that were new."""
        raw = raw or {}
        rows = [
            inbox_storage.Incoming(
                update.update_id,
                update.effective_user.id if update.effective_user else None,
                self.cipher.encrypt(
                    json.dumps(raw.get(update.update_id) or update.to_dict(), ensure_ascii=False)
                ),
            )
            for update in updates
        ]
        async with self.database.gate:
            # A unit, not a plain session: if another connection holds SQLite's write lock,
            # DatabaseBusy comes at once instead of the event loop waiting for the lock.
            with self.database.unit() as session:
                return inbox_storage.store(session, rows, utcnow(), self.owner)

    def stop(self) -> None:
        """End `poll`, and the reading back of waiting updates, at their next turn."""
        self._stopping.set()
        self._room.set()
        self._caught_up.set()

    # --- webhook mode and a graceful stop -----------------------------------------------

    async def receive(self, data: object) -> bool:
        """A webhook's update (its JSON as Telegram sent it): stored sealed, then queued, or
        left in the database until memory has room for it (MEMORY_WINDOW).

        True if it was new; False if it was stored before (Telegram retried it), in which case
        it is not queued again. NotAnUpdate for a body that is no update; the database's errors
        come out (nothing stored: the caller answers so that Telegram retries), DatabaseBusy
        only after RECEIVE_PATIENCE seconds of SQLite's write lock taken elsewhere.
        """
        update = self._parse(data)
        deadline = time.monotonic() + RECEIVE_PATIENCE
        while True:
            try:
                stored = await self.store([update], {update.update_id: data})
                break
            except DatabaseBusy:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(STORE_BUSY_PAUSE)
        if update.update_id not in stored:
            return False
        if self._behind or len(self._queued) >= MEMORY_WINDOW:
            self._fall_behind()
        else:
            await self._queue(update)
        return True

    def _parse(self, data: object) -> Update:
        if not isinstance(data, dict):
            raise NotAnUpdate("not a JSON object")
        update_id = data.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool) or update_id < 0:
            raise NotAnUpdate("no update_id")
        if not any(isinstance(data.get(kind), dict) for kind in ALLOWED_UPDATES):
            raise NotAnUpdate("no known kind of update")
        try:
            update = Update.de_json(data, self.application.bot)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise NotAnUpdate(type(exc).__name__) from None
        if update is None:
            raise NotAnUpdate("empty")
        return update

    def close(self) -> None:
        """Stop taking updates (a graceful stop): polling ends, and updates not yet begun are
        left in the database, handled at the next start; those under way finish."""
        self.closing = True
        self.stop()

    @property
    def in_progress(self) -> int:
        """Updates being handled right now."""
        return self._active

    async def finished(self) -> None:
        """Return once no update is being handled."""
        await self._none_active.wait()

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
    elif kind == "binding_copy":
        bindings.set_copy_message(session, int(key), message_id)
    else:
        log.warning("no record for sent %s of kind %s", method, kind)


class DeferredWake:
    """The broadcaster as handlers see it: a wake during an update waits for its commit."""

    def __init__(self, wake: Callable[[], None]) -> None:
        self._wake = wake

    def wake(self) -> None:
        """Start sending once what was just written is committed."""
        effects.after_commit(self._wake)


class JournalAwareRateLimiter(AIORateLimiter):
    """PTB's limiter for calls made at once; calls held back during an update pass straight by.

    A held-back call is not sent now, so it must not wait for a 429 pause of the limiter (that
    wait would keep the update's transaction open); the inbox honours retry_after itself.
    """

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Any,
    ) -> Any:
        """Straight through while an update is handled; else PTB's limiter."""
        if effects.current() is not None:
            return await callback(*args, **kwargs)
        return await super().process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
