"""Shared fixtures: a migrated database per test, on SQLite or on PostgreSQL.

Set NUANJING_TEST_DATABASE_URL to a PostgreSQL URL to run every storage and dialog test there;
each test then gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import scheduler
from bot.app import BotApplication, build_application, polling
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from bot.settings import Settings
from storage import officers
from storage import roles as role_storage
from storage.crypto import FieldCipher
from storage.db import Database, scratch_schema
from storage.models import BindingMethod, Officer, Role
from tests.dialogs import Dialog, Person

TEST_DATABASE_ENV = "NUANJING_TEST_DATABASE_URL"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def noon_in_shanghai(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every bot a test builds starts with its clock at noon today in Shanghai.

    Whatever the hour the tests run at: the quiet hours (21:00–08:00) would hold back every
    broadcast a test waits for. Tests of the greetings and the quiet hours set their own time.
    """
    real = scheduler.clock_of
    noon = datetime.combine(datetime.now(SHANGHAI).date(), time(12), tzinfo=SHANGHAI)

    def clock_at_noon(application: BotApplication) -> scheduler.Clock:
        fresh = scheduler.CLOCK_KEY not in application.bot_data
        clock = real(application)
        if fresh:
            clock.freeze(noon.astimezone(UTC))
        return clock

    monkeypatch.setattr(scheduler, "clock_of", clock_at_noon)


@pytest.fixture
def database_url(tmp_path: Path) -> Iterator[str]:
    """A URL of an empty, migrated database for this test (SQLite unless told otherwise)."""
    base_url = os.environ.get(TEST_DATABASE_ENV, "")
    if base_url.startswith("postgresql"):
        with scratch_schema(base_url, prefix="t") as database:
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


# --- The real bot against the sandbox -----------------------------------------------------

TEST_TOKEN = "123456:sandbox-test-token"
TEST_SECRET_KEY = FieldCipher.generate_key()


@dataclass
class BotHarness:
    """A running bot, its database, and the sandbox client that plays officers."""

    application: BotApplication
    database: Database
    client: SandboxClient
    sandbox: Sandbox
    settings: Settings

    async def meet(self, *people: Person) -> None:
        """Make the sandbox know these people, as if each had written to the bot before."""
        for person in people:
            await self.client.ensure_user(person.as_user())

    @property
    def dialog(self) -> Dialog:
        """A table player on this bot."""
        return Dialog(self.client)


def bot_settings(sandbox: Sandbox, database_url: str) -> Settings:
    """Settings that point the bot at the sandbox and the test database, ignoring .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=TEST_TOKEN,
        NUANJING_API_BASE_URL=sandbox.api_base_url,
        NUANJING_DATABASE_URL=database_url,
        NUANJING_SECRET_KEY=TEST_SECRET_KEY,
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A local Bot API sandbox on a free port."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def bot(sandbox: Sandbox, database: Database, database_url: str) -> AsyncIterator[BotHarness]:
    """The real Application polling the sandbox, with a client to play officers."""
    settings = bot_settings(sandbox, database_url)
    application = build_application(settings, database, load_policy(None))
    async with (
        SandboxClient(sandbox.base_url, TEST_TOKEN) as client,
        polling(application, poll_timeout=1),
    ):
        yield BotHarness(application, database, client, sandbox, settings)


def add_officer(
    database: Database,
    police_id: str,
    name: str,
    phone: str,
    *,
    unit: str = "天元分局",
    bound_to: int | None = None,
    roles: Sequence[Role] = (),
    **fields: Any,
) -> Officer:
    """Put an officer on the roster, optionally bound to a Telegram id and holding roles."""
    with database.session() as session:
        officer = officers.create(
            session, Officer(police_id=police_id, name=name, unit=unit, phone=phone, **fields)
        )
        assert officer.id is not None
        if bound_to is not None:
            officers.bind(
                session,
                officer,
                telegram_user_id=bound_to,
                chat_id=bound_to,
                method=BindingMethod.IMPORT,
            )
        for role in roles:
            role_storage.grant(session, officer.id, role, granted_by="test")
    return officer
