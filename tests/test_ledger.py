"""The send ledger: claims are taken once, by one transaction, even by racing ones."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert
from sqlmodel import col, select

from bot.jobs.drives import queue_reminders
from storage import broadcasts, ledger
from storage import drives as drive_storage
from storage.broadcasts import Recipient
from storage.db import Database
from storage.models import Broadcast, BroadcastKind, Delivery, Officer, Priority, SendLedger
from storage.types import utcnow
from tests.conftest import add_officer

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 10, 1)


def _roster(database: Database, count: int) -> list[int]:
    """`count` officers on the roster (bulk, unbound); their ids."""
    now = utcnow()
    rows = [
        {
            "police_id": f"L{index:07d}",
            "name": f"警员{index}",
            "unit": "天元分局",
            "phone": "",
            "rh_negative": False,
            "active": True,
            "single_opt_in": False,
            "greetings_opt_out": False,
            "lunar_birth_leap": False,
            "created_at": now,
            "updated_at": now,
        }
        for index in range(count)
    ]
    with database.session() as session:
        session.execute(insert(Officer), rows)
    with database.session() as session:
        return sorted(int(i) for i in session.exec(select(Officer.id)).all() if i is not None)


def _claim(database: Database, occasion: str, day: date, ids: list[int]) -> list[int]:
    with database.session() as session:
        return ledger.claim(session, occasion, day, ids)


def test_a_claim_takes_only_what_is_not_taken(database: Database) -> None:
    ids = _roster(database, 6)
    assert sorted(_claim(database, "guoqing", DAY, ids[:4] + ids[:2])) == ids[:4]
    assert _claim(database, "guoqing", DAY, ids[:4]) == []
    assert sorted(_claim(database, "guoqing", DAY, ids)) == ids[4:]
    # Another occasion, or the same one on another day, is another key.
    assert sorted(_claim(database, "birthday", DAY, ids[:2])) == ids[:2]
    assert sorted(_claim(database, "guoqing", DAY + timedelta(days=365), ids[:1])) == ids[:1]
    assert _claim(database, "guoqing", DAY, []) == []
    with database.session() as session:
        assert ledger.claimed_count(session, "guoqing", DAY) == 6
        assert ledger.unclaimed(session, "birthday", DAY, ids) == ids[2:]


def test_a_claim_rolled_back_is_no_claim(database: Database) -> None:
    ids = _roster(database, 3)
    with pytest.raises(RuntimeError), database.session() as session:
        assert sorted(ledger.claim(session, "drive:1", DAY, ids)) == ids
        raise RuntimeError("the deliveries could not be written")
    assert sorted(_claim(database, "drive:1", DAY, ids)) == ids


def test_a_large_claim_is_batched_and_complete(database: Database) -> None:
    ids = _roster(database, ledger.CLAIM_BATCH + 2_345)
    assert len(_claim(database, "chunjie", DAY, ids[:100])) == 100
    claimed = _claim(database, "chunjie", DAY, ids)
    assert sorted(claimed) == ids[100:]
    with database.session() as session:
        assert ledger.claimed_count(session, "chunjie", DAY) == len(ids)


def test_a_racing_transaction_waits_and_claims_only_the_rest(database: Database) -> None:
    """A second claim while the first transaction is still open gets none of the first's."""
    ids = _roster(database, 40)
    with ThreadPoolExecutor(max_workers=1) as pool:
        with database.session() as session:
            first = ledger.claim(session, "zhongqiu", DAY, ids[:30])
            racing = pool.submit(_claim, database, "zhongqiu", DAY, ids[10:])
        second = racing.result(timeout=30)
    assert sorted(first) == ids[:30]
    assert sorted(second) == ids[30:]


def test_simultaneous_claims_share_the_officers_out_exactly(database: Database) -> None:
    ids = _roster(database, 3_000)
    barrier = threading.Barrier(4)

    def run(_: int) -> list[int]:
        barrier.wait(timeout=10)
        return _claim(database, "yuandan", DAY, ids)

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(run, range(4)))
    counts = Counter(officer_id for result in results for officer_id in result)
    assert counts == Counter({officer_id: 1 for officer_id in ids})


