"""The capacity engine: its pure rules (bot/rules/capacity.py) and its storage (storage/capacity.py)
as tables of operations and outcomes, on SQLite and PostgreSQL; a two-thread race for the last
place; and the two ways drives used to differ from events (promotion of an officer who left,
reminders in a hard-coded zone)."""

from __future__ import annotations

import dataclasses
import inspect
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlmodel import col, select

from bot.app import build_application
from bot.jobs import drives as drive_jobs
from bot.policy import load_policy
from bot.rules import capacity as rules
from bot.rules.capacity import (
    Candidate,
    Limits,
    Outcome,
    PerPeriod,
    Places,
    Tally,
    Terms,
    Week,
)
from bot.settings import Settings
from storage import capacity as engine
from storage import drives as drive_storage
from storage import events as event_storage
from storage import ledger
from storage.capacity import SignupTable
from storage.db import Database
from storage.models import Broadcast, Delivery, Event, EventStatus, Officer, SendLedger
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, add_officer
from tests.racing import racing

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")


def _at(
    year: int, month: int, day: int, hour: int, minute: int, *, zone: ZoneInfo = SHANGHAI
) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone).astimezone(UTC)


# --- the rules -------------------------------------------------------------------------------

CAPPED = Places(3, {"M": 1, "F": 2})


@pytest.mark.parametrize(
    ("places", "tally", "group", "fits"),
    [
        (Places(2), Tally(1), None, True),
        (Places(2), Tally(2), None, False),
        (Places(2), Tally(3), "M", False),  # over capacity after an edit
        (CAPPED, Tally(1, signed_by_group={"M": 1}), "M", False),  # the men's cap is full
        (CAPPED, Tally(1, signed_by_group={"M": 1}), "F", True),
        (CAPPED, Tally(1, signed_by_group={"M": 1}), None, True),  # no group: capacity only
        (CAPPED, Tally(1, signed_by_group={"M": 1}), "X", True),  # an uncapped group
        (CAPPED, Tally(2, signed_by_group={"F": 2}), "F", False),
        (CAPPED, Tally(3, signed_by_group={"M": 1, "F": 2}), "F", False),
        (Places(0), Tally(), None, False),
    ],
)
def test_has_place(places: Places, tally: Tally, group: str | None, fits: bool) -> None:
    assert rules.has_place(places, tally, group) is fits


@pytest.mark.parametrize(
    ("places", "tally", "left", "men_left", "women_left", "holds"),
    [
        (CAPPED, Tally(0), 3, 1, 2, True),
        (CAPPED, Tally(2, signed_by_group={"F": 2}), 1, 1, 0, True),
        (CAPPED, Tally(3, signed_by_group={"M": 2, "F": 1}), 0, 0, 0, False),  # men over cap
        (Places(2), Tally(3), 0, None, None, False),  # more signed than places
        (Places(2, {"F": 5}), Tally(1, signed_by_group={"F": 1}), 1, None, 1, True),
    ],
)
def test_places_left_per_group_and_whether_an_edit_holds(
    places: Places,
    tally: Tally,
    left: int,
    men_left: int | None,
    women_left: int | None,
    holds: bool,
) -> None:
    assert rules.places_left(places, tally) == left
    assert (rules.group_left(places, tally, "M"), rules.group_left(places, tally, "F")) == (
        men_left,
        women_left,
    )
    assert rules.holds(places, tally) is holds


@pytest.mark.parametrize(
    ("current", "fits", "waitlist", "within", "outcome"),
    [
        (None, True, True, True, Outcome.SIGNED),
        ("cancelled", True, True, True, Outcome.SIGNED),
        (None, False, True, True, Outcome.WAITLISTED),
        (None, False, False, True, Outcome.FULL),
        (None, True, True, False, Outcome.LIMIT),
        (None, False, False, False, Outcome.LIMIT),
        ("signed", True, True, False, Outcome.ALREADY_SIGNED),
        ("waitlisted", True, True, True, Outcome.ALREADY_WAITLISTED),
    ],
)
def test_what_a_sign_up_does(
    current: str | None, fits: bool, waitlist: bool, within: bool, outcome: Outcome
) -> None:
    assert rules.decide_join(current, fits=fits, waitlist=waitlist, within_limits=within) is outcome


NOW = datetime(2030, 6, 1, 0, 0, tzinfo=UTC)
START = _at(2030, 6, 3, 10, 0)  # a Monday, 10:00 in Shanghai


