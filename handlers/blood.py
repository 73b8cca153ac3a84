"""Blood donation records (献血记录): /blood for officers, recording and figures for organizers.

/blood shows an officer their own blood type, donations, totals and, per bot/rules/blood.py,
whether they may give whole blood and platelets now or from which day. Organizers and admins
also use:

- `/blood record 警号 成分 数量 [日期]` records a donation, e.g. `/blood record 100001 全血 400`
  or `/blood record 100001 血小板 1 2026-11-20`. Accepted amounts: whole blood 200, 300 or
  400 ml (the volumes GB 18467-2011 allows for one donation); platelets 1–3 therapeutic units
  (治疗量: one or two is what a station collects, three is a generous cap against typos);
  plasma 100–800 ml in steps of 50 (the standard names no volume for plasma given at a blood
  station, so the bot only keeps typos out). The date defaults to today in the union's zone, may
  not lie in the future and may go back one year at most. One officer, day and component is
  recorded once; a second attempt changes nothing and says so. The donor hears of it privately
  after the commit, with their new totals. A donation inside a policy interval of another one
  (either side) is not recorded at once: a preview names the conflict and asks for 仍然登记.
  With fewer words, `/blood record` opens a dialog with buttons instead
  (handlers/blood_record.py, which takes every /blood record command).
- `/blood stats [年份]`: a calendar year's donors, donations, ml and units, overall and per
  unit (the donors' unit today).
- `/blood 警号`: one officer's record, as that officer sees it.

Blood type and donation history are shown only to the officer and to organizers. The audit log
names the component and amount of a recorded donation, nothing more.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlmodel import Session
from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import texts
from bot.policy import BloodPolicy
from bot.rules.blood import (
    Component,
    Conflict,
    Donation,
    Eligibility,
    anniversary,
    eligibility,
    platelets_over_cap,
    too_close,
)
from bot.rules.care import parse_date
from bot.rules.forgiving import normalise
from bot.rules.text import quote
from handlers.access import ORGANIZER, access
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    notify_told,
    reply,
    show_step,
    typed_command,
)
from handlers.context import services, union_today
from storage import audit, officers
from storage import blood as blood_storage
from storage.models import BloodDonation, Officer, TelegramBinding

HISTORY_LIMIT = 20
WHOLE_BLOOD_ML = (200, 300, 400)
PLATELET_UNITS = range(1, 4)
PLASMA_ML = range(100, 801, 50)

_SEPARATORS = re.compile(r"[\s,，、;；]+")
_AMOUNT = re.compile(r"^(\d{1,5})(?:ml|毫升|个治疗量|治疗量|个|单位|u)?$", re.IGNORECASE)
_YEAR = re.compile(r"^(\d{4})年?$")
# The verbs of /blood that record a donation (handlers/blood_record.py takes those commands).
RECORD_WORDS = ("record", "登记")
COMPONENT_NAMES = {
    "全血": Component.WHOLE_BLOOD,
    "血小板": Component.PLATELETS,
    "机采血小板": Component.PLATELETS,
    "血浆": Component.PLASMA,
} | {str(component): component for component in Component}


class ArgumentError(ValueError):
    """An argument of /blood that cannot be used; the text says why."""


@dataclasses.dataclass(frozen=True)
class RecordRequest:
    """What `/blood record` asks to store."""

    police_id: str
    component: Component
    amount: int
    donated_on: date


def split_arguments(text: str) -> list[str]:
    """The words after the command, full-width forms read as plain ones (bot/rules/forgiving.py);
    commas and 、 separate as spaces do."""
    parts = normalise(text).split(maxsplit=1)
    rest = parts[1] if len(parts) > 1 else ""
    return [token for token in _SEPARATORS.split(rest.strip()) if token]


def amount_problem(component: Component, amount: int) -> str | None:
    """None if the amount can be recorded for the component; else what is wrong."""
    if component == Component.WHOLE_BLOOD and amount not in WHOLE_BLOOD_ML:
        return texts.BLOOD_BAD_WHOLE
    if component == Component.PLATELETS and amount not in PLATELET_UNITS:
        return texts.BLOOD_BAD_PLATELETS
    if component == Component.PLASMA and amount not in PLASMA_ML:
        return texts.BLOOD_BAD_PLASMA
    return None


def read_amount(token: str) -> int | None:
    """400, 400ml, 400毫升, 2个, 2个治疗量 → the number; None if it is not one."""
    match = _AMOUNT.match(token)
    return None if match is None else int(match.group(1))


def parse_record(tokens: Sequence[str], *, today: date) -> RecordRequest:
    """警号 成分 数量 [日期] → what to record; ArgumentError with the reason otherwise."""
    if len(tokens) < 3:
        raise ArgumentError(texts.BLOOD_RECORD_MISSING + texts.BLOOD_USAGE)
    if len(tokens) > 4:
        raise ArgumentError(texts.BLOOD_TOO_MANY.format(token=quote(tokens[4])) + texts.BLOOD_USAGE)
    police_id, component_token, amount_token = tokens[:3]
    component = COMPONENT_NAMES.get(component_token.lower())
    if component is None:
        raise ArgumentError(
            texts.BLOOD_BAD_COMPONENT.format(token=quote(component_token)) + texts.BLOOD_USAGE
        )
    amount = read_amount(amount_token)
    if amount is None:
        raise ArgumentError(
            texts.BLOOD_BAD_AMOUNT.format(token=quote(amount_token)) + texts.BLOOD_USAGE
        )
    problem = amount_problem(component, amount)
    if problem is not None:
        raise ArgumentError(problem)
    donated_on = today
    if len(tokens) == 4:
        parsed = parse_date(tokens[3], today)
        if parsed is None:
            raise ArgumentError(
                texts.BLOOD_BAD_DATE.format(token=quote(tokens[3])) + texts.BLOOD_USAGE
            )
        donated_on = parsed
    if donated_on > today:
        raise ArgumentError(texts.BLOOD_DATE_FUTURE)
    earliest = anniversary(today, -1)
    if donated_on < earliest:
        raise ArgumentError(texts.BLOOD_DATE_TOO_OLD.format(earliest=earliest.isoformat()))
    return RecordRequest(police_id, component, amount, donated_on)


# --- showing -----------------------------------------------------------------------------


def component_name(component: str) -> str:
    """全血, 血小板 or 血浆."""
    return texts.BLOOD_COMPONENTS.get(component, component)


def amount_text(component: str, amount: int) -> str:
    """400 毫升 or 1 个治疗量."""
    return texts.BLOOD_AMOUNTS.get(component, "{amount}").format(amount=amount)


def totals_text(totals: blood_storage.Totals) -> str:
    """累计献血 3 次：全血 400 毫升，血小板 2 个治疗量。 Only what was given: no line says 0."""
    if totals.donations == 0:
        return texts.BLOOD_NO_HISTORY
    given = (
        (Component.WHOLE_BLOOD, totals.whole_ml),
        (Component.PLATELETS, totals.units),
        (Component.PLASMA, totals.plasma_ml),
    )
    parts = [
        f"{component_name(component)} {amount_text(component, amount)}"
        for component, amount in given
        if amount > 0
    ]
    return texts.BLOOD_TOTALS_GIVEN.format(
        count=totals.donations, parts=texts.BLOOD_TOTALS_SEPARATOR.join(parts)
    )


def _blood_type(officer: Officer, *, own: bool) -> str:
    if officer.blood_group:
        return f"{officer.blood_group} Rh-" if officer.rh_negative else officer.blood_group
    return texts.BLOOD_TYPE_UNKNOWN_OWN if own else texts.UNKNOWN


def reason_text(answer: Eligibility, policy: BloodPolicy) -> str:
    """Why an officer may not give yet, in the catalogue's words (also used by drives)."""
    reason = answer.reason.value if answer.reason is not None else "interval"
    return texts.BLOOD_REASONS[reason].format(
        cap=policy.max_platelet_donations_per_year,
        min_age=policy.min_age,
        max_age=policy.max_age_repeat,
        max_first=policy.max_age_first_time,
    )


