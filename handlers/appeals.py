"""Urgent blood appeals (紧急用血呼吁): organizers ask the officers who can give, now.

- Organizers, on a phone: `/appeal` alone (or 🆘 献血呼吁 in the menu) asks one thing per
  message: blood type (one keyboard: Rh阳性 on top, Rh阴性 below), component, units (buttons or
  a number typed) and deadline by taps (今晚, 明早… only those an hour ahead, or typed as people
  say it: 明天 晚上8点, 12月5日 20:00); then hospital, address and contact typed, the last
  appeal's offered as buttons. Each step commits its state and draft before its question
  (handlers/flow.py), so a restart continues there; a pressed step's message keeps what was
  chosen and loses its buttons, and a press of another step or draft expires.
- The one-line form is the shortcut: `/appeal 血型 成分 人数 截止日期 截止时间 医院|地址|联系人`,
  e.g. `/appeal O- 血小板 2 2026-11-30 08:00 市中心医院|长沙路1号|张医生 13800000000`. Blood type
  A, B, O or AB with + or - (Rh; none means positive); component 全血, 血小板 or 血浆; 1–100
  donors; the deadline is the union's local time and must lie ahead. Fewer words (no `|`
  part, or the words stopping early) start the dialog at the first field they leave out; a
  word given that cannot be read is refused with the usage.
- A preview says how many officers it will reach: active, bound, reachable, the same ABO group
  and Rh, and eligible today (in the union's zone) for that component (bot/rules/blood.py with
  their donations). ✏️ asks one field again and comes back to it; 确认发送 takes the draft
  (a double press creates one appeal) and counts the recipients again.
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

import dataclasses
import logging
import re
import time as clock
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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
from handlers.callbacks import AppealAction, AppealStep, MenuChoice
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    notify,
    prompt,
    reply,
    show_step,
)
from handlers.context import services, services_of
from handlers.drives import when_text
from handlers.flow import END, Draft, Flow, Pressed, Typed
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
    """An appeal's steps: its fields in the order the dialog asks them, then the preview."""

    BLOOD = "blood"
    COMPONENT = "component"
    UNITS = "units"
    DEADLINE = "deadline"
    HOSPITAL = "hospital"
    ADDRESS = "address"
    CONTACT = "contact"
    PREVIEW = "preview"


# The draft's fields each step fills (✏️ on the preview empties them to ask again).
FIELDS_OF = {
    State.BLOOD: ("blood_group", "rh_negative"),
    State.COMPONENT: ("component",),
    State.UNITS: ("units",),
    State.DEADLINE: ("deadline",),
    State.HOSPITAL: ("hospital",),
    State.ADDRESS: ("address",),
    State.CONTACT: ("contact",),
}
# The steps in the order asked ("given before this step").
STEP_ORDER = {state: index for index, state in enumerate(State)}
# The typed steps and their columns' widths.
TEXT_LIMITS = {State.HOSPITAL: 100, State.ADDRESS: 200, State.CONTACT: 100}


@dataclass(frozen=True)
class AppealDraft(Draft):
    """A whole appeal (the deadline in UTC), as its preview shows it and 确认发送 sends it."""

    blood_group: str
    rh_negative: bool
    component: Component
    units: int
    deadline: datetime
    hospital: str
    address: str
    contact: str


