"""`nuanjing run`: the bot in the foreground until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

from bot.app import build_application, inbox_of, polling
from bot.policy import Policy
from bot.settings import Settings
from storage.db import Database

log = logging.getLogger(__name__)

# Long-poll timeout: Telegram holds getUpdates open this long when nothing arrives.
POLL_TIMEOUT = 30


async def run(settings: Settings, database: Database, policy: Policy, *, token: str) -> None:
    """Poll through the update inbox until asked to stop; a second signal is not needed."""
    application = build_application(settings, database, policy, token=token)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    inbox = inbox_of(application)
    async with polling(application, poll_timeout=POLL_TIMEOUT):
        log.info("polling; stop with Ctrl-C")
        stopped = asyncio.create_task(stop.wait())
        failed = asyncio.create_task(inbox.failed.wait())
        await asyncio.wait({stopped, failed}, return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        failed.cancel()
    if inbox.failed.is_set():
        # The database holds every update not yet handled: a restart goes on from there.
        raise InboxFailed("the update inbox stopped (see the log); restart the bot")
    log.info("stopped")


class InboxFailed(Exception):
    """The inbox stopped on an error the process cannot recover from by itself."""
