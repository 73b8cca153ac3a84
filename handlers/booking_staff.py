"""The staff's side of bookings (预约) and the organizers' figures.

- `/staff`, for officers who staff a service of the policy (admins grant it: `/grant 警号 staff
  服务键`, handlers/roles.py, or `nuanjing staff grant`): the service (when they staff several),
  then the day's list, today first, ◀ 前一天 / 后一天 ▶ within a week either side. Each slot with
  its bookings, each named by the officer's name and police ID; counselling by the pseudonym the
  officer gave (sealed), else the name alone. A slot's button opens it: 到场 / 未到 per booking
  (on the slot's day or once it started) and 🚫 关闭此时段; the day has 🚫 关闭当天 (the slots not
  yet begun, booked or not). Closing asks first, cancels the bookings and the waitlist and tells
  each officer privately through the broadcast engine, with buttons to the next free slots of
  the service (handlers/bookings.py takes them at its confirm step); counselling goes unnamed
  there ("您预约的服务": a lock screen shows it). A 未到 that blocks an officer from booking
  (bot.rules.slots.no_show_block) tells them once why and until when (the send ledger).
- `/bookings`, for organizers and admins: per service, this month's and last month's bookings,
  present and absent; of counselling only the counts per month, never a name (PIPL art. 28).

Every press is authorised again on the server: the presser must staff, as the database says
now, the service the button names (or the booking it names belongs to); anyone else is refused
and the press audited. Audit entries about counselling bookings never name their officer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import Policy, ServicePolicy
from bot.rules import slots as slot_rules
from bot.rules.events import notice_is_urgent
from handlers.access import ORGANIZER, Access, access, pressed, refuse
from handlers.bookings import (
    DAY_FORMAT,
    SLOT_FORMAT,
    block_until,
    button_rows,
    calendar_of,
    day_bounds,
    day_label,
    free_slots,
    icon,
    parse_day,
    private,
    slot_fields,
)
from handlers.callbacks import BookStep, CallbackData, StaffMark, StaffStep
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    reply,
)
from handlers.context import services
from storage import audit, broadcasts, ledger, officers
from storage import bookings as booking_storage
from storage.broadcasts import Recipient
from storage.crypto import CipherError, FieldCipher
from storage.models import BroadcastKind, Priority, ServiceSlot, SignupState, SlotStatus
from storage.types import utcnow

# How far from today the day list goes, either side.
WEEK = 7
# The free slots offered to an officer whose slot was closed.
NEXT_SLOTS = 4
SLOT_BUTTONS_PER_ROW = 4
# At most this many slot buttons on a day (a service of 5-minute slots has hundreds).
SLOT_BUTTONS = 80
# The send ledger's occasion of the notice that missed bookings block an officer (once a block).
BLOCK_OCCASION = "booking-block:{key}"
# The actor of what a counselling closure sends: not the counsellor, whose name would tell.
PRIVATE_SENDER = "system:counselling"


def _target(data: CallbackData) -> str:
    """What a refused press was about, for the audit log: the service, or the booking."""
    if isinstance(data, StaffMark):
        return f"booking:{data.booking_id}"
    return f"service:{getattr(data, 'service', '')}"


# Officers who staff at least one of the policy's services; anyone else trying is refused, and
# a press (only staff ever see these buttons) is audited.
STAFF: Access[Any] = Access(
    staffs=True, forged="forged.staff", target=_target, refusal=texts.STAFF_NOT_ALLOWED
)


# --- days and slots ------------------------------------------------------------------------------


def _in_reach(day: date, today: date) -> bool:
    """True if the day list may show this day: within a week of today, either side."""
    return abs((day - today).days) <= WEEK


@dataclass(frozen=True)
class SlotView:
    """One slot of a day as the staff see it: its times, its row (if any), its bookings."""

    start: datetime
    end: datetime
    row: ServiceSlot | None
    entries: tuple[booking_storage.DayEntry, ...]
    waiting: int

    @property
    def closed(self) -> bool:
        """True if the staff closed it."""
        return self.row is not None and self.row.status == SlotStatus.CLOSED

    def hhmm(self, zone: ZoneInfo) -> str:
        """Its local start as a button carries it."""
        return self.start.astimezone(zone).strftime(SLOT_FORMAT)


def _day(
    session: Session, service: ServicePolicy, policy: Policy, day: date, zone: ZoneInfo
) -> list[SlotView]:
    """The day's slots in order: the policy's and any with a row (hours may have changed)."""
    start, end = day_bounds(day, zone)
    rows = {
        row.starts_at: row
        for row in booking_storage.slots_between(session, service.key, start, end)
    }
    ends = {
        slot.start: slot.end
        for slot in slot_rules.slots_of_day(service, calendar_of(policy), day, zone)
    }
    for found in rows.values():
        ends.setdefault(found.starts_at, found.ends_at)
    entries: dict[int, list[booking_storage.DayEntry]] = {}
    for entry in booking_storage.day_list(session, service.key, start, end):
        entries.setdefault(entry.slot.id or 0, []).append(entry)
    use = booking_storage.usage(session, service.key, start, end)
    views = []
    for slot_start in sorted(ends):
        row = rows.get(slot_start)
        mine = entries.get(row.id or 0, []) if row is not None else []
        waiting = use.get(slot_start, booking_storage.SlotUse()).waiting
        views.append(SlotView(slot_start, ends[slot_start], row, tuple(mine), waiting))
    return views


def _markable(view: SlotView, now: datetime, zone: ZoneInfo) -> bool:
    """Attendance is taken on the slot's day, or once it started."""
    return view.start <= now or view.start.astimezone(zone).date() == now.astimezone(zone).date()


