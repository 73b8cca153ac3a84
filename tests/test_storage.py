"""Storage on a real database (SQLite by default, PostgreSQL with NUANJING_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from storage import audit, bindings, conversations, officers, roles
from storage.db import MIGRATIONS, Database, shipped_head
from storage.locks import locked_first
from storage.models import BindingMethod, Officer, Role, RoleGrant
from storage.types import stored_row, utcnow, with_defaults
from tests.conftest import add_officer


def _officer(police_id: str = "100001", phone: str = "+8613800000001") -> Officer:
    return Officer(police_id=police_id, name="张三", unit="天元分局", phone=phone)


def test_migrations_leave_nothing_pending(database: Database) -> None:
    assert database.pending_migrations() == []


def test_the_head_read_from_the_files_is_alembics(database: Database) -> None:
    """The light check that keeps alembic unloaded agrees with alembic itself."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert [shipped_head()] == heads
    assert database.applied_revisions() == set(heads)


def test_a_database_behind_the_files_lists_what_is_pending(tmp_path: Path) -> None:
    behind = Database(f"sqlite:///{tmp_path / 'behind.db'}")
    assert behind.applied_revisions() == set()
    assert behind.pending_migrations()[0] == "0001"
    behind.upgrade()
    assert behind.pending_migrations() == []
    behind.dispose()


def test_bind_replaces_older_binding_of_either_side(database: Database) -> None:
    with database.session() as session:
        first = officers.create(session, _officer("100001", "+8613800000001"))
        second = officers.create(session, _officer("100002", "+8613800000002"))
        officers.bind(
            session,
            first,
            telegram_user_id=7_000_000_001,
            chat_id=7_000_000_001,
            method=BindingMethod.CONTACT,
        )
    with database.session() as session:
        # The same Telegram account now binds to the second officer: the first loses it.
        officers.bind(
            session,
            second,
            telegram_user_id=7_000_000_001,
            chat_id=7_000_000_001,
            method=BindingMethod.APPROVAL,
        )
    with database.session() as session:
        bound = officers.bound_officer(session, 7_000_000_001)
        assert bound is not None and bound.police_id == "100002"
        assert first.id is not None and officers.binding_of(session, first.id) is None


def test_inactive_officer_is_not_bound(database: Database) -> None:
    with database.session() as session:
        officer = officers.create(session, _officer())
        officers.bind(
            session, officer, telegram_user_id=42, chat_id=42, method=BindingMethod.CONTACT
        )
        officers.update_profile(session, officer, active=False)
    with database.session() as session:
        assert officers.bound_officer(session, 42) is None


def test_the_caller_and_their_roles_come_in_one_read(database: Database) -> None:
    """bound_with_roles: every role once, none for a plain officer, nothing for the inactive."""
    with database.session() as session:
        organizer = officers.create(session, _officer("100001", "+8613800000001"))
        plain = officers.create(session, _officer("100002", "+8613800000002"))
        gone = officers.create(session, _officer("100003", "+8613800000003"))
        for officer, user_id in ((organizer, 41), (plain, 42), (gone, 43)):
            officers.bind(
                session,
                officer,
                telegram_user_id=user_id,
                chat_id=user_id,
                method=BindingMethod.CONTACT,
            )
        assert organizer.id is not None and gone.id is not None
        for role in (Role.ORGANIZER, Role.ADMIN):
            roles.grant(session, organizer.id, role, granted_by="cli")
        roles.grant(session, gone.id, Role.ADMIN, granted_by="cli")
        officers.update_profile(session, gone, active=False)
    with database.session() as session:
        found = officers.bound_with_roles(session, 41)
        assert found is not None
        assert (found[0].police_id, found[1]) == ("100001", {"organizer", "admin"})
        found = officers.bound_with_roles(session, 42)
        assert found is not None and (found[0].police_id, found[1]) == ("100002", frozenset())
        assert officers.bound_with_roles(session, 43) is None
        assert officers.bound_with_roles(session, 44) is None


async def test_locked_first_finds_by_other_columns_in_a_unit_and_outside(
    database: Database,
) -> None:
    with database.session() as session:
        officers.create(session, _officer("100001", "+8613800000001"))
    query = select(Officer).where(col(Officer.police_id) == bindparam("police_id"))
    with database.session() as session:
        found = locked_first(session, Officer, query, {"police_id": "100001"})
        assert found is not None and found.name == "张三"
        assert locked_first(session, Officer, query, {"police_id": "999999"}) is None
        assert locked_first(session, Officer, query, {"police_id": "100001"}) is found
    with database.unit(), database.session() as session:
        found = locked_first(session, Officer, query, {"police_id": "100001"})
        assert found is not None and found.police_id == "100001"


