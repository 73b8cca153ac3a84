"""Data access for care cases (慰问): reports, the organizers' steps, lists, exports, figures."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from storage.crypto import FieldCipher
from storage.locks import locked
from storage.models import CareCase, CaseStatus, Officer
from storage.types import utcnow

OPEN = (CaseStatus.REPORTED, CaseStatus.VISITED)
# The longest reason kept, in characters of clear text.
REASON_LIMIT = 200
# Forward only: reported → visited → paid; declined from any open state; the rest are final.
ALLOWED = {
    CaseStatus.REPORTED: {CaseStatus.VISITED, CaseStatus.PAID, CaseStatus.DECLINED},
    CaseStatus.VISITED: {CaseStatus.PAID, CaseStatus.DECLINED},
}


@dataclass(frozen=True)
class NewCase:
    """What a report says, before it is stored."""

    officer_id: int
    reporter_id: int
    event: str
    event_date: date
    relation: str = ""
    hospital: str = ""
    ward: str = ""
    note: str = ""
    policy_amount: int = 0
    up_to: bool = False


def create(
    session: Session, new: NewCase, cipher: FieldCipher, *, duplicate_of: int | None = None
) -> CareCase:
    """Store a report; a duplicate is kept, linked to the first case, and never paid."""
    case = CareCase(
        officer_id=new.officer_id,
        reporter_id=new.reporter_id,
        event=new.event,
        event_date=new.event_date,
        relation=new.relation,
        hospital=new.hospital,
        ward_cipher=cipher.encrypt(new.ward),
        note_cipher=cipher.encrypt(new.note),
        policy_amount=new.policy_amount,
        up_to=new.up_to,
        status=CaseStatus.DUPLICATE if duplicate_of else CaseStatus.REPORTED,
        duplicate_of=duplicate_of,
    )
    session.add(case)
    session.flush()
    return case


def same_kind(session: Session, officer_id: int, event: str) -> list[CareCase]:
    """An officer's earlier cases of one type that still count (not duplicates, not declined)."""
    return list(
        session.exec(
            select(CareCase)
            .where(CareCase.officer_id == officer_id, CareCase.event == event)
            .where(col(CareCase.status).not_in([CaseStatus.DUPLICATE, CaseStatus.DECLINED]))
            .order_by(col(CareCase.id))
        ).all()
    )


def get(session: Session, case_id: int, *, for_update: bool = False) -> CareCase | None:
    """A case by id; locked for a state change when asked."""
    if for_update:
        return locked(session, CareCase, case_id)
    query = select(CareCase).where(CareCase.id == case_id)
    return session.exec(query).first()


def advance(
    session: Session,
    case: CareCase,
    to: CaseStatus,
    *,
    actor: str,
    amount: int | None = None,
    reason: str = "",
    cipher: FieldCipher,
) -> bool:
    """Move a case forward; False (and nothing changed) if that step is not allowed now.

    The reason (for another sum, or for declining) may describe someone's health: sealed.
    """
    if to not in ALLOWED.get(CaseStatus(case.status), set()):
        return False
    now = utcnow()
    if to is CaseStatus.VISITED:
        case.visited_at, case.visited_by = now, actor
    elif to is CaseStatus.PAID:
        case.paid_at, case.paid_by = now, actor
        case.paid_amount = case.policy_amount if amount is None else amount
        case.pay_reason_cipher = cipher.encrypt(reason[:REASON_LIMIT])
    else:
        case.declined_at, case.declined_by = now, actor
        case.decline_reason_cipher = cipher.encrypt(reason[:REASON_LIMIT])
    case.status = to
    session.add(case)
    session.flush()
    return True


def _opened(sealed: str, legacy: str, cipher: FieldCipher) -> str:
    """A reason in clear: the sealed column's, else what a case kept in clear before 0009."""
    return cipher.decrypt(sealed) if sealed else legacy


def pay_reason(case: CareCase, cipher: FieldCipher) -> str:
    """Why another sum than the policy's was paid ("" when it was the policy's)."""
    return _opened(case.pay_reason_cipher, case.legacy_pay_reason, cipher)


def decline_reason(case: CareCase, cipher: FieldCipher) -> str:
    """Why the case was declined ("" unless it was)."""
    return _opened(case.decline_reason_cipher, case.legacy_decline_reason, cipher)


OFFICER_ACTOR = "officer:"


