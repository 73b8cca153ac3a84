"""How a care case is shown: the organizers' card with its buttons, and event names."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import texts
from handlers.callbacks import CaseAction
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


def case_card(
    case: CareCase, subject: Officer, cipher: FieldCipher, *, reporter: Officer | None
) -> str:
    """Everything an organizer needs, health details included: only for private chats."""
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
