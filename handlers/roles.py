"""/grant and /revoke in chat, for admins: give or take the organizer and admin roles."""

from __future__ import annotations

from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot import texts
from bot.rules.identity import normalize_police_id
from handlers.access import Access, access
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    load_caller,
    notify,
    refresh_commands,
    reply,
)
from handlers.context import services
from storage import officers, roles
from storage.models import Role
from storage.roles import RoleChange

ROLE_ALIASES = {
    "organizer": Role.ORGANIZER,
    "工会干部": Role.ORGANIZER,
    "admin": Role.ADMIN,
    "管理员": Role.ADMIN,
}
# Admins only; anyone else trying is refused and audited, the command as much as a press.
ADMIN: Access[Any] = Access(
    frozenset({Role.ADMIN}), forged="forged.role_change", audit_messages=True
)


async def _change(update: Update, context: Context, caller: Caller, *, grant_it: bool) -> None:
    usage = texts.GRANT_USAGE if grant_it else texts.REVOKE_USAGE
    args = context.args or []
    if len(args) != 2:
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
        target = load_caller(context, binding.telegram_user_id)
        await refresh_commands(context.bot, binding.chat_id, target.roles if target else set())
        notice = texts.YOU_WERE_GRANTED if grant_it else texts.YOU_WERE_REVOKED
        await notify(context.bot, binding.chat_id, notice.format(role=values["role"]))


@access(ADMIN)
async def grant(update: Update, context: Context, caller: Caller) -> None:
    """/grant POLICE_ID ROLE (admins only)."""
    await _change(update, context, caller, grant_it=True)


@access(ADMIN)
async def revoke(update: Update, context: Context, caller: Caller) -> None:
    """/revoke POLICE_ID ROLE (admins only)."""
    await _change(update, context, caller, grant_it=False)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The admins' role commands."""
    return [
        CommandHandler("grant", grant, filters=PRIVATE_MESSAGE),
        CommandHandler("revoke", revoke, filters=PRIVATE_MESSAGE),
    ]
