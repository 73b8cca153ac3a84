"""The manager's panel of an event (/events 编号 or ⚙️ 管理): counts, the list, the roster,
cancellation; every press re-authorised against the database.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType

from bot import texts
from bot.rules.events import (
    MATCHMAKING,
    gender_needed,
    notice_is_urgent,
)
from handlers.callbacks import EventAction
from handlers.common import (
    Caller,
    Context,
    answer,
    edit_or_send,
    reply,
)
from handlers.context import services
from handlers.events.attendance import send_attendance
from handlers.events.export import _export
from handlers.events.listing import _button, _managed, card_text, refuse_manager, when_text
from storage import audit, broadcasts
from storage import events as event_storage
from storage.events import EventView
from storage.models import (
    BroadcastKind,
    Event,
    EventStatus,
    Priority,
)
from storage.types import utcnow

# --- the manager's panel ----------------------------------------------------------------


def panel_text(view: EventView, zone: ZoneInfo, now: datetime) -> str:
    """The event's card with the manager's counts."""
    event, counts = view.event, view.counts
    genders = ""
    if gender_needed(event.male_cap, event.female_cap) or event.kind == MATCHMAKING:
        genders = texts.EVENT_MANAGE_GENDERS.format(
            male=counts.signed_male, female=counts.signed_female
        )
    return texts.EVENT_MANAGE.format(
        card=card_text(EventView(event, counts), zone, now),
        signed=counts.signed,
        genders=genders,
        waiting=counts.waitlisted,
    )


def panel_markup(event: Event) -> InlineKeyboardMarkup:
    """名单和签到, 导出名单, the edits and 取消活动."""
    assert event.id is not None
    edits = [_button(label, "edit", event.id, field) for field, label in texts.EVENT_EDIT_BUTTONS]
    rows = [
        [
            _button(texts.EVENT_LIST_BUTTON, "list", event.id),
            _button(texts.EVENT_EXPORT_BUTTON, "export", event.id),
        ],
        edits[:3],
        edits[3:],
    ]
    if event.status == EventStatus.OPEN and event.starts_at > utcnow():
        rows.append([_button(texts.EVENT_CANCEL_EVENT_BUTTON, "cancel", event.id)])
    return InlineKeyboardMarkup(rows)


async def _panel(update: Update, context: Context, caller: Caller, event_id: int) -> None:
    """/events 编号 or ⚙️ 管理: the panel of an event the caller manages."""
    event, allowed = _managed(context, caller, event_id)
    if event is None:
        if update.callback_query is not None:
            await answer(update, texts.STALE_BUTTON)
        else:
            await reply(update, context, texts.EVENT_NOT_FOUND.format(id=event_id))
        return
    if not allowed:
        await refuse_manager(update, context, caller, f"event:{event_id}", event=event)
        return
    with services(context).database.session() as session:
        view = event_storage.view(session, event)
    text = panel_text(view, services(context).zone, utcnow())
    if update.callback_query is not None:
        await answer(update)
        await edit_or_send(update, context, text, panel_markup(event))
    else:
        await reply(update, context, text, panel_markup(event))


async def _manage_pressed(
    update: Update, context: Context, caller: Caller, action: EventAction
) -> None:
    """A panel button: re-authorised against the database before anything happens."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        # Lists and rosters go to a manager's private chat only, never into a group.
        await answer(update, texts.STALE_BUTTON)
        return
    if action.action in ("manage", "back"):
        await _panel(update, context, caller, action.event_id)
        return
    event, allowed = _managed(context, caller, action.event_id)
    if event is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if not allowed:
        await refuse_manager(update, context, caller, f"event:{action.event_id}", event=event)
        return
    if action.action == "list":
        await answer(update)
        await send_attendance(update, context, event)
    elif action.action == "export":
        await _export(update, context, caller, event)
    elif action.action == "cancel":
        await _ask_cancel(update, context, event)
    elif action.action == "cancelok":
        await _cancel_event(update, context, caller, event)
    else:  # "edit" belongs to handlers.event_admin's conversation; an old press lands here
        await answer(update, texts.STALE_BUTTON)


# --- cancelling an event ----------------------------------------------------------------


async def _ask_cancel(update: Update, context: Context, event: Event) -> None:
    """取消活动: ask once more, saying how many will be told."""
    assert event.id is not None
    if event.status != EventStatus.OPEN or event.starts_at <= utcnow():
        await answer(update, texts.EVENT_GONE, alert=True)
        return
    with services(context).database.session() as session:
        count = len(event_storage.concerned(session, event.id))
    markup = InlineKeyboardMarkup(
        [
            [
                _button(texts.EVENT_CANCEL_CONFIRM_BUTTON, "cancelok", event.id),
                _button(texts.EVENT_KEEP_BUTTON, "back", event.id),
            ]
        ]
    )
    await answer(update)
    await edit_or_send(
        update, context, texts.EVENT_ASK_CANCEL.format(title=event.title, count=count), markup
    )


async def _cancel_event(update: Update, context: Context, caller: Caller, event: Event) -> None:
    """确定取消活动: cancel, and tell everyone signed up or waiting through the broadcast engine."""
    assert event.id is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        cancelled = event_storage.cancel_event(session, event.id)
        total = 0
        if cancelled is not None and cancelled.starts_at > utcnow():
            recipients = event_storage.concerned(session, event.id)
            text = texts.EVENT_CANCELLED_NOTICE.format(
                title=event.title, when=when_text(event, zone)
            )
            total = broadcasts.create(
                session,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=notice_priority(cancelled.starts_at, utcnow()),
                text=text,
                recipients=recipients,
                created_by=caller.actor,
            ).total
            audit.record(
                session,
                actor=caller.actor,
                action="event.cancel",
                target=f"event:{event.id}",
                told=total,
            )
        else:
            session.rollback()
            cancelled = None
    if cancelled is None and event.status == EventStatus.CANCELLED:
        # A repeated press: the message the first one left (or should have).
        await answer(update)
        await edit_or_send(update, context, texts.EVENT_CANCELLED_ALREADY.format(title=event.title))
        return
    if cancelled is None:
        await answer(update, texts.EVENT_GONE, alert=True)
        return
    await answer(update)
    await edit_or_send(
        update, context, texts.EVENT_CANCELLED_DONE.format(title=event.title, count=total)
    )
    services(context).broadcaster.wake()


# --- notices ---------------------------------------------------------------------------


def notice_priority(starts_at: datetime, now: datetime) -> Priority:
    """Urgent for an event starting within 12 hours (it must not wait out the quiet hours)."""
    return Priority.URGENT if notice_is_urgent(starts_at, now) else Priority.NORMAL
