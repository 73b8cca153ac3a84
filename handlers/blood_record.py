"""/blood record (登记) for organizers: the one-line shortcut, or a dialog with buttons.

`/blood record 警号 成分 数量 [日期]` records at once, as handlers/blood.py describes, unless the
donation lies inside a policy interval of another one of the officer's (bot/rules/blood.py
`too_close`, both sides: a donation recorded late may sit too close to a later one). Then it
shows a preview naming the conflict and records only on 仍然登记.

With fewer words the dialog opens (a flow, handlers/flow.py): the officer by police ID or name
(several of that name: buttons with their units; none: said, and asked again) → component →
amount (the usual ones as buttons, or typed) → date (今天 / 昨天, or typed, never in the future,
at most a year back) → preview with 登记 / 取消, or 仍然登记 / 取消 under the interval warning.
What the command already named is filled in. Each step commits its draft before its prompt, the
caller's role is checked at every step, and the final press takes the preview row in the
transaction that writes, so a double press records once. The donor hears of it after the
commit (handlers.blood.report).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot import texts
from bot.rules.blood import Component, anniversary
from bot.rules.care import parse_date
from bot.rules.forgiving import Lean, normalise
from bot.rules.identity import normalize_police_id
from bot.rules.text import clean, meaningful, quote
from handlers import menu
from handlers.access import Access
from handlers.blood import (
    COMPONENT_NAMES,
    RECORD_WORDS,
    ArgumentError,
    RecordRequest,
    amount_problem,
    amount_text,
    component_name,
    conflict_text,
    conflicts_of,
    parse_record,
    read_amount,
    recordable,
    report,
    split_arguments,
    store,
)
from handlers.callbacks import BloodRecordStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    prompt,
    typed_command,
)
from handlers.context import services, union_today
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import blood as blood_storage
from storage import officers
from storage.models import Officer

NAME = "blood_record"
# Officers of one name shown as buttons; more than this and a fuller name or the ID is asked.
PICK_LIMIT = 8
# The longest name or police ID worth looking up.
TYPED_LIMIT = 32
# The amounts a blood station usually collects, as buttons (any amount_problem accepts may be
# typed): whole blood 200/300/400 ml, platelets 1 or 2 therapeutic units, plasma 200–600 ml.
USUAL_AMOUNTS = {
    Component.WHOLE_BLOOD: (200, 300, 400),
    Component.PLATELETS: (1, 2),
    Component.PLASMA: (200, 400, 600),
}
DAYS_AGO = ((texts.BLOOD_REC_DATE_TODAY, 0), (texts.BLOOD_REC_DATE_YESTERDAY, 1))


class State(StrEnum):
    """The steps of recording a donation."""

    OFFICER = "officer"
    PICK = "pick"
    COMPONENT = "component"
    AMOUNT = "amount"
    DATE = "date"
    PREVIEW = "preview"


@dataclass(frozen=True)
class RecordDraft(Draft):
    """A donation being recorded; `candidates` are the officers offered at the pick step."""

    candidates: tuple[int, ...] = ()
    officer_id: int = 0
    component: Component | None = None
    amount: int = 0
    donated_on: str = ""  # ISO date
    # The preview warned of an interval: only 仍然登记 records it.
    warned: bool = False

    def day(self) -> date | None:
        """The donation's date, if chosen."""
        try:
            return date.fromisoformat(self.donated_on) if self.donated_on else None
        except ValueError:
            return None


_FILLED_AT = {
    State.COMPONENT: 1,
    State.AMOUNT: 2,
    State.DATE: 3,
    State.PREVIEW: 4,
}


def _ready(state: State, draft: RecordDraft) -> bool:
    """True if the draft holds what its step needs."""
    if state == State.OFFICER:
        return True
    if state == State.PICK:
        return bool(draft.candidates)
    filled = (
        draft.officer_id > 0,
        draft.component is not None,
        draft.component is not None and amount_problem(draft.component, draft.amount) is None,
        draft.day() is not None,
    )
    return all(filled[: _FILLED_AT[state]])


# Organizers and admins record; a press without the role is a forged (or outdated) privileged
# press, audited.
RECORDER: Access[Any] = Access(ORGANIZER_ROLES, forged="forged.blood_record", target="blood:record")
FLOW = Flow(NAME, State, RecordDraft, BloodRecordStep, access=RECORDER, ready=_ready)
Press = Pressed[State, RecordDraft, BloodRecordStep]
Text = Typed[State, RecordDraft]


# --- keyboards ----------------------------------------------------------------------------


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=BloodRecordStep(flow, action, value).pack())