@pytest.mark.parametrize(
    ("terms", "now", "join", "cancel", "cancel_late"),
    [
        (Terms(True, START, Places(1)), NOW, None, None, None),
        (Terms(False, START, Places(1)), NOW, Outcome.CLOSED, Outcome.CLOSED, Outcome.CLOSED),
        (Terms(True, START, Places(1)), START, Outcome.CLOSED, Outcome.CLOSED, Outcome.CLOSED),
        # Both deadlines passed (an event's sign-up deadline closes both).
        (
            Terms(True, START, Places(1), join_until=NOW, cancel_until=NOW),
            NOW,
            Outcome.DEADLINE,
            Outcome.DEADLINE,
            None,
        ),
        # Cancellations close a day before the start, sign-ups stay open until it.
        (
            Terms(True, START, Places(1), cancel_until=START - timedelta(days=1)),
            START - timedelta(hours=2),
            None,
            Outcome.DEADLINE,
            None,
        ),
        (
            Terms(True, START, Places(1), cancel_until=START - timedelta(days=1)),
            START - timedelta(days=1, seconds=1),
            None,
            None,
            None,
        ),
    ],
)
def test_when_sign_ups_and_cancellations_close(
    terms: Terms,
    now: datetime,
    join: Outcome | None,
    cancel: Outcome | None,
    cancel_late: Outcome | None,
) -> None:
    assert rules.join_refusal(terms, now) is join
    assert rules.cancel_refusal(terms, now) is cancel
    # Without the deadline (the officer left the audience): only a closed parent refuses.
    assert rules.cancel_refusal(terms, now, deadline=False) is cancel_late
    assert rules.may_cancel(terms.cancel_until, now) is (
        terms.cancel_until is None or now < terms.cancel_until
    )


def _waiting(*specs: str) -> list[Candidate]:
    """ "1M" is officer 1, a man; "2F-" a woman who left; "3?" someone no longer eligible."""
    return [
        Candidate(
            int(spec[0]),
            spec[1] if spec[1] in "MF" else None,
            active="-" not in spec,
            eligible="?" not in spec,
        )
        for spec in specs
    ]


@pytest.mark.parametrize(
    ("places", "tally", "waiting", "at_most", "promoted"),
    [
        (Places(2), Tally(1), _waiting("1.", "2."), 1, [1]),
        (Places(2), Tally(1), _waiting("1.-", "2."), 1, [2]),  # skips one who left
        (Places(2), Tally(1), _waiting("1.?", "2."), 1, [2]),  # skips one no longer eligible
        (Places(2), Tally(1), _waiting("1.-", "2.?"), 1, []),  # nobody may come: none
        (Places(2), Tally(2), _waiting("1.", "2."), 1, []),  # no place free
        (Places(4), Tally(1), _waiting("1.", "2.-", "3.", "4."), None, [1, 3, 4]),
        (Places(4), Tally(1), _waiting("1.", "2.", "3.", "4."), None, [1, 2, 3]),
        # The men's cap is full: the first woman in line moves up, the men keep their places.
        (
            Places(3, {"M": 1}),
            Tally(2, signed_by_group={"M": 1}),
            _waiting("1M", "2M", "3F", "4F"),
            None,
            [3],
        ),
        # Places for one man and one woman: one each, in line order.
        (
            Places(4, {"M": 2, "F": 2}),
            Tally(2, signed_by_group={"M": 1, "F": 1}),
            _waiting("1M", "2M", "3F", "4F"),
            None,
            [1, 3],
        ),
        (Places(3), Tally(0), _waiting(), None, []),
    ],
)
def test_who_moves_up(
    places: Places,
    tally: Tally,
    waiting: list[Candidate],
    at_most: int | None,
    promoted: list[int],
) -> None:
    chosen = rules.to_promote(waiting, places, tally, at_most=at_most)
    assert [candidate.officer_id for candidate in chosen] == promoted


WEEKLY = PerPeriod(1, Week(SHANGHAI))
SUNDAY_NIGHT = _at(2030, 6, 9, 23, 30)  # 15:30 UTC
MONDAY_EARLY = _at(2030, 6, 10, 0, 30)  # 16:30 UTC the same UTC day, but the next week


