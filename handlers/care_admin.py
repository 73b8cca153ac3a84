"""Organizers' side of care cases: 已探望, 已发放 and 不予受理 on a case card, and /cases.

已探望 is one press. 已发放 (the amount, and a reason if it is not the policy's sum) and 不予受理
(a reason) are short conversations whose every step commits its state and draft before its
prompt, so a restart resumes them. The database, not PTB's memory, says where a flow stands: the
StoredConversationHandler reads the row at every update (any instance of the bot may get the
next one), and every step reads its draft back first. The final step locks the case, re-checks
the organizer's role and the step, moves the case and writes the audit entry in one transaction;
the officer hears of it after the commit.

A visit or payment on an officer's death case is the union's confirmation of that death
(storage.deaths): in the same transaction the officer is marked deceased, nothing more is sent
to their account, their places go to the next in line; the organizer reads one line of it.

/cases lists cases with filters, /cases stats gives figures, /cases export sends finance's
workbook. The ward and the note (health details) appear only on cards in organizers' private
chats: never in a list, an export, the audit log or a log line.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from enum import Enum
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
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
from bot.care_export import export_bytes
from bot.policy import ServicePolicy
from bot.rules.care import Sum, paid_amount_problem
from bot.rules.case_query import FilterError, describe, parse_filter, parse_period, split_arguments
from bot.rules.text import clean, meaningful
from handlers import menu
from handlers.access import ORGANIZER, Access, access, action_of, pressed
from handlers.bookings import offer_of, promoted_text
from handlers.callbacks import CallbackData, CaseAction
from handlers.care_cards import case_card, case_markup, event_name
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    FlowStore,
    answer,
    conversation_key,
    edit_or_send,
    notify,
    notify_told,
    prompt,
    reply,
    typed_command,
)
from handlers.context import services
from handlers.drives import when_text as drive_when
from handlers.events.listing import when_text as event_when
from handlers.flow import StoredConversationHandler
from storage import audit, broadcasts, care, conversations, deaths, officers, roles
from storage.bookings import Offer
from storage.crypto import FieldCipher
from storage.models import BloodDrive, CareCase, CaseStatus, Event, Officer
from storage.types import utcnow

log = logging.getLogger(__name__)

NAME = "care_admin"
FLOW = FlowStore(NAME)
ASK_AMOUNT = "ask_amount"
ASK_PAY_REASON = "ask_pay_reason"
ASK_DECLINE_REASON = "ask_decline_reason"
STATES = (ASK_AMOUNT, ASK_PAY_REASON, ASK_DECLINE_REASON)
END = ConversationHandler.END

REASON_LIMIT = care.REASON_LIMIT
# A case without a policy sum takes any amount up to this: a guard against a typo's extra zeros
# (and the INTEGER column), far above any sum the union pays.
UNPRICED_LIMIT = 100_000
LIST_LIMIT = 200
AUDIT_ACTIONS = {
    CaseStatus.VISITED: "care.visit",
    CaseStatus.PAID: "care.pay",
    CaseStatus.DECLINED: "care.decline",
}


@dataclasses.dataclass(frozen=True)
class CaseFlowButton(CallbackData):
    """A button of a 已发放 / 不予受理 flow; `flow` ties it to the draft it was shown for."""

    prefix: ClassVar[str] = "casef"
    flow: str
    action: str

    def __post_init__(self) -> None:
        if self.action not in ("sum", "cancel") or not self.flow.isalnum():
            raise ValueError(self.action)


# --- who may act -------------------------------------------------------------------------


def _private(update: Update) -> bool:
    """Cards carry health details: their buttons only count in a private chat."""
    chat = update.effective_chat
    return chat is not None and chat.type == ChatType.PRIVATE


def _on_case(forged: str) -> Access[CaseAction]:
    """Organizers and admins act on a case card; a press by anyone else is a forged (or
    outdated) privileged press, audited as `forged` with the case's id."""
    return Access(ORGANIZER_ROLES, forged=forged, target=lambda action: str(action.case_id))


VISITOR = _on_case("forged.case_visit")
PAYER = _on_case("forged.case_pay")
DECLINER = _on_case("forged.case_decline")
# Inside a 已发放 / 不予受理 flow: the same right, checked again at every step.
CASE_FLOW: Access[CaseFlowButton] = Access(
    ORGANIZER_ROLES, forged="forged.case_flow", target=action_of
)


