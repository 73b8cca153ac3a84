"""Surveys (问卷): organizers build and publish them, officers answer with buttons, organizers
read the results, export them and close a survey early.

Building (`/survey`, `/surveys 新建`, ➕ 新建问卷; organizers only): title (or a template, such
as the housing intention survey, in one tap) → audience (as for events) → deadline (3天后 /
一周后 / 两周后, or typed as people write dates) → named or anonymous → questions one by one
(one choice, several choices, a number within a range, a short text) → ✅ 完成题目 → a preview
of the survey as officers will read it and how many it reaches → 发布. Publishing writes the
survey and its announcement to the audience (the broadcast engine, with 📝 开始填写) in one
transaction.

Answering (📝 开始填写): one question at a time in one message, edited step by step (a typed
number or text answer is followed by the next question as a new message); ◀ 上一题 goes back
before sending; a summary, then 提交. Each officer answers once: the has-answered row is written
with the answers (storage.surveys.submit), and a second 提交 finds the summary already taken.

Both are flows (handlers/flow.py): every step commits its state and draft before its prompt,
and the final press takes the row in the transaction that writes. A text answer is kept sealed
in the draft (storage/sealed.py lists it).

Organizers (`/surveys`): a list of surveys, each with its panel: 📊 结果 (counts and shares per
option, median and range of numbers, texts listed up to a few), 📥 导出 XLSX, ⏹ 结束问卷 (asked
first). Officers never see anyone else's answers.
"""

from __future__ import annotations

import dataclasses
import io
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import texts
from bot.rules import surveys as rules
from bot.rules.surveys import Problem, Question, QuestionKind, SurveyInputError
from bot.xlsx import Cell, write_workbook
from handlers.access import OFFICER, Access, access, pressed
from handlers.callbacks import SurveyAction, SurveyFill, SurveyStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    conversation_key,
    edit_or_send,
    prompt,
    reply,
    show_step,
)
from handlers.context import services
from handlers.events import moment_text
from handlers.flow import END, Draft, Flow, Pressed, Sealed, Typed
from storage import audit, broadcasts, conversations
from storage import inbox as inbox_storage
from storage import surveys as storage
from storage.models import Audience, BroadcastKind, Priority, Survey, SurveyStatus
from storage.surveys import AnswerIn, Submitted
from storage.types import utcnow

log = logging.getLogger(__name__)

BUILD_NAME = "survey_build"
FILL_NAME = "survey_answer"
NEW_WORDS = ("新建", "new", "发起")
BUTTONS_PER_ROW = 2
# Text answers shown per question in the results; the XLSX holds them all.
TEXTS_SHOWN = 5
XLSX_WIDTHS = (10, 10, 14)


# --- who may do what ----------------------------------------------------------------------

# Building a survey: organizers (and admins); a forged or outdated press is audited.
BUILDER: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.survey_manage",
    target="survey:new",
    refusal=texts.SURVEY_NOT_ORGANIZER,
)


def _target(data: SurveyAction) -> str:
    return f"survey:{data.survey_id}"


# The list, results, export and closing: organizers only.
MANAGER: Access[SurveyAction] = Access(
    ORGANIZER_ROLES,
    forged="forged.survey_manage",
    target=_target,
    refusal=texts.SURVEY_NOT_ORGANIZER,
)


# --- words --------------------------------------------------------------------------------


def _audience_text(survey_audience: str, value: str) -> str:
    if survey_audience == Audience.UNIT:
        return value
    return texts.SURVEY_AUDIENCE_NAMES.get(survey_audience, survey_audience)


def _mode_text(anonymous: bool) -> str:
    return texts.SURVEY_MODE_ANONYMOUS if anonymous else texts.SURVEY_MODE_NAMED


def question_lines(questions: Sequence[Question]) -> str:
    """The questions as officers and organizers read them in a card."""
    lines: list[str] = []
    for number, question in enumerate(questions, start=1):
        lines.append(
            texts.SURVEY_QUESTION_LINE.format(
                number=number,
                prompt=question.prompt,
                kind=texts.SURVEY_KIND_NAMES[question.kind],
            )
        )
        if question.kind in rules.CHOICE_KINDS:
            lines.extend(texts.SURVEY_OPTION_LINE.format(option=o) for o in question.options)
        elif question.kind == QuestionKind.NUMBER:
            lines.append(texts.SURVEY_RANGE_LINE.format(low=question.low, high=question.high))
        else:
            lines.append(texts.SURVEY_TEXT_LINE)
    return "\n".join(lines)


def card_text(
    title: str,
    audience: str,
    value: str,
    deadline: datetime,
    anonymous: bool,
    questions: Sequence[Question],
    zone: ZoneInfo,
) -> str:
    """The whole survey as one card."""
    return texts.SURVEY_CARD.format(
        title=title,
        audience=_audience_text(audience, value),
        deadline=moment_text(deadline, zone),
        mode=_mode_text(anonymous),
        questions=question_lines(questions),
    )


def announcement_text(survey: Survey, count: int, zone: ZoneInfo) -> str:
    """What the audience is sent when a survey is published."""
    text = texts.SURVEY_ANNOUNCEMENT.format(
        title=survey.title,
        count=count,
        mode=_mode_text(survey.anonymous),
        deadline=moment_text(survey.deadline, zone),
    )
    return text + ("\n" + texts.SURVEY_ANONYMOUS_NOTE if survey.anonymous else "")


def start_markup(survey_id: int) -> InlineKeyboardMarkup:
    """📝 开始填写 under an announcement or a reminder."""
    data = SurveyAction("fill", survey_id).pack()
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.SURVEY_START_BUTTON, callback_data=data)]]
    )


def _problem_text(problem: Problem, question: Question | None = None) -> str:
    low = question.low if question is not None else ""
    high = question.high if question is not None else ""
    return texts.SURVEY_PROBLEMS[problem.value].format(low=low, high=high)


def _rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]


# === building a survey ========================================================================


class BuildState(StrEnum):
    """The steps of building a survey."""

    TITLE = "title"
    AUDIENCE = "audience"
    UNIT = "unit"
    DEADLINE = "deadline"
    MODE = "mode"
    KIND = "kind"
    PROMPT = "prompt"
    OPTIONS = "options"
    RANGE = "range"
    PREVIEW = "preview"


