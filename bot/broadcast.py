"""The broadcast engine: drains the outbox at a steady rate, most urgent first.

Recipients are rows in the database (storage.broadcasts), written with the business record that
caused them. This sender takes one due delivery at a time, in priority order, at evenly spaced
slots; it honours Telegram's retry_after, retries transient faults with backoff, marks officers
who blocked the bot, and after a restart picks up where the dead process stopped.

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
import time
import warnings
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot import texts
from bot.policy import GreetingPolicy
from bot.rules.events import in_quiet_hours
from bot.rules.messages import split_text
from bot.settings import SettingsError
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
# The organizer's progress message is sent just after the broadcast is committed; a broadcast
# that settles first waits this long for it before its summary is given up on.
PROGRESS_MESSAGE_GRACE = timedelta(seconds=60)


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
    ) -> None:
        self.bot = bot
        self.quiet = quiet
        self.now = now  # the wall clock quiet hours are read on (tests move it)
        self.database = database
        self.interval = 1.0 / rate
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.progress_every = progress_every
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
        self._shown: dict[int, str] = {}  # progress text last shown, per broadcast

    # --- life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        """Requeue what a dead process left in flight, then start sending (once)."""
        if self._runner is not None:
            return
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
        """The officer wrote to the bot: they may be sent to again."""
        if telegram_user_id not in self.unreachable:
            return
        self.unreachable.discard(telegram_user_id)
        with self.database.session() as session:
            broadcasts.clear_unreachable(session, telegram_user_id)

    # --- sending ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            await self._wait_for_slot()
            claimed = self._claim()
            if claimed is None:
                await self._idle()
                continue
            self._schedule_next()
            # Taken now, not when the send starts: the next claim must already see this chat busy.
            self._last_send[claimed.chat_id] = self.clock()
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

    def _claim(self) -> Claimed | None:
        now = self.clock()
        busy = [chat for chat, at in self._last_send.items() if now - at < CHAT_GAP_SECONDS]
        for chat in [chat for chat, at in self._last_send.items() if now - at >= CHAT_GAP_SECONDS]:
            del self._last_send[chat]
        with self.database.session() as session:
            return broadcasts.claim_next(
                session, utcnow(), busy_chats=busy, urgent_only=self.quiet_now(), wall=self.now()
            )

    async def _idle(self) -> None:
        """Nothing due: wait for a wake-up, the next retry or the next poll."""
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
                message = await self.bot.send_message(
                    claimed.chat_id, claimed.text, reply_markup=markup
                )
            except RetryAfter as exc:
                seconds = _seconds(exc)
                self._paused_until = max(self._paused_until, self.clock() + seconds)
                log.warning("Telegram asked to wait %.0f s; all broadcasts pause", seconds)
                with self.database.session() as session:
                    broadcasts.requeue(session, claimed.id)
            except Forbidden:
                with self.database.session() as session:
                    broadcasts.mark_blocked(session, claimed.id, claimed.chat_id)
                    self.unreachable = broadcasts.unreachable_users(session)
            except BadRequest as exc:
                # "chat not found" and the like: retrying cannot help.
                with self.database.session() as session:
                    broadcasts.mark_failed(session, claimed.id, exc.message)
            except NetworkError as exc:  # 5xx, timeouts, connection errors
                self._retry_or_fail(claimed, exc)
            else:
                await self._record_sent(claimed, message.message_id)
        except Exception as exc:
            # Not sent (the send itself raised something unexpected): an attempt like any other.
            log.exception("delivery %d failed unexpectedly", claimed.id)
            with contextlib.suppress(Exception):
                self._retry_or_fail(claimed, exc)
        finally:
            self._in_flight.release()

    async def _record_sent(self, claimed: Claimed, message_id: int) -> None:
        """Telegram has the message: only the bookkeeping may be retried, never the send."""
        for attempt in range(RECORD_ATTEMPTS):
            try:
                with self.database.session() as session:
                    broadcasts.mark_sent(session, claimed.id, message_id)
                return
            except Exception:
                log.exception("could not record delivery %d as sent", claimed.id)
                await asyncio.sleep(0.2 * 2**attempt)
        # Left as "sending": a restart requeues it (one duplicate at most), never a resend loop.

    def _retry_or_fail(self, claimed: Claimed, exc: Exception) -> None:
        attempts = claimed.attempts + 1
        detail = exc.message if isinstance(exc, TelegramError) else str(exc)
        reason = f"{type(exc).__name__}: {detail}"
        with self.database.session() as session:
            if attempts >= self.max_attempts:
                broadcasts.mark_failed(session, claimed.id, reason)
            else:
                delay = self.backoff_seconds * 2 ** (attempts - 1)
                at = utcnow() + timedelta(seconds=delay)
                broadcasts.retry_later(session, claimed.id, at=at, error=reason)
                self._wake.set()

    # --- progress -----------------------------------------------------------------------

    async def _watch_progress(self) -> None:
        """Every few seconds: edit progress messages, mark settled broadcasts done, summarise."""
        while True:
            try:
                await self._update_progress()
            except Exception:
                log.exception("progress update failed")
            await asyncio.sleep(self.progress_every)

    async def _update_progress(self) -> None:
        with self.database.session() as session:
            running = [b.id for b in broadcasts.unfinished(session)]
        for broadcast_id in running:
            assert broadcast_id is not None
            # Read the broadcast again with its counts: its progress message or status may have
            # been set since the list was taken.
            with self.database.session() as session:
                broadcast = broadcasts.get(session, broadcast_id)
                if broadcast is None:
                    continue
                state = broadcasts.progress(session, broadcast_id)
                awaiting_message = (
                    broadcast.progress_chat_id is not None
                    and broadcast.progress_message_id is None
                    and utcnow() - broadcast.created_at < PROGRESS_MESSAGE_GRACE
                )
                summary_due = state.settled and not awaiting_message
                chat_id, message_id = broadcast.progress_chat_id, broadcast.progress_message_id
                cancelled = broadcast.status == BroadcastStatus.CANCELLED
                if summary_due and (chat_id is None or message_id is None):
                    # Nobody watches this one (greetings, reminders, the CLI): just close it.
                    broadcasts.finish(session, broadcast_id)
                    continue
                unreached = broadcasts.unreached(session, broadcast_id) if summary_due else []
            if chat_id is None or message_id is None:
                continue
            if summary_due:
                # Closed only once the organizer has the summary: a failed edit is tried again.
                if not await self._edit(
                    chat_id, message_id, summary_text(state, cancelled=cancelled)
                ):
                    continue
                with self.database.session() as session:
                    first = broadcasts.finish(session, broadcast_id)
                self._shown.pop(broadcast_id, None)
                if first and unreached:
                    await self._send_unreached(chat_id, unreached)
            elif self._shown.get(broadcast_id) != (text := progress_text(state)):
                # Only real changes are edited: an unchanged edit is a wasted API call.
                self._shown[broadcast_id] = text
                await self._edit(
                    chat_id,
                    message_id,
                    text,
                    cancel_button=True,
                    broadcast_id=broadcast_id,
                )

    async def _edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        cancel_button: bool = False,
        broadcast_id: int = 0,
    ) -> bool:
        """Edit a progress message; False only when trying again later may succeed."""
        markup = None
        if cancel_button:
            stop = BroadcastCancel(broadcast_id).pack()
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(texts.BROADCAST_CANCEL_BUTTON, callback_data=stop)]]
            )
        try:
            await self.bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
        except BadRequest as exc:
            # Unchanged, deleted or too old: nothing a retry would fix.
            if "not modified" not in exc.message:
                log.info("could not edit a progress message: %s", exc.message)
        except TelegramError as exc:
            log.info("could not edit a progress message: %s", type(exc).__name__)
            return False
        return True

    async def _send_unreached(self, chat_id: int, unreached: list[tuple[str, str, str]]) -> None:
        lines = [
            texts.UNREACHED_LINE.format(
                name=name, police_id=police_id, why=texts.UNREACHED_WHY.get(state, state)
            )
            for name, police_id, state in unreached
        ]
        for part in split_text(texts.UNREACHED_HEADER + "\n" + "\n".join(lines)):
            try:
                await self.bot.send_message(chat_id, part)
            except TelegramError as exc:
                log.info("could not send the unreached list: %s", type(exc).__name__)
                return


def progress_text(state: Progress) -> str:
    """The organizer's progress line."""
    return texts.BROADCAST_PROGRESS.format(
        sent=state.sent, total=state.total, failed=state.failed, blocked=state.blocked
    )


def summary_text(state: Progress, *, cancelled: bool) -> str:
    """The organizer's final summary."""
    template = texts.BROADCAST_CANCELLED_SUMMARY if cancelled else texts.BROADCAST_SUMMARY
    return template.format(
        sent=state.sent,
        total=state.total,
        failed=state.failed,
        blocked=state.blocked,
        cancelled=state.cancelled,
    )


def _seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():
        # PTB 22 warns that retry_after will become a timedelta; either form is handled here.
        warnings.simplefilter("ignore")
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)
