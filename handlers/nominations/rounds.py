"""Nominations by quota, the organizers' side (issue 12): rounds opened, reviewed, published,
objections decided, made final; exclusion flags; the workbook for finance.

- `/rounds` (评选管理) and `organizer_panel` (what /retreats and /honours show an organizer):
  the rounds of a programme with their state, ➕ 新一轮, and 🚫 排除名单 for honours.
- Opening a round is a flow (handlers/flow.py): programme → name → places → quotas per unit
  (the proportional default by largest remainder; tap a unit to change its number, the sum
  checked) → window (opens, closes) → for retreats the batches (dates, place, meeting point,
  places) and the daily allowance → a preview with the policy's eligibility rules → 开启.
  The unit contacts of units with places are told (broadcast, after the commit).
- A round's card: progress per unit, 审核 (通过 / 退回 with a reason: the nominee and the
  unit's contacts told), 发布公示 (every bound officer told, with a button to the list
  handlers/nominations/member.py shows), 异议 (保留 / 撤下 with a reason; only a removal is
  told to the nominee, never who objected), 结束公示 once the publicity is over (also a
  scheduled job: bot/jobs/nominations.py), 导出 (XLSX).

Every step is one call of storage.nominations, whose refusals are said in their one sentence
(texts.NOMINATION_REFUSALS). Every press is authorised again: organizers only, a forged press
audited.
"""

from __future__ import annotations

import dataclasses
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import Policy
from bot.rules import nominations as rules
from bot.rules.forgiving import Lean, normalise, parse_clock, parse_day
from bot.rules.nominations import NominationStatus
from bot.xlsx import Cell, write_workbook
from handlers import menu
from handlers.access import Access, pressed
from handlers.callbacks import (
    CallbackData,
    ExclusionLift,
    NominationPublicity,
    RoundAdmin,
    RoundNote,
    RoundsMenu,
    RoundStep,
)
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    notify,
    prompt,
    show_step,
)
from handlers.context import Services, services
from handlers.events import moment_text
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts
from storage import nominations as storage
from storage import officers as officer_storage
from storage import roles as role_storage
from storage.broadcasts import Recipient
from storage.models import (
    BroadcastKind,
    Nomination,
    NominationRound,
    Officer,
    Priority,
    Programme,
    RoundStatus,
)
from storage.nominations import BatchSpec, Refusal, Refused
from storage.types import utcnow

S = NominationStatus
OPEN_NAME = "nomination_round"
NOTE_NAME = "nomination_note"
PANEL_FINAL = 3  # final rounds still listed on the panel, newest first
MAX_PLACES = 10_000
CLOSES_AT = time(18, 0)  # a closing day typed alone ends then
RETREAT_VALUE = "_retreat"  # the programme button of retreats (honour keys start with a letter)
ON_LIST = (S.APPROVED, S.PUBLISHED, S.OBJECTED, S.FINAL)
PER_ROW = 2


def _target(data: CallbackData) -> str:
    round_id = getattr(data, "round_id", None)
    return f"round:{round_id}" if round_id is not None else "rounds"


ROUNDS_ADMIN: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.nomination_admin",
    target=_target,
    refusal=texts.ROUNDS_NOT_ORGANIZER,
)
"""Organizers and admins; anyone else hears one sentence, a press audited as forged."""


# --- words ---------------------------------------------------------------------------------


def refusal_text(refused: Refused, policy: Policy) -> str:
    """A refusal of storage.nominations in its one sentence."""
    if refused.refusal is Refusal.BAD_QUOTAS and refused.quota is not None:
        check = refused.quota
        return texts.NOMINATION_QUOTA_PROBLEMS[check.problem.value].format(
            unit=check.unit, total=check.total, places=check.places
        )
    terms = policy.nominations
    return texts.NOMINATION_REFUSALS[refused.refusal.value].format(
        days=terms.retreat_max_days,
        cap=terms.daily_allowance_cap,
        limit=terms.honour_reason_max_chars,
    )


def programme_name(policy: Policy, programme: str, title: str) -> str:
    """疗休养, or the honour's name from the policy (its key if the policy lost it)."""
    if programme == Programme.HONOUR:
        honour = policy.nominations.honour(title)
        return honour.name if honour is not None else title
    return texts.NOMINATION_PROGRAMMES["retreat"]


def _icon(programme: str) -> str:
    return texts.ROUNDS_ICONS.get(programme, "")


def day_text(day: date) -> str:
    """2027-05-10（周一）."""
    return f"{day.isoformat()}（{texts.WEEKDAYS[day.weekday()]}）"


def batch_text(starts_on: date, ends_on: date, place: str) -> str:
    """A batch's dates and place, as nominees and organizers read it."""
    return texts.ROUNDS_BATCH_SPAN.format(
        start=starts_on.isoformat(),
        end=ends_on.isoformat(),
        days=rules.batch_days(starts_on, ends_on),
        place=place,
    )


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


def _rows(buttons: Sequence[InlineKeyboardButton], per_row: int = PER_ROW) -> list[list[Any]]:
    return [list(buttons[start : start + per_row]) for start in range(0, len(buttons), per_row)]


# --- the panel of rounds -------------------------------------------------------------------


def _panel(context: Context, scope: str) -> tuple[str, InlineKeyboardMarkup]:
    """The rounds of a programme (or all) with their state, and the panel's buttons."""
    found = services(context)
    programme = None if scope == "all" else Programme(scope)
    with found.database.session() as session:
        live = storage.rounds(session, programme=programme)
        done = storage.rounds(session, programme=programme, statuses=(RoundStatus.FINAL,))[
            :PANEL_FINAL
        ]
    lines = [texts.ROUNDS_PANEL_TITLE[scope]]
    buttons = []
    for round_ in [*live, *done]:
        assert round_.id is not None
        label = texts.ROUNDS_PANEL_LINE.format(
            icon=_icon(round_.programme),
            name=round_.name,
            what=programme_name(found.policy, round_.programme, round_.title),
            status=texts.NOMINATION_ROUND_STATUSES[round_.status],
        )
        lines.append(label)
        buttons.append([_button(label, RoundAdmin("show", round_.id))])
    if not live and not done:
        lines.append(texts.ROUNDS_PANEL_NONE)
    tools = [_button(texts.ROUNDS_NEW_BUTTON, RoundsMenu("new", scope))]
    if scope != Programme.RETREAT:
        tools.append(_button(texts.ROUNDS_EXCLUSIONS_BUTTON, RoundsMenu("excl", scope)))
    return "\n".join(lines), InlineKeyboardMarkup([*buttons, tools])


async def organizer_panel(
    update: Update, context: Context, caller: Caller, programme: Programme
) -> None:
    """The rounds of this programme for an organizer, with their management buttons and
    ➕ 新一轮 (a new message; a press is the caller's to answer). Others are shown nothing."""
    if not caller.organizer:
        return
    text, markup = _panel(context, Programme(programme).value)
    await prompt(update, context, text, markup)


async def rounds_command(update: Update, context: Context) -> None:
    """/rounds (评选管理): the organizers' panel of every programme's rounds."""
    caller = await ROUNDS_ADMIN.admit(update, context)
    if caller is None:
        return
    text, markup = _panel(context, "all")
    await prompt(update, context, text, markup)


# --- a round's card ------------------------------------------------------------------------


def _progress_lines(session: Session, round_id: int) -> list[str]:
    lines = []
    for unit in storage.round_progress(session, round_id):
        counts = unit.by_status
        passed = sum(counts.get(str(status), 0) for status in ON_LIST)
        line = texts.ROUNDS_PROGRESS_LINE.format(
            unit=unit.unit,
            places=unit.places,
            held=unit.held,
            nominated=counts.get(S.NOMINATED, 0),
            confirmed=counts.get(S.CONFIRMED, 0),
            approved=passed,
        )
        if counts.get(S.APPLIED, 0):
            line += texts.ROUNDS_PROGRESS_APPLIED.format(count=counts[S.APPLIED])
        lines.append(line)
    return lines or [texts.ROUNDS_PROGRESS_NONE]


