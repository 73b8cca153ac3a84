"""`nuanjing sample-data`: a believable year in an empty database, the same for the same seed,
written through the bot's storage (so the statistics count it), and refused on a roster."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlmodel import func, select

from bot import cli
from bot.greetings import may_greet, queue_greetings
from bot.policy import load_policy
from bot.sample_data import SampleRefused, Summary, fill
from storage import greetings as greeting_storage
from storage import statistics as st
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import Broadcast, BroadcastStatus, Delivery, DeliveryState, SendLedger
from tests.conftest import SHANGHAI, TEST_SECRET_KEY

POLICY = load_policy(None)
YEAR = datetime.now(SHANGHAI).year - 1
CIPHER = FieldCipher(TEST_SECRET_KEY)


def _fill(database: Database, seed: int = 7, officers: int = 150) -> Summary:
    return fill(
        database, POLICY, officers=officers, year=YEAR, seed=seed, zone=SHANGHAI, cipher=CIPHER
    )


def _figures(database: Database) -> st.Figures:
    with database.session() as session:
        return st.figures(
            session,
            st.Period.year(YEAR, SHANGHAI),
            comforted_since=POLICY.care.comforted_since,
            clubs_named=POLICY.clubs,
            services=[(s.key, s.kind == "counselling") for s in POLICY.services],
        )


def test_the_days_passed_over_had_nobody_to_greet(database: Database) -> None:
    """fill() runs the greetings only on a festival or a roster birthday: a second run on
    every day of the year finds nobody left, so the days it passed over had nobody to greet."""
    _fill(database, officers=30)
    with database.session() as session:
        birthdays = greeting_storage.roster_birthdays(session)
        greeted = session.exec(select(func.count()).select_from(SendLedger)).one()
    first, last = date(YEAR, 1, 1), date(YEAR, 12, 31)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    passed_over = [day for day in days if not may_greet(day, POLICY, birthdays)]
    assert greeted > 0 and len(passed_over) > 150
    for day in days:
        at_ten = datetime.combine(day, time(10), tzinfo=SHANGHAI)
        assert queue_greetings(database, POLICY, at_ten, zone=SHANGHAI) == 0, day


def test_a_year_of_every_programme_that_the_figures_count(database: Database) -> None:
    shown: list[tuple[str, int, int]] = []
    summary = fill(
        database,
        POLICY,
        officers=150,
        year=YEAR,
        seed=7,
        zone=SHANGHAI,
        cipher=CIPHER,
        progress=lambda label, done, total: shown.append((label, done, total)),
    )
    f = _figures(database)
    assert summary.officers == f.members.on_roster == f.members.active == 150
    assert summary.bound == f.members.bound and 120 <= summary.bound <= 150
    assert {row.unit for row in f.members.by_unit} <= set(POLICY.units)
    assert f.members.men > f.members.women > 0
    assert summary.cases == f.care.cases + dict(f.care.by_status)["duplicate"] == 9
    assert f.care.paid_sum > 0 and f.care.comforted > 0
    assert dict(f.care.by_status)["paid"] > dict(f.care.by_status)["reported"]
    assert summary.drives == f.blood.drives_held == 8
    assert summary.donations == f.blood.donations > 0
    assert f.blood.appeals.appeals == summary.appeals == 1
    assert f.blood.appeals.coming > 0 and f.blood.appeals.first_coming_minutes is not None
    assert summary.events == f.events.events and summary.signups == f.events.signed
    assert f.events.attended > f.events.absent > 0
    assert f.events.matchmaking_by_gender  # singles who opted in took part
    assert summary.club_members == sum(c.members for c in f.clubs) > 0
    assert sum(c.activities for c in f.clubs) == 4 * len(POLICY.clubs)
    assert summary.bookings == sum(b.booked for b in f.bookings) > 0
    health = next(b for b in f.bookings if b.key == "health-room")
    assert health.booked > 0 and health.attended + health.missed == health.booked
    greeted = {g.occasion: g for g in f.greetings}
    assert summary.greetings == sum(g.sent for g in f.greetings)
    assert {"yuandan", "chunjie", "guoqing", "birthday"} <= set(greeted)
    assert greeted["chunjie"].sent == summary.bound  # every bound officer, once
    assert 0 < greeted["chunjie"].not_reached < greeted["chunjie"].sent // 10
    # Nothing is left for the bot's sender to send.
    with database.session() as session:
        waiting = session.exec(
            select(func.count())
            .select_from(Delivery)
            .where(Delivery.state == DeliveryState.PENDING)
        ).one()
        sending = session.exec(
            select(func.count())
            .select_from(Broadcast)
            .where(Broadcast.status == BroadcastStatus.SENDING)
        ).one()
    assert waiting == 0 and sending == 0
    assert {label for label, _, _ in shown} >= {"roster", "care", "drives", "events", "greetings"}
    assert all(done <= total for _, done, total in shown)
    assert "150 officers" in summary.line()


def test_the_same_seed_gives_the_same_year(database: Database, tmp_path: Path) -> None:
    first = _fill(database, seed=3, officers=60)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    other.upgrade()
    try:
        second = _fill(other, seed=3, officers=60)
        assert first == second
        a, b = _figures(database), _figures(other)
        assert (a.care, a.blood, a.events, a.clubs, a.greetings) == (
            b.care,
            b.blood,
            b.events,
            b.clubs,
            b.greetings,
        )
    finally:
        other.dispose()


def _disposals(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URLs of the databases disposed from now on."""
    disposed: list[str] = []
    real = Database.dispose

    def dispose(database: Database) -> None:
        disposed.append(database.url)
        real(database)

    monkeypatch.setattr(Database, "dispose", dispose)
    return disposed


def test_a_database_with_officers_is_refused(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _fill(database, officers=5)
    with pytest.raises(SampleRefused):
        _fill(database, officers=5)
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    disposed = _disposals(monkeypatch)
    code = cli.main(["sample-data", "--officers", "5", "--year", str(YEAR)])
    err = capsys.readouterr().err
    assert code == cli.EXIT_FAILED
    assert disposed == [database_url]  # refused, and no pooled connection left behind
    assert err.strip().splitlines()[-1] == (
        "nuanjing: the database already has officers on its roster: sample data goes only "
        "into an empty database."
    )


def test_the_command_fills_an_empty_database_and_says_what_it_wrote(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    disposed = _disposals(monkeypatch)
    code = cli.main(["sample-data", "--officers", "40", "--year", str(YEAR), "--seed", "5"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == cli.EXIT_OK
    # The command's database is disposed when main() returns: on PostgreSQL a pooled
    # connection left to the garbage collector was closed with a ResourceWarning.
    assert disposed == [database_url]
    assert len(out) == 1 and out[0].startswith(f"sample data for {YEAR}: 40 officers")


def test_help_says_what_it_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["sample-data", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "EMPTY database" in out and "--officers" in out and "--seed" in out
