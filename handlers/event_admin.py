"""Publishing and editing events: a conversation with a preview, for organizers and club leaders.

New (`/events new`): kind → (club | audience → unit) → title → time → place → places (with
gender caps for matchmaking) → sign-up deadline → description → preview (发布, waitlist on or
off, 取消). Organizers publish every kind for any audience; a club's leader only that club's
activities. Matchmaking is always for officers who opted in as single. Bad values (an end before
the start, a deadline after it, 0 or over 10,000 places, a title over 100 characters, a time in
the past) are refused with one sentence and asked again.

Edit (修改… on an event's panel): the new value → preview → 确认修改. A new time or place is
told to everyone signed up or waiting through the broadcast engine.

A flow like /announce's (handlers/flow.py): every step commits its state and draft before its
prompt, the committed row says which step a message or press belongs to, and the final press
takes the preview row in the transaction that writes, so a double press publishes once. The
caller's right is checked again at every step.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import texts
from bot.rules import events as rules
from bot.rules.events import EventInputError, Problem
from handlers import menu
from handlers.access import OFFICER, Access
from handlers.callbacks import EventAction, EventStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    prompt,
    show_step,
)
from handlers.context import Services, services
from handlers.events import (
    announcement_markup,
    can_manage,
    card_text,
    moment_text,
    notice_priority,
    refuse_manager,
    tell_promoted,
    when_text,
)
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts
from storage import events as event_storage
from storage.events import Counts, EventView
from storage.models import Audience, BroadcastKind, Event, EventKind, EventStatus, Priority
from storage.types import utcnow

log = logging.getLogger(__name__)

NAME = "event_admin"


class State(StrEnum):
    """The steps of publishing an event, then those of editing one."""

    KIND = "kind"
    CLUB = "club"
    AUDIENCE = "audience"
    UNIT = "unit"
    TITLE = "title"
    WHEN = "when"
    PLACE = "place"
    CAPACITY = "capacity"
    DEADLINE = "deadline"
    DESCRIPTION = "description"
    PREVIEW = "preview"
    EDIT_VALUE = "edit_value"
    EDIT_PREVIEW = "edit_preview"


# Edits that change where or when officers must be: everyone signed up or waiting is told.
TOLD_EDITS = ("when", "place")
CHOICE_BUTTONS_PER_ROW = 2
NEW_WORDS = ("new", "新建", "发布")


# --- drafts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventChanges:
    """The checked new value(s) of one edited field: None is a field left as it is.

    Places always travel with both gender caps (None there: no cap).
    """

    starts_at: datetime | None = None
    ends_at: datetime | None = None
    signup_deadline: datetime | None = None
    capacity: int | None = None
    male_cap: int | None = None
    female_cap: int | None = None
    place: str | None = None
    title: str | None = None
    description: str | None = None

    def as_update(self) -> dict[str, object]:
        """The event's fields to set (storage.events.update)."""
        named = {
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "signup_deadline": self.signup_deadline,
            "place": self.place,
            "title": self.title,
            "description": self.description,
        }
        changes: dict[str, object] = {k: v for k, v in named.items() if v is not None}
        if self.capacity is not None:
            changes |= {
                "capacity": self.capacity,
                "male_cap": self.male_cap,
                "female_cap": self.female_cap,
            }
        return changes


@dataclass(frozen=True)
class EventDraft(Draft):
    """A new event so far, or one edit of an existing event (`event_id`, `field`, `changes`)."""

    kind: EventKind | None = None
    audience: Audience | None = None
    # The unit or club; None until chosen ("" for an audience that names none).
    audience_value: str | None = None
    # The clubs or units offered at their step: the buttons point into this list.
    choices: tuple[str, ...] = ()
    title: str = ""
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    place: str = ""
    capacity: int = 0
    male_cap: int | None = None
    female_cap: int | None = None
    # None: sign-ups stay open until the start.
    deadline: datetime | None = None
    description: str = ""
    waitlist: bool = True
    event_id: int = 0
    field: str = ""
    changes: EventChanges | None = None


# What a new-event draft must hold at each step from the title on, in the order it is asked.
_FILLED_BEFORE = {
    State.TITLE: 0,
    State.WHEN: 1,
    State.PLACE: 2,
    State.CAPACITY: 3,
    State.DEADLINE: 4,
    State.DESCRIPTION: 4,
    State.PREVIEW: 4,
}


