"""The main menu, help, /cancel outside a conversation, hints, and stale buttons.

These are registered last: they catch what no feature conversation took.
"""

from __future__ import annotations

from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import texts
from handlers import binding, profile
from handlers.callbacks import MenuChoice
from handlers.common import (
    Context,
    caller_or_hint,
    help_text,
    load_caller,
    reply,
    show_main_menu,
)

PRIVATE = filters.ChatType.PRIVATE


async def menu(update: Update, context: Context) -> None:
    """/menu: the main menu for officers."""
    caller = await caller_or_hint(update, context)
    if caller is not None:
        await show_main_menu(update, context, caller)


async def help_command(update: Update, context: Context) -> None:
    """/help: what this person may do, by role."""
    assert update.effective_user is not None
    await reply(update, context, help_text(load_caller(context, update.effective_user.id)))


async def menu_pressed(update: Update, context: Context) -> None:
    """A main-menu button."""
    query = update.callback_query
    assert query is not None
    choice = MenuChoice.unpack(query.data)
    if choice is None:
        await query.answer(texts.STALE_BUTTON)
        return
    if choice.item == "profile":
        await profile.show_profile(update, context)
    elif choice.item == "requests":
        await binding.list_requests(update, context)
    else:
        caller = await caller_or_hint(update, context)
        if caller is not None:
            await query.answer()
            await reply(update, context, help_text(caller))


async def cancel_outside(update: Update, context: Context) -> None:
    """/cancel when no conversation is open."""
    await reply(update, context, texts.NOTHING_TO_CANCEL, ReplyKeyboardRemove())


async def hint(update: Update, context: Context) -> None:
    """Free text, media or an unknown command outside any conversation: a one-line hint."""
    assert update.effective_user is not None
    caller = load_caller(context, update.effective_user.id)
    await reply(update, context, texts.FREE_TEXT_HINT if caller else texts.STRANGER_HINT)


async def stale_button(update: Update, context: Context) -> None:
    """A button nobody handles any more (an old message, a finished flow, forged data)."""
    assert update.callback_query is not None
    await update.callback_query.answer(texts.STALE_BUTTON)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Menu, help, cancel and the catch-alls; register after every feature."""
    return [
        CommandHandler("menu", menu, filters=PRIVATE),
        CommandHandler("help", help_command, filters=PRIVATE),
        CommandHandler("cancel", cancel_outside, filters=PRIVATE),
        CallbackQueryHandler(menu_pressed, pattern=MenuChoice.pattern()),
        MessageHandler(PRIVATE & ~filters.StatusUpdate.ALL, hint),
        CallbackQueryHandler(stale_button),
    ]
