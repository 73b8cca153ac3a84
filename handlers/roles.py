"""/grant and /revoke in chat, for admins: give or take the organizer and admin roles, the
staff role of a bookable service (`/grant 警号 staff 服务键`: its doctor, counsellor or attendant,
who then sees the service's bookings in /staff, handlers/booking_staff.py), and a unit's contact
(`/grant 警号 联络员`, then a tap on the unit: 基层工会联络员, who nominate for their unit's
retreats and honours, storage.nominations)."""

from __future__ import annotations

import hashlib
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import Policy, ServicePolicy
from bot.rules.identity import normalize_police_id
from handlers.access import Access, access, pressed
from handlers.callbacks import UnitContactPick
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    load_caller,
    notify,
    notify_told,
    refresh_commands,
    reply,
)
from handlers.context import services
from storage import bookings as booking_storage
from storage import officers, roles
from storage.bookings import StaffChange
from storage.models import Role
from storage.roles import RoleChange, UnitContactChange

ROLE_ALIASES = {
    "organizer": Role.ORGANIZER,
    "工会干部": Role.ORGANIZER,
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
}
# The word that names a service's staff role instead of a role: /grant 警号 staff 服务键.
STAFF_WORDS = ("staff", "工作人员")
# The words that name a unit's contact: /grant 警号 联络员, then the unit is tapped.
CONTACT_WORDS = ("联络员", "基层工会联络员", "unit-contact", "contact")
# Admins only; anyone else trying is refused and audited, the command as much as a press.
ADMIN: Access[Any] = Access(
    frozenset({Role.ADMIN}), forged="forged.role_change", audit_messages=True
)


async def _change(update: Update, context: Context, caller: Caller, *, grant_it: bool) -> None:
    policy = services(context).policy
    usage = texts.GRANT_USAGE if grant_it else texts.REVOKE_USAGE
    usage += "\n" + texts.GRANT_STAFF_USAGE.format(services=_service_list(policy))
    usage += "\n" + texts.GRANT_UNIT_CONTACT_USAGE
    args = context.args or []
    if len(args) == 2 and args[1].strip().lower() in CONTACT_WORDS:
        await _offer_units(update, context, args[0], grant_it=grant_it)
        return
    if len(args) == 3 and args[1].strip().lower() in STAFF_WORDS:
        await _change_staff(update, context, caller, args[0], args[2], grant_it=grant_it)
        return
    if len(args) != 2 or args[1].strip().lower() in STAFF_WORDS:
        await reply(update, context, usage)
        return
    role = ROLE_ALIASES.get(args[1].strip().lower())
    if role is None:
        await reply(update, context, texts.UNKNOWN_ROLE)
        return
    try:
        police_id = normalize_police_id(args[0])
    except ValueError:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=args[0][:12]))
        return
    if not grant_it and role is Role.ADMIN and police_id == caller.officer.police_id:
        # An admin cannot lock the union out of its own bot by accident.
        await reply(update, context, texts.CANNOT_REVOKE_SELF_ADMIN)
        return
    with services(context).database.session() as session:
        outcome, officer = roles.change_role(
            session, police_id, role, grant_it=grant_it, actor=caller.actor
        )
        binding = officers.binding_of(session, officer.id) if officer and officer.id else None
    if officer is None:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=police_id))
        return
    values = {"name": officer.name, "police_id": police_id, "role": texts.ROLE_NAMES[role]}
    if outcome is RoleChange.UNCHANGED:
        template = texts.ALREADY_HAS_ROLE if grant_it else texts.DID_NOT_HAVE_ROLE
        await reply(update, context, template.format(**values))
        return
    await reply(update, context, (texts.GRANTED if grant_it else texts.REVOKED).format(**values))
    if binding is not None:
        await _refresh_menu(context, binding.telegram_user_id, binding.chat_id)
        notice = texts.YOU_WERE_GRANTED if grant_it else texts.YOU_WERE_REVOKED
        await notify(context.bot, binding.chat_id, notice.format(role=values["role"]))


