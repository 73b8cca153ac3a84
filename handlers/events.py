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
- Reminders: `queue_reminders` writes a REMINDER broadcast 24 hours and 2 hours before each
  event, to the officers signed up at that moment (not the waitlist); the send ledger
  (storage.ledger) makes each officer's reminder happen once whatever the number of runs.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import Policy
from bot.rules.events import (
    MATCHMAKING,
    Viewer,
    gender_needed,
    has_place,
    may_join,
    notice_is_urgent,
    reminder_due,
)
from bot.rules.text import quote
from bot.xlsx import Cell, write_workbook
from handlers.access import access, pressed, refuse
from handlers.callbacks import EventAction, EventMark
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    reply,
)
from handlers.context import services
from storage import audit, broadcasts, clubs, ledger, officers
from storage import events as event_storage
from storage.db import Database
from storage.events import Attendee, EventView, Outcome
from storage.models import (
    Audience,
    BroadcastKind,
    Event,
    EventStatus,
    Officer,
    Priority,
    SignupState,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 60  # seconds between two looks for events due a reminder
REMINDER_ACTOR = "system:event-reminder"
# (occasion prefix, how long before the start, text): the 2-hour one also covers late sign-ups.
REMINDERS = (
    ("event-24h", timedelta(hours=24), texts.EVENT_REMINDER_24H),
    ("event-2h", timedelta(hours=2), texts.EVENT_REMINDER_2H),
)
REMINDER_REACH = timedelta(hours=36)
MAX_CARDS = 10  # event cards in one /events answer, soonest first
MARK_PAGE = 20  # officers per attendance message: two buttons each, well under Telegram's 100


# --- who sees and who manages -----------------------------------------------------------


def viewer_of(session: Session, officer: Officer, policy: Policy) -> Viewer:
    """What decides which events this officer may see and join."""
    assert officer.id is not None
    return Viewer(
        unit=officer.unit,
        gender=officer.gender,
        single=officer.single_opt_in,
        clubs=frozenset(clubs.clubs_of(session, officer.id, within=policy.clubs)),
    )


def visible(event: Event, viewer: Viewer) -> bool:
    """True if the event's audience includes the viewer."""
    return may_join(event.kind, event.audience, event.audience_value, viewer)


def can_manage(caller: Caller, event: Event) -> bool:
    """Organizers manage every event; a club's leaders only their own club's events.

    The caller's roles and leads were read from the database for this very update.
    """
    if caller.organizer:
        return True
    return (
        event.kind != MATCHMAKING
        and event.audience == Audience.CLUB
        and event.audience_value in caller.leads
    )


def may_see(session: Session, caller: Caller, event: Event, policy: Policy) -> bool:
    """True if this event's card may be shown to the caller, read now, on every press.

    Its audience (a matchmaking event only to opted-in singles, a club's only to members, a
    unit's only to the unit), its managers, and whoever holds a place or waits on it (to cancel
    it). Anyone else is answered as if the button were outdated, and shown nothing.
    """
    if can_manage(caller, event) or visible(event, viewer_of(session, caller.officer, policy)):
        return True
    return event_storage.view(session, event, caller.officer.id).mine is not None


# --- showing ----------------------------------------------------------------------------


def moment_text(moment: datetime, zone: ZoneInfo) -> str:
    """2026-12-19（周六）18:00, in the union's zone."""
    local = moment.astimezone(zone)
    return texts.DRIVE_WHEN.format(
        date=local.date().isoformat(),
        weekday=texts.WEEKDAYS[local.weekday()],
        time=local.strftime("%H:%M"),
    )


def when_text(event: Event, zone: ZoneInfo) -> str:
    """Start and end in the union's zone; the end's date only when it is another day."""
    start, end = event.starts_at.astimezone(zone), event.ends_at.astimezone(zone)
    if start.date() == end.date():
        return texts.EVENT_WHEN_SAME_DAY.format(
            date=start.date().isoformat(),
            weekday=texts.WEEKDAYS[start.weekday()],
            start=start.strftime("%H:%M"),
            end=end.strftime("%H:%M"),
        )
    return texts.EVENT_WHEN_DAYS.format(
        date=start.date().isoformat(),
        weekday=texts.WEEKDAYS[start.weekday()],
        start=start.strftime("%H:%M"),
        end_date=end.date().isoformat(),
        end_weekday=texts.WEEKDAYS[end.weekday()],
        end=end.strftime("%H:%M"),
    )


def audience_text(audience: str, value: str) -> str:
    """全体会员, 交警支队会员, 马拉松俱乐部成员, 单身会员, 女警 or 男警."""
    return texts.EVENT_AUDIENCES.get(audience, audience).format(value=value)


def _gender_left(view: EventView) -> str:
    male, female = view.gender_left("M"), view.gender_left("F")
    if male is not None and female is not None:
        return texts.EVENT_GENDER_LEFT.format(male=male, female=female)
    if male is not None:
        return texts.EVENT_GENDER_LEFT_MALE.format(male=male)
    if female is not None:
        return texts.EVENT_GENDER_LEFT_FEMALE.format(female=female)
    return ""


def _fits(view: EventView, gender: str | None) -> bool:
    """True if one more officer of this gender would get a place now."""
    event, counts = view.event, view.counts
    return has_place(
        capacity=event.capacity,
        male_cap=event.male_cap,
        female_cap=event.female_cap,
        signed=counts.signed,
        signed_male=counts.signed_male,
        signed_female=counts.signed_female,
        gender=gender,
    )


def card_text(view: EventView, zone: ZoneInfo, now: datetime, gender: str | None = None) -> str:
    """An event's card as officers see it: counts only, and their own state."""
    event = view.event
    gender_left = _gender_left(view)
    if view.counts.waitlisted:
        gender_left += texts.EVENT_WAITING.format(count=view.counts.waitlisted)
    if not event.waitlist:
        gender_left += texts.EVENT_NO_WAITLIST
    text = texts.EVENT_CARD.format(
        icon=texts.EVENT_KIND_ICONS.get(event.kind, ""),
        kind=texts.EVENT_KINDS.get(event.kind, event.kind),
        title=event.title,
        # An unsaved event (the publisher's preview) has no number yet.
        ref=texts.EVENT_REF.format(id=event.id) if event.id else "",
        when=when_text(event, zone),
        place=event.place,
        audience=audience_text(event.audience, event.audience_value),
        capacity=event.capacity,
        left=view.places_left,
        gender_left=gender_left,
        deadline=moment_text(event.signup_deadline, zone),
    )
    if event.description:
        text += "\n\n" + event.description
    if view.mine == SignupState.SIGNED:
        text += texts.EVENT_MINE_SIGNED
    elif view.mine == SignupState.WAITLISTED:
        text += texts.EVENT_MINE_WAITLISTED.format(position=view.my_position)
    if event.signup_deadline <= now:
        text += texts.EVENT_DEADLINE_PASSED
    elif view.mine is None and not event.waitlist and not _fits(view, gender):
        text += texts.EVENT_FULL_NOTE
    return text


def card_markup(
    view: EventView, now: datetime, *, manager: bool, gender: str | None = None
) -> InlineKeyboardMarkup | None:
    """报名 (候补报名 when full for the officer's gender), or 取消报名; ⚙️ 管理 for managers."""
    event = view.event
    assert event.id is not None
    rows: list[list[InlineKeyboardButton]] = []
    if event.signup_deadline > now:
        if view.mine is not None:
            rows.append([_button(texts.EVENT_CANCEL_BUTTON, "leave", event.id)])
        elif _fits(view, gender):
            rows.append([_button(texts.EVENT_SIGN_UP_BUTTON, "join", event.id)])
        elif event.waitlist:
            rows.append([_button(texts.EVENT_WAITLIST_BUTTON, "join", event.id)])
    if manager:
        rows.append([_button(texts.EVENT_MANAGE_BUTTON, "manage", event.id)])
    return InlineKeyboardMarkup(rows) if rows else None


def _button(label: str, action: str, event_id: int, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=EventAction(action, event_id, value).pack())


def announcement_markup(event_id: int) -> InlineKeyboardMarkup:
    """The 我要报名 button under a new event's announcement."""
    return InlineKeyboardMarkup([[_button(texts.EVENT_ANNOUNCE_BUTTON, "join", event_id)]])


# --- /events ----------------------------------------------------------------------------


@access()
async def events_command(update: Update, context: Context, caller: Caller) -> None:
    """/events [mine | 编号 | help]: upcoming events, one's own sign-ups, or an event's panel."""
    message = update.effective_message
    assert message is not None and message.text is not None
    tokens = message.text.split()[1:]
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


async def _list(update: Update, context: Context, caller: Caller) -> None:
    """The upcoming events the caller may join, one card each with its buttons."""
    found = services(context)
    now = utcnow()
    with found.database.session() as session:
        viewer = viewer_of(session, caller.officer, found.policy)
        manager_hint = caller.organizer or bool(caller.leads)
        cards = []
        for event in event_storage.upcoming(session, now):
            manager = can_manage(caller, event)
            # A manager sees the events they manage even outside their own audience.
            if visible(event, viewer) or manager:
                cards.append((event_storage.view(session, event, caller.officer.id), manager))
    hint = texts.EVENTS_MINE_HINT + (texts.EVENTS_MANAGER_HINT if manager_hint else "")
    if not cards:
        await reply(update, context, texts.EVENTS_NONE + hint)
        return
    if len(cards) > MAX_CARDS:
        # The soonest first; a phone screen of cards is enough, the rest come in their turn.
        hint = texts.EVENTS_MORE.format(count=len(cards) - MAX_CARDS) + hint
        cards = cards[:MAX_CARDS]
    gender = caller.officer.gender
    for number, (view, manager) in enumerate(cards, start=1):
        text = card_text(view, found.zone, now, gender)
        if number == len(cards):
            text += hint
        await reply(update, context, text, card_markup(view, now, manager=manager, gender=gender))


async def _mine(update: Update, context: Context, caller: Caller) -> None:
    """/events mine: the caller's own sign-ups and waitlist places."""
    assert caller.officer.id is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        signups = event_storage.mine(session, caller.officer.id, utcnow())
    if not signups:
        await reply(update, context, texts.EVENTS_MINE_NONE)
        return
    lines = [texts.EVENTS_MINE_HEAD]
    for number, signup in enumerate(signups, start=1):
        state = (
            texts.EVENTS_MINE_SIGNED
            if signup.state == SignupState.SIGNED
            else texts.EVENTS_MINE_WAITLISTED.format(position=signup.position)
        )
        lines.append(
            texts.EVENTS_MINE_LINE.format(
                number=number,
                title=signup.event.title,
                id=signup.event.id,
                when=when_text(signup.event, zone),
                place=signup.event.place,
                state=state,
            )
        )
    await reply(update, context, "\n".join(lines))


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


# --- the manager's panel ----------------------------------------------------------------


def _managed(context: Context, caller: Caller, event_id: int) -> tuple[Event | None, bool]:
    """The event and whether the caller may manage it."""
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, event_id)
        return event, event is not None and can_manage(caller, event)


