"""storage/mutual_aid.py on SQLite and (with NUANJING_TEST_DATABASE_URL) PostgreSQL: enrolment
idempotence (storage and `nuanjing mutual-aid enrol`), exclusions that stay, claims refused for
a scheme not enrolled, decisions once (racing presses too), sealed notes, the year's figures."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from bot.cli import main
from storage import mutual_aid as storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import AuditEntry, ClaimStatus, MutualAidClaim, MutualAidEnrolment, Officer
from storage.mutual_aid import Change, Decided
from storage.types import utcnow
from tests.conftest import add_officer

CIPHER = FieldCipher(FieldCipher.generate_key())
YEAR = 2026
CAP = 50_000


def _roster(database: Database) -> dict[str, Officer]:
    """Two men, two women, one of unknown gender, one who left."""
    people = {
        "100001": ("王建国", "M", True),
        "100002": ("李娜", "F", True),
        "100003": ("张伟", "M", True),
        "100004": ("刘芳", "F", True),
        "100005": ("陈晨", None, True),
        "100006": ("赵离", "F", False),
    }
    return {
        police_id: add_officer(
            database,
            police_id,
            name,
            f"+86138000000{police_id[-2:]}",
            gender=gender,
            active=active,
        )
        for police_id, (name, gender, active) in people.items()
    }


def _enrolled(database: Database, scheme: str) -> list[str]:
    with database.session() as session:
        rows = session.exec(
            select(Officer.police_id)
            .join(MutualAidEnrolment, MutualAidEnrolment.officer_id == Officer.id)  # type: ignore[arg-type]
            .where(
                MutualAidEnrolment.year == YEAR,
                MutualAidEnrolment.scheme == scheme,
                MutualAidEnrolment.status == "enrolled",
            )
            .order_by(Officer.police_id)
        ).all()
    return list(rows)


def _enrol(database: Database, scheme: str, audience: str) -> storage.Enrolled:
    with database.session() as session:
        return storage.enrol(session, YEAR, scheme, audience, actor="test")


def test_enrolment_is_idempotent_and_follows_the_covers(database: Database) -> None:
    roster = _roster(database)
    first = _enrol(database, "inpatient", "all")
    assert (first.added, first.already, first.excluded) == (5, 0, 0)
    assert _enrolled(database, "inpatient") == ["100001", "100002", "100003", "100004", "100005"]
    women = _enrol(database, "women-disease", "women")
    assert women.added == 2
    assert _enrolled(database, "women-disease") == ["100002", "100004"]
    # A second run adds nobody; a new member joins and only they are added.
    again = _enrol(database, "inpatient", "all")
    assert (again.added, again.already) == (0, 5)
    add_officer(database, "100007", "新人", "+8613800000007", gender="F")
    third = _enrol(database, "inpatient", "all")
    assert (third.added, third.already) == (1, 5)
    assert _enrol(database, "women-disease", "women").added == 1
    with database.session() as session:
        rows = session.exec(select(MutualAidEnrolment)).all()
        assert len(rows) == 6 + 3  # one row per member and scheme, never two
        officer_id = roster["100002"].id
        assert officer_id is not None
        assert storage.schemes_of(session, officer_id, YEAR) == ["inpatient", "women-disease"]
        assert storage.schemes_of(session, officer_id, YEAR + 1) == []
        runs = session.exec(select(AuditEntry).where(AuditEntry.action == "mutual_aid.enrol")).all()
        assert len(runs) == 5


def test_an_exclusion_stays_through_runs_until_added_by_hand(database: Database) -> None:
    roster = _roster(database)
    _enrol(database, "inpatient", "all")
    with database.session() as session:
        change = storage.exclude(
            session,
            YEAR,
            "inpatient",
            roster["100003"],
            "已参加单位商业保险",
            actor="o",
            cipher=CIPHER,
        )
        assert change is Change.DONE
        again = storage.exclude(
            session, YEAR, "inpatient", roster["100003"], "再次", actor="o", cipher=CIPHER
        )
        assert again is Change.ALREADY
    run = _enrol(database, "inpatient", "all")
    assert (run.added, run.excluded) == (0, 1)
    assert "100003" not in _enrolled(database, "inpatient")
    with database.session() as session:
        row = session.exec(
            select(MutualAidEnrolment).where(MutualAidEnrolment.officer_id == roster["100003"].id)
        ).one()
        # The reason is sealed: not in clear in the row.
        assert "商业保险" not in row.reason_cipher
        assert CIPHER.decrypt(row.reason_cipher) == "已参加单位商业保险"
        change, officer = storage.add_by_hand(
            session, YEAR, "inpatient", "all", "100003", actor="o"
        )
        assert change is Change.DONE and officer is not None
        change, _ = storage.add_by_hand(session, YEAR, "inpatient", "all", "100003", actor="o")
        assert change is Change.ALREADY
        # A man is not added to the women's scheme, one who left is not added, nor a stranger.
        assert (
            storage.add_by_hand(session, YEAR, "women-disease", "women", "100001", actor="o")[0]
            is Change.NOT_COVERED
        )
        assert (
            storage.add_by_hand(session, YEAR, "inpatient", "all", "100006", actor="o")[0]
            is Change.LEFT
        )
        assert (
            storage.add_by_hand(session, YEAR, "inpatient", "all", "999999", actor="o")[0]
            is Change.NO_OFFICER
        )
        actions = session.exec(
            select(AuditEntry.action, AuditEntry.detail)
            .where(col(AuditEntry.action).in_(["mutual_aid.exclude", "mutual_aid.add"]))
            .order_by(col(AuditEntry.id))
        ).all()
        assert [action for action, _ in actions] == ["mutual_aid.exclude", "mutual_aid.add"]
        assert all("保险" not in detail for _, detail in actions)
    assert "100003" in _enrolled(database, "inpatient")
    # Someone not enrolled yet can be kept out ahead of the run.
    with database.session() as session:
        storage.exclude(
            session, YEAR, "women-disease", roster["100004"], "本人放弃", actor="o", cipher=CIPHER
        )
    assert _enrol(database, "women-disease", "women").added == 1
    assert _enrolled(database, "women-disease") == ["100002"]


def test_claims_only_under_an_enrolled_scheme_and_decided_once(database: Database) -> None:
    roster = _roster(database)
    _enrol(database, "inpatient", "all")
    wang, li = roster["100001"].id, roster["100002"].id
    assert wang is not None and li is not None
    with database.session() as session:
        refused = storage.record_claim(
            session, YEAR, "women-disease", wang, date(2026, 6, 1), "", actor="o", cipher=CIPHER
        )
        assert refused is None
        claim = storage.record_claim(
            session,
            YEAR,
            "inpatient",
            wang,
            date(2026, 6, 1),
            "胆囊切除，材料齐全",
            actor="o",
            cipher=CIPHER,
        )
        assert claim is not None and claim.id is not None
        other = storage.record_claim(
            session, YEAR, "inpatient", li, date(2026, 6, 2), "", actor="o", cipher=CIPHER
        )
        assert other is not None and other.id is not None
        claim_id, other_id = claim.id, other.id
    with database.session() as session:
        stored = session.get(MutualAidClaim, claim_id)
        assert stored is not None and "胆囊" not in stored.note_cipher
        assert storage.note_of(stored, CIPHER) == "胆囊切除，材料齐全"
        outcome, paid = storage.decide(
            session, claim_id, amount=3200, cap=CAP, actor="o", cipher=CIPHER, now=utcnow()
        )
        assert outcome is Decided.DONE and paid is not None and paid.status == ClaimStatus.PAID
        outcome, _ = storage.decide(
            session, claim_id, amount=9000, cap=CAP, actor="o", cipher=CIPHER, now=utcnow()
        )
        assert outcome is Decided.ALREADY
        outcome, refused_claim = storage.decide(
            session,
            other_id,
            reason="不属于互助范围",
            cap=CAP,
            actor="o",
            cipher=CIPHER,
            now=utcnow(),
        )
        assert outcome is Decided.DONE and refused_claim is not None
        assert storage.reason_of(refused_claim, CIPHER) == "不属于互助范围"
        assert "范围" not in refused_claim.reason_cipher
        assert (
            storage.decide(
                session, 424242, amount=1, cap=CAP, actor="o", cipher=CIPHER, now=utcnow()
            )[0]
            is Decided.GONE
        )
    with database.session() as session:
        figures = storage.figures(session, YEAR)
        assert figures["inpatient"] == storage.SchemeFigures(
            enrolled=5, submitted=0, paid=1, refused=1, paid_total=3200
        )
        assert "women-disease" not in figures
        assert session.get(MutualAidClaim, claim_id).amount == 3200  # type: ignore[union-attr]
        rows = storage.claims_of_year(session, YEAR)
        assert [(r.police_id, r.claim.status) for r in rows] == [
            ("100001", "paid"),
            ("100002", "refused"),
        ]
        assert storage.years_known(session) == {YEAR}
        members = storage.members_of_year(session, YEAR)
        assert members[0] == ("inpatient", "100001", "王建国", "天元分局", "run")


def test_the_database_refuses_a_negative_amount(database: Database) -> None:
    roster = _roster(database)
    _enrol(database, "inpatient", "all")
    officer_id = roster["100001"].id
    assert officer_id is not None
    with database.session() as session:
        claim = storage.record_claim(
            session, YEAR, "inpatient", officer_id, date(2026, 3, 1), "", actor="o", cipher=CIPHER
        )
        assert claim is not None
        claim_id = claim.id
    with pytest.raises(IntegrityError), database.session() as session:
        session.execute(
            text("UPDATE mutual_aid_claim SET amount = -5 WHERE id = :id"), {"id": claim_id}
        )


def test_racing_payments_pay_once(database: Database, database_url: str) -> None:
    roster = _roster(database)
    _enrol(database, "inpatient", "all")
    officer_id = roster["100001"].id
    assert officer_id is not None
    with database.session() as session:
        claim = storage.record_claim(
            session, YEAR, "inpatient", officer_id, date(2026, 3, 1), "", actor="o", cipher=CIPHER
        )
        assert claim is not None and claim.id is not None
        claim_id = claim.id
    others = [Database(database_url) for _ in range(4)]

    def pay(index: int) -> Decided:
        with others[index].session() as session:
            return storage.decide(
                session,
                claim_id,
                amount=1000 + index,
                cap=CAP,
                actor=f"o{index}",
                cipher=CIPHER,
                now=utcnow(),
            )[0]

    try:
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(pay, range(4)))
    finally:
        for other in others:
            other.dispose()
    assert sorted(outcomes) == sorted([Decided.DONE, *[Decided.ALREADY] * 3])
    with database.session() as session:
        paid = session.exec(select(AuditEntry).where(AuditEntry.action == "mutual_aid.paid")).all()
        assert len(paid) == 1


def test_hospitalizations_between(database: Database) -> None:
    from storage import care

    roster = _roster(database)
    ids = {key: officer.id for key, officer in roster.items()}
    with database.session() as session:
        for police_id, day, event in (
            ("100001", date(2026, 5, 1), "hospitalization"),
            ("100002", date(2026, 5, 3), "hospitalization"),
            ("100003", date(2026, 5, 2), "marriage"),
            ("100006", date(2026, 5, 2), "hospitalization"),  # left the union
            ("100004", date(2026, 4, 1), "hospitalization"),  # too early
        ):
            officer_id = ids[police_id]
            assert officer_id is not None
            care.create(
                session,
                care.NewCase(officer_id, officer_id, event, day, hospital="市中心医院"),
                CIPHER,
            )
    with database.session() as session:
        due = storage.hospitalizations_between(session, date(2026, 4, 20), date(2026, 5, 10))
    assert [(d.officer_id, d.admitted_on) for d in due] == [
        (ids["100001"], date(2026, 5, 1)),
        (ids["100002"], date(2026, 5, 3)),
    ]


# --- `nuanjing mutual-aid enrol YEAR` --------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> None:
    """The CLI on the test's database, with no .env and the shipped policy."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NUANJING_POLICY_FILE", raising=False)
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)


