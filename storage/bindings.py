"""Data access for the binding flow: failed attempts and manual requests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session, col, func, select

from storage.models import BindingAttempt, BindingRequest, RequestStatus
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
