"""storage.nominations on SQLite and PostgreSQL: a round opened with its quotas and batches,
nominating within the quota (and every refusal), applications and the lottery, confirm and
decline, approval, publicity with objections, the final list and the register, the views, and
two contacts racing for the last place."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.rules.nominations import (
    Ineligibility,
    Ineligible,
    NominationStatus,
    QuotaProblem,
    Terms,
    lottery_order,
)
from storage import audit
from storage import nominations as store
from storage import roles as role_storage
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import (
    Nomination,
    NominationObjection,
    NominationRound,
    Officer,
    Programme,
    RoundStatus,
)
from storage.nominations import BatchSpec, Refusal, Refused
from tests.conftest import add_officer
from tests.racing import racing

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
OPENS, CLOSES = NOW - timedelta(hours=1), NOW + timedelta(days=7)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
TERMS = Terms(title_years={"city-may-day": 5, "city-advanced": 5})
CIPHER = FieldCipher(FieldCipher.generate_key())
S = NominationStatus
T = TypeVar("T")


def ok(value: T | Refused) -> T:
    """The step's result, failing the test with its refusal if it was refused."""
    assert not isinstance(value, Refused), value
    return value


def nid(nomination: Nomination) -> int:
    """The nomination's id (it was flushed)."""
    assert nomination.id is not None
    return nomination.id


def refusal(value: object) -> Refusal:
    """The refusal of a step that must be refused."""
    assert isinstance(value, Refused), value
    return value.refusal


