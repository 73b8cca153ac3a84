"""The capacity engine: places, caps per group, the waitlist, promotion, per-officer limits,
cancellation deadlines, attendance, no-shows and who to remind, for everything with places.

Blood drives (storage.drives), events (storage.events) and any later table of sign-ups share it.
A `SignupTable` names the sign-up model and its columns, and the parent model (the drive, event
or slot a sign-up belongs to); the parent's places, caps, deadlines and limits come as values
(`bot.rules.capacity.Terms`), read by the caller's `terms_of` from the locked parent. The
decisions themselves are the pure rules in bot/rules/capacity.py.

A sign-up row has a state (signed, waitlisted, cancelled) and a position: 1, 2, … per parent in
the order of joining, so the waitlist is the waitlisted rows by position; joining again after a
cancellation goes to the end of the line.

Atomicity: `sign_up` and `cancel` lock the parent's row first (storage.locks: SELECT … FOR UPDATE
on PostgreSQL; on SQLite a no-op UPDATE takes the database's write lock, so it must be the
transaction's first statement, and it is), then count and write in the same transaction: the
last place (or the last place of a group) cannot be taken twice, and a freed place goes to one
officer. A sign-up under per-officer limits then locks the officer's row too (parent first,
officer second, always), so one officer's two sign-ups on two parents are counted one after
the other. Call them at the start of a transaction of their own (a `database.session()`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import and_, bindparam, case, func, or_, true
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlmodel import Session, SQLModel, col, select

from bot.rules import capacity as rules
from bot.rules.capacity import Outcome, Tally, Terms
from storage import ledger
from storage.broadcasts import Recipient
from storage.db import unit_memo
from storage.locks import hold, locked
from storage.models import Officer, SignupState, TelegramBinding
from storage.officers import officers_ahead
from storage.types import stored_row, utcnow, with_defaults

Row = TypeVar("Row", bound=SQLModel)
Parent = TypeVar("Parent", bound=SQLModel)

OPEN_STATES = (SignupState.SIGNED, SignupState.WAITLISTED)

# The kind (storage.db's unit memo) of facts read from sign-ups' attendance marks: a new
# sign-up, whose mark is unset, leaves them true.
ATTENDANCE = "attendance"


@dataclass(frozen=True)
class SignupTable(Generic[Row, Parent]):
    """Where one kind of sign-up lives; the engine needs nothing else of it.

    Every name is an attribute of `model` (or, for `parent_*`, of `parent`); `group` and
    `attended` are None for a table without caps per group or without attendance.
    """

    model: type[Row]
    parent: type[Parent]
    parent_key: str  # the sign-up's column naming its parent, e.g. "drive_id"
    group: str | None = None  # the column a cap per group counts, e.g. "gender"
    attended: str | None = None  # True present, False absent, None not marked
    officer_key: str = "officer_id"
    state: str = "state"
    position: str = "position"  # the order of joining, per parent
    changed_at: str = "updated_at"  # when the state last changed
    parent_starts: str = "starts_at"
    parent_status: str | None = "status"  # None: a parent is never cancelled
    live_status: str = "open"
    # A parent column limits are counted within (e.g. a slot's "service_key": an officer's
    # bookings of that service only); None: across every parent of the table.
    parent_scope: str | None = None

    def column(self, name: str) -> Any:
        """A column of the sign-up model, for a query."""
        return col(getattr(self.model, name))

    def parent_column(self, name: str) -> Any:
        """A column of the parent model, for a query."""
        return col(getattr(self.parent, name))

    def live(self) -> Any:
        """The condition that a parent is not cancelled."""
        if self.parent_status is None:
            return true()
        return self.parent_column(self.parent_status) == self.live_status

    def joins_parent(self) -> Any:
        """The join condition of a sign-up and its parent."""
        return self.column(self.parent_key) == self.parent_column("id")


@dataclass(frozen=True)
class Joined(Generic[Parent]):
    """What a sign-up did; `position` is the place on the waitlist (from 1) when waiting, and
    `entry` the officer's sign-up row once they hold a place or wait."""

    outcome: Outcome
    parent: Parent | None
    position: int | None = None
    entry: Any = None


