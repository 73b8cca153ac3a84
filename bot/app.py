"""The composition root: builds the one Application with its handlers and services."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from apscheduler.jobstores.base import JobLookupError
from telegram import Bot, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    Defaults,
    Job,
    TypeHandler,
)

from bot import effects, scheduler
from bot.broadcast import QuietHours, Sender
from bot.inbox import (
    DeferredWake,
    DeferringRequest,
    Inbox,
    JournalAwareRateLimiter,
    RawUpdatesRequest,
)
from bot.policy import Policy
from bot.processing import PerUserUpdateProcessor
from bot.settings import Settings
from bot.transport import bot_api_request
from handlers import (
    announce,
    appeals,
    binding,
    blood,
    blood_record,
    booking_staff,
    bookings,
    care,
    care_admin,
    charity,
    clubs,
    distributions,
    drive_admin,
    drives,
    event_admin,
    events,
    flow,
    greetings,
    menu,
    mutual_aid,
    nominations,
    profile,
    roles,
    roster_notes,
    stats,
    surveys,
)
from handlers.common import Context, OutsidePrivateChats, commands_for, refresh_commands
from handlers.context import Services, install, services_of
from storage import bookings as booking_storage
from storage import roles as role_storage
from storage.db import Database

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]

SENDER_KEY = "nuanjing.sender"
INBOX_KEY = "nuanjing.inbox"
# Set (bot/cluster.py) when several instances share the database: the broadcast sender and the
# scheduled jobs then start only in the instance that leads, not at start-up.
SHARED_KEY = "nuanjing.shared"
# Broadcast sends in flight at once: after a SIGKILL at most this many may go out twice.
SENDER_IN_FLIGHT = 4

# Updates being handled at once (each of a different officer), from the database's turn to the
# commit; an update then gives its slot back while its replies are made (bot/processing.py). The
# ones that wait for the database together are handled in one transaction (bot/inbox.py), so in
# a rush more of them in flight means fewer transactions: with 8 a batch held about 1.3 updates
# and the rush of bench/bookings.py took 4.7 s (p95, PostgreSQL); with 32, about 5, and 3.55 s;
# with 64, 3.05 s, the bot's RSS after bench/updates.py's load unchanged (116 MB). Since slots
# are given back before the replies, 128 gained nothing measurable over 64. The HTTP pool to
# the Bot API has as many connections.
CONCURRENT_UPDATES = 64


def build_application(
    settings: Settings, database: Database, policy: Policy, *, token: str | None = None
) -> BotApplication:
    """The bot, wired to its database and policy, ready to initialize and poll."""
    processor = PerUserUpdateProcessor(CONCURRENT_UPDATES)
    # As many connections as updates in flight: every request scans the pool, so a wide,
    # mostly idle pool costs more CPU than it saves (measured with bench/updates.py).
    request = DeferringRequest(bot_api_request(CONCURRENT_UPDATES))
    updates_request = RawUpdatesRequest(bot_api_request(1))
    application = (
        ApplicationBuilder()
        .token(token or settings.token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        .defaults(Defaults(tzinfo=settings.zone))
        .concurrent_updates(processor)
        .request(request)
        .get_updates_request(updates_request)
        # Updates are fetched by the inbox (bot/inbox.py), which stores them first.
        .updater(None)
        # No throttling for conversational replies (broadcasts pace themselves); only retry a
        # reply that Telegram answered with 429.
        .rate_limiter(JournalAwareRateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=2))
        .post_init(_post_init)
        .post_stop(_stop_sender)
        .build()
    )
    # Every conversation reads its step from this database at each update (handlers/flow.py).
    flow.serve(application.bot, database)
    sender = Sender(
        Bot(
            token or settings.token(),
            base_url=settings.api_base_url,
            base_file_url=settings.file_base_url,
            request=bot_api_request(SENDER_IN_FLIGHT + 1),
        ),
        database,
        rate=settings.broadcast_rate,
        max_in_flight=SENDER_IN_FLIGHT,
        quiet=QuietHours.of(policy.greetings, settings.zone),
        # The scheduler's clock: tests move the jobs and the quiet hours together.
        now=scheduler.clock_of(application),
    )
    application.bot_data[SENDER_KEY] = sender
    cipher = settings.cipher()
    inbox = Inbox(application, database, cipher, request, updates_request)
    processor.handle = inbox.handle
    # The sender's own mark (it reloads its set at start, so look it up each time).
    inbox.on_blocked = lambda chat_id: sender.unreachable.add(chat_id)
    application.bot_data[INBOX_KEY] = inbox
    install(
        application,
        Services(
            database=database,
            policy=policy,
            zone=settings.zone,
            # A wake while an update is handled waits for its commit: the sender must find
            # the rows it is woken for.
            broadcaster=DeferredWake(sender.wake),
            cipher=cipher,
        ),
    )
    # First of all: nothing outside a private chat goes further (no answer into a group).
    application.add_handler(OutsidePrivateChats(), group=-2)
    # Before every handler: an officer who blocked the bot and now writes is reachable again.
    application.add_handler(TypeHandler(Update, _note_reachable), group=-1)
    # Order matters: feature conversations first, the catch-alls of `menu` last.
    for module in (
        binding,
        profile,
        roster_notes,
        roles,
        announce,
        care,
        care_admin,
        blood_record,
        blood,
        drive_admin,
        drives,
        appeals,
        event_admin,
        events,
        greetings,
        clubs,
        bookings,
        booking_staff,
        surveys,
        stats,
        nominations,
        charity,
        distributions,
        mutual_aid,
        menu,
    ):
        application.add_handlers(module.handlers())
    application.add_error_handler(_log_error)
    return application


def inbox_of(application: BotApplication) -> Inbox:
    """The application's update inbox."""
    inbox = application.bot_data[INBOX_KEY]
    assert isinstance(inbox, Inbox)
    return inbox


