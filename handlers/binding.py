"""Binding: a stranger shares their phone, confirms their police ID and becomes a bound officer.

No roster match: they give police ID and name, and organizers approve or reject by hand.
Each step commits its state and draft before the prompt goes out, so a crash never loses a step.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
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

from bot import texts
from bot.rules.identity import normalize_police_id, try_normalize_phone
from handlers.callbacks import RequestDecision
from handlers.common import (
    Caller,
    Context,
    caller_or_hint,
    contact_keyboard,
    conversation_key,
    load_caller,
    main_menu_markup,
    notify,
    refresh_commands,
    reply,
    show_main_menu,
)
from handlers.context import services
from storage import audit, bindings, conversations, officers, roles
from storage.models import BindingMethod, BindingRequest, Officer, RequestStatus, Role

NAME = "binding"
ASK_CONTACT = "ask_contact"
ASK_POLICE_ID = "ask_police_id"
ASK_CLAIM_POLICE_ID = "ask_claim_police_id"
ASK_CLAIM_NAME = "ask_claim_name"
END = ConversationHandler.END
HOUR = timedelta(hours=1)
PRIVATE = filters.ChatType.PRIVATE


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
    with services(context).database.session() as session:
        conversations.delete(session, NAME, conversation_key(update))
    await reply(update, context, text, ReplyKeyboardRemove())
    return END


def _goto(update: Update, context: Context, state: str, draft: dict[str, Any]) -> str:
    with services(context).database.session() as session:
        conversations.save(session, NAME, conversation_key(update), state, draft)
    return state


def _draft(update: Update, context: Context) -> dict[str, Any]:
    with services(context).database.session() as session:
        return conversations.draft(session, NAME, conversation_key(update))


async def start(update: Update, context: Context) -> str | int:
    """/start: the main menu for officers; the binding flow for strangers."""
    assert update.effective_user is not None
    # Deep-link payloads (context.args) are ignored on purpose: nothing may skip the binding.
    caller = load_caller(context, update.effective_user.id)
    if caller is not None:
        await _end_silently(update, context)
        await show_main_menu(update, context, caller)
        return END
    if _locked_out(context, update.effective_user.id):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    with services(context).database.session() as session:
        pending = bindings.open_request(session, update.effective_user.id)
    if pending is not None:
        return await _end(update, context, texts.REQUEST_PENDING)
    state = _goto(update, context, ASK_CONTACT, {})
    policy = services(context).policy
    await reply(
        update,
        context,
        texts.WELCOME.format(bot_name=policy.bot_name, union=policy.union_name),
        contact_keyboard(),
    )
    return state


async def _end_silently(update: Update, context: Context) -> None:
    with services(context).database.session() as session:
        conversations.delete(session, NAME, conversation_key(update))


async def contact_shared(update: Update, context: Context) -> str | int:
    """A shared contact: it must be the sender's own; then look the phone up in the roster."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.contact is not None and user is not None
    if message.contact.user_id != user.id:
        if _record_failure(context, update, "foreign_contact"):
            return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
        await reply(update, context, texts.FOREIGN_CONTACT, contact_keyboard())
        return ASK_CONTACT
    phone = try_normalize_phone(message.contact.phone_number)
    with services(context).database.session() as session:
        officer = officers.active_by_phone(session, phone) if phone else None
    if officer is not None:
        state = _goto(update, context, ASK_POLICE_ID, {"officer_id": officer.id, "tries": 0})
        await reply(
            update, context, texts.ASK_POLICE_ID.format(name=officer.name), ReplyKeyboardRemove()
        )
        return state
    if _record_failure(context, update, "no_roster_match"):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    raw_digits = "".join(ch for ch in message.contact.phone_number if ch.isdigit() or ch == "+")
    state = _goto(update, context, ASK_CLAIM_POLICE_ID, {"phone": phone or raw_digits[:20]})
    await reply(update, context, texts.NOT_ON_ROSTER, ReplyKeyboardRemove())
    return state


async def contact_expected(update: Update, context: Context) -> str:
    """Anything but a contact while we wait for one."""
    await reply(update, context, texts.ASK_CONTACT_AGAIN, contact_keyboard())
    return ASK_CONTACT


