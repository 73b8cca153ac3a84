"""The pure rules of nominations by quota, as tables: quotas by largest remainder (ties and
edge cases), the quota table's check, dated eligibility for retreats and honours, the
reproducible lottery and the statuses' transitions."""

from __future__ import annotations

import hashlib
import random
from datetime import date

import pytest

from bot.policy import NominationPolicy, load_policy
from bot.rules.nominations import (
    DECLINABLE,
    HOLDS_BATCH,
    HOLDS_PLACE,
    TRANSITIONS,
    Ineligibility,
    Ineligible,
    NominationStatus,
    QuotaCheck,
    QuotaProblem,
    Record,
    Terms,
    allocate,
    allowance,
    batch_days,
    can_move,
    draw,
    eligibility,
    honour_eligibility,
    lottery_key,
    lottery_order,
    quota_problem,
    retreat_eligibility,
    years_after,
)

S = NominationStatus

# --- quotas ------------------------------------------------------------------------------------

QUOTAS = [
    # (places, officers per unit, quotas, unassigned)
    pytest.param(10, {"甲": 50, "乙": 30, "丙": 20}, {"甲": 5, "乙": 3, "丙": 2}, 0, id="exact"),
    # 7 × (50, 30, 20) / 100 = 3.5, 2.1, 1.4: floors 3, 2, 1 and the one left to 甲 (.5).
    pytest.param(7, {"甲": 50, "乙": 30, "丙": 20}, {"甲": 4, "乙": 2, "丙": 1}, 0, id="largest"),
    # 5 × (45, 35, 20) / 100 = 2.25, 1.75, 1.0: the place left goes to 乙 (.75), not the biggest.
    pytest.param(5, {"甲": 45, "乙": 35, "丙": 20}, {"甲": 2, "乙": 2, "丙": 1}, 0, id="remainder"),
    # 2 × (1, 3) / 4 = 0.5, 1.5: equal remainders, the larger unit first.
    pytest.param(2, {"甲": 1, "乙": 3}, {"甲": 0, "乙": 2}, 0, id="tie-size"),
    # 3 × (10, 30, 10, 30) / 80: 甲 and 丙 tie on remainder and size: by name, 丙 (U+4E19)
    # before 甲 (U+7532).
    pytest.param(
        3,
        {"甲": 10, "乙": 30, "丙": 10, "丁": 30},
        {"甲": 0, "乙": 1, "丙": 1, "丁": 1},
        0,
        id="tie-size-then-name",
    ),
    # Equal remainders and sizes: by name in code point order, 丙 (U+4E19) before 乙 (U+4E59).
    pytest.param(1, {"乙": 1, "丙": 1}, {"乙": 0, "丙": 1}, 0, id="tie-name"),
    pytest.param(2, {"b": 1, "a": 1, "c": 1}, {"b": 1, "a": 1, "c": 0}, 0, id="tie-name-ascii"),
    pytest.param(0, {"甲": 50, "乙": 30}, {"甲": 0, "乙": 0}, 0, id="no-places"),
    pytest.param(5, {"甲": 4, "乙": 0}, {"甲": 4, "乙": 0}, 1, id="more-places-than-officers"),
    pytest.param(3, {"甲": 3}, {"甲": 3}, 0, id="places-equal-officers"),
    pytest.param(3, {"甲": 0, "乙": 0}, {"甲": 0, "乙": 0}, 3, id="no-officers"),
    pytest.param(3, {}, {}, 3, id="no-units"),
    pytest.param(2, {"甲": 0, "乙": 5, "丙": 5}, {"甲": 0, "乙": 1, "丙": 1}, 0, id="empty-unit"),
]


@pytest.mark.parametrize(("places", "officers", "quotas", "unassigned"), QUOTAS)
def test_largest_remainder(
    places: int, officers: dict[str, int], quotas: dict[str, int], unassigned: int
) -> None:
    """Places shared by active officers, ties by remainder, then size, then name."""
    allocation = allocate(places, officers)
    assert allocation.quotas == quotas
    assert allocation.unassigned == unassigned
    assert sum(allocation.quotas.values()) + allocation.unassigned == places


def test_allocation_does_not_depend_on_the_order_units_are_given() -> None:
    """The same table in any order gives the same quotas (ties are not broken by position)."""
    officers = {f"单位{n}": count for n, count in enumerate([7, 7, 7, 3, 3, 11, 0, 1])}
    expected = allocate(9, officers).quotas
    shuffler = random.Random(4)
    for _ in range(20):
        items = list(officers.items())
        shuffler.shuffle(items)
        assert allocate(9, dict(items)).quotas == expected


