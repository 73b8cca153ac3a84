"""/me: an officer's own profile; change phone (by a new contact), blood type and opt-ins."""

from __future__ import annotations

import warnings
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import texts
from bot.rules.identity import mask_phone, parse_blood_type, try_normalize_phone
from handlers.callbacks import ProfileAction
from handlers.common import (
    Caller,
    Context,
    caller_or_hint,
    contact_keyboard,
    conversation_key,
    edit_or_send,
    reply,
)
from handlers.context import services
from storage import audit, conversations, officers
from storage.models import Officer

NAME = "profile_phone"
ASK_NEW_PHONE = "ask_new_phone"
END = ConversationHandler.END
PRIVATE = filters.ChatType.PRIVATE
BLOOD_CHOICES = ("A", "B", "O", "AB", "A-", "B-", "O-", "AB-")


def profile_card(officer: Officer) -> str:
    """The officer's own profile, as shown to them."""
    blood = (
        f"{officer.blood_group} Rh-" if officer.rh_negative else officer.blood_group
    ) or texts.UNKNOWN
    return texts.PROFILE_CARD.format(
        name=officer.name,
        police_id=officer.police_id,
        unit=officer.unit or texts.UNKNOWN,
        phone=mask_phone(officer.phone) if officer.phone else texts.UNKNOWN,
        birthday=officer.birthday.isoformat() if officer.birthday else texts.UNKNOWN,
        gender=texts.GENDER_NAMES.get(officer.gender or "", texts.UNKNOWN),
        blood=blood,
        single=texts.SINGLE_ON if officer.single_opt_in else texts.SINGLE_OFF,
        greetings=texts.GREETINGS_OFF if officer.greetings_opt_out else texts.GREETINGS_ON,
    )


def profile_markup(officer: Officer) -> InlineKeyboardMarkup:
    """The card's buttons; each carries the value it sets, so a double press changes nothing."""

    def button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=ProfileAction(action, value).pack())

    single = (
        button(texts.PROFILE_SINGLE_OFF_BUTTON, "single", "0")
        if officer.single_opt_in
        else button(texts.PROFILE_SINGLE_ON_BUTTON, "single", "1")
    )
    greet = (
        button(texts.PROFILE_GREETINGS_ON_BUTTON, "greet", "1")
        if officer.greetings_opt_out
        else button(texts.PROFILE_GREETINGS_OFF_BUTTON, "greet", "0")
    )
    return InlineKeyboardMarkup(
        [
            [
                button(texts.PROFILE_PHONE_BUTTON, "phone"),
                button(texts.PROFILE_BLOOD_BUTTON, "blood"),
            ],
            [single, greet],
            [button(texts.PROFILE_DONE_BUTTON, "done")],
        ]
    )


def _blood_markup() -> InlineKeyboardMarkup:
    def button(value: str) -> InlineKeyboardButton:
        label = str(parse_blood_type(value))
        return InlineKeyboardButton(label, callback_data=ProfileAction("setblood", value).pack())

    return InlineKeyboardMarkup(
        [
            [button(value) for value in BLOOD_CHOICES[:4]],
            [button(value) for value in BLOOD_CHOICES[4:]],
            [
                InlineKeyboardButton(
                    texts.BLOOD_UNKNOWN_BUTTON,
                    callback_data=ProfileAction("setblood", "none").pack(),
                )
            ],
        ]
    )


async def show_profile(update: Update, context: Context) -> None:
    """/me or the menu button: the officer's own profile card."""
    caller = await caller_or_hint(update, context)
    if caller is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    await reply(update, context, profile_card(caller.officer), profile_markup(caller.officer))


def _update_own(caller: Caller, context: Context, action: str, **changes: object) -> Officer:
    with services(context).database.session() as session:
        officer = officers.by_id(session, caller.officer.id or 0)
        assert officer is not None
        officers.update_profile(session, officer, **changes)
        # Field names only: the values (phone, blood type) are personal data.
        audit.record(
            session,
            actor=caller.actor,
            action=action,
            target=officer.police_id,
            fields=sorted(changes),
        )
        return officer


