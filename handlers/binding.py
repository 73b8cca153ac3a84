"""Binding: a stranger shares their phone, confirms their police ID and becomes a bound officer.

No roster match: they give police ID and name, and organizers approve or reject by hand.
Each step commits its state and draft before the prompt goes out, so a crash never loses a step.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import Enum
from typing import Any

from sqlmodel import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardRemove,
    Update,
)
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)

from bot import texts
from bot.rules.identity import mask_phone, normalize_police_id, try_normalize_phone
from bot.rules.text import BLANK_LOOKALIKES, clean, meaningful
from handlers.access import Access, access, pressed
from handlers.callbacks import RequestDecision
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    FlowStore,
    answer,
    contact_keyboard,
    conversation_key,
    load_caller,
    main_menu_markup,
    notify,
    prompt,
    refresh_commands,
    reply,
    show_main_menu,
)
from handlers.context import services
from storage import audit, bindings, conversations, officers, roles
from storage.models import BindingMethod, BindingRequest, Officer, RequestStatus, Role

log = logging.getLogger(__name__)

NAME = "binding"
FLOW = FlowStore(NAME)
ASK_CONTACT = "ask_contact"
ASK_POLICE_ID = "ask_police_id"
ASK_CLAIM_POLICE_ID = "ask_claim_police_id"
ASK_CLAIM_NAME = "ask_claim_name"
END = ConversationHandler.END
HOUR = timedelta(hours=1)
# Organizers decide requests; a press by anyone else is forged (or outdated) and audited.
DECIDER: Access[RequestDecision] = Access(
    ORGANIZER_ROLES,
    forged="forged.binding_decision",
    target=lambda decision: str(decision.request_id),
)
# /requests and its menu button: the button pressed without the role is audited.
REQUESTS: Access[Any] = Access(ORGANIZER_ROLES, forged="forged.requests_menu")


def _locked_out(context: Context, telegram_user_id: int) -> bool:
    limit = services(context).policy.binding.max_failed_attempts_per_hour
    with services(context).database.session() as session:
        return bindings.failures_within(session, telegram_user_id, HOUR) >= limit


def _record_failure(context: Context, update: Update, reason: str) -> bool:
    """Count a failed attempt; True if the account is now locked out for the hour."""
    assert update.effective_user is not None
    limit = services(context).policy.binding.max_failed_attempts_per_hour
    with services(context).database.session() as session:
        bindings.record_failure(session, update.effective_user.id, reason)
        return bindings.failures_within(session, update.effective_user.id, HOUR) >= limit


async def _end(update: Update, context: Context, text: str) -> int:
    FLOW.forget(update, context)
    await prompt(update, context, text, ReplyKeyboardRemove())
    return END


async def start(update: Update, context: Context) -> str | int:
    """/start: the main menu for officers; the binding flow for strangers."""
    assert update.effective_user is not None
    # Deep-link payloads (context.args) are ignored on purpose: nothing may skip the binding.
    caller = load_caller(context, update.effective_user.id)
    if caller is not None:
        # /start is a fresh start: any flow the officer left half-way is dropped.
        with services(context).database.session() as session:
            conversations.delete_all_for(session, conversation_key(update))
        await show_main_menu(update, context, caller)
        return END
    if _locked_out(context, update.effective_user.id):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    with services(context).database.session() as session:
        pending = bindings.open_request(session, update.effective_user.id)
    if pending is not None:
        return await _end(update, context, texts.REQUEST_PENDING)
    state = FLOW.save(update, context, ASK_CONTACT, {})
    policy = services(context).policy
    welcome = texts.WELCOME.format(bot_name=policy.bot_name, union=policy.union_name)
    await prompt(update, context, welcome, contact_keyboard())
    return state


async def contact_shared(update: Update, context: Context) -> str | int:
    """A shared contact: it must be the sender's own; then look the phone up in the roster."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.contact is not None and user is not None
    if message.contact.user_id != user.id:
        if _record_failure(context, update, "foreign_contact"):
            return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
        await prompt(update, context, texts.FOREIGN_CONTACT, contact_keyboard())
        return ASK_CONTACT
    phone = try_normalize_phone(message.contact.phone_number)
    with services(context).database.session() as session:
        officer = officers.active_by_phone(session, phone) if phone else None
    if officer is not None:
        # The officer's name is not shown yet: whoever holds a recycled number must not learn it.
        state = FLOW.save(update, context, ASK_POLICE_ID, {"officer_id": officer.id, "tries": 0})
        await prompt(update, context, texts.ASK_POLICE_ID, ReplyKeyboardRemove())
        return state
    if _record_failure(context, update, "no_roster_match"):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    raw_digits = "".join(ch for ch in message.contact.phone_number if ch.isdigit() or ch == "+")
    state = FLOW.save(update, context, ASK_CLAIM_POLICE_ID, {"phone": phone or raw_digits[:20]})
    await prompt(update, context, texts.NOT_ON_ROSTER, ReplyKeyboardRemove())
    return state