@pytest.mark.parametrize(
    ("limits", "starts_at", "others", "now", "allowed"),
    [
        (None, START, [START] * 9, NOW, True),
        (Limits(), START, [START] * 9, NOW, True),
        (Limits(open_at_most=2), START, [START + timedelta(days=1)], NOW, True),
        (Limits(open_at_most=2), START, [START, START + timedelta(days=1)], NOW, False),
        # Places that have begun are no longer open.
        (Limits(open_at_most=1), START, [NOW - timedelta(days=1)], NOW, True),
        (Limits(per_period=WEEKLY), START, [SUNDAY_NIGHT], NOW, False),
        (Limits(per_period=WEEKLY), MONDAY_EARLY, [SUNDAY_NIGHT], NOW, True),
        (Limits(per_period=WEEKLY), MONDAY_EARLY, [START], NOW, True),
        (Limits(per_period=PerPeriod(2, Week(SHANGHAI))), START, [SUNDAY_NIGHT], NOW, True),
        (
            Limits(per_period=PerPeriod(1, Week(ZoneInfo("UTC")))),
            MONDAY_EARLY,
            [SUNDAY_NIGHT],
            NOW,
            False,
        ),
        # A span: another start less than 7 days away counts, 7 days exactly does not.
        (
            Limits(per_period=PerPeriod(1, timedelta(days=7))),
            START,
            [START + timedelta(days=7)],
            NOW,
            True,
        ),
        (
            Limits(per_period=PerPeriod(1, timedelta(days=7))),
            START,
            [START - timedelta(days=6)],
            NOW,
            False,
        ),
        (
            Limits(open_at_most=5, per_period=PerPeriod(1, timedelta(days=1))),
            START,
            [START + timedelta(hours=3)],
            NOW,
            False,
        ),
    ],
)
def test_limits_per_officer(
    limits: Limits | None,
    starts_at: datetime,
    others: list[datetime],
    now: datetime,
    allowed: bool,
) -> None:
    assert rules.within_limits(limits, starts_at, others, now) is allowed


def test_the_no_show_window() -> None:
    assert rules.no_show_since(NOW, None) is None
    assert rules.no_show_since(NOW, timedelta(days=180)) == NOW - timedelta(days=180)


# --- the engine, as tables of operations -----------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """A scenario's parents (name → start) and what each offers: the same terms for all."""

    places: Places
    parents: dict[str, datetime] = field(default_factory=lambda: {"x": START})
    join_until: datetime | None = None
    cancel_until: datetime | None = None
    limits: Limits | None = None
    requires: tuple[str, ...] = ()
    scope: str | None = None  # the parent column limits are counted within


# (verb, "who" or "who@parent", what it answers); parent "x" unless named.
Step = tuple[str, str, str]


class Board:
    """Plays a scenario through the engine on the events' sign-up table, with terms given as
    values (not the event's own columns): the engine needs nothing of the parent but them.
    A parent named "out…" is an outing, any other a class (for limits within a scope)."""

    def __init__(self, database: Database, setup: Setup) -> None:
        self.database = database
        self.setup = setup
        self.table = dataclasses.replace(event_storage.SIGNUPS, parent_scope=setup.scope)
        self.places = setup.places
        self.now = NOW
        self.officers: dict[str, int] = {}
        self.names: dict[int, str] = {}
        self.parents: dict[str, int] = {}
        for name, starts in setup.parents.items():
            with database.session() as session:
                event = event_storage.create(
                    session,
                    kind="outing" if name.startswith("out") else "class",
                    title=f"活动{name}",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=2),
                    place="工会活动室",
                    capacity=1,  # never read: the terms say how many places there are
                    signup_deadline=starts,
                    created_by="test",
                )
                assert event.id is not None
                self.parents[name] = event.id

    def terms(self, event: Event) -> Terms:
        return Terms(
            open=event.status == EventStatus.OPEN,
            starts_at=event.starts_at,
            places=self.places,
            join_until=self.setup.join_until,
            cancel_until=self.setup.cancel_until,
            limits=self.setup.limits,
            requires=self.setup.requires,
        )

    def officer(self, name: str) -> int:
        if name not in self.officers:
            number = len(self.officers) + 1
            officer = add_officer(
                self.database,
                f"5000{number:02d}",
                name,
                f"+86137000000{number:02d}",
                bound_to=5_000 + number,
                gender={"m": "M", "f": "F"}.get(name[0]),
                single_opt_in=True,
            )
            assert officer.id is not None
            self.officers[name] = officer.id
            self.names[officer.id] = name
        return self.officers[name]

    def _who(self, who: str) -> tuple[int, int]:
        name, _, parent = who.partition("@")
        return self.officer(name), self.parents[parent or "x"]

    def _change_officer(self, name: str, **values: Any) -> None:
        with self.database.session() as session:
            officer = session.get(Officer, self.officer(name))
            assert officer is not None
            for key, value in values.items():
                setattr(officer, key, value)
            session.add(officer)

    def play(self, verb: str, who: str) -> str:
        table = self.table
        if verb == "at":  # the clock moves: "+36h"
            self.now = NOW + timedelta(hours=int(who.strip("+h")))
            return ""
        if verb == "places":
            self.places = Places(int(who), self.places.caps, self.places.waitlist)
            return ""
        if verb == "deactivate":
            self._change_officer(who, active=False, left_at=self.now)
            return ""
        if verb == "unsingle":
            self._change_officer(who, single_opt_in=False)
            return ""
        if verb == "close":
            with self.database.session() as session:
                event = session.get(Event, self.parents[who])
                assert event is not None
                event.status = EventStatus.CANCELLED
                session.add(event)
            return ""
        if verb == "states":
            with self.database.session() as session:
                rows = engine.entries(session, table, self.parents[who or "x"])
            return " ".join(f"{officer.name}:{signup.state}" for officer, signup in rows)
        if verb == "promote":
            with self.database.session() as session:
                event = engine.lock(session, table, self.parents[who or "x"])
                assert event is not None and event.id is not None
                moved = engine.promote(session, table, event.id, self.terms(event))
            return " ".join(self.names[officer_id] for officer_id in moved) or "nobody"
        if verb == "no-shows":
            with self.database.session() as session:
                counted = engine.no_shows(session, table, [self.officer(who)])
            return str(counted.get(self.officer(who), 0))
        officer_id, parent_id = self._who(who)
        with self.database.session() as session:
            if verb == "join":
                gender = {"m": "M", "f": "F"}.get(who[0])
                joined = engine.sign_up(
                    session,
                    table,
                    parent_id,
                    officer_id,
                    terms_of=self.terms,
                    now=self.now,
                    group=gender,
                )
                return f"{joined.outcome} {joined.position or ''}".strip()
            if verb == "cancel":
                left = engine.cancel(
                    session, table, parent_id, officer_id, terms_of=self.terms, now=self.now
                )
                if left.refused is not None:
                    return str(left.refused)
                if left.was is None:
                    return "nothing"
                promoted = f" → {self.names[left.promoted]}" if left.promoted else ""
                return f"{left.was}{promoted}"
            if verb in ("present", "absent"):
                marked = engine.mark_attendance(
                    session, table, parent_id, officer_id, verb == "present"
                )
                return "marked" if marked else "not signed"
        raise AssertionError(f"unknown step {verb}")


