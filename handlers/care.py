"""Care reports (慰问): an officer reports a life event, for themselves or a colleague.

The report is a conversation whose every step commits its state and draft before the next prompt
and whose step is read back from the database at every update (StoredConversationHandler), so a
restart, or another instance of the bot, resumes it. Submitting prices the case by the union's
policy, links a duplicate to the first report of the same event, and tells the organizers
privately.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

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

from bot import texts
from bot.rules.care import CaseKey, date_problem, first_duplicate, parse_date, price
from bot.rules.forgiving import Lean
from bot.rules.identity import normalize_police_id
from bot.rules.text import clean, meaningful
from handlers.access import Handler, PressStep, access, pressed, returning
from handlers.callbacks import CareStep, MenuChoice
from handlers.care_cards import amount_text, case_card, case_markup, event_name
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    FlowStore,
    answer,
    conversation_key,
    edit_or_send,
    notify,
    prompt,
    reply,
)
from handlers.context import services
from handlers.flow import StoredConversationHandler
from storage import audit, care, conversations, officers, roles
from storage.crypto import FieldCipher
from storage.models import CareCase, CaseStatus, Officer

NAME = "care_report"
FLOW = FlowStore(NAME)
# Reports of a death are answered with condolence before the case number.
BEREAVEMENTS = ("relative_death", "officer_death")
EVENT, WHO, COLLEAGUE, PICK, HOSPITAL, WARD, RELATION, DATE, NOTE, CONFIRM = (
    "event",
    "who",
    "colleague",
    "pick",
    "hospital",
    "ward",
    "relation",
    "date",
    "note",
    "confirm",
)
END = ConversationHandler.END
EVENTS = (
    "hospitalization",
    "marriage",
    "childbirth",
    "retirement",
    "relative_death",
    "officer_death",
)
RELATIONS = ("spouse", "parent", "parent_in_law", "child")
SHORT_TEXT = 50
# Health details: encrypted in the draft too, not only in the case (drafts live in the database).
SEALED = ("ward", "note")
NOTE_LIMIT = 200


def _button(text: str, step: str, value: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CareStep(step, value).pack())


def _rows(buttons: list[InlineKeyboardButton], width: int = 2) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([buttons[i : i + width] for i in range(0, len(buttons), width)])


async def _end(update: Update, context: Context, text: str) -> int:
    FLOW.forget(update, context)
    await prompt(update, context, text)
    return END


@access(refused=returning(END))
async def start(update: Update, context: Context, _caller: Caller) -> str | int:
    """/report or the menu button: choose what to report."""
    await answer(update)
    # A new report replaces any flow left half-way, so an answer cannot land in the old one.
    with services(context).database.session() as session:
        conversations.delete_all_for(session, conversation_key(update))
    state = FLOW.save(update, context, EVENT, {})
    buttons = [_button(texts.CARE_EVENTS[event], EVENT, event) for event in EVENTS]
    await prompt(update, context, texts.CARE_ASK_EVENT, _rows(buttons))
    return state


def _step(
    expected: str, allowed: tuple[str, ...] | None = None
) -> Callable[[PressStep[CareStep]], Handler]:
    """A button of this step of the report (one of `allowed`, if given), pressed by a bound
    officer and answered at once; any other button is stale, and the step stays."""

    def belongs(step: CareStep) -> bool:
        return step.step == expected and (allowed is None or step.value in allowed)

    def wrap(body: PressStep[CareStep]) -> Handler:
        @pressed(CareStep, accept=belongs)
        @functools.wraps(body)
        async def answered(
            update: Update, context: Context, step: CareStep, caller: Caller
        ) -> object:
            await answer(update)
            return await body(update, context, step, caller)

        return answered

    return wrap


@_step(EVENT, EVENTS)
async def event_chosen(
    update: Update, context: Context, step: CareStep, _caller: Caller
) -> str | int:
    """The event type; an officer's death is always reported by a colleague."""
    event = step.value
    if event == "officer_death":
        state = FLOW.save(update, context, COLLEAGUE, {"event": event, "other": True})
        await edit_or_send(update, context, texts.CARE_ASK_COLLEAGUE)
        return state
    state = FLOW.save(update, context, WHO, {"event": event})
    buttons = [
        _button(texts.CARE_FOR_SELF, WHO, "self"),
        _button(texts.CARE_FOR_OTHER, WHO, "other"),
    ]
    await edit_or_send(
        update, context, texts.CARE_ASK_WHO.format(event=texts.CARE_EVENTS[event]), _rows(buttons)
    )
    return state


