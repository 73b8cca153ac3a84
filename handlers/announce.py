"""/announce: organizers write to everyone, a unit or a role; and the stop button of a broadcast.

The flow (handlers/flow.py): audience → (unit or role) → text → preview with the number of
recipients → confirm. Each step commits its state and draft before its prompt, so a restart
resumes where the organizer was; the committed row, not PTB's memory, says where a flow stands
(/start and /menu drop it without telling this ConversationHandler). Confirming takes the row
and writes the broadcast, its deliveries and the audit entry in one transaction; the sender
(bot/broadcast.py) delivers after the commit.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import effects, texts
from bot.rules.messages import NOTICE_TEXT_LIMIT
from bot.rules.text import clean, meaningful
from handlers import menu
from handlers.access import Access, action_of, pressed
from handlers.callbacks import AnnounceStep, BroadcastCancel, MenuChoice
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    prompt,
    show_step,
)
from handlers.context import services
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts
from storage.broadcasts import Recipient
from storage.models import BroadcastKind, BroadcastStatus, Priority, Role

log = logging.getLogger(__name__)

NAME = "announce"


class State(StrEnum):
    """The steps of an announcement."""

    CHOOSE_AUDIENCE = "choose_audience"
    CHOOSE_UNIT = "choose_unit"
    CHOOSE_ROLE = "choose_role"
    ASK_TEXT = "ask_text"
    PREVIEW = "preview"


PREVIEW = State.PREVIEW


class Reach(StrEnum):
    """Who an announcement is for."""

    EVERYONE = "all"
    UNIT = "unit"
    ROLE = "role"


ROLE_CHOICES = (Role.ORGANIZER, Role.ADMIN)
UNIT_BUTTONS_PER_ROW = 2


@dataclass(frozen=True)
class AnnouncementDraft(Draft):
    """An announcement in the making."""

    audience: Reach | None = None
    unit: str = ""
    role: Role | None = None
    # The units offered at the unit step: the buttons point into this list.
    units: tuple[str, ...] = ()
    text: str = ""


def _ready(state: State, draft: AnnouncementDraft) -> bool:
    """True if the draft holds what its step needs."""
    if state in (State.ASK_TEXT, State.PREVIEW) and draft.audience is None:
        return False
    return state != State.PREVIEW or bool(draft.text)


# Organizers and admins announce; a press of the flow's buttons without the role is a forged
# (or outdated) privileged press, audited with the action it asked for.
ANNOUNCER: Access[AnnounceStep] = Access(
    ORGANIZER_ROLES, forged="forged.announce", target=action_of
)
# The stop button: its sender may stop a broadcast too (a club leader's notice), see stop_pressed.
STOPPER: Access[BroadcastCancel] = Access(
    ORGANIZER_ROLES,
    forged="forged.broadcast_cancel",
    target=lambda stop: str(stop.broadcast_id),
)

FLOW = Flow(NAME, State, AnnouncementDraft, AnnounceStep, access=ANNOUNCER, ready=_ready)
Press = Pressed[State, AnnouncementDraft, AnnounceStep]
Text = Typed[State, AnnouncementDraft]


def _take_preview(session: Session, key: str) -> dict[str, Any] | None:
    """Take the flow's row if it stands at the preview: its draft as stored; else None.

    The delete is the transaction's first statement, so a second 确认发送 racing this one waits
    for it (a row lock on PostgreSQL, the write lock on SQLite) and then finds nothing.
    """
    draft = FLOW.take(session, key, State.PREVIEW)
    return None if draft is None else draft.to_json()


# --- audience ----------------------------------------------------------------------------


def _audience_label(draft: AnnouncementDraft) -> str:
    """How the organizer reads the chosen audience: 全体会员, a unit, or 全体工会干部."""
    if draft.audience == Reach.UNIT:
        return draft.unit
    if draft.audience == Reach.ROLE:
        role = texts.ROLE_NAMES.get(draft.role or "", "")
        return texts.ANNOUNCE_AUDIENCE_ROLE.format(role=role)
    return texts.ANNOUNCE_AUDIENCE_EVERYONE


def _recipients(session: Session, draft: AnnouncementDraft) -> list[Recipient]:
    """Who the draft's audience reaches right now: active, bound, not blocked."""
    if draft.audience == Reach.UNIT:
        return broadcasts.audience(session, unit=draft.unit)
    if draft.audience == Reach.ROLE:
        return broadcasts.audience(session, role=draft.role or "")
    return broadcasts.audience(session)