SCENARIOS: dict[str, tuple[Setup, list[Step]]] = {
    "fills, waits in order, a cancel promotes the earliest, rejoining goes last": (
        Setup(Places(2)),
        [
            ("join", "a", "signed"),
            ("join", "b", "signed"),
            ("join", "c", "waitlisted 1"),
            ("join", "d", "waitlisted 2"),
            ("cancel", "a", "signed → c"),
            ("states", "", "b:signed c:signed d:waitlisted"),
            ("cancel", "d", "waitlisted"),  # leaving the waitlist frees nothing
            ("cancel", "d", "nothing"),
            ("join", "a", "waitlisted 1"),
            ("join", "d", "waitlisted 2"),
            ("states", "", "b:signed c:signed a:waitlisted d:waitlisted"),
        ],
    ),
    "once per officer; no waitlist means full": (
        Setup(Places(1, waitlist=False)),
        [
            ("join", "a", "signed"),
            ("join", "a", "already_signed"),
            ("join", "b", "full"),
            ("cancel", "b", "nothing"),
            ("states", "", "a:signed"),
        ],
    ),
    "once on the waitlist too": (
        Setup(Places(1)),
        [
            ("join", "a", "signed"),
            ("join", "b", "waitlisted 1"),
            ("join", "b", "already_waitlisted 1"),
        ],
    ),
    "caps per group: the first who fits moves up": (
        Setup(Places(3, {"M": 1, "F": 2})),
        [
            ("join", "m1", "signed"),
            ("join", "m2", "waitlisted 1"),  # places are left, but not for men
            ("join", "m3", "waitlisted 2"),
            ("join", "f1", "signed"),
            ("cancel", "m1", "signed → m2"),
            ("cancel", "f1", "signed"),  # a woman's place: the men waiting do not fit
            ("join", "f2", "signed"),
            ("states", "", "m2:signed f2:signed m3:waitlisted"),
        ],
    ),
    "a man waiting first is skipped for the woman behind him": (
        Setup(Places(2, {"M": 1})),
        [
            ("join", "m1", "signed"),
            ("join", "f1", "signed"),
            ("join", "m2", "waitlisted 1"),
            ("join", "f2", "waitlisted 2"),
            ("cancel", "f1", "signed → f2"),
            ("states", "", "m1:signed f2:signed m2:waitlisted"),
        ],
    ),
    "promotion skips an officer who left the union; they keep their place in line": (
        Setup(Places(1)),
        [
            ("join", "a", "signed"),
            ("join", "b", "waitlisted 1"),
            ("join", "c", "waitlisted 2"),
            ("deactivate", "b", ""),
            ("cancel", "a", "signed → c"),
            ("states", "", "c:signed b:waitlisted"),
        ],
    ),
    "promotion skips an officer who no longer fits the terms": (
        Setup(Places(1), requires=("single_opt_in",)),
        [
            ("join", "a", "signed"),
            ("join", "b", "waitlisted 1"),
            ("join", "c", "waitlisted 2"),
            ("unsingle", "b", ""),
            ("cancel", "a", "signed → c"),
            ("states", "", "c:signed b:waitlisted"),
        ],
    ),
    "nobody in line may come: the place stays free for the next sign-up": (
        Setup(Places(1)),
        [
            ("join", "a", "signed"),
            ("join", "b", "waitlisted 1"),
            ("deactivate", "b", ""),
            ("cancel", "a", "signed"),
            ("join", "d", "signed"),
            ("states", "", "d:signed b:waitlisted"),
        ],
    ),
    "more places: everyone who may come moves up, in order": (
        Setup(Places(1)),
        [
            ("join", "a", "signed"),
            ("join", "b", "waitlisted 1"),
            ("join", "c", "waitlisted 2"),
            ("join", "d", "waitlisted 3"),
            ("join", "e", "waitlisted 4"),
            ("deactivate", "c", ""),
            ("promote", "", "nobody"),
            ("places", "4", ""),
            ("promote", "", "b d e"),
            ("states", "", "a:signed b:signed d:signed e:signed c:waitlisted"),
        ],
    ),
    "deadlines: cancellations close first, then sign-ups, then the start closes all": (
        Setup(
            Places(1),
            join_until=NOW + timedelta(hours=40),
            cancel_until=NOW + timedelta(hours=24),
        ),
        [
            ("join", "a", "signed"),
            ("join", "b", "waitlisted 1"),
            ("at", "+36h", ""),
            ("cancel", "a", "deadline"),
            ("cancel", "b", "deadline"),
            ("join", "c", "waitlisted 2"),
            ("at", "+45h", ""),
            ("join", "d", "deadline"),
            ("at", "+50h", ""),  # the start, 3 June at 02:00 UTC
            ("join", "d", "closed"),
            ("cancel", "a", "closed"),
            ("states", "", "a:signed b:waitlisted c:waitlisted"),
        ],
    ),
    "a cancelled parent takes and gives up nothing": (
        Setup(Places(1)),
        [
            ("join", "a", "signed"),
            ("close", "x", ""),
            ("join", "b", "closed"),
            ("cancel", "a", "closed"),
        ],
    ),
    "at most two open places; places begun no longer count": (
        Setup(
            Places(1),
            parents={
                "x": START,
                "y": START + timedelta(days=1),
                "z": START + timedelta(days=8),
            },
            limits=Limits(open_at_most=2),
        ),
        [
            ("join", "a@x", "signed"),
            ("join", "a@y", "signed"),
            ("join", "a@z", "limit"),
            ("cancel", "a@y", "signed"),
            ("join", "a@z", "signed"),
            ("join", "b@y", "signed"),
            ("join", "a@y", "limit"),  # the waitlist would count as well
            ("at", "+60h", ""),  # x began at 02:00 UTC on 3 June
            ("join", "a@y", "waitlisted 1"),
        ],
    ),
    "waiting counts toward the limit; a cancelled parent does not": (
        Setup(
            Places(1),
            parents={"x": START, "y": START + timedelta(days=1)},
            limits=Limits(open_at_most=1),
        ),
        [
            ("join", "b@x", "signed"),
            ("join", "a@x", "waitlisted 1"),
            ("join", "a@y", "limit"),
            ("close", "x", ""),
            ("join", "a@y", "signed"),
        ],
    ),
    "limits within a scope: the officer's places of the same kind only": (
        Setup(
            Places(5),
            parents={
                "x": START,
                "outing": START + timedelta(days=1),
                "y": START + timedelta(days=2),
            },
            limits=Limits(open_at_most=1),
            scope="kind",
        ),
        [
            ("join", "a@x", "signed"),
            ("join", "a@outing", "signed"),  # another kind: not counted
            ("join", "a@y", "limit"),
            ("cancel", "a@x", "signed"),
            ("join", "a@y", "signed"),
        ],
    ),
    "one a calendar week in the union's zone": (
        Setup(
            Places(5),
            parents={
                "mon": START,
                "tue": START + timedelta(days=1),
                "sun": SUNDAY_NIGHT,
                "next": MONDAY_EARLY,
            },
            limits=Limits(per_period=WEEKLY),
        ),
        [
            ("join", "a@mon", "signed"),
            ("join", "a@tue", "limit"),
            ("join", "a@sun", "limit"),
            ("join", "a@next", "signed"),  # an hour later in UTC, but another week
            ("cancel", "a@mon", "signed"),
            ("join", "a@sun", "signed"),
            ("join", "b@tue", "signed"),  # the limit is each officer's own
        ],
    ),
    "one in any seven days": (
        Setup(
            Places(5),
            parents={
                "x": START,
                "week_later": START + timedelta(days=7),
                "six_days_later": START + timedelta(days=6, hours=23),
            },
            limits=Limits(per_period=PerPeriod(1, timedelta(days=7))),
        ),
        [
            ("join", "a@x", "signed"),
            ("join", "a@six_days_later", "limit"),
            ("join", "a@week_later", "signed"),
        ],
    ),
    "attendance and no-shows: only places held, only parents not cancelled": (
        Setup(Places(2), parents={"x": START, "y": START + timedelta(days=1)}),
        [
            ("join", "a@x", "signed"),
            ("join", "b@x", "signed"),
            ("join", "c@x", "waitlisted 1"),
            ("absent", "a@x", "marked"),
            ("present", "b@x", "marked"),
            ("absent", "c@x", "not signed"),
            ("absent", "d@x", "not signed"),
            ("join", "a@y", "signed"),
            ("absent", "a@y", "marked"),
            ("no-shows", "a", "2"),
            ("no-shows", "b", "0"),
            ("no-shows", "c", "0"),
            ("close", "y", ""),
            ("no-shows", "a", "1"),
            # Signing up again after a cancellation starts with no mark.
            ("cancel", "a@x", "signed → c"),
            ("join", "a@x", "waitlisted 1"),
            ("no-shows", "a", "0"),
        ],
    ),
}