@dataclass(frozen=True)
class AppealSoFar(Draft):
    """The flow's draft: an appeal as far as it is given, each field None until it is.

    Stored under AppealDraft's keys, so a preview committed before the dialog existed still
    reads. `earlier` is the organizer's last appeal's hospital, address and contact, offered as
    buttons at those steps.
    """

    blood_group: str | None = None
    rh_negative: bool | None = None
    component: Component | None = None
    units: int | None = None
    deadline: datetime | None = None
    hospital: str | None = None
    address: str | None = None
    contact: str | None = None
    earlier: tuple[str, ...] = ()

    def missing(self) -> State:
        """The first step not answered yet; the preview once every field is given."""
        for state, names in FIELDS_OF.items():
            if any(getattr(self, name) is None for name in names):
                return state
        return State.PREVIEW

    def complete(self) -> AppealDraft | None:
        """The whole appeal, or None while a field is missing."""
        if (
            self.blood_group is None
            or self.rh_negative is None
            or self.component is None
            or self.units is None
            or self.deadline is None
            or self.hospital is None
            or self.address is None
            or self.contact is None
        ):
            return None
        return AppealDraft(
            flow=self.flow,
            blood_group=self.blood_group,
            rh_negative=self.rh_negative,
            component=self.component,
            units=self.units,
            deadline=self.deadline,
            hospital=self.hospital,
            address=self.address,
            contact=self.contact,
        )

    def without(self, state: State) -> AppealSoFar:
        """The draft with the fields of one step emptied, to be asked again."""
        replace = dataclasses.replace
        match state:
            case State.BLOOD:
                return replace(self, blood_group=None, rh_negative=None)
            case State.COMPONENT:
                return replace(self, component=None)
            case State.UNITS:
                return replace(self, units=None)
            case State.DEADLINE:
                return replace(self, deadline=None)
            case _:
                return self.with_text(state, None)

    def with_text(self, state: State, value: str | None) -> AppealSoFar:
        """The hospital, the address or the contact set (None: emptied)."""
        match state:
            case State.HOSPITAL:
                return dataclasses.replace(self, hospital=value)
            case State.ADDRESS:
                return dataclasses.replace(self, address=value)
            case State.CONTACT:
                return dataclasses.replace(self, contact=value)
        raise ValueError(state)


def _ready(state: State, draft: AppealSoFar) -> bool:
    """A committed step is the first the draft lacks (the preview: nothing lacks)."""
    return draft.missing() == state


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


def read_units(token: str) -> int | None:
    """1–100 donors as typed (full-width digits, 人 or 位 after the number); None if not."""
    value = normalise(token).removesuffix("人").removesuffix("位").strip()
    whole = value.isascii() and value.isdigit() and len(value) <= 3
    return int(value) if whole and 1 <= int(value) <= MAX_UNITS else None


# 明早 8点 is 明天 早上8点: the day and the part of the day in one word.
SHORT_DAYS = (
    ("今早", "今天早上"),
    ("今晚", "今天晚上"),
    ("明早", "明天早上"),
    ("明晚", "明天晚上"),
)


def read_moment(text: str, today: date) -> tuple[date, time] | None:
    """A deadline as typed: 明天 晚上8点, 明天晚上8点, 12月5日 20:00, 明早8点, or a time alone
    (today's); the day and the wall time, or None."""
    words = normalise(text).split()
    if len(words) == 2:
        day, clock = parse_date(words[0], today, lean=Lean.FUTURE), parse_clock(words[1])
        if day is not None and clock is not None:
            return day, clock
    value = "".join(words)
    for short, long in SHORT_DAYS:
        if value.startswith(short):
            value = long + value.removeprefix(short).removeprefix("上")
    alone = parse_clock(value)
    if alone is not None:
        return today, alone
    # Day and time written together: the longest day that leaves a time after it.
    for cut in range(len(value) - 1, 0, -1):
        day = parse_date(value[:cut], today, lean=Lean.FUTURE)
        clock = parse_clock(value[cut:]) if day is not None else None
        if day is not None and clock is not None:
            return day, clock
    return None