async def _flow_refused(update: Update, context: Context) -> int:
    """Someone who lost the role half-way through loses the flow with it."""
    FLOW.forget(update, context)
    return END


# --- the committed step ------------------------------------------------------------------
def _valid(state: str, draft: dict[str, Any]) -> bool:
    """True if the draft holds what its step needs."""
    if state not in STATES or not isinstance(draft.get("flow"), str):
        return False
    if not isinstance(draft.get("case_id"), int):
        return False
    return state != ASK_PAY_REASON or isinstance(draft.get("amount"), int)


def _load(context: Context, case_id: int) -> tuple[CareCase, Officer] | None:
    """A case and the officer it is about."""
    with services(context).database.session() as session:
        case = care.get(session, case_id)
        subject = officers.by_id(session, case.officer_id) if case is not None else None
    return None if case is None or subject is None else (case, subject)


def _head(case: CareCase, subject: Officer) -> str:
    """#12 住院：王建国（天元分局）— which case a prompt is about."""
    return texts.CASE_STEP_HEAD.format(
        id=case.id,
        event=event_name(case.event, case.relation),
        name=subject.name,
        unit=subject.unit or texts.UNKNOWN,
    )


# --- moving a case -----------------------------------------------------------------------


class Outcome(Enum):
    """What an organizer's step came to."""

    MOVED = "moved"
    STALE = "stale"
    FORBIDDEN = "forbidden"


@dataclasses.dataclass(frozen=True)
class Moved:
    """A case that just moved forward, and who is to hear of it."""

    case: CareCase
    subject: Officer
    reporter: Officer | None
    tell_chat: int | None
    tell_reporter: bool
    takers: dict[str, Officer] = dataclasses.field(default_factory=dict)
    # An officer's death the step confirmed: what stopped (None for any other step).
    stopped: deaths.Stopped | None = None
    # A declined step withdrew the officer's recorded death: they are active again.
    withdrawn: bool = False


def _locked(session: Session, case_id: int) -> CareCase | None:
    """The case, locked until the transaction ends."""
    return care.get(session, case_id, for_update=True)


def _amount_problem(case: CareCase, amount: int, reason: str) -> str | None:
    """None if this amount may be paid on this case; else 'range' or 'reason'."""
    if case.policy_amount <= 0:
        # No rule covers the case: any sane amount, always with a reason.
        if not 0 < amount <= UNPRICED_LIMIT:
            return "range"
        return None if reason.strip() else "reason"
    # The case holds the sum its rule gave on the report day; rule_from is not consulted.
    policy_sum = Sum(amount=case.policy_amount, up_to=case.up_to, rule_from=case.event_date)
    return paid_amount_problem(policy_sum, amount, reason)