class Board:
    """The roster of a test: officers by short name, and unit contacts."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.ids: dict[str, int] = {}
        self.police: dict[str, str] = {}

    def officer(self, key: str, unit: str, *, since: datetime = LONG_AGO, **fields: Any) -> int:
        number = f"7{len(self.ids) + 1:05d}"
        officer = add_officer(
            self.database,
            number,
            f"民警{key}",
            f"+861390000{len(self.ids) + 1:04d}",
            unit=unit,
            bound_to=700000 + len(self.ids) + 1,
            created_at=since,
            **fields,
        )
        assert officer.id is not None
        self.ids[key], self.police[key] = officer.id, number
        return officer.id

    def contact(self, key: str, unit: str) -> None:
        with self.database.session() as session:
            outcome, _ = role_storage.change_unit_contact(
                session, self.police[key], unit, grant_it=True, actor="test"
            )
        assert outcome is role_storage.UnitContactChange.DONE


def _roster(database: Database) -> Board:
    """Units 甲 (5 officers), 乙 (3), 丙 (2); a contact in 甲 (a1) and in 乙 (b1)."""
    board = Board(database)
    for unit, prefix, count in (("甲", "a", 5), ("乙", "b", 3), ("丙", "c", 2)):
        for n in range(1, count + 1):
            board.officer(f"{prefix}{n}", unit)
    board.contact("a1", "甲")
    board.contact("b1", "乙")
    return board


def _open(
    database: Database,
    *,
    programme: Programme = Programme.RETREAT,
    places: int = 4,
    quotas: dict[str, int] | None = None,
    title: str = "",
    batches: tuple[BatchSpec, ...] | None = None,
    opens_at: datetime = OPENS,
    closes_at: datetime = CLOSES,
    allowance: int = 500,
) -> NominationRound | Refused:
    if batches is None:
        batches = (
            (
                BatchSpec(date(2026, 7, 6), date(2026, 7, 10), "张家界", 2, "市局大院 07:30"),
                BatchSpec(date(2026, 8, 3), date(2026, 8, 7), "韶山", 2),
            )
            if programme is Programme.RETREAT
            else ()
        )
    with database.session() as session:
        if quotas is None:
            quotas = store.default_quotas(session, places).quotas
        return store.open_round(
            session,
            programme=programme,
            name="2026年优秀民警疗休养" if programme is Programme.RETREAT else "2026年五一劳动奖章",
            places=places,
            quotas=quotas,
            opens_at=opens_at,
            closes_at=closes_at,
            terms=TERMS,
            actor="officer:org",
            now=NOW,
            title=title,
            batches=batches,
            daily_allowance=allowance if programme is Programme.RETREAT else 0,
        )


def _round(database: Database, **kwargs: Any) -> int:
    round_ = ok(_open(database, **kwargs))
    assert round_.id is not None
    return round_.id


def _nominate(
    database: Database,
    board: Board,
    round_id: int,
    key: str,
    *,
    by: str = "a1",
    reason: str = "",
    now: datetime = NOW,
) -> Nomination | Refused:
    with database.session() as session:
        return store.nominate(
            session,
            round_id,
            board.ids[key],
            contact_id=board.ids[by],
            actor=f"officer:{board.police[by]}",
            terms=TERMS,
            cipher=CIPHER,
            now=now,
            zone=SHANGHAI,
            reason=reason,
        )


def _in(database: Database, work: Callable[[Any], T]) -> T:
    with database.session() as session:
        return work(session)


def _status(database: Database, nomination_id: int) -> str:
    nomination = _in(database, lambda s: s.get(Nomination, nomination_id))
    assert nomination is not None
    return nomination.status


# --- opening a round ---------------------------------------------------------------------------


def test_a_round_opens_with_proportional_quotas_and_its_batches(database: Database) -> None:
    """4 places over 甲 5, 乙 3, 丙 2: 2.0, 1.2, 0.8 → 2, 1, 1 (丙's remainder is larger)."""
    _roster(database)
    with database.session() as session:
        assert store.officers_per_unit(session, ["丁"]) == {"丁": 0, "丙": 2, "乙": 3, "甲": 5}
        assert store.default_quotas(session, 4).quotas == {"丙": 1, "乙": 1, "甲": 2}
    round_id = _round(database)
    with database.session() as session:
        round_ = store.get_round(session, round_id)
        assert round_ is not None
        assert (round_.status, round_.programme, round_.places) == ("open", "retreat", 4)
        assert round_.daily_allowance == 500 and round_.lottery_seed == ""
        quotas = {q.unit: (q.places, q.officers) for q in store.quotas_of(session, round_id)}
        assert quotas == {"丙": (1, 2), "乙": (1, 3), "甲": (2, 5)}
        batches = store.batches_of(session, round_id)
        assert [(b.place, b.places, b.meeting_point) for b in batches] == [
            ("张家界", 2, "市局大院 07:30"),
            ("韶山", 2, ""),
        ]
        entry = audit.recent(session, action="nomination.round_open")[0]
        assert (entry.actor, entry.target) == ("officer:org", f"round:{round_id}")
        assert [r.id for r in store.rounds(session, programme=Programme.RETREAT)] == [round_id]


def _batch(first: date, last: date, places: int = 2, place: str = "张家界") -> BatchSpec:
    return BatchSpec(first, last, place, places)


OPEN_REFUSALS: list[Any] = [
    pytest.param({"places": 0, "quotas": {}}, Refusal.BAD_PLACES, id="no-places"),
    pytest.param(
        {"closes_at": OPENS - timedelta(hours=1)}, Refusal.BAD_WINDOW, id="closes-before-opening"
    ),
    pytest.param(
        {"opens_at": NOW - timedelta(days=9), "closes_at": NOW - timedelta(days=1)},
        Refusal.BAD_WINDOW,
        id="closed-already",
    ),
    pytest.param({"batches": ()}, Refusal.NO_BATCHES, id="retreat-without-batches"),
    pytest.param(
        {"batches": (_batch(date(2026, 7, 6), date(2026, 7, 5), 4),)},
        Refusal.BAD_BATCH,
        id="batch-ends-first",
    ),
    pytest.param(
        {"batches": (_batch(date(2026, 7, 6), date(2026, 7, 11), 4),)},
        Refusal.BATCH_TOO_LONG,
        id="six-days",
    ),
    pytest.param(
        {"batches": (_batch(date(2026, 7, 6), date(2026, 7, 10), 3),)},
        Refusal.BATCH_PLACES_SHORT,
        id="batches-too-small",
    ),
    pytest.param({"allowance": 600}, Refusal.ALLOWANCE_OVER_CAP, id="allowance-over-cap"),
    pytest.param(
        {"programme": Programme.HONOUR, "title": "national-model"},
        Refusal.UNKNOWN_TITLE,
        id="unknown-title",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), OPEN_REFUSALS)
def test_a_round_that_cannot_open(
    database: Database, changes: dict[str, Any], expected: Refusal
) -> None:
    """Each mistake of the organizer's preview is named; nothing is written."""
    _roster(database)
    assert refusal(_open(database, **changes)) is expected
    assert _in(database, lambda s: s.exec(select(NominationRound)).all()) == []


@pytest.mark.parametrize(
    ("quotas", "problem"),
    [
        ({"甲": 2, "乙": 1, "丙": 0}, QuotaProblem.SUM_MISMATCH),
        ({"甲": 1, "乙": 0, "丙": 3}, QuotaProblem.OVER_OFFICERS),
        ({"甲": 2, "乙": 1, "戊": 1}, QuotaProblem.UNKNOWN_UNIT),
    ],
)
def test_an_edited_quota_table_is_checked(
    database: Database, quotas: dict[str, int], problem: QuotaProblem
) -> None:
    """The organizer's own table must sum to the places, with known units within their
    officers."""
    _roster(database)
    refused = _open(database, quotas=quotas)
    assert isinstance(refused, Refused) and refused.refusal is Refusal.BAD_QUOTAS
    assert refused.quota is not None and refused.quota.problem is problem
    round_id = _round(database, quotas={"甲": 1, "乙": 3, "丙": 0})
    assert _in(database, lambda s: store.quota_of(s, round_id, "乙")).places == 3  # type: ignore[union-attr]


# --- nominating --------------------------------------------------------------------------------


def test_a_contact_nominates_within_the_quota_and_every_refusal(database: Database) -> None:
    """Within the window, their own unit, eligible, once, up to the quota: else one reason."""
    board = _roster(database)
    board.officer("new", "甲", since=NOW - timedelta(days=100))
    round_id = _round(database)  # 甲 has 2 places
    first = ok(_nominate(database, board, round_id, "a2"))
    assert (first.status, first.unit, first.applied) == ("nominated", "甲", False)
    assert refusal(_nominate(database, board, round_id, "a2")) is Refusal.ALREADY
    assert refusal(_nominate(database, board, round_id, "b2")) is Refusal.OTHER_UNIT
    # b1 is 乙's contact, not 甲's.
    assert refusal(_nominate(database, board, round_id, "a3", by="b1")) is Refusal.OTHER_UNIT
    new = _nominate(database, board, round_id, "new")
    assert isinstance(new, Refused) and new.refusal is Refusal.INELIGIBLE
    assert new.ineligibility == Ineligibility(Ineligible.NEW_TO_ROSTER, date(2027, 2, 21))
    ok(_nominate(database, board, round_id, "a3"))
    assert refusal(_nominate(database, board, round_id, "a4")) is Refusal.QUOTA_FULL
    later = CLOSES + timedelta(seconds=1)
    assert refusal(_nominate(database, board, round_id, "a4", now=later)) is Refusal.AFTER_WINDOW
    early = OPENS - timedelta(seconds=1)
    assert refusal(_nominate(database, board, round_id, "a4", now=early)) is Refusal.BEFORE_WINDOW
    assert refusal(_nominate(database, board, 999, "a4")) is Refusal.NO_ROUND
    with database.session() as session:
        view = store.unit_view(session, round_id, "甲")
        assert view is not None and (view.quota.places, view.held, view.free) == (2, 2, 0)
        assert [officer.name for _, officer in view.entries] == ["民警a2", "民警a3"]
        listed = store.candidates(session, round_id, "甲", terms=TERMS, now=NOW, zone=SHANGHAI)
        shown = {
            c.officer.name: (c.ineligibility, c.nomination and c.nomination.status) for c in listed
        }
    assert shown["民警a2"] == (None, "nominated")
    assert shown["民警a4"] == (None, None)
    assert (
        shown["民警new"][0] is not None and shown["民警new"][0].reason is Ineligible.NEW_TO_ROSTER
    )
    assert len(shown) == 6  # 甲's five and the newcomer, no one of another unit


def test_a_recent_retreat_and_a_left_officer_cannot_be_nominated(database: Database) -> None:
    """Eligibility reads past rounds: a final retreat within three years refuses, dated."""
    board = _roster(database)
    past = _round(database, places=1, quotas={"甲": 1, "乙": 0, "丙": 0})
    nominated = ok(_nominate(database, board, past, "a2"))
    assert nominated.id is not None
    batch = _in(database, lambda s: store.batches_of(s, past))[0]
    ok(
        _in(
            database,
            lambda s: store.confirm(s, nid(nominated), board.ids["a2"], now=NOW, batch_id=batch.id),
        )
    )
    round_id = _round(database)
    refused = _nominate(database, board, round_id, "a2")
    assert isinstance(refused, Refused) and refused.ineligibility == Ineligibility(
        Ineligible.RECENT_RETREAT, date(2029, 7, 6)
    )
    with database.session() as session:
        officer = session.get(Officer, board.ids["a3"])
        assert officer is not None
        officer.active = False
        session.add(officer)
    refused = _nominate(database, board, round_id, "a3")
    assert isinstance(refused, Refused)
    assert refused.ineligibility == Ineligibility(Ineligible.INACTIVE)


def test_honours_need_a_reason_sealed_and_respect_flags_and_the_register(
    database: Database,
) -> None:
    """An honour's reason (≤ 500 characters) is sealed; a flag or a recent award refuses."""
    board = _roster(database)
    round_id = _round(
        database,
        programme=Programme.HONOUR,
        title="city-may-day",
        places=2,
        quotas={"甲": 2, "乙": 0, "丙": 0},
    )
    assert refusal(_nominate(database, board, round_id, "a2")) is Refusal.REASON_MISSING
    too_long = "好" * 501
    assert refusal(_nominate(database, board, round_id, "a2", reason=too_long)) is (
        Refusal.REASON_TOO_LONG
    )
    done = ok(_nominate(database, board, round_id, "a2", reason="破获集资诈骗案，带病坚持工作"))
    with database.session() as session:
        raw = (
            session.connection()
            .execute(text("SELECT reason_cipher FROM nomination WHERE id = :id"), {"id": done.id})
            .scalar_one()
        )
        assert "带病" not in raw and store.reason_of(done, CIPHER) == "破获集资诈骗案，带病坚持工作"
        ok(
            store.set_exclusion(
                session,
                board.ids["a3"],
                "city-may-day",
                "处分期内",
                cipher=CIPHER,
                actor="officer:org",
                now=NOW,
            )
        )
        assert store.record_award(
            session, board.ids["a4"], "city-may-day", 2023, actor="officer:org"
        )
        assert store.record_award(session, board.ids["a4"], "city-may-day", 2023, actor="x") is None
        flags = store.exclusions(session, CIPHER)
        assert [(f.officer.name, f.title, f.reason) for f in flags] == [
            ("民警a3", "city-may-day", "处分期内")
        ]
    flagged = _nominate(database, board, round_id, "a3", reason="好")
    assert isinstance(flagged, Refused) and flagged.ineligibility == Ineligibility(
        Ineligible.EXCLUDED
    )
    awarded = _nominate(database, board, round_id, "a4", reason="好")
    assert isinstance(awarded, Refused)
    assert awarded.ineligibility == Ineligibility(Ineligible.RECENT_HONOUR, date(2028, 1, 1))
    # Honours take no applications.
    assert (
        refusal(
            _in(
                database,
                lambda s: store.apply(
                    s, round_id, board.ids["a5"], terms=TERMS, now=NOW, zone=SHANGHAI
                ),
            )
        )
        is Refusal.NOT_RETREAT
    )
    with database.session() as session:
        assert store.lift_exclusion(session, board.ids["a3"], "city-may-day", actor="officer:org")
    ok(_nominate(database, board, round_id, "a3", reason="好"))


def test_the_database_refuses_a_second_nomination_in_a_round(database: Database) -> None:
    """Unique round and officer: even a write that skipped the checks cannot double it."""
    board = _roster(database)
    round_id = _round(database)
    ok(_nominate(database, board, round_id, "a2"))
    with pytest.raises(IntegrityError), database.session() as session:
        session.add(
            Nomination(round_id=round_id, officer_id=board.ids["a2"], unit="甲", status="applied")
        )
        session.flush()


# --- applications and the lottery --------------------------------------------------------------


def _apply(
    database: Database, board: Board, round_id: int, key: str, now: datetime = NOW
) -> Nomination | Refused:
    return _in(
        database,
        lambda s: store.apply(s, round_id, board.ids[key], terms=TERMS, now=now, zone=SHANGHAI),
    )


def test_applications_and_a_reproducible_draw(database: Database) -> None:
    """Four apply for 甲's two places: after the window the contact draws with the round's
    seed; the order is the documented one, the seed kept for the next unit's draw."""
    board = _roster(database)
    round_id = _round(database)
    for key in ("a2", "a3", "a4", "a5"):
        assert ok(_apply(database, board, round_id, key)).status == "applied"
    assert refusal(_apply(database, board, round_id, "a2")) is Refusal.ALREADY
    assert refusal(_apply(database, board, round_id, "a1", now=CLOSES)) is Refusal.AFTER_WINDOW
    with database.session() as session:
        early = store.draw(session, round_id, "甲", actor="x", now=NOW, contact_id=board.ids["a1"])
        assert refusal(early) is Refusal.WINDOW_OPEN
    after = CLOSES + timedelta(minutes=1)
    with database.session() as session:
        wrong = store.draw(
            session, round_id, "甲", actor="x", now=after, contact_id=board.ids["b1"]
        )
        assert refusal(wrong) is Refusal.OTHER_UNIT
        result = ok(
            store.draw(
                session,
                round_id,
                "甲",
                actor="officer:a1",
                now=after,
                contact_id=board.ids["a1"],
                seed="c0ffee",
            )
        )
    applicants = [board.police[k] for k in ("a2", "a3", "a4", "a5")]
    expected = lottery_order("c0ffee", applicants)
    assert result.seed == "c0ffee" and result.places == 2
    assert [police_id for police_id, _ in result.order] == expected
    assert [n.lottery_rank for _, n in result.order] == [1, 2, 3, 4]
    assert [n.status for n in result.winners] == ["nominated", "nominated"]
    assert [n.status for n in result.others] == ["unselected", "unselected"]
    with database.session() as session:
        round_ = store.get_round(session, round_id)
        assert round_ is not None and round_.lottery_seed == "c0ffee"
        quota = store.quota_of(session, round_id, "甲")
        assert quota is not None and quota.drawn_by == "officer:a1"
        assert audit.recent(session, action="nomination.draw")[0].detail.count("c0ffee") == 1
        # Nobody left to draw in 甲.
        assert (
            refusal(store.draw(session, round_id, "甲", actor="x", now=after))
            is Refusal.NO_APPLICANTS
        )
    # A winner declines: the place goes back, and the contact picks an unselected applicant.
    winner = result.winners[0]
    assert winner.id is not None
    ok(_in(database, lambda s: store.decline(s, nid(winner), winner.officer_id, now=after)))
    loser = result.others[0]
    assert loser.id is not None
    picked = ok(
        _in(
            database,
            lambda s: store.select_applicant(
                s, nid(loser), contact_id=board.ids["a1"], actor="officer:a1", now=after
            ),
        )
    )
    assert picked.status == "nominated"
    other = result.others[1]
    assert other.id is not None
    full = _in(
        database,
        lambda s: store.select_applicant(
            s, nid(other), contact_id=board.ids["a1"], actor="x", now=after
        ),
    )
    assert refusal(full) is Refusal.QUOTA_FULL


def test_withdrawals_by_the_applicant_and_by_the_contact(database: Database) -> None:
    """An applicant withdraws their own application (not another's) and may apply again; the
    contact chooses them, then withdraws the nomination: the place goes back. Another unit's
    contact cannot."""
    board = _roster(database)
    round_id = _round(database)

    def withdraw(**who: int) -> Nomination | Refused:
        with database.session() as session:
            return store.withdraw(session, nid(applied), actor="x", now=NOW, **who)

    applied = ok(_apply(database, board, round_id, "b2"))
    assert refusal(withdraw(officer_id=board.ids["b3"])) is Refusal.NOT_YOURS
    assert refusal(withdraw(contact_id=board.ids["b1"])) is Refusal.WRONG_STATUS
    assert ok(withdraw(officer_id=board.ids["b2"])).status == "withdrawn"
    assert ok(_apply(database, board, round_id, "b2")).status == "applied"
    with database.session() as session:
        chosen = store.select_applicant(
            session, nid(applied), contact_id=board.ids["b1"], actor="officer:b1", now=NOW
        )
        assert ok(chosen).status == "nominated"
        assert store.held_places(session, round_id, "乙") == 1
    assert refusal(withdraw(officer_id=board.ids["b2"])) is Refusal.WRONG_STATUS
    assert refusal(withdraw(contact_id=board.ids["a1"])) is Refusal.OTHER_UNIT
    assert ok(withdraw(contact_id=board.ids["b1"])).status == "withdrawn"
    assert _in(database, lambda s: store.held_places(s, round_id, "乙")) == 0
    ok(_nominate(database, board, round_id, "b3", by="b1"))


# --- the whole road ----------------------------------------------------------------------------


def test_confirm_decline_approve_publish_object_and_final(database: Database) -> None:
    """A retreat round from nomination to its final batch lists and the finance rows."""
    board = _roster(database)
    round_id = _round(database)
    batches = _in(database, lambda s: store.batches_of(s, round_id))
    first_batch, second_batch = batches
    assert first_batch.id is not None and second_batch.id is not None
    a2 = ok(_nominate(database, board, round_id, "a2"))
    a3 = ok(_nominate(database, board, round_id, "a3"))
    b2 = ok(_nominate(database, board, round_id, "b2", by="b1"))
    assert a2.id and a3.id and b2.id
    # Only the nominee answers; a retreat needs a batch of this round with room.
    assert (
        refusal(
            _in(
                database,
                lambda s: store.confirm(
                    s, nid(a2), board.ids["a3"], now=NOW, batch_id=first_batch.id
                ),
            )
        )
        is Refusal.NOT_YOURS
    )
    assert (
        refusal(_in(database, lambda s: store.confirm(s, nid(a2), board.ids["a2"], now=NOW)))
        is Refusal.NO_BATCH
    )
    for nomination, key in ((a2, "a2"), (a3, "a3")):
        with database.session() as session:
            ok(
                store.confirm(
                    session, nid(nomination), board.ids[key], now=NOW, batch_id=first_batch.id
                )
            )
    full = _in(
        database,
        lambda s: store.confirm(s, nid(b2), board.ids["b2"], now=NOW, batch_id=first_batch.id),
    )
    assert refusal(full) is Refusal.BATCH_FULL
    ok(
        _in(
            database,
            lambda s: store.confirm(s, nid(b2), board.ids["b2"], now=NOW, batch_id=second_batch.id),
        )
    )
    # Organizers approve two and return one with a sealed reason; the place goes back.
    with database.session() as session:
        ok(store.approve(session, a2.id, actor="officer:org", now=NOW))
        ok(store.approve(session, b2.id, actor="officer:org", now=NOW))
        assert (
            refusal(store.approve(session, a2.id, actor="officer:org", now=NOW))
            is Refusal.WRONG_STATUS
        )
        assert (
            refusal(
                store.return_nomination(
                    session, a3.id, reason=" ", cipher=CIPHER, actor="o", now=NOW
                )
            )
            is Refusal.REASON_MISSING
        )
        returned = ok(
            store.return_nomination(
                session, a3.id, reason="材料不全", cipher=CIPHER, actor="officer:org", now=NOW
            )
        )
        assert (
            store.decision_reason_of(returned, CIPHER) == "材料不全" and returned.batch_id is None
        )
        assert store.held_places(session, round_id, "甲") == 1
        assert store.to_review(session, round_id) == []
        progress = {
            line.unit: (line.places, line.held, line.by_status)
            for line in store.round_progress(session, round_id)
        }
    assert progress["甲"] == (2, 1, {"approved": 1, "returned": 1})
    assert progress["乙"] == (1, 1, {"approved": 1})
    assert progress["丙"] == (1, 0, {})
    # Published for five days.
    with database.session() as session:
        published = ok(store.publish(session, round_id, terms=TERMS, actor="officer:org", now=NOW))
        assert [n.id for n in published] == [a2.id, b2.id]
        round_ = store.get_round(session, round_id)
        assert round_ is not None and round_.status == RoundStatus.PUBLICITY
        assert round_.publicity_ends_at == NOW + timedelta(days=5)
        assert [(e.name, e.unit) for e in store.publicity_list(session, round_id)] == [
            ("民警b2", "乙"),
            ("民警a2", "甲"),
        ]
        # Nominating is over once the list is out.
    assert refusal(_nominate(database, board, round_id, "a4")) is Refusal.ROUND_NOT_OPEN

    def objection(key: str, text_: str, nomination_id: int, now: datetime = NOW) -> Any:
        return _in(
            database,
            lambda s: store.object_to(
                s, nomination_id, board.ids[key], text_, terms=TERMS, cipher=CIPHER, now=now
            ),
        )

    assert refusal(objection("a3", "好" * 1001, a2.id)) is Refusal.OBJECTION_TOO_LONG
    assert refusal(objection("a3", "  ", a2.id)) is Refusal.OBJECTION_EMPTY
    assert refusal(objection("a2", "我不配", a2.id)) is Refusal.OWN_NOMINATION
    ok(objection("a3", "该同志今年有违纪记录", a2.id))
    assert refusal(objection("a3", "再说一次", a2.id)) is Refusal.ALREADY_OBJECTED
    ok(objection("c1", "不同意", b2.id))
    late = NOW + timedelta(days=5)
    assert refusal(objection("c2", "晚了", a2.id, now=late)) is Refusal.PUBLICITY_OVER
    assert _status(database, a2.id) == "objected"
    with database.session() as session:
        # The publicity list shows nothing of it.
        assert [e.name for e in store.publicity_list(session, round_id)] == ["民警b2", "民警a2"]
        views = store.objections_of(session, round_id, CIPHER)
        assert [(v.nominee.name, v.objector.name, v.text) for v in views] == [
            ("民警a2", "民警a3", "该同志今年有违纪记录"),
            ("民警b2", "民警c1", "不同意"),
        ]
        raw = session.exec(select(NominationObjection.text_cipher)).all()
        assert all("违纪" not in value for value in raw)
        assert (
            refusal(store.finalize(session, round_id, actor="o", now=late, zone=SHANGHAI))
            is Refusal.OPEN_OBJECTIONS
        )
        kept = ok(
            store.resolve(
                session,
                a2.id,
                keep=True,
                reason="经核实无违纪",
                cipher=CIPHER,
                actor="officer:org",
                now=NOW,
            )
        )
        assert kept.status == "published"
        removed = ok(
            store.resolve(
                session,
                b2.id,
                keep=False,
                reason="经核实属实",
                cipher=CIPHER,
                actor="officer:org",
                now=NOW,
            )
        )
        assert removed.status == "removed" and removed.batch_id is None
        assert [e.action for e in audit.recent(session, limit=2)] == [
            "nomination.remove",
            "nomination.keep",
        ]
        assert {v.objection.outcome for v in store.objections_of(session, round_id, CIPHER)} == {
            "kept",
            "removed",
        }
        assert (
            refusal(store.finalize(session, round_id, actor="o", now=NOW, zone=SHANGHAI))
            is Refusal.PUBLICITY_NOT_OVER
        )
        assert store.rounds_to_finalize(session, late) == [store.get_round(session, round_id)]
        final = ok(store.finalize(session, round_id, actor="officer:org", now=late, zone=SHANGHAI))
        assert [n.id for n in final] == [a2.id]
        assert store.get_round(session, round_id).status == RoundStatus.FINAL  # type: ignore[union-attr]
        rows = store.finance_rows(session, round_id)
        assert [
            (r.name, r.unit, r.days, r.daily_allowance, r.allowance, r.status) for r in rows
        ] == [("民警a2", "甲", 5, 500, 2500, "final")]
        assert rows[0].batch == "2026-07-06–2026-07-10 张家界"
        assert [o.name for o in store.batch_list(session, first_batch.id)] == ["民警a2"]
        reminders = store.batches_starting(session, date(2026, 7, 6))
        assert [(r.batch.meeting_point, r.recipients) for r in reminders] == [
            ("市局大院 07:30", [(board.ids["a2"], 700002)])
        ]
        assert store.batches_starting(session, date(2026, 8, 3))[0].recipients == []
        mine = store.officer_nominations(session, board.ids["a2"])
        assert [(m.round.id, m.nomination.status, m.batch and m.batch.place) for m in mine] == [
            (round_id, "final", "张家界")
        ]
        assert [(r.id, b.place) for r, b in store.retreats_of(session, board.ids["a2"])] == [
            (round_id, "张家界")
        ]
        told = store.nominees_of(session, round_id, [S.FINAL])
        assert [(o.name, chat) for _, o, chat in told] == [("民警a2", 700002)]


def test_an_honour_round_writes_the_register_and_the_wall(database: Database) -> None:
    """Final honours go to the register (the local year), shown on the wall and refused again
    for the title's years."""
    board = _roster(database)
    round_id = _round(
        database,
        programme=Programme.HONOUR,
        title="city-may-day",
        places=1,
        quotas={"甲": 1, "乙": 0, "丙": 0},
    )
    nominated = ok(_nominate(database, board, round_id, "a2", reason="十年扎根基层"))
    assert nominated.id is not None
    with database.session() as session:
        assert (
            refusal(store.confirm(session, nominated.id, board.ids["a2"], now=NOW, batch_id=1))
            is Refusal.NOT_RETREAT
        )
        ok(store.confirm(session, nominated.id, board.ids["a2"], now=NOW))
        ok(store.approve(session, nominated.id, actor="o", now=NOW))
        ok(store.publish(session, round_id, terms=TERMS, actor="o", now=NOW))
        # 31 December 17:00 UTC is already 1 January in Shanghai: the register says 2027.
        end = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
        ok(store.finalize(session, round_id, actor="o", now=end, zone=SHANGHAI))
        assert [(w.year, w.title, w.name, w.unit) for w in store.honours_wall(session)] == [
            (2027, "city-may-day", "民警a2", "甲")
        ]
        assert store.honours_wall(session, 2026) == []
        assert [
            (h.title, h.year, h.round_id) for h in store.honours_of(session, board.ids["a2"])
        ] == [("city-may-day", 2027, round_id)]
    again = _round(
        database,
        programme=Programme.HONOUR,
        title="city-may-day",
        places=1,
        quotas={"甲": 1, "乙": 0, "丙": 0},
    )
    refused = _nominate(database, board, again, "a2", reason="再次推荐")
    assert isinstance(refused, Refused) and refused.ineligibility is not None
    assert refused.ineligibility.reason is Ineligible.RECENT_HONOUR


def test_finalize_keeps_an_award_already_in_the_register(database: Database) -> None:
    """The officer was given the title for the year by hand meanwhile: the round is made final
    all the same, and the register keeps its one award (no second row, no IntegrityError)."""
    board = _roster(database)
    round_id = _round(
        database,
        programme=Programme.HONOUR,
        title="city-may-day",
        places=2,
        quotas={"甲": 2, "乙": 0, "丙": 0},
    )
    nominated = [
        nid(ok(_nominate(database, board, round_id, key, reason="十年扎根基层")))
        for key in ("a2", "a3")
    ]
    with database.session() as session:
        for key, nomination_id in zip(("a2", "a3"), nominated, strict=True):
            ok(store.confirm(session, nomination_id, board.ids[key], now=NOW))
            ok(store.approve(session, nomination_id, actor="o", now=NOW))
        ok(store.publish(session, round_id, terms=TERMS, actor="o", now=NOW))
    with database.session() as session:
        assert store.record_award(session, board.ids["a2"], "city-may-day", 2026, actor="o")
    end = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)
    with database.session() as session:
        final = ok(store.finalize(session, round_id, actor="o", now=end, zone=SHANGHAI))
    assert sorted(nid(n) for n in final) == sorted(nominated)
    assert [_status(database, n) for n in nominated] == ["final", "final"]
    with database.session() as session:
        assert [
            (h.title, h.year, h.round_id) for h in store.honours_of(session, board.ids["a2"])
        ] == [("city-may-day", 2026, None)]
        assert [
            (h.title, h.year, h.round_id) for h in store.honours_of(session, board.ids["a3"])
        ] == [("city-may-day", 2026, round_id)]
        round_ = session.get(NominationRound, round_id)
        assert round_ is not None and round_.status == RoundStatus.FINAL


