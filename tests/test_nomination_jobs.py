"""Nominations' scheduled work (bot/jobs/nominations.py): rounds made final once their publicity
is over (not before, not with an objection undecided, once), honours into the register, and the
reminder three days before a retreat batch, sent once across runs and a restart.

Job level with `now` passed in (no sleeps), on SQLite and, with NUANJING_TEST_DATABASE_URL, on
PostgreSQL; one test through the running bot and its clock.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

import bot.jobs.nominations as jobs
from bot.jobs.nominations import (
    JOB_INTERVAL,
    JOB_NAME,
    finalize_due,
    nominations_job,
    occasion_of,
    queue_batch_reminders,
    run,
)
from bot.policy import load_policy
from bot.scheduler import clock_of
from storage import ledger, roles
from storage import nominations as store
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Broadcast, Delivery, HonourAward, Nomination, Programme, RoundStatus
from storage.nominations import BatchSpec, Refused
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
TERMS = POLICY.nominations.terms()
CIPHER = FieldCipher(TEST_SECRET_KEY)
START = date(2030, 7, 8)  # the batch's first day
T = TypeVar("T")
BOUND_FROM = 9_700_000_000


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A wall time in Shanghai as an aware UTC moment."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


NOW = at(date(2030, 6, 1), 10)


def ok(value: T | Refused) -> T:
    """A storage step's result; the test fails with its refusal if it was refused."""
    assert not isinstance(value, Refused), value
    return value


def _officers(database: Database) -> dict[str, int]:
    """A contact (甲) and two nominees (乙, 丙) of 天元分局, bound."""
    ids = {}
    for number, key in enumerate(("contact", "first", "second"), start=1):
        officer = add_officer(
            database,
            f"61000{number}",
            f"民警{key}",
            f"+8613720000{number:03d}",
            bound_to=BOUND_FROM + number,
        )
        assert officer.id is not None
        ids[key] = officer.id
    with database.session() as session:
        roles.change_unit_contact(session, "610001", "天元分局", grant_it=True, actor="test")
    return ids


def _published(
    database: Database, ids: dict[str, int], programme: Programme = Programme.RETREAT
) -> tuple[int, list[int]]:
    """A round with both nominees approved and published at NOW (publicity 5 days)."""
    retreat = programme is Programme.RETREAT
    with database.session() as session:
        round_ = ok(
            store.open_round(
                session,
                programme=programme,
                title="" if retreat else "city-advanced",
                name="夏季疗休养" if retreat else "先进工作者推荐",
                places=2,
                quotas={"天元分局": 2},
                opens_at=NOW - timedelta(hours=1),
                closes_at=NOW + timedelta(days=7),
                terms=TERMS,
                actor="test",
                now=NOW,
                batches=(
                    [BatchSpec(START, START + timedelta(days=4), "张家界", 2, "市局大院 07:30")]
                    if retreat
                    else []
                ),
                daily_allowance=500 if retreat else 0,
                units=POLICY.units,
            )
        )
        assert round_.id is not None
        batches = store.batches_of(session, round_.id)
        nominations = []
        for key in ("first", "second"):
            nomination = ok(
                store.nominate(
                    session,
                    round_.id,
                    ids[key],
                    contact_id=ids["contact"],
                    actor="test",
                    terms=TERMS,
                    cipher=CIPHER,
                    now=NOW,
                    zone=SHANGHAI,
                    reason="" if retreat else "表现突出",
                )
            )
            assert nomination.id is not None
            batch_id = batches[0].id if retreat else None
            ok(store.confirm(session, nomination.id, ids[key], now=NOW, batch_id=batch_id))
            ok(store.approve(session, nomination.id, actor="test", now=NOW))
            nominations.append(nomination.id)
        ok(store.publish(session, round_.id, terms=TERMS, actor="test", now=NOW))
        return round_.id, nominations


def _broadcasts(database: Database) -> list[tuple[str, list[tuple[int, str | None]]]]:
    with database.session() as session:
        found = session.exec(select(Broadcast).order_by(col(Broadcast.id))).all()
        return [
            (
                broadcast.text,
                [
                    (delivery.officer_id, delivery.text)
                    for delivery in session.exec(
                        select(Delivery)
                        .where(Delivery.broadcast_id == broadcast.id)
                        .order_by(col(Delivery.officer_id))
                    ).all()
                ],
            )
            for broadcast in found
        ]


def _round_status(database: Database, round_id: int) -> str:
    with database.session() as session:
        round_ = store.get_round(session, round_id)
        assert round_ is not None
        return round_.status