def _card(context: Context, round_id: int) -> tuple[str, InlineKeyboardMarkup] | None:
    """The round as organizers see it, and the buttons of its status; None if it is gone."""
    found = services(context)
    zone, now = found.zone, utcnow()
    with found.database.session() as session:
        round_ = storage.get_round(session, round_id)
        if round_ is None:
            return None
        batches = storage.batches_of(session, round_id)
        taken = {batch.id: storage.batch_taken(session, batch.id or 0) for batch in batches}
        progress = _progress_lines(session, round_id)
        waiting = len(storage.to_review(session, round_id))
        objections = storage.objections_of(session, round_id, found.cipher)
    lines = [
        texts.ROUNDS_CARD_HEAD.format(
            icon=_icon(round_.programme),
            name=round_.name,
            what=programme_name(found.policy, round_.programme, round_.title),
            id=round_id,
            status=texts.NOMINATION_ROUND_STATUSES[round_.status],
            places=round_.places,
            opens=moment_text(round_.opens_at, zone),
            closes=moment_text(round_.closes_at, zone),
        )
    ]
    if round_.programme == Programme.RETREAT:
        lines.append(texts.ROUNDS_CARD_ALLOWANCE.format(allowance=round_.daily_allowance))
        for number, batch in enumerate(batches, start=1):
            lines.append(
                texts.ROUNDS_CARD_BATCH.format(
                    number=number,
                    batch=batch_text(batch.starts_on, batch.ends_on, batch.place),
                    taken=taken.get(batch.id, 0),
                    places=batch.places,
                )
            )
    if round_.publicity_ends_at is not None:
        lines.append(
            texts.ROUNDS_CARD_PUBLICITY.format(until=moment_text(round_.publicity_ends_at, zone))
        )
    lines.append(texts.ROUNDS_CARD_PROGRESS)
    lines += progress
    rows: list[list[InlineKeyboardButton]] = []
    if round_.status == RoundStatus.OPEN:
        rows.append(
            [
                _button(
                    texts.ROUNDS_REVIEW_BUTTON.format(count=waiting), RoundAdmin("review", round_id)
                ),
                _button(texts.ROUNDS_PUBLISH_BUTTON, RoundAdmin("publish", round_id)),
            ]
        )
    if round_.status == RoundStatus.PUBLICITY:
        open_ones = sum(1 for view in objections if not view.objection.outcome)
        first = [
            _button(
                texts.ROUNDS_OBJECTIONS_BUTTON.format(count=open_ones),
                RoundAdmin("objections", round_id),
            )
        ]
        if round_.publicity_ends_at is not None and now >= round_.publicity_ends_at:
            first.append(_button(texts.ROUNDS_FINALIZE_BUTTON, RoundAdmin("finalize", round_id)))
        rows.append(first)
    scope = round_.programme
    rows.append(
        [
            _button(texts.ROUNDS_EXPORT_BUTTON, RoundAdmin("export", round_id)),
            _button(texts.ROUNDS_BACK_BUTTON, RoundsMenu("panel", scope)),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


async def _show_card(update: Update, context: Context, round_id: int, note: str = "") -> None:
    card = _card(context, round_id)
    if card is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND.value], alert=True)
        return
    text, markup = card
    await answer(update)
    await show_step(update, context, (note + "\n\n" if note else "") + text, markup)


# --- review: approve or return ---------------------------------------------------------------


def _nominee_lines(
    session: Session, found: Services, nomination: Nomination, officer: Officer
) -> list[str]:
    lines = [
        texts.ROUNDS_NOMINEE.format(
            name=officer.name, police_id=officer.police_id, unit=nomination.unit
        )
    ]
    if nomination.batch_id is not None:
        batch = next(
            (
                b
                for b in storage.batches_of(session, nomination.round_id)
                if b.id == nomination.batch_id
            ),
            None,
        )
        if batch is not None:
            lines.append(
                texts.ROUNDS_NOMINEE_BATCH.format(
                    batch=batch_text(batch.starts_on, batch.ends_on, batch.place)
                )
            )
    reason = storage.reason_of(nomination, found.cipher)
    if reason:
        lines.append(texts.ROUNDS_NOMINEE_REASON.format(reason=reason))
    if nomination.applied:
        rank = nomination.lottery_rank
        lines.append(
            texts.ROUNDS_NOMINEE_DRAWN.format(rank=rank) if rank else texts.ROUNDS_NOMINEE_APPLIED
        )
    return lines


async def _show_review(update: Update, context: Context, round_id: int, note: str = "") -> None:
    """The first nomination awaiting review, with 通过 / 退回."""
    found = services(context)
    with found.database.session() as session:
        round_ = storage.get_round(session, round_id)
        waiting = storage.to_review(session, round_id) if round_ is not None else []
        lines = (
            _nominee_lines(session, found, *waiting[0]) if waiting else [texts.ROUNDS_REVIEW_NONE]
        )
    if round_ is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND.value], alert=True)
        return
    head = texts.ROUNDS_REVIEW_HEAD.format(name=round_.name, count=len(waiting))
    back = _button(texts.ROUNDS_BACK_TO_ROUND, RoundAdmin("show", round_id))
    rows = [[back]]
    if waiting:
        nomination_id = waiting[0][0].id or 0
        rows.insert(
            0,
            [
                _button(
                    texts.ROUNDS_APPROVE_BUTTON, RoundAdmin("approve", round_id, nomination_id)
                ),
                _button(texts.ROUNDS_RETURN_BUTTON, RoundAdmin("return", round_id, nomination_id)),
            ],
        )
    text = "\n".join([*([note] if note else []), head, *lines])
    await answer(update)
    await show_step(update, context, text, InlineKeyboardMarkup(rows))


@dataclass(frozen=True)
class Notice:
    """A message for one officer, sent after the commit."""

    chat_id: int
    text: str


def _nominee_notices(
    session: Session, nomination: Nomination, nominee_text: str, contact_text: str
) -> list[Notice]:
    """Tell the nominee and their unit's contacts (a contact who is the nominee hears once)."""
    notices = []
    binding = officer_storage.binding_of(session, nomination.officer_id)
    if binding is not None:
        notices.append(Notice(binding.chat_id, nominee_text))
    for contact, chat_id in role_storage.contacts_of_unit(session, nomination.unit):
        if contact.id != nomination.officer_id:
            notices.append(Notice(chat_id, contact_text))
    return notices


async def _send(context: Context, notices: Sequence[Notice]) -> None:
    for notice in notices:
        await notify(context.bot, notice.chat_id, notice.text)


async def _approve(update: Update, context: Context, data: RoundAdmin, caller: Caller) -> None:
    found = services(context)
    notices: list[Notice] = []
    note = ""
    with found.database.session() as session:
        nomination = storage.get_nomination(session, data.item)
        if nomination is None or nomination.round_id != data.round_id:
            done: Nomination | Refused = Refused(Refusal.NO_NOMINATION)
        else:
            done = storage.approve(session, data.item, actor=caller.actor, now=utcnow())
        if isinstance(done, Nomination):
            round_ = storage.get_round(session, done.round_id)
            officer = officer_storage.by_id(session, done.officer_id)
            assert round_ is not None and officer is not None
            notices = _nominee_notices(
                session,
                done,
                texts.ROUNDS_APPROVED_NOMINEE.format(round=round_.name),
                texts.ROUNDS_APPROVED_CONTACT.format(
                    round=round_.name, name=officer.name, unit=done.unit
                ),
            )
            note = texts.ROUNDS_APPROVED.format(name=officer.name)
    if isinstance(done, Refused):
        await answer(update, refusal_text(done, found.policy), alert=True)
        return
    await _show_review(update, context, data.round_id, note)
    await _send(context, notices)


# --- publicity ---------------------------------------------------------------------------------


async def _ask_publish(update: Update, context: Context, round_id: int) -> None:
    found = services(context)
    with found.database.session() as session:
        round_ = storage.get_round(session, round_id)
        approved = storage.nominees_of(session, round_id, [S.APPROVED])
    if round_ is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND.value], alert=True)
        return
    if round_.status != RoundStatus.OPEN:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.ROUND_NOT_OPEN.value], alert=True)
        return
    if not approved:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NOTHING_APPROVED.value], alert=True)
        return
    days = found.policy.nominations.publicity_days
    names = [
        texts.ROUNDS_PUBLIC_LINE.format(name=officer.name, unit=nomination.unit)
        for nomination, officer, _ in approved
    ]
    text = texts.ROUNDS_PUBLISH_ASK.format(
        name=round_.name,
        count=len(approved),
        days=days,
        until=moment_text(utcnow() + timedelta(days=days), found.zone),
        names="\n".join(names),
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _button(texts.ROUNDS_PUBLISH_CONFIRM, RoundAdmin("publishok", round_id)),
                _button(texts.ROUNDS_BACK_TO_ROUND, RoundAdmin("show", round_id)),
            ]
        ]
    )
    await answer(update)
    await show_step(update, context, text, markup)


def publicity_markup(round_id: int) -> InlineKeyboardMarkup:
    """The publish notice's button: the list, as handlers/nominations/member.py shows it."""
    return InlineKeyboardMarkup(
        [[_button(texts.ROUNDS_PUBLICITY_OPEN_BUTTON, NominationPublicity(round_id))]]
    )


async def _publish(update: Update, context: Context, data: RoundAdmin, caller: Caller) -> None:
    found = services(context)
    now = utcnow()
    told = 0
    with found.database.session() as session:
        done = storage.publish(
            session,
            data.round_id,
            terms=found.policy.nominations.terms(),
            actor=caller.actor,
            now=now,
        )
        if not isinstance(done, Refused):
            round_ = storage.get_round(session, data.round_id)
            assert round_ is not None and round_.publicity_ends_at is not None
            notice = texts.ROUNDS_PUBLICITY_NOTICE.format(
                icon=_icon(round_.programme),
                name=round_.name,
                what=programme_name(found.policy, round_.programme, round_.title),
                count=len(done),
                until=moment_text(round_.publicity_ends_at, found.zone),
            )
            told = broadcasts.create(
                session,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=Priority.NORMAL,
                text=notice,
                recipients=broadcasts.audience(session),
                created_by=caller.actor,
                buttons=publicity_markup(data.round_id).to_json(),
                expires_at=round_.publicity_ends_at,
            ).total
    if isinstance(done, Refused):
        await answer(update, refusal_text(done, found.policy), alert=True)
        return
    await _show_card(
        update, context, data.round_id, texts.ROUNDS_PUBLISHED.format(count=len(done), told=told)
    )
    found.broadcaster.wake()