def _move(
    session: Session,
    caller: Caller,
    case_id: int,
    to: CaseStatus,
    *,
    cipher: FieldCipher,
    offers: Mapping[str, Offer],
    amount: int | None = None,
    reason: str = "",
) -> tuple[Outcome, Moved | None]:
    """Lock the case, check the role and the step again, move it and audit it."""
    case = _locked(session, case_id)
    if case is None:
        return Outcome.STALE, None
    assert caller.officer.id is not None
    if not roles.roles_of(session, caller.officer.id) & ORGANIZER_ROLES:
        return Outcome.FORBIDDEN, None
    before = str(case.status)
    detail: dict[str, object] = {"event": case.event, "from": before}
    if to is CaseStatus.PAID:
        amount = case.policy_amount if amount is None else amount
        if _amount_problem(case, amount, reason) is not None:
            return Outcome.STALE, None
        detail |= {"amount": amount, "policy_amount": case.policy_amount}
    advanced = care.advance(
        session, case, to, actor=caller.actor, amount=amount, reason=reason, cipher=cipher
    )
    if not advanced:
        return Outcome.STALE, None
    # Amounts and ids only: a reason may describe someone's health, so it stays on the case.
    audit.record(
        session,
        actor=caller.actor,
        action=AUDIT_ACTIONS[to],
        target=str(case.id),
        reason_given=bool(reason.strip()),
        **detail,
    )
    subject = officers.by_id(session, case.officer_id)
    reporter = officers.by_id(session, case.reporter_id)
    assert subject is not None
    # An officer's death is reported by a colleague: they hear of the steps, not the account
    # of the officer who died.
    tell_reporter = case.event == "officer_death" and reporter is not None
    person = reporter if tell_reporter and reporter is not None else subject
    assert person.id is not None
    stopped = None
    withdrawn = False
    if deaths.confirms_death(case.event, to):
        # Visited or paid: the union confirmed it. In the step's transaction, so a death is
        # never half recorded; a declined report (a mistake) changes nothing.
        stopped = deaths.confirm(session, subject, actor=caller.actor, now=utcnow(), offers=offers)
    elif case.event == deaths.DEATH_EVENT and to is CaseStatus.DECLINED:
        # A confirmation found to be a mistake: the officer is active again, if no other
        # case still confirms the death.
        withdrawn = deaths.withdraw(session, subject, actor=caller.actor)
    # Read after the death is recorded: the account of an officer who died hears nothing,
    # even when they were the one who reported it.
    binding = None
    if subject.deceased_at is None or person.id != subject.id:
        binding = officers.binding_of(session, person.id)
    tell_chat = binding.chat_id if binding is not None else None
    return Outcome.MOVED, Moved(
        case,
        subject,
        reporter,
        tell_chat,
        tell_reporter,
        care.takers(session, [case]),
        stopped,
        withdrawn,
    )


async def _tell(context: Context, moved: Moved) -> bool:
    """Tell the officer concerned (the reporter, for an officer's death); True if delivered."""
    if moved.tell_chat is None:
        return False
    case = moved.case
    template = (texts.CASE_TOLD_AS_REPORTER if moved.tell_reporter else texts.CASE_TOLD)[
        case.status
    ]
    text = template.format(
        id=case.id,
        event=event_name(case.event, case.relation),
        name=moved.subject.name,
        amount=case.paid_amount,
        reason=care.decline_reason(case, services(context).cipher),
    )
    return await notify_told(context, moved.tell_chat, text)


def _told(moved: Moved, delivered: bool) -> str:
    if not delivered:
        return texts.CASE_TOLD_NOBODY
    return texts.CASE_TOLD_REPORTER if moved.tell_reporter else texts.CASE_TOLD_OFFICER


def _card(context: Context, moved: Moved) -> str:
    return case_card(
        moved.case,
        moved.subject,
        services(context).cipher,
        reporter=moved.reporter,
        zone=services(context).zone,
        takers=moved.takers,
    )


def _card_now(context: Context, case_id: int) -> tuple[CareCase, str] | None:
    """A case and its card as it stands now; None if the case (or its officer) is gone."""
    with services(context).database.session() as session:
        case = care.get(session, case_id)
        subject = officers.by_id(session, case.officer_id) if case else None
        reporter = officers.by_id(session, case.reporter_id) if case else None
        takers = care.takers(session, [case]) if case else {}
    if case is None or subject is None:
        return None
    card = case_card(
        case,
        subject,
        services(context).cipher,
        reporter=reporter,
        zone=services(context).zone,
        takers=takers,
    )
    return case, card


def _offers(context: Context) -> dict[str, Offer]:
    """What each service offers now: a released booking's place goes on by these terms."""
    svc = services(context)
    return {service.key: offer_of(service, svc.zone) for service in svc.policy.services}


def _death_line(stopped: deaths.Stopped) -> str:
    """One line for the organizer: what a confirmed death stopped."""
    name = stopped.officer.name
    extra = ""
    if stopped.deliveries:
        extra += texts.CASE_DEATH_DELIVERIES.format(count=stopped.deliveries)
    if stopped.released:
        extra += texts.CASE_DEATH_PLACES.format(count=len(stopped.released))
    return texts.CASE_DEATH_CONFIRMED.format(name=name, extra=extra)


def promoted_notice(
    released: deaths.Released, offered: Sequence[ServicePolicy], zone: ZoneInfo
) -> str:
    """The notice to whoever moved up into a released place, as a cancellation sends it."""
    parent = released.parent
    if isinstance(parent, Event):
        return texts.EVENT_PROMOTED.format(
            title=parent.title, when=event_when(parent, zone), place=parent.place
        )
    if isinstance(parent, BloodDrive):
        return texts.DRIVE_PROMOTED.format(
            id=parent.id, when=drive_when(parent.starts_at, zone), place=parent.place
        )
    service = next((s for s in offered if s.key == parent.service_key), None)
    return promoted_text(service, parent, zone) if service is not None else ""


