"""Bookings (预约): officers book the services by slot, with taps only.

- `/book` (and 📅 预约 in the menu): service → day (only days with a free place) → slot (its
  time and places left on each button; a full slot offers its waitlist) → confirm. The card
  that answers carries 取消预约 (and, for counselling, 设置化名).
- `/book mine` (and 📋 我的预约): the officer's bookings ahead, each with its 取消 button.
- Every press is checked again on the server: the service must still be in the policy, the slot
  one of its slots on that day, ahead, within the horizon, the day open; the booking to cancel
  the presser's own. Limits, waitlist and promotion are the capacity engine's
  (storage.bookings); missed bookings block booking for a while (bot.rules.slots).
- Counselling is health data: its notices never name the service ("您预约的服务": a lock screen
  shows them), the audit log records that a booking changed but not whose, and an officer may
  give a pseudonym (sealed) that the counsellor sees instead of their name.

Reminders are bot/jobs/bookings.py; the staff's side is handlers/booking_staff.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

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
from bot.policy import Policy, ServiceKind, ServicePolicy
from bot.rules import slots as slot_rules
from bot.rules.capacity import Outcome
from bot.rules.text import clean, meaningful
from bot.rules.workdays import WorkCalendar
from handlers.access import access, pressed, returning
from handlers.callbacks import BookingAction, BookStep, MenuChoice
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    FlowStore,
    answer,
    edit_or_send,
    notify,
    prompt,
    reply,
)
from handlers.context import services
from handlers.flow import StoredConversationHandler
from storage import audit, officers
from storage import bookings as booking_storage
from storage.models import Booking, ServiceSlot, SignupState
from storage.types import utcnow

NAME = "booking_alias"
ASK_ALIAS = "alias"
FLOW = FlowStore(NAME)
ALIAS_LENGTH = (2, 10)
DAY_FORMAT = "%Y%m%d"
SLOT_FORMAT = "%H%M"


# --- what the policy offers ----------------------------------------------------------------------


def calendar_of(policy: Policy) -> WorkCalendar:
    """The official working days the services follow."""
    return WorkCalendar.with_policy(policy.workdays.years)


def offer_of(service: ServicePolicy, zone: ZoneInfo) -> booking_storage.Offer:
    """A service's places, deadline and limits, as the capacity engine takes them."""
    return booking_storage.Offer(
        key=service.key,
        places=service.places_per_slot,
        cancel_before_minutes=service.cancel_before_minutes,
        open_bookings=service.limits.open_bookings,
        per_week=service.limits.per_week,
        zone_name=zone.key,
    )


def private(service: ServicePolicy) -> bool:
    """Counselling: health data, never named where others may read it."""
    return service.kind == ServiceKind.COUNSELLING


def icon(service: ServicePolicy) -> str:
    """The service's icon by its kind."""
    return texts.SERVICE_ICONS.get(str(service.kind), "📅")


def day_label(day: date) -> tuple[str, str]:
    """12月3日 and 周四."""
    return texts.BOOK_DAY.format(month=day.month, day=day.day), texts.WEEKDAYS[day.weekday()]


def slot_fields(
    service: ServicePolicy, start: datetime, end: datetime, zone: ZoneInfo
) -> dict[str, str]:
    """The fields a booking's texts name: icon, service, date, weekday, start, end, place."""
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    day, weekday = day_label(local_start.date())
    return {
        "icon": icon(service),
        "name": service.name,
        "date": day,
        "weekday": weekday,
        "start": local_start.strftime("%H:%M"),
        "end": local_end.strftime("%H:%M"),
        "place": service.place,
    }


def parse_day(text: str) -> date | None:
    """A button's day (YYYYMMDD), or None."""
    try:
        return datetime.strptime(text, DAY_FORMAT).date()
    except ValueError:
        return None


