"""Binding: a stranger shares their phone, confirms their police ID and becomes a bound officer.

No roster match: they give police ID and name, and organizers approve or reject by hand.
Each step commits its state and draft before the prompt goes out, so a crash never loses a step.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum, StrEnum
from typing import Any

from sqlmodel import Session
from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
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

from bot import effects, texts
from bot.rules.identity import mask_phone, normalize_police_id, try_normalize_phone
from bot.rules.text import BLANK_LOOKALIKES, clean, meaningful
from handlers.access import Access, access, action_of, pressed
from handlers.callbacks import ApproveStep, RequestDecision
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
    show_step,
)
from handlers.context import services
from handlers.flow import Draft, Flow, Pressed, StoredConversationHandler, Typed
from storage import audit, bindings, broadcasts, conversations, officers, roles
from storage.models import BindingMethod, BindingRequest, Gender, Officer, RequestStatus, Role

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
        # Each organizer's copy is noted, so a decision by one closes the others' copies.
        copies = [
            (chat_id, bindings.add_copy(session, request.id, chat_id))
            for _officer, chat_id in organizers
        ]
    await prompt(update, context, texts.REQUEST_SENT)
    for chat_id, copy_id in copies:
        with effects.on_sent("binding_copy", copy_id):
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
    DETAILS = "details"  # a new officer: ask the organizer for their unit and gender first
    DECEASED = "deceased"  # the roster's officer of that police ID died: nobody binds to them


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
    card = ""
    copies: list[tuple[int, int]] = []
    units: tuple[str, ...] = ()
    with database.session() as session:
        request = bindings.get_request(session, decision.request_id, for_update=True)
        if request is not None and request.status == RequestStatus.PENDING:
            # As the organizers saw it, before this decision changes the roster it describes.
            card = _request_card(session, request)
            copies = bindings.copies_of(session, int(request.id or 0))
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
        elif officers.by_police_id(session, request.claimed_police_id) is None:
            # Nothing is decided yet: the new officer's unit and gender come first.
            outcome = Outcome.DETAILS
            units = _units(session, context)
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
    if outcome is Outcome.DECEASED:
        await answer(update, texts.REQUEST_DECEASED, alert=True)
        return
    assert request is not None and request.id is not None
    if outcome is Outcome.DETAILS:
        await _ask_unit(update, context, request, units)
        return
    await answer(update)
    await _decided(update, context, caller, request, outcome, displaced_chat)
    done = (
        texts.REQUEST_DONE_APPROVED if outcome is Outcome.APPROVED else texts.REQUEST_DONE_REJECTED
    ).format(by=caller.officer.name)
    await _mark_card(query.message, done)
    await _close_copies(context, copies, query.message, card + done)


async def _decided(
    update: Update,
    context: Context,
    caller: Caller,
    request: BindingRequest,
    outcome: Outcome,
    displaced_chat: int | None,
) -> None:
    """After the commit: the applicant (and an account that lost the identity) hear of it."""
    # The people affected hear first; the organizers' cards are cosmetic and may fail.
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
    else:
        await notify(context.bot, request.chat_id, texts.REQUEST_REJECTED)


async def _close_copies(
    context: Context, copies: Sequence[tuple[int, int]], pressed: object, text: str
) -> None:
    """Every other organizer's copy of the card: who decided, and no buttons left to press."""
    here = (
        (pressed.chat.id, pressed.message_id)
        if isinstance(pressed, MaybeInaccessibleMessage)
        else None
    )
    for chat_id, message_id in copies:
        if (chat_id, message_id) == here:
            continue
        try:
            await context.bot.edit_message_text(
                text, chat_id=chat_id, message_id=message_id, reply_markup=None
            )
        except TelegramError as exc:
            # A copy deleted or too old to edit: a press on it is answered as decided.
            log.info("could not close a request card: %s", type(exc).__name__)


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
    session: Session,
    request: BindingRequest,
    caller: Caller,
    *,
    unit: str = "",
    gender: str | None = None,
) -> tuple[Outcome, int | None]:
    """Bind the applicant; returns the outcome and the chat of a displaced account, if any.

    A new officer is created with the unit and gender the organizer chose.
    """
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
                unit=unit,
                gender=gender,
                phone=phone if phone and holder is None else "",
            ),
        )
    elif officer.deceased_at is not None:
        return Outcome.DECEASED, None
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
    chat = update.effective_chat
    assert chat is not None
    with services(context).database.session() as session:
        pending = bindings.pending_requests(session)
        cards = [
            (
                int(request.id or 0),
                _request_card(session, request),
                bindings.add_copy(session, int(request.id or 0), chat.id),
            )
            for request in pending
        ]
    if not cards:
        await reply(update, context, texts.NO_PENDING_REQUESTS)
        return
    await reply(update, context, texts.PENDING_REQUESTS_HEADER.format(count=len(cards)))
    for request_id, card, copy_id in cards:
        with effects.on_sent("binding_copy", copy_id):
            await reply(update, context, card, _decision_markup(request_id))