def test_allocation_properties_over_many_tables() -> None:
    """Every unit gets the floor or the ceiling of its share, never more than its officers."""
    shuffler = random.Random(12)
    for _ in range(300):
        officers = {f"u{n}": shuffler.randint(0, 40) for n in range(shuffler.randint(1, 9))}
        total = sum(officers.values())
        places = shuffler.randint(0, total + 5)
        allocation = allocate(places, officers)
        for unit, count in officers.items():
            quota = allocation.quotas[unit]
            assert 0 <= quota <= count
            if total and places < total:
                share = places * count / total
                assert int(share) <= quota <= int(share) + 1
        assert sum(allocation.quotas.values()) == min(places, total)


def test_allocation_refuses_negative_figures() -> None:
    """Negative places or officers are a programming error, not a quota."""
    with pytest.raises(ValueError):
        allocate(-1, {"甲": 3})
    with pytest.raises(ValueError):
        allocate(1, {"甲": -3})


QUOTA_CHECKS = [
    pytest.param({"甲": 2, "乙": 1}, None, id="ok"),
    pytest.param(
        {"甲": 2, "乙": 2}, QuotaCheck(QuotaProblem.SUM_MISMATCH, total=4, places=3), id="sum-over"
    ),
    pytest.param(
        {"甲": 1, "乙": 1}, QuotaCheck(QuotaProblem.SUM_MISMATCH, total=2, places=3), id="sum-under"
    ),
    pytest.param({"甲": 4, "乙": -1}, QuotaCheck(QuotaProblem.NEGATIVE, "乙"), id="negative"),
    pytest.param({"甲": 2, "丁": 1}, QuotaCheck(QuotaProblem.UNKNOWN_UNIT, "丁"), id="unknown"),
    pytest.param({"甲": 0, "乙": 3}, QuotaCheck(QuotaProblem.OVER_OFFICERS, "乙"), id="over"),
    pytest.param({"甲": 3}, None, id="one-unit-takes-all"),
]


@pytest.mark.parametrize(("quotas", "problem"), QUOTA_CHECKS)
def test_an_edited_quota_table(quotas: dict[str, int], problem: QuotaCheck | None) -> None:
    """An organizer's table: units known, within their officers, summing to the places."""
    assert quota_problem(3, quotas, {"甲": 5, "乙": 2}) == problem


# --- eligibility -------------------------------------------------------------------------------

ON = date(2026, 6, 1)
R = Ineligible

RETREATS = [
    pytest.param(Record(), None, id="nothing-known"),
    pytest.param(Record(active=False), Ineligibility(R.INACTIVE), id="left"),
    pytest.param(Record(on_roster_since=date(2025, 6, 1)), None, id="roster-a-year-to-the-day"),
    pytest.param(
        Record(on_roster_since=date(2025, 6, 2)),
        Ineligibility(R.NEW_TO_ROSTER, date(2026, 6, 2)),
        id="roster-a-day-short",
    ),
    pytest.param(Record(retreats=(date(2023, 6, 1),)), None, id="retreat-three-years-ago"),
    pytest.param(
        Record(retreats=(date(2023, 6, 2),)),
        Ineligibility(R.RECENT_RETREAT, date(2026, 6, 2)),
        id="retreat-a-day-within",
    ),
    pytest.param(
        Record(retreats=(date(2020, 5, 1), date(2024, 10, 8))),
        Ineligibility(R.RECENT_RETREAT, date(2027, 10, 8)),
        id="the-latest-retreat-counts",
    ),
    pytest.param(
        Record(retreats=(date(2026, 9, 1),)),
        Ineligibility(R.RECENT_RETREAT, date(2029, 9, 1)),
        id="a-planned-retreat",
    ),
    pytest.param(
        Record(active=False, retreats=(date(2025, 1, 1),)),
        Ineligibility(R.INACTIVE),
        id="inactive-first",
    ),
    # Honours do not matter for retreats.
    pytest.param(
        Record(honours=(("city-may-day", 2026),), excluded_titles=frozenset({""})),
        None,
        id="honours-irrelevant",
    ),
]


@pytest.mark.parametrize(("record", "verdict"), RETREATS)
def test_retreat_eligibility(record: Record, verdict: Ineligibility | None) -> None:
    """Active, a year on the roster, no retreat within three years: dated, with the day it
    ends."""
    assert retreat_eligibility(record, on=ON, retreat_years=3, roster_years=1) == verdict


def test_retreat_eligibility_follows_the_policy_years() -> None:
    """A union with 5 years between retreats and no roster rule."""
    record = Record(on_roster_since=ON, retreats=(date(2022, 1, 1),))
    assert retreat_eligibility(record, on=ON, retreat_years=5, roster_years=0) == Ineligibility(
        R.RECENT_RETREAT, date(2027, 1, 1)
    )
    assert retreat_eligibility(record, on=ON, retreat_years=4, roster_years=0) is None