def free_slots(
    session: Any, service: ServicePolicy, policy: Policy, now: datetime, zone: ZoneInfo
) -> Iterator[tuple[slot_rules.Slot, int]]:
    """The service's slots officers may book now with a place free (not closed), soonest
    first, each with its free places: read in one query over the booking horizon."""
    calendar = calendar_of(policy)
    days = slot_rules.bookable_days(service, calendar, now, zone)
    if not days:
        return
    use = booking_storage.usage(
        session, service.key, day_bounds(days[0], zone)[0], day_bounds(days[-1], zone)[1]
    )
    for day in days:
        for slot in slot_rules.bookable_slots(service, calendar, day, now, zone):
            taken = use.get(slot.start, booking_storage.SlotUse())
            free = service.places_per_slot - taken.booked
            if not taken.closed and free > 0:
                yield slot, free


def _find_slot(
    service: ServicePolicy,
    policy: Policy,
    zone: ZoneInfo,
    day_text: str,
    slot_text: str,
    now: datetime,
) -> slot_rules.Slot | None:
    """The slot a button names, if it is still one officers may book now (else None)."""
    day = parse_day(day_text)
    if day is None:
        return None
    for slot in slot_rules.bookable_slots(service, calendar_of(policy), day, now, zone):
        if slot.start.astimezone(zone).strftime(SLOT_FORMAT) == slot_text:
            return slot
    return None


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A local day as its UTC start and the next day's."""
    start = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
    return start, start + timedelta(days=1)


# --- keyboards -----------------------------------------------------------------------------------


def services_markup(policy: Policy) -> InlineKeyboardMarkup:
    """One button per service, then 我的预约."""
    rows = [
        [
            InlineKeyboardButton(
                f"{icon(service)} {service.name}",
                callback_data=BookStep("svc", service.key).pack(),
            )
        ]
        for service in policy.services
    ]
    rows.append(
        [InlineKeyboardButton(texts.BOOK_MINE_BUTTON, callback_data=BookingAction("mine").pack())]
    )
    return InlineKeyboardMarkup(rows)


def _back(step: BookStep) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(texts.BOOK_BACK_BUTTON, callback_data=step.pack())]


def button_rows(
    buttons: list[InlineKeyboardButton], width: int
) -> list[list[InlineKeyboardButton]]:
    """Buttons laid out `width` to a row."""
    return [buttons[index : index + width] for index in range(0, len(buttons), width)]


def card_markup(service: ServicePolicy, booking: Booking) -> InlineKeyboardMarkup:
    """A booking's card: 取消预约 (取消候补 when waiting) and, for counselling, 设置化名."""
    assert booking.id is not None
    waiting = booking.state == SignupState.WAITLISTED
    label = texts.BOOK_CANCEL_WAIT_BUTTON if waiting else texts.BOOK_CANCEL_BUTTON
    row = [InlineKeyboardButton(label, callback_data=BookingAction("cancel", booking.id).pack())]
    if private(service) and not waiting:
        row.append(
            InlineKeyboardButton(
                texts.BOOK_ALIAS_BUTTON, callback_data=BookingAction("alias", booking.id).pack()
            )
        )
    return InlineKeyboardMarkup([row])


# --- the steps -----------------------------------------------------------------------------------


@access()
async def book_command(update: Update, context: Context, caller: Caller) -> None:
    """/book: the services to choose from; /book mine: the officer's bookings."""
    if context.args and context.args[0].lower() in ("mine", "我的"):
        await _show_mine(update, context, caller, edit=False)
        return
    policy = services(context).policy
    if not policy.services:
        await reply(update, context, texts.BOOK_NO_SERVICES)
        return
    await reply(update, context, texts.BOOK_PICK_SERVICE, services_markup(policy))


