"""Shared fixtures: a migrated database per test, on SQLite or on PostgreSQL.

Set NUANJING_TEST_DATABASE_URL to a PostgreSQL URL to run every storage and dialog test there;
each test then gets a schema of its own, dropped afterwards.

The migrations run once per session, not once per test: on SQLite into a template file that
each test gets a copy of; on PostgreSQL into a scratch schema whose statements (DDL and the
Alembic version stamps, nothing else) each test's schema replays.
"""

from __future__ import annotations

import contextlib
import gc
import os
import ssl
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx._transports.default as httpx_transports
import pytest
from pydantic import SecretStr
from sqlalchemy import event
from sqlalchemy.util import LRUCache
from sqlmodel.main import default_registry

from bot import scheduler
from bot.app import BotApplication, build_application, polling, sender_of
from bot.policy import load_policy
from bot.sandbox import BotEvent, Sandbox, SandboxClient
from bot.settings import Settings
from storage import officers
from storage import roles as role_storage
from storage.crypto import FieldCipher
from storage.db import Database, scratch_schema
from storage.models import BindingMethod, Officer, Role
from tests.dialogs import Dialog, Person
from tests.settling import SETTLE_TIMEOUT, settle

TEST_DATABASE_ENV = "NUANJING_TEST_DATABASE_URL"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def pytest_configure(config: pytest.Config) -> None:
    """The markers these fixtures read; bytecode written as Python writes it by default."""
    config.addinivalue_line(
        "markers", "progress_every(seconds): how often the bot's sender reports progress"
    )
    # With PYTHONDONTWRITEBYTECODE set (some machines set it for every process), each xdist
    # worker and each `nuanjing run` a test starts compiles the whole project again, and pytest
    # rewrites every test module's asserts again: about 20 s of the suite. The bytecode goes to
    # __pycache__/ (ignored by git), as without the variable.
    sys.dont_write_bytecode = False
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)


def pytest_collection_finish(session: pytest.Session) -> None:
    """What the imports and the collection made lives as long as the run: frozen out of the
    collector, so the full collections no longer walk it.

    Tests allocate millions of short-lived objects: collecting the young generation every
    50,000 allocations instead of 700 promotes fewer of them to the older generations, and
    full collections fall from 13-19 a worker to 5-7 (collecting took 3.4-4.4 s a worker,
    now 2.1-3.6 s).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 10, 10)


@pytest.hookimpl(trylast=True)  # after the test's fixtures, whose teardown may write too
def pytest_runtest_teardown(item: pytest.Item) -> None:
    """Each mapper's cache of compiled INSERTs and UPDATEs forgets this test's database.

    The cache is keyed by the engine's dialect and holds a hundred entries a mapper: a deployed
    bot has one engine, but here each test has its own, and the cache kept the compiled
    statements (and the dialects) of the last hundred tests alive, hundreds of thousands of
    objects that every full garbage collection walked again (10-14 s of CPU a worker).
    """
    for mapper in default_registry.mappers:
        cache = mapper.__dict__.get("_compiled_cache")  # made on first use, see Mapper
        if cache is not None:
            cache.clear()


class StatementsOfEveryEngine(MutableMapping[Any, Any]):
    """One cache of compiled statements for all the tests' engines of one kind.

    SQLAlchemy keys an engine's compiled statements by its dialect object, so each test's new
    engine compiled the same few hundred statements again (about 14 s of CPU in a run). Here
    the dialect stands in the key as what its SQL depends on: its class and the server's
    version. A deployed bot has one engine and its own cache.
    """

    def __init__(self, size: int = 2000) -> None:
        self._entries: LRUCache[Any, Any] = LRUCache(size)

    @staticmethod
    def _key(key: Any) -> Any:
        dialect, *rest = key
        return (type(dialect), dialect.server_version_info, *rest)

    def __getitem__(self, key: Any) -> Any:
        return self._entries[self._key(key)]

    def get(self, key: Any, default: Any = None) -> Any:
        return self._entries.get(self._key(key), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        self._entries[self._key(key)] = value

    def __delitem__(self, key: Any) -> None:
        del self._entries[self._key(key)]

    def __iter__(self) -> Iterator[Any]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


@pytest.fixture(scope="session", autouse=True)
def statements_compiled_once() -> Iterator[None]:
    """Every engine made in this worker shares one StatementsOfEveryEngine."""
    shared = StatementsOfEveryEngine()
    made = Database.__init__

    def sharing(self: Database, *args: Any, **kwargs: Any) -> None:
        made(self, *args, **kwargs)
        self.engine.update_execution_options(compiled_cache=shared)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Database, "__init__", sharing)
        yield


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers a core, at most eight.

    Half of the suite's time is spent waiting (bot processes starting and stopping, leases
    running out, answers held back by the sandbox): on two cores, one worker a core kept them
    busy 54% of the time (SQLite 146 s), two a core 90% (100 s; PostgreSQL 292 -> 201 s). Eight
    at most keeps a large machine within PostgreSQL's default 100 connections.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(2 * (cores or 1), 8))


@pytest.fixture(scope="session", autouse=True)
def one_tls_context() -> Iterator[None]:
    """Every httpx client loads the CA bundle (about 30 ms; a bot makes five): once here.

    Nothing in the tests speaks TLS (the sandbox is plain HTTP); the context is only built.
    """
    real = httpx_transports.create_ssl_context
    made: dict[Any, ssl.SSLContext] = {}

    def create_once(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        key = (args, tuple(sorted(kwargs.items())))
        try:
            context = made.get(key)
        except TypeError:  # an argument that cannot be a key (a context of the caller's own)
            return real(*args, **kwargs)
        if context is None:
            context = made[key] = real(*args, **kwargs)
        return context

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx_transports, "create_ssl_context", create_once)
        yield


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


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database, migrated once for the whole session (each test copies it)."""
    path = tmp_path_factory.mktemp("template") / "nuanjing-template.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    database.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def postgres_migration() -> str | None:
    """The SQL the migrations run on an empty PostgreSQL schema, for each test's schema to replay.

    Captured once from a scratch schema; None (migrate each schema) if any of it has parameters.
    """
    statements: list[str] = []
    plain = True

    def capture(
        _connection: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any
    ) -> None:
        nonlocal plain
        if statement.lstrip().upper().startswith("SELECT"):
            return  # Alembic looking for its version table: nothing to replay
        plain = plain and not parameters
        statements.append(statement)

    with schema_of_its_own(os.environ[TEST_DATABASE_ENV], "tpl") as url:
        scratch = Database(url)
        event.listen(scratch.engine, "before_cursor_execute", capture)
        try:
            scratch.upgrade()
        finally:
            scratch.dispose()
    return ";\n".join(statements) if plain and statements else None