def _count(context: Context, draft: AnnouncementDraft) -> int:
    with services(context).database.session() as session:
        return len(_recipients(session, draft))


# --- keyboards ---------------------------------------------------------------------------


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=AnnounceStep(flow, action, value).pack())


def _audience_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_button(texts.ANNOUNCE_EVERYONE_BUTTON, flow, "audience", Reach.EVERYONE)],
            [
                _button(texts.ANNOUNCE_BY_UNIT_BUTTON, flow, "audience", Reach.UNIT),
                _button(texts.ANNOUNCE_BY_ROLE_BUTTON, flow, "audience", Reach.ROLE),
            ],
        ]
    )


def _unit_markup(flow: str, units: tuple[str, ...]) -> InlineKeyboardMarkup:
    # Buttons carry the unit's place in the draft's list: a unit name may not fit in 64 bytes.
    buttons = [_button(unit, flow, "unit", str(index)) for index, unit in enumerate(units)]
    rows = [
        buttons[start : start + UNIT_BUTTONS_PER_ROW]
        for start in range(0, len(buttons), UNIT_BUTTONS_PER_ROW)
    ]
    return InlineKeyboardMarkup(rows)


def _role_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(texts.ROLE_NAMES[role], flow, "role", role) for role in ROLE_CHOICES]]
    )


def _preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.ANNOUNCE_CONFIRM_BUTTON, flow, "confirm"),
                _button(texts.ANNOUNCE_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )


def stop_markup(broadcast_id: int) -> InlineKeyboardMarkup:
    """The ⏹ 停止发送 button, the same one the sender puts on its progress edits."""
    stop = BroadcastCancel(broadcast_id).pack()
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.BROADCAST_CANCEL_BUTTON, callback_data=stop)]]
    )


# --- the flow ----------------------------------------------------------------------------


@FLOW.entry()
async def start(update: Update, context: Context, _caller: Caller) -> State | int:
    """/announce or 📣 发通知 in the menu: an organizer starts a new announcement by choosing
    its audience."""
    await answer(update)
    draft = AnnouncementDraft(FLOW.token())
    state = FLOW.begin(update, context, State.CHOOSE_AUDIENCE, draft)
    await prompt(update, context, texts.ANNOUNCE_ASK_AUDIENCE, _audience_markup(draft.flow))
    return state


async def _audience_chosen(update: Update, context: Context, turn: Press) -> State | None:
    flow, choice = turn.draft.flow, turn.data.value
    if choice == Reach.UNIT:
        with services(context).database.session() as session:
            units = tuple(broadcasts.units_in_use(session))
        if not units:
            await answer(update, texts.ANNOUNCE_NO_UNITS, alert=True)
            return None
        # The list goes into the draft: the buttons point into it, whatever the roster does.
        draft = AnnouncementDraft(flow, units=units)
        markup = _unit_markup(flow, units)
        return await FLOW.advance(
            update, context, State.CHOOSE_UNIT, draft, texts.ANNOUNCE_ASK_UNIT, markup
        )
    if choice == Reach.ROLE:
        draft = AnnouncementDraft(flow)
        markup = _role_markup(flow)
        return await FLOW.advance(
            update, context, State.CHOOSE_ROLE, draft, texts.ANNOUNCE_ASK_ROLE, markup
        )
    if choice == Reach.EVERYONE:
        return await _ask_text(update, context, AnnouncementDraft(flow, audience=Reach.EVERYONE))
    await answer(update, texts.STALE_BUTTON)
    return None