def eligibility_line(component: Component, answer: Eligibility, policy: BloodPolicy) -> str:
    """全血：现在就可以献, or from which day and why not before."""
    name = component_name(component)
    if answer.may_give:
        return texts.BLOOD_MAY_NOW.format(component=name)
    reason = reason_text(answer, policy)
    if answer.from_date is None:
        return texts.BLOOD_MAY_NOT.format(component=name, reason=reason)
    return texts.BLOOD_MAY_FROM.format(
        component=name, date=answer.from_date.isoformat(), reason=reason
    )


def blood_card(
    officer: Officer,
    donations: Sequence[BloodDonation],
    totals: blood_storage.Totals,
    *,
    today: date,
    policy: BloodPolicy,
    own: bool,
) -> str:
    """An officer's blood type, history, totals and when they may give next."""
    if own:
        lines = [texts.BLOOD_HEAD_OWN]
    else:
        lines = [
            texts.BLOOD_HEAD_OTHER.format(
                name=officer.name, police_id=officer.police_id, unit=officer.unit or texts.UNKNOWN
            )
        ]
    lines.append(texts.BLOOD_TYPE_LINE.format(blood=_blood_type(officer, own=own)))
    if donations:
        lines.append(totals_text(totals))
        lines.append(texts.BLOOD_HISTORY_HEAD)
        for donation in donations[:HISTORY_LIMIT]:
            lines.append(
                texts.BLOOD_HISTORY_LINE.format(
                    date=donation.donated_on.isoformat(),
                    component=component_name(donation.component),
                    amount=amount_text(donation.component, donation.amount),
                )
            )
        if len(donations) > HISTORY_LIMIT:
            lines.append(texts.BLOOD_HISTORY_MORE.format(limit=HISTORY_LIMIT))
    else:
        lines.append(texts.BLOOD_NO_HISTORY_OWN if own else texts.BLOOD_NO_HISTORY)
    history = [Donation(d.donated_on, Component(d.component), d.amount) for d in donations]
    lines.append("")
    lines.append(texts.BLOOD_NEXT_HEAD)
    for component in (Component.WHOLE_BLOOD, Component.PLATELETS):
        answer = eligibility(
            component, today=today, birthday=officer.birthday, history=history, policy=policy
        )
        lines.append(eligibility_line(component, answer, policy))
    lines.append(texts.BLOOD_STATION_FINAL)
    return "\n".join(lines)


