"""The main menu, help, /cancel outside a conversation, hints, and stale buttons.

These are registered last: they catch what no feature conversation took.
"""

from __future__ import annotations

import re
from typing import Any

from telegram import ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import texts
from handlers import binding, profile
from handlers.access import access, pressed
from handlers.callbacks import MenuChoice
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
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


@access()
async def menu(update: Update, context: Context, caller: Caller) -> None:
    """/menu: the main menu for officers (and a clean slate)."""
    _drop_unfinished(update, context)
    await show_main_menu(update, context, caller)


async def help_command(update: Update, context: Context) -> None:
    """/help: what this person may do, by role."""
    user = update.effective_user
    await reply(update, context, help_text(load_caller(context, user.id) if user else None))


@pressed(MenuChoice)
async def menu_pressed(
    update: Update, context: Context, _choice: MenuChoice, caller: Caller
) -> None:
    """A main-menu button no feature takes (帮助): what this officer may do."""
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


def _exactly(choice: MenuChoice) -> str:
    return f"^{re.escape(choice.pack())}$"


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Menu, help, cancel and the catch-alls; register after every feature."""
    return [
        CommandHandler("menu", menu, filters=PRIVATE_MESSAGE),
        CommandHandler("help", help_command, filters=PRIVATE_MESSAGE),
        CommandHandler("cancel", cancel_outside, filters=PRIVATE_MESSAGE),
        # The menu's buttons that open a feature, each checked by that feature's own access;
        # 📝 慰问申报 and 我的申报 are handlers.care's, registered with it.
        CallbackQueryHandler(profile.show_profile, pattern=_exactly(MenuChoice("profile"))),
        CallbackQueryHandler(binding.list_requests, pattern=_exactly(MenuChoice("requests"))),
        CallbackQueryHandler(menu_pressed, pattern=MenuChoice.pattern()),
        MessageHandler(PRIVATE_MESSAGE & ~filters.StatusUpdate.ALL, hint),
        CallbackQueryHandler(stale_button),
    ]
