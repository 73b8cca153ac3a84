"""Pure rules of nominations by quota (推荐与评选): retreats (疗休养) and honours (评先评优).

One engine for every programme of that shape: a round's places shared among units by quota,
dated eligibility that explains itself, a lottery anyone can recompute, and the statuses a
nomination goes through. No Telegram, no database: storage.nominations calls these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

# --- quotas: largest remainder (Hamilton) ------------------------------------------------------


@dataclass(frozen=True)
class Allocation:
    """Places per unit, in the order of the units given; `unassigned` places found nobody.

    Places are unassigned only when there are more places than active officers (each unit then
    gets all its officers) or no officers at all.
    """

    quotas: dict[str, int]
    unassigned: int


def allocate(places: int, officers: Mapping[str, int]) -> Allocation:
    """Share `places` among units in proportion to their active officers (largest remainder).

    Each unit first gets the whole part of places × its officers ÷ all officers; the places left
    go one each to the units with the largest remainders. Ties are broken, in this order, by the
    larger remainder, then the larger unit (more officers), then the unit's name (code point
    order): the same table always gives the same quotas. Exact integer arithmetic: the
    remainders share one denominator, so they compare as integers.

    Edge cases: 0 places gives every unit 0; units with 0 officers get 0; with more places than
    officers each unit gets exactly its officers and the rest is `unassigned`; with no officers
    every place is unassigned.
    """
    if places < 0:
        raise ValueError("places cannot be negative")
    if any(count < 0 for count in officers.values()):
        raise ValueError("a unit cannot have fewer than 0 officers")
    total = sum(officers.values())
    if total == 0:
        return Allocation({unit: 0 for unit in officers}, places)
    if places >= total:
        return Allocation(dict(officers), places - total)
    quotas = {unit: places * count // total for unit, count in officers.items()}
    remainders = {unit: places * count % total for unit, count in officers.items()}
    left = places - sum(quotas.values())
    order = sorted(officers, key=lambda unit: (-remainders[unit], -officers[unit], unit))
    for unit in order[:left]:
        quotas[unit] += 1
    return Allocation(quotas, 0)


class QuotaProblem(StrEnum):
    """Why an edited quota table cannot be used."""

    NEGATIVE = "negative"
    UNKNOWN_UNIT = "unknown_unit"
    OVER_OFFICERS = "over_officers"
    SUM_MISMATCH = "sum_mismatch"


@dataclass(frozen=True)
class QuotaCheck:
    """What is wrong with a quota table: the problem, the unit it is about (if one), and the
    table's sum against the round's places."""

    problem: QuotaProblem
    unit: str = ""
    total: int = 0
    places: int = 0


def quota_problem(
    places: int, quotas: Mapping[str, int], officers: Mapping[str, int]
) -> QuotaCheck | None:
    """None if the table may be used: every unit known, no quota below 0 or above the unit's
    active officers, and the quotas summing to exactly the round's places."""
    for unit, quota in quotas.items():
        if quota < 0:
            return QuotaCheck(QuotaProblem.NEGATIVE, unit)
        if unit not in officers:
            return QuotaCheck(QuotaProblem.UNKNOWN_UNIT, unit)
        if quota > officers[unit]:
            return QuotaCheck(QuotaProblem.OVER_OFFICERS, unit)
    total = sum(quotas.values())
    if total != places:
        return QuotaCheck(QuotaProblem.SUM_MISMATCH, total=total, places=places)
    return None


# --- eligibility, dated ------------------------------------------------------------------------


class Ineligible(StrEnum):
    """Why an officer may not be nominated (bot.texts.NOMINATION_INELIGIBLE words each)."""

    INACTIVE = "inactive"  # left the union (or deceased)
    NEW_TO_ROSTER = "new_to_roster"  # on the roster for less than the policy's years
    RECENT_RETREAT = "recent_retreat"  # on a retreat within the policy's years
    RECENT_HONOUR = "recent_honour"  # given the same title within its years
    EXCLUDED = "excluded"  # an organizer's flag (its reason is for organizers only)


