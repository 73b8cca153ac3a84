"""How a care case is shown: the organizers' card with its buttons, and event names."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, tzinfo

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from handlers.callbacks import CaseAction
from storage import care
from storage.crypto import FieldCipher
from storage.models import CareCase, CaseStatus, Officer


def event_name(event: str, relation: str = "") -> str:
    """The event as officers call it: 住院, 结婚 … 父母去世."""
    if event == "relative_death" and relation in texts.CARE_RELATIONS:
        return texts.CARE_RELATIVE_EVENT.format(relation=texts.CARE_RELATIONS[relation])
    return texts.CARE_EVENTS.get(event, event)


def amount_text(amount: int, up_to: bool) -> str:
    """The policy's sum: 1000 元, 最高 1000 元, or none."""
    if amount <= 0:
        return texts.CARE_AMOUNT_NONE
    return (texts.CARE_AMOUNT_UP_TO if up_to else texts.CARE_AMOUNT).format(amount=amount)


def _taker(actor: str, takers: Mapping[str, Officer]) -> str:
    """Who took a step, as people read it: 赵敏（200001）; the bare actor if unknown."""
    officer = takers.get(actor)
    if officer is None:
        return actor or texts.UNKNOWN
    return texts.CASE_CARD_TAKER.format(name=officer.name, police_id=officer.police_id)


def _when(moment: datetime, zone: tzinfo | None) -> str:
    """A step's time on the union's clock (stored in UTC)."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M") if zone is not None else ""


def step_lines(
    case: CareCase,
    cipher: FieldCipher,
    *,
    zone: tzinfo | None,
    takers: Mapping[str, Officer],
) -> list[str]:
    """Who visited, paid or declined, when, and (organizers only) why: the case's history.

    The reasons are sealed and may touch someone's health: these lines belong on organizers'
    cards in private chats, never in a list, a group or a log.
    """
    lines = []
    if case.visited_at is not None:
        lines.append(
            texts.CASE_CARD_VISITED.format(
                by=_taker(case.visited_by, takers), at=_when(case.visited_at, zone)
            )
        )
    if case.paid_at is not None and case.paid_amount is not None:
        differs = case.policy_amount > 0 and case.paid_amount != case.policy_amount
        lines.append(
            (texts.CASE_CARD_PAID_OTHER if differs else texts.CASE_CARD_PAID).format(
                amount=case.paid_amount,
                policy=case.policy_amount,
                by=_taker(case.paid_by, takers),
                at=_when(case.paid_at, zone),
            )
        )
        reason = care.pay_reason(case, cipher)
        if reason:
            lines.append(texts.CASE_CARD_PAY_REASON.format(reason=reason))
    if case.declined_at is not None:
        lines.append(
            texts.CASE_CARD_DECLINED.format(
                by=_taker(case.declined_by, takers), at=_when(case.declined_at, zone)
            )
        )
        reason = care.decline_reason(case, cipher)
        if reason:
            lines.append(texts.CASE_CARD_DECLINE_REASON.format(reason=reason))
    return lines


def case_card(
    case: CareCase,
    subject: Officer,
    cipher: FieldCipher,
    *,
    reporter: Officer | None,
    zone: tzinfo | None = None,
    takers: Mapping[str, Officer] | None = None,
) -> str:
    """Everything an organizer needs, health details included: only for private chats.

    A case that moved on shows who took each step and when (`zone`: the union's clock;
    `takers`: storage.care.takers), the sum paid and the reasons.
    """
    lines = [
        texts.CASE_CARD.format(
            id=case.id,
            event=event_name(case.event, case.relation),
            name=subject.name,
            police_id=subject.police_id,
            unit=subject.unit or texts.UNKNOWN,
            date=case.event_date.isoformat(),
            amount=amount_text(case.policy_amount, case.up_to),
            status=texts.CASE_STATUS[case.status],
        )
    ]
    if case.duplicate_of is not None:
        lines.append(texts.CASE_CARD_DUPLICATE.format(id=case.duplicate_of))
    if reporter is not None and reporter.id != subject.id:
        lines.append(
            texts.CASE_CARD_REPORTER.format(name=reporter.name, police_id=reporter.police_id)
        )
    if case.hospital:
        lines.append(texts.CARE_LINE_HOSPITAL.format(hospital=case.hospital))
    ward = cipher.decrypt(case.ward_cipher)
    if ward:
        lines.append(texts.CARE_LINE_WARD.format(ward=ward))
    note = cipher.decrypt(case.note_cipher)
    if note:
        lines.append(texts.CARE_LINE_NOTE.format(note=note))
    lines += step_lines(case, cipher, zone=zone, takers=takers or {})
    return "\n".join(lines)


def case_markup(case: CareCase) -> InlineKeyboardMarkup | None:
    """The next steps an organizer may take on this case (none once it is final)."""
    assert case.id is not None
    buttons = []
    if case.status == CaseStatus.REPORTED:
        buttons.append(
            InlineKeyboardButton(
                texts.CASE_VISIT_BUTTON, callback_data=CaseAction("visit", case.id).pack()
            )
        )
    if case.status in (CaseStatus.REPORTED, CaseStatus.VISITED):
        buttons += [
            InlineKeyboardButton(
                texts.CASE_PAY_BUTTON, callback_data=CaseAction("pay", case.id).pack()
            ),
            InlineKeyboardButton(
                texts.CASE_DECLINE_BUTTON, callback_data=CaseAction("decline", case.id).pack()
            ),
        ]
    return InlineKeyboardMarkup([buttons]) if buttons else None