def test_a_round_is_final_once_its_publicity_is_over_and_only_once(
    database: Database, database_url: str
) -> None:
    ids = _officers(database)
    round_id, _ = _published(database, ids)
    ends = NOW + timedelta(days=TERMS.publicity_days)
    assert finalize_due(database, POLICY, ends - timedelta(minutes=1), zone=SHANGHAI) == 0
    assert _round_status(database, round_id) == RoundStatus.PUBLICITY
    assert finalize_due(database, POLICY, ends, zone=SHANGHAI) == 1
    assert finalize_due(database, POLICY, ends + timedelta(hours=1), zone=SHANGHAI) == 0
    restarted = Database(database_url)
    try:
        assert finalize_due(restarted, POLICY, ends + timedelta(hours=2), zone=SHANGHAI) == 0
    finally:
        restarted.dispose()
    assert _round_status(database, round_id) == RoundStatus.FINAL
    [(_, deliveries)] = _broadcasts(database)
    assert [officer for officer, _ in deliveries] == [ids["first"], ids["second"]]
    for _, text in deliveries:
        assert text is not None
        assert "您已确定参加「夏季疗休养」" in text and "2030-07-08至2030-07-12" in text


def test_an_undecided_objection_holds_the_round_back(database: Database) -> None:
    ids = _officers(database)
    round_id, (first, _) = _published(database, ids, Programme.HONOUR)
    with database.session() as session:
        ok(
            store.object_to(
                session, first, ids["contact"], "有意见", terms=TERMS, cipher=CIPHER, now=NOW
            )
        )
    later = NOW + timedelta(days=6)
    assert finalize_due(database, POLICY, later, zone=SHANGHAI) == 0
    assert _round_status(database, round_id) == RoundStatus.PUBLICITY
    with database.session() as session:
        ok(
            store.resolve(
                session, first, keep=False, reason="核实", cipher=CIPHER, actor="test", now=later
            )
        )
    assert finalize_due(database, POLICY, later + timedelta(hours=1), zone=SHANGHAI) == 1
    with database.session() as session:
        awards = session.exec(select(HonourAward)).all()
        statuses = {n.officer_id: n.status for n in session.exec(select(Nomination)).all()}
    assert [(a.officer_id, a.title, a.year) for a in awards] == [
        (ids["second"], "city-advanced", 2030)
    ]
    assert statuses == {ids["first"]: "removed", ids["second"]: "final"}
    [(_, deliveries)] = _broadcasts(database)
    assert [officer for officer, _ in deliveries] == [ids["second"]]
    assert "正式获评「株洲市先进工作者」（2030年）" in (deliveries[0][1] or "")


def test_batch_reminders_three_days_before_once_across_a_restart(
    database: Database, database_url: str
) -> None:
    ids = _officers(database)
    round_id, _ = _published(database, ids)
    # Not final yet: nobody is reminded.
    assert queue_batch_reminders(database, at(START - timedelta(days=3), 10), zone=SHANGHAI) == 0
    assert finalize_due(database, POLICY, NOW + timedelta(days=6), zone=SHANGHAI) == 1
    eve = START - timedelta(days=3)
    assert queue_batch_reminders(database, at(eve - timedelta(days=1), 10), zone=SHANGHAI) == 0
    assert queue_batch_reminders(database, at(eve, 8, 59), zone=SHANGHAI) == 0
    assert queue_batch_reminders(database, at(eve, 9), zone=SHANGHAI) == 1
    assert queue_batch_reminders(database, at(eve, 10), zone=SHANGHAI) == 0
    restarted = Database(database_url)
    try:
        assert queue_batch_reminders(restarted, at(eve, 11), zone=SHANGHAI) == 0
        assert (
            queue_batch_reminders(restarted, at(START - timedelta(days=1), 9), zone=SHANGHAI) == 0
        )
    finally:
        restarted.dispose()
    with database.session() as session:
        [batch] = store.batches_of(session, round_id)
        assert batch.id is not None
        assert ledger.claimed_count(session, occasion_of(batch.id), START) == 2
        reminder = session.exec(select(Broadcast).where(Broadcast.kind == "reminder")).one()
    assert "疗休养出行提醒" in reminder.text and "夏季疗休养" in reminder.text
    assert "2030-07-08（周一）" in reminder.text and "集合：市局大院 07:30" in reminder.text
    assert reminder.expires_at == at(START, 0)
    deliveries = _broadcasts(database)[-1][1]
    assert [officer for officer, _ in deliveries] == [ids["first"], ids["second"]]