def _pick_markup(flow: str, found: Sequence[Officer]) -> InlineKeyboardMarkup:
    # Buttons carry a place in the draft's list, never an officer's id: a forged one points at
    # nobody.
    return InlineKeyboardMarkup(
        [
            [
                _button(
                    texts.BLOOD_REC_PICK_BUTTON.format(
                        name=officer.name,
                        unit=officer.unit or texts.UNKNOWN,
                        police_id=officer.police_id,
                    ),
                    flow,
                    "pick",
                    str(index),
                )
            ]
            for index, officer in enumerate(found)
        ]
    )


def _component_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(component_name(c), flow, "component", c.value) for c in Component]]
    )


def _amount_markup(flow: str, component: Component) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(amount_text(component, amount), flow, "amount", str(amount))
                for amount in USUAL_AMOUNTS[component]
            ]
        ]
    )


def _date_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(text, flow, "date", str(n)) for text, n in DAYS_AGO]])


def _preview_markup(flow: str, warned: bool) -> InlineKeyboardMarkup:
    record = (
        _button(texts.BLOOD_REC_FORCE_BUTTON, flow, "force")
        if warned
        else _button(texts.BLOOD_REC_CONFIRM_BUTTON, flow, "confirm")
    )
    return InlineKeyboardMarkup([[record, _button(texts.BLOOD_REC_CANCEL_BUTTON, flow, "cancel")]])


# --- what the draft says ------------------------------------------------------------------


def _officer(context: Context, officer_id: int) -> Officer | None:
    with services(context).database.session() as session:
        return officers.by_id(session, officer_id)


def _who(officer: Officer) -> str:
    return texts.BLOOD_REC_WHO.format(
        name=officer.name, police_id=officer.police_id, unit=officer.unit or texts.UNKNOWN
    )


def _request(officer: Officer, draft: RecordDraft) -> RecordRequest:
    """What the preview's draft asks to record (it holds everything: _ready)."""
    day = draft.day()
    assert draft.component is not None and day is not None
    return RecordRequest(officer.police_id, draft.component, draft.amount, day)


def _preview_text(officer: Officer, request: RecordRequest, warnings: str) -> str:
    return texts.BLOOD_REC_PREVIEW.format(
        who=_who(officer),
        date=request.donated_on.isoformat(),
        component=component_name(request.component),
        amount=amount_text(request.component, request.amount),
        warnings=warnings,
        question=texts.BLOOD_REC_QUESTION_WARNED if warnings else texts.BLOOD_REC_QUESTION,
    )


def _date_problem(day: date, today: date) -> str | None:
    """Why a donation date cannot be recorded: the same rules as the one-line form."""
    if day > today:
        return texts.BLOOD_DATE_FUTURE
    earliest = anniversary(today, -1)
    if day < earliest:
        return texts.BLOOD_DATE_TOO_OLD.format(earliest=earliest.isoformat())
    return None


# --- the steps ----------------------------------------------------------------------------


async def _restart(update: Update, context: Context, draft: RecordDraft, text: str = "") -> State:
    """The officer is gone or left the roster: back to the first question."""
    fresh = RecordDraft(draft.flow)
    ask = text or texts.BLOOD_REC_ASK_OFFICER
    return await FLOW.advance(update, context, State.OFFICER, fresh, ask)


async def _find(
    update: Update, context: Context, draft: RecordDraft, typed: str, component: str = ""
) -> State:
    """A police ID or a name: one officer goes on, several are offered, none is asked again."""
    typed = clean(normalise(typed))[:TYPED_LIMIT]
    if not meaningful(typed):
        # Nothing to look up: a blank would match every name.
        at_officer = dataclasses.replace(draft, candidates=())
        ask = texts.BLOOD_REC_ASK_OFFICER
        return await FLOW.advance(update, context, State.OFFICER, at_officer, ask)
    with services(context).database.session() as session:
        try:
            by_id = officers.by_police_id(session, normalize_police_id(typed))
        except ValueError:
            by_id = None
        found = (
            [by_id]
            if by_id is not None
            else blood_storage.active_named(session, typed, limit=PICK_LIMIT)
        )
    at_officer = dataclasses.replace(draft, candidates=())
    if not found:
        text = texts.BLOOD_REC_NOT_FOUND.format(typed=quote(typed))
        return await FLOW.advance(update, context, State.OFFICER, at_officer, text)
    if len(found) > PICK_LIMIT:
        text = texts.BLOOD_REC_TOO_MANY.format(typed=quote(typed), limit=PICK_LIMIT)
        return await FLOW.advance(update, context, State.OFFICER, at_officer, text)
    if len(found) == 1:
        return await _chosen(update, context, draft, found[0], COMPONENT_NAMES.get(component))
    ids = tuple(officer.id for officer in found if officer.id is not None)
    picking = dataclasses.replace(draft, candidates=ids)
    text = texts.BLOOD_REC_PICK.format(count=len(found), typed=quote(typed))
    markup = _pick_markup(draft.flow, found)
    return await FLOW.advance(update, context, State.PICK, picking, text, markup)


