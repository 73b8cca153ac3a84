"""Data access for blood drives (献血活动): drives, sign-ups, the waitlist and reminders.

Who was reminded of a drive is kept in the send ledger (storage.ledger, occasion "drive:{id}"),
not on the drive: `reminded_at` only records when the first reminder was queued.

A sign-up or a cancellation locks the drive's row first, then counts inside the transaction, so
the last place cannot be taken twice: PostgreSQL serialises on SELECT … FOR UPDATE; SQLite
ignores FOR UPDATE, so a no-op UPDATE of the row takes the database's write lock first (the
statement that opens the transaction, so nothing was read before it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from storage.broadcasts import Recipient
from storage.locks import locked
from storage.models import (
    BloodDrive,
    DriveSignup,
    DriveStatus,
    Officer,
    SignupState,
    TelegramBinding,
)
from storage.types import utcnow

BLOOD_GROUPS = ("A", "B", "O", "AB")


class Outcome(StrEnum):
    """What a sign-up did."""

    SIGNED = "signed"
    WAITLISTED = "waitlisted"
    ALREADY_SIGNED = "already_signed"
    ALREADY_WAITLISTED = "already_waitlisted"
    CLOSED = "closed"  # cancelled, started, or no such drive


@dataclass(frozen=True)
class DriveView:
    """A drive with its counts and, when asked for one officer, that officer's state."""

    drive: BloodDrive
    signed: int
    waitlisted: int
    mine: str | None = None
    my_position: int | None = None  # place on the waitlist, from 1

    @property
    def places_left(self) -> int:
        """Places still free (never negative)."""
        return max(0, self.drive.capacity - self.signed)


@dataclass(frozen=True)
class SignUpResult:
    """The outcome of a sign-up; `position` is the waitlist place when waitlisted."""

    outcome: Outcome
    drive: BloodDrive | None
    position: int | None = None


@dataclass(frozen=True)
class CancelResult:
    """The outcome of a cancellation; `promoted` is the officer moved up from the waitlist."""

    cancelled: bool
    was: str | None
    drive: BloodDrive | None
    promoted: int | None = None


@dataclass(frozen=True)
class Attendee:
    """Someone signed up (or waiting) for a drive."""

    officer_id: int
    name: str
    police_id: str
    unit: str
    state: str


def wanted_types(drive: BloodDrive) -> list[str]:
    """The blood groups a drive asks for; empty means every group."""
    return [part for part in drive.blood_types_wanted.split(",") if part]


def create(
    session: Session,
    *,
    starts_at: datetime,
    place: str,
    capacity: int,
    blood_types_wanted: str,
    created_by: str,
) -> BloodDrive:
    """Store a new open drive."""
    types = [part for part in blood_types_wanted.split(",") if part]
    if capacity <= 0 or any(part not in BLOOD_GROUPS for part in types):
        raise ValueError("bad drive")
    drive = BloodDrive(
        starts_at=starts_at,
        place=place[:100],
        capacity=capacity,
        blood_types_wanted=",".join(types),
        created_by=created_by[:64],
    )
    session.add(drive)
    session.flush()
    return drive


def get(session: Session, drive_id: int, *, for_update: bool = False) -> BloodDrive | None:
    """A drive by id; locked for a sign-up or cancellation when asked."""
    if for_update:
        return locked(session, BloodDrive, drive_id)
    return session.exec(select(BloodDrive).where(BloodDrive.id == drive_id)).first()


def _count(session: Session, drive_id: int, state: SignupState) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(DriveSignup)
            .where(DriveSignup.drive_id == drive_id, DriveSignup.state == state)
        ).one()
    )


def _signup(session: Session, drive_id: int, officer_id: int) -> DriveSignup | None:
    return session.exec(
        select(DriveSignup).where(
            DriveSignup.drive_id == drive_id, DriveSignup.officer_id == officer_id
        )
    ).first()


def waitlist_position(session: Session, signup: DriveSignup) -> int:
    """The place of a waitlisted sign-up on its drive's waitlist, from 1."""
    return int(
        session.exec(
            select(func.count())
            .select_from(DriveSignup)
            .where(
                DriveSignup.drive_id == signup.drive_id,
                DriveSignup.state == SignupState.WAITLISTED,
                col(DriveSignup.position) <= signup.position,
            )
        ).one()
    )


def _open(drive: BloodDrive | None, now: datetime) -> bool:
    return drive is not None and drive.status == DriveStatus.OPEN and drive.starts_at > now


def view(session: Session, drive: BloodDrive, officer_id: int | None = None) -> DriveView:
    """A drive's counts and, if given, one officer's state there."""
    assert drive.id is not None
    mine: str | None = None
    position: int | None = None
    if officer_id is not None:
        signup = _signup(session, drive.id, officer_id)
        if signup is not None and signup.state != SignupState.CANCELLED:
            mine = signup.state
            if signup.state == SignupState.WAITLISTED:
                position = waitlist_position(session, signup)
    return DriveView(
        drive=drive,
        signed=_count(session, drive.id, SignupState.SIGNED),
        waitlisted=_count(session, drive.id, SignupState.WAITLISTED),
        mine=mine,
        my_position=position,
    )


def upcoming(
    session: Session, now: datetime, *, officer_id: int | None = None, limit: int = 10
) -> list[DriveView]:
    """Open drives that have not started, soonest first, with places left."""
    drives = session.exec(
        select(BloodDrive)
        .where(BloodDrive.status == DriveStatus.OPEN, col(BloodDrive.starts_at) > now)
        .order_by(col(BloodDrive.starts_at), col(BloodDrive.id))
        .limit(limit)
    ).all()
    return [view(session, drive, officer_id) for drive in drives]


