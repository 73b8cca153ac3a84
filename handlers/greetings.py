"""/greetings: organizers see the coming festivals and their texts, edit a text, send a test.

The view lists the policy's enabled occasions of the next 12 months (today in the bot's zone
onwards) with the texts as stored, placeholders visible; those enabled, and birthdays, are the
ones an organizer may edit or test. Editing is a flow (handlers/flow.py): occasion → text →
welfare note → preview rendered for the organizer → 保存 / 取消. Each step commits its state and
draft before its prompt, so a restart resumes it; the committed row, not PTB's memory, says where
a flow stands (/start and /menu drop it without telling this ConversationHandler). A test
greeting goes to the organizer alone, straight from here: never through the broadcast engine or
the ledger.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import OCCASION_KEY_PATTERN, Audience, Policy
from bot.rules.calendar import occasion_dates_between
from bot.rules.greeting_text import (
    MAX_NOTE_LENGTH,
    MAX_TEMPLATE_LENGTH,
    TextOverride,
    as_organizers_read,
    render,
    template_for,
    validate_note,
    validate_template,
)
from bot.rules.text import clean
from handlers import menu
from handlers.access import Access, access, action_of, pressed
from handlers.callbacks import GreetingMenu, GreetingStep, GreetingTest
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    prompt,
    reply,
    show_step,
)
from handlers.context import services
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import greeting_texts
from storage.models import GreetingText

log = logging.getLogger(__name__)

NAME = "greetings"


class State(StrEnum):
    """The steps of editing a greeting text."""

    CHOOSE = "choose"
    ASK_TEXT = "ask_text"
    ASK_NOTE = "ask_note"
    PREVIEW = "preview"


BIRTHDAY = "birthday"
# What an occasion key may look like (the policy's slugs, and birthday): a button carrying
# anything else is forged or broken; whether the policy greets it is checked with the policy.
_OCCASION_KEY = re.compile(OCCASION_KEY_PATTERN)
OCCASION_BUTTONS_PER_ROW = 3
FORGED = "forged.greetings"
# Organizers and admins manage greetings; a press of any of their buttons without the role is a
# forged (or outdated) privileged press, audited with the action (or occasion) it asked for.
GREETER: Access[GreetingMenu | GreetingStep] = Access(
    ORGANIZER_ROLES, forged=FORGED, target=action_of
)
TESTER: Access[GreetingTest] = Access(
    ORGANIZER_ROLES, forged=FORGED, target=lambda test: test.occasion
)


def clock() -> datetime:
    """Now, in UTC; tests replace it to look at the calendar from a chosen day."""
    return datetime.now(UTC)


def _today(context: Context) -> date:
    """Today in the bot's zone (Asia/Shanghai), where festivals have their dates."""
    return clock().astimezone(services(context).zone).date()


def one_year_on(day: date) -> date:
    """The last day of the 12 months starting on `day` (from 29 February: to 28 February)."""
    try:
        anniversary = day.replace(year=day.year + 1)
    except ValueError:
        anniversary = date(day.year + 1, 3, 1)
    return anniversary - timedelta(days=1)


# --- the view ----------------------------------------------------------------------------


def occasions(policy: Policy) -> tuple[str, ...]:
    """The occasions organizers edit and test: the policy's enabled festivals, then birthdays."""
    return (*(occasion.key for occasion in policy.greetings.enabled()), BIRTHDAY)


def view_text(policy: Policy, overrides: Mapping[str, TextOverride], today: date) -> str:
    """The festivals of the next 12 months with their dates, then birthdays, each with its text."""
    dates: dict[str, list[date]] = {}
    for on, occasion in occasion_dates_between(policy.greetings.rules(), today, one_year_on(today)):
        dates.setdefault(occasion, []).append(on)
    parts = [
        texts.GREETINGS_VIEW_HEADER.format(
            send_at=policy.greetings.send_at, union=policy.union_name
        )
    ]
    for occasion, days in dates.items():
        listed = texts.GREETINGS_VIEW_DATE_SEPARATOR.join(
            texts.GREETINGS_VIEW_DATE.format(
                date=day.isoformat(), weekday=texts.WEEKDAYS[day.weekday()]
            )
            for day in days
        )
        parts.append(
            texts.GREETINGS_VIEW_FESTIVAL.format(
                festival=_listed_name(policy, occasion), dates=listed
            )
        )
        parts.append(_text_lines(policy, overrides, occasion))
    parts.append(texts.GREETINGS_VIEW_BIRTHDAY)
    parts.append(_text_lines(policy, overrides, BIRTHDAY))
    return "".join(parts)


