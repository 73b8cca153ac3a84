"""The broadcast engine: drains the outbox at a steady rate, most urgent first.

Recipients are rows in the database (storage.broadcasts), written with the business record that
caused them. This sender takes one due delivery at a time, in priority order, at evenly spaced
slots; it honours Telegram's retry_after, retries transient faults with backoff, marks officers
who blocked the bot, and after a restart picks up where the dead process stopped.

Ambiguous sends: a send Telegram did not answer in time (a read timeout) may have arrived. The
sender waits long (SEND_TIMEOUT_SECONDS, far above the usual answer), retries such a send at
most once, and then reports the delivery as 可能已送达 (storage.broadcasts.UNCERTAIN) rather
than failed: nobody gets more than two copies. Errors that surely sent nothing (5xx, refused
connections, a full connection pool) keep the ordinary backoff.

The organizer always hears the result: progress edits, the stop button, the summary and the
list of those not reached are retried on network errors, 5xx and 429 with a backoff of their
own (in the progress task, never in the way of deliveries). A progress message that cannot be
edited gets the summary as a new message; one that never arrived (the handler's send failed)
is replaced by the sender's own.

Quiet hours (the policy's greetings.quiet_from to quiet_until, 21:00–08:00 in the union's
zone): only URGENT deliveries are taken. Everything else stays pending, so a broadcast that
reaches 21:00 pauses where it is and goes on at 08:00 by itself; meanwhile the sender polls
once a second, as when idle, and never sleeps past the end of the quiet hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import httpx
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import effects, metrics, texts
from bot.policy import GreetingPolicy
from bot.rules.events import in_quiet_hours
from bot.rules.messages import split_text
from bot.settings import SettingsError
from bot.transport import NOTHING_SENT
from handlers.callbacks import BroadcastCancel
from storage import broadcasts
from storage.broadcasts import Claimed, Progress
from storage.db import Database
from storage.models import BroadcastStatus
from storage.types import utcnow

log = logging.getLogger(__name__)

CHAT_GAP_SECONDS = 1.0  # Telegram allows about one message a second to one chat
PROGRESS_EVERY_SECONDS = 3.0
WINDOW_MARGIN_SECONDS = 0.01
RECORD_ATTEMPTS = 5  # slack for network jitter on top of Telegram's 1-second window
IDLE_POLL_SECONDS = 1.0  # also picks up broadcasts written by another process (the CLI)
# The organizer's progress message is sent by the handler just after the broadcast is
# committed; if its id is not stored within this time, the sender posts a progress message of
# its own (the handler's send failed), so the summary always has somewhere to go.
PROGRESS_MESSAGE_GRACE = timedelta(seconds=30)
# How long every Bot API call of the sender waits for Telegram's answer. Far above the usual
# answer (well under a second; 5.5 s on a bad day): a send given up on too early may still
# arrive, and would then arrive twice.
SEND_TIMEOUT_SECONDS = 20.0
# A send that timed out is tried this many times in all, then reported as 可能已送达.
AMBIGUOUS_SENDS = 2
# Telling the organizer: first pause after a failed call, doubling up to the cap.
REPORT_BACKOFF_SECONDS = 1.0
REPORT_BACKOFF_CAP_SECONDS = 60.0
# Failed edits of the summary (network errors, 5xx) before it is sent as a new message.
SUMMARY_EDIT_ATTEMPTS = 5


@dataclass(frozen=True)
class Picture:
    """A photo drawn for one delivery at send time, and its caption (None: the text)."""

    png: bytes
    caption: str | None = None


# Draws one delivery's picture, in a worker thread; registered on Sender.pictures under the
# broadcast's created_by. Drawn when sent, not when queued: 100,000 year cards are never all
# held at once, and a picture that fails to draw is retried like a failed send.
PictureMaker = Callable[[Claimed], Picture]


@dataclass(frozen=True)
class QuietHours:
    """The local hours in which only urgent deliveries go out; start == end means none."""

    start: clock_time
    end: clock_time
    zone: ZoneInfo

    @classmethod
    def of(cls, policy: GreetingPolicy, zone: ZoneInfo) -> QuietHours:
        """The policy's quiet hours (greetings.quiet_from, quiet_until) in the union's zone.

        Checks send_at too, so that any bad time in [greetings] stops the start in one sentence.
        """
        times = {}
        for name in ("send_at", "quiet_from", "quiet_until"):
            value = getattr(policy, name)
            try:
                times[name] = clock_time.fromisoformat(value)
            except ValueError:
                raise SettingsError(
                    f"NUANJING_POLICY_FILE has a bad value at greetings.{name}: {value!r} is "
                    "not a time; write it as HH:MM, e.g. 21:00."
                ) from None
        return cls(times["quiet_from"], times["quiet_until"], zone)

    def covers(self, moment: datetime) -> bool:
        """True if `moment` lies in the quiet hours (which may span midnight)."""
        return in_quiet_hours(moment, (self.start, self.end), self.zone)

    def seconds_left(self, moment: datetime) -> float:
        """Seconds from `moment` until the quiet hours end (0 outside them)."""
        if not self.covers(moment):
            return 0.0
        local = moment.astimezone(self.zone)
        end = datetime.combine(local.date(), self.end, tzinfo=self.zone)
        if end <= local:
            end = datetime.combine(local.date() + timedelta(days=1), self.end, tzinfo=self.zone)
        return (end - local).total_seconds()


@dataclass
class _Report:
    """What the organizer has been told of one broadcast, and when to try again."""

    shown: str = ""  # the progress text last shown
    failures: int = 0  # calls that failed in a row
    retry_at: float = 0.0  # on the sender's clock: no call to the organizer before this
    posted: bool = False  # the sender posted a progress message of its own
    summary_edits: int = 0  # edits of the summary that failed
    summary_done: bool = False
    parts_done: int = 0  # parts of the list of those not reached already sent
    timeouts: dict[str, int] = field(default_factory=dict)  # timed-out sends, per message


@dataclass(frozen=True)
class _View:
    """A broadcast as the progress task reads it, in one short transaction."""

    chat_id: int | None
    message_id: int | None
    state: Progress
    cancelled: bool
    awaiting_message: bool  # the handler's progress message may still be on its way
    unreached: list[tuple[str, str, str]]

    @property
    def summary_due(self) -> bool:
        return self.state.settled and not self.awaiting_message


class Sender:
    """One asyncio task that sends every broadcast's deliveries."""

    def __init__(
        self,
        bot: Bot,
        database: Database,
        *,
        rate: float,
        max_in_flight: int = 4,
        max_attempts: int = 5,
        backoff_seconds: float = 1.0,
        progress_every: float = PROGRESS_EVERY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        quiet: QuietHours | None = None,
        now: Callable[[], datetime] = utcnow,
        send_timeout: float = SEND_TIMEOUT_SECONDS,
        report_backoff: float = REPORT_BACKOFF_SECONDS,
        progress_grace: timedelta = PROGRESS_MESSAGE_GRACE,
    ) -> None:
        self.bot = bot
        self.quiet = quiet
        self.now = now  # the wall clock quiet hours are read on (tests move it)
        self.database = database
        self.interval = 1.0 / rate
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.progress_every = progress_every
        self.send_timeout = send_timeout  # read timeout of every Bot API call of the sender
        self.report_backoff = report_backoff
        self.progress_grace = progress_grace
        self.clock = clock
        self.unreachable: set[int] = set()
        self._in_flight = asyncio.Semaphore(max_in_flight)
        self._wake = asyncio.Event()
        self._next_slot = 0.0
        self._starts: deque[float] = deque(maxlen=max(1, int(rate)))  # last ⌊R⌋ send starts
        self._paused_until = 0.0
        self._last_send: dict[int, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._reports: dict[int, _Report] = {}  # what each organizer was told, per broadcast
        self.pictures: dict[str, PictureMaker] = {}  # broadcast author → its photo, drawn per send

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Requeue what a dead process left in flight, then start sending (once)."""
        if self._runner is not None:
            return
        async with self.database.gate:
            with self.database.session() as session:
                released = broadcasts.release_in_flight(session)
                self.unreachable = broadcasts.unreachable_users(session)
        if released:
            log.info("requeued %d deliveries left in flight", released)
        self._runner = asyncio.create_task(self._run(), name="broadcast-sender")
        self._watcher = asyncio.create_task(self._watch_progress(), name="broadcast-progress")

    async def stop(self) -> None:
        """Stop taking deliveries and let those in flight finish."""
        for task in (self._runner, self._watcher):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._runner = self._watcher = None

    def wake(self) -> None:
        """A broadcast was just written: look at the queue now rather than at the next poll."""
        self._wake.set()

    def reachable_again(self, telegram_user_id: int) -> None:
        """The officer wrote to the bot: they may be sent to again.

        Called while their update is handled (which holds the database gate): no gate here.
        """
        if telegram_user_id not in self.unreachable:
            return
        with self.database.session() as session:
            broadcasts.clear_unreachable(session, telegram_user_id)
        # Forgotten only once the database forgets it too (the update may yet roll back).
        effects.after_commit(lambda: self.unreachable.discard(telegram_user_id))

    # --- sending ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wait_for_slot()
            claimed = await self._claim()
            if claimed is None:
                await self._idle()
                continue
            self._schedule_next()
            # Busy from now on: the next claim must already see it. Its second counts from when
            # the send starts (_deliver): the wait for a place in flight, a slot or a picture
            # came between, and a second counted from here let two messages to one chat go
            # 0.3 s apart.
            self._last_send[claimed.chat_id] = math.inf
            await self._in_flight.acquire()
            # A send that just freed its place may have brought a 429: honour that pause first.
            await self._wait_for_slot()
            task = asyncio.create_task(self._deliver(claimed))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _schedule_next(self) -> None:
        """Set the next slot: on the even schedule, never R+1 starts within one second.

        Counting from "now" would add every claim's and sleep's delay to every gap (about 10%
        of the rate, measured with bench/broadcast.py); a strictly fixed schedule lets jitter
        put R+1 sends inside Telegram's one-second window. So: keep the schedule unless a whole
        interval behind, and hold back a send that would be the R+1st within a second.
        """
        now = self.clock()
        self._starts.append(now)
        base = self._next_slot if now - self._next_slot < self.interval else now
        next_slot = base + self.interval
        if len(self._starts) == self._starts.maxlen:
            next_slot = max(next_slot, self._starts[0] + 1.0 + WINDOW_MARGIN_SECONDS)
        self._next_slot = next_slot

    async def _wait_for_slot(self) -> None:
        """Sleep until the next even slot, and past any pause Telegram asked for."""
        while True:
            delay = max(self._next_slot, self._paused_until) - self.clock()
            if delay <= 0:
                return
            await asyncio.sleep(delay)

    def quiet_now(self) -> bool:
        """True while the quiet hours hold: only urgent deliveries may be taken."""
        return self.quiet is not None and self.quiet.covers(self.now())

    async def _claim(self) -> Claimed | None:
        now = self.clock()
        busy = [chat for chat, at in self._last_send.items() if now - at < CHAT_GAP_SECONDS]
        for chat in [chat for chat, at in self._last_send.items() if now - at >= CHAT_GAP_SECONDS]:
            del self._last_send[chat]
        urgent_only = self.quiet_now()
        async with self.database.gate:
            with self.database.session() as session:
                return broadcasts.claim_next(
                    session, utcnow(), busy_chats=busy, urgent_only=urgent_only, wall=self.now()
                )

    async def _idle(self) -> None:
        """Nothing due: wait for a wake-up, the next retry or the next poll."""
        async with self.database.gate:
            timeout = self.idle_seconds()
        self._wake.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)

    def idle_seconds(self) -> float:
        """How long to wait when nothing could be taken: until the next due one, at most 1 s."""
        quiet = self.quiet_now()
        # In quiet hours only urgent deliveries count: the pending greetings are due, but
        # waking for them would spin all night.
        with self.database.session() as session:
            due = broadcasts.next_due(session, urgent_only=quiet)
        timeout = IDLE_POLL_SECONDS
        if due is not None:
            timeout = min(timeout, max((due - utcnow()).total_seconds(), 0.05))
        if quiet and self.quiet is not None:
            timeout = min(timeout, max(self.quiet.seconds_left(self.now()), 0.05))
        return timeout

    async def _deliver(self, claimed: Claimed) -> None:
        try:
            try:
                markup = None
                if claimed.buttons:
                    markup = InlineKeyboardMarkup.de_json(json.loads(claimed.buttons), self.bot)
                maker = self.pictures.get(claimed.created_by)
                picture = None
                if maker is not None:
                    try:
                        picture = await asyncio.to_thread(maker, claimed)
                    except Exception:
                        # A picture that cannot be drawn must not cost the person the message.
                        log.exception("picture for delivery %d failed; text sent", claimed.id)
                self._last_send[claimed.chat_id] = self.clock()
                if picture is None:
                    message = await self.bot.send_message(
                        claimed.chat_id,
                        claimed.text,
                        reply_markup=markup,
                        read_timeout=self.send_timeout,
                    )
                else:
                    message = await self.bot.send_photo(
                        claimed.chat_id,
                        picture.png,
                        caption=(picture.caption or claimed.text)[:1024],
                        reply_markup=markup,
                        read_timeout=self.send_timeout,
                    )
            except RetryAfter as exc:
                metrics.sent("broadcast", metrics.RATE_LIMITED)
                seconds = _seconds(exc)
                self._paused_until = max(self._paused_until, self.clock() + seconds)
                log.warning("Telegram asked to wait %.0f s; all broadcasts pause", seconds)
                async with self.database.gate:
                    with self.database.session() as session:
                        broadcasts.requeue(session, claimed.id)
            except Forbidden:
                metrics.sent("broadcast", metrics.FORBIDDEN)
                async with self.database.gate:
                    with self.database.session() as session:
                        broadcasts.mark_blocked(session, claimed.id, claimed.chat_id)
                        self.unreachable = broadcasts.unreachable_users(session)
            except BadRequest as exc:
                # "chat not found" and the like: retrying cannot help.
                metrics.sent("broadcast", metrics.BAD_REQUEST)
                async with self.database.gate:
                    with self.database.session() as session:
                        broadcasts.mark_failed(session, claimed.id, exc.message)
            except TimedOut as exc:
                metrics.sent("broadcast", metrics.TIMEOUT)
                if may_have_arrived(exc):
                    await self._timed_out(claimed, exc)
                else:  # never left: the connection or the pool timed out
                    await self._retry_or_fail(claimed, exc)
            except NetworkError as exc:  # 5xx, connection errors
                metrics.sent("broadcast", metrics.SERVER_ERROR)
                await self._retry_or_fail(claimed, exc)
            else:
                metrics.sent("broadcast", metrics.OK)
                await self._record_sent(claimed, message.message_id)
        except Exception as exc:
            # Not sent (the send itself raised something unexpected): an attempt like any other.
            metrics.sent("broadcast", metrics.OTHER)
            log.exception("delivery %d failed unexpectedly", claimed.id)
            with contextlib.suppress(Exception):
                await self._retry_or_fail(claimed, exc)
        finally:
            if self._last_send.get(claimed.chat_id) == math.inf:  # failed before its send
                self._last_send[claimed.chat_id] = self.clock()
            self._in_flight.release()

    async def _record_sent(self, claimed: Claimed, message_id: int) -> None:
        """Telegram has the message: only the bookkeeping may be retried, never the send."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                async with self.database.gate:
                    with self.database.session() as session:
                        broadcasts.mark_sent(session, claimed.id, message_id)
                return
            except Exception:
                log.exception("could not record delivery %d as sent", claimed.id)
                await asyncio.sleep(0.2 * 2**attempt)
        # Left as "sending": a restart requeues it (one duplicate at most), never a resend loop.

    async def _timed_out(self, claimed: Claimed, exc: Exception) -> None:
        """No answer in time: the message may have arrived. Tried once more, then uncertain."""
        attempts = claimed.attempts + 1
        retry = not claimed.timed_out and attempts < self.max_attempts
        async with self.database.gate:
            with self.database.session() as session:
                if retry:
                    at = utcnow() + timedelta(seconds=self._backoff(attempts))
                    broadcasts.retry_later(
                        session, claimed.id, at=at, error=_reason(exc), timed_out=True
                    )
                else:
                    broadcasts.mark_uncertain(session, claimed.id, _reason(exc))
        if retry:
            self._wake.set()
        else:
            log.warning("delivery %d may have arrived; not sent again", claimed.id)

    async def _retry_or_fail(self, claimed: Claimed, exc: Exception) -> None:
        """Surely not sent: try again after a backoff, or give up after max_attempts.

        Given up on, a delivery one of whose earlier sends timed out is uncertain, not failed.
        """
        attempts = claimed.attempts + 1
        retry = attempts < self.max_attempts
        async with self.database.gate:
            with self.database.session() as session:
                if retry:
                    at = utcnow() + timedelta(seconds=self._backoff(attempts))
                    broadcasts.retry_later(
                        session, claimed.id, at=at, error=_reason(exc), timed_out=claimed.timed_out
                    )
                elif claimed.timed_out:
                    broadcasts.mark_uncertain(session, claimed.id, _reason(exc))
                else:
                    broadcasts.mark_failed(session, claimed.id, _reason(exc))
        if retry:
            self._wake.set()

    def _backoff(self, attempts: int) -> float:
        return self.backoff_seconds * 2 ** (attempts - 1)

    # --- telling the organizer ----------------------------------------------------------

    async def _watch_progress(self) -> None:
        """Every few seconds: edit progress messages, mark settled broadcasts done, summarise."""
        while True:
            try:
                await self._update_progress()
            except Exception:
                log.exception("progress update failed")
            await asyncio.sleep(self.progress_every)

    async def _update_progress(self) -> None:
        async with self.database.gate:
            with self.database.session() as session:
                running = [b.id for b in broadcasts.unfinished(session)]
        for broadcast_id in running:
            assert broadcast_id is not None
            if self.clock() < self._paused_until:
                return  # Telegram asked the bot to wait: the organizer's calls wait too
            report = self._reports.get(broadcast_id)
            if report is not None and self.clock() < report.retry_at:
                continue  # backing off after a failed call
            view = await self._read(broadcast_id)
            if view is None or view.chat_id is None:
                continue
            report = self._reports.setdefault(broadcast_id, _Report())
            try:
                await self._report(broadcast_id, view, view.chat_id, report)
                report.failures = 0
            except RetryAfter as exc:
                seconds = _seconds(exc)
                self._paused_until = max(self._paused_until, self.clock() + seconds)
                report.retry_at = self.clock() + seconds
            except (Forbidden, BadRequest) as exc:
                # The organizer blocked the bot, or their chat is gone: nobody left to tell.
                log.warning("cannot tell the organizer of broadcast %d: %s", broadcast_id, exc)
                report.posted = True
                if view.summary_due:
                    await self._finish(broadcast_id)
            except NetworkError as exc:  # 5xx, timeouts, connection errors: later
                report.failures += 1
                delay = min(
                    self.report_backoff * 2 ** (report.failures - 1), REPORT_BACKOFF_CAP_SECONDS
                )
                report.retry_at = self.clock() + delay
                log.info(
                    "could not tell the organizer of broadcast %d (%s); again in %.1f s",
                    broadcast_id,
                    type(exc).__name__,
                    delay,
                )

    async def _read(self, broadcast_id: int) -> _View | None:
        """The broadcast with its counts, read again: its message or status may have changed.

        A settled broadcast nobody watches (greetings, reminders, the CLI) is closed here.
        """
        async with self.database.gate:
            with self.database.session() as session:
                broadcast = broadcasts.get(session, broadcast_id)
                if broadcast is None:
                    return None
                state = broadcasts.progress(session, broadcast_id)
                chat_id, message_id = broadcast.progress_chat_id, broadcast.progress_message_id
                if chat_id is None:
                    if state.settled:
                        broadcasts.finish(session, broadcast_id)
                    return None
                awaiting = (
                    message_id is None and utcnow() - broadcast.created_at < self.progress_grace
                )
                settled = state.settled and not awaiting
                return _View(
                    chat_id=chat_id,
                    message_id=message_id,
                    state=state,
                    cancelled=broadcast.status == BroadcastStatus.CANCELLED,
                    awaiting_message=awaiting,
                    unreached=broadcasts.unreached(session, broadcast_id) if settled else [],
                )

    async def _report(self, broadcast_id: int, view: _View, chat_id: int, report: _Report) -> None:
        """One step of telling the organizer; raises what the caller backs off from."""
        if view.summary_due:
            await self._summarise(broadcast_id, view, chat_id, report)
            return
        text = progress_text(view.state)
        stop = _stop_markup(broadcast_id)
        if view.message_id is None:
            if view.awaiting_message or report.posted:
                return  # the handler's message is on its way, or ours went out unconfirmed
            # The handler could not send its progress message: post one of our own.
            message = await self._post(report, "progress", chat_id, text, stop)
            report.posted = True
            report.shown = text
            if message is not None:
                async with self.database.gate:
                    with self.database.session() as session:
                        broadcasts.set_progress_message(session, broadcast_id, message.message_id)
        elif report.shown != text:
            # Only real changes are edited: an unchanged edit is a wasted API call. Noted as
            # shown only once the edit went through, so that a failed one is tried again.
            await self._edit(chat_id, view.message_id, text, stop)
            report.shown = text

    async def _summarise(
        self, broadcast_id: int, view: _View, chat_id: int, report: _Report
    ) -> None:
        """The summary, then the list of those not reached; closed only once both are out."""
        if not report.summary_done:
            text = summary_text(view.state, cancelled=view.cancelled)
            edited = False
            if view.message_id is not None and report.summary_edits < SUMMARY_EDIT_ATTEMPTS:
                try:
                    edited = await self._edit(chat_id, view.message_id, text, None)
                except NetworkError:
                    report.summary_edits += 1
                    raise
            if not edited:
                # No progress message, or it cannot be edited: the summary comes on its own.
                await self._post(report, "summary", chat_id, text, None)
            report.summary_done = True
        parts = unreached_parts(view.unreached)
        while report.parts_done < len(parts):
            await self._post(report, f"list-{report.parts_done}", chat_id, parts[report.parts_done])
            report.parts_done += 1
        await self._finish(broadcast_id)

    async def _finish(self, broadcast_id: int) -> None:
        async with self.database.gate:
            with self.database.session() as session:
                broadcasts.finish(session, broadcast_id)
        self._reports.pop(broadcast_id, None)

    async def _edit(
        self, chat_id: int, message_id: int, text: str, markup: InlineKeyboardMarkup | None
    ) -> bool:
        """Edit a progress message; False if it cannot be edited (deleted, too old).

        An edit is idempotent: network errors, timeouts included, go to the caller to retry.
        """
        try:
            await self.bot.edit_message_text(
                text, chat_id, message_id, reply_markup=markup, read_timeout=self.send_timeout
            )
        except BadRequest as exc:
            if "not modified" in exc.message:
                return True  # already shows it (an earlier edit went through unanswered)
            log.info("could not edit a progress message: %s", exc.message)
            return False
        return True

    async def _post(
        self,
        report: _Report,
        step: str,
        chat_id: int,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> Message | None:
        """Send the organizer a new message; None if it went out unconfirmed.

        Like a delivery, a send that timed out may have arrived: it is tried once more, and
        after a second timeout counted as sent (its message id unknown).
        """
        try:
            return await self.bot.send_message(
                chat_id, text, reply_markup=markup, read_timeout=self.send_timeout
            )
        except TimedOut as exc:
            if not may_have_arrived(exc):
                raise
            tries = report.timeouts.get(step, 0) + 1
            report.timeouts[step] = tries
            if tries < AMBIGUOUS_SENDS:
                raise
            log.warning("a message to an organizer may have arrived; not sent again")
            return None


def _stop_markup(broadcast_id: int) -> InlineKeyboardMarkup:
    stop = BroadcastCancel(broadcast_id).pack()
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BROADCAST_CANCEL_BUTTON, callback_data=stop)]]
    )


