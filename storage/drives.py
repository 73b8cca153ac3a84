"""Data access for blood drives (献血活动): drives, sign-ups, the waitlist and reminders.

Sign-ups, cancellations, the waitlist and its promotion, counts and who to remind are the
capacity engine's (storage.capacity, over `SIGNUPS`): a drive offers its capacity, no caps per
group, no deadline but its start, and no per-officer limits. A sign-up or a cancellation locks
the drive's row first, then counts inside the transaction, so the last place cannot be taken
twice; a freed place goes to the first in line who is still active.

Who was reminded of a drive is kept in the send ledger (storage.ledger, occasion "drive:{id}"),
not on the drive: `reminded_at` only records when the first reminder was queued. A drive
cancelled, moved or taken elsewhere stops the reminders queued for it (`stop_reminders`); a
moved one is reminded again, with its new time and place.

Organizers edit a drive (`update`, the drive locked; more places promote from the waitlist
through the engine) or cancel it (`cancel_drive`): a cancelled drive takes no sign-ups and is
reminded of no more. `candidates` are the officers a new drive may be announced to, with what
decides whether they may sign up (handlers/drives.py `refusal_for`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.rules.capacity import Outcome, Places, Terms
from storage import broadcasts
from storage import capacity as engine
from storage.broadcasts import Recipient
from storage.capacity import SignupTable
from storage.models import (
    BloodDonation,
    BloodDrive,
    DriveSignup,
    DriveStatus,
    Officer,
    SendLedger,
    TelegramBinding,
)
from storage.types import utcnow

SIGNUPS: SignupTable[DriveSignup, BloodDrive] = SignupTable(
    DriveSignup, BloodDrive, parent_key="drive_id"
)

BLOOD_GROUPS = ("A", "B", "O", "AB")


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
    blood_group: str = ""


@dataclass(frozen=True)
class Candidate:
    """An active, bound officer a new drive may be announced to, with their donations."""

    recipient: Recipient
    officer: Officer
    history: list[BloodDonation] = field(default_factory=list)


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
        return engine.lock(session, SIGNUPS, drive_id)
    return session.exec(select(BloodDrive).where(BloodDrive.id == drive_id)).first()


def terms(drive: BloodDrive) -> Terms:
    """What a drive offers the capacity engine: its places until it starts, to anyone."""
    return Terms(
        open=drive.status == DriveStatus.OPEN,
        starts_at=drive.starts_at,
        places=Places(drive.capacity),
    )


def waitlist_position(session: Session, signup: DriveSignup) -> int:
    """The place of a waitlisted sign-up on its drive's waitlist, from 1."""
    return engine.waitlist_position(session, SIGNUPS, signup)


