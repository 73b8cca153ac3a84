"""Blood drives (献血活动): organizers schedule them, officers sign up, cancel or wait in line.

- `/drives`: the upcoming drives, one card each (time, place, wanted blood types, places left,
  the officer's own state) with 报名 (报名候补 when full) or 取消报名.
- 报名 checks, on the drive's date in the union's zone, that the drive wants the officer's
  blood type and that they may give whole blood then (bot/rules/blood.py with their history);
  otherwise the officer is told why (and from which day they may give) and is not signed up.
  A full drive puts them on the waitlist and says their place in line.
- 取消报名 frees the place; the first on the waitlist moves up and hears of it privately, after
  the commit.
- Organizers: `/drives new 日期 时间 地点 名额 [血型]`, e.g.
  `/drives new 2026-12-05 09:00 市中心血站 30 O,A` (`/drive` works too). The time is the
  union's local time and must lie ahead; the place may contain spaces; capacity 1–10,000;
  blood types A, B, O, AB separated by commas (none: every type). `/drives 编号` lists who
  signed up and who waits.
- Reminders, the day before each drive to those signed up then: bot/jobs/drives.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import BloodPolicy
from bot.rules.blood import Component, Donation, Eligibility, anniversary, eligibility
from bot.rules.care import parse_date
from bot.rules.forgiving import Lean, normalise, parse_clock
from bot.rules.horizon import beyond_horizon, horizon
from bot.rules.text import clean, meaningful, quote
from handlers import blood
from handlers.access import ORGANIZER, Access, access, pressed
from handlers.callbacks import DriveAction, DriveRecord
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    reply,
    typed_command,
)
from handlers.context import services
from storage import audit, officers
from storage import blood as blood_storage
from storage import drives as drive_storage
from storage.drives import BLOOD_GROUPS, DriveView, Outcome
from storage.models import (
    BloodDrive,
    DriveStatus,
    Officer,
    SignupState,
)
from storage.types import utcnow

log = logging.getLogger(__name__)

# Recording from a drive's list is for organizers; a press by anyone else is forged and audited.
RECORDER: Access[DriveRecord] = Access(
    ORGANIZER_ROLES,
    forged="forged.drive_record",
    target=lambda record: f"drive:{record.drive_id}",
)
MAX_CAPACITY = 10_000
MAX_PLACE = 100  # the width of blood_drive.place

_TYPE_SEPARATORS = re.compile(r"[,，、/;；]+")
_DRIVE_ID = re.compile(r"^#?(\d{1,9})$")


class ArgumentError(ValueError):
    """An argument of /drives that cannot be used; the text says why."""


# --- parsing ---------------------------------------------------------------------------------


def _whole_number(token: str) -> bool:
    """ASCII digits only (str.isdigit() also takes '²', which int() refuses), at most nine."""
    return token.isascii() and token.isdigit() and len(token) <= 9


def parse_types(token: str) -> list[str]:
    """O,A → ["O", "A"]; ArgumentError for anything but A, B, O, AB."""
    types: list[str] = []
    for part in _TYPE_SEPARATORS.split(token.strip()):
        if not part:
            continue
        group = part.upper().removesuffix("型")
        if group not in BLOOD_GROUPS:
            raise ArgumentError(
                texts.DRIVE_BAD_TYPES.format(token=quote(token)) + texts.DRIVE_USAGE
            )
        if group not in types:
            types.append(group)
    if not types:
        raise ArgumentError(texts.DRIVE_BAD_TYPES.format(token=quote(token)) + texts.DRIVE_USAGE)
    return types


def parse_new(
    tokens: Sequence[str], *, now: datetime, zone: ZoneInfo
) -> tuple[datetime, str, int, list[str]]:
    """日期 时间 地点 名额 [血型] → (start in UTC, place, capacity, wanted types)."""
    if len(tokens) < 4:
        raise ArgumentError(texts.DRIVE_MISSING + texts.DRIVE_USAGE)
    today = now.astimezone(zone).date()
    day = parse_date(tokens[0], today, lean=Lean.FUTURE)
    if day is None:
        raise ArgumentError(texts.DRIVE_BAD_DATE.format(token=quote(tokens[0])) + texts.DRIVE_USAGE)
    if beyond_horizon(day, today):
        raise ArgumentError(
            texts.DRIVE_TOO_FAR.format(date=day.isoformat(), latest=horizon(today).isoformat())
        )
    clock = parse_clock(tokens[1])
    if clock is None:
        raise ArgumentError(texts.DRIVE_BAD_TIME.format(token=quote(tokens[1])) + texts.DRIVE_USAGE)
    rest = list(tokens[2:])
    types: list[str] = []
    if len(rest) >= 3 and not _whole_number(normalise(rest[-1])):
        types = parse_types(normalise(rest.pop()))
    capacity_token = normalise(rest.pop())
    if not rest:
        raise ArgumentError(texts.DRIVE_MISSING + texts.DRIVE_USAGE)
    if not _whole_number(capacity_token) or not 1 <= int(capacity_token) <= MAX_CAPACITY:
        raise ArgumentError(
            texts.DRIVE_BAD_CAPACITY.format(token=quote(capacity_token)) + texts.DRIVE_USAGE
        )
    place = clean(" ".join(rest))
    if not meaningful(place):
        raise ArgumentError(texts.TEXT_INVISIBLE_PLACE + texts.DRIVE_USAGE)
    if len(place) > MAX_PLACE:
        raise ArgumentError(texts.DRIVE_PLACE_TOO_LONG.format(limit=MAX_PLACE) + texts.DRIVE_USAGE)
    local = datetime.combine(day, clock, tzinfo=zone)
    if local <= now:
        raise ArgumentError(texts.DRIVE_PAST.format(when=when_text(local, zone)))
    return local.astimezone(UTC), place, int(capacity_token), types


# --- showing ---------------------------------------------------------------------------------


def when_text(moment: datetime, zone: ZoneInfo) -> str:
    """2026-12-05（周六）09:00, in the union's zone."""
    local = moment.astimezone(zone)
    return texts.DRIVE_WHEN.format(
        date=local.date().isoformat(),
        weekday=texts.WEEKDAYS[local.weekday()],
        time=local.strftime("%H:%M"),
    )


