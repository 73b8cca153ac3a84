"""/me: an officer's own profile; change phone (by a new contact), blood type and opt-ins."""

from __future__ import annotations

import functools
from typing import Any

from sqlmodel import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot import texts
from bot.rules.calendar import lunar_birthday_of
from bot.rules.greeting_text import lunar_date_label
from bot.rules.identity import mask_phone, parse_blood_type, try_normalize_phone
from handlers import events, mutual_aid, roster_notes
from handlers.access import access, pressed
from handlers.callbacks import LunarBirthday, ProfileAction
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    SharedKeyboard,
    answer,
    contact_keyboard,
    conversation_key,
    edit_or_send,
    prompt,
    reply,
)
from handlers.context import services
from handlers.nominations import member as nominations
from storage import audit, conversations, officers
from storage import events as event_storage
from storage import profile as profile_store
from storage.models import Officer
from storage.types import utcnow

# Changing the phone is a one-step flow: its pending state is a conversation row, so a
# restart keeps it and /start, /menu or /cancel drop it like any other unfinished flow.
NAME = "profile_phone"
ASK_NEW_PHONE = "ask_new_phone"
BLOOD_CHOICES = ("A", "B", "O", "AB", "A-", "B-", "O-", "AB-")


def profile_card(officer: Officer, *, organizer: bool = False) -> str:
    """The officer's own profile, as shown to them (an organizer's with the monthly digest)."""
    blood = (
        f"{officer.blood_group} Rh-" if officer.rh_negative else officer.blood_group
    ) or texts.UNKNOWN
    card = texts.PROFILE_CARD.format(
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
    return card + _birthday_line(officer) + _figures_lines(officer, organizer=organizer)


def _figures_lines(officer: Officer, *, organizer: bool) -> str:
    """Whether the monthly digest (organizers only) and the New Year card come (issue 16)."""
    card = texts.YEAR_CARD_OFF if officer.year_card_opt_out else texts.YEAR_CARD_ON
    lines = texts.PROFILE_YEAR_CARD_LINE.format(state=card)
    if organizer:
        digest = texts.DIGEST_OFF if officer.digest_opt_out else texts.DIGEST_ON
        lines = texts.PROFILE_DIGEST_LINE.format(state=digest) + lines
    return lines


def lunar_label(officer: Officer) -> str | None:
    """The lunar birthday the officer chose, as 农历三月初八; None if they did not choose one."""
    if officer.lunar_birth_month is None or officer.lunar_birth_day is None:
        return None
    label = lunar_date_label(
        officer.lunar_birth_month, officer.lunar_birth_day, officer.lunar_birth_leap
    )
    return texts.LUNAR_DATE.format(label=label)


def _birthday_line(officer: Officer) -> str:
    """Which birthday is greeted; nothing to say for an officer without one on the roster."""
    lunar = lunar_label(officer)
    if lunar is not None:
        return texts.PROFILE_BIRTHDAY_LUNAR.format(lunar=lunar)
    return texts.PROFILE_BIRTHDAY_SOLAR if officer.birthday else ""


def profile_markup(officer: Officer, *, organizer: bool = False) -> InlineKeyboardMarkup:
    """The card's buttons; each carries the value it sets, so a double press changes nothing."""
    return _profile_markup(
        single=officer.single_opt_in,
        greetings_off=officer.greetings_opt_out,
        year_card_off=officer.year_card_opt_out,
        digest_off=officer.digest_opt_out if organizer else None,
        lunar_on=lunar_label(officer) is None,
    )


@functools.cache
def _profile_markup(
    *,
    single: bool,
    greetings_off: bool,
    year_card_off: bool,
    digest_off: bool | None,
    lunar_on: bool,
) -> SharedKeyboard:
    """One keyboard per combination of the officer's choices (at most 48), shared by all."""

    def button(text: str, action: str, value: str = "") -> InlineKeyboardButton:
        return InlineKeyboardButton(text, callback_data=ProfileAction(action, value).pack())

    single_button = (
        button(texts.PROFILE_SINGLE_OFF_BUTTON, "single", "0")
        if single
        else button(texts.PROFILE_SINGLE_ON_BUTTON, "single", "1")
    )
    greet = (
        button(texts.PROFILE_GREETINGS_ON_BUTTON, "greet", "1")
        if greetings_off
        else button(texts.PROFILE_GREETINGS_OFF_BUTTON, "greet", "0")
    )
    figures_row = [
        button(texts.PROFILE_YEAR_CARD_ON_BUTTON, "yearcard", "1")
        if year_card_off
        else button(texts.PROFILE_YEAR_CARD_OFF_BUTTON, "yearcard", "0")
    ]
    if digest_off is not None:  # an organizer's card
        figures_row.insert(
            0,
            button(texts.PROFILE_DIGEST_ON_BUTTON, "digest", "1")
            if digest_off
            else button(texts.PROFILE_DIGEST_OFF_BUTTON, "digest", "0"),
        )
    lunar = InlineKeyboardButton(
        texts.PROFILE_LUNAR_ON_BUTTON if lunar_on else texts.PROFILE_LUNAR_OFF_BUTTON,
        callback_data=LunarBirthday(lunar_on).pack(),
    )
    return SharedKeyboard(
        [
            [
                button(texts.PROFILE_PHONE_BUTTON, "phone"),
                button(texts.PROFILE_BLOOD_BUTTON, "blood"),
            ],
            [single_button, greet],
            figures_row,
            [lunar],
            # 「资料有误？」: a note to the union on a wrong roster field (handlers/roster_notes).
            [roster_notes.start_button()],
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


@access()
async def show_profile(update: Update, context: Context, caller: Caller) -> None:
    """/me or the menu button: the officer's own profile card."""
    found = services(context)
    year = mutual_aid.this_year(context)
    with found.database.session() as session:
        programmes = profile_store.programmes_of(session, caller.officer.id or 0, year)
    # Their retreats and honours (issue 12), then this year's medical mutual-aid cover (issue
    # 13), one line per scheme, under the card.
    lines = nominations.profile_lines(programmes, found.policy)
    lines += mutual_aid.profile_lines(programmes, found.policy, year)
    await answer(update)
    await reply(
        update,
        context,
        profile_card(caller.officer, organizer=caller.organizer) + lines,
        profile_markup(caller.officer, organizer=caller.organizer),
    )


def _update_own(session: Session, caller: Caller, action: str, **changes: object) -> Officer:
    """Change the caller's own record (never anyone else's), audited by field name."""
    if all(getattr(caller.officer, name) == value for name, value in changes.items()):
        # A second press of the same button (loaded in this update's transaction): no change.
        return caller.officer
    officer = officers.by_id(session, caller.officer.id or 0)
    assert officer is not None
    officers.update_profile(session, officer, **changes)
    # Field names only: the values (phone, blood type) are personal data.
    audit.record(
        session, actor=caller.actor, action=action, target=officer.police_id, fields=sorted(changes)
    )
    return officer


@pressed(ProfileAction)
async def action_pressed(
    update: Update, context: Context, action: ProfileAction, caller: Caller
) -> None:
    """A profile button; it only ever changes the presser's own record."""
    if action.action == "phone":
        await _ask_new_phone(update, context)
        return
    if action.action == "done":
        with services(context).database.session() as session:
            conversations.delete(session, NAME, conversation_key(update))
        await answer(update)
        await edit_or_send(
            update,
            context,
            profile_card(caller.officer, organizer=caller.organizer)
            + "\n\n"
            + texts.PROFILE_CLOSED,
        )
        return
    if action.action == "blood":
        await answer(update)
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
    elif action.action == "digest" and action.value in ("0", "1") and caller.organizer:
        changes = {"digest_opt_out": action.value == "0"}
    elif action.action == "yearcard" and action.value in ("0", "1"):
        changes = {"year_card_opt_out": action.value == "0"}
    else:
        await answer(update, texts.STALE_BUTTON)
        return
    withdrawn: list[event_storage.CancelResult] = []
    with services(context).database.session() as session:
        officer = _update_own(session, caller, f"profile.{action.action}", **changes)
        if changes.get("single_opt_in") is False and officer.id is not None:
            # No longer single: matchmaking places go to those waiting, in the same transaction.
            withdrawn = event_storage.withdraw_from_matchmaking(session, officer.id, now=utcnow())
    await answer(update)
    card = profile_card(officer, organizer=caller.organizer)
    if withdrawn:
        titles = "、".join(
            texts.EVENT_TITLE_QUOTED.format(title=result.event.title)
            for result in withdrawn
            if result.event
        )
        card += "\n\n" + texts.EVENT_WITHDRAWN_NOT_SINGLE.format(titles=titles)
    await edit_or_send(update, context, card, profile_markup(officer, organizer=caller.organizer))
    for result in withdrawn:
        if result.event is not None and result.promoted is not None:
            await events.tell_promoted(context, result.event, [result.promoted])


@pressed(LunarBirthday)
async def lunar_pressed(
    update: Update, context: Context, choice: LunarBirthday, caller: Caller
) -> None:
    """按农历过生日 / 改回公历生日: the presser's own record only, from their roster birthday."""
    with services(context).database.session() as session:
        officer = officers.by_id(session, caller.officer.id or 0)
        assert officer is not None
        lunar = _lunar_birthday(officer) if choice.on else None
        if choice.on and lunar is None:
            officer = None
        else:
            officers.set_lunar_birthday(session, officer, lunar)
            audit.record(
                session,
                actor=caller.actor,
                action="profile.lunar",
                target=officer.police_id,
                on=choice.on,
            )
    if officer is None:
        await answer(update, texts.PROFILE_LUNAR_NO_BIRTHDAY, alert=True)
        return
    label = lunar_label(officer)
    if label is None:
        await answer(update, texts.PROFILE_LUNAR_OFF_ANSWER)
    else:
        await answer(update, texts.PROFILE_LUNAR_ON_ANSWER.format(lunar=label))
    await edit_or_send(
        update,
        context,
        profile_card(officer, organizer=caller.organizer),
        profile_markup(officer, organizer=caller.organizer),
    )


def _lunar_birthday(officer: Officer) -> tuple[int, int, bool] | None:
    """The lunar date of the officer's roster birthday; None without one (or out of range)."""
    if officer.birthday is None:
        return None
    try:
        lunar = lunar_birthday_of(officer.birthday)
    except ValueError:
        return None
    return lunar.month, lunar.day, lunar.leap


async def _ask_new_phone(update: Update, context: Context) -> None:
    """The 更换手机号 button: remember the request, then ask for the number as a contact."""
    with services(context).database.session() as session:
        conversations.save(session, NAME, conversation_key(update), ASK_NEW_PHONE, {})
    await answer(update)
    await prompt(update, context, texts.ASK_NEW_PHONE, contact_keyboard())


def waiting_for_phone(update: Update, context: Context) -> bool:
    """True if this officer asked to change their phone and has not shared it yet."""
    with services(context).database.session() as session:
        return conversations.state_of(session, NAME, conversation_key(update)) == ASK_NEW_PHONE


async def contact_expected(update: Update, context: Context) -> None:
    """Something else than the contact we wait for: ask again."""
    await prompt(update, context, texts.ASK_CONTACT_AGAIN, contact_keyboard())


@access()
async def contact_shared(update: Update, context: Context, caller: Caller) -> None:
    """A contact outside the binding flow: the new phone, if the officer asked to change it."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.contact is not None and user is not None
    key = conversation_key(update)
    if not waiting_for_phone(update, context):
        await reply(update, context, texts.FREE_TEXT_HINT, ReplyKeyboardRemove())
        return
    if message.contact.user_id != user.id:
        await prompt(update, context, texts.FOREIGN_CONTACT, contact_keyboard())
        return
    phone = try_normalize_phone(message.contact.phone_number)
    with services(context).database.session() as session:
        holder = officers.active_by_phone(session, phone) if phone else None
        if phone is None or (holder is not None and holder.id != caller.officer.id):
            conversations.delete(session, NAME, key)
            refusal = texts.PHONE_NOT_MAINLAND if phone is None else texts.PHONE_TAKEN
            officer = None
        else:
            changes: dict[str, object] = {"phone": phone}
            if phone != caller.officer.phone:
                # The officer's own word: a roster import keeps it (storage.roster).
                changes["phone_changed_at"] = utcnow()
            officer = _update_own(session, caller, "profile.phone", **changes)
            conversations.delete(session, NAME, key)
    if officer is None:
        await reply(update, context, refusal, ReplyKeyboardRemove())
        return
    assert phone is not None
    await reply(
        update, context, texts.PHONE_CHANGED.format(phone=mask_phone(phone)), ReplyKeyboardRemove()
    )
    await reply(
        update,
        context,
        profile_card(officer, organizer=caller.organizer),
        profile_markup(officer, organizer=caller.organizer),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The profile command, its buttons, and the contact that changes the phone."""
    return [
        CommandHandler("me", show_profile, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(action_pressed, pattern=ProfileAction.pattern()),
        CallbackQueryHandler(lunar_pressed, pattern=LunarBirthday.pattern()),
        MessageHandler(filters.CONTACT & PRIVATE_MESSAGE, contact_shared),
    ]