async def _refresh_menu(context: Context, telegram_user_id: int, chat_id: int) -> None:
    """The officer's command menu as their roles and staff roles are now."""
    target = load_caller(context, telegram_user_id)
    held = target.roles if target else frozenset()
    await refresh_commands(context.bot, chat_id, held, staff=bool(target and target.staffs))


# --- a service's staff -------------------------------------------------------------------------


def _service_list(policy: Policy) -> str:
    """The policy's services as an admin types them: key and name."""
    items = (texts.STAFF_SERVICE_ITEM.format(key=s.key, name=s.name) for s in policy.services)
    return "、".join(items)


def find_service(typed: str, policy: Policy) -> ServicePolicy | None:
    """The policy's service an admin typed: its key (health-room) or its name (健康屋)."""
    text = typed.strip()
    return policy.service(text.lower()) or next(
        (service for service in policy.services if service.name == text), None
    )


async def _change_staff(
    update: Update,
    context: Context,
    caller: Caller,
    raw_id: str,
    typed: str,
    *,
    grant_it: bool,
) -> None:
    """/grant|/revoke 警号 staff 服务键: give or take a service's staff role, audited."""
    policy = services(context).policy
    service = find_service(typed, policy)
    if service is None:
        unknown = texts.STAFF_UNKNOWN_SERVICE.format(
            service=typed.strip()[:32], services=_service_list(policy)
        )
        await reply(update, context, unknown)
        return
    try:
        police_id = normalize_police_id(raw_id)
    except ValueError:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=raw_id[:12]))
        return
    with services(context).database.session() as session:
        outcome, officer = booking_storage.change_staff(
            session, police_id, service.key, grant_it=grant_it, actor=caller.actor
        )
        binding = officers.binding_of(session, officer.id) if officer and officer.id else None
    if officer is None:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=police_id))
        return
    values = {
        "name": officer.name,
        "police_id": officer.police_id,
        "service": service.name,
        "title": service.staff_title or texts.STAFF_DEFAULT_TITLE,
    }
    if outcome is StaffChange.LEFT:
        await reply(update, context, texts.STAFF_LEFT.format(**values))
        return
    if outcome is StaffChange.UNCHANGED:
        template = texts.STAFF_ALREADY if grant_it else texts.STAFF_NOT_STAFF
        await reply(update, context, template.format(**values))
        return
    # Committed with the update: now the officer may hear of it, and see /staff or not.
    told = False
    if binding is not None and officer.active:
        await _refresh_menu(context, binding.telegram_user_id, binding.chat_id)
        notice = texts.STAFF_YOU_ARE if grant_it else texts.STAFF_YOU_NO_LONGER
        told = await notify_told(context, binding.chat_id, notice.format(**values))
    done = texts.STAFF_GRANTED if grant_it else texts.STAFF_REVOKED
    told_text = texts.STAFF_TOLD if told else texts.STAFF_NOT_TOLD
    await reply(update, context, done.format(told=told_text, **values))


# --- a unit's contact (基层工会联络员) ------------------------------------------------------------


def unit_key(unit: str) -> str:
    """A unit's name as a button carries it: 10 hex digits of its SHA-256, whatever its length."""
    return hashlib.sha256(unit.encode()).hexdigest()[:10]


def _units_for(officer_id: int, context: Context, *, grant_it: bool) -> list[str]:
    """The units a button may name: any known unit to grant, the officer's own to revoke."""
    with services(context).database.session() as session:
        if grant_it:
            return roles.contact_unit_choices(session, services(context).policy.units)
        return sorted(roles.contact_units_of(session, officer_id))


def _unit_buttons(officer_id: int, units: list[str], *, grant_it: bool) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            unit, callback_data=UnitContactPick(officer_id, unit_key(unit), grant_it).pack()
        )
        for unit in units
    ]
    return InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)])