async def action_pressed(update: Update, context: Context) -> None:
    """A profile button; it only ever changes the presser's own record."""
    query = update.callback_query
    assert query is not None
    action = ProfileAction.unpack(query.data)
    if action is None:
        await query.answer(texts.STALE_BUTTON)
        return
    caller = await caller_or_hint(update, context)
    if caller is None:
        return
    if action.action == "done":
        await query.answer()
        await edit_or_send(
            update, context, profile_card(caller.officer) + "\n\n" + texts.PROFILE_CLOSED
        )
        return
    if action.action == "blood":
        await query.answer()
        await edit_or_send(update, context, texts.ASK_BLOOD, _blood_markup())
        return
    changes: dict[str, object]
    if action.action == "setblood" and action.value in (*BLOOD_CHOICES, "none"):
        if action.value == "none":
            changes = {"blood_group": None, "rh_negative": False}
        else:
            blood = parse_blood_type(action.value)
            changes = {"blood_group": blood.group, "rh_negative": blood.rh_negative}
    elif action.action == "single" and action.value in ("0", "1"):
        changes = {"single_opt_in": action.value == "1"}
    elif action.action == "greet" and action.value in ("0", "1"):
        changes = {"greetings_opt_out": action.value == "0"}
    else:
        await query.answer(texts.STALE_BUTTON)
        return
    officer = _update_own(caller, context, f"profile.{action.action}", **changes)
    await query.answer()
    await edit_or_send(update, context, profile_card(officer), profile_markup(officer))


async def ask_new_phone(update: Update, context: Context) -> str | int:
    """The 更换手机号 button: ask for the new number as a contact."""
    assert update.callback_query is not None
    caller = await caller_or_hint(update, context)
    if caller is None:
        return END
    await update.callback_query.answer()
    with services(context).database.session() as session:
        conversations.save(session, NAME, conversation_key(update), ASK_NEW_PHONE, {})
    await reply(update, context, texts.ASK_NEW_PHONE, contact_keyboard())
    return ASK_NEW_PHONE


async def new_phone_shared(update: Update, context: Context) -> str | int:
    """The new phone: the sender's own mainland number, not another member's."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.contact is not None and user is not None
    caller = await caller_or_hint(update, context)
    if caller is None:
        return await _end(update, context, None)
    if message.contact.user_id != user.id:
        await reply(update, context, texts.FOREIGN_CONTACT, contact_keyboard())
        return ASK_NEW_PHONE
    phone = try_normalize_phone(message.contact.phone_number)
    if phone is None:
        return await _end(update, context, texts.PHONE_NOT_MAINLAND)
    with services(context).database.session() as session:
        holder = officers.active_by_phone(session, phone)
    if holder is not None and holder.id != caller.officer.id:
        return await _end(update, context, texts.PHONE_TAKEN)
    officer = _update_own(caller, context, "profile.phone", phone=phone)
    await _end(update, context, texts.PHONE_CHANGED.format(phone=mask_phone(phone)))
    await reply(update, context, profile_card(officer), profile_markup(officer))
    return END


async def contact_expected(update: Update, context: Context) -> str:
    """Anything but a contact while we wait for the new number."""
    await reply(update, context, texts.ASK_CONTACT_AGAIN, contact_keyboard())
    return ASK_NEW_PHONE


async def _end(update: Update, context: Context, text: str | None) -> int:
    with services(context).database.session() as session:
        conversations.delete(session, NAME, conversation_key(update))
    if text is not None:
        await reply(update, context, text, ReplyKeyboardRemove())
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel while changing the phone."""
    return await _end(update, context, texts.CANCELLED)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The profile command, its buttons and the phone-change conversation."""
    # Entered by a button but keyed per user and chat, not per message, on purpose: the
    # officer's next message (a shared contact) must reach it. PTB warns about that choice.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="If 'per_message=False'", category=PTBUserWarning)
        phone_change = ConversationHandler(
            entry_points=[CallbackQueryHandler(ask_new_phone, pattern=r"^me:phone:")],
            states={
                ASK_NEW_PHONE: [
                    MessageHandler(filters.CONTACT & PRIVATE, new_phone_shared),
                    MessageHandler(~filters.COMMAND & PRIVATE, contact_expected),
                ]
            },
            fallbacks=[CommandHandler("cancel", cancel)],
            allow_reentry=True,
            name=NAME,
            persistent=True,
        )
    return [
        phone_change,
        CommandHandler("me", show_profile, filters=PRIVATE),
        CallbackQueryHandler(action_pressed, pattern=ProfileAction.pattern()),
    ]
