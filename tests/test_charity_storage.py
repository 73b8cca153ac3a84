"""storage/charity.py on SQLite and (with NUANJING_TEST_DATABASE_URL) PostgreSQL: pledges
replaced only when confirmed, closed and ended campaigns, totals per unit, the payment import
(good and bad rows, all or nothing, --skip-invalid, a file imported twice), the export and the
database's own refusal of a negative amount."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.exc import IntegrityError

from bot.cli import main
from bot.rules.charity import LineError, PaymentFileError, Problem, UnitTotal
from storage import audit, charity, officers
from storage.charity import Outcome, Progress
from storage.db import Database
from storage.models import CharityCampaign, CharityPayment, CharityPledge, Officer
from storage.types import utcnow
from tests.conftest import TEST_SECRET_KEY, add_officer

TODAY = date(2026, 12, 2)


def _campaign(database: Database, **fields: object) -> int:
    values: dict[str, object] = {
        "name": "慈善天天一捐",
        "year": 2026,
        "target": 300_000,
        "suggested": "50,100",
        "created_by": "test",
    }
    values.update(fields)
    with database.session() as session:
        campaign = charity.create(session, CharityCampaign.model_validate(values))
        assert campaign.id is not None
        return campaign.id


def _roster(database: Database) -> dict[str, Officer]:
    people = [
        ("300002", "王建国", "天元分局"),
        ("300003", "李强", "交警支队"),
        ("300004", "孙丽", "天元分局"),
        ("300005", "赵敏", "天元分局"),
        ("300006", "周杰", "荷塘分局"),
    ]
    return {
        police_id: add_officer(database, police_id, name, f"+86139{police_id}00", unit=unit)
        for police_id, name, unit in people
    }


def _id(officer: Officer) -> int:
    assert officer.id is not None
    return officer.id


def test_a_pledge_is_replaced_only_as_confirmed(database: Database) -> None:
    roster = _roster(database)
    campaign_id = _campaign(database)
    wang = _id(roster["300002"])
    now = utcnow()

    def pledge(amount: int, expected: int, **more: int) -> Outcome:
        with database.session() as session:
            return charity.pledge(
                session, campaign_id, wang, amount, expected=expected, today=TODAY, now=now, **more
            )

    assert pledge(100, 0) == Outcome.STORED
    # A second flow that saw no pledge: refused, the first one kept.
    assert pledge(200, 0) == Outcome.CHANGED
    assert pledge(365, 100, daily=1, days=365) == Outcome.REPLACED
    with database.session() as session:
        row = charity.pledge_of(session, campaign_id, wang)
        assert row is not None and (row.amount, row.daily, row.days) == (365, 1, 365)
        assert charity.progress(session, campaign_id) == Progress(0, 0, 365, 1)
    with pytest.raises(ValueError):
        pledge(0, 365)


def test_closed_ended_and_missing_campaigns_take_nothing(database: Database) -> None:
    roster = _roster(database)
    ended = _campaign(database, ends_on=TODAY - timedelta(days=1))
    last_day = _campaign(database, ends_on=TODAY)
    closed = _campaign(database)
    wang = roster["300002"]
    now = utcnow()
    with database.session() as session:
        assert charity.close(session, closed, now) is not None
        assert charity.close(session, closed, now) is None  # once
    with database.session() as session:
        assert charity.pledge(session, ended, _id(wang), 100, expected=0, today=TODAY, now=now) == (
            Outcome.ENDED
        )
        assert (
            charity.pledge(session, last_day, _id(wang), 100, expected=0, today=TODAY, now=now)
            == Outcome.STORED
        )
        assert (
            charity.pledge(session, closed, _id(wang), 100, expected=0, today=TODAY, now=now)
            == Outcome.CLOSED
        )
        assert (
            charity.pledge(session, 999, _id(wang), 100, expected=0, today=TODAY, now=now)
            == Outcome.GONE
        )
        # Payments are still recorded after the end date, never after a close.
        assert (
            charity.record_payment(session, ended, wang, 100, TODAY, actor="t", now=now)
            == Outcome.STORED
        )
        assert (
            charity.record_payment(session, closed, wang, 100, TODAY, actor="t", now=now)
            == Outcome.CLOSED
        )
        report = charity.import_payments(
            session,
            closed,
            b"police_id,amount,date\n300002,100,2026-12-01\n",
            ".csv",
            today=TODAY,
            actor="t",
            now=now,
        )
        assert (report.outcome, report.applied) == (Outcome.CLOSED, False)
    with database.session() as session:
        assert [p.campaign_id for p in charity.payments_of(session, closed)] == []
        assert [c.id for c in charity.open_for(session, wang)] == [last_day, ended]


def test_progress_and_totals_per_unit(database: Database) -> None:
    roster = _roster(database)
    campaign_id = _campaign(database)
    now = utcnow()
    gifts = [
        ("300002", 100),
        ("300002", 50),  # a second payment of the same officer: one giver
        ("300004", 200),
        ("300005", 300),
        ("300003", 1000),
        ("300006", 20),
    ]
    with database.session() as session:
        for police_id, amount in gifts:
            charity.record_payment(
                session, campaign_id, roster[police_id], amount, TODAY, actor="t", now=now
            )
    # Moving on after giving: the totals keep the unit of the time.
    with database.session() as session:
        moved = officers.by_police_id(session, "300004")
        assert moved is not None
        officers.update_profile(session, moved, unit="交警支队")
    with database.session() as session:
        assert charity.progress(session, campaign_id) == Progress(1670, 5, 0, 0)
        assert sorted(charity.unit_totals(session, campaign_id), key=lambda t: t.unit) == [
            UnitTotal("交警支队", 1000, 1),
            UnitTotal("天元分局", 650, 3),
            UnitTotal("荷塘分局", 20, 1),
        ]
        mine = charity.mine(session, _id(roster["300002"]))
    assert [(m.campaign.id, m.pledge, m.paid) for m in mine] == [(campaign_id, None, 150)]


def test_the_database_refuses_a_negative_amount(database: Database) -> None:
    roster = _roster(database)
    campaign_id = _campaign(database)
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            CharityPayment(
                campaign_id=campaign_id,
                officer_id=_id(roster["300002"]),
                amount=-5,
                paid_on=TODAY,
                recorded_by="t",
            )
        )
        session.flush()
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            CharityPledge(campaign_id=campaign_id, officer_id=_id(roster["300002"]), amount=0)
        )
        session.flush()


GOOD = (
    "police_id,amount,date\n"
    "300002,100,2026-12-01\n"
    "300003,1000,2026-11-30\n"
    "300004,200,12月1日\n"
    "300005,300,2026-12-01\n"
)
BAD = GOOD + "999999,100,2026-12-01\n" + "300006,-20,2026-12-01\n" + "300006,20,2027-01-01\n"


def test_a_good_import_and_the_same_file_again(database: Database) -> None:
    roster = _roster(database)
    campaign_id = _campaign(database)
    steps: list[tuple[int, int]] = []
    with database.session() as session:
        report = charity.import_payments(
            session,
            campaign_id,
            GOOD.encode(),
            ".csv",
            today=TODAY,
            actor="cli",
            now=utcnow(),
            progress=lambda done, total: steps.append((done, total)),
        )
    assert (report.applied, report.rows_read, report.imported, report.amount) == (
        True,
        4,
        4,
        1600,
    )
    assert report.errors == [] and steps == [(4, 4)]
    with database.session() as session:
        payments = charity.payments_of(session, campaign_id)
        assert {(p.officer_id, p.amount, p.unit, p.source) for p in payments} == {
            (_id(roster["300002"]), 100, "天元分局", "import"),
            (_id(roster["300003"]), 1000, "交警支队", "import"),
            (_id(roster["300004"]), 200, "天元分局", "import"),
            (_id(roster["300005"]), 300, "天元分局", "import"),
        }
        again = charity.import_payments(
            session, campaign_id, GOOD.encode(), ".csv", today=TODAY, actor="cli", now=utcnow()
        )
    assert (again.applied, again.imported, again.already) == (True, 0, 4)
    with database.session() as session:
        assert len(charity.payments_of(session, campaign_id)) == 4


def test_a_bad_line_writes_nothing_unless_skipped(database: Database) -> None:
    roster = _roster(database)
    campaign_id = _campaign(database)
    with database.session() as session:
        report = charity.import_payments(
            session, campaign_id, BAD.encode(), ".csv", today=TODAY, actor="cli", now=utcnow()
        )
    assert (report.applied, report.rows_read, report.imported, report.invalid_rows) == (
        False,
        7,
        0,
        3,
    )
    assert report.errors == [
        LineError(6, "999999", Problem.UNKNOWN_OFFICER),
        LineError(7, "300006", Problem.NOT_POSITIVE),
        LineError(8, "300006", Problem.DATE_FUTURE),
    ]
    with database.session() as session:
        assert charity.payments_of(session, campaign_id) == []
        skipped = charity.import_payments(
            session,
            campaign_id,
            BAD.encode(),
            ".csv",
            today=TODAY,
            actor="cli",
            now=utcnow(),
            skip_invalid=True,
        )
    assert (skipped.applied, skipped.imported, skipped.amount, skipped.invalid_rows) == (
        True,
        4,
        1600,
        3,
    )
    with database.session() as session:
        assert len(charity.payments_of(session, campaign_id)) == 4
        rows = charity.export_rows(session, campaign_id)
    assert [(r.police_id, r.unit, r.paid, r.payments) for r in rows] == [
        ("300003", "交警支队", 1000, 1),
        ("300002", "天元分局", 100, 1),
        ("300004", "天元分局", 200, 1),
        ("300005", "天元分局", 300, 1),
    ]
    assert roster["300006"].id not in {r.police_id for r in rows}


def test_a_file_that_cannot_be_read_writes_nothing(database: Database) -> None:
    _roster(database)
    campaign_id = _campaign(database)
    with pytest.raises(PaymentFileError), database.session() as session:
        charity.import_payments(
            session, campaign_id, b"who,what\n", ".csv", today=TODAY, actor="t", now=utcnow()
        )
    with database.session() as session:
        assert charity.payments_of(session, campaign_id) == []


def test_officers_by_police_id_or_name(database: Database) -> None:
    roster = _roster(database)
    add_officer(database, "300099", "王建国", "+8613900000099", unit="荷塘分局")
    with database.session() as session:
        assert [o.police_id for o in charity.find_officers(session, "３０００03")] == ["300003"]
        assert [o.police_id for o in charity.find_officers(session, "王建国")] == [
            "300002",
            "300099",
        ]
        assert charity.find_officers(session, "无此人") == []
        assert charity.find_officers(session, "  ") == []
    assert roster["300003"].name == "李强"


def test_export_has_pledges_without_payments(database: Database) -> None:
    roster = _roster(database)
    campaign_id = _campaign(database)
    with database.session() as session:
        charity.pledge(
            session,
            campaign_id,
            _id(roster["300006"]),
            365,
            expected=0,
            today=TODAY,
            now=utcnow(),
            daily=1,
            days=365,
        )
        rows = charity.export_rows(session, campaign_id)
    assert [(r.police_id, r.pledged, r.daily, r.days, r.paid, r.last_paid) for r in rows] == [
        ("300006", 365, 1, 365, 0, None)
    ]


def test_cli_import_lists_bad_lines_then_skips_them(
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _roster(database)
    campaign_id = _campaign(database)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("NUANJING_POLICY_FILE", raising=False)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    payments = tmp_path / "payments.csv"
    payments.write_text(
        f"police_id,amount,date\n300002,100,{today}\n999999,100,{today}\n300003,abc,{today}\n",
        encoding="utf-8",
    )

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["charity", "import", *args])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, _ = run(str(campaign_id), str(payments))
    assert status == 1
    assert out.splitlines() == [
        "第 3 行（999999）：名册中没有这个警号",
        "第 4 行（300003）：金额不是数字",
        "nothing imported: 2 of 3 rows are invalid; fix them, or use --skip-invalid to import "
        "the rest",
    ]
    with database.session() as session:
        assert charity.payments_of(session, campaign_id) == []
    status, out, _ = run(str(campaign_id), str(payments), "--skip-invalid")
    assert status == 0
    assert out.splitlines()[-1] == (
        f"imported 1 payments (¥100) to campaign #{campaign_id}: 3 rows read, "
        "0 already recorded, 2 invalid skipped"
    )
    with database.session() as session:
        assert [p.amount for p in charity.payments_of(session, campaign_id)] == [100]
        [entry] = audit.recent(session, action="charity.import")
    assert (entry.actor, entry.target) == ("cli", f"charity:{campaign_id}")
    status, _, err = run("999", str(payments))
    assert status == 1 and "campaign #999 is gone" in err
    (tmp_path / "payments.pdf").write_bytes(b"%PDF")
    status, _, err = run(str(campaign_id), str(tmp_path / "payments.pdf"))
    assert status == 1 and "use a .csv or .xlsx file" in err


def test_the_policys_cap_bounds_an_imported_line(database: Database) -> None:
    _roster(database)
    campaign_id = _campaign(database)
    data = b"police_id,amount,date\n300002,5000,2026-12-01\n300003,1000,2026-12-01\n"
    with database.session() as session:
        report = charity.import_payments(
            session, campaign_id, data, ".csv", today=TODAY, actor="t", now=utcnow(), cap=1000
        )
    assert report.errors == [LineError(2, "300002", Problem.OVER_CAP)]
    assert not report.applied