# --- approving a stranger: their unit and gender -------------------------------------------


class ApproveState(StrEnum):
    """The steps of approving someone the roster does not know."""

    UNIT = "ask_unit"
    GENDER = "ask_gender"


@dataclass(frozen=True)
class ApprovalDraft(Draft):
    """A new officer in the making: the request, the units offered, the unit chosen."""

    request_id: int = 0
    # The units offered: the buttons point into this list (a name may not fit in 64 bytes).
    units: tuple[str, ...] = ()
    unit: str = ""


def _approval_ready(state: ApproveState, draft: ApprovalDraft) -> bool:
    """True if the draft holds what its step needs."""
    return draft.request_id > 0 and (state != ApproveState.GENDER or bool(draft.unit))


APPROVER: Access[ApproveStep] = Access(
    ORGANIZER_ROLES, forged="forged.binding_approve", target=action_of
)
APPROVAL = Flow(
    "binding_approve",
    ApproveState,
    ApprovalDraft,
    ApproveStep,
    access=APPROVER,
    ready=_approval_ready,
)
ApprovePress = Pressed[ApproveState, ApprovalDraft, ApproveStep]
ApproveText = Typed[ApproveState, ApprovalDraft]
UNITS_PER_PAGE = 8
UNITS_PER_ROW = 2
UNIT_LIMIT = 128  # the officer table's unit column
GENDERS = {Gender.MALE: texts.APPROVE_GENDER_MALE, Gender.FEMALE: texts.APPROVE_GENDER_FEMALE}


def _units(session: Session, context: Context) -> tuple[str, ...]:
    """The units on the roster and in the policy, in name order."""
    named = set(broadcasts.units_in_use(session)) | set(services(context).policy.units)
    return tuple(sorted(named))


def _step_button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=ApproveStep(flow, action, value).pack())


def _unit_markup(draft: ApprovalDraft, page: int) -> InlineKeyboardMarkup:
    """One page of unit buttons, the page buttons, and 取消."""
    start = page * UNITS_PER_PAGE
    shown = list(enumerate(draft.units))[start : start + UNITS_PER_PAGE]
    buttons = [_step_button(unit, draft.flow, "unit", str(index)) for index, unit in shown]
    rows = [buttons[i : i + UNITS_PER_ROW] for i in range(0, len(buttons), UNITS_PER_ROW)]
    paging = []
    if page > 0:
        paging.append(_step_button(texts.APPROVE_UNIT_PREV, draft.flow, "page", str(page - 1)))
    if start + UNITS_PER_PAGE < len(draft.units):
        paging.append(_step_button(texts.APPROVE_UNIT_NEXT, draft.flow, "page", str(page + 1)))
    if paging:
        rows.append(paging)
    rows.append([_step_button(texts.APPROVE_CANCEL, draft.flow, "cancel")])
    return InlineKeyboardMarkup(rows)


def _pages(draft: ApprovalDraft) -> int:
    return max(1, -(-len(draft.units) // UNITS_PER_PAGE))


def _unit_question(request: BindingRequest | None, draft: ApprovalDraft, page: int) -> str:
    name = request.claimed_name if request else ""
    police_id = request.claimed_police_id if request else ""
    question = texts.APPROVE_ASK_UNIT.format(name=name, police_id=police_id)
    if _pages(draft) > 1:
        question += texts.APPROVE_ASK_UNIT_PAGE.format(page=page + 1, pages=_pages(draft))
    return question


def _request_of(context: Context, draft: ApprovalDraft) -> BindingRequest | None:
    with services(context).database.session() as session:
        return bindings.get_request(session, draft.request_id)


async def _ask_unit(
    update: Update, context: Context, request: BindingRequest, units: tuple[str, ...]
) -> None:
    """批准 on a stranger's request: the card turns into the unit step."""
    assert request.id is not None
    draft = ApprovalDraft(APPROVAL.token(), request_id=request.id, units=units)
    APPROVAL.begin(update, context, ApproveState.UNIT, draft)
    await APPROVAL.show(update, context, _unit_question(request, draft, 0), _unit_markup(draft, 0))


async def _page_chosen(update: Update, context: Context, turn: ApprovePress) -> None:
    value = turn.data.value
    page = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= page < _pages(turn.draft):
        await answer(update, texts.STALE_BUTTON)
        return
    request = _request_of(context, turn.draft)
    await APPROVAL.show(
        update, context, _unit_question(request, turn.draft, page), _unit_markup(turn.draft, page)
    )


async def _unit_chosen(update: Update, context: Context, turn: ApprovePress) -> ApproveState | None:
    value = turn.data.value
    index = int(value) if value.isascii() and value.isdigit() else -1
    if not 0 <= index < len(turn.draft.units):
        await answer(update, texts.STALE_BUTTON)
        return None
    return await _ask_gender(update, context, turn.draft, turn.draft.units[index])


async def _unit_typed(update: Update, context: Context, turn: ApproveText) -> ApproveState | None:
    unit = clean(turn.message.text or "")
    if not meaningful(unit) or len(unit) > UNIT_LIMIT:
        await prompt(update, context, texts.APPROVE_UNIT_BAD.format(limit=UNIT_LIMIT))
        return None
    return await _ask_gender(update, context, turn.draft, unit)


async def _ask_gender(
    update: Update, context: Context, draft: ApprovalDraft, unit: str
) -> ApproveState:
    chosen = dataclasses.replace(draft, unit=unit)
    request = _request_of(context, chosen)
    question = texts.APPROVE_ASK_GENDER.format(
        name=request.claimed_name if request else "",
        police_id=request.claimed_police_id if request else "",
        unit=unit,
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _step_button(label, chosen.flow, "gender", gender)
                for gender, label in GENDERS.items()
            ],
            [_step_button(texts.APPROVE_CANCEL, chosen.flow, "cancel")],
        ]
    )
    return await APPROVAL.advance(update, context, ApproveState.GENDER, chosen, question, markup)