async def _after_death(context: Context, stopped: deaths.Stopped | None) -> None:
    """After the commit: those moved up into a released place hear of it."""
    if stopped is None:
        return
    svc = services(context)
    for released in stopped.released:
        if released.promoted is None:
            continue
        with svc.database.session() as session:
            chat = officers.bound_chats(session, [released.promoted]).get(released.promoted)
        if chat is None:
            continue
        text = promoted_notice(released, svc.policy.services, svc.zone)
        if text:
            await notify(context.bot, chat, text)


async def _refused(update: Update, context: Context, outcome: Outcome, case_id: int) -> None:
    """The step did not happen: say why, as an alert on a press or a message on typed text."""
    if outcome is Outcome.FORBIDDEN:
        text = texts.NOT_ALLOWED
    elif update.callback_query is not None:
        text = texts.STALE_BUTTON
    else:
        loaded = _load(context, case_id)
        status = texts.CASE_STATUS.get(loaded[0].status, "") if loaded else ""
        text = texts.CASE_MOVED_ON.format(id=case_id, status=status)
    if update.callback_query is not None:
        await answer(update, text, alert=outcome is Outcome.FORBIDDEN)
    else:
        await prompt(update, context, text)


# --- 已探望 ------------------------------------------------------------------------------


def _does(action: str) -> Callable[[CaseAction], bool]:
    """Accepts a case button of this action only: 已发放 and 不予受理 reach 已探望's handler
    only with malformed data (the flow's entry takes the others)."""

    def accepted(data: CaseAction) -> bool:
        return data.action == action

    return accepted


@pressed(CaseAction, VISITOR, accept=_does("visit"))
async def visit_pressed(
    update: Update, context: Context, action: CaseAction, caller: Caller
) -> None:
    """已探望 on a case card: an organizer records the visit; the officer hears of it."""
    if not _private(update):
        await answer(update, texts.STALE_BUTTON)
        return
    with services(context).database.session() as session:
        outcome, moved = _move(
            session,
            caller,
            action.case_id,
            CaseStatus.VISITED,
            cipher=services(context).cipher,
            offers=_offers(context),
        )
    if moved is None:
        if outcome is Outcome.STALE and await _show_as_it_stands(update, context, action.case_id):
            return
        await _refused(update, context, outcome, action.case_id)
        return
    await answer(update, texts.CASE_VISITED_DONE)
    await _tell(context, moved)
    try:
        await edit_or_send(update, context, _card(context, moved), case_markup(moved.case))
    except TelegramError as exc:
        # Committed and told: the card is only the organizer's view of it.
        log.info("could not update a case card: %s", type(exc).__name__)
    if moved.stopped is not None:
        await prompt(update, context, _death_line(moved.stopped))
    await _after_death(context, moved.stopped)


async def _show_as_it_stands(update: Update, context: Context, case_id: int) -> bool:
    """A press on a case that moved on: answer with its status and show its card as it is now.

    A repeated press (or one on another organizer's copy of the card) gets the card the step
    left behind, not a bare "no". False if the case is gone.
    """
    found = _card_now(context, case_id)
    if found is None:
        return False
    case, card = found
    await answer(update, texts.CASE_NOW.format(status=texts.CASE_STATUS[case.status]))
    try:
        await edit_or_send(update, context, card, case_markup(case))
    except TelegramError as exc:
        log.info("could not update a case card: %s", type(exc).__name__)
    return True


# --- 已发放 and 不予受理: the flows ------------------------------------------------------


def _flow_button(text: str, flow: str, action: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=CaseFlowButton(flow, action).pack())


def _cancel_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_flow_button(texts.CASE_FLOW_CANCEL_BUTTON, flow, "cancel")]])