def _closable(view: SlotView, now: datetime) -> bool:
    """A slot may be closed while it has not begun."""
    return not view.closed and view.start > now


def _with_buttons(views: Sequence[SlotView], now: datetime) -> list[SlotView]:
    """The slots the day list has a button for: those booked, then those that may still be
    closed, at most SLOT_BUTTONS in all (Telegram's keyboards hold about 100), in order."""
    booked = [view for view in views if view.entries]
    closable = [view for view in views if not view.entries and _closable(view, now)]
    chosen = (booked + closable)[:SLOT_BUTTONS]
    return sorted(chosen, key=lambda view: view.start)


def _who(service: ServicePolicy, entry: booking_storage.DayEntry, cipher: FieldCipher) -> str:
    """How the staff see a booking: name and police ID; counselling its pseudonym, else name."""
    if not private(service):
        return texts.STAFF_WHO.format(name=entry.officer.name, police_id=entry.officer.police_id)
    sealed = entry.booking.pseudonym_cipher
    if not sealed:
        return entry.officer.name
    try:
        return texts.STAFF_ALIAS.format(alias=cipher.decrypt(sealed))
    except CipherError:
        # Never the name of an officer who asked for a pseudonym.
        return texts.STAFF_ALIAS_UNREADABLE


def _mark_text(entry: booking_storage.DayEntry) -> str:
    if entry.booking.attended is True:
        return texts.STAFF_MARK_PRESENT
    if entry.booking.attended is False:
        return texts.STAFF_MARK_ABSENT
    return ""