@pressed(BookStep)
async def step_pressed(update: Update, context: Context, step: BookStep, caller: Caller) -> None:
    """A step of booking, checked again against the policy, the clock and the database."""
    found = services(context)
    policy, zone = found.policy, found.zone
    if step.step == "home":
        await answer(update)
        await edit_or_send(update, context, texts.BOOK_PICK_SERVICE, services_markup(policy))
        return
    service = policy.service(step.service)
    if service is None:
        await answer(update, texts.BOOK_UNKNOWN_SERVICE, alert=True)
        return
    now = utcnow()
    if step.step == "svc":
        await answer(update)
        await _show_days(update, context, service, now)
        return
    if step.step == "day":
        day = parse_day(step.day)
        if day is None:
            await answer(update, texts.STALE_BUTTON)
            return
        await answer(update)
        await _show_slots(update, context, service, day, now)
        return
    slot = _find_slot(service, policy, zone, step.day, step.slot, now)
    if slot is None:
        await answer(update, texts.BOOK_SLOT_GONE, alert=True)
        return
    if step.step == "slot":
        await answer(update)
        await _confirm(update, context, service, slot)
        return
    await _book(update, context, caller, service, slot, now)


async def _show_days(
    update: Update, context: Context, service: ServicePolicy, now: datetime
) -> None:
    found = services(context)
    zone = found.zone
    left: dict[date, int] = {}
    with found.database.session() as session:
        for slot, free in free_slots(session, service, found.policy, now, zone):
            day = slot.local_day(zone)
            left[day] = left.get(day, 0) + free
    back = _back(BookStep("home"))
    if not left:
        text = texts.BOOK_NO_DAYS.format(
            icon=icon(service), name=service.name, days=service.horizon_days + 1
        )
        await edit_or_send(update, context, text, InlineKeyboardMarkup([back]))
        return
    buttons = []
    for day, free in left.items():
        label, weekday = day_label(day)
        buttons.append(
            InlineKeyboardButton(
                texts.BOOK_DAY_BUTTON.format(date=label, weekday=weekday, left=free),
                callback_data=BookStep("day", service.key, day.strftime(DAY_FORMAT)).pack(),
            )
        )
    text = texts.BOOK_PICK_DAY.format(icon=icon(service), name=service.name, place=service.place)
    await edit_or_send(
        update, context, text, InlineKeyboardMarkup([*button_rows(buttons, 2), back])
    )


async def _show_slots(
    update: Update, context: Context, service: ServicePolicy, day: date, now: datetime
) -> None:
    found = services(context)
    zone = found.zone
    slots = slot_rules.bookable_slots(service, calendar_of(found.policy), day, now, zone)
    start, end = day_bounds(day, zone)
    with found.database.session() as session:
        use = booking_storage.usage(session, service.key, start, end)
    buttons = []
    for slot in slots:
        taken = use.get(slot.start, booking_storage.SlotUse())
        if taken.closed:
            continue
        left = max(0, service.places_per_slot - taken.booked)
        local = slot.start.astimezone(zone)
        label = (
            texts.BOOK_SLOT_BUTTON.format(time=local.strftime("%H:%M"), left=left)
            if left
            else texts.BOOK_SLOT_FULL_BUTTON.format(time=local.strftime("%H:%M"))
        )
        data = BookStep("slot", service.key, day.strftime(DAY_FORMAT), local.strftime(SLOT_FORMAT))
        buttons.append(InlineKeyboardButton(label, callback_data=data.pack()))
    back = _back(BookStep("svc", service.key))
    if not buttons:
        await edit_or_send(update, context, texts.BOOK_NO_SLOTS, InlineKeyboardMarkup([back]))
        return
    label, weekday = day_label(day)
    text = texts.BOOK_PICK_SLOT.format(
        icon=icon(service), name=service.name, date=label, weekday=weekday
    )
    await edit_or_send(
        update, context, text, InlineKeyboardMarkup([*button_rows(buttons, 3), back])
    )


async def _confirm(
    update: Update, context: Context, service: ServicePolicy, slot: slot_rules.Slot
) -> None:
    found = services(context)
    zone = found.zone
    start, end = day_bounds(slot.local_day(zone), zone)
    with found.database.session() as session:
        taken = booking_storage.usage(session, service.key, start, end).get(
            slot.start, booking_storage.SlotUse()
        )
    if taken.closed:
        await edit_or_send(update, context, texts.BOOK_CLOSED)
        return
    full = taken.booked >= service.places_per_slot
    text = texts.BOOK_CONFIRM.format(**slot_fields(service, slot.start, slot.end, zone))
    if full:
        text += texts.BOOK_CONFIRM_FULL
    if service.cancel_before_minutes:
        text += texts.BOOK_CANCEL_RULE.format(minutes=service.cancel_before_minutes)
    if private(service):
        text += texts.BOOK_CONFIRM_PRIVATE
    local = slot.start.astimezone(zone)
    day = local.strftime(DAY_FORMAT)
    ok = BookStep("ok", service.key, day, local.strftime(SLOT_FORMAT))
    markup = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.BOOK_WAIT_BUTTON if full else texts.BOOK_OK_BUTTON,
                    callback_data=ok.pack(),
                )
            ],
            _back(BookStep("day", service.key, day)),
        ]
    )
    await edit_or_send(update, context, text, markup)