def _text_lines(policy: Policy, overrides: Mapping[str, TextOverride], occasion: str) -> str:
    """问候语 and 福利提示 of one occasion, marked when an organizer has changed them."""
    text, note = template_for(policy, overrides, occasion)
    line = texts.GREETINGS_VIEW_TEXT.format(text=as_organizers_read(text))
    if occasion in overrides:
        line += texts.GREETINGS_VIEW_EDITED
    return line + texts.GREETINGS_VIEW_NOTE.format(note=note or texts.GREETINGS_NO_NOTE)


def _festival_name(policy: Policy, occasion: str) -> str:
    return policy.greetings.name_of(occasion)


def _listed_name(policy: Policy, occasion: str) -> str:
    """The occasion's name in the view, marked when it greets women only."""
    found = policy.greetings.occasion(occasion)
    name = _festival_name(policy, occasion)
    if found is not None and found.audience is Audience.WOMEN:
        return name + texts.GREETINGS_VIEW_WOMEN_ONLY
    return name


def _view_markup() -> InlineKeyboardMarkup:
    def button(text: str, action: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=GreetingMenu(action).pack())

    return InlineKeyboardMarkup(
        [[button(texts.GREETINGS_EDIT_BUTTON, "edit"), button(texts.GREETINGS_TEST_BUTTON, "test")]]
    )


def _overrides(context: Context) -> dict[str, GreetingText]:
    """The organizers' saved texts (read after the session: it does not expire them)."""
    with services(context).database.session() as session:
        return greeting_texts.overrides(session)


@access(GREETER)
async def show(update: Update, context: Context, _caller: Caller) -> None:
    """/greetings: the coming festivals, their dates and texts, with edit and test buttons."""
    text = view_text(services(context).policy, _overrides(context), _today(context))
    await reply(update, context, text, _view_markup())


# --- test greetings ----------------------------------------------------------------------


def _occasion_markup(policy: Policy, button: Callable[[str], str]) -> InlineKeyboardMarkup:
    """One button per occasion, festivals in the policy's order, birthday last."""
    buttons = [
        InlineKeyboardButton(_festival_name(policy, occasion), callback_data=button(occasion))
        for occasion in occasions(policy)
    ]
    return InlineKeyboardMarkup(
        [
            buttons[start : start + OCCASION_BUTTONS_PER_ROW]
            for start in range(0, len(buttons), OCCASION_BUTTONS_PER_ROW)
        ]
    )


@pressed(GreetingMenu, GREETER)
async def menu_pressed(
    update: Update, context: Context, choice: GreetingMenu, _caller: Caller
) -> None:
    """📨 试发给我 on the view (修改问候语 is the edit flow's entry): choose the occasion."""
    if choice.action != "test":
        # 修改问候语 is taken by the edit flow's entry; one arriving here is an old button.
        await answer(update, texts.STALE_BUTTON)
        return
    await answer(update)
    markup = _occasion_markup(
        services(context).policy, lambda occasion: GreetingTest(occasion).pack()
    )
    await show_step(update, context, texts.GREETINGS_ASK_TEST, markup)


def _well_formed(occasion: str) -> bool:
    return _OCCASION_KEY.fullmatch(occasion) is not None


def _known_occasion(test: GreetingTest) -> bool:
    return _well_formed(test.occasion)


