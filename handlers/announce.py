"""/announce: organizers write to everyone, a unit or a role; and the stop button of a broadcast.

The flow: audience → (unit or role) → text → preview with the number of recipients → confirm.
Each step commits its state and draft before its prompt, so a restart resumes where the
organizer was. The database, not PTB's memory, says where a flow stands: /start and /menu drop
the row without telling this ConversationHandler, so every step reads the row back first.
Confirming deletes the row, writes the broadcast, its deliveries and the audit entry in one
transaction; the sender (bot/broadcast.py) delivers after the commit.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import effects, texts
from bot.rules.messages import TELEGRAM_TEXT_LIMIT
from bot.rules.text import clean, meaningful
from handlers import menu
from handlers.callbacks import AnnounceStep, BroadcastCancel
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    FlowStore,
    answer,
    caller_or_hint,
    conversation_key,
    prompt,
    redispatch,
    reply,
    show_step,
)
from handlers.context import services
from storage import audit, broadcasts, conversations
from storage.broadcasts import Recipient
from storage.models import BroadcastKind, BroadcastStatus, Priority, Role

log = logging.getLogger(__name__)

NAME = "announce"
FLOW = FlowStore(NAME)
CHOOSE_AUDIENCE = "choose_audience"
CHOOSE_UNIT = "choose_unit"
CHOOSE_ROLE = "choose_role"
ASK_TEXT = "ask_text"
PREVIEW = "preview"
STATES = (CHOOSE_AUDIENCE, CHOOSE_UNIT, CHOOSE_ROLE, ASK_TEXT, PREVIEW)
END = ConversationHandler.END

EVERYONE = "all"
BY_UNIT = "unit"
BY_ROLE = "role"
ROLE_CHOICES = (Role.ORGANIZER, Role.ADMIN)
# The step each kind of button belongs to: pressed at any other step, it is an old button.
STEP_OF_ACTION = {
    "audience": CHOOSE_AUDIENCE,
    "unit": CHOOSE_UNIT,
    "role": CHOOSE_ROLE,
    "confirm": PREVIEW,
    "cancel": PREVIEW,
}
UNIT_BUTTONS_PER_ROW = 2


# --- the committed step ------------------------------------------------------------------
def _valid(state: str, draft: dict[str, Any]) -> bool:
    """True if the draft holds what its step needs."""
    if state not in STATES or not isinstance(draft.get("flow"), str):
        return False
    if state in (ASK_TEXT, PREVIEW) and draft.get("audience") not in (EVERYONE, BY_UNIT, BY_ROLE):
        return False
    return state != PREVIEW or isinstance(draft.get("text"), str)


def _take_preview(session: Session, key: str) -> dict[str, Any] | None:
    """Delete the flow's row if it stands at the preview and return its draft; else None.

    The delete is the transaction's first statement, so a second 确认发送 racing this one waits
    for it (a row lock on PostgreSQL, the write lock on SQLite) and then finds nothing.
    """
    draft = conversations.take(session, NAME, key, PREVIEW)
    return draft if isinstance(draft, dict) and _valid(PREVIEW, draft) else None


# --- who may announce --------------------------------------------------------------------


async def _organizer(
    update: Update, context: Context, forged: str, target: str = ""
) -> Caller | None:
    """The caller if they hold a role that may broadcast; otherwise say no and return None.

    A button press without the role is a forged (or outdated) privileged press and is audited.
    """
    caller = await caller_or_hint(update, context)
    if caller is None or caller.has(Role.ORGANIZER, Role.ADMIN):
        return caller
    if update.callback_query is not None:
        with services(context).database.session() as session:
            audit.record(session, actor=caller.actor, action=forged, target=target)
        await answer(update, texts.NOT_ALLOWED, alert=True)
    else:
        await reply(update, context, texts.NOT_ALLOWED)
    return None


# --- audience ----------------------------------------------------------------------------


def _audience_label(draft: dict[str, Any]) -> str:
    """How the organizer reads the chosen audience: 全体会员, a unit, or 全体工会干部."""
    if draft.get("audience") == BY_UNIT:
        return str(draft.get("unit", ""))
    if draft.get("audience") == BY_ROLE:
        role = texts.ROLE_NAMES.get(str(draft.get("role", "")), "")
        return texts.ANNOUNCE_AUDIENCE_ROLE.format(role=role)
    return texts.ANNOUNCE_AUDIENCE_EVERYONE


def _recipients(session: Session, draft: dict[str, Any]) -> list[Recipient]:
    """Who the draft's audience reaches right now: active, bound, not blocked."""
    if draft.get("audience") == BY_UNIT:
        return broadcasts.audience(session, unit=str(draft.get("unit", "")))
    if draft.get("audience") == BY_ROLE:
        return broadcasts.audience(session, role=str(draft.get("role", "")))
    return broadcasts.audience(session)


def _count(context: Context, draft: dict[str, Any]) -> int:
    with services(context).database.session() as session:
        return len(_recipients(session, draft))


# --- keyboards ---------------------------------------------------------------------------


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=AnnounceStep(flow, action, value).pack())