async def _chosen(
    update: Update,
    context: Context,
    draft: RecordDraft,
    officer: Officer,
    component: Component | None = None,
) -> State:
    """The officer is known: the component next (or the amount, when the command named it)."""
    at_officer = dataclasses.replace(draft, candidates=())
    if not officer.active or officer.id is None:
        text = texts.BLOOD_REC_LEFT.format(name=officer.name, police_id=officer.police_id)
        return await FLOW.advance(update, context, State.OFFICER, at_officer, text)
    chosen = dataclasses.replace(at_officer, officer_id=officer.id)
    if component is not None:
        return await _ask_amount(update, context, chosen, officer, component)
    text = texts.BLOOD_REC_ASK_COMPONENT.format(who=_who(officer))
    return await FLOW.advance(
        update, context, State.COMPONENT, chosen, text, _component_markup(draft.flow)
    )


async def _ask_amount(
    update: Update, context: Context, draft: RecordDraft, officer: Officer, component: Component
) -> State:
    chosen = dataclasses.replace(draft, component=component, amount=0)
    text = texts.BLOOD_REC_ASK_AMOUNT.format(who=_who(officer), component=component_name(component))
    markup = _amount_markup(draft.flow, component)
    return await FLOW.advance(update, context, State.AMOUNT, chosen, text, markup)


async def _ask_date(
    update: Update, context: Context, draft: RecordDraft, officer: Officer, amount: int
) -> State:
    assert draft.component is not None
    chosen = dataclasses.replace(draft, amount=amount)
    text = texts.BLOOD_REC_ASK_DATE.format(
        who=_who(officer),
        component=component_name(draft.component),
        amount=amount_text(draft.component, amount),
    )
    return await FLOW.advance(update, context, State.DATE, chosen, text, _date_markup(draft.flow))


async def _preview(
    update: Update,
    context: Context,
    draft: RecordDraft,
    officer: Officer,
    day: date,
    note: str = "",
) -> State | int:
    """The donation as it will be recorded, with the interval warning if there is one."""
    chosen = dataclasses.replace(draft, donated_on=day.isoformat())
    request = _request(officer, chosen)
    found = services(context)
    with found.database.session() as session:
        assert officer.id is not None
        conflicts = conflicts_of(session, officer.id, request, found.policy.blood)
    warnings = conflict_text(conflicts, union_today(context))
    warned = dataclasses.replace(chosen, warned=bool(conflicts))
    text = note + _preview_text(officer, request, warnings)
    markup = _preview_markup(draft.flow, bool(conflicts))
    return await FLOW.preview(update, context, State.PREVIEW, warned, text, markup)


async def _text_of(update: Update, context: Context, turn: Text) -> str | None:
    """The typed text; anything else (a photo…) is asked for again as text."""
    if turn.message.text is None:
        await prompt(update, context, texts.BLOOD_REC_TEXT_ONLY)
        return None
    return turn.message.text


async def _officer_typed(update: Update, context: Context, turn: Text) -> State | None:
    """A police ID or a name, at the first step or instead of a pick button."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    return await _find(update, context, turn.draft, typed)


async def _picked(update: Update, context: Context, turn: Press) -> State | None:
    """One of the officers of that name."""
    value, candidates = turn.data.value, turn.draft.candidates
    index = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= index < len(candidates):
        await FLOW.expire(update)
        return None
    officer = _officer(context, candidates[index])
    if officer is None:
        return await _restart(update, context, turn.draft)
    return await _chosen(update, context, turn.draft, officer)


async def _with_officer(update: Update, context: Context, draft: RecordDraft) -> Officer | None:
    """The draft's officer, still on the roster; else back to the first question."""
    officer = _officer(context, draft.officer_id)
    if officer is None or not officer.active:
        left = (
            ""
            if officer is None
            else texts.BLOOD_REC_LEFT.format(name=officer.name, police_id=officer.police_id)
        )
        await _restart(update, context, draft, left)
        return None
    return officer


