"""Helpers shared by the feature modules: who is calling, menus, sending long text."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    ContextTypes,
    filters,
)

from bot import effects, texts
from bot.rules.messages import split_text
from handlers.callbacks import MenuChoice
from handlers.context import services
from storage import bookings, broadcasts, clubs, conversations, officers, roles
from storage.conversations import key_of
from storage.models import Officer, Role

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE


class SharedKeyboard(InlineKeyboardMarkup):
    """An inline keyboard built once and sent with every message that shows it.

    Telegram objects are immutable, so one may go out any number of times; its JSON is made
    once too, where PTB would make it again at every send. For the few keyboards of the busiest
    answers (the /me card): building and serialising its nine buttons was 5% of a /me.
    """

    __slots__ = ("_as_dict",)
    _as_dict: dict[str, Any]

    def __init__(self, inline_keyboard: Sequence[Sequence[InlineKeyboardButton]]) -> None:
        super().__init__(inline_keyboard)
        # Past PTB's freeze (the object is complete by now): the JSON it will always have.
        object.__setattr__(self, "_as_dict", super().to_dict())

    def to_dict(self, recursive: bool = True) -> dict[str, Any]:
        """The keyboard's JSON, made when it was built; read only."""
        return self._as_dict if recursive else super().to_dict(recursive=False)


Markup = InlineKeyboardMarkup | ReplyKeyboardRemove | Any

# New messages in private chats only: an edited message must not count as a second answer (nor
# re-run an edited command), and the bot serves officers one to one, never in groups.
PRIVATE_MESSAGE = filters.ChatType.PRIVATE & filters.UpdateType.MESSAGE


def in_private_chat(update: Update) -> bool:
    """True if the update comes from its sender's own private chat with the bot.

    A press on a message in a group, supergroup or channel (or on an inline message, which has
    no chat) is not: whatever it asks for would be shown to everyone there.
    """
    chat, user = update.effective_chat, update.effective_user
    return (
        chat is not None
        and user is not None
        and chat.type == ChatType.PRIVATE
        and chat.id == user.id
    )


class OutsidePrivateChats(BaseHandler[Update, Context, None]):
    """Takes every message and button press from outside a private chat, and does nothing.

    Registered in a group of its own ahead of every other (bot/app.py) and stopping the
    update there, so no feature ever answers into a group, supergroup or channel: a command
    typed there gets no reply, a press there only a short answer of its own (seen by the
    presser alone), and nothing changes.
    """

    def __init__(self) -> None:
        super().__init__(self._ignore)

    def check_update(self, update: object) -> bool:
        """Messages (new or edited, channel posts) and presses that are not private."""
        if not isinstance(update, Update):
            return False
        if update.callback_query is None and update.effective_message is None:
            return False
        return not in_private_chat(update)

    @staticmethod
    async def _ignore(update: Update, context: Context) -> None:
        if update.callback_query is not None:
            await answer(update, texts.PRIVATE_CHAT_ONLY, alert=True)
        raise ApplicationHandlerStop


# The roles that run the union's work in the bot: organizers, and admins who may do all they do.
# The one definition; rules of access (handlers/access.py) and checks that depend on the data
# (Caller.organizer) read it from here.
ORGANIZER_ROLES: frozenset[Role] = frozenset({Role.ORGANIZER, Role.ADMIN})


def _no_clubs() -> frozenset[str]:
    return frozenset()


@dataclass(frozen=True)
class Caller:
    """A bound officer and the roles they hold right now."""

    officer: Officer
    roles: frozenset[Role]
    load_leads: Callable[[], frozenset[str]] = field(default=_no_clubs, repr=False)
    load_staffs: Callable[[], frozenset[str]] = field(default=_no_clubs, repr=False)
    load_contact_units: Callable[[], frozenset[str]] = field(default=_no_clubs, repr=False)

    @functools.cached_property
    def leads(self) -> frozenset[str]:
        """The policy's clubs they lead, read on first use: most updates never ask."""
        return self.load_leads()

    @functools.cached_property
    def staffs(self) -> frozenset[str]:
        """The keys of the policy's services they staff (handlers/booking_staff.py), read on
        first use."""
        return self.load_staffs()

    @functools.cached_property
    def contact_units(self) -> frozenset[str]:
        """The units they are a contact (基层工会联络员) for, read on first use."""
        return self.load_contact_units()

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"officer:{self.officer.police_id}"

    def has(self, *wanted: Role) -> bool:
        """True if the caller holds any of the roles."""
        return any(role in self.roles for role in wanted)

    @property
    def organizer(self) -> bool:
        """True if the caller holds an organizer's role (organizer or admin)."""
        return bool(self.roles & ORGANIZER_ROLES)