@dataclass(frozen=True)
class Ineligibility:
    """An officer's reason, and the first day it no longer holds (None: not by itself)."""

    reason: Ineligible
    eligible_from: date | None = None


@dataclass(frozen=True)
class Record:
    """What eligibility looks at of one officer.

    `retreats` are the first days of their retreats (past and planned); `honours` are (title
    key, year) pairs from the honours register; `excluded_titles` the titles an organizer
    flagged them out of ("" flags every title).
    """

    active: bool = True
    on_roster_since: date | None = None
    retreats: Sequence[date] = ()
    honours: Sequence[tuple[str, int]] = ()
    excluded_titles: frozenset[str] = frozenset()


def years_after(day: date, years: int) -> date:
    """The same day `years` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def retreat_eligibility(
    record: Record, *, on: date, retreat_years: int, roster_years: int
) -> Ineligibility | None:
    """None if the officer may go on a retreat nominated on `on`.

    Refused, in this order: not active; on the roster for less than `roster_years` (eligible
    from the anniversary; an unknown joining day counts as long enough); a retreat starting
    less than `retreat_years` before `on`, or planned after it (eligible from that retreat's
    anniversary).
    """
    if not record.active:
        return Ineligibility(Ineligible.INACTIVE)
    if record.on_roster_since is not None:
        since = years_after(record.on_roster_since, roster_years)
        if since > on:
            return Ineligibility(Ineligible.NEW_TO_ROSTER, since)
    blocking = [years_after(day, retreat_years) for day in record.retreats]
    blocking = [day for day in blocking if day > on]
    if blocking:
        return Ineligibility(Ineligible.RECENT_RETREAT, max(blocking))
    return None


def honour_eligibility(record: Record, title: str, *, on: date, years: int) -> Ineligibility | None:
    """None if the officer may be nominated on `on` for the title.

    Refused, in this order: not active; flagged out by an organizer (for this title or every
    title); given the same title in a year less than `years` before `on`'s year, or later
    (eligible from 1 January of the year `years` after the last award; `years` 0: never
    refused for it).
    """
    if not record.active:
        return Ineligibility(Ineligible.INACTIVE)
    if title in record.excluded_titles or "" in record.excluded_titles:
        return Ineligibility(Ineligible.EXCLUDED)
    if years > 0:
        awarded = [year for key, year in record.honours if key == title]
        if awarded and on.year < max(awarded) + years:
            return Ineligibility(Ineligible.RECENT_HONOUR, date(max(awarded) + years, 1, 1))
    return None


@dataclass(frozen=True)
class Terms:
    """The policy's figures for nominations (bot.policy.NominationPolicy.terms)."""

    retreat_years: int = 3
    roster_years: int = 1
    publicity_days: int = 5
    daily_allowance_cap: int = 500
    retreat_max_days: int = 5
    objection_max_chars: int = 1000
    honour_reason_max_chars: int = 500
    # Each honour title's key and its years (not given again within them).
    title_years: Mapping[str, int] = field(default_factory=dict)


def eligibility(
    record: Record, terms: Terms, *, on: date, title: str | None
) -> Ineligibility | None:
    """None if eligible on `on`: for a retreat (`title` None) or for the honour `title`."""
    if title is None:
        return retreat_eligibility(
            record, on=on, retreat_years=terms.retreat_years, roster_years=terms.roster_years
        )
    return honour_eligibility(record, title, on=on, years=terms.title_years.get(title, 0))


# --- the lottery -------------------------------------------------------------------------------


def lottery_key(seed: str, police_id: str) -> str:
    """An applicant's ticket: the SHA-256 hex digest of "seed:police_id" in UTF-8."""
    return hashlib.sha256(f"{seed}:{police_id}".encode()).hexdigest()


