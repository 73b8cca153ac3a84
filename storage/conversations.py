"""Conversation state and drafts, written before each prompt so they survive a crash."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy import delete as sql_delete
from sqlmodel import Session, col
from sqlmodel import select as model_select

from storage.db import unit_scratch
from storage.models import ConversationState
from storage.types import utcnow

# A user's open conversations as one update's handlers see them: name to (state, draft). Every
# flow's check looks at them for a typed message, so they are read once per update (one
# SELECT, not one per flow) and kept in step by the writes below.
Steps = dict[str, tuple[str, str]]

_table = ConversationState.__table__  # type: ignore[attr-defined]
_STEPS_OF = select(_table.c.name, _table.c.state, _table.c.draft).where(
    _table.c.key == bindparam("key")
)


def _steps(session: Session, key: str) -> Steps | None:
    """The user's steps, read once per unit; None outside a unit (read row by row then)."""
    scratch = unit_scratch(session)
    if scratch is None:
        return None
    steps: Steps | None = scratch.get((__name__, key))
    if steps is None:
        rows = session.connection().execute(_STEPS_OF, {"key": key})
        steps = {str(name): (str(state), str(draft)) for name, state, draft in rows}
        scratch[(__name__, key)] = steps
    return steps


def _noted(session: Session, key: str, name: str, step: tuple[str, str] | None) -> None:
    """Keep the unit's copy in step with a write (None: the row is gone)."""
    scratch = unit_scratch(session)
    steps: Steps | None = scratch.get((__name__, key)) if scratch is not None else None
    if steps is None:
        return
    if step is None:
        steps.pop(name, None)
    else:
        steps[name] = step


def load_states(session: Session, name: str) -> dict[str, str]:
    """Every open conversation of this name: key to state."""
    rows = session.exec(model_select(ConversationState).where(ConversationState.name == name)).all()
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
    _noted(session, key, name, (state, text))


def set_state(session: Session, name: str, key: str, state: str) -> None:
    """Record the state only, keeping the draft."""
    row = session.get(ConversationState, (name, key))
    if row is None:
        row = ConversationState(name=name, key=key, state=state)
    else:
        row.state, row.updated_at = state, utcnow()
    session.add(row)
    session.flush()
    _noted(session, key, name, (state, row.draft))


def state_of(session: Session, name: str, key: str) -> str | None:
    """The state of one open conversation, or None."""
    steps = _steps(session, key)
    if steps is not None:
        step = steps.get(name)
        return None if step is None else step[0]
    row = session.get(ConversationState, (name, key))
    return None if row is None else row.state


def draft(session: Session, name: str, key: str) -> dict[str, Any]:
    """The draft of an open conversation, or an empty one."""
    steps = _steps(session, key)
    if steps is not None:
        step = steps.get(name)
        text = None if step is None else step[1]
    else:
        row = session.get(ConversationState, (name, key))
        text = None if row is None else row.draft
    if text is None:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def delete(session: Session, name: str, key: str) -> None:
    """Forget the conversation and its draft."""
    steps = _steps(session, key)
    if steps is not None and name not in steps:
        return
    row = session.get(ConversationState, (name, key))
    if row is not None:
        session.delete(row)
        session.flush()
    _noted(session, key, name, None)


def delete_all_for(session: Session, key: str) -> int:
    """Forget every conversation of one user (keyed the same way); returns how many."""
    rows = session.exec(model_select(ConversationState).where(ConversationState.key == key)).all()
    for row in rows:
        session.delete(row)
    session.flush()
    scratch = unit_scratch(session)
    if scratch is not None:
        scratch[(__name__, key)] = {}
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
    _noted(session, key, name, None)
    value = json.loads(row[0])
    return value if isinstance(value, dict) else {}