def parse_start(tokens: Sequence[str], *, now: datetime, zone: ZoneInfo, flow: str) -> AppealSoFar:
    """What /appeal's words give, field by field in the one-line form's order.

    `血型 成分 人数 日期 时间 医院|地址|联系人` gives everything; fewer words give the fields
    they reach (a hospital without `|` is the hospital alone) and the dialog asks the rest. A
    word given that cannot be read is refused as the one-line form refuses it (ArgumentError).
    """
    tokens = [normalise(token) for token in tokens]  # full-width digits and colons too
    draft = AppealSoFar(flow)
    if not tokens:
        return draft
    group, negative = parse_blood(tokens[0])
    draft = dataclasses.replace(draft, blood_group=group, rh_negative=negative)
    if len(tokens) < 2:
        return draft
    component = COMPONENT_WORDS.get(tokens[1].lower())
    if component is None:
        raise ArgumentError(
            texts.APPEAL_BAD_COMPONENT.format(token=quote(tokens[1])) + texts.APPEAL_USAGE
        )
    draft = dataclasses.replace(draft, component=component)
    if len(tokens) < 3:
        return draft
    units = read_units(tokens[2])
    if units is None:
        raise ArgumentError(
            texts.APPEAL_BAD_UNITS.format(token=quote(tokens[2])) + texts.APPEAL_USAGE
        )
    draft = dataclasses.replace(draft, units=units)
    if len(tokens) < 4:
        return draft
    today = now.astimezone(zone).date()
    day = parse_date(tokens[3], today, lean=Lean.FUTURE)
    rest = tokens[5:]
    if day is not None:
        if beyond_horizon(day, today):
            raise ArgumentError(
                texts.APPEAL_TOO_FAR.format(date=day.isoformat(), latest=horizon(today).isoformat())
            )
        if len(tokens) < 5:
            return draft  # a day without its time: the dialog asks the deadline
        clock = parse_clock(tokens[4])
        if clock is None:
            raise ArgumentError(
                texts.APPEAL_BAD_TIME.format(token=quote(tokens[4])) + texts.APPEAL_USAGE
            )
    else:
        moment = read_moment(tokens[3], today)  # 明天晚上8点 in one word
        if moment is None:
            raise ArgumentError(
                texts.APPEAL_BAD_DATE.format(token=quote(tokens[3])) + texts.APPEAL_USAGE
            )
        day, clock = moment
        if beyond_horizon(day, today):
            raise ArgumentError(
                texts.APPEAL_TOO_FAR.format(date=day.isoformat(), latest=horizon(today).isoformat())
            )
        rest = tokens[4:]
    place = " ".join(rest)
    if "|" in place:
        parts = [clean(part) for part in place.split("|")]
        if len(parts) != 3 or not all(meaningful(part) for part in parts):
            raise ArgumentError(texts.APPEAL_BAD_PLACE + texts.APPEAL_USAGE)
    else:
        parts = [clean(place)] if meaningful(place) else []
    local = datetime.combine(day, clock, tzinfo=zone)
    if local <= now:
        raise ArgumentError(texts.APPEAL_PAST.format(when=when_text(local, zone)))
    draft = dataclasses.replace(draft, deadline=local.astimezone(UTC))
    # The one-line form keeps what fits the columns, as it always has.
    for state, part in zip(TEXT_LIMITS, parts, strict=False):
        draft = draft.with_text(state, part[: TEXT_LIMITS[state]])
    return draft


def parse_appeal(tokens: Sequence[str], *, now: datetime, zone: ZoneInfo, flow: str) -> AppealDraft:
    """血型 成分 人数 日期 时间 医院|地址|联系人 → the whole draft `flow` (deadline in UTC)."""
    draft = parse_start(tokens, now=now, zone=zone, flow=flow)
    whole = draft.complete()
    if whole is None:
        place = draft.deadline is not None
        raise ArgumentError(
            texts.APPEAL_BAD_PLACE + texts.APPEAL_USAGE if place else texts.APPEAL_USAGE
        )
    return whole


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


def _single(text: str, data: AppealAction) -> list[InlineKeyboardButton]:
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


# --- /appeal: the dialog and its preview -----------------------------------------------------


FLOW = Flow(NAME, State, AppealSoFar, AppealStep, access=APPEALER, ready=_ready)
Press = Pressed[State, AppealSoFar, AppealStep]
Text = Typed[State, AppealSoFar]

BLOOD_GROUPS = ("A", "B", "O", "AB")
UNIT_ROWS = ((1, 2, 3, 4, 5), (6, 8, 10))
FIX_ROWS = (
    (State.BLOOD, State.COMPONENT, State.UNITS, State.DEADLINE),
    (State.HOSPITAL, State.ADDRESS, State.CONTACT),
)
# The deadline buttons, those at least MIN_LEAD ahead: (key, days from today, wall time).
DEADLINE_CHOICES = (
    ("today_morning", 0, time(8)),
    ("tonight", 0, time(20)),
    ("tomorrow_morning", 1, time(8)),
    ("tomorrow_evening", 1, time(20)),
)
MIN_LEAD = timedelta(hours=1)
MOMENT_FORMAT = "%Y%m%d%H%M"  # a deadline button's value: the local wall time it names
EARLIER = "earlier"  # the value of the button that offers the organizer's last hospital…