async def police_id_entered(update: Update, context: Context) -> str | int:
    """The police ID that confirms a roster match; a few wrong tries end the attempt."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    if _locked_out(context, user.id):
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    draft = _draft(update, context)
    try:
        entered = normalize_police_id(message.text)
    except ValueError:
        entered = None
    database = services(context).database
    with database.session() as session:
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
                session,
                actor=f"telegram:{user.id}",
                action="binding.bind",
                target=officer.police_id,
            )
            conversations.delete(session, NAME, conversation_key(update))
    if officer is None:
        await reply(update, context, texts.STRANGER_HINT, ReplyKeyboardRemove())
        return END
    if entered == officer.police_id:
        await _welcome_bound(update, context, user.id)
        return END
    tries = int(draft.get("tries", 0)) + 1
    locked = _record_failure(context, update, "wrong_police_id")
    if locked:
        return await _end(update, context, texts.TOO_MANY_ATTEMPTS)
    left = services(context).policy.binding.max_police_id_tries - tries
    if left <= 0:
        return await _end(update, context, texts.POLICE_ID_TRIES_USED)
    state = _goto(update, context, ASK_POLICE_ID, {**draft, "tries": tries})
    await reply(update, context, texts.WRONG_POLICE_ID.format(left=left))
    return state


async def _welcome_bound(update: Update, context: Context, telegram_user_id: int) -> None:
    caller = load_caller(context, telegram_user_id)
    assert caller is not None
    await reply(update, context, texts.BOUND.format(name=caller.officer.name))
    if caller.roles:
        assert update.effective_chat is not None
        await refresh_commands(context.bot, update.effective_chat.id, caller.roles)
    await show_main_menu(update, context, caller)


async def text_expected(update: Update, context: Context) -> None:
    """A photo, sticker or the like where a typed answer is expected; the state stays."""
    await reply(update, context, texts.ASK_TEXT_POLICE_ID)


async def claimed_police_id_entered(update: Update, context: Context) -> str:
    """No roster match: the police ID the stranger says is theirs."""
    message = update.effective_message
    assert message is not None and message.text is not None
    try:
        police_id = normalize_police_id(message.text)
    except ValueError:
        await reply(update, context, texts.ASK_TEXT_POLICE_ID)
        return ASK_CLAIM_POLICE_ID
    state = _goto(
        update, context, ASK_CLAIM_NAME, {**_draft(update, context), "police_id": police_id}
    )
    await reply(update, context, texts.ASK_CLAIM_NAME)
    return state


def _valid_name(text: str) -> bool:
    name = text.strip()
    return 2 <= len(name) <= 20 and all(ch.isalpha() or ch in "·• " for ch in name)


async def claimed_name_entered(update: Update, context: Context) -> str | int:
    """The stranger's name: file the request and tell the organizers."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and message.text is not None and user is not None
    if not _valid_name(message.text):
        await reply(update, context, texts.BAD_NAME)
        return ASK_CLAIM_NAME
    draft = _draft(update, context)
    with services(context).database.session() as session:
        request = bindings.create_request(
            session,
            BindingRequest(
                telegram_user_id=user.id,
                chat_id=message.chat_id,
                telegram_name=user.full_name[:128],
                phone=str(draft.get("phone", ""))[:20],
                claimed_police_id=str(draft.get("police_id", "")),
                claimed_name=message.text.strip(),
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
        organizers = roles.reachable_holders(session, {Role.ORGANIZER, Role.ADMIN})
        card = _request_card(session, request)
    await reply(update, context, texts.REQUEST_SENT)
    assert request.id is not None
    for _officer, chat_id in organizers:
        await notify(context.bot, chat_id, card, _decision_markup(request.id))
    return END


def _request_card(session: Any, request: BindingRequest) -> str:
    on_roster = officers.by_police_id(session, request.claimed_police_id)
    roster = (
        texts.ROSTER_MATCH.format(name=on_roster.name, unit=on_roster.unit or texts.UNKNOWN)
        if on_roster is not None
        else texts.ROSTER_NO_MATCH
    )
    return texts.REQUEST_CARD.format(
        id=request.id,
        telegram_name=request.telegram_name or texts.UNKNOWN,
        phone=request.phone,
        police_id=request.claimed_police_id,
        name=request.claimed_name,
        roster=roster,
    )


def _decision_markup(request_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    texts.APPROVE_BUTTON, callback_data=RequestDecision(True, request_id).pack()
                ),
                InlineKeyboardButton(
                    texts.REJECT_BUTTON, callback_data=RequestDecision(False, request_id).pack()
                ),
            ]
        ]
    )


