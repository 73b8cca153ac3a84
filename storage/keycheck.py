"""The secret key's check value, and rotation of every sealed value to a new key.

A database remembers which NUANJING_SECRET_KEY it was started with: table `app_setting`, row
`secret_key_check`, holds a fixed text sealed with that key (a Fernet token, which reveals
nothing of the key). The first start writes it; every later start decrypts it and refuses a
different key before anything is read or written under it, so a valid but wrong key can no
longer seal new health details that the right key could not read back.

A database sealed before the check existed gets its check value at the next start, but only
after one value of each entry of storage.sealed.SEALED has been read with the key.

`rotate_secret_key` re-encrypts every value of the registry and the check value in one
transaction: all of it is under the new key afterwards, or (on any refusal or failure) none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Connection, Table, insert, select, update

from storage.crypto import CipherError, FieldCipher
from storage.db import Database
from storage.models import Lease, Setting
from storage.sealed import SEALED, Sealed, table_of
from storage.types import utcnow
from storage.upsert import insert_for

CHECK_NAME = "secret_key_check"
CHECK_TEXT = "NuanJing secret key check, version 1"

MISMATCH = (
    "NUANJING_SECRET_KEY is not the key this database was first started with: set that key "
    "again (a new key takes `nuanjing secret-key rotate`)."
)

# (label of the entry, rows done, rows in all): rotation's progress, entry by entry.
RotationProgress = Callable[[str, int, int], None]


class KeyCheckError(Exception):
    """The secret key cannot be used with this database; the message is one sentence."""


class KeyMismatchError(KeyCheckError):
    """The key is well-formed but not the one this database's sealed values were made with."""


class UnreadableValueError(KeyCheckError):
    """A rotation met a value the current key cannot read (sealed under some other key)."""


class BotRunningError(KeyCheckError):
    """A rotation was refused because a bot process holds a lease."""