def _ready(state: State, draft: EventDraft) -> bool:
    """True if the draft holds what its step needs."""
    if state in (State.EDIT_VALUE, State.EDIT_PREVIEW):
        if draft.event_id <= 0 or draft.field not in texts.EVENT_ASK_EDIT:
            return False
        return state == State.EDIT_VALUE or draft.changes is not None
    if state == State.KIND:
        return True
    if draft.kind is None:
        return False
    if state == State.AUDIENCE:
        return True
    if state in (State.CLUB, State.UNIT):
        return draft.audience is not None and bool(draft.choices)
    if draft.audience is None or draft.audience_value is None:
        return False
    filled = (
        bool(draft.title),
        draft.starts_at is not None and draft.ends_at is not None,
        bool(draft.place),
        draft.capacity > 0,
    )
    return all(filled[: _FILLED_BEFORE[state]])


def _draft_event(draft: EventDraft) -> Event:
    """The event the new-event draft describes, unsaved, for the preview's card."""
    # The preview's draft holds all of these (_ready).
    assert draft.kind is not None and draft.audience is not None
    assert draft.starts_at is not None and draft.ends_at is not None
    return Event(
        kind=draft.kind,
        title=draft.title,
        description=draft.description,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        place=draft.place,
        capacity=draft.capacity,
        signup_deadline=draft.deadline or draft.starts_at,
        audience=draft.audience,
        audience_value=draft.audience_value or "",
        male_cap=draft.male_cap,
        female_cap=draft.female_cap,
        waitlist=draft.waitlist,
        created_by="",
    )


# --- who may publish ----------------------------------------------------------------------


# Who may begin publishing: organizers, and the leaders of a club of the policy. Anyone else
# is told so; a press (a forged or outdated button) is audited as an attempt to manage events.
PUBLISHER: Access[Any] = Access(
    ORGANIZER_ROLES,
    leads_club=True,
    forged="forged.event_manage",
    target="event:new",
    refusal=texts.EVENT_NOT_PUBLISHER,
)


def _led_clubs(context: Context, caller: Caller) -> list[str]:
    """The policy's clubs this caller may publish for: all for organizers, else those led."""
    policy = services(context).policy
    if caller.organizer:
        return list(policy.clubs)
    return [club for club in policy.clubs if club in caller.leads]


def _may_publish(context: Context, caller: Caller, draft: EventDraft) -> bool:
    """Organizers publish anything; a leader only activities of a club they lead."""
    if caller.organizer:
        return True
    led = _led_clubs(context, caller)
    if not led:
        return False
    if draft.kind is not None and draft.kind != EventKind.CLUB_ACTIVITY:
        return False
    return draft.audience_value is None or draft.audience_value in led


async def _refuse(update: Update, context: Context, caller: Caller) -> int:
    """The caller lost the right to this draft: the flow ends, a press is audited as forged."""
    FLOW.forget(update, context)
    await PUBLISHER.refuse(update, context, caller)
    return END


# Any bound officer may be at a step: what they may publish or edit is checked at each one.
FLOW = Flow(NAME, State, EventDraft, EventStep, access=OFFICER, ready=_ready)
Press = Pressed[State, EventDraft, EventStep]
Text = Typed[State, EventDraft]
PressStep = Callable[[Update, Context, Press], Awaitable[object]]
TextStep = Callable[[Update, Context, Text], Awaitable[object]]


def _publisher(step: PressStep) -> PressStep:
    """A step of the new-event flow: only for someone who may still publish this draft."""

    async def checked(update: Update, context: Context, turn: Press) -> object:
        if not _may_publish(context, turn.caller, turn.draft):
            return await _refuse(update, context, turn.caller)
        return await step(update, context, turn)

    return checked


# --- keyboards ----------------------------------------------------------------------------


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=EventStep(flow, action, value).pack())


def _rows(buttons: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            buttons[start : start + CHOICE_BUTTONS_PER_ROW]
            for start in range(0, len(buttons), CHOICE_BUTTONS_PER_ROW)
        ]
    )


def _kind_markup(flow: str) -> InlineKeyboardMarkup:
    return _rows([_button(name, flow, "kind", kind) for kind, name in texts.EVENT_KINDS.items()])


