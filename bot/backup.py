"""`nuanjing backup FILE` and `nuanjing restore FILE`: a consistent copy of the database.

SQLite: the online backup API (`sqlite3.Connection.backup`) inside one read transaction, so the
copy is the database as it was at one instant while the bot goes on writing (WAL lets it); the
file is a plain single-file SQLite database. PostgreSQL: `pg_dump --format=custom`, restored
with `pg_restore --no-owner`. Either way the sealed columns travel as their ciphertext, with the
secret key's check value (table app_setting): the restored database opens with the same
NUANJING_SECRET_KEY and refuses another, as the original did. Backup files are created 0600.

A restore goes into an EMPTY database only: one with no table at all (a new SQLite file, a new
PostgreSQL database), or whose `officer` table has no row and which has no migration recorded
(no row in `alembic_version`). Anything else is refused: a restore never merges into, nor
replaces, a union's records. So restore before the first `nuanjing db upgrade` or `run`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.private_files import private_file

# Pages copied per step of the SQLite backup API: progress moves, the snapshot stays one.
PAGES_PER_STEP = 1024
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
# What each query parameter of a PostgreSQL URL is to libpq, passed in the environment: nothing
# of the URL reaches a command line (where `ps` shows it) but the database's name.
_LIBPQ_ENV = {
    "host": "PGHOST",
    "port": "PGPORT",
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
    "sslpassword": "PGSSLPASSWORD",
    "passfile": "PGPASSFILE",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "options": "PGOPTIONS",
    "application_name": "PGAPPNAME",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}

# Pages copied so far and pages in all.
Progress = Callable[[int, int], None]


class BackupRefused(Exception):
    """Nothing was done: the message says why in one sentence (a missing tool, a non-empty
    database, a file of the wrong kind)."""


class BackupFailed(Exception):
    """The copy was attempted and failed; nothing was left half-written."""


@dataclass(frozen=True)
class Contents:
    """What a database holds, as far as deciding whether it is empty goes."""

    tables: int
    roster: bool  # it has an officer table
    officers: int
    migrations: int

    def why_not_empty(self) -> str | None:
        """None when a restore may go into it; else what it holds, as a clause."""
        if self.tables == 0:
            return None
        if not self.roster:
            return f"{self.tables} tables, none of them the roster"
        held = []
        if self.officers:
            held.append(f"{self.officers} officers")
        if self.migrations:
            held.append("migrations applied")
        return " and ".join(held) or None


def _contents(engine: Engine) -> Contents:
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())

        def rows(table: str) -> int:
            if table not in tables:
                return 0
            return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())

        return Contents(len(tables), "officer" in tables, rows("officer"), rows("alembic_version"))


def _size(path: Path) -> str:
    return f"{path.stat().st_size / 1_000_000:.1f} MB"


# --- backup ----------------------------------------------------------------------------------


def backup(database_url: str, file: Path, *, progress: Progress | None = None) -> str:
    """Copy the database to `file` (created 0600, replaced if it exists); the summary line."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_backup(_sqlite_path(url), file, progress)
    return _postgres_backup(url, file)


def _sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupRefused("NUANJING_DATABASE_URL must name a SQLite file to back up or restore.")
    return Path(url.database)


