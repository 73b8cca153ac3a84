"""Pure rules of blood donation (无偿献血): may an officer give now and, if not, from which date.

The numbers come from the policy file (`[blood]`); the seed values are mainland China's donor
standard (GB 18467-2011, 献血者健康检查要求). The blood station's own check on the day stays
the final word: these rules only keep the bot from inviting officers the station must turn away.

Decisions, each tested in tests/test_blood_rules.py:

- Intervals are "no sooner than N days after": after a donation on day D the next is allowed
  on D + N (a gap of exactly N days), refused on D + N - 1. Only the latest donation of each
  kind matters, because the gap depends only on the two kinds.
- The platelet cap ("at most 24 a year", 不大于24次/年) counts platelet donations per calendar
  year, as blood stations' donor records do; once the year's count reaches the cap the next
  platelet donation is allowed from 1 January.
- Ages are full years (周岁). Someone born on 29 February turns a year older on 1 March in a
  common year. The limits are inclusive: a donor may give from the 18th birthday until the
  day before the 56th (first time) or the 61st (repeat donors) birthday.
- A repeat donor is one with any donation on or before the day asked about. The standard adds
  "with no earlier adverse reaction"; the bot does not record reactions, so the station decides.
- Donations dated after the day asked about have not happened yet on that day and are ignored,
  so the same history answers "as of" any date.
- Recording a donation (`too_close`) looks both ways: the donations before it must be far
  enough behind, and the ones after it (a donation recorded late) far enough ahead. Only the
  nearest donation of each kind on each side is named; the same day and component is the same
  donation (a duplicate, not a conflict). Another component on the same day is a conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.policy import BloodPolicy


class Component(StrEnum):
    """What an officer gives."""

    WHOLE_BLOOD = "whole_blood"
    PLATELETS = "platelets"
    # GB 18467-2011 sets no interval of its own for plasma given at a blood station (the 14-day
    # rule of 单采血浆站 is for paid plasma for fractionation, a different regime), and the
    # policy file has no plasma fields. Plasma therefore counts as whole blood both before and
    # after: the longest intervals, so the bot never invites someone too early.
    PLASMA = "plasma"


class Reason(StrEnum):
    """Why an officer may not give (yet)."""

    UNKNOWN_BIRTHDAY = "unknown_birthday"
    TOO_YOUNG = "too_young"
    TOO_OLD = "too_old"
    TOO_OLD_FIRST_TIME = "too_old_first_time"
    INTERVAL = "interval"
    YEARLY_CAP = "yearly_cap"


@dataclass(frozen=True)
class Donation:
    """One past donation: the day, what was given and how much.

    `amount` is millilitres for whole blood and plasma, therapeutic doses (治疗量) for platelets.
    It is kept for the record; GB 18467-2011's intervals do not depend on it.
    """

    on: date
    component: Component
    amount: int


@dataclass(frozen=True)
class Eligibility:
    """The answer for one component.

    `may_give` is True only when every rule is satisfied today; `from_date` and `reason` are then
    None and `reasons` empty. Otherwise `from_date` is the
    first day on which all of them are (None when that day never comes or cannot be known),
    `reason` is the rule that decides that day (or makes it never), and `reasons` lists every
    rule standing in the way, in the order of the Reason enum.
    """

    may_give: bool
    from_date: date | None
    reason: Reason | None
    reasons: tuple[Reason, ...] = ()


def _as_interval_kind(component: Component) -> Component:
    """The kind whose intervals apply: plasma follows whole blood (see Component.PLASMA)."""
    return Component.WHOLE_BLOOD if component == Component.PLASMA else Component(component)


def interval_days(before: Component, after: Component, policy: BloodPolicy) -> int:
    """Days that must pass after giving `before` until `after` may be given."""
    table = {
        (Component.WHOLE_BLOOD, Component.WHOLE_BLOOD): policy.whole_after_whole_days,
        (Component.WHOLE_BLOOD, Component.PLATELETS): policy.platelets_after_whole_days,
        (Component.PLATELETS, Component.PLATELETS): policy.platelets_after_platelets_days,
        (Component.PLATELETS, Component.WHOLE_BLOOD): policy.whole_after_platelets_days,
    }
    return table[(_as_interval_kind(before), _as_interval_kind(after))]


def anniversary(birthday: date, years: int) -> date:
    """The day someone born on `birthday` turns `years` old; 29 February falls on 1 March."""
    try:
        return birthday.replace(year=birthday.year + years)
    except ValueError:  # 29 February in a common year
        return date(birthday.year + years, 3, 1)


def age_on(birthday: date, day: date) -> int:
    """Full years (周岁) on `day`; negative for a birthday after `day`."""
    before_birthday = (day.month, day.day) < (birthday.month, birthday.day)
    return day.year - birthday.year - before_birthday


def platelet_donations_in(history: Sequence[Donation], year: int) -> int:
    """How many platelet donations the history holds in a calendar year."""
    return sum(1 for d in history if d.component == Component.PLATELETS and d.on.year == year)


def _interval_ready(component: Component, past: Sequence[Donation], policy: BloodPolicy) -> date:
    """The first day every interval since the latest donation of each kind has passed."""
    ready = date.min
    for kind in (Component.WHOLE_BLOOD, Component.PLATELETS):
        days = [d.on for d in past if _as_interval_kind(d.component) == kind]
        if days:
            ready = max(ready, max(days) + timedelta(days=interval_days(kind, component, policy)))
    return ready


def eligibility(
    component: Component,
    *,
    today: date,
    birthday: date | None,
    history: Sequence[Donation],
    policy: BloodPolicy,
) -> Eligibility:
    """May the officer give `component` on `today`, and if not, from which date."""
    past = [d for d in history if d.on <= today]
    repeat = bool(past)

    # Rules that lift on a date of their own: each maps to the first day it is satisfied.
    ready: dict[Reason, date] = {}
    interval_from = _interval_ready(component, past, policy)
    if interval_from > today:
        ready[Reason.INTERVAL] = interval_from
    never_cap = False
    if _as_interval_kind(component) == Component.PLATELETS:
        cap = policy.max_platelet_donations_per_year
        if cap <= 0:
            never_cap = True
        elif platelet_donations_in(past, today.year) >= cap:
            # Nothing in `past` lies after today, so the next calendar year starts at zero.
            ready[Reason.YEARLY_CAP] = date(today.year + 1, 1, 1)

    if birthday is None:
        # Age cannot be judged, so no date can be promised; still name the other blocks.
        others = [*ready, *([Reason.YEARLY_CAP] if never_cap else [])]
        return _refused(None, Reason.UNKNOWN_BIRTHDAY, [Reason.UNKNOWN_BIRTHDAY, *others])

    age = age_on(birthday, today)
    if age > policy.max_age_repeat:
        return _refused(None, Reason.TOO_OLD, [Reason.TOO_OLD, *ready])
    if not repeat and age > policy.max_age_first_time:
        return _refused(None, Reason.TOO_OLD_FIRST_TIME, [Reason.TOO_OLD_FIRST_TIME, *ready])
    if never_cap:
        return _refused(None, Reason.YEARLY_CAP, [Reason.YEARLY_CAP, *ready])
    if age < policy.min_age:
        ready[Reason.TOO_YOUNG] = anniversary(birthday, policy.min_age)

    if not ready:
        return Eligibility(may_give=True, from_date=None, reason=None)

    from_date = max(ready.values())
    # Ties go to the reason listed first in the enum, so the answer does not depend on order.
    deciding = min((r for r, d in ready.items() if d == from_date), key=_order)
    # The officer must still be young enough on that day. A first-time donor stays one until
    # then (nothing else can be given either: only age blocks them); a repeat donor stays one.
    limit = policy.max_age_repeat if repeat else policy.max_age_first_time
    last_day = anniversary(birthday, limit + 1) - timedelta(days=1)
    if from_date > last_day:
        too_old = Reason.TOO_OLD if repeat else Reason.TOO_OLD_FIRST_TIME
        return _refused(None, too_old, [too_old, *ready])
    return _refused(from_date, deciding, list(ready))


def next_eligible(
    component: Component,
    *,
    today: date,
    birthday: date | None,
    history: Sequence[Donation],
    policy: BloodPolicy,
) -> date | None:
    """The first day from `today` on which the officer may give, or None if never or unknown."""
    answer = eligibility(component, today=today, birthday=birthday, history=history, policy=policy)
    return today if answer.may_give else answer.from_date


@dataclass(frozen=True)
class Conflict:
    """A donation being recorded lies inside a policy interval of another one.

    `other` is the recorded donation, `gap` the days between the two, `required` the days the
    policy wants between them, and `later` True when `other` comes after the new one.
    """

    other: Donation
    gap: int
    required: int
    later: bool


def too_close(
    new: Donation, history: Sequence[Donation], policy: BloodPolicy
) -> tuple[Conflict, ...]:
    """The recorded donations the new one is too close to, the nearest of each kind and side,
    in date order; empty when the intervals hold on both sides."""
    nearest: dict[tuple[bool, Component], Conflict] = {}
    for other in history:
        if other.on == new.on and other.component == new.component:
            continue  # the same donation recorded again
        later = other.on > new.on
        first, then = (new, other) if later else (other, new)
        required = interval_days(first.component, then.component, policy)
        gap = (then.on - first.on).days
        if gap >= required:
            continue
        side = (later, _as_interval_kind(other.component))
        found = nearest.get(side)
        if found is None or gap < found.gap:
            nearest[side] = Conflict(other, gap, required, later)
    return tuple(sorted(nearest.values(), key=lambda c: (c.other.on, c.later)))


def platelets_over_cap(
    new: Donation, history: Sequence[Donation], policy: BloodPolicy
) -> int | None:
    """How many platelet donations the new one's calendar year would hold with it, when that
    passes the yearly cap; None while within it (or for another component)."""
    if _as_interval_kind(new.component) != Component.PLATELETS:
        return None
    others = [d for d in history if not (d.on == new.on and d.component == new.component)]
    count = platelet_donations_in(others, new.on.year) + 1
    return count if count > policy.max_platelet_donations_per_year else None


_REASON_ORDER = {reason: index for index, reason in enumerate(Reason)}


def _order(reason: Reason) -> int:
    """Position of a reason in the enum, for stable ordering."""
    return _REASON_ORDER[reason]


def _refused(from_date: date | None, reason: Reason, reasons: list[Reason]) -> Eligibility:
    """A refusal with its reasons deduplicated and in enum order."""
    return Eligibility(
        may_give=False,
        from_date=from_date,
        reason=reason,
        reasons=tuple(sorted(set(reasons), key=_order)),
    )