async def _unit_chosen(update: Update, context: Context, turn: Press) -> State | None:
    units, value = turn.draft.units, turn.data.value
    index = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= index < len(units):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = AnnouncementDraft(turn.draft.flow, audience=Reach.UNIT, unit=units[index])
    return await _ask_text(update, context, chosen)


async def _role_chosen(update: Update, context: Context, turn: Press) -> State | None:
    if turn.data.value not in ROLE_CHOICES:
        await answer(update, texts.STALE_BUTTON)
        return None
    role = Role(turn.data.value)
    chosen = AnnouncementDraft(turn.draft.flow, audience=Reach.ROLE, role=role)
    return await _ask_text(update, context, chosen)


async def _ask_text(update: Update, context: Context, draft: AnnouncementDraft) -> State:
    """The audience is known: ask for the text, unless nobody could receive it."""
    label = _audience_label(draft)
    if _count(context, draft) == 0:
        nobody = texts.ANNOUNCE_NOBODY.format(audience=label)
        again = AnnouncementDraft(draft.flow)
        markup = _audience_markup(draft.flow)
        return await FLOW.advance(update, context, State.CHOOSE_AUDIENCE, again, nobody, markup)
    ask = texts.ANNOUNCE_ASK_TEXT.format(audience=label, limit=NOTICE_TEXT_LIMIT)
    return await FLOW.advance(update, context, State.ASK_TEXT, draft, ask)


def _length(text: str) -> int:
    """The length Telegram holds against its limit: UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


async def _text_received(update: Update, context: Context, turn: Text) -> State | int | None:
    """The announcement's text: checked, then the preview."""
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.ANNOUNCE_TEXT_ONLY)
        return None
    # Blank or invisible-only text is empty; direction overrides are dropped.
    text = clean(text)
    if not meaningful(text):
        await prompt(update, context, texts.ANNOUNCE_TEXT_EMPTY)
        return None
    if _length(text) > NOTICE_TEXT_LIMIT:
        too_long = texts.ANNOUNCE_TEXT_TOO_LONG.format(
            limit=NOTICE_TEXT_LIMIT, length=_length(text)
        )
        await prompt(update, context, too_long)
        return None
    draft = dataclasses.replace(turn.draft, text=text)
    label = _audience_label(draft)
    count = _count(context, draft)
    if count == 0:
        FLOW.forget(update, context)
        await prompt(update, context, texts.ANNOUNCE_NOBODY_NOW.format(audience=label))
        return END
    # The preview is the text exactly as officers will get it, then the question.
    question = texts.ANNOUNCE_PREVIEW.format(audience=label, count=count)
    markup = _preview_markup(draft.flow)
    shown = [texts.ANNOUNCE_HEADER + text]
    return await FLOW.preview(update, context, PREVIEW, draft, question, markup, shown=shown)


async def _confirm(update: Update, context: Context, turn: Press) -> int | None:
    """确认发送: the broadcast, its deliveries and the audit entry, all in one transaction."""
    chat = update.effective_chat
    assert chat is not None
    caller = turn.caller
    broadcast_id: int | None = None
    total = 0
    with FLOW.taking(update, context, PREVIEW, turn.data.flow) as (session, draft):
        # Another press took the preview first, or this is an older one: nothing changes.
        recipients = _recipients(session, draft) if draft is not None else []
        if draft is not None and recipients:
            broadcast = broadcasts.create(
                session,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=Priority.NORMAL,
                text=texts.ANNOUNCE_HEADER + draft.text,
                recipients=recipients,
                created_by=caller.actor,
                progress_chat_id=chat.id,
            )
            broadcast_id, total = broadcast.id, broadcast.total
            # Counts and scope only: the text itself stays out of the audit log.
            audit.record(
                session,
                actor=caller.actor,
                action="broadcast.create",
                target=str(broadcast_id),
                audience=draft.audience,
                scope=draft.unit or draft.role or "",
                recipients=total,
                length=_length(draft.text),
            )
    if draft is None:
        await FLOW.expire(update)
        return None
    label = _audience_label(draft)
    if broadcast_id is None:
        await answer(update)
        await show_step(update, context, texts.ANNOUNCE_NOBODY_NOW.format(audience=label))
        return END
    log.info("announcement %d queued for %d officers", broadcast_id, total)
    # The progress message goes first: until its id is stored the sender cannot report to it,
    # so the time in between is kept as short as possible.
    await _start_progress(context, chat.id, broadcast_id, total)
    await answer(update)
    await show_step(update, context, texts.ANNOUNCE_CONFIRMED.format(audience=label))
    return END


