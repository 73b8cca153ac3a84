"""Issue 15, item 4: `nuanjing backup FILE` and `nuanjing restore FILE`.

A populated database (officers, a binding, a care case with a sealed ward, a broadcast and the
secret key's check value) goes through `nuanjing backup` and `nuanjing restore` into a new
database and comes back the same, the ward still sealed and readable with the key, another key
refused. On SQLite always; on PostgreSQL (NUANJING_TEST_DATABASE_URL) with pg_dump and
pg_restore, each test in databases of its own, created and dropped here.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import col, select

from bot import backup as backups
from bot import cli, logs
from bot.settings import SettingsError
from storage import broadcasts, care
from storage.audit import record
from storage.crypto import FieldCipher
from storage.db import Database
from storage.keycheck import check_secret_key
from storage.models import (
    Broadcast,
    BroadcastKind,
    CareCase,
    Delivery,
    Officer,
    Priority,
    Role,
    TelegramBinding,
)
from tests.conftest import TEST_DATABASE_ENV, add_officer

KEY = FieldCipher.generate_key()
WARD = "心内科特需病房17床"
BASE_URL = os.environ.get(TEST_DATABASE_ENV, "")
ON_POSTGRES = BASE_URL.startswith("postgresql")


@pytest.fixture(autouse=True)
def quiet_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """cli.main reads no .env of the checkout, and its logging is taken down afterwards."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUANJING_SECRET_KEY", KEY)
    level = logging.getLogger().level
    yield
    logs.teardown()
    logging.getLogger().setLevel(level)


@contextmanager
def fresh_database(tmp_path: Path, name: str) -> Iterator[str]:
    """The URL of a new database with nothing in it: a file not yet made, or a PostgreSQL
    database created for this test and dropped afterwards."""
    if not ON_POSTGRES:
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    database = f"nj_{name}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{database}"'))
    try:
        yield make_url(BASE_URL).set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def tools() -> None:
    """pg_dump and pg_restore, when the tests run on PostgreSQL."""
    if ON_POSTGRES and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump and pg_restore are not on PATH: install postgresql-client")


def _populate(url: str) -> None:
    """A union's database as a bot leaves it: migrated, key checked, people and records."""
    database = Database(url)
    try:
        database.upgrade()
        cipher = FieldCipher(KEY)
        assert check_secret_key(database, cipher)  # the first start stores the check value
        wang = add_officer(database, "100001", "王建国", "+8613800138001", bound_to=7_952_000_001)
        add_officer(database, "100002", "李强", "+8613800138002", unit="交警支队")
        add_officer(
            database, "200001", "赵敏", "+8613800138003", bound_to=7_952_000_003, roles=[Role.ADMIN]
        )
        assert wang.id is not None
        with database.session() as session:
            care.create(
                session,
                care.NewCase(
                    officer_id=wang.id,
                    reporter_id=wang.id,
                    event="hospitalization",
                    event_date=date(2026, 11, 30),
                    hospital="市中心医院",
                    ward=WARD,
                    policy_amount=1000,
                ),
                cipher,
            )
            broadcasts.create(
                session,
                kind=BroadcastKind.ANNOUNCEMENT,
                priority=Priority.NORMAL,
                text="工会通知：周五下午体检",
                recipients=[broadcasts.Recipient(wang.id, 7_952_000_001)],
                created_by="officer:200001",
            )
    finally:
        database.dispose()


def _snapshot(url: str) -> dict[str, Any]:
    """What the database holds, as plain values (the ward as its ciphertext)."""
    database = Database(url)
    try:
        with database.session() as session:
            return {
                "officers": [
                    (o.id, o.police_id, o.name, o.unit, o.phone)
                    for o in session.exec(select(Officer).order_by(col(Officer.id))).all()
                ],
                "bindings": [
                    (b.officer_id, b.telegram_user_id, b.chat_id)
                    for b in session.exec(select(TelegramBinding)).all()
                ],
                "cases": [
                    (c.id, c.officer_id, c.hospital, c.ward_cipher, c.status)
                    for c in session.exec(select(CareCase)).all()
                ],
                "broadcasts": [(b.id, b.text) for b in session.exec(select(Broadcast)).all()],
                "deliveries": [
                    (d.broadcast_id, d.officer_id, d.state) for d in session.exec(select(Delivery))
                ],
                "revisions": database.applied_revisions(),
            }
    finally:
        database.dispose()


