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
    PRIVATE_MESSAGE,
    Context,
    answer,
    caller_or_hint,
    conversation_key,
    help_text,
    load_caller,
    reply,
    show_main_menu,
)
from handlers.context import services
from storage import conversations


def _drop_unfinished(update: Update, context: Context) -> int:
    """Forget every flow this person left half-way; returns how many there were."""
    with services(context).database.session() as session:
        return conversations.delete_all_for(session, conversation_key(update))


async def menu(update: Update, context: Context) -> None:
    """/menu: the main menu for officers (and a clean slate)."""
    caller = await caller_or_hint(update, context)
    if caller is not None:
        _drop_unfinished(update, context)
        await show_main_menu(update, context, caller)


async def help_command(update: Update, context: Context) -> None:
    """/help: what this person may do, by role."""
    user = update.effective_user
    await reply(update, context, help_text(load_caller(context, user.id) if user else None))


async def menu_pressed(update: Update, context: Context) -> None:
    """A main-menu button."""
    assert update.callback_query is not None
    choice = MenuChoice.unpack(update.callback_query.data)
    if choice is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if choice.item == "profile":
        await profile.show_profile(update, context)
    elif choice.item == "requests":
        await binding.list_requests(update, context)
    else:
        caller = await caller_or_hint(update, context)
        if caller is not None:
            await answer(update)
            await reply(update, context, help_text(caller))


async def cancel_outside(update: Update, context: Context) -> None:
    """/cancel outside the binding conversation: drop any flow left open, such as a phone change."""
    dropped = _drop_unfinished(update, context)
    text = texts.CANCELLED if dropped else texts.NOTHING_TO_CANCEL
    await reply(update, context, text, ReplyKeyboardRemove())


async def hint(update: Update, context: Context) -> None:
    """Free text, media or an unknown command outside any conversation: a one-line hint."""
    user = update.effective_user
    if user is None:
        return
    caller = load_caller(context, user.id)
    if caller is not None and profile.waiting_for_phone(update, context):
        await profile.contact_expected(update, context)
        return
    await reply(update, context, texts.FREE_TEXT_HINT if caller else texts.STRANGER_HINT)


async def stale_button(update: Update, context: Context) -> None:
    """A button nobody handles any more (an old message, a finished flow, forged data)."""
    await answer(update, texts.STALE_BUTTON)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Menu, help, cancel and the catch-alls; register after every feature."""
    return [
        CommandHandler("menu", menu, filters=PRIVATE_MESSAGE),
        CommandHandler("help", help_command, filters=PRIVATE_MESSAGE),
        CommandHandler("cancel", cancel_outside, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(menu_pressed, pattern=MenuChoice.pattern()),
        MessageHandler(PRIVATE_MESSAGE & ~filters.StatusUpdate.ALL, hint),
        CallbackQueryHandler(stale_button),
    ]