def _slot_line(service: ServicePolicy, view: SlotView, zone: ZoneInfo) -> str:
    start, end = view.start.astimezone(zone), view.end.astimezone(zone)
    times = {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")}
    if view.closed:
        return texts.STAFF_SLOT_CLOSED_LINE.format(**times)
    waiting = texts.STAFF_SLOT_WAITING.format(count=view.waiting) if view.waiting else ""
    return texts.STAFF_SLOT_LINE.format(
        booked=len(view.entries), places=service.places_per_slot, waiting=waiting, **times
    )


def _booking_lines(service: ServicePolicy, view: SlotView, cipher: FieldCipher) -> list[str]:
    return [
        texts.STAFF_BOOKING_LINE.format(
            number=number, who=_who(service, entry, cipher), mark=_mark_text(entry)
        )
        for number, entry in enumerate(view.entries, start=1)
    ]


def _button(label: str, step: StaffStep) -> InlineKeyboardButton:
    return InlineKeyboardButton(label, callback_data=step.pack())


# --- the screens ---------------------------------------------------------------------------------


def _services_screen(policy: Policy, caller: Caller) -> tuple[str, InlineKeyboardMarkup]:
    """The services the caller staffs, one button each."""
    buttons = [
        [_button(f"{icon(service)} {service.name}", StaffStep("svc", service.key))]
        for service in policy.services
        if service.key in caller.staffs
    ]
    return texts.STAFF_PICK_SERVICE, InlineKeyboardMarkup(buttons)


def _day_screen(
    context: Context, caller: Caller, service: ServicePolicy, day: date, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """The day's list: every slot with its bookings; a button per slot, the days around."""
    found = services(context)
    zone = found.zone
    with found.database.session() as session:
        views = _day(session, service, found.policy, day, zone)
    today = now.astimezone(zone).date()
    label, weekday = day_label(day)
    lines = [
        texts.STAFF_DAY_HEAD.format(
            icon=icon(service),
            name=service.name,
            date=label,
            weekday=weekday,
            today=texts.STAFF_TODAY if day == today else "",
        )
    ]
    shown = [view for view in views if view.closed or view.entries or view.waiting]
    if not views:
        lines.append(texts.STAFF_DAY_SHUT)
    elif not shown:
        lines.append(texts.STAFF_DAY_EMPTY)
    for view in shown:
        lines.append(_slot_line(service, view, zone))
        lines.extend(_booking_lines(service, view, found.cipher))
    key, day_text = service.key, day.strftime(DAY_FORMAT)
    slot_buttons = [
        _button(
            texts.STAFF_SLOT_BUTTON.format(
                start=view.start.astimezone(zone).strftime("%H:%M"), booked=len(view.entries)
            ),
            StaffStep("slot", key, day_text, view.hhmm(zone)),
        )
        for view in _with_buttons(views, now)
    ]
    if slot_buttons:
        lines.append("\n" + texts.STAFF_DAY_FOOT)
    rows = button_rows(slot_buttons, SLOT_BUTTONS_PER_ROW)
    around = []
    if _in_reach(day - timedelta(days=1), today):
        before = (day - timedelta(days=1)).strftime(DAY_FORMAT)
        around.append(_button(texts.STAFF_PREV_BUTTON, StaffStep("day", key, before)))
    if _in_reach(day + timedelta(days=1), today):
        after = (day + timedelta(days=1)).strftime(DAY_FORMAT)
        around.append(_button(texts.STAFF_NEXT_BUTTON, StaffStep("day", key, after)))
    if around:
        rows.append(around)
    if any(_closable(view, now) for view in views):
        rows.append([_button(texts.STAFF_CLOSE_DAY_BUTTON, StaffStep("cday", key, day_text))])
    if len(caller.staffs) > 1:
        rows.append([_button(texts.STAFF_SERVICES_BUTTON, StaffStep("home"))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _slot_screen(
    context: Context, service: ServicePolicy, view: SlotView, now: datetime
) -> tuple[str, InlineKeyboardMarkup]:
    """One slot: its bookings with 到场 / 未到, 关闭此时段 while it has not begun."""
    found = services(context)
    zone = found.zone
    fields = slot_fields(service, view.start, view.end, zone)
    lines = [texts.STAFF_SLOT_HEAD.format(**fields), _slot_line(service, view, zone)]
    lines.extend(_booking_lines(service, view, found.cipher))
    markable = _markable(view, now, zone) and not view.closed
    if view.closed:
        lines.append(texts.STAFF_SLOT_IS_CLOSED)
    elif not view.entries:
        lines.append(texts.STAFF_SLOT_NOBODY)
    elif not markable:
        lines.append(texts.STAFF_SLOT_MARK_LATER)
    rows: list[list[InlineKeyboardButton]] = []
    if markable:
        for number, entry in enumerate(view.entries, start=1):
            booking_id = entry.booking.id or 0
            rows.append(
                [
                    InlineKeyboardButton(
                        texts.STAFF_PRESENT_BUTTON.format(number=number),
                        callback_data=StaffMark(booking_id, True).pack(),
                    ),
                    InlineKeyboardButton(
                        texts.STAFF_ABSENT_BUTTON.format(number=number),
                        callback_data=StaffMark(booking_id, False).pack(),
                    ),
                ]
            )
    day_text = view.start.astimezone(zone).strftime(DAY_FORMAT)
    if _closable(view, now):
        close = StaffStep("close", service.key, day_text, view.hhmm(zone))
        rows.append([_button(texts.STAFF_CLOSE_SLOT_BUTTON, close)])
    rows.append([_button(texts.STAFF_BACK_DAY_BUTTON, StaffStep("day", service.key, day_text))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


# --- /staff and its buttons ----------------------------------------------------------------------


@access(STAFF)
async def staff_command(update: Update, context: Context, caller: Caller) -> None:
    """/staff: the day's list of the service the caller staffs (or the choice of them)."""
    policy = services(context).policy
    mine = [service for service in policy.services if service.key in caller.staffs]
    if len(mine) == 1:
        now = utcnow()
        today = now.astimezone(services(context).zone).date()
        text, markup = _day_screen(context, caller, mine[0], today, now)
    else:
        text, markup = _services_screen(policy, caller)
    await reply(update, context, text, markup)


@pressed(StaffStep, STAFF)
async def staff_pressed(update: Update, context: Context, step: StaffStep, caller: Caller) -> None:
    """A step of /staff, authorised again: the caller must staff the service named, read now."""
    found = services(context)
    policy, zone = found.policy, found.zone
    if step.action == "home":
        await answer(update)
        await edit_or_send(update, context, *_services_screen(policy, caller))
        return
    service = policy.service(step.service)
    if service is None or service.key not in caller.staffs:
        await refuse(
            update,
            context,
            caller,
            forged="forged.staff",
            target=_target(step),
            text=texts.STAFF_NOT_YOURS.format(service=service.name if service else step.service),
        )
        return
    now = utcnow()
    today = now.astimezone(zone).date()
    day = today if step.day == "-" else parse_day(step.day)
    if day is None or not _in_reach(day, today):
        await answer(update, texts.STAFF_DAY_OUT_OF_RANGE, alert=True)
        await edit_or_send(update, context, *_day_screen(context, caller, service, today, now))
        return
    if step.action in ("svc", "day"):
        await answer(update)
        await edit_or_send(update, context, *_day_screen(context, caller, service, day, now))
        return
    if step.action in ("cday", "cdayok"):
        await _close_day(
            update, context, caller, service, day, now, confirmed=step.action == "cdayok"
        )
        return
    with found.database.session() as session:
        views = _day(session, service, policy, day, zone)
    view = next((v for v in views if v.hhmm(zone) == step.slot), None)
    if view is None:
        await answer(update, texts.STAFF_SLOT_UNKNOWN, alert=True)
        return
    if step.action == "slot":
        await answer(update)
        await edit_or_send(update, context, *_slot_screen(context, service, view, now))
        return
    await _close_slot(
        update, context, caller, service, view, now, confirmed=step.action == "closeok"
    )


# --- closing -------------------------------------------------------------------------------------


def _confirm_markup(ok: StaffStep, back: StaffStep) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(texts.STAFF_CLOSE_OK_BUTTON, ok), _button(texts.STAFF_CLOSE_KEEP_BUTTON, back)]]
    )


def _told_text(views: Sequence[SlotView]) -> str:
    count = sum(len(view.entries) + view.waiting for view in views)
    return texts.STAFF_CLOSE_TELLS.format(count=count) if count else texts.STAFF_CLOSE_NOBODY


async def _close_slot(
    update: Update,
    context: Context,
    caller: Caller,
    service: ServicePolicy,
    view: SlotView,
    now: datetime,
    *,
    confirmed: bool,
) -> None:
    """关闭此时段: asked first, then closed and its officers told."""
    zone = services(context).zone
    if not _closable(view, now):
        await answer(update, texts.STAFF_SLOT_STARTED, alert=True)
        await edit_or_send(update, context, *_slot_screen(context, service, view, now))
        return
    fields = slot_fields(service, view.start, view.end, zone)
    day_text = view.start.astimezone(zone).strftime(DAY_FORMAT)
    if not confirmed:
        ok = StaffStep("closeok", service.key, day_text, view.hhmm(zone))
        back = StaffStep("slot", service.key, day_text, view.hhmm(zone))
        await answer(update)
        text = texts.STAFF_ASK_CLOSE_SLOT.format(told=_told_text([view]), **fields)
        await edit_or_send(update, context, text, _confirm_markup(ok, back))
        return
    closed, told = _close(context, caller, service, [view], now)
    if not closed:
        await answer(update, texts.STAFF_SLOT_STARTED, alert=True)
        return
    await answer(update)
    done = texts.STAFF_SLOT_CLOSED_DONE.format(count=told, **fields)
    back = StaffStep("day", service.key, day_text)
    await edit_or_send(
        update, context, done, InlineKeyboardMarkup([[_button(texts.STAFF_BACK_DAY_BUTTON, back)]])
    )
    services(context).broadcaster.wake()


async def _close_day(
    update: Update,
    context: Context,
    caller: Caller,
    service: ServicePolicy,
    day: date,
    now: datetime,
    *,
    confirmed: bool,
) -> None:
    """关闭当天: every slot of the day not yet begun, booked or not; asked first."""
    found = services(context)
    with found.database.session() as session:
        views = [
            v for v in _day(session, service, found.policy, day, found.zone) if _closable(v, now)
        ]
    label, weekday = day_label(day)
    day_text = day.strftime(DAY_FORMAT)
    if not views:
        await answer(update, texts.STAFF_NOTHING_TO_CLOSE, alert=True)
        await edit_or_send(update, context, *_day_screen(context, caller, service, day, now))
        return
    if not confirmed:
        ok = StaffStep("cdayok", service.key, day_text)
        back = StaffStep("day", service.key, day_text)
        text = texts.STAFF_ASK_CLOSE_DAY.format(
            date=label, weekday=weekday, slots=len(views), told=_told_text(views)
        )
        await answer(update)
        await edit_or_send(update, context, text, _confirm_markup(ok, back))
        return
    closed, told = _close(context, caller, service, views, now, day=day)
    if not closed:
        await answer(update, texts.STAFF_NOTHING_TO_CLOSE, alert=True)
        return
    await answer(update)
    done = texts.STAFF_DAY_CLOSED_DONE.format(date=label, weekday=weekday, slots=closed, count=told)
    back = StaffStep("day", service.key, day_text)
    await edit_or_send(
        update, context, done, InlineKeyboardMarkup([[_button(texts.STAFF_BACK_DAY_BUTTON, back)]])
    )
    services(context).broadcaster.wake()


def _close(
    context: Context,
    caller: Caller,
    service: ServicePolicy,
    views: Sequence[SlotView],
    now: datetime,
    *,
    day: date | None = None,
) -> tuple[int, int]:
    """Close the slots not yet begun (a row written for those nobody booked); tell everyone who
    held a place or waited, through the broadcast engine. How many slots closed, officers told."""
    found = services(context)
    zone = found.zone
    notices: dict[int, tuple[int, list[str]]] = {}
    closed: list[ServiceSlot] = []
    with found.database.session() as session:
        for view in views:
            if view.start <= now:
                continue
            row = booking_storage.slot_row(
                session, service.key, view.start, view.end, service.places_per_slot
            )
            if row.id is None or row.status == SlotStatus.CLOSED:
                continue
            held = booking_storage.close_slot(session, row.id)
            closed.append(row)
            fields = slot_fields(service, view.start, view.end, zone)
            if private(service):
                fields["name"] = texts.BOOK_PRIVATE_NAME
            line = texts.BOOK_SLOT_CLOSED_NOTICE.format(**fields)
            for recipient in held:
                notices.setdefault(recipient.officer_id, (recipient.chat_id, []))[1].append(line)
        if not closed:
            return 0, 0
        if notices:
            offers = _next_free(session, service, found.policy, now, zone)
            tail = texts.BOOK_SLOT_CLOSED_NEXT if offers else texts.BOOK_SLOT_CLOSED_NONE
            recipients = [
                Recipient(officer_id, chat, "\n".join(lines) + tail)
                for officer_id, (chat, lines) in notices.items()
            ]
            first = min(row.starts_at for row in closed)
            broadcasts.create(
                session,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=Priority.URGENT if notice_is_urgent(first, now) else Priority.NORMAL,
                text=recipients[0].text or "",
                recipients=recipients,
                created_by=PRIVATE_SENDER if private(service) else caller.actor,
                buttons=_offers_markup(service, offers, zone).to_json() if offers else None,
            )
        _audit_close(session, caller, service, closed, len(notices), day)
    return len(closed), len(notices)


def _audit_close(
    session: Session,
    caller: Caller,
    service: ServicePolicy,
    closed: Sequence[ServiceSlot],
    told: int,
    day: date | None,
) -> None:
    """A closed slot (or day) in the audit log; of counselling, no slot that leads to anyone."""
    if day is not None:
        audit.record(
            session,
            actor=caller.actor,
            action="booking.day_closed",
            target=f"service:{service.key}",
            day=day.isoformat(),
            slots=len(closed),
            told=told,
        )
        return
    target = "" if private(service) else f"slot:{closed[0].id}"
    audit.record(
        session,
        actor=caller.actor,
        action="booking.slot_closed",
        target=target,
        service=service.key,
        told=told,
    )


def _next_free(
    session: Session, service: ServicePolicy, policy: Policy, now: datetime, zone: ZoneInfo
) -> list[slot_rules.Slot]:
    """The service's next NEXT_SLOTS slots officers may book now with a place free."""
    return [slot for slot, _ in islice(free_slots(session, service, policy, now, zone), NEXT_SLOTS)]


def _offers_markup(
    service: ServicePolicy, offers: Sequence[slot_rules.Slot], zone: ZoneInfo
) -> InlineKeyboardMarkup:
    """Buttons straight to the officer's confirm step of each free slot (handlers/bookings.py)."""
    buttons = []
    for slot in offers:
        local = slot.start.astimezone(zone)
        label, weekday = day_label(local.date())
        step = BookStep(
            "slot", service.key, local.strftime(DAY_FORMAT), local.strftime(SLOT_FORMAT)
        )
        buttons.append(
            InlineKeyboardButton(
                texts.BOOK_NEXT_SLOT_BUTTON.format(
                    date=label, weekday=weekday, start=local.strftime("%H:%M")
                ),
                callback_data=step.pack(),
            )
        )
    return InlineKeyboardMarkup(button_rows(buttons, 2))


# --- attendance ----------------------------------------------------------------------------------


def _blocked_text(service: ServicePolicy, until: date) -> str:
    """Why and until when an officer may not book the service (counselling unnamed)."""
    rule = service.no_show
    assert rule is not None
    label, weekday = day_label(until + timedelta(days=1))
    values = {"days": rule.within_days, "count": rule.count, "next": f"{label}（{weekday}）"}
    if private(service):
        return texts.BOOK_BLOCKED_NOTICE_PRIVATE.format(**values)
    return texts.BOOK_BLOCKED_NOTICE.format(name=service.name, **values)


@pressed(StaffMark, STAFF)
async def mark_pressed(update: Update, context: Context, mark: StaffMark, caller: Caller) -> None:
    """到场 / 未到 on a booking of a service the caller staffs, on the slot's day or after."""
    found = services(context)
    policy, zone = found.policy, found.zone
    with found.database.session() as session:
        booking = booking_storage.booking(session, mark.booking_id)
        slot = None if booking is None else booking_storage.slot(session, booking.slot_id)
    service = None if slot is None else policy.service(slot.service_key)
    if booking is None or slot is None or service is None or service.key not in caller.staffs:
        # Nothing said of the booking: whose it is, or of which service, is not the caller's.
        await refuse(update, context, caller, forged="forged.staff", target=_target(mark))
        return
    assert slot.id is not None
    now = utcnow()
    today = now.astimezone(zone).date()
    day = slot.starts_at.astimezone(zone).date()
    if slot.starts_at > now and day != today:
        await answer(update, texts.STAFF_MARK_NOT_YET, alert=True)
        return
    blocked_chat: int | None = None
    with found.database.session() as session:
        before = block_until(session, service, booking.officer_id, now, zone)
        marked = (
            slot.status == SlotStatus.OPEN
            and booking.state == SignupState.SIGNED
            and booking_storage.mark_attendance(session, slot.id, booking.officer_id, mark.attended)
        )
        until = block_until(session, service, booking.officer_id, now, zone)
        if marked:
            _audit_mark(session, caller, service, booking.id or 0, slot.id, mark.attended)
        if marked and until is not None and until != before and until >= today:
            occasion = BLOCK_OCCASION.format(key=service.key)
            if ledger.claim(session, occasion, until, [booking.officer_id]):
                binding = officers.binding_of(session, booking.officer_id)
                blocked_chat = None if binding is None else binding.chat_id
        views = _day(session, service, policy, day, zone)
    view = next((v for v in views if v.start == slot.starts_at), None)
    if not marked:
        await answer(update, texts.STAFF_BOOKING_GONE, alert=True)
    else:
        await answer(
            update, texts.STAFF_MARKED_PRESENT if mark.attended else texts.STAFF_MARKED_ABSENT
        )
    if view is not None:
        await edit_or_send(update, context, *_slot_screen(context, service, view, now))
    if blocked_chat is not None and until is not None:
        await notify(context.bot, blocked_chat, _blocked_text(service, until))


def _audit_mark(
    session: Session,
    caller: Caller,
    service: ServicePolicy,
    booking_id: int,
    slot_id: int,
    attended: bool,
) -> None:
    """A mark in the audit log; of counselling, that one was made, never whose."""
    if private(service):
        audit.record(
            session,
            actor=caller.actor,
            action="booking.attendance",
            service=service.key,
            attended=attended,
        )
        return
    audit.record(
        session,
        actor=caller.actor,
        action="booking.attendance",
        target=f"booking:{booking_id}",
        slot=slot_id,
        attended=attended,
    )


# --- /bookings: the figures ----------------------------------------------------------------------


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _previous_month(first: date) -> date:
    return _month_start(first - timedelta(days=1))


def _next_month(first: date) -> date:
    return _month_start(first + timedelta(days=32))


@access(ORGANIZER)
async def bookings_command(update: Update, context: Context, caller: Caller) -> None:
    """/bookings: per service, this month's and last month's figures; counselling only counts."""
    found = services(context)
    zone, policy = found.zone, found.policy
    if not policy.services:
        await reply(update, context, texts.BOOK_NO_SERVICES)
        return
    this_month = _month_start(utcnow().astimezone(zone).date())
    months = [this_month, _previous_month(this_month)]
    start = day_bounds(months[-1], zone)[0]
    end = day_bounds(_next_month(this_month), zone)[0]
    lines = [texts.BOOKINGS_HEAD]
    any_private = False
    for service in policy.services:
        lines.append(texts.BOOKINGS_SERVICE.format(icon=icon(service), name=service.name))
        with found.database.session() as session:
            if private(service):
                counts = booking_storage.monthly_counts(session, service.key, start, end, zone.key)
                figures = {m: booking_storage.MonthFigures(booked=n) for m, n in counts.items()}
            else:
                figures = booking_storage.monthly_figures(
                    session, service.key, start, end, zone.key
                )
        for month in months:
            label = texts.BOOKINGS_MONTH_LABEL.format(year=month.year, month=month.month)
            got = figures.get(month.strftime("%Y-%m"), booking_storage.MonthFigures())
            if private(service):
                any_private = True
                lines.append(texts.BOOKINGS_MONTH_PRIVATE.format(month=label, booked=got.booked))
            else:
                lines.append(
                    texts.BOOKINGS_MONTH.format(
                        month=label, booked=got.booked, attended=got.attended, missed=got.missed
                    )
                )
    if any_private:
        lines.append(texts.BOOKINGS_PRIVATE_NOTE)
    await reply(update, context, "\n".join(lines))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/staff and its buttons, /bookings."""
    return [
        CommandHandler("staff", staff_command, filters=PRIVATE_MESSAGE),
        CommandHandler("bookings", bookings_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(staff_pressed, pattern=StaffStep.pattern()),
        CallbackQueryHandler(mark_pressed, pattern=StaffMark.pattern()),
    ]
