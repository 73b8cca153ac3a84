"""Charity campaigns (慈善一日捐 / 慈善天天一捐): organizers open them, officers pledge,
organizers record what was paid, everyone sees the progress.

Opening (`/charity 新建`, ➕ 新建募捐; organizers only): name → year → target (yuan) →
suggested amounts (the defaults in one tap, or typed) → audience (everyone or a unit) → end date
(none, or typed as people write dates) → a preview of the announcement and how many it reaches
→ 发布: the campaign and its announcement (the broadcast engine, with 🙏 我要认捐) in one
transaction.

Pledging (🙏 我要认捐): a suggested amount, a typed one, or 📅 每天 X 元 × N 天 in two steps
(the daily sum, then the days); then a confirmation. One pledge per officer and campaign: a
second one replaces the first, and the confirmation says so ("将替换您之前的认捐 ¥X"); had the
pledge changed meanwhile (another device), nothing is written and the officer is asked again.

Recording (✍️ 登记缴款, 📤 导入缴款; organizers only): one payment by police ID or name (a
choice among those named alike), amount (or the pledged sum in one tap), date (今天 / 昨天 or
typed), confirmation; the officer is told. Or a payment file sent as a document: every bad line
is listed with its number and nothing is written, unless the organizer then imports the good
lines alone (as `--skip-invalid` does for `nuanjing charity import`).

Everyone (`/charity`): the open campaigns of their audience with progress (paid against the
target, how many gave), the totals per unit (a unit with fewer than three givers folded into
the rest: its total would be someone's amount), their own pledge and payments (📒 我的认捐).
Only organizers see one officer's amount, in the XLSX export.

Every flow commits each step before its prompt (handlers/flow.py); the final press takes its
draft in the transaction that writes, so a double press acts once.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import texts
from bot.rules import charity as rules
from bot.rules.charity import (
    CharityInputError,
    LineError,
    PaymentFileError,
    Problem,
    yuan,
)
from bot.rules.forgiving import Lean, parse_day
from bot.xlsx import Cell, write_workbook
from handlers.access import OFFICER, Access, access, action_of, pressed
from handlers.callbacks import CharityAction, CharityGive, CharityImport, CharityRecord, CharityStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    conversation_key,
    edit_or_send,
    notify,
    prompt,
    reply,
    show_step,
)
from handlers.context import services, union_today
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts, conversations, officers
from storage import charity as storage
from storage.charity import ImportReport, Outcome
from storage.models import Audience, BroadcastKind, CharityCampaign, Officer, Priority
from storage.types import utcnow

log = logging.getLogger(__name__)

BUILD_NAME = "charity_build"
GIVE_NAME = "charity_give"
RECORD_NAME = "charity_record"
IMPORT_NAME = "charity_import"
NEW_WORDS = ("新建", "new", "发起")
BUTTONS_PER_ROW = 2
DAILY_CHOICES = (1, 2, 5, 10)
DAYS_CHOICES = (30, 100, 365)
# Lines of a refused import listed in the chat; the rest are counted.
ERRORS_SHOWN = 20
XLSX_WIDTHS = (10, 10, 16, 10, 10, 8, 10, 8, 14)


# --- who may do what ------------------------------------------------------------------------


def _campaign_target(data: CharityAction) -> str:
    return f"charity:{data.campaign_id}"


# Opening a campaign: organizers (and admins); a forged or outdated press is audited.
BUILDER: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.charity_manage",
    target="charity:new",
    refusal=texts.CHARITY_NOT_ORGANIZER,
)
# Recording, importing, exporting and closing: organizers only.
MANAGER: Access[CharityAction] = Access(
    ORGANIZER_ROLES,
    forged="forged.charity_manage",
    target=_campaign_target,
    refusal=texts.CHARITY_NOT_ORGANIZER,
)
RECORDER: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.charity_record",
    target=action_of,
    refusal=texts.CHARITY_NOT_ORGANIZER,
)


# --- words ------------------------------------------------------------------------------------


def cap_of(context: Context) -> int:
    """The largest single pledge or payment the policy takes, in yuan."""
    return services(context).policy.charity.amount_cap


def problem_text(context: Context, problem: Problem) -> str:
    """A refused value in one sentence."""
    return texts.CHARITY_PROBLEMS[problem.value].format(cap=yuan(cap_of(context)), other="")


def line_reason(error: LineError, cap: int) -> str:
    """Why a line of a payment file was refused."""
    words = texts.CHARITY_LINE_AMOUNT_PROBLEMS.get(error.problem.value)
    if words is None:
        words = texts.CHARITY_PROBLEMS[error.problem.value]
    return words.format(cap=yuan(cap), other=error.other)


def error_lines(
    errors: Sequence[LineError], cap: int, shown: int | None = ERRORS_SHOWN
) -> list[str]:
    """The refused lines, one sentence each with its line number (the first `shown`)."""
    listed = errors if shown is None else errors[:shown]
    lines = [
        texts.CHARITY_LINE_ERROR.format(
            line=error.line,
            who=texts.CHARITY_LINE_WHO.format(police_id=error.police_id) if error.police_id else "",
            reason=line_reason(error, cap),
        )
        for error in listed
    ]
    return lines


def _audience_text(audience: str, value: str) -> str:
    return value if audience == Audience.UNIT else texts.CHARITY_EVERYONE


def _ends_text(ends_on: date | None) -> str:
    if ends_on is None:
        return texts.CHARITY_NO_END
    return texts.CHARITY_ENDS_ON.format(day=ends_on.isoformat())


def _amounts_text(amounts: Sequence[int]) -> str:
    return "、".join(yuan(amount) for amount in amounts)


def _suggested(campaign: CharityCampaign) -> tuple[int, ...]:
    return rules.suggested_of(campaign.suggested) or rules.DEFAULT_SUGGESTED


def announcement_text(
    name: str,
    year: int,
    target: int,
    suggested: Sequence[int],
    audience: str,
    value: str,
    ends_on: date | None,
) -> str:
    """What the audience is sent when a campaign is published."""
    return texts.CHARITY_ANNOUNCEMENT.format(
        name=name,
        year=year,
        target=yuan(target),
        audience=_audience_text(audience, value),
        suggested=_amounts_text(suggested),
        ends=_ends_text(ends_on),
    )


def pledge_markup(campaign_id: int) -> InlineKeyboardMarkup:
    """🙏 我要认捐 under an announcement or a card."""
    data = CharityAction("pledge", campaign_id).pack()
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(texts.CHARITY_PLEDGE_BUTTON, callback_data=data)]]
    )


def _rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def _action(label: str, action: str, campaign_id: int = 1) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=CharityAction(action, campaign_id).pack())


def _officer_label(officer: Officer) -> str:
    return texts.CHARITY_OFFICER_LABEL.format(
        name=officer.name, police_id=officer.police_id, unit=officer.unit or "—"
    )


def _refusal(campaign: CharityCampaign | None) -> str | None:
    """Why nothing more is recorded for this campaign, in one sentence; None if it is open."""
    if campaign is None:
        return texts.CHARITY_GONE
    if not storage.is_open(campaign):
        return texts.CHARITY_CLOSED
    return None


def _pledge_refusal(campaign: CharityCampaign | None, officer: Officer, today: date) -> str | None:
    """Why this officer may not pledge to this campaign now; None if they may."""
    refusal = _refusal(campaign)
    if refusal is not None or campaign is None:
        return refusal
    if not storage.in_audience(campaign, officer):
        return texts.CHARITY_NOT_FOR_YOU
    if not storage.takes_pledges(campaign, today):
        return texts.CHARITY_ENDED
    return None


OUTCOME_WORDS = {
    Outcome.CLOSED: texts.CHARITY_CLOSED,
    Outcome.ENDED: texts.CHARITY_ENDED,
    Outcome.GONE: texts.CHARITY_GONE,
    Outcome.CHANGED: texts.CHARITY_PLEDGE_CHANGED,
}


# === /charity: the open campaigns, a campaign's card, 我的认捐 =================================


def _status_mark(campaign: CharityCampaign, today: date) -> str:
    if not storage.is_open(campaign):
        return texts.CHARITY_STATUS_CLOSED
    if not storage.takes_pledges(campaign, today):
        return texts.CHARITY_STATUS_ENDED
    return ""


def card_text(context: Context, campaign: CharityCampaign, caller: Caller) -> str:
    """A campaign's progress as everyone may see it, the caller's own part at the end."""
    assert campaign.id is not None and caller.officer.id is not None
    with services(context).database.session() as session:
        figures = storage.progress(session, campaign.id)
        totals = storage.unit_totals(session, campaign.id)
        pledge = storage.pledge_of(session, campaign.id, caller.officer.id)
        mine = [m for m in storage.mine(session, caller.officer.id) if m.campaign.id == campaign.id]
    text = texts.CHARITY_CARD.format(
        name=campaign.name,
        year=campaign.year,
        status=_status_mark(campaign, union_today(context)),
        audience=_audience_text(campaign.audience, campaign.audience_value),
        ends=_ends_text(campaign.ends_on),
        target=yuan(campaign.target),
        paid=yuan(figures.paid),
        share=rules.share(figures.paid, campaign.target),
        givers=figures.givers,
        pledged=yuan(figures.pledged),
        pledgers=figures.pledgers,
    )
    shown, rest = rules.units_shown(totals)
    if shown or rest is not None:
        text += texts.CHARITY_CARD_UNITS
        for total in shown:
            text += texts.CHARITY_CARD_UNIT.format(
                unit=total.unit or "—", paid=yuan(total.paid), givers=total.givers
            )
        if rest is not None:
            if rules.rest_amount_shown(rest):
                text += texts.CHARITY_CARD_OTHER_UNITS.format(
                    paid=yuan(rest.paid), givers=rest.givers
                )
            else:
                text += texts.CHARITY_CARD_OTHER_GIVERS.format(givers=rest.givers)
            text += texts.CHARITY_CARD_UNITS_NOTE
    paid = mine[0].paid if mine else 0
    if pledge is not None or paid:
        text += texts.CHARITY_CARD_YOURS.format(
            pledged=yuan(pledge.amount) if pledge is not None else texts.CHARITY_MINE_NO_PLEDGE,
            paid=yuan(paid),
        )
    return text


def card_markup(campaign: CharityCampaign, caller: Caller, today: date) -> InlineKeyboardMarkup:
    """🙏 我要认捐 for those who may, 我的认捐, and the organizers' tools."""
    assert campaign.id is not None
    rows: list[list[InlineKeyboardButton]] = []
    if _pledge_refusal(campaign, caller.officer, today) is None:
        rows.append([_action(texts.CHARITY_PLEDGE_BUTTON, "pledge", campaign.id)])
    rows.append([_action(texts.CHARITY_MINE_BUTTON, "mine")])
    if caller.organizer:
        if storage.is_open(campaign):
            rows.append(
                [
                    _action(texts.CHARITY_RECORD_BUTTON, "record", campaign.id),
                    _action(texts.CHARITY_IMPORT_BUTTON, "import", campaign.id),
                ]
            )
        row = [_action(texts.CHARITY_EXPORT_BUTTON, "export", campaign.id)]
        if storage.is_open(campaign):
            row.append(_action(texts.CHARITY_CLOSE_BUTTON, "close", campaign.id))
        rows.append(row)
        rows.append([_action(texts.CHARITY_LIST_BUTTON, "list")])
    return InlineKeyboardMarkup(rows)