def block_until(
    session: Any, service: ServicePolicy, officer_id: int, now: datetime, zone: ZoneInfo
) -> date | None:
    """The last day of the latest block the officer's missed bookings of the service caused
    (bot.rules.slots.no_show_block), past or not; None if they never caused one."""
    rule = service.no_show
    if rule is None:
        return None
    since = now - timedelta(days=rule.within_days + rule.blocked_days)
    missed = booking_storage.missed_days(session, service.key, officer_id, since)
    return slot_rules.no_show_block(rule, [m.astimezone(zone).date() for m in missed])


def _blocked_until(
    session: Any, service: ServicePolicy, officer_id: int, now: datetime, zone: ZoneInfo
) -> date | None:
    """The last day missed bookings block the officer from this service, if they do today."""
    until = block_until(session, service, officer_id, now, zone)
    if until is None or now.astimezone(zone).date() > until:
        return None
    return until


def _limit_text(
    session: Any,
    service: ServicePolicy,
    officer_id: int,
    slot: slot_rules.Slot,
    now: datetime,
    zone: ZoneInfo,
) -> str:
    """Which limit a refused booking met, in one sentence."""
    monday, sunday = slot_rules.week_of(slot.local_day(zone))
    week = (day_bounds(monday, zone)[0], day_bounds(sunday, zone)[1])
    open_count, in_week = booking_storage.counts_for_limits(
        session, service.key, officer_id, week, now
    )
    problem = slot_rules.limit_problem(service, open_count, in_week)
    limits = service.limits
    if problem == slot_rules.Problem.WEEK_FULL:
        return texts.BOOKING_PROBLEMS["week_full"].format(limit=limits.per_week)
    return texts.BOOKING_PROBLEMS["too_many_open"].format(limit=limits.open_bookings)


async def _book(
    update: Update,
    context: Context,
    caller: Caller,
    service: ServicePolicy,
    slot: slot_rules.Slot,
    now: datetime,
) -> None:
    found = services(context)
    zone = found.zone
    officer_id = caller.officer.id or 0
    refusal: str | None = None
    booking: Booking | None = None
    position: int | None = None
    outcome: Outcome | None = None
    # The busiest block (a rush for new places): no savepoint, as nothing here catches its errors.
    with found.database.session(savepoint=False) as session:
        row = booking_storage.slot_row(
            session, service.key, slot.start, slot.end, service.places_per_slot, lock=True
        )
        assert row.id is not None
        until = _blocked_until(session, service, officer_id, now, zone)
        if until is not None:
            label, weekday = day_label(until + timedelta(days=1))
            refusal = texts.BOOKING_PROBLEMS["blocked"].format(until=f"{label}（{weekday}）")
        else:
            joined = booking_storage.book(
                session, offer_of(service, zone), row.id, officer_id, now=now, slot=row
            )
            outcome, position = joined.outcome, joined.position
            if outcome == Outcome.LIMIT:
                refusal = _limit_text(session, service, officer_id, slot, now, zone)
            elif outcome in (Outcome.SIGNED, Outcome.WAITLISTED):
                booking = joined.entry
                _audit(session, caller, service, "booking.booked", row)
    if refusal is not None:
        await answer(update, refusal, alert=True)
        return
    fields = slot_fields(service, slot.start, slot.end, zone)
    if outcome == Outcome.ALREADY_SIGNED:
        await answer(update, texts.BOOK_ALREADY, alert=True)
        return
    if outcome == Outcome.ALREADY_WAITLISTED:
        await answer(update, texts.BOOK_ALREADY_WAITING.format(position=position), alert=True)
        return
    if outcome in (Outcome.CLOSED, Outcome.DEADLINE, Outcome.FULL) or booking is None:
        await answer(update, texts.BOOK_CLOSED, alert=True)
        return
    await answer(update)
    if outcome == Outcome.WAITLISTED:
        text = texts.BOOK_WAITLISTED.format(position=position, **fields)
    else:
        text = texts.BOOK_BOOKED.format(**fields)
    await edit_or_send(update, context, text, card_markup(service, booking))