@_step(WHO, ("self", "other"))
async def who_chosen(update: Update, context: Context, step: CareStep, caller: Caller) -> str | int:
    """For oneself, or on behalf of a colleague."""
    who = step.value
    draft = FLOW.draft(update, context)
    if who == "other":
        state = FLOW.save(update, context, COLLEAGUE, {**draft, "other": True})
        await edit_or_send(update, context, texts.CARE_ASK_COLLEAGUE)
        return state
    assert caller.officer.id is not None
    return await _ask_details(update, context, {**draft, "officer_id": caller.officer.id})


@access(refused=returning(END))
async def colleague_entered(update: Update, context: Context, caller: Caller) -> str | int:
    """A colleague by police ID (anywhere) or by exact name within one's own unit."""
    message = update.effective_message
    if message is None or message.text is None:
        return END
    typed = clean(message.text)[:SHORT_TEXT]
    found: list[Officer] = []
    with services(context).database.session() as session:
        try:
            by_id = officers.by_police_id(session, normalize_police_id(typed))
        except ValueError:
            by_id = None
        if by_id is not None and by_id.active:
            found = [by_id]
        elif caller.officer.unit:
            found = officers.active_named_in_unit(session, caller.officer.unit, typed)
    draft = FLOW.draft(update, context)
    if not found:
        await prompt(update, context, texts.CARE_COLLEAGUE_NOT_FOUND)
        return COLLEAGUE
    if len(found) == 1:
        assert found[0].id is not None
        return await _ask_details(update, context, {**draft, "officer_id": found[0].id})
    state = FLOW.save(update, context, PICK, {**draft, "name": typed})
    buttons = [
        _button(texts.CARE_PICK_LINE.format(name=o.name, police_id=o.police_id), PICK, str(o.id))
        for o in found
    ]
    await prompt(update, context, texts.CARE_PICK_COLLEAGUE, _rows(buttons, width=1))
    return state


@pressed(CareStep, accept=lambda step: step.step == PICK)
async def colleague_picked(
    update: Update, context: Context, step: CareStep, caller: Caller
) -> str | int:
    """One of several colleagues with the same name; only those shown (and still there) may be
    picked."""
    draft = FLOW.draft(update, context)
    with services(context).database.session() as session:
        candidates = officers.active_named_in_unit(
            session, caller.officer.unit, str(draft.get("name", ""))
        )
    if step.value not in {str(officer.id) for officer in candidates}:
        await answer(update, texts.STALE_BUTTON)
        return PICK
    await answer(update)
    return await _ask_details(update, context, {**draft, "officer_id": int(step.value)})


async def _ask_details(update: Update, context: Context, draft: dict[str, Any]) -> str:
    event = draft["event"]
    if event == "hospitalization":
        state = FLOW.save(update, context, HOSPITAL, draft)
        await prompt(update, context, texts.CARE_ASK_HOSPITAL)
        return state
    if event == "relative_death":
        state = FLOW.save(update, context, RELATION, draft)
        buttons = [_button(texts.CARE_RELATIONS[r], RELATION, r) for r in RELATIONS]
        await prompt(update, context, texts.CARE_ASK_RELATION, _rows(buttons))
        return state
    state = FLOW.save(update, context, DATE, draft)
    await prompt(update, context, texts.CARE_ASK_DATE[event], _date_markup())
    return state


# The date step's buttons: each gives what typing its word gives.
DATE_WORDS = {"today": texts.CARE_DATE_TODAY, "yesterday": texts.CARE_DATE_YESTERDAY}


def _date_markup() -> InlineKeyboardMarkup:
    """今天 / 昨天 under the date question."""
    return _rows([_button(word, DATE, value) for value, word in DATE_WORDS.items()])


async def hospital_entered(update: Update, context: Context) -> str:
    """The hospital's name."""
    return await _short_text(update, context, HOSPITAL, WARD, texts.CARE_ASK_WARD)


async def ward_entered(update: Update, context: Context) -> str:
    """The ward and bed: a health detail, stored encrypted."""
    return await _short_text(
        update, context, WARD, DATE, texts.CARE_ASK_DATE["hospitalization"], _date_markup()
    )


