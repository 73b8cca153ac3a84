"""Declared access: who may use a command, a message or a button, checked in one place.

A handler says what it needs instead of checking it by hand:

    @access(ORGANIZER)
    async def cases_command(update, context, caller): ...

    @pressed(CaseAction, VISITOR, accept=_does("visit"))
    async def visit_pressed(update, context, action, caller): ...

and a flow (handlers/flow.py) is given its rule as `access=`. The wrapper reads the button's
typed data once (here, not in the handler), loads the caller once, and answers everyone it stops
the same way:

- data that does not parse as the button's type (an old button, forged data), or that the
  handler does not `accept`: "此按钮已失效", before anything else is read or written;
- a stranger (no bound, active officer behind the account): the binding hint, as an alert on a
  press, as a message otherwise;
- a bound officer without the right: the rule's refusal (texts.NOT_ALLOWED unless it names
  another), as an alert on a press (unless `alert=False`) and as a message otherwise. A press
  is a forged or outdated privileged press: written to the audit log as the rule's `forged`
  action, naming its `target`; a message is audited only if the rule says `audit_messages`.

What the data asks (is this officer in the event's audience, is this the organizer's case, does
the caller lead this club) stays with the handler, authorised against the database: it depends
on the data. Such a handler refuses through `Access.permits` or `refuse`, so the answer and the
audit entry are the same as the wrapper's.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import Update

from bot import texts
from handlers.callbacks import CallbackData
from handlers.common import (
    ORGANIZER_ROLES,
    Caller,
    Context,
    answer,
    in_private_chat,
    load_caller,
    reply,
)
from handlers.context import services
from storage import audit
from storage.models import Role

AUDIT_TARGET_LIMIT = 128  # the width of audit_entry.target

D = TypeVar("D", bound=CallbackData)
# The data a rule names its audit target from: a rule for any button takes every kind.
Dc = TypeVar("Dc", bound=CallbackData, contravariant=True)

Handler = Callable[[Update, Context], Coroutine[Any, Any, object]]
CallerStep = Callable[[Update, Context, Caller], Awaitable[object]]
PressStep = Callable[[Update, Context, D, Caller], Awaitable[object]]
# What a refused update returns after it was answered (a flow ends, say); None by default.
Refused = Callable[[Update, Context], Awaitable[object]]


async def caller_or_hint(update: Update, context: Context) -> Caller | None:
    """The caller if bound; otherwise tell the stranger how to bind and return None."""
    user = update.effective_user
    caller = load_caller(context, user.id) if user else None
    if caller is None:
        if update.callback_query is not None:
            await answer(update, texts.STRANGER_HINT, alert=True)
        elif update.effective_chat is not None and in_private_chat(update):
            await context.bot.send_message(update.effective_chat.id, texts.STRANGER_HINT)
    return caller


async def refuse(
    update: Update,
    context: Context,
    caller: Caller,
    *,
    forged: str = "",
    target: str = "",
    text: str = texts.NOT_ALLOWED,
    alert: bool = True,
    audit_messages: bool = False,
) -> None:
    """Say no to a bound officer: an alert on a press (audited as `forged`), else a message."""
    pressed_now = update.callback_query is not None
    if forged and (pressed_now or audit_messages):
        with services(context).database.session() as session:
            audit.record(
                session, actor=caller.actor, action=forged, target=target[:AUDIT_TARGET_LIMIT]
            )
    if pressed_now:
        await answer(update, text, alert=alert)
    else:
        await reply(update, context, text)


@dataclass(frozen=True)
class Access(Generic[Dc]):
    """Who may go on: any bound officer, or one holding one of `roles` (or leading a club,
    staffing a service of the policy, or being a unit's contact).

    With none of `roles`, `leads_club`, `staffs` and `contacts_unit`, every bound officer may.
    `forged` names the audit action of a press without the right, `target` what it is about
    (fixed, or read from the pressed button's data).
    """

    roles: frozenset[Role] = frozenset()
    leads_club: bool = False
    staffs: bool = False
    # A unit contact (基层工会联络员) of any unit; which unit a press may act for is the
    # handler's to check (Caller.contact_units), as it depends on the data.
    contacts_unit: bool = False
    forged: str = ""
    target: str | Callable[[Dc], str] = ""
    audit_messages: bool = False
    refusal: str = texts.NOT_ALLOWED
    alert: bool = True

    def allows(self, caller: Caller) -> bool:
        """True if this caller has the right, as the roles and leads read for this update say."""
        if not self.roles and not self.leads_club and not self.staffs and not self.contacts_unit:
            return True
        return (
            bool(caller.roles & self.roles)
            or (self.leads_club and bool(caller.leads))
            or (self.staffs and bool(caller.staffs))
            or (self.contacts_unit and bool(caller.contact_units))
        )

    async def admit(
        self, update: Update, context: Context, data: Dc | None = None
    ) -> Caller | None:
        """The caller if they may go on; otherwise None, once they were answered."""
        caller = await caller_or_hint(update, context)
        if caller is None or self.allows(caller):
            return caller
        await self.refuse(update, context, caller, data)
        return None

    async def permits(
        self,
        update: Update,
        context: Context,
        caller: Caller,
        data: Dc | None = None,
        *,
        target: str | None = None,
    ) -> bool:
        """For a right that depends on what is asked (a sub-command, a button's action): True
        if the caller has it; otherwise False, once refused as the wrapper would."""
        if self.allows(caller):
            return True
        await self.refuse(update, context, caller, data, target=target)
        return False

    async def refuse(
        self,
        update: Update,
        context: Context,
        caller: Caller,
        data: Dc | None = None,
        *,
        target: str | None = None,
    ) -> None:
        """Say no to this caller, in this rule's words, audited as its `forged` action."""
        if target is None:
            if isinstance(self.target, str):
                target = self.target
            else:
                target = self.target(data) if data is not None else ""
        await refuse(
            update,
            context,
            caller,
            forged=self.forged,
            target=target,
            text=self.refusal,
            alert=self.alert,
            audit_messages=self.audit_messages,
        )


OFFICER: Access[Any] = Access()
"""Every bound officer."""
ORGANIZER: Access[Any] = Access(ORGANIZER_ROLES)
"""Organizers and admins; anyone else hears texts.NOT_ALLOWED (nothing audited)."""
UNIT_CONTACT: Access[Any] = Access(
    contacts_unit=True, forged="forged.unit_contact", refusal=texts.UNIT_CONTACT_NOT_ALLOWED
)
"""Unit contacts (基层工会联络员) of any unit: nominating for retreats and honours. A press is
for one unit; the handler checks it is one of `caller.contact_units`, and refuses with
`UNIT_CONTACT.refuse` otherwise (audited as a forged press)."""


def action_of(data: CallbackData) -> str:
    """The audit target of a forged flow button: the action it asked for."""
    return str(getattr(data, "action", ""))


def returning(value: object) -> Refused:
    """A `refused` hook that only returns `value` (a ConversationHandler's END, say)."""

    async def refused(update: Update, context: Context) -> object:
        return value

    return refused


def access(
    rule: Access[Any] = OFFICER, *, refused: Refused | None = None
) -> Callable[[CallerStep], Handler]:
    """A command or message handler `step(update, context, caller)` for callers `rule` admits.

    Anyone else is answered (see the module's docstring) and the handler returns what
    `refused` gives, None without it.
    """

    def wrap(step: CallerStep) -> Handler:
        @functools.wraps(step)
        async def checked(update: Update, context: Context) -> object:
            caller = await rule.admit(update, context)
            if caller is None:
                return None if refused is None else await refused(update, context)
            return await step(update, context, caller)

        return checked

    return wrap


def pressed(
    kind: type[D],
    rule: Access[D] = OFFICER,
    *,
    accept: Callable[[D], bool] | None = None,
    refused: Refused | None = None,
) -> Callable[[PressStep[D]], Handler]:
    """A button handler `step(update, context, data, caller)`: the press's data parsed once as
    `kind`, then the caller admitted by `rule`.

    Data of another shape, or that `accept` turns down, is an outdated (or forged) button:
    "此按钮已失效", and nothing is read. A stranger or a caller without the right is answered
    and the handler returns what `refused` gives, None without it.
    """

    def wrap(step: PressStep[D]) -> Handler:
        @functools.wraps(step)
        async def checked(update: Update, context: Context) -> object:
            query = update.callback_query
            assert query is not None
            data = kind.unpack(query.data)
            if data is None or (accept is not None and not accept(data)):
                await answer(update, texts.STALE_BUTTON)
                return None
            caller = await rule.admit(update, context, data)
            if caller is None:
                return None if refused is None else await refused(update, context)
            return await step(update, context, data, caller)

        return checked

    return wrap