async def _start_progress(context: Context, chat_id: int, broadcast_id: int, total: int) -> None:
    """The progress message the sender keeps editing, then wake the sender.

    The broadcast is committed already: a progress message that cannot be sent must not stop it.
    """
    try:
        starting = texts.BROADCAST_STARTING.format(total=total)
        # Its id is stored once Telegram took it (after the commit): the sender edits it.
        with effects.on_sent("broadcast_progress", broadcast_id):
            await context.bot.send_message(
                chat_id, starting, reply_markup=stop_markup(broadcast_id)
            )
    except TelegramError as exc:
        log.warning("could not send a progress message: %s", type(exc).__name__)
    finally:
        services(context).broadcaster.wake()


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is sent."""
    await menu.cancel_outside(update, context)
    return END


# --- the stop button ---------------------------------------------------------------------


@pressed(BroadcastCancel)
async def stop_pressed(
    update: Update, context: Context, data: BroadcastCancel, caller: Caller
) -> None:
    """⏹ 停止发送 on a progress message: organizers or its sender stop a broadcast still sending."""
    target = str(data.broadcast_id)
    with services(context).database.session() as session:
        broadcast = broadcasts.get(session, data.broadcast_id)
        # Whoever sent it (a club leader's notice) may stop it, as may every organizer.
        own = broadcast is not None and broadcast.created_by == caller.actor
    if not own and not await STOPPER.permits(update, context, caller, data):
        return
    with services(context).database.session() as session:
        stopped = broadcasts.cancel(session, data.broadcast_id)
        if stopped:
            audit.record(session, actor=caller.actor, action="broadcast.cancel", target=target)
    if not stopped:
        # Stopped before (a repeated press): say so again, as the first press did.
        repeated = broadcast is not None and broadcast.status == BroadcastStatus.CANCELLED
        await answer(update, texts.BROADCAST_CANCEL_DONE if repeated else texts.STALE_BUTTON)
        return
    # The sender turns the progress message into the final summary at its next edit.
    await answer(update, texts.BROADCAST_CANCEL_DONE)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The announcement conversation and the stop button of progress messages."""
    use_buttons = FLOW.remind(texts.ANNOUNCE_USE_BUTTONS)
    conversation = FLOW.handler(
        entry_points=[
            CommandHandler("announce", start, filters=PRIVATE_MESSAGE),
            CallbackQueryHandler(start, pattern=f"^{MenuChoice('announce').pack()}$"),
        ],
        states={
            State.CHOOSE_AUDIENCE: [FLOW.press("audience", _audience_chosen), use_buttons],
            State.CHOOSE_UNIT: [FLOW.press("unit", _unit_chosen), use_buttons],
            State.CHOOSE_ROLE: [FLOW.press("role", _role_chosen), use_buttons],
            State.ASK_TEXT: [FLOW.typed(_text_received)],
            State.PREVIEW: [
                FLOW.press("confirm", _confirm),
                FLOW.press("cancel", FLOW.cancel()),
                use_buttons,
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        conversation,
        FLOW.outside(),
        CallbackQueryHandler(stop_pressed, pattern=BroadcastCancel.pattern()),
    ]