def types_text(drive: BloodDrive) -> str:
    """O、A 型, or every type welcome."""
    wanted = drive_storage.wanted_types(drive)
    return "、".join(wanted) + " 型" if wanted else texts.DRIVE_ALL_TYPES


def card_text(view: DriveView, zone: ZoneInfo) -> str:
    """A drive's card, with the officer's own state when they have one."""
    drive = view.drive
    waiting = texts.DRIVE_WAITING.format(count=view.waitlisted) if view.waitlisted else ""
    text = texts.DRIVE_CARD.format(
        id=drive.id,
        when=when_text(drive.starts_at, zone),
        place=drive.place,
        types=types_text(drive),
        capacity=drive.capacity,
        signed=view.signed,
        left=view.places_left,
        waiting=waiting,
    )
    if view.mine == SignupState.SIGNED:
        text += texts.DRIVE_MINE_SIGNED
    elif view.mine == SignupState.WAITLISTED:
        text += texts.DRIVE_MINE_WAITLISTED.format(position=view.my_position)
    return text


def card_markup(view: DriveView) -> InlineKeyboardMarkup:
    """报名 (报名候补 when full), or 取消报名 for someone signed up or waiting."""
    assert view.drive.id is not None
    if view.mine is None:
        label = texts.DRIVE_SIGN_UP_BUTTON if view.places_left else texts.DRIVE_WAITLIST_BUTTON
        data = DriveAction("join", view.drive.id)
    else:
        label, data = texts.DRIVE_CANCEL_BUTTON, DriveAction("leave", view.drive.id)
    return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data.pack())]])


def refusal(answer: Eligibility, on: date, policy: BloodPolicy) -> str:
    """Why the officer may not give whole blood on the drive's day, and from when they may."""
    reason = blood.reason_text(answer, policy)
    if answer.from_date is None:
        text = texts.DRIVE_INELIGIBLE.format(date=on.isoformat(), reason=reason)
    else:
        text = texts.DRIVE_INELIGIBLE_FROM.format(
            date=on.isoformat(), reason=reason, from_date=answer.from_date.isoformat()
        )
    return text + texts.DRIVE_INELIGIBLE_TAIL


# --- /drives ---------------------------------------------------------------------------------


