"""Capacity rules: who gets a place, who moves up from the waitlist, how many places an officer
may hold, until when a place may be given up, and which no-shows count.

Pure functions over values, no Telegram and no session: storage.capacity reads the counts inside
the locked transaction of the drive, event or slot (the "parent") and asks these. Nothing here
knows what the parent is: its places, caps, deadlines and limits come as values (`Terms`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

# An entry's states, as storage.models.SignupState spells them.
SIGNED = "signed"
WAITLISTED = "waitlisted"
CANCELLED = "cancelled"


class Outcome(StrEnum):
    """What a sign-up did, or why it did nothing (and why a cancellation did nothing)."""

    SIGNED = "signed"
    WAITLISTED = "waitlisted"
    ALREADY_SIGNED = "already_signed"
    ALREADY_WAITLISTED = "already_waitlisted"
    FULL = "full"  # no place and the parent keeps no waitlist
    LIMIT = "limit"  # the officer holds as many places as the limits allow
    DEADLINE = "deadline"  # sign-ups (or cancellations) closed
    CLOSED = "closed"  # cancelled, started, or no such parent


@dataclass(frozen=True)
class Places:
    """How many may take part: in all, per group (e.g. gender: {"M": 20}), and if others wait.

    A group without a cap (or an entry without a group) is held by the capacity only.
    """

    capacity: int
    caps: Mapping[str, int] = field(default_factory=dict)
    waitlist: bool = True


@dataclass(frozen=True)
class Tally:
    """Who holds a place (in all and per group) and how many wait, on one parent."""

    signed: int = 0
    waitlisted: int = 0
    signed_by_group: Mapping[str, int] = field(default_factory=dict)

    def in_group(self, group: str | None) -> int:
        """Places held by this group."""
        return 0 if group is None else self.signed_by_group.get(group, 0)

    def plus(self, group: str | None) -> Tally:
        """The tally once one more of this group holds a place."""
        by_group = dict(self.signed_by_group)
        if group is not None:
            by_group[group] = by_group.get(group, 0) + 1
        return Tally(self.signed + 1, self.waitlisted, by_group)


def has_place(places: Places, tally: Tally, group: str | None) -> bool:
    """True if one more of this group fits: the capacity and, if it has one, the group's cap."""
    if tally.signed >= places.capacity:
        return False
    cap = None if group is None else places.caps.get(group)
    return cap is None or tally.in_group(group) < cap


def places_left(places: Places, tally: Tally) -> int:
    """Places still free in all (never negative)."""
    return max(0, places.capacity - tally.signed)


def group_left(places: Places, tally: Tally, group: str) -> int | None:
    """Places still free for a capped group (never negative), else None."""
    cap = places.caps.get(group)
    if cap is None:
        return None
    return max(0, min(cap - tally.in_group(group), places_left(places, tally)))


def holds(places: Places, tally: Tally) -> bool:
    """True if everyone holding a place still has one under these places (an edit's check)."""
    if tally.signed > places.capacity:
        return False
    return all(tally.in_group(group) <= cap for group, cap in places.caps.items())


# --- signing up and giving up ------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """The calendar week, Monday to Sunday, in a zone."""

    zone: ZoneInfo


@dataclass(frozen=True)
class PerPeriod:
    """At most `count` places per period: a calendar week, or a span (`timedelta`): then no more
    than `count` places starting less than the span before or after one another."""

    count: int
    every: timedelta | Week


@dataclass(frozen=True)
class Limits:
    """What one officer may hold at once (`open_at_most` places not yet begun) and per period.

    Both count places held and places on a waitlist, of parents that are not cancelled.
    """

    open_at_most: int | None = None
    per_period: PerPeriod | None = None


@dataclass(frozen=True)
class Terms:
    """What a parent offers, read under its lock.

    `join_until` and `cancel_until` close sign-ups and cancellations before the start (None:
    only the start closes them). `requires` names officer flags (storage.models.Officer) that
    someone waiting must still have to move up, besides being active (e.g. "single_opt_in").
    """

    open: bool
    starts_at: datetime
    places: Places
    join_until: datetime | None = None
    cancel_until: datetime | None = None
    limits: Limits | None = None
    requires: tuple[str, ...] = ()