@pytest.mark.parametrize(("setup", "steps"), SCENARIOS.values(), ids=SCENARIOS.keys())
def test_operations(database: Database, setup: Setup, steps: list[Step]) -> None:
    board = Board(database, setup)
    played = [(verb, who, board.play(verb, who)) for verb, who, _ in steps]
    assert played == steps


def test_no_shows_within_a_window(database: Database) -> None:
    board = Board(
        database,
        Setup(Places(5), parents={"old": START, "new": START + timedelta(days=200)}),
    )
    for step in ("join", "absent"):
        for parent in ("old", "new"):
            board.play(step, f"a@{parent}")
    officer_id = board.officer("a")
    later = START + timedelta(days=201)
    with database.session() as session:
        counted = [
            engine.no_shows(
                session,
                event_storage.SIGNUPS,
                [officer_id],
                since=rules.no_show_since(later, window),
            )
            for window in (None, timedelta(days=365), timedelta(days=180))
        ]
    assert counted == [{officer_id: 2}, {officer_id: 2}, {officer_id: 1}]


def test_a_table_without_groups_or_attendance(database: Database) -> None:
    """The drives' table has no group column and keeps no attendance: the engine asks for none."""
    [officer] = _people(database, 1)
    drive_id = _drive(database, 1)
    with database.session() as session:
        joined = engine.sign_up(
            session,
            drive_storage.SIGNUPS,
            drive_id,
            officer,
            terms_of=drive_storage.terms,
            now=NOW,
            group="M",  # no group column: ignored
        )
        assert joined.outcome is Outcome.SIGNED
        assert engine.tally(session, drive_storage.SIGNUPS, drive_id) == Tally(1)
        with pytest.raises(ValueError, match="keeps no attendance"):
            engine.mark_attendance(session, drive_storage.SIGNUPS, drive_id, officer, True)
        with pytest.raises(ValueError, match="keeps no attendance"):
            engine.no_shows(session, drive_storage.SIGNUPS, [officer])


