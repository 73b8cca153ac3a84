"""「资料有误？」: an officer tells the union a roster field of theirs is wrong (from /me).

- The button on the /me card opens a one-step flow: the officer writes one short note (at most
  storage.roster_notes.LIMIT characters); 取消 or /cancel drops it. An officer with a note not
  yet done is told so at the button and cannot file another (one pending at a time).
- The note is filed (sealed) and sent privately to every reachable organizer and admin, with
  ✅ 已处理. Organizers correct the roster by the roster file as always; 已处理 (organizers only,
  checked again on every press) marks the note done, once, and tells the officer, who may then
  file another. The note is never logged nor sent to a group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.rules.text import clean, meaningful
from handlers import menu
from handlers.access import OFFICER, ORGANIZER, pressed
from handlers.callbacks import RosterNoteDone, RosterNoteStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    prompt,
)
from handlers.context import services
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import officers, roles, roster_notes
from storage.types import utcnow

NAME = "roster_note"
NO_FLOW = "0"  # the flow field of 「资料有误？」, outside any draft
START_PATTERN = rf"^{RosterNoteStep.prefix}:{NO_FLOW}:start(:|$)"


class State(StrEnum):
    """The one step: waiting for the note."""

    WRITING = "writing"


@dataclass(frozen=True)
class NoteDraft(Draft):
    """Nothing but the flow's token: the note itself is filed as soon as it arrives."""


FLOW = Flow(NAME, State, NoteDraft, RosterNoteStep, access=OFFICER)
Press = Pressed[State, NoteDraft, RosterNoteStep]
Turn = Typed[State, NoteDraft]


def start_button() -> InlineKeyboardButton:
    """「资料有误？」 for the /me card."""
    return InlineKeyboardButton(
        texts.PROFILE_NOTE_BUTTON, callback_data=RosterNoteStep(NO_FLOW, "start").pack()
    )


def _starts(data: RosterNoteStep) -> bool:
    return data.action == "start" and data.flow == NO_FLOW


@FLOW.entry_press(RosterNoteStep, OFFICER, accept=_starts)
async def start(
    update: Update, context: Context, _data: RosterNoteStep, caller: Caller
) -> State | None:
    """「资料有误？」: ask for the note, unless one is still pending."""
    with services(context).database.session() as session:
        waiting = roster_notes.pending(session, caller.officer.id or 0)
    if waiting is not None:
        await answer(update, texts.PROFILE_NOTE_PENDING, alert=True)
        return None
    draft = NoteDraft(flow=FLOW.token())
    FLOW.begin(update, context, State.WRITING, draft)
    await answer(update)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.PROFILE_NOTE_CANCEL_BUTTON,
                    callback_data=RosterNoteStep(draft.flow, "cancel").pack(),
                )
            ]
        ]
    )
    await prompt(update, context, texts.PROFILE_NOTE_ASK.format(limit=roster_notes.LIMIT), markup)
    return State.WRITING


async def _written(update: Update, context: Context, turn: Turn) -> int | State:
    """The note: filed and sent to the organizers; too long or empty, asked again."""
    text = clean(turn.message.text or "")
    if not meaningful(text):
        await prompt(update, context, texts.PROFILE_NOTE_EMPTY)
        return State.WRITING
    if len(text) > roster_notes.LIMIT:
        await prompt(
            update,
            context,
            texts.PROFILE_NOTE_TOO_LONG.format(limit=roster_notes.LIMIT, length=len(text)),
        )
        return State.WRITING
    found = services(context)
    officer = turn.caller.officer
    with FLOW.taking(update, context, State.WRITING, turn.draft.flow) as (session, draft):
        note = None
        organizers: list[tuple[Any, int]] = []
        if draft is not None:
            note = roster_notes.create(session, officer.id or 0, text, found.cipher)
            if note is not None:
                organizers = roles.reachable_holders(session, set(ORGANIZER_ROLES))
    if draft is None:
        return END
    if note is None:
        await prompt(update, context, texts.PROFILE_NOTE_PENDING)
        return END
    await prompt(update, context, texts.PROFILE_NOTE_SENT)
    card = texts.PROFILE_NOTE_FOR_ORGANIZERS.format(
        id=note.id,
        name=officer.name,
        police_id=officer.police_id,
        unit=officer.unit or texts.UNKNOWN,
        text=text,
    )
    assert note.id is not None
    done = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.PROFILE_NOTE_DONE_BUTTON,
                    callback_data=RosterNoteDone(note.id).pack(),
                )
            ]
        ]
    )
    for _organizer, chat_id in organizers:
        await notify(context.bot, chat_id, card, done)
    return END


@pressed(RosterNoteDone, ORGANIZER)
async def done_pressed(
    update: Update, context: Context, data: RosterNoteDone, caller: Caller
) -> None:
    """✅ 已处理: an organizer marks the note done (once) and the officer is told."""
    found = services(context)
    with found.database.session() as session:
        result = roster_notes.resolve(session, data.note_id, by=caller.actor, now=utcnow())
        note = result.note
        text = roster_notes.text_of(note, found.cipher) if note is not None else ""
        officer = officers.by_id(session, note.officer_id) if note is not None else None
        binding = officers.binding_of(session, officer.id) if officer and officer.id else None
        chat_id = binding.chat_id if binding is not None else None
    if note is None or officer is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if not result.now:
        await answer(update, texts.PROFILE_NOTE_DONE_BEFORE)
        return
    await answer(update, texts.PROFILE_NOTE_DONE_ANSWER)
    card = texts.PROFILE_NOTE_FOR_ORGANIZERS.format(
        id=note.id,
        name=officer.name,
        police_id=officer.police_id,
        unit=officer.unit or texts.UNKNOWN,
        text=text,
    )
    await edit_or_send(update, context, card + texts.PROFILE_NOTE_DONE_MARK)
    if chat_id is not None:
        await notify(context.bot, chat_id, texts.PROFILE_NOTE_RESOLVED)


async def cancel(update: Update, context: Context) -> int:
    """/cancel while writing: drop the flow (and any other unfinished one)."""
    await menu.cancel_outside(update, context)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """「资料有误？」 with its one step, and 已处理 for organizers."""
    conversation = FLOW.handler(
        entry_points=[CallbackQueryHandler(start, pattern=START_PATTERN)],
        states={
            State.WRITING: [
                FLOW.press("cancel", FLOW.cancel(texts.PROFILE_NOTE_CANCELLED)),
                FLOW.typed(_written),
            ]
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        CallbackQueryHandler(done_pressed, pattern=RosterNoteDone.pattern()),
        conversation,
        FLOW.outside(),
    ]
