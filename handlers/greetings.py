"""/greetings: organizers see the coming festivals and their texts, edit a text, send a test.

The view lists the occasions of the next 12 months (today in the bot's zone onwards) with the
texts as stored, placeholders visible. Editing is a conversation: occasion → text → welfare note
→ preview rendered for the organizer → 保存 / 取消. Each step commits its state and draft before
its prompt, so a restart resumes it; the database, not PTB's memory, says where a flow stands
(/start and /menu drop the row without telling this ConversationHandler). A test greeting goes to
the organizer alone, straight from here: never through the broadcast engine or the ledger.
"""

from __future__ import annotations

import logging
import secrets
import warnings
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

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
from bot.policy import Policy
from bot.rules.calendar import Festival, occasions_between
from bot.rules.greeting_text import (
    MAX_NOTE_LENGTH,
    MAX_TEMPLATE_LENGTH,
    TextOverride,
    render,
    template_for,
    validate_note,
    validate_template,
)
from bot.rules.text import clean
from handlers import menu
from handlers.callbacks import GreetingMenu, GreetingStep, GreetingTest
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
from storage import audit, conversations, greeting_texts
from storage.models import GreetingText, Role

log = logging.getLogger(__name__)

NAME = "greetings"
FLOW = FlowStore(NAME)
CHOOSE = "choose"
ASK_TEXT = "ask_text"
ASK_NOTE = "ask_note"
PREVIEW = "preview"
STATES = (CHOOSE, ASK_TEXT, ASK_NOTE, PREVIEW)
END = ConversationHandler.END

BIRTHDAY = "birthday"
OCCASIONS: tuple[str, ...] = (*(festival.value for festival in Festival), BIRTHDAY)
# The step each kind of button belongs to: pressed at any other step, it is an old button.
STEP_OF_ACTION = {
    "pick": CHOOSE,
    "keeptext": ASK_TEXT,
    "keepnote": ASK_NOTE,
    "nonote": ASK_NOTE,
    "save": PREVIEW,
    "cancel": PREVIEW,
}
OCCASION_BUTTONS_PER_ROW = 3
FORGED = "forged.greetings"


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


def view_text(policy: Policy, overrides: Mapping[str, TextOverride], today: date) -> str:
    """The festivals of the next 12 months with their dates, then birthdays, each with its text."""
    dates: dict[str, list[date]] = {}
    for on, festival in occasions_between(today, one_year_on(today)):
        dates.setdefault(festival.value, []).append(on)
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
            texts.GREETINGS_VIEW_FESTIVAL.format(festival=_festival_name(occasion), dates=listed)
        )
        parts.append(_text_lines(policy, overrides, occasion))
    parts.append(texts.GREETINGS_VIEW_BIRTHDAY)
    parts.append(_text_lines(policy, overrides, BIRTHDAY))
    return "".join(parts)


def _text_lines(policy: Policy, overrides: Mapping[str, TextOverride], occasion: str) -> str:
    """问候语 and 福利提示 of one occasion, marked when an organizer has changed them."""
    text, note = template_for(policy, overrides, occasion)
    line = texts.GREETINGS_VIEW_TEXT.format(text=text)
    if occasion in overrides:
        line += texts.GREETINGS_VIEW_EDITED
    return line + texts.GREETINGS_VIEW_NOTE.format(note=note or texts.GREETINGS_NO_NOTE)


def _festival_name(occasion: str) -> str:
    return texts.FESTIVAL_NAMES.get(occasion, occasion)


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


async def _organizer(update: Update, context: Context, target: str = "") -> Caller | None:
    """The caller if they may manage greetings; otherwise say no and return None.

    A button press without the role is a forged (or outdated) privileged press and is audited.
    """
    caller = await caller_or_hint(update, context)
    if caller is None or caller.has(Role.ORGANIZER, Role.ADMIN):
        return caller
    if update.callback_query is not None:
        with services(context).database.session() as session:
            audit.record(session, actor=caller.actor, action=FORGED, target=target)
        await answer(update, texts.NOT_ALLOWED, alert=True)
    else:
        await reply(update, context, texts.NOT_ALLOWED)
    return None


async def show(update: Update, context: Context) -> None:
    """/greetings: the coming festivals, their dates and texts, with edit and test buttons."""
    if await _organizer(update, context) is None:
        return
    text = view_text(services(context).policy, _overrides(context), _today(context))
    await reply(update, context, text, _view_markup())


# --- test greetings ----------------------------------------------------------------------


def _occasion_markup(button: Callable[[str], str]) -> InlineKeyboardMarkup:
    """One button per occasion, festivals in calendar order, birthday last."""
    buttons = [
        InlineKeyboardButton(_festival_name(occasion), callback_data=button(occasion))
        for occasion in OCCASIONS
    ]
    return InlineKeyboardMarkup(
        [
            buttons[start : start + OCCASION_BUTTONS_PER_ROW]
            for start in range(0, len(buttons), OCCASION_BUTTONS_PER_ROW)
        ]
    )