@dataclass
class Rotation:
    """What a rotation did, per entry of the registry (in its order)."""

    rotated: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for the operator: the counts per column, never a value or a key."""
        parts = []
        for label, count in self.rotated.items():
            left = self.skipped.get(label, 0)
            parts.append(f"{label} {count}" + (f" ({left} left unreadable)" if left else ""))
        total = sum(self.rotated.values())
        return (
            f"re-encrypted {total} values with the new key: {', '.join(parts)}; "
            "set NUANJING_SECRET_KEY to the new key before the next start"
        )


def _settings_table() -> Table:
    return table_of(Setting)


@contextmanager
def _transaction(database: Database) -> Iterator[Connection]:
    """One transaction; on SQLite it takes the write lock at once, so no writer slips between
    what it reads and what it writes (two first starts, a start during a rotation)."""
    with database.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.begin()
        try:
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise


def _stored(connection: Connection, *, lock: str | None) -> str | None:
    """The check value, locked "share" (a start) or "update" (a rotation) on PostgreSQL.

    A start reading it while a rotation holds it waits for the rotation's outcome.
    """
    table = _settings_table()
    query = select(table.c.value).where(table.c.name == CHECK_NAME)
    if lock is not None:
        query = query.with_for_update(read=lock == "share")
    value = connection.execute(query).scalar_one_or_none()
    return None if value is None else str(value)


def _matches(stored: str, cipher: FieldCipher) -> bool:
    try:
        return cipher.decrypt(stored) == CHECK_TEXT
    except CipherError:
        return False


def _try_stored_values(connection: Connection, cipher: FieldCipher) -> None:
    """Before a first check value is written: the key must read what is already sealed."""
    for entry in SEALED:
        sample = entry.sample(connection)
        if sample is None:
            continue
        try:
            cipher.decrypt(sample)
        except CipherError:
            raise KeyMismatchError(
                f"NUANJING_SECRET_KEY cannot read the values already stored in {entry.label}: "
                "set the key they were sealed with."
            ) from None


def _insert_check(connection: Connection, value: str) -> bool:
    """Write the check value unless another process just did; True if this one wrote it."""
    table = _settings_table()
    dialect = connection.dialect.name
    inserts = insert_for(dialect, "the key check")
    statement = (
        inserts(table)
        .values(name=CHECK_NAME, value=value)
        .on_conflict_do_nothing(index_elements=[table.c.name])
        .returning(table.c.name)
    )
    return connection.execute(statement).first() is not None


def check_secret_key(database: Database, cipher: FieldCipher) -> bool:
    """Refuse a key this database was not started with; at first start, remember this one.

    Returns True when the check value was written now (the first start), False when it was
    there and matches. Raises KeyMismatchError, whose message is one sentence naming no key.
    Call it at start-up, before anything is sealed or opened, and outside `Database.unit`: it
    runs its own short transaction (on SQLite one that takes the write lock).
    """
    with _transaction(database) as connection:
        stored = _stored(connection, lock="share")
        if stored is None:
            _try_stored_values(connection, cipher)
            if _insert_check(connection, cipher.encrypt(CHECK_TEXT)):
                return True
            stored = _stored(connection, lock="share")  # a racing first start wrote it
        if stored is None or not _matches(stored, cipher):
            raise KeyMismatchError(MISMATCH)
        return False


def _refuse_while_running(connection: Connection) -> None:
    table = table_of(Lease)
    query = select(table.c.name, table.c.holder, table.c.expires_at).where(
        table.c.expires_at > utcnow()
    )
    held = connection.execute(query.order_by(table.c.name)).first()
    if held is not None:
        until = held.expires_at.strftime("%H:%M:%S")
        raise BotRunningError(
            f"the bot is running (lease {held.name!r} held by {held.holder} until {until} "
            "UTC): stop every instance before rotating the secret key."
        )


def rotate_secret_key(
    database: Database,
    current: FieldCipher,
    new: FieldCipher,
    *,
    skip_unreadable: bool = False,
    progress: RotationProgress | None = None,
) -> Rotation:
    """Re-encrypt every sealed value (storage.sealed.SEALED) and the check value with `new`.

    One transaction: refused with nothing changed when a bot holds a lease (BotRunningError),
    when `current` is not the database's key (KeyMismatchError) or, unless `skip_unreadable`
    (which leaves such values as they are and counts them), when a value does not open with
    `current` (UnreadableValueError).
    """
    report = Rotation()
    with _transaction(database) as connection:
        _refuse_while_running(connection)
        stored = _stored(connection, lock="update")
        if stored is None:
            _try_stored_values(connection, current)
        elif not _matches(stored, current):
            raise KeyMismatchError(MISMATCH)
        for entry in SEALED:
            report.rotated[entry.label] = _rotate_entry(
                connection, entry, current, new, skip_unreadable, report, progress
            )
        table = _settings_table()
        check = new.encrypt(CHECK_TEXT)
        if stored is None:
            connection.execute(insert(table).values(name=CHECK_NAME, value=check))
        else:
            connection.execute(update(table).where(table.c.name == CHECK_NAME).values(value=check))
    return report


def _rotate_entry(
    connection: Connection,
    entry: Sealed,
    current: FieldCipher,
    new: FieldCipher,
    skip_unreadable: bool,
    report: Rotation,
    progress: RotationProgress | None,
) -> int:
    """Rewrite one entry; returns how many of its values now open with the new key."""
    label = entry.label

    def recrypt(token: str, where: str) -> str:
        try:
            return current.reencrypt(token, new)
        except CipherError:
            if not skip_unreadable:
                raise UnreadableValueError(
                    f"a value in {label} ({where}) cannot be read with NUANJING_SECRET_KEY, "
                    "so nothing was changed: rotate with --skip-unreadable to leave such "
                    "values as they are."
                ) from None
            report.skipped[label] = report.skipped.get(label, 0) + 1
            return token

    total = entry.count(connection) if progress is not None else 0

    def step(done: int) -> None:
        if progress is not None:
            progress(label, done, total)

    step(0)
    seen = entry.rewrite(connection, recrypt, step)
    return seen - report.skipped.get(label, 0)
