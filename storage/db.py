"""The database engine, sessions and migrations."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_REVISION = re.compile(r'^revision\s*=\s*"([^"]+)"', re.MULTILINE)
_DOWN_REVISION = re.compile(r'^down_revision\s*=\s*(?:"([^"]+)"|None)', re.MULTILINE)


def shipped_head() -> str | None:
    """The newest migration shipped, read from the files without importing alembic.

    Alembic weighs 11 MB: a bot whose database is up to date never needs it (see
    `Database.pending_migrations`). None unless the revisions form one line.
    """
    revisions: dict[str, str | None] = {}
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN_REVISION.search(source)
        if revision is None or down is None:
            return None
        revisions[revision.group(1)] = down.group(1)
    heads = set(revisions) - set(revisions.values())
    return heads.pop() if len(heads) == 1 else None


def _sqlite_pragmas(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets the sender read while a handler writes; foreign keys are off by default in SQLite.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _create_private(path: str | None) -> None:
    """Create a new SQLite file readable by its owner only (it holds the union's records).

    SQLite gives its -wal and -shm files the same mode as the database file.
    """
    if not path or path == ":memory:" or path.startswith("file:") or os.path.exists(path):
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _begin_immediate(connection: Connection) -> None:
    """BEGIN IMMEDIATE, waiting UNIT_LOCK_WAIT_MS at most; DatabaseBusy if the lock is taken."""
    # The pragmas go straight to the driver: they run for every update and change no data.
    driver = connection.connection.driver_connection
    assert driver is not None
    driver.execute(_UNIT_BUSY_TIMEOUT)
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except OperationalError as exc:
        if "locked" in str(exc.orig) or "busy" in str(exc.orig):
            raise DatabaseBusy from None
        raise
    finally:
        driver.execute(_BUSY_TIMEOUT)


def _running_task() -> asyncio.Task[Any] | None:
    try:
        return asyncio.current_task()
    except RuntimeError:  # no event loop: a unit of a plain thread
        return None


@dataclass(frozen=True)
class _Unit:
    """The one transaction an asyncio task's sessions join (see Database.unit)."""

    database: Database
    connection: Connection
    task: asyncio.Task[Any] | None
    # What storage functions read once per transaction (see `unit_scratch`).
    scratch: dict[Any, Any] = field(default_factory=dict)
    # What they read once for all the updates of the unit (see `unit_memo`).
    memo: _Memo = field(default_factory=lambda: _Memo())
    # The session blocks open in the unit, innermost last (see `Database.session`).
    blocks: list[_Block] = field(default_factory=list)
    # Rows written at the unit's end, each with the blocks open when it came (see `defer_insert`).
    deferred: list[tuple[Any, dict[str, Any], tuple[_Block, ...]]] = field(default_factory=list)
    # Why the unit can only fail now (a block without a savepoint left writes it could not undo).
    failures: list[BlockNotUndone] = field(default_factory=list)
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def owned_here(self) -> bool:
        return self.task is not None and _running_task() is self.task


@dataclass
class _Block:
    """A `Database.session()` block inside a unit. Its savepoint is made just before its first
    write: most blocks only read, and a savepoint through the ORM costs more than the read.
    A block opened with `savepoint=False` makes none (see `Database.session`)."""

    name: str
    savepoint: bool = True
    made: bool = False  # its savepoint is made
    wrote: bool = False  # it, or a block inside it, has written


class BlockNotUndone(Exception):
    """A block without a savepoint raised (or rolled back) after writing: its writes cannot be
    undone alone, so its unit fails as a whole."""


class _Memo:
    """Values read once for a unit's updates, each let go when a table it was read from is
    written in the unit, or when a block of the unit rolls back.

    A value may name the kind of fact it is: a writer that keeps such facts true itself (it
    knows what its write changes, and updates them) writes under `keeping`, and they stay.
    """

    def __init__(self) -> None:
        self._values: dict[Any, tuple[frozenset[str], Any, str | None]] = {}
        self._kept: frozenset[str] = frozenset()

    def get(self, key: Any, default: Any = None) -> Any:
        found = self._values.get(key)
        return default if found is None else found[1]

    def put(self, key: Any, value: Any, tables: frozenset[str], kind: str | None = None) -> None:
        self._values[key] = (tables, value, kind)

    def pop(self, key: Any, default: Any = None) -> Any:
        found = self._values.pop(key, None)
        return default if found is None else found[1]

    @contextmanager
    def keeping(self, *kinds: str) -> Iterator[None]:
        """Writes made inside leave values of these kinds alone: the writer vouches that they
        still hold afterwards (or brings them up to date itself)."""
        before = self._kept
        self._kept = before | frozenset(kinds)
        try:
            yield
        finally:
            self._kept = before

    def written(self, statement: str) -> None:
        """Let go of what was read from the table `statement` writes to."""
        if not self._values:
            return
        target = _WRITE_TARGET.match(statement)
        table = (target.group(2) or target.group(1)).lower() if target else None
        for key, (tables, _, kind) in list(self._values.items()):
            if kind is not None and kind in self._kept:
                continue
            # A write whose table is not recognised lets everything go.
            if table is None or table in tables:
                del self._values[key]

    def clear(self) -> None:
        self._values.clear()


# The table a write goes to, after its schema if it names one.
_WRITE_TARGET = re.compile(
    r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?(?:\."?(\w+)"?)?',
    re.IGNORECASE,
)

# Statements that change nothing: no savepoint needed before them.
_READS = ("SELECT", "PRAGMA")
# Statements that end savepoints. (A savepoint a block begins itself, `begin_nested`, counts
# as a write: the block's own must come before it, or rolling that one back would drop ours.)
_SAVEPOINTS = ("RELEASE", "ROLLBACK")


def _savepoint_before_write(
    connection: Connection,
    cursor: Any,
    statement: str,
    parameters: Any,
    context: Any,
    executemany: bool,
) -> None:
    """Before a unit's block first writes, make its savepoint (and those of the blocks around
    it that have none yet, outermost first)."""
    unit = _current_unit.get()
    if unit is None or connection is not unit.connection:
        return
    if statement.lstrip()[:9].upper().startswith(_READS + _SAVEPOINTS):
        return
    unit.memo.written(statement)
    if not unit.blocks or unit.blocks[-1].wrote:
        return
    for block in unit.blocks:
        if not block.wrote:
            block.wrote = True
            if block.savepoint:
                cursor.execute(f"SAVEPOINT {block.name}")
                block.made = True


def _block_of(unit: _Unit, savepoint: bool) -> Iterator[Session]:
    """A session block of the unit: its writes are undone if the block raises, the rest of the
    unit's are not (a savepoint, made before its first write: `_savepoint_before_write`)."""
    block = _Block(f"nj_block_{next(unit.numbers)}", savepoint)
    unit.blocks.append(block)
    # The session never commits the unit's transaction; its rollback() goes back to the block's
    # savepoint; a failed flush rolls the whole unit back (no handler goes on after a database
    # error: the update then fails as a whole).
    nested = _BlockSession(
        bind=unit.connection, join_transaction_mode="rollback_only", expire_on_commit=False
    )
    nested.undo = lambda: _undo(unit, block)
    try:
        yield nested
        nested.flush()
    except BaseException:
        unit.blocks.pop()
        nested.close()
        # A failed flush may have ended the transaction already: the unit fails anyway.
        with contextlib.suppress(Exception):
            _undo(unit, block)
            if block.made:
                unit.connection.exec_driver_sql(f"RELEASE SAVEPOINT {block.name}")
        raise
    unit.blocks.pop()
    nested.close()
    # A block that ended well keeps its savepoint: the unit's commit releases it with the rest,
    # and a RELEASE now would cost a round trip for nothing. A later block rolls back to its
    # own (later) savepoint only, and an outer block's rollback drops this one with its own.


class _BlockSession(Session):
    """The session of a unit's block: `rollback()` undoes the block's writes only, the rest of
    the unit's stay (what a savepoint session did)."""

    undo: Callable[[], None]

    def rollback(self) -> None:
        """Back to the block's savepoint; what the session held is let go."""
        self.undo()
        self.expunge_all()


def _undo(unit: _Unit, block: _Block) -> None:
    """Undo the block's writes; the unit's scratch and memo may hold what they wrote."""
    unit.scratch.clear()
    unit.memo.clear()
    unit.deferred[:] = [
        row for row in unit.deferred if not any(open_then is block for open_then in row[2])
    ]
    if block.made:
        # The savepoint stays: the block may go on writing.
        unit.connection.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {block.name}")
    elif block.wrote:
        unit.failures.append(BlockNotUndone(f"{block.name} wrote and then failed"))


async def commit_unit(session: Session) -> None:
    """Commit the unit `session` belongs to, all but the leaving (its exit then has nothing
    left to commit). On PostgreSQL the COMMIT waits for the WAL to reach the disk, which
    takes milliseconds: it is made in a worker thread, and the event loop answers others
    meanwhile (nothing else uses the unit's connection until it is done). SQLite's commit
    is cheap, and made here."""
    unit = _current_unit.get()
    if unit is None or session.bind is not unit.connection or not unit.owned_here():
        return
    session.flush()
    if unit.failures:
        raise unit.failures[0]
    _write_deferred(unit)
    if unit.database.dialect == "sqlite":
        unit.connection.commit()
        return
    await asyncio.to_thread(unit.connection.commit)


def unit_failure(session: Session) -> BlockNotUndone | None:
    """Why the unit `session` belongs to can only fail now, if it can (None outside a unit)."""
    unit = _current_unit.get()
    if unit is None or session.bind is not unit.connection or not unit.failures:
        return None
    return unit.failures[0]


def in_unit(session: Session) -> bool:
    """True if `session` is part of the current task's unit (an update being handled)."""
    return unit_scratch(session) is not None


def unit_scratch(session: Session) -> dict[Any, Any] | None:
    """A dict that lives as long as the unit `session` belongs to (None outside a unit).

    For rows an update's handlers read many times (its conversation steps): read once, kept
    in step by the same module's writes, and emptied when a block of the unit rolls back.
    """
    unit = _current_unit.get()
    if unit is None or session.bind is not unit.connection or not unit.owned_here():
        return None
    return unit.scratch


def unit_memo(session: Session) -> _Memo | None:
    """What lives as long as the unit `session` belongs to, across all its updates (None
    outside a unit).

    For what several updates of a batch would each read (their callers): read once for them
    all, each value let go as soon as the unit writes to a table it was read from, or a block
    of the unit rolls back.
    """
    unit = _current_unit.get()
    if unit is None or session.bind is not unit.connection or not unit.owned_here():
        return None
    return unit.memo


def defer_insert(session: Session, table: Any, values: dict[str, Any]) -> bool:
    """Leave a row of `table` (a Core table) to be written when the unit commits, with the
    unit's other such rows in one statement a table; dropped if a block open now rolls back.
    False outside a unit: the caller writes it now.

    For rows nothing reads back while the unit runs (the audit log): each would otherwise cost
    the update a statement of its own.
    """
    unit = _current_unit.get()
    if unit is None or session.bind is not unit.connection or not unit.owned_here():
        return False
    unit.deferred.append((table, values, tuple(unit.blocks)))
    return True


def _write_deferred(unit: _Unit) -> None:
    """Write the unit's deferred rows, in the order they came, one statement a table."""
    by_table: dict[Any, list[dict[str, Any]]] = {}
    for table, values, _ in unit.deferred:
        by_table.setdefault(table, []).append(values)
    unit.deferred.clear()
    for table, rows in by_table.items():
        unit.connection.execute(table.insert(), rows)


_current_unit: ContextVar[_Unit | None] = ContextVar("nuanjing_unit", default=None)

# How long a unit's BEGIN IMMEDIATE may wait for SQLite's write lock before giving the event loop
# back (DatabaseBusy); the caller waits with asyncio and tries again.
UNIT_LOCK_WAIT_MS = 20
BUSY_TIMEOUT_MS = 5000
_UNIT_BUSY_TIMEOUT = f"PRAGMA busy_timeout={UNIT_LOCK_WAIT_MS}"
_BUSY_TIMEOUT = f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}"