async def cancel(update: Update, context: Context) -> int:
    """/cancel inside the binding flow: forget the draft."""
    return await _end(update, context, texts.CANCELLED)


async def decision_pressed(update: Update, context: Context) -> None:
    """An organizer approves or rejects a binding request; checked again on the server."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    decision = RequestDecision.unpack(query.data)
    if decision is None:
        await query.answer(texts.STALE_BUTTON)
        return
    caller = load_caller(context, user.id)
    database = services(context).database
    if caller is None or not caller.has(Role.ORGANIZER, Role.ADMIN):
        with database.session() as session:
            audit.record(
                session,
                actor=caller.actor if caller else f"telegram:{user.id}",
                action="forged.binding_decision",
                target=str(decision.request_id),
            )
        await query.answer(texts.NOT_ALLOWED, show_alert=True)
        return
    with database.session() as session:
        request = bindings.get_request(session, decision.request_id, for_update=True)
        if request is None or request.status != RequestStatus.PENDING:
            request = None
        elif decision.approve:
            officer = _approve(session, request, caller)
        else:
            bindings.decide(session, request, RequestStatus.REJECTED, decided_by=caller.actor)
            audit.record(
                session,
                actor=caller.actor,
                action="binding.reject",
                target=request.claimed_police_id,
                request_id=request.id,
            )
    if request is None:
        await query.answer(texts.REQUEST_ALREADY_DECIDED, show_alert=True)
        return
    await query.answer()
    done = texts.REQUEST_DONE_APPROVED if decision.approve else texts.REQUEST_DONE_REJECTED
    if isinstance(query.message, Message) and query.message.text:
        await query.message.edit_text(query.message.text + done.format(by=caller.officer.name))
    if decision.approve:
        applicant = load_caller(context, request.telegram_user_id)
        name = applicant.officer.name if applicant else officer.name
        await notify(context.bot, request.chat_id, texts.REQUEST_APPROVED.format(name=name))
        if applicant is not None:
            await notify(
                context.bot,
                request.chat_id,
                texts.MAIN_MENU.format(name=name),
                main_menu_markup(applicant),
            )
    else:
        await notify(context.bot, request.chat_id, texts.REQUEST_REJECTED)


def _approve(session: Any, request: BindingRequest, caller: Caller) -> Officer:
    officer = officers.by_police_id(session, request.claimed_police_id)
    phone = try_normalize_phone(request.phone) or ""
    if officer is None:
        officer = officers.create(
            session,
            Officer(police_id=request.claimed_police_id, name=request.claimed_name, phone=phone),
        )
    else:
        changes: dict[str, object] = {"active": True, "left_at": None}
        if phone:
            changes["phone"] = phone
        officers.update_profile(session, officer, **changes)
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
    )
    return officer


async def list_requests(update: Update, context: Context) -> None:
    """/requests: pending binding requests, each with its buttons (organizers only)."""
    caller = await caller_or_hint(update, context)
    if caller is None:
        return
    if update.callback_query is not None:
        await update.callback_query.answer()
    if not caller.has(Role.ORGANIZER, Role.ADMIN):
        await reply(update, context, texts.NOT_ALLOWED)
        return
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
    text = filters.TEXT & ~filters.COMMAND & PRIVATE
    other = ~filters.COMMAND & PRIVATE
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start, filters=PRIVATE)],
        states={
            ASK_CONTACT: [
                MessageHandler(filters.CONTACT & PRIVATE, contact_shared),
                MessageHandler(other, contact_expected),
            ],
            ASK_POLICE_ID: [
                MessageHandler(text, police_id_entered),
                MessageHandler(other, text_expected),
            ],
            ASK_CLAIM_POLICE_ID: [
                MessageHandler(text, claimed_police_id_entered),
                MessageHandler(other, text_expected),
            ],
            ASK_CLAIM_NAME: [
                MessageHandler(text, claimed_name_entered),
                MessageHandler(other, text_expected),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        allow_reentry=True,
        name=NAME,
        persistent=True,
    )
    return [
        conversation,
        CallbackQueryHandler(decision_pressed, pattern=RequestDecision.pattern()),
        CommandHandler("requests", list_requests, filters=PRIVATE),
    ]