def _amount_prompt(case: CareCase, subject: Officer, flow: str) -> tuple[str, InlineKeyboardMarkup]:
    """The policy's sum, prefilled on a button, or a plain question when there is none."""
    head = _head(case, subject)
    if case.policy_amount <= 0:
        return texts.CASE_PAY_ASK_UNPRICED.format(head=head), _cancel_markup(flow)
    text = texts.CASE_PAY_ASK.format(
        head=head,
        policy=texts.CARE_AMOUNT_UP_TO.format(amount=case.policy_amount)
        if case.up_to
        else texts.CARE_AMOUNT.format(amount=case.policy_amount),
        amount=case.policy_amount,
    )
    pay = _flow_button(texts.CASE_PAY_SUM_BUTTON.format(amount=case.policy_amount), flow, "sum")
    cancel = _flow_button(texts.CASE_FLOW_CANCEL_BUTTON, flow, "cancel")
    return text, InlineKeyboardMarkup([[pay, cancel]])


@pressed(CaseAction, PAYER, accept=_does("pay"), refused=_flow_refused)
async def pay_pressed(
    update: Update, context: Context, action: CaseAction, _caller: Caller
) -> str | int | None:
    """已发放 on a case card: ask for the amount."""
    return await _open_flow(update, context, action)


@pressed(CaseAction, DECLINER, accept=_does("decline"), refused=_flow_refused)
async def decline_pressed(
    update: Update, context: Context, action: CaseAction, _caller: Caller
) -> str | int | None:
    """不予受理 on a case card: ask for the reason."""
    return await _open_flow(update, context, action)


async def _open_flow(update: Update, context: Context, action: CaseAction) -> str | int | None:
    """已发放 or 不予受理, pressed by an organizer: ask for the amount or the reason."""
    query = update.callback_query
    assert query is not None
    if not _private(update):
        await answer(update, texts.STALE_BUTTON)
        return None
    loaded = _load(context, action.case_id)
    if loaded is None or loaded[0].status not in care.OPEN:
        # Moved on (by this press before, or by someone else): the card as it stands; a flow
        # this organizer has open stays where it is.
        if not await _show_as_it_stands(update, context, action.case_id):
            await answer(update, texts.STALE_BUTTON)
        return None
    case, subject = loaded
    flow = secrets.token_hex(4)
    draft: dict[str, Any] = {"flow": flow, "case_id": case.id}
    if query.message is not None:
        # The card pressed, edited when the flow ends; always this organizer's own chat.
        draft["card"] = [query.message.chat.id, query.message.message_id]
    if action.action == "pay":
        state = ASK_AMOUNT
        text, markup = _amount_prompt(case, subject, flow)
    else:
        state = ASK_DECLINE_REASON
        text = texts.CASE_DECLINE_ASK.format(head=_head(case, subject), limit=REASON_LIMIT)
        markup = _cancel_markup(flow)
    with services(context).database.session() as session:
        # A new flow replaces any other left half-way (as /menu does): typed text must not land
        # in an announcement or a report the organizer abandoned to answer this card.
        conversations.delete_all_for(session, conversation_key(update))
        conversations.save(session, NAME, conversation_key(update), state, draft)
    await answer(update)
    await prompt(update, context, text, markup)
    return state


def parse_amount(text: str) -> int | None:
    """A typed sum in whole yuan: 800, 800元, １，０００ 元; None if it is not one."""
    cleaned = unicodedata.normalize("NFKC", text).strip().removesuffix("元").strip()
    cleaned = cleaned.replace(",", "").replace(" ", "")
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 9:
        return None
    return int(cleaned)


async def message_received(update: Update, context: Context) -> str | int:
    """A message inside a flow: the amount or the reason, by the committed step."""
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        return await _flow_gone(update, context)
    # Checked once the flow is known to be open: a message outside it is answered as such.
    caller = await CASE_FLOW.admit(update, context)
    if caller is None:
        return await _flow_refused(update, context)
    message = update.effective_message
    assert message is not None
    text = message.text
    if state == ASK_AMOUNT:
        return await _amount_entered(update, context, caller, draft, text)
    # Blank or invisible-only text is no reason; direction overrides are dropped.
    reason = clean(text or "")
    if not meaningful(reason) or len(reason) > REASON_LIMIT:
        await prompt(update, context, texts.CASE_REASON_BAD.format(limit=REASON_LIMIT))
        return state
    if state == ASK_PAY_REASON:
        return await _finish(
            update, context, caller, state, draft, CaseStatus.PAID, int(draft["amount"]), reason
        )
    return await _finish(update, context, caller, state, draft, CaseStatus.DECLINED, None, reason)