def deadline_choices(now: datetime, zone: ZoneInfo) -> list[tuple[str, datetime]]:
    """This morning, tonight, tomorrow morning and evening: those at least an hour ahead.

    The button carries the moment itself, not "tonight": pressed after midnight it still means
    the evening it said.
    """
    today = now.astimezone(zone).date()
    chosen = []
    for key, days, wall in DEADLINE_CHOICES:
        local = datetime.combine(today + timedelta(days=days), wall, tzinfo=zone)
        if local - now >= MIN_LEAD:
            chosen.append((texts.APPEAL_DEADLINE_BUTTONS[key], local))
    return chosen


def _moment_of(value: str, zone: ZoneInfo) -> datetime | None:
    """A deadline button's moment (aware, in the union's zone); None for forged data."""
    if not (value.isascii() and value.isdigit() and len(value) == len("202612052000")):
        return None
    try:
        return datetime.strptime(value, MOMENT_FORMAT).replace(tzinfo=zone)
    except ValueError:
        return None


def _step_button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=AppealStep(flow, action, value).pack())


def _shown(state: State, draft: AppealSoFar, zone: ZoneInfo) -> str:
    """How one given field reads: O型Rh阴性, 血小板, 2, 2026-12-05（周六）20:00, the text."""
    if state == State.BLOOD:
        assert draft.blood_group is not None
        return blood_label(draft.blood_group, bool(draft.rh_negative))
    if state == State.COMPONENT:
        assert draft.component is not None
        return texts.APPEAL_COMPONENTS[draft.component.value]
    if state == State.DEADLINE:
        assert draft.deadline is not None
        return when_text(draft.deadline, zone)
    return str(getattr(draft, FIELDS_OF[state][0]))


def _earlier(state: State, draft: AppealSoFar) -> str | None:
    """What the organizer's last appeal gave for this typed step: its hospital, its address
    (only for that same hospital), its contact."""
    if len(draft.earlier) != len(TEXT_LIMITS):
        return None
    hospital, address, contact = draft.earlier
    if state == State.HOSPITAL:
        return hospital
    if state == State.ADDRESS:
        return address if draft.hospital == hospital else None
    return contact if state == State.CONTACT else None


def _question(
    context: Context, state: State, draft: AppealSoFar
) -> tuple[str, InlineKeyboardMarkup | None]:
    """A step's question and its buttons."""
    flow, found = draft.flow, services(context)
    if state == State.PREVIEW:
        return _preview(context, draft)
    text = texts.APPEAL_ASK[state.value]
    rows: list[list[InlineKeyboardButton]] = []
    if state == State.BLOOD:
        positive = texts.APPEAL_BLOOD
        negative = texts.APPEAL_BLOOD_NEGATIVE_BUTTON
        rows = [
            [_step_button(positive.format(group=g), flow, state, f"{g}+") for g in BLOOD_GROUPS],
            [_step_button(negative.format(group=g), flow, state, f"{g}-") for g in BLOOD_GROUPS],
        ]
    elif state == State.COMPONENT:
        rows = [
            [_step_button(name, flow, state, key) for key, name in texts.APPEAL_COMPONENTS.items()]
        ]
    elif state == State.UNITS:
        rows = [[_step_button(str(n), flow, state, str(n)) for n in row] for row in UNIT_ROWS]
    elif state == State.DEADLINE:
        choices = deadline_choices(utcnow(), found.zone)
        buttons = [
            _step_button(label, flow, state, moment.strftime(MOMENT_FORMAT))
            for label, moment in choices
        ]
        rows = [buttons[start : start + 2] for start in range(0, len(buttons), 2)]
    else:
        offered = _earlier(state, draft)
        if offered is not None:
            text += texts.APPEAL_ASK_EARLIER
            rows = [[_step_button(offered, flow, state, EARLIER)]]
    return text, InlineKeyboardMarkup(rows) if rows else None