def _choice_markup(flow: str, action: str, names: tuple[str, ...]) -> InlineKeyboardMarkup:
    # Buttons carry a place in the draft's list: a unit's name may not fit in 64 bytes.
    return _rows([_button(name, flow, action, str(index)) for index, name in enumerate(names)])


def _audience_markup(flow: str) -> InlineKeyboardMarkup:
    return _rows(
        [_button(name, flow, "audience", key) for key, name in texts.EVENT_AUDIENCE_BUTTONS]
    )


def _preview_markup(flow: str, waitlist: bool) -> InlineKeyboardMarkup:
    toggle = texts.EVENT_TOGGLE_WAITLIST_OFF if waitlist else texts.EVENT_TOGGLE_WAITLIST_ON
    return InlineKeyboardMarkup(
        [
            [_button(texts.EVENT_PUBLISH_BUTTON, flow, "confirm")],
            [
                _button(toggle, flow, "waitlist", "0" if waitlist else "1"),
                _button(texts.EVENT_DISCARD_BUTTON, flow, "cancel"),
            ],
        ]
    )


def _edit_preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.EVENT_EDIT_CONFIRM_BUTTON, flow, "confirm"),
                _button(texts.EVENT_DISCARD_BUTTON, flow, "cancel"),
            ]
        ]
    )


def _index(value: str, names: tuple[str, ...]) -> int | None:
    """The place a choice button points to in the draft's list; None for an old or forged one."""
    index = int(value) if value.isascii() and value.isdigit() else -1
    return index if 0 <= index < len(names) else None


# --- new event ----------------------------------------------------------------------------


@FLOW.entry(PUBLISHER)
async def start_new(update: Update, context: Context, caller: Caller) -> State | int:
    """/events new: an organizer or club leader starts publishing an event."""
    led = _led_clubs(context, caller)
    draft = EventDraft(FLOW.token())
    # A new event replaces any flow left half-way, so its text cannot land elsewhere.
    FLOW.begin(update, context, State.KIND, draft)
    if caller.organizer:
        await FLOW.show(update, context, texts.EVENT_ASK_KIND, _kind_markup(draft.flow))
        return State.KIND
    # A leader publishes their club's activities only.
    activity = dataclasses.replace(draft, kind=EventKind.CLUB_ACTIVITY)
    return await _club_step(update, context, activity, tuple(led))


async def _club_step(
    update: Update, context: Context, draft: EventDraft, names: tuple[str, ...]
) -> State | int:
    """Which club: skipped when there is only one to choose."""
    if not names:
        FLOW.forget(update, context)
        await answer(update)
        await show_step(update, context, texts.EVENT_NO_CLUBS)
        return END
    draft = dataclasses.replace(draft, audience=Audience.CLUB)
    if len(names) == 1:
        titled = dataclasses.replace(draft, audience_value=names[0])
        return await FLOW.advance(update, context, State.TITLE, titled, texts.EVENT_ASK_TITLE)
    markup = _choice_markup(draft.flow, "club", names)
    chosen = dataclasses.replace(draft, choices=names)
    return await FLOW.advance(update, context, State.CLUB, chosen, texts.EVENT_ASK_CLUB, markup)


async def _kind_chosen(update: Update, context: Context, turn: Press) -> State | int | None:
    kind, flow = turn.data.value, turn.draft.flow
    if kind not in texts.EVENT_KINDS or not turn.caller.organizer:
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = EventDraft(flow, kind=EventKind(kind))
    if kind == EventKind.MATCHMAKING:
        # Matchmaking is for officers who opted in as single, whatever else is chosen.
        singles = dataclasses.replace(chosen, audience=Audience.SINGLES, audience_value="")
        return await FLOW.advance(update, context, State.TITLE, singles, texts.EVENT_ASK_TITLE)
    if kind == EventKind.CLUB_ACTIVITY:
        return await _club_step(update, context, chosen, tuple(_led_clubs(context, turn.caller)))
    markup = _audience_markup(flow)
    return await FLOW.advance(
        update, context, State.AUDIENCE, chosen, texts.EVENT_ASK_AUDIENCE, markup
    )


async def _choice_made(update: Update, context: Context, turn: Press) -> State | int | None:
    """A club or a unit from the draft's list."""
    index = _index(turn.data.value, turn.draft.choices)
    if index is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    value = turn.draft.choices[index]
    chosen = dataclasses.replace(turn.draft, choices=(), audience_value=value)
    if turn.data.action == "club" and not _may_publish(context, turn.caller, chosen):
        return await _refuse(update, context, turn.caller)
    return await FLOW.advance(update, context, State.TITLE, chosen, texts.EVENT_ASK_TITLE)