@access()
async def drives_command(update: Update, context: Context, caller: Caller) -> None:
    """/drives [new … | 编号 | help]: upcoming drives for everyone, scheduling for organizers."""
    tokens = typed_command(update).split()[1:]
    if not tokens:
        await _list(update, context, caller, organizer=caller.organizer)
        return
    if not await ORGANIZER.permits(update, context, caller):
        return
    verb = tokens[0].lower()
    try:
        if verb in ("help", "帮助", "用法"):
            await reply(update, context, texts.DRIVE_USAGE)
        elif verb in ("new", "新建", "安排"):
            await _create(update, context, caller, tokens[1:])
        elif len(tokens) == 1 and _DRIVE_ID.match(tokens[0]):
            await _attendees(update, context, int(tokens[0].lstrip("#")))
        else:
            raise ArgumentError(
                texts.BLOOD_BAD_ARGUMENT.format(token=quote(tokens[0])) + texts.DRIVE_USAGE
            )
    except ArgumentError as exc:
        await reply(update, context, str(exc))


async def _list(update: Update, context: Context, caller: Caller, *, organizer: bool) -> None:
    """The upcoming drives, one card each with its button."""
    zone = services(context).zone
    with services(context).database.session() as session:
        views = drive_storage.upcoming(session, utcnow(), officer_id=caller.officer.id)
    hint = texts.DRIVES_ORGANIZER_HINT if organizer else ""
    if not views:
        await reply(update, context, texts.DRIVES_NONE + hint)
        return
    for number, view in enumerate(views, start=1):
        text = card_text(view, zone)
        if number == len(views):
            text += hint
        await reply(update, context, text, card_markup(view))


async def _create(update: Update, context: Context, caller: Caller, tokens: Sequence[str]) -> None:
    """/drives new 日期 时间 地点 名额 [血型]: schedule a drive."""
    zone = services(context).zone
    starts_at, place, capacity, types = parse_new(tokens, now=utcnow(), zone=zone)
    with services(context).database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=starts_at,
            place=place,
            capacity=capacity,
            blood_types_wanted=",".join(types),
            created_by=caller.actor,
        )
    await reply(
        update,
        context,
        texts.DRIVE_CREATED.format(
            id=drive.id,
            when=when_text(drive.starts_at, zone),
            place=drive.place,
            capacity=drive.capacity,
            types=types_text(drive),
        ),
    )


async def _attendees(update: Update, context: Context, drive_id: int) -> None:
    """/drives 编号: who signed up for a drive, and who waits."""
    zone = services(context).zone
    with services(context).database.session() as session:
        drive = drive_storage.get(session, drive_id)
        people = drive_storage.attendees(session, drive_id) if drive is not None else []
    if drive is None:
        raise ArgumentError(texts.DRIVE_NOT_FOUND.format(id=drive_id))
    lines = [
        texts.DRIVE_ATTENDEES_HEAD.format(
            id=drive.id, when=when_text(drive.starts_at, zone), place=drive.place
        )
    ]
    signed = [p for p in people if p.state == SignupState.SIGNED]
    waiting = [p for p in people if p.state == SignupState.WAITLISTED]
    if not people:
        lines.append(texts.DRIVE_NOBODY)
    for number, person in enumerate(signed, start=1):
        lines.append(
            texts.DRIVE_ATTENDEE_LINE.format(
                number=number,
                name=person.name,
                police_id=person.police_id,
                unit=person.unit or texts.UNKNOWN,
            )
        )
    if waiting:
        lines.append(texts.DRIVE_WAITLIST_HEAD)
    for number, person in enumerate(waiting, start=1):
        lines.append(
            texts.DRIVE_ATTENDEE_LINE.format(
                number=number,
                name=person.name,
                police_id=person.police_id,
                unit=person.unit or texts.UNKNOWN,
            )
        )
    if signed:
        lines.append(texts.DRIVE_RECORD_HEAD)
    await reply(update, context, "\n".join(lines))
    # One message per signed-up officer, its buttons record what they gave (edited after).
    assert drive.id is not None
    for number, person in enumerate(signed, start=1):
        text = texts.DRIVE_RECORD_LINE.format(
            number=number,
            name=person.name,
            police_id=person.police_id,
            unit=person.unit or texts.UNKNOWN,
        )
        await reply(update, context, text, record_markup(drive.id, person.officer_id))


