"""storage/distributions.py and the reminder job on SQLite and (with NUANJING_TEST_DATABASE_URL)
PostgreSQL: publishing shares per unit and per officer, receipts and 已领取 counted once (racing
presses too), closed distributions, outstanding lists and totals per unit, the one reminder
claimed in the send ledger, by hand or by the job with a controllable clock."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.jobs.distributions import queue_reminders
from bot.rules.distributions import DistributionInputError
from handlers.distributions import Reminded, remind
from storage import distributions as storage
from storage import ledger, roles
from storage.db import Database
from storage.distributions import Outcome
from storage.models import (
    Broadcast,
    Delivery,
    Distribution,
    DistributionMode,
    DistributionShare,
    DistributionUnit,
)
from tests.conftest import add_officer

SHANGHAI = ZoneInfo("Asia/Shanghai")
PUBLISHED = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
BOUND_FROM = 9_700_000_000


def _roster(database: Database) -> dict[str, int]:
    """Five officers in three units (one unbound, one who left), and a contact for 天元分局."""
    people = [
        ("710001", "甲", "天元分局", "F", True, True),
        ("710002", "乙", "天元分局", "M", True, True),
        ("710003", "丙", "天元分局", "M", False, True),  # on the roster, not bound
        ("710004", "丁", "交警支队", "F", True, True),
        ("710005", "戊", "交警支队", "M", True, False),  # left the union
        ("710006", "己", "荷塘分局", "M", True, True),
    ]
    ids = {}
    for number, (police_id, name, unit, gender, bound, active) in enumerate(people, start=1):
        officer = add_officer(
            database,
            police_id,
            name,
            f"+8613900{police_id}",
            unit=unit,
            gender=gender,
            active=active,
            bound_to=BOUND_FROM + number if bound else None,
        )
        assert officer.id is not None
        ids[name] = officer.id
    with database.session() as session:
        roles.change_unit_contact(session, "710001", "天元分局", grant_it=True, actor="test")
    return ids


def _publish(
    database: Database,
    mode: DistributionMode,
    *,
    quantity: int = 1,
    per_officer: int = 0,
    allocation: dict[str, int] | None = None,
    audience: str = "everyone",
) -> int:
    with database.session() as session:
        distribution = Distribution(
            item="口罩" if mode == DistributionMode.PER_UNIT else "中秋消费券",
            mode=mode,
            quantity=quantity,
            per_officer=per_officer,
            audience=audience,
            created_by="test",
            created_at=PUBLISHED,
        )
        storage.publish(session, distribution, allocation or {})
        assert distribution.id is not None
        return distribution.id


def test_counts_per_unit_follow_the_active_roster_and_the_audience(database: Database) -> None:
    _roster(database)
    with database.session() as session:
        assert storage.officers_per_unit(session, "everyone", "") == {
            "交警支队": 1,
            "天元分局": 3,
            "荷塘分局": 1,
        }
        assert storage.officers_per_unit(session, "women", "") == {"交警支队": 1, "天元分局": 1}
        assert storage.officers_per_unit(session, "unit", "荷塘分局") == {"荷塘分局": 1}


def test_per_unit_receipt_once_partial_and_closed(database: Database) -> None:
    _roster(database)
    distribution_id = _publish(
        database,
        DistributionMode.PER_UNIT,
        quantity=10000,
        allocation={"天元分局": 6000, "交警支队": 2000, "荷塘分局": 2000, "空单位": 0},
    )
    with database.session() as session:
        rows = {row.unit: row for row in storage.units_of(session, distribution_id)}
        assert set(rows) == {"天元分局", "交警支队", "荷塘分局"}  # a unit given 0 gets no row
        assert storage.has_contact(session, "天元分局")
        assert not storage.has_contact(session, "交警支队")
    now = PUBLISHED + timedelta(hours=1)
    tianyuan, jiaojing = rows["天元分局"].id, rows["交警支队"].id
    assert tianyuan is not None and jiaojing is not None
    with database.session() as session:
        assert storage.confirm_unit(session, tianyuan, 6000, by="a", now=now) == Outcome.STORED
    with database.session() as session:
        assert storage.confirm_unit(session, tianyuan, 6000, by="b", now=now) == Outcome.ALREADY
        with pytest.raises(DistributionInputError):
            storage.confirm_unit(session, jiaojing, 2001, by="a", now=now)
    with database.session() as session:
        assert storage.confirm_unit(session, jiaojing, 1500, by="c", now=now) == Outcome.STORED
        progress = storage.progress(session, distribution_id)
    assert (progress.units, progress.confirmed) == (3, 2)
    assert (progress.allocated, progress.received) == (10000, 7500)
    with database.session() as session:
        assert storage.close(session, distribution_id, now) is not None
        assert storage.close(session, distribution_id, now) is None
    heta = rows["荷塘分局"].id
    assert heta is not None
    with database.session() as session:
        assert storage.confirm_unit(session, heta, 2000, by="d", now=now) == Outcome.CLOSED
        stored = {row.unit: row for row in storage.units_of(session, distribution_id)}
    assert stored["天元分局"].received == 6000 and stored["天元分局"].confirmed_by == "a"
    assert stored["交警支队"].received == 1500
    assert stored["荷塘分局"].received is None


def test_racing_receipts_count_once(database: Database) -> None:
    _roster(database)
    distribution_id = _publish(
        database, DistributionMode.PER_UNIT, quantity=10, allocation={"天元分局": 10}
    )
    with database.session() as session:
        (row,) = storage.units_of(session, distribution_id)
    assert row.id is not None
    row_id = row.id

    def press(by: str) -> Outcome:
        with database.session() as session:
            return storage.confirm_unit(session, row_id, 10, by=by, now=PUBLISHED)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(press, ["p1", "p2", "p3", "p4"]))
    assert sorted(outcomes) == sorted([Outcome.STORED] + [Outcome.ALREADY] * 3)


def test_per_officer_shares_collected_once_and_outstanding_per_unit(database: Database) -> None:
    ids = _roster(database)
    distribution_id = _publish(database, DistributionMode.PER_OFFICER, per_officer=2)
    with database.session() as session:
        distribution = storage.get(session, distribution_id)
        assert distribution is not None and distribution.quantity == 10  # 5 active × 2
        units = {row.unit: row.allocated for row in storage.units_of(session, distribution_id)}
        assert units == {"天元分局": 6, "交警支队": 2, "荷塘分局": 2}
        shares = session.exec(select(DistributionShare.officer_id)).all()
        assert sorted(shares) == sorted(
            [ids["甲"], ids["乙"], ids["丙"], ids["丁"], ids["己"]]
        )  # the unbound one too, not the one who left
        assert [d.id for d in storage.waiting_for(session, ids["乙"])] == [distribution_id]
    now = PUBLISHED + timedelta(days=1)
    with database.session() as session:
        assert storage.collect(session, distribution_id, ids["乙"], now=now) == Outcome.STORED
    with database.session() as session:
        assert storage.collect(session, distribution_id, ids["乙"], now=now) == Outcome.ALREADY
        assert storage.collect(session, distribution_id, ids["戊"], now=now) == Outcome.NOT_YOURS
        assert storage.collect(session, 999, ids["乙"], now=now) == Outcome.GONE
        assert storage.waiting_for(session, ids["乙"]) == []
        assert storage.collected_per_unit(session, distribution_id) == {
            "天元分局": (1, 3),
            "交警支队": (0, 1),
            "荷塘分局": (0, 1),
        }
        waiting = storage.share_lines(
            session, distribution_id, units=["天元分局"], outstanding=True
        )
        assert [(line.name, line.unit) for line in waiting] == [
            ("甲", "天元分局"),
            ("丙", "天元分局"),
        ]
        every = storage.share_lines(session, distribution_id)
        assert [(line.name, line.collected_at is not None) for line in every] == [
            ("丁", False),
            ("甲", False),
            ("乙", True),
            ("丙", False),
            ("己", False),
        ]
        progress = storage.progress(session, distribution_id)
    assert (progress.shares, progress.collected) == (5, 1)
    with database.session() as session:
        storage.close(session, distribution_id, now)
    with database.session() as session:
        assert storage.collect(session, distribution_id, ids["甲"], now=now) == Outcome.CLOSED


def test_racing_collects_count_once(database: Database) -> None:
    ids = _roster(database)
    distribution_id = _publish(database, DistributionMode.PER_OFFICER, per_officer=1)

    def press(_: int) -> Outcome:
        with database.session() as session:
            return storage.collect(session, distribution_id, ids["甲"], now=PUBLISHED)

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(press, range(4)))
    assert sorted(outcomes) == sorted([Outcome.STORED] + [Outcome.ALREADY] * 3)


def test_quantities_are_never_negative_in_the_database(database: Database) -> None:
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(Distribution(item="x", mode="unit", quantity=-5, created_by="t"))
        session.flush()
    with pytest.raises(IntegrityError), database.session() as session:
        distribution = Distribution(item="x", mode="unit", quantity=5, created_by="t")
        session.add(distribution)
        session.flush()
        assert distribution.id is not None
        session.add(DistributionUnit(distribution_id=distribution.id, unit="A", allocated=-1))
        session.flush()


def _reminded(database: Database) -> list[tuple[str, list[int]]]:
    with database.session() as session:
        found = session.exec(select(Broadcast).order_by(col(Broadcast.id))).all()
        return [
            (
                broadcast.text,
                sorted(
                    session.exec(
                        select(Delivery.officer_id).where(Delivery.broadcast_id == broadcast.id)
                    ).all()
                ),
            )
            for broadcast in found
        ]


def test_the_job_reminds_once_those_not_collected_days_after(
    database: Database, database_url: str
) -> None:
    ids = _roster(database)
    distribution_id = _publish(database, DistributionMode.PER_OFFICER, per_officer=1)
    with database.session() as session:
        storage.collect(session, distribution_id, ids["甲"], now=PUBLISHED)
    due = PUBLISHED + timedelta(days=3)
    assert queue_reminders(database, due - timedelta(minutes=1), zone=SHANGHAI, days=3) == 0
    assert queue_reminders(database, due, zone=SHANGHAI, days=3) == 1
    assert queue_reminders(database, due + timedelta(minutes=5), zone=SHANGHAI, days=3) == 0
    # Another process on the same database after a restart: nothing again.
    restarted = Database(database_url)
    try:
        assert queue_reminders(restarted, due + timedelta(days=1), zone=SHANGHAI, days=3) == 0
    finally:
        restarted.dispose()
    [(text, recipients)] = _reminded(database)
    # Bound, active and not collected: not 甲 (collected), 丙 (unbound), 戊 (left).
    assert recipients == sorted([ids["乙"], ids["丁"], ids["己"]])
    assert "中秋消费券" in text and "还没有确认领取" in text
    with database.session() as session:
        day = PUBLISHED.astimezone(SHANGHAI).date()
        assert ledger.claimed_count(session, f"distribution:{distribution_id}", day) == 3
        # The organizer's button finds the one reminder gone.
    assert remind(database, distribution_id, due, SHANGHAI, "officer:1")[0] == Reminded.ALREADY


def test_a_unit_reminder_goes_to_the_contacts_of_units_not_confirmed(database: Database) -> None:
    ids = _roster(database)
    distribution_id = _publish(
        database,
        DistributionMode.PER_UNIT,
        quantity=30,
        allocation={"天元分局": 10, "交警支队": 10, "荷塘分局": 10},
    )
    assert queue_reminders(database, PUBLISHED + timedelta(days=30), zone=SHANGHAI, days=0) == 0
    outcome, count = remind(database, distribution_id, PUBLISHED, SHANGHAI, "officer:9")
    assert (outcome, count) == (Reminded.QUEUED, 1)
    [(text, recipients)] = _reminded(database)
    assert recipients == [ids["甲"]] and "还没有确认收到" in text
    # Everyone confirmed: nothing to remind, and the reminder is not used up.
    other = _publish(database, DistributionMode.PER_UNIT, quantity=5, allocation={"天元分局": 5})
    with database.session() as session:
        (row,) = storage.units_of(session, other)
        assert row.id is not None
        storage.confirm_unit(session, row.id, 5, by="a", now=PUBLISHED)
    assert remind(database, other, PUBLISHED, SHANGHAI, "officer:9") == (Reminded.NOBODY, 0)
    with database.session() as session:
        distribution = storage.get(session, other)
        assert distribution is not None and distribution.reminded_at is None