@dataclass(frozen=True)
class Left(Generic[Parent]):
    """What a cancellation did: `refused` says why nothing was done (CLOSED, DEADLINE); `was`
    is the state given up (None: there was nothing to give up); `promoted` the officer who
    moved up into the freed place."""

    refused: Outcome | None
    was: str | None
    parent: Parent | None
    promoted: int | None = None


@dataclass(frozen=True)
class Standing:
    """One officer's state on one parent (None: not signed up, or cancelled) and their place
    on its waitlist."""

    state: str | None = None
    position: int | None = None


def lock(session: Session, table: SignupTable[Row, Parent], parent_id: int) -> Parent | None:
    """The parent, read fresh and locked until the transaction ends."""
    return locked(session, table.parent, parent_id)


def entry(
    session: Session, table: SignupTable[Row, Parent], parent_id: int, officer_id: int
) -> Row | None:
    """One officer's sign-up row on one parent, in whatever state."""
    return session.exec(
        select(table.model).where(
            table.column(table.parent_key) == parent_id,
            table.column(table.officer_key) == officer_id,
        )
    ).first()


def tally(session: Session, table: SignupTable[Row, Parent], parent_id: int) -> Tally:
    """Places held (in all and per group) and the waitlist's length, in one query."""
    return _counts(session, table, parent_id)[0]


def tallies(
    session: Session, table: SignupTable[Row, Parent], parent_ids: Sequence[int]
) -> dict[int, Tally]:
    """`tally` of several parents in one query (a listing of cards)."""
    if not parent_ids:
        return {}
    rows = (
        session.connection().execute(_built(table).tallies, {"parent_ids": list(parent_ids)}).all()
    )
    counted: dict[int, tuple[int, int, dict[str, int]]] = {}
    for row in rows:
        parent_id, found, count = int(row[0]), str(row[1]), int(row[-1])
        signed, waiting, by_group = counted.setdefault(parent_id, (0, 0, {}))
        if found == SignupState.WAITLISTED:
            counted[parent_id] = (signed, waiting + count, by_group)
            continue
        group = row[2] if table.group else None
        if group is not None:
            by_group[str(group)] = by_group.get(str(group), 0) + count
        counted[parent_id] = (signed + count, waiting, by_group)
    return {
        parent_id: Tally(*counted[parent_id]) if parent_id in counted else Tally()
        for parent_id in parent_ids
    }


def standings(
    session: Session, table: SignupTable[Row, Parent], parent_ids: Sequence[int], officer_id: int
) -> dict[int, Standing]:
    """`standing` of one officer on several parents, in one query (and one per waiting row)."""
    if not parent_ids:
        return {}
    rows = session.connection().execute(
        _built(table).standings, {"parent_ids": list(parent_ids), "officer_id": officer_id}
    )
    found: dict[int, Standing] = {}
    for parent_id, state, position in rows.all():
        place = (
            _line_place(session, table, int(parent_id), int(position))
            if state == SignupState.WAITLISTED
            else None
        )
        found[int(parent_id)] = Standing(str(state), place)
    return {parent_id: found.get(parent_id, Standing()) for parent_id in parent_ids}


def waitlist_position(session: Session, table: SignupTable[Row, Parent], row: Row) -> int:
    """The place of a waiting row on its parent's waitlist, from 1."""
    return _line_place(
        session, table, int(getattr(row, table.parent_key)), int(getattr(row, table.position))
    )


def _line_place(
    session: Session, table: SignupTable[Row, Parent], parent_id: int, position: int
) -> int:
    """The place on the parent's waitlist of the waiting row at `position`, from 1."""
    parameters = {"parent_id": parent_id, "position": position}
    return int(session.connection().execute(_built(table).line_place, parameters).scalar_one())