async def _show(
    update: Update, context: Context, officer: Officer, *, own: bool, hint: str = ""
) -> None:
    assert officer.id is not None
    with services(context).database.session() as session:
        donations = blood_storage.history(session, officer.id)
        totals = blood_storage.totals(session, officer.id)
    card = blood_card(
        officer,
        donations,
        totals,
        today=union_today(context),
        policy=services(context).policy.blood,
        own=own,
    )
    await reply(update, context, card + hint)


# --- the command -------------------------------------------------------------------------


@access()
async def blood_command(update: Update, context: Context, caller: Caller) -> None:
    """/blood [record … | stats [年份] | 警号 | help]: donation records and figures.

    Every officer sees their own record; anything else is for organizers.
    """
    tokens = split_arguments(typed_command(update))
    if not tokens or (len(tokens) == 1 and tokens[0] == caller.officer.police_id):
        hint = texts.BLOOD_ORGANIZER_HINT if caller.organizer else ""
        await _show(update, context, caller.officer, own=True, hint=hint)
        return
    if not await ORGANIZER.permits(update, context, caller):
        return
    verb = tokens[0].lower()
    try:
        if verb in ("help", "帮助", "用法"):
            await reply(update, context, texts.BLOOD_USAGE)
        elif verb in ("stats", "统计"):
            await _stats(update, context, tokens[1:])
        elif len(tokens) == 1:
            await _show_other(update, context, tokens[0])
        else:
            raise ArgumentError(
                texts.BLOOD_BAD_ARGUMENT.format(token=quote(tokens[0])) + texts.BLOOD_USAGE
            )
    except ArgumentError as exc:
        await reply(update, context, str(exc))