async def _show_objections(update: Update, context: Context, round_id: int, note: str = "") -> None:
    """Every objection of the round with its objector (organizers only), and 保留 / 撤下 for
    each nomination still objected."""
    found = services(context)
    with found.database.session() as session:
        round_ = storage.get_round(session, round_id)
        views = storage.objections_of(session, round_id, found.cipher)
        statuses = {
            nomination.id: nomination.status
            for nomination, _, _ in storage.nominees_of(session, round_id, [S.OBJECTED])
        }
    if round_ is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND.value], alert=True)
        return
    lines = [*([note] if note else []), texts.ROUNDS_OBJECTIONS_HEAD.format(name=round_.name)]
    rows: list[list[InlineKeyboardButton]] = []
    seen: set[int] = set()
    for view in views:
        objection = view.objection
        outcome = texts.ROUNDS_OBJECTION_OUTCOMES.get(objection.outcome, "")
        lines.append(
            texts.ROUNDS_OBJECTION_LINE.format(
                nominee=view.nominee.name,
                unit=view.nominee.unit,
                objector=view.objector.name,
                police_id=view.objector.police_id,
                text=view.text,
                outcome=outcome,
            )
        )
        nomination_id = objection.nomination_id
        if nomination_id in statuses and nomination_id not in seen:
            seen.add(nomination_id)
            name = view.nominee.name
            rows.append(
                [
                    _button(
                        texts.ROUNDS_KEEP_BUTTON.format(name=name),
                        RoundAdmin("keep", round_id, nomination_id),
                    ),
                    _button(
                        texts.ROUNDS_REMOVE_BUTTON.format(name=name),
                        RoundAdmin("remove", round_id, nomination_id),
                    ),
                ]
            )
    if not views:
        lines.append(texts.ROUNDS_OBJECTIONS_NONE)
    rows.append([_button(texts.ROUNDS_BACK_TO_ROUND, RoundAdmin("show", round_id))])
    await answer(update)
    await show_step(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


# --- the final list ------------------------------------------------------------------------


def finalize_round(
    session: Session,
    round_id: int,
    *,
    actor: str,
    now: datetime,
    zone: ZoneInfo,
    policy: Policy,
) -> list[Nomination] | Refused:
    """Make the round final (storage.nominations.finalize) and queue, in the same transaction,
    a word to each final nominee: the honour, or the retreat's batch. The job of
    bot/jobs/nominations.py and 结束公示 both come here; wake the sender after the commit."""
    done = storage.finalize(session, round_id, actor=actor, now=now, zone=zone)
    if isinstance(done, Refused):
        return done
    round_ = storage.get_round(session, round_id)
    assert round_ is not None
    batches = {batch.id: batch for batch in storage.batches_of(session, round_id)}
    what = programme_name(policy, round_.programme, round_.title)
    recipients = []
    for nomination, officer, chat_id in storage.nominees_of(session, round_id, [S.FINAL]):
        if chat_id is None or officer.id is None:
            continue
        batch = batches.get(nomination.batch_id)
        if round_.programme == Programme.HONOUR or batch is None:
            text = texts.ROUNDS_FINAL_HONOUR.format(
                title=what, year=now.astimezone(zone).year, round=round_.name
            )
        else:
            text = texts.ROUNDS_FINAL_RETREAT.format(
                round=round_.name, batch=batch_text(batch.starts_on, batch.ends_on, batch.place)
            )
        recipients.append(Recipient(officer.id, chat_id, text))
    if recipients:
        broadcasts.create(
            session,
            kind=BroadcastKind.ANNOUNCEMENT,
            priority=Priority.NORMAL,
            text=texts.ROUNDS_FINAL_GENERIC.format(round=round_.name),
            recipients=recipients,
            created_by=actor,
        )
    return done


async def _finalize(update: Update, context: Context, data: RoundAdmin, caller: Caller) -> None:
    found = services(context)
    with found.database.session() as session:
        done = finalize_round(
            session,
            data.round_id,
            actor=caller.actor,
            now=utcnow(),
            zone=found.zone,
            policy=found.policy,
        )
    if isinstance(done, Refused):
        await answer(update, refusal_text(done, found.policy), alert=True)
        return
    await _show_card(update, context, data.round_id, texts.ROUNDS_FINALIZED.format(count=len(done)))
    found.broadcaster.wake()


# --- the workbook --------------------------------------------------------------------------

FINANCE_WIDTHS = (10, 10, 16, 30, 12, 12, 6, 10, 10, 10)
LIST_WIDTHS = (10, 10, 16, 24, 10)


def finance_workbook(session: Session, round_id: int) -> bytes:
    """A retreat round for finance: officer, unit, batch, days, the daily allowance, total."""
    rows: list[list[Cell]] = [
        [
            row.police_id,
            row.name,
            row.unit,
            row.batch,
            row.starts_on,
            row.ends_on,
            row.days,
            row.daily_allowance,
            row.allowance,
            texts.NOMINATION_STATUSES.get(row.status, row.status),
        ]
        for row in storage.finance_rows(session, round_id)
    ]
    buffer = io.BytesIO()
    write_workbook(
        rows,
        buffer,
        columns=texts.ROUNDS_FINANCE_COLUMNS,
        title=texts.ROUNDS_FINANCE_SHEET,
        widths=FINANCE_WIDTHS,
    )
    return buffer.getvalue()


def list_workbook(session: Session, round_id: int, title: str) -> bytes:
    """An honour round's list: approved up to final (the final list once the round is)."""
    rows: list[list[Cell]] = [
        [
            officer.police_id,
            officer.name,
            nomination.unit,
            title,
            texts.NOMINATION_STATUSES.get(nomination.status, nomination.status),
        ]
        for nomination, officer, _ in storage.nominees_of(session, round_id, ON_LIST)
    ]
    buffer = io.BytesIO()
    write_workbook(
        rows,
        buffer,
        columns=texts.ROUNDS_LIST_COLUMNS,
        title=texts.ROUNDS_LIST_SHEET,
        widths=LIST_WIDTHS,
    )
    return buffer.getvalue()


async def _export(update: Update, context: Context, data: RoundAdmin, caller: Caller) -> None:
    found = services(context)
    chat = update.effective_chat
    assert chat is not None
    with found.database.session() as session:
        round_ = storage.get_round(session, data.round_id)
        if round_ is None:
            content = b""
        elif round_.programme == Programme.RETREAT:
            content = finance_workbook(session, data.round_id)
        else:
            what = programme_name(found.policy, round_.programme, round_.title)
            content = list_workbook(session, data.round_id, what)
        if round_ is not None:
            audit.record(
                session,
                actor=caller.actor,
                action="nomination.export",
                target=f"round:{data.round_id}",
            )
    if round_ is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND.value], alert=True)
        return
    await answer(update)
    await context.bot.send_document(
        chat.id,
        InputFile(io.BytesIO(content), filename=f"round-{data.round_id}.xlsx"),
        caption=texts.ROUNDS_EXPORT_CAPTION.format(name=round_.name, id=data.round_id),
    )


# --- exclusion flags -----------------------------------------------------------------------


def _title_name(policy: Policy, key: str) -> str:
    if not key:
        return texts.ROUNDS_ALL_TITLES
    honour = policy.nominations.honour(key)
    return honour.name if honour is not None else key


async def _show_exclusions(update: Update, context: Context, note: str = "") -> None:
    """The flags with their reasons (organizers only), 解除 each, ➕ 添加."""
    found = services(context)
    with found.database.session() as session:
        flags = storage.exclusions(session, found.cipher)
    lines = [*([note] if note else []), texts.ROUNDS_EXCLUSIONS_HEAD]
    rows = []
    for flag in flags:
        title = _title_name(found.policy, flag.title)
        lines.append(
            texts.ROUNDS_EXCLUSION_LINE.format(
                name=flag.officer.name,
                police_id=flag.officer.police_id,
                title=title,
                reason=flag.reason,
            )
        )
        assert flag.officer.id is not None
        rows.append(
            [
                _button(
                    texts.ROUNDS_LIFT_BUTTON.format(name=flag.officer.name, title=title),
                    ExclusionLift(flag.officer.id, flag.title),
                )
            ]
        )
    if not flags:
        lines.append(texts.ROUNDS_EXCLUSIONS_NONE)
    rows.append(
        [
            _button(texts.ROUNDS_EXCLUDE_ADD, RoundsMenu("excladd", "honour")),
            _button(texts.ROUNDS_BACK_BUTTON, RoundsMenu("panel", "honour")),
        ]
    )
    if update.callback_query is not None:
        await answer(update)
        await show_step(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))
    else:
        await prompt(update, context, "\n".join(lines), InlineKeyboardMarkup(rows))


@pressed(ExclusionLift, ROUNDS_ADMIN)
async def lift_pressed(
    update: Update, context: Context, data: ExclusionLift, caller: Caller
) -> None:
    """解除 on a flag: it goes (audited); the list again."""
    found = services(context)
    with found.database.session() as session:
        officer = officer_storage.by_id(session, data.officer_id)
        lifted = storage.lift_exclusion(session, data.officer_id, data.title, actor=caller.actor)
    if not lifted or officer is None:
        await answer(update, texts.STALE_BUTTON)
        return
    title = _title_name(found.policy, data.title)
    await _show_exclusions(
        update, context, texts.ROUNDS_EXCLUSION_LIFTED.format(name=officer.name, title=title)
    )