@dataclass(frozen=True)
class _Statements:
    """A table's statements of a sign-up, built once and run without the ORM: a button press
    runs each of them, and building a statement or loading an ORM row costs more than the
    query."""

    counts: Any  # per state (and group): rows and the highest position, of one parent
    # `counts`, and in the group holding one officer's row its id and position (a sign-up's
    # first read under the parent's lock, one round trip for two questions)
    counts_and_mine: Any
    line_place: Any  # the place in line of a waiting position
    insert: Any  # a new sign-up row, returning its id
    tallies: Any  # per parent and state (and group): rows, of several parents
    standings: Any  # parent, state and position of one officer's open rows on several parents
    other_starts: dict[tuple[bool, bool], Any]  # by (a reach around the start, open_at_most)
    # Of several officers at once (a batch's presses, see `sign_up`): their rows on one
    # parent, and `other_starts` led by the officer
    rows_of: Any
    others_of: dict[tuple[bool, bool], Any]


_BUILT: dict[SignupTable[Any, Any], _Statements] = {}


def _built(table: SignupTable[Row, Parent]) -> _Statements:
    """The table's statements, built on first use."""
    found = _BUILT.get(table)
    if found is not None:
        return found
    rows = table.model.__table__  # type: ignore[attr-defined]
    parent_key, state, position = (
        rows.c[table.parent_key],
        rows.c[table.state],
        rows.c[table.position],
    )
    officer_key = rows.c[table.officer_key]
    grouped = [state] + ([rows.c[table.group]] if table.group else [])
    parents = table.parent.__table__  # type: ignore[attr-defined]
    starts = parents.c[table.parent_starts]

    def elsewhere(*columns: Any) -> Any:
        """The officers' open rows on other parents (in the parent's scope, if any)."""
        found = (
            sa_select(*columns, starts)
            .join(rows, parent_key == parents.c.id)
            .where(parent_key != bindparam("parent_id"), state.in_(OPEN_STATES))
        )
        if table.parent_status is not None:
            found = found.where(parents.c[table.parent_status] == table.live_status)
        if table.parent_scope is not None:
            found = found.where(parents.c[table.parent_scope] == bindparam("scope"))
        return found

    base = elsewhere().where(officer_key == bindparam("officer_id"))
    several = officer_key.in_(bindparam("officer_ids", expanding=True))
    base_of = elsewhere(officer_key).where(several)
    near = and_(starts > bindparam("low"), starts < bindparam("high"))
    later = starts > bindparam("now")
    reaches = {(True, False): near, (False, True): later, (True, True): or_(later, near)}
    mine_only = officer_key == bindparam("officer_id")
    found = _Statements(
        counts=sa_select(*grouped, func.count(), func.max(position))
        .where(parent_key == bindparam("parent_id"))
        .group_by(*grouped),
        counts_and_mine=sa_select(
            *grouped,
            func.max(case((mine_only, rows.c.id))),
            func.max(case((mine_only, position))),
            func.count(),
            func.max(position),
        )
        .where(parent_key == bindparam("parent_id"))
        .group_by(*grouped),
        line_place=sa_select(func.count()).where(
            parent_key == bindparam("parent_id"),
            state == SignupState.WAITLISTED,
            position <= bindparam("position"),
        ),
        insert=sa_insert(rows).returning(rows.c.id),
        tallies=sa_select(parent_key, *grouped, func.count())
        .where(parent_key.in_(bindparam("parent_ids", expanding=True)), state.in_(OPEN_STATES))
        .group_by(parent_key, *grouped),
        standings=sa_select(parent_key, state, position).where(
            parent_key.in_(bindparam("parent_ids", expanding=True)),
            officer_key == bindparam("officer_id"),
            state.in_(OPEN_STATES),
        ),
        other_starts={key: base.where(reach) for key, reach in reaches.items()},
        rows_of=sa_select(officer_key, rows.c.id, state, position).where(
            parent_key == bindparam("parent_id"), several
        ),
        others_of={key: base_of.where(reach) for key, reach in reaches.items()},
    )
    _BUILT[table] = found
    return found