@pressed(GreetingTest, TESTER, accept=_known_occasion)
async def test_pressed(
    update: Update, context: Context, test: GreetingTest, caller: Caller
) -> None:
    """An occasion to test: its greeting, rendered for the organizer, goes to them alone."""
    policy = services(context).policy
    if test.occasion not in occasions(policy):
        # An occasion the policy no longer greets (switched off since the button was shown).
        await answer(update, texts.STALE_BUTTON)
        return
    template, note = template_for(policy, _overrides(context), test.occasion)
    greeting = _render(policy, caller, test.occasion, template, note)
    await answer(update, texts.GREETINGS_TEST_SENT)
    await reply(update, context, greeting)


def _render(policy: Policy, caller: Caller, occasion: str, template: str, note: str) -> str:
    """The greeting as this organizer would receive it."""
    return render(
        template,
        name=caller.officer.name,
        festival=_festival_name(policy, occasion),
        union=policy.union_name,
        welfare_note=note,
    )


# --- the edit flow: the committed step ---------------------------------------------------


@dataclass(frozen=True)
class GreetingDraft(Draft):
    """A greeting text being edited: from the occasion on, its text and note so far."""

    occasion: str = ""
    text: str = ""
    note: str = ""


def _ready(state: State, draft: GreetingDraft) -> bool:
    """True if the draft holds what its step needs."""
    return state == State.CHOOSE or (_well_formed(draft.occasion) and bool(draft.text))


FLOW = Flow(NAME, State, GreetingDraft, GreetingStep, access=GREETER, ready=_ready)
Press = Pressed[State, GreetingDraft, GreetingStep]
Text = Typed[State, GreetingDraft]


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=GreetingStep(flow, action, value).pack())


def _keep_text_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(texts.GREETINGS_KEEP_TEXT_BUTTON, flow, "keeptext")]])


def _note_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.GREETINGS_KEEP_NOTE_BUTTON, flow, "keepnote"),
                _button(texts.GREETINGS_NO_NOTE_BUTTON, flow, "nonote"),
            ]
        ]
    )


def _preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.GREETINGS_SAVE_BUTTON, flow, "save"),
                _button(texts.GREETINGS_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )


# --- the edit flow -----------------------------------------------------------------------


@FLOW.entry_press(GreetingMenu, GREETER)
async def start(update: Update, context: Context, _choice: GreetingMenu, _caller: Caller) -> State:
    """✏️ 修改问候语: an organizer starts an edit by choosing the occasion."""
    draft = GreetingDraft(FLOW.token())
    markup = _occasion_markup(
        services(context).policy,
        lambda occasion: GreetingStep(draft.flow, "pick", occasion).pack(),
    )
    FLOW.begin(update, context, State.CHOOSE, draft)
    await FLOW.show(update, context, texts.GREETINGS_ASK_OCCASION, markup)
    return State.CHOOSE


async def _picked(update: Update, context: Context, turn: Press) -> State | None:
    """The occasion: ask for its new text, showing the current one."""
    occasion = turn.data.value
    policy = services(context).policy
    if occasion not in occasions(policy):
        await answer(update, texts.STALE_BUTTON)
        return None
    text, note = template_for(policy, _overrides(context), occasion)
    draft = GreetingDraft(turn.draft.flow, occasion=occasion, text=text, note=note)
    ask = texts.GREETINGS_ASK_TEXT.format(
        festival=_festival_name(policy, occasion),
        limit=MAX_TEMPLATE_LENGTH,
        current=as_organizers_read(text),
    )
    markup = _keep_text_markup(draft.flow)
    return await FLOW.advance(update, context, State.ASK_TEXT, draft, ask, markup)


async def _text_kept(update: Update, context: Context, turn: Press) -> State:
    """保留原文: on to the note."""
    await answer(update)
    return await _ask_note(update, context, turn.draft)


async def _note_chosen(update: Update, context: Context, turn: Press) -> State:
    """保留原提示 or 不要提示: on to the preview."""
    note = turn.draft.note if turn.data.action == "keepnote" else ""
    return await _preview(update, context, turn.caller, dataclasses.replace(turn.draft, note=note))


