"""The main menu, help, /cancel outside a conversation, hints, and stale buttons.

These are registered last: they catch what no feature conversation took.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardRemove, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import texts
from bot.rules.forgiving import feature_named
from handlers import (
    binding,
    blood,
    booking_staff,
    bookings,
    care,
    care_admin,
    charity,
    clubs,
    distributions,
    drives,
    events,
    greetings,
    mutual_aid,
    profile,
    stats,
    surveys,
)
from handlers.access import OFFICER, ORGANIZER, Access, Handler, access, pressed
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
from handlers.nominations import member, rounds
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
    """Free text, media or an unknown command outside any conversation: the feature the text
    names (献血, 预约, 体检…) opens; anything else gets a one-line hint."""
    user = update.effective_user
    if user is None:
        return
    caller = load_caller(context, user.id)
    if caller is not None and profile.waiting_for_phone(update, context):
        await profile.contact_expected(update, context)
        return
    message = update.message
    typed = message.text if message is not None and message.text is not None else ""
    feature = feature_named(typed) if caller is not None and not typed.startswith("/") else None
    if feature is not None:
        await _open_named(update, context, feature)
        return
    await reply(update, context, texts.FREE_TEXT_HINT if caller else texts.STRANGER_HINT)


async def _offer_report(update: Update, context: Context) -> None:
    """The report is a conversation begun by its command or button: one tap away."""
    button = InlineKeyboardButton(texts.MENU_REPORT, callback_data=MenuChoice("report").pack())
    await reply(update, context, texts.FEATURE_REPORT_OFFER, InlineKeyboardMarkup([[button]]))


async def _offer_appeal(update: Update, context: Context) -> None:
    """An appeal is a conversation begun by its command or button: one tap away, for organizers."""
    user = update.effective_user
    caller = load_caller(context, user.id) if user is not None else None
    if caller is None or not caller.organizer:
        await reply(update, context, texts.FREE_TEXT_HINT)
        return
    button = InlineKeyboardButton(texts.MENU_APPEAL, callback_data=MenuChoice("appeal").pack())
    await reply(update, context, texts.FEATURE_APPEAL_OFFER, InlineKeyboardMarkup([[button]]))


async def _mutual_aid_named(update: Update, context: Context) -> None:
    """医疗互助 typed: the scheme panel for organizers, an officer's own cover (/me) for others."""
    user = update.effective_user
    caller = load_caller(context, user.id) if user is not None else None
    if caller is not None and caller.organizer:
        await mutual_aid.mutual_aid_command(update, context)
    else:
        await profile.show_profile(update, context)


# What free text naming a feature opens: the feature's own command, as if typed bare.
NAMED: dict[str, Callable[[Update, Context], Awaitable[object]]] = {
    "drives": drives.drives_command,
    "blood": blood.blood_command,
    "events": events.events_command,
    "clubs": clubs.clubs_command,
    "book": bookings.book_command,
    "report": _offer_report,
    "appeal": _offer_appeal,
    "myreports": care.my_reports,
    "me": profile.show_profile,
    "retreats": member.retreats_command,
    "honours": member.honours_command,
    "surveys": surveys.surveys_command,
    "charity": charity.charity_command,
    "distributions": distributions.distributions_command,
    "mutualaid": _mutual_aid_named,
    "stats": stats.stats_command,
    "menu": menu,
    "help": help_command,
}


async def _open_named(update: Update, context: Context, feature: str) -> None:
    await NAMED[feature](update, context)


def _opening(command: Handler, rule: Access[Any] = OFFICER) -> Handler:
    """A menu button that opens a feature exactly as its bare command does: the caller admitted
    by the command's own rule (refused with an alert otherwise), the press answered, then the
    command."""

    async def opened(update: Update, context: Context) -> object:
        if await rule.admit(update, context) is None:
            return None
        await answer(update)
        return await command(update, context)

    return opened


async def stale_button(update: Update, context: Context) -> None:
    """A button nobody handles any more (an old message, a finished flow, forged data)."""
    await answer(update, texts.STALE_BUTTON)


# The menu's buttons for features without a conversation: item, command, the command's rule.
# 📣 发通知 begins a flow and is handlers.announce's entry point.
OPENED_BY_PRESS: tuple[tuple[str, Handler, Access[Any]], ...] = (
    ("drives", drives.drives_command, OFFICER),
    ("blood", blood.blood_command, OFFICER),
    ("events", events.events_command, OFFICER),
    ("clubs", clubs.clubs_command, OFFICER),
    ("staff", booking_staff.staff_command, booking_staff.STAFF),
    ("cases", care_admin.cases_command, ORGANIZER),
    ("greetings", greetings.show, greetings.GREETER),
    ("bookings", booking_staff.bookings_command, ORGANIZER),
    ("surveys", surveys.surveys_command, OFFICER),
    ("retreats", member.retreats_command, OFFICER),
    ("honours", member.honours_command, OFFICER),
    ("mutualaid", mutual_aid.mutual_aid_command, mutual_aid.MANAGER),
    ("charity", charity.charity_command, OFFICER),
    ("distributions", distributions.distributions_command, OFFICER),
    ("rounds", rounds.rounds_command, ORGANIZER),
    ("stats", stats.stats_command, stats.STATS),
)


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
        *(
            CallbackQueryHandler(_opening(command, rule), pattern=_exactly(MenuChoice(item)))
            for item, command, rule in OPENED_BY_PRESS
        ),
        CallbackQueryHandler(menu_pressed, pattern=MenuChoice.pattern()),
        MessageHandler(PRIVATE_MESSAGE & ~filters.StatusUpdate.ALL, hint),
        CallbackQueryHandler(stale_button),
    ]