def _counts(session: Session, table: SignupTable[Row, Parent], parent_id: int) -> tuple[Tally, int]:
    """`tally` of one parent and the highest position given on it (0: none yet), in one query."""
    rows = session.connection().execute(_built(table).counts, {"parent_id": parent_id}).all()
    return _counted(table, rows)


@dataclass(frozen=True)
class _Mine:
    """One officer's row on one parent: its id, state and position."""

    id: int
    state: str
    position: int


def _counts_and_mine(
    session: Session, table: SignupTable[Row, Parent], parent_id: int, officer_id: int
) -> tuple[Tally, int, _Mine | None]:
    """`_counts`, and the officer's row on the parent if any, in one query."""
    parameters = {"parent_id": parent_id, "officer_id": officer_id}
    rows = session.connection().execute(_built(table).counts_and_mine, parameters).all()
    mine = None
    for row in rows:
        found_id, found_position = row[-4], row[-3]
        if found_id is not None:
            mine = _Mine(int(found_id), str(row[0]), int(found_position))
    tally, last = _counted(table, [(*row[:-4], *row[-2:]) for row in rows])
    return tally, last, mine


def _counted(table: SignupTable[Row, Parent], rows: Sequence[Any]) -> tuple[Tally, int]:
    """The tally and the highest position of rows of (state, [group,] count, highest)."""
    signed = waitlisted = last = 0
    by_group: dict[str, int] = {}
    for row in rows:
        found, count = str(row[0]), int(row[-2])
        last = max(last, int(row[-1] or 0))
        if found == SignupState.WAITLISTED:
            waitlisted += count
        elif found == SignupState.SIGNED:
            signed += count
            group = row[1] if table.group else None
            if group is not None:
                by_group[str(group)] = by_group.get(str(group), 0) + count
    return Tally(signed, waitlisted, by_group), last


def standing(
    session: Session, table: SignupTable[Row, Parent], parent_id: int, officer_id: int
) -> Standing:
    """One officer's state on one parent and, when waiting, their place in line."""
    row = entry(session, table, parent_id, officer_id)
    state = None if row is None else str(getattr(row, table.state))
    if row is None or state == SignupState.CANCELLED:
        return Standing()
    if state == SignupState.WAITLISTED:
        return Standing(state, waitlist_position(session, table, row))
    return Standing(state)


def _other_starts(
    session: Session,
    table: SignupTable[Row, Parent],
    parent: Parent,
    parent_id: int,
    officer_id: int,
    terms: Terms,
    now: datetime,
) -> list[datetime]:
    """Starts of the officer's other live places and waitlist places a limit may count (in the
    parent's scope, if the table has one), read after the officer's row is locked.

    In a unit whose batch has more officers to come, their rows are locked (in id order) and
    their starts read with the officer's, one statement each: kept in the unit's memo for
    their own presses on this parent, until a write to either table (other than a sign-up on
    this parent, which is not among them) or a rollback.
    """
    assert terms.limits is not None
    span = rules.reach(terms.limits)
    counts_open = terms.limits.open_at_most is not None
    if span is None and not counts_open:
        return []  # no limit looks at any other sign-up
    parameters: dict[str, Any] = {"parent_id": parent_id, "now": now}
    if span is not None:
        parameters["low"] = terms.starts_at - span
        parameters["high"] = terms.starts_at + span
    if table.parent_scope is not None:
        parameters["scope"] = getattr(parent, table.parent_scope)
    reach = (span is not None, counts_open)
    memo = unit_memo(session)
    if memo is None:
        hold(session, Officer, officer_id)
        parameters["officer_id"] = officer_id
        statement = _built(table).other_starts[reach]
        return list(session.connection().execute(statement, parameters).scalars())
    name = _name(table)
    asked = (reach, parameters.get("low"), parameters.get("high"), parameters.get("scope"))
    key = ("capacity.others", name, parent_id, officer_id, asked)
    found: tuple[datetime, list[datetime]] | None = memo.get(key)
    if found is not None and found[0] <= now:
        # Read at an earlier `now`: a superset of the open ones, which the rules count by now.
        return found[1]
    officer_ids = sorted(officers_ahead(session) | {officer_id}) if found is None else [officer_id]
    _hold_officers(session, officer_ids, memo)
    statement = _built(table).others_of[reach]
    starts: dict[int, list[datetime]] = {each: [] for each in officer_ids}
    for each, start in session.connection().execute(
        statement, {**parameters, "officer_ids": officer_ids}
    ):
        starts[int(each)].append(start)
    tables = frozenset({name, _name_of(table.parent)})
    for each, theirs in starts.items():
        memo.put(
            ("capacity.others", name, parent_id, each, asked),
            (now, theirs),
            tables,
            kind=_kind("others", table, parent_id),
        )
    return starts[officer_id]