async def _audience_chosen(update: Update, context: Context, turn: Press) -> State | None:
    value, draft = turn.data.value, turn.draft
    if value == Audience.UNIT:
        with services(context).database.session() as session:
            units = tuple(broadcasts.units_in_use(session))
        if not units:
            await answer(update, texts.EVENT_NO_UNITS, alert=True)
            return None
        chosen = dataclasses.replace(draft, audience=Audience.UNIT, choices=units)
        markup = _choice_markup(draft.flow, "unit", units)
        return await FLOW.advance(update, context, State.UNIT, chosen, texts.EVENT_ASK_UNIT, markup)
    if value not in dict(texts.EVENT_AUDIENCE_BUTTONS):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = dataclasses.replace(draft, audience=Audience(value), audience_value="")
    return await FLOW.advance(update, context, State.TITLE, chosen, texts.EVENT_ASK_TITLE)


async def _deadline_at_start(update: Update, context: Context, turn: Press) -> State:
    """开始前都可报名: the deadline is the start."""
    return await _ask_description(
        update, context, dataclasses.replace(turn.draft, deadline=turn.draft.starts_at)
    )


async def _no_description(update: Update, context: Context, turn: Press) -> State:
    """跳过: no description."""
    return await _preview(update, context, dataclasses.replace(turn.draft, description=""))


async def _waitlist_toggled(update: Update, context: Context, turn: Press) -> State:
    """不设候补 / 开放候补 on the preview: shown again with the other choice."""
    waitlist = turn.data.value == "1"
    return await _preview(update, context, dataclasses.replace(turn.draft, waitlist=waitlist))


async def _ask_description(update: Update, context: Context, draft: EventDraft) -> State:
    markup = InlineKeyboardMarkup([[_button(texts.EVENT_SKIP_BUTTON, draft.flow, "skip")]])
    return await FLOW.advance(
        update, context, State.DESCRIPTION, draft, texts.EVENT_ASK_DESCRIPTION, markup
    )


def _count(context: Context, draft: EventDraft) -> int:
    assert draft.kind is not None and draft.audience is not None
    with services(context).database.session() as session:
        return len(
            event_storage.audience_recipients(
                session,
                kind=draft.kind,
                audience=draft.audience,
                value=draft.audience_value or "",
            )
        )


async def _preview(update: Update, context: Context, draft: EventDraft) -> State:
    """The event as officers will see it, the number told, and 发布 / 候补 / 取消."""
    event = _draft_event(draft)
    card = card_text(EventView(event, Counts()), services(context).zone, utcnow())
    text = texts.EVENT_PREVIEW.format(
        card=card,
        waitlist=texts.EVENT_WAITLIST_ON if draft.waitlist else texts.EVENT_WAITLIST_OFF,
        count=_count(context, draft),
    )
    markup = _preview_markup(draft.flow, draft.waitlist)
    return await FLOW.preview(update, context, State.PREVIEW, draft, text, markup)


async def _repeat_step(update: Update, context: Context, turn: Text) -> int | None:
    """Text typed where a button is wanted: ask that step's question again with its buttons.

    The buttons may never have arrived (the prompt failed after the step was saved), so a
    reminder without them could leave the manager stuck.
    """
    if not _may_publish(context, turn.caller, turn.draft):
        return await _refuse(update, context, turn.caller)
    draft = turn.draft
    flow, names = draft.flow, draft.choices
    markups = {
        State.KIND: (texts.EVENT_ASK_KIND, _kind_markup(flow)),
        State.CLUB: (texts.EVENT_ASK_CLUB, _choice_markup(flow, "club", names)),
        State.AUDIENCE: (texts.EVENT_ASK_AUDIENCE, _audience_markup(flow)),
        State.UNIT: (texts.EVENT_ASK_UNIT, _choice_markup(flow, "unit", names)),
        State.PREVIEW: ("", _preview_markup(flow, draft.waitlist)),
        State.EDIT_PREVIEW: ("", _edit_preview_markup(flow)),
    }
    question, markup = markups[turn.state]
    await prompt(
        update, context, texts.EVENT_REPEAT_STEP + ("\n" + question if question else ""), markup
    )
    return None