def _audience_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_button(texts.ANNOUNCE_EVERYONE_BUTTON, flow, "audience", EVERYONE)],
            [
                _button(texts.ANNOUNCE_BY_UNIT_BUTTON, flow, "audience", BY_UNIT),
                _button(texts.ANNOUNCE_BY_ROLE_BUTTON, flow, "audience", BY_ROLE),
            ],
        ]
    )


def _unit_markup(flow: str, units: list[str]) -> InlineKeyboardMarkup:
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


async def start(update: Update, context: Context) -> str | int:
    """/announce: an organizer starts a new announcement by choosing its audience."""
    caller = await _organizer(update, context, "forged.announce")
    if caller is None:
        # Someone who lost the role half-way through loses the flow with it.
        FLOW.forget(update, context)
        return END
    flow = secrets.token_hex(4)
    # A new announcement replaces any flow left half-way, so its text cannot land elsewhere.
    with services(context).database.session() as session:
        conversations.delete_all_for(session, conversation_key(update))
    state = FLOW.save(update, context, CHOOSE_AUDIENCE, {"flow": flow})
    await prompt(update, context, texts.ANNOUNCE_ASK_AUDIENCE, _audience_markup(flow))
    return state


async def pressed(update: Update, context: Context) -> str | int | None:
    """A button of the flow: the role and the committed step are checked before it counts."""
    assert update.callback_query is not None
    step = AnnounceStep.unpack(update.callback_query.data)
    if step is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    caller = await _organizer(update, context, "forged.announce", step.action)
    if caller is None:
        FLOW.forget(update, context)
        return END
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        await answer(update, texts.STALE_BUTTON)
        return END
    if draft["flow"] != step.flow or STEP_OF_ACTION[step.action] != state:
        # A button of an earlier flow or step; the open one stays where it is.
        await answer(update, texts.STALE_BUTTON)
        return state
    if step.action == "audience":
        return await _audience_chosen(update, context, draft["flow"], step.value)
    if step.action == "unit":
        return await _unit_chosen(update, context, draft, step.value)
    if step.action == "role":
        return await _role_chosen(update, context, draft["flow"], step.value)
    if step.action == "confirm":
        return await _confirm(update, context, caller, step.flow)
    return await _cancel_pressed(update, context)


async def _audience_chosen(update: Update, context: Context, flow: str, choice: str) -> str | None:
    if choice == BY_UNIT:
        with services(context).database.session() as session:
            units = broadcasts.units_in_use(session)
        if not units:
            await answer(update, texts.ANNOUNCE_NO_UNITS, alert=True)
            return None
        # The list goes into the draft: the buttons point into it, whatever the roster does.
        state = FLOW.save(update, context, CHOOSE_UNIT, {"flow": flow, "units": units})
        await answer(update)
        await show_step(update, context, texts.ANNOUNCE_ASK_UNIT, _unit_markup(flow, units))
        return state
    if choice == BY_ROLE:
        state = FLOW.save(update, context, CHOOSE_ROLE, {"flow": flow})
        await answer(update)
        await show_step(update, context, texts.ANNOUNCE_ASK_ROLE, _role_markup(flow))
        return state
    if choice == EVERYONE:
        return await _ask_text(update, context, {"flow": flow, "audience": EVERYONE})
    await answer(update, texts.STALE_BUTTON)
    return None


async def _unit_chosen(
    update: Update, context: Context, draft: dict[str, Any], value: str
) -> str | None:
    units = draft.get("units")
    index = int(value) if value.isascii() and value.isdigit() else -1
    if not isinstance(units, list) or not 0 <= index < len(units):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = {"flow": draft["flow"], "audience": BY_UNIT, "unit": str(units[index])}
    return await _ask_text(update, context, chosen)


async def _role_chosen(update: Update, context: Context, flow: str, value: str) -> str | None:
    if value not in ROLE_CHOICES:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _ask_text(update, context, {"flow": flow, "audience": BY_ROLE, "role": value})


async def _ask_text(update: Update, context: Context, draft: dict[str, Any]) -> str:
    """The audience is known: ask for the text, unless nobody could receive it."""
    label = _audience_label(draft)
    if _count(context, draft) == 0:
        flow = draft["flow"]
        state = FLOW.save(update, context, CHOOSE_AUDIENCE, {"flow": flow})
        await answer(update)
        nobody = texts.ANNOUNCE_NOBODY.format(audience=label)
        await show_step(update, context, nobody, _audience_markup(flow))
        return state
    state = FLOW.save(update, context, ASK_TEXT, draft)
    await answer(update)
    ask = texts.ANNOUNCE_ASK_TEXT.format(audience=label, limit=TELEGRAM_TEXT_LIMIT)
    await show_step(update, context, ask)
    return state