_LOCKED_OFFICERS = "capacity.locked_officers"
_LOCK_OFFICERS = (
    sa_select(col(Officer.id))
    .where(col(Officer.id).in_(bindparam("officer_ids", expanding=True)))
    .order_by(col(Officer.id))
    .with_for_update()
)


def _hold_officers(session: Session, officer_ids: Sequence[int], memo: Any) -> None:
    """Lock the officers' rows until the unit ends, in id order, those not locked yet."""
    if session.get_bind().dialect.name == "sqlite":
        return  # a unit holds SQLite's write lock from its start (storage.locks)
    held: frozenset[int] = memo.get(_LOCKED_OFFICERS, frozenset())
    wanted = [each for each in officer_ids if each not in held]
    if wanted:
        session.connection().execute(_LOCK_OFFICERS, {"officer_ids": wanted}).all()
        # Let go by a rollback only (which may undo the locks), not by writes.
        memo.put(_LOCKED_OFFICERS, held | frozenset(wanted), frozenset())


def _name(table: SignupTable[Any, Any]) -> str:
    """The sign-up table's name in the database."""
    return _name_of(table.model)


def _name_of(model: type[SQLModel]) -> str:
    return str(model.__tablename__)


def _kind(what: str, table: SignupTable[Any, Any], parent_id: int) -> str:
    """The kind (storage.db's unit memo) of facts about one parent's sign-ups, kept true by
    `sign_up` itself."""
    return f"{what}:{_name(table)}:{parent_id}"


def _known_key(table: SignupTable[Any, Any], parent_id: int) -> tuple[str, str, int]:
    return ("capacity.known", _name(table), parent_id)


@dataclass
class _Known:
    """A parent's tally and highest position, and some officers' rows on it (None: no row),
    as read under the parent's lock and brought up to date by the unit's sign-ups since."""

    tally: Tally
    last: int
    mine: dict[int, _Mine | None]


def _known_on(
    session: Session, table: SignupTable[Row, Parent], parent_id: int, officer_id: int
) -> tuple[Tally, int, _Mine | None]:
    """`_counts_and_mine`; in a unit whose batch has more officers to come, the tally and all
    their rows on the parent are read once (two statements) and kept in the unit's memo, where
    `sign_up` keeps them up to date, until any other write to the sign-ups or a rollback."""
    memo = unit_memo(session)
    if memo is None:
        return _counts_and_mine(session, table, parent_id, officer_id)
    key = _known_key(table, parent_id)
    known: _Known | None = memo.get(key)
    if known is None:
        ahead = officers_ahead(session) - {officer_id}
        if not ahead:
            return _counts_and_mine(session, table, parent_id, officer_id)
        tally, last = _counts(session, table, parent_id)
        officer_ids = sorted(ahead | {officer_id})
        mine: dict[int, _Mine | None] = dict.fromkeys(officer_ids)
        parameters = {"parent_id": parent_id, "officer_ids": officer_ids}
        for each, row_id, state, position in session.connection().execute(
            _built(table).rows_of, parameters
        ):
            mine[int(each)] = _Mine(int(row_id), str(state), int(position))
        known = _Known(tally, last, mine)
        memo.put(key, known, frozenset({_name(table)}), kind=_kind("signups", table, parent_id))
    elif officer_id not in known.mine:
        known.tally, known.last, known.mine[officer_id] = _counts_and_mine(
            session, table, parent_id, officer_id
        )
    return known.tally, known.last, known.mine[officer_id]