# --- presses outside the flows ---------------------------------------------------------------


@pressed(RoundsMenu, ROUNDS_ADMIN)
async def menu_pressed(update: Update, context: Context, data: RoundsMenu, caller: Caller) -> None:
    """The panel (of a programme or all) and 排除名单."""
    if data.action == "panel":
        text, markup = _panel(context, data.scope)
        await answer(update)
        await show_step(update, context, text, markup)
    elif data.action == "excl":
        await _show_exclusions(update, context)
    else:  # ➕ 新一轮 or ➕ 添加 that no flow took: an old button
        await answer(update, texts.STALE_BUTTON)


@pressed(RoundAdmin, ROUNDS_ADMIN)
async def admin_pressed(update: Update, context: Context, data: RoundAdmin, caller: Caller) -> None:
    """A button on a round: its card, review, publicity, objections, the final list, XLSX."""
    action = data.action
    if action == "show":
        await _show_card(update, context, data.round_id)
    elif action == "review":
        await _show_review(update, context, data.round_id)
    elif action == "approve":
        await _approve(update, context, data, caller)
    elif action == "publish":
        await _ask_publish(update, context, data.round_id)
    elif action == "publishok":
        await _publish(update, context, data, caller)
    elif action == "objections":
        await _show_objections(update, context, data.round_id)
    elif action == "finalize":
        await _finalize(update, context, data, caller)
    elif action == "export":
        await _export(update, context, data, caller)
    else:  # 退回 / 保留 / 撤下 that the reason flow did not take: an old button
        await answer(update, texts.STALE_BUTTON)


# --- opening a round: the flow --------------------------------------------------------------


class State(StrEnum):
    """The steps of opening a round."""

    PROGRAMME = "programme"
    NAME = "name"
    PLACES = "places"
    QUOTAS = "quotas"
    QUOTA = "quota"
    OPENS = "opens"
    CLOSES = "closes"
    BATCH_DATES = "batch_dates"
    BATCH_PLACE = "batch_place"
    BATCH_MEET = "batch_meet"
    BATCH_PLACES = "batch_places"
    BATCHES = "batches"
    ALLOWANCE = "allowance"
    PREVIEW = "preview"


@dataclass(frozen=True)
class BatchDraft:
    """A batch as described so far; dates as ISO text (a draft is JSON)."""

    starts_on: str
    ends_on: str
    place: str = ""
    meeting_point: str = ""
    places: int = 0

    def spec(self) -> BatchSpec:
        """The batch as storage.nominations.open_round takes it."""
        return BatchSpec(
            date.fromisoformat(self.starts_on),
            date.fromisoformat(self.ends_on),
            self.place,
            self.places,
            self.meeting_point,
        )

    def text(self) -> str:
        """Dates, days and place."""
        return batch_text(
            date.fromisoformat(self.starts_on), date.fromisoformat(self.ends_on), self.place
        )


@dataclass(frozen=True)
class RoundDraft(Draft):
    """A round being opened: what is chosen so far."""

    programme: str = ""
    title: str = ""
    name: str = ""
    places: int = 0
    # The quota table: units in the order shown (buttons point into it), their active
    # officers and their places.
    units: tuple[str, ...] = ()
    officers: dict[str, int] = dataclasses.field(default_factory=dict)
    quotas: dict[str, int] = dataclasses.field(default_factory=dict)
    editing: int = -1
    opens_at: datetime | None = None
    closes_at: datetime | None = None
    batches: tuple[BatchDraft, ...] = ()
    pending: BatchDraft | None = None
    allowance: int = -1

    @property
    def retreat(self) -> bool:
        """True for a retreat round."""
        return self.programme == Programme.RETREAT


_BATCH_STEPS = (State.BATCH_PLACE, State.BATCH_MEET, State.BATCH_PLACES)


def _ready(state: State, draft: RoundDraft) -> bool:
    """True if the draft holds what its step needs."""
    order = list(State)
    needs = [
        (State.NAME, bool(draft.programme)),
        (State.PLACES, bool(draft.name)),
        (State.QUOTAS, draft.places > 0 and bool(draft.units)),
        (State.OPENS, True),
        (State.CLOSES, draft.opens_at is not None),
        (State.BATCH_DATES, draft.closes_at is not None),
    ]
    for step, held in needs:
        if order.index(state) >= order.index(step) and not held:
            return False
    if state == State.QUOTA:
        return 0 <= draft.editing < len(draft.units)
    retreat_steps = (*_BATCH_STEPS, State.BATCHES, State.ALLOWANCE, State.BATCH_DATES)
    if state in retreat_steps and not draft.retreat:
        return False
    if state in _BATCH_STEPS:
        return draft.pending is not None
    if state == State.ALLOWANCE:
        return bool(draft.batches)
    if state == State.PREVIEW:
        return draft.closes_at is not None and (
            not draft.retreat or (bool(draft.batches) and draft.allowance >= 0)
        )
    return True


OPEN = Flow(OPEN_NAME, State, RoundDraft, RoundStep, access=ROUNDS_ADMIN, ready=_ready)
Press = Pressed[State, RoundDraft, RoundStep]
Text = Typed[State, RoundDraft]