def test_an_officer_live_in_another_round_of_the_title_is_refused(database: Database) -> None:
    """Two rounds of the same honour open at once: an officer put forward in one cannot be put
    forward in the other while they stand there (other titles are not concerned); once
    withdrawn, or the round cancelled, they may. Retreat applications likewise."""
    board = _roster(database)
    honour = {"programme": Programme.HONOUR, "places": 2, "quotas": {"甲": 2, "乙": 0, "丙": 0}}
    first = _round(database, title="city-may-day", **honour)
    second = _round(database, title="city-may-day", **honour)
    other = _round(database, title="city-advanced", **honour)
    held = ok(_nominate(database, board, first, "a2", reason="十年扎根基层"))
    assert refusal(_nominate(database, board, second, "a2", reason="再推")) is (
        Refusal.IN_OTHER_ROUND
    )
    ok(_nominate(database, board, other, "a2", reason="另一项荣誉"))
    with database.session() as session:
        ok(store.withdraw(session, nid(held), actor="x", now=NOW, contact_id=board.ids["a1"]))
    ok(_nominate(database, board, second, "a2", reason="再推"))
    # Free again once the first round is cancelled.
    ok(_nominate(database, board, first, "a3", reason="勇救落水群众"))
    assert refusal(_nominate(database, board, second, "a3", reason="再推")) is (
        Refusal.IN_OTHER_ROUND
    )
    with database.session() as session:
        ok(store.cancel_round(session, first, actor="o", now=NOW))
    ok(_nominate(database, board, second, "a3", reason="再推"))

    retreat_one, retreat_two = _round(database), _round(database)
    ok(_apply(database, board, retreat_one, "b2"))
    assert refusal(_apply(database, board, retreat_two, "b2")) is Refusal.IN_OTHER_ROUND
    assert refusal(_nominate(database, board, retreat_two, "b2", by="b1")) is (
        Refusal.IN_OTHER_ROUND
    )
    ok(_apply(database, board, retreat_two, "b3"))