def _problem_text(problem: Problem, draft: EventDraft, zone: ZoneInfo) -> str:
    """The refusal in one sentence; a deadline's names the start it may not pass."""
    start = draft.starts_at
    return texts.EVENT_PROBLEMS[problem.value].format(
        start=moment_text(start, zone) if start else ""
    )


def _typed(parse: Callable[[Update, Context, EventDraft, str], Awaitable[State]]) -> TextStep:
    """A value typed at a step of the new-event flow: checked, then the next question."""

    async def received(update: Update, context: Context, turn: Text) -> object:
        if not _may_publish(context, turn.caller, turn.draft):
            return await _refuse(update, context, turn.caller)
        text = turn.message.text
        if text is None:
            await prompt(update, context, texts.EVENT_TEXT_ONLY)
            return None
        try:
            return await parse(update, context, turn.draft, text)
        except EventInputError as exc:
            zone = services(context).zone
            await prompt(update, context, _problem_text(exc.problem, turn.draft, zone))
            return None

    return received


async def _title(update: Update, context: Context, draft: EventDraft, text: str) -> State:
    title = rules.check_text(text, rules.MAX_TITLE, Problem.TITLE_TOO_LONG)
    chosen = dataclasses.replace(draft, title=title)
    return await FLOW.advance(update, context, State.WHEN, chosen, texts.EVENT_ASK_WHEN)


async def _when(update: Update, context: Context, draft: EventDraft, text: str) -> State:
    start, end = rules.parse_when(text, services(context).zone, utcnow())
    chosen = dataclasses.replace(draft, starts_at=start, ends_at=end)
    return await FLOW.advance(update, context, State.PLACE, chosen, texts.EVENT_ASK_PLACE)


async def _place(update: Update, context: Context, draft: EventDraft, text: str) -> State:
    place = rules.check_text(text, rules.MAX_PLACE, Problem.PLACE_TOO_LONG)
    matchmaking = draft.kind == EventKind.MATCHMAKING
    ask = texts.EVENT_ASK_CAPACITY_CAPS if matchmaking else texts.EVENT_ASK_CAPACITY
    chosen = dataclasses.replace(draft, place=place)
    return await FLOW.advance(update, context, State.CAPACITY, chosen, ask)


async def _capacity(update: Update, context: Context, draft: EventDraft, text: str) -> State:
    capacity, male, female = rules.parse_capacity(
        text, with_caps=draft.kind == EventKind.MATCHMAKING
    )
    chosen = dataclasses.replace(draft, capacity=capacity, male_cap=male, female_cap=female)
    markup = InlineKeyboardMarkup(
        [[_button(texts.EVENT_DEADLINE_AT_START, draft.flow, "deadline")]]
    )
    return await FLOW.advance(
        update, context, State.DEADLINE, chosen, texts.EVENT_ASK_DEADLINE, markup
    )


async def _deadline(update: Update, context: Context, draft: EventDraft, text: str) -> State:
    assert draft.starts_at is not None
    zone = services(context).zone
    deadline = rules.parse_deadline(text, zone, start=draft.starts_at, now=utcnow())
    return await _ask_description(update, context, dataclasses.replace(draft, deadline=deadline))


async def _description(update: Update, context: Context, draft: EventDraft, text: str) -> State:
    description = rules.check_text(text, rules.MAX_DESCRIPTION, Problem.DESCRIPTION_TOO_LONG)
    return await _preview(update, context, dataclasses.replace(draft, description=description))