def _refusal(terms: Terms, until: datetime | None, now: datetime) -> Outcome | None:
    if not terms.open or terms.starts_at <= now:
        return Outcome.CLOSED
    if until is not None and until <= now:
        return Outcome.DEADLINE
    return None


def join_refusal(terms: Terms, now: datetime) -> Outcome | None:
    """Why nobody may sign up now (CLOSED, DEADLINE); None while sign-ups are open."""
    return _refusal(terms, terms.join_until, now)


def cancel_refusal(terms: Terms, now: datetime, *, deadline: bool = True) -> Outcome | None:
    """Why nobody may give up a place now (CLOSED, DEADLINE); None while they may.

    `deadline=False` lets a place go after the cancellation deadline (the officer is no longer
    in the audience); a parent that began or was cancelled is still CLOSED.
    """
    return _refusal(terms, terms.cancel_until if deadline else None, now)


def may_cancel(deadline: datetime | None, now: datetime) -> bool:
    """True if a place may still be given up: before the deadline, if there is one."""
    return deadline is None or now < deadline


def decide_join(
    current: str | None, *, fits: bool, waitlist: bool, within_limits: bool = True
) -> Outcome:
    """What a sign-up does, given the officer's current state there (None or cancelled: none),
    whether they fit now, whether the parent keeps a waitlist and whether their limits allow."""
    if current == SIGNED:
        return Outcome.ALREADY_SIGNED
    if current == WAITLISTED:
        return Outcome.ALREADY_WAITLISTED
    if not within_limits:
        return Outcome.LIMIT
    if fits:
        return Outcome.SIGNED
    return Outcome.WAITLISTED if waitlist else Outcome.FULL


# --- per-officer limits ----------------------------------------------------------------------


def same_period(every: timedelta | Week, first: datetime, second: datetime) -> bool:
    """True if two starts fall in one period: the same calendar week in the zone, or less than
    the span apart."""
    if isinstance(every, Week):
        return (
            first.astimezone(every.zone).isocalendar()[:2]
            == second.astimezone(every.zone).isocalendar()[:2]
        )
    return abs(first - second) < every


def reach(limits: Limits) -> timedelta | None:
    """How far from a start another start can lie and still share its period (for a query)."""
    if limits.per_period is None:
        return None
    every = limits.per_period.every
    return timedelta(days=7) if isinstance(every, Week) else every


def within_limits(
    limits: Limits | None, starts_at: datetime, others: Sequence[datetime], now: datetime
) -> bool:
    """True if the officer may take one more place starting at `starts_at`.

    `others` are the starts of the places they hold or wait for elsewhere (parents not
    cancelled); those not begun by `now` are open.
    """
    if limits is None:
        return True
    if limits.open_at_most is not None:
        held = sum(1 for start in others if start > now)
        if held >= limits.open_at_most:
            return False
    period = limits.per_period
    if period is None:
        return True
    return sum(1 for start in others if same_period(period.every, start, starts_at)) < period.count


# --- the waitlist ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """Someone on the waitlist: their group, and whether they may still come at all."""

    officer_id: int
    group: str | None = None
    active: bool = True
    eligible: bool = True  # has every flag the terms require


def to_promote(
    waiting: Sequence[Candidate], places: Places, tally: Tally, *, at_most: int | None = None
) -> list[Candidate]:
    """Who moves up, given the waitlist in order of joining: the earliest who is active,
    eligible and fits, again and again while places are free.

    Those skipped (inactive, no longer eligible, or their group's cap is full) keep their place
    in line.
    """
    chosen: list[Candidate] = []
    for candidate in waiting:
        if at_most is not None and len(chosen) >= at_most:
            break
        if not (candidate.active and candidate.eligible):
            continue
        if has_place(places, tally, candidate.group):
            chosen.append(candidate)
            tally = tally.plus(candidate.group)
    return chosen


# --- attendance ------------------------------------------------------------------------------


def no_show_since(now: datetime, window: timedelta | None) -> datetime | None:
    """From when no-shows count: `window` back from now; None (always) without a window."""
    return None if window is None else now - window
