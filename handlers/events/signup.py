"""报名 / 取消报名: officers sign up for an event, cancel, or wait in line; the first waiting moves
up and hears of it (`tell_promoted`, also used by handlers.profile and handlers.event_admin).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Update
from telegram.error import TelegramError

from bot import texts
from bot.rules.events import (
    MATCHMAKING,
    Viewer,
    gender_needed,
)
from handlers.common import (
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
)
from handlers.context import services
from handlers.events.listing import (
    can_manage,
    card_markup,
    card_text,
    may_see,
    viewer_of,
    visible,
    when_text,
)
from storage import events as event_storage
from storage import officers
from storage.events import Outcome
from storage.models import (
    Event,
    SignupState,
)
from storage.types import utcnow

log = logging.getLogger(__name__)


async def _show_outcome(
    update: Update, context: Context, caller: Caller, outcome: str, event_id: int
) -> None:
    """Answer the press and turn the pressed message into the event's fresh card."""
    found = services(context)
    now = utcnow()
    with found.database.session() as session:
        # The audience was checked before the press acted (may_see): after a 取消报名 the
        # officer holds no place, and still sees the card they pressed.
        event = event_storage.get(session, event_id)
        view = event_storage.view(session, event, caller.officer.id) if event else None
        manager = event is not None and can_manage(caller, event)
    if view is None:
        await answer(update, texts.STALE_BUTTON)
        return
    await answer(update)
    gender = caller.officer.gender
    text = outcome + "\n\n" + card_text(view, found.zone, now, gender)
    markup = card_markup(view, now, manager=manager, gender=gender)
    try:
        await edit_or_send(update, context, text, markup)
    except TelegramError as exc:
        log.info("could not update an event card: %s", type(exc).__name__)


def refusal(event: Event, viewer: Viewer, gender: str | None) -> str:
    """Why this officer may not sign up for this event at all; "" if they may."""
    if event.kind == MATCHMAKING and not viewer.single:
        return texts.EVENT_NEEDS_SINGLE
    if not visible(event, viewer):
        return texts.EVENT_NOT_FOR_YOU
    if gender_needed(event.male_cap, event.female_cap) and gender not in ("M", "F"):
        return texts.EVENT_NEEDS_GENDER
    return ""


async def _join(update: Update, context: Context, caller: Caller, event_id: int) -> None:
    """报名: the audience is checked again, then a place, the waitlist, or a refusal."""
    officer = caller.officer
    assert officer.id is not None
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, event_id)
        shown = event is not None and may_see(session, caller, event, found.policy)
        mine = event_storage.view(session, event, officer.id).mine if event and shown else None
        problem = (
            ""
            if event is None or mine is not None
            else refusal(event, viewer_of(session, officer, found.policy), officer.gender)
        )
    if event is None or not shown:
        # Not in its audience: a forged or outdated press learns nothing about the event.
        await answer(update, texts.STALE_BUTTON)
        return
    if problem:
        await answer(update, problem, alert=True)
        return
    # A session of its own: the sign-up locks the event before reading anything.
    with found.database.session() as session:
        result = event_storage.sign_up(session, event_id, officer.id, officer.gender, now=utcnow())
    outcome = {
        Outcome.SIGNED: texts.EVENT_SIGNED,
        Outcome.WAITLISTED: texts.EVENT_WAITLISTED,
        Outcome.ALREADY_SIGNED: texts.EVENT_ALREADY_SIGNED,
        Outcome.ALREADY_WAITLISTED: texts.EVENT_ALREADY_WAITLISTED,
        Outcome.FULL: texts.EVENT_FULL,
        Outcome.DEADLINE: texts.EVENT_DEADLINE,
        Outcome.CLOSED: texts.EVENT_CLOSED,
    }[result.outcome].format(position=result.position)
    if result.outcome in (Outcome.CLOSED, Outcome.DEADLINE):
        await answer(update, outcome, alert=True)
        return
    await _show_outcome(update, context, caller, outcome, event_id)


async def tell_promoted(
    context: Context, event: Event, officer_ids: Sequence[int], template: str = ""
) -> None:
    """Tell officers moved up from the waitlist; call it after the commit that moved them."""
    if not officer_ids:
        return
    with services(context).database.session() as session:
        chats = officers.bound_chats(session, officer_ids)
    text = (template or texts.EVENT_PROMOTED).format(
        title=event.title, when=when_text(event, services(context).zone), place=event.place
    )
    for chat_id in chats.values():
        await notify(context.bot, chat_id, text)


async def _leave(update: Update, context: Context, caller: Caller, event_id: int) -> None:
    """取消报名: before the deadline; the first on the waitlist who fits moves up and is told."""
    officer_id = caller.officer.id
    assert officer_id is not None
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, event_id)
        shown = event is not None and may_see(session, caller, event, found.policy)
    if not shown:
        # Not in its audience and nothing to cancel: answered like an outdated button.
        await answer(update, texts.STALE_BUTTON)
        return
    with found.database.session() as session:
        result = event_storage.cancel(session, event_id, officer_id, now=utcnow())
    if result.event is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if result.outcome is Outcome.CLOSED:
        await answer(update, texts.EVENT_CLOSED, alert=True)
        return
    if result.outcome is Outcome.DEADLINE:
        await answer(update, texts.EVENT_DEADLINE, alert=True)
        return
    if result.was is None:
        outcome = texts.EVENT_NOT_SIGNED
    elif result.was == SignupState.WAITLISTED:
        outcome = texts.EVENT_LEFT_WAITLIST
    else:
        outcome = texts.EVENT_CANCELLED
    # Committed: now the officer moved up from the waitlist may hear of it.
    if result.promoted is not None:
        await tell_promoted(context, result.event, [result.promoted])
    await _show_outcome(update, context, caller, outcome, event_id)