async def _publish(update: Update, context: Context, turn: Press) -> State | int | None:
    """发布: the event, its announcement to the audience and the audit entry, in one transaction."""
    now = utcnow()
    caller = turn.caller
    event_id: int | None = None
    total = 0
    problem: Problem | None = None
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            event = _draft_event(draft)
            try:
                rules.check_times(event.starts_at, event.ends_at, now)
                rules.check_deadline(event.signup_deadline, start=event.starts_at, now=now)
            except EventInputError as exc:
                problem = exc.problem
                session.rollback()
            else:
                event.created_by = caller.actor
                session.add(event)
                session.flush()
                event_id = event.id
                assert event_id is not None
                recipients = event_storage.audience_recipients(
                    session, kind=event.kind, audience=event.audience, value=event.audience_value
                )
                card = card_text(EventView(event, Counts()), services(context).zone, now)
                total = broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=texts.EVENT_ANNOUNCEMENT.format(card=card),
                    recipients=recipients,
                    created_by=caller.actor,
                    buttons=announcement_markup(event_id).to_json(),
                ).total
                audit.record(
                    session,
                    actor=caller.actor,
                    action="event.create",
                    target=f"event:{event_id}",
                    kind=event.kind,
                    audience=event.audience,
                    scope=event.audience_value,
                    told=total,
                )
    if draft is None:
        await FLOW.expire(update)
        return None
    if problem is not None:
        # The preview sat open until its time passed: back to the time step.
        fresh = dataclasses.replace(draft, starts_at=None, ends_at=None, deadline=None)
        refusal = _problem_text(problem, draft, services(context).zone)
        ask = refusal + "\n" + texts.EVENT_ASK_WHEN
        return await FLOW.advance(update, context, State.WHEN, fresh, ask)
    await answer(update)
    done = texts.EVENT_PUBLISHED if total else texts.EVENT_PUBLISHED_NOBODY
    await show_step(update, context, done.format(id=event_id, count=total))
    # Woken after the organizer's own confirmation, so theirs comes first in their chat.
    services(context).broadcaster.wake()
    return END


# --- editing ------------------------------------------------------------------------------


def _editable(action: EventAction) -> bool:
    return action.value in texts.EVENT_ASK_EDIT


@FLOW.entry_press(EventAction, OFFICER, accept=_editable)
async def start_edit(
    update: Update, context: Context, action: EventAction, caller: Caller
) -> State | int:
    """修改… on an event's panel: ask for the new value of one field (its managers only)."""
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, action.event_id)
        allowed = event is not None and can_manage(caller, event)
    if event is None or event.id is None:
        await answer(update, texts.STALE_BUTTON)
        return END
    if not allowed:
        await refuse_manager(update, context, caller, f"event:{action.event_id}", event=event)
        return END
    if event.status != EventStatus.OPEN or event.starts_at <= utcnow():
        await answer(update, texts.EVENT_GONE, alert=True)
        return END
    draft = EventDraft(FLOW.token(), event_id=event.id, field=action.value)
    FLOW.begin(update, context, State.EDIT_VALUE, draft)
    await answer(update)
    await prompt(update, context, texts.EVENT_ASK_EDIT[action.value])
    return State.EDIT_VALUE


def _edit_changes(
    event: Event, edited: str, text: str, zone: ZoneInfo, now: datetime, tally: Counts
) -> EventChanges:
    """The checked new value(s) of one field."""
    if edited == "when":
        start, end = rules.parse_when(text, zone, now)
        # Sign-ups cannot stay open past the new start: the deadline moves with it.
        deadline = start if event.signup_deadline > start else None
        return EventChanges(starts_at=start, ends_at=end, signup_deadline=deadline)
    if edited == "deadline":
        deadline = rules.parse_deadline(text, zone, start=event.starts_at, now=now)
        return EventChanges(signup_deadline=deadline)
    if edited == "capacity":
        capacity, male, female = rules.parse_capacity(
            text, with_caps=event.kind == EventKind.MATCHMAKING
        )
        limits = Event(
            kind=event.kind,
            title="",
            starts_at=event.starts_at,
            ends_at=event.ends_at,
            place="",
            capacity=capacity,
            signup_deadline=event.signup_deadline,
            male_cap=male,
            female_cap=female,
            created_by="",
        )
        if not _capacity_holds(limits, tally):
            raise EventInputError(Problem.BELOW_SIGNED)
        return EventChanges(capacity=capacity, male_cap=male, female_cap=female)
    if edited == "place":
        return EventChanges(place=rules.check_text(text, rules.MAX_PLACE, Problem.PLACE_TOO_LONG))
    if edited == "title":
        return EventChanges(title=rules.check_text(text, rules.MAX_TITLE, Problem.TITLE_TOO_LONG))
    return EventChanges(
        description=rules.check_text(text, rules.MAX_DESCRIPTION, Problem.DESCRIPTION_TOO_LONG)
    )