def may_have_arrived(exc: TimedOut) -> bool:
    """False only for timeouts before the request left: connecting, or waiting for the pool
    (of the bot's transport, or of PTB's default one)."""
    return not isinstance(exc.__cause__, (*NOTHING_SENT, httpx.ConnectTimeout, httpx.PoolTimeout))


def _reason(exc: Exception) -> str:
    detail = exc.message if isinstance(exc, TelegramError) else str(exc)
    return f"{type(exc).__name__}: {detail}"


def _counts(state: Progress) -> dict[str, int]:
    return {
        "sent": state.sent,
        "total": state.total,
        "failed": state.failed,
        # 无法送达: blocked the bot, during this broadcast or before it.
        "blocked": state.not_reachable,
        "cancelled": state.cancelled,
        "uncertain": state.uncertain,
    }


def progress_text(state: Progress) -> str:
    """The organizer's progress line (可能已送达 only when there are such deliveries)."""
    template = texts.BROADCAST_PROGRESS_UNCERTAIN if state.uncertain else texts.BROADCAST_PROGRESS
    return template.format(**_counts(state))


def summary_text(state: Progress, *, cancelled: bool) -> str:
    """The organizer's final summary."""
    if cancelled:
        template = (
            texts.BROADCAST_CANCELLED_SUMMARY_UNCERTAIN
            if state.uncertain
            else texts.BROADCAST_CANCELLED_SUMMARY
        )
    else:
        template = texts.BROADCAST_SUMMARY_UNCERTAIN if state.uncertain else texts.BROADCAST_SUMMARY
    return template.format(**_counts(state))


def unreached_parts(unreached: list[tuple[str, str, str]]) -> list[str]:
    """The organizer's list of who was not reached, then of who may have been, in parts."""
    missed = [
        texts.UNREACHED_LINE.format(
            name=name, police_id=police_id, why=texts.BROADCAST_UNREACHED_WHY.get(state, state)
        )
        for name, police_id, state in unreached
        if state != broadcasts.UNCERTAIN
    ]
    maybe = [
        texts.BROADCAST_UNCERTAIN_LINE.format(name=name, police_id=police_id)
        for name, police_id, state in unreached
        if state == broadcasts.UNCERTAIN
    ]
    sections = []
    if missed:
        sections.append(texts.UNREACHED_HEADER + "\n" + "\n".join(missed))
    if maybe:
        sections.append(texts.BROADCAST_UNCERTAIN_HEADER + "\n" + "\n".join(maybe))
    return split_text("\n\n".join(sections)) if sections else []


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; either form is handled here.
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