def record_markup(drive_id: int, officer_id: int) -> InlineKeyboardMarkup:
    """全血200 / 全血300 / 全血400, then 血小板1 / 血小板2, for one officer at one drive."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    label,
                    callback_data=DriveRecord(drive_id, officer_id, component, amount).pack(),
                )
                for component, amount, label in row
            ]
            for row in texts.DRIVE_RECORD_BUTTONS
        ]
    )


def _recordable(record: DriveRecord) -> bool:
    """An amount a donation of that component may have; any other is an old or forged button."""
    return blood.amount_problem(Component(record.component), record.amount) is None


@pressed(DriveRecord, RECORDER, accept=_recordable)
async def record_pressed(
    update: Update, context: Context, action: DriveRecord, caller: Caller
) -> None:
    """A 全血 / 血小板 button under a signed-up officer: record that donation on the drive's day.

    Everything is checked again here: the presser's role (a forged press is audited), the
    officer's sign-up, the drive's day and the amount; a second record of that officer, day and
    component is refused by storage. The donor is thanked after the commit.
    """
    database = services(context).database
    zone = services(context).zone
    today = datetime.now(zone).date()
    component = Component(action.component)
    refused = ""
    stored = already = None
    with database.session() as session:
        drive = drive_storage.get(session, action.drive_id)
        officer = session.get(Officer, action.officer_id)
        if drive is None or officer is None or officer.id is None:
            await answer(update, texts.STALE_BUTTON)
            return
        on = drive.starts_at.astimezone(zone).date()
        state = drive_storage.signup_state(session, action.drive_id, officer.id)
        if on > today:
            refused = texts.DRIVE_RECORD_TOO_EARLY.format(date=on.isoformat())
        elif on < anniversary(today, -1):
            refused = texts.BLOOD_DATE_TOO_OLD.format(earliest=anniversary(today, -1).isoformat())
        elif state != SignupState.SIGNED:
            refused = texts.DRIVE_RECORD_NOT_SIGNED
        elif not officer.active:
            refused = texts.BLOOD_OFFICER_LEFT.format(
                name=officer.name, police_id=officer.police_id
            )
        else:
            stored = blood_storage.record(
                session,
                officer_id=officer.id,
                donated_on=on,
                component=component.value,
                amount=action.amount,
                recorded_by=caller.actor,
                drive_id=drive.id,
            )
            if stored is None:
                already = blood_storage.recorded(
                    session, officer_id=officer.id, donated_on=on, component=component.value
                )
                refused = texts.BLOOD_DUPLICATE.format(
                    name=officer.name,
                    police_id=officer.police_id,
                    date=on.isoformat(),
                    component=blood.component_name(component),
                )
            else:
                audit.record(
                    session,
                    actor=caller.actor,
                    action="blood.record",
                    target=f"officer:{officer.police_id}",
                    donation=stored.id,
                    drive=drive.id,
                    donated_on=on.isoformat(),
                    component=component.value,
                    amount=action.amount,
                )
        totals = blood_storage.totals(session, officer.id)
        binding = officers.binding_of(session, officer.id)
    if already is not None:
        # A repeated press (or one on another organizer's list): the record as it stands.
        await answer(update, refused)
        text = texts.DRIVE_RECORD_ALREADY.format(
            name=officer.name,
            police_id=officer.police_id,
            date=on.isoformat(),
            component=blood.component_name(component),
            amount=blood.amount_text(component, already.amount),
        )
        try:
            await edit_or_send(update, context, text)
        except TelegramError as exc:
            log.info("could not update a record button: %s", type(exc).__name__)
        return
    if refused:
        await answer(update, refused, alert=True)
        return
    # Committed: now the donor may hear of it.
    thanks = blood.thanks_text(on, component, action.amount, totals)
    told = await blood.tell_donor(context, caller, officer, binding, thanks)
    await answer(update)
    text = texts.BLOOD_RECORDED.format(
        name=officer.name,
        police_id=officer.police_id,
        date=on.isoformat(),
        component=blood.component_name(component),
        amount=blood.amount_text(component, action.amount),
        told=told,
    )
    try:
        await edit_or_send(update, context, text)
    except TelegramError as exc:
        log.info("could not update a record button: %s", type(exc).__name__)
    if officer.id == caller.officer.id:
        await reply(update, context, thanks)


# --- the buttons -----------------------------------------------------------------------------


@pressed(DriveAction)
async def drive_pressed(
    update: Update, context: Context, action: DriveAction, caller: Caller
) -> None:
    """报名 or 取消报名 on a drive's card."""
    if action.action == "join":
        await _join(update, context, caller, action.drive_id)
    else:
        await _leave(update, context, caller, action.drive_id)


