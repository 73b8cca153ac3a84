"""An update's unit of work and its session blocks (storage/db.py), on SQLite and PostgreSQL.

A block's savepoint is made only before its first write; what a block undoes (by raising or by
`session.rollback()`) is its own writes, never the unit's others.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import Session, col, select

from storage import audit
from storage.db import BlockNotUndone, Database, unit_failure
from storage.models import AuditEntry, Lease
from storage.types import utcnow


class Refused(Exception):
    """A handler's own reason to leave a block."""


def _add(session: Session, name: str) -> None:
    session.add(Lease(name=name, holder="h", expires_at=utcnow() + timedelta(seconds=5)))
    session.flush()


def _names(database: Database) -> list[str]:
    with database.session() as session:
        return sorted(session.exec(select(Lease.name)).all())


def _raising_block(database: Database) -> None:
    with pytest.raises(Refused), database.session() as session:
        _add(session, "undone")
        raise Refused


def _read_only_raising(database: Database) -> None:
    with pytest.raises(Refused), database.session() as session:
        session.exec(select(Lease)).all()
        raise Refused


def _rolled_back_then_written(database: Database) -> None:
    with database.session() as session:
        _add(session, "undone")
        session.rollback()
        _add(session, "after-rollback")


def _inner_raises(database: Database) -> None:
    with database.session() as outer:
        _add(outer, "outer")
        with pytest.raises(Refused), database.session() as inner:
            _add(inner, "undone")
            raise Refused


def _outer_raises_after_inner(database: Database) -> None:
    with pytest.raises(Refused), database.session():
        with database.session() as inner:  # the outer block's first write comes from here
            _add(inner, "undone-inner")
        raise Refused


def _nested_savepoint_rolled_back(database: Database) -> None:
    with database.session() as session:
        _add(session, "kept-before")
        savepoint = session.begin_nested()
        _add(session, "undone")
        savepoint.rollback()
        _add(session, "kept-after")


CASES: list[tuple[str, Callable[[Database], None], list[str]]] = [
    ("a block that raises", _raising_block, ["first"]),
    ("a read-only block that raises", _read_only_raising, ["first"]),
    ("rollback() then writing on", _rolled_back_then_written, ["after-rollback", "first"]),
    ("an inner block that raises", _inner_raises, ["first", "outer"]),
    ("an outer block that raises after its inner", _outer_raises_after_inner, ["first"]),
    (
        "begin_nested rolled back",
        _nested_savepoint_rolled_back,
        ["first", "kept-after", "kept-before"],
    ),
]


@pytest.mark.parametrize(("case", "play", "kept"), CASES, ids=[case for case, _, _ in CASES])
async def test_a_block_undoes_only_its_own_writes(
    database: Database, case: str, play: Callable[[Database], None], kept: list[str]
) -> None:
    with database.unit() as unit:
        _add(unit, "first")  # the unit's own write, before any block
        play(database)
        assert sorted(unit.exec(select(Lease.name)).all()) == kept, case
    assert _names(database) == kept, f"{case}: committed"


async def test_a_unit_that_raises_keeps_nothing(database: Database) -> None:
    with pytest.raises(Refused), database.unit() as unit:
        _add(unit, "first")
        with database.session() as session:
            _add(session, "second")
        raise Refused
    assert _names(database) == []


async def test_a_savepoint_is_made_only_before_a_blocks_first_write(database: Database) -> None:
    from storage import db

    def made() -> bool:
        unit = db._current_unit.get()
        assert unit is not None
        return unit.blocks[-1].made

    with database.unit(), database.session() as session:
        session.exec(select(Lease)).all()
        assert not made(), "a read needs no savepoint"
        _add(session, "written")
        assert made()


MEMO_WRITES = [
    ("INSERT INTO officer (police_id) VALUES (?)", {"lease"}),
    ('UPDATE "role_grant" SET role=%(role)s', {"officer", "lease"}),
    ("DELETE FROM bench_1.telegram_binding WHERE id = 1", {"officer", "lease"}),
    ("INSERT INTO lease (name) VALUES (?)", {"officer", "roles"}),
    ("INSERT INTO booking (slot_id) VALUES (?)", {"officer", "roles", "lease"}),
    # A write the memo cannot place lets everything go.
    ("WITH moved AS (SELECT 1) INSERT INTO lease SELECT * FROM moved", set()),
]


