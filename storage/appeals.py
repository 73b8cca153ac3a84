"""Urgent blood appeals: the appeal, who was asked (its broadcast's deliveries), their answers.

Decisions:

- The asked are the deliveries of the appeal's URGENT broadcast. When the appeal is fulfilled
  or closed, deliveries not yet sent are cancelled: those officers were never asked, and are
  told nothing afterwards.
- Answers: 我能去 (coming), 去不了 (cannot), 已到达 (arrived, only after coming). The same answer
  twice counts once. While the appeal is open an officer may change their mind between coming
  and cannot; arrived is final. Once fulfilled, only those coming may still say they arrived;
  once closed, nothing changes any more.
- "Coming" in the tally and for fulfilment counts coming and arrived together.
- Every change of an appeal locks its row first (a write as the transaction's first statement:
  a row lock on PostgreSQL, the write lock on SQLite), so two presses never both fulfil it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage import broadcasts
from storage.broadcasts import Recipient
from storage.locks import locked
from storage.models import (
    AppealAnswer,
    AppealReply,
    AppealStatus,
    BloodAppeal,
    BloodDonation,
    BroadcastKind,
    Delivery,
    DeliveryState,
    Officer,
    Priority,
    TelegramBinding,
)
from storage.types import utcnow

# Asked: sent, on its way, or sent without Telegram confirming it (it may well have arrived).
ASKED_STATES = (
    DeliveryState.PENDING,
    DeliveryState.SENDING,
    DeliveryState.SENT,
    broadcasts.UNCERTAIN,
)


class Outcome(StrEnum):
    """What a press did."""

    RECORDED = "recorded"
    SAME = "same"  # the same answer again: counted once
    NOT_ASKED = "not_asked"  # not one of the appeal's recipients (or no such appeal)
    CLOSED = "closed"
    FULFILLED = "fulfilled"  # fulfilled already, and this answer no longer changes anything
    NOT_COMING = "not_coming"  # 已到达 without 我能去 first
    FINAL = "final"  # arrived already: cannot be taken back


@dataclass(frozen=True)
class Candidate:
    """An officer who could be asked: where to reach them, and what decides eligibility.

    `recipient` is None for an officer not bound to Telegram (see `matching`); `unreachable`
    is True when their binding is marked as having blocked the bot.
    """

    recipient: Recipient | None
    officer: Officer
    history: list[BloodDonation]
    unreachable: bool = False


@dataclass(frozen=True)
class Attendee:
    """One officer coming to (or arrived at) an appeal, for the organizer's private list."""

    name: str
    unit: str
    phone: str
    arrived: bool


@dataclass(frozen=True)
class Tally:
    """Where an appeal stands."""

    asked: int
    coming: int  # coming or arrived
    arrived: int
    cannot: int


@dataclass
class Change:
    """The result of a press, a close or a fulfilment, for the handler to act on after commit."""

    outcome: Outcome
    appeal: BloodAppeal | None = None
    fulfilled_now: bool = False
    closed_now: bool = False
    notices: list[int] = field(default_factory=list)  # broadcasts written in this transaction
    current: str | None = None  # the officer's answer as it stands, for a repeated press (SAME)


def matching(session: Session, *, blood_group: str, rh_negative: bool) -> list[Candidate]:
    """Active officers of this ABO group and Rh, bound or not, with their donations.

    The unbound have no recipient; those who blocked the bot are marked unreachable.
    """
    rows = session.exec(
        select(Officer, TelegramBinding.chat_id, TelegramBinding.unreachable_since)
        .join(
            TelegramBinding,
            col(TelegramBinding.officer_id) == col(Officer.id),
            isouter=True,
        )
        .where(col(Officer.active).is_(True))
        .where(Officer.blood_group == blood_group, Officer.rh_negative == rh_negative)
        .order_by(col(Officer.id))
    ).all()
    ids = [int(officer.id or 0) for officer, _, _ in rows]
    donations: dict[int, list[BloodDonation]] = {officer_id: [] for officer_id in ids}
    if ids:
        for donation in session.exec(
            select(BloodDonation).where(col(BloodDonation.officer_id).in_(ids))
        ).all():
            donations[donation.officer_id].append(donation)
    return [
        Candidate(
            None if chat_id is None else Recipient(int(officer.id or 0), int(chat_id)),
            officer,
            donations[officer.id or 0],
            unreachable=blocked is not None,
        )
        for officer, chat_id, blocked in rows
    ]