def view(session: Session, drive: BloodDrive, officer_id: int | None = None) -> DriveView:
    """A drive's counts and, if given, one officer's state there."""
    assert drive.id is not None
    mine = engine.Standing()
    if officer_id is not None:
        mine = engine.standing(session, SIGNUPS, drive.id, officer_id)
    tally = engine.tally(session, SIGNUPS, drive.id)
    return DriveView(
        drive=drive,
        signed=tally.signed,
        waitlisted=tally.waitlisted,
        mine=mine.state,
        my_position=mine.position,
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
    joined = engine.sign_up(session, SIGNUPS, drive_id, officer_id, terms_of=terms, now=now)
    return SignUpResult(joined.outcome, joined.parent, joined.position)


def cancel(session: Session, drive_id: int, officer_id: int, *, now: datetime) -> CancelResult:
    """Give up a place (or leave the waitlist); a freed place goes to the first in line who is
    still active (someone who left the union stays where they were and is skipped).

    Locks the drive first: call it at the start of its own transaction.
    """
    left = engine.cancel(session, SIGNUPS, drive_id, officer_id, terms_of=terms, now=now)
    return CancelResult(left.was is not None, left.was, left.parent, left.promoted)


def attendees(session: Session, drive_id: int) -> list[Attendee]:
    """Everyone signed up and waiting for a drive, signed first, each in sign-up order."""
    return [
        Attendee(
            int(officer.id or 0),
            officer.name,
            officer.police_id,
            officer.unit,
            signup.state,
            officer.blood_group or "",
        )
        for officer, signup in engine.entries(session, SIGNUPS, drive_id)
    ]


def signed_recipients(session: Session, drive_id: int) -> list[Recipient]:
    """Signed-up officers who are active and bound, with their chats.

    Officers who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    return engine.recipients(session, SIGNUPS, drive_id)


def to_remind(session: Session, drive_id: int, occasion: str, on_date: date) -> list[Recipient]:
    """Those signed up and not yet reminded on this occasion (storage.capacity.to_remind)."""
    return engine.to_remind(session, SIGNUPS, drive_id, occasion, on_date)


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
    signup = engine.entry(session, SIGNUPS, drive_id, officer_id)
    return None if signup is None else str(signup.state)


# --- organizers: duplicates, announcing, editing, cancelling --------------------------------


def _same_place(one: str, other: str) -> bool:
    """One place written twice (blanks and letter case aside)."""
    return "".join(one.split()).casefold() == "".join(other.split()).casefold()


def duplicates(
    session: Session, starts_at: datetime, place: str, *, other_than: int | None = None
) -> list[BloodDrive]:
    """Open drives at this very start and place (another than `other_than`)."""
    query = select(BloodDrive).where(
        BloodDrive.status == DriveStatus.OPEN, col(BloodDrive.starts_at) == starts_at
    )
    if other_than is not None:
        query = query.where(col(BloodDrive.id) != other_than)
    found = session.exec(query.order_by(col(BloodDrive.id))).all()
    return [drive for drive in found if _same_place(drive.place, place)]


def candidates(session: Session, types: Sequence[str]) -> list[Candidate]:
    """Active, bound officers of these blood groups (every officer when none), with their
    donations: whom a new drive may be announced to, once the sign-up rules agree.

    Officers who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    query = (
        select(Officer, TelegramBinding.chat_id)
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(Officer.active).is_(True))
        .order_by(col(Officer.id))
    )
    if types:
        query = query.where(col(Officer.blood_group).in_(list(types)))
    rows = session.exec(query).all()
    ids = [int(officer.id or 0) for officer, _ in rows]
    donations: dict[int, list[BloodDonation]] = {officer_id: [] for officer_id in ids}
    if ids:
        for donation in session.exec(
            select(BloodDonation).where(col(BloodDonation.officer_id).in_(ids))
        ).all():
            donations[donation.officer_id].append(donation)
    return [
        Candidate(
            Recipient(int(officer.id or 0), int(chat_id)), officer, donations[officer.id or 0]
        )
        for officer, chat_id in rows
    ]


def update_drive(
    session: Session,
    drive_id: int,
    *,
    starts_at: datetime | None = None,
    place: str | None = None,
    capacity: int | None = None,
    blood_types_wanted: str | None = None,
) -> BloodDrive | None:
    """Change an open drive (locked first: call it at the start of its transaction); None if
    it is gone or cancelled. The caller checks the new values against the drive's sign-ups."""
    drive = get(session, drive_id, for_update=True)
    if drive is None or drive.status != DriveStatus.OPEN:
        return None
    if starts_at is not None:
        drive.starts_at = starts_at
    if place is not None:
        drive.place = place[:100]
    if capacity is not None:
        if capacity <= 0:
            raise ValueError("bad capacity")
        drive.capacity = capacity
    if blood_types_wanted is not None:
        types = [part for part in blood_types_wanted.split(",") if part]
        if any(part not in BLOOD_GROUPS for part in types):
            raise ValueError("bad blood types")
        drive.blood_types_wanted = ",".join(types)
    session.add(drive)
    session.flush()
    return drive


def signed_count(session: Session, drive_id: int) -> int:
    """How many hold a place (not the waitlist)."""
    return engine.tally(session, SIGNUPS, drive_id).signed


@dataclass(frozen=True)
class Released:
    """Sign-ups a change of the wanted blood types let go, and who moved up in their place."""

    officers: list[tuple[int, str]]  # (officer id, blood group)
    promoted: list[int]