def lottery_order(seed: str, police_ids: Iterable[str]) -> list[str]:
    """Every applicant (each once) ranked by ticket, smallest first.

    Anyone can recompute it from the seed and the list of police IDs with any SHA-256 tool:
    sort the applicants by sha256("seed:police_id"); equal tickets (never seen in practice)
    fall back to the police ID. The order the applicants are given in does not matter, and
    nothing depends on Python's random generator.
    """
    unique = sorted(set(police_ids))
    return sorted(unique, key=lambda police_id: (lottery_key(seed, police_id), police_id))


def draw(seed: str, police_ids: Iterable[str], places: int) -> list[str]:
    """The first `places` applicants of the lottery order (all of them if fewer)."""
    if places < 0:
        raise ValueError("places cannot be negative")
    return lottery_order(seed, police_ids)[:places]


# --- a nomination's statuses -------------------------------------------------------------------


class NominationStatus(StrEnum):
    """Where one officer stands in one round.

    applied → nominated (the contact chose them, or the lottery did) or unselected;
    nominated → confirmed (retreats: with a batch) or declined; confirmed → approved or
    returned (with a reason); approved → published (the publicity list); published ⇄ objected
    (kept) or removed; published → final. A nominee may decline at any step before final; the
    contact may withdraw a nomination not yet approved; an applicant may withdraw.
    """

    APPLIED = "applied"
    NOMINATED = "nominated"
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    APPROVED = "approved"
    RETURNED = "returned"
    PUBLISHED = "published"
    OBJECTED = "objected"
    FINAL = "final"
    REMOVED = "removed"
    UNSELECTED = "unselected"
    WITHDRAWN = "withdrawn"


S = NominationStatus

TRANSITIONS: dict[NominationStatus, frozenset[NominationStatus]] = {
    S.APPLIED: frozenset({S.NOMINATED, S.UNSELECTED, S.WITHDRAWN}),
    S.NOMINATED: frozenset({S.CONFIRMED, S.DECLINED, S.WITHDRAWN}),
    S.CONFIRMED: frozenset({S.APPROVED, S.RETURNED, S.DECLINED, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.PUBLISHED, S.DECLINED}),
    S.PUBLISHED: frozenset({S.OBJECTED, S.FINAL, S.DECLINED}),
    S.OBJECTED: frozenset({S.PUBLISHED, S.REMOVED, S.DECLINED}),
    # A returned nomination may be put forward again (a better reason, quota permitting); an
    # unselected applicant may take a place a decline gave back; a withdrawn one start over.
    S.RETURNED: frozenset({S.NOMINATED}),
    S.UNSELECTED: frozenset({S.NOMINATED}),
    S.WITHDRAWN: frozenset({S.NOMINATED, S.APPLIED}),
    S.DECLINED: frozenset(),
    S.FINAL: frozenset(),
    S.REMOVED: frozenset(),
}

# The statuses that hold one of the unit's places (a decline, return, removal or withdrawal
# gives it back; an application waits for one).
HOLDS_PLACE: frozenset[NominationStatus] = frozenset(
    {S.NOMINATED, S.CONFIRMED, S.APPROVED, S.PUBLISHED, S.OBJECTED, S.FINAL}
)
# The statuses that hold a place on a retreat batch (the nominee chose it when confirming).
HOLDS_BATCH: frozenset[NominationStatus] = frozenset(
    {S.CONFIRMED, S.APPROVED, S.PUBLISHED, S.OBJECTED, S.FINAL}
)
# A nominee may decline from these.
DECLINABLE: frozenset[NominationStatus] = frozenset(
    status for status, targets in TRANSITIONS.items() if S.DECLINED in targets
)


def can_move(current: str, target: NominationStatus) -> bool:
    """True if a nomination in `current` may go to `target` (an unknown status may not)."""
    try:
        return target in TRANSITIONS[NominationStatus(current)]
    except ValueError:
        return False


def allowance(days: int, per_day: int) -> int:
    """A retreat's allowance for one person: days × the round's daily allowance (yuan)."""
    return max(days, 0) * max(per_day, 0)


def batch_days(first: date, last: date) -> int:
    """Days of a batch, both ends counted (travel days included)."""
    return (last - first).days + 1