def candidates(session: Session, *, blood_group: str, rh_negative: bool) -> list[Candidate]:
    """Active, bound officers of this ABO group and Rh, with their donations.

    Officers who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    found = matching(session, blood_group=blood_group, rh_negative=rh_negative)
    return [candidate for candidate in found if candidate.recipient is not None]


def create(
    session: Session,
    *,
    blood_group: str,
    rh_negative: bool,
    component: str,
    hospital: str,
    address: str,
    contact: str,
    units_needed: int,
    deadline: datetime,
    created_by: str,
    tally_chat_id: int | None,
    recipients: Sequence[Recipient],
    text: str,
    buttons_for: Callable[[int], str],
) -> BloodAppeal:
    """Write the appeal and its URGENT broadcast with one delivery per recipient.

    `buttons_for` is called with the new appeal's id and returns the keyboard's JSON.
    """
    appeal = BloodAppeal(
        blood_group=blood_group,
        rh_negative=rh_negative,
        component=component,
        hospital=hospital,
        address=address,
        contact=contact,
        units_needed=units_needed,
        deadline=deadline,
        created_by=created_by,
        tally_chat_id=tally_chat_id,
    )
    session.add(appeal)
    session.flush()
    assert appeal.id is not None
    broadcast = broadcasts.create(
        session,
        kind=BroadcastKind.APPEAL,
        priority=Priority.URGENT,
        text=text,
        recipients=recipients,
        created_by=created_by,
        buttons=buttons_for(appeal.id),
    )
    appeal.broadcast_id = broadcast.id
    session.add(appeal)
    session.flush()
    return appeal


def get(session: Session, appeal_id: int) -> BloodAppeal | None:
    """An appeal by id."""
    return session.get(BloodAppeal, appeal_id)


def last_by(session: Session, created_by: str) -> BloodAppeal | None:
    """The newest appeal this organizer created: the /appeal dialog offers its hospital,
    address and contact again (an organizer mostly calls for the same few hospitals)."""
    newest = (
        select(BloodAppeal)
        .where(col(BloodAppeal.created_by) == created_by)
        .order_by(col(BloodAppeal.created_at).desc(), col(BloodAppeal.id).desc())
        .limit(1)
    )
    return session.exec(newest).first()


def set_tally_message(session: Session, appeal_id: int, message_id: int) -> None:
    """Remember the organizer's tally message."""
    session.execute(
        update(BloodAppeal)
        .where(col(BloodAppeal.id) == appeal_id)
        .values(tally_message_id=message_id)
    )


def _lock(session: Session, appeal_id: int) -> BloodAppeal | None:
    """Lock the appeal's row and read it fresh."""
    return locked(session, BloodAppeal, appeal_id)


def asked(session: Session, appeal: BloodAppeal) -> list[Recipient]:
    """The officers asked: deliveries of the appeal's broadcast that were or are being sent."""
    if appeal.broadcast_id is None:
        return []
    rows = session.exec(
        select(Delivery.officer_id, Delivery.chat_id)
        .where(Delivery.broadcast_id == appeal.broadcast_id)
        .where(col(Delivery.state).in_(ASKED_STATES))
        .order_by(col(Delivery.officer_id))
    ).all()
    return [Recipient(int(officer_id), int(chat_id)) for officer_id, chat_id in rows]


def _was_asked(session: Session, appeal: BloodAppeal, officer_id: int) -> bool:
    if appeal.broadcast_id is None:
        return False
    found = session.exec(
        select(Delivery.id)
        .where(Delivery.broadcast_id == appeal.broadcast_id, Delivery.officer_id == officer_id)
        .where(col(Delivery.state).in_(ASKED_STATES))
    ).first()
    return found is not None


def answers(session: Session, appeal_id: int) -> dict[int, str]:
    """Officer id → current answer."""
    rows = session.exec(
        select(AppealReply.officer_id, AppealReply.answer).where(AppealReply.appeal_id == appeal_id)
    ).all()
    return {int(officer_id): str(answer) for officer_id, answer in rows}


def attendees(session: Session, appeal_id: int) -> list[Attendee]:
    """Who said 我能去 (still coming or arrived), in the order they answered."""
    rows = session.exec(
        select(Officer.name, Officer.unit, Officer.phone, AppealReply.answer)
        .join(AppealReply, col(AppealReply.officer_id) == col(Officer.id))
        .where(AppealReply.appeal_id == appeal_id)
        .where(col(AppealReply.answer).in_((AppealAnswer.COMING, AppealAnswer.ARRIVED)))
        .order_by(col(AppealReply.at), col(AppealReply.id))
    ).all()
    return [
        Attendee(str(name), str(unit or ""), str(phone or ""), answer == AppealAnswer.ARRIVED)
        for name, unit, phone, answer in rows
    ]


def tally(session: Session, appeal: BloodAppeal) -> Tally:
    """Asked, coming (incl. arrived), arrived and cannot."""
    assert appeal.id is not None
    counts: dict[str, int] = {
        str(answer): int(count)
        for answer, count in session.exec(
            select(AppealReply.answer, func.count())
            .where(AppealReply.appeal_id == appeal.id)
            .group_by(col(AppealReply.answer))
        ).all()
    }
    arrived = counts.get(AppealAnswer.ARRIVED, 0)
    return Tally(
        asked=len(asked(session, appeal)),
        coming=counts.get(AppealAnswer.COMING, 0) + arrived,
        arrived=arrived,
        cannot=counts.get(AppealAnswer.CANNOT, 0),
    )


