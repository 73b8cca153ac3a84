"""The figures /healthz and /metrics read (bot/http.py): a few small, indexed queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session, col

from storage import leases
from storage.models import (
    AppealReply,
    Broadcast,
    BroadcastKind,
    Delivery,
    DeliveryState,
    InboxUpdate,
    PendingReply,
    Priority,
)


@dataclass(frozen=True)
class Figures:
    """What the database says of the bot's work, at one moment."""

    inbox_backlog: int
    pending_replies: int
    # Deliveries pending or being sent, by priority name (urgent, normal, low), zeros included.
    outbox_backlog: dict[str, int]
    last_handled_at: datetime | None
    leader: str | None  # the holder of the lease, if any
    leader_expires_at: datetime | None
    greetings_queued: int
    appeal_answers: dict[str, int] = field(default_factory=dict)


def figures(session: Session, lease_name: str) -> Figures:
    """Read every figure in one session."""
    inbox = session.execute(
        select(func.count()).select_from(InboxUpdate).where(col(InboxUpdate.handled_at).is_(None))
    ).scalar_one()
    replies = session.execute(select(func.count()).select_from(PendingReply)).scalar_one()
    outbox = {priority.name.lower(): 0 for priority in Priority}
    rows = session.execute(
        select(col(Delivery.priority), func.count())
        .where(col(Delivery.state).in_((DeliveryState.PENDING, DeliveryState.SENDING)))
        .group_by(col(Delivery.priority))
    ).all()
    for priority, count in rows:
        name = Priority(priority).name.lower() if priority in set(Priority) else str(priority)
        outbox[name] = int(count)
    last = session.execute(select(func.max(col(InboxUpdate.handled_at)))).scalar()
    lease = leases.current(session, lease_name)
    greetings = session.execute(
        select(func.coalesce(func.sum(col(Broadcast.total)), 0)).where(
            col(Broadcast.kind) == BroadcastKind.GREETING
        )
    ).scalar_one()
    answers = {
        str(answer): int(count)
        for answer, count in session.execute(
            select(col(AppealReply.answer), func.count()).group_by(col(AppealReply.answer))
        ).all()
    }
    return Figures(
        inbox_backlog=int(inbox),
        pending_replies=int(replies),
        outbox_backlog=outbox,
        last_handled_at=last,
        leader=lease.holder if lease is not None else None,
        leader_expires_at=lease.expires_at if lease is not None else None,
        greetings_queued=int(greetings),
        appeal_answers=answers,
    )
