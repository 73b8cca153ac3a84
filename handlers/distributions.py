"""Distributions (物资与消费券发放): organizers hand out supplies to units in bulk (10,000 masks in
one night) or a share to every officer (vouchers, festival gifts); units and officers confirm
what they received.

Creating (`/distribution`, `/distributions 新建`, ➕ 新建发放; organizers only), a flow
(handlers/flow.py): item → 按单位 or 按人 → quantity (the whole lot, or each officer's share) →
audience (as for events) → per unit, the shares proportional to active officers
(bot.rules.distributions.share: the nominations' largest remainder), each unit editable by a
tap and a typed or tapped number, the sum checked → a note (where to collect) → a preview →
发布. Publishing writes the distribution, the units' shares (and each officer's own share of a
per-officer item) and the notice in one transaction: per unit to the units' contacts
(基层工会联络员), each told their own units' numbers; per officer to the audience.

Confirming: a unit's contact (or an organizer, where the unit has no contact) presses
已收到 N 份, or 部分收到 and types the number; an officer presses ✅ 已领取. Each counts
once; a press for another unit is refused and audited as forged; a closed distribution takes
nothing.

Organizers (`/distributions`): the list and each one's panel: 未完成名单 (units not confirmed;
officers not collected, per unit), 🔔 提醒未领取 (the one reminder: bot/jobs/distributions.py
sends it by itself some days after publishing, per the policy, if nobody pressed it), 导出 XLSX
(per unit allocated and received; per officer collected yes/no with the date), ⏹ 结束发放. A
unit's contact sees their units' outstanding officers with the same command.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import texts
from bot.rules import distributions as rules
from bot.rules.distributions import DistributionInputError, Problem
from bot.xlsx import Cell, Sheet, wall_time, write_sheets
from handlers.access import OFFICER, Access, access, pressed, refuse
from handlers.callbacks import (
    DistributionAction,
    DistributionReceiptStep,
    DistributionStep,
    DistributionUnitPress,
)
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
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts, conversations, ledger
from storage import distributions as storage
from storage.broadcasts import Recipient
from storage.db import Database
from storage.distributions import Outcome
from storage.models import (
    Audience,
    BroadcastKind,
    Distribution,
    DistributionMode,
    DistributionStatus,
    DistributionUnit,
    Priority,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

BUILD_NAME = "distribution_build"
RECEIPT_NAME = "distribution_receipt"
NEW_WORDS = ("新建", "new", "发起")
BUTTONS_PER_ROW = 2
XLSX_UNIT_WIDTHS = (20, 10, 10, 12, 18)
XLSX_SHARE_WIDTHS = (10, 10, 20, 8, 18)
REMINDER_ACTOR = "system:distribution-reminder"


# --- who may do what ----------------------------------------------------------------------


def _target(data: DistributionAction) -> str:
    return f"distribution:{data.distribution_id}"


def _row_target(data: DistributionUnitPress) -> str:
    return f"distribution_unit:{data.row_id}"


BUILDER: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.distribution_manage",
    target="distribution:new",
    refusal=texts.DIST_NOT_ORGANIZER,
)
MANAGER: Access[DistributionAction] = Access(
    ORGANIZER_ROLES,
    forged="forged.distribution_manage",
    target=_target,
    refusal=texts.DIST_NOT_ORGANIZER,
)
# A unit's receipt: a contact of some unit, or an organizer; which unit is checked per press.
CONFIRMER: Access[DistributionUnitPress] = Access(
    ORGANIZER_ROLES,
    contacts_unit=True,
    forged="forged.distribution_unit",
    target=_row_target,
    refusal=texts.DIST_NOT_CONTACT,
)
RECEIPT_CONFIRMER: Access[Any] = Access(
    ORGANIZER_ROLES, contacts_unit=True, refusal=texts.DIST_NOT_CONTACT
)


def may_confirm(caller: Caller, unit: str, unit_has_contact: bool) -> bool:
    """A unit's contact confirms for it; an organizer only where it has no contact."""
    return unit in caller.contact_units or (caller.organizer and not unit_has_contact)


# --- words --------------------------------------------------------------------------------


def _problem_text(problem: Problem, **values: object) -> str:
    given: dict[str, object] = {"max": rules.MAX_QUANTITY, "total": 0, "quantity": 0}
    given.update(values)
    return texts.DIST_PROBLEMS[problem.value].format(**given)


def _audience_text(audience: str, value: str) -> str:
    if audience == Audience.UNIT:
        return value
    return texts.DIST_AUDIENCE_NAMES.get(audience, audience)


def _mode_text(mode: str, per_officer: int) -> str:
    if mode == DistributionMode.PER_OFFICER:
        return texts.DIST_MODE_OFFICER_LINE.format(each=per_officer)
    return texts.DIST_MODE_UNIT_LINE


def _note_line(note: str) -> str:
    return texts.DIST_NOTE_LINE.format(note=note) if note else ""


def card_text(distribution: Distribution, zone: ZoneInfo) -> str:
    """A distribution as organizers read it."""
    return texts.DIST_CARD.format(
        id=distribution.id,
        item=distribution.item,
        mode=_mode_text(distribution.mode, distribution.per_officer),
        quantity=distribution.quantity,
        audience=_audience_text(distribution.audience, distribution.audience_value),
        note=_note_line(distribution.note),
        published=distribution.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
    )


def _rows(buttons: list[InlineKeyboardButton]) -> list[list[InlineKeyboardButton]]:
    return [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]


def _action(label: str, action: str, distribution_id: int = 1) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        label, callback_data=DistributionAction(action, distribution_id).pack()
    )


def collect_markup(distribution_id: int) -> InlineKeyboardMarkup:
    """✅ 已领取 under a per-officer notice or its reminder."""
    return InlineKeyboardMarkup([[_action(texts.DIST_COLLECT_BUTTON, "collect", distribution_id)]])


def units_markup(distribution_id: int) -> InlineKeyboardMarkup:
    """📦 确认收到 under a contact's notice or its reminder."""
    return InlineKeyboardMarkup([[_action(texts.DIST_UNITS_BUTTON, "units", distribution_id)]])


def notice_markup(distribution: Distribution) -> InlineKeyboardMarkup:
    """The button a notice or reminder carries, by mode."""
    assert distribution.id is not None
    if distribution.mode == DistributionMode.PER_OFFICER:
        return collect_markup(distribution.id)
    return units_markup(distribution.id)


# === creating a distribution ====================================================================


class BuildState(StrEnum):
    """The steps of creating a distribution."""

    ITEM = "item"
    MODE = "mode"
    QUANTITY = "quantity"
    AUDIENCE = "audience"
    UNIT = "unit"
    ALLOCATION = "allocation"
    EDIT = "edit"
    NOTE = "note"
    PREVIEW = "preview"