async def _short_text(
    update: Update,
    context: Context,
    field: str,
    next_state: str,
    next_prompt: str,
    next_markup: InlineKeyboardMarkup | None = None,
) -> str:
    """Store a short typed answer under `field` (also this step's state) and go on."""
    message = update.effective_message
    assert message is not None and message.text is not None
    value = clean(message.text)
    if not meaningful(value):
        await prompt(update, context, texts.TEXT_INVISIBLE)
        return field
    if len(value) > SHORT_TEXT:
        await prompt(update, context, texts.CARE_TEXT_TOO_LONG.format(limit=SHORT_TEXT))
        return field
    if field in SEALED:
        value = services(context).cipher.encrypt(value)
    state = FLOW.save(update, context, next_state, {**FLOW.draft(update, context), field: value})
    await prompt(update, context, next_prompt, next_markup)
    return state


@_step(RELATION, RELATIONS)
async def relation_chosen(
    update: Update, context: Context, step: CareStep, _caller: Caller
) -> str | int:
    """Whose death: spouse, parent, parent-in-law or child."""
    relation = step.value
    state = FLOW.save(update, context, DATE, {**FLOW.draft(update, context), "relation": relation})
    await edit_or_send(update, context, texts.CARE_ASK_DATE["relative_death"], _date_markup())
    return state


async def date_entered(update: Update, context: Context) -> str:
    """The event date, typed: 2026-11-29, 11月29日, 昨天…"""
    message = update.effective_message
    assert message is not None and message.text is not None
    return await _take_date(update, context, message.text)


@_step(DATE, tuple(DATE_WORDS))
async def date_pressed(update: Update, context: Context, step: CareStep, _caller: Caller) -> str:
    """今天 or 昨天 pressed: the same as typing the word."""
    return await _take_date(update, context, DATE_WORDS[step.value])


async def _take_date(update: Update, context: Context, typed: str) -> str:
    """The event date: a real date, not before the officer's birth, within the last year (a
    wedding may lie ahead, so a year-less date means the nearest one; any other the past one)."""
    draft = FLOW.draft(update, context)
    lean = Lean.NEAREST if draft.get("event") == "marriage" else Lean.PAST
    event_date = parse_date(typed, _today(context), lean=lean)
    if event_date is None:
        await prompt(update, context, texts.CARE_BAD_DATE)
        return DATE
    with services(context).database.session() as session:
        subject = officers.by_id(session, int(draft.get("officer_id", 0)))
    birthday = subject.birthday if subject else None
    problem = date_problem(draft["event"], event_date, today=_today(context), birthday=birthday)
    if problem is not None:
        await prompt(update, context, texts.CARE_DATE_PROBLEMS[problem])
        return DATE
    state = FLOW.save(update, context, NOTE, {**draft, "date": event_date.isoformat()})
    await prompt(
        update, context, texts.CARE_ASK_NOTE, _rows([_button(texts.CARE_SKIP, NOTE, "skip")])
    )
    return state


def _today(context: Context) -> date:
    return datetime.now(services(context).zone).date()


async def note_entered(update: Update, context: Context) -> str:
    """An optional short note (a health detail: encrypted, organizers only)."""
    message = update.effective_message
    assert message is not None and message.text is not None
    note = clean(message.text)
    if not meaningful(note):
        await prompt(update, context, texts.TEXT_INVISIBLE)
        return NOTE
    if len(note) > NOTE_LIMIT:
        await prompt(update, context, texts.CARE_TEXT_TOO_LONG.format(limit=NOTE_LIMIT))
        return NOTE
    sealed = services(context).cipher.encrypt(note)
    return await _ask_confirm(update, context, {**FLOW.draft(update, context), "note": sealed})


@_step(NOTE, ("skip",))
async def note_skipped(update: Update, context: Context, _skip: CareStep, _caller: Caller) -> str:
    """No note."""
    return await _ask_confirm(update, context, {**FLOW.draft(update, context), "note": ""})


async def _ask_confirm(update: Update, context: Context, draft: dict[str, Any]) -> str:
    state = FLOW.save(update, context, CONFIRM, draft)
    with services(context).database.session() as session:
        subject = officers.by_id(session, int(draft["officer_id"]))
    assert subject is not None
    event_date = date.fromisoformat(draft["date"])
    policy_sum = price(services(context).policy.care.rules, draft["event"], event_date)
    summary = texts.CARE_SUMMARY.format(
        event=event_name(draft["event"], draft.get("relation", "")),
        name=subject.name,
        police_id=subject.police_id,
        unit=subject.unit or texts.UNKNOWN,
        details=_details(draft, services(context).cipher),
        date=event_date.isoformat(),
        amount=amount_text(
            policy_sum.amount if policy_sum else 0, policy_sum.up_to if policy_sum else False
        ),
    )
    buttons = [
        _button(texts.CARE_SUBMIT, CONFIRM, "yes"),
        _button(texts.CARE_DISCARD, CONFIRM, "no"),
    ]
    await prompt(update, context, summary, _rows(buttons))
    return state


