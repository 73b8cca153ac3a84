"""`nuanjing run`: the bot in the foreground until SIGINT or SIGTERM.

Updates come by long polling, or by webhook when NUANJING_WEBHOOK_URL is set; either way the
HTTP listener (bot/http.py) serves /healthz and /metrics on NUANJING_HTTP_LISTEN unless that is
`off`. In webhook mode the listener is the way in, so it must bind; in polling mode a listener
that cannot bind is logged and the bot polls without it.

A stop is graceful: the bot stops taking updates at once (a webhook POST is answered 503, so
Telegram keeps it and retries; polling stops), finishes the updates under way and the sends in
flight, then returns; the caller releases the lease (bot/leader.py) and exits 0. Updates stored
but not yet begun wait in the database for the next start. All this takes STOP_GRACE seconds
at most: whatever is cut short then is safe too (an update's transaction rolls back and is
handled again at the next start; a send in flight is made again, as after a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from telegram import Bot
from telegram.error import TelegramError

from bot.app import BotApplication, build_application, inbox_of, polling, receiving
from bot.cluster import Cluster, shared
from bot.http import Listener, ListenError, bind, drop_webhook_if_set, serving, set_webhook
from bot.policy import Policy
from bot.settings import Settings
from bot.transport import bot_api_request
from storage.db import Database

log = logging.getLogger(__name__)

# Long-poll timeout: Telegram holds getUpdates open this long when nothing arrives.
POLL_TIMEOUT = 30
# From the stop signal to the end of `run`, at most.
STOP_GRACE = 10.0


class RunFailed(Exception):
    """The bot cannot go on by itself; the message is one sentence for the operator."""


class InboxFailed(RunFailed):
    """The inbox stopped on an error the process cannot recover from by itself."""


async def run(settings: Settings, database: Database, policy: Policy, *, token: str) -> None:
    """Run until asked to stop, then stop gracefully; a second signal is not needed.

    In webhook mode on PostgreSQL this is one of several instances (bot/cluster.py): it takes
    updates at once and leads (the sender, the jobs) only while it holds the lead.
    """
    application = build_application(settings, database, policy, token=token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    inbox = inbox_of(application)
    cluster = (
        Cluster(application, database)
        if shared(database, settings.webhook_url is not None)
        else None
    )
    lost = cluster.failed if cluster is not None else asyncio.Event()
    sock = listening_socket(settings)
    async with contextlib.AsyncExitStack() as membership:
        if cluster is not None:
            # Before any update is taken: the rows it stores name an instance that lives.
            await membership.enter_async_context(cluster.member())
        try:
            async with (
                asyncio.timeout(None) as deadline,
                taking_updates(application, settings, sock, token=token) as listener,
                cluster.standing_by() if cluster is not None else contextlib.nullcontext(),
            ):
                await _first(stop.wait(), inbox.failed.wait(), lost.wait())
                # From here on, STOP_GRACE seconds at most, the bot's own stop included.
                deadline.reschedule(loop.time() + STOP_GRACE)
                if listener is not None:
                    listener.accepting = False
                inbox.close()
                if inbox.in_progress:
                    log.info("stopping: finishing %d update(s) under way", inbox.in_progress)
                await inbox.finished()
        except TimeoutError:
            log.warning(
                "stopped after %.0f s with work unfinished: the next start takes it up",
                STOP_GRACE,
            )
    if inbox.failed.is_set():
        # The database holds every update not yet handled: a restart goes on from there.
        raise InboxFailed("the update inbox stopped (see the log); restart the bot")
    if lost.is_set():
        assert cluster is not None
        raise RunFailed(f"{cluster.reason}; restart this instance")
    log.info("stopped")


@asynccontextmanager
async def taking_updates(
    application: BotApplication,
    settings: Settings,
    sock: socket.socket | None,
    *,
    token: str,
    poll_timeout: int = POLL_TIMEOUT,
) -> AsyncIterator[Listener | None]:
    """The listener on `sock` (if any) and the bot taking updates, by webhook when
    NUANJING_WEBHOOK_URL is set, else by polling (a webhook left set deleted first)."""
    inbox = inbox_of(application)
    webhook = settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else None
    listener = Listener(
        inbox.database,
        inbox=inbox if webhook else None,
        webhook_path=settings.webhook_path,
        secret=secret,
    )
    if not webhook:
        await _no_webhook(settings, token)
    async with contextlib.AsyncExitStack() as running:
        if sock is not None:
            await running.enter_async_context(serving(listener, sock))
        if webhook:
            await running.enter_async_context(receiving(application))
            listener.accepting = True
            await _set_webhook(application, settings)
            log.info("taking updates by webhook; stop with Ctrl-C or SIGTERM")
        else:
            await running.enter_async_context(polling(application, poll_timeout=poll_timeout))
            log.info("polling; stop with Ctrl-C or SIGTERM")
        yield listener if sock is not None else None


def listening_socket(settings: Settings) -> socket.socket | None:
    """The listener's socket, bound before anything starts; None if there is to be none."""
    webhook = settings.webhook_url is not None
    address = settings.http_address
    if address is None:
        if webhook:
            raise RunFailed(
                "NUANJING_WEBHOOK_URL needs the HTTP listener, but NUANJING_HTTP_LISTEN is off"
            )
        return None
    try:
        return bind(*address)
    except ListenError as exc:
        if webhook:
            raise RunFailed(str(exc)) from None
        # Polling works without it; only /healthz and /metrics are missing.
        log.warning("no /healthz or /metrics: %s", exc)
        return None


async def _no_webhook(settings: Settings, token: str) -> None:
    """Delete a webhook left set (by a webhook-mode run): Telegram refuses getUpdates then."""
    bot = Bot(
        token,
        base_url=settings.api_base_url,
        base_file_url=settings.file_base_url,
        request=bot_api_request(),
    )
    try:
        async with bot:
            await drop_webhook_if_set(bot)
    except TelegramError as exc:
        # Polling says so itself if it matters (409 Conflict): no reason to stop here.
        log.warning("could not check for a webhook (%s)", type(exc).__name__)


async def _set_webhook(application: BotApplication, settings: Settings) -> None:
    try:
        await set_webhook(application.bot, settings)
    except TelegramError as exc:
        # Telegram's message names the problem (an unreachable URL, a bad certificate, a port).
        raise RunFailed(f"Telegram refused the webhook: {exc.message}") from None


async def _first(*waits: Coroutine[Any, Any, Any]) -> None:
    """Wait until the first of these coroutines returns; cancel the others."""
    tasks = {asyncio.create_task(wait) for wait in waits}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