def _sqlite_backup(path: Path, file: Path, progress: Progress | None) -> str:
    if not path.is_file():
        raise BackupRefused(f"there is no SQLite database at {path} to back up.")
    if file.exists() and file.resolve() == path.resolve():
        raise BackupRefused(f"{file} is the database itself: name another file for the backup.")
    with private_file(file):
        pass  # created 0600 and empty: SQLite writes into it and keeps its mode
    source = sqlite3.connect(path, isolation_level=None)
    target = sqlite3.connect(file, isolation_level=None)
    try:
        source.execute("PRAGMA busy_timeout=5000")
        # One read transaction around every step: the copy is one instant of the database,
        # and the bot's writes meanwhile (WAL) neither wait for it nor restart it.
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        pages = [0]

        def step(_status: int, remaining: int, total: int) -> None:
            pages[0] = total
            if progress is not None:
                progress(total - remaining, total)

        source.backup(target, pages=PAGES_PER_STEP, progress=step)
        source.execute("COMMIT")
        # A plain rollback-journal file: one file, readable by any sqlite3, no -wal beside it.
        target.execute("PRAGMA journal_mode=DELETE").fetchone()
        officers = _sqlite_officers(target)
    except sqlite3.Error as exc:
        target.close()
        file.unlink(missing_ok=True)
        raise BackupFailed(f"the SQLite backup failed: {exc}.") from None
    finally:
        source.close()
    target.close()
    return (
        f"backed up the SQLite database {path} ({pages[0]} pages, {_size(file)}, "
        f"{officers} officers) to {file}"
    )


def _sqlite_officers(connection: sqlite3.Connection) -> int:
    found = connection.execute(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'officer'"
    ).fetchone()[0]
    if not found:
        return 0
    return int(connection.execute("SELECT count(*) FROM officer").fetchone()[0])


def _libpq_env(url: URL) -> dict[str, str]:
    """The environment that points pg_dump/pg_restore at the URL's database (password too)."""
    env = dict(os.environ)
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGOPTIONS"):
        env.pop(name, None)  # only what the URL says
    if url.host:
        env["PGHOST"] = url.host
    if url.port:
        env["PGPORT"] = str(url.port)
    if url.username:
        env["PGUSER"] = url.username
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    if url.database:
        env["PGDATABASE"] = url.database
    for key, value in url.query.items():
        variable = _LIBPQ_ENV.get(key)
        if variable is not None:
            env[variable] = value if isinstance(value, str) else value[-1]
    return env


def _where(url: URL) -> str:
    """The database named for the operator: name, host and port, never the password."""
    host = url.host or str(url.query.get("host", "the local socket"))
    port = f":{url.port}" if url.port else ""
    return f"{url.database or '(default)'} on {host}{port}"