def _details(draft: dict[str, Any], cipher: FieldCipher) -> str:
    lines = []
    if draft.get("hospital"):
        lines.append(texts.CARE_LINE_HOSPITAL.format(hospital=draft["hospital"]))
    if draft.get("ward"):
        lines.append(texts.CARE_LINE_WARD.format(ward=cipher.decrypt(draft["ward"])))
    if draft.get("note"):
        lines.append(texts.CARE_LINE_NOTE.format(note=cipher.decrypt(draft["note"])))
    return "".join(f"\n{line}" for line in lines)


@_step(CONFIRM, ("yes", "no"))
async def confirmed(update: Update, context: Context, step: CareStep, caller: Caller) -> str | int:
    """Submit or discard; the case, duplicate check and audit commit together."""
    choice = step.value
    key = conversation_key(update)
    if choice != "yes":
        return await _end(update, context, texts.CANCELLED)
    svc = services(context)
    with svc.database.session() as session:
        draft = conversations.draft(session, NAME, key)
        if conversations.state_of(session, NAME, key) != CONFIRM:
            case = None  # a second press of 提交: the first one already filed it
        else:
            case = _file(session, caller, draft, context)
            conversations.delete(session, NAME, key)
            subject = officers.by_id(session, case.officer_id)
            organizers = roles.reachable_holders(session, set(ORGANIZER_ROLES))
            subject_chat = officers.binding_of(session, case.officer_id)
    if case is None:
        return END
    assert case.id is not None and subject is not None
    # A duplicate is linked silently: the reporter hears what any reporter hears (telling them
    # would reveal that someone else reported it); the organizers see the link on the card.
    submitted = texts.CARE_SUBMITTED.format(id=case.id)
    if case.event in BEREAVEMENTS:
        submitted = texts.CARE_CONDOLENCE + submitted
    await edit_or_send(update, context, submitted)
    card = case_card(case, subject, svc.cipher, reporter=caller.officer)
    for _organizer, chat_id in organizers:
        await notify(context.bot, chat_id, card, case_markup(case))
    # An officer's own account is not told of their death; the family is visited in person.
    if (
        subject.id != caller.officer.id
        and subject_chat is not None
        and case.event != "officer_death"
    ):
        await notify(
            context.bot,
            subject_chat.chat_id,
            texts.CARE_REPORTED_FOR_YOU.format(
                reporter=caller.officer.name, event=event_name(case.event, case.relation)
            ),
        )
    return END


def _file(session: Session, caller: Caller, draft: dict[str, Any], context: Context) -> CareCase:
    svc = services(context)
    event, event_date = draft["event"], date.fromisoformat(draft["date"])
    officer_id = int(draft["officer_id"])
    relation = str(draft.get("relation", ""))
    policy_sum = price(svc.policy.care.rules, event, event_date)
    earlier = [
        CaseKey(c.id or 0, c.officer_id, c.event, c.event_date, c.relation)
        for c in care.same_kind(session, officer_id, event)
    ]
    duplicate = first_duplicate(earlier, CaseKey(0, officer_id, event, event_date, relation))
    assert caller.officer.id is not None
    case = care.create(
        session,
        care.NewCase(
            officer_id=officer_id,
            reporter_id=caller.officer.id,
            event=event,
            event_date=event_date,
            relation=relation,
            hospital=str(draft.get("hospital", "")),
            ward=svc.cipher.decrypt(str(draft.get("ward", ""))),
            note=svc.cipher.decrypt(str(draft.get("note", ""))),
            policy_amount=policy_sum.amount if policy_sum else 0,
            up_to=policy_sum.up_to if policy_sum else False,
        ),
        svc.cipher,
        duplicate_of=duplicate.case_id if duplicate else None,
    )
    # Type and ids only: the ward and note never reach the audit log.
    audit.record(
        session,
        actor=caller.actor,
        action="care.report",
        target=str(case.id),
        event=event,
        duplicate_of=duplicate.case_id if duplicate else None,
    )
    return case


def _use_buttons(state: str) -> Handler:
    """Typed text at a step that waits for a button: which button to press; the step stays."""

    async def use_buttons(update: Update, context: Context) -> str:
        await prompt(update, context, texts.CARE_USE_BUTTONS[state])
        return state

    return use_buttons


async def text_expected(update: Update, context: Context) -> None:
    """A photo or sticker where typed text is expected: the step stays."""
    await prompt(update, context, texts.CARE_TEXT_EXPECTED)