async def _component_pressed(update: Update, context: Context, turn: Press) -> State | None:
    component = COMPONENT_NAMES.get(turn.data.value)
    if component is None:
        await FLOW.expire(update)
        return None
    officer = await _with_officer(update, context, turn.draft)
    if officer is None:
        return State.OFFICER
    return await _ask_amount(update, context, turn.draft, officer, component)


async def _component_typed(update: Update, context: Context, turn: Text) -> State | None:
    """全血, 血小板 or 血浆 typed instead of pressed; anything else: use the buttons."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    component = COMPONENT_NAMES.get(clean(normalise(typed)).lower())
    officer = await _with_officer(update, context, turn.draft)
    if officer is None:
        return State.OFFICER
    if component is None:
        text = (
            texts.BLOOD_REC_USE_BUTTONS
            + "\n"
            + texts.BLOOD_REC_ASK_COMPONENT.format(who=_who(officer))
        )
        await prompt(update, context, text, _component_markup(turn.draft.flow))
        return None
    return await _ask_amount(update, context, turn.draft, officer, component)


async def _amount_chosen(
    update: Update, context: Context, draft: RecordDraft, amount: int
) -> State | None:
    officer = await _with_officer(update, context, draft)
    if officer is None:
        return State.OFFICER
    return await _ask_date(update, context, draft, officer, amount)


async def _amount_pressed(update: Update, context: Context, turn: Press) -> State | None:
    value, component = turn.data.value, turn.draft.component
    amount = int(value) if value.isascii() and value.isdigit() else 0
    if component is None or amount_problem(component, amount) is not None:
        await FLOW.expire(update)
        return None
    return await _amount_chosen(update, context, turn.draft, amount)


async def _amount_typed(update: Update, context: Context, turn: Text) -> State | None:
    """A typed amount (全角 digits, 毫升 or 个 after it, as in the one-line form)."""
    typed = await _text_of(update, context, turn)
    component = turn.draft.component
    if typed is None or component is None:
        return None
    token = clean(normalise(typed)).replace(" ", "")
    amount = read_amount(token)
    markup = _amount_markup(turn.draft.flow, component)
    if amount is None:
        await prompt(update, context, texts.BLOOD_REC_BAD_AMOUNT.format(token=quote(token)), markup)
        return None
    problem = amount_problem(component, amount)
    if problem is not None:
        await prompt(update, context, problem, markup)
        return None
    return await _amount_chosen(update, context, turn.draft, amount)


async def _date_chosen(
    update: Update, context: Context, draft: RecordDraft, day: date
) -> State | int | None:
    problem = _date_problem(day, union_today(context))
    if problem is not None:
        markup = _date_markup(draft.flow)
        await prompt(update, context, problem + texts.BLOOD_REC_ASK_AGAIN, markup)
        return None
    officer = await _with_officer(update, context, draft)
    if officer is None:
        return State.OFFICER
    return await _preview(update, context, draft, officer, day)


async def _date_pressed(update: Update, context: Context, turn: Press) -> State | int | None:
    days = {str(n): n for _, n in DAYS_AGO}.get(turn.data.value)
    if days is None:
        await FLOW.expire(update)
        return None
    day = union_today(context) - timedelta(days=days)
    return await _date_chosen(update, context, turn.draft, day)


async def _date_typed(update: Update, context: Context, turn: Text) -> State | int | None:
    """A typed date, read the forgiving way; a year-less one leans into the past."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    day = parse_date(typed, union_today(context), lean=Lean.PAST)
    if day is None:
        text = texts.BLOOD_REC_BAD_DATE.format(token=quote(clean(typed)))
        await prompt(update, context, text, _date_markup(turn.draft.flow))
        return None
    return await _date_chosen(update, context, turn.draft, day)


async def _record(update: Update, context: Context, turn: Press) -> State | int | None:
    """登记, or 仍然登记 under a warning: the donation, in the transaction that takes the preview.

    登记 is taken only on a preview without a warning, and records only while the intervals
    still hold: a donation recorded meanwhile turns the preview into a warned one. 仍然登记 is
    taken only on a warned preview.
    """
    forced = turn.data.action == "force"
    # Each preview shows one of the two: the other is an outdated or forged press.
    if forced != turn.draft.warned:
        await FLOW.expire(update)
        return None
    found = services(context)
    caller = turn.caller
    recorded = None
    outcome = ""  # "left", "too_close" or "" (recorded)
    left = ""
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            officer = officers.by_id(session, draft.officer_id)
            if officer is None or not officer.active or officer.id is None:
                outcome = "left"
                if officer is not None:
                    left = texts.BLOOD_REC_LEFT.format(
                        name=officer.name, police_id=officer.police_id
                    )
                session.rollback()
            else:
                request = _request(officer, draft)
                conflicts = conflicts_of(session, officer.id, request, found.policy.blood)
                if conflicts and not forced:
                    outcome = "too_close"
                    session.rollback()
                else:
                    recorded = store(session, caller, officer, request)
    if draft is None:
        await FLOW.expire(update)
        return None
    if outcome == "too_close":
        # The rollback expired what the block read: the officer is read again.
        again = _officer(context, draft.officer_id)
        day = draft.day()
        if again is not None and again.active and day is not None:
            note = texts.BLOOD_REC_NOW_TOO_CLOSE + "\n\n"
            return await _preview(update, context, draft, again, day, note)
    if recorded is None:
        return await _restart(update, context, draft, left)
    assert recorded is not None
    await answer(update)
    await report(update, context, caller, recorded, edit=True)
    return END