async def _amount_entered(
    update: Update, context: Context, caller: Caller, draft: dict[str, Any], text: str | None
) -> str | int:
    loaded = _load(context, int(draft["case_id"]))
    if loaded is None or loaded[0].status not in care.OPEN:
        FLOW.forget(update, context)
        await _refused(update, context, Outcome.STALE, int(draft["case_id"]))
        return END
    case, _subject = loaded
    amount = parse_amount(text) if text is not None else None
    if amount is None:
        # A photo or sticker where the sum's button is on offer: point at the button too.
        offered = text is None and case.policy_amount > 0
        hint = texts.CASE_USE_BUTTON_OR_TYPE if offered else texts.CASE_AMOUNT_BAD
        await prompt(update, context, hint)
        return ASK_AMOUNT
    problem = _amount_problem(case, amount, "")
    if problem == "range":
        if case.policy_amount > 0:
            refusal = texts.CASE_AMOUNT_RANGE.format(amount=case.policy_amount)
        else:
            refusal = texts.CASE_AMOUNT_RANGE_UNPRICED.format(limit=UNPRICED_LIMIT)
        await prompt(update, context, refusal)
        return ASK_AMOUNT
    if problem == "reason":
        state = FLOW.save(update, context, ASK_PAY_REASON, {**draft, "amount": amount})
        if case.policy_amount > 0:
            ask = texts.CASE_PAY_REASON_ASK.format(
                amount=amount, policy=case.policy_amount, limit=REASON_LIMIT
            )
        else:
            ask = texts.CASE_PAY_REASON_ASK_UNPRICED.format(amount=amount, limit=REASON_LIMIT)
        await prompt(update, context, ask, _cancel_markup(str(draft["flow"])))
        return state
    return await _finish(update, context, caller, ASK_AMOUNT, draft, CaseStatus.PAID, amount, "")


@pressed(CaseFlowButton, CASE_FLOW, refused=_flow_refused)
async def flow_pressed(
    update: Update, context: Context, button: CaseFlowButton, caller: Caller
) -> str | int | None:
    """按 N 元发放 or 取消 inside a flow: the committed step decides whether it still counts."""
    state, draft = FLOW.committed(update, context, _valid)
    if state is None:
        await answer(update, texts.STALE_BUTTON)
        return END
    if draft["flow"] != button.flow:
        # A button of an earlier flow; the open one stays where it is.
        await answer(update, texts.STALE_BUTTON)
        return state
    if button.action == "cancel":
        FLOW.forget(update, context)
        await answer(update)
        await _show(update, context, texts.CANCELLED)
        return END
    if state not in (ASK_AMOUNT, ASK_PAY_REASON):
        await answer(update, texts.STALE_BUTTON)
        return state
    # The policy's sum, even after typing another amount: the organizer changed their mind.
    return await _finish(update, context, caller, state, draft, CaseStatus.PAID, None, "")


async def _finish(
    update: Update,
    context: Context,
    caller: Caller,
    state: str,
    draft: dict[str, Any],
    to: CaseStatus,
    amount: int | None,
    reason: str,
) -> int:
    """The flow's last step: the case moves, the audit entry and the flow's end commit together."""
    key = conversation_key(update)
    case_id = int(draft["case_id"])
    moved: Moved | None = None
    with services(context).database.session() as session:
        if conversations.state_of(session, NAME, key) != state:
            outcome = Outcome.STALE  # a second press: the first one finished the flow
        else:
            conversations.delete(session, NAME, key)
            outcome, moved = _move(
                session,
                caller,
                case_id,
                to,
                cipher=services(context).cipher,
                offers=_offers(context),
                amount=amount,
                reason=reason,
            )
    if moved is None:
        await _refused(update, context, outcome, case_id)
        return END
    await answer(update)
    delivered = await _tell(context, moved)
    case = moved.case
    if to is CaseStatus.PAID:
        done = texts.CASE_PAID_DONE.format(
            id=case.id, amount=case.paid_amount, told=_told(moved, delivered)
        )
    else:
        done = texts.CASE_DECLINED_DONE.format(id=case.id, told=_told(moved, delivered))
    if moved.stopped is not None:
        done += "\n" + _death_line(moved.stopped)
    if moved.withdrawn:
        done += "\n" + texts.CASE_DEATH_WITHDRAWN.format(name=moved.subject.name)
    await _show(update, context, done)
    await _refresh_card(update, context, draft, moved)
    await _after_death(context, moved.stopped)
    return END