async def cancel(update: Update, context: Context) -> int:
    """/cancel: nothing of the report is kept."""
    return await _end(update, context, texts.CANCELLED)


@access()
async def my_reports(update: Update, context: Context, caller: Caller) -> None:
    """/myreports or the menu button: the officer's own cases and those they reported for
    colleagues."""
    if caller.officer.id is None:
        return
    await answer(update)
    with services(context).database.session() as session:
        mine = care.of_officer(session, caller.officer.id)
        names = {
            c.officer_id: (officers.by_id(session, c.officer_id) or caller.officer).name
            for c in mine
        }
        # A report for a colleague that duplicates someone else's shows that case's status:
        # "重复申报" would tell the reporter that another officer reported it.
        shown = {
            c.id: _status_of(session, c.duplicate_of)
            for c in mine
            if c.status == CaseStatus.DUPLICATE
            and c.duplicate_of is not None
            and c.officer_id != caller.officer.id
        }
    if not mine:
        await reply(update, context, texts.CARE_NONE_YET)
        return
    lines = [texts.CARE_MINE_HEADER]
    for case in mine:
        line = texts.CARE_MINE_LINE.format(
            id=case.id,
            event=event_name(case.event, case.relation),
            date=case.event_date.isoformat(),
            status=texts.CASE_STATUS[shown.get(case.id, case.status)],
        )
        if case.officer_id != caller.officer.id:
            line += texts.CARE_MINE_FOR.format(name=names[case.officer_id])
        own = case.officer_id == caller.officer.id
        # The reporter of a colleague's death is the one told of its sum (CASE_TOLD_AS_REPORTER);
        # a colleague's other cases stay theirs. Organizers' names are not shown to officers.
        told = own or case.event == "officer_death"
        if told and case.status == CaseStatus.PAID and case.paid_amount is not None:
            paid_on = case.paid_at.astimezone(services(context).zone).date() if case.paid_at else ""
            line += texts.CARE_MINE_PAID.format(amount=case.paid_amount, date=paid_on)
        if case.status == CaseStatus.DECLINED and case.officer_id == caller.officer.id:
            reason = care.decline_reason(case, services(context).cipher)
            line += texts.CARE_MINE_DECLINED.format(reason=reason)
        lines.append(line)
    await reply(update, context, "\n".join(lines))


def _status_of(session: Session, case_id: int) -> str:
    """A case's status; "reported" if it is gone."""
    case = care.get(session, case_id)
    return CaseStatus.REPORTED if case is None else str(case.status)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The report conversation and /myreports."""
    text = filters.TEXT & ~filters.COMMAND & PRIVATE_MESSAGE
    other = ~filters.COMMAND & PRIVATE_MESSAGE

    def pressed(callback: Any) -> CallbackQueryHandler[Any, Any]:
        return CallbackQueryHandler(callback, pattern=CareStep.pattern())

    report = StoredConversationHandler(
        entry_points=[
            CommandHandler("report", start, filters=PRIVATE_MESSAGE),
            CallbackQueryHandler(start, pattern=f"^{MenuChoice('report').pack()}$"),
        ],
        states={
            EVENT: [pressed(event_chosen), MessageHandler(other, _use_buttons(EVENT))],
            WHO: [pressed(who_chosen), MessageHandler(other, _use_buttons(WHO))],
            COLLEAGUE: [
                MessageHandler(text, colleague_entered),
                MessageHandler(other, text_expected),
            ],
            PICK: [pressed(colleague_picked), MessageHandler(other, _use_buttons(PICK))],
            HOSPITAL: [
                MessageHandler(text, hospital_entered),
                MessageHandler(other, text_expected),
            ],
            WARD: [MessageHandler(text, ward_entered), MessageHandler(other, text_expected)],
            RELATION: [
                pressed(relation_chosen),
                MessageHandler(other, _use_buttons(RELATION)),
            ],
            DATE: [
                MessageHandler(text, date_entered),
                pressed(date_pressed),
                MessageHandler(other, text_expected),
            ],
            NOTE: [
                MessageHandler(text, note_entered),
                pressed(note_skipped),
                MessageHandler(other, text_expected),
            ],
            CONFIRM: [pressed(confirmed), MessageHandler(other, _use_buttons(CONFIRM))],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
        name=NAME,
    )
    return [
        report,
        CommandHandler("myreports", my_reports, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(my_reports, pattern=f"^{MenuChoice('myreports').pack()}$"),
    ]