HONOURS = [
    pytest.param(Record(), "city-may-day", None, id="never"),
    pytest.param(Record(active=False), "city-may-day", Ineligibility(R.INACTIVE), id="left"),
    pytest.param(
        Record(honours=(("city-may-day", 2022),)),
        "city-may-day",
        Ineligibility(R.RECENT_HONOUR, date(2027, 1, 1)),
        id="same-title-within",
    ),
    pytest.param(Record(honours=(("city-may-day", 2021),)), "city-may-day", None, id="5-years"),
    pytest.param(Record(honours=(("city-advanced", 2025),)), "city-may-day", None, id="other"),
    pytest.param(
        Record(excluded_titles=frozenset({"city-may-day"})),
        "city-may-day",
        Ineligibility(R.EXCLUDED),
        id="flagged",
    ),
    pytest.param(
        Record(excluded_titles=frozenset({"city-advanced"})), "city-may-day", None, id="flag-other"
    ),
    pytest.param(
        Record(excluded_titles=frozenset({""})),
        "city-may-day",
        Ineligibility(R.EXCLUDED),
        id="flagged-out-of-all",
    ),
    # The roster and retreats do not matter for honours.
    pytest.param(
        Record(on_roster_since=ON, retreats=(ON,)), "city-may-day", None, id="retreats-irrelevant"
    ),
]


@pytest.mark.parametrize(("record", "title", "verdict"), HONOURS)
def test_honour_eligibility(record: Record, title: str, verdict: Ineligibility | None) -> None:
    """Active, not flagged out, not given the same title within its years (5 here)."""
    assert honour_eligibility(record, title, on=ON, years=5) == verdict


def test_a_title_with_no_years_may_be_given_every_year() -> None:
    """`years` 0: the register does not refuse anyone for that title."""
    record = Record(honours=(("x", 2026),))
    assert honour_eligibility(record, "x", on=ON, years=0) is None


def test_eligibility_reads_the_policy_terms() -> None:
    """One entry point for both programmes, with the shipped policy's figures."""
    terms = load_policy(None).nominations.terms()
    assert (terms.retreat_years, terms.roster_years, terms.publicity_days) == (3, 1, 5)
    assert terms.title_years == {"city-advanced": 5, "city-may-day": 5}
    assert (terms.objection_max_chars, terms.honour_reason_max_chars) == (1000, 500)
    recent = Record(retreats=(date(2024, 1, 1),), honours=(("city-may-day", 2024),))
    assert eligibility(recent, terms, on=ON, title=None) == Ineligibility(
        R.RECENT_RETREAT, date(2027, 1, 1)
    )
    assert eligibility(recent, terms, on=ON, title="city-advanced") is None
    assert eligibility(recent, terms, on=ON, title="city-may-day") == Ineligibility(
        R.RECENT_HONOUR, date(2029, 1, 1)
    )
    # An unknown title has no years: nothing in the register refuses it.
    assert eligibility(recent, Terms(), on=ON, title="city-may-day") is None


def test_the_policy_refuses_a_title_given_twice() -> None:
    """Two honours with one key would make the register ambiguous."""
    with pytest.raises(ValueError, match="honour key"):
        NominationPolicy.model_validate(
            {"honours": [{"key": "a-b", "name": "甲"}, {"key": "a-b", "name": "乙"}]}
        )


@pytest.mark.parametrize(
    ("day", "years", "later"),
    [
        (date(2024, 2, 29), 1, date(2025, 2, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 29)),
        (date(2023, 6, 2), 3, date(2026, 6, 2)),
        (date(2023, 6, 2), 0, date(2023, 6, 2)),
    ],
)
def test_years_after(day: date, years: int, later: date) -> None:
    """Anniversaries, 29 February included."""
    assert years_after(day, years) == later


# --- the lottery -------------------------------------------------------------------------------

APPLICANTS = ["100003", "100001", "100007", "100002", "100005"]


def test_the_lottery_is_sha256_of_seed_and_police_id() -> None:
    """The documented algorithm, recomputed here with hashlib alone."""
    seed = "3f9a0c1d2e4b5a6c"
    expected = sorted(
        APPLICANTS, key=lambda pid: hashlib.sha256(f"{seed}:{pid}".encode()).hexdigest()
    )
    assert lottery_order(seed, APPLICANTS) == expected
    assert lottery_key(seed, "100001") == hashlib.sha256(b"3f9a0c1d2e4b5a6c:100001").hexdigest()
    assert draw(seed, APPLICANTS, 2) == expected[:2]


def test_the_same_seed_and_applicants_give_the_same_result_in_any_order() -> None:
    """Reproducible: the order the applicants come in (and repeats) change nothing."""
    first = draw("seed-1", APPLICANTS, 3)
    shuffler = random.Random(7)
    for _ in range(10):
        again = [*APPLICANTS, APPLICANTS[0]]
        shuffler.shuffle(again)
        assert draw("seed-1", again, 3) == first
    assert len(set(first)) == 3 and set(first) <= set(APPLICANTS)