@pytest.mark.usefixtures("cli_env")
def test_the_command_enrols_once_and_says_so(
    database: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    _roster(database)
    assert main(["mutual-aid", "enrol", "2026"]) == 0
    out = capsys.readouterr().out.strip()
    assert (
        out == "mutual aid 2026: 职工住院医疗互助 +5 (0 already); 女职工特殊疾病互助 +2 (0 already)"
    )
    assert main(["mutual-aid", "enrol", "2026"]) == 0
    out = capsys.readouterr().out.strip()
    assert out == (
        "mutual aid 2026: 职工住院医疗互助 +0 (5 already); 女职工特殊疾病互助 +0 (2 already)"
        " — nobody new to enrol"
    )
    add_officer(database, "100009", "新警", "+8613800000099", gender="M")
    assert main(["mutual-aid", "enrol", "2026"]) == 0
    assert "职工住院医疗互助 +1 (5 already)" in capsys.readouterr().out
    assert _enrolled(database, "inpatient")[-1] == "100009"


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("year", ["1999", "abc", "２０２６", "20266"])
def test_the_command_refuses_a_bad_year(
    database: Database, capsys: pytest.CaptureFixture[str], year: str
) -> None:
    _roster(database)
    assert main(["mutual-aid", "enrol", year]) == 1
    assert "not a year" in capsys.readouterr().err
    assert _enrolled(database, "inpatient") == []


def test_an_amount_over_a_lowered_cap_changes_nothing(database: Database) -> None:
    roster = _roster(database)
    _enrol(database, "inpatient", "all")
    officer_id = roster["100001"].id
    assert officer_id is not None
    with database.session() as session:
        claim = storage.record_claim(
            session, YEAR, "inpatient", officer_id, date(2026, 3, 1), "", actor="o", cipher=CIPHER
        )
        assert claim is not None and claim.id is not None
        outcome, same = storage.decide(
            session, claim.id, amount=20_000, cap=10_000, actor="o", cipher=CIPHER, now=utcnow()
        )
        assert outcome is Decided.BAD_AMOUNT
        assert same is not None and same.status == ClaimStatus.SUBMITTED and same.amount is None
