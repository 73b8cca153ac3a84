"""Organizers' edits of the greeting texts; the policy file holds the defaults."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from storage import audit
from storage.models import GreetingText
from storage.types import utcnow


def overrides(session: Session) -> dict[str, GreetingText]:
    """Every occasion an organizer has edited: occasion to its saved text and note."""
    return {row.occasion: row for row in session.exec(select(GreetingText)).all()}


def save(
    session: Session,
    occasion: str,
    text: str,
    welfare_note: str,
    updated_by: str,
    *,
    now: datetime | None = None,
) -> GreetingText:
    """Store the text and note of an occasion (replacing an earlier edit), audited."""
    row = session.get(GreetingText, occasion)
    stamp = now or utcnow()
    if row is None:
        row = GreetingText(
            occasion=occasion,
            text=text,
            welfare_note=welfare_note,
            updated_by=updated_by,
            updated_at=stamp,
        )
    else:
        row.text, row.welfare_note = text, welfare_note
        row.updated_by, row.updated_at = updated_by, stamp
    session.add(row)
    session.flush()
    # Lengths only, like announcements: the wording is in the table, not repeated in the log.
    audit.record(
        session,
        actor=updated_by,
        action="greeting.text",
        target=occasion,
        length=len(text),
        note_length=len(welfare_note),
    )
    return row
