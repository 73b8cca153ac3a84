"""Urgent blood appeals (紧急用血呼吁): organizers ask the officers who can give, now.

- Organizers: `/appeal 血型 成分 人数 截止日期 截止时间 医院|地址|联系人`, e.g.
  `/appeal O- 血小板 2 2026-11-30 08:00 市中心医院|长沙路1号|张医生 13800000000`.
  Blood type A, B, O or AB with + or - (Rh; none means positive); component 全血, 血小板 or
  血浆; 1–100 donors; the deadline is the union's local time and must lie ahead. One command
  rather than a conversation: an emergency is typed in one go.
- A preview says how many officers it will reach: active, bound, reachable, the same ABO group
  and Rh, and eligible today (in the union's zone) for that component (bot/rules/blood.py with
  their donations). The draft waits in conversation_state, a one-step flow (handlers/flow.py);
  确认发送 takes it (a double press creates one appeal) and counts the recipients again.
- Confirmed: the appeal and its URGENT broadcast (with 我能去 / 去不了 on every message) are
  written in one transaction; then the organizer gets a tally message (with 结束呼吁) and the
  sender is woken.
- 我能去 sends the officer the address and contact with an 已到达 button. Answers are recorded
  as storage/appeals.py decides (same answer twice counts once; cannot↔coming may change while
  open; arrived is final). The same answer again brings back what the first press delivered
  (it may have been recorded just before a kill, its message never sent): 我能去 the address,
  the contact and 已到达 again (unless the appeal is closed), never a bare "already". The tally
  is edited at most every TALLY_EVERY seconds: at once if the last edit is that old, else
  once, later, from the JobQueue.
- Enough donors coming: the appeal is fulfilled in the same transaction as the press that made
  it so; the asked who have not said 我能去 get "已满足，感谢", those coming "still expected".
  结束呼吁, or the deadline (bot/jobs/appeals.py, every DEADLINE_INTERVAL seconds),
  closes it: everyone asked who has not arrived is told. Later presses only say it is over
  (those coming may still say 已到达 while it is fulfilled). Notices go out through the
  broadcast engine at URGENT priority.
"""

from __future__ import annotations

import logging
import time as clock
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot import effects, texts
from bot.policy import BloodPolicy
from bot.rules.blood import Component, Donation, Reason, eligibility
from bot.rules.care import parse_date
from bot.rules.forgiving import Lean, normalise, parse_clock
from bot.rules.horizon import beyond_horizon, horizon
from bot.rules.identity import parse_blood_type
from bot.rules.text import clean, meaningful, quote
from handlers import menu
from handlers.access import Access, pressed
from handlers.callbacks import AppealAction, AppealConfirm
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    notify,
    reply,
    show_step,
)
from handlers.context import services, services_of
from handlers.drives import when_text
from handlers.flow import END, Draft, Flow, Pressed
from storage import appeals
from storage.appeals import Candidate, Change, NoticeTexts, Outcome
from storage.broadcasts import Recipient
from storage.models import AppealAnswer, AppealStatus, BloodAppeal
from storage.types import utcnow

log = logging.getLogger(__name__)

NAME = "appeal"
# Organizers and admins call for donors and end an appeal; anyone else is told no, briefly.
APPEALER: Access[Any] = Access(ORGANIZER_ROLES, alert=False)
MAX_UNITS = 100
TALLY_EVERY = 3.0  # seconds between two edits of one tally message
LAST_EDIT_KEY = "nuanjing.appeal.last_edit"
PENDING_KEY = "nuanjing.appeal.pending"

COMPONENT_WORDS = {
    "全血": Component.WHOLE_BLOOD,
    "whole": Component.WHOLE_BLOOD,
    "whole_blood": Component.WHOLE_BLOOD,
    "血小板": Component.PLATELETS,
    "platelets": Component.PLATELETS,
    "血浆": Component.PLASMA,
    "plasma": Component.PLASMA,
}
NOTICES = NoticeTexts(
    stand_down=texts.APPEAL_STAND_DOWN,
    still_expected=texts.APPEAL_STILL_EXPECTED,
    closed=texts.APPEAL_CLOSED_NOTICE,
)


class ArgumentError(ValueError):
    """An argument of /appeal that cannot be used; the text says why."""