async def refuse_manager(
    update: Update,
    context: Context,
    caller: Caller,
    target: str,
    text: str = "",
    *,
    event: Event | None = None,
) -> None:
    """Say no to someone who may not manage an event; a button press is audited as forged.

    About an event the caller may not even see (`event`, checked with may_see), the answer is
    the one for an outdated button (or an unknown number): it must not tell that it exists.
    """
    found = services(context)
    hidden = False
    if event is not None:
        with found.database.session() as session:
            hidden = not may_see(session, caller, event, found.policy)
    text = text or texts.EVENT_NOT_MANAGER
    if hidden and event is not None:
        # Answered as an outdated button, or as a number that names no event.
        pressed_now = update.callback_query is not None
        text = texts.STALE_BUTTON if pressed_now else texts.EVENT_NOT_FOUND.format(id=event.id)
    await refuse(
        update,
        context,
        caller,
        forged="forged.event_manage",
        target=target,
        text=text,
        alert=not hidden,
    )


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


# --- the roster as XLSX -----------------------------------------------------------------


ROSTER_WIDTHS = (6, 10, 10, 16, 6, 8, 17, 6, 10)


def roster_workbook(people: Sequence[Attendee], zone: ZoneInfo) -> bytes:
    """The sign-up list as an XLSX workbook (signed first, then the waitlist)."""
    rows: list[list[Cell]] = [
        [
            number,
            person.name,
            person.police_id,
            person.unit,
            texts.GENDER_NAMES.get(person.gender or "", ""),
            texts.EVENT_EXPORT_STATES.get(person.state, person.state),
            person.signed_at.astimezone(zone).replace(tzinfo=None),
            texts.EVENT_EXPORT_ATTENDED[person.attended],
            person.no_shows,
        ]
        for number, person in enumerate(people, start=1)
    ]
    buffer = io.BytesIO()
    write_workbook(
        rows,
        buffer,
        columns=texts.EVENT_EXPORT_COLUMNS,
        widths=ROSTER_WIDTHS,
        title=texts.EVENT_EXPORT_SHEET,
    )
    return buffer.getvalue()