def test_another_seed_gives_another_order() -> None:
    """The seed decides: across seeds every applicant wins sometimes."""
    winners = {draw(f"seed-{n}", APPLICANTS, 1)[0] for n in range(60)}
    assert winners == set(APPLICANTS)


@pytest.mark.parametrize(("places", "count"), [(0, 0), (2, 2), (5, 5), (9, 5)])
def test_the_draw_takes_at_most_the_applicants(places: int, count: int) -> None:
    """More places than applicants: everyone."""
    assert len(draw("s", APPLICANTS, places)) == count


def test_a_known_draw_stays_the_same() -> None:
    """A fixed example: what applicants can check by hand (it must never change)."""
    assert lottery_order("2026", ["1", "2", "3"]) == sorted(
        ["1", "2", "3"], key=lambda pid: hashlib.sha256(f"2026:{pid}".encode()).hexdigest()
    )
    assert lottery_key("2026", "1")[:8] == hashlib.sha256(b"2026:1").hexdigest()[:8]


# --- statuses ----------------------------------------------------------------------------------

ALLOWED = [
    (S.APPLIED, S.NOMINATED),
    (S.APPLIED, S.UNSELECTED),
    (S.APPLIED, S.WITHDRAWN),
    (S.NOMINATED, S.CONFIRMED),
    (S.NOMINATED, S.DECLINED),
    (S.CONFIRMED, S.APPROVED),
    (S.CONFIRMED, S.RETURNED),
    (S.CONFIRMED, S.DECLINED),
    (S.APPROVED, S.PUBLISHED),
    (S.PUBLISHED, S.OBJECTED),
    (S.PUBLISHED, S.FINAL),
    (S.OBJECTED, S.PUBLISHED),
    (S.OBJECTED, S.REMOVED),
    (S.RETURNED, S.NOMINATED),
    (S.UNSELECTED, S.NOMINATED),
    (S.WITHDRAWN, S.APPLIED),
]
REFUSED = [
    (S.APPLIED, S.CONFIRMED),  # an applicant is chosen (nominated) before confirming
    (S.APPLIED, S.APPROVED),
    (S.NOMINATED, S.APPROVED),  # organizers approve only what the nominee confirmed
    (S.NOMINATED, S.PUBLISHED),
    (S.CONFIRMED, S.PUBLISHED),
    (S.APPROVED, S.FINAL),  # never final without publicity
    (S.OBJECTED, S.FINAL),  # an objection must be decided first
    (S.DECLINED, S.NOMINATED),  # a decline is the nominee's last word in the round
    (S.DECLINED, S.CONFIRMED),
    (S.FINAL, S.DECLINED),
    (S.FINAL, S.REMOVED),
    (S.REMOVED, S.PUBLISHED),
    (S.RETURNED, S.APPROVED),
    (S.UNSELECTED, S.CONFIRMED),
]


@pytest.mark.parametrize(("current", "target"), ALLOWED)
def test_allowed_transitions(current: NominationStatus, target: NominationStatus) -> None:
    """The moves a nomination may make."""
    assert can_move(current, target)


@pytest.mark.parametrize(("current", "target"), REFUSED)
def test_refused_transitions(current: NominationStatus, target: NominationStatus) -> None:
    """The moves it may not."""
    assert not can_move(current, target)


def test_every_status_has_its_row_and_unknown_ones_move_nowhere() -> None:
    """The table is complete; final, removed and declined end the road."""
    assert set(TRANSITIONS) == set(NominationStatus)
    assert TRANSITIONS[S.FINAL] == TRANSITIONS[S.REMOVED] == TRANSITIONS[S.DECLINED] == frozenset()
    assert not can_move("lost", S.NOMINATED)
    assert {S.NOMINATED, S.CONFIRMED, S.APPROVED, S.PUBLISHED, S.OBJECTED} == DECLINABLE


def test_which_statuses_hold_a_place() -> None:
    """A decline, return, removal, withdrawal or a lost draw gives the place back; an
    application does not hold one yet; a batch place is held from confirmation."""
    assert {S.NOMINATED, S.CONFIRMED, S.APPROVED, S.PUBLISHED, S.OBJECTED, S.FINAL} == HOLDS_PLACE
    assert HOLDS_PLACE - {S.NOMINATED} == HOLDS_BATCH


def test_allowance_and_days() -> None:
    """Days count both ends; the allowance is days × the daily sum."""
    assert batch_days(date(2027, 5, 10), date(2027, 5, 14)) == 5
    assert batch_days(date(2027, 5, 10), date(2027, 5, 10)) == 1
    assert allowance(5, 500) == 2500
    assert allowance(0, 500) == 0
