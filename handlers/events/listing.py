"""The events an officer may see and who manages them; the cards; /events and /events mine.

A manager (organizers for every event, a club's leaders for their club's events only) is
checked against the database for every press (`_managed`), and refused as `refuse_manager`
decides: about an event the caller may not even see, as an outdated button.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot import texts
from bot.policy import Policy
from bot.rules.events import (
    MATCHMAKING,
    Viewer,
    has_place,
    may_join,
)
from handlers.access import refuse
from handlers.callbacks import EventAction
from handlers.common import (
    Caller,
    Context,
    reply,
)
from handlers.context import services
from storage import clubs
from storage import events as event_storage
from storage.events import EventView
from storage.models import (
    Audience,
    Event,
    Officer,
    SignupState,
)
from storage.types import utcnow

MAX_CARDS = 10  # event cards in one /events answer, soonest first


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


# --- /events and /events mine -----------------------------------------------------------


async def _list(update: Update, context: Context, caller: Caller) -> None:
    """The upcoming events the caller may join, one card each with its buttons."""
    found = services(context)
    now = utcnow()
    with found.database.session() as session:
        viewer = viewer_of(session, caller.officer, found.policy)
        manager_hint = caller.organizer or bool(caller.leads)
        shown = [
            (event, can_manage(caller, event))
            for event in event_storage.upcoming(session, now)
            # A manager sees the events they manage even outside their own audience.
            if visible(event, viewer) or can_manage(caller, event)
        ]
        views = event_storage.views(session, [event for event, _ in shown], caller.officer.id or 0)
        cards = [(view, manager) for view, (_, manager) in zip(views, shown, strict=True)]
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
