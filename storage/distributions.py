"""Data access for distributions (物资与消费券发放): publishing with the units' shares (and the
officers' own shares of a per-officer item), receipts confirmed once, outstanding lists, the one
reminder, closing, and what the workbook holds.

Once only: a unit's receipt and an officer's 已领取 are conditional UPDATEs (`… WHERE received
IS NULL`, `… WHERE collected_at IS NULL`) on an open distribution, so of two presses racing
one writes and the other finds the row taken; the one reminder is claimed the same way
(`reminded_at IS NULL`), and its recipients in the send ledger by the caller.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from bot.rules import distributions as rules
from storage import broadcasts
from storage import events as event_storage
from storage.broadcasts import Recipient
from storage.models import (
    Audience,
    Distribution,
    DistributionMode,
    DistributionShare,
    DistributionStatus,
    DistributionUnit,
    Officer,
    SendLedger,
    TelegramBinding,
    UnitContact,
)

# Events' audience rules, read for distributions: no matchmaking, no club.
AUDIENCE_KIND = "distribution"
RECENT = 20


class Outcome(StrEnum):
    """What became of a confirmation (a unit's receipt, an officer's 已领取)."""

    STORED = "stored"
    ALREADY = "already"
    CLOSED = "closed"
    NOT_YOURS = "not_yours"
    GONE = "gone"


@dataclass(frozen=True)
class Progress:
    """Where a distribution stands: units confirmed of units, items received of allocated,
    officers who collected of officers (per officer)."""

    units: int
    confirmed: int
    allocated: int
    received: int
    shares: int = 0
    collected: int = 0


@dataclass(frozen=True)
class ShareLine:
    """One officer's share for the outstanding list and the workbook."""

    police_id: str
    name: str
    unit: str
    collected_at: datetime | None


# --- audiences --------------------------------------------------------------------------------


def _audience_filter(audience: str, value: str) -> list[object]:
    conditions: list[object] = [col(Officer.active).is_(True), Officer.unit != ""]
    if audience == Audience.UNIT:
        conditions.append(Officer.unit == value)
    elif audience == Audience.WOMEN:
        conditions.append(Officer.gender == "F")
    elif audience == Audience.MEN:
        conditions.append(Officer.gender == "M")
    return conditions


def officers_per_unit(session: Session, audience: str, value: str) -> dict[str, int]:
    """Active officers of the audience per unit (bound or not: shares follow the roster), by
    unit name."""
    rows = session.exec(
        select(Officer.unit, func.count())
        .where(*_audience_filter(audience, value))  # type: ignore[arg-type]
        .group_by(col(Officer.unit))
        .order_by(col(Officer.unit))
    ).all()
    return {unit: int(count) for unit, count in rows}


def audience(session: Session, audience: str, value: str) -> list[Recipient]:
    """Active, bound officers of an audience (as events name theirs): who hears of an item."""
    return event_storage.audience_recipients(
        session, kind=AUDIENCE_KIND, audience=audience, value=value
    )


