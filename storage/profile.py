"""What the /me card shows of the union's programmes, read in one statement.

A /me is the busiest answer of the bot: its retreats, honours and this year's mutual-aid cover
were three statements, each a round trip and SQLAlchemy's work for a handful of rows at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Date, Integer, bindparam, cast, literal_column, null, union_all
from sqlalchemy import select as core_select
from sqlmodel import Session

from bot.rules.nominations import NominationStatus
from storage.models import (
    EnrolmentStatus,
    HonourAward,
    MutualAidEnrolment,
    Nomination,
    RetreatBatch,
)

_nomination = Nomination.__table__  # type: ignore[attr-defined]
_batch = RetreatBatch.__table__  # type: ignore[attr-defined]
_award = HonourAward.__table__  # type: ignore[attr-defined]
_enrolment = MutualAidEnrolment.__table__  # type: ignore[attr-defined]

_RETREAT, _HONOUR, _SCHEME = 1, 2, 3

# One row per item: (kind, first day, last day, name, year); each kind's columns as below.
_PROGRAMMES_OF = union_all(
    core_select(
        literal_column(str(_RETREAT)).label("kind"),
        _batch.c.starts_on.label("first"),
        _batch.c.ends_on.label("last"),
        _batch.c.place.label("name"),
        cast(null(), Integer).label("year"),
    )
    .select_from(_nomination.join(_batch, _batch.c.id == _nomination.c.batch_id))
    .where(
        _nomination.c.officer_id == bindparam("officer_id"),
        _nomination.c.status == NominationStatus.FINAL.value,
    ),
    core_select(
        literal_column(str(_HONOUR)),
        cast(null(), Date),
        cast(null(), Date),
        _award.c.title,
        _award.c.year,
    ).where(_award.c.officer_id == bindparam("officer_id")),
    core_select(
        literal_column(str(_SCHEME)),
        cast(null(), Date),
        cast(null(), Date),
        _enrolment.c.scheme,
        cast(null(), Integer),
    ).where(
        _enrolment.c.officer_id == bindparam("officer_id"),
        _enrolment.c.year == bindparam("year"),
        _enrolment.c.status == EnrolmentStatus.ENROLLED.value,
    ),
).order_by(
    # Within a kind the other kinds' columns are all NULL, so each keeps its own order:
    # retreats newest first, honours newest first then by title, schemes by key.
    literal_column("kind"),
    literal_column("first").desc(),
    literal_column("year").desc(),
    literal_column("name"),
)


@dataclass(frozen=True)
class Programmes:
    """An officer's programmes as the /me card lists them."""

    # (first day, last day, place) of each final retreat, newest first.
    retreats: list[tuple[date, date, str]]
    # (year, title key) of each honour, newest first.
    honours: list[tuple[int, str]]
    # The keys of the mutual-aid schemes they are enrolled in this year, by key.
    schemes: list[str]


def programmes_of(session: Session, officer_id: int, year: int) -> Programmes:
    """The officer's final retreats, honours and this year's mutual-aid schemes."""
    rows = session.connection().execute(_PROGRAMMES_OF, {"officer_id": officer_id, "year": year})
    found = Programmes([], [], [])
    for kind, first, last, name, award_year in rows:
        if kind == _RETREAT:
            found.retreats.append((first, last, str(name)))
        elif kind == _HONOUR:
            found.honours.append((int(award_year), str(name)))
        else:
            found.schemes.append(str(name))
    return found
