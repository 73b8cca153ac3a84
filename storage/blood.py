"""Data access for blood donations (献血记录): recording, one officer's history, figures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from storage.models import BloodDonation, Officer
from storage.types import utcnow
from storage.upsert import insert_for

WHOLE_BLOOD = "whole_blood"
PLATELETS = "platelets"
PLASMA = "plasma"
COMPONENTS = (WHOLE_BLOOD, PLATELETS, PLASMA)
# Components measured in millilitres; platelets are counted in therapeutic units (治疗量).
IN_ML = (WHOLE_BLOOD, PLASMA)


@dataclass(frozen=True)
class Totals:
    """What one officer has given: donations, millilitres of whole blood and of plasma, and
    platelet units; the card names only what is not zero."""

    donations: int
    whole_ml: int
    plasma_ml: int
    units: int

    @property
    def ml(self) -> int:
        """Millilitres of whole blood and plasma together."""
        return self.whole_ml + self.plasma_ml


@dataclass(frozen=True)
class Figures:
    """Donations of a year, of everyone or of one unit (the officers' unit today)."""

    unit: str
    donors: int
    donations: int
    ml: int
    units: int
    drives: int = 0


def record(
    session: Session,
    *,
    officer_id: int,
    donated_on: date,
    component: str,
    amount: int,
    recorded_by: str,
    drive_id: int | None = None,
) -> BloodDonation | None:
    """Store a donation; None (nothing written) if that officer, day and component is recorded."""
    if component not in COMPONENTS:
        raise ValueError(f"unknown component {component!r}")
    values = {
        "officer_id": officer_id,
        "donated_on": donated_on,
        "component": component,
        "amount": amount,
        "drive_id": drive_id,
        "recorded_by": recorded_by[:64],
        "recorded_at": utcnow(),
    }
    # Two organizers recording the same donation at once must not fail either transaction:
    # the unique constraint decides, and the second insert writes nothing.
    dialect = session.get_bind().dialect.name
    insert = insert_for(dialect)
    statement = (
        insert(BloodDonation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["officer_id", "donated_on", "component"])
        .returning(col(BloodDonation.id))
    )
    new_id = session.execute(statement).scalar_one_or_none()
    if new_id is None:
        return None
    return session.get(BloodDonation, new_id)


def recorded(
    session: Session, *, officer_id: int, donated_on: date, component: str
) -> BloodDonation | None:
    """The donation recorded for that officer, day and component, if there is one."""
    return session.exec(
        select(BloodDonation).where(
            BloodDonation.officer_id == officer_id,
            BloodDonation.donated_on == donated_on,
            BloodDonation.component == component,
        )
    ).first()


def history(session: Session, officer_id: int) -> list[BloodDonation]:
    """One officer's donations, newest first."""
    return list(
        session.exec(
            select(BloodDonation)
            .where(BloodDonation.officer_id == officer_id)
            .order_by(col(BloodDonation.donated_on).desc(), col(BloodDonation.id).desc())
        ).all()
    )


def _ml() -> object:
    return func.coalesce(
        func.sum(
            case((col(BloodDonation.component).in_(IN_ML), col(BloodDonation.amount)), else_=0)
        ),
        0,
    )


def _sum_of(component: str) -> object:
    return func.coalesce(
        func.sum(
            case((col(BloodDonation.component) == component, col(BloodDonation.amount)), else_=0)
        ),
        0,
    )


def _units() -> object:
    return func.coalesce(
        func.sum(
            case((col(BloodDonation.component) == PLATELETS, col(BloodDonation.amount)), else_=0)
        ),
        0,
    )


def totals(session: Session, officer_id: int) -> Totals:
    """One officer's donations, millilitres of whole blood and of plasma, and platelet units."""
    count, whole, plasma, units = session.exec(
        select(  # type: ignore[call-overload]
            func.count(), _sum_of(WHOLE_BLOOD), _sum_of(PLASMA), _units()
        ).where(BloodDonation.officer_id == officer_id)
    ).one()
    return Totals(
        donations=int(count),
        whole_ml=int(whole or 0),
        plasma_ml=int(plasma or 0),
        units=int(units or 0),
    )


def active_named(session: Session, name: str, *, limit: int) -> list[Officer]:
    """Active officers, any unit, named exactly `name`; if none, those whose name holds it.

    At most `limit` + 1 are returned, so the caller can tell "too many" from "these".
    """
    active = col(Officer.active).is_(True)
    # By police ID: the same order on every database, whatever its collation of Chinese.
    order = (col(Officer.police_id),)
    exact = session.exec(
        select(Officer).where(Officer.name == name, active).order_by(*order).limit(limit + 1)
    ).all()
    if exact:
        return list(exact)
    # LIKE's wildcards in a typed name are meant literally.
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        session.exec(
            select(Officer)
            .where(col(Officer.name).like(f"%{escaped}%", escape="\\"), active)
            .order_by(*order)
            .limit(limit + 1)
        ).all()
    )


def _in_year(year: int) -> tuple[object, object]:
    return (
        col(BloodDonation.donated_on) >= date(year, 1, 1),
        col(BloodDonation.donated_on) <= date(year, 12, 31),
    )


def year_figures(session: Session, year: int) -> Figures:
    """Everyone's donations in a calendar year: donors, donations, ml, units and drives."""
    donors, count, ml, units, drives = session.exec(
        select(  # type: ignore[call-overload]
            func.count(func.distinct(BloodDonation.officer_id)),
            func.count(),
            _ml(),
            _units(),
            func.count(func.distinct(BloodDonation.drive_id)),
        ).where(*_in_year(year))
    ).one()
    return Figures("", int(donors), int(count), int(ml or 0), int(units or 0), int(drives))


def unit_figures(session: Session, year: int) -> list[Figures]:
    """Per unit (the donors' unit today), a calendar year's figures, the most donations first."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Officer.unit,
            func.count(func.distinct(BloodDonation.officer_id)),
            func.count(),
            _ml(),
            _units(),
            func.count(func.distinct(BloodDonation.drive_id)),
        )
        .join(Officer, col(Officer.id) == col(BloodDonation.officer_id))
        .where(*_in_year(year))
        .group_by(col(Officer.unit))
    ).all()
    figures = [
        Figures(str(unit), int(d), int(n), int(ml or 0), int(u or 0), int(dr))
        for unit, d, n, ml, u, dr in rows
    ]
    return sorted(figures, key=lambda f: (-f.donations, f.unit))