@dataclass(frozen=True)
class BuildDraft(Draft):
    """A distribution so far. `quantity` is the whole lot (per unit) or each officer's share
    (per officer); `units`, `counts` and `shares` are the units with officers in the audience,
    their officers and their numbers (edited per unit); `editing` the unit being edited."""

    item: str = ""
    mode: str = ""
    quantity: int = 0
    audience: str = ""
    # The unit; None until chosen ("" for an audience that names none).
    audience_value: str | None = None
    choices: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    counts: tuple[int, ...] = ()
    shares: tuple[int, ...] = ()
    editing: int = -1
    note: str | None = None


_ORDER = tuple(BuildState)


def _build_ready(state: BuildState, draft: BuildDraft) -> bool:
    """True if the draft holds what its step needs."""
    rank = _ORDER.index(state)
    needs = [
        (BuildState.MODE, bool(draft.item)),
        (BuildState.QUANTITY, draft.mode in tuple(DistributionMode)),
        (BuildState.AUDIENCE, draft.quantity > 0),
    ]
    for needed_from, held in needs:
        if rank >= _ORDER.index(needed_from) and not held:
            return False
    if state == BuildState.UNIT:
        return bool(draft.choices)
    if rank >= _ORDER.index(BuildState.ALLOCATION):
        if draft.audience_value is None or not draft.units:
            return False
        if not len(draft.units) == len(draft.counts) == len(draft.shares):
            return False
    if state == BuildState.EDIT:
        return 0 <= draft.editing < len(draft.units)
    if state == BuildState.PREVIEW:
        return draft.note is not None
    return True


BUILD = Flow(
    BUILD_NAME, BuildState, BuildDraft, DistributionStep, access=BUILDER, ready=_build_ready
)
BuildPress = Pressed[BuildState, BuildDraft, DistributionStep]
BuildText = Typed[BuildState, BuildDraft]


def _step(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=DistributionStep(flow, action, value).pack())


def _mode_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [_step(texts.DIST_MODE_UNIT_BUTTON, flow, "mode", DistributionMode.PER_UNIT.value)],
            [
                _step(
                    texts.DIST_MODE_OFFICER_BUTTON,
                    flow,
                    "mode",
                    DistributionMode.PER_OFFICER.value,
                )
            ],
        ]
    )


def _quantity_markup(flow: str, mode: str) -> InlineKeyboardMarkup | None:
    if mode == DistributionMode.PER_OFFICER:
        return InlineKeyboardMarkup([[_step(texts.DIST_EACH_ONE_BUTTON, flow, "each", "1")]])
    return None


def _audience_markup(flow: str) -> InlineKeyboardMarkup:
    buttons = [_step(name, flow, "audience", key) for key, name in texts.DIST_AUDIENCE_BUTTONS]
    return InlineKeyboardMarkup(_rows(buttons))


def _unit_markup(flow: str, units: Sequence[str]) -> InlineKeyboardMarkup:
    # A unit's place in the draft's list: its name may not fit in 64 bytes.
    return InlineKeyboardMarkup(
        _rows([_step(unit, flow, "unit", str(index)) for index, unit in enumerate(units)])
    )


def _allocation_text(draft: BuildDraft) -> str:
    lines = [
        texts.DIST_ALLOCATION_LINE.format(unit=unit, share=share, officers=count)
        for unit, count, share in zip(draft.units, draft.counts, draft.shares, strict=True)
    ]
    total = sum(draft.shares)
    status = (
        texts.DIST_ALLOCATION_BALANCED
        if total == draft.quantity
        else texts.DIST_ALLOCATION_OFF.format(total=total, quantity=draft.quantity)
    )
    return texts.DIST_ALLOCATION.format(
        item=draft.item, quantity=draft.quantity, lines="\n".join(lines), status=status
    )


def _allocation_markup(draft: BuildDraft) -> InlineKeyboardMarkup:
    buttons = [
        _step(
            texts.DIST_EDIT_UNIT_BUTTON.format(unit=unit, share=share),
            draft.flow,
            "edit",
            str(index),
        )
        for index, (unit, share) in enumerate(zip(draft.units, draft.shares, strict=True))
    ]
    rows = _rows(buttons)
    rows.append([_step(texts.DIST_ALLOCATION_OK_BUTTON, draft.flow, "allocok")])
    return InlineKeyboardMarkup(rows)


def _proportional(draft: BuildDraft) -> tuple[int, ...]:
    shares = rules.share(draft.quantity, dict(zip(draft.units, draft.counts, strict=True)))
    return tuple(shares[unit] for unit in draft.units)


def _edit_question(draft: BuildDraft) -> tuple[str, InlineKeyboardMarkup]:
    index = draft.editing
    proposed = _proportional(draft)[index]
    others = sum(draft.shares) - draft.shares[index]
    text = texts.DIST_ASK_UNIT_SHARE.format(
        unit=draft.units[index],
        share=draft.shares[index],
        proposed=proposed,
        left=max(draft.quantity - others, 0),
        quantity=draft.quantity,
    )
    buttons = [
        _step(
            texts.DIST_SET_PROPOSED_BUTTON.format(share=proposed), draft.flow, "set", str(proposed)
        )
    ]
    left = draft.quantity - others
    if left >= 0 and left != proposed:
        buttons.append(
            _step(texts.DIST_SET_LEFT_BUTTON.format(share=left), draft.flow, "set", str(left))
        )
    buttons.append(_step(texts.DIST_SET_ZERO_BUTTON, draft.flow, "set", "0"))
    return text, InlineKeyboardMarkup(_rows(buttons))


def _note_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_step(texts.DIST_SKIP_NOTE_BUTTON, flow, "skipnote")]])


def _preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _step(texts.DIST_PUBLISH_BUTTON, flow, "confirm"),
                _step(texts.DIST_DISCARD_BUTTON, flow, "cancel"),
            ]
        ]
    )


def _step_question(state: BuildState, draft: BuildDraft) -> tuple[str, InlineKeyboardMarkup | None]:
    """A step's question and its buttons (asked again when text comes where a button is
    wanted: the buttons may never have arrived)."""
    flow = draft.flow
    if state == BuildState.ALLOCATION:
        return _allocation_text(draft), _allocation_markup(draft)
    if state == BuildState.EDIT:
        return _edit_question(draft)
    quantity_question = (
        texts.DIST_ASK_EACH
        if draft.mode == DistributionMode.PER_OFFICER
        else texts.DIST_ASK_QUANTITY
    )
    asked: dict[BuildState, tuple[str, InlineKeyboardMarkup | None]] = {
        BuildState.ITEM: (texts.DIST_ASK_ITEM, None),
        BuildState.MODE: (texts.DIST_ASK_MODE.format(item=draft.item), _mode_markup(flow)),
        BuildState.QUANTITY: (quantity_question, _quantity_markup(flow, draft.mode)),
        BuildState.AUDIENCE: (texts.DIST_ASK_AUDIENCE, _audience_markup(flow)),
        BuildState.UNIT: (texts.DIST_ASK_UNIT, _unit_markup(flow, draft.choices)),
        BuildState.NOTE: (texts.DIST_ASK_NOTE, _note_markup(flow)),
        BuildState.PREVIEW: (texts.DIST_REPEAT_STEP, _preview_markup(flow)),
    }
    return asked[state]


