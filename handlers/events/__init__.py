"""/events: officers see the events they may join, sign up, cancel and wait; managers manage.

- `/events`: the upcoming events whose audience includes the officer (bot.rules.events.may_join:
  a matchmaking event needs their own opt-in as single, so a married officer never sees one),
  one card each with places left (per gender when capped) and 报名 / 报名候补 / 取消报名.
  Officers see counts only, never who signed up. Every press checks the audience again
  (may_see): a forged ev:* / evm:* press of an event the officer may not see is answered like
  an outdated button and shows nothing.
- `/events mine`: their own sign-ups and waitlist places.
- Managers (organizers for every event, a club's leaders for their club's events only):
  `/events 编号` or ⚙️ 管理 opens the panel: the list with attendance marks (到场 / 缺席 from the
  event's day), the roster as XLSX, edits (handlers.event_admin) and cancellation. Matchmaking
  lists are for organizers only and only ever go to the organizer's private chat.
- Reminders, 24 hours and 2 hours before each event: bot/jobs/events.py.

The package: `listing` (who sees and who manages, the cards, /events and /events mine),
`signup` (报名 / 取消报名, the waitlist), `panel` (the manager's panel and cancellation),
`attendance` (the list with 到场 / 缺席), `export` (the roster as XLSX); this module routes
/events and the event buttons and registers them (`handlers()`).
"""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.rules.text import quote
from handlers.access import access, pressed
from handlers.callbacks import EventAction, EventMark
from handlers.common import PRIVATE_MESSAGE, Caller, Context, reply, typed_command
from handlers.events.attendance import MARK_PAGE, mark_pressed, send_attendance
from handlers.events.export import ROSTER_WIDTHS, roster_workbook
from handlers.events.listing import (
    MAX_CARDS,
    _list,
    _mine,
    announcement_markup,
    audience_text,
    can_manage,
    card_markup,
    card_text,
    may_see,
    moment_text,
    refuse_manager,
    viewer_of,
    visible,
    when_text,
)
from handlers.events.panel import (
    _manage_pressed,
    _panel,
    notice_priority,
    panel_markup,
    panel_text,
)
from handlers.events.signup import _join, _leave, refusal, tell_promoted

__all__ = [
    "MARK_PAGE",
    "MAX_CARDS",
    "ROSTER_WIDTHS",
    "announcement_markup",
    "audience_text",
    "can_manage",
    "card_markup",
    "card_text",
    "event_pressed",
    "events_command",
    "handlers",
    "mark_pressed",
    "may_see",
    "moment_text",
    "notice_priority",
    "panel_markup",
    "panel_text",
    "refusal",
    "refuse_manager",
    "roster_workbook",
    "send_attendance",
    "tell_promoted",
    "viewer_of",
    "visible",
    "when_text",
]


# --- /events ----------------------------------------------------------------------------


@access()
async def events_command(update: Update, context: Context, caller: Caller) -> None:
    """/events [mine | 编号 | help]: upcoming events, one's own sign-ups, or an event's panel."""
    tokens = typed_command(update).split()[1:]
    if not tokens:
        await _list(update, context, caller)
        return
    word = tokens[0].lower().lstrip("#")
    if word in ("mine", "my", "我的"):
        await _mine(update, context, caller)
    elif word in ("help", "帮助", "用法"):
        await reply(update, context, texts.EVENT_USAGE)
    elif len(tokens) == 1 and word.isascii() and word.isdigit() and len(word) <= 9:
        await _panel(update, context, caller, int(word))
    else:
        await reply(
            update,
            context,
            texts.EVENT_BAD_ARGUMENT.format(token=quote(tokens[0])) + texts.EVENT_USAGE,
        )


# --- 报名 / 取消报名 ----------------------------------------------------------------------------


@pressed(EventAction)
async def event_pressed(
    update: Update, context: Context, action: EventAction, caller: Caller
) -> None:
    """A button on an event: officers' 报名 / 取消报名, managers' panel."""
    if action.action == "join":
        await _join(update, context, caller, action.event_id)
    elif action.action == "leave":
        await _leave(update, context, caller, action.event_id)
    else:
        await _manage_pressed(update, context, caller, action)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/events, the event buttons and the attendance marks."""
    return [
        CommandHandler("events", events_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(event_pressed, pattern=EventAction.pattern()),
        CallbackQueryHandler(mark_pressed, pattern=EventMark.pattern()),
    ]
