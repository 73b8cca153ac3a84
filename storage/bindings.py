"""Data access for the binding flow: failed attempts and manual requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from storage.models import BindingAttempt, BindingRequest, BindingRequestCopy, RequestStatus
from storage.types import utcnow


def record_failure(
    session: Session, telegram_user_id: int, reason: str, *, now: datetime | None = None
) -> None:
    """Count one failed binding attempt against the account."""
    session.add(
        BindingAttempt(telegram_user_id=telegram_user_id, reason=reason, at=now or utcnow())
    )
    session.flush()


def failures_within(
    session: Session, telegram_user_id: int, window: timedelta, *, now: datetime | None = None
) -> int:
    """How many failed attempts the account made in the window before now."""
    since = (now or utcnow()) - window
    count = session.exec(
        select(func.count())
        .select_from(BindingAttempt)
        .where(BindingAttempt.telegram_user_id == telegram_user_id)
        .where(col(BindingAttempt.at) > since)
    ).one()
    return int(count)


def open_request(session: Session, telegram_user_id: int) -> BindingRequest | None:
    """The account's pending request, if it has one."""
    return session.exec(
        select(BindingRequest).where(
            BindingRequest.telegram_user_id == telegram_user_id,
            BindingRequest.status == RequestStatus.PENDING,
        )
    ).first()


def create_request(session: Session, request: BindingRequest) -> BindingRequest:
    """File a request for an organizer to decide."""
    session.add(request)
    session.flush()
    return request


def get_request(
    session: Session, request_id: int, *, for_update: bool = False
) -> BindingRequest | None:
    """A request by id; locked for the decision when asked."""
    query = select(BindingRequest).where(BindingRequest.id == request_id)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def decide(
    session: Session,
    request: BindingRequest,
    status: RequestStatus,
    *,
    decided_by: str,
    officer_id: int | None = None,
) -> BindingRequest:
    """Close a pending request as approved or rejected."""
    request.status = status
    request.decided_by = decided_by
    request.decided_at = utcnow()
    request.officer_id = officer_id
    session.add(request)
    session.flush()
    return request


def pending_requests(session: Session) -> Sequence[BindingRequest]:
    """Requests still waiting, oldest first."""
    return session.exec(
        select(BindingRequest)
        .where(BindingRequest.status == RequestStatus.PENDING)
        .order_by(col(BindingRequest.id))
    ).all()


def add_copy(session: Session, request_id: int, chat_id: int) -> int:
    """Note that a card of the request goes to this organizer's chat; the copy's id.

    Its message id is recorded once Telegram took the message (bot/inbox.py, "binding_copy").
    """
    copy = BindingRequestCopy(request_id=request_id, chat_id=chat_id)
    session.add(copy)
    session.flush()
    assert copy.id is not None
    return copy.id


def set_copy_message(session: Session, copy_id: int, message_id: int) -> None:
    """Record the message a request card was sent as."""
    copy = session.get(BindingRequestCopy, copy_id)
    if copy is not None:
        copy.message_id = message_id
        session.add(copy)
        session.flush()


def copies_of(session: Session, request_id: int) -> list[tuple[int, int]]:
    """The (chat, message) of every card of the request that reached an organizer."""
    rows = session.exec(
        select(BindingRequestCopy.chat_id, BindingRequestCopy.message_id)
        .where(BindingRequestCopy.request_id == request_id)
        .where(col(BindingRequestCopy.message_id).is_not(None))
        .order_by(col(BindingRequestCopy.id))
    ).all()
    return [(int(chat_id), int(message_id or 0)) for chat_id, message_id in rows]