def test_a_decline_gives_the_place_back(database: Database) -> None:
    """Declined: the unit's contact may nominate someone else; the nominee cannot be put
    forward again in the round."""
    board = _roster(database)
    round_id = _round(database, places=1, quotas={"甲": 1, "乙": 0, "丙": 0})
    nominated = ok(_nominate(database, board, round_id, "a2"))
    assert nominated.id is not None
    assert refusal(_nominate(database, board, round_id, "a3")) is Refusal.QUOTA_FULL
    ok(_in(database, lambda s: store.decline(s, nid(nominated), board.ids["a2"], now=NOW)))
    assert (
        refusal(_in(database, lambda s: store.decline(s, nid(nominated), board.ids["a2"], now=NOW)))
        is Refusal.WRONG_STATUS
    )
    assert refusal(_nominate(database, board, round_id, "a2")) is Refusal.DECLINED_BEFORE
    ok(_nominate(database, board, round_id, "a3"))
    assert refusal(_nominate(database, board, round_id, "b2", by="b1")) is Refusal.NO_QUOTA
    with database.session() as session:
        assert ok(store.cancel_round(session, round_id, actor="o", now=NOW)).status == "cancelled"
        assert (
            refusal(store.cancel_round(session, round_id, actor="o", now=NOW))
            is Refusal.ROUND_NOT_OPEN
        )


