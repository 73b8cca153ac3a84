"""/grant and /revoke in chat, for admins: give or take the organizer and admin roles, and the
staff role of a bookable service (`/grant 警号 staff 服务键`: its doctor, counsellor or attendant,
who then sees the service's bookings in /staff, handlers/booking_staff.py)."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import texts
from bot.policy import Policy, ServicePolicy
from bot.rules.identity import normalize_police_id
from handlers.access import Access, access
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
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
from storage.roles import RoleChange

ROLE_ALIASES = {
    "organizer": Role.ORGANIZER,
    "工会干部": Role.ORGANIZER,
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
}
# The word that names a service's staff role instead of a role: /grant 警号 staff 服务键.
STAFF_WORDS = ("staff", "工作人员")
# Admins only; anyone else trying is refused and audited, the command as much as a press.
ADMIN: Access[Any] = Access(
    frozenset({Role.ADMIN}), forged="forged.role_change", audit_messages=True
)


async def _change(update: Update, context: Context, caller: Caller, *, grant_it: bool) -> None:
    policy = services(context).policy
    usage = texts.GRANT_USAGE if grant_it else texts.REVOKE_USAGE
    usage += "\n" + texts.GRANT_STAFF_USAGE.format(services=_service_list(policy))
    args = context.args or []
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
    ]