async def contact_expected(update: Update, context: Context) -> str:
    """Anything but a contact while we wait for one."""
    await prompt(update, context, texts.ASK_CONTACT_AGAIN, contact_keyboard())
    return ASK_CONTACT


async def police_id_entered(update: Update, context: Context) -> str | int:
    """The police ID that confirms a roster match; a few wrong tries end the attempt."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    if _locked_out(context, user.id):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    draft = FLOW.draft(update, context)
    try:
        entered = normalize_police_id(message.text)
    except ValueError:
        entered = None
    with services(context).database.session() as session:
        officer = officers.by_id(session, int(draft.get("officer_id", 0)))
        if officer is None or not officer.active:
            conversations.delete(session, NAME, conversation_key(update))
            officer = None
        elif entered == officer.police_id:
            officers.bind(
                session,
                officer,
                telegram_user_id=user.id,
                chat_id=message.chat_id,
                method=BindingMethod.CONTACT,
            )
            audit.record(
                session, actor=f"telegram:{user.id}", action="binding.bind", target=entered
            )
            conversations.delete(session, NAME, conversation_key(update))
    if officer is None:
        await prompt(update, context, texts.STRANGER_HINT, ReplyKeyboardRemove())
        return END
    if entered == officer.police_id:
        await _welcome_bound(update, context, user.id)
        return END
    tries = int(draft.get("tries", 0)) + 1
    if _record_failure(context, update, "wrong_police_id"):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    left = services(context).policy.binding.max_police_id_tries - tries
    if left <= 0:
        return await _end(update, context, texts.POLICE_ID_TRIES_USED)
    state = FLOW.save(update, context, ASK_POLICE_ID, {**draft, "tries": tries})
    await prompt(update, context, texts.WRONG_POLICE_ID.format(left=left))
    return state


async def _welcome_bound(update: Update, context: Context, telegram_user_id: int) -> None:
    caller = load_caller(context, telegram_user_id)
    assert caller is not None and update.effective_chat is not None
    try:
        await reply(update, context, texts.BOUND.format(name=caller.officer.name))
        await refresh_commands(
            context.bot, update.effective_chat.id, caller.roles, staff=bool(caller.staffs)
        )
        await show_main_menu(update, context, caller)
    except TelegramError as exc:
        # Bound and committed: the officer's next /start shows the menu.
        log.warning("could not welcome a newly bound officer: %s", type(exc).__name__)


async def police_id_as_text(update: Update, context: Context) -> None:
    """A photo, sticker or the like where a police ID is expected; the state stays."""
    await prompt(update, context, texts.ASK_TEXT_POLICE_ID)


async def name_as_text(update: Update, context: Context) -> None:
    """A photo, sticker or the like where the name is expected; the state stays."""
    await prompt(update, context, texts.ASK_CLAIM_NAME)


async def claimed_police_id_entered(update: Update, context: Context) -> str:
    """No roster match: the police ID the stranger says is theirs."""
    message = update.effective_message
    assert message is not None and message.text is not None
    try:
        police_id = normalize_police_id(message.text)
    except ValueError:
        await prompt(update, context, texts.ASK_TEXT_POLICE_ID)
        return ASK_CLAIM_POLICE_ID
    draft = {**FLOW.draft(update, context), "police_id": police_id}
    state = FLOW.save(update, context, ASK_CLAIM_NAME, draft)
    await prompt(update, context, texts.ASK_CLAIM_NAME)
    return state


def _valid_name(text: str) -> bool:
    name = clean(text)
    return (
        meaningful(name)
        and 2 <= len(name) <= 20
        and all(ch.isalpha() or ch in "·• " for ch in name)
        # Hangul fillers are letters by category that show as blank space.
        and not any(ch in BLANK_LOOKALIKES for ch in name)
    )


async def claimed_name_entered(update: Update, context: Context) -> str | int:
    """The stranger's name: file the request and tell the organizers."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    if not _valid_name(message.text):
        await prompt(update, context, texts.BAD_NAME)
        return ASK_CLAIM_NAME
    draft = FLOW.draft(update, context)
    with services(context).database.session() as session:
        request = bindings.create_request(
            session,
            BindingRequest(
                telegram_user_id=user.id,
                chat_id=message.chat_id,
                telegram_name=user.full_name[:128],
                phone=str(draft.get("phone", ""))[:20],
                claimed_police_id=str(draft.get("police_id", "")),
                claimed_name=clean(message.text),
            ),
        )
        audit.record(
            session,
            actor=f"telegram:{user.id}",
            action="binding.request",
            target=request.claimed_police_id,
            request_id=request.id,
        )
        conversations.delete(session, NAME, conversation_key(update))
        organizers = roles.reachable_holders(session, set(ORGANIZER_ROLES))
        card = _request_card(session, request)
    assert request.id is not None
    await prompt(update, context, texts.REQUEST_SENT)
    for _officer, chat_id in organizers:
        await notify(context.bot, chat_id, card, _decision_markup(request.id))
    return END


