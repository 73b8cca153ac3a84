"""Attendance: the list of those signed up with 到场 / 缺席 marks, from the event's day."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot import texts
from handlers.access import pressed
from handlers.callbacks import EventMark
from handlers.common import (
    Caller,
    Context,
    answer,
    edit_or_send,
    reply,
)
from handlers.context import services
from handlers.events.listing import _managed, refuse_manager, when_text
from storage import audit
from storage import events as event_storage
from storage.events import Attendee
from storage.models import (
    Event,
    EventStatus,
    SignupState,
)

log = logging.getLogger(__name__)

MARK_PAGE = 20  # officers per attendance message: two buttons each, well under Telegram's 100


# --- attendance -------------------------------------------------------------------------


def _attendee_line(number: int, person: Attendee) -> str:
    gender = ""
    if person.gender in texts.GENDER_NAMES:
        gender = texts.EVENT_ATTENDANCE_GENDER.format(gender=texts.GENDER_NAMES[person.gender])
    no_shows = (
        texts.EVENT_ATTENDANCE_NO_SHOWS.format(count=person.no_shows) if person.no_shows else ""
    )
    return texts.EVENT_ATTENDANCE_LINE.format(
        number=number,
        mark=texts.EVENT_MARKS[person.attended],
        name=person.name,
        police_id=person.police_id,
        unit=person.unit or texts.UNKNOWN,
        gender=gender,
        no_shows=no_shows,
    )


def _pages(signed: Sequence[Attendee]) -> list[list[tuple[int, Attendee]]]:
    numbered = list(enumerate(signed, start=1))
    return [numbered[start : start + MARK_PAGE] for start in range(0, len(numbered), MARK_PAGE)]


def _page_message(
    event: Event, page: list[tuple[int, Attendee]]
) -> tuple[str, InlineKeyboardMarkup]:
    """Part of the list with a ✅ / ❌ pair of buttons per officer."""
    assert event.id is not None
    text = "\n".join(_attendee_line(number, person) for number, person in page)
    rows = [
        [
            InlineKeyboardButton(
                texts.EVENT_MARK_PRESENT.format(number=number, name=person.name),
                callback_data=EventMark(event.id, person.officer_id, True).pack(),
            ),
            InlineKeyboardButton(
                texts.EVENT_MARK_ABSENT,
                callback_data=EventMark(event.id, person.officer_id, False).pack(),
            ),
        ]
        for number, person in page
    ]
    return text, InlineKeyboardMarkup(rows)


async def send_attendance(update: Update, context: Context, event: Event) -> None:
    """The list: a head with the waitlist, then the signed-up in pages with marking buttons."""
    assert event.id is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        people = event_storage.attendees(session, event.id)
    signed = [p for p in people if p.state == SignupState.SIGNED]
    waiting = [p for p in people if p.state == SignupState.WAITLISTED]
    lines = [
        texts.EVENT_ATTENDANCE_HEAD.format(
            title=event.title, id=event.id, when=when_text(event, zone)
        )
    ]
    if not people:
        lines.append(texts.EVENT_ATTENDANCE_NOBODY)
    if waiting:
        lines.append(texts.EVENT_ATTENDANCE_WAITLIST)
        lines += [_attendee_line(number, person) for number, person in enumerate(waiting, start=1)]
    if signed:
        lines.append(texts.EVENT_ATTENDANCE_HINT)
    await reply(update, context, "\n".join(lines))
    for page in _pages(signed):
        text, markup = _page_message(event, page)
        await reply(update, context, text, markup)


@pressed(EventMark)
async def mark_pressed(update: Update, context: Context, mark: EventMark, caller: Caller) -> None:
    """✅ / ❌ on the list: the presser's right, the event's day and the sign-up checked again."""
    event, allowed = _managed(context, caller, mark.event_id)
    chat = update.effective_chat
    if event is None or event.id is None or chat is None or chat.type != ChatType.PRIVATE:
        await answer(update, texts.STALE_BUTTON)
        return
    if not allowed:
        await refuse_manager(update, context, caller, f"event:{mark.event_id}", event=event)
        return
    if event.status != EventStatus.OPEN:
        await answer(update, texts.EVENT_MARK_CLOSED, alert=True)
        return
    zone = services(context).zone
    day = event.starts_at.astimezone(zone).date()
    if datetime.now(zone).date() < day:
        await answer(update, texts.EVENT_MARK_TOO_EARLY.format(date=day.isoformat()), alert=True)
        return
    with services(context).database.session() as session:
        marked = event_storage.mark_attendance(session, event.id, mark.officer_id, mark.attended)
        if marked:
            audit.record(
                session,
                actor=caller.actor,
                action="event.attendance",
                target=f"event:{event.id}",
                officer=mark.officer_id,
                attended=mark.attended,
            )
        signed = [
            p for p in event_storage.attendees(session, event.id) if p.state == SignupState.SIGNED
        ]
    if not marked:
        await answer(update, texts.EVENT_MARK_NOT_SIGNED, alert=True)
        return
    await answer(update, texts.EVENT_MARKED)
    for page in _pages(signed):
        if any(person.officer_id == mark.officer_id for _, person in page):
            text, markup = _page_message(event, page)
            try:
                await edit_or_send(update, context, text, markup)
            except TelegramError as exc:
                log.info("could not update an attendance list: %s", type(exc).__name__)