def test_a_missed_day_is_caught_up_before_the_start(database: Database) -> None:
    ids = _officers(database)
    _published(database, ids)
    assert finalize_due(database, POLICY, NOW + timedelta(days=6), zone=SHANGHAI) == 1
    # The bot was down three days before; two days before it reminds, and only once.
    two_days = START - timedelta(days=2)
    assert queue_batch_reminders(database, at(two_days, 9, 30), zone=SHANGHAI) == 1
    assert queue_batch_reminders(database, at(two_days, 15), zone=SHANGHAI) == 0


async def test_the_job_runs_hourly_by_the_application_clock(bot: BotHarness) -> None:
    ids = _officers(bot.database)
    person = Person(BOUND_FROM + 2, "民警first")
    await bot.meet(person)
    assert bot.application.job_queue is not None
    [job] = bot.application.job_queue.get_jobs_by_name(JOB_NAME)
    assert job.callback is nominations_job
    assert job.job.trigger.interval == timedelta(seconds=JOB_INTERVAL)
    round_id, _ = _published(bot.database, ids)
    clock = clock_of(bot.application)
    clock.freeze(NOW + timedelta(days=4))
    assert await run(bot.application) == 0
    clock.freeze(at(date(2030, 6, 7), 12))
    assert await run(bot.application) == 1  # made final, its notices queued
    assert _round_status(bot.database, round_id) == RoundStatus.FINAL
    clock.freeze(at(START - timedelta(days=3), 12))
    assert await run(bot.application) == 1  # the batch reminder
    assert await run(bot.application) == 0
    await bot.dialog.play(
        [
            (
                person,
                None,
                [
                    says("您已确定参加「夏季疗休养」", "张家界"),
                    says("疗休养出行提醒", "2030-07-08", "集合：市局大院 07:30"),
                ],
            )
        ]
    )


def test_an_award_recorded_by_hand_does_not_stop_the_round(database: Database) -> None:
    """The nominee was given the title for the year by hand during the publicity: the job still
    makes the round final, and the register keeps one award each."""
    ids = _officers(database)
    round_id, _ = _published(database, ids, Programme.HONOUR)
    with database.session() as session:
        assert store.record_award(session, ids["first"], "city-advanced", 2030, actor="test")
    assert finalize_due(database, POLICY, NOW + timedelta(days=6), zone=SHANGHAI) == 1
    assert _round_status(database, round_id) == RoundStatus.FINAL
    with database.session() as session:
        awards = session.exec(select(HonourAward).order_by(col(HonourAward.officer_id))).all()
    assert [(a.officer_id, a.title, a.year, a.round_id) for a in awards] == [
        (ids["first"], "city-advanced", 2030, None),
        (ids["second"], "city-advanced", 2030, round_id),
    ]


def test_one_round_failing_stops_neither_the_others_nor_the_reminders(
    database: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A round whose making final raises is logged and left for the next run; the other round is
    made final and the batch reminders are queued all the same. If the rounds due cannot even
    be read, the reminders still go."""
    ids = _officers(database)
    honour_id, _ = _published(database, ids, Programme.HONOUR)
    retreat_id, _ = _published(database, ids)
    real = jobs.finalize_round

    def broken(session: Any, round_id: int, **kwargs: Any) -> Any:
        if round_id == honour_id:
            raise RuntimeError("broken round")
        return real(session, round_id, **kwargs)

    monkeypatch.setattr(jobs, "finalize_round", broken)
    with caplog.at_level(logging.ERROR, logger="bot.jobs.nominations"):
        assert jobs.run_once(database, POLICY, at(date(2030, 6, 7), 10), zone=SHANGHAI) == 1
    assert f"round {honour_id} could not be made final" in caplog.text
    assert _round_status(database, honour_id) == RoundStatus.PUBLICITY
    assert _round_status(database, retreat_id) == RoundStatus.FINAL

    def unreadable(*_: Any, **__: Any) -> Any:
        raise RuntimeError("database away")

    monkeypatch.setattr(jobs.storage, "rounds_to_finalize", unreadable)
    eve = at(START - timedelta(days=3), 10)
    assert jobs.run_once(database, POLICY, eve, zone=SHANGHAI) == 1  # the batch reminder
    with database.session() as session:
        [batch] = store.batches_of(session, retreat_id)
        assert batch.id is not None
        assert ledger.claimed_count(session, occasion_of(batch.id), START) == 2
    monkeypatch.undo()
    assert jobs.run_once(database, POLICY, eve + timedelta(hours=1), zone=SHANGHAI) == 1
    assert _round_status(database, honour_id) == RoundStatus.FINAL