def _request_card(session: Session, request: BindingRequest) -> str:
    """What an organizer needs to judge a request, including every warning sign."""
    on_roster = officers.by_police_id(session, request.claimed_police_id)
    if on_roster is None or on_roster.id is None:
        roster = texts.ROSTER_NO_MATCH
    else:
        roster = texts.ROSTER_MATCH.format(
            name=on_roster.name, unit=on_roster.unit or texts.UNKNOWN
        )
        if officers.binding_of(session, on_roster.id) is not None:
            roster += texts.ROSTER_ALREADY_BOUND
        if roles.roles_of(session, on_roster.id):
            roster += texts.ROSTER_HAS_ROLE
        if on_roster.phone == request.phone:
            roster += texts.ROSTER_PHONE_SAME
        else:
            shown = mask_phone(on_roster.phone) if on_roster.phone else texts.UNKNOWN
            roster += texts.ROSTER_PHONE_DIFFERENT.format(phone=shown)
    return texts.REQUEST_CARD.format(
        id=request.id,
        telegram_name=request.telegram_name or texts.UNKNOWN,
        phone=request.phone,
        police_id=request.claimed_police_id,
        name=request.claimed_name,
        roster=roster,
    )


def _decision_markup(request_id: int) -> InlineKeyboardMarkup:
    approve = RequestDecision(approve=True, request_id=request_id).pack()
    reject = RequestDecision(approve=False, request_id=request_id).pack()
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(texts.APPROVE_BUTTON, callback_data=approve),
                InlineKeyboardButton(texts.REJECT_BUTTON, callback_data=reject),
            ]
        ]
    )


