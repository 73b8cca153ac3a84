"""Shared fixtures: a migrated database per test, on SQLite or on PostgreSQL.

Set NUANJING_TEST_DATABASE_URL to a PostgreSQL URL to run every storage and dialog test there;
each test then gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text

from storage.db import Database

TEST_DATABASE_ENV = "NUANJING_TEST_DATABASE_URL"


def _postgres_database(base_url: str) -> Iterator[Database]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = Database(base_url)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in base_url else "?"
    database = Database(f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}")
    try:
        database.upgrade()
        yield database
    finally:
        database.dispose()
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, migrated database for this test (SQLite unless told otherwise)."""
    base_url = os.environ.get(TEST_DATABASE_ENV, "")
    if base_url.startswith("postgresql"):
        for database in _postgres_database(base_url):
            yield database.url
        return
    database = Database(f"sqlite:///{tmp_path / 'nuanjing-test.db'}")
    database.upgrade()
    database.dispose()
    yield database.url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    """A migrated database for this test."""
    database = Database(database_url)
    yield database
    database.dispose()