class State(StrEnum):
    """An appeal's one step: its preview, waiting for 确认发送 or 取消."""

    PREVIEW = "preview"


@dataclass(frozen=True)
class AppealDraft(Draft):
    """A parsed /appeal (the deadline in UTC), waiting at its preview."""

    blood_group: str
    rh_negative: bool
    component: Component
    units: int
    deadline: datetime
    hospital: str
    address: str
    contact: str


# --- parsing and showing ---------------------------------------------------------------------


def parse_blood(token: str) -> tuple[str, bool]:
    """O- → ("O", True); O, O+ → ("O", False)."""
    try:
        blood = parse_blood_type(token)
    except ValueError:
        raise ArgumentError(
            texts.APPEAL_BAD_TYPE.format(token=quote(token)) + texts.APPEAL_USAGE
        ) from None
    return blood.group, blood.rh_negative


def parse_appeal(tokens: Sequence[str], *, now: datetime, zone: ZoneInfo, flow: str) -> AppealDraft:
    """血型 成分 人数 日期 时间 医院|地址|联系人 → the draft `flow` (deadline in UTC)."""
    tokens = [normalise(token) for token in tokens]  # full-width digits and colons too
    if len(tokens) < 6:
        raise ArgumentError(texts.APPEAL_USAGE)
    group, negative = parse_blood(tokens[0])
    component = COMPONENT_WORDS.get(tokens[1].lower())
    if component is None:
        raise ArgumentError(
            texts.APPEAL_BAD_COMPONENT.format(token=quote(tokens[1])) + texts.APPEAL_USAGE
        )
    units = tokens[2]
    whole = units.isascii() and units.isdigit() and len(units) <= 3
    if not whole or not 1 <= int(units) <= MAX_UNITS:
        raise ArgumentError(texts.APPEAL_BAD_UNITS.format(token=quote(units)) + texts.APPEAL_USAGE)
    today = now.astimezone(zone).date()
    day = parse_date(tokens[3], today, lean=Lean.FUTURE)
    if day is None:
        raise ArgumentError(
            texts.APPEAL_BAD_DATE.format(token=quote(tokens[3])) + texts.APPEAL_USAGE
        )
    if beyond_horizon(day, today):
        raise ArgumentError(
            texts.APPEAL_TOO_FAR.format(date=day.isoformat(), latest=horizon(today).isoformat())
        )
    clock = parse_clock(tokens[4])
    if clock is None:
        raise ArgumentError(
            texts.APPEAL_BAD_TIME.format(token=quote(tokens[4])) + texts.APPEAL_USAGE
        )
    parts = [clean(part) for part in " ".join(tokens[5:]).split("|")]
    if len(parts) != 3 or not all(meaningful(part) for part in parts):
        raise ArgumentError(texts.APPEAL_BAD_PLACE + texts.APPEAL_USAGE)
    hospital, address, contact = parts
    local = datetime.combine(day, clock, tzinfo=zone)
    if local <= now:
        raise ArgumentError(texts.APPEAL_PAST.format(when=when_text(local, zone)))
    return AppealDraft(
        flow=flow,
        blood_group=group,
        rh_negative=negative,
        component=component,
        units=int(tokens[2]),
        deadline=local.astimezone(UTC),
        hospital=hospital[:100],
        address=address[:200],
        contact=contact[:100],
    )


def blood_label(group: str, negative: bool) -> str:
    """O型 or O型Rh阴性."""
    template = texts.APPEAL_BLOOD_NEGATIVE if negative else texts.APPEAL_BLOOD
    return template.format(group=group)


class LeftOut(StrEnum):
    """Why an officer of the appeal's blood type is not asked (in the order the preview says)."""

    NO_BIRTHDAY = "no_birthday"  # no birthday on the roster: age cannot be checked
    TOO_SOON = "too_soon"  # the policy's interval since the last donation (or the yearly cap)
    AGE = "age"  # too young or too old to give
    UNREACHABLE = "unreachable"  # blocked the bot
    NOT_BOUND = "not_bound"  # not bound to Telegram