def _length(text: str) -> int:
    """The length Telegram holds against its limit: UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


async def message_received(update: Update, context: Context) -> str | int:
    """A message inside the flow: the text at the text step, a reminder at the button steps."""
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        return await _flow_gone(update, context)
    if await _organizer(update, context, "forged.announce") is None:
        FLOW.forget(update, context)
        return END
    if state != ASK_TEXT:
        await prompt(update, context, texts.ANNOUNCE_USE_BUTTONS)
        return state
    message = update.effective_message
    assert message is not None
    text = message.text
    if text is None:
        await prompt(update, context, texts.ANNOUNCE_TEXT_ONLY)
        return ASK_TEXT
    # Blank or invisible-only text is empty; direction overrides are dropped.
    text = clean(text)
    if not meaningful(text):
        await prompt(update, context, texts.ANNOUNCE_TEXT_EMPTY)
        return ASK_TEXT
    if _length(text) > TELEGRAM_TEXT_LIMIT:
        too_long = texts.ANNOUNCE_TEXT_TOO_LONG.format(
            limit=TELEGRAM_TEXT_LIMIT, length=_length(text)
        )
        await prompt(update, context, too_long)
        return ASK_TEXT
    label = _audience_label(draft)
    count = _count(context, draft)
    if count == 0:
        FLOW.forget(update, context)
        await prompt(update, context, texts.ANNOUNCE_NOBODY_NOW.format(audience=label))
        return END
    state = FLOW.save(update, context, PREVIEW, {**draft, "text": text})
    # The preview is the text exactly as officers will get it, then the question.
    await prompt(update, context, text)
    question = texts.ANNOUNCE_PREVIEW.format(audience=label, count=count)
    await prompt(update, context, question, _preview_markup(draft["flow"]))
    return state


async def _flow_gone(update: Update, context: Context) -> int:
    """/start, /menu or another flow dropped this one: let the other handlers take the update."""
    redispatch(update, context)
    return END


async def _confirm(update: Update, context: Context, caller: Caller, flow: str) -> str | int:
    """确认发送: the broadcast, its deliveries and the audit entry, all in one transaction."""
    chat = update.effective_chat
    assert chat is not None
    key = conversation_key(update)
    broadcast_id: int | None = None
    total = 0
    with services(context).database.session() as session:
        draft = _take_preview(session, key)
        if draft is None or draft["flow"] != flow:
            # Another press took the preview first, or this is an older one: change nothing.
            session.rollback()
            draft = None
        else:
            recipients = _recipients(session, draft)
            if recipients:
                broadcast = broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=str(draft["text"]),
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
                    audience=draft["audience"],
                    scope=str(draft.get("unit") or draft.get("role") or ""),
                    recipients=total,
                    length=_length(str(draft["text"])),
                )
    if draft is None:
        await answer(update, texts.STALE_BUTTON)
        state, _ = FLOW.committed(update, context, _valid)
        return END if state is None else state
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


async def _cancel_pressed(update: Update, context: Context) -> int:
    """取消 on the preview: nothing is saved."""
    FLOW.forget(update, context)
    await answer(update)
    await show_step(update, context, texts.CANCELLED)
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is sent."""
    await menu.cancel_outside(update, context)
    return END


async def pressed_outside(update: Update, context: Context) -> None:
    """A flow button when no flow is open: an old preview after its answer, or a forged press."""
    assert update.callback_query is not None
    step = AnnounceStep.unpack(update.callback_query.data)
    target = step.action if step is not None else ""
    if await _organizer(update, context, "forged.announce", target) is not None:
        await answer(update, texts.STALE_BUTTON)


# --- the stop button ---------------------------------------------------------------------


async def stop_pressed(update: Update, context: Context) -> None:
    """⏹ 停止发送 on a progress message: organizers or its sender stop a broadcast still sending."""
    assert update.callback_query is not None
    data = BroadcastCancel.unpack(update.callback_query.data)
    if data is None:
        await answer(update, texts.STALE_BUTTON)
        return
    target = str(data.broadcast_id)
    caller = await caller_or_hint(update, context)
    if caller is None:
        return
    with services(context).database.session() as session:
        broadcast = broadcasts.get(session, data.broadcast_id)
        # Whoever sent it (a club leader's notice) may stop it, as may every organizer.
        own = broadcast is not None and broadcast.created_by == caller.actor
    if not own and await _organizer(update, context, "forged.broadcast_cancel", target) is None:
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
    message = ~filters.COMMAND & ~filters.StatusUpdate.ALL & PRIVATE_MESSAGE
    # Every step takes the same two handlers: the committed step decides what an update means.
    in_flow: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(pressed, pattern=AnnounceStep.pattern()),
        MessageHandler(message, message_received),
    ]
    # Keyed per user and chat, not per message, on purpose: the organizer's typed text must reach
    # the flow its buttons started. PTB warns about that choice.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[CommandHandler("announce", start, filters=PRIVATE_MESSAGE)],
            states={state: in_flow for state in STATES},
            fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
            allow_reentry=True,
            name=NAME,
            persistent=True,
        )
    return [
        conversation,
        CallbackQueryHandler(pressed_outside, pattern=AnnounceStep.pattern()),
        CallbackQueryHandler(stop_pressed, pattern=BroadcastCancel.pattern()),
    ]