def _joined(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    officer_id: int,
    mine: _Mine,
    group: str | None,
) -> None:
    """Count the officer's new row in the unit's memo of the parent, if it keeps one."""
    memo = unit_memo(session)
    known: _Known | None = None if memo is None else memo.get(_known_key(table, parent_id))
    if known is None:
        return
    if mine.state == SignupState.WAITLISTED:
        known.tally = Tally(
            known.tally.signed, known.tally.waitlisted + 1, known.tally.signed_by_group
        )
    else:
        known.tally = known.tally.plus(group)
    known.last = max(known.last, mine.position)
    known.mine[officer_id] = mine


def sign_up(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    officer_id: int,
    *,
    terms_of: Callable[[Parent], Terms],
    now: datetime,
    group: str | None = None,
    extra: Mapping[str, Any] | None = None,
    parent: Parent | None = None,
) -> Joined[Parent]:
    """Take a place, or join the waitlist when there is none for the officer's group (if the
    parent keeps one); once per officer, within their limits. `group` is ignored by a table
    without a group column; `extra` are values of the table's own columns, written with the
    row (a new one, or one joining again).

    Locks the parent first: call it at the start of its own transaction, or pass the `parent`
    the caller has just read under that lock (storage.locks). With limits, the officer's row is
    locked next (always in that order), so that two sign-ups of one officer on two parents
    cannot both pass the limit. `Joined.entry` of a first sign-up is the new row detached, not
    an object of the session.
    """
    if parent is None:
        parent = lock(session, table, parent_id)
    if parent is None:
        return Joined(Outcome.CLOSED, None)
    terms = terms_of(parent)
    refused = rules.join_refusal(terms, now)
    if refused is not None:
        return Joined(refused, parent)
    statements = _built(table)
    connection = session.connection()
    # Under the parent's lock nothing of its sign-ups changes until the transaction ends: the
    # counts read now still hold after the limits' reads.
    counts, last, mine = _known_on(session, table, parent_id, officer_id)
    current = None if mine is None else mine.state
    if mine is not None and current in OPEN_STATES:
        outcome = rules.decide_join(current, fits=False, waitlist=terms.places.waitlist)
        waiting = current == SignupState.WAITLISTED
        place = _line_place(session, table, parent_id, mine.position) if waiting else None
        return Joined(outcome, parent, place)
    group = group if table.group is not None else None
    within = True
    if terms.limits is not None:
        # Read after the officer's row is locked, in a statement of its own: a statement that
        # waited for the lock would still read what its start saw (PostgreSQL's READ COMMITTED).
        others = _other_starts(session, table, parent, parent_id, officer_id, terms, now)
        within = rules.within_limits(terms.limits, terms.starts_at, others, now)
    fits = within and rules.has_place(terms.places, counts, group)
    outcome = rules.decide_join(
        None, fits=fits, waitlist=terms.places.waitlist, within_limits=within
    )
    if outcome not in (Outcome.SIGNED, Outcome.WAITLISTED):
        return Joined(outcome, parent)
    state = SignupState.SIGNED if outcome == Outcome.SIGNED else SignupState.WAITLISTED
    values: dict[str, Any] = {**(extra or {}), table.state: state}
    values[table.position] = last + 1
    if table.group is not None:
        values[table.group] = group
    if mine is None:
        written = with_defaults(
            table.model, {table.parent_key: parent_id, table.officer_key: officer_id, **values}
        )
        memo = unit_memo(session)
        # This one new row, unmarked, changes no other officer's row, no other parent's sign-ups
        # and no attendance: what the unit's memo holds of them stays, and `_joined` counts it.
        with (
            memo.keeping(
                _kind("signups", table, parent_id), _kind("others", table, parent_id), ATTENDANCE
            )
            if memo is not None
            else contextlib.nullcontext()
        ):
            new_id = int(connection.execute(statements.insert, written).scalar_one())
        # Known to the ORM as the stored row (an add would update it, not insert it again).
        row = stored_row(table.model, {**written, "id": new_id})
        _joined(session, table, parent_id, officer_id, _Mine(new_id, state, last + 1), group)
    else:  # signed up before and cancelled: back at the end of the line
        again = session.get(table.model, mine.id, populate_existing=True)
        assert again is not None
        row = again
        if table.attended is not None:
            values[table.attended] = None
        values[table.changed_at] = utcnow()
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        session.flush()
    if state == SignupState.WAITLISTED:
        # Under the parent's lock the new row is the last in line.
        return Joined(outcome, parent, counts.waitlisted + 1, row)
    return Joined(outcome, parent, entry=row)