REFUSALS = {
    Outcome.DECIDED: texts.REQUEST_ALREADY_DECIDED,
    Outcome.STALE: texts.STALE_BUTTON,
    Outcome.NEEDS_ADMIN: texts.APPROVAL_NEEDS_ADMIN,
    Outcome.DECEASED: texts.REQUEST_DECEASED,
}


async def _gender_chosen(update: Update, context: Context, turn: ApprovePress) -> int | None:
    """男 / 女: the officer is created with the chosen unit and gender, and bound."""
    if turn.data.value not in GENDERS:
        await answer(update, texts.STALE_BUTTON)
        return None
    gender = Gender(turn.data.value)
    caller = turn.caller
    displaced_chat: int | None = None
    card = ""
    copies: list[tuple[int, int]] = []
    request: BindingRequest | None = None
    outcome: Outcome | None = None
    with APPROVAL.taking(update, context, ApproveState.GENDER, turn.draft.flow) as (session, draft):
        if draft is not None:
            request = bindings.get_request(session, draft.request_id, for_update=True)
            if request is None or request.status != RequestStatus.PENDING:
                # Another organizer decided meanwhile: the flow ends, nothing else changes.
                outcome = Outcome.DECIDED
            elif officers.bound_officer(session, request.telegram_user_id) is not None:
                outcome = Outcome.STALE
            else:
                card = _request_card(session, request)
                copies = bindings.copies_of(session, int(request.id or 0))
                outcome, displaced_chat = _approve(
                    session, request, caller, unit=draft.unit, gender=gender
                )
    if outcome is None:
        await APPROVAL.expire(update)
        return None
    if outcome is not Outcome.APPROVED or request is None:
        refusal = REFUSALS.get(outcome, texts.STALE_BUTTON)
        await answer(update, refusal, alert=outcome is not Outcome.DECIDED)
        await show_step(update, context, refusal)
        return END
    await answer(update)
    await _decided(update, context, caller, request, outcome, displaced_chat)
    # The mark comes last: a later press on this card finds it marked (see _mark_card).
    done = texts.APPROVE_DONE_DETAIL.format(unit=turn.draft.unit, gender=GENDERS[gender])
    done += texts.REQUEST_DONE_APPROVED.format(by=caller.officer.name)
    await show_step(update, context, card + done)
    pressed = update.callback_query.message if update.callback_query else None
    await _close_copies(context, copies, pressed, card + done)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The binding conversation and the organizers' decision buttons."""
    text = filters.TEXT & ~filters.COMMAND & PRIVATE_MESSAGE
    other = ~filters.COMMAND & PRIVATE_MESSAGE
    conversation = StoredConversationHandler(
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
        name=NAME,
    )
    approval = APPROVAL.handler(
        entry_points=[],
        states={
            ApproveState.UNIT: [
                APPROVAL.press("unit", _unit_chosen),
                APPROVAL.press("page", _page_chosen),
                APPROVAL.press("cancel", APPROVAL.cancel(texts.APPROVE_CANCELLED)),
                APPROVAL.typed(_unit_typed),
            ],
            ApproveState.GENDER: [
                APPROVAL.press("gender", _gender_chosen),
                APPROVAL.press("cancel", APPROVAL.cancel(texts.APPROVE_CANCELLED)),
                APPROVAL.remind(texts.APPROVE_USE_BUTTONS),
            ],
        },
    )
    return [
        conversation,
        approval,
        APPROVAL.outside(),
        CallbackQueryHandler(decision_pressed, pattern=RequestDecision.pattern()),
        CommandHandler("requests", list_requests, filters=PRIVATE_MESSAGE),
    ]
