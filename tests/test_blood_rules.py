"""Blood donation rules: every interval boundary, the yearly platelet cap, age limits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.policy import BloodPolicy, load_policy
from bot.rules.blood import (
    Component,
    Conflict,
    Donation,
    Eligibility,
    Reason,
    age_on,
    anniversary,
    eligibility,
    interval_days,
    next_eligible,
    platelet_donations_in,
    platelets_over_cap,
    too_close,
)

POLICY = load_policy(None).blood
WHOLE = Component.WHOLE_BLOOD
PLATELETS = Component.PLATELETS
PLASMA = Component.PLASMA

TODAY = date(2026, 11, 29)
ADULT = date(1985, 3, 12)  # 41 on TODAY
ALLOWED = Eligibility(may_give=True, from_date=None, reason=None)


def ask(
    component: Component,
    *,
    today: date = TODAY,
    birthday: date | None = ADULT,
    history: list[Donation] | None = None,
    policy: BloodPolicy = POLICY,
) -> Eligibility:
    """The rules' answer with this file's defaults."""
    return eligibility(
        component, today=today, birthday=birthday, history=history or [], policy=policy
    )


def refused(from_date: date | None, reason: Reason, *reasons: Reason) -> Eligibility:
    """The expected refusal; `reasons` defaults to the deciding reason alone."""
    return Eligibility(False, from_date, reason, reasons or (reason,))


def gave(on: date, component: Component) -> Donation:
    """A donation of the usual amount for its component."""
    return Donation(on, component, 1 if component is PLATELETS else 400)


def platelets_every(first: date, count: int, days: int = 14) -> list[Donation]:
    """`count` platelet donations, `days` apart from `first`."""
    return [gave(first + timedelta(days=days * i), PLATELETS) for i in range(count)]


def test_the_shipped_policy_holds_mainland_defaults() -> None:
    shipped = load_policy(None).blood
    assert shipped == BloodPolicy()
    assert (
        shipped.whole_after_whole_days,
        shipped.platelets_after_whole_days,
        shipped.platelets_after_platelets_days,
        shipped.whole_after_platelets_days,
        shipped.max_platelet_donations_per_year,
        (shipped.min_age, shipped.max_age_first_time, shipped.max_age_repeat),
    ) == (180, 90, 14, 28, 24, (18, 55, 60))


LAST = date(2026, 1, 10)


@pytest.mark.parametrize(
    ("before", "now", "today", "expected"),
    [
        # Whole blood after whole blood: 180 days (6 months).
        (WHOLE, WHOLE, date(2026, 7, 8), refused(date(2026, 7, 9), Reason.INTERVAL)),
        (WHOLE, WHOLE, date(2026, 7, 9), ALLOWED),
        # Platelets after whole blood: 90 days (3 months).
        (WHOLE, PLATELETS, date(2026, 4, 9), refused(date(2026, 4, 10), Reason.INTERVAL)),
        (WHOLE, PLATELETS, date(2026, 4, 10), ALLOWED),
        # Platelets after platelets: 14 days (2 weeks).
        (PLATELETS, PLATELETS, date(2026, 1, 23), refused(date(2026, 1, 24), Reason.INTERVAL)),
        (PLATELETS, PLATELETS, date(2026, 1, 24), ALLOWED),
        # Whole blood after platelets: 28 days (4 weeks).
        (PLATELETS, WHOLE, date(2026, 2, 6), refused(date(2026, 2, 7), Reason.INTERVAL)),
        (PLATELETS, WHOLE, date(2026, 2, 7), ALLOWED),
        # Plasma counts as whole blood, before and after.
        (PLASMA, WHOLE, date(2026, 7, 8), refused(date(2026, 7, 9), Reason.INTERVAL)),
        (PLASMA, WHOLE, date(2026, 7, 9), ALLOWED),
        (WHOLE, PLASMA, date(2026, 7, 8), refused(date(2026, 7, 9), Reason.INTERVAL)),
        (PLASMA, PLASMA, date(2026, 7, 9), ALLOWED),
        (PLASMA, PLATELETS, date(2026, 4, 9), refused(date(2026, 4, 10), Reason.INTERVAL)),
        (PLASMA, PLATELETS, date(2026, 4, 10), ALLOWED),
        (PLATELETS, PLASMA, date(2026, 2, 6), refused(date(2026, 2, 7), Reason.INTERVAL)),
        (PLATELETS, PLASMA, date(2026, 2, 7), ALLOWED),
        # The day of the donation itself.
        (WHOLE, WHOLE, LAST, refused(date(2026, 7, 9), Reason.INTERVAL)),
        (PLATELETS, PLATELETS, LAST, refused(date(2026, 1, 24), Reason.INTERVAL)),
    ],
)
def test_interval_boundaries(
    before: Component, now: Component, today: date, expected: Eligibility
) -> None:
    assert ask(now, today=today, history=[gave(LAST, before)]) == expected


@pytest.mark.parametrize(
    ("before", "after", "days"),
    [
        (WHOLE, WHOLE, 180),
        (WHOLE, PLATELETS, 90),
        (PLATELETS, PLATELETS, 14),
        (PLATELETS, WHOLE, 28),
        (PLASMA, PLASMA, 180),
        (PLASMA, PLATELETS, 90),
        (PLATELETS, PLASMA, 28),
    ],
)
def test_interval_days(before: Component, after: Component, days: int) -> None:
    assert interval_days(before, after, POLICY) == days


def test_the_latest_donation_of_each_kind_decides() -> None:
    history = [
        gave(date(2025, 12, 1), WHOLE),
        gave(date(2026, 6, 1), WHOLE),
        gave(date(2026, 10, 1), PLATELETS),
        gave(date(2026, 11, 20), PLATELETS),
    ]
    # Platelets: 90 days after 1 June have passed (30 August); 14 after 20 November have not.
    assert ask(PLATELETS, history=history) == refused(date(2026, 12, 4), Reason.INTERVAL)
    # Whole blood: 180 days after 1 June passed on 28 November; 28 after 20 November have not.
    assert ask(WHOLE, history=history) == refused(date(2026, 12, 18), Reason.INTERVAL)
    # Order in the history does not matter.
    assert ask(WHOLE, history=history[::-1]) == refused(date(2026, 12, 18), Reason.INTERVAL)
    assert ask(WHOLE, today=date(2026, 12, 18), history=history) == ALLOWED


def test_donations_after_today_have_not_happened_yet() -> None:
    history = [gave(date(2026, 12, 1), WHOLE)]
    assert ask(WHOLE, history=history) == ALLOWED
    # They do not make a first-time donor a repeat one either.
    old = date(1970, 11, 29)  # 56 on TODAY
    assert ask(WHOLE, birthday=old, history=history) == refused(None, Reason.TOO_OLD_FIRST_TIME)


def test_empty_history_first_time_adult_may_give_everything() -> None:
    for component in Component:
        assert ask(component, history=[]) == ALLOWED
        first = next_eligible(component, today=TODAY, birthday=ADULT, history=[], policy=POLICY)
        assert first == TODAY


# 24 platelet donations in 2026, 14 days apart: the 24th on 20 November.
YEAR_OF_24 = platelets_every(date(2026, 1, 2), 24)


def test_the_24th_platelet_donation_is_allowed() -> None:
    assert YEAR_OF_24[-1].on == date(2026, 11, 20)
    assert ask(PLATELETS, today=date(2026, 11, 20), history=YEAR_OF_24[:-1]) == ALLOWED


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        # Both the interval and the cap block; the cap lasts longer.
        (
            date(2026, 12, 3),
            refused(date(2027, 1, 1), Reason.YEARLY_CAP, Reason.INTERVAL, Reason.YEARLY_CAP),
        ),
        # The interval has passed; the cap alone blocks the 25th.
        (date(2026, 12, 4), refused(date(2027, 1, 1), Reason.YEARLY_CAP)),
        (date(2026, 12, 31), refused(date(2027, 1, 1), Reason.YEARLY_CAP)),
        # A new calendar year starts at zero.
        (date(2027, 1, 1), ALLOWED),
    ],
)
def test_the_25th_platelet_donation_waits_for_the_new_year(
    today: date, expected: Eligibility
) -> None:
    assert ask(PLATELETS, today=today, history=YEAR_OF_24) == expected


def test_the_cap_does_not_hold_back_whole_blood() -> None:
    assert ask(WHOLE, today=date(2026, 12, 18), history=YEAR_OF_24) == ALLOWED
    assert ask(WHOLE, today=date(2026, 12, 17), history=YEAR_OF_24) == refused(
        date(2026, 12, 18), Reason.INTERVAL
    )


def test_an_interval_into_the_new_year_outlasts_the_cap() -> None:
    late_year = platelets_every(date(2026, 2, 6), 24)
    assert late_year[-1].on == date(2026, 12, 25)
    assert ask(PLATELETS, today=date(2026, 12, 28), history=late_year) == refused(
        date(2027, 1, 8), Reason.INTERVAL, Reason.INTERVAL, Reason.YEARLY_CAP
    )
    assert ask(PLATELETS, today=date(2027, 1, 7), history=late_year) == refused(
        date(2027, 1, 8), Reason.INTERVAL
    )
    assert ask(PLATELETS, today=date(2027, 1, 8), history=late_year) == ALLOWED


def test_the_cap_counts_the_calendar_year_not_the_last_365_days() -> None:
    # 12 in late 2025 and 11 in early 2026: 23 within 365 days but only 11 this year.
    history = platelets_every(date(2025, 7, 1), 12) + platelets_every(date(2026, 1, 2), 11)
    assert platelet_donations_in(history, 2025) == 12
    assert platelet_donations_in(history, 2026) == 11
    history += [gave(date(2026, 6, 1), WHOLE), gave(date(2026, 6, 2), PLATELETS)]
    # Whole blood and plasma do not count toward the platelet cap.
    assert platelet_donations_in(history, 2026) == 12
    assert ask(PLATELETS, today=date(2026, 9, 1), history=history) == ALLOWED


@pytest.mark.parametrize(
    ("birthday", "repeat", "expected"),
    [
        (date(2008, 11, 30), False, refused(date(2026, 11, 30), Reason.TOO_YOUNG)),  # 17y364d
        (date(2008, 11, 29), False, ALLOWED),  # 18 today
        (date(1970, 11, 30), False, ALLOWED),  # 55, 56 tomorrow
        (date(1970, 11, 29), False, refused(None, Reason.TOO_OLD_FIRST_TIME)),  # 56 today
        (date(1970, 11, 29), True, ALLOWED),  # 56, but a repeat donor
        (date(1965, 11, 30), True, ALLOWED),  # 60, 61 tomorrow
        (date(1965, 11, 29), True, refused(None, Reason.TOO_OLD)),  # 61 today
        (date(1965, 11, 29), False, refused(None, Reason.TOO_OLD)),  # over every limit
        (date(1960, 1, 1), False, refused(None, Reason.TOO_OLD)),
    ],
)
def test_age_limits(birthday: date, repeat: bool, expected: Eligibility) -> None:
    # A donation long enough ago that no interval is left.
    history = [gave(date(2020, 5, 1), WHOLE)] if repeat else []
    assert ask(WHOLE, birthday=birthday, history=history) == expected


@pytest.mark.parametrize(
    ("birthday", "today", "repeat", "expected"),
    [
        # Born on 29 February: a year older on 1 March in common years.
        (date(2008, 2, 29), date(2026, 2, 28), False, refused(date(2026, 3, 1), Reason.TOO_YOUNG)),
        (date(2008, 2, 29), date(2026, 3, 1), False, ALLOWED),
        (date(1964, 2, 29), date(2025, 2, 28), True, ALLOWED),  # still 60
        (date(1964, 2, 29), date(2025, 3, 1), True, refused(None, Reason.TOO_OLD)),  # 61
        # ... and on 29 February itself in leap years.
        (date(1968, 2, 29), date(2024, 2, 28), False, ALLOWED),  # 55
        (date(1968, 2, 29), date(2024, 2, 29), False, refused(None, Reason.TOO_OLD_FIRST_TIME)),
    ],
)
def test_leap_day_birthdays(
    birthday: date, today: date, repeat: bool, expected: Eligibility
) -> None:
    history = [gave(date(2010, 5, 1), WHOLE)] if repeat else []
    assert ask(WHOLE, today=today, birthday=birthday, history=history) == expected


@pytest.mark.parametrize(
    ("birthday", "day", "age"),
    [
        (date(2008, 11, 29), date(2026, 11, 28), 17),
        (date(2008, 11, 29), date(2026, 11, 29), 18),
        (date(2008, 2, 29), date(2026, 2, 28), 17),
        (date(2008, 2, 29), date(2026, 3, 1), 18),
        (date(2008, 2, 29), date(2028, 2, 29), 20),
        (date(2030, 1, 1), date(2026, 11, 29), -4),
    ],
)
def test_age_on(birthday: date, day: date, age: int) -> None:
    assert age_on(birthday, day) == age


def test_anniversary() -> None:
    assert anniversary(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert anniversary(date(2008, 2, 29), 20) == date(2028, 2, 29)
    assert anniversary(date(2008, 11, 29), 18) == date(2026, 11, 29)


def test_a_birthday_in_the_future_is_too_young() -> None:
    assert ask(WHOLE, birthday=date(2027, 1, 1)) == refused(date(2045, 1, 1), Reason.TOO_YOUNG)


def test_unknown_birthday_cannot_be_judged() -> None:
    assert ask(WHOLE, birthday=None) == refused(None, Reason.UNKNOWN_BIRTHDAY)
    recent = [gave(date(2026, 11, 20), PLATELETS)]
    assert ask(PLATELETS, birthday=None, history=recent) == refused(
        None, Reason.UNKNOWN_BIRTHDAY, Reason.UNKNOWN_BIRTHDAY, Reason.INTERVAL
    )
    assert (
        next_eligible(PLATELETS, today=TODAY, birthday=None, history=recent, policy=POLICY) is None
    )


# A repeat donor who turns 61 on 10 December 2026: the last day to give is 9 December.
TURNING_61 = date(1965, 12, 10)


@pytest.mark.parametrize(
    ("history", "component", "expected"),
    [
        # The interval ends before the birthday: wait for it.
        (
            [gave(date(2026, 11, 20), PLATELETS)],
            PLATELETS,
            refused(date(2026, 12, 4), Reason.INTERVAL),
        ),
        # The interval ends on the last day of being 60: still possible.
        (
            [gave(date(2026, 11, 25), PLATELETS)],
            PLATELETS,
            refused(date(2026, 12, 9), Reason.INTERVAL),
        ),
        # One day later and the donor has aged out first: never.
        (
            [gave(date(2026, 11, 26), PLATELETS)],
            PLATELETS,
            refused(None, Reason.TOO_OLD, Reason.TOO_OLD, Reason.INTERVAL),
        ),
        (
            [gave(date(2026, 9, 1), WHOLE)],
            WHOLE,
            refused(None, Reason.TOO_OLD, Reason.TOO_OLD, Reason.INTERVAL),
        ),
    ],
)
def test_an_interval_ending_after_the_age_limit_means_never(
    history: list[Donation], component: Component, expected: Eligibility
) -> None:
    assert ask(component, birthday=TURNING_61, history=history) == expected


def test_too_young_and_interval_take_the_later_date() -> None:
    policy = BloodPolicy(min_age=20)
    born = date(2007, 1, 15)  # 19 on TODAY, 20 on 15 January 2027
    platelets = [gave(date(2026, 11, 20), PLATELETS)]
    assert ask(PLATELETS, birthday=born, history=platelets, policy=policy) == refused(
        date(2027, 1, 15), Reason.TOO_YOUNG, Reason.TOO_YOUNG, Reason.INTERVAL
    )
    whole = [gave(date(2026, 10, 1), WHOLE)]
    assert ask(WHOLE, birthday=born, history=whole, policy=policy) == refused(
        date(2027, 3, 30), Reason.INTERVAL, Reason.TOO_YOUNG, Reason.INTERVAL
    )
    assert next_eligible(WHOLE, today=TODAY, birthday=born, history=whole, policy=policy) == date(
        2027, 3, 30
    )


def test_a_custom_policy_changes_the_answers() -> None:
    policy = BloodPolicy(
        whole_after_whole_days=56,
        platelets_after_whole_days=30,
        platelets_after_platelets_days=7,
        whole_after_platelets_days=3,
        max_platelet_donations_per_year=2,
        min_age=17,
        max_age_first_time=65,
        max_age_repeat=70,
    )
    whole = [gave(date(2026, 10, 4), WHOLE)]
    assert ask(WHOLE, history=whole, policy=policy) == ALLOWED  # 56 days, not 180
    assert ask(WHOLE, today=date(2026, 11, 28), history=whole, policy=policy) == refused(
        date(2026, 11, 29), Reason.INTERVAL
    )
    assert ask(PLATELETS, today=date(2026, 11, 2), history=whole, policy=policy) == refused(
        date(2026, 11, 3), Reason.INTERVAL
    )
    two = [gave(date(2026, 3, 1), PLATELETS), gave(date(2026, 11, 20), PLATELETS)]
    assert ask(PLATELETS, history=two, policy=policy) == refused(
        date(2027, 1, 1), Reason.YEARLY_CAP
    )
    assert ask(PLATELETS, history=two[:1], policy=policy) == ALLOWED
    assert ask(WHOLE, today=date(2026, 11, 22), history=two, policy=policy) == refused(
        date(2026, 11, 23), Reason.INTERVAL
    )
    assert ask(WHOLE, birthday=date(2009, 11, 29), policy=policy) == ALLOWED  # 17
    assert ask(WHOLE, birthday=date(1961, 11, 30), policy=policy) == ALLOWED  # 64, first time
    assert ask(WHOLE, birthday=date(1960, 11, 29), policy=policy) == refused(
        None, Reason.TOO_OLD_FIRST_TIME
    )


def test_a_cap_of_zero_closes_platelets_for_good() -> None:
    policy = BloodPolicy(max_platelet_donations_per_year=0)
    assert ask(PLATELETS, policy=policy) == refused(None, Reason.YEARLY_CAP)
    assert ask(WHOLE, policy=policy) == ALLOWED


# --- recording: a new donation too close to a recorded one, on either side ------------------

NEW_ON = date(2026, 12, 2)


def before(days: int, component: Component) -> Donation:
    """A recorded donation `days` before NEW_ON (after it for a negative number)."""
    return gave(NEW_ON - timedelta(days=days), component)


@pytest.mark.parametrize(
    ("new", "history", "expected"),
    [
        # Platelets on 20 November, whole blood 12 days later: 28 days are needed.
        (
            WHOLE,
            [before(12, PLATELETS)],
            [Conflict(before(12, PLATELETS), 12, 28, later=False)],
        ),
        (WHOLE, [before(28, PLATELETS)], []),
        (WHOLE, [before(27, PLATELETS)], [Conflict(before(27, PLATELETS), 27, 28, False)]),
        # Whole blood after 175 days: 180 are needed; 180 are enough.
        (WHOLE, [before(175, WHOLE)], [Conflict(before(175, WHOLE), 175, 180, False)]),
        (WHOLE, [before(180, WHOLE)], []),
        (PLATELETS, [before(13, PLATELETS)], [Conflict(before(13, PLATELETS), 13, 14, False)]),
        (PLATELETS, [before(14, PLATELETS)], []),
        (PLATELETS, [before(89, WHOLE)], [Conflict(before(89, WHOLE), 89, 90, False)]),
        # Plasma counts as whole blood on both sides.
        (WHOLE, [before(100, PLASMA)], [Conflict(before(100, PLASMA), 100, 180, False)]),
        (PLASMA, [before(27, PLATELETS)], [Conflict(before(27, PLATELETS), 27, 28, False)]),
        # An earlier donation recorded late: the later one must still be far enough ahead.
        (PLATELETS, [before(-20, WHOLE)], [Conflict(before(-20, WHOLE), 20, 28, later=True)]),
        (PLATELETS, [before(-28, WHOLE)], []),
        (WHOLE, [before(-89, PLATELETS)], [Conflict(before(-89, PLATELETS), 89, 90, True)]),
        # Another component on the same day is too close; the same one is the same donation.
        (PLASMA, [before(0, WHOLE)], [Conflict(before(0, WHOLE), 0, 180, False)]),
        (WHOLE, [before(0, WHOLE)], []),
        (PLATELETS, [before(0, PLATELETS)], []),
        # Far enough on both sides.
        (PLATELETS, [before(90, WHOLE), before(-28, WHOLE)], []),
        (WHOLE, [], []),
    ],
)
def test_too_close_looks_both_ways(
    new: Component, history: list[Donation], expected: list[Conflict]
) -> None:
    assert list(too_close(gave(NEW_ON, new), history, POLICY)) == expected


def test_too_close_names_the_nearest_of_each_kind_on_each_side_in_date_order() -> None:
    history = [
        before(20, PLATELETS),
        before(10, PLATELETS),
        before(100, WHOLE),
        before(-5, PLATELETS),
        before(-15, WHOLE),
        before(-20, WHOLE),
    ]
    # Platelets next: 14 days after platelets, 90 after whole blood, 28 before whole blood.
    assert too_close(gave(NEW_ON, PLATELETS), history, POLICY) == (
        Conflict(before(10, PLATELETS), 10, 14, False),
        Conflict(before(-5, PLATELETS), 5, 14, True),
        Conflict(before(-15, WHOLE), 15, 28, True),
    )


def test_too_close_follows_the_policy() -> None:
    custom = BloodPolicy(whole_after_platelets_days=7)
    history = [before(12, PLATELETS)]
    assert too_close(gave(NEW_ON, WHOLE), history, custom) == ()
    strict = BloodPolicy(whole_after_whole_days=365)
    assert too_close(gave(NEW_ON, WHOLE), [before(200, WHOLE)], strict) == (
        Conflict(before(200, WHOLE), 200, 365, False),
    )


@pytest.mark.parametrize(
    ("component", "earlier", "cap", "expected"),
    [
        (Component.PLATELETS, 24, 24, 25),  # the 25th of the year
        (Component.PLATELETS, 23, 24, None),  # the 24th: within
        (Component.PLATELETS, 2, 2, 3),
        (Component.WHOLE_BLOOD, 30, 24, None),  # the cap counts platelets only
    ],
)
def test_platelets_over_the_yearly_cap(
    component: Component, earlier: int, cap: int, expected: int | None
) -> None:
    policy = BloodPolicy(max_platelet_donations_per_year=cap)
    history = [
        Donation(date(2026, 1, 1) + timedelta(days=7 * week), Component.PLATELETS, 1)
        for week in range(earlier)
    ]
    # The year before never counts; the same donation recorded again is not a second one.
    history.append(Donation(date(2025, 12, 30), Component.PLATELETS, 1))
    new = Donation(date(2026, 12, 30), component, 1)
    assert platelets_over_cap(new, [*history, new], policy) == expected
