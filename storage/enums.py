"""Enumerations the command line needs without loading SQLAlchemy and the tables.

`nuanjing --help` and the commands that stop on a settings error list or check these before
any database is opened; storage.models re-exports them beside the tables.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """Privileged roles; every bound officer is implicitly an officer."""

    ORGANIZER = "organizer"
    ADMIN = "admin"
