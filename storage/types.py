"""Column types: datetimes are stored in UTC and always come back timezone-aware."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic_core import PydanticUndefined
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.instrumentation import manager_of_class
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp column that refuses naive datetimes and returns aware UTC ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite has no time zones: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def with_defaults(model: type[SQLModel], values: dict[str, Any]) -> dict[str, Any]:
    """A new row's column values (its key left out): `values`, and for the rest the model's
    defaults, as its __init__ would give them."""
    written: dict[str, Any] = {}
    for name, default, factory in _defaults_of(model):
        if name in values:
            written[name] = values[name]
        elif factory is not None:
            written[name] = factory()
        elif default is PydanticUndefined:
            raise KeyError(f"{model.__name__}.{name} has no default and no value")
        else:
            written[name] = default
    return written


@functools.cache
def _defaults_of(model: type[SQLModel]) -> tuple[tuple[str, Any, Any], ...]:
    """Each column but the key, with the model's default for it and its default factory."""
    columns = model.__table__.columns  # type: ignore[attr-defined]
    fields = model.model_fields
    return tuple(
        (column.name, fields[column.name].default, fields[column.name].default_factory)
        for column in columns
        if not column.primary_key
    )


Row = TypeVar("Row", bound=SQLModel)


def stored_row(model: type[Row], values: dict[str, Any]) -> Row:
    """The row just written with these values (its key among them), detached, made as the ORM
    makes a row it loads: without the model's __init__, which costs a booking press several
    times this."""
    row: Row = manager_of_class(model).new_instance()
    row.__dict__.update(values)
    make_transient_to_detached(row)
    return row