def reply(
    session: Session, appeal_id: int, officer_id: int, answer: AppealAnswer, *, texts: NoticeTexts
) -> Change:
    """Record a press; fulfil the appeal when enough are coming. Call in its own transaction."""
    appeal = _lock(session, appeal_id)
    if appeal is None or not _was_asked(session, appeal, officer_id):
        return Change(Outcome.NOT_ASKED, appeal)
    row = session.exec(
        select(AppealReply).where(
            AppealReply.appeal_id == appeal_id, AppealReply.officer_id == officer_id
        )
    ).first()
    current = row.answer if row is not None else None
    if current == answer or (answer == AppealAnswer.COMING and current == AppealAnswer.ARRIVED):
        return Change(Outcome.SAME, appeal, current=current)
    if appeal.status == AppealStatus.CLOSED:
        return Change(Outcome.CLOSED, appeal)
    if current == AppealAnswer.ARRIVED:
        return Change(Outcome.FINAL, appeal)
    if answer == AppealAnswer.ARRIVED and current != AppealAnswer.COMING:
        if appeal.status == AppealStatus.FULFILLED:
            return Change(Outcome.FULFILLED, appeal)
        return Change(Outcome.NOT_COMING, appeal)
    if appeal.status == AppealStatus.FULFILLED and answer != AppealAnswer.ARRIVED:
        return Change(Outcome.FULFILLED, appeal)
    if row is None:
        row = AppealReply(appeal_id=appeal_id, officer_id=officer_id, answer=answer)
    else:
        row.answer = answer
        row.at = utcnow()
    session.add(row)
    session.flush()
    change = Change(Outcome.RECORDED, appeal)
    if (
        answer == AppealAnswer.COMING
        and appeal.status == AppealStatus.OPEN
        and tally(session, appeal).coming >= appeal.units_needed
    ):
        _fulfil(session, appeal, change, texts)
    return change


@dataclass(frozen=True)
class NoticeTexts:
    """The texts of the notices a fulfilment or a close sends (from bot/texts.py)."""

    stand_down: str
    still_expected: str
    closed: str


def _stop_asking(session: Session, appeal: BloodAppeal) -> None:
    """Deliveries of the appeal not yet sent are cancelled: those officers were never asked."""
    if appeal.broadcast_id is not None:
        broadcasts.cancel(session, appeal.broadcast_id)


def _notice(session: Session, appeal: BloodAppeal, text: str, recipients: list[Recipient]) -> int:
    broadcast = broadcasts.create(
        session,
        kind=BroadcastKind.APPEAL,
        priority=Priority.URGENT,
        text=text,
        recipients=recipients,
        created_by=f"system:appeal-{appeal.id}",
    )
    assert broadcast.id is not None
    return broadcast.id


def _fulfil(session: Session, appeal: BloodAppeal, change: Change, texts: NoticeTexts) -> None:
    assert appeal.id is not None
    _stop_asking(session, appeal)
    appeal.status = AppealStatus.FULFILLED
    session.add(appeal)
    session.flush()
    replies = answers(session, appeal.id)
    everyone = asked(session, appeal)
    coming = [r for r in everyone if replies.get(r.officer_id) == AppealAnswer.COMING]
    others = [
        r
        for r in everyone
        if replies.get(r.officer_id) not in (AppealAnswer.COMING, AppealAnswer.ARRIVED)
    ]
    change.fulfilled_now = True
    for text, recipients in ((texts.stand_down, others), (texts.still_expected, coming)):
        if recipients:
            change.notices.append(
                _notice(session, appeal, text.format(hospital=appeal.hospital), recipients)
            )


def close(session: Session, appeal_id: int, *, texts: NoticeTexts, now: datetime) -> Change:
    """Close an open or fulfilled appeal; everyone asked who has not arrived is told."""
    appeal = _lock(session, appeal_id)
    if appeal is None:
        return Change(Outcome.NOT_ASKED)
    if appeal.status == AppealStatus.CLOSED:
        return Change(Outcome.CLOSED, appeal)
    _stop_asking(session, appeal)
    appeal.status = AppealStatus.CLOSED
    appeal.closed_at = now
    session.add(appeal)
    session.flush()
    assert appeal.id is not None
    replies = answers(session, appeal.id)
    waiting = [
        r for r in asked(session, appeal) if replies.get(r.officer_id) != AppealAnswer.ARRIVED
    ]
    change = Change(Outcome.RECORDED, appeal, closed_now=True)
    if waiting:
        change.notices.append(
            _notice(session, appeal, texts.closed.format(hospital=appeal.hospital), waiting)
        )
    return change


def overdue(session: Session, now: datetime) -> list[int]:
    """Appeals not yet closed whose deadline has passed."""
    rows = session.exec(
        select(BloodAppeal.id)
        .where(col(BloodAppeal.status) != AppealStatus.CLOSED)
        .where(col(BloodAppeal.deadline) <= now)
        .order_by(col(BloodAppeal.id))
    ).all()
    return [int(appeal_id or 0) for appeal_id in rows]