async def cancel(update: Update, context: Context) -> int:
    """/cancel inside the binding flow: forget the draft."""
    return await _end(update, context, texts.CANCELLED)


class Outcome(Enum):
    """What an organizer's press on a request came to."""

    APPROVED = "approved"
    REJECTED = "rejected"
    STALE = "stale"
    NEEDS_ADMIN = "needs_admin"
    DECIDED = "decided"  # decided before (a repeated press, or another organizer's card)


@pressed(RequestDecision, DECIDER)
async def decision_pressed(
    update: Update, context: Context, decision: RequestDecision, caller: Caller
) -> None:
    """An organizer approves or rejects a binding request; checked again on the server."""
    query = update.callback_query
    assert query is not None
    database = services(context).database
    displaced_chat: int | None = None
    decided_mark = ""
    with database.session() as session:
        request = bindings.get_request(session, decision.request_id, for_update=True)
        if request is None:
            outcome = Outcome.STALE
        elif request.status != RequestStatus.PENDING:
            outcome = Outcome.DECIDED
            decided_mark = _decided_mark(session, request)
        elif officers.bound_officer(session, request.telegram_user_id) is not None:
            # The applicant bound by contact meanwhile: the request has nothing left to decide.
            bindings.decide(session, request, RequestStatus.REJECTED, decided_by=caller.actor)
            audit.record(
                session,
                actor=caller.actor,
                action="binding.request_stale",
                target=request.claimed_police_id,
                request_id=request.id,
            )
            outcome = Outcome.STALE
        elif not decision.approve:
            bindings.decide(session, request, RequestStatus.REJECTED, decided_by=caller.actor)
            audit.record(
                session,
                actor=caller.actor,
                action="binding.reject",
                target=request.claimed_police_id,
                request_id=request.id,
            )
            outcome = Outcome.REJECTED
        else:
            outcome, displaced_chat = _approve(session, request, caller)
    if outcome is Outcome.STALE:
        await answer(update, texts.STALE_BUTTON)
        return
    if outcome is Outcome.DECIDED:
        # The card shows how it was decided, as the first press left it (or should have).
        await answer(update, texts.REQUEST_ALREADY_DECIDED)
        await _mark_card(query.message, decided_mark)
        return
    if outcome is Outcome.NEEDS_ADMIN:
        await answer(update, texts.APPROVAL_NEEDS_ADMIN, alert=True)
        return
    assert request is not None
    await answer(update)
    # The people affected hear first; the organizer's card is cosmetic and may fail.
    if outcome is Outcome.APPROVED:
        applicant = load_caller(context, request.telegram_user_id)
        if applicant is not None:
            name = applicant.officer.name
            await notify(context.bot, request.chat_id, texts.REQUEST_APPROVED.format(name=name))
            await notify(
                context.bot,
                request.chat_id,
                texts.MAIN_MENU.format(name=name),
                main_menu_markup(applicant),
            )
        if displaced_chat is not None:
            await notify(context.bot, displaced_chat, texts.ACCOUNT_DISPLACED)
        done = texts.REQUEST_DONE_APPROVED
    else:
        await notify(context.bot, request.chat_id, texts.REQUEST_REJECTED)
        done = texts.REQUEST_DONE_REJECTED
    await _mark_card(query.message, done.format(by=caller.officer.name))


def _decided_mark(session: Session, request: BindingRequest) -> str:
    """✅ 已批准（赵敏） or ❌ 已拒绝（赵敏）: a decided request, as its card is marked."""
    police_id = request.decided_by.removeprefix("officer:")
    decider = officers.by_police_id(session, police_id) if police_id else None
    by = decider.name if decider is not None else request.decided_by
    template = (
        texts.REQUEST_DONE_APPROVED
        if request.status == RequestStatus.APPROVED
        else texts.REQUEST_DONE_REJECTED
    )
    return template.format(by=by)


