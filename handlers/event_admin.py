"""Publishing and editing events: a conversation with a preview, for organizers and club leaders.

New (`/events new`): kind → (club | audience → unit) → title → time → place → places (with
gender caps for matchmaking) → sign-up deadline → description → preview (发布, waitlist on or
off, 取消). Organizers publish every kind for any audience; a club's leader only that club's
activities. Matchmaking is always for officers who opted in as single. Bad values (an end before
the start, a deadline after it, 0 or over 10,000 places, a title over 100 characters, a time in
the past) are refused with one sentence and asked again.

Edit (修改… on an event's panel): the new value → preview → 确认修改. A new time or place is
told to everyone signed up or waiting through the broadcast engine.

Like /announce, every step commits its state and draft before its prompt, every step reads the
committed step back, and the final press takes the preview row in the transaction that writes,
so a double press publishes once. The caller's right is checked again at every step.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.rules import events as rules
from bot.rules.events import EventInputError, Problem
from handlers import menu
from handlers.callbacks import EventAction, EventStep
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
    show_step,
)
from handlers.context import services
from handlers.events import (
    ORGANIZER_ROLES,
    announcement_markup,
    can_manage,
    card_text,
    moment_text,
    notice_priority,
    refuse_manager,
    tell_promoted,
    when_text,
)
from storage import audit, broadcasts, conversations
from storage import events as event_storage
from storage.events import Counts, EventView
from storage.models import Audience, BroadcastKind, Event, EventKind, EventStatus, Priority
from storage.types import utcnow

log = logging.getLogger(__name__)

NAME = "event_admin"
FLOW = FlowStore(NAME)
KIND, CLUB, AUDIENCE, UNIT = "kind", "club", "audience", "unit"
TITLE, WHEN, PLACE, CAPACITY = "title", "when", "place", "capacity"
DEADLINE, DESCRIPTION, PREVIEW = "deadline", "description", "preview"
EDIT_VALUE, EDIT_PREVIEW = "edit_value", "edit_preview"
STATES = (
    KIND,
    CLUB,
    AUDIENCE,
    UNIT,
    TITLE,
    WHEN,
    PLACE,
    CAPACITY,
    DEADLINE,
    DESCRIPTION,
    PREVIEW,
    EDIT_VALUE,
    EDIT_PREVIEW,
)
END = ConversationHandler.END
# The step each kind of button belongs to: pressed at any other step, it is an old button.
STEP_OF_ACTION = {
    "kind": (KIND,),
    "club": (CLUB,),
    "audience": (AUDIENCE,),
    "unit": (UNIT,),
    "deadline": (DEADLINE,),
    "skip": (DESCRIPTION,),
    "waitlist": (PREVIEW,),
    "confirm": (PREVIEW, EDIT_PREVIEW),
    "cancel": (PREVIEW, EDIT_PREVIEW),
}
# Typed at these steps; every other step takes buttons only.
TEXT_STEPS = (TITLE, WHEN, PLACE, CAPACITY, DEADLINE, DESCRIPTION, EDIT_VALUE)
# Edits that change where or when officers must be: everyone signed up or waiting is told.
TOLD_EDITS = ("when", "place")
CHOICE_BUTTONS_PER_ROW = 2
NEW_WORDS = ("new", "新建", "发布")
MOMENT_FIELDS = ("starts_at", "ends_at", "signup_deadline")


# --- drafts ------------------------------------------------------------------------------


def _moment(value: object) -> datetime:
    """A datetime the draft keeps as ISO text (always with its offset)."""
    return datetime.fromisoformat(str(value))


def _valid(state: str, draft: dict[str, Any]) -> bool:
    """True if the row is a step of this flow with its draft."""
    return state in STATES and isinstance(draft.get("flow"), str)


def _draft_event(draft: dict[str, Any]) -> Event:
    """The event the new-event draft describes, unsaved, for the preview's card."""
    start = _moment(draft["starts_at"])
    return Event(
        kind=draft["kind"],
        title=draft["title"],
        description=draft.get("description", ""),
        starts_at=start,
        ends_at=_moment(draft["ends_at"]),
        place=draft["place"],
        capacity=int(draft["capacity"]),
        signup_deadline=_moment(draft.get("deadline") or draft["starts_at"]),
        audience=draft["audience"],
        audience_value=draft.get("audience_value", ""),
        male_cap=draft.get("male_cap"),
        female_cap=draft.get("female_cap"),
        waitlist=bool(draft.get("waitlist", True)),
        created_by="",
    )