# --- the command --------------------------------------------------------------------------


class _RecordCommand(filters.MessageFilter):
    """/blood record … or /blood 登记 …, read as handlers.blood reads its verbs."""

    def filter(self, message: Message) -> bool:
        tokens = split_arguments(message.text or "")
        return bool(tokens) and tokens[0].lower() in RECORD_WORDS


@FLOW.entry()
async def record_command(update: Update, context: Context, caller: Caller) -> State | int:
    """/blood record …: records at once when written out, else the dialog (or a warned preview)."""
    tokens = split_arguments(typed_command(update))[1:]
    if len(tokens) >= 3:
        return await _one_line(update, context, caller, tokens)
    draft = RecordDraft(FLOW.token())
    # A new draft replaces any flow left half-way, so its text cannot land elsewhere.
    FLOW.begin(update, context, State.OFFICER, draft)
    if not tokens:
        await prompt(update, context, texts.BLOOD_REC_ASK_OFFICER)
        return State.OFFICER
    component = tokens[1].lower() if len(tokens) > 1 else ""
    return await _find(update, context, draft, tokens[0], component)


async def _one_line(
    update: Update, context: Context, caller: Caller, tokens: Sequence[str]
) -> State | int:
    """警号 成分 数量 [日期]: recorded at once, unless it breaks an interval (then a preview)."""
    found = services(context)
    recorded = None
    try:
        request = parse_record(tokens, today=union_today(context))
        with found.database.session() as session:
            officer = recordable(session, request.police_id)
            assert officer.id is not None
            conflicts = conflicts_of(session, officer.id, request, found.policy.blood)
            if not conflicts:
                recorded = store(session, caller, officer, request)
    except ArgumentError as exc:
        await prompt(update, context, str(exc))
        return END
    if recorded is not None:
        await report(update, context, caller, recorded)
        return END
    assert officer.id is not None
    draft = RecordDraft(
        FLOW.token(),
        officer_id=officer.id,
        component=request.component,
        amount=request.amount,
        donated_on=request.donated_on.isoformat(),
        warned=True,
    )
    FLOW.begin(update, context, State.PREVIEW, draft)
    text = _preview_text(officer, request, conflict_text(conflicts, union_today(context)))
    await prompt(update, context, text, _preview_markup(draft.flow, warned=True))
    return State.PREVIEW


async def _use_buttons(update: Update, context: Context, turn: Text) -> None:
    """Text at the preview: the buttons again (they may never have arrived)."""
    await prompt(
        update,
        context,
        texts.BLOOD_REC_USE_BUTTONS,
        _preview_markup(turn.draft.flow, turn.draft.warned),
    )


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is recorded."""
    await menu.cancel_outside(update, context)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The /blood record conversation; before handlers.blood, which takes every other /blood."""
    officer_typed = FLOW.typed(_officer_typed)
    conversation = FLOW.handler(
        entry_points=[
            CommandHandler("blood", record_command, filters=PRIVATE_MESSAGE & _RecordCommand())
        ],
        states={
            State.OFFICER: [officer_typed],
            State.PICK: [FLOW.press("pick", _picked), officer_typed],
            State.COMPONENT: [
                FLOW.press("component", _component_pressed),
                FLOW.typed(_component_typed),
            ],
            State.AMOUNT: [FLOW.press("amount", _amount_pressed), FLOW.typed(_amount_typed)],
            State.DATE: [FLOW.press("date", _date_pressed), FLOW.typed(_date_typed)],
            State.PREVIEW: [
                FLOW.press(("confirm", "force"), _record),
                FLOW.press("cancel", FLOW.cancel(texts.BLOOD_REC_CANCELLED)),
                FLOW.typed(_use_buttons),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [conversation, FLOW.outside()]