async def _show_outcome(update: Update, context: Context, outcome: str, view: DriveView) -> None:
    await answer(update)
    text = outcome + "\n\n" + card_text(view, services(context).zone)
    try:
        await edit_or_send(update, context, text, card_markup(view))
    except TelegramError as exc:
        log.info("could not update a drive card: %s", type(exc).__name__)


def _check(caller: Caller, drive: BloodDrive, history: list[Donation], context: Context) -> str:
    """Why the caller may not sign up for this drive; "" if they may."""
    officer = caller.officer
    wanted = drive_storage.wanted_types(drive)
    if wanted and not officer.blood_group:
        return texts.DRIVE_TYPE_UNKNOWN.format(types="、".join(wanted))
    if wanted and officer.blood_group not in wanted:
        return texts.DRIVE_TYPE_NOT_WANTED.format(
            types="、".join(wanted), blood=officer.blood_group
        )
    policy = services(context).policy.blood
    on = drive.starts_at.astimezone(services(context).zone).date()
    verdict = eligibility(
        Component.WHOLE_BLOOD, today=on, birthday=officer.birthday, history=history, policy=policy
    )
    return "" if verdict.may_give else refusal(verdict, on, policy)


async def _join(update: Update, context: Context, caller: Caller, drive_id: int) -> None:
    """报名: check type and eligibility, then take a place or join the waitlist."""
    officer_id = caller.officer.id
    assert officer_id is not None
    database = services(context).database
    with database.session() as session:
        drive = drive_storage.get(session, drive_id)
        view = drive_storage.view(session, drive, officer_id) if drive is not None else None
        donations = blood_storage.history(session, officer_id)
    if drive is None or view is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if view.mine is None:
        history = [Donation(d.donated_on, Component(d.component), d.amount) for d in donations]
        problem = _check(caller, drive, history, context)
        if problem:
            await _show_outcome(update, context, problem, view)
            return
    # A session of its own: the sign-up locks the drive before reading anything.
    with database.session() as session:
        result = drive_storage.sign_up(session, drive_id, officer_id, now=utcnow())
        view = drive_storage.view(session, result.drive or drive, officer_id)
    outcome = {
        Outcome.SIGNED: texts.DRIVE_SIGNED,
        Outcome.WAITLISTED: texts.DRIVE_WAITLISTED,
        Outcome.ALREADY_SIGNED: texts.DRIVE_ALREADY_SIGNED,
        Outcome.ALREADY_WAITLISTED: texts.DRIVE_ALREADY_WAITLISTED,
        Outcome.CLOSED: texts.DRIVE_CLOSED,
    }[result.outcome].format(position=result.position)
    await _show_outcome(update, context, outcome, view)


async def _leave(update: Update, context: Context, caller: Caller, drive_id: int) -> None:
    """取消报名: free the place; the first on the waitlist moves up and is told."""
    officer_id = caller.officer.id
    assert officer_id is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        result = drive_storage.cancel(session, drive_id, officer_id, now=utcnow())
        if result.drive is None:
            view = None
        else:
            view = drive_storage.view(session, result.drive, officer_id)
        promoted_chat: int | None = None
        if result.promoted is not None:
            binding = officers.binding_of(session, result.promoted)
            promoted_chat = binding.chat_id if binding is not None else None
    if view is None:
        await answer(update, texts.STALE_BUTTON)
        return
    if not result.cancelled:
        closed = view.drive.status != DriveStatus.OPEN or view.drive.starts_at <= utcnow()
        outcome = texts.DRIVE_CLOSED if closed else texts.DRIVE_NOT_SIGNED
    elif result.was == SignupState.WAITLISTED:
        outcome = texts.DRIVE_LEFT_WAITLIST
    else:
        outcome = texts.DRIVE_CANCELLED
    # Committed: now the officer moved up from the waitlist may hear of it.
    if promoted_chat is not None:
        drive = view.drive
        await notify(
            context.bot,
            promoted_chat,
            texts.DRIVE_PROMOTED.format(
                id=drive.id, when=when_text(drive.starts_at, zone), place=drive.place
            ),
        )
    await _show_outcome(update, context, outcome, view)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/drives (and /drive), the 报名 / 取消报名 buttons and the list's record buttons."""
    return [
        CommandHandler(["drives", "drive"], drives_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(drive_pressed, pattern=DriveAction.pattern()),
        CallbackQueryHandler(record_pressed, pattern=DriveRecord.pattern()),
    ]