async def menu_pressed(update: Update, context: Context) -> None:
    """📨 试发给我 on the view (修改问候语 is the edit flow's entry): choose the occasion."""
    assert update.callback_query is not None
    choice = GreetingMenu.unpack(update.callback_query.data)
    if choice is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if await _organizer(update, context, choice.action) is None:
        return
    if choice.action != "test":
        # 修改问候语 is taken by the edit flow's entry; one arriving here is an old button.
        await answer(update, texts.STALE_BUTTON)
        return
    await answer(update)
    markup = _occasion_markup(lambda occasion: GreetingTest(occasion).pack())
    await show_step(update, context, texts.GREETINGS_ASK_TEST, markup)


async def test_pressed(update: Update, context: Context) -> None:
    """An occasion to test: its greeting, rendered for the organizer, goes to them alone."""
    assert update.callback_query is not None
    test = GreetingTest.unpack(update.callback_query.data)
    if test is None or test.occasion not in OCCASIONS:
        await answer(update, texts.STALE_BUTTON)
        return
    caller = await _organizer(update, context, test.occasion)
    if caller is None:
        return
    policy = services(context).policy
    template, note = template_for(policy, _overrides(context), test.occasion)
    greeting = _render(policy, caller, test.occasion, template, note)
    await answer(update, texts.GREETINGS_TEST_SENT)
    await reply(update, context, greeting)


def _render(policy: Policy, caller: Caller, occasion: str, template: str, note: str) -> str:
    """The greeting as this organizer would receive it."""
    return render(
        template,
        name=caller.officer.name,
        festival=_festival_name(occasion),
        union=policy.union_name,
        welfare_note=note,
    )


# --- the edit flow: the committed step ---------------------------------------------------


def _valid(state: str, draft: dict[str, Any]) -> bool:
    """True if the draft holds what its step needs."""
    if state not in STATES or not isinstance(draft.get("flow"), str):
        return False
    if state == CHOOSE:
        return True
    return (
        draft.get("occasion") in OCCASIONS
        and isinstance(draft.get("text"), str)
        and isinstance(draft.get("note"), str)
    )


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


async def start(update: Update, context: Context) -> str | int:
    """✏️ 修改问候语: an organizer starts an edit by choosing the occasion."""
    if await _organizer(update, context, "edit") is None:
        # Someone who lost the role half-way through loses the flow with it.
        FLOW.forget(update, context)
        return END
    flow = secrets.token_hex(4)
    # A new edit replaces any flow left half-way, so its text cannot land elsewhere.
    with services(context).database.session() as session:
        conversations.delete_all_for(session, conversation_key(update))
    state = FLOW.save(update, context, CHOOSE, {"flow": flow})
    await answer(update)
    markup = _occasion_markup(lambda occasion: GreetingStep(flow, "pick", occasion).pack())
    await show_step(update, context, texts.GREETINGS_ASK_OCCASION, markup)
    return state


async def pressed(update: Update, context: Context) -> str | int | None:
    """A button of the flow: the role and the committed step are checked before it counts."""
    assert update.callback_query is not None
    step = GreetingStep.unpack(update.callback_query.data)
    if step is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    caller = await _organizer(update, context, step.action)
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
    if step.action == "pick":
        return await _picked(update, context, draft["flow"], step.value)
    if step.action == "keeptext":
        await answer(update)
        return await _ask_note(update, context, draft)
    if step.action in ("keepnote", "nonote"):
        await answer(update)
        note = draft["note"] if step.action == "keepnote" else ""
        return await _preview(update, context, caller, {**draft, "note": note})
    if step.action == "save":
        return await _save(update, context, caller, step.flow)
    FLOW.forget(update, context)
    await answer(update)
    await show_step(update, context, texts.CANCELLED)
    return END


async def _picked(update: Update, context: Context, flow: str, occasion: str) -> str | None:
    """The occasion: ask for its new text, showing the current one."""
    if occasion not in OCCASIONS:
        await answer(update, texts.STALE_BUTTON)
        return None
    text, note = template_for(services(context).policy, _overrides(context), occasion)
    draft = {"flow": flow, "occasion": occasion, "text": text, "note": note}
    state = FLOW.save(update, context, ASK_TEXT, draft)
    await answer(update)
    ask = texts.GREETINGS_ASK_TEXT.format(
        festival=_festival_name(occasion), limit=MAX_TEMPLATE_LENGTH, current=text
    )
    await show_step(update, context, ask, _keep_text_markup(flow))
    return state


