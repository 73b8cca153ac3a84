"""An officer's confirmed death: nothing is sent to their account any more.

Confirmed means an organizer visited the family or paid the condolence on an `officer_death`
case (handlers/care_admin.py); a report alone changes nothing, and a declined one neither. The
officer is marked deceased and inactive and their account unbound, which takes them out of every
audience and count (those queries read `active`); their pending deliveries are cancelled (the
sender skips a deceased officer's besides, storage.broadcasts.claim_next); their places and
waitlist places on what has not begun are given up through the capacity engine, which moves up
the next in line. A roster import never makes a deceased officer active again (storage.roster).
A confirmation declined afterwards (a mistake), with no other confirmed case left, withdraws the
death: the officer is active again, still unbound (they bind again with /start); what was
stopped stays stopped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from storage import audit, bookings, broadcasts, drives, events, officers
from storage import capacity as engine
from storage.bookings import Offer
from storage.models import BloodDrive, CareCase, CaseStatus, Event, Officer, ServiceSlot

# A step on one of these cases, to one of these states, is the union's confirmation.
DEATH_EVENT = "officer_death"
CONFIRMING = (CaseStatus.VISITED, CaseStatus.PAID)


def confirms_death(event: str, to: CaseStatus) -> bool:
    """True if moving a case of this event to this state confirms an officer's death."""
    return event == DEATH_EVENT and to in CONFIRMING


@dataclass(frozen=True)
class Released:
    """A place (or waitlist place) given up: on an event, a drive or a booking slot, and the
    officer who moved up into it, if anyone did."""

    parent: Event | BloodDrive | ServiceSlot
    was: str
    promoted: int | None = None


@dataclass(frozen=True)
class Stopped:
    """What a confirmed death stopped."""

    officer: Officer
    deliveries: int = 0
    unbound: bool = False
    released: list[Released] = field(default_factory=list)


def _closed_offer(key: str) -> Offer:
    """Terms for a slot of a service the policy no longer offers: the place is freed, nobody
    moves up."""
    return Offer(
        key=key,
        places=0,
        cancel_before_minutes=0,
        open_bookings=None,
        per_week=None,
        zone_name="UTC",
    )


def _release(
    session: Session,
    table: engine.SignupTable[Any, Any],
    officer_id: int,
    now: datetime,
    terms_of: Any,
) -> list[Released]:
    """Give up each open place of the officer on parents not yet begun, the deadline aside."""
    released = []
    for parent, _row, _position in engine.mine(session, table, officer_id, now):
        left = engine.cancel(
            session,
            table,
            int(parent.id),
            officer_id,
            terms_of=terms_of,
            now=now,
            deadline=False,
        )
        if left.was is not None and left.parent is not None:
            released.append(Released(left.parent, left.was, left.promoted))
    return released


def confirm(
    session: Session,
    officer: Officer,
    *,
    actor: str,
    now: datetime,
    offers: Mapping[str, Offer],
) -> Stopped | None:
    """Record the officer's death in the caller's transaction and stop everything to them;
    None if it was recorded before (the case's next step: nothing more to stop).

    `offers` are the services' terms by key (a released booking's place goes on by them).
    Places are given up first: the capacity engine locks a parent before an officer, always.
    """
    assert officer.id is not None
    if officer.deceased_at is not None:
        return None
    released = _release(session, events.SIGNUPS, officer.id, now, events.terms)
    released += _release(session, drives.SIGNUPS, officer.id, now, drives.terms)
    released += _release(
        session,
        bookings.BOOKINGS,
        officer.id,
        now,
        lambda slot: bookings.terms(
            offers.get(slot.service_key) or _closed_offer(slot.service_key), slot
        ),
    )
    cancelled = broadcasts.cancel_pending_for(session, officer.id)
    unbound = officers.unbind(session, officer.id)
    officers.update_profile(session, officer, deceased_at=now, active=False)
    # Counts only: the case holds the rest.
    audit.record(
        session,
        actor=actor,
        action="officer.deceased",
        target=officer.police_id,
        deliveries=cancelled,
        places=len(released),
        unbound=unbound,
    )
    return Stopped(officer, cancelled, unbound, released)


def withdraw(session: Session, officer: Officer, *, actor: str) -> bool:
    """Undo a recorded death in the caller's transaction, after a confirming case was declined;
    False (nothing changed) if no death is recorded or another case still confirms it.

    The officer is active again but stays unbound: they bind again with /start.
    """
    assert officer.id is not None
    if officer.deceased_at is None:
        return False
    still = session.exec(
        select(CareCase.id).where(
            CareCase.officer_id == officer.id,
            CareCase.event == DEATH_EVENT,
            col(CareCase.status).in_(CONFIRMING),
        )
    ).first()
    if still is not None:
        return False
    officers.update_profile(session, officer, deceased_at=None, active=True)
    audit.record(session, actor=actor, action="officer.death_withdrawn", target=officer.police_id)
    return True