def _edited_value_text(changes: EventChanges, zone: ZoneInfo) -> str:
    """The new value as the manager reads it in the preview."""
    if changes.starts_at is not None and changes.ends_at is not None:
        probe = Event(
            kind="",
            title="",
            starts_at=changes.starts_at,
            ends_at=changes.ends_at,
            place="",
            capacity=1,
            signup_deadline=changes.starts_at,
            created_by="",
        )
        return when_text(probe, zone)
    if changes.signup_deadline is not None:
        return moment_text(changes.signup_deadline, zone)
    if changes.capacity is not None:
        male, female = changes.male_cap, changes.female_cap
        caps = ""
        if male is not None or female is not None:
            caps = texts.EVENT_CAPS_VALUE.format(
                male=texts.UNLIMITED if male is None else male,
                female=texts.UNLIMITED if female is None else female,
            )
        return texts.EVENT_CAPACITY_VALUE.format(capacity=changes.capacity, caps=caps)
    named = (changes.place, changes.title, changes.description)
    return next((value for value in named if value is not None), "")


async def _edit_value(update: Update, context: Context, turn: Text) -> State | int | None:
    """The new value typed: checked, then the preview of the change."""
    draft, caller = turn.draft, turn.caller
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, draft.event_id)
        allowed = event is not None and can_manage(caller, event)
        told = len(event_storage.concerned(session, draft.event_id)) if event else 0
        tally = event_storage.counts(session, draft.event_id) if event else Counts()
    if event is None or not allowed:
        FLOW.forget(update, context)
        if event is not None:
            await refuse_manager(update, context, caller, f"event:{draft.event_id}")
        return END
    if turn.message.text is None:
        await prompt(update, context, texts.EVENT_TEXT_ONLY)
        return None
    edited = draft.field
    try:
        changes = _edit_changes(event, edited, turn.message.text, found.zone, utcnow(), tally)
    except EventInputError as exc:
        start = moment_text(event.starts_at, found.zone)
        await prompt(update, context, texts.EVENT_PROBLEMS[exc.problem.value].format(start=start))
        return None
    notice = (
        texts.EVENT_EDIT_NOTICE.format(count=told)
        if edited in TOLD_EDITS
        else texts.EVENT_EDIT_SILENT
    )
    text = texts.EVENT_EDIT_PREVIEW.format(
        title=event.title,
        field=texts.EVENT_EDIT_FIELDS[edited],
        value=_edited_value_text(changes, found.zone),
        notice=notice,
    )
    markup = _edit_preview_markup(draft.flow)
    proposed = dataclasses.replace(draft, changes=changes)
    return await FLOW.preview(update, context, State.EDIT_PREVIEW, proposed, text, markup)


@dataclass
class _Edit:
    """What 确认修改 did inside its transaction."""

    outcome: str  # "stale", "refused", "gone", "invalid" or "done"
    event: Event | None = None
    told: int = 0
    promoted: list[int] = dataclasses.field(default_factory=list)
    problem: Problem | None = None


def _apply_edit(session: Session, caller: Caller, draft: EventDraft, found: Services) -> _Edit:
    """Change the event (locked), promote anyone new places make room for, queue the notice."""
    event_id = draft.event_id
    event = event_storage.get(session, event_id)
    if event is None or not can_manage(caller, event):
        return _Edit("refused" if event is not None else "gone")
    old_start = event.starts_at
    assert draft.changes is not None  # an edit's preview holds its changes (_ready)
    changes = draft.changes.as_update()
    changed = event_storage.update(session, event_id, changes)
    if changed is None or changed.starts_at <= utcnow():
        return _Edit("gone")
    tally = event_storage.counts(session, event_id)
    if not _capacity_holds(changed, tally):
        # Someone signed up between the preview and the press.
        return _Edit("invalid", problem=Problem.BELOW_SIGNED)
    try:
        # The preview may have waited until its time passed, or another manager moved the start.
        now = utcnow()
        if "starts_at" in changes:
            rules.check_times(changed.starts_at, changed.ends_at, now)
        if "signup_deadline" in changes:
            rules.check_deadline(changed.signup_deadline, start=changed.starts_at, now=now)
    except EventInputError as exc:
        return _Edit("invalid", problem=exc.problem)
    promoted = event_storage.promote_waiting(session, changed)
    edited = draft.field
    told = 0
    if edited in TOLD_EDITS:
        notice = texts.EVENT_CHANGED_NOTICE.format(
            title=changed.title,
            field=texts.EVENT_EDIT_FIELDS[edited],
            when=when_text(changed, found.zone),
            place=changed.place,
        )
        told = broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=notice_priority(min(old_start, changed.starts_at), utcnow()),
            text=notice,
            recipients=event_storage.concerned(session, event_id),
            created_by=caller.actor,
        ).total
    audit.record(
        session,
        actor=caller.actor,
        action="event.edit",
        target=f"event:{event_id}",
        field=edited,
        told=told,
        promoted=len(promoted),
    )
    return _Edit("done", changed, told, promoted)


