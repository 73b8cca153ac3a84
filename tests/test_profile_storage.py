"""storage/profile.py on SQLite and (with NUANJING_TEST_DATABASE_URL) PostgreSQL: what the /me
card reads of an officer's programmes, in one statement, each kind in its own order."""

from __future__ import annotations

from datetime import date, timedelta

from bot.rules.nominations import NominationStatus
from storage.db import Database
from storage.models import (
    EnrolmentStatus,
    HonourAward,
    MutualAidEnrolment,
    Nomination,
    NominationRound,
    RetreatBatch,
)
from storage.profile import Programmes, programmes_of
from storage.types import utcnow
from tests.conftest import add_officer

YEAR = 2026


def _retreat(
    database: Database,
    officer_ids: list[int],
    starts_on: date,
    place: str,
    status: NominationStatus = NominationStatus.FINAL,
) -> None:
    """A retreat round of one batch, every officer named in it at `status`."""
    with database.session() as session:
        round_ = NominationRound(
            programme="retreat",
            name=f"{place}疗休养",
            places=10,
            opens_at=utcnow(),
            closes_at=utcnow() + timedelta(days=7),
            created_by="test",
        )
        session.add(round_)
        session.flush()
        assert round_.id is not None
        batch = RetreatBatch(
            round_id=round_.id,
            starts_on=starts_on,
            ends_on=starts_on + timedelta(days=4),
            place=place,
            places=10,
        )
        session.add(batch)
        session.flush()
        for officer_id in officer_ids:
            session.add(
                Nomination(
                    round_id=round_.id,
                    officer_id=officer_id,
                    unit="一大队",
                    status=status,
                    batch_id=batch.id,
                )
            )


def test_an_officers_programmes_each_kind_in_its_order_and_nobody_elses(
    database: Database,
) -> None:
    wang = add_officer(database, "100001", "王建国", "+8613800000001").id
    li = add_officer(database, "100002", "李四", "+8613800000002").id
    assert wang is not None and li is not None
    _retreat(database, [wang], date(2024, 5, 6), "张家界")
    _retreat(database, [wang, li], date(2026, 4, 13), "韶山")
    # Not final: not on the card.
    _retreat(database, [wang], date(2026, 9, 1), "南岳", NominationStatus.APPLIED)
    with database.session() as session:
        session.add_all(
            [
                HonourAward(officer_id=wang, title="model", year=2024),
                HonourAward(officer_id=wang, title="advanced", year=2025),
                HonourAward(officer_id=wang, title="worker", year=2025),
                HonourAward(officer_id=li, title="model", year=2026),
                MutualAidEnrolment(year=YEAR, scheme="women", officer_id=wang),
                MutualAidEnrolment(year=YEAR, scheme="inpatient", officer_id=wang),
                MutualAidEnrolment(year=YEAR - 1, scheme="special", officer_id=wang),
                MutualAidEnrolment(
                    year=YEAR, scheme="excluded", officer_id=wang, status=EnrolmentStatus.EXCLUDED
                ),
                MutualAidEnrolment(year=YEAR, scheme="li-only", officer_id=li),
            ]
        )
    with database.session() as session:
        found = programmes_of(session, wang, YEAR)
        nothing = programmes_of(session, wang + li + 1, YEAR)
    assert found == Programmes(
        retreats=[
            (date(2026, 4, 13), date(2026, 4, 17), "韶山"),
            (date(2024, 5, 6), date(2024, 5, 10), "张家界"),
        ],
        honours=[(2025, "advanced"), (2025, "worker"), (2024, "model")],
        schemes=["inpatient", "women"],
    )
    assert nothing == Programmes([], [], [])
