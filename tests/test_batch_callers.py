"""The callers of a batch's updates read once for the batch (storage.officers.expect_callers),
on SQLite and PostgreSQL: each account's read comes from that one statement, and whatever the
unit writes to the officers, their bindings or their roles, or undoes, is read anew."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import Session

from storage import officers
from storage import roles as role_storage
from storage.db import Database
from storage.models import BindingMethod, Role
from tests.conftest import add_officer

WANG, LI, STRANGER = 8_100_001, 8_100_002, 8_100_003


class Refused(Exception):
    """A handler's own reason to leave a block."""


@contextmanager
def counted(database: Database) -> Iterator[list[str]]:
    """The SELECT statements sent meanwhile that read callers (with their roles)."""
    seen: list[str] = []

    def listen(*args: Any) -> None:
        statement = str(args[2])
        reads = statement.lstrip().upper().startswith("SELECT")
        if reads and "role_grant" in statement and "telegram_binding" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", listen)
    try:
        yield seen
    finally:
        event.remove(database.engine, "before_cursor_execute", listen)


def caller(database: Database, user_id: int) -> tuple[str, frozenset[str]] | None:
    """What a handler's caller lookup gives: the officer's police ID and roles."""
    with database.session() as session:
        found = officers.bound_with_roles(session, user_id)
        return None if found is None else (found[0].police_id, found[1])


def _nothing(database: Database) -> None:
    pass


def _grant_li(database: Database) -> None:
    li = _officer(database, "100002")
    with database.session() as session:
        role_storage.grant(session, li, Role.ORGANIZER, granted_by="test")


def _bind_stranger(database: Database) -> None:
    with database.session() as session:
        zhao = add_officer_in(session, "100003")
        officers.bind(
            session,
            zhao,
            telegram_user_id=STRANGER,
            chat_id=STRANGER,
            method=BindingMethod.CONTACT,
        )


def _deactivate_li(database: Database) -> None:
    with database.session() as session:
        li = officers.by_police_id(session, "100002")
        assert li is not None
        li.active = False
        session.add(li)


def _grant_undone(database: Database) -> None:
    li = _officer(database, "100002")
    with pytest.raises(Refused), database.session() as session:
        role_storage.grant(session, li, Role.ADMIN, granted_by="test")
        raise Refused


def _officer(database: Database, police_id: str) -> int:
    with database.session() as session:
        found = officers.by_police_id(session, police_id)
        assert found is not None and found.id is not None
        return found.id


def add_officer_in(session: Session, police_id: str) -> Any:
    from storage.models import Officer

    return officers.create(
        session, Officer(police_id=police_id, name="赵敏", unit="天元分局", phone="+8613700000003")
    )


# (what happens between the first caller's read and the others', what Li and the stranger are
# then, and how many caller reads the three lookups cost in all)
CASES: list[
    tuple[
        str,
        Callable[[Database], None],
        tuple[str, frozenset[str]] | None,
        tuple[str, frozenset[str]] | None,
        int,
    ]
] = [
    ("nothing written", _nothing, ("100002", frozenset()), None, 1),
    ("a role granted to Li", _grant_li, ("100002", frozenset({"organizer"})), None, 3),
    ("the stranger bound", _bind_stranger, ("100002", frozenset()), ("100003", frozenset()), 3),
    ("Li deactivated", _deactivate_li, None, None, 3),
    ("a grant undone by its block", _grant_undone, ("100002", frozenset()), None, 3),
]


@pytest.mark.parametrize(
    ("case", "between", "li", "stranger", "reads"), CASES, ids=[case[0] for case in CASES]
)
async def test_a_batch_reads_its_callers_once_and_anew_after_a_write(
    database: Database,
    case: str,
    between: Callable[[Database], None],
    li: tuple[str, frozenset[str]] | None,
    stranger: tuple[str, frozenset[str]] | None,
    reads: int,
) -> None:
    add_officer(database, "100001", "王建国", "+8613700000001", bound_to=WANG)
    add_officer(database, "100002", "李娜", "+8613700000002", bound_to=LI)
    with database.unit() as unit, counted(database) as seen:
        officers.expect_callers(unit, [WANG, LI, STRANGER])
        assert caller(database, WANG) == ("100001", frozenset()), case
        between(database)
        assert caller(database, LI) == li, case
        assert caller(database, STRANGER) == stranger, case
        assert len(seen) == reads, case


async def test_each_account_is_taken_from_the_batch_once(database: Database) -> None:
    add_officer(database, "100001", "王建国", "+8613700000001", bound_to=WANG, roles=[Role.ADMIN])
    add_officer(database, "100002", "李娜", "+8613700000002", bound_to=LI)
    with database.unit() as unit, counted(database) as seen:
        officers.expect_callers(unit, [WANG, LI])
        assert caller(database, LI) == ("100002", frozenset())
        assert caller(database, WANG) == ("100001", frozenset({"admin"}))
        assert len(seen) == 1
        # Asked again (a second lookup of the same update): read as ever.
        assert caller(database, WANG) == ("100001", frozenset({"admin"}))
        assert len(seen) == 2


async def test_outside_a_unit_or_alone_nothing_is_read_ahead(database: Database) -> None:
    add_officer(database, "100001", "王建国", "+8613700000001", bound_to=WANG)
    add_officer(database, "100002", "李娜", "+8613700000002", bound_to=LI)
    with database.session() as session, counted(database) as seen:
        officers.expect_callers(session, [WANG, LI])
        assert officers.bound_with_roles(session, WANG) is not None
        assert officers.bound_with_roles(session, LI) is not None
        assert len(seen) == 2
    with database.unit() as unit, counted(database) as seen:
        officers.expect_callers(unit, [WANG])
        assert caller(database, WANG) == ("100001", frozenset())
        assert len(seen) == 1
        assert " IN (" not in seen[0].upper()
