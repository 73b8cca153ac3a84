"""Roster notes: an officer says a roster field of theirs is wrong; organizers fix it.

Decisions:

- An officer has at most one pending note: a second is refused until an organizer marks the
  first one done. An officer's updates are handled one at a time, in order (PerUserUpdateProcessor),
  so the check and the insert cannot race for the same officer.
- The note is sealed (it may hold a birthday or a blood type) and never logged.
- Marking a note done is final; a second press (or another organizer's) changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from storage.crypto import FieldCipher
from storage.locks import locked
from storage.models import RosterNote

LIMIT = 100  # characters


def pending(session: Session, officer_id: int) -> RosterNote | None:
    """The officer's note not yet done, if any."""
    return session.exec(
        select(RosterNote)
        .where(RosterNote.officer_id == officer_id)
        .where(col(RosterNote.resolved_at).is_(None))
        .order_by(col(RosterNote.id))
    ).first()


def create(session: Session, officer_id: int, text: str, cipher: FieldCipher) -> RosterNote | None:
    """File a note (cut to LIMIT characters); None if the officer already has one pending."""
    if pending(session, officer_id) is not None:
        return None
    note = RosterNote(officer_id=officer_id, text_cipher=cipher.encrypt(text[:LIMIT]))
    session.add(note)
    session.flush()
    return note


def text_of(note: RosterNote, cipher: FieldCipher) -> str:
    """The note's text, unsealed."""
    return cipher.decrypt(note.text_cipher) if note.text_cipher else ""


@dataclass(frozen=True)
class Resolved:
    """What marking a note done came to."""

    note: RosterNote | None  # None: no such note
    now: bool  # False: it was done before


def resolve(session: Session, note_id: int, *, by: str, now: datetime) -> Resolved:
    """Mark the note done (locking its row first, so two organizers' presses act once)."""
    note = locked(session, RosterNote, note_id)
    if note is None:
        return Resolved(None, False)
    if note.resolved_at is not None:
        return Resolved(note, False)
    note.resolved_at = now
    note.resolved_by = by[:64]
    session.add(note)
    session.flush()
    return Resolved(note, True)