def cancel(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    officer_id: int,
    *,
    terms_of: Callable[[Parent], Terms],
    now: datetime,
    deadline: bool = True,
) -> Left[Parent]:
    """Give up a place (or leave the waitlist); a freed place goes to the first in line who
    may still come and fits. `deadline=False`: the cancellation deadline does not apply.

    Locks the parent first: call it at the start of its own transaction.
    """
    parent = lock(session, table, parent_id)
    if parent is None:
        return Left(Outcome.CLOSED, None, None)
    terms = terms_of(parent)
    refused = rules.cancel_refusal(terms, now, deadline=deadline)
    if refused is not None:
        return Left(refused, None, parent)
    row = entry(session, table, parent_id, officer_id)
    if row is None or getattr(row, table.state) not in OPEN_STATES:
        return Left(None, None, parent)
    was = str(getattr(row, table.state))
    setattr(row, table.state, SignupState.CANCELLED)
    setattr(row, table.changed_at, utcnow())
    session.add(row)
    session.flush()
    promoted = None
    if was == SignupState.SIGNED:
        moved = promote(session, table, parent_id, terms, at_most=1)
        promoted = moved[0] if moved else None
    return Left(None, was, parent, promoted)


def promote(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    terms: Terms,
    *,
    at_most: int | None = None,
) -> list[int]:
    """Move up those in line who now have a place, earliest first; the officers moved.

    Skipped, and left waiting: officers no longer active, without a flag the terms require,
    or whose group's cap is full. Call it with the parent locked (after a cancellation, or an
    edit that made places).
    """
    flags: list[Any] = [col(getattr(Officer, name)) for name in terms.requires]
    rows: Sequence[Any] = session.exec(
        select(table.model, col(Officer.active), *flags)
        .join(Officer, col(Officer.id) == table.column(table.officer_key))
        .where(table.column(table.parent_key) == parent_id)
        .where(table.column(table.state) == SignupState.WAITLISTED)
        .order_by(table.column(table.position))
    ).all()
    if not rows:
        return []
    waiting = {getattr(row[0], table.officer_key): row[0] for row in rows}
    candidates = [
        rules.Candidate(
            officer_id=getattr(row[0], table.officer_key),
            group=getattr(row[0], table.group) if table.group else None,
            active=bool(row[1]),
            eligible=all(bool(flag) for flag in row[2:]),
        )
        for row in rows
    ]
    chosen = rules.to_promote(
        candidates, terms.places, tally(session, table, parent_id), at_most=at_most
    )
    for candidate in chosen:
        row = waiting[candidate.officer_id]
        setattr(row, table.state, SignupState.SIGNED)
        setattr(row, table.changed_at, utcnow())
        session.add(row)
    session.flush()
    return [candidate.officer_id for candidate in chosen]


def entries(
    session: Session, table: SignupTable[Row, Parent], parent_id: int
) -> list[tuple[Officer, Row]]:
    """Everyone holding a place and everyone waiting, places first, each in joining order."""
    state = table.column(table.state)
    rows = session.exec(
        select(Officer, table.model)
        .join(table.model, table.column(table.officer_key) == col(Officer.id))
        .where(table.column(table.parent_key) == parent_id, state.in_(OPEN_STATES))
        .order_by(case((state == SignupState.SIGNED, 0), else_=1), table.column(table.position))
    ).all()
    return [(officer, row) for officer, row in rows]