async def _show(update: Update, context: Context, text: str) -> None:
    """Turn the pressed prompt into the outcome, or send it; a failure is only logged."""
    try:
        await edit_or_send(update, context, text)
    except TelegramError as exc:
        log.warning("could not show a case step: %s", type(exc).__name__)


async def _refresh_card(
    update: Update, context: Context, draft: dict[str, Any], moved: Moved
) -> None:
    """Show the new status on the card the flow began from, without its spent buttons."""
    card = draft.get("card")
    chat = update.effective_chat
    if not (isinstance(card, list) and len(card) == 2 and chat is not None and card[0] == chat.id):
        return
    try:
        await context.bot.edit_message_text(
            _card(context, moved),
            chat_id=card[0],
            message_id=int(card[1]),
            reply_markup=case_markup(moved.case),
        )
    except TelegramError as exc:
        log.info("could not update a case card: %s", type(exc).__name__)


async def _flow_gone(update: Update, context: Context) -> int:
    """A row whose draft no longer holds what its step needs (dropped): the message is outside
    any flow."""
    await menu.hint(update, context)
    return END


async def cancel(update: Update, context: Context) -> int:
    """/cancel inside a flow: nothing about the case changes (other unfinished flows go too)."""
    await menu.cancel_outside(update, context)
    return END


@pressed(CaseFlowButton, CASE_FLOW)
async def flow_pressed_outside(
    update: Update, context: Context, _button: CaseFlowButton, _caller: Caller
) -> None:
    """A flow button when no flow is open: an old prompt after its answer, or a forged press."""
    await answer(update, texts.STALE_BUTTON)


# --- /cases: list, one case, figures, export ---------------------------------------------


def _today(context: Context) -> date:
    return datetime.now(services(context).zone).date()


def _midnight(context: Context, day: date) -> datetime:
    """The start of a day in the union's zone (report times are stored in UTC)."""
    return datetime.combine(day, time.min, tzinfo=services(context).zone)


@access(ORGANIZER)
async def cases_command(update: Update, context: Context, caller: Caller) -> None:
    """/cases [filters | #id | stats | export | help]: organizers' list, figures and export."""
    tokens = split_arguments(typed_command(update))
    verb = tokens[0].lower() if tokens else ""
    try:
        if verb in ("help", "帮助", "用法"):
            await reply(update, context, texts.CASES_USAGE)
        elif verb in ("stats", "统计"):
            await _stats(update, context, tokens[1:])
        elif verb in ("export", "导出"):
            await _export(update, context, caller, tokens[1:])
        else:
            await _list(update, context, tokens)
    except FilterError as exc:
        await reply(update, context, str(exc) + texts.CASES_USAGE)


async def _list(update: Update, context: Context, tokens: Sequence[str]) -> None:
    with services(context).database.session() as session:
        units = set(broadcasts.units_in_use(session)) | set(services(context).policy.units)
    wanted = parse_filter(tokens, units)
    if wanted.case_id is not None:
        await _show_case(update, context, wanted.case_id)
        return
    statuses: Sequence[str] = wanted.statuses or care.OPEN
    if wanted.every_status:
        statuses = [str(status) for status in CaseStatus]
    since = _midnight(context, wanted.start) if wanted.start else None
    until = _midnight(context, wanted.end + timedelta(days=1)) if wanted.end else None
    with services(context).database.session() as session:
        found = care.search(
            session,
            statuses=statuses,
            event=wanted.event,
            unit=wanted.unit,
            since=since,
            until=until,
            limit=LIST_LIMIT + 1,
        )
    described = describe(wanted)
    if not found:
        await reply(update, context, texts.CASES_NONE.format(filters=described))
        return
    count = str(len(found)) if len(found) <= LIST_LIMIT else f"{LIST_LIMIT}+"
    lines = [texts.CASES_HEADER.format(filters=described, count=count)]
    for case, officer in found[:LIST_LIMIT]:
        lines.append(
            texts.CASES_LINE.format(
                id=case.id,
                event=event_name(case.event, case.relation),
                name=officer.name,
                unit=officer.unit or texts.UNKNOWN,
                date=case.event_date.isoformat(),
                status=texts.CASE_STATUS.get(case.status, case.status),
            )
        )
    if len(found) > LIST_LIMIT:
        lines.append(texts.CASES_MORE.format(limit=LIST_LIMIT))
    lines.append(texts.CASES_FOOTER)
    await reply(update, context, "\n".join(lines))