async def _export(update: Update, context: Context, caller: Caller, event: Event) -> None:
    """导出名单: the roster as a file in the manager's private chat."""
    assert event.id is not None and update.effective_chat is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        people = event_storage.attendees(session, event.id)
        audit.record(
            session,
            actor=caller.actor,
            action="event.export",
            target=f"event:{event.id}",
            rows=len(people),
        )
    await answer(update)
    document = InputFile(
        io.BytesIO(roster_workbook(people, zone)), filename=f"event-{event.id}.xlsx"
    )
    await context.bot.send_document(
        update.effective_chat.id,
        document,
        caption=texts.EVENT_EXPORT_CAPTION.format(
            title=event.title, id=event.id, count=len(people)
        ),
    )


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


# --- reminders --------------------------------------------------------------------------


def notice_priority(starts_at: datetime, now: datetime) -> Priority:
    """Urgent for an event starting within 12 hours (it must not wait out the quiet hours)."""
    return Priority.URGENT if notice_is_urgent(starts_at, now) else Priority.NORMAL


def quiet_hours(policy: Policy) -> tuple[time, time]:
    """The policy's quiet hours as wall times."""
    return time.fromisoformat(policy.greetings.quiet_from), time.fromisoformat(
        policy.greetings.quiet_until
    )