def _audit(
    session: Any, caller: Caller, service: ServicePolicy, action: str, slot: ServiceSlot
) -> None:
    """Audit a booking's change; of counselling, only that one changed, never whose."""
    if private(service):
        audit.record(session, actor="system:counselling", action=action)
        return
    audit.record(session, actor=caller.actor, action=action, target=f"slot:{slot.id}")


# --- an officer's bookings -----------------------------------------------------------------------


async def _show_mine(update: Update, context: Context, caller: Caller, *, edit: bool) -> None:
    found = services(context)
    zone, policy = found.zone, found.policy
    with found.database.session() as session:
        mine = booking_storage.mine(session, caller.officer.id or 0, utcnow())
    rows: list[list[InlineKeyboardButton]] = []
    lines: list[str] = []
    for item in mine:
        service = policy.service(item.slot.service_key)
        if service is None:
            continue
        fields = slot_fields(service, item.slot.starts_at, item.slot.ends_at, zone)
        line = texts.BOOK_MINE_LINE.format(**fields)
        if item.position is not None:
            line += texts.BOOK_MINE_WAITING.format(position=item.position)
        lines.append(line)
        assert item.booking.id is not None
        rows.append(
            [
                InlineKeyboardButton(
                    f"{texts.BOOK_CANCEL_BUTTON}：{fields['date']} {fields['start']}",
                    callback_data=BookingAction("cancel", item.booking.id).pack(),
                )
            ]
        )
    if not lines:
        text, markup = texts.BOOK_MINE_EMPTY, None
    else:
        text = texts.BOOK_MINE_HEAD.format(count=len(lines)) + "\n" + "\n".join(lines)
        markup = InlineKeyboardMarkup(rows)
    if edit:
        await edit_or_send(update, context, text, markup)
    else:
        await reply(update, context, text, markup)


@pressed(BookingAction)
async def booking_pressed(
    update: Update, context: Context, action: BookingAction, caller: Caller
) -> object:
    """取消预约 / 设置化名 on the presser's own booking, or 我的预约."""
    if action.action == "mine":
        await answer(update)
        await _show_mine(update, context, caller, edit=True)
        return None
    found = services(context)
    zone, policy = found.zone, found.policy
    officer_id = caller.officer.id or 0
    with found.database.session() as session:
        booking = booking_storage.booking(session, action.booking_id)
        slot = None if booking is None else booking_storage.slot(session, booking.slot_id)
    service = None if slot is None else policy.service(slot.service_key)
    if booking is None or booking.officer_id != officer_id or slot is None or service is None:
        await answer(update, texts.BOOK_NOT_YOURS, alert=True)
        return None
    if action.action == "alias":
        if not private(service) or booking.state != SignupState.SIGNED:
            await answer(update, texts.STALE_BUTTON)
            return None
        FLOW.save(update, context, ASK_ALIAS, {"booking_id": booking.id})
        await answer(update)
        await prompt(update, context, texts.BOOK_ASK_ALIAS)
        return ASK_ALIAS
    await _cancel(update, context, caller, service, slot, zone)
    return None