@dataclass(frozen=True)
class FlowStore:
    """Where one conversation keeps its step and draft: a row per user, committed per step."""

    name: str

    def save(self, update: Update, context: Context, state: str, draft: dict[str, Any]) -> str:
        """Commit the step the user is now at (before its prompt goes out); returns it."""
        with services(context).database.session() as session:
            conversations.save(session, self.name, conversation_key(update), state, draft)
        return state

    def draft(self, update: Update, context: Context) -> dict[str, Any]:
        """The draft so far (empty if the flow is gone)."""
        with services(context).database.session() as session:
            return conversations.draft(session, self.name, conversation_key(update))

    def forget(self, update: Update, context: Context) -> None:
        """Drop the flow and its draft."""
        with services(context).database.session() as session:
            conversations.delete(session, self.name, conversation_key(update))

    def committed(
        self, update: Update, context: Context, valid: Callable[[str, dict[str, Any]], bool]
    ) -> tuple[str | None, dict[str, Any]]:
        """The step and draft the database holds for this user; (None, {}) if no flow is open.

        A row whose draft does not hold what its step needs (an older format, a damaged row:
        `valid` says so) is dropped and ends here.
        """
        key = conversation_key(update)
        with services(context).database.session() as session:
            state = conversations.state_of(session, self.name, key)
            if state is None:
                return None, {}
            draft = conversations.draft(session, self.name, key)
            if not valid(state, draft):
                conversations.delete(session, self.name, key)
                return None, {}
        return state, draft


def conversation_key(update: Update) -> str:
    """The stored key of this update's conversation, as PTB keys it (chat, user)."""
    assert update.effective_chat is not None and update.effective_user is not None
    return key_of(update.effective_chat.id, update.effective_user.id)


def load_caller(context: Context, telegram_user_id: int) -> Caller | None:
    """The bound, active officer behind this Telegram account, with roles; None for strangers."""
    with services(context).database.session() as session:
        found = officers.bound_with_roles(session, telegram_user_id)
        if found is None:
            return None
        officer, held = found
        assert officer.id is not None
        officer_id = officer.id
        return Caller(
            officer=officer,
            roles=frozenset(Role(role) for role in held),
            load_leads=lambda: _leads_of(context, officer_id),
            load_staffs=lambda: _staffs_of(context, officer_id),
            load_contact_units=lambda: _contact_units_of(context, officer_id),
        )


def _leads_of(context: Context, officer_id: int) -> frozenset[str]:
    """The policy's clubs an officer leads, as the database says now."""
    with services(context).database.session() as session:
        return frozenset(clubs.led_by(session, officer_id, within=services(context).policy.clubs))


def _staffs_of(context: Context, officer_id: int) -> frozenset[str]:
    """The keys of the policy's services an officer staffs, as the database says now."""
    keys = {service.key for service in services(context).policy.services}
    with services(context).database.session() as session:
        return frozenset(bookings.staffed_by(session, officer_id) & keys)


def _contact_units_of(context: Context, officer_id: int) -> frozenset[str]:
    """The units an officer is a contact for, as the database says now."""
    with services(context).database.session() as session:
        return frozenset(roles.contact_units_of(session, officer_id))