def _capacity_holds(event: Event, tally: Counts) -> bool:
    return rules.capacity_holds(
        capacity=event.capacity,
        male_cap=event.male_cap,
        female_cap=event.female_cap,
        signed=tally.signed,
        signed_male=tally.signed_male,
        signed_female=tally.signed_female,
    )


async def _confirm_edit(update: Update, context: Context, turn: Press) -> State | int | None:
    """确认修改: the change, the notice to those signed up or waiting, the audit entry."""
    found = services(context)
    caller = turn.caller
    with FLOW.taking(update, context, State.EDIT_PREVIEW, turn.data.flow) as (session, draft):
        edit = _Edit("stale") if draft is None else _apply_edit(session, caller, draft, found)
        if draft is not None and edit.outcome != "done":
            session.rollback()
    if draft is None:
        await FLOW.expire(update)
        return None
    if edit.outcome == "invalid" and edit.problem is not None:
        # The value no longer holds: ask for it again, with the reason.
        fresh = dataclasses.replace(draft, changes=None)
        refusal = texts.EVENT_PROBLEMS[edit.problem.value].format(start="")
        return await FLOW.advance(update, context, State.EDIT_VALUE, fresh, refusal)
    # The rollback put the taken preview back: this flow ends here, so it goes for good.
    FLOW.forget(update, context)
    if edit.outcome == "refused":
        await refuse_manager(update, context, caller, "event:edit")
        return END
    if edit.event is None:
        await answer(update, texts.EVENT_GONE, alert=True)
        return END
    await answer(update)
    told = texts.EVENT_EDITED_TOLD.format(count=edit.told) if edit.told else ""
    await show_step(update, context, texts.EVENT_EDITED.format(told=told))
    # Committed: those moved up from the waitlist hear of it, then the notice goes out.
    await tell_promoted(context, edit.event, edit.promoted, texts.EVENT_PROMOTED_MORE_PLACES)
    if edit.told:
        found.broadcaster.wake()
    return END


# --- leaving the flow ---------------------------------------------------------------------


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is saved."""
    await menu.cancel_outside(update, context)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The publish / edit conversation; before handlers.events, which takes plain /events."""
    words = "|".join(NEW_WORDS)
    new_command = PRIVATE_MESSAGE & filters.Regex(rf"^/events(@\w+)?\s+({words})\s*$")
    repeat = FLOW.typed(_repeat_step)
    cancelled = FLOW.press("cancel", FLOW.cancel())

    def value(
        parse: Callable[[Update, Context, EventDraft, str], Awaitable[State]],
    ) -> BaseHandler[Any, Any, Any]:
        return FLOW.typed(_typed(parse))

    def publisher(action: str, step: PressStep) -> BaseHandler[Any, Any, Any]:
        return FLOW.press(action, _publisher(step))

    conversation = FLOW.handler(
        entry_points=[
            CommandHandler("events", start_new, filters=new_command),
            CallbackQueryHandler(start_edit, pattern=r"^ev:edit:"),
        ],
        states={
            State.KIND: [publisher("kind", _kind_chosen), repeat],
            State.CLUB: [publisher("club", _choice_made), repeat],
            State.AUDIENCE: [publisher("audience", _audience_chosen), repeat],
            State.UNIT: [publisher("unit", _choice_made), repeat],
            State.TITLE: [value(_title)],
            State.WHEN: [value(_when)],
            State.PLACE: [value(_place)],
            State.CAPACITY: [value(_capacity)],
            State.DEADLINE: [publisher("deadline", _deadline_at_start), value(_deadline)],
            State.DESCRIPTION: [publisher("skip", _no_description), value(_description)],
            State.PREVIEW: [
                publisher("confirm", _publish),
                publisher("waitlist", _waitlist_toggled),
                cancelled,
                repeat,
            ],
            State.EDIT_VALUE: [FLOW.typed(_edit_value)],
            State.EDIT_PREVIEW: [FLOW.press("confirm", _confirm_edit), cancelled, repeat],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [conversation, FLOW.outside(PUBLISHER)]
