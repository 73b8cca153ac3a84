"""Row locks that hold on SQLite as on PostgreSQL."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

from sqlalchemy import select, update
from sqlmodel import Session, SQLModel
from sqlmodel.sql.expression import SelectOfScalar

from storage.db import in_unit

Row = TypeVar("Row", bound=SQLModel)


def locked(session: Session, model: type[Row], row_id: int) -> Row | None:
    """The row, read fresh and locked until the transaction ends.

    PostgreSQL locks the row (SELECT … FOR UPDATE). SQLite ignores FOR UPDATE: an update's unit
    holds its write lock from the start (BEGIN IMMEDIATE), and elsewhere a no-op write takes it
    first, so two presses at once are serialised there as PostgreSQL serialises them.
    """
    if _sqlite(session) and not in_unit(session):
        _take_write_lock(session, model, row_id)
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


def locked_first(
    session: Session,
    model: type[Row],
    query: SelectOfScalar[Row],
    parameters: Mapping[str, Any] | None = None,
) -> Row | None:
    """The first row of `query` (a select of `model`, with its bound `parameters`), read fresh
    and locked as `locked` locks it: one statement where the caller knows the row by other
    columns than its id."""
    sqlite = _sqlite(session)
    statement = _fresh(query, locking=not sqlite)
    found = session.exec(statement, params=parameters).first()
    if found is None or not sqlite or in_unit(session):
        return found
    # Outside a unit the write lock comes after the read: read again under it.
    return locked(session, model, found.id)


@functools.lru_cache(maxsize=64)
def _fresh(query: SelectOfScalar[Row], *, locking: bool) -> SelectOfScalar[Row]:
    """The query reading rows afresh (and FOR UPDATE): built once per prebuilt query."""
    fresh = query.execution_options(populate_existing=True)
    return fresh.with_for_update() if locking else fresh


def hold(session: Session, model: type[Row], row_id: int) -> None:
    """Lock the row until the transaction ends, as `locked` does, without reading it."""
    key: Any = model.id  # type: ignore[attr-defined]
    if not _sqlite(session):
        session.execute(select(key).where(key == row_id).with_for_update())
    elif not in_unit(session):  # in a unit, SQLite's write lock is already held
        _take_write_lock(session, model, row_id)


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _take_write_lock(session: Session, model: type[Row], row_id: int) -> None:
    """SQLite: a no-op write, which takes the database's write lock."""
    key: Any = model.id  # type: ignore[attr-defined]
    session.execute(
        update(model)
        .where(key == row_id)
        .values({key: key})
        .execution_options(synchronize_session=False)
    )
