"""Row locks that hold on SQLite as on PostgreSQL."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session, SQLModel

Row = TypeVar("Row", bound=SQLModel)


def locked(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row, read fresh and locked until the transaction ends.

    SQLite ignores FOR UPDATE; a no-op write takes its database lock first, so two presses at
    once are serialised there as PostgreSQL serialises them on the row lock.
    """
    key: Any = model.id  # type: ignore[attr-defined]
    session.execute(
        update(model)
        .where(key == row_id)
        .values({key: key})
        .execution_options(synchronize_session=False)
    )
    return session.get(model, row_id, with_for_update=True, populate_existing=True)