def release_unwanted(session: Session, drive: BloodDrive, now: datetime) -> Released:
    """After the wanted types changed: the sign-ups (places and waitlist) of officers whose
    known blood group is no longer wanted are cancelled, whatever the cancellation deadline,
    and the first in line moves up to each freed place. Call it with the drive locked."""
    assert drive.id is not None
    wanted = set(wanted_types(drive))
    if not wanted:
        return Released([], [])
    let_go = [
        (attendee.officer_id, attendee.blood_group)
        for attendee in attendees(session, drive.id)
        if attendee.blood_group and attendee.blood_group not in wanted
    ]
    promoted: list[int] = []
    for officer_id, _ in let_go:
        left = engine.cancel(
            session, SIGNUPS, drive.id, officer_id, terms_of=terms, now=now, deadline=False
        )
        if left.promoted is not None:
            promoted.append(left.promoted)
    gone = {officer_id for officer_id, _ in let_go}
    return Released(let_go, [moved for moved in promoted if moved not in gone])


def promote_waiting(session: Session, drive: BloodDrive) -> list[int]:
    """After more places were made: move up everyone in line who now has one, in order.

    Call it with the drive locked (as `update_drive` leaves it).
    """
    assert drive.id is not None
    return engine.promote(session, SIGNUPS, drive.id, terms(drive))


def cancel_drive(session: Session, drive_id: int) -> BloodDrive | None:
    """Cancel an open drive (locked first); None if it was cancelled already or is gone."""
    drive = get(session, drive_id, for_update=True)
    if drive is None or drive.status != DriveStatus.OPEN:
        return None
    drive.status = DriveStatus.CANCELLED
    session.add(drive)
    session.flush()
    return drive


def concerned(session: Session, drive_id: int) -> list[Recipient]:
    """Everyone signed up or waiting, active and bound: told of a changed or cancelled drive."""
    return engine.recipients(session, SIGNUPS, drive_id, engine.OPEN_STATES)


def link_announcement(session: Session, drive_id: int, broadcast_id: int) -> None:
    """Keep the broadcast that announced the drive: stopped if the drive is cancelled or moved."""
    session.execute(
        update(BloodDrive)
        .where(col(BloodDrive.id) == drive_id)
        .values(announcement_id=broadcast_id)
        .execution_options(synchronize_session=False)
    )


def stop_announcement(session: Session, drive_id: int) -> bool:
    """Stop the drive's announcement where it has not gone out yet; False if none was running.

    Officers it already reached are not told here: those who signed up hear of the change.
    """
    announcement = session.exec(
        select(BloodDrive.announcement_id).where(col(BloodDrive.id) == drive_id)
    ).first()
    return announcement is not None and broadcasts.cancel(session, announcement)


def stop_reminders(session: Session, drive_id: int, *, again: bool = False) -> int:
    """Stop the reminders of a drive still waiting to go out; how many broadcasts were stopped.

    `again`: the drive moved (or changed place), so its claims in the send ledger are dropped
    too and the reminder job reminds those signed up of the new time and place.
    """
    occasion = f"drive:{drive_id}"
    ids = session.exec(
        select(SendLedger.broadcast_id)
        .where(SendLedger.occasion == occasion, col(SendLedger.broadcast_id).is_not(None))
        .distinct()
    ).all()
    stopped = sum(1 for broadcast_id in ids if broadcasts.cancel(session, int(broadcast_id or 0)))
    if again:
        session.execute(delete(SendLedger).where(col(SendLedger.occasion) == occasion))
        session.execute(
            update(BloodDrive)
            .where(col(BloodDrive.id) == drive_id)
            .values(reminded_at=None)
            .execution_options(synchronize_session=False)
        )
    return stopped


def recorded(session: Session, drive_id: int) -> dict[int, list[tuple[str, int]]]:
    """What each officer was recorded as giving at this drive: (component, amount), in order."""
    found: dict[int, list[tuple[str, int]]] = {}
    for donation in session.exec(
        select(BloodDonation)
        .where(BloodDonation.drive_id == drive_id)
        .order_by(col(BloodDonation.id))
    ).all():
        found.setdefault(donation.officer_id, []).append((donation.component, donation.amount))
    return found