def _step(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return _button(text, RoundStep(flow, action, value))


def _with_cancel(flow: str, rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([*rows, [_step(texts.ROUNDS_CANCEL_BUTTON, flow, "cancel")]])


def _suggested_name(context: Context, draft: RoundDraft) -> str:
    year = utcnow().astimezone(services(context).zone).year
    what = programme_name(services(context).policy, draft.programme, draft.title)
    return texts.ROUNDS_SUGGESTED_NAME.format(year=year, what=what)


def _quota_table(draft: RoundDraft) -> str:
    lines = [
        texts.ROUNDS_QUOTA_LINE.format(
            unit=unit, officers=draft.officers.get(unit, 0), places=draft.quotas.get(unit, 0)
        )
        for unit in draft.units
    ]
    total = sum(draft.quotas.values())
    lines.append(texts.ROUNDS_QUOTA_TOTAL.format(total=total, places=draft.places))
    return "\n".join(lines)


def _quota_problem(draft: RoundDraft) -> str:
    """The rule's reason the table cannot be used, in one sentence ("" if it can)."""
    check = rules.quota_problem(draft.places, draft.quotas, draft.officers)
    if check is None:
        return ""
    return texts.NOMINATION_QUOTA_PROBLEMS[check.problem.value].format(
        unit=check.unit, total=check.total, places=check.places
    )


def _preview_text(context: Context, draft: RoundDraft) -> str:
    found = services(context)
    policy, zone = found.policy, found.zone
    assert draft.opens_at is not None and draft.closes_at is not None
    quotas = "、".join(
        texts.ROUNDS_PREVIEW_QUOTA.format(unit=unit, places=places)
        for unit, places in draft.quotas.items()
        if places > 0
    )
    lines = [
        texts.ROUNDS_PREVIEW_HEAD.format(
            icon=_icon(draft.programme),
            what=programme_name(policy, draft.programme, draft.title),
            name=draft.name,
            places=draft.places,
            quotas=quotas,
            opens=moment_text(draft.opens_at, zone),
            closes=moment_text(draft.closes_at, zone),
        )
    ]
    terms = policy.nominations
    if draft.retreat:
        lines.append(texts.ROUNDS_PREVIEW_BATCHES)
        lines += [
            texts.ROUNDS_PREVIEW_BATCH.format(
                number=number,
                batch=batch.text(),
                places=batch.places,
                meet=batch.meeting_point or texts.ROUNDS_MEET_LATER,
            )
            for number, batch in enumerate(draft.batches, start=1)
        ]
        lines.append(texts.ROUNDS_PREVIEW_ALLOWANCE.format(allowance=draft.allowance))
        lines.append(
            texts.ROUNDS_RULES_RETREAT.format(roster=terms.roster_years, years=terms.retreat_years)
        )
    else:
        honour = terms.honour(draft.title)
        lines.append(texts.ROUNDS_RULES_HONOUR.format(years=honour.years if honour else 0))
    with found.database.session() as session:
        contacts = _contacts_to_tell(session, draft.quotas)
    lines.append(texts.ROUNDS_PREVIEW_TOLD.format(count=len(contacts)))
    return "\n".join(lines)


def _contacts_to_tell(session: Session, quotas: dict[str, int]) -> dict[int, tuple[int, list[str]]]:
    """The contacts of units with places: officer id → (chat, their units)."""
    told: dict[int, tuple[int, list[str]]] = {}
    for unit, places in quotas.items():
        if places <= 0:
            continue
        for contact, chat_id in role_storage.contacts_of_unit(session, unit):
            assert contact.id is not None
            told.setdefault(contact.id, (chat_id, []))[1].append(unit)
    return told


def _ask(context: Context, state: State, draft: RoundDraft) -> tuple[str, InlineKeyboardMarkup]:
    """A step's question and buttons (also asked again when text comes where a tap is wanted)."""
    flow = draft.flow
    policy = services(context).policy
    terms = policy.nominations
    if state == State.PROGRAMME:
        choices = [_step(texts.ROUNDS_RETREAT_BUTTON, flow, "programme", RETREAT_VALUE)]
        choices += [
            _step("🏅 " + honour.name, flow, "programme", honour.key) for honour in terms.honours
        ]
        return texts.ROUNDS_ASK_PROGRAMME, _with_cancel(flow, _rows(choices, 1))
    if state == State.NAME:
        suggested = _suggested_name(context, draft)
        button = _step(texts.ROUNDS_USE_NAME.format(name=suggested), flow, "skip")
        return texts.ROUNDS_ASK_NAME, _with_cancel(flow, [[button]])
    if state == State.PLACES:
        choices = [
            _step(str(count), flow, "places", str(count)) for count in texts.ROUNDS_PLACES_CHOICES
        ]
        return texts.ROUNDS_ASK_PLACES, _with_cancel(flow, _rows(choices, 5))
    if state == State.QUOTAS:
        units = [
            _step(
                texts.ROUNDS_QUOTA_BUTTON.format(unit=unit, places=draft.quotas.get(unit, 0)),
                flow,
                "unit",
                str(index),
            )
            for index, unit in enumerate(draft.units)
        ]
        problem = _quota_problem(draft)
        text = texts.ROUNDS_ASK_QUOTAS.format(table=_quota_table(draft))
        if problem:
            text += "\n⚠️ " + problem
        tools = [
            _step(texts.ROUNDS_QUOTAS_RESET, flow, "reset"),
            _step(texts.ROUNDS_QUOTAS_OK, flow, "quotasok"),
        ]
        return text, _with_cancel(flow, [*_rows(units), tools])
    if state == State.QUOTA:
        unit = draft.units[draft.editing]
        most = draft.officers.get(unit, 0)
        choices = [_step(str(n), flow, "quota", str(n)) for n in range(min(most, 5) + 1)]
        text = texts.ROUNDS_ASK_QUOTA.format(
            unit=unit, officers=most, places=draft.quotas.get(unit, 0)
        )
        return text, _with_cancel(flow, _rows(choices, 6))
    if state == State.OPENS:
        button = _step(texts.ROUNDS_OPENS_NOW, flow, "opens", "now")
        return texts.ROUNDS_ASK_OPENS, _with_cancel(flow, [[button]])
    if state == State.CLOSES:
        choices = [
            _step(name, flow, "closes", str(days)) for days, name in texts.ROUNDS_CLOSES_BUTTONS
        ]
        return texts.ROUNDS_ASK_CLOSES, _with_cancel(flow, _rows(choices, 3))
    if state == State.BATCH_DATES:
        text = texts.ROUNDS_ASK_BATCH_DATES.format(
            number=len(draft.batches) + 1, days=terms.retreat_max_days
        )
        return text, _with_cancel(flow, [])
    if state == State.BATCH_PLACE:
        return texts.ROUNDS_ASK_BATCH_PLACE, _with_cancel(flow, [])
    if state == State.BATCH_MEET:
        button = _step(texts.ROUNDS_SKIP_MEET, flow, "skip")
        return texts.ROUNDS_ASK_BATCH_MEET, _with_cancel(flow, [[button]])
    if state == State.BATCH_PLACES:
        left = draft.places - sum(batch.places for batch in draft.batches)
        counts = sorted({n for n in (left, *texts.ROUNDS_BATCH_PLACES_CHOICES) if n > 0})
        choices = [_step(str(n), flow, "batchplaces", str(n)) for n in counts]
        return texts.ROUNDS_ASK_BATCH_PLACES.format(left=max(left, 0)), _with_cancel(
            flow, _rows(choices, 5)
        )
    if state == State.BATCHES:
        lines = [
            texts.ROUNDS_PREVIEW_BATCH.format(
                number=number,
                batch=batch.text(),
                places=batch.places,
                meet=batch.meeting_point or texts.ROUNDS_MEET_LATER,
            )
            for number, batch in enumerate(draft.batches, start=1)
        ]
        total = sum(batch.places for batch in draft.batches)
        text = texts.ROUNDS_ASK_BATCHES.format(
            batches="\n".join(lines), total=total, places=draft.places
        )
        batch_tools = [
            [
                _step(texts.ROUNDS_BATCH_MORE, flow, "batchmore"),
                _step(texts.ROUNDS_BATCH_DROP, flow, "batchdrop"),
            ],
            [_step(texts.ROUNDS_BATCH_DONE, flow, "batchdone")],
        ]
        return text, _with_cancel(flow, batch_tools)
    if state == State.ALLOWANCE:
        cap = terms.daily_allowance_cap
        amounts = sorted({n for n in (cap - 200, cap - 100, cap) if n > 0})
        choices = [
            _step(texts.ROUNDS_ALLOWANCE_BUTTON.format(amount=n), flow, "allowance", str(n))
            for n in amounts
        ]
        return texts.ROUNDS_ASK_ALLOWANCE.format(cap=cap), _with_cancel(flow, [choices])
    # The preview.
    markup = InlineKeyboardMarkup(
        [
            [
                _step(texts.ROUNDS_OPEN_BUTTON, flow, "confirm"),
                _step(texts.ROUNDS_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )
    return _preview_text(context, draft), markup


async def _go(
    update: Update, context: Context, state: State, draft: RoundDraft, note: str = ""
) -> State:
    """Commit the step, then ask its question (after `note`, a refusal or a word of thanks)."""
    text, markup = _ask(context, state, draft)
    return await OPEN.advance(
        update, context, state, draft, (note + "\n" if note else "") + text, markup
    )


async def _refuse_value(update: Update, context: Context, sentence: str) -> None:
    """A value that cannot be used: its sentence; the step stays where it is."""
    if update.callback_query is not None:
        await answer(update, sentence, alert=True)
    else:
        await prompt(update, context, sentence)


@OPEN.entry_press(RoundsMenu, ROUNDS_ADMIN, accept=lambda data: data.action == "new")
async def start_new(update: Update, context: Context, data: RoundsMenu, caller: Caller) -> State:
    """➕ 新一轮: a retreat round starts at its name, any other at the programme."""
    draft = RoundDraft(OPEN.token())
    OPEN.begin(update, context, State.PROGRAMME, draft)
    if data.scope == Programme.RETREAT:
        return await _go(
            update, context, State.NAME, dataclasses.replace(draft, programme="retreat")
        )
    return await _go(update, context, State.PROGRAMME, draft)


async def _programme_chosen(update: Update, context: Context, turn: Press) -> State | None:
    value = turn.data.value
    if value == RETREAT_VALUE:
        draft = dataclasses.replace(turn.draft, programme=Programme.RETREAT.value, title="")
    elif services(context).policy.nominations.honour(value) is not None:
        draft = dataclasses.replace(turn.draft, programme=Programme.HONOUR.value, title=value)
    else:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _go(update, context, State.NAME, draft)


async def _name_suggested(update: Update, context: Context, turn: Press) -> State:
    draft = dataclasses.replace(turn.draft, name=_suggested_name(context, turn.draft))
    return await _go(update, context, State.PLACES, draft)


async def _name_typed(update: Update, context: Context, turn: Text) -> State | None:
    name = normalise(turn.message.text or "")
    if not name or len(name) > storage.NAME_LIMIT:
        await prompt(update, context, texts.NOMINATION_REFUSALS[Refusal.NAME_MISSING.value])
        return None
    return await _go(update, context, State.PLACES, dataclasses.replace(turn.draft, name=name))


_COUNT = re.compile(r"^([0-9]{1,7})\s*[个人名位元]?$")


def parse_count(text: str) -> int | None:
    """A typed whole number (２０, 20个, 20人, 500元); None if it is not one."""
    match = _COUNT.match(normalise(text))
    return int(match.group(1)) if match else None


async def _with_places(
    update: Update, context: Context, draft: RoundDraft, places: int
) -> State | None:
    if not 1 <= places <= MAX_PLACES:
        await _refuse_value(update, context, texts.NOMINATION_REFUSALS[Refusal.BAD_PLACES.value])
        return None
    found = services(context)
    with found.database.session() as session:
        officers = storage.officers_per_unit(session, found.policy.units)
        allocation = storage.default_quotas(session, places, found.policy.units)
    if allocation.unassigned:
        total = sum(officers.values())
        await _refuse_value(update, context, texts.ROUNDS_PLACES_OVER.format(officers=total))
        return None
    chosen = dataclasses.replace(
        draft,
        places=places,
        units=tuple(officers),
        officers=officers,
        quotas=dict(allocation.quotas),
        editing=-1,
    )
    return await _go(update, context, State.QUOTAS, chosen)


async def _places_chosen(update: Update, context: Context, turn: Press) -> State | None:
    return await _with_places(update, context, turn.draft, parse_count(turn.data.value) or 0)


async def _places_typed(update: Update, context: Context, turn: Text) -> State | None:
    places = parse_count(turn.message.text or "")
    if places is None:
        await prompt(update, context, texts.ROUNDS_NOT_A_NUMBER)
        return None
    return await _with_places(update, context, turn.draft, places)


async def _unit_chosen(update: Update, context: Context, turn: Press) -> State | None:
    value = turn.data.value
    index = int(value) if value.isdigit() else -1
    if not 0 <= index < len(turn.draft.units):
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _go(update, context, State.QUOTA, dataclasses.replace(turn.draft, editing=index))


async def _with_quota(
    update: Update, context: Context, draft: RoundDraft, places: int
) -> State | None:
    unit = draft.units[draft.editing]
    if places > draft.officers.get(unit, 0):
        sentence = texts.NOMINATION_QUOTA_PROBLEMS["over_officers"].format(unit=unit)
        await _refuse_value(update, context, sentence)
        return None
    chosen = dataclasses.replace(draft, quotas={**draft.quotas, unit: places}, editing=-1)
    return await _go(update, context, State.QUOTAS, chosen)


async def _quota_chosen(update: Update, context: Context, turn: Press) -> State | None:
    value = turn.data.value
    if not value.isdigit():
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _with_quota(update, context, turn.draft, int(value))


async def _quota_typed(update: Update, context: Context, turn: Text) -> State | None:
    places = parse_count(turn.message.text or "")
    if places is None:
        await prompt(update, context, texts.ROUNDS_NOT_A_NUMBER)
        return None
    return await _with_quota(update, context, turn.draft, places)


async def _quotas_reset(update: Update, context: Context, turn: Press) -> State | None:
    return await _with_places(update, context, turn.draft, turn.draft.places)


async def _quotas_done(update: Update, context: Context, turn: Press) -> State | None:
    problem = _quota_problem(turn.draft)
    if problem:
        await answer(update, problem, alert=True)
        return None
    return await _go(update, context, State.OPENS, turn.draft)


def parse_moment(text: str, zone: ZoneInfo, now: datetime, clock: time) -> datetime | None:
    """A typed day (今天, 6月30日, 2027-06-30), optionally with a time (18:00, 下午6点); a day
    alone is at `clock`. None if it does not read as one."""
    parts = normalise(text).split()
    if not 1 <= len(parts) <= 2:
        return None
    day = parse_day(parts[0], now.astimezone(zone).date(), lean=Lean.FUTURE)
    at = clock if len(parts) == 1 else parse_clock(parts[1])
    if day is None or at is None:
        return None
    return datetime.combine(day, at, tzinfo=zone)


async def _opens_now(update: Update, context: Context, turn: Press) -> State:
    return await _go(
        update, context, State.CLOSES, dataclasses.replace(turn.draft, opens_at=utcnow())
    )


async def _opens_typed(update: Update, context: Context, turn: Text) -> State | None:
    now = utcnow()
    zone = services(context).zone
    moment = parse_moment(turn.message.text or "", zone, now, time(0, 0))
    if moment is None:
        await prompt(update, context, texts.ROUNDS_BAD_DATE)
        return None
    if moment.astimezone(zone).date() < now.astimezone(zone).date():
        await prompt(update, context, texts.ROUNDS_OPENS_PAST)
        return None
    opens = max(moment, now)
    return await _go(update, context, State.CLOSES, dataclasses.replace(turn.draft, opens_at=opens))


async def _with_closes(
    update: Update, context: Context, draft: RoundDraft, closes: datetime
) -> State | None:
    assert draft.opens_at is not None
    if closes <= draft.opens_at or closes <= utcnow():
        await _refuse_value(update, context, texts.NOMINATION_REFUSALS[Refusal.BAD_WINDOW.value])
        return None
    chosen = dataclasses.replace(draft, closes_at=closes)
    if chosen.retreat:
        if chosen.batches:
            return await _go(update, context, State.BATCHES, chosen)
        return await _go(update, context, State.BATCH_DATES, chosen)
    return await _go(update, context, State.PREVIEW, chosen)


async def _closes_chosen(update: Update, context: Context, turn: Press) -> State | None:
    value = turn.data.value
    if not value.isdigit() or turn.draft.opens_at is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    zone = services(context).zone
    day = turn.draft.opens_at.astimezone(zone).date() + timedelta(days=int(value))
    return await _with_closes(
        update, context, turn.draft, datetime.combine(day, CLOSES_AT, tzinfo=zone)
    )


async def _closes_typed(update: Update, context: Context, turn: Text) -> State | None:
    moment = parse_moment(turn.message.text or "", services(context).zone, utcnow(), CLOSES_AT)
    if moment is None:
        await prompt(update, context, texts.ROUNDS_BAD_DATE)
        return None
    return await _with_closes(update, context, turn.draft, moment)


_SPAN_SEPARATOR = re.compile(r"\s*(?:至|到|~|—|–)\s*|\s+")
_DAY_ONLY = re.compile(r"^([0-9]{1,2})[日号]?$")


def _end_day(text: str, first: date) -> date | None:
    """The last day of a span: a full date, or the day of the first day's month (5月10日-14日)."""
    match = _DAY_ONLY.match(text)
    if match:
        try:
            last = first.replace(day=int(match.group(1)))
        except ValueError:
            return None
        return last
    return parse_day(text, first, lean=Lean.FUTURE)


def parse_span(text: str, today: date) -> tuple[date, date] | None:
    """A batch's first and last days: 5月10日-5月14日, 2027-05-10 至 2027-05-14, 5/10~5/14,
    5月10日-14日; None if it does not read as two days."""
    value = normalise(text)
    parts = [part for part in _SPAN_SEPARATOR.split(value) if part]
    candidates: list[tuple[str, str]] = []
    if len(parts) == 2:
        candidates.append((parts[0], parts[1]))
    elif len(parts) == 1:
        # 2027-05-10-2027-05-14 or 5-10-5-14: the hyphen between the two days is the one that
        # leaves a day on each side.
        cuts = [index for index, char in enumerate(value) if char == "-"]
        candidates += [(value[:cut], value[cut + 1 :]) for cut in cuts]
    for head, tail in candidates:
        first = parse_day(head, today, lean=Lean.FUTURE)
        if first is None:
            continue
        last = _end_day(tail, first)
        if last is not None:
            return first, last
    return None


async def _batch_dates(update: Update, context: Context, turn: Text) -> State | None:
    found = services(context)
    today = utcnow().astimezone(found.zone).date()
    span = parse_span(turn.message.text or "", today)
    if span is None:
        await prompt(update, context, texts.ROUNDS_BAD_SPAN)
        return None
    first, last = span
    if last < first:
        await prompt(update, context, texts.ROUNDS_SPAN_BACKWARDS)
        return None
    if first <= today:
        await prompt(update, context, texts.ROUNDS_SPAN_PAST)
        return None
    if rules.batch_days(first, last) > found.policy.nominations.retreat_max_days:
        await prompt(update, context, refusal_text(Refused(Refusal.BATCH_TOO_LONG), found.policy))
        return None
    pending = BatchDraft(first.isoformat(), last.isoformat())
    return await _go(
        update, context, State.BATCH_PLACE, dataclasses.replace(turn.draft, pending=pending)
    )


async def _batch_place(update: Update, context: Context, turn: Text) -> State | None:
    place = normalise(turn.message.text or "")
    if not place or len(place) > storage.PLACE_LIMIT or turn.draft.pending is None:
        await prompt(update, context, texts.ROUNDS_BAD_PLACE.format(limit=storage.PLACE_LIMIT))
        return None
    pending = dataclasses.replace(turn.draft.pending, place=place)
    return await _go(
        update, context, State.BATCH_MEET, dataclasses.replace(turn.draft, pending=pending)
    )


async def _with_meeting_point(
    update: Update, context: Context, draft: RoundDraft, meeting_point: str
) -> State | None:
    if len(meeting_point) > storage.MEETING_POINT_LIMIT or draft.pending is None:
        await _refuse_value(
            update, context, texts.ROUNDS_BAD_MEET.format(limit=storage.MEETING_POINT_LIMIT)
        )
        return None
    pending = dataclasses.replace(draft.pending, meeting_point=meeting_point)
    return await _go(
        update, context, State.BATCH_PLACES, dataclasses.replace(draft, pending=pending)
    )


async def _meet_skipped(update: Update, context: Context, turn: Press) -> State | None:
    return await _with_meeting_point(update, context, turn.draft, "")


async def _meet_typed(update: Update, context: Context, turn: Text) -> State | None:
    return await _with_meeting_point(
        update, context, turn.draft, normalise(turn.message.text or "")
    )


async def _with_batch_places(
    update: Update, context: Context, draft: RoundDraft, places: int
) -> State | None:
    if not 1 <= places <= MAX_PLACES or draft.pending is None:
        await _refuse_value(update, context, texts.NOMINATION_REFUSALS[Refusal.BAD_BATCH.value])
        return None
    batch = dataclasses.replace(draft.pending, places=places)
    chosen = dataclasses.replace(draft, batches=(*draft.batches, batch), pending=None)
    return await _go(update, context, State.BATCHES, chosen)


async def _batch_places_chosen(update: Update, context: Context, turn: Press) -> State | None:
    return await _with_batch_places(update, context, turn.draft, parse_count(turn.data.value) or 0)


async def _batch_places_typed(update: Update, context: Context, turn: Text) -> State | None:
    places = parse_count(turn.message.text or "")
    if places is None:
        await prompt(update, context, texts.ROUNDS_NOT_A_NUMBER)
        return None
    return await _with_batch_places(update, context, turn.draft, places)


async def _batch_more(update: Update, context: Context, turn: Press) -> State:
    return await _go(update, context, State.BATCH_DATES, turn.draft)


async def _batch_drop(update: Update, context: Context, turn: Press) -> State:
    chosen = dataclasses.replace(turn.draft, batches=turn.draft.batches[:-1])
    if not chosen.batches:
        return await _go(update, context, State.BATCH_DATES, chosen)
    return await _go(update, context, State.BATCHES, chosen)


async def _batch_done(update: Update, context: Context, turn: Press) -> State | None:
    if sum(batch.places for batch in turn.draft.batches) < turn.draft.places:
        sentence = texts.NOMINATION_REFUSALS[Refusal.BATCH_PLACES_SHORT.value]
        await answer(update, sentence, alert=True)
        return None
    return await _go(update, context, State.ALLOWANCE, turn.draft)


async def _with_allowance(
    update: Update, context: Context, draft: RoundDraft, amount: int
) -> State | None:
    policy = services(context).policy
    if not 0 <= amount <= policy.nominations.daily_allowance_cap:
        await _refuse_value(
            update, context, refusal_text(Refused(Refusal.ALLOWANCE_OVER_CAP), policy)
        )
        return None
    return await _go(update, context, State.PREVIEW, dataclasses.replace(draft, allowance=amount))


async def _allowance_chosen(update: Update, context: Context, turn: Press) -> State | None:
    value = turn.data.value
    if not value.isdigit():
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _with_allowance(update, context, turn.draft, int(value))


async def _allowance_typed(update: Update, context: Context, turn: Text) -> State | None:
    amount = parse_count(turn.message.text or "")
    if amount is None:
        await prompt(update, context, texts.ROUNDS_NOT_A_NUMBER)
        return None
    return await _with_allowance(update, context, turn.draft, amount)


async def _repeat(update: Update, context: Context, turn: Text) -> None:
    """Text where a tap is wanted: the step's question again, with its buttons."""
    text, markup = _ask(context, turn.state, turn.draft)
    await prompt(update, context, texts.ROUNDS_TAP_BELOW + "\n" + text, markup)


def _tell_contacts(
    session: Session, round_: NominationRound, draft: RoundDraft, found: Services, actor: str
) -> int:
    """The contacts of units with places hear the round is open (one broadcast); how many."""
    what = programme_name(found.policy, draft.programme, draft.title)
    command = "/retreats" if draft.retreat else "/honours"
    recipients = []
    for officer_id, (chat_id, units) in _contacts_to_tell(session, draft.quotas).items():
        places = "、".join(
            texts.ROUNDS_PREVIEW_QUOTA.format(unit=unit, places=draft.quotas[unit])
            for unit in units
        )
        text = texts.ROUNDS_OPENED_CONTACT.format(
            icon=_icon(draft.programme),
            what=what,
            name=round_.name,
            places=places,
            opens=moment_text(round_.opens_at, found.zone),
            closes=moment_text(round_.closes_at, found.zone),
            command=command,
        )
        recipients.append(Recipient(officer_id, chat_id, text))
    if not recipients:
        return 0
    return broadcasts.create(
        session,
        kind=BroadcastKind.ANNOUNCEMENT,
        priority=Priority.NORMAL,
        text=texts.ROUNDS_OPENED_GENERIC.format(name=round_.name),
        recipients=recipients,
        created_by=actor,
    ).total


async def _confirm(update: Update, context: Context, turn: Press) -> State | int | None:
    """开启: the round, its quotas and batches, and the contacts' notice, in one transaction."""
    found = services(context)
    caller = turn.caller
    outcome: NominationRound | Refused | None = None
    round_id, told = 0, 0
    with OPEN.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            assert draft.opens_at is not None and draft.closes_at is not None
            outcome = storage.open_round(
                session,
                programme=Programme(draft.programme),
                name=draft.name,
                places=draft.places,
                quotas={unit: n for unit, n in draft.quotas.items() if n > 0},
                opens_at=draft.opens_at,
                closes_at=draft.closes_at,
                terms=found.policy.nominations.terms(),
                actor=caller.actor,
                now=utcnow(),
                title=draft.title,
                batches=[batch.spec() for batch in draft.batches],
                daily_allowance=max(draft.allowance, 0),
                units=found.policy.units,
            )
            if isinstance(outcome, Refused):
                session.rollback()
            else:
                round_id = outcome.id or 0
                told = _tell_contacts(session, outcome, draft, found, caller.actor)
    if draft is None:
        await OPEN.expire(update)
        return None
    if isinstance(outcome, Refused):
        sentence = refusal_text(outcome, found.policy)
        if outcome.refusal is Refusal.BAD_WINDOW:
            fresh = dataclasses.replace(draft, closes_at=None)
            return await _go(update, context, State.CLOSES, fresh, sentence)
        if outcome.refusal is Refusal.BAD_QUOTAS:
            # The roster changed since the table was made: it is made again.
            return await _with_places(update, context, draft, draft.places)
        return await _go(update, context, State.PREVIEW, draft, sentence)
    await answer(update)
    done = texts.ROUNDS_OPENED.format(name=draft.name, id=round_id, told=told)
    markup = InlineKeyboardMarkup(
        [[_button(texts.ROUNDS_SHOW_BUTTON, RoundAdmin("show", round_id))]]
    )
    await show_step(update, context, done, markup)
    if told:
        found.broadcaster.wake()
    return END


# --- reasons and exclusion flags: the note flow -----------------------------------------------


class NoteState(StrEnum):
    """An organizer typing a reason (退回, 保留, 撤下), or adding an exclusion flag."""

    RETURN = "return"
    KEEP = "keep"
    REMOVE = "remove"
    EXCLUDE_WHO = "exclude_who"
    EXCLUDE_TITLE = "exclude_title"
    EXCLUDE_WHY = "exclude_why"


@dataclass(frozen=True)
class NoteDraft(Draft):
    """Whose nomination (or which officer, which title) the reason is for."""

    round_id: int = 0
    nomination_id: int = 0
    name: str = ""
    officer_id: int = 0
    title: str | None = None  # None until chosen; "" for every title


def _note_ready(state: NoteState, draft: NoteDraft) -> bool:
    if state in (NoteState.RETURN, NoteState.KEEP, NoteState.REMOVE):
        return draft.nomination_id > 0 and draft.round_id > 0
    if state == NoteState.EXCLUDE_WHO:
        return True
    if state == NoteState.EXCLUDE_TITLE:
        return draft.officer_id > 0
    return draft.officer_id > 0 and draft.title is not None


NOTE = Flow(NOTE_NAME, NoteState, NoteDraft, RoundNote, access=ROUNDS_ADMIN, ready=_note_ready)
NotePress = Pressed[NoteState, NoteDraft, RoundNote]
NoteText = Typed[NoteState, NoteDraft]


def _note_cancel_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button(texts.ROUNDS_CANCEL_BUTTON, RoundNote(flow, "cancel"))]])


# What a reason is for: the status the nomination must be in, and the question.
_NOTE_STARTS = {
    "return": (NoteState.RETURN, S.CONFIRMED, texts.ROUNDS_ASK_RETURN),
    "keep": (NoteState.KEEP, S.OBJECTED, texts.ROUNDS_ASK_KEEP),
    "remove": (NoteState.REMOVE, S.OBJECTED, texts.ROUNDS_ASK_REMOVE),
}


@NOTE.entry_press(RoundAdmin, ROUNDS_ADMIN, accept=lambda data: data.action in _NOTE_STARTS)
async def start_reason(
    update: Update, context: Context, data: RoundAdmin, caller: Caller
) -> NoteState | int:
    """退回 / 保留 / 撤下: ask the reason (the nomination must still be where it was)."""
    state, wanted, question = _NOTE_STARTS[data.action]
    found = services(context)
    with found.database.session() as session:
        nomination = storage.get_nomination(session, data.item)
        officer = officer_storage.by_id(session, nomination.officer_id) if nomination else None
    if nomination is None or officer is None or nomination.round_id != data.round_id:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_NOMINATION.value], alert=True)
        return END
    if nomination.status != wanted:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.WRONG_STATUS.value], alert=True)
        return END
    draft = NoteDraft(
        NOTE.token(), round_id=data.round_id, nomination_id=data.item, name=officer.name
    )
    NOTE.begin(update, context, state, draft)
    text = question.format(
        name=officer.name, limit=found.policy.nominations.honour_reason_max_chars
    )
    await answer(update)
    await prompt(update, context, text, _note_cancel_markup(draft.flow))
    return state