def _nuanjing(monkeypatch: pytest.MonkeyPatch, url: str, *arguments: str) -> int:
    monkeypatch.setenv("NUANJING_DATABASE_URL", url)
    try:
        return cli.main(list(arguments))
    finally:
        logs.teardown()


def test_a_populated_database_round_trips(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "backups" / "nuanjing.backup"
    file.parent.mkdir()
    with (
        fresh_database(tmp_path, "source") as source,
        fresh_database(tmp_path, "target") as target,
    ):
        _populate(source)
        before = _snapshot(source)
        assert _nuanjing(monkeypatch, source, "backup", str(file)) == cli.EXIT_OK
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and out.startswith("backed up the "), out
        assert str(file) in out
        assert ("pg_dump (custom format" in out) if ON_POSTGRES else ("3 officers" in out)
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        # Sealed in the file too: its bytes never hold the ward.
        assert WARD.encode() not in file.read_bytes()

        assert _nuanjing(monkeypatch, target, "restore", str(file)) == cli.EXIT_OK
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and out.startswith(f"restored {file} into the "), out
        assert "3 officers" in out
        assert _snapshot(target) == before

        restored = Database(target)
        try:
            with restored.session() as session:
                (case,) = session.exec(select(CareCase)).all()
            assert case.ward_cipher != WARD and WARD not in case.ward_cipher
            assert FieldCipher(KEY).decrypt(case.ward_cipher) == WARD
            # The check value came along: the key opens it without writing a new one (as
            # `nuanjing run` checks at start), and another key is refused as before.
            assert check_secret_key(restored, FieldCipher(KEY)) is False
            cli._check_secret_key(restored, FieldCipher(KEY))
            with pytest.raises(SettingsError, match="not the key this database was first"):
                cli._check_secret_key(restored, FieldCipher(FieldCipher.generate_key()))
            assert restored.pending_migrations() == []
        finally:
            restored.dispose()


def test_a_database_that_is_not_empty_is_refused(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "nuanjing.backup"
    with (
        fresh_database(tmp_path, "source") as source,
        fresh_database(tmp_path, "migrated") as migrated,
    ):
        _populate(source)
        assert _nuanjing(monkeypatch, source, "backup", str(file)) == cli.EXIT_OK
        capsys.readouterr()
        before = _snapshot(source)
        # Officers and migrations: the union's records are never merged into nor replaced.
        assert _nuanjing(monkeypatch, source, "restore", str(file)) == cli.EXIT_CONFIG
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert err.startswith("nuanjing: the database ")
        assert "is not empty (3 officers and migrations applied)" in err
        assert _snapshot(source) == before
        # A database `nuanjing db upgrade` (or a first `run`) has been through is not empty.
        Database(migrated).upgrade()
        assert _nuanjing(monkeypatch, migrated, "restore", str(file)) == cli.EXIT_CONFIG
        assert "is not empty (migrations applied)" in capsys.readouterr().err


def test_tables_without_officers_or_migrations_count_as_empty(
    tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An officer table with no row and no migration recorded: a restore that stopped half-way
    on SQLite, or tables made by hand; the restore replaces them."""
    file = tmp_path / "nuanjing.backup"
    with (
        fresh_database(tmp_path, "source") as source,
        fresh_database(tmp_path, "bare") as bare,
    ):
        _populate(source)
        assert _nuanjing(monkeypatch, source, "backup", str(file)) == cli.EXIT_OK
        database = Database(bare)
        database.upgrade()
        with database.engine.begin() as connection:
            connection.execute(text("DELETE FROM alembic_version"))
        database.dispose()
        capsys.readouterr()
        assert _nuanjing(monkeypatch, bare, "restore", str(file)) == cli.EXIT_OK, (
            capsys.readouterr().err
        )
        assert _snapshot(bare) == _snapshot(source)


def test_a_running_sqlite_bot_keeps_writing_while_the_copy_is_one_instant(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "live.db"
    database = Database(f"sqlite:///{path}")
    database.upgrade()
    with database.session() as session:
        for number in range(300):
            record(session, actor="test", action="test.seed", target=str(number), note="x" * 400)
    monkeypatch.setattr(backups, "PAGES_PER_STEP", 2)  # many steps, writes between them
    stop = threading.Event()
    written = [0]

    def keep_writing() -> None:
        while not stop.is_set():
            with database.session() as session:
                record(
                    session,
                    actor="test",
                    action="test.live",
                    target=str(written[0]),
                    note="y" * 400,
                )
            written[0] += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    steps: list[tuple[int, int]] = []
    try:
        while written[0] < 5:
            threading.Event().wait(0.001)  # the writer has started writing
        summary = backups.backup(
            f"sqlite:///{path}",
            tmp_path / "live.backup",
            progress=lambda done, total: steps.append((done, total)),
        )
        during = written[0]
    finally:
        stop.set()
        writer.join()
    assert summary.startswith(f"backed up the SQLite database {path} (")
    assert len(steps) > 10 and steps[-1][0] == steps[-1][1]
    assert [done for done, _total in steps] == sorted(done for done, _total in steps)
    assert written[0] > during >= 5  # the bot wrote on while the copy was made
    copy = sqlite3.connect(tmp_path / "live.backup")
    try:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        live = copy.execute("SELECT count(*) FROM audit_entry WHERE action = 'test.live'")
        assert 0 < live.fetchone()[0] <= during + 1
    finally:
        copy.close()
    assert not (tmp_path / "live.backup-wal").exists()
    database.dispose()


def test_a_missing_pg_dump_is_said_in_one_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    url = "postgresql+psycopg://nuanjing:pw-never-shown@db.internal:5432/nuanjing"
    assert _nuanjing(monkeypatch, url, "backup", str(tmp_path / "x.backup")) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("nuanjing: pg_dump is not installed (or not on PATH): install ")
    assert not (tmp_path / "x.backup").exists()
    dump = tmp_path / "old.backup"
    dump.write_bytes(backups.PG_DUMP_MAGIC + b"\x01\x0e")
    assert _nuanjing(monkeypatch, url, "restore", str(dump)) == cli.EXIT_CONFIG
    assert capsys.readouterr().err.startswith("nuanjing: pg_restore is not installed")


def test_a_backup_of_the_other_kind_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    dump = tmp_path / "old.backup"
    dump.write_bytes(backups.PG_DUMP_MAGIC + b"\x01\x0e")
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert _nuanjing(monkeypatch, url, "restore", str(dump)) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == (
        f"nuanjing: {dump} is a PostgreSQL backup, and NUANJING_DATABASE_URL is SQLite.\n"
    )
    assert not (tmp_path / "new.db").exists()
    (tmp_path / "notes.txt").write_text("not a database")
    sqlite_backup = tmp_path / "sqlite.backup"
    sqlite_backup.write_bytes(backups.SQLITE_MAGIC)
    garbage = f"sqlite:///{tmp_path / 'notes.txt'}"
    assert _nuanjing(monkeypatch, garbage, "restore", str(sqlite_backup)) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == (
        f"nuanjing: {tmp_path / 'notes.txt'} cannot be read as a SQLite database (DatabaseError).\n"
    )
    assert (tmp_path / "notes.txt").read_text() == "not a database"
    missing = tmp_path / "none.backup"
    assert _nuanjing(monkeypatch, url, "restore", str(missing)) == cli.EXIT_CONFIG
    assert capsys.readouterr().err == f"nuanjing: there is no backup file at {missing}.\n"


def test_the_password_goes_to_pg_dump_in_its_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(arguments: list[str], **options: Any) -> subprocess.CompletedProcess[bytes]:
        calls.append((arguments, options["env"]))
        options["stdout"].write(backups.PG_DUMP_MAGIC)
        return subprocess.CompletedProcess(arguments, 0, b"", b"")

    monkeypatch.setattr(backups.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(backups.subprocess, "run", run)
    url = (
        "postgresql+psycopg://nuanjing:p%40ss%20word@db.internal:6543/union%20db"
        "?sslmode=verify-full&options=-csearch_path%3Dnj"
    )
    summary = backups.backup(url, tmp_path / "x.backup")
    ((arguments, env),) = calls
    assert arguments == ["/usr/bin/pg_dump", "--format=custom", "--no-password"]
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"]) == ("db.internal", "6543", "nuanjing")
    assert (env["PGPASSWORD"], env["PGDATABASE"]) == ("p@ss word", "union db")
    assert (env["PGSSLMODE"], env["PGOPTIONS"]) == ("verify-full", "-csearch_path=nj")
    assert "p@ss" not in summary and "union db on db.internal:6543" in summary
    assert stat.S_IMODE((tmp_path / "x.backup").stat().st_mode) == 0o600