@dataclass(frozen=True)
class BuildDraft(Draft):
    """A survey so far, and the question being added (`kind`, `prompt`, `options`)."""

    title: str = ""
    audience: str = ""
    # The unit; None until chosen ("" for an audience that names none).
    audience_value: str | None = None
    # The units offered at their step: the buttons point into this list.
    choices: tuple[str, ...] = ()
    deadline: datetime | None = None
    anonymous: bool | None = None
    questions: tuple[Question, ...] = ()
    kind: str = ""
    prompt: str = ""
    options: tuple[str, ...] = ()


_BUILD_ORDER = tuple(BuildState)


def _build_ready(state: BuildState, draft: BuildDraft) -> bool:
    """True if the draft holds what its step needs."""
    needs = [
        (BuildState.AUDIENCE, bool(draft.title)),
        (BuildState.DEADLINE, draft.audience_value is not None),
        (BuildState.MODE, draft.deadline is not None),
        (BuildState.KIND, draft.anonymous is not None),
    ]
    rank = _BUILD_ORDER.index(state)
    if state == BuildState.UNIT:
        return bool(draft.title) and bool(draft.choices)
    for needed_from, held in needs:
        if rank >= _BUILD_ORDER.index(needed_from) and not held:
            return False
    asking = state in (BuildState.PROMPT, BuildState.OPTIONS, BuildState.RANGE)
    if asking and draft.kind not in tuple(QuestionKind):
        return False
    if state in (BuildState.OPTIONS, BuildState.RANGE) and not draft.prompt:
        return False
    return state != BuildState.PREVIEW or bool(draft.questions)


BUILD = Flow(BUILD_NAME, BuildState, BuildDraft, SurveyStep, access=BUILDER, ready=_build_ready)
BuildPress = Pressed[BuildState, BuildDraft, SurveyStep]
BuildText = Typed[BuildState, BuildDraft]


def _step(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=SurveyStep(flow, action, value).pack())


def _title_markup(flow: str) -> InlineKeyboardMarkup:
    templates = rules.load_templates()
    return InlineKeyboardMarkup(
        [
            [_step(texts.SURVEY_TEMPLATE_BUTTON.format(title=t.title), flow, "template", key)]
            for key, t in templates.items()
        ]
    )


def _audience_markup(flow: str) -> InlineKeyboardMarkup:
    buttons = [_step(name, flow, "audience", key) for key, name in texts.SURVEY_AUDIENCE_BUTTONS]
    return InlineKeyboardMarkup(_rows(buttons))


def _unit_markup(flow: str, units: Sequence[str]) -> InlineKeyboardMarkup:
    # A unit's place in the draft's list: its name may not fit in 64 bytes.
    return InlineKeyboardMarkup(
        _rows([_step(unit, flow, "unit", str(index)) for index, unit in enumerate(units)])
    )


def _deadline_markup(flow: str) -> InlineKeyboardMarkup:
    buttons = [
        _step(name, flow, "deadline", str(days)) for days, name in texts.SURVEY_DEADLINE_BUTTONS
    ]
    return InlineKeyboardMarkup([buttons])


def _mode_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _step(texts.SURVEY_NAMED_BUTTON, flow, "mode", "named"),
                _step(texts.SURVEY_ANONYMOUS_BUTTON, flow, "mode", "anonymous"),
            ]
        ]
    )


def _kind_markup(flow: str, questions: int) -> InlineKeyboardMarkup:
    rows = _rows([_step(name, flow, "kind", key) for key, name in texts.SURVEY_KIND_BUTTONS])
    if questions:
        rows.append([_step(texts.SURVEY_DONE_QUESTIONS_BUTTON, flow, "qdone")])
    return InlineKeyboardMarkup(rows)


def _options_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_step(texts.SURVEY_OPTIONS_DONE_BUTTON, flow, "optdone")]])


def _preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _step(texts.SURVEY_PUBLISH_BUTTON, flow, "confirm"),
                _step(texts.SURVEY_DISCARD_BUTTON, flow, "cancel"),
            ]
        ]
    )


def _kind_question(draft: BuildDraft) -> str:
    so_far = ""
    if draft.questions:
        so_far = texts.SURVEY_SO_FAR.format(
            count=len(draft.questions), questions=question_lines(draft.questions)
        )
    return texts.SURVEY_ASK_KIND.format(so_far=so_far, number=len(draft.questions) + 1)


def _step_question(state: BuildState, draft: BuildDraft) -> tuple[str, InlineKeyboardMarkup | None]:
    """A step's question and its buttons (asked again when text comes where a button is
    wanted: the buttons may never have arrived)."""
    flow = draft.flow
    number = len(draft.questions) + 1
    kind = texts.SURVEY_KIND_NAMES.get(draft.kind, "")
    asked: dict[BuildState, tuple[str, InlineKeyboardMarkup | None]] = {
        BuildState.TITLE: (texts.SURVEY_ASK_TITLE, _title_markup(flow)),
        BuildState.AUDIENCE: (texts.SURVEY_ASK_AUDIENCE, _audience_markup(flow)),
        BuildState.UNIT: (texts.SURVEY_ASK_UNIT, _unit_markup(flow, draft.choices)),
        BuildState.DEADLINE: (texts.SURVEY_ASK_DEADLINE, _deadline_markup(flow)),
        BuildState.MODE: (texts.SURVEY_ASK_MODE, _mode_markup(flow)),
        BuildState.KIND: (_kind_question(draft), _kind_markup(flow, len(draft.questions))),
        BuildState.PROMPT: (texts.SURVEY_ASK_PROMPT.format(number=number, kind=kind), None),
        BuildState.OPTIONS: (texts.SURVEY_ASK_OPTIONS, _options_markup(flow)),
        BuildState.RANGE: (texts.SURVEY_ASK_RANGE, None),
        BuildState.PREVIEW: (texts.SURVEY_REPEAT_STEP, _preview_markup(flow)),
    }
    return asked[state]


async def _go(update: Update, context: Context, state: BuildState, draft: BuildDraft) -> BuildState:
    """Commit the step, then ask its question."""
    question, markup = _step_question(state, draft)
    return await BUILD.advance(update, context, state, draft, question, markup)


@BUILD.entry()
async def start_new(update: Update, context: Context, _caller: Caller) -> BuildState:
    """/survey or /surveys 新建: an organizer starts building a survey."""
    return await _begin_build(update, context)


async def _begin_build(update: Update, context: Context) -> BuildState:
    draft = BuildDraft(BUILD.token())
    # A new survey replaces any flow left half-way, so its text cannot land elsewhere.
    BUILD.begin(update, context, BuildState.TITLE, draft)
    question, markup = _step_question(BuildState.TITLE, draft)
    await answer(update)
    await prompt(update, context, question, markup)
    return BuildState.TITLE