def _back_markup(action: str, round_id: int) -> InlineKeyboardMarkup:
    label = texts.ROUNDS_BACK_TO_REVIEW if action == "review" else texts.ROUNDS_BACK_TO_OBJECTIONS
    return InlineKeyboardMarkup([[_button(label, RoundAdmin(action, round_id))]])


async def _reason_typed(update: Update, context: Context, turn: NoteText) -> NoteState | int | None:
    """The reason: returned, kept or removed (sealed, audited); the nominee told."""
    found = services(context)
    draft, caller = turn.draft, turn.caller
    reason = (turn.message.text or "").strip()
    limit = found.policy.nominations.honour_reason_max_chars
    notices: list[Notice] = []
    with found.database.session() as session:
        if turn.state == NoteState.RETURN:
            done = storage.return_nomination(
                session,
                draft.nomination_id,
                reason=reason,
                cipher=found.cipher,
                actor=caller.actor,
                now=utcnow(),
                max_chars=limit,
            )
        else:
            done = storage.resolve(
                session,
                draft.nomination_id,
                keep=turn.state == NoteState.KEEP,
                reason=reason,
                cipher=found.cipher,
                actor=caller.actor,
                now=utcnow(),
                max_chars=limit,
            )
        if isinstance(done, Nomination):
            round_ = storage.get_round(session, done.round_id)
            assert round_ is not None
            if turn.state == NoteState.RETURN:
                notices = _nominee_notices(
                    session,
                    done,
                    texts.ROUNDS_RETURNED_NOMINEE.format(round=round_.name, reason=reason),
                    texts.ROUNDS_RETURNED_CONTACT.format(
                        round=round_.name, name=draft.name, unit=done.unit, reason=reason
                    ),
                )
            elif turn.state == NoteState.REMOVE:
                # Only the outcome: never that someone objected, nor who.
                binding = officer_storage.binding_of(session, done.officer_id)
                if binding is not None:
                    text = texts.ROUNDS_REMOVED_NOMINEE.format(round=round_.name, reason=reason)
                    notices.append(Notice(binding.chat_id, text))
            NOTE.forget(update, context)
    if isinstance(done, Refused):
        sentence = refusal_text(done, found.policy)
        if done.refusal in (Refusal.REASON_MISSING, Refusal.REASON_TOO_LONG):
            await prompt(update, context, sentence)  # the reason is asked again
            return None
        NOTE.forget(update, context)
        await prompt(update, context, sentence)
        return END
    said = {
        NoteState.RETURN: texts.ROUNDS_RETURNED,
        NoteState.KEEP: texts.ROUNDS_KEPT,
        NoteState.REMOVE: texts.ROUNDS_REMOVED,
    }[turn.state]
    back = "review" if turn.state == NoteState.RETURN else "objections"
    await prompt(update, context, said.format(name=draft.name), _back_markup(back, draft.round_id))
    await _send(context, notices)
    return END