async def answer(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the pressed button; a query that is too old to answer must not stop the work."""
    if update.callback_query is None:
        return
    try:
        await update.callback_query.answer(text, show_alert=alert)
    except BadRequest as exc:
        log.info("could not answer a button press: %s", type(exc).__name__)


async def send_text(bot: Bot, chat_id: int, text: str, reply_markup: Markup = None) -> Message:
    """Send text of any length: split at Telegram's limit, the keyboard on the last part."""
    parts = split_text(text)
    for part in parts[:-1]:
        await bot.send_message(chat_id, part)
    return await bot.send_message(chat_id, parts[-1], reply_markup=reply_markup)


async def notify(bot: Bot, chat_id: int, text: str, reply_markup: Markup = None) -> bool:
    """Send to someone other than the caller; a chat that is gone must not fail the caller."""
    try:
        await send_text(bot, chat_id, text, reply_markup)
    except TelegramError as exc:
        # One organizer's timeout must not keep the others (or the officer) from hearing.
        log.warning("could not notify a chat: %s", type(exc).__name__)
        return False
    return True


async def notify_told(
    context: Context, chat_id: int, text: str, reply_markup: Markup = None
) -> bool:
    """notify(), and whether the officer will hear it as far as anyone can tell now.

    While an update is handled the message goes out only after the commit, so what can be known
    is whether the account is marked as having blocked the bot.
    """
    with services(context).database.session() as session:
        blocked = broadcasts.is_unreachable(session, chat_id)
    sent = await notify(context.bot, chat_id, text, reply_markup)
    return sent and not blocked


async def prompt(update: Update, context: Context, text: str, reply_markup: Markup = None) -> None:
    """Send a conversation's next prompt after its state was committed.

    If the send fails the state stays committed and the officer's next message continues
    from it; failing here would leave PTB's in-memory state behind the database's.
    """
    try:
        await reply(update, context, text, reply_markup)
    except TelegramError as exc:
        log.warning("could not send a prompt: %s", type(exc).__name__)


async def reply(update: Update, context: Context, text: str, reply_markup: Markup = None) -> None:
    """Answer in the chat the update came from: only ever a private one."""
    assert update.effective_chat is not None
    if not in_private_chat(update):
        # OutsidePrivateChats takes such updates first; this only keeps a slip from leaking.
        log.warning("refused to answer outside a private chat")
        return
    await send_text(context.bot, update.effective_chat.id, text, reply_markup)


async def edit_or_send(
    update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Replace the pressed message's text, or send a new one if it cannot be edited."""
    query = update.callback_query
    if not in_private_chat(update):
        log.warning("refused to edit a message outside a private chat")
        return
    if query is not None and isinstance(query.message, Message):
        try:
            # Held back while the update is handled: a refusal then turns into a new message.
            with effects.send_if_refused():
                await query.message.edit_text(text, reply_markup=markup)
            return
        except BadRequest as exc:
            if "not modified" in str(exc):
                return
    await reply(update, context, text, markup)


async def show_step(
    update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Turn the pressed message into a flow's next step; like prompt(), a failure is only logged.

    The step is committed before it is shown: a message that cannot be edited or sent must not
    undo it, and the next message of the user continues from it.
    """
    try:
        await edit_or_send(update, context, text, markup)
    except TelegramError as exc:
        log.warning("could not show a flow step: %s", type(exc).__name__)


def contact_keyboard() -> ReplyKeyboardMarkup:
    """A one-time keyboard whose single button shares the officer's own phone contact."""
    return ReplyKeyboardMarkup(
        [[KeyboardButton(texts.SHARE_CONTACT_BUTTON, request_contact=True)]],
        resize_keyboard=True,
        one_time_keyboard=True,
    )


def main_menu_markup(caller: Caller) -> InlineKeyboardMarkup:
    """The main menu's buttons for this caller's roles."""

    def button(text: str, item: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=MenuChoice(item).pack())

    rows = [
        [button(texts.MENU_REPORT, "report"), button(texts.MENU_MYREPORTS, "myreports")],
        [button(texts.MENU_DRIVES, "drives"), button(texts.MENU_BLOOD, "blood")],
        [button(texts.MENU_EVENTS, "events"), button(texts.MENU_CLUBS, "clubs")],
        [button(texts.MENU_BOOK, "book"), button(texts.MENU_PROFILE, "profile")],
        [button(texts.MENU_RETREATS, "retreats"), button(texts.MENU_HONOURS, "honours")],
        [button(texts.MENU_SURVEYS, "surveys"), button(texts.MENU_CHARITY, "charity")],
    ]
    if caller.staffs:
        rows.append([button(texts.MENU_STAFF, "staff")])
    if caller.organizer:
        # The organizers' tools, two to a row.
        tools = [
            button(texts.MENU_ANNOUNCE, "announce"),
            button(texts.MENU_APPEAL, "appeal"),
            button(texts.MENU_CASES, "cases"),
            button(texts.MENU_REQUESTS, "requests"),
            button(texts.MENU_GREETINGS, "greetings"),
            button(texts.MENU_BOOKINGS, "bookings"),
            button(texts.MENU_MUTUAL_AID, "mutualaid"),
            button(texts.MENU_CHARITY, "charity"),
            button(texts.MENU_DISTRIBUTIONS, "distributions"),
            button(texts.MENU_ROUNDS, "rounds"),
            button(texts.MENU_STATS, "stats"),
        ]
        rows += [tools[i : i + 2] for i in range(0, len(tools), 2)]
    elif caller.contact_units:
        # A unit contact confirms what their unit received.
        rows.append([button(texts.MENU_DISTRIBUTIONS, "distributions")])
    rows.append([button(texts.MENU_HELP, "help")])
    return InlineKeyboardMarkup(rows)


def typed_command(update: Update) -> str:
    """The text of a typed command with its words (`/cases 统计 2026`); "" for a menu press or
    a feature named in free text, which open the feature as the bare command does."""
    message = update.message
    if update.callback_query is not None or message is None or message.text is None:
        return ""
    return message.text if message.text.startswith("/") else ""


async def show_main_menu(update: Update, context: Context, caller: Caller) -> None:
    """Send the main menu."""
    await reply(
        update,
        context,
        texts.MAIN_MENU.format(name=caller.officer.name),
        main_menu_markup(caller),
    )


def commands_for(held: set[Role] | frozenset[Role], *, staff: bool = False) -> list[BotCommand]:
    """The command menu Telegram shows for a holder of these roles (and a service's staff)."""
    commands = [
        BotCommand("start", texts.COMMAND_START),
        BotCommand("menu", texts.COMMAND_MENU),
        BotCommand("me", texts.COMMAND_ME),
        BotCommand("report", texts.COMMAND_REPORT),
        BotCommand("myreports", texts.COMMAND_MYREPORTS),
        BotCommand("blood", texts.COMMAND_BLOOD),
        BotCommand("drives", texts.COMMAND_DRIVES),
        BotCommand("events", texts.COMMAND_EVENTS),
        BotCommand("clubs", texts.COMMAND_CLUBS),
        BotCommand("book", texts.COMMAND_BOOK),
        BotCommand("retreats", texts.COMMAND_RETREATS),
        BotCommand("honours", texts.COMMAND_HONOURS),
        BotCommand("surveys", texts.COMMAND_SURVEYS),
        BotCommand("charity", texts.COMMAND_CHARITY),
        BotCommand("help", texts.COMMAND_HELP),
        BotCommand("cancel", texts.COMMAND_CANCEL),
    ]
    if staff:
        commands.append(BotCommand("staff", texts.COMMAND_STAFF))
    if held & ORGANIZER_ROLES:
        commands += [
            BotCommand("announce", texts.COMMAND_ANNOUNCE),
            BotCommand("appeal", texts.COMMAND_APPEAL),
            BotCommand("requests", texts.COMMAND_REQUESTS),
            BotCommand("cases", texts.COMMAND_CASES),
            BotCommand("greetings", texts.COMMAND_GREETINGS),
            BotCommand("bookings", texts.COMMAND_BOOKINGS),
            BotCommand("rounds", texts.COMMAND_ROUNDS),
            BotCommand("mutualaid", texts.COMMAND_MUTUAL_AID),
            BotCommand("distributions", texts.COMMAND_DISTRIBUTIONS),
            BotCommand("stats", texts.COMMAND_STATS),
        ]
    if Role.ADMIN in held:
        commands += [
            BotCommand("grant", texts.COMMAND_GRANT),
            BotCommand("revoke", texts.COMMAND_REVOKE),
        ]
    return commands


async def refresh_commands(
    bot: Bot, chat_id: int, held: set[Role] | frozenset[Role], *, staff: bool = False
) -> None:
    """Show this chat the commands of its roles and staff role (the default list without)."""
    scope = BotCommandScopeChat(chat_id)
    try:
        if held or staff:
            await bot.set_my_commands(commands_for(held, staff=staff), scope=scope)
        else:
            await bot.delete_my_commands(scope=scope)
    except TelegramError as exc:
        # The menu is a convenience: a chat that refuses it must not block the change itself.
        log.warning("could not set a chat's commands: %s", type(exc).__name__)


def help_text(caller: Caller | None) -> str:
    """Help for what this caller may do."""
    if caller is None:
        return texts.HELP_STRANGER
    text = texts.HELP_MEMBER
    if caller.leads:
        text += texts.HELP_LEADER.format(clubs="、".join(sorted(caller.leads)))
    if caller.contact_units:
        text += texts.HELP_CONTACT.format(units="、".join(sorted(caller.contact_units)))
    if caller.staffs:
        text += texts.HELP_STAFF_GROUPED
    if caller.organizer:
        text += texts.HELP_ORGANIZER_GROUPED
    if caller.has(Role.ADMIN):
        text += texts.HELP_ADMIN_GROUPED
    return text