def test_queue_once_writes_the_broadcast_with_its_claims_or_nothing(database: Database) -> None:
    first = add_officer(database, "600001", "甲", "+8613700000001", bound_to=41)
    second = add_officer(database, "600002", "乙", "+8613700000002", bound_to=42)
    assert first.id is not None and second.id is not None
    recipients = [Recipient(first.id, 41, "甲，节日快乐"), Recipient(second.id, 42, "乙，节日快乐")]

    def queue(chosen: list[Recipient]) -> int | None:
        with database.session() as session:
            broadcast = ledger.queue_once(
                session,
                "guoqing",
                DAY,
                chosen,
                kind=BroadcastKind.GREETING,
                priority=Priority.LOW,
                text="{name}，节日快乐",
                created_by="test",
            )
            return None if broadcast is None else broadcast.id

    broadcast_id = queue(recipients[:1])
    assert broadcast_id is not None
    assert queue(recipients[:1]) is None
    later = queue(recipients)  # only the one not greeted yet
    assert later is not None
    with database.session() as session:
        rows = session.exec(select(Delivery).order_by(col(Delivery.id))).all()
        assert [(r.broadcast_id, r.officer_id, r.text) for r in rows] == [
            (broadcast_id, first.id, "甲，节日快乐"),
            (later, second.id, "乙，节日快乐"),
        ]
        assert len(session.exec(select(Broadcast)).all()) == 2  # no empty one left behind
        keys = session.exec(select(SendLedger.officer_id, SendLedger.broadcast_id)).all()
        assert sorted(keys) == sorted([(first.id, broadcast_id), (second.id, later)])
        claimed = broadcasts.claim_next(session, utcnow())
    assert claimed is not None and claimed.text == "甲，节日快乐"


def test_attach_names_the_broadcast_of_a_plain_claim(database: Database) -> None:
    officer = add_officer(database, "600001", "甲", "+8613700000001", bound_to=41)
    assert officer.id is not None
    with database.session() as session:
        assert ledger.claim(session, "event-24h:7", DAY, [officer.id]) == [officer.id]
        broadcast = broadcasts.create(
            session,
            kind=BroadcastKind.REMINDER,
            priority=Priority.NORMAL,
            text="明天的活动别忘了",
            recipients=[Recipient(officer.id, 41)],
            created_by="test",
        )
        assert broadcast.id is not None
        assert ledger.attach(session, "event-24h:7", DAY, broadcast.id) == 1
    with database.session() as session:
        row = session.exec(select(SendLedger)).one()
        assert row.broadcast_id == broadcast.id
        claimed = broadcasts.claim_next(session, utcnow())
    assert claimed is not None and claimed.text == "明天的活动别忘了"


def test_drive_reminders_are_claimed_once_even_by_racing_runs(database: Database) -> None:
    signed = [
        add_officer(database, f"70000{n}", f"会员{n}", f"+861380000070{n}", bound_to=700 + n)
        for n in range(5)
    ]
    starts = datetime(2030, 6, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    signed_ids: list[int] = []
    with database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=starts,
            place="市中心血站",
            capacity=10,
            blood_types_wanted="",
            created_by="test",
        )
        assert drive.id is not None
        for officer in signed:
            assert officer.id is not None
            signed_ids.append(officer.id)
            drive_storage.sign_up(session, drive.id, officer.id, now=datetime.now(UTC))
    the_day_before = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)
    barrier = threading.Barrier(3)

    def run(_: int) -> int:
        barrier.wait(timeout=10)
        return queue_reminders(database, the_day_before, zone=SHANGHAI)

    with ThreadPoolExecutor(max_workers=3) as pool:
        assert sum(pool.map(run, range(3))) == 1
    # Later runs, and a run of a restarted bot, remind nobody again.
    assert queue_reminders(database, the_day_before + timedelta(hours=5), zone=SHANGHAI) == 0
    with database.session() as session:
        officers = session.exec(select(Delivery.officer_id)).all()
        occasions = session.exec(select(col(SendLedger.occasion), col(SendLedger.on_date))).all()
    assert sorted(officers) == sorted(signed_ids)
    assert set(occasions) == {(f"drive:{drive.id}", date(2030, 6, 2))}