class DatabaseBusy(Exception):
    """Another connection holds SQLite's write lock; nothing was started."""


class Database:
    """One engine and the sessions made from it."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        if url.startswith("sqlite"):
            _create_private(make_url(url).database)
            self.engine: Engine = create_engine(
                url, echo=echo, connect_args={"check_same_thread": False}
            )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        else:
            self.engine = create_engine(url, echo=echo, pool_pre_ping=True)
        event.listen(self.engine, "before_cursor_execute", _savepoint_before_write)
        self._gate: asyncio.Lock | None = None

    @property
    def gate(self) -> asyncio.Lock:
        """Taken on the event loop by whatever writes there: an update's handling, the sender.

        An update's handling holds one transaction (see bot/inbox.py); a second writer on the
        same thread while that transaction waits would block the loop on the database lock.
        """
        if self._gate is None:
            self._gate = asyncio.Lock()
        return self._gate

    @property
    def dialect(self) -> str:
        """The SQL dialect's name: sqlite or postgresql."""
        return self.engine.dialect.name

    @contextmanager
    def session(self, *, savepoint: bool = True) -> Iterator[Session]:
        """A session that commits on success and rolls back on error.

        Inside a unit (an update being handled, see `unit`) the session is a savepoint of the
        unit's transaction: its commit and rollback keep their meaning for the block, and
        nothing is durable until the unit commits.

        `savepoint=False`, for a block on the busiest path whose errors its handler does not
        catch: the block makes no savepoint (a round trip before its first write, on
        PostgreSQL), and if it raises or rolls back after writing, its unit fails as a whole
        (`BlockNotUndone`; the inbox then handles the batch's updates one by one). Outside a
        unit it changes nothing.
        """
        unit = _current_unit.get()
        if unit is not None and unit.database is self and unit.owned_here():
            yield from _block_of(unit, savepoint)
            return
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def unit(self) -> Iterator[Session]:
        """One transaction for everything the current asyncio task does with this database.

        Every `session()` block of the task joins it as a savepoint until the block ends; the
        whole commits on success, or nothing does. On SQLite the transaction takes the write lock
        at once (BEGIN IMMEDIATE), so the unit never meets another writer half-way; if another
        connection holds it, DatabaseBusy comes at once instead of the loop blocking for seconds.
        """
        with self.engine.connect() as connection:
            # The unit's sessions join this transaction only if it is open before they start.
            if self.dialect == "sqlite":
                _begin_immediate(connection)
            else:
                connection.begin()
            unit = _Unit(self, connection, _running_task())
            token = _current_unit.set(unit)
            try:
                # The unit's own session is the transaction itself: no savepoint of its own.
                with Session(
                    bind=connection,
                    join_transaction_mode="rollback_only",
                    expire_on_commit=False,
                ) as session:
                    yield session
                    session.flush()
                if unit.failures:
                    raise unit.failures[0]
                _write_deferred(unit)
                connection.commit()
            except BaseException:
                connection.rollback()
                raise
            finally:
                _current_unit.reset(token)

    def _alembic_config(self) -> Config:
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        return config

    def applied_revisions(self) -> set[str]:
        """The revisions the database says it has (none before the first migration)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return set()
            rows = connection.execute(text("SELECT version_num FROM alembic_version"))
            return {row[0] for row in rows}

    def pending_migrations(self) -> list[str]:
        """Revisions not yet applied, oldest first."""
        head = shipped_head()
        if head is not None and self.applied_revisions() == {head}:
            return []  # up to date: alembic stays unloaded
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        script = ScriptDirectory.from_config(self._alembic_config())
        with self.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
        pending = [rev.revision for rev in script.iterate_revisions("heads", current or "base")]
        return list(reversed(pending))

    def upgrade(self) -> None:
        """Apply every pending migration."""
        from alembic import command

        config = self._alembic_config()
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


@contextmanager
def scratch_schema(base_url: str, *, prefix: str) -> Iterator[Database]:
    """A migrated database in a fresh PostgreSQL schema, dropped afterwards (tests, benchmarks).

    The schema is chosen through the connection's search_path, so nothing touches the tables
    that already live in that database.
    """
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
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