LEFT_OUT_BY_REASON = {
    Reason.UNKNOWN_BIRTHDAY: LeftOut.NO_BIRTHDAY,
    Reason.INTERVAL: LeftOut.TOO_SOON,
    Reason.YEARLY_CAP: LeftOut.TOO_SOON,
    Reason.TOO_YOUNG: LeftOut.AGE,
    Reason.TOO_OLD: LeftOut.AGE,
    Reason.TOO_OLD_FIRST_TIME: LeftOut.AGE,
}


@dataclass(frozen=True)
class Audience:
    """Who an appeal reaches, and how many of its blood type it leaves out, by reason.

    `recipients` are the bound officers who may give, those who blocked the bot included (the
    broadcast records them as unreachable without a send); `reachable` leaves those out. Each
    officer left out counts once: first why they may not give (a refusal that binding them
    would not lift), else that they blocked the bot, else that they are not bound.
    """

    recipients: list[Recipient]
    reachable: int
    left_out: Counter[LeftOut]


def audience(
    candidates: list[Candidate], component: Component, *, today: date, policy: BloodPolicy
) -> Audience:
    """The candidates (bound or not) who may give this component today, and who may not."""
    chosen: list[Recipient] = []
    reachable = 0
    left_out: Counter[LeftOut] = Counter()
    for candidate in candidates:
        history = [
            Donation(d.donated_on, Component(d.component), d.amount) for d in candidate.history
        ]
        verdict = eligibility(
            component,
            today=today,
            birthday=candidate.officer.birthday,
            history=history,
            policy=policy,
        )
        if not verdict.may_give:
            assert verdict.reason is not None
            left_out[LEFT_OUT_BY_REASON[verdict.reason]] += 1
        elif candidate.recipient is None:
            left_out[LeftOut.NOT_BOUND] += 1
        else:
            chosen.append(candidate.recipient)
            if candidate.unreachable:
                left_out[LeftOut.UNREACHABLE] += 1
            else:
                reachable += 1
    return Audience(chosen, reachable, left_out)


def eligible(
    candidates: list[Candidate], component: Component, *, today: date, policy: BloodPolicy
) -> list[Recipient]:
    """The bound candidates who may give this component today."""
    return audience(candidates, component, today=today, policy=policy).recipients


def reach(session: Session, draft: AppealDraft, *, today: date, policy: BloodPolicy) -> Audience:
    """Who the appeal reaches now, and who of its blood type it leaves out."""
    found = appeals.matching(session, blood_group=draft.blood_group, rh_negative=draft.rh_negative)
    return audience(found, draft.component, today=today, policy=policy)


def recipients(
    session: Session, draft: AppealDraft, *, today: date, policy: BloodPolicy
) -> list[Recipient]:
    """Who the appeal reaches now."""
    return reach(session, draft, today=today, policy=policy).recipients


def left_out_text(left_out: Counter[LeftOut]) -> str:
    """The preview's lines on who is left out, by reason; nothing when nobody is."""
    total = sum(left_out.values())
    if not total:
        return ""
    lines = [texts.APPEAL_LEFT_OUT_HEAD.format(count=total)]
    for reason in LeftOut:
        if left_out[reason]:
            lines.append(texts.APPEAL_LEFT_OUT[reason.value].format(count=left_out[reason]))
    if left_out[LeftOut.NO_BIRTHDAY]:
        lines.append(texts.APPEAL_LEFT_OUT_FIX)
    return "".join(lines)


def _fields(appeal: BloodAppeal | AppealDraft, zone: ZoneInfo) -> dict[str, Any]:
    if isinstance(appeal, AppealDraft):
        units, component = appeal.units, appeal.component.value
    else:
        units, component = appeal.units_needed, appeal.component
    return {
        "blood": blood_label(appeal.blood_group, appeal.rh_negative),
        "component": texts.APPEAL_COMPONENTS[component],
        "units": units,
        "hospital": appeal.hospital,
        "address": appeal.address,
        "contact": appeal.contact,
        "deadline": when_text(appeal.deadline, zone),
    }