async def _offer_units(update: Update, context: Context, raw_id: str, *, grant_it: bool) -> None:
    """/grant|/revoke 警号 联络员: the units to tap, for the officer named."""
    try:
        police_id = normalize_police_id(raw_id)
    except ValueError:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=raw_id[:12]))
        return
    with services(context).database.session() as session:
        officer = officers.by_police_id(session, police_id)
    if officer is None or officer.id is None:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=police_id))
        return
    values = {"name": officer.name, "police_id": officer.police_id}
    if grant_it and not officer.active:
        await reply(update, context, texts.UNIT_CONTACT_LEFT.format(**values))
        return
    units = _units_for(officer.id, context, grant_it=grant_it)
    if not units:
        empty = texts.UNIT_CONTACT_NO_UNITS if grant_it else texts.UNIT_CONTACT_NONE
        await reply(update, context, empty.format(**values))
        return
    ask = texts.UNIT_CONTACT_PICK_GRANT if grant_it else texts.UNIT_CONTACT_PICK_REVOKE
    markup = _unit_buttons(officer.id, units, grant_it=grant_it)
    await reply(update, context, ask.format(**values), markup)


@pressed(UnitContactPick, ADMIN)
async def unit_picked(
    update: Update, context: Context, data: UnitContactPick, caller: Caller
) -> None:
    """An admin tapped the unit: grant or revoke its contact role, audited, and tell them."""
    with services(context).database.session() as session:
        officer = officers.by_id(session, data.officer_id)
    if officer is None or officer.id is None:
        await answer(update, texts.STALE_BUTTON)
        return
    # The button names the unit by digest: it must still be one the admin could be offered.
    units = _units_for(officer.id, context, grant_it=data.grant)
    unit = next((unit for unit in units if unit_key(unit) == data.unit_key), None)
    if unit is None:
        await answer(update, texts.UNIT_CONTACT_UNIT_GONE, alert=True)
        return
    with services(context).database.session() as session:
        outcome, changed = roles.change_unit_contact(
            session, officer.police_id, unit, grant_it=data.grant, actor=caller.actor
        )
        binding = officers.binding_of(session, officer.id)
    await answer(update)
    values = {"name": officer.name, "police_id": officer.police_id, "unit": unit}
    if outcome is UnitContactChange.LEFT:
        await edit_or_send(update, context, texts.UNIT_CONTACT_LEFT.format(**values))
        return
    if outcome is not UnitContactChange.DONE or changed is None:
        template = texts.UNIT_CONTACT_ALREADY if data.grant else texts.UNIT_CONTACT_NOT
        await edit_or_send(update, context, template.format(**values))
        return
    # Committed with the update: now the officer may hear of it.
    told = False
    if binding is not None and changed.active:
        notice = texts.UNIT_CONTACT_YOU_ARE if data.grant else texts.UNIT_CONTACT_YOU_NO_LONGER
        told = await notify_told(context, binding.chat_id, notice.format(unit=unit))
    done = texts.UNIT_CONTACT_GRANTED if data.grant else texts.UNIT_CONTACT_REVOKED
    told_text = texts.STAFF_TOLD if told else texts.STAFF_NOT_TOLD
    await edit_or_send(update, context, done.format(told=told_text, **values))


@access(ADMIN)
async def grant(update: Update, context: Context, caller: Caller) -> None:
    """/grant POLICE_ID ROLE or /grant POLICE_ID staff SERVICE (admins only)."""
    await _change(update, context, caller, grant_it=True)


@access(ADMIN)
async def revoke(update: Update, context: Context, caller: Caller) -> None:
    """/revoke POLICE_ID ROLE or /revoke POLICE_ID staff SERVICE (admins only)."""
    await _change(update, context, caller, grant_it=False)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The admins' role commands."""
    return [
        CommandHandler("grant", grant, filters=PRIVATE_MESSAGE),
        CommandHandler("revoke", revoke, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(unit_picked, pattern=UnitContactPick.pattern()),
    ]