@NOTE.entry_press(RoundsMenu, ROUNDS_ADMIN, accept=lambda data: data.action == "excladd")
async def start_exclusion(
    update: Update, context: Context, data: RoundsMenu, caller: Caller
) -> NoteState:
    """➕ 添加 on 排除名单: whose police ID."""
    draft = NoteDraft(NOTE.token())
    NOTE.begin(update, context, NoteState.EXCLUDE_WHO, draft)
    await answer(update)
    await prompt(update, context, texts.ROUNDS_ASK_EXCLUDE_WHO, _note_cancel_markup(draft.flow))
    return NoteState.EXCLUDE_WHO


def _title_markup(context: Context, flow: str) -> InlineKeyboardMarkup:
    honours = services(context).policy.nominations.honours
    choices = [_button(honour.name, RoundNote(flow, "title", honour.key)) for honour in honours]
    choices.append(_button(texts.ROUNDS_ALL_TITLES, RoundNote(flow, "title", "")))
    return InlineKeyboardMarkup(
        [*_rows(choices, 1), [_button(texts.ROUNDS_CANCEL_BUTTON, RoundNote(flow, "cancel"))]]
    )


async def _exclude_who(update: Update, context: Context, turn: NoteText) -> NoteState | None:
    police_id = normalise(turn.message.text or "")
    with services(context).database.session() as session:
        officer = officer_storage.by_police_id(session, police_id) if police_id else None
    if officer is None or officer.id is None:
        await prompt(update, context, texts.NOMINATION_REFUSALS[Refusal.NO_OFFICER.value])
        return None
    draft = dataclasses.replace(turn.draft, officer_id=officer.id, name=officer.name)
    NOTE.save(update, context, NoteState.EXCLUDE_TITLE, draft)
    text = texts.ROUNDS_ASK_EXCLUDE_TITLE.format(
        name=officer.name, police_id=officer.police_id, unit=officer.unit
    )
    await prompt(update, context, text, _title_markup(context, draft.flow))
    return NoteState.EXCLUDE_TITLE