def contact_chats(session: Session, units: Collection[str]) -> dict[str, list[Recipient]]:
    """The active, bound contacts of these units, per unit."""
    if not units:
        return {}
    rows = session.exec(
        select(UnitContact.unit, Officer.id, TelegramBinding.chat_id)
        .join(Officer, col(Officer.id) == col(UnitContact.officer_id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(UnitContact.unit).in_(list(units)), col(Officer.active).is_(True))
        .order_by(col(UnitContact.unit), col(Officer.id))
    ).all()
    found: dict[str, list[Recipient]] = {}
    for unit, officer_id, chat_id in rows:
        found.setdefault(unit, []).append(Recipient(int(officer_id or 0), int(chat_id)))
    return found


def has_contact(session: Session, unit: str) -> bool:
    """True if the unit has an active, bound contact (then only they confirm its receipt)."""
    return bool(contact_chats(session, [unit]))


# --- publishing -------------------------------------------------------------------------------


def publish(
    session: Session, distribution: Distribution, allocation: Mapping[str, int]
) -> list[DistributionUnit]:
    """Write a distribution and its units' shares in the caller's transaction.

    Per unit, `allocation` is the checked table. Per officer, the shares are the audience's
    active officers now (`allocation` is not read): one row each, and each unit's number is its
    officers times the share of one. Units given 0 get no row.
    """
    if distribution.mode == DistributionMode.PER_OFFICER:
        people = session.exec(
            select(Officer.id, Officer.unit)
            .where(*_audience_filter(distribution.audience, distribution.audience_value))  # type: ignore[arg-type]
            .order_by(col(Officer.id))
        ).all()
        counts: dict[str, int] = {}
        for _, unit in people:
            counts[unit] = counts.get(unit, 0) + 1
        allocation = rules.per_officer(distribution.per_officer, counts)
        distribution.quantity = sum(allocation.values())
    else:
        people = []
    session.add(distribution)
    session.flush()
    assert distribution.id is not None
    rows = [
        DistributionUnit(distribution_id=distribution.id, unit=unit, allocated=allocated)
        for unit, allocated in sorted(allocation.items())
        if allocated > 0
    ]
    session.add_all(rows)
    session.add_all(
        DistributionShare(
            distribution_id=distribution.id, officer_id=int(officer_id or 0), unit=unit
        )
        for officer_id, unit in people
    )
    session.flush()
    return rows


def get(session: Session, distribution_id: int, *, for_update: bool = False) -> Distribution | None:
    """A distribution, its row locked for a close or the reminder's claim (`for_update`)."""
    query = select(Distribution).where(Distribution.id == distribution_id)
    if for_update:
        query = query.with_for_update()
    return session.exec(query).first()


def recent(session: Session, limit: int = RECENT) -> list[Distribution]:
    """Distributions for the organizers' list: open ones first, then the newest."""
    return list(
        session.exec(
            select(Distribution)
            .order_by(
                col(Distribution.status) != DistributionStatus.OPEN, col(Distribution.id).desc()
            )
            .limit(limit)
        ).all()
    )


def units_of(session: Session, distribution_id: int) -> list[DistributionUnit]:
    """A distribution's units, by name."""
    return list(
        session.exec(
            select(DistributionUnit)
            .where(DistributionUnit.distribution_id == distribution_id)
            .order_by(col(DistributionUnit.unit))
        ).all()
    )


def unit_row(session: Session, row_id: int) -> DistributionUnit | None:
    """One unit's share by its id (from a button: authorised by the caller)."""
    return session.exec(select(DistributionUnit).where(DistributionUnit.id == row_id)).first()


def open_for_units(session: Session, units: Collection[str]) -> list[Distribution]:
    """Open distributions in which any of these units has a share, newest first."""
    if not units:
        return []
    return list(
        session.exec(
            select(Distribution)
            .where(Distribution.status == DistributionStatus.OPEN)
            .where(
                col(Distribution.id).in_(
                    select(DistributionUnit.distribution_id).where(
                        col(DistributionUnit.unit).in_(list(units))
                    )
                )
            )
            .order_by(col(Distribution.id).desc())
        ).all()
    )


def waiting_for(session: Session, officer_id: int) -> list[Distribution]:
    """Open per-officer distributions this officer has a share of and has not collected."""
    return list(
        session.exec(
            select(Distribution)
            .join(DistributionShare, col(DistributionShare.distribution_id) == col(Distribution.id))
            .where(
                DistributionShare.officer_id == officer_id,
                col(DistributionShare.collected_at).is_(None),
                Distribution.status == DistributionStatus.OPEN,
            )
            .order_by(col(Distribution.id).desc())
        ).all()
    )


# --- confirming -------------------------------------------------------------------------------


def _why_not(distribution: Distribution | None) -> Outcome | None:
    if distribution is None:
        return Outcome.GONE
    if distribution.status != DistributionStatus.OPEN:
        return Outcome.CLOSED
    return None


def confirm_unit(
    session: Session, row_id: int, received: int, *, by: str, now: datetime
) -> Outcome:
    """A unit's receipt, once: `received` items of its share (fewer for a partial receipt).

    The caller has checked who may confirm for the unit; the number is checked here again.
    """
    row = unit_row(session, row_id)
    if row is None:
        return Outcome.GONE
    refused = _why_not(get(session, row.distribution_id))
    if refused is not None:
        return refused
    rules.check_received(row.allocated, received)
    result = session.execute(
        update(DistributionUnit)
        .where(col(DistributionUnit.id) == row_id, col(DistributionUnit.received).is_(None))
        .where(
            col(DistributionUnit.distribution_id).in_(
                select(Distribution.id).where(Distribution.status == DistributionStatus.OPEN)
            )
        )
        .values(received=received, confirmed_by=by, confirmed_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(result.rowcount or 0) == 1:  # type: ignore[attr-defined]
        return Outcome.STORED
    return _why_not(get(session, row.distribution_id)) or Outcome.ALREADY


def collect(session: Session, distribution_id: int, officer_id: int, *, now: datetime) -> Outcome:
    """An officer's 已领取, once (a double press counts once)."""
    refused = _why_not(get(session, distribution_id))
    if refused is not None:
        return refused
    share = session.exec(
        select(DistributionShare).where(
            DistributionShare.distribution_id == distribution_id,
            DistributionShare.officer_id == officer_id,
        )
    ).first()
    if share is None:
        return Outcome.NOT_YOURS
    result = session.execute(
        update(DistributionShare)
        .where(
            col(DistributionShare.distribution_id) == distribution_id,
            col(DistributionShare.officer_id) == officer_id,
            col(DistributionShare.collected_at).is_(None),
        )
        .where(
            col(DistributionShare.distribution_id).in_(
                select(Distribution.id).where(Distribution.status == DistributionStatus.OPEN)
            )
        )
        .values(collected_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(result.rowcount or 0) == 1:  # type: ignore[attr-defined]
        return Outcome.STORED
    return _why_not(get(session, distribution_id)) or Outcome.ALREADY


def close(session: Session, distribution_id: int, now: datetime) -> Distribution | None:
    """Close an open distribution (its row locked); None if it is gone or closed already."""
    distribution = get(session, distribution_id, for_update=True)
    if distribution is None or distribution.status != DistributionStatus.OPEN:
        return None
    distribution.status = DistributionStatus.CLOSED
    distribution.closed_at = now
    session.add(distribution)
    session.flush()
    return distribution


def stop_messages(session: Session, distribution_id: int) -> int:
    """Stop what the distribution still has to send: its notice and its reminder (found in
    the send ledger), where they have not gone out yet; how many broadcasts were stopped."""
    ids = set(
        session.exec(
            select(SendLedger.broadcast_id)
            .where(
                SendLedger.occasion == f"distribution:{distribution_id}",
                col(SendLedger.broadcast_id).is_not(None),
            )
            .distinct()
        ).all()
    )
    distribution = session.get(Distribution, distribution_id)
    if distribution is not None and distribution.notice_id is not None:
        ids.add(distribution.notice_id)
    return sum(1 for broadcast_id in ids if broadcasts.cancel(session, int(broadcast_id or 0)))


def set_notice(session: Session, distribution_id: int, broadcast_id: int) -> None:
    """Link the distribution to the broadcast of its notice."""
    distribution = session.get(Distribution, distribution_id)
    if distribution is not None:
        distribution.notice_id = broadcast_id
        session.add(distribution)
        session.flush()


# --- where it stands --------------------------------------------------------------------------


def progress(session: Session, distribution_id: int) -> Progress:
    """Units confirmed, items received, officers who collected."""
    units = units_of(session, distribution_id)
    shares, collected = session.exec(
        select(func.count(), func.count(col(DistributionShare.collected_at))).where(
            DistributionShare.distribution_id == distribution_id
        )
    ).one()
    return Progress(
        units=len(units),
        confirmed=sum(1 for unit in units if unit.received is not None),
        allocated=sum(unit.allocated for unit in units),
        received=sum(unit.received or 0 for unit in units),
        shares=int(shares),
        collected=int(collected),
    )


def collected_per_unit(session: Session, distribution_id: int) -> dict[str, tuple[int, int]]:
    """Per unit: (officers who collected, officers with a share)."""
    rows = session.exec(
        select(
            DistributionShare.unit, func.count(col(DistributionShare.collected_at)), func.count()
        )
        .where(DistributionShare.distribution_id == distribution_id)
        .group_by(col(DistributionShare.unit))
    ).all()
    return {unit: (int(done), int(total)) for unit, done, total in rows}


def share_lines(
    session: Session,
    distribution_id: int,
    *,
    units: Collection[str] | None = None,
    outstanding: bool = False,
) -> list[ShareLine]:
    """Officers' shares (of these units; only those not collected if `outstanding`), by unit
    then police ID."""
    query = (
        select(
            Officer.police_id, Officer.name, DistributionShare.unit, DistributionShare.collected_at
        )
        .join(Officer, col(Officer.id) == col(DistributionShare.officer_id))
        .where(DistributionShare.distribution_id == distribution_id)
        .order_by(col(DistributionShare.unit), col(Officer.police_id))
    )
    if units is not None:
        query = query.where(col(DistributionShare.unit).in_(list(units)))
    if outstanding:
        query = query.where(col(DistributionShare.collected_at).is_(None))
    return [ShareLine(*row) for row in session.exec(query).all()]


# --- the one reminder -------------------------------------------------------------------------


def claim_reminder(session: Session, distribution_id: int, now: datetime) -> Distribution | None:
    """Take the distribution's one reminder (open, not reminded yet); None if it was taken."""
    result = session.execute(
        update(Distribution)
        .where(
            col(Distribution.id) == distribution_id,
            col(Distribution.reminded_at).is_(None),
            col(Distribution.status) == DistributionStatus.OPEN,
        )
        .values(reminded_at=now)
        .execution_options(synchronize_session=False)
    )
    if int(result.rowcount or 0) != 1:  # type: ignore[attr-defined]
        return None
    distribution = get(session, distribution_id)
    if distribution is not None:
        session.refresh(distribution)
    return distribution


def due_reminders(session: Session, published_before: datetime) -> list[Distribution]:
    """Open distributions published by `published_before` whose reminder has not gone."""
    return list(
        session.exec(
            select(Distribution)
            .where(
                Distribution.status == DistributionStatus.OPEN,
                col(Distribution.reminded_at).is_(None),
                col(Distribution.created_at) <= published_before,
            )
            .order_by(col(Distribution.id))
        ).all()
    )


def to_remind(session: Session, distribution: Distribution) -> list[Recipient]:
    """Who the reminder is for: per officer, the bound officers who have not collected; per
    unit, the contacts of the units that have not confirmed."""
    assert distribution.id is not None
    if distribution.mode == DistributionMode.PER_OFFICER:
        rows = session.exec(
            select(Officer.id, TelegramBinding.chat_id)
            .join(DistributionShare, col(DistributionShare.officer_id) == col(Officer.id))
            .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
            .where(
                DistributionShare.distribution_id == distribution.id,
                col(DistributionShare.collected_at).is_(None),
                col(Officer.active).is_(True),
            )
            .order_by(col(Officer.id))
        ).all()
        return [Recipient(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in rows]
    waiting = [unit.unit for unit in units_of(session, distribution.id) if unit.received is None]
    seen: dict[int, Recipient] = {}
    for recipients in contact_chats(session, waiting).values():
        for recipient in recipients:
            seen.setdefault(recipient.officer_id, recipient)
    return sorted(seen.values(), key=lambda recipient: recipient.officer_id)


def shares_of(session: Session, distribution_ids: Sequence[int], officer_id: int) -> set[int]:
    """Of these distributions, those this officer has a share of."""
    if not distribution_ids:
        return set()
    return set(
        session.exec(
            select(DistributionShare.distribution_id).where(
                col(DistributionShare.distribution_id).in_(list(distribution_ids)),
                DistributionShare.officer_id == officer_id,
            )
        ).all()
    )
