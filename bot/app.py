"""The composition root: builds the one Application with its handlers and services."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults

from bot.persistence import DatabasePersistence
from bot.policy import Policy
from bot.processing import PerUserUpdateProcessor
from bot.settings import Settings
from handlers import binding, menu, profile, roles
from handlers.common import Context, commands_for, refresh_commands
from handlers.context import Services, install, services_of
from storage import roles as role_storage
from storage.db import Database

log = logging.getLogger(__name__)

BotApplication = Application[Any, Any, Any, Any, Any, Any]

# Updates handled at once (each of a different officer). Handlers are short and mostly wait on
# the Bot API; a handful in flight keeps the event loop busy without crowding the HTTP pool.
CONCURRENT_UPDATES = 8


def build_application(
    settings: Settings, database: Database, policy: Policy, *, token: str | None = None
) -> BotApplication:
    """The bot, wired to its database and policy, ready to initialize and poll."""
    application = (
        ApplicationBuilder()
        .token(token or settings.token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.file_base_url)
        .defaults(Defaults(tzinfo=settings.zone))
        .persistence(DatabasePersistence(database))
        .concurrent_updates(PerUserUpdateProcessor(CONCURRENT_UPDATES))
        # As many connections as updates in flight: every request scans the pool, so a wide,
        # mostly idle pool costs more CPU than it saves (measured with bench/updates.py).
        .connection_pool_size(CONCURRENT_UPDATES)
        # No throttling for conversational replies (broadcasts pace themselves); only retry a
        # reply that Telegram answered with 429.
        .rate_limiter(AIORateLimiter(overall_max_rate=0, group_max_rate=0, max_retries=2))
        .post_init(_announce_commands)
        .build()
    )
    install(application, Services(database=database, policy=policy, zone=settings.zone))
    # Order matters: feature conversations first, the catch-alls of `menu` last.
    for module in (binding, profile, roles, menu):
        application.add_handlers(module.handlers())
    application.add_error_handler(_log_error)
    return application


async def _announce_commands(application: BotApplication) -> None:
    """Give Telegram the command menus: the default one, and one per privileged chat."""
    database = services_of(application).database
    await application.bot.set_my_commands(commands_for(set()))
    with database.session() as session:
        chats = role_storage.privileged_chats(session)
    for chat_id, held in chats:
        await refresh_commands(application.bot, chat_id, held)


async def _log_error(update: object, context: Context) -> None:
    """Log a failed update by id, error type and stack only.

    The error's message is left out: a database error quotes its parameters, which may be a
    phone number or a health detail.
    """
    update_id = update.update_id if isinstance(update, Update) else None
    error = context.error
    stack = "".join(traceback.format_tb(error.__traceback__)) if error else ""
    log.error("update %s failed: %s\n%s", update_id, type(error).__name__, stack)


@asynccontextmanager
async def polling(application: BotApplication, *, poll_timeout: int = 10) -> AsyncIterator[None]:
    """Run the bot with long polling inside the caller's event loop (tests, demo, bench)."""
    await application.initialize()
    # run_polling() calls post_init itself; this path must do the same.
    if application.post_init is not None:
        await application.post_init(application)
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
