"""Who is greeted today: festival and birthday recipients not yet in the send ledger.

Greetable means active, bound, reachable (not blocked) and not opted out of greetings. Each
query leaves out the officers the ledger already holds for that occasion and date, so the
minute-by-minute scheduler finds nobody once a run is queued, and reads rows, never ORM objects.

Birthdays are picked by exact dates on the indexed birthday column (every year between the
roster's oldest and youngest birthday), not by computing each officer's month and day: an index
lookup on 100,000 officers instead of a scan. Officers who chose a lunar birthday are picked by
that (month, day, leap) only, never by their Gregorian one.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import and_, exists, func, or_
from sqlmodel import Session, col, select

from storage.models import Officer, SendLedger, TelegramBinding


class Greetee(NamedTuple):
    """An officer to greet: their private chat and the name the greeting uses."""

    officer_id: int
    chat_id: int
    name: str


class RosterBirthdays(NamedTuple):
    """The birthdays on the roster as the greeting run matches them."""

    gregorian: set[tuple[int, int]]  # (month, day), of officers without a lunar birthday
    lunar: set[tuple[int, int, bool]]  # (month, day, leap)


def roster_birthdays(session: Session) -> RosterBirthdays:
    """Every birthday on the roster, greetable or not: the days a birthday run can find anyone."""
    found = RosterBirthdays(set(), set())
    rows = session.connection().execute(
        select(
            col(Officer.birthday),
            col(Officer.lunar_birth_month),
            col(Officer.lunar_birth_day),
            col(Officer.lunar_birth_leap),
        ).distinct()
    )
    for birthday, lunar_month, lunar_day, leap in rows:
        if lunar_month is not None and lunar_day is not None:
            found.lunar.add((lunar_month, lunar_day, bool(leap)))
        elif birthday is not None:
            found.gregorian.add((birthday.month, birthday.day))
    return found


def _greetable(occasion: str, on_date: date) -> Any:
    """Greetable officers with their chats, less those the ledger has for this occasion today.

    Officers who blocked the bot are included: the greeting's broadcast records them as
    unreachable without a send (storage.broadcasts.add_deliveries) and the ledger claims them,
    so each day's greeting counts them once and nobody is queued again every minute.
    """
    already = exists().where(
        col(SendLedger.occasion) == occasion,
        col(SendLedger.on_date) == on_date,
        col(SendLedger.officer_id) == col(Officer.id),
    )
    return (
        select(Officer.id, TelegramBinding.chat_id, Officer.name)
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(Officer.active).is_(True), col(Officer.greetings_opt_out).is_(False))
        .where(~already)
        .order_by(col(Officer.id))
    )


def _rows(session: Session, query: Any) -> list[Greetee]:
    # Plain rows through the connection, skipping the ORM's result handling: half the time
    # for 100,000 officers (bench/greetings.py).
    return list(map(Greetee._make, session.connection().execute(query)))


def festival_recipients(session: Session, occasion: str, on_date: date) -> list[Greetee]:
    """Everyone greetable who has not had this festival's greeting on this date."""
    return _rows(session, _greetable(occasion, on_date))


def festival_recipients_of_gender(
    session: Session, occasion: str, on_date: date, gender: str
) -> list[Greetee]:
    """The greetable officers of one roster gender ("F" for 三八妇女节) who have not had this
    festival's greeting on this date; officers with no gender on the roster are left out."""
    return _rows(session, _greetable(occasion, on_date).where(col(Officer.gender) == gender))


def _dates(session: Session, keys: Collection[tuple[int, int]]) -> list[date]:
    """Every real date with one of these (month, day) in the years the roster's birthdays span."""
    if not keys:
        return []
    # Two statements: SQLite reads one min() or max() off the index, but scans for both at once.
    oldest = session.execute(select(func.min(Officer.birthday))).scalar()
    youngest = session.execute(select(func.max(Officer.birthday))).scalar()
    if oldest is None or youngest is None:
        return []
    days = []
    for year in range(oldest.year, youngest.year + 1):
        for month, day in keys:
            try:
                days.append(date(year, month, day))
            except ValueError:  # 29 February of a common year: nobody was born then
                continue
    return days


def birthday_recipients(
    session: Session,
    occasion: str,
    on_date: date,
    *,
    gregorian: Collection[tuple[int, int]],
    lunar: Collection[tuple[int, int, bool]],
) -> list[Greetee]:
    """Greetable officers whose birthday is greeted today and who have not had it yet.

    `gregorian` holds (month, day) birthdays greeted today, for officers without a lunar
    birthday; `lunar` holds (month, day, leap) lunar birthdays greeted today.
    """
    found: dict[int, Greetee] = {}
    days = _dates(session, gregorian)
    if days:
        query = _greetable(occasion, on_date).where(
            col(Officer.birthday).in_(days), col(Officer.lunar_birth_month).is_(None)
        )
        found.update((row.officer_id, row) for row in _rows(session, query))
    if lunar:
        chosen = or_(
            *(
                and_(
                    col(Officer.lunar_birth_month) == month,
                    col(Officer.lunar_birth_day) == day,
                    col(Officer.lunar_birth_leap) == leap,
                )
                for month, day, leap in lunar
            )
        )
        months = sorted({month for month, _, _ in lunar})
        query = _greetable(occasion, on_date).where(
            col(Officer.lunar_birth_month).in_(months), chosen
        )
        found.update((row.officer_id, row) for row in _rows(session, query))
    return [found[officer_id] for officer_id in sorted(found)]