async def _show_other(update: Update, context: Context, police_id: str) -> None:
    """/blood 警号: an organizer looks at one officer's record."""
    with services(context).database.session() as session:
        officer = officers.by_police_id(session, police_id)
    if officer is None:
        raise ArgumentError(texts.NO_SUCH_OFFICER.format(police_id=quote(police_id)))
    await _show(update, context, officer, own=False)


@dataclasses.dataclass(frozen=True)
class Recorded:
    """What storing a donation did: the row (None: it was recorded before) and the donor's
    totals and binding, for telling them after the commit."""

    officer: Officer
    request: RecordRequest
    stored: BloodDonation | None
    totals: blood_storage.Totals
    binding: TelegramBinding | None


def recordable(session: Session, police_id: str) -> Officer:
    """The active officer a donation is recorded for; ArgumentError with the reason otherwise."""
    officer = officers.by_police_id(session, police_id)
    if officer is None or officer.id is None:
        raise ArgumentError(texts.NO_SUCH_OFFICER.format(police_id=quote(police_id)))
    if not officer.active:
        raise ArgumentError(
            texts.BLOOD_OFFICER_LEFT.format(name=officer.name, police_id=officer.police_id)
        )
    return officer


@dataclass(frozen=True)
class RecordWarnings:
    """What a donation about to be recorded breaks, warned of before 仍然登记: the intervals
    to the officer's other donations, the yearly cap of platelet donations."""

    conflicts: tuple[Conflict, ...] = ()
    platelets_in_year: int | None = None  # with this one, when over the cap
    year: int = 0
    cap: int = 0

    def __bool__(self) -> bool:
        return bool(self.conflicts) or self.platelets_in_year is not None


def conflicts_of(
    session: Session, officer_id: int, request: RecordRequest, policy: BloodPolicy
) -> RecordWarnings:
    """The officer's recorded donations the requested one lies too close to (either side), and
    whether it passes the year's platelet cap."""
    history = [
        Donation(d.donated_on, Component(d.component), d.amount)
        for d in blood_storage.history(session, officer_id)
    ]
    new = Donation(request.donated_on, request.component, request.amount)
    return RecordWarnings(
        too_close(new, history, policy),
        platelets_over_cap(new, history, policy),
        new.on.year,
        policy.max_platelet_donations_per_year,
    )


def _day_text(day: date, today: date) -> str:
    """11月20日, with the year when it is not this one."""
    if day.year == today.year:
        return texts.BLOOD_WARN_DAY.format(month=day.month, day=day.day)
    return texts.BLOOD_WARN_DAY_YEAR.format(year=day.year, month=day.month, day=day.day)


def conflict_text(warnings: RecordWarnings, today: date) -> str:
    """The warning lines of a preview: which donation, how many days apart, how many needed;
    the platelet donations of the year beyond its cap."""
    if not warnings:
        return ""
    lines = [texts.BLOOD_WARN_HEAD] if warnings.conflicts else []
    for conflict in warnings.conflicts:
        other = conflict.other
        if conflict.gap == 0:
            template = texts.BLOOD_WARN_SAME_DAY
        elif conflict.later:
            template = texts.BLOOD_WARN_AFTER
        else:
            template = texts.BLOOD_WARN_BEFORE
        lines.append(
            template.format(
                component=component_name(other.component),
                date=_day_text(other.on, today),
                gap=conflict.gap,
                required=conflict.required,
            )
        )
    if warnings.platelets_in_year is not None:
        lines.append(
            texts.BLOOD_WARN_PLATELET_CAP.format(
                year=warnings.year, count=warnings.platelets_in_year, cap=warnings.cap
            )
        )
    lines.append(texts.BLOOD_WARN_CHECK)
    return "".join(lines)


def store(session: Session, caller: Caller, officer: Officer, request: RecordRequest) -> Recorded:
    """Write the donation and its audit entry (once per officer, day and component)."""
    assert officer.id is not None
    stored = blood_storage.record(
        session,
        officer_id=officer.id,
        donated_on=request.donated_on,
        component=request.component.value,
        amount=request.amount,
        recorded_by=caller.actor,
    )
    if stored is not None:
        audit.record(
            session,
            actor=caller.actor,
            action="blood.record",
            target=f"officer:{officer.police_id}",
            donation=stored.id,
            donated_on=request.donated_on.isoformat(),
            component=request.component.value,
            amount=request.amount,
        )
    totals = blood_storage.totals(session, officer.id)
    binding = officers.binding_of(session, officer.id)
    return Recorded(officer, request, stored, totals, binding)