def test_extra_values_are_written_with_the_row(database: Database) -> None:
    """A table's own columns (here the gender, on a table told it has no group) come as values."""
    table = dataclasses.replace(event_storage.SIGNUPS, group=None)
    board = Board(database, Setup(Places(1, {"F": 0})))
    officer_id, parent_id = board.officer("a"), board.parents["x"]
    for values in ({"gender": "F"}, {"gender": "M"}):
        with database.session() as session:
            joined = engine.sign_up(
                session,
                table,
                parent_id,
                officer_id,
                terms_of=board.terms,
                now=NOW,
                group="F",  # ignored: no group column, so no cap applies
                extra=values,
            )
            assert joined.outcome is Outcome.SIGNED
            row = engine.entry(session, table, parent_id, officer_id)
            assert row is not None and row.gender == values["gender"]
        board.play("cancel", "a")


def test_who_to_remind_is_signed_active_bound_and_not_yet_claimed(database: Database) -> None:
    board = Board(database, Setup(Places(3)))
    for name in ("a", "b", "c", "d", "e"):
        board.play("join", name)
    unbound = add_officer(database, "500099", "未绑定", "+8613700000099")
    assert unbound.id is not None
    with database.session() as session:
        assert (
            engine.sign_up(
                session,
                event_storage.SIGNUPS,
                board.parents["x"],
                unbound.id,
                terms_of=board.terms,
                now=NOW,
            ).outcome
            is Outcome.WAITLISTED
        )
    board.names[unbound.id] = "unbound"
    moment = datetime.now(UTC)
    time.sleep(0.01)
    board.play("places", "6")
    assert board.play("promote", "") == "d e unbound"  # the unbound one is never reminded
    board.play("deactivate", "b")
    occasion, day = "test:x", START.date()
    table, parent = event_storage.SIGNUPS, board.parents["x"]
    with database.session() as session:
        first = engine.to_remind(session, table, parent, occasion, day)
        assert [board.names[r.officer_id] for r in first] == ["a", "c", "d", "e"]
        # Those who moved up after the moment a reminder is for are not reminded of it.
        early = engine.to_remind(session, table, parent, occasion, day, signed_before=moment)
        assert [board.names[r.officer_id] for r in early] == ["a", "c"]
    with database.session() as session:
        ledger.claim(session, occasion, day, [board.officer("a"), board.officer("c")])
    with database.session() as session:
        second = engine.to_remind(session, table, parent, occasion, day)
    assert [board.names[r.officer_id] for r in second] == ["d", "e"]