async def _go(update: Update, context: Context, state: BuildState, draft: BuildDraft) -> BuildState:
    """Commit the step, then ask its question."""
    question, markup = _step_question(state, draft)
    return await BUILD.advance(update, context, state, draft, question, markup)


@BUILD.entry()
async def start_new(update: Update, context: Context, _caller: Caller) -> BuildState:
    """/distribution or /distributions 新建: an organizer starts a distribution."""
    return await _begin(update, context)


def _new_pressed(data: DistributionAction) -> bool:
    return data.action == "new"


@BUILD.entry_press(DistributionAction, BUILDER, accept=_new_pressed)
async def new_pressed(
    update: Update, context: Context, _data: DistributionAction, _caller: Caller
) -> BuildState:
    """➕ 新建发放 in the organizers' list."""
    return await _begin(update, context)


async def _begin(update: Update, context: Context) -> BuildState:
    draft = BuildDraft(BUILD.token())
    # A new distribution replaces any flow left half-way, so its text cannot land elsewhere.
    BUILD.begin(update, context, BuildState.ITEM, draft)
    await answer(update)
    await prompt(update, context, texts.DIST_ASK_ITEM)
    return BuildState.ITEM


async def _item(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.DIST_TEXT_ONLY)
        return None
    try:
        item = rules.check_text(text, rules.MAX_ITEM, Problem.ITEM_TOO_LONG)
    except DistributionInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    return await _go(update, context, BuildState.MODE, dataclasses.replace(turn.draft, item=item))