async def _cancel(
    update: Update,
    context: Context,
    caller: Caller,
    service: ServicePolicy,
    slot: ServiceSlot,
    zone: ZoneInfo,
) -> None:
    found = services(context)
    assert slot.id is not None
    promoted_chat: int | None = None
    with found.database.session() as session:
        left = booking_storage.cancel(
            session, offer_of(service, zone), slot.id, caller.officer.id or 0, now=utcnow()
        )
        if left.refused is None and left.was is not None:
            _audit(session, caller, service, "booking.cancelled", slot)
        if left.promoted is not None:
            binding = officers.binding_of(session, left.promoted)
            promoted_chat = None if binding is None else binding.chat_id
    if left.refused == Outcome.DEADLINE:
        await answer(
            update,
            texts.BOOK_CANCEL_TOO_LATE.format(minutes=service.cancel_before_minutes),
            alert=True,
        )
        return
    if left.refused is not None or left.was is None:
        await answer(update, texts.BOOK_NOT_YOURS, alert=True)
        return
    await answer(update)
    waiting = left.was == SignupState.WAITLISTED
    await edit_or_send(
        update, context, texts.BOOK_CANCELLED_WAIT if waiting else texts.BOOK_CANCELLED
    )
    if promoted_chat is not None:
        await notify(context.bot, promoted_chat, promoted_text(service, slot, zone))


def promoted_text(service: ServicePolicy, slot: ServiceSlot, zone: ZoneInfo) -> str:
    """The notice to an officer who moved up; counselling goes unnamed (a lock screen)."""
    fields = slot_fields(service, slot.starts_at, slot.ends_at, zone)
    if private(service):
        fields["name"] = texts.BOOK_PRIVATE_NAME
    return texts.BOOK_PROMOTED.format(**fields)


# --- a pseudonym for counselling -----------------------------------------------------------------


@access(refused=returning(ConversationHandler.END))
async def alias_received(update: Update, context: Context, caller: Caller) -> object:
    """The pseudonym the counsellor will see, sealed on the officer's own booking."""
    message = update.effective_message
    assert message is not None
    alias = clean(message.text or "")
    if not meaningful(alias) or not ALIAS_LENGTH[0] <= len(alias) <= ALIAS_LENGTH[1]:
        await prompt(update, context, texts.BOOK_BAD_ALIAS)
        return ASK_ALIAS
    draft = FLOW.draft(update, context)
    found = services(context)
    stored = False
    with found.database.session() as session:
        booking_id = draft.get("booking_id")
        if isinstance(booking_id, int):
            stored = booking_storage.set_pseudonym(
                session, booking_id, caller.officer.id or 0, found.cipher.encrypt(alias)
            )
    FLOW.forget(update, context)
    if not stored:
        await reply(update, context, texts.BOOK_NOT_YOURS)
        return ConversationHandler.END
    await reply(update, context, texts.BOOK_ALIAS_SET.format(alias=alias))
    return ConversationHandler.END


async def alias_cancelled(update: Update, context: Context) -> object:
    """/cancel while the pseudonym is asked: nothing is set."""
    FLOW.forget(update, context)
    await reply(update, context, texts.CANCELLED)
    return ConversationHandler.END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/book, its steps, the booking cards' buttons and the pseudonym conversation."""
    typed = PRIVATE_MESSAGE & filters.TEXT & ~filters.COMMAND
    cards = StoredConversationHandler(
        entry_points=[CallbackQueryHandler(booking_pressed, pattern=BookingAction.pattern())],
        states={ASK_ALIAS: [MessageHandler(typed, alias_received)]},
        fallbacks=[CommandHandler("cancel", alias_cancelled, filters=PRIVATE_MESSAGE)],
        name=NAME,
    )
    return [
        CommandHandler("book", book_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(book_command_pressed, pattern=f"^{MenuChoice('book').pack()}$"),
        CallbackQueryHandler(step_pressed, pattern=BookStep.pattern()),
        cards,
    ]


@access()
async def book_command_pressed(update: Update, context: Context, caller: Caller) -> None:
    """📅 预约 in the main menu: the services to choose from."""
    await answer(update)
    policy = services(context).policy
    if not policy.services:
        await edit_or_send(update, context, texts.BOOK_NO_SERVICES)
        return
    await edit_or_send(update, context, texts.BOOK_PICK_SERVICE, services_markup(policy))