# --- the last place, raced -------------------------------------------------------------------


def _people(database: Database, count: int) -> list[int]:
    ids = []
    for n in range(1, count + 1):
        officer = add_officer(
            database, f"6000{n:02d}", f"会员{n}", f"+86136000000{n:02d}", gender="F"
        )
        assert officer.id is not None
        ids.append(officer.id)
    return ids


def _drive(database: Database, capacity: int) -> int:
    with database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=START,
            place="市中心血站",
            capacity=capacity,
            blood_types_wanted="",
            created_by="test",
        )
        assert drive.id is not None
        return drive.id


def _event(database: Database, capacity: int) -> int:
    with database.session() as session:
        event = event_storage.create(
            session,
            kind="class",
            title="瑜伽课",
            starts_at=START,
            ends_at=START + timedelta(hours=2),
            place="工会活动室",
            capacity=capacity + 1,
            female_cap=capacity,  # the last woman's place, with a place left for a man
            male_cap=1,
            signup_deadline=START,
            created_by="test",
        )
        assert event.id is not None
        return event.id


@dataclass(frozen=True)
class Kind:
    """One user of the engine, as the race sees it."""

    table: SignupTable[Any, Any]
    terms: Callable[[Any], Terms]
    make: Callable[[Database, int], int]


KINDS = {
    "drive": Kind(drive_storage.SIGNUPS, drive_storage.terms, _drive),
    "event": Kind(event_storage.SIGNUPS, event_storage.terms, _event),
}


def _join(database: Database, kind: Kind, parent_id: int, officer_id: int) -> Outcome:
    with database.session() as session:
        return engine.sign_up(
            session,
            kind.table,
            parent_id,
            officer_id,
            terms_of=kind.terms,
            now=NOW,
            group="F",
        ).outcome


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_two_threads_race_for_the_last_place(database: Database, kind: Kind) -> None:
    """Both threads start together on a barrier: one gets the place, the other waits in line."""
    first, second = _people(database, 2)
    for _ in range(3):  # a few rounds, each on a parent of its own with one place
        parent_id = kind.make(database, 1)
        barrier = threading.Barrier(2)

        def press(
            officer_id: int, parent_id: int = parent_id, barrier: threading.Barrier = barrier
        ) -> Outcome:
            barrier.wait(timeout=10)
            return _join(database, kind, parent_id, officer_id)

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(press, [first, second]))
        assert outcomes == sorted([Outcome.SIGNED, Outcome.WAITLISTED])
        with database.session() as session:
            tally = engine.tally(session, kind.table, parent_id)
        assert (tally.signed, tally.waitlisted) == (1, 1)


@pytest.mark.parametrize("kind", KINDS.values(), ids=KINDS.keys())
def test_a_sign_up_waits_for_a_cancellation_and_its_promotion(
    database: Database, kind: Kind
) -> None:
    """Cancel and promote are one transaction: a sign-up racing it waits, then finds the freed
    place taken by the one who was waiting."""
    leaving, waiting, late = _people(database, 3)
    parent_id = kind.make(database, 1)
    assert _join(database, kind, parent_id, leaving) is Outcome.SIGNED
    assert _join(database, kind, parent_id, waiting) is Outcome.WAITLISTED
    with racing(database, lambda: _join(database, kind, parent_id, late)) as race:
        with database.session() as session:
            left = engine.cancel(
                session, kind.table, parent_id, leaving, terms_of=kind.terms, now=NOW
            )
            assert (left.was, left.promoted) == ("signed", waiting)
            race.start()
            race.assert_waiting()
        assert race.result(timeout=10) is Outcome.WAITLISTED
    with database.session() as session:
        states = [
            (officer.id, signup.state)
            for officer, signup in engine.entries(session, kind.table, parent_id)
        ]
    assert states == [(waiting, "signed"), (late, "waitlisted")]