def _preview(context: Context, so_far: AppealSoFar) -> tuple[str, InlineKeyboardMarkup]:
    """The preview: whom it reaches and who of its blood type it leaves out; 确认发送, 取消, ✏️."""
    draft = so_far.complete()
    assert draft is not None  # the preview's step is committed only for a whole draft
    found = services(context)
    today = utcnow().astimezone(found.zone).date()
    with found.database.session() as session:
        reached = reach(session, draft, today=today, policy=found.policy.blood)
    text = texts.APPEAL_PREVIEW.format(count=reached.reachable, **_fields(draft, found.zone))
    text += left_out_text(reached.left_out)
    flow = draft.flow
    rows = [
        [
            _step_button(texts.APPEAL_CONFIRM_BUTTON, flow, "confirm"),
            _step_button(texts.APPEAL_CANCEL_BUTTON, flow, "cancel"),
        ]
    ]
    for row in FIX_ROWS:
        rows.append(
            [
                _step_button(
                    texts.APPEAL_FIX_BUTTON.format(field=texts.APPEAL_FIELD_NAMES[state]),
                    flow,
                    "fix",
                    state,
                )
                for state in row
            ]
        )
    return text, InlineKeyboardMarkup(rows)


async def _ask(
    update: Update,
    context: Context,
    draft: AppealSoFar,
    *,
    chosen: str | None = None,
    before: str = "",
    begin: bool = False,
) -> State:
    """Commit the first step the draft lacks (the preview once none does), then ask it in a
    new message; a pressed step's message is left saying what was chosen, its buttons gone."""
    state = draft.missing()
    if begin:
        FLOW.begin(update, context, state, draft)
    else:
        FLOW.save(update, context, state, draft)
    if update.callback_query is not None:
        await answer(update)
        if chosen is not None:
            await show_step(update, context, chosen)
    text, markup = _question(context, state, draft)
    await prompt(update, context, before + text, markup)
    return state


async def _given(update: Update, context: Context, state: State, draft: AppealSoFar) -> State:
    """A step answered: note it on the pressed message (a typed answer shows itself), go on."""
    chosen = None
    if update.callback_query is not None:
        value = _shown(state, draft, services(context).zone)
        chosen = texts.APPEAL_CHOSEN[state.value].format(value=value)
    return await _ask(update, context, draft, chosen=chosen)


@FLOW.entry()
async def appeal_command(update: Update, context: Context, caller: Caller) -> State | None:
    """/appeal …: the one-line form to its preview; fewer words, /appeal alone or 🆘 献血呼吁
    ask what is missing, a step at a time."""
    message = update.message
    words = message.text.split()[1:] if message is not None and message.text else []
    found = services(context)
    try:
        draft = parse_start(words, now=utcnow(), zone=found.zone, flow=FLOW.token())
    except ArgumentError as exc:
        # An earlier preview, if any, stays as it was.
        await reply(update, context, str(exc))
        return None
    with found.database.session() as session:
        last = appeals.last_by(session, caller.actor)
    if last is not None:
        draft = dataclasses.replace(draft, earlier=(last.hospital, last.address, last.contact))
    state = draft.missing()
    asked = STEP_ORDER[state]
    given = [
        texts.APPEAL_SO_FAR_ITEM.format(
            field=texts.APPEAL_FIELD_NAMES[step.value], value=_shown(step, draft, found.zone)
        )
        for step in FIELDS_OF
        if STEP_ORDER[step] < asked
    ]
    partial = bool(given) and state != State.PREVIEW
    before = texts.APPEAL_SO_FAR.format(given="，".join(given)) if partial else ""
    return await _ask(update, context, draft, before=before, begin=True)