def queue_reminders(
    database: Database, now: datetime, *, zone: ZoneInfo, quiet: tuple[time, time] | None = None
) -> int:
    """Queue the 24-hour and 2-hour reminders that are due; how many broadcasts were written.

    A reminder is due at its mark (start − 24 h or − 2 h), or at the quiet hours' start when
    the mark falls inside them; it goes to the officers signed up at that moment, not to the
    waitlist. It catches up after downtime until the next mark: the 24-hour one is dropped once
    the 2-hour one is due, so nobody gets both at once. The ledger's (occasion, date, officer)
    rows, claimed in the transaction that queues the broadcast, make every later run find
    nobody left to remind.
    """
    queued = 0
    with database.session() as session:
        # The widest reach: 24 hours plus the longest shift a quiet night can cause.
        soon = event_storage.starting_between(session, now, now + REMINDER_REACH)
    for event in soon:
        assert event.id is not None
        due = [
            (prefix, reminder_due(event.starts_at, before, quiet, zone), template)
            for prefix, before, template in REMINDERS
        ]
        current = [item for item in due if item[1] <= now][-1:]
        for prefix, moment, template in current:
            if _queue_reminder(database, event.id, prefix, moment, template, zone, now):
                queued += 1
    return queued


def _queue_reminder(
    database: Database,
    event_id: int,
    prefix: str,
    moment: datetime,
    template: str,
    zone: ZoneInfo,
    now: datetime,
) -> bool:
    """One event's reminder, to those signed up at `moment` and not yet reminded."""
    with database.session() as session:
        # Read again here: cancelled or moved since the first look, it is not reminded.
        event = event_storage.get(session, event_id)
        if event is None or event.status != EventStatus.OPEN or event.starts_at <= now:
            return False
        local = event.starts_at.astimezone(zone)
        same_day = local.date() == now.astimezone(zone).date()
        text = template.format(
            title=event.title,
            when=when_text(event, zone),
            day=texts.EVENT_REMINDER_TODAY if same_day else local.date().isoformat(),
            time=local.strftime("%H:%M"),
            place=event.place,
        )
        broadcast = ledger.queue_once(
            session,
            f"{prefix}:{event_id}",
            local.date(),
            event_storage.signed_before(session, event_id, moment),
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text=text,
            created_by=REMINDER_ACTOR,
            # A reminder still waiting when the event begins is of no use any more.
            expires_at=event.starts_at,
        )
    return broadcast is not None


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/events, the event buttons and the attendance marks."""
    return [
        CommandHandler("events", events_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(event_pressed, pattern=EventAction.pattern()),
        CallbackQueryHandler(mark_pressed, pattern=EventMark.pattern()),
    ]