def answer_markup(appeal_id: int) -> InlineKeyboardMarkup:
    """我能去 / 去不了 under the appeal each officer receives."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.APPEAL_COMING_BUTTON,
                    callback_data=AppealAction("coming", appeal_id).pack(),
                ),
                InlineKeyboardButton(
                    texts.APPEAL_CANNOT_BUTTON,
                    callback_data=AppealAction("cannot", appeal_id).pack(),
                ),
            ]
        ]
    )


def _single(text: str, data: AppealAction | AppealConfirm) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text, callback_data=data.pack())]


def tally_text(session: Session, appeal: BloodAppeal, zone: ZoneInfo) -> str:
    """The organizer's live tally."""
    state = appeals.tally(session, appeal)
    text = texts.APPEAL_TALLY.format(
        id=appeal.id,
        asked=state.asked,
        coming=state.coming,
        arrived=state.arrived,
        cannot=state.cannot,
        **_fields(appeal, zone),
    )
    if appeal.status == AppealStatus.FULFILLED:
        text += texts.APPEAL_TALLY_FULFILLED
    elif appeal.status == AppealStatus.CLOSED:
        text += texts.APPEAL_TALLY_CLOSED
    return text


def tally_markup(appeal: BloodAppeal) -> InlineKeyboardMarkup | None:
    """名单 always (who came is still wanted afterwards); 结束呼吁 until the appeal is closed."""
    if appeal.id is None:
        return None
    row = _single(texts.APPEAL_LIST_BUTTON, AppealAction("list", appeal.id))
    if appeal.status != AppealStatus.CLOSED:
        row += _single(texts.APPEAL_END_BUTTON, AppealAction("end", appeal.id))
    return InlineKeyboardMarkup([row])


def attendee_list(appeal: BloodAppeal, people: Sequence[appeals.Attendee]) -> str:
    """The private list: who is coming (name, unit, phone), then who arrived."""
    text = texts.APPEAL_LIST_HEAD.format(
        id=appeal.id, hospital=appeal.hospital, units=appeal.units_needed
    )
    for head, group in (
        (texts.APPEAL_LIST_COMING, [p for p in people if not p.arrived]),
        (texts.APPEAL_LIST_ARRIVED, [p for p in people if p.arrived]),
    ):
        text += head.format(count=len(group))
        if not group:
            text += texts.APPEAL_LIST_NONE
        for number, person in enumerate(group, start=1):
            text += texts.APPEAL_LIST_LINE.format(
                number=number,
                name=person.name,
                unit=person.unit or texts.UNKNOWN,
                phone=person.phone or texts.UNKNOWN,
            )
    return text


# --- /appeal and its preview -----------------------------------------------------------------


FLOW = Flow(NAME, State, AppealDraft, AppealConfirm, access=APPEALER)
Press = Pressed[State, AppealDraft, AppealConfirm]


@FLOW.entry()
async def appeal_command(update: Update, context: Context, _caller: Caller) -> State | None:
    """/appeal …: parse, count who it reaches, show the preview with 确认发送 / 取消."""
    message = update.effective_message
    assert message is not None and message.text is not None
    found = services(context)
    try:
        draft = parse_appeal(
            message.text.split()[1:], now=utcnow(), zone=found.zone, flow=FLOW.token()
        )
    except ArgumentError as exc:
        # An earlier preview, if any, stays as it was.
        await reply(update, context, str(exc))
        return None
    today = utcnow().astimezone(found.zone).date()
    with found.database.session() as session:
        reached = reach(session, draft, today=today, policy=found.policy.blood)
    markup = InlineKeyboardMarkup(
        [
            _single(texts.APPEAL_CONFIRM_BUTTON, AppealConfirm(draft.flow, "confirm"))
            + _single(texts.APPEAL_CANCEL_BUTTON, AppealConfirm(draft.flow, "cancel"))
        ]
    )
    text = texts.APPEAL_PREVIEW.format(count=reached.reachable, **_fields(draft, found.zone))
    text += left_out_text(reached.left_out)
    return await FLOW.preview(update, context, State.PREVIEW, draft, text, markup)