async def _show_case(update: Update, context: Context, case_id: int) -> None:
    """/cases #12: the case's card with the steps still open (a private chat, an organizer)."""
    found = _card_now(context, case_id)
    if found is None:
        await reply(update, context, texts.CASES_NO_SUCH.format(id=case_id))
        return
    case, card = found
    await reply(update, context, card, case_markup(case))


def _period_or_this_year(context: Context, tokens: Sequence[str]) -> tuple[date, date]:
    """The period of stats and exports: as given, else this calendar year in the union's zone."""
    start, end = parse_period(tokens)
    today = _today(context)
    if start is None:
        return date(today.year, 1, 1), date(today.year, 12, 31)
    return start, end if end is not None else max(start, today)


async def _stats(update: Update, context: Context, tokens: Sequence[str]) -> None:
    start, end = _period_or_this_year(context, tokens)
    since = services(context).policy.care.comforted_since
    with services(context).database.session() as session:
        rows = care.figures(session, start, end)
        comforted = care.comforted_since(session, since)
    order = list(texts.CARE_EVENTS)
    rows.sort(key=lambda row: order.index(row.event) if row.event in order else len(order))
    lines = [texts.CASES_STATS_HEADER.format(start=start, end=end)]
    for row in rows:
        lines.append(
            texts.CASES_STATS_LINE.format(
                event=texts.CARE_EVENTS.get(row.event, row.event),
                cases=row.cases,
                paid=row.paid_cases,
                amount=row.paid_sum,
            )
        )
    if rows:
        lines.append(
            texts.CASES_STATS_TOTAL.format(
                cases=sum(row.cases for row in rows),
                paid=sum(row.paid_cases for row in rows),
                amount=sum(row.paid_sum for row in rows),
            )
        )
    else:
        lines.append(texts.CASES_STATS_NONE)
    lines.append(texts.CASES_STATS_COMFORTED.format(since=since, count=comforted))
    await reply(update, context, "\n".join(lines))


async def _export(update: Update, context: Context, caller: Caller, tokens: Sequence[str]) -> None:
    start, end = _period_or_this_year(context, tokens)
    chat = update.effective_chat
    assert chat is not None
    svc = services(context)
    data, count = export_bytes(
        svc.database, start, end, svc.zone, actor=caller.actor, cipher=svc.cipher
    )
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=f"cases-{start.isoformat()}-{end.isoformat()}.xlsx",
        caption=texts.CASES_EXPORT_CAPTION.format(start=start, end=end, count=count),
    )


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Organizers' steps on cases, /cases, exports and figures."""
    message = ~filters.COMMAND & ~filters.StatusUpdate.ALL & PRIVATE_MESSAGE
    # Every step takes the same two handlers: the committed step decides what an update means.
    in_flow: list[BaseHandler[Any, Any, Any]] = [
        CallbackQueryHandler(flow_pressed, pattern=CaseFlowButton.pattern()),
        MessageHandler(message, message_received),
    ]
    conversation = StoredConversationHandler(
        entry_points=[
            CallbackQueryHandler(pay_pressed, pattern=rf"^{CaseAction.prefix}:pay(:|$)"),
            CallbackQueryHandler(decline_pressed, pattern=rf"^{CaseAction.prefix}:decline(:|$)"),
        ],
        states={state: in_flow for state in STATES},
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
        name=NAME,
    )
    return [
        conversation,
        CallbackQueryHandler(visit_pressed, pattern=CaseAction.pattern()),
        CallbackQueryHandler(flow_pressed_outside, pattern=CaseFlowButton.pattern()),
        CommandHandler("cases", cases_command, filters=PRIVATE_MESSAGE),
    ]
