"""The `insert` of the database in use, for INSERT … ON CONFLICT and RETURNING.

SQLAlchemy's dialect modules are imported here on first use, not by every storage module at
start-up: a process on SQLite never loads PostgreSQL's (about 2 MB of resident memory).
"""

from __future__ import annotations

import importlib
from typing import Any


def insert_for(dialect: str, needed_by: str = "this write") -> Any:
    """The dialect's `insert` construct (with on_conflict_do_nothing/do_update); SQLite and
    PostgreSQL only."""
    if dialect not in ("sqlite", "postgresql"):
        raise NotImplementedError(f"{needed_by} needs SQLite or PostgreSQL, not {dialect}")
    return importlib.import_module(f"sqlalchemy.dialects.{dialect}").insert