async def _mark_card(message: object, suffix: str) -> None:
    if not isinstance(message, Message) or not message.text:
        return
    if message.text.endswith(suffix.strip()):
        return  # marked already
    try:
        await message.edit_text(message.text + suffix)
    except TelegramError as exc:
        log.info("could not mark a request card: %s", type(exc).__name__)


def _approve(
    session: Session, request: BindingRequest, caller: Caller
) -> tuple[Outcome, int | None]:
    """Bind the applicant; returns the outcome and the chat of a displaced account, if any."""
    officer = officers.by_police_id(session, request.claimed_police_id)
    phone = try_normalize_phone(request.phone)
    displaced: int | None = None
    if officer is None:
        holder = officers.active_by_phone(session, phone) if phone else None
        officer = officers.create(
            session,
            Officer(
                police_id=request.claimed_police_id,
                name=request.claimed_name,
                phone=phone if phone and holder is None else "",
            ),
        )
    else:
        assert officer.id is not None
        previous = officers.binding_of(session, officer.id)
        # Handing over someone's identity (and with it any role they hold) is an admin's call.
        if (previous is not None or roles.roles_of(session, officer.id)) and not caller.has(
            Role.ADMIN
        ):
            return Outcome.NEEDS_ADMIN, None
        if previous is not None and previous.telegram_user_id != request.telegram_user_id:
            displaced = previous.chat_id
        # The roster phone stays: the officer can change it themselves once bound.
        officers.update_profile(session, officer, active=True, left_at=None)
    officers.bind(
        session,
        officer,
        telegram_user_id=request.telegram_user_id,
        chat_id=request.chat_id,
        method=BindingMethod.APPROVAL,
    )
    bindings.decide(
        session, request, RequestStatus.APPROVED, decided_by=caller.actor, officer_id=officer.id
    )
    audit.record(
        session,
        actor=caller.actor,
        action="binding.approve",
        target=officer.police_id,
        request_id=request.id,
        displaced=displaced is not None,
    )
    return Outcome.APPROVED, displaced


@access(REQUESTS)
async def list_requests(update: Update, context: Context, _caller: Caller) -> None:
    """/requests or its menu button: pending binding requests, each with its buttons."""
    await answer(update)
    with services(context).database.session() as session:
        pending = bindings.pending_requests(session)
        cards = [(request.id, _request_card(session, request)) for request in pending]
    if not cards:
        await reply(update, context, texts.NO_PENDING_REQUESTS)
        return
    await reply(update, context, texts.PENDING_REQUESTS_HEADER.format(count=len(cards)))
    for request_id, card in cards:
        assert request_id is not None
        await reply(update, context, card, _decision_markup(request_id))


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The binding conversation and the organizers' decision buttons."""
    text = filters.TEXT & ~filters.COMMAND & PRIVATE_MESSAGE
    other = ~filters.COMMAND & PRIVATE_MESSAGE
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start, filters=PRIVATE_MESSAGE)],
        states={
            ASK_CONTACT: [
                MessageHandler(filters.CONTACT & PRIVATE_MESSAGE, contact_shared),
                MessageHandler(other, contact_expected),
            ],
            ASK_POLICE_ID: [
                MessageHandler(text, police_id_entered),
                MessageHandler(other, police_id_as_text),
            ],
            ASK_CLAIM_POLICE_ID: [
                MessageHandler(text, claimed_police_id_entered),
                MessageHandler(other, police_id_as_text),
            ],
            ASK_CLAIM_NAME: [
                MessageHandler(text, claimed_name_entered),
                MessageHandler(other, name_as_text),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
        allow_reentry=True,
        name=NAME,
        persistent=True,
    )
    return [
        conversation,
        CallbackQueryHandler(decision_pressed, pattern=RequestDecision.pattern()),
        CommandHandler("requests", list_requests, filters=PRIVATE_MESSAGE),
    ]