# --- the last place, raced ---------------------------------------------------------------------


def test_two_contacts_race_for_the_last_place(database: Database) -> None:
    """Two contacts of one unit press at once for its last place: one gets it, the other is
    told the quota is full."""
    board = _roster(database)
    board.contact("a2", "甲")
    targets = {"a1": "a3", "a2": "a4"}
    for _ in range(3):  # a few rounds, each with one place
        round_id = _round(database, places=1, quotas={"甲": 1, "乙": 0, "丙": 0})
        barrier = threading.Barrier(2)

        def press(
            by: str, round_id: int = round_id, barrier: threading.Barrier = barrier
        ) -> object:
            barrier.wait(timeout=10)
            result = _nominate(database, board, round_id, targets[by], by=by)
            return result.refusal if isinstance(result, Refused) else result.status

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(map(str, pool.map(press, ["a1", "a2"])))
        assert outcomes == sorted(["nominated", str(Refusal.QUOTA_FULL)])
        with database.session() as session:
            assert store.held_places(session, round_id, "甲") == 1
            # Done with: the nominee may be put forward in the next round.
            ok(store.cancel_round(session, round_id, actor="o", now=NOW))


def test_a_nomination_waits_for_the_one_holding_the_quota(database: Database) -> None:
    """Proven: the second contact's nomination waits on the quota row's lock while the first
    transaction holds it, then finds the place gone."""
    board = _roster(database)
    board.contact("a2", "甲")
    round_id = _round(database, places=1, quotas={"甲": 1, "乙": 0, "丙": 0})
    with racing(database, lambda: _nominate(database, board, round_id, "a4", by="a2")) as race:
        with database.session() as session:
            ok(
                store.nominate(
                    session,
                    round_id,
                    board.ids["a3"],
                    contact_id=board.ids["a1"],
                    actor="officer:a1",
                    terms=TERMS,
                    cipher=CIPHER,
                    now=NOW,
                    zone=SHANGHAI,
                )
            )
            race.start()
            race.assert_waiting()
        assert refusal(race.result(timeout=10)) is Refusal.QUOTA_FULL