def test_one_officer_racing_for_two_places_over_the_limit(database: Database) -> None:
    """Two sign-ups of one officer on two parents at once, one place allowed: one is refused."""
    board = Board(
        database,
        Setup(
            Places(5),
            parents={"x": START, "y": START + timedelta(days=1)},
            limits=Limits(open_at_most=1),
        ),
    )
    officer_id = board.officer("a")
    for _ in range(3):
        barrier = threading.Barrier(2)

        def press(parent: str, barrier: threading.Barrier = barrier) -> Outcome:
            barrier.wait(timeout=10)
            with database.session() as session:
                return engine.sign_up(
                    session,
                    event_storage.SIGNUPS,
                    board.parents[parent],
                    officer_id,
                    terms_of=board.terms,
                    now=NOW,
                ).outcome

        with ThreadPoolExecutor(max_workers=2) as pool:
            outcomes = sorted(pool.map(press, ["x", "y"]))
        assert outcomes == sorted([Outcome.SIGNED, Outcome.LIMIT])
        signed = [name for name in ("x", "y") if board.play("states", name)]
        assert len(signed) == 1
        board.play("cancel", f"a@{signed[0]}")


# --- the two divergences, fixed --------------------------------------------------------------


def test_a_drive_skips_an_officer_who_left_when_promoting(database: Database) -> None:
    """Drives promoted a deactivated officer from their waitlist where events skipped them."""
    a, b, c = _people(database, 3)
    drive_id = _drive(database, 1)
    with database.session() as session:
        assert drive_storage.sign_up(session, drive_id, a, now=NOW).outcome is Outcome.SIGNED
    for officer_id in (b, c):
        with database.session() as session:
            outcome = drive_storage.sign_up(session, drive_id, officer_id, now=NOW).outcome
            assert outcome is Outcome.WAITLISTED
    with database.session() as session:
        left_union = session.get(Officer, b)
        assert left_union is not None
        left_union.active, left_union.left_at = False, NOW
        session.add(left_union)
    with database.session() as session:
        cancelled = drive_storage.cancel(session, drive_id, a, now=NOW)
    assert (cancelled.cancelled, cancelled.was, cancelled.promoted) == (True, "signed", c)
    with database.session() as session:
        states = [(p.officer_id, p.state) for p in drive_storage.attendees(session, drive_id)]
        assert states == [(c, "signed"), (b, "waitlisted")]
        # The one who left keeps their place in line, and is not reminded.
        assert [r.officer_id for r in drive_storage.signed_recipients(session, drive_id)] == []


def test_drive_reminders_have_no_zone_of_their_own() -> None:
    zone = inspect.signature(drive_jobs.queue_reminders).parameters["zone"]
    assert zone.default is inspect.Parameter.empty


def test_drive_reminders_follow_the_configured_zone(database: Database) -> None:
    """With NUANJING_TIMEZONE=America/New_York, "the day before" and the time in the text are
    New York's, as for events: not Shanghai's, which drives had hard-coded."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        TELEGRAM_BOT_TOKEN=SecretStr(TEST_TOKEN),
        NUANJING_API_BASE_URL="http://127.0.0.1:9/bot",  # never called
        NUANJING_DATABASE_URL=database.url,
        NUANJING_SECRET_KEY=SecretStr(TEST_SECRET_KEY),
        NUANJING_TIMEZONE="America/New_York",
    )
    application = build_application(settings, database, load_policy(None))
    officer = add_officer(database, "600001", "会员1", "+8613600000001", bound_to=6_001)
    assert officer.id is not None
    starts = _at(2030, 6, 2, 9, 0, zone=NEW_YORK)  # 21:00 in Shanghai
    with database.session() as session:
        drive = drive_storage.create(
            session,
            starts_at=starts,
            place="市中心血站",
            capacity=5,
            blood_types_wanted="",
            created_by="test",
        )
        assert drive.id is not None
        drive_id = drive.id
        drive_storage.sign_up(session, drive_id, officer.id, now=NOW)
    # 1 June, 00:00 in Shanghai but still 31 May in New York: not the day before there yet.
    assert drive_jobs.run_reminders(application, _at(2030, 6, 1, 0, 30)) == 0
    assert drive_jobs.run_reminders(application, _at(2030, 5, 31, 23, 59, zone=NEW_YORK)) == 0
    # 1 June, 00:00 in New York.
    assert drive_jobs.run_reminders(application, _at(2030, 6, 1, 0, 0, zone=NEW_YORK)) == 1
    assert drive_jobs.run_reminders(application, _at(2030, 6, 1, 12, 0, zone=NEW_YORK)) == 0
    with database.session() as session:
        [broadcast] = session.exec(select(Broadcast)).all()
        recipients = session.exec(
            select(Delivery.officer_id).where(col(Delivery.broadcast_id) == broadcast.id)
        ).all()
        claimed = session.exec(select(col(SendLedger.occasion), col(SendLedger.on_date))).all()
    assert "2030-06-02（周日）09:00" in broadcast.text
    assert list(recipients) == [officer.id]
    assert [(occasion, str(day)) for occasion, day in claimed] == [
        (f"drive:{drive_id}", "2030-06-02")
    ]