@pytest.mark.parametrize(("statement", "kept"), MEMO_WRITES, ids=[s for s, _ in MEMO_WRITES])
def test_a_write_lets_go_what_was_read_from_its_table(statement: str, kept: set[str]) -> None:
    from storage.db import _Memo

    memo = _Memo()
    memo.put("officer", 1, frozenset({"officer"}))
    memo.put("roles", 2, frozenset({"officer", "role_grant", "telegram_binding"}))
    memo.put("lease", 3, frozenset({"lease"}))
    memo.written(statement)
    assert {key for key in ("officer", "roles", "lease") if memo.get(key) is not None} == kept


def test_a_writer_keeps_the_kinds_it_vouches_for() -> None:
    """Values of a kind the writer keeps stay through its write (it brings them up to date
    itself); other values read from that table go, and outside `keeping` so do those."""
    from storage.db import _Memo

    memo = _Memo()
    memo.put("tally", 1, frozenset({"booking"}), kind="signups:booking:7")
    memo.put("missed", 2, frozenset({"booking", "service_slot"}), kind="attendance")
    memo.put("other slot", 3, frozenset({"booking"}), kind="signups:booking:8")
    memo.put("slot", 4, frozenset({"service_slot"}))
    insert = "INSERT INTO booking (slot_id) VALUES (?)"
    with memo.keeping("signups:booking:7", "attendance"):
        memo.written(insert)
    assert {key for key in ("tally", "missed", "other slot", "slot") if memo.get(key)} == {
        "tally",
        "missed",
        "slot",
    }
    memo.written(insert)
    assert {key for key in ("tally", "missed", "slot") if memo.get(key)} == {"slot"}


def _audited(database: Database, action: str) -> None:
    with database.session() as session:
        audit.record(session, actor="test", action=action)


async def test_a_units_audit_entries_are_written_at_its_end_in_one_statement(
    database: Database,
) -> None:
    """Entries a unit records wait for its end and go in one INSERT; those of a block that
    rolls back (or of blocks inside it) are dropped with its writes."""
    inserts: list[str] = []

    def listen(*args: object) -> None:
        if str(args[2]).startswith("INSERT INTO audit_entry"):
            inserts.append(str(args[2]))

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        with database.unit() as unit:
            assert audit.record(unit, actor="test", action="the unit's own") is None
            _audited(database, "a block's")
            with pytest.raises(Refused), database.session() as failing:
                audit.record(failing, actor="test", action="undone")
                _audited(database, "undone inside")
                raise Refused
            with database.session() as outer:
                audit.record(outer, actor="test", action="outer")
                with pytest.raises(Refused), database.session() as inner:
                    audit.record(inner, actor="test", action="undone inner")
                    raise Refused
            with database.session() as session:
                audit.record(session, actor="test", action="rolled back")
                session.rollback()
                audit.record(session, actor="test", action="after the rollback")
            assert inserts == [], "nothing written before the unit's end"
            assert unit.exec(select(AuditEntry)).all() == []
        with pytest.raises(Refused), database.unit() as unit:
            audit.record(unit, actor="test", action="of a unit that fails")
            raise Refused
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)
    assert len(inserts) == 1
    with database.session() as session:
        written = session.exec(select(AuditEntry).order_by(col(AuditEntry.id))).all()
        # Outside a unit an entry is written at once, and comes back with its id.
        entry = audit.record(session, actor="test", action="at once")
        assert entry is not None and entry.id is not None
    assert [entry.action for entry in written] == [
        "the unit's own",
        "a block's",
        "outer",
        "after the rollback",
    ]


async def test_a_block_without_a_savepoint_writes_in_the_unit_or_fails_it(
    database: Database,
) -> None:
    """`savepoint=False`: no savepoint before the block's writes; raising before any write
    leaves the unit as it was, raising after one fails the whole unit (nothing kept), and a
    block inside it keeps its own savepoint."""
    from storage import db

    def innermost() -> db._Block:
        unit = db._current_unit.get()
        assert unit is not None
        return unit.blocks[-1]

    with database.unit() as unit:
        with database.session(savepoint=False) as session:
            _add(session, "kept")
            assert (innermost().wrote, innermost().made) == (True, False)
            _inner_raises(database)
        with pytest.raises(Refused), database.session(savepoint=False) as session:
            session.exec(select(Lease)).all()
            raise Refused
        assert unit_failure(unit) is None
        assert sorted(unit.exec(select(Lease.name)).all()) == ["kept", "outer"]
    assert _names(database) == ["kept", "outer"]
    with pytest.raises(BlockNotUndone), database.unit() as unit:
        _add(unit, "first")
        with pytest.raises(Refused), database.session(savepoint=False) as session:
            _add(session, "written")
            raise Refused
        assert isinstance(unit_failure(unit), BlockNotUndone)
        _add(unit, "after")
    assert _names(database) == ["kept", "outer"]