def test_every_refusal_reason_and_status_has_its_words() -> None:
    """The handler turns each typed answer into one sentence of bot.texts: none is missing."""
    from bot import texts
    from bot.rules.nominations import QuotaProblem

    assert set(texts.NOMINATION_REFUSALS) == {str(item) for item in Refusal}
    assert set(texts.NOMINATION_INELIGIBLE) == {str(item) for item in Ineligible}
    assert set(texts.NOMINATION_QUOTA_PROBLEMS) == {str(item) for item in QuotaProblem}
    assert set(texts.NOMINATION_STATUSES) == {str(item) for item in NominationStatus}
    assert set(texts.NOMINATION_ROUND_STATUSES) == {str(item) for item in RoundStatus}
    assert set(texts.NOMINATION_PROGRAMMES) == {str(item) for item in Programme}
    # The nominee never learns of an objection from their status.
    assert texts.NOMINATION_STATUSES["objected"] == texts.NOMINATION_STATUSES["published"]


def test_the_first_imports_officers_count_as_long_on_the_roster(database: Database) -> None:
    """The roster has no joining date: a bot installed ten days ago must not refuse its whole
    first roster for a year; an officer added later waits for their year."""
    board = Board(database)
    founding = NOW - timedelta(days=10)
    board.officer("old", "甲", since=founding)
    board.officer("old2", "甲", since=founding + timedelta(hours=2))  # the same import day
    board.officer("new", "甲", since=NOW - timedelta(days=5))
    board.contact("old", "甲")
    round_id = _round(database, places=3, quotas={"甲": 3})
    with database.session() as session:
        listed = store.candidates(session, round_id, "甲", terms=TERMS, now=NOW, zone=SHANGHAI)
    verdicts = {c.officer.name: c.ineligibility for c in listed}
    assert verdicts["民警old"] is None and verdicts["民警old2"] is None
    assert verdicts["民警new"] == Ineligibility(Ineligible.NEW_TO_ROSTER, date(2027, 5, 27))


