"""Care cases on a real database: encryption at rest, forward-only steps, lists and figures."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import text

from storage import care
from storage.crypto import CipherError, FieldCipher
from storage.db import Database
from storage.models import CaseStatus
from tests.conftest import add_officer

CIPHER = FieldCipher(FieldCipher.generate_key())


def _case(database: Database, **changes: object) -> int:
    officer = add_officer(database, "100001", "王建国", "+8613800000001")
    assert officer.id is not None
    new = care.NewCase(
        officer_id=officer.id,
        reporter_id=officer.id,
        event="hospitalization",
        event_date=date(2026, 11, 20),
        hospital="市中心医院",
        ward="心内科 3 床",
        note="心肌梗塞，已脱离危险",
        policy_amount=1000,
    )
    with database.session() as session:
        case = care.create(session, care.NewCase(**{**new.__dict__, **changes}), CIPHER)
    assert case.id is not None
    return case.id


def test_ward_and_note_are_encrypted_at_rest(database: Database) -> None:
    case_id = _case(database)
    with database.engine.connect() as connection:
        raw = connection.execute(
            text("SELECT ward_cipher, note_cipher, hospital FROM care_case WHERE id = :id"),
            {"id": case_id},
        ).one()
    assert "心内科" not in raw[0] and "心肌梗塞" not in raw[1] and raw[2] == "市中心医院"
    with database.session() as session:
        case = care.get(session, case_id)
        assert case is not None
        assert CIPHER.decrypt(case.ward_cipher) == "心内科 3 床"
        assert CIPHER.decrypt(case.note_cipher) == "心肌梗塞，已脱离危险"
    with pytest.raises(CipherError):
        FieldCipher(FieldCipher.generate_key()).decrypt(case.ward_cipher)
    with pytest.raises(CipherError):
        FieldCipher("not a key")


def test_steps_only_go_forward(database: Database) -> None:
    case_id = _case(database)
    with database.session() as session:
        case = care.get(session, case_id, for_update=True)
        assert case is not None
        assert care.advance(
            session, case, CaseStatus.VISITED, actor="officer:200001", cipher=CIPHER
        )
        assert not care.advance(
            session, case, CaseStatus.VISITED, actor="officer:200001", cipher=CIPHER
        )
        assert care.advance(
            session,
            case,
            CaseStatus.PAID,
            actor="officer:200001",
            amount=800,
            reason="住院时间短",
            cipher=CIPHER,
        )
        assert not care.advance(
            session, case, CaseStatus.DECLINED, actor="x", reason="晚了", cipher=CIPHER
        )
    with database.session() as session:
        case = care.get(session, case_id)
        assert case is not None and case.status == CaseStatus.PAID
        assert (case.paid_amount, care.pay_reason(case, CIPHER), case.paid_by) == (
            800,
            "住院时间短",
            "officer:200001",
        )
        assert case.visited_at is not None and case.paid_at is not None
        assert case.paid_at.tzinfo is not None


def test_declined_and_duplicate_are_final(database: Database) -> None:
    first = _case(database)
    with database.session() as session:
        officer_id = care.get(session, first).officer_id  # type: ignore[union-attr]
        duplicate = care.create(
            session,
            care.NewCase(
                officer_id=officer_id,
                reporter_id=officer_id,
                event="hospitalization",
                event_date=date(2026, 11, 21),
            ),
            CIPHER,
            duplicate_of=first,
        )
        assert duplicate.status == CaseStatus.DUPLICATE
        assert not care.advance(session, duplicate, CaseStatus.PAID, actor="x", cipher=CIPHER)
        case = care.get(session, first)
        assert case is not None
        assert care.advance(
            session, case, CaseStatus.DECLINED, actor="x", reason="非会员", cipher=CIPHER
        )
        assert not care.advance(session, case, CaseStatus.PAID, actor="x", cipher=CIPHER)
        assert care.same_kind(session, officer_id, "hospitalization") == []


def test_lists_figures_and_comforted(database: Database) -> None:
    first = _case(database)
    with database.session() as session:
        officer_id = care.get(session, first).officer_id  # type: ignore[union-attr]
        other = add_officer(database, "100002", "陈静", "+8613800000002", unit="芦淞分局")
        assert other.id is not None
        second = care.create(
            session,
            care.NewCase(
                officer_id=other.id,
                reporter_id=officer_id,
                event="marriage",
                event_date=date(2026, 10, 1),
                policy_amount=1000,
                up_to=True,
            ),
            CIPHER,
        )
        case = care.get(session, first)
        assert case is not None
        care.advance(session, case, CaseStatus.PAID, actor="x", cipher=CIPHER)
    with database.session() as session:
        open_cases = care.search(session)
        assert [c.id for c, _ in open_cases] == [second.id]
        assert [o.name for _, o in care.search(session, unit="芦淞分局")] == ["陈静"]
        assert care.search(session, event="hospitalization") == []
        assert len(care.search(session, statuses=list(CaseStatus))) == 2
        mine = care.of_officer(session, officer_id)
        assert [c.id for c in mine] == [second.id, first]  # reported for a colleague, and own
        assert [
            (f.event, f.cases, f.paid_cases, f.paid_sum)
            for f in care.figures(session, date(2026, 1, 1), date(2026, 12, 31))
        ] == [("hospitalization", 1, 1, 1000), ("marriage", 1, 0, 0)]
        assert care.comforted_since(session, date(2018, 9, 1)) == 1
        assert [
            c.id for c, _ in care.for_period(session, date(2026, 10, 1), date(2026, 10, 31))
        ] == [second.id]