def _list_view(context: Context, caller: Caller) -> tuple[str, InlineKeyboardMarkup]:
    """Officers: the open campaigns of their audience with progress; organizers: every recent
    campaign and ➕ 新建募捐."""
    today = union_today(context)
    with services(context).database.session() as session:
        if caller.organizer:
            campaigns = storage.recent(session)
        else:
            campaigns = storage.open_for(session, caller.officer)
        figures = {c.id: storage.progress(session, c.id) for c in campaigns if c.id is not None}
    if caller.organizer:
        head = texts.CHARITY_LIST_ORGANIZER if campaigns else texts.CHARITY_LIST_EMPTY
    else:
        head = texts.CHARITY_LIST_MINE if campaigns else texts.CHARITY_NONE_OPEN
    lines = [head]
    rows = []
    for campaign in campaigns:
        assert campaign.id is not None
        progress = figures[campaign.id]
        open_now = storage.takes_pledges(campaign, today)
        lines.append(
            texts.CHARITY_LIST_LINE.format(
                mark=texts.CHARITY_OPEN_MARK if open_now else texts.CHARITY_ENDED_MARK,
                id=campaign.id,
                name=campaign.name,
                year=campaign.year,
                paid=yuan(progress.paid),
                target=yuan(campaign.target),
                share=rules.share(progress.paid, campaign.target),
                givers=progress.givers,
            )
        )
        label = texts.CHARITY_CAMPAIGN_BUTTON.format(name=campaign.name)
        rows.append([_action(label, "show", campaign.id)])
    rows.append([_action(texts.CHARITY_MINE_BUTTON, "mine")])
    if caller.organizer:
        rows.append([_action(texts.CHARITY_NEW_BUTTON, "new")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


@access()
async def charity_command(update: Update, context: Context, caller: Caller) -> None:
    """/charity: the open campaigns with their progress; organizers also manage them."""
    text, markup = _list_view(context, caller)
    await reply(update, context, text, markup)


def mine_text(context: Context, caller: Caller) -> str:
    """我的认捐: the caller's own pledges and the payments recorded for them."""
    assert caller.officer.id is not None
    with services(context).database.session() as session:
        entries = storage.mine(session, caller.officer.id)
    if not entries:
        return texts.CHARITY_MINE_NONE
    text = texts.CHARITY_MINE_HEAD
    for entry in entries:
        pledge = entry.pledge
        if pledge is None:
            pledged = texts.CHARITY_MINE_NO_PLEDGE
        else:
            pledged = yuan(pledge.amount)
            if pledge.daily is not None and pledge.days is not None:
                pledged += texts.CHARITY_DAILY_SUM.format(
                    daily=yuan(pledge.daily), days=pledge.days
                )
        payments = "".join(
            texts.CHARITY_MINE_PAYMENT.format(day=p.paid_on.isoformat(), amount=yuan(p.amount))
            for p in entry.payments
        )
        text += texts.CHARITY_MINE_ITEM.format(
            name=entry.campaign.name,
            year=entry.campaign.year,
            pledged=pledged,
            paid=yuan(entry.paid),
            payments=payments,
        )
    return text


def _officer_action(data: CharityAction) -> bool:
    return data.action in ("show", "mine", "list")


@pressed(CharityAction, OFFICER, accept=_officer_action)
async def browse(update: Update, context: Context, data: CharityAction, caller: Caller) -> None:
    """A campaign's card, the list, 我的认捐: for every bound officer (a campaign's card only
    for its audience and organizers)."""
    if data.action == "list":
        await answer(update)
        text, markup = _list_view(context, caller)
        await edit_or_send(update, context, text, markup)
        return
    if data.action == "mine":
        await answer(update)
        await reply(update, context, mine_text(context, caller))
        return
    with services(context).database.session() as session:
        campaign = storage.get(session, data.campaign_id)
    if campaign is None:
        await answer(update, texts.CHARITY_GONE, alert=True)
        return
    if not caller.organizer and not storage.in_audience(campaign, caller.officer):
        await answer(update, texts.CHARITY_NOT_FOR_YOU, alert=True)
        return
    await answer(update)
    markup = card_markup(campaign, caller, union_today(context))
    await edit_or_send(update, context, card_text(context, campaign, caller), markup)


# === opening a campaign =========================================================================


class BuildState(StrEnum):
    """The steps of opening a campaign."""

    NAME = "name"
    YEAR = "year"
    TARGET = "target"
    SUGGESTED = "suggested"
    AUDIENCE = "audience"
    UNIT = "unit"
    END = "end"
    PREVIEW = "preview"


@dataclass(frozen=True)
class BuildDraft(Draft):
    """A campaign so far; `ends_on` an ISO day ("" for none once `end_chosen`)."""

    name: str = ""
    year: int = 0
    target: int = 0
    suggested: tuple[int, ...] = ()
    audience: str = ""
    # The unit; None until chosen ("" for everyone).
    audience_value: str | None = None
    # The units offered at their step: the buttons point into this list.
    choices: tuple[str, ...] = ()
    end_chosen: bool = False
    ends_on: str = ""

    @property
    def end_day(self) -> date | None:
        """The end date, if one was given."""
        return date.fromisoformat(self.ends_on) if self.ends_on else None


_BUILD_ORDER = tuple(BuildState)


def _build_ready(state: BuildState, draft: BuildDraft) -> bool:
    """True if the draft holds what its step needs."""
    needs = [
        (BuildState.YEAR, bool(draft.name)),
        (BuildState.TARGET, draft.year > 0),
        (BuildState.SUGGESTED, draft.target > 0),
        (BuildState.AUDIENCE, bool(draft.suggested)),
        (BuildState.END, draft.audience_value is not None),
        (BuildState.PREVIEW, draft.end_chosen),
    ]
    if state == BuildState.UNIT:
        return bool(draft.suggested) and bool(draft.choices)
    rank = _BUILD_ORDER.index(state)
    return all(held for needed_from, held in needs if rank >= _BUILD_ORDER.index(needed_from))


BUILD = Flow(BUILD_NAME, BuildState, BuildDraft, CharityStep, access=BUILDER, ready=_build_ready)
BuildPress = Pressed[BuildState, BuildDraft, CharityStep]
BuildText = Typed[BuildState, BuildDraft]


def _step(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CharityStep(flow, action, value).pack())


def _build_question(
    state: BuildState, draft: BuildDraft, today: date
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A step's question and its buttons (asked again when text comes where a button is
    wanted)."""
    flow = draft.flow
    cancel = _step(texts.CHARITY_CANCEL_BUTTON, flow, "cancel")
    years = [
        _step(texts.CHARITY_YEAR_BUTTON.format(year=year), flow, "year", str(year))
        for year in (today.year, today.year + 1)
    ]
    default = texts.CHARITY_SUGGESTED_DEFAULT_BUTTON.format(
        amounts="/".join(str(amount) for amount in rules.DEFAULT_SUGGESTED)
    )
    audiences = [_step(name, flow, "audience", key) for key, name in texts.CHARITY_AUDIENCE_BUTTONS]
    units = [_step(unit, flow, "unit", str(index)) for index, unit in enumerate(draft.choices)]
    asked: dict[BuildState, tuple[str, InlineKeyboardMarkup | None]] = {
        BuildState.NAME: (texts.CHARITY_ASK_NAME, InlineKeyboardMarkup([[cancel]])),
        BuildState.YEAR: (texts.CHARITY_ASK_YEAR, InlineKeyboardMarkup([years, [cancel]])),
        BuildState.TARGET: (texts.CHARITY_ASK_TARGET, InlineKeyboardMarkup([[cancel]])),
        BuildState.SUGGESTED: (
            texts.CHARITY_ASK_SUGGESTED,
            InlineKeyboardMarkup([[_step(default, flow, "suggested", "default")], [cancel]]),
        ),
        BuildState.AUDIENCE: (texts.CHARITY_ASK_AUDIENCE, InlineKeyboardMarkup([audiences])),
        BuildState.UNIT: (texts.CHARITY_ASK_UNIT, InlineKeyboardMarkup(_rows(units))),
        BuildState.END: (
            texts.CHARITY_ASK_END,
            InlineKeyboardMarkup([[_step(texts.CHARITY_NO_END_BUTTON, flow, "end", "none")]]),
        ),
        BuildState.PREVIEW: (texts.CHARITY_REPEAT_STEP, _preview_markup(flow)),
    }
    return asked[state]


def _preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _step(texts.CHARITY_PUBLISH_BUTTON, flow, "confirm"),
                _step(texts.CHARITY_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )


async def _go(update: Update, context: Context, state: BuildState, draft: BuildDraft) -> BuildState:
    """Commit the step, then ask its question."""
    question, markup = _build_question(state, draft, union_today(context))
    return await BUILD.advance(update, context, state, draft, question, markup)


async def _begin_build(update: Update, context: Context) -> BuildState:
    draft = BuildDraft(BUILD.token())
    BUILD.begin(update, context, BuildState.NAME, draft)
    question, markup = _build_question(BuildState.NAME, draft, union_today(context))
    await answer(update)
    await prompt(update, context, question, markup)
    return BuildState.NAME


@BUILD.entry()
async def start_new(update: Update, context: Context, _caller: Caller) -> BuildState:
    """/charity 新建: an organizer opens a campaign."""
    return await _begin_build(update, context)


def _new_pressed(data: CharityAction) -> bool:
    return data.action == "new"


@BUILD.entry_press(CharityAction, BUILDER, accept=_new_pressed)
async def new_pressed(
    update: Update, context: Context, _data: CharityAction, _caller: Caller
) -> BuildState:
    """➕ 新建募捐 in the organizers' list."""
    return await _begin_build(update, context)


async def _typed_value(update: Update, context: Context, turn: BuildText) -> str | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.CHARITY_TEXT_ONLY)
    return text


async def _name(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = await _typed_value(update, context, turn)
    if text is None:
        return None
    try:
        name = rules.check_name(text)
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    return await _go(update, context, BuildState.YEAR, dataclasses.replace(turn.draft, name=name))


async def _year_chosen(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    try:
        year = rules.parse_year(turn.data.value, union_today(context))
    except CharityInputError:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _go(update, context, BuildState.TARGET, dataclasses.replace(turn.draft, year=year))


async def _year_typed(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = await _typed_value(update, context, turn)
    if text is None:
        return None
    try:
        year = rules.parse_year(text, union_today(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    return await _go(update, context, BuildState.TARGET, dataclasses.replace(turn.draft, year=year))


async def _target(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = await _typed_value(update, context, turn)
    if text is None:
        return None
    try:
        target = rules.parse_target(text)
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, target=target)
    return await _go(update, context, BuildState.SUGGESTED, draft)


async def _suggested_default(
    update: Update, context: Context, turn: BuildPress
) -> BuildState | None:
    draft = dataclasses.replace(turn.draft, suggested=rules.DEFAULT_SUGGESTED)
    return await _go(update, context, BuildState.AUDIENCE, draft)


async def _suggested_typed(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = await _typed_value(update, context, turn)
    if text is None:
        return None
    try:
        amounts = rules.parse_suggested(text, cap_of(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, suggested=amounts)
    return await _go(update, context, BuildState.AUDIENCE, draft)


async def _audience(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value, draft = turn.data.value, turn.draft
    if value == Audience.UNIT:
        with services(context).database.session() as session:
            units = tuple(broadcasts.units_in_use(session))
        if not units:
            await answer(update, texts.CHARITY_NO_UNITS, alert=True)
            return None
        chosen = dataclasses.replace(draft, audience=Audience.UNIT, choices=units)
        return await _go(update, context, BuildState.UNIT, chosen)
    if value != Audience.EVERYONE:
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = dataclasses.replace(draft, audience=Audience.EVERYONE, audience_value="")
    return await _go(update, context, BuildState.END, chosen)


async def _unit(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value, units = turn.data.value, turn.draft.choices
    index = int(value) if value.isdigit() else -1
    if not 0 <= index < len(units):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = dataclasses.replace(turn.draft, audience_value=units[index], choices=())
    return await _go(update, context, BuildState.END, chosen)


async def _no_end(update: Update, context: Context, turn: BuildPress) -> BuildState:
    draft = dataclasses.replace(turn.draft, end_chosen=True, ends_on="")
    return await _preview(update, context, draft)


async def _end_typed(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = await _typed_value(update, context, turn)
    if text is None:
        return None
    try:
        day = rules.parse_end(text, union_today(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, end_chosen=True, ends_on=day.isoformat())
    return await _preview(update, context, draft)


async def _preview(update: Update, context: Context, draft: BuildDraft) -> BuildState:
    """The announcement as the audience will read it, how many it reaches, 发布 / 取消."""
    value = draft.audience_value or ""
    card = announcement_text(
        draft.name, draft.year, draft.target, draft.suggested, draft.audience, value, draft.end_day
    )
    with services(context).database.session() as session:
        count = len(storage.audience(session, draft.audience, value))
    text = texts.CHARITY_PREVIEW.format(card=card, count=count)
    return await BUILD.preview(
        update, context, BuildState.PREVIEW, draft, text, _preview_markup(draft.flow)
    )


def _expires(ends_on: date | None, context: Context) -> datetime | None:
    """An announcement still waiting after the last pledge day is of no use any more."""
    if ends_on is None:
        return None
    end = datetime.combine(ends_on + timedelta(days=1), time(0), tzinfo=services(context).zone)
    return end.astimezone(UTC)


async def _publish(update: Update, context: Context, turn: BuildPress) -> BuildState | int | None:
    """发布: the campaign, its announcement to the audience and the audit entry, in one
    transaction; the sender sends the announcement after the commit."""
    found = services(context)
    today = union_today(context)
    campaign_id, total, late = 0, 0, False
    with BUILD.taking(update, context, BuildState.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            end = draft.end_day
            if end is not None and end < today:
                late = True
                session.rollback()
            else:
                campaign = storage.create(
                    session,
                    CharityCampaign(
                        name=draft.name,
                        year=draft.year,
                        target=draft.target,
                        suggested=rules.suggested_text(draft.suggested),
                        audience=draft.audience,
                        audience_value=draft.audience_value or "",
                        ends_on=end,
                        created_by=turn.caller.actor,
                    ),
                )
                assert campaign.id is not None
                campaign_id = campaign.id
                recipients = storage.audience(session, campaign.audience, campaign.audience_value)
                text = announcement_text(
                    campaign.name,
                    campaign.year,
                    campaign.target,
                    draft.suggested,
                    campaign.audience,
                    campaign.audience_value,
                    end,
                )
                total = broadcasts.create(
                    session,
                    kind=BroadcastKind.ANNOUNCEMENT,
                    priority=Priority.NORMAL,
                    text=text,
                    recipients=recipients,
                    created_by=turn.caller.actor,
                    buttons=pledge_markup(campaign_id).to_json(),
                    expires_at=_expires(end, context),
                ).total
                audit.record(
                    session,
                    actor=turn.caller.actor,
                    action="charity.create",
                    target=f"charity:{campaign_id}",
                    year=campaign.year,
                    target_yuan=campaign.target,
                    audience=campaign.audience,
                    scope=campaign.audience_value,
                    told=total,
                )
    if draft is None:
        await BUILD.expire(update)
        return None
    if late:
        fresh = dataclasses.replace(draft, end_chosen=False, ends_on="")
        question, markup = _build_question(BuildState.END, fresh, today)
        return await BUILD.advance(
            update,
            context,
            BuildState.END,
            fresh,
            texts.CHARITY_END_PASSED + "\n" + question,
            markup,
        )
    await answer(update)
    done = texts.CHARITY_PUBLISHED if total else texts.CHARITY_PUBLISHED_NOBODY
    await show_step(update, context, done.format(id=campaign_id, count=total))
    # Woken after the organizer's own confirmation, so theirs comes first in their chat.
    found.broadcaster.wake()
    return END


async def _build_repeat(update: Update, context: Context, turn: BuildText) -> None:
    """Text where a button is wanted: the step's question again, with its buttons."""
    question, markup = _build_question(turn.state, turn.draft, union_today(context))
    await prompt(update, context, texts.CHARITY_REPEAT_STEP + "\n" + question, markup)


# === pledging ==================================================================================


class GiveState(StrEnum):
    """The steps of pledging: an amount (or a daily sum and days), then the confirmation."""

    AMOUNT = "amount"
    DAILY = "daily"
    DAYS = "days"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class GiveDraft(Draft):
    """A pledge so far; `previous` the amount of the pledge it replaces (0: none)."""

    campaign_id: int = 0
    name: str = ""
    suggested: tuple[int, ...] = ()
    previous: int = 0
    amount: int = 0
    daily: int = 0
    days: int = 0


def _give_ready(state: GiveState, draft: GiveDraft) -> bool:
    if draft.campaign_id <= 0:
        return False
    if state == GiveState.DAYS:
        return draft.daily > 0
    if state == GiveState.CONFIRM:
        return draft.amount > 0
    return True


GIVE = Flow(GIVE_NAME, GiveState, GiveDraft, CharityGive, access=OFFICER, ready=_give_ready)
GivePress = Pressed[GiveState, GiveDraft, CharityGive]
GiveText = Typed[GiveState, GiveDraft]


def _give(text: str, flow: str, action: str, value: int = 1) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CharityGive(flow, action, value).pack())


def _give_question(state: GiveState, draft: GiveDraft) -> tuple[str, InlineKeyboardMarkup]:
    flow = draft.flow
    cancel = [_give(texts.CHARITY_CANCEL_BUTTON, flow, "cancel")]
    if state == GiveState.AMOUNT:
        amounts = [
            _give(texts.CHARITY_AMOUNT_BUTTON.format(amount=yuan(a)), flow, "amount", a)
            for a in draft.suggested
        ]
        text = texts.CHARITY_ASK_AMOUNT.format(name=draft.name)
        if draft.previous:
            text += texts.CHARITY_REPLACES_NOTE.format(amount=yuan(draft.previous))
        rows = [*_rows(amounts), [_give(texts.CHARITY_DAILY_BUTTON, flow, "daily")], cancel]
        return text, InlineKeyboardMarkup(rows)
    if state == GiveState.DAILY:
        sums = [
            _give(texts.CHARITY_DAILY_AMOUNT_BUTTON.format(amount=yuan(a)), flow, "dailyamt", a)
            for a in DAILY_CHOICES
        ]
        return texts.CHARITY_ASK_DAILY, InlineKeyboardMarkup([*_rows(sums), cancel])
    if state == GiveState.DAYS:
        days = [
            _give(texts.CHARITY_DAYS_BUTTON.format(days=d), flow, "days", d) for d in DAYS_CHOICES
        ]
        text = texts.CHARITY_ASK_DAYS.format(daily=yuan(draft.daily))
        return text, InlineKeyboardMarkup([days, cancel])
    daily = ""
    if draft.daily and draft.days:
        daily = texts.CHARITY_DAILY_SUM.format(daily=yuan(draft.daily), days=draft.days)
    replaces = ""
    if draft.previous:
        replaces = texts.CHARITY_CONFIRM_REPLACES.format(amount=yuan(draft.previous))
    text = texts.CHARITY_CONFIRM.format(
        name=draft.name, amount=yuan(draft.amount), daily=daily, replaces=replaces
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _give(texts.CHARITY_CONFIRM_BUTTON, flow, "confirm"),
                _give(texts.CHARITY_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )
    return text, markup


async def _give_go(
    update: Update, context: Context, state: GiveState, draft: GiveDraft
) -> GiveState:
    text, markup = _give_question(state, draft)
    return await GIVE.advance(update, context, state, draft, text, markup)


def _pledge_pressed(data: CharityAction) -> bool:
    return data.action == "pledge"


@GIVE.entry_press(CharityAction, OFFICER, accept=_pledge_pressed)
async def start_pledge(
    update: Update, context: Context, data: CharityAction, caller: Caller
) -> GiveState | int:
    """🙏 我要认捐: the amounts, in a new message; refused in one sentence when the campaign is
    closed, past its end date or not for this officer."""
    assert caller.officer.id is not None
    with services(context).database.session() as session:
        campaign = storage.get(session, data.campaign_id)
        refusal = _pledge_refusal(campaign, caller.officer, union_today(context))
        current = storage.pledge_of(session, data.campaign_id, caller.officer.id)
    if refusal is not None or campaign is None:
        await answer(update, refusal or texts.CHARITY_GONE, alert=True)
        return END
    draft = GiveDraft(
        GIVE.token(),
        campaign_id=data.campaign_id,
        name=campaign.name,
        suggested=_suggested(campaign),
        previous=current.amount if current is not None else 0,
    )
    GIVE.begin(update, context, GiveState.AMOUNT, draft)
    text, markup = _give_question(GiveState.AMOUNT, draft)
    await answer(update)
    # A new message: the announcement or card it was pressed on stays as it was.
    await prompt(update, context, text, markup)
    return GiveState.AMOUNT


async def _amount_chosen(update: Update, context: Context, turn: GivePress) -> GiveState | None:
    if turn.data.value not in turn.draft.suggested:
        await GIVE.expire(update)
        return None
    draft = dataclasses.replace(turn.draft, amount=turn.data.value, daily=0, days=0)
    return await _give_go(update, context, GiveState.CONFIRM, draft)


async def _amount_typed(update: Update, context: Context, turn: GiveText) -> GiveState | None:
    text = turn.message.text
    if text is None:
        question, markup = _give_question(turn.state, turn.draft)
        await prompt(update, context, texts.CHARITY_USE_BUTTONS + "\n" + question, markup)
        return None
    try:
        amount = rules.parse_amount(text, cap_of(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, amount=amount, daily=0, days=0)
    return await _give_go(update, context, GiveState.CONFIRM, draft)


async def _daily_pressed(update: Update, context: Context, turn: GivePress) -> GiveState:
    return await _give_go(update, context, GiveState.DAILY, turn.draft)


async def _daily_amount(
    update: Update, context: Context, daily: int, turn: GivePress | GiveText
) -> GiveState:
    draft = dataclasses.replace(turn.draft, daily=daily, days=0, amount=0)
    return await _give_go(update, context, GiveState.DAYS, draft)


async def _daily_chosen(update: Update, context: Context, turn: GivePress) -> GiveState | None:
    if turn.data.value not in DAILY_CHOICES:
        await GIVE.expire(update)
        return None
    return await _daily_amount(update, context, turn.data.value, turn)


async def _daily_typed(update: Update, context: Context, turn: GiveText) -> GiveState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.CHARITY_TEXT_ONLY)
        return None
    try:
        daily = rules.parse_amount(text, cap_of(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    return await _daily_amount(update, context, daily, turn)


async def _with_days(
    update: Update, context: Context, days: int, turn: GivePress | GiveText
) -> GiveState | None:
    try:
        total = rules.daily_total(turn.draft.daily, days, cap_of(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, days=days, amount=total)
    return await _give_go(update, context, GiveState.CONFIRM, draft)


async def _days_chosen(update: Update, context: Context, turn: GivePress) -> GiveState | None:
    if turn.data.value not in DAYS_CHOICES:
        await GIVE.expire(update)
        return None
    return await _with_days(update, context, turn.data.value, turn)


async def _days_typed(update: Update, context: Context, turn: GiveText) -> GiveState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.CHARITY_TEXT_ONLY)
        return None
    try:
        days = rules.parse_days(text)
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    return await _with_days(update, context, days, turn)


async def _confirm_pledge(update: Update, context: Context, turn: GivePress) -> int | None:
    """✅ 确认认捐: the pledge written once (a double press finds the draft taken)."""
    caller = turn.caller
    assert caller.officer.id is not None
    outcome = Outcome.GONE
    with GIVE.taking(update, context, GiveState.CONFIRM, turn.data.flow) as (session, draft):
        if draft is not None:
            campaign = storage.get(session, draft.campaign_id)
            if campaign is not None and not storage.in_audience(campaign, caller.officer):
                outcome = Outcome.GONE
            else:
                outcome = storage.pledge(
                    session,
                    draft.campaign_id,
                    caller.officer.id,
                    draft.amount,
                    expected=draft.previous,
                    today=union_today(context),
                    now=utcnow(),
                    daily=draft.daily or None,
                    days=draft.days or None,
                )
            if outcome in (Outcome.STORED, Outcome.REPLACED):
                audit.record(
                    session,
                    actor=caller.actor,
                    action="charity.pledge",
                    target=f"charity:{draft.campaign_id}",
                    replaced=outcome == Outcome.REPLACED,
                )
    if draft is None:
        await GIVE.expire(update)
        return None
    if outcome == Outcome.STORED:
        words = texts.CHARITY_PLEDGED.format(amount=yuan(draft.amount))
    elif outcome == Outcome.REPLACED:
        words = texts.CHARITY_PLEDGE_REPLACED.format(amount=yuan(draft.amount))
    else:
        words = OUTCOME_WORDS[outcome]
    await answer(update)
    await show_step(update, context, words)
    return END


async def _give_repeat(update: Update, context: Context, turn: GiveText) -> None:
    text, markup = _give_question(turn.state, turn.draft)
    await prompt(update, context, texts.CHARITY_REPEAT_STEP + "\n" + text, markup)


# === recording a payment by hand ==================================================================


class RecordState(StrEnum):
    """The steps of recording one payment."""

    WHO = "who"
    PICK = "pick"
    AMOUNT = "amount"
    DAY = "day"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class RecordDraft(Draft):
    """A payment so far; `choices` the officers named alike (their ids), `paid_on` ISO."""

    campaign_id: int = 0
    name: str = ""
    choices: tuple[int, ...] = ()
    officer_id: int = 0
    officer: str = ""
    pledged: int = 0
    amount: int = 0
    paid_on: str = ""


def _record_ready(state: RecordState, draft: RecordDraft) -> bool:
    if draft.campaign_id <= 0:
        return False
    if state == RecordState.PICK:
        return bool(draft.choices)
    if state in (RecordState.AMOUNT, RecordState.DAY) and draft.officer_id <= 0:
        return False
    if state == RecordState.DAY:
        return draft.amount > 0
    if state == RecordState.CONFIRM:
        return draft.officer_id > 0 and draft.amount > 0 and bool(draft.paid_on)
    return True


RECORD = Flow(
    RECORD_NAME, RecordState, RecordDraft, CharityRecord, access=RECORDER, ready=_record_ready
)
RecordPress = Pressed[RecordState, RecordDraft, CharityRecord]
RecordText = Typed[RecordState, RecordDraft]


def _rec(text: str, flow: str, action: str, value: int = 1) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CharityRecord(flow, action, value).pack())


def _record_question(
    state: RecordState, draft: RecordDraft, labels: Sequence[str] = ()
) -> tuple[str, InlineKeyboardMarkup]:
    flow = draft.flow
    cancel = [_rec(texts.CHARITY_CANCEL_BUTTON, flow, "cancel")]
    if state == RecordState.WHO:
        return texts.CHARITY_ASK_WHO.format(name=draft.name), InlineKeyboardMarkup([cancel])
    if state == RecordState.PICK:
        picks = [[_rec(label, flow, "pick", place)] for place, label in enumerate(labels, 1)]
        text = texts.CHARITY_PICK_OFFICER.format(count=len(draft.choices))
        return text, InlineKeyboardMarkup([*picks, cancel])
    if state == RecordState.AMOUNT:
        if draft.pledged:
            text = texts.CHARITY_ASK_PAID_PLEDGED.format(
                officer=draft.officer, pledged=yuan(draft.pledged)
            )
            label = texts.CHARITY_PAID_PLEDGED_BUTTON.format(amount=yuan(draft.pledged))
            rows = [[_rec(label, flow, "amount", draft.pledged)], cancel]
            return text, InlineKeyboardMarkup(rows)
        return texts.CHARITY_ASK_PAID.format(officer=draft.officer), InlineKeyboardMarkup([cancel])
    if state == RecordState.DAY:
        days = [_rec(label, flow, "day", value) for value, label in texts.CHARITY_DAY_BUTTONS]
        return texts.CHARITY_ASK_DAY, InlineKeyboardMarkup([days, cancel])
    text = texts.CHARITY_RECORD_CONFIRM.format(
        officer=draft.officer, amount=yuan(draft.amount), day=draft.paid_on
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _rec(texts.CHARITY_RECORD_CONFIRM_BUTTON, flow, "confirm"),
                _rec(texts.CHARITY_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )
    return text, markup


async def _record_go(
    update: Update,
    context: Context,
    state: RecordState,
    draft: RecordDraft,
    labels: Sequence[str] = (),
) -> RecordState:
    text, markup = _record_question(state, draft, labels)
    return await RECORD.advance(update, context, state, draft, text, markup)


def _record_pressed(data: CharityAction) -> bool:
    return data.action == "record"


@RECORD.entry_press(CharityAction, MANAGER, accept=_record_pressed)
async def start_record(
    update: Update, context: Context, data: CharityAction, _caller: Caller
) -> RecordState | int:
    """✍️ 登记缴款 (organizers): whose payment, by police ID or name."""
    with services(context).database.session() as session:
        campaign = storage.get(session, data.campaign_id)
    refusal = _refusal(campaign)
    if refusal is not None or campaign is None:
        await answer(update, refusal or texts.CHARITY_GONE, alert=True)
        return END
    draft = RecordDraft(RECORD.token(), campaign_id=data.campaign_id, name=campaign.name)
    RECORD.begin(update, context, RecordState.WHO, draft)
    text, markup = _record_question(RecordState.WHO, draft)
    await answer(update)
    await prompt(update, context, text, markup)
    return RecordState.WHO


async def _officer_chosen(
    update: Update, context: Context, draft: RecordDraft, officer: Officer
) -> RecordState:
    assert officer.id is not None
    with services(context).database.session() as session:
        pledge = storage.pledge_of(session, draft.campaign_id, officer.id)
    chosen = dataclasses.replace(
        draft,
        choices=(),
        officer_id=officer.id,
        officer=_officer_label(officer),
        pledged=pledge.amount if pledge is not None else 0,
    )
    return await _record_go(update, context, RecordState.AMOUNT, chosen)


async def _who(update: Update, context: Context, turn: RecordText) -> RecordState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.CHARITY_TEXT_ONLY)
        return None
    with services(context).database.session() as session:
        found = storage.find_officers(session, text)
    if not found:
        shown = " ".join(text.split())[:20]
        await prompt(update, context, texts.CHARITY_NOBODY_FOUND.format(text=shown))
        return None
    if len(found) == 1:
        return await _officer_chosen(update, context, turn.draft, found[0])
    draft = dataclasses.replace(turn.draft, choices=tuple(o.id for o in found if o.id is not None))
    labels = [_officer_label(officer) for officer in found]
    return await _record_go(update, context, RecordState.PICK, draft, labels)


async def _picked(update: Update, context: Context, turn: RecordPress) -> RecordState | None:
    place = turn.data.value - 1
    if not 0 <= place < len(turn.draft.choices):
        await RECORD.expire(update)
        return None
    with services(context).database.session() as session:
        officer = officers.by_id(session, turn.draft.choices[place])
    if officer is None:
        await RECORD.expire(update)
        return None
    return await _officer_chosen(update, context, turn.draft, officer)


async def _paid_pledged(update: Update, context: Context, turn: RecordPress) -> RecordState | None:
    if turn.data.value != turn.draft.pledged:
        await RECORD.expire(update)
        return None
    draft = dataclasses.replace(turn.draft, amount=turn.draft.pledged)
    return await _record_go(update, context, RecordState.DAY, draft)


async def _paid_typed(update: Update, context: Context, turn: RecordText) -> RecordState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.CHARITY_TEXT_ONLY)
        return None
    try:
        amount = rules.parse_amount(text, cap_of(context))
    except CharityInputError as exc:
        await prompt(update, context, problem_text(context, exc.problem))
        return None
    return await _record_go(
        update, context, RecordState.DAY, dataclasses.replace(turn.draft, amount=amount)
    )


async def _with_day(
    update: Update, context: Context, draft: RecordDraft, day: date
) -> RecordState | None:
    with services(context).database.session() as session:
        campaign = storage.get(session, draft.campaign_id)
    year = campaign.year if campaign is not None else day.year
    try:
        paid_on = rules.check_paid_on(day, union_today(context), year)
    except CharityInputError as exc:
        await prompt(update, context, texts.CHARITY_PROBLEMS[exc.problem.value] + "。")
        return None
    fresh = dataclasses.replace(draft, paid_on=paid_on.isoformat())
    return await _record_go(update, context, RecordState.CONFIRM, fresh)


async def _day_chosen(update: Update, context: Context, turn: RecordPress) -> RecordState | None:
    ago = dict(texts.CHARITY_DAY_BUTTONS)
    if turn.data.value not in ago:
        await RECORD.expire(update)
        return None
    day = union_today(context) - timedelta(days=turn.data.value - 1)
    return await _with_day(update, context, turn.draft, day)


async def _day_typed(update: Update, context: Context, turn: RecordText) -> RecordState | None:
    text = turn.message.text
    day = parse_day(text, union_today(context), lean=Lean.PAST) if text else None
    if day is None:
        await prompt(update, context, problem_text(context, Problem.BAD_DATE))
        return None
    return await _with_day(update, context, turn.draft, day)


async def _confirm_record(update: Update, context: Context, turn: RecordPress) -> int | None:
    """✅ 确认登记: the payment written once; the officer is told after the commit."""
    caller = turn.caller
    outcome, chat_id = Outcome.GONE, None
    with RECORD.taking(update, context, RecordState.CONFIRM, turn.data.flow) as (session, draft):
        if draft is not None:
            officer = officers.by_id(session, draft.officer_id)
            if officer is not None:
                outcome = storage.record_payment(
                    session,
                    draft.campaign_id,
                    officer,
                    draft.amount,
                    date.fromisoformat(draft.paid_on),
                    actor=caller.actor,
                    now=utcnow(),
                )
            if outcome == Outcome.STORED and officer is not None and officer.id is not None:
                audit.record(
                    session,
                    actor=caller.actor,
                    action="charity.payment",
                    target=f"charity:{draft.campaign_id}",
                    officer=officer.police_id,
                )
                binding = officers.binding_of(session, officer.id)
                if binding is not None and officer.active:
                    chat_id = binding.chat_id
    if draft is None:
        await RECORD.expire(update)
        return None
    await answer(update)
    if outcome != Outcome.STORED:
        await show_step(update, context, OUTCOME_WORDS[outcome])
        return END
    done = texts.CHARITY_RECORDED.format(
        officer=draft.officer, amount=yuan(draft.amount), day=draft.paid_on
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _action(texts.CHARITY_RECORD_MORE_BUTTON, "record", draft.campaign_id),
                _action(texts.CHARITY_BACK_BUTTON, "show", draft.campaign_id),
            ]
        ]
    )
    await show_step(update, context, done, markup)
    if chat_id is not None:
        receipt = texts.CHARITY_RECEIPT.format(
            name=draft.name, amount=yuan(draft.amount), day=draft.paid_on
        )
        await notify(context.bot, chat_id, receipt)
    return END


async def _record_repeat(update: Update, context: Context, turn: RecordText) -> None:
    labels: list[str] = []
    if turn.state == RecordState.PICK:
        with services(context).database.session() as session:
            found = [officers.by_id(session, officer_id) for officer_id in turn.draft.choices]
        labels = [_officer_label(officer) for officer in found if officer is not None]
    text, markup = _record_question(turn.state, turn.draft, labels)
    await prompt(update, context, texts.CHARITY_REPEAT_STEP + "\n" + text, markup)


# === importing a payment file ====================================================================


class ImportState(StrEnum):
    """Waiting for the file; then, after a file with bad lines, 只导入正确的行 or a new file."""

    FILE = "file"
    SKIP = "skip"


@dataclass(frozen=True)
class ImportDraft(Draft):
    """The campaign, and the file with bad lines that may be imported without them."""

    campaign_id: int = 0
    name: str = ""
    file_id: str = ""
    file_name: str = ""
    good: int = 0


def _import_ready(state: ImportState, draft: ImportDraft) -> bool:
    if draft.campaign_id <= 0:
        return False
    return state != ImportState.SKIP or (bool(draft.file_id) and draft.good > 0)


IMPORT = Flow(
    IMPORT_NAME, ImportState, ImportDraft, CharityImport, access=RECORDER, ready=_import_ready
)
ImportPress = Pressed[ImportState, ImportDraft, CharityImport]
ImportText = Typed[ImportState, ImportDraft]


def _imp(text: str, flow: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CharityImport(flow, action).pack())


def _import_pressed(data: CharityAction) -> bool:
    return data.action == "import"


@IMPORT.entry_press(CharityAction, MANAGER, accept=_import_pressed)
async def start_import(
    update: Update, context: Context, data: CharityAction, _caller: Caller
) -> ImportState | int:
    """📤 导入缴款 (organizers): send the file as a document."""
    with services(context).database.session() as session:
        campaign = storage.get(session, data.campaign_id)
    refusal = _refusal(campaign)
    if refusal is not None or campaign is None:
        await answer(update, refusal or texts.CHARITY_GONE, alert=True)
        return END
    draft = ImportDraft(IMPORT.token(), campaign_id=data.campaign_id, name=campaign.name)
    IMPORT.begin(update, context, ImportState.FILE, draft)
    await answer(update)
    markup = InlineKeyboardMarkup([[_imp(texts.CHARITY_CANCEL_BUTTON, draft.flow, "cancel")]])
    await prompt(update, context, texts.CHARITY_ASK_FILE.format(name=campaign.name), markup)
    return ImportState.FILE


def report_text(report: ImportReport, cap: int) -> str:
    """What an import did (or why it did nothing), in the chat."""
    if report.outcome != Outcome.STORED:
        return OUTCOME_WORDS[report.outcome]
    if not report.applied:
        listed = error_lines(report.errors, cap)
        text = texts.CHARITY_IMPORT_REFUSED.format(
            rows=report.rows_read, bad=report.invalid_rows, errors="\n".join(listed)
        )
        if len(report.errors) > len(listed):
            text += texts.CHARITY_MORE_ERRORS.format(count=len(report.errors) - len(listed))
        return text
    text = texts.CHARITY_IMPORTED.format(count=report.imported, amount=yuan(report.amount))
    if report.already:
        text += texts.CHARITY_IMPORT_ALREADY.format(count=report.already)
    if report.errors:
        text += texts.CHARITY_IMPORT_SKIPPED.format(count=report.invalid_rows)
    return text


async def _download(context: Context, file_id: str) -> bytes | None:
    """The file's bytes, or None if Telegram will not give them (any more)."""
    try:
        telegram_file = await context.bot.get_file(file_id)
        return bytes(await telegram_file.download_as_bytearray())
    except TelegramError as exc:
        log.info("could not download a payment file: %s", type(exc).__name__)
        return None


def _run_import(
    context: Context,
    update: Update,
    caller: Caller,
    draft: ImportDraft,
    data: bytes,
    suffix: str,
    *,
    skip_invalid: bool,
) -> ImportReport:
    """The import in one savepoint: the payments, the audit entry and the flow's end commit
    together; an import that writes nothing leaves the flow open for a corrected file."""
    with services(context).database.session() as session:
        report = storage.import_payments(
            session,
            draft.campaign_id,
            data,
            suffix,
            today=union_today(context),
            actor=caller.actor,
            now=utcnow(),
            skip_invalid=skip_invalid,
            cap=cap_of(context),
        )
        if report.applied:
            audit.record(
                session,
                actor=caller.actor,
                action="charity.import",
                target=f"charity:{draft.campaign_id}",
                file=draft.file_name[:64],
                rows=report.rows_read,
                imported=report.imported,
                already=report.already,
                invalid=report.invalid_rows,
                skip_invalid=skip_invalid,
            )
            conversations.delete(session, IMPORT_NAME, conversation_key(update))
    return report


async def _file_sent(
    update: Update, context: Context, turn: ImportText
) -> ImportState | int | None:
    """A payment file sent as a document: read, checked line by line, imported or refused."""
    document = turn.message.document
    if document is None:
        await prompt(update, context, texts.CHARITY_SEND_FILE)
        return None
    name = document.file_name or ""
    try:
        suffix = rules.file_suffix(name)
        if (document.file_size or 0) > rules.MAX_FILE_BYTES:
            raise PaymentFileError(rules.FileProblem.TOO_BIG)
    except PaymentFileError as exc:
        await prompt(update, context, _file_problem(exc))
        return None
    data = await _download(context, document.file_id)
    if data is None:
        await prompt(update, context, texts.CHARITY_FILE_GONE)
        return None
    draft = dataclasses.replace(turn.draft, file_id=document.file_id, file_name=name, good=0)
    try:
        report = _run_import(context, update, turn.caller, draft, data, suffix, skip_invalid=False)
    except PaymentFileError as exc:
        await prompt(update, context, _file_problem(exc))
        return None
    if report.applied or report.outcome != Outcome.STORED:
        if not report.applied:
            IMPORT.forget(update, context)
        await prompt(update, context, report_text(report, cap_of(context)))
        return END
    good = report.rows_read - report.invalid_rows
    text = report_text(report, cap_of(context))
    cancel = _imp(texts.CHARITY_CANCEL_BUTTON, draft.flow, "cancel")
    if good <= 0:
        IMPORT.save(update, context, ImportState.FILE, turn.draft)
        await prompt(
            update, context, text + texts.CHARITY_IMPORT_FIX, InlineKeyboardMarkup([[cancel]])
        )
        return ImportState.FILE
    draft = dataclasses.replace(draft, good=good)
    IMPORT.save(update, context, ImportState.SKIP, draft)
    skip = _imp(texts.CHARITY_IMPORT_SKIP_BUTTON.format(good=good), draft.flow, "skip")
    await prompt(
        update,
        context,
        text + texts.CHARITY_IMPORT_OR_SKIP.format(good=good),
        InlineKeyboardMarkup([[skip], [cancel]]),
    )
    return ImportState.SKIP


def _file_problem(exc: PaymentFileError) -> str:
    return texts.CHARITY_FILE_PROBLEMS[exc.problem.value].format(detail=exc.detail)


async def _skip_invalid(update: Update, context: Context, turn: ImportPress) -> int | None:
    """只导入正确的行: the same file again, its good lines alone."""
    draft = turn.draft
    data = await _download(context, draft.file_id)
    if data is None:
        await answer(update, texts.CHARITY_FILE_GONE, alert=True)
        return None
    try:
        suffix = rules.file_suffix(draft.file_name)
        with IMPORT.taking(update, context, ImportState.SKIP, turn.data.flow) as (_, taken):
            pass
        if taken is None:
            await IMPORT.expire(update)
            return None
        report = _run_import(context, update, turn.caller, draft, data, suffix, skip_invalid=True)
    except PaymentFileError as exc:
        await answer(update)
        await show_step(update, context, _file_problem(exc))
        return END
    await answer(update)
    await show_step(update, context, report_text(report, cap_of(context)))
    return END


# === the organizers' export and closing ==========================================================


def workbook(rows: Sequence[storage.ExportRow]) -> bytes:
    """Every officer who pledged or paid, one row each (organizers only)."""
    cells: list[list[Cell]] = [
        [
            row.police_id,
            row.name,
            row.unit,
            row.pledged,
            row.daily,
            row.days,
            row.paid,
            row.payments,
            row.last_paid,
        ]
        for row in rows
    ]
    buffer = io.BytesIO()
    write_workbook(
        cells,
        buffer,
        columns=texts.CHARITY_EXPORT_COLUMNS,
        title=texts.CHARITY_EXPORT_SHEET,
        widths=XLSX_WIDTHS,
    )
    return buffer.getvalue()


def _managed(data: CharityAction) -> bool:
    return data.action in ("export", "close", "closeok")


@pressed(CharityAction, MANAGER, accept=_managed)
async def manage(update: Update, context: Context, data: CharityAction, caller: Caller) -> None:
    """The organizers' buttons: the XLSX, closing and its confirmation."""
    with services(context).database.session() as session:
        campaign = storage.get(session, data.campaign_id)
    if campaign is None or campaign.id is None:
        await answer(update, texts.CHARITY_GONE, alert=True)
        return
    if data.action == "export":
        await _export(update, context, caller, campaign)
    elif data.action == "close":
        if not storage.is_open(campaign):
            await answer(update, texts.CHARITY_ALREADY_CLOSED, alert=True)
            return
        await answer(update)
        markup = InlineKeyboardMarkup(
            [
                [
                    _action(texts.CHARITY_CLOSE_YES, "closeok", campaign.id),
                    _action(texts.CHARITY_CLOSE_NO, "show", campaign.id),
                ]
            ]
        )
        await edit_or_send(
            update, context, texts.CHARITY_CLOSE_ASK.format(name=campaign.name), markup
        )
    else:
        await _close(update, context, caller, campaign)


async def _export(
    update: Update, context: Context, caller: Caller, campaign: CharityCampaign
) -> None:
    assert campaign.id is not None and update.effective_chat is not None
    with services(context).database.session() as session:
        rows = storage.export_rows(session, campaign.id)
        audit.record(
            session,
            actor=caller.actor,
            action="charity.export",
            target=f"charity:{campaign.id}",
            rows=len(rows),
        )
    await answer(update)
    document = InputFile(io.BytesIO(workbook(rows)), filename=f"charity-{campaign.id}.xlsx")
    await context.bot.send_document(
        update.effective_chat.id,
        document,
        caption=texts.CHARITY_EXPORT_CAPTION.format(
            name=campaign.name, id=campaign.id, count=len(rows)
        ),
    )


async def _close(
    update: Update, context: Context, caller: Caller, campaign: CharityCampaign
) -> None:
    """⏹ 确定结束: closed once; a second press hears it is closed already."""
    assert campaign.id is not None
    with services(context).database.session() as session:
        closed = storage.close(session, campaign.id, utcnow())
        figures = storage.progress(session, campaign.id)
        if closed is not None:
            audit.record(
                session,
                actor=caller.actor,
                action="charity.close",
                target=f"charity:{campaign.id}",
                paid=figures.paid,
                givers=figures.givers,
            )
    if closed is None:
        await answer(update, texts.CHARITY_ALREADY_CLOSED, alert=True)
        return
    await answer(update)
    await edit_or_send(
        update,
        context,
        texts.CHARITY_CLOSED_DONE.format(
            name=campaign.name, paid=yuan(figures.paid), givers=figures.givers
        ),
    )


async def cancel(update: Update, context: Context) -> int:
    """/cancel in a charity flow: drop the draft (and any other unfinished flow)."""
    with services(context).database.session() as session:
        dropped = conversations.delete_all_for(session, conversation_key(update))
    await reply(update, context, texts.CANCELLED if dropped else texts.NOTHING_TO_CANCEL)
    return END


# === registration ============================================================================


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The charity flows, /charity and its buttons; before `menu`."""
    words = "|".join(NEW_WORDS)
    new_command = PRIVATE_MESSAGE & filters.Regex(rf"^/charity(@\w+)?\s+({words})\s*$")
    fallbacks = [CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)]
    repeat = BUILD.typed(_build_repeat)
    build = BUILD.handler(
        entry_points=[
            CommandHandler("charity", start_new, filters=new_command),
            CallbackQueryHandler(new_pressed, pattern=r"^cha:new:"),
        ],
        states={
            BuildState.NAME: [BUILD.press("cancel", BUILD.cancel()), BUILD.typed(_name)],
            BuildState.YEAR: [
                BUILD.press("year", _year_chosen),
                BUILD.press("cancel", BUILD.cancel()),
                BUILD.typed(_year_typed),
            ],
            BuildState.TARGET: [BUILD.press("cancel", BUILD.cancel()), BUILD.typed(_target)],
            BuildState.SUGGESTED: [
                BUILD.press("suggested", _suggested_default),
                BUILD.press("cancel", BUILD.cancel()),
                BUILD.typed(_suggested_typed),
            ],
            BuildState.AUDIENCE: [BUILD.press("audience", _audience), repeat],
            BuildState.UNIT: [BUILD.press("unit", _unit), repeat],
            BuildState.END: [BUILD.press("end", _no_end), BUILD.typed(_end_typed)],
            BuildState.PREVIEW: [
                BUILD.press("confirm", _publish),
                BUILD.press("cancel", BUILD.cancel()),
                repeat,
            ],
        },
        fallbacks=fallbacks,
    )
    give = GIVE.handler(
        entry_points=[CallbackQueryHandler(start_pledge, pattern=r"^cha:pledge:")],
        states={
            GiveState.AMOUNT: [
                GIVE.press("amount", _amount_chosen),
                GIVE.press("daily", _daily_pressed),
                GIVE.press("cancel", GIVE.cancel()),
                GIVE.typed(_amount_typed),
            ],
            GiveState.DAILY: [
                GIVE.press("dailyamt", _daily_chosen),
                GIVE.press("cancel", GIVE.cancel()),
                GIVE.typed(_daily_typed),
            ],
            GiveState.DAYS: [
                GIVE.press("days", _days_chosen),
                GIVE.press("cancel", GIVE.cancel()),
                GIVE.typed(_days_typed),
            ],
            GiveState.CONFIRM: [
                GIVE.press("confirm", _confirm_pledge),
                GIVE.press("cancel", GIVE.cancel()),
                GIVE.typed(_give_repeat),
            ],
        },
        fallbacks=fallbacks,
    )
    record_cancel = RECORD.press("cancel", RECORD.cancel())
    record = RECORD.handler(
        entry_points=[CallbackQueryHandler(start_record, pattern=r"^cha:record:")],
        states={
            RecordState.WHO: [record_cancel, RECORD.typed(_who)],
            RecordState.PICK: [
                RECORD.press("pick", _picked),
                record_cancel,
                RECORD.typed(_record_repeat),
            ],
            RecordState.AMOUNT: [
                RECORD.press("amount", _paid_pledged),
                record_cancel,
                RECORD.typed(_paid_typed),
            ],
            RecordState.DAY: [
                RECORD.press("day", _day_chosen),
                record_cancel,
                RECORD.typed(_day_typed),
            ],
            RecordState.CONFIRM: [
                RECORD.press("confirm", _confirm_record),
                record_cancel,
                RECORD.typed(_record_repeat),
            ],
        },
        fallbacks=fallbacks,
    )
    import_cancel = IMPORT.press("cancel", IMPORT.cancel())
    importing = IMPORT.handler(
        entry_points=[CallbackQueryHandler(start_import, pattern=r"^cha:import:")],
        states={
            ImportState.FILE: [import_cancel, IMPORT.typed(_file_sent)],
            ImportState.SKIP: [
                IMPORT.press("skip", _skip_invalid),
                import_cancel,
                IMPORT.typed(_file_sent),
            ],
        },
        fallbacks=fallbacks,
    )
    return [
        build,
        BUILD.outside(),
        give,
        GIVE.outside(),
        record,
        RECORD.outside(),
        importing,
        IMPORT.outside(),
        CommandHandler("charity", charity_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(browse, pattern=r"^cha:(show|mine|list):"),
        CallbackQueryHandler(manage, pattern=r"^cha:(export|close|closeok):"),
    ]