def test_a_key_rotation_reseals_reasons_objections_and_flags(database: Database) -> None:
    """Every sealed value of nominations is in storage.sealed: a rotation carries it over."""
    from storage.keycheck import check_secret_key, rotate_secret_key

    check_secret_key(database, CIPHER)
    board = _roster(database)
    round_id = _round(
        database,
        programme=Programme.HONOUR,
        title="city-may-day",
        places=1,
        quotas={"甲": 1, "乙": 0, "丙": 0},
    )
    nominated = ok(_nominate(database, board, round_id, "a2", reason="十年扎根基层"))
    with database.session() as session:
        ok(store.confirm(session, nid(nominated), board.ids["a2"], now=NOW))
        ok(store.approve(session, nid(nominated), actor="o", now=NOW))
        ok(store.publish(session, round_id, terms=TERMS, actor="o", now=NOW))
        ok(
            store.object_to(
                session,
                nid(nominated),
                board.ids["b2"],
                "有异议",
                terms=TERMS,
                cipher=CIPHER,
                now=NOW,
            )
        )
        ok(
            store.resolve(
                session,
                nid(nominated),
                keep=True,
                reason="已核实",
                cipher=CIPHER,
                actor="o",
                now=NOW,
            )
        )
        ok(
            store.set_exclusion(
                session, board.ids["a3"], "", "另有安排", cipher=CIPHER, actor="o", now=NOW
            )
        )
    new = FieldCipher(FieldCipher.generate_key())
    report = rotate_secret_key(database, CIPHER, new)
    assert "nomination.reason_cipher" in report.summary()
    with database.session() as session:
        again = store.get_nomination(session, nid(nominated))
        assert again is not None
        assert store.reason_of(again, new) == "十年扎根基层"
        assert store.decision_reason_of(again, new) == "已核实"
        assert [v.text for v in store.objections_of(session, round_id, new)] == ["有异议"]
        assert [f.reason for f in store.exclusions(session, new)] == ["另有安排"]
