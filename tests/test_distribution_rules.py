"""bot/rules/distributions.py as tables: quantities as people type them, shares per unit (the
nominations' largest remainder, extended past one item per officer), per-officer totals, edited
tables, receipts and the reminder's day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.rules import distributions as rules
from bot.rules.distributions import DistributionInputError, Problem
from bot.rules.nominations import allocate


@pytest.mark.parametrize(
    ("typed", "wanted"),
    [
        ("10000", 10000),
        ("１００００", 10000),
        ("10,000", 10000),
        (" 50 ", 50),
        ("200份", 200),
        ("1000000", 1_000_000),
    ],
)
def test_quantities_as_people_type_them(typed: str, wanted: int) -> None:
    assert rules.parse_quantity(typed) == wanted


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("0", Problem.ZERO),
        ("０", Problem.ZERO),
        ("1000001", Problem.TOO_MANY),
        ("999999999", Problem.TOO_MANY),
        ("-5", Problem.NOT_A_NUMBER),
        ("一万", Problem.NOT_A_NUMBER),
        ("1.5", Problem.NOT_A_NUMBER),
        ("", Problem.NOT_A_NUMBER),
        ("99999999999999999999", Problem.NOT_A_NUMBER),
    ],
)
def test_bad_quantities_are_refused(typed: str, problem: Problem) -> None:
    with pytest.raises(DistributionInputError) as caught:
        rules.parse_quantity(typed)
    assert caught.value.problem == problem


def test_a_count_may_be_zero_but_not_absurd() -> None:
    assert rules.parse_count("0") == 0
    with pytest.raises(DistributionInputError):
        rules.parse_count("2000000")


@pytest.mark.parametrize(
    ("quantity", "officers", "wanted"),
    [
        # Fewer items than officers: exactly the nominations' quotas.
        (10, {"A": 5, "B": 3, "C": 2}, {"A": 5, "B": 3, "C": 2}),
        (7, {"A": 5, "B": 3, "C": 2}, {"A": 4, "B": 2, "C": 1}),
        # The seed's 10,000 masks over units of 1,000, 600 and 400 officers.
        (10000, {"A": 1000, "B": 600, "C": 400}, {"A": 5000, "B": 3000, "C": 2000}),
        # More items than officers, with remainders: no unit is capped at its officers.
        (100, {"A": 7, "B": 2, "C": 1}, {"A": 70, "B": 20, "C": 10}),
        (101, {"A": 7, "B": 2, "C": 1}, {"A": 71, "B": 20, "C": 10}),
        (25, {"A": 2, "B": 1}, {"A": 17, "B": 8}),
        # A unit with no officers in the audience gets nothing.
        (5, {"A": 3, "B": 0}, {"A": 5, "B": 0}),
    ],
)
def test_shares_are_proportional_by_largest_remainder(
    quantity: int, officers: dict[str, int], wanted: dict[str, int]
) -> None:
    shared = rules.share(quantity, officers)
    assert shared == wanted
    assert sum(shared.values()) == quantity


@pytest.mark.parametrize("quantity", [1, 9, 10, 11, 57, 999, 10000, 123457])
def test_shares_equal_the_largest_remainder_of_the_whole_quantity(quantity: int) -> None:
    officers = {"甲": 13, "乙": 7, "丙": 29, "丁": 1}
    total = sum(officers.values())
    shared = rules.share(quantity, officers)
    # The same quotas as allocate() gives when it is not capped by officers: scale the units
    # up so that every unit has more "officers" than items.
    scale = quantity
    uncapped = allocate(quantity, {unit: count * scale for unit, count in officers.items()})
    assert shared == uncapped.quotas
    assert sum(shared.values()) == quantity
    assert all(abs(shared[u] - quantity * c / total) < 1 for u, c in officers.items())


def test_nobody_in_the_audience_is_refused() -> None:
    with pytest.raises(DistributionInputError) as caught:
        rules.share(10, {"A": 0})
    assert caught.value.problem == Problem.NOBODY
    with pytest.raises(DistributionInputError):
        rules.share(10, {})


@pytest.mark.parametrize(
    ("each", "officers", "wanted"),
    [
        (1, {"A": 3, "B": 2}, {"A": 3, "B": 2}),
        (4, {"A": 3, "B": 0}, {"A": 12, "B": 0}),
    ],
)
def test_per_officer_shares(each: int, officers: dict[str, int], wanted: dict[str, int]) -> None:
    assert rules.per_officer(each, officers) == wanted


def test_per_officer_totals_over_the_limit_are_refused() -> None:
    with pytest.raises(DistributionInputError) as caught:
        rules.per_officer(600_000, {"A": 2})
    assert caught.value.problem == Problem.TOO_MANY
    with pytest.raises(DistributionInputError) as caught:
        rules.per_officer(0, {"A": 2})
    assert caught.value.problem == Problem.ZERO


@pytest.mark.parametrize(
    ("quantity", "table", "ok"),
    [
        (10, {"A": 6, "B": 4}, True),
        (10, {"A": 10, "B": 0}, True),
        (10, {"A": 6, "B": 3}, False),
        (10, {"A": 11, "B": -1}, False),
        (10, {"A": 7, "B": 4}, False),
    ],
)
def test_edited_tables_must_sum_to_the_quantity(
    quantity: int, table: dict[str, int], ok: bool
) -> None:
    check = rules.allocation_problem(quantity, table)
    assert (check is None) == ok
    if check is not None:
        assert check.problem == Problem.SUM_MISMATCH
        assert (check.total, check.quantity) == (sum(table.values()), quantity)


@pytest.mark.parametrize(
    ("allocated", "received", "problem"),
    [(100, 100, None), (100, 60, None), (100, 0, None), (100, 101, Problem.OVER_ALLOCATED)],
)
def test_receipts(allocated: int, received: int, problem: Problem | None) -> None:
    if problem is None:
        assert rules.check_received(allocated, received) == received
    else:
        with pytest.raises(DistributionInputError) as caught:
            rules.check_received(allocated, received)
        assert caught.value.problem == problem


def test_item_and_note_texts() -> None:
    assert rules.check_text("  口罩 ", rules.MAX_ITEM, Problem.ITEM_TOO_LONG) == "口罩"
    with pytest.raises(DistributionInputError) as caught:
        rules.check_text("口" * 31, rules.MAX_ITEM, Problem.ITEM_TOO_LONG)
    assert caught.value.problem == Problem.ITEM_TOO_LONG
    with pytest.raises(DistributionInputError) as caught:
        rules.check_text("  ", rules.MAX_NOTE, Problem.NOTE_TOO_LONG)
    assert caught.value.problem == Problem.EMPTY


def test_the_reminder_comes_days_after_publishing() -> None:
    published = datetime(2030, 6, 1, 2, 0, tzinfo=UTC)
    assert not rules.reminder_due(
        published, 3, published + timedelta(days=3) - timedelta(seconds=1)
    )
    assert rules.reminder_due(published, 3, published + timedelta(days=3))
    assert not rules.reminder_due(published, 0, published + timedelta(days=300))