async def report(
    update: Update, context: Context, caller: Caller, recorded: Recorded, *, edit: bool = False
) -> None:
    """After the commit: thank the donor, then tell the organizer (in the pressed message when
    `edit`); a donation recorded before is only named."""
    officer, request = recorded.officer, recorded.request
    component = component_name(request.component)
    day = request.donated_on.isoformat()
    show = show_step if edit else reply
    if recorded.stored is None:
        duplicate = texts.BLOOD_DUPLICATE.format(
            name=officer.name, police_id=officer.police_id, date=day, component=component
        )
        await show(update, context, duplicate)
        return
    thanks = thanks_text(request.donated_on, request.component, request.amount, recorded.totals)
    told = await tell_donor(context, caller, officer, recorded.binding, thanks)
    done = texts.BLOOD_RECORDED.format(
        name=officer.name,
        police_id=officer.police_id,
        date=day,
        component=component,
        amount=amount_text(request.component, request.amount),
        told=told,
    )
    await show(update, context, done)
    if officer.id == caller.officer.id:
        await reply(update, context, thanks)


def thanks_text(donated_on: date, component: str, amount: int, totals: blood_storage.Totals) -> str:
    """The donor's thanks for a recorded donation, with their new totals."""
    return texts.BLOOD_THANKS.format(
        date=donated_on.isoformat(),
        component=component_name(component),
        amount=amount_text(component, amount),
        totals=totals_text(totals),
    )


async def tell_donor(
    context: Context,
    caller: Caller,
    officer: Officer,
    binding: TelegramBinding | None,
    thanks: str,
) -> str:
    """Thank the donor privately (call after the commit); what the organizer is told of it.

    An organizer recording their own donation is thanked by the caller's own reply instead.
    """
    if officer.id == caller.officer.id:
        return texts.BLOOD_TOLD_SELF
    if binding is not None and await notify_told(context, binding.chat_id, thanks):
        return texts.BLOOD_TOLD
    return texts.BLOOD_TOLD_NOBODY


def parse_year(tokens: Sequence[str], *, today: date) -> int:
    """The year of /blood stats: as given (2026 or 2026年), else this year."""
    if not tokens:
        return today.year
    match = _YEAR.match(tokens[0])
    if len(tokens) > 1 or match is None or not 1900 <= int(match.group(1)) <= 9999:
        raise ArgumentError(
            texts.BLOOD_BAD_YEAR.format(token=quote(tokens[-1])) + texts.BLOOD_USAGE
        )
    return int(match.group(1))


async def _stats(update: Update, context: Context, tokens: Sequence[str]) -> None:
    """/blood stats [年份]: a year's donors, donations, ml and units, overall and per unit."""
    year = parse_year(tokens, today=union_today(context))
    with services(context).database.session() as session:
        overall = blood_storage.year_figures(session, year)
        per_unit = blood_storage.unit_figures(session, year)
    if overall.donations == 0:
        await reply(update, context, texts.BLOOD_STATS_NONE.format(year=year))
        return
    lines = [
        texts.BLOOD_STATS_HEAD.format(year=year),
        texts.BLOOD_STATS_TOTAL.format(
            donors=overall.donors, donations=overall.donations, ml=overall.ml, units=overall.units
        ),
    ]
    if overall.drives:
        lines.append(texts.BLOOD_STATS_DRIVES.format(drives=overall.drives))
    lines.append(texts.BLOOD_STATS_UNITS_HEAD)
    for row in per_unit:
        lines.append(
            texts.BLOOD_STATS_UNIT_LINE.format(
                unit=row.unit or texts.UNKNOWN,
                donors=row.donors,
                donations=row.donations,
                ml=row.ml,
                units=row.units,
            )
        )
    await reply(update, context, "\n".join(lines))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/blood: records for officers, recording and figures for organizers."""
    return [CommandHandler("blood", blood_command, filters=PRIVATE_MESSAGE)]