async def _exclude_title(update: Update, context: Context, turn: NotePress) -> NoteState | None:
    key = turn.data.value
    if key and services(context).policy.nominations.honour(key) is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    draft = dataclasses.replace(turn.draft, title=key)
    text = texts.ROUNDS_ASK_EXCLUDE_WHY.format(
        name=draft.name, title=_title_name(services(context).policy, key)
    )
    return await NOTE.advance(
        update, context, NoteState.EXCLUDE_WHY, draft, text, _note_cancel_markup(draft.flow)
    )


async def _exclude_why(update: Update, context: Context, turn: NoteText) -> int | None:
    found = services(context)
    draft = turn.draft
    assert draft.title is not None
    reason = (turn.message.text or "").strip()
    limit = found.policy.nominations.honour_reason_max_chars
    if len(reason) > limit:
        await prompt(update, context, refusal_text(Refused(Refusal.REASON_TOO_LONG), found.policy))
        return None
    with found.database.session() as session:
        done = storage.set_exclusion(
            session,
            draft.officer_id,
            draft.title,
            reason,
            cipher=found.cipher,
            actor=turn.caller.actor,
            now=utcnow(),
        )
        if not isinstance(done, Refused):
            NOTE.forget(update, context)
    if isinstance(done, Refused):
        await prompt(update, context, refusal_text(done, found.policy))
        return None if done.refusal is Refusal.REASON_MISSING else END
    title = _title_name(found.policy, draft.title)
    await _show_exclusions(
        update, context, texts.ROUNDS_EXCLUDED.format(name=draft.name, title=title)
    )
    return END


async def _note_repeat(update: Update, context: Context, turn: NoteText) -> None:
    await prompt(update, context, texts.ROUNDS_TAP_BELOW, _title_markup(context, turn.draft.flow))


async def _note_cancelled(update: Update, context: Context, turn: NotePress) -> int:
    NOTE.forget(update, context)
    await answer(update)
    await show_step(update, context, texts.CANCELLED)
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is saved."""
    await menu.cancel_outside(update, context)
    return END


# --- registration ---------------------------------------------------------------------------


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/rounds, opening a round, the reasons and flags, and every organizer's button."""
    cancelled = OPEN.press("cancel", OPEN.cancel())
    repeat = OPEN.typed(_repeat)
    fallbacks = [CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)]
    opening = OPEN.handler(
        entry_points=[CallbackQueryHandler(start_new, pattern=r"^nrm:new:")],
        states={
            State.PROGRAMME: [OPEN.press("programme", _programme_chosen), cancelled, repeat],
            State.NAME: [OPEN.press("skip", _name_suggested), cancelled, OPEN.typed(_name_typed)],
            State.PLACES: [
                OPEN.press("places", _places_chosen),
                cancelled,
                OPEN.typed(_places_typed),
            ],
            State.QUOTAS: [
                OPEN.press("unit", _unit_chosen),
                OPEN.press("reset", _quotas_reset),
                OPEN.press("quotasok", _quotas_done),
                cancelled,
                repeat,
            ],
            State.QUOTA: [OPEN.press("quota", _quota_chosen), cancelled, OPEN.typed(_quota_typed)],
            State.OPENS: [OPEN.press("opens", _opens_now), cancelled, OPEN.typed(_opens_typed)],
            State.CLOSES: [
                OPEN.press("closes", _closes_chosen),
                cancelled,
                OPEN.typed(_closes_typed),
            ],
            State.BATCH_DATES: [cancelled, OPEN.typed(_batch_dates)],
            State.BATCH_PLACE: [cancelled, OPEN.typed(_batch_place)],
            State.BATCH_MEET: [
                OPEN.press("skip", _meet_skipped),
                cancelled,
                OPEN.typed(_meet_typed),
            ],
            State.BATCH_PLACES: [
                OPEN.press("batchplaces", _batch_places_chosen),
                cancelled,
                OPEN.typed(_batch_places_typed),
            ],
            State.BATCHES: [
                OPEN.press("batchmore", _batch_more),
                OPEN.press("batchdrop", _batch_drop),
                OPEN.press("batchdone", _batch_done),
                cancelled,
                repeat,
            ],
            State.ALLOWANCE: [
                OPEN.press("allowance", _allowance_chosen),
                cancelled,
                OPEN.typed(_allowance_typed),
            ],
            State.PREVIEW: [OPEN.press("confirm", _confirm), cancelled, repeat],
        },
        fallbacks=fallbacks,
    )
    note_cancel = NOTE.press("cancel", _note_cancelled)
    reason = NOTE.typed(_reason_typed)
    noting = NOTE.handler(
        entry_points=[
            CallbackQueryHandler(start_reason, pattern=r"^nra:(return|keep|remove):"),
            CallbackQueryHandler(start_exclusion, pattern=r"^nrm:excladd:"),
        ],
        states={
            NoteState.RETURN: [note_cancel, reason],
            NoteState.KEEP: [note_cancel, reason],
            NoteState.REMOVE: [note_cancel, reason],
            NoteState.EXCLUDE_WHO: [note_cancel, NOTE.typed(_exclude_who)],
            NoteState.EXCLUDE_TITLE: [
                NOTE.press("title", _exclude_title),
                note_cancel,
                NOTE.typed(_note_repeat),
            ],
            NoteState.EXCLUDE_WHY: [note_cancel, NOTE.typed(_exclude_why)],
        },
        fallbacks=fallbacks,
    )
    return [
        opening,
        noting,
        OPEN.outside(ROUNDS_ADMIN),
        NOTE.outside(ROUNDS_ADMIN),
        CommandHandler("rounds", rounds_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(menu_pressed, pattern=RoundsMenu.pattern()),
        CallbackQueryHandler(admin_pressed, pattern=RoundAdmin.pattern()),
        CallbackQueryHandler(lift_pressed, pattern=ExclusionLift.pattern()),
    ]