async def _ask_note(update: Update, context: Context, draft: dict[str, Any]) -> str:
    state = FLOW.save(update, context, ASK_NOTE, draft)
    current = draft["note"] or texts.GREETINGS_NO_NOTE
    ask = texts.GREETINGS_ASK_NOTE.format(limit=MAX_NOTE_LENGTH, current=current)
    await prompt(update, context, ask, _note_markup(draft["flow"]))
    return state


async def _preview(update: Update, context: Context, caller: Caller, draft: dict[str, Any]) -> str:
    """The greeting exactly as the organizer would get it, then 保存 / 取消."""
    state = FLOW.save(update, context, PREVIEW, draft)
    policy = services(context).policy
    occasion = draft["occasion"]
    await prompt(update, context, _render(policy, caller, occasion, draft["text"], draft["note"]))
    question = texts.GREETINGS_PREVIEW.format(festival=_festival_name(occasion))
    await prompt(update, context, question, _preview_markup(draft["flow"]))
    return state


def _refusal(reason: str, typed: str, limit: int) -> str:
    """The sentence that says why a text or note was refused, and asks again."""
    sentence = texts.GREETING_TEXT_REFUSED[reason].format(limit=limit, length=len(typed))
    return texts.GREETINGS_RETRY.format(reason=sentence)


async def message_received(update: Update, context: Context) -> str | int:
    """A message inside the flow: the text or note at their steps, a reminder at the others."""
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        return await _flow_gone(update, context)
    caller = await _organizer(update, context)
    if caller is None:
        FLOW.forget(update, context)
        return END
    if state not in (ASK_TEXT, ASK_NOTE):
        await prompt(update, context, texts.GREETINGS_USE_BUTTONS)
        return state
    message = update.effective_message
    assert message is not None
    if message.text is None:
        await prompt(update, context, texts.GREETINGS_TEXT_ONLY)
        return state
    # Invisible-only text counts as empty; direction overrides are dropped.
    typed = clean(message.text)
    if state == ASK_TEXT:
        reason = validate_template(typed)
        if reason is not None:
            await prompt(update, context, _refusal(reason, typed, MAX_TEMPLATE_LENGTH))
            return state
        return await _ask_note(update, context, {**draft, "text": typed})
    reason = validate_note(typed)
    if reason is not None:
        await prompt(update, context, _refusal(reason, typed, MAX_NOTE_LENGTH))
        return state
    return await _preview(update, context, caller, {**draft, "note": typed})


async def _flow_gone(update: Update, context: Context) -> int:
    """/start, /menu or another flow dropped this one: let the other handlers take the update."""
    redispatch(update, context)
    return END


async def _save(update: Update, context: Context, caller: Caller, flow: str) -> str | int:
    """保存: the text, its note and the audit entry in one transaction, then say so."""
    key = conversation_key(update)
    with services(context).database.session() as session:
        draft = conversations.take(session, NAME, key, PREVIEW)
        if draft is None or not _valid(PREVIEW, draft) or draft["flow"] != flow:
            # Another press took the preview first, or this is an older one: change nothing.
            session.rollback()
            draft = None
        else:
            greeting_texts.save(
                session, draft["occasion"], draft["text"], draft["note"], caller.actor
            )
    if draft is None:
        await answer(update, texts.STALE_BUTTON)
        state, _ = FLOW.committed(update, context, _valid)
        return END if state is None else state
    await answer(update)
    await show_step(
        update, context, texts.GREETINGS_SAVED.format(festival=_festival_name(draft["occasion"]))
    )
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is saved."""
    await menu.cancel_outside(update, context)
    return END


async def pressed_outside(update: Update, context: Context) -> None:
    """A flow button when no flow is open: an old preview after its answer, or a forged press."""
    assert update.callback_query is not None
    step = GreetingStep.unpack(update.callback_query.data)
    if step is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if await _organizer(update, context, step.action) is not None:
        await answer(update, texts.STALE_BUTTON)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/greetings, its edit conversation and its test buttons."""
    message = ~filters.COMMAND & ~filters.StatusUpdate.ALL & PRIVATE_MESSAGE
    in_flow: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(pressed, pattern=GreetingStep.pattern()),
        MessageHandler(message, message_received),
    ]
    # Keyed per user and chat, not per message, on purpose: the organizer's typed text must reach
    # the flow its buttons started. PTB warns about that choice.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        conversation = ConversationHandler(
            entry_points=[
                CallbackQueryHandler(start, pattern=f"^{GreetingMenu('edit').pack()}$"),
            ],
            states={state: in_flow for state in STATES},
            fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
            allow_reentry=True,
            name=NAME,
            persistent=True,
        )
    return [
        CommandHandler("greetings", show, filters=PRIVATE_MESSAGE),
        conversation,
        CallbackQueryHandler(menu_pressed, pattern=GreetingMenu.pattern()),
        CallbackQueryHandler(test_pressed, pattern=GreetingTest.pattern()),
        CallbackQueryHandler(pressed_outside, pattern=GreetingStep.pattern()),
    ]