@contextlib.contextmanager
def schema_of_its_own(base_url: str, prefix: str, script: str = "") -> Iterator[str]:
    """A URL of a new PostgreSQL schema holding what `script` makes; dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = Database(base_url)
    try:
        with admin.engine.begin() as connection:
            # One round trip: the schema and everything in it.
            connection.exec_driver_sql(
                f'CREATE SCHEMA "{schema}"; SET LOCAL search_path TO "{schema}";\n{script}'
            )
        separator = "&" if "?" in base_url else "?"
        yield f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@contextlib.contextmanager
def _migrated_database_url(directory: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of an empty, migrated database in `directory` (SQLite unless told otherwise)."""
    base_url = os.environ.get(TEST_DATABASE_ENV, "")
    if base_url.startswith("postgresql"):
        script = request.getfixturevalue("postgres_migration")
        if script is None:
            with scratch_schema(base_url, prefix="t") as database:
                yield database.url
        else:
            with schema_of_its_own(base_url, "t", script) as url:
                yield url
        return
    template: Path = request.getfixturevalue("sqlite_template")
    path = directory / "nuanjing-test.db"
    # Created 0600 like a new database (storage.db): it holds the union's records.
    descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(descriptor, "wb") as copy:
        copy.write(template.read_bytes())
    yield f"sqlite:///{path}"


@pytest.fixture
def database_url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A URL of an empty, migrated database for this test (SQLite unless told otherwise)."""
    with _migrated_database_url(tmp_path, request) as url:
        yield url


@pytest.fixture(scope="module")
def module_database_url(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[str]:
    """A migrated database shared by one module's tests: for data that is costly to make and
    that those tests only read."""
    with _migrated_database_url(tmp_path_factory.mktemp("module"), request) as url:
        yield url


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

    async def settle(self, timeout: float = SETTLE_TIMEOUT) -> None:
        """Wait until the bot has taken every update and has nothing in flight.

        See tests/settling.py: the sandbox idle, the inbox handled and replied, the outbox sent.
        """
        await settle(self.client, self.database, self.application, timeout=timeout)

    async def quiet(self, person: Person) -> list[BotEvent]:
        """What newly arrived in this person's chat once the bot has settled (to assert silence)."""
        await self.settle()
        return await self.client.quiet(person.as_user(), 0)

    async def meet(self, *people: Person) -> None:
        """Make the sandbox know these people, as if each had written to the bot before."""
        for person in people:
            await self.client.ensure_user(person.as_user())

    @property
    def dialog(self) -> Dialog:
        """A table player on this bot."""
        return Dialog(self.client, settled=self.settle)


def bot_settings(sandbox: Sandbox, database_url: str) -> Settings:
    """Settings that point the bot at the sandbox and the test database, ignoring .env."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=SecretStr(TEST_TOKEN),
        NUANJING_API_BASE_URL=sandbox.api_base_url,
        NUANJING_DATABASE_URL=database_url,
        NUANJING_SECRET_KEY=SecretStr(TEST_SECRET_KEY),
    )


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A local Bot API sandbox on a free port."""
    async with Sandbox() as running:
        yield running


@pytest.fixture
async def bot(
    sandbox: Sandbox, database: Database, database_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[BotHarness]:
    """The real Application polling the sandbox, with a client to play officers.

    `@pytest.mark.progress_every(seconds)`: the sender tells organizers how a broadcast goes
    that often instead of every 3 s (for tests that wait for the summary, not for the pace).
    """
    settings = bot_settings(sandbox, database_url)
    application = build_application(settings, database, load_policy(None))
    pace = request.node.get_closest_marker("progress_every")
    if pace is not None:
        sender_of(application).progress_every = float(pace.args[0])
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