def mine(
    session: Session, table: SignupTable[Row, Parent], officer_id: int, now: datetime
) -> list[tuple[Parent, Row, int | None]]:
    """An officer's places and waitlist places on live parents not yet begun, soonest first,
    with the place in line when waiting."""
    starts = table.parent_column(table.parent_starts)
    rows = session.exec(
        select(table.parent, table.model)
        .join(table.model, table.joins_parent())
        .where(table.column(table.officer_key) == officer_id)
        .where(table.column(table.state).in_(OPEN_STATES), table.live(), starts > now)
        .order_by(starts, table.parent_column("id"))
    ).all()
    return [
        (
            parent,
            row,
            waitlist_position(session, table, row)
            if getattr(row, table.state) == SignupState.WAITLISTED
            else None,
        )
        for parent, row in rows
    ]


def mark_attendance(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    officer_id: int,
    attended: bool,
) -> bool:
    """Mark an officer holding a place present or absent; False if they hold none."""
    if table.attended is None:
        raise ValueError(f"{table.model.__name__} keeps no attendance")
    row = entry(session, table, parent_id, officer_id)
    if row is None or getattr(row, table.state) != SignupState.SIGNED:
        return False
    setattr(row, table.attended, attended)
    session.add(row)
    session.flush()
    return True


def no_shows(
    session: Session,
    table: SignupTable[Row, Parent],
    officer_ids: Sequence[int],
    *,
    since: datetime | None = None,
) -> dict[int, int]:
    """How often each officer held a place on a live parent and was marked absent; only
    parents starting from `since` when given (bot.rules.capacity.no_show_since)."""
    if table.attended is None:
        raise ValueError(f"{table.model.__name__} keeps no attendance")
    if not officer_ids:
        return {}
    officer = table.column(table.officer_key)
    query = (
        select(officer, func.count())
        .join(table.parent, table.joins_parent())
        .where(officer.in_(list(officer_ids)))
        .where(table.column(table.state) == SignupState.SIGNED)
        .where(table.column(table.attended).is_(False), table.live())
        .group_by(officer)
    )
    if since is not None:
        query = query.where(table.parent_column(table.parent_starts) >= since)
    return {int(officer_id): int(count) for officer_id, count in session.exec(query).all()}


def recipients(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    states: Sequence[str] = (SignupState.SIGNED,),
    *,
    changed_before: datetime | None = None,
) -> list[Recipient]:
    """Active, bound officers in these states on a parent, in joining order, with their chats;
    only those in that state since `changed_before` when given.

    Officers who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    query = (
        select(Officer.id, TelegramBinding.chat_id)
        .join(table.model, table.column(table.officer_key) == col(Officer.id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(table.column(table.parent_key) == parent_id)
        .where(table.column(table.state).in_(list(states)))
        .where(col(Officer.active).is_(True))
        .order_by(table.column(table.position))
    )
    if changed_before is not None:
        query = query.where(table.column(table.changed_at) <= changed_before)
    return [
        Recipient(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in session.exec(query)
    ]


def to_remind(
    session: Session,
    table: SignupTable[Row, Parent],
    parent_id: int,
    occasion: str,
    on_date: date,
    *,
    signed_before: datetime | None = None,
) -> list[Recipient]:
    """Who a reminder is for: active, bound officers holding a place (since `signed_before`,
    when given), not the waitlist, and not yet claimed in the send ledger for this occasion.

    Only a hint, read before the transaction that queues: claim them there with
    `ledger.queue_once`, which decides again. A job with nobody left then writes nothing.
    """
    signed = recipients(session, table, parent_id, changed_before=signed_before)
    fresh = set(ledger.unclaimed(session, occasion, on_date, [r.officer_id for r in signed]))
    return [recipient for recipient in signed if recipient.officer_id in fresh]