async def _confirm(update: Update, context: Context, turn: Press) -> int | None:
    """确认发送: only the first press of the newest preview acts."""
    chat = update.effective_chat
    assert chat is not None
    found = services(context)
    appeal: BloodAppeal | None = None
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            today = utcnow().astimezone(found.zone).date()
            asked = recipients(session, draft, today=today, policy=found.policy.blood)
            if asked:
                appeal = appeals.create(
                    session,
                    blood_group=draft.blood_group,
                    rh_negative=draft.rh_negative,
                    component=draft.component.value,
                    hospital=draft.hospital,
                    address=draft.address,
                    contact=draft.contact,
                    units_needed=draft.units,
                    deadline=draft.deadline,
                    created_by=turn.caller.actor,
                    tally_chat_id=chat.id,
                    recipients=asked,
                    text=texts.APPEAL_TEXT.format(**_fields(draft, found.zone)),
                    buttons_for=lambda appeal_id: answer_markup(appeal_id).to_json(),
                )
    if draft is None:
        await FLOW.expire(update)
        return None
    await answer(update)
    if appeal is None:
        component = texts.APPEAL_COMPONENTS[draft.component.value]
        await show_step(update, context, texts.APPEAL_NOBODY.format(component=component))
        return END
    assert appeal.id is not None
    log.info("appeal %d queued", appeal.id)
    await _start_tally(context, chat.id, appeal.id)
    await show_step(update, context, texts.APPEAL_CONFIRMED)
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel with a preview open: drop it (and any other unfinished flow); nothing is sent."""
    await menu.cancel_outside(update, context)
    return END


async def _start_tally(context: Context, chat_id: int, appeal_id: int) -> None:
    """The organizer's tally message, then wake the sender (the appeal is committed)."""
    found = services(context)
    try:
        with found.database.session() as session:
            appeal = appeals.get(session, appeal_id)
            assert appeal is not None
            text, markup = tally_text(session, appeal, found.zone), tally_markup(appeal)
        # Its id is stored once Telegram took it (after the commit), so the tally can be edited.
        with effects.on_sent("appeal_tally", appeal_id):
            await context.bot.send_message(chat_id, text, reply_markup=markup)
    except TelegramError as exc:
        log.warning("could not send an appeal's tally: %s", type(exc).__name__)
    else:
        context.application.bot_data.setdefault(LAST_EDIT_KEY, {})[appeal_id] = clock.monotonic()
    finally:
        found.broadcaster.wake()


# --- the tally -------------------------------------------------------------------------------


async def edit_tally(
    application: Application[Any, Any, Any, Any, Any, Any], appeal_id: int
) -> None:
    """Edit the organizer's tally to the appeal's state now."""
    found = services_of(application)
    with found.database.session() as session:
        appeal = appeals.get(session, appeal_id)
        if appeal is None or appeal.tally_chat_id is None or appeal.tally_message_id is None:
            return
        text, markup = tally_text(session, appeal, found.zone), tally_markup(appeal)
        chat_id, message_id = appeal.tally_chat_id, appeal.tally_message_id
    try:
        await application.bot.edit_message_text(text, chat_id, message_id, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" not in exc.message:
            log.info("could not edit an appeal's tally: %s", exc.message)
    except TelegramError as exc:
        log.info("could not edit an appeal's tally: %s", type(exc).__name__)


async def refresh_tally(
    application: Application[Any, Any, Any, Any, Any, Any], appeal_id: int
) -> None:
    """Edit the tally now if the last edit is TALLY_EVERY old, else once when it will be."""
    last_edit: dict[int, float] = application.bot_data.setdefault(LAST_EDIT_KEY, {})
    pending: set[int] = application.bot_data.setdefault(PENDING_KEY, set())
    if appeal_id in pending:
        return  # an edit is already due: it will read the state then
    wait = last_edit.get(appeal_id, 0.0) + TALLY_EVERY - clock.monotonic()
    if wait <= 0:
        last_edit[appeal_id] = clock.monotonic()  # taken before the await: no second edit now
        await edit_tally(application, appeal_id)
        return
    pending.add(appeal_id)
    if application.job_queue is not None:
        application.job_queue.run_once(_tally_job, wait, data=appeal_id)
    else:  # pragma: no cover - the job-queue extra is installed
        application.create_task(_later(application, appeal_id, wait))


async def _tally_job(context: Context) -> None:
    """The delayed edit."""
    assert context.job is not None
    await _edit_pending(context.application, int(str(context.job.data)))


async def _later(
    application: Application[Any, Any, Any, Any, Any, Any], appeal_id: int, wait: float
) -> None:  # pragma: no cover
    import asyncio

    await asyncio.sleep(wait)
    await _edit_pending(application, appeal_id)


async def _edit_pending(
    application: Application[Any, Any, Any, Any, Any, Any], appeal_id: int
) -> None:
    application.bot_data.setdefault(PENDING_KEY, set()).discard(appeal_id)
    application.bot_data.setdefault(LAST_EDIT_KEY, {})[appeal_id] = clock.monotonic()
    await edit_tally(application, appeal_id)


# --- the buttons -----------------------------------------------------------------------------


OUTCOME_TEXTS = {
    Outcome.NOT_ASKED: texts.APPEAL_NOT_ASKED,
    Outcome.CLOSED: texts.APPEAL_ENDED_ANSWER,
    Outcome.FULFILLED: texts.APPEAL_FULFILLED_ANSWER,
    Outcome.NOT_COMING: texts.APPEAL_NOT_COMING_ANSWER,
    Outcome.FINAL: texts.APPEAL_FINAL_ANSWER,
}
RECORDED_TEXTS = {
    AppealAnswer.COMING: texts.APPEAL_COMING_ANSWER,
    AppealAnswer.CANNOT: texts.APPEAL_CANNOT_ANSWER,
    AppealAnswer.ARRIVED: texts.APPEAL_ARRIVED_ANSWER,
}


ORGANIZER_ACTIONS = ("end", "endok", "endno", "list")


def _asks_end(action: AppealAction) -> bool:
    return action.action == "end"


def _decides_end(action: AppealAction) -> bool:
    return action.action in ("endok", "endno")


def _lists(action: AppealAction) -> bool:
    return action.action == "list"


def _answers(action: AppealAction) -> bool:
    return action.action not in ORGANIZER_ACTIONS


def _end_markup(appeal_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            _single(texts.APPEAL_END_CONFIRM_BUTTON, AppealAction("endok", appeal_id))
            + _single(texts.APPEAL_END_KEEP_BUTTON, AppealAction("endno", appeal_id))
        ]
    )