# --- who may publish ----------------------------------------------------------------------


def _led_clubs(context: Context, caller: Caller) -> list[str]:
    """The policy's clubs this caller may publish for: all for organizers, else those led."""
    policy = services(context).policy
    if caller.has(*ORGANIZER_ROLES):
        return list(policy.clubs)
    return [club for club in policy.clubs if club in caller.leads]


def _may_publish(context: Context, caller: Caller, draft: dict[str, Any]) -> bool:
    """Organizers publish anything; a leader only activities of a club they lead."""
    if caller.has(*ORGANIZER_ROLES):
        return True
    led = _led_clubs(context, caller)
    if not led:
        return False
    if "kind" in draft and draft["kind"] != EventKind.CLUB_ACTIVITY:
        return False
    return "audience_value" not in draft or draft["audience_value"] in led


async def _refuse(update: Update, context: Context, caller: Caller) -> int:
    """The caller lost (or never had) the right: the flow ends, a press is audited as forged."""
    FLOW.forget(update, context)
    await refuse_manager(update, context, caller, "event:new", texts.EVENT_NOT_PUBLISHER)
    return END


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


def _choice_markup(flow: str, action: str, names: list[str]) -> InlineKeyboardMarkup:
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


async def _next(
    update: Update,
    context: Context,
    state: str,
    draft: dict[str, Any],
    text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> str:
    """Commit the step, then ask its question (editing the pressed message for a button)."""
    FLOW.save(update, context, state, draft)
    if update.callback_query is not None:
        await answer(update)
        await show_step(update, context, text, markup)
    else:
        await prompt(update, context, text, markup)
    return state


# --- new event ----------------------------------------------------------------------------


async def start_new(update: Update, context: Context) -> str | int:
    """/events new: an organizer or club leader starts publishing an event."""
    caller = await caller_or_hint(update, context)
    if caller is None:
        FLOW.forget(update, context)
        return END
    led = _led_clubs(context, caller)
    if not caller.has(*ORGANIZER_ROLES) and not led:
        return await _refuse(update, context, caller)
    with services(context).database.session() as session:
        # A new event replaces any flow left half-way, so its text cannot land elsewhere.
        conversations.delete_all_for(session, conversation_key(update))
    flow = secrets.token_hex(4)
    if caller.has(*ORGANIZER_ROLES):
        return await _next(
            update, context, KIND, {"flow": flow}, texts.EVENT_ASK_KIND, _kind_markup(flow)
        )
    return await _club_step(update, context, {"flow": flow, "kind": EventKind.CLUB_ACTIVITY}, led)


async def _club_step(
    update: Update, context: Context, draft: dict[str, Any], names: list[str]
) -> str | int:
    """Which club: skipped when there is only one to choose."""
    if not names:
        FLOW.forget(update, context)
        await answer(update)
        await show_step(update, context, texts.EVENT_NO_CLUBS)
        return END
    draft = {**draft, "audience": Audience.CLUB}
    if len(names) == 1:
        return await _next(
            update, context, TITLE, {**draft, "audience_value": names[0]}, texts.EVENT_ASK_TITLE
        )
    markup = _choice_markup(draft["flow"], "club", names)
    return await _next(
        update, context, CLUB, {**draft, "choices": names}, texts.EVENT_ASK_CLUB, markup
    )


async def pressed(update: Update, context: Context) -> str | int | None:
    """A button of the flow: the caller's right and the committed step are checked first."""
    assert update.callback_query is not None
    step = EventStep.unpack(update.callback_query.data)
    if step is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    caller = await caller_or_hint(update, context)
    if caller is None:
        FLOW.forget(update, context)
        return END
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        if not caller.has(*ORGANIZER_ROLES) and not _led_clubs(context, caller):
            await refuse_manager(update, context, caller, "event:new", texts.EVENT_NOT_PUBLISHER)
        else:
            await answer(update, texts.STALE_BUTTON)
        return END
    if draft["flow"] != step.flow or state not in STEP_OF_ACTION[step.action]:
        await answer(update, texts.STALE_BUTTON)
        return state
    if step.action == "cancel":
        FLOW.forget(update, context)
        await answer(update)
        await show_step(update, context, texts.CANCELLED)
        return END
    if state in (EDIT_PREVIEW,):
        return await _confirm_edit(update, context, caller, step.flow)
    if not _may_publish(context, caller, draft):
        return await _refuse(update, context, caller)
    return await _new_step(update, context, caller, state, draft, step)


async def _new_step(
    update: Update,
    context: Context,
    caller: Caller,
    state: str,
    draft: dict[str, Any],
    step: EventStep,
) -> str | int | None:
    """A button of the new-event flow at its own step."""
    flow = draft["flow"]
    if step.action == "kind":
        if step.value not in texts.EVENT_KINDS or not caller.has(*ORGANIZER_ROLES):
            await answer(update, texts.STALE_BUTTON)
            return None
        chosen = {"flow": flow, "kind": step.value}
        if step.value == EventKind.MATCHMAKING:
            # Matchmaking is for officers who opted in as single, whatever else is chosen.
            chosen |= {"audience": Audience.SINGLES, "audience_value": ""}
            return await _next(update, context, TITLE, chosen, texts.EVENT_ASK_TITLE)
        if step.value == EventKind.CLUB_ACTIVITY:
            return await _club_step(update, context, chosen, _led_clubs(context, caller))
        return await _next(
            update, context, AUDIENCE, chosen, texts.EVENT_ASK_AUDIENCE, _audience_markup(flow)
        )
    if step.action in ("club", "unit"):
        names = draft.get("choices")
        index = int(step.value) if step.value.isascii() and step.value.isdigit() else -1
        if not isinstance(names, list) or not 0 <= index < len(names):
            await answer(update, texts.STALE_BUTTON)
            return None
        chosen = {k: v for k, v in draft.items() if k != "choices"} | {
            "audience_value": names[index]
        }
        if step.action == "club" and not _may_publish(context, caller, chosen):
            return await _refuse(update, context, caller)
        return await _next(update, context, TITLE, chosen, texts.EVENT_ASK_TITLE)
    if step.action == "audience":
        if step.value == Audience.UNIT:
            with services(context).database.session() as session:
                units = broadcasts.units_in_use(session)
            if not units:
                await answer(update, texts.EVENT_NO_UNITS, alert=True)
                return None
            chosen = {**draft, "audience": Audience.UNIT, "choices": units}
            return await _next(
                update,
                context,
                UNIT,
                chosen,
                texts.EVENT_ASK_UNIT,
                _choice_markup(flow, "unit", units),
            )
        if step.value not in dict(texts.EVENT_AUDIENCE_BUTTONS):
            await answer(update, texts.STALE_BUTTON)
            return None
        chosen = {**draft, "audience": step.value, "audience_value": ""}
        return await _next(update, context, TITLE, chosen, texts.EVENT_ASK_TITLE)
    if step.action == "deadline":
        return await _ask_description(update, context, {**draft, "deadline": draft["starts_at"]})
    if step.action == "skip":
        return await _preview(update, context, {**draft, "description": ""})
    if step.action == "waitlist":
        return await _preview(update, context, {**draft, "waitlist": step.value == "1"})
    return await _publish(update, context, caller, flow)


async def _ask_description(update: Update, context: Context, draft: dict[str, Any]) -> str:
    markup = InlineKeyboardMarkup([[_button(texts.EVENT_SKIP_BUTTON, draft["flow"], "skip")]])
    return await _next(update, context, DESCRIPTION, draft, texts.EVENT_ASK_DESCRIPTION, markup)


def _count(context: Context, draft: dict[str, Any]) -> int:
    with services(context).database.session() as session:
        return len(
            event_storage.audience_recipients(
                session,
                kind=draft["kind"],
                audience=draft["audience"],
                value=draft.get("audience_value", ""),
            )
        )


async def _preview(update: Update, context: Context, draft: dict[str, Any]) -> str:
    """The event as officers will see it, the number told, and 发布 / 候补 / 取消."""
    draft = {"waitlist": True, **draft}
    event = _draft_event(draft)
    card = card_text(EventView(event, Counts()), services(context).zone, utcnow())
    text = texts.EVENT_PREVIEW.format(
        card=card,
        waitlist=texts.EVENT_WAITLIST_ON if draft["waitlist"] else texts.EVENT_WAITLIST_OFF,
        count=_count(context, draft),
    )
    markup = _preview_markup(draft["flow"], bool(draft["waitlist"]))
    return await _next(update, context, PREVIEW, draft, text, markup)


async def message_received(update: Update, context: Context) -> str | int:
    """A message inside the flow: the value at a typing step, a reminder at button steps."""
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        redispatch(update, context)
        return END
    caller = await caller_or_hint(update, context)
    if caller is None:
        FLOW.forget(update, context)
        return END
    if state == EDIT_VALUE:
        return await _edit_value(update, context, caller, draft)
    if not _may_publish(context, caller, draft):
        return await _refuse(update, context, caller)
    if state not in TEXT_STEPS:
        await _repeat_step(update, context, state, draft)
        return state
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await prompt(update, context, texts.EVENT_TEXT_ONLY)
        return state
    try:
        return await _typed(update, context, state, draft, message.text)
    except EventInputError as exc:
        await prompt(update, context, _problem_text(exc.problem, draft, services(context).zone))
        return state


async def _repeat_step(update: Update, context: Context, state: str, draft: dict[str, Any]) -> None:
    """Text typed where a button is wanted: ask that step's question again with its buttons.

    The buttons may never have arrived (the prompt failed after the step was saved), so a
    reminder without them could leave the manager stuck.
    """
    flow = draft["flow"]
    choices = draft.get("choices")
    names = [str(name) for name in choices] if isinstance(choices, list) else []
    markups = {
        KIND: (texts.EVENT_ASK_KIND, _kind_markup(flow)),
        CLUB: (texts.EVENT_ASK_CLUB, _choice_markup(flow, "club", names)),
        AUDIENCE: (texts.EVENT_ASK_AUDIENCE, _audience_markup(flow)),
        UNIT: (texts.EVENT_ASK_UNIT, _choice_markup(flow, "unit", names)),
        PREVIEW: ("", _preview_markup(flow, bool(draft.get("waitlist", True)))),
        EDIT_PREVIEW: ("", _edit_preview_markup(flow)),
    }
    question, markup = markups.get(state, ("", None))
    await prompt(
        update, context, texts.EVENT_REPEAT_STEP + ("\n" + question if question else ""), markup
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


def _problem_text(problem: Problem, draft: dict[str, Any], zone: ZoneInfo) -> str:
    """The refusal in one sentence; a deadline's names the start it may not pass."""
    start = draft.get("starts_at")
    return texts.EVENT_PROBLEMS[problem.value].format(
        start=moment_text(_moment(start), zone) if start else ""
    )


async def _typed(
    update: Update, context: Context, state: str, draft: dict[str, Any], text: str
) -> str:
    """A typed value of the new-event flow, checked, then the next question."""
    zone = services(context).zone
    now = utcnow()
    if state == TITLE:
        title = rules.check_text(text, rules.MAX_TITLE, Problem.TITLE_TOO_LONG)
        return await _next(update, context, WHEN, {**draft, "title": title}, texts.EVENT_ASK_WHEN)
    if state == WHEN:
        start, end = rules.parse_when(text, zone, now)
        chosen = {**draft, "starts_at": start.isoformat(), "ends_at": end.isoformat()}
        return await _next(update, context, PLACE, chosen, texts.EVENT_ASK_PLACE)
    if state == PLACE:
        place = rules.check_text(text, rules.MAX_PLACE, Problem.PLACE_TOO_LONG)
        matchmaking = draft["kind"] == EventKind.MATCHMAKING
        ask = texts.EVENT_ASK_CAPACITY_CAPS if matchmaking else texts.EVENT_ASK_CAPACITY
        return await _next(update, context, CAPACITY, {**draft, "place": place}, ask)
    if state == CAPACITY:
        capacity, male, female = rules.parse_capacity(
            text, with_caps=draft["kind"] == EventKind.MATCHMAKING
        )
        chosen = {**draft, "capacity": capacity, "male_cap": male, "female_cap": female}
        markup = InlineKeyboardMarkup(
            [[_button(texts.EVENT_DEADLINE_AT_START, draft["flow"], "deadline")]]
        )
        return await _next(update, context, DEADLINE, chosen, texts.EVENT_ASK_DEADLINE, markup)
    if state == DEADLINE:
        deadline = rules.parse_deadline(text, zone, start=_moment(draft["starts_at"]), now=now)
        return await _ask_description(update, context, {**draft, "deadline": deadline.isoformat()})
    description = rules.check_text(text, rules.MAX_DESCRIPTION, Problem.DESCRIPTION_TOO_LONG)
    return await _preview(update, context, {**draft, "description": description})


def _take(session: Session, key: str, state: str) -> dict[str, Any] | None:
    """Delete the flow's row if it stands at `state` and return its draft; else None.

    The delete is the transaction's first statement, so a second press racing this one waits
    for it and then finds nothing.
    """
    draft = conversations.take(session, NAME, key, state)
    return draft if isinstance(draft, dict) and isinstance(draft.get("flow"), str) else None


async def _publish(update: Update, context: Context, caller: Caller, flow: str) -> str | int:
    """发布: the event, its announcement to the audience and the audit entry, in one transaction."""
    now = utcnow()
    key = conversation_key(update)
    event_id: int | None = None
    total = 0
    problem: Problem | None = None
    with services(context).database.session() as session:
        draft = _take(session, key, PREVIEW)
        if draft is None or draft["flow"] != flow:
            session.rollback()
            draft = None
        else:
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
        await answer(update, texts.STALE_BUTTON)
        state, _ = FLOW.committed(update, context, _valid)
        return END if state is None else state
    if problem is not None:
        # The preview sat open until its time passed: back to the time step.
        fresh = {k: v for k, v in draft.items() if k not in ("starts_at", "ends_at", "deadline")}
        refusal = _problem_text(problem, draft, services(context).zone)
        return await _next(update, context, WHEN, fresh, refusal + "\n" + texts.EVENT_ASK_WHEN)
    await answer(update)
    done = texts.EVENT_PUBLISHED if total else texts.EVENT_PUBLISHED_NOBODY
    await show_step(update, context, done.format(id=event_id, count=total))
    # Woken after the organizer's own confirmation, so theirs comes first in their chat.
    services(context).broadcaster.wake()
    return END


# --- editing ------------------------------------------------------------------------------


async def start_edit(update: Update, context: Context) -> str | int:
    """修改… on an event's panel: ask for the new value of one field."""
    assert update.callback_query is not None
    action = EventAction.unpack(update.callback_query.data)
    if action is None or action.value not in texts.EVENT_ASK_EDIT:
        await answer(update, texts.STALE_BUTTON)
        return END
    caller = await caller_or_hint(update, context)
    if caller is None:
        return END
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, action.event_id)
        allowed = event is not None and can_manage(caller, event)
    if event is None:
        await answer(update, texts.STALE_BUTTON)
        return END
    if not allowed:
        await refuse_manager(update, context, caller, f"event:{action.event_id}", event=event)
        return END
    if event.status != EventStatus.OPEN or event.starts_at <= utcnow():
        await answer(update, texts.EVENT_GONE, alert=True)
        return END
    with found.database.session() as session:
        conversations.delete_all_for(session, conversation_key(update))
    draft = {"flow": secrets.token_hex(4), "event_id": event.id, "field": action.value}
    FLOW.save(update, context, EDIT_VALUE, draft)
    await answer(update)
    await prompt(update, context, texts.EVENT_ASK_EDIT[action.value])
    return EDIT_VALUE


def _edit_changes(
    event: Event, edited: str, text: str, zone: ZoneInfo, now: datetime, tally: Counts
) -> dict[str, object]:
    """The checked new value(s) of one field, as the draft keeps them."""
    if edited == "when":
        start, end = rules.parse_when(text, zone, now)
        changes: dict[str, object] = {"starts_at": start.isoformat(), "ends_at": end.isoformat()}
        if event.signup_deadline > start:
            # Sign-ups cannot stay open past the new start: the deadline moves with it.
            changes["signup_deadline"] = start.isoformat()
        return changes
    if edited == "deadline":
        deadline = rules.parse_deadline(text, zone, start=event.starts_at, now=now)
        return {"signup_deadline": deadline.isoformat()}
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
        return {"capacity": capacity, "male_cap": male, "female_cap": female}
    if edited == "place":
        return {"place": rules.check_text(text, rules.MAX_PLACE, Problem.PLACE_TOO_LONG)}
    if edited == "title":
        return {"title": rules.check_text(text, rules.MAX_TITLE, Problem.TITLE_TOO_LONG)}
    return {
        "description": rules.check_text(text, rules.MAX_DESCRIPTION, Problem.DESCRIPTION_TOO_LONG)
    }


def _edited_value_text(changes: dict[str, object], zone: ZoneInfo) -> str:
    """The new value as the manager reads it in the preview."""
    if "starts_at" in changes:
        start = _moment(changes["starts_at"])
        probe = Event(
            kind="",
            title="",
            starts_at=start,
            ends_at=_moment(changes["ends_at"]),
            place="",
            capacity=1,
            signup_deadline=start,
            created_by="",
        )
        return when_text(probe, zone)
    if "signup_deadline" in changes:
        return moment_text(_moment(changes["signup_deadline"]), zone)
    if "capacity" in changes:
        male, female = changes["male_cap"], changes["female_cap"]
        caps = ""
        if male is not None or female is not None:
            caps = texts.EVENT_CAPS_VALUE.format(
                male=texts.UNLIMITED if male is None else male,
                female=texts.UNLIMITED if female is None else female,
            )
        return texts.EVENT_CAPACITY_VALUE.format(capacity=changes["capacity"], caps=caps)
    return str(next(iter(changes.values())))


async def _edit_value(
    update: Update, context: Context, caller: Caller, draft: dict[str, Any]
) -> str | int:
    """The new value typed: checked, then the preview of the change."""
    found = services(context)
    with found.database.session() as session:
        event = event_storage.get(session, int(draft["event_id"]))
        allowed = event is not None and can_manage(caller, event)
        told = len(event_storage.concerned(session, int(draft["event_id"]))) if event else 0
        tally = event_storage.counts(session, int(draft["event_id"])) if event else Counts()
    if event is None or not allowed:
        FLOW.forget(update, context)
        if event is not None:
            await refuse_manager(update, context, caller, f"event:{draft['event_id']}")
        return END
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await prompt(update, context, texts.EVENT_TEXT_ONLY)
        return EDIT_VALUE
    edited = str(draft["field"])
    try:
        changes = _edit_changes(event, edited, message.text, found.zone, utcnow(), tally)
    except EventInputError as exc:
        start = moment_text(event.starts_at, found.zone)
        await prompt(update, context, texts.EVENT_PROBLEMS[exc.problem.value].format(start=start))
        return EDIT_VALUE
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
    markup = _edit_preview_markup(draft["flow"])
    return await _next(update, context, EDIT_PREVIEW, {**draft, "changes": changes}, text, markup)


@dataclass
class _Edit:
    """What 确认修改 did inside its transaction."""

    outcome: str  # "stale", "refused", "gone", "invalid" or "done"
    event: Event | None = None
    told: int = 0
    promoted: list[int] = field(default_factory=list)
    problem: Problem | None = None


def _apply_edit(session: Session, caller: Caller, draft: dict[str, Any], found: Any) -> _Edit:
    """Change the event (locked), promote anyone new places make room for, queue the notice."""
    event_id = int(draft["event_id"])
    event = event_storage.get(session, event_id)
    if event is None or not can_manage(caller, event):
        return _Edit("refused" if event is not None else "gone")
    old_start = event.starts_at
    changes: dict[str, object] = {
        name: _moment(value) if name in MOMENT_FIELDS else value
        for name, value in dict(draft["changes"]).items()
    }
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
    edited = str(draft["field"])
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


async def _confirm_edit(update: Update, context: Context, caller: Caller, flow: str) -> str | int:
    """确认修改: the change, the notice to those signed up or waiting, the audit entry."""
    found = services(context)
    with found.database.session() as session:
        draft = _take(session, conversation_key(update), EDIT_PREVIEW)
        if draft is None or draft["flow"] != flow:
            edit = _Edit("stale")
        else:
            edit = _apply_edit(session, caller, draft, found)
        if edit.outcome != "done":
            session.rollback()
    if edit.outcome == "stale":
        await answer(update, texts.STALE_BUTTON)
        state, _ = FLOW.committed(update, context, _valid)
        return END if state is None else state
    if edit.outcome == "invalid" and edit.problem is not None and draft is not None:
        # The value no longer holds: ask for it again, with the reason.
        fresh = {k: v for k, v in draft.items() if k != "changes"}
        refusal = texts.EVENT_PROBLEMS[edit.problem.value].format(start="")
        return await _next(update, context, EDIT_VALUE, fresh, refusal)
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


async def pressed_outside(update: Update, context: Context) -> None:
    """A flow button when no flow is open: an old preview after its answer, or a forged press."""
    caller = await caller_or_hint(update, context)
    if caller is None:
        return
    if not caller.has(*ORGANIZER_ROLES) and not _led_clubs(context, caller):
        await refuse_manager(update, context, caller, "event:new", texts.EVENT_NOT_PUBLISHER)
        return
    await answer(update, texts.STALE_BUTTON)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The publish / edit conversation; before handlers.events, which takes plain /events."""
    message = ~filters.COMMAND & ~filters.StatusUpdate.ALL & PRIVATE_MESSAGE
    in_flow: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(pressed, pattern=EventStep.pattern()),
        MessageHandler(message, message_received),
    ]
    words = "|".join(NEW_WORDS)
    new_command = PRIVATE_MESSAGE & filters.Regex(rf"^/events(@\w+)?\s+({words})\s*$")
    with warnings.catch_warnings():
        # Keyed per user and chat on purpose: the typed values must reach the flow its buttons
        # started. PTB warns about that choice.
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[
                CommandHandler("events", start_new, filters=new_command),
                CallbackQueryHandler(start_edit, pattern=r"^ev:edit:"),
            ],
            states={state: in_flow for state in STATES},
            fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
            allow_reentry=True,
            name=NAME,
            persistent=True,
        )
    return [conversation, CallbackQueryHandler(pressed_outside, pattern=EventStep.pattern())]