def test_police_id_is_unique(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as session:
        officers.create(session, _officer("100001", "+8613800000001"))
        officers.create(session, _officer("100001", "+8613800000002"))


def test_timestamps_round_trip_in_utc(database: Database) -> None:
    beijing = timezone(timedelta(hours=8))
    local = datetime(2026, 4, 5, 1, 30, tzinfo=beijing)
    with database.session() as session:
        bindings.record_failure(session, 9, "wrong_police_id", now=local)
    with database.session() as session:
        count = bindings.failures_within(
            session, 9, timedelta(hours=1), now=local + timedelta(minutes=59)
        )
        assert count == 1
        assert (
            bindings.failures_within(
                session, 9, timedelta(hours=1), now=local + timedelta(minutes=61)
            )
            == 0
        )
    with database.session() as session:
        entry = audit.record(session, actor="cli", action="test")
    assert entry is not None, "written at once outside a unit"
    with database.session() as session:
        (stored,) = audit.recent(session, action="test")
        assert stored.at.tzinfo is not None and stored.at.utcoffset() == timedelta(0)
        assert abs(stored.at - entry.at) < timedelta(seconds=1)


def test_naive_datetime_is_refused(database: Database) -> None:
    with pytest.raises(Exception, match="naive"), database.session() as session:
        bindings.record_failure(session, 9, "x", now=datetime(2026, 1, 1))


def test_roles_grant_revoke_and_holders(database: Database) -> None:
    with database.session() as session:
        officer = officers.create(session, _officer())
        assert officer.id is not None
        assert roles.grant(session, officer.id, Role.ORGANIZER, granted_by="cli")
        assert not roles.grant(session, officer.id, Role.ORGANIZER, granted_by="cli")
        officers.bind(session, officer, telegram_user_id=5, chat_id=5, method=BindingMethod.CONTACT)
    with database.session() as session:
        assert roles.roles_of(session, officer.id) == {Role.ORGANIZER}
        holders = roles.reachable_holders(session, {Role.ORGANIZER, Role.ADMIN})
        assert [(o.police_id, chat) for o, chat in holders] == [("100001", 5)]
        assert roles.privileged_chats(session) == [(5, {Role.ORGANIZER})]
        assert roles.revoke(session, officer.id, Role.ORGANIZER)
        assert not roles.revoke(session, officer.id, Role.ORGANIZER)
        assert roles.roles_of(session, officer.id) == set()


def test_conversation_state_and_draft(database: Database) -> None:
    with database.session() as session:
        conversations.save(session, "binding", "[1, 1]", "ASK_POLICE_ID", {"phone": "+86138"})
        conversations.set_state(session, "binding", "[1, 1]", "ASK_NAME")
    with database.session() as session:
        assert conversations.load_states(session, "binding") == {"[1, 1]": "ASK_NAME"}
        assert conversations.draft(session, "binding", "[1, 1]") == {"phone": "+86138"}
        conversations.delete(session, "binding", "[1, 1]")
    with database.session() as session:
        assert conversations.load_states(session, "binding") == {}
        assert conversations.draft(session, "binding", "[1, 1]") == {}


def test_audit_detail_is_json(database: Database) -> None:
    with database.session() as session:
        audit.record(
            session, actor="officer:100001", action="role.grant", target="100002", role="organizer"
        )
    with database.session() as session:
        (entry,) = audit.recent(session)
        assert entry.detail == '{"role": "organizer"}'
        assert entry.at <= utcnow() and entry.at.tzinfo is not None
        assert entry.at > datetime.now(UTC) - timedelta(minutes=1)


def test_a_year_card_reads_the_send_ledger_by_index(database: Database) -> None:
    """storage.ledger.day_of and statistics.officer_year's greetings find their rows by index."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from sqlalchemy import event

    from storage import ledger, statistics

    if database.dialect != "sqlite":
        pytest.skip("the query plan is read on SQLite")
    seen: list[str] = []

    def note(conn: object, cursor: object, statement: str, *args: object) -> None:
        if "send_ledger" in statement:
            seen.append(statement)

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        with database.session() as session:
            ledger.day_of(session, 1, 1)
            period = statistics.Period(date(2026, 1, 1), date(2026, 12, 31), ZoneInfo("UTC"))
            statistics.officer_year(session, 1, period)
    finally:
        event.remove(database.engine, "before_cursor_execute", note)
    assert len(seen) == 2
    with database.engine.connect() as connection:
        for statement in seen:
            blanks = statement.count("?")
            plan = connection.exec_driver_sql(
                "EXPLAIN QUERY PLAN " + statement, (1,) * blanks
            ).all()
            ledger_steps = [str(row[-1]) for row in plan if "send_ledger" in str(row[-1])]
            assert ledger_steps, plan
            assert all("INDEX ix_send_ledger_" in step for step in ledger_steps), plan


def test_an_upsert_names_the_databases_it_needs() -> None:
    from storage.upsert import insert_for

    assert insert_for("sqlite").__module__ == "sqlalchemy.dialects.sqlite.dml"
    assert insert_for("postgresql").__module__ == "sqlalchemy.dialects.postgresql.dml"
    with pytest.raises(NotImplementedError, match="a lease needs SQLite or PostgreSQL, not mysql"):
        insert_for("mysql", "a lease")


def test_a_stored_row_is_what_the_orm_would_have_made_of_it(database: Database) -> None:
    """`stored_row` makes the row just written as the model's __init__ would (defaults filled
    in by `with_defaults`), detached and known by its key: a change to it, added to a session,
    updates the stored row; a column with no default and no value is refused."""
    officer = add_officer(database, "510001", "周警官", "+8613900510001")
    assert officer.id is not None
    values = {"officer_id": officer.id, "role": Role.ADMIN, "granted_by": "test"}
    with database.session() as session:
        written = with_defaults(RoleGrant, values)
        assert written["granted_at"].tzinfo is not None
        row_id = (
            session.connection()
            .execute(insert(RoleGrant).returning(col(RoleGrant.id)), written)
            .scalar_one()
        )
    row = stored_row(RoleGrant, {**written, "id": row_id})
    made = RoleGrant(**written, id=row_id)
    assert row.model_dump() == made.model_dump()
    with database.session() as session:
        row.granted_by = "changed"
        session.add(row)
    with database.session() as session:
        stored = session.get(RoleGrant, row_id)
        assert stored is not None and stored.granted_by == "changed"
    with pytest.raises(KeyError, match="officer_id"):
        with_defaults(RoleGrant, {"role": Role.ADMIN, "granted_by": "test"})