async def _blood_pressed(update: Update, context: Context, turn: Press) -> State | None:
    try:
        blood = parse_blood_type(turn.data.value)
    except ValueError:
        await answer(update, texts.STALE_BUTTON)
        return None
    draft = dataclasses.replace(turn.draft, blood_group=blood.group, rh_negative=blood.rh_negative)
    return await _given(update, context, State.BLOOD, draft)


async def _blood_typed(update: Update, context: Context, turn: Text) -> State | None:
    """A blood type typed at the buttons (O-, O型阴性) counts; anything else, which button."""
    try:
        blood = parse_blood_type(normalise(turn.message.text or ""))
    except ValueError:
        await prompt(update, context, texts.APPEAL_USE_BUTTONS[State.BLOOD.value])
        return None
    draft = dataclasses.replace(turn.draft, blood_group=blood.group, rh_negative=blood.rh_negative)
    return await _given(update, context, State.BLOOD, draft)


async def _component_pressed(update: Update, context: Context, turn: Press) -> State | None:
    try:
        component = Component(turn.data.value)
    except ValueError:
        await answer(update, texts.STALE_BUTTON)
        return None
    draft = dataclasses.replace(turn.draft, component=component)
    return await _given(update, context, State.COMPONENT, draft)


async def _component_typed(update: Update, context: Context, turn: Text) -> State | None:
    """全血, 血小板 or 血浆 typed counts; anything else, which button."""
    component = COMPONENT_WORDS.get(normalise(turn.message.text or "").lower())
    if component is None:
        await prompt(update, context, texts.APPEAL_USE_BUTTONS[State.COMPONENT.value])
        return None
    draft = dataclasses.replace(turn.draft, component=component)
    return await _given(update, context, State.COMPONENT, draft)


async def _units_pressed(update: Update, context: Context, turn: Press) -> State | None:
    units = read_units(turn.data.value)
    if units is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _given(update, context, State.UNITS, dataclasses.replace(turn.draft, units=units))


async def _units_typed(update: Update, context: Context, turn: Text) -> State | None:
    """A number typed (full-width digits too) instead of a button."""
    typed = turn.message.text or ""
    units = read_units(typed)
    if units is None:
        await prompt(update, context, texts.APPEAL_UNITS_AGAIN.format(token=quote(typed)))
        return None
    return await _given(update, context, State.UNITS, dataclasses.replace(turn.draft, units=units))


async def _deadline(
    update: Update, context: Context, turn: Press | Text, local: datetime
) -> State | None:
    """A deadline chosen or typed: one ahead is taken; one past is refused and asked again."""
    found = services(context)
    now = utcnow()
    today = now.astimezone(found.zone).date()
    if beyond_horizon(local.date(), today):
        latest = horizon(today).isoformat()
        too_far = texts.APPEAL_TOO_FAR.format(date=local.date().isoformat(), latest=latest)
        await answer(update)
        await prompt(update, context, too_far)
        return None
    if local <= now:
        past = texts.APPEAL_PAST_AGAIN.format(when=when_text(local, found.zone))
        return await _ask(update, context, turn.draft, before=past + "\n")
    draft = dataclasses.replace(turn.draft, deadline=local.astimezone(UTC))
    return await _given(update, context, State.DEADLINE, draft)


async def _deadline_pressed(update: Update, context: Context, turn: Press) -> State | None:
    local = _moment_of(turn.data.value, services(context).zone)
    if local is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _deadline(update, context, turn, local)


async def _deadline_typed(update: Update, context: Context, turn: Text) -> State | None:
    """明天 晚上8点, 12月5日 20:00, 20:30 (today)… as /appeal reads its deadline."""
    zone = services(context).zone
    typed = turn.message.text or ""
    moment = read_moment(typed, utcnow().astimezone(zone).date())
    if moment is None:
        await prompt(update, context, texts.APPEAL_DEADLINE_AGAIN.format(token=quote(typed)))
        return None
    return await _deadline(update, context, turn, datetime.combine(*moment, tzinfo=zone))


async def _earlier_pressed(update: Update, context: Context, turn: Press) -> State | None:
    """The organizer's last hospital, address or contact, offered as a button."""
    state = turn.state
    offered = _earlier(state, turn.draft)
    if turn.data.action != state.value or turn.data.value != EARLIER or offered is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _given(update, context, state, turn.draft.with_text(state, offered))


