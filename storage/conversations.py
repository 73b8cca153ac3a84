"""Conversation state and drafts, written before each prompt so they survive a crash."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col, select

from storage.models import ConversationState
from storage.types import utcnow


def load_states(session: Session, name: str) -> dict[str, str]:
    """Every open conversation of this name: key to state."""
    rows = session.exec(select(ConversationState).where(ConversationState.name == name)).all()
    return {row.key: row.state for row in rows}


def save(session: Session, name: str, key: str, state: str, draft: dict[str, Any]) -> None:
    """Record the state a user is now in and the draft so far."""
    row = session.get(ConversationState, (name, key))
    text = json.dumps(draft, ensure_ascii=False, sort_keys=True)
    if row is None:
        row = ConversationState(name=name, key=key, state=state, draft=text)
    else:
        row.state, row.draft, row.updated_at = state, text, utcnow()
    session.add(row)
    session.flush()


def set_state(session: Session, name: str, key: str, state: str) -> None:
    """Record the state only, keeping the draft."""
    row = session.get(ConversationState, (name, key))
    if row is None:
        row = ConversationState(name=name, key=key, state=state)
    else:
        row.state, row.updated_at = state, utcnow()
    session.add(row)
    session.flush()


def state_of(session: Session, name: str, key: str) -> str | None:
    """The state of one open conversation, or None."""
    row = session.get(ConversationState, (name, key))
    return None if row is None else row.state


def draft(session: Session, name: str, key: str) -> dict[str, Any]:
    """The draft of an open conversation, or an empty one."""
    row = session.get(ConversationState, (name, key))
    if row is None:
        return {}
    value = json.loads(row.draft)
    return value if isinstance(value, dict) else {}


def delete(session: Session, name: str, key: str) -> None:
    """Forget the conversation and its draft."""
    row = session.get(ConversationState, (name, key))
    if row is not None:
        session.delete(row)
        session.flush()


def delete_all_for(session: Session, key: str) -> int:
    """Forget every conversation of one user (keyed the same way); returns how many."""
    rows = session.exec(select(ConversationState).where(ConversationState.key == key)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    return len(rows)


def key_of(chat_id: int, user_id: int) -> str:
    """The stored form of PTB's (chat_id, user_id) conversation key."""
    return json.dumps([chat_id, user_id])


def take(session: Session, name: str, key: str, state: str) -> dict[str, Any] | None:
    """Delete the row if it stands at `state` and return its draft; else None.

    The delete is the transaction's first statement, so a second press racing this one waits for
    it (a row lock on PostgreSQL, the write lock on SQLite) and then finds nothing: one action
    per draft, however often its button is pressed.
    """
    row = session.execute(
        sql_delete(ConversationState)
        .where(
            col(ConversationState.name) == name,
            col(ConversationState.key) == key,
            col(ConversationState.state) == state,
        )
        .returning(col(ConversationState.draft))
    ).first()
    if row is None:
        return None
    value = json.loads(row[0])
    return value if isinstance(value, dict) else {}