def sender_of(application: BotApplication) -> Sender:
    """The application's broadcast sender."""
    sender = application.bot_data[SENDER_KEY]
    assert isinstance(sender, Sender)
    return sender


async def _note_reachable(update: Update, context: Context) -> None:
    """Clear the 'blocked the bot' mark of anyone who writes to it."""
    # Only a message or a button press: the my_chat_member update Telegram sends when the
    # officer blocks the bot must not count as writing to it.
    if (update.message or update.callback_query) and update.effective_user is not None:
        sender_of(context.application).reachable_again(update.effective_user.id)


async def _start_sender(application: BotApplication) -> None:
    sender = sender_of(application)
    await sender.bot.initialize()
    await sender.start()


async def _stop_sender(application: BotApplication) -> None:
    sender = sender_of(application)
    await sender.stop()
    await sender.bot.shutdown()


async def _post_init(application: BotApplication) -> None:
    """The leader's work at start-up, unless several instances share the database (then the
    instance that leads starts it: bot/cluster.py)."""
    if not application.bot_data.get(SHARED_KEY):
        await start_leading(application)


async def start_leading(application: BotApplication) -> list[Job[Any]]:
    """Command menus, the broadcast sender, then the repeating jobs (bot/scheduler.py); the
    jobs installed."""
    await announce_commands(application)
    # Before the sender's first look: greetings of a day that is over must not go out.
    scheduler.expire_broadcasts(application)
    await _start_sender(application)
    # Greetings, reminders and deadlines: each job's first run comes one interval after the
    # start (a short-lived bot, in tests or the demo, never runs them); the send ledger keeps a
    # restart from sending anything twice.
    queue = application.job_queue
    before = set(queue.jobs()) if queue is not None else set()
    scheduler.install(application)
    return [job for job in queue.jobs() if job not in before] if queue is not None else []


async def stop_leading(application: BotApplication, jobs: list[Job[Any]]) -> None:
    """Stop what `start_leading` started: the jobs, then the sender (its sends in flight end)."""
    for job in jobs:
        # A job that ran its last time is gone already.
        with contextlib.suppress(JobLookupError):
            job.schedule_removal()
    await sender_of(application).stop()


async def announce_commands(application: BotApplication) -> None:
    """Give Telegram the command menus: the default one, and one per privileged chat (a role,
    or the staff role of a service)."""
    database = services_of(application).database
    await application.bot.set_my_commands(commands_for(set()))
    keys = [service.key for service in services_of(application).policy.services]
    with database.session() as session:
        chats = dict(role_storage.privileged_chats(session))
        staff = booking_storage.staff_chats(session, keys)
    for chat_id in sorted(set(chats) | staff):
        held = chats.get(chat_id, set())
        await refresh_commands(application.bot, chat_id, held, staff=chat_id in staff)


async def _log_error(update: object, context: Context) -> None:
    """Log a failed update by id, error type and stack only.

    The error's message is left out: a database error quotes its parameters, which may be a
    phone number or a health detail.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    # The update's transaction keeps nothing of a failed handling (bot/inbox.py).
    effects.note_failure(error)
    stack = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    log.error("update %s failed: %s\n%s", update_id, type(error).__name__, stack)


@asynccontextmanager
async def polling(application: BotApplication, *, poll_timeout: int = 10) -> AsyncIterator[None]:
    """Run the bot with long polling inside the caller's event loop (`nuanjing run`, tests).

    Start-up first makes the calls and handles the updates a crash left behind, then polls.
    """
    if INBOX_KEY not in application.bot_data:
        # An application built elsewhere (the echo bot of bench/updates.py): PTB's own polling.
        async with _ptb_polling(application, poll_timeout):
            yield
        return
    async with _running(application) as inbox:
        poller = asyncio.create_task(inbox.poll(timeout=poll_timeout), name="inbox-poller")
        poller.add_done_callback(inbox.poller_ended)
        try:
            yield
        finally:
            inbox.stop()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await poller


@asynccontextmanager
async def receiving(application: BotApplication) -> AsyncIterator[None]:
    """Run the bot without fetching updates: webhook mode, where the HTTP listener hands each
    update to the inbox (bot/http.py). Starts and stops as `polling` does."""
    async with _running(application):
        yield


@asynccontextmanager
async def _running(application: BotApplication) -> AsyncIterator[Inbox]:
    """The bot started (the calls and updates a crash left behind first), stopped on exit."""
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    inbox = inbox_of(application)
    if inbox.owner is None:
        # One instance: whatever the last run left is its own. With several, the leader
        # adopts what a stopped instance left (bot/cluster.py), never what a live one holds.
        await inbox.recover()
    try:
        yield inbox
    finally:
        inbox.stop()
        await application.stop()
        await inbox.strike_now()
        if application.post_stop is not None:
            await application.post_stop(application)
        await application.shutdown()


@asynccontextmanager
async def _ptb_polling(application: BotApplication, poll_timeout: int) -> AsyncIterator[None]:
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=poll_timeout, allowed_updates=Update.ALL_TYPES
    )
    try:
        yield
    finally:
        await application.updater.stop()
        await application.stop()
        await application.shutdown()