async def _text_typed(update: Update, context: Context, turn: Text) -> State | None:
    """The hospital, its address or the contact: text that shows something, within its width."""
    state = turn.state
    field = texts.APPEAL_FIELD_NAMES[state.value]
    if turn.message.text is None:
        await prompt(update, context, texts.APPEAL_TEXT_ONLY.format(field=field))
        return None
    text = clean(turn.message.text)
    if not meaningful(text):
        await prompt(update, context, texts.APPEAL_TEXT_EMPTY.format(field=field))
        return None
    limit = TEXT_LIMITS[state]
    if len(text) > limit:
        too_long = texts.APPEAL_TEXT_TOO_LONG.format(field=field, limit=limit, length=len(text))
        await prompt(update, context, too_long)
        return None
    return await _given(update, context, state, turn.draft.with_text(state, text))


async def _fix_pressed(update: Update, context: Context, turn: Press) -> State | None:
    """✏️ on the preview: that field is asked again, then the preview comes back."""
    try:
        state = State(turn.data.value)
    except ValueError:
        state = State.PREVIEW
    if state not in FIELDS_OF:
        await answer(update, texts.STALE_BUTTON)
        return None
    fixing = texts.APPEAL_FIXING.format(field=texts.APPEAL_FIELD_NAMES[state.value])
    return await _ask(update, context, turn.draft.without(state), chosen=fixing)


async def _confirm(update: Update, context: Context, turn: Press) -> State | int | None:
    """确认发送: only the first press of the newest preview acts."""
    chat = update.effective_chat
    assert chat is not None
    found = services(context)
    appeal: BloodAppeal | None = None
    late = False
    now = utcnow()
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, taken):
        # A preview is committed for a whole draft only (_ready).
        draft = taken.complete() if taken is not None else None
        # The deadline passed while the preview waited: asked again, nothing sent.
        late = draft is not None and draft.deadline <= now
        if draft is not None and not late:
            today = now.astimezone(found.zone).date()
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
    if draft is None or taken is None:
        await FLOW.expire(update)
        return None
    if late:
        past = texts.APPEAL_PAST_AGAIN.format(when=when_text(draft.deadline, found.zone))
        return await _ask(update, context, taken.without(State.DEADLINE), before=past + "\n")
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
    """/cancel at any step or at the preview: drop it (and any other unfinished flow)."""
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
        entry_points=[
            CommandHandler("appeal", appeal_command, filters=PRIVATE_MESSAGE),
            # 🆘 献血呼吁 in the menu (handlers.menu's answer to it is never reached).
            CallbackQueryHandler(
                appeal_command, pattern=f"^{re.escape(MenuChoice('appeal').pack())}$"
            ),
        ],
        # A button of another step, or of an older draft, expires (Flow.handler); typed text
        # at a step that wants a button says which, and the step stays.
        states={
            State.BLOOD: [FLOW.press("blood", _blood_pressed), FLOW.typed(_blood_typed)],
            State.COMPONENT: [
                FLOW.press("component", _component_pressed),
                FLOW.typed(_component_typed),
            ],
            State.UNITS: [FLOW.press("units", _units_pressed), FLOW.typed(_units_typed)],
            State.DEADLINE: [
                FLOW.press("deadline", _deadline_pressed),
                FLOW.typed(_deadline_typed),
            ],
            State.HOSPITAL: [FLOW.press("hospital", _earlier_pressed), FLOW.typed(_text_typed)],
            State.ADDRESS: [FLOW.press("address", _earlier_pressed), FLOW.typed(_text_typed)],
            State.CONTACT: [FLOW.press("contact", _earlier_pressed), FLOW.typed(_text_typed)],
            State.PREVIEW: [
                FLOW.press("confirm", _confirm),
                FLOW.press("cancel", FLOW.cancel(texts.APPEAL_CANCELLED)),
                FLOW.press("fix", _fix_pressed),
                FLOW.remind(texts.ANNOUNCE_USE_BUTTONS),
            ],
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