async def _mode(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    if turn.data.value not in tuple(DistributionMode):
        await answer(update, texts.STALE_BUTTON)
        return None
    draft = dataclasses.replace(turn.draft, mode=turn.data.value, quantity=0)
    return await _go(update, context, BuildState.QUANTITY, draft)


async def _quantity(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.DIST_TEXT_ONLY)
        return None
    try:
        quantity = rules.parse_quantity(text)
    except DistributionInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    draft = dataclasses.replace(turn.draft, quantity=quantity)
    return await _go(update, context, BuildState.AUDIENCE, draft)


async def _each(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    """每人 1 份 (per officer)."""
    if turn.draft.mode != DistributionMode.PER_OFFICER or turn.data.value != "1":
        await BUILD.expire(update)
        return None
    draft = dataclasses.replace(turn.draft, quantity=1)
    return await _go(update, context, BuildState.AUDIENCE, draft)


async def _audience(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value, draft = turn.data.value, turn.draft
    if value == Audience.UNIT:
        with services(context).database.session() as session:
            units = tuple(broadcasts.units_in_use(session))
        if not units:
            await answer(update, texts.DIST_NO_UNITS, alert=True)
            return None
        chosen = dataclasses.replace(draft, audience=Audience.UNIT, choices=units)
        return await _go(update, context, BuildState.UNIT, chosen)
    if value not in dict(texts.DIST_AUDIENCE_BUTTONS):
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _audience_chosen(
        update, context, dataclasses.replace(draft, audience=value, audience_value="")
    )


async def _unit(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value, units = turn.data.value, turn.draft.choices
    index = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= index < len(units):
        await answer(update, texts.STALE_BUTTON)
        return None
    chosen = dataclasses.replace(turn.draft, audience_value=units[index], choices=())
    return await _audience_chosen(update, context, chosen)


async def _audience_chosen(
    update: Update, context: Context, draft: BuildDraft
) -> BuildState | None:
    """The audience's units and officers; per unit the proportional shares to check, per
    officer straight to the note."""
    with services(context).database.session() as session:
        counts = storage.officers_per_unit(session, draft.audience, draft.audience_value or "")
    try:
        if draft.mode == DistributionMode.PER_OFFICER:
            shares = rules.per_officer(draft.quantity, counts)
        else:
            shares = rules.share(draft.quantity, counts)
    except DistributionInputError as exc:
        total = sum(counts.values()) * draft.quantity
        await answer(update, _problem_text(exc.problem, total=total), alert=True)
        return None
    units = tuple(counts)
    draft = dataclasses.replace(
        draft,
        choices=(),
        units=units,
        counts=tuple(counts[unit] for unit in units),
        shares=tuple(shares[unit] for unit in units),
    )
    if draft.mode == DistributionMode.PER_OFFICER:
        return await _go(update, context, BuildState.NOTE, draft)
    return await _go(update, context, BuildState.ALLOCATION, draft)


async def _edit(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    """A unit tapped in the table: its number asked."""
    value = turn.data.value
    index = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= index < len(turn.draft.units):
        await BUILD.expire(update)
        return None
    return await _go(
        update, context, BuildState.EDIT, dataclasses.replace(turn.draft, editing=index)
    )


async def _set_share(
    update: Update, context: Context, draft: BuildDraft, share: int
) -> BuildState | None:
    if share > draft.quantity:
        await prompt(
            update, context, _problem_text(Problem.OVER_ALLOCATED, quantity=draft.quantity)
        )
        return None
    shares = list(draft.shares)
    shares[draft.editing] = share
    fresh = dataclasses.replace(draft, shares=tuple(shares), editing=-1)
    return await _go(update, context, BuildState.ALLOCATION, fresh)


async def _set_pressed(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    value = turn.data.value
    if not (value.isascii() and value.isdigit()):
        await BUILD.expire(update)
        return None
    return await _set_share(update, context, turn.draft, int(value))


async def _set_typed(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.DIST_TEXT_ONLY)
        return None
    try:
        share = rules.parse_count(text)
    except DistributionInputError as exc:
        await prompt(update, context, _problem_text(exc.problem, quantity=turn.draft.quantity))
        return None
    return await _set_share(update, context, turn.draft, share)


async def _allocation_ok(update: Update, context: Context, turn: BuildPress) -> BuildState | None:
    """✅ 分配无误: only when the units' numbers sum to the quantity."""
    draft = turn.draft
    check = rules.allocation_problem(
        draft.quantity, dict(zip(draft.units, draft.shares, strict=True))
    )
    if check is not None:
        await answer(
            update,
            texts.DIST_SUM_MISMATCH.format(total=check.total, quantity=check.quantity),
            alert=True,
        )
        return None
    return await _go(update, context, BuildState.NOTE, draft)


async def _note(update: Update, context: Context, turn: BuildText) -> BuildState | None:
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.DIST_TEXT_ONLY)
        return None
    try:
        note = rules.check_text(text, rules.MAX_NOTE, Problem.NOTE_TOO_LONG)
    except DistributionInputError as exc:
        await prompt(update, context, _problem_text(exc.problem), _note_markup(turn.draft.flow))
        return None
    return await _preview(update, context, dataclasses.replace(turn.draft, note=note))


async def _skip_note(update: Update, context: Context, turn: BuildPress) -> BuildState:
    return await _preview(update, context, dataclasses.replace(turn.draft, note=""))


def _reach(context: Context, draft: BuildDraft) -> str:
    """Who 发布 tells: the contacts of the units (and the units without one), or the audience."""
    with services(context).database.session() as session:
        if draft.mode == DistributionMode.PER_OFFICER:
            told = len(storage.audience(session, draft.audience, draft.audience_value or ""))
            return texts.DIST_REACH_OFFICERS.format(count=told, officers=sum(draft.counts))
        given = [unit for unit, share in zip(draft.units, draft.shares, strict=True) if share > 0]
        contacts = storage.contact_chats(session, given)
    lacking = [unit for unit in given if unit not in contacts]
    text = texts.DIST_REACH_CONTACTS.format(
        units=len(given) - len(lacking), people=sum(len(c) for c in contacts.values())
    )
    if lacking:
        text += "\n" + texts.DIST_REACH_NO_CONTACT.format(units="、".join(lacking))
    return text


async def _preview(update: Update, context: Context, draft: BuildDraft) -> BuildState:
    """The distribution as it will be published, whom it tells, and 发布 / 取消."""
    lines = [
        texts.DIST_PREVIEW_LINE.format(unit=unit, share=share)
        for unit, share in zip(draft.units, draft.shares, strict=True)
        if share > 0
    ]
    total = sum(draft.shares)
    text = texts.DIST_PREVIEW.format(
        item=draft.item,
        mode=_mode_text(draft.mode, draft.quantity),
        total=total,
        audience=_audience_text(draft.audience, draft.audience_value or ""),
        lines="\n".join(lines),
        note=_note_line(draft.note or ""),
        reach=_reach(context, draft),
    )
    return await BUILD.preview(
        update, context, BuildState.PREVIEW, draft, text, _preview_markup(draft.flow)
    )


def _unit_notice(distribution: Distribution, rows: Sequence[DistributionUnit]) -> str:
    lines = [texts.DIST_PREVIEW_LINE.format(unit=row.unit, share=row.allocated) for row in rows]
    return texts.DIST_UNIT_NOTICE.format(
        item=distribution.item, lines="\n".join(lines), note=_note_line(distribution.note)
    )


def _officer_notice(distribution: Distribution) -> str:
    return texts.DIST_OFFICER_NOTICE.format(
        item=distribution.item,
        each=distribution.per_officer,
        note=_note_line(distribution.note),
    )


async def _publish(update: Update, context: Context, turn: BuildPress) -> BuildState | int | None:
    """发布: the distribution, its shares, the notice and the audit entry in one transaction;
    the sender sends the notices after the commit."""
    distribution_id, told, problem = 0, 0, ""
    with BUILD.taking(update, context, BuildState.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            per_officer = draft.mode == DistributionMode.PER_OFFICER
            allocation = dict(zip(draft.units, draft.shares, strict=True))
            check = None if per_officer else rules.allocation_problem(draft.quantity, allocation)
            distribution = Distribution(
                item=draft.item,
                mode=draft.mode,
                quantity=draft.quantity if not per_officer else 1,
                per_officer=draft.quantity if per_officer else 0,
                audience=draft.audience,
                audience_value=draft.audience_value or "",
                note=draft.note or "",
                created_by=turn.caller.actor,
            )
            try:
                if check is not None:
                    raise DistributionInputError(check.problem)
                rows = storage.publish(session, distribution, allocation)
            except DistributionInputError as exc:
                # Refused before anything was written: the preview is spent, nothing kept.
                problem = _problem_text(exc.problem, total=0, quantity=draft.quantity)
            else:
                assert distribution.id is not None
                distribution_id = distribution.id
                told = _queue_notice(session, distribution, rows, turn.caller.actor)
                audit.record(
                    session,
                    actor=turn.caller.actor,
                    action="distribution.create",
                    target=f"distribution:{distribution_id}",
                    item=distribution.item,
                    mode=distribution.mode,
                    quantity=distribution.quantity,
                    units=len(rows),
                    told=told,
                )
    if draft is None:
        await BUILD.expire(update)
        return None
    await answer(update)
    if problem:
        await show_step(update, context, problem)
        return END
    await show_step(update, context, texts.DIST_PUBLISHED.format(id=distribution_id, count=told))
    # Woken after the organizer's own confirmation, so theirs comes first in their chat.
    services(context).broadcaster.wake()
    return END


def _queue_notice(
    session: Session, distribution: Distribution, rows: Sequence[DistributionUnit], actor: str
) -> int:
    """The notice, in the publishing transaction: to the audience (per officer) or to each
    unit's contacts with their own units' numbers (per unit)."""
    if distribution.mode == DistributionMode.PER_OFFICER:
        recipients = storage.audience(session, distribution.audience, distribution.audience_value)
        text = _officer_notice(distribution)
    else:
        contacts = storage.contact_chats(session, [row.unit for row in rows])
        theirs: dict[int, tuple[Recipient, list[DistributionUnit]]] = {}
        for row in rows:
            for contact in contacts.get(row.unit, []):
                theirs.setdefault(contact.officer_id, (contact, []))[1].append(row)
        recipients = [
            Recipient(contact.officer_id, contact.chat_id, _unit_notice(distribution, units))
            for contact, units in theirs.values()
        ]
        text = texts.DIST_UNIT_NOTICE_SHORT.format(item=distribution.item)
    if not recipients:
        return 0
    notice = broadcasts.create(
        session,
        kind=BroadcastKind.ANNOUNCEMENT,
        priority=Priority.NORMAL,
        text=text,
        recipients=recipients,
        created_by=actor,
        buttons=notice_markup(distribution).to_json(),
    )
    assert distribution.id is not None and notice.id is not None
    storage.set_notice(session, distribution.id, notice.id)
    return notice.total


async def _build_repeat(update: Update, context: Context, turn: BuildText) -> None:
    """Text where a button is wanted: the step's question again, with its buttons."""
    question, markup = _step_question(turn.state, turn.draft)
    await prompt(update, context, texts.DIST_REPEAT_STEP + "\n" + question, markup)


async def cancel(update: Update, context: Context) -> int:
    """/cancel in a distribution flow: drop the draft (and any other unfinished flow)."""
    with services(context).database.session() as session:
        dropped = conversations.delete_all_for(session, conversation_key(update))
    await reply(update, context, texts.CANCELLED if dropped else texts.NOTHING_TO_CANCEL)
    return END


# === confirming: officers' 已领取, units' 已收到 ================================================


_COLLECTED_WORDS = {
    Outcome.ALREADY: texts.DIST_ALREADY_COLLECTED,
    Outcome.CLOSED: texts.DIST_CLOSED,
    Outcome.NOT_YOURS: texts.DIST_NOT_FOR_YOU,
    Outcome.GONE: texts.DIST_GONE,
}


def _collect_pressed(data: DistributionAction) -> bool:
    return data.action == "collect"


@pressed(DistributionAction, OFFICER, accept=_collect_pressed)
async def collect_pressed(
    update: Update, context: Context, data: DistributionAction, caller: Caller
) -> None:
    """✅ 已领取: once; a double press, a closed distribution or one not for them is refused."""
    assert caller.officer.id is not None
    with services(context).database.session() as session:
        outcome = storage.collect(session, data.distribution_id, caller.officer.id, now=utcnow())
        distribution = storage.get(session, data.distribution_id)
    if outcome != Outcome.STORED or distribution is None:
        await answer(update, _COLLECTED_WORDS.get(outcome, texts.DIST_GONE), alert=True)
        return
    await answer(update)
    await edit_or_send(update, context, texts.DIST_COLLECTED.format(item=distribution.item))


def _units_pressed(data: DistributionAction) -> bool:
    return data.action == "units"


@pressed(DistributionAction, OFFICER, accept=_units_pressed)
async def units_pressed(
    update: Update, context: Context, data: DistributionAction, caller: Caller
) -> None:
    """📦 确认收到 / a distribution in a contact's list: their units' shares, with 已收到 and
    部分收到 for those not confirmed (per officer: who has not collected yet)."""
    with services(context).database.session() as session:
        distribution = storage.get(session, data.distribution_id)
        rows = storage.units_of(session, data.distribution_id) if distribution else []
    mine = [row for row in rows if row.unit in caller.contact_units]
    if distribution is None:
        await answer(update, texts.DIST_GONE, alert=True)
        return
    if not mine:
        await answer(update, texts.DIST_NO_UNITS_OF_YOURS, alert=True)
        return
    await answer(update)
    text, markup = _contact_view(context, distribution, mine)
    await edit_or_send(update, context, text, markup)


def _unit_buttons(row: DistributionUnit) -> list[InlineKeyboardButton]:
    assert row.id is not None
    return [
        InlineKeyboardButton(
            texts.DIST_FULL_BUTTON.format(unit=row.unit, share=row.allocated),
            callback_data=DistributionUnitPress("full", row.id).pack(),
        ),
        InlineKeyboardButton(
            texts.DIST_PARTIAL_BUTTON.format(unit=row.unit),
            callback_data=DistributionUnitPress("partial", row.id).pack(),
        ),
    ]


def _unit_line(row: DistributionUnit, zone: ZoneInfo) -> str:
    if row.received is None:
        return texts.DIST_UNIT_WAITING.format(unit=row.unit, share=row.allocated)
    assert row.confirmed_at is not None
    return texts.DIST_UNIT_CONFIRMED.format(
        unit=row.unit,
        share=row.allocated,
        received=row.received,
        when=row.confirmed_at.astimezone(zone).strftime("%m-%d %H:%M"),
    )


def _contact_view(
    context: Context, distribution: Distribution, rows: Sequence[DistributionUnit]
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A contact's units in one distribution."""
    found = services(context)
    assert distribution.id is not None
    head = texts.DIST_CONTACT_HEAD.format(
        item=distribution.item, note=_note_line(distribution.note)
    )
    if distribution.status != DistributionStatus.OPEN:
        head += "\n" + texts.DIST_CLOSED
    if distribution.mode == DistributionMode.PER_OFFICER:
        with found.database.session() as session:
            per_unit = storage.collected_per_unit(session, distribution.id)
            waiting = storage.share_lines(
                session, distribution.id, units=[row.unit for row in rows], outstanding=True
            )
        blocks = [
            texts.DIST_UNIT_COLLECTED.format(
                unit=row.unit,
                done=per_unit.get(row.unit, (0, 0))[0],
                total=per_unit.get(row.unit, (0, 0))[1],
            )
            for row in rows
        ]
        blocks.extend(_waiting_lines(waiting))
        return head + "\n" + "\n".join(blocks), None
    lines = [_unit_line(row, found.zone) for row in rows]
    buttons = [
        [button]
        for row in rows
        if row.received is None and distribution.status == DistributionStatus.OPEN
        for button in _unit_buttons(row)
    ]
    return head + "\n" + "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None


def _waiting_lines(waiting: Sequence[storage.ShareLine]) -> list[str]:
    """Officers not collected yet, grouped by unit."""
    if not waiting:
        return [texts.DIST_ALL_COLLECTED]
    lines: list[str] = [texts.DIST_NOT_COLLECTED_HEAD]
    unit = None
    for line in waiting:
        if line.unit != unit:
            unit = line.unit
            lines.append(texts.DIST_WAITING_UNIT.format(unit=unit))
        lines.append(texts.DIST_WAITING_OFFICER.format(name=line.name, police_id=line.police_id))
    return lines


async def _authorised_row(
    update: Update, context: Context, data: DistributionUnitPress, caller: Caller
) -> tuple[Distribution, DistributionUnit] | None:
    """The unit's share and its distribution if the caller may confirm for the unit now;
    otherwise refused in one sentence (a forged press audited) and None."""
    with services(context).database.session() as session:
        row = storage.unit_row(session, data.row_id)
        distribution = storage.get(session, row.distribution_id) if row else None
        contact = storage.has_contact(session, row.unit) if row else False
    if row is None or distribution is None or distribution.mode != DistributionMode.PER_UNIT:
        await answer(update, texts.DIST_GONE, alert=True)
        return None
    if not may_confirm(caller, row.unit, contact):
        words = texts.DIST_UNIT_HAS_CONTACT if caller.organizer else texts.DIST_NOT_YOUR_UNIT
        await refuse(
            update,
            context,
            caller,
            forged="forged.distribution_unit",
            target=_row_target(data),
            text=words.format(unit=row.unit),
        )
        return None
    if distribution.status != DistributionStatus.OPEN:
        await answer(update, texts.DIST_CLOSED, alert=True)
        return None
    if row.received is not None:
        await answer(update, texts.DIST_ALREADY_CONFIRMED.format(unit=row.unit), alert=True)
        return None
    return distribution, row


_CONFIRMED_WORDS = {
    Outcome.CLOSED: texts.DIST_CLOSED,
    Outcome.GONE: texts.DIST_GONE,
}


def _confirm(context: Context, caller: Caller, row: DistributionUnit, received: int) -> Outcome:
    """Write the unit's receipt (the unit's right checked again in the same transaction)."""
    assert row.id is not None
    with services(context).database.session() as session:
        if not may_confirm(caller, row.unit, storage.has_contact(session, row.unit)):
            return Outcome.NOT_YOURS
        outcome = storage.confirm_unit(session, row.id, received, by=caller.actor, now=utcnow())
        if outcome == Outcome.STORED:
            audit.record(
                session,
                actor=caller.actor,
                action="distribution.receipt",
                target=f"distribution:{row.distribution_id}",
                unit=row.unit,
                allocated=row.allocated,
                received=received,
            )
    return outcome


def _confirm_words(outcome: Outcome, row: DistributionUnit, item: str, received: int) -> str:
    if outcome == Outcome.STORED:
        template = (
            texts.DIST_RECEIVED_FULL if received == row.allocated else texts.DIST_RECEIVED_PARTIAL
        )
        return template.format(unit=row.unit, item=item, received=received, share=row.allocated)
    if outcome == Outcome.ALREADY:
        return texts.DIST_ALREADY_CONFIRMED.format(unit=row.unit)
    if outcome == Outcome.NOT_YOURS:
        return texts.DIST_NOT_YOUR_UNIT.format(unit=row.unit)
    return _CONFIRMED_WORDS.get(outcome, texts.DIST_GONE)


def _full_pressed(data: DistributionUnitPress) -> bool:
    return data.action == "full"


@pressed(DistributionUnitPress, CONFIRMER, accept=_full_pressed)
async def full_pressed(
    update: Update, context: Context, data: DistributionUnitPress, caller: Caller
) -> None:
    """已收到 N 份: the unit's whole share, once."""
    found = await _authorised_row(update, context, data, caller)
    if found is None:
        return
    distribution, row = found
    outcome = _confirm(context, caller, row, row.allocated)
    words = _confirm_words(outcome, row, distribution.item, row.allocated)
    if outcome != Outcome.STORED:
        await answer(update, words, alert=True)
        return
    await answer(update)
    await reply(update, context, words)


class ReceiptState(StrEnum):
    """The one step of a partial receipt: the number received."""

    AMOUNT = "amount"


@dataclass(frozen=True)
class ReceiptDraft(Draft):
    """The unit's share being confirmed in part."""

    row_id: int = 0
    unit: str = ""
    allocated: int = 0
    item: str = ""


def _receipt_ready(_state: ReceiptState, draft: ReceiptDraft) -> bool:
    return draft.row_id > 0 and bool(draft.unit)


RECEIPT = Flow(
    RECEIPT_NAME,
    ReceiptState,
    ReceiptDraft,
    DistributionReceiptStep,
    access=RECEIPT_CONFIRMER,
    ready=_receipt_ready,
)
ReceiptPress = Pressed[ReceiptState, ReceiptDraft, DistributionReceiptStep]
ReceiptText = Typed[ReceiptState, ReceiptDraft]


def _partial_pressed(data: DistributionUnitPress) -> bool:
    return data.action == "partial"


@RECEIPT.entry_press(DistributionUnitPress, CONFIRMER, accept=_partial_pressed)
async def partial_pressed(
    update: Update, context: Context, data: DistributionUnitPress, caller: Caller
) -> ReceiptState | int:
    """部分收到: the number received is asked."""
    found = await _authorised_row(update, context, data, caller)
    if found is None:
        return END
    distribution, row = found
    draft = ReceiptDraft(
        RECEIPT.token(),
        row_id=data.row_id,
        unit=row.unit,
        allocated=row.allocated,
        item=distribution.item,
    )
    RECEIPT.begin(update, context, ReceiptState.AMOUNT, draft)
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.DIST_DISCARD_BUTTON,
                    callback_data=DistributionReceiptStep(draft.flow, "cancel").pack(),
                )
            ]
        ]
    )
    await answer(update)
    await prompt(
        update,
        context,
        texts.DIST_ASK_RECEIVED.format(unit=row.unit, item=distribution.item, share=row.allocated),
        markup,
    )
    return ReceiptState.AMOUNT


async def _received_typed(update: Update, context: Context, turn: ReceiptText) -> int | None:
    """The number received, checked, then written once."""
    draft = turn.draft
    text = turn.message.text
    try:
        if text is None:
            raise DistributionInputError(Problem.NOT_A_NUMBER)
        received = rules.check_received(draft.allocated, rules.parse_count(text))
    except DistributionInputError as exc:
        await prompt(update, context, _problem_text(exc.problem, quantity=draft.allocated))
        return None
    with services(context).database.session() as session:
        row = storage.unit_row(session, draft.row_id)
    RECEIPT.forget(update, context)
    if row is None:
        await prompt(update, context, texts.DIST_GONE)
        return END
    outcome = _confirm(context, turn.caller, row, received)
    await prompt(update, context, _confirm_words(outcome, row, draft.item, received))
    return END


# === /distributions: officers, contacts and organizers =========================================


@access()
async def distributions_command(update: Update, context: Context, caller: Caller) -> None:
    """/distributions: the items this officer has to collect; a contact's units; organizers'
    list."""
    found = services(context)
    assert caller.officer.id is not None
    with found.database.session() as session:
        waiting = storage.waiting_for(session, caller.officer.id)
        theirs = storage.open_for_units(session, caller.contact_units)
    shown = False
    if waiting:
        lines = [texts.DIST_MINE_HEAD]
        rows = []
        for distribution in waiting:
            assert distribution.id is not None
            lines.append(
                texts.DIST_MINE_LINE.format(
                    item=distribution.item,
                    each=distribution.per_officer,
                    note=_note_line(distribution.note),
                )
            )
            rows.append(
                [
                    _action(
                        texts.DIST_COLLECT_ITEM_BUTTON.format(item=distribution.item),
                        "collect",
                        distribution.id,
                    )
                ]
            )
        await reply(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))
        shown = True
    if theirs:
        rows = [
            [_action(texts.DIST_CONTACT_ITEM_BUTTON.format(item=d.item), "units", d.id or 1)]
            for d in theirs
        ]
        await reply(update, context, texts.DIST_CONTACT_LIST, InlineKeyboardMarkup(rows))
        shown = True
    if caller.organizer:
        text, markup = _organizer_view(context)
        await reply(update, context, text, markup)
    elif not shown:
        await reply(update, context, texts.DIST_NOTHING)


def _organizer_view(context: Context) -> tuple[str, InlineKeyboardMarkup]:
    found = services(context)
    with found.database.session() as session:
        listed = [(d, storage.progress(session, d.id or 0)) for d in storage.recent(session)]
    lines = [texts.DIST_LIST_HEAD if listed else texts.DIST_LIST_EMPTY]
    rows = []
    for distribution, progress in listed:
        assert distribution.id is not None
        mark = (
            texts.DIST_OPEN_MARK
            if distribution.status == DistributionStatus.OPEN
            else texts.DIST_CLOSED_MARK
        )
        lines.append(
            texts.DIST_LIST_LINE.format(
                mark=mark,
                id=distribution.id,
                item=distribution.item,
                progress=_progress_text(distribution, progress),
            )
        )
        label = f"{mark} #{distribution.id} {distribution.item}"
        rows.append([_action(label, "open", distribution.id)])
    rows.append([_action(texts.DIST_NEW_BUTTON, "new")])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _progress_text(distribution: Distribution, progress: storage.Progress) -> str:
    if distribution.mode == DistributionMode.PER_OFFICER:
        return texts.DIST_PROGRESS_OFFICERS.format(done=progress.collected, total=progress.shares)
    return texts.DIST_PROGRESS_UNITS.format(
        done=progress.confirmed,
        total=progress.units,
        received=progress.received,
        allocated=progress.allocated,
    )


def _panel(context: Context, distribution: Distribution) -> tuple[str, InlineKeyboardMarkup]:
    found = services(context)
    assert distribution.id is not None
    with found.database.session() as session:
        progress = storage.progress(session, distribution.id)
    status = (
        texts.DIST_STATUS_OPEN
        if distribution.status == DistributionStatus.OPEN
        else texts.DIST_STATUS_CLOSED
    )
    reminded = (
        texts.DIST_REMINDED_AT.format(
            when=distribution.reminded_at.astimezone(found.zone).strftime("%Y-%m-%d %H:%M")
        )
        if distribution.reminded_at is not None
        else ""
    )
    text = texts.DIST_PANEL.format(
        card=card_text(distribution, found.zone),
        status=status,
        progress=_progress_text(distribution, progress),
        reminded=reminded,
    )
    did = distribution.id
    rows = [
        [
            _action(texts.DIST_OUTSTANDING_BUTTON, "outstanding", did),
            _action(texts.DIST_EXPORT_BUTTON, "export", did),
        ]
    ]
    if distribution.status == DistributionStatus.OPEN:
        if distribution.reminded_at is None:
            rows.append([_action(texts.DIST_REMIND_BUTTON, "remind", did)])
        rows.append([_action(texts.DIST_CLOSE_BUTTON, "close", did)])
    rows.append([_action(texts.DIST_LIST_BUTTON, "list")])
    return text, InlineKeyboardMarkup(rows)


def _managed(data: DistributionAction) -> bool:
    return data.action in ("open", "list", "outstanding", "remind", "export", "close", "closeok")


@pressed(DistributionAction, MANAGER, accept=_managed)
async def manage(
    update: Update, context: Context, data: DistributionAction, caller: Caller
) -> None:
    """The organizers' buttons: the list, a panel, outstanding lists, the reminder, XLSX,
    closing."""
    found = services(context)
    if data.action == "list":
        await answer(update)
        text, markup = _organizer_view(context)
        await edit_or_send(update, context, text, markup)
        return
    with found.database.session() as session:
        distribution = storage.get(session, data.distribution_id)
    if distribution is None or distribution.id is None:
        await answer(update, texts.DIST_GONE, alert=True)
        return
    if data.action == "open":
        await answer(update)
        text, markup = _panel(context, distribution)
        await edit_or_send(update, context, text, markup)
    elif data.action == "outstanding":
        await answer(update)
        text, outstanding = _outstanding(context, distribution)
        await reply(update, context, text, outstanding)
    elif data.action == "remind":
        await _remind_pressed(update, context, caller, distribution)
    elif data.action == "export":
        await _export(update, context, caller, distribution)
    elif data.action == "close":
        await _ask_close(update, context, distribution)
    else:
        await _close(update, context, caller, distribution)


def _outstanding(
    context: Context, distribution: Distribution
) -> tuple[str, InlineKeyboardMarkup | None]:
    """What is not confirmed yet: units (with 代确认 where a unit has no contact), or officers
    per unit."""
    found = services(context)
    assert distribution.id is not None
    head = texts.DIST_OUTSTANDING_HEAD.format(id=distribution.id, item=distribution.item)
    with found.database.session() as session:
        if distribution.mode == DistributionMode.PER_OFFICER:
            waiting = storage.share_lines(session, distribution.id, outstanding=True)
            return head + "\n" + "\n".join(_waiting_lines(waiting)), None
        rows = [row for row in storage.units_of(session, distribution.id) if row.received is None]
        contacts = storage.contact_chats(session, [row.unit for row in rows])
    if not rows:
        return head + "\n" + texts.DIST_ALL_CONFIRMED, None
    lines = [
        _unit_line(row, found.zone) + ("" if row.unit in contacts else texts.DIST_NO_CONTACT_MARK)
        for row in rows
    ]
    open_now = distribution.status == DistributionStatus.OPEN
    buttons = [
        [button]
        for row in rows
        if row.unit not in contacts and open_now
        for button in _unit_buttons(row)
    ]
    return head + "\n" + "\n".join(lines), InlineKeyboardMarkup(buttons) if buttons else None


class Reminded(StrEnum):
    """What became of a reminder."""

    QUEUED = "queued"
    ALREADY = "already"
    NOBODY = "nobody"


def remind(
    database: Database, distribution_id: int, now: datetime, zone: ZoneInfo, actor: str
) -> tuple[Reminded, int]:
    """The one reminder: those not confirmed yet, each claimed in the send ledger, and the
    distribution's reminder taken, in one transaction; (what became of it, how many)."""
    with database.session() as session:
        distribution = storage.get(session, distribution_id)
        if distribution is None or distribution.reminded_at is not None:
            return Reminded.ALREADY, 0
        if distribution.status != DistributionStatus.OPEN:
            return Reminded.ALREADY, 0
        waiting = storage.to_remind(session, distribution)
        if not waiting:
            return Reminded.NOBODY, 0
        taken = storage.claim_reminder(session, distribution_id, now)
        if taken is None:
            session.rollback()
            return Reminded.ALREADY, 0
        template = (
            texts.DIST_REMINDER_OFFICER
            if distribution.mode == DistributionMode.PER_OFFICER
            else texts.DIST_REMINDER_UNIT
        )
        broadcast = ledger.queue_once(
            session,
            f"distribution:{distribution_id}",
            distribution.created_at.astimezone(zone).date(),
            waiting,
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text=template.format(item=distribution.item, note=_note_line(distribution.note)),
            created_by=actor,
            buttons=notice_markup(distribution).to_json(),
        )
        count = broadcast.total if broadcast is not None else 0
        audit.record(
            session,
            actor=actor,
            action="distribution.remind",
            target=f"distribution:{distribution_id}",
            told=count,
        )
    return Reminded.QUEUED, count


async def _remind_pressed(
    update: Update, context: Context, caller: Caller, distribution: Distribution
) -> None:
    found = services(context)
    assert distribution.id is not None
    outcome, count = remind(found.database, distribution.id, utcnow(), found.zone, caller.actor)
    if outcome == Reminded.ALREADY:
        await answer(update, texts.DIST_ALREADY_REMINDED, alert=True)
        return
    if outcome == Reminded.NOBODY:
        await answer(update, texts.DIST_NOBODY_TO_REMIND, alert=True)
        return
    await answer(update)
    await reply(update, context, texts.DIST_REMINDED.format(count=count, item=distribution.item))
    found.broadcaster.wake()


def workbook(
    distribution: Distribution,
    units: Sequence[DistributionUnit],
    collected: dict[str, tuple[int, int]],
    shares: Sequence[storage.ShareLine],
    zone: ZoneInfo,
) -> bytes:
    """Per unit allocated and received (per officer: collected); per officer collected yes/no
    with the date."""
    per_officer = distribution.mode == DistributionMode.PER_OFFICER
    unit_rows: list[list[Cell]] = []
    for row in units:
        if per_officer:
            done, total = collected.get(row.unit, (0, 0))
            unit_rows.append([row.unit, row.allocated, done, total])
        else:
            unit_rows.append(
                [
                    row.unit,
                    row.allocated,
                    row.received,
                    row.confirmed_by.removeprefix("officer:"),
                    wall_time(row.confirmed_at, zone),
                ]
            )
    columns = texts.DIST_EXPORT_UNITS_OFFICER if per_officer else texts.DIST_EXPORT_UNITS
    sheets = [Sheet(texts.DIST_EXPORT_UNITS_SHEET, columns, unit_rows, XLSX_UNIT_WIDTHS)]
    if per_officer:
        share_rows: list[list[Cell]] = [
            [
                line.police_id,
                line.name,
                line.unit,
                texts.DIST_EXPORT_YES if line.collected_at else texts.DIST_EXPORT_NO,
                wall_time(line.collected_at, zone),
            ]
            for line in shares
        ]
        sheets.append(
            Sheet(
                texts.DIST_EXPORT_SHARES_SHEET,
                texts.DIST_EXPORT_SHARES,
                share_rows,
                XLSX_SHARE_WIDTHS,
            )
        )
    buffer = io.BytesIO()
    write_sheets(sheets, buffer)
    return buffer.getvalue()


async def _export(
    update: Update, context: Context, caller: Caller, distribution: Distribution
) -> None:
    found = services(context)
    assert distribution.id is not None and update.effective_chat is not None
    with found.database.session() as session:
        units = storage.units_of(session, distribution.id)
        collected = storage.collected_per_unit(session, distribution.id)
        shares = storage.share_lines(session, distribution.id)
        audit.record(
            session,
            actor=caller.actor,
            action="distribution.export",
            target=f"distribution:{distribution.id}",
            rows=len(units) + len(shares),
        )
    await answer(update)
    document = InputFile(
        io.BytesIO(workbook(distribution, units, collected, shares, found.zone)),
        filename=f"distribution-{distribution.id}.xlsx",
    )
    await context.bot.send_document(
        update.effective_chat.id,
        document,
        caption=texts.DIST_EXPORT_CAPTION.format(id=distribution.id, item=distribution.item),
    )


async def _ask_close(update: Update, context: Context, distribution: Distribution) -> None:
    assert distribution.id is not None
    if distribution.status != DistributionStatus.OPEN:
        await answer(update, texts.DIST_ALREADY_CLOSED, alert=True)
        return
    await answer(update)
    markup = InlineKeyboardMarkup(
        [
            [
                _action(texts.DIST_CLOSE_YES, "closeok", distribution.id),
                _action(texts.DIST_CLOSE_NO, "open", distribution.id),
            ]
        ]
    )
    await edit_or_send(update, context, texts.DIST_CLOSE_ASK.format(item=distribution.item), markup)


async def _close(
    update: Update, context: Context, caller: Caller, distribution: Distribution
) -> None:
    """⏹ 确定结束: closed once; a second press hears it is closed already."""
    found = services(context)
    assert distribution.id is not None
    with found.database.session() as session:
        closed = storage.close(session, distribution.id, utcnow())
        if closed is not None:
            storage.stop_messages(session, distribution.id)
            audit.record(
                session,
                actor=caller.actor,
                action="distribution.close",
                target=f"distribution:{distribution.id}",
            )
    if closed is None:
        await answer(update, texts.DIST_ALREADY_CLOSED, alert=True)
        return
    await answer(update)
    await edit_or_send(update, context, texts.DIST_CLOSED_DONE.format(item=distribution.item))


# === registration ===========================================================================


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The distribution flows, /distributions and its buttons; before `menu`."""
    words = "|".join(NEW_WORDS)
    new_command = PRIVATE_MESSAGE & filters.Regex(rf"^/distributions(@\w+)?\s+({words})\s*$")
    fallbacks = [CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)]
    repeat = BUILD.typed(_build_repeat)
    build = BUILD.handler(
        entry_points=[
            CommandHandler("distribution", start_new, filters=PRIVATE_MESSAGE),
            CommandHandler("distributions", start_new, filters=new_command),
            CallbackQueryHandler(new_pressed, pattern=r"^dba:new:"),
        ],
        states={
            BuildState.ITEM: [BUILD.typed(_item)],
            BuildState.MODE: [BUILD.press("mode", _mode), repeat],
            BuildState.QUANTITY: [BUILD.press("each", _each), BUILD.typed(_quantity)],
            BuildState.AUDIENCE: [BUILD.press("audience", _audience), repeat],
            BuildState.UNIT: [BUILD.press("unit", _unit), repeat],
            BuildState.ALLOCATION: [
                BUILD.press("edit", _edit),
                BUILD.press("allocok", _allocation_ok),
                repeat,
            ],
            BuildState.EDIT: [BUILD.press("set", _set_pressed), BUILD.typed(_set_typed)],
            BuildState.NOTE: [BUILD.press("skipnote", _skip_note), BUILD.typed(_note)],
            BuildState.PREVIEW: [
                BUILD.press("confirm", _publish),
                BUILD.press("cancel", BUILD.cancel()),
                repeat,
            ],
        },
        fallbacks=fallbacks,
    )
    receipt = RECEIPT.handler(
        entry_points=[CallbackQueryHandler(partial_pressed, pattern=r"^dbu:partial:")],
        states={
            ReceiptState.AMOUNT: [
                RECEIPT.press("cancel", RECEIPT.cancel()),
                RECEIPT.typed(_received_typed),
            ]
        },
        fallbacks=fallbacks,
    )
    return [
        build,
        BUILD.outside(),
        receipt,
        RECEIPT.outside(),
        CommandHandler("distributions", distributions_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(collect_pressed, pattern=r"^dba:collect:"),
        CallbackQueryHandler(units_pressed, pattern=r"^dba:units:"),
        CallbackQueryHandler(full_pressed, pattern=r"^dbu:full:"),
        CallbackQueryHandler(
            manage, pattern=r"^dba:(open|list|outstanding|remind|export|close|closeok):"
        ),
    ]