def _tool(name: str, verb: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupRefused(
            f"{name} is not installed (or not on PATH): install the PostgreSQL client tools of "
            f"the server's version (e.g. apt install postgresql-client) to {verb} a PostgreSQL "
            "database."
        )
    return found


def _last_line(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _postgres_backup(url: URL, file: Path) -> str:
    tool = _tool("pg_dump", "back up")
    try:
        with private_file(file) as out:
            # --no-password: a nightly timer must fail, not wait for a prompt nobody answers.
            done = subprocess.run(
                [tool, "--format=custom", "--no-password"],
                stdout=out,
                stderr=subprocess.PIPE,
                env=_libpq_env(url),
                check=False,
            )
    except OSError as exc:
        file.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump could not be run: {exc.strerror}.") from None
    if done.returncode != 0:
        file.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump failed: {_last_line(done.stderr)}")
    return (
        f"backed up the PostgreSQL database {_where(url)} with pg_dump (custom format, "
        f"{_size(file)}) to {file}"
    )


# --- restore ---------------------------------------------------------------------------------


def restore(database_url: str, file: Path, *, progress: Progress | None = None) -> str:
    """Copy a backup into an empty database; the summary line, or BackupRefused/BackupFailed."""
    if not file.is_file():
        raise BackupRefused(f"there is no backup file at {file}.")
    with file.open("rb") as stream:
        head = stream.read(len(SQLITE_MAGIC))
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            kind = "a PostgreSQL backup" if head.startswith(PG_DUMP_MAGIC) else "not a backup"
            raise BackupRefused(f"{file} is {kind}, and NUANJING_DATABASE_URL is SQLite.")
        return _sqlite_restore(_sqlite_path(url), file, progress)
    if not head.startswith(PG_DUMP_MAGIC):
        kind = "a SQLite backup" if head.startswith(SQLITE_MAGIC) else "not a pg_dump backup"
        raise BackupRefused(f"{file} is {kind}, and NUANJING_DATABASE_URL is PostgreSQL.")
    return _postgres_restore(url, database_url, file)


def _refuse_unless_empty(contents: Contents, where: str) -> None:
    held = contents.why_not_empty()
    if held is not None:
        raise BackupRefused(
            f"the database {where} is not empty ({held}): restore into a new, empty database."
        )


def _sqlite_restore(path: Path, file: Path, progress: Progress | None) -> str:
    if path.exists():
        if path.resolve() == file.resolve():
            raise BackupRefused(f"{file} is the database itself.")
        engine = create_engine(f"sqlite:///{path}")
        try:
            contents = _contents(engine)
        except SQLAlchemyError as exc:
            raise BackupRefused(
                f"{path} cannot be read as a SQLite database ({type(exc).__name__})."
            ) from None
        finally:
            engine.dispose()
        _refuse_unless_empty(contents, str(path))
    else:
        # Created 0600 like every new database of the bot (storage/db.py).
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    source = sqlite3.connect(f"{file.resolve().as_uri()}?mode=ro", uri=True)
    target = sqlite3.connect(path, isolation_level=None)
    try:
        checked = source.execute("PRAGMA quick_check").fetchone()[0]
        if checked != "ok":
            raise BackupRefused(f"{file} is damaged ({checked}); nothing was restored.")
        pages = [0]

        def step(_status: int, remaining: int, total: int) -> None:
            pages[0] = total
            if progress is not None:
                progress(total - remaining, total)

        source.backup(target, pages=PAGES_PER_STEP, progress=step)
        officers = _sqlite_officers(target)
    except sqlite3.Error as exc:
        raise BackupFailed(f"the SQLite restore failed: {exc}.") from None
    finally:
        source.close()
        target.close()
    return (
        f"restored {file} into the SQLite database {path} ({pages[0]} pages, {officers} "
        "officers); start the bot with the NUANJING_SECRET_KEY it was backed up with"
    )


def _conninfo_dbname(name: str) -> str:
    """A libpq connection string naming only the database: -d would read a bare name holding
    '=' as a connection string of its own."""
    quoted = name.replace("\\", "\\\\").replace("'", "\\'")
    return f"dbname='{quoted}'"


def _postgres_restore(url: URL, database_url: str, file: Path) -> str:
    tool = _tool("pg_restore", "restore")
    engine = create_engine(database_url)
    try:
        contents = _contents(engine)
    except SQLAlchemyError as exc:
        raise BackupRefused(
            f"the database {_where(url)} cannot be reached ({type(exc).__name__})."
        ) from None
    finally:
        engine.dispose()
    _refuse_unless_empty(contents, _where(url))
    arguments = [
        tool,
        "--no-owner",  # the objects belong to whoever restores: the bot's own database user
        "--no-privileges",  # grants name roles of the old server, which may not exist here
        "--single-transaction",  # all of it, or (on any error) nothing
        "--exit-on-error",
        "--no-password",
    ]
    if contents.tables:
        arguments += ["--clean", "--if-exists"]  # the empty tables of an earlier attempt go
    arguments += [f"--dbname={_conninfo_dbname(url.database or '')}", str(file.resolve())]
    try:
        done = subprocess.run(arguments, stderr=subprocess.PIPE, env=_libpq_env(url), check=False)
    except OSError as exc:
        raise BackupFailed(f"pg_restore could not be run: {exc.strerror}.") from None
    if done.returncode != 0:
        raise BackupFailed(f"pg_restore failed, nothing was restored: {_last_line(done.stderr)}")
    engine = create_engine(database_url)
    try:
        officers = _contents(engine).officers
    finally:
        engine.dispose()
    return (
        f"restored {file} into the PostgreSQL database {_where(url)} with pg_restore "
        f"({officers} officers); start the bot with the NUANJING_SECRET_KEY it was "
        "backed up with"
    )