def sign_up(session: Session, drive_id: int, officer_id: int, *, now: datetime) -> SignUpResult:
    """Take a place, or join the waitlist when the drive is full; once per officer.

    Locks the drive first: call it at the start of its own transaction.
    """
    drive = get(session, drive_id, for_update=True)
    if drive is None or not _open(drive, now):
        return SignUpResult(Outcome.CLOSED, drive)
    signup = _signup(session, drive_id, officer_id)
    if signup is not None and signup.state == SignupState.SIGNED:
        return SignUpResult(Outcome.ALREADY_SIGNED, drive)
    if signup is not None and signup.state == SignupState.WAITLISTED:
        return SignUpResult(Outcome.ALREADY_WAITLISTED, drive, waitlist_position(session, signup))
    full = _count(session, drive_id, SignupState.SIGNED) >= drive.capacity
    state = SignupState.WAITLISTED if full else SignupState.SIGNED
    last = session.exec(
        select(func.max(DriveSignup.position)).where(DriveSignup.drive_id == drive_id)
    ).one()
    position = int(last or 0) + 1
    if signup is None:
        signup = DriveSignup(
            drive_id=drive_id, officer_id=officer_id, state=state, position=position
        )
    else:  # signed up before and cancelled: back at the end of the line
        signup.state = state
        signup.position = position
        signup.updated_at = utcnow()
    session.add(signup)
    session.flush()
    if full:
        return SignUpResult(Outcome.WAITLISTED, drive, waitlist_position(session, signup))
    return SignUpResult(Outcome.SIGNED, drive)


def cancel(session: Session, drive_id: int, officer_id: int, *, now: datetime) -> CancelResult:
    """Give up a place (or leave the waitlist); a freed place goes to the first in line.

    Locks the drive first: call it at the start of its own transaction.
    """
    drive = get(session, drive_id, for_update=True)
    signup = _signup(session, drive_id, officer_id)
    if drive is None or not _open(drive, now):
        return CancelResult(False, None, drive)
    if signup is None or signup.state == SignupState.CANCELLED:
        return CancelResult(False, None, drive)
    was = signup.state
    signup.state = SignupState.CANCELLED
    signup.updated_at = utcnow()
    session.add(signup)
    session.flush()
    promoted: int | None = None
    if was == SignupState.SIGNED and _count(session, drive_id, SignupState.SIGNED) < drive.capacity:
        first = session.exec(
            select(DriveSignup)
            .where(DriveSignup.drive_id == drive_id, DriveSignup.state == SignupState.WAITLISTED)
            .order_by(col(DriveSignup.position))
            .limit(1)
        ).first()
        if first is not None:
            first.state = SignupState.SIGNED
            first.updated_at = utcnow()
            session.add(first)
            session.flush()
            promoted = first.officer_id
    return CancelResult(True, was, drive, promoted)


def attendees(session: Session, drive_id: int) -> list[Attendee]:
    """Everyone signed up and waiting for a drive, signed first, each in sign-up order."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Officer.id, Officer.name, Officer.police_id, Officer.unit, DriveSignup.state
        )
        .join(DriveSignup, col(DriveSignup.officer_id) == col(Officer.id))
        .where(
            DriveSignup.drive_id == drive_id,
            col(DriveSignup.state).in_([SignupState.SIGNED, SignupState.WAITLISTED]),
        )
        .order_by(col(DriveSignup.state), col(DriveSignup.position))
    ).all()
    return [
        Attendee(int(officer_id or 0), name, police_id, unit, str(state))
        for officer_id, name, police_id, unit, state in rows
    ]


def signed_recipients(session: Session, drive_id: int) -> list[Recipient]:
    """Signed-up officers who are active and bound, with their chats.

    Officers who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    rows = session.exec(
        select(Officer.id, TelegramBinding.chat_id)
        .join(DriveSignup, col(DriveSignup.officer_id) == col(Officer.id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(DriveSignup.drive_id == drive_id, DriveSignup.state == SignupState.SIGNED)
        .where(col(Officer.active).is_(True))
        .order_by(col(DriveSignup.position))
    ).all()
    return [Recipient(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in rows]


def due_for_reminder(session: Session, now: datetime, until: datetime) -> list[BloodDrive]:
    """Open drives that start after `now` and before `until` (the ledger says who had theirs)."""
    return list(
        session.exec(
            select(BloodDrive)
            .where(BloodDrive.status == DriveStatus.OPEN)
            .where(col(BloodDrive.starts_at) > now, col(BloodDrive.starts_at) < until)
            .order_by(col(BloodDrive.starts_at), col(BloodDrive.id))
        ).all()
    )


def mark_reminded(session: Session, drive_id: int) -> bool:
    """Note when a drive's first reminder was queued; False if it was noted before."""
    result = session.execute(
        update(BloodDrive)
        .where(col(BloodDrive.id) == drive_id, col(BloodDrive.reminded_at).is_(None))
        .values(reminded_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def signup_state(session: Session, drive_id: int, officer_id: int) -> str | None:
    """An officer's state on a drive (signed, waitlisted, cancelled), None if never signed up."""
    signup = _signup(session, drive_id, officer_id)
    return None if signup is None else str(signup.state)