@pressed(AppealAction, APPEALER, accept=_asks_end)
async def end_pressed(
    update: Update, context: Context, action: AppealAction, _caller: Caller
) -> None:
    """结束呼吁 on the tally: ask first (确认结束 / 先不结束); nothing changes yet."""
    with services(context).database.session() as session:
        appeal = appeals.get(session, action.appeal_id)
    if appeal is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if appeal.status == AppealStatus.CLOSED:
        await answer(update, texts.APPEAL_ENDED_ANSWER)
        return
    await answer(update)
    text = texts.APPEAL_END_ASK.format(id=appeal.id, hospital=appeal.hospital)
    await reply(update, context, text, _end_markup(action.appeal_id))


@pressed(AppealAction, APPEALER, accept=_decides_end)
async def end_decided(
    update: Update, context: Context, action: AppealAction, _caller: Caller
) -> None:
    """确认结束 closes the appeal (everyone not yet arrived is told); 先不结束 leaves it open."""
    if action.action == "endno":
        await answer(update)
        await show_step(update, context, texts.APPEAL_END_KEPT.format(id=action.appeal_id))
        return
    with services(context).database.session() as session:
        change = appeals.close(session, action.appeal_id, texts=NOTICES, now=utcnow())
    if change.appeal is None:
        await answer(update, texts.STALE_BUTTON)
        return
    await answer(
        update, texts.APPEAL_END_ANSWER if change.closed_now else texts.APPEAL_ENDED_ANSWER
    )
    done = texts.APPEAL_END_DONE if change.closed_now else texts.APPEAL_END_ALREADY
    await show_step(update, context, done.format(id=action.appeal_id))
    await after_change(context.application, action.appeal_id, change, force=True)


@pressed(AppealAction, accept=_lists)
async def list_pressed(
    update: Update, context: Context, action: AppealAction, caller: Caller
) -> None:
    """👥 名单: who is coming and who arrived, privately, to the appeal's creator or an organizer.

    Checked again on every press: the data may be forged, the role revoked since.
    """
    with services(context).database.session() as session:
        appeal = appeals.get(session, action.appeal_id)
        allowed = appeal is not None and (caller.organizer or appeal.created_by == caller.actor)
        people = appeals.attendees(session, action.appeal_id) if allowed else []
    if appeal is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if not allowed:
        await answer(update, texts.APPEAL_LIST_REFUSED, alert=True)
        return
    await answer(update, texts.APPEAL_LIST_ANSWER)
    await reply(update, context, attendee_list(appeal, people))