def takers(session: Session, cases: Sequence[CareCase]) -> dict[str, Officer]:
    """The officers behind the cases' steps, by actor ("officer:200001"), for their cards."""
    actors = {
        actor
        for case in cases
        for actor in (case.visited_by, case.paid_by, case.declined_by)
        if actor.startswith(OFFICER_ACTOR)
    }
    if not actors:
        return {}
    police_ids = [actor.removeprefix(OFFICER_ACTOR) for actor in actors]
    found = session.exec(select(Officer).where(col(Officer.police_id).in_(police_ids))).all()
    return {OFFICER_ACTOR + officer.police_id: officer for officer in found}


def seal_plain_reasons(session: Session, cipher: FieldCipher) -> int:
    """Seal the reasons cases kept in clear before migration 0009; returns the cases changed.

    Run at every start (bot.scheduler): after the first one it finds nothing.
    """
    legacy = (col(CareCase.legacy_pay_reason) != "") | (col(CareCase.legacy_decline_reason) != "")
    cases = session.exec(select(CareCase).where(legacy).order_by(col(CareCase.id))).all()
    for case in cases:
        for plain, sealed in (
            ("legacy_pay_reason", "pay_reason_cipher"),
            ("legacy_decline_reason", "decline_reason_cipher"),
        ):
            text = str(getattr(case, plain))
            if text and not getattr(case, sealed):
                setattr(case, sealed, cipher.encrypt(text))
            setattr(case, plain, "")
        session.add(case)
    session.flush()
    return len(cases)


def of_officer(session: Session, officer_id: int) -> list[CareCase]:
    """Cases about the officer, or reported by them for a colleague, newest first."""
    return list(
        session.exec(
            select(CareCase)
            .where((CareCase.officer_id == officer_id) | (CareCase.reporter_id == officer_id))
            .order_by(col(CareCase.id).desc())
        ).all()
    )


def search(
    session: Session,
    *,
    statuses: Sequence[str] = OPEN,
    event: str | None = None,
    unit: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
) -> list[tuple[CareCase, Officer]]:
    """Cases with their officer, filtered by status, type, unit and report time, oldest first."""
    query = (
        select(CareCase, Officer)
        .join(Officer, col(Officer.id) == col(CareCase.officer_id))
        .where(col(CareCase.status).in_(list(statuses)))
        .order_by(col(CareCase.id))
        .limit(limit)
    )
    if event is not None:
        query = query.where(CareCase.event == event)
    if unit is not None:
        query = query.where(Officer.unit == unit)
    if since is not None:
        query = query.where(col(CareCase.reported_at) >= since)
    if until is not None:
        query = query.where(col(CareCase.reported_at) < until)
    return [(case, officer) for case, officer in session.exec(query).all()]


def for_period(session: Session, start: date, end: date) -> list[tuple[CareCase, Officer]]:
    """Every case whose event date lies in [start, end], with its officer, for finance."""
    rows = session.exec(
        select(CareCase, Officer)
        .join(Officer, col(Officer.id) == col(CareCase.officer_id))
        .where(col(CareCase.event_date) >= start, col(CareCase.event_date) <= end)
        .order_by(col(CareCase.event_date), col(CareCase.id))
    ).all()
    return [(case, officer) for case, officer in rows]


@dataclass(frozen=True)
class TypeFigures:
    """Cases and money of one event type in a period."""

    event: str
    cases: int
    paid_cases: int
    paid_sum: int


def figures(session: Session, start: date, end: date) -> list[TypeFigures]:
    """Per event type: cases reported (duplicates excluded), cases paid and the sum paid."""
    rows = session.exec(
        select(
            CareCase.event,
            func.count(),
            func.count(col(CareCase.paid_at)),
            func.coalesce(func.sum(CareCase.paid_amount), 0),
        )
        .where(col(CareCase.event_date) >= start, col(CareCase.event_date) <= end)
        .where(CareCase.status != CaseStatus.DUPLICATE)
        .group_by(col(CareCase.event))
        .order_by(col(CareCase.event))
    ).all()
    return [TypeFigures(str(e), int(n), int(p), int(s or 0)) for e, n, p, s in rows]


def comforted_since(session: Session, since: date) -> int:
    """How many different officers the union has visited or paid for events since the date."""
    count = session.exec(
        select(func.count(func.distinct(CareCase.officer_id)))
        .where(col(CareCase.event_date) >= since)
        .where(col(CareCase.status).in_([CaseStatus.VISITED, CaseStatus.PAID]))
    ).one()
    return int(count)