def _new_pressed(data: SurveyAction) -> bool:
    return data.action == "new"


@BUILD.entry_press(SurveyAction, BUILDER, accept=_new_pressed)
async def new_pressed(
    update: Update, context: Context, _data: SurveyAction, _caller: Caller
) -> BuildState:
    """➕ 新建问卷 in the organizers' list."""
    return await _begin_build(update, context)


async def _title(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.SURVEY_TEXT_ONLY)
        return None
    try:
        title = rules.check_text(text, rules.MAX_TITLE, Problem.TITLE_TOO_LONG)
    except SurveyInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, title=title)
    return await _go(update, context, BuildState.AUDIENCE, draft)


async def _template(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    """🏠 使用模板: its title and questions; the audience, deadline and mode are asked."""
    template = rules.load_templates().get(turn.data.value)
    if template is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    draft = dataclasses.replace(turn.draft, title=template.title, questions=template.questions)
    return await _go(update, context, BuildState.AUDIENCE, draft)


async def _audience(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value, draft = turn.data.value, turn.draft
    if value == Audience.UNIT:
        with services(context).database.session() as session:
            units = tuple(broadcasts.units_in_use(session))
        if not units:
            await answer(update, texts.SURVEY_NO_UNITS, alert=True)
            return None
        chosen = dataclasses.replace(draft, audience=Audience.UNIT, choices=units)
        return await _go(update, context, BuildState.UNIT, chosen)
    if value not in dict(texts.SURVEY_AUDIENCE_BUTTONS):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = dataclasses.replace(draft, audience=value, audience_value="")
    return await _go(update, context, BuildState.DEADLINE, chosen)


async def _unit(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value, units = turn.data.value, turn.draft.choices
    index = int(value) if value.isdigit() else -1
    if not 0 <= index < len(units):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = dataclasses.replace(turn.draft, audience_value=units[index], choices=())
    return await _go(update, context, BuildState.DEADLINE, chosen)


async def _deadline_chosen(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    days = dict(texts.SURVEY_DEADLINE_BUTTONS)
    value = int(turn.data.value) if turn.data.value.isdigit() else 0
    if value not in days:
        await answer(update, texts.STALE_BUTTON)
        return None
    deadline = rules.deadline_in(value, utcnow(), services(context).zone)
    return await _go(
        update, context, BuildState.MODE, dataclasses.replace(turn.draft, deadline=deadline)
    )


async def _deadline_typed(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.SURVEY_TEXT_ONLY)
        return None
    try:
        deadline = rules.parse_deadline(text, services(context).zone, utcnow())
    except SurveyInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    return await _go(
        update, context, BuildState.MODE, dataclasses.replace(turn.draft, deadline=deadline)
    )


async def _mode(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    if turn.data.value not in ("named", "anonymous"):
        await answer(update, texts.STALE_BUTTON)
        return None
    draft = dataclasses.replace(turn.draft, anonymous=turn.data.value == "anonymous")
    if draft.questions:  # a template's: straight to the preview
        return await _preview(update, context, draft)
    return await _go(update, context, BuildState.KIND, draft)


async def _kind(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    if turn.data.value not in tuple(QuestionKind):
        await answer(update, texts.STALE_BUTTON)
        return None
    if len(turn.draft.questions) >= rules.MAX_QUESTIONS:
        await answer(update, texts.SURVEY_TOO_MANY_QUESTIONS, alert=True)
        return None
    draft = dataclasses.replace(turn.draft, kind=turn.data.value, prompt="", options=())
    return await _go(update, context, BuildState.PROMPT, draft)


async def _questions_done(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    """✅ 完成题目: the preview."""
    if not turn.draft.questions:
        await answer(update, texts.SURVEY_NEED_QUESTION, alert=True)
        return None
    return await _preview(update, context, turn.draft)


async def _added(
    update: Update, context: Context, draft: BuildDraft, question: Question
) -> BuildState:
    """The question joins the survey; on to the next one's kind."""
    questions = (*draft.questions, question)
    fresh = dataclasses.replace(draft, questions=questions, kind="", prompt="", options=())
    return await _go(update, context, BuildState.KIND, fresh)


async def _prompt(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.SURVEY_TEXT_ONLY)
        return None
    try:
        asked = rules.check_text(text, rules.MAX_PROMPT, Problem.PROMPT_TOO_LONG)
    except SurveyInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, prompt=asked)
    kind = QuestionKind(draft.kind)
    if kind in rules.CHOICE_KINDS:
        return await _go(update, context, BuildState.OPTIONS, draft)
    if kind == QuestionKind.NUMBER:
        return await _go(update, context, BuildState.RANGE, draft)
    return await _added(update, context, draft, Question(QuestionKind.TEXT, asked))


async def _options(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.SURVEY_TEXT_ONLY)
        return None
    try:
        options = rules.parse_options(text, turn.draft.options)
    except SurveyInputError as exc:
        await prompt(update, context, _problem_text(exc.problem), _options_markup(turn.draft.flow))
        return None
    draft = dataclasses.replace(turn.draft, options=options)
    so_far = texts.SURVEY_OPTIONS_SO_FAR.format(options="、".join(options))
    return await BUILD.advance(
        update, context, BuildState.OPTIONS, draft, so_far, _options_markup(draft.flow)
    )


async def _options_done(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    draft = turn.draft
    if not rules.enough_options(draft.options):
        await answer(update, texts.SURVEY_NEED_OPTIONS, alert=True)
        return None
    question = Question(QuestionKind(draft.kind), draft.prompt, draft.options)
    return await _added(update, context, draft, question)


async def _range(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.SURVEY_TEXT_ONLY)
        return None
    try:
        low, high = rules.parse_range(text)
    except SurveyInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    draft = turn.draft
    return await _added(
        update, context, draft, Question(QuestionKind.NUMBER, draft.prompt, (), low, high)
    )


def _audience_count(context: Context, draft: BuildDraft) -> int:
    with services(context).database.session() as session:
        return len(storage.audience(session, draft.audience, draft.audience_value or ""))


async def _preview(update: Update, context: Context, draft: BuildDraft) -> BuildState:
    """The survey as officers will read it, how many it reaches, and 发布 / 取消."""
    assert draft.deadline is not None and draft.anonymous is not None
    card = card_text(
        draft.title,
        draft.audience,
        draft.audience_value or "",
        draft.deadline,
        draft.anonymous,
        draft.questions,
        services(context).zone,
    )
    text = texts.SURVEY_PREVIEW.format(card=card, count=_audience_count(context, draft))
    return await BUILD.preview(
        update, context, BuildState.PREVIEW, draft, text, _preview_markup(draft.flow)
    )


async def _publish(update: Update, context: Context, turn: BuildPress) -> BuildState | int | None:
    """发布: the survey, its announcement to the audience and the audit entry, in one
    transaction; the sender sends the announcement after the commit."""
    found = services(context)
    now = utcnow()
    survey_id, total, late = 0, 0, False
    with BUILD.taking(update, context, BuildState.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            assert draft.deadline is not None and draft.anonymous is not None
            if draft.deadline <= now:
                late = True
                session.rollback()
            else:
                survey = storage.create(
                    session,
                    Survey(
                        title=draft.title,
                        audience=draft.audience,
                        audience_value=draft.audience_value or "",
                        deadline=draft.deadline,
                        anonymous=draft.anonymous,
                        created_by=turn.caller.actor,
                    ),
                    draft.questions,
                )
                assert survey.id is not None
                survey_id = survey.id
                recipients = storage.audience(session, survey.audience, survey.audience_value)
                total = broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=announcement_text(survey, len(draft.questions), found.zone),
                    recipients=recipients,
                    created_by=turn.caller.actor,
                    buttons=start_markup(survey_id).to_json(),
                    # An announcement still waiting at the deadline is of no use any more.
                    expires_at=survey.deadline,
                ).total
                audit.record(
                    session,
                    actor=turn.caller.actor,
                    action="survey.create",
                    target=f"survey:{survey_id}",
                    audience=survey.audience,
                    scope=survey.audience_value,
                    anonymous=survey.anonymous,
                    questions=len(draft.questions),
                    told=total,
                )
    if draft is None:
        await BUILD.expire(update)
        return None
    if late:
        # The preview sat open past its deadline: back to the deadline step.
        fresh = dataclasses.replace(draft, deadline=None)
        question, markup = _step_question(BuildState.DEADLINE, fresh)
        return await BUILD.advance(
            update,
            context,
            BuildState.DEADLINE,
            fresh,
            texts.SURVEY_DEADLINE_PASSED + "\n" + question,
            markup,
        )
    await answer(update)
    done = texts.SURVEY_PUBLISHED if total else texts.SURVEY_PUBLISHED_NOBODY
    await show_step(update, context, done.format(id=survey_id, count=total))
    # Woken after the organizer's own confirmation, so theirs comes first in their chat.
    found.broadcaster.wake()
    return END


async def _build_repeat(update: Update, context: Context, turn: BuildText) -> None:
    """Text where a button is wanted: the step's question again, with its buttons."""
    question, markup = _step_question(turn.state, turn.draft)
    await prompt(update, context, texts.SURVEY_REPEAT_STEP + "\n" + question, markup)


# === answering a survey =======================================================================


class FillState(StrEnum):
    """The steps of answering: a question, then the summary."""

    QUESTION = "question"
    SUMMARY = "summary"


@dataclass(frozen=True)
class FillDraft(Draft):
    """One officer's answers so far: choices and numbers by question (its place, as text),
    the text answers sealed together as one JSON object."""

    survey_id: int = 0
    index: int = 0
    total: int = 0
    chosen: dict[str, list[int]] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)
    texts: Sealed | None = None
    # The update that began the fill: an anonymous submission blanks the officer's stored
    # updates from there on (storage.inbox.erase_since); 0 (a draft from before): all of them.
    first_update: int = 0


def _fill_ready(state: FillState, draft: FillDraft) -> bool:
    if draft.survey_id <= 0 or draft.total <= 0:
        return False
    if state == FillState.SUMMARY:
        return draft.index == draft.total
    return 0 <= draft.index < draft.total


FILL = Flow(FILL_NAME, FillState, FillDraft, SurveyFill, access=OFFICER, ready=_fill_ready)
FillPress = Pressed[FillState, FillDraft, SurveyFill]
FillText = Typed[FillState, FillDraft]


def _texts_of(context: Context, draft: FillDraft) -> dict[str, str]:
    if not draft.texts:
        return {}
    loaded = json.loads(services(context).cipher.decrypt(draft.texts))
    return {str(key): str(value) for key, value in loaded.items()}


def _with_text(context: Context, draft: FillDraft, position: int, text: str) -> FillDraft:
    held = _texts_of(context, draft)
    held[str(position)] = text
    sealed = services(context).cipher.encrypt(json.dumps(held, ensure_ascii=False))
    return dataclasses.replace(draft, texts=Sealed(sealed))


def _answer_text(question: Question, draft: FillDraft, held: dict[str, str], position: int) -> str:
    """The answer given so far to one question, as the officer reads it ("" if none)."""
    key = str(position)
    if question.kind in rules.CHOICE_KINDS:
        return "、".join(
            question.options[index]
            for index in draft.chosen.get(key, [])
            if 0 <= index < len(question.options)
        )
    if question.kind == QuestionKind.NUMBER:
        return str(draft.numbers[key]) if key in draft.numbers else ""
    return held.get(key, "")


def _fill(text: str, flow: str, action: str, step: int, value: int = 1) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=SurveyFill(flow, action, step, value).pack())


def _question_view(
    context: Context, survey: Survey, questions: Sequence[Question], draft: FillDraft
) -> tuple[str, InlineKeyboardMarkup]:
    """The current question, its buttons, ◀ 上一题 and 稍后再填."""
    index = draft.index
    question = questions[index]
    step = index + 1
    chosen = draft.chosen.get(str(index), [])
    hints = {
        QuestionKind.SINGLE: "",
        QuestionKind.MULTIPLE: texts.SURVEY_HINT_MULTIPLE,
        QuestionKind.NUMBER: texts.SURVEY_HINT_NUMBER.format(low=question.low, high=question.high),
        QuestionKind.TEXT: texts.SURVEY_HINT_TEXT,
    }
    hint = hints[question.kind]
    given = _answer_text(question, draft, _texts_of(context, draft), index)
    if given and question.kind not in rules.CHOICE_KINDS:
        hint += texts.SURVEY_HINT_ANSWERED.format(answer=given)
    text = texts.SURVEY_QUESTION.format(
        title=survey.title, number=step, total=len(questions), prompt=question.prompt, hint=hint
    )
    rows: list[list[InlineKeyboardButton]] = []
    if question.kind in rules.CHOICE_KINDS:
        action = "pick" if question.kind == QuestionKind.SINGLE else "toggle"
        for place, option in enumerate(question.options):
            mark = texts.SURVEY_CHOSEN_MARK if place in chosen else ""
            rows.append([_fill(mark + option, draft.flow, action, step, place + 1)])
    if question.kind == QuestionKind.MULTIPLE or (
        given and question.kind not in rules.CHOICE_KINDS
    ):
        label = (
            texts.SURVEY_NEXT_BUTTON
            if question.kind == QuestionKind.MULTIPLE
            else texts.SURVEY_KEEP_BUTTON
        )
        rows.append([_fill(label, draft.flow, "next", step)])
    last = []
    if index > 0:
        last.append(_fill(texts.SURVEY_BACK_BUTTON, draft.flow, "back", step))
    last.append(_fill(texts.SURVEY_LATER_BUTTON, draft.flow, "later", step))
    rows.append(last)
    return text, InlineKeyboardMarkup(rows)


def _summary_view(
    context: Context, survey: Survey, questions: Sequence[Question], draft: FillDraft
) -> tuple[str, InlineKeyboardMarkup]:
    held = _texts_of(context, draft)
    lines = [
        texts.SURVEY_SUMMARY_LINE.format(
            number=position + 1,
            prompt=question.prompt,
            answer=_answer_text(question, draft, held, position),
        )
        for position, question in enumerate(questions)
    ]
    note = texts.SURVEY_ANONYMOUS_NOTE + "\n" if survey.anonymous else ""
    text = texts.SURVEY_SUMMARY.format(title=survey.title, answers="\n".join(lines), note=note)
    step = draft.total + 1
    markup = InlineKeyboardMarkup(
        [
            [_fill(texts.SURVEY_SUBMIT_BUTTON, draft.flow, "submit", step)],
            [
                _fill(texts.SURVEY_BACK_BUTTON, draft.flow, "back", step),
                _fill(texts.SURVEY_LATER_BUTTON, draft.flow, "later", step),
            ],
        ]
    )
    return text, markup


def _load(context: Context, survey_id: int) -> tuple[Survey | None, list[Question]]:
    with services(context).database.session() as session:
        survey = storage.get(session, survey_id)
        questions = storage.questions_of(session, survey_id) if survey is not None else []
    return survey, questions


def _refusal(survey: Survey | None, now: datetime) -> str | None:
    """Why this survey takes no answers now, in one sentence; None if it does."""
    if survey is None:
        return texts.SURVEY_GONE
    if survey.status != SurveyStatus.OPEN:
        return texts.SURVEY_CLOSED
    if survey.deadline <= now:
        return texts.SURVEY_LATE
    return None


async def _show_fill(
    update: Update,
    context: Context,
    state: FillState,
    draft: FillDraft,
    survey: Survey,
    questions: Sequence[Question],
) -> FillState:
    """Commit where the officer is, then show that question (or the summary)."""
    view = _summary_view if state == FillState.SUMMARY else _question_view
    text, markup = view(context, survey, questions, draft)
    return await FILL.advance(update, context, state, draft, text, markup)


def _fill_pressed(data: SurveyAction) -> bool:
    return data.action == "fill"


@FILL.entry_press(SurveyAction, OFFICER, accept=_fill_pressed)
async def start_fill(
    update: Update, context: Context, data: SurveyAction, caller: Caller
) -> FillState | int:
    """📝 开始填写: the first question, in the pressed message; refused in one sentence when
    the survey is closed, past its deadline, not for this officer or already answered."""
    found = services(context)
    assert caller.officer.id is not None
    with found.database.session() as session:
        survey = storage.get(session, data.survey_id)
        questions = storage.questions_of(session, data.survey_id) if survey else []
        refusal = _refusal(survey, utcnow())
        if refusal is None and survey is not None:
            if not storage.in_audience(survey, caller.officer):
                refusal = texts.SURVEY_NOT_FOR_YOU
            elif storage.has_answered(session, data.survey_id, caller.officer.id):
                refusal = texts.SURVEY_ALREADY
    if refusal is not None or survey is None or not questions:
        await answer(update, refusal or texts.SURVEY_GONE, alert=True)
        return END
    draft = FillDraft(
        FILL.token(),
        survey_id=data.survey_id,
        total=len(questions),
        first_update=update.update_id,
    )
    FILL.begin(update, context, FillState.QUESTION, draft)
    return await _show_fill(update, context, FillState.QUESTION, draft, survey, questions)


async def _current(
    update: Update, context: Context, turn: FillPress
) -> tuple[Survey, list[Question]] | None:
    """The survey of a press at its own step; None once answered (outdated, closed…)."""
    if turn.data.step != turn.draft.index + 1:
        # A button of another question (a double press, an older rendering).
        await FILL.expire(update)
        return None
    survey, questions = _load(context, turn.draft.survey_id)
    refusal = _refusal(survey, utcnow())
    if refusal is not None or survey is None or len(questions) != turn.draft.total:
        FILL.forget(update, context)
        await answer(update, refusal or texts.SURVEY_GONE, alert=True)
        return None
    return survey, questions


async def _next_of(
    update: Update,
    context: Context,
    draft: FillDraft,
    survey: Survey,
    questions: Sequence[Question],
) -> FillState:
    moved = dataclasses.replace(draft, index=draft.index + 1)
    state = FillState.SUMMARY if moved.index == moved.total else FillState.QUESTION
    return await _show_fill(update, context, state, moved, survey, questions)


async def _pick(update: Update, context: Context, turn: FillPress) -> FillState | None:
    """One choice: recorded, on to the next question."""
    loaded = await _current(update, context, turn)
    if loaded is None:
        return None
    survey, questions = loaded
    question = questions[turn.draft.index]
    try:
        picked = rules.check_choices(question, [turn.data.value - 1])
    except SurveyInputError:
        await FILL.expire(update)
        return None
    chosen = {**turn.draft.chosen, str(turn.draft.index): list(picked)}
    draft = dataclasses.replace(turn.draft, chosen=chosen)
    return await _next_of(update, context, draft, survey, questions)


async def _toggle(update: Update, context: Context, turn: FillPress) -> FillState | None:
    """Several choices: one on or off; the same question again."""
    loaded = await _current(update, context, turn)
    if loaded is None:
        return None
    survey, questions = loaded
    question = questions[turn.draft.index]
    place = turn.data.value - 1
    if question.kind != QuestionKind.MULTIPLE or not 0 <= place < len(question.options):
        await FILL.expire(update)
        return None
    key = str(turn.draft.index)
    current = set(turn.draft.chosen.get(key, []))
    current ^= {place}
    draft = dataclasses.replace(turn.draft, chosen={**turn.draft.chosen, key: sorted(current)})
    return await _show_fill(update, context, FillState.QUESTION, draft, survey, questions)


async def _next(update: Update, context: Context, turn: FillPress) -> FillState | None:
    """下一题 (several choices) or 保持原答案: only with an answer."""
    loaded = await _current(update, context, turn)
    if loaded is None:
        return None
    survey, questions = loaded
    question = questions[turn.draft.index]
    given = _answer_text(question, turn.draft, _texts_of(context, turn.draft), turn.draft.index)
    if not given:
        await answer(update, texts.SURVEY_PROBLEMS["no_choice"], alert=True)
        return None
    return await _next_of(update, context, turn.draft, survey, questions)


async def _back(update: Update, context: Context, turn: FillPress) -> FillState | None:
    """◀ 上一题: the previous question, its answer kept until changed."""
    loaded = await _current(update, context, turn)
    if loaded is None or turn.draft.index == 0:
        if loaded is not None:
            await FILL.expire(update)
        return None
    survey, questions = loaded
    draft = dataclasses.replace(turn.draft, index=turn.draft.index - 1)
    return await _show_fill(update, context, FillState.QUESTION, draft, survey, questions)


async def _later(update: Update, context: Context, turn: FillPress) -> int | None:
    """稍后再填: nothing is kept; /surveys starts it again."""
    if turn.data.step != turn.draft.index + 1:
        await FILL.expire(update)
        return None
    FILL.forget(update, context)
    await answer(update)
    await show_step(update, context, texts.SURVEY_LATER)
    return END


async def _typed_answer(update: Update, context: Context, turn: FillText) -> FillState | int | None:
    """A number or a short text typed at its question; buttons are wanted elsewhere."""
    survey, questions = _load(context, turn.draft.survey_id)
    refusal = _refusal(survey, utcnow())
    if refusal is not None or survey is None or len(questions) != turn.draft.total:
        FILL.forget(update, context)
        await prompt(update, context, refusal or texts.SURVEY_GONE)
        return END
    draft = turn.draft
    question = questions[draft.index]
    text = turn.message.text
    if question.kind in rules.CHOICE_KINDS or text is None:
        view_text, markup = _question_view(context, survey, questions, draft)
        await prompt(update, context, texts.SURVEY_USE_BUTTONS + "\n\n" + view_text, markup)
        return None
    try:
        if question.kind == QuestionKind.NUMBER:
            number = rules.parse_number(text, question.low, question.high)
            draft = dataclasses.replace(draft, numbers={**draft.numbers, str(draft.index): number})
        else:
            draft = _with_text(context, draft, draft.index, rules.check_answer_text(text))
    except SurveyInputError as exc:
        await prompt(update, context, _problem_text(exc.problem, question))
        return None
    return await _next_of(update, context, draft, survey, questions)


async def _summary_typed(update: Update, context: Context, turn: FillText) -> None:
    survey, questions = _load(context, turn.draft.survey_id)
    if survey is None:
        return
    text, markup = _summary_view(context, survey, questions, turn.draft)
    await prompt(update, context, texts.SURVEY_USE_BUTTONS + "\n\n" + text, markup)


def _answers_of(
    context: Context, draft: FillDraft, questions: Sequence[Question]
) -> list[AnswerIn] | None:
    """The answers to submit, each checked again; None if one is missing."""
    held = _texts_of(context, draft)
    found: list[AnswerIn] = []
    for position, question in enumerate(questions):
        key = str(position)
        try:
            if question.kind in rules.CHOICE_KINDS:
                chosen = rules.check_choices(question, draft.chosen.get(key, []))
                found.append(AnswerIn(position, choices=chosen))
            elif question.kind == QuestionKind.NUMBER:
                if key not in draft.numbers:
                    return None
                number = draft.numbers[key]
                rules.parse_number(str(number), question.low, question.high)
                found.append(AnswerIn(position, number=number))
            else:
                found.append(AnswerIn(position, text=rules.check_answer_text(held.get(key, ""))))
        except SurveyInputError:
            return None
    return found


def _forget_the_fill(session: Session, update: Update, draft: FillDraft) -> None:
    """With the anonymous answers: the officer's stored updates of this fill (presses, typed
    answers) are blanked, so that nothing kept links the answers to them."""
    if update.effective_user is None:
        return
    inbox_storage.erase_since(
        session, update.effective_user.id, draft.first_update, update.update_id
    )


async def _submit(update: Update, context: Context, turn: FillPress) -> int | None:
    """提交: the answers and the has-answered row, once (a second press finds nothing)."""
    found = services(context)
    caller = turn.caller
    assert caller.officer.id is not None
    outcome = Submitted.GONE
    title = ""
    with FILL.taking(update, context, FillState.SUMMARY, turn.data.flow) as (session, draft):
        if draft is not None:
            survey = storage.get(session, draft.survey_id)
            questions = storage.questions_of(session, draft.survey_id)
            answers = _answers_of(context, draft, questions) if survey is not None else None
            if survey is not None and survey.title:
                title = survey.title
            if (
                answers is not None
                and survey is not None
                and not storage.in_audience(survey, caller.officer)
            ):
                outcome = Submitted.GONE
            elif answers is not None:
                outcome = storage.submit(
                    session,
                    draft.survey_id,
                    caller.officer.id,
                    answers,
                    cipher=found.cipher,
                    now=utcnow(),
                )
                if outcome is Submitted.STORED and survey is not None and survey.anonymous:
                    _forget_the_fill(session, update, draft)
    if draft is None:
        await FILL.expire(update)
        return None
    words = {
        Submitted.STORED: texts.SURVEY_SUBMITTED.format(title=title),
        Submitted.ALREADY: texts.SURVEY_ALREADY,
        Submitted.CLOSED: texts.SURVEY_CLOSED,
        Submitted.LATE: texts.SURVEY_LATE,
        Submitted.GONE: texts.SURVEY_GONE,
    }
    await answer(update)
    await show_step(update, context, words[outcome])
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel in a survey flow: drop the draft (and any other unfinished flow)."""
    with services(context).database.session() as session:
        dropped = conversations.delete_all_for(session, conversation_key(update))
    await reply(update, context, texts.CANCELLED if dropped else texts.NOTHING_TO_CANCEL)
    return END


# === /surveys: officers' open surveys and the organizers' list ===================================


def _mine_view(
    entries: Sequence[tuple[Survey, bool]], zone: ZoneInfo
) -> tuple[str, list[list[InlineKeyboardButton]]]:
    if not entries:
        return texts.SURVEY_NONE_OPEN, []
    lines = [texts.SURVEY_LIST_MINE]
    rows = []
    for survey, answered in entries:
        assert survey.id is not None
        lines.append(
            texts.SURVEY_MINE_LINE.format(
                title=survey.title,
                deadline=moment_text(survey.deadline, zone),
                answered=texts.SURVEY_ANSWERED_MARK if answered else "",
            )
        )
        if not answered:
            label = texts.SURVEY_FILL_BUTTON.format(title=survey.title)
            rows.append(
                [InlineKeyboardButton(label, callback_data=SurveyAction("fill", survey.id).pack())]
            )
    return "\n".join(lines), rows


def _organizer_view(context: Context) -> tuple[str, InlineKeyboardMarkup]:
    found = services(context)
    now = utcnow()
    with found.database.session() as session:
        surveys = storage.recent(session)
        counts = {s.id: storage.respondents(session, s.id) for s in surveys if s.id is not None}
    lines = [texts.SURVEY_LIST_ORGANIZER if surveys else texts.SURVEY_LIST_EMPTY]
    rows = []
    for survey in surveys:
        assert survey.id is not None
        mark = texts.SURVEY_OPEN_MARK if storage.is_open(survey, now) else texts.SURVEY_ENDED_MARK
        line = texts.SURVEY_LIST_LINE.format(
            mark=mark,
            id=survey.id,
            title=survey.title,
            deadline=moment_text(survey.deadline, found.zone),
            count=counts.get(survey.id, 0),
        )
        lines.append(line)
        label = f"{mark} #{survey.id} {survey.title}"
        rows.append(
            [InlineKeyboardButton(label, callback_data=SurveyAction("open", survey.id).pack())]
        )
    rows.append(
        [InlineKeyboardButton(texts.SURVEY_NEW_BUTTON, callback_data=SurveyAction("new").pack())]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


@access()
async def surveys_command(update: Update, context: Context, caller: Caller) -> None:
    """/surveys: the open surveys this officer is asked; organizers also get the list."""
    found = services(context)
    with found.database.session() as session:
        entries = storage.open_for(session, caller.officer, utcnow())
    text, rows = _mine_view(entries, found.zone)
    if not caller.organizer or entries:
        await reply(update, context, text, InlineKeyboardMarkup(rows) if rows else None)
    if caller.organizer:
        listing, markup = _organizer_view(context)
        await reply(update, context, listing, markup)


def _panel(context: Context, survey: Survey) -> tuple[str, InlineKeyboardMarkup]:
    found = services(context)
    assert survey.id is not None
    with found.database.session() as session:
        questions = storage.questions_of(session, survey.id)
        answered = storage.respondents(session, survey.id)
        reach = len(storage.audience(session, survey.audience, survey.audience_value))
    now = utcnow()
    if survey.status != SurveyStatus.OPEN:
        status = texts.SURVEY_STATUS_CLOSED
    elif survey.deadline <= now:
        status = texts.SURVEY_STATUS_PAST
    else:
        status = texts.SURVEY_STATUS_OPEN
    card = card_text(
        survey.title,
        survey.audience,
        survey.audience_value,
        survey.deadline,
        survey.anonymous,
        questions,
        found.zone,
    )
    text = texts.SURVEY_PANEL.format(card=card, status=status, answered=answered, audience=reach)

    def button(label: str, action: str) -> InlineKeyboardButton:
        assert survey.id is not None
        return InlineKeyboardButton(label, callback_data=SurveyAction(action, survey.id).pack())

    rows = [
        [
            button(texts.SURVEY_RESULTS_BUTTON, "results"),
            button(texts.SURVEY_EXPORT_BUTTON, "export"),
        ]
    ]
    if storage.is_open(survey, now):
        rows.append([button(texts.SURVEY_CLOSE_BUTTON, "close")])
    rows.append([button(texts.SURVEY_LIST_BUTTON, "list")])
    return text, InlineKeyboardMarkup(rows)


def results_text(context: Context, survey: Survey) -> str:
    """Counts and shares per option, median and range of numbers, the first texts."""
    found = services(context)
    assert survey.id is not None
    with found.database.session() as session:
        results = storage.results(session, survey.id)
        count = storage.respondents(session, survey.id)
        shown = {
            position: storage.texts(session, survey.id, position, found.cipher, limit=TEXTS_SHOWN)
            for position, result in enumerate(results)
            if result.question.kind == QuestionKind.TEXT
        }
    blocks = []
    for position, result in enumerate(results):
        question = result.question
        lines = [
            texts.SURVEY_RESULT_QUESTION.format(
                number=position + 1, prompt=question.prompt, answered=result.answered
            )
        ]
        if question.kind in rules.CHOICE_KINDS:
            lines.extend(
                texts.SURVEY_RESULT_OPTION.format(option=o.option, count=o.count, share=o.share)
                for o in result.options
            )
        elif question.kind == QuestionKind.NUMBER:
            numbers = result.numbers
            lines.append(
                texts.SURVEY_RESULT_NUMBER.format(
                    median=rules.number_text(numbers.median), low=numbers.low, high=numbers.high
                )
                if numbers is not None
                else texts.SURVEY_RESULT_NOTHING
            )
        else:
            listed = shown.get(position, [])
            lines.extend(texts.SURVEY_RESULT_TEXT.format(text=t) for t in listed)
            if not listed:
                lines.append(texts.SURVEY_RESULT_NOTHING)
            if result.answered > len(listed):
                lines.append(
                    texts.SURVEY_RESULT_MORE_TEXTS.format(more=result.answered - len(listed))
                )
        blocks.append("\n".join(lines))
    return texts.SURVEY_RESULTS.format(
        title=survey.title, count=count, questions="\n\n".join(blocks)
    )


def workbook(
    survey: Survey, questions: Sequence[Question], responses: Sequence[storage.Response]
) -> bytes:
    """Every answer as XLSX: who answered what for a named survey, numbered rows for an
    anonymous one."""
    prompts = [f"{n}. {q.prompt}" for n, q in enumerate(questions, start=1)]
    head = texts.SURVEY_EXPORT_ANONYMOUS if survey.anonymous else texts.SURVEY_EXPORT_NAMED
    rows: list[list[Cell]] = []
    for number, response in enumerate(responses, start=1):
        row: list[Cell] = (
            [number] if survey.anonymous else [response.police_id, response.name, response.unit]
        )
        for position, question in enumerate(questions):
            given = response.answers.get(position)
            if given is None:
                row.append(None)
            elif question.kind in rules.CHOICE_KINDS:
                row.append(
                    "、".join(
                        question.options[i] for i in given.choices if i < len(question.options)
                    )
                )
            elif question.kind == QuestionKind.NUMBER:
                row.append(given.number)
            else:
                row.append(given.text)
        rows.append(row)
    buffer = io.BytesIO()
    write_workbook(
        rows,
        buffer,
        columns=[*head, *prompts],
        title=texts.SURVEY_EXPORT_SHEET,
        widths=XLSX_WIDTHS[: len(head)],
    )
    return buffer.getvalue()


def _managed(data: SurveyAction) -> bool:
    return data.action in ("open", "list", "results", "export", "close", "closeok")


@pressed(SurveyAction, MANAGER, accept=_managed)
async def manage(update: Update, context: Context, data: SurveyAction, caller: Caller) -> None:
    """The organizers' buttons: a survey's panel, the list, results, XLSX, closing."""
    found = services(context)
    if data.action == "list":
        await answer(update)
        text, markup = _organizer_view(context)
        await edit_or_send(update, context, text, markup)
        return
    with found.database.session() as session:
        survey = storage.get(session, data.survey_id)
    if survey is None or survey.id is None:
        await answer(update, texts.SURVEY_GONE, alert=True)
        return
    if data.action == "open":
        await answer(update)
        text, markup = _panel(context, survey)
        await edit_or_send(update, context, text, markup)
    elif data.action == "results":
        await answer(update)
        await reply(update, context, results_text(context, survey))
    elif data.action == "export":
        await _export(update, context, caller, survey)
    elif data.action == "close":
        await _ask_close(update, context, survey)
    else:
        await _close(update, context, caller, survey)


async def _export(update: Update, context: Context, caller: Caller, survey: Survey) -> None:
    found = services(context)
    assert survey.id is not None and update.effective_chat is not None
    with found.database.session() as session:
        questions = storage.questions_of(session, survey.id)
        responses = storage.responses(session, survey, found.cipher)
        audit.record(
            session,
            actor=caller.actor,
            action="survey.export",
            target=f"survey:{survey.id}",
            rows=len(responses),
        )
    await answer(update)
    document = InputFile(
        io.BytesIO(workbook(survey, questions, responses)), filename=f"survey-{survey.id}.xlsx"
    )
    await context.bot.send_document(
        update.effective_chat.id,
        document,
        caption=texts.SURVEY_EXPORT_CAPTION.format(
            title=survey.title, id=survey.id, count=len(responses)
        ),
    )


async def _ask_close(update: Update, context: Context, survey: Survey) -> None:
    assert survey.id is not None
    if survey.status != SurveyStatus.OPEN:
        await answer(update, texts.SURVEY_ALREADY_CLOSED, alert=True)
        return
    await answer(update)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.SURVEY_CLOSE_YES, callback_data=SurveyAction("closeok", survey.id).pack()
                ),
                InlineKeyboardButton(
                    texts.SURVEY_CLOSE_NO, callback_data=SurveyAction("open", survey.id).pack()
                ),
            ]
        ]
    )
    await edit_or_send(update, context, texts.SURVEY_CLOSE_ASK.format(title=survey.title), markup)


async def _close(update: Update, context: Context, caller: Caller, survey: Survey) -> None:
    """⏹ 确定结束: closed once; a second press hears it is closed already."""
    found = services(context)
    assert survey.id is not None
    with found.database.session() as session:
        closed = storage.close(session, survey.id, utcnow())
        count = storage.respondents(session, survey.id)
        if closed is not None:
            audit.record(
                session,
                actor=caller.actor,
                action="survey.close",
                target=f"survey:{survey.id}",
                answered=count,
            )
    if closed is None:
        await answer(update, texts.SURVEY_ALREADY_CLOSED, alert=True)
        return
    await answer(update)
    await edit_or_send(
        update, context, texts.SURVEY_CLOSED_DONE.format(title=survey.title, count=count)
    )


# === registration ===========================================================================

PressStep = Callable[[Update, Context, BuildPress], Awaitable[object]]


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The survey flows, /surveys and the organizers' buttons; before `menu`."""
    words = "|".join(NEW_WORDS)
    new_command = PRIVATE_MESSAGE & filters.Regex(rf"^/surveys(@\w+)?\s+({words})\s*$")
    fallbacks = [CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)]
    repeat = BUILD.typed(_build_repeat)
    build = BUILD.handler(
        entry_points=[
            CommandHandler("survey", start_new, filters=PRIVATE_MESSAGE),
            CommandHandler("surveys", start_new, filters=new_command),
            CallbackQueryHandler(new_pressed, pattern=r"^sva:new:"),
        ],
        states={
            BuildState.TITLE: [BUILD.press("template", _template), BUILD.typed(_title)],
            BuildState.AUDIENCE: [BUILD.press("audience", _audience), repeat],
            BuildState.UNIT: [BUILD.press("unit", _unit), repeat],
            BuildState.DEADLINE: [
                BUILD.press("deadline", _deadline_chosen),
                BUILD.typed(_deadline_typed),
            ],
            BuildState.MODE: [BUILD.press("mode", _mode), repeat],
            BuildState.KIND: [
                BUILD.press("kind", _kind),
                BUILD.press("qdone", _questions_done),
                repeat,
            ],
            BuildState.PROMPT: [BUILD.typed(_prompt)],
            BuildState.OPTIONS: [BUILD.press("optdone", _options_done), BUILD.typed(_options)],
            BuildState.RANGE: [BUILD.typed(_range)],
            BuildState.PREVIEW: [
                BUILD.press("confirm", _publish),
                BUILD.press("cancel", BUILD.cancel()),
                repeat,
            ],
        },
        fallbacks=fallbacks,
    )
    fill = FILL.handler(
        entry_points=[CallbackQueryHandler(start_fill, pattern=r"^sva:fill:")],
        states={
            FillState.QUESTION: [
                FILL.press("pick", _pick),
                FILL.press("toggle", _toggle),
                FILL.press("next", _next),
                FILL.press("back", _back),
                FILL.press("later", _later),
                FILL.typed(_typed_answer),
            ],
            FillState.SUMMARY: [
                FILL.press("submit", _submit),
                FILL.press("back", _back),
                FILL.press("later", _later),
                FILL.typed(_summary_typed),
            ],
        },
        fallbacks=fallbacks,
    )
    return [
        build,
        BUILD.outside(),
        fill,
        FILL.outside(),
        CommandHandler("surveys", surveys_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(manage, pattern=r"^sva:(open|list|results|export|close|closeok):"),
    ]