async def _ask_note(update: Update, context: Context, draft: GreetingDraft) -> State:
    state = FLOW.save(update, context, State.ASK_NOTE, draft)
    current = draft.note or texts.GREETINGS_NO_NOTE
    ask = texts.GREETINGS_ASK_NOTE.format(limit=MAX_NOTE_LENGTH, current=current)
    await prompt(update, context, ask, _note_markup(draft.flow))
    return state


async def _preview(update: Update, context: Context, caller: Caller, draft: GreetingDraft) -> State:
    """The greeting exactly as the organizer would get it, then 保存 / 取消."""
    policy = services(context).policy
    greeting = _render(policy, caller, draft.occasion, draft.text, draft.note)
    question = texts.GREETINGS_PREVIEW.format(festival=_festival_name(policy, draft.occasion))
    markup = _preview_markup(draft.flow)
    return await FLOW.preview(
        update, context, State.PREVIEW, draft, question, markup, shown=[greeting]
    )


def _refusal(reason: str, typed: str, limit: int) -> str:
    """The sentence that says why a text or note was refused, and asks again."""
    sentence = texts.GREETING_TEXT_REFUSED[reason].format(limit=limit, length=len(typed))
    return texts.GREETINGS_RETRY.format(reason=sentence)


def _typed_text(turn: Text) -> str | None:
    """The message's text, cleaned: invisible-only text counts as empty, direction overrides
    are dropped. None for anything but text."""
    return None if turn.message.text is None else clean(turn.message.text)


async def _text_received(update: Update, context: Context, turn: Text) -> State | None:
    """The new text: checked, then on to the note."""
    typed = _typed_text(turn)
    if typed is None:
        await prompt(update, context, texts.GREETINGS_TEXT_ONLY)
        return None
    reason = validate_template(typed)
    if reason is not None:
        await prompt(update, context, _refusal(reason, typed, MAX_TEMPLATE_LENGTH))
        return None
    return await _ask_note(update, context, dataclasses.replace(turn.draft, text=typed))


async def _note_received(update: Update, context: Context, turn: Text) -> State | None:
    """The new welfare note: checked, then the preview."""
    typed = _typed_text(turn)
    if typed is None:
        await prompt(update, context, texts.GREETINGS_TEXT_ONLY)
        return None
    reason = validate_note(typed)
    if reason is not None:
        await prompt(update, context, _refusal(reason, typed, MAX_NOTE_LENGTH))
        return None
    return await _preview(update, context, turn.caller, dataclasses.replace(turn.draft, note=typed))


async def _save(update: Update, context: Context, turn: Press) -> int | None:
    """保存: the text, its note and the audit entry in one transaction, then say so."""
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            greeting_texts.save(session, draft.occasion, draft.text, draft.note, turn.caller.actor)
    if draft is None:
        # Another press took the preview first, or this is an older one: nothing changed.
        await FLOW.expire(update)
        return None
    await answer(update)
    policy = services(context).policy
    saved = texts.GREETINGS_SAVED.format(festival=_festival_name(policy, draft.occasion))
    await show_step(update, context, saved)
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is saved."""
    await menu.cancel_outside(update, context)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/greetings, its edit conversation and its test buttons."""
    use_buttons = FLOW.remind(texts.GREETINGS_USE_BUTTONS)
    conversation = FLOW.handler(
        entry_points=[
            CallbackQueryHandler(start, pattern=f"^{GreetingMenu('edit').pack()}$"),
        ],
        states={
            State.CHOOSE: [FLOW.press("pick", _picked), use_buttons],
            State.ASK_TEXT: [FLOW.press("keeptext", _text_kept), FLOW.typed(_text_received)],
            State.ASK_NOTE: [
                FLOW.press(("keepnote", "nonote"), _note_chosen),
                FLOW.typed(_note_received),
            ],
            State.PREVIEW: [
                FLOW.press("save", _save),
                FLOW.press("cancel", FLOW.cancel()),
                use_buttons,
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        CommandHandler("greetings", show, filters=PRIVATE_MESSAGE),
        conversation,
        CallbackQueryHandler(menu_pressed, pattern=GreetingMenu.pattern()),
        CallbackQueryHandler(test_pressed, pattern=GreetingTest.pattern()),
        FLOW.outside(),
    ]