@pressed(AppealAction, accept=_answers)
async def appeal_pressed(
    update: Update, context: Context, action: AppealAction, caller: Caller
) -> None:
    """我能去 / 去不了 / 已到达 from an officer asked."""
    found = services(context)
    officer_id = caller.officer.id
    assert officer_id is not None
    chosen = AppealAnswer(action.action)
    with found.database.session() as session:
        change = appeals.reply(session, action.appeal_id, officer_id, chosen, texts=NOTICES)
    if change.outcome == Outcome.SAME:
        await _repeated(update, context, change)
        return
    if change.outcome != Outcome.RECORDED:
        await answer(update, OUTCOME_TEXTS[change.outcome])
        return
    await answer(update, RECORDED_TEXTS[chosen])
    appeal = change.appeal
    assert appeal is not None and appeal.id is not None
    if chosen == AppealAnswer.COMING:
        await _send_way(update, context, appeal)
    await after_change(context.application, appeal.id, change)


async def _repeated(update: Update, context: Context, change: Change) -> None:
    """The same answer again: what the first press delivered, or should have.

    The first press may have been recorded just before the bot was killed, its message never
    sent: a second 我能去 brings the address, the contact and 已到达 again (unless the appeal is
    over), never a bare "already".
    """
    appeal = change.appeal
    assert appeal is not None and change.current is not None
    current = AppealAnswer(change.current)
    if current == AppealAnswer.COMING and appeal.status == AppealStatus.CLOSED:
        await answer(update, texts.APPEAL_ENDED_ANSWER)
        return
    await answer(update, RECORDED_TEXTS[current])
    if current == AppealAnswer.COMING:
        await _send_way(update, context, appeal)


async def _send_way(update: Update, context: Context, appeal: BloodAppeal) -> None:
    """The hospital's address and contact, with 已到达, to the officer who is coming."""
    chat = update.effective_chat
    assert chat is not None and appeal.id is not None
    arrived = InlineKeyboardMarkup(
        [_single(texts.APPEAL_ARRIVED_BUTTON, AppealAction("arrived", appeal.id))]
    )
    await notify(
        context.bot,
        chat.id,
        texts.APPEAL_GO.format(
            hospital=appeal.hospital, address=appeal.address, contact=appeal.contact
        ),
        arrived,
    )


async def after_change(
    application: Application[Any, Any, Any, Any, Any, Any],
    appeal_id: int,
    change: Change,
    *,
    force: bool = False,
) -> None:
    """After the commit: wake the sender for any notices, and bring the tally up to date."""
    if change.notices:
        services_of(application).broadcaster.wake()
    if force or change.fulfilled_now or change.closed_now:
        # A change of status is shown at once; the throttle still counts it.
        application.bot_data.setdefault(LAST_EDIT_KEY, {})[appeal_id] = clock.monotonic()
        await edit_tally(application, appeal_id)
    else:
        await refresh_tally(application, appeal_id)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/appeal with its preview, and the appeal's buttons."""
    conversation = FLOW.handler(
        entry_points=[CommandHandler("appeal", appeal_command, filters=PRIVATE_MESSAGE)],
        # Only buttons: a message at the preview says which, and the preview stays.
        states={
            State.PREVIEW: [
                FLOW.press("confirm", _confirm),
                FLOW.press("cancel", FLOW.cancel(texts.APPEAL_CANCELLED)),
                FLOW.remind(texts.ANNOUNCE_USE_BUTTONS),
            ]
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        conversation,
        FLOW.outside(),
        # 结束呼吁 and its confirmation are the organizers'; 名单 the creator's and organizers';
        # the answers are every officer asked.
        CallbackQueryHandler(end_pressed, pattern=rf"^{AppealAction.prefix}:end(:|$)"),
        CallbackQueryHandler(end_decided, pattern=rf"^{AppealAction.prefix}:end(ok|no)(:|$)"),
        CallbackQueryHandler(list_pressed, pattern=rf"^{AppealAction.prefix}:list(:|$)"),
        CallbackQueryHandler(appeal_pressed, pattern=AppealAction.pattern()),
    ]
