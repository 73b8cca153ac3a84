"""Data access for medical mutual aid (医疗互助): enrolments, claims, the year's figures and the
hospitalizations a claim reminder is due for.

Enrolment is idempotent: rows are written with INSERT … ON CONFLICT DO NOTHING on (year,
scheme, officer), so a second `nuanjing mutual-aid enrol` adds only the members it did not have,
and an exclusion keeps its row (status excluded), so no run puts that member back. Claims move
submitted → paid or refused once: the step locks the claim's row and checks it is still
submitted, so a double press (or two organizers at once) pays once. Notes and reasons are
sealed with FieldCipher (storage/sealed.py) and never leave this module in the finance export.
Every change is audited in the caller's transaction, with ids and amounts only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.rules import mutual_aid as rules
from storage import audit
from storage.broadcasts import Recipient
from storage.crypto import FieldCipher
from storage.locks import locked
from storage.models import (
    CareCase,
    CaseStatus,
    ClaimStatus,
    EnrolmentStatus,
    MutualAidClaim,
    MutualAidEnrolment,
    Officer,
    TelegramBinding,
)
from storage.types import utcnow
from storage.upsert import insert_for

HOSPITALIZATION = "hospitalization"  # the care case event (bot.policy.CareEvent)
# Officers per INSERT of an enrolment run: bounded statements whatever the roster's size.
ENROL_BATCH = 1_000


class Change(StrEnum):
    """What became of adding or removing one member by hand."""

    DONE = "done"
    ALREADY = "already"
    NO_OFFICER = "no_officer"
    LEFT = "left"
    NOT_COVERED = "not_covered"


class Decided(StrEnum):
    """What became of paying or refusing a claim."""

    DONE = "done"
    ALREADY = "already"
    GONE = "gone"
    # The amount no longer passes (the policy's cap was lowered meanwhile): nothing changed.
    BAD_AMOUNT = "bad_amount"


@dataclass(frozen=True)
class Enrolled:
    """One scheme's enrolment run: members added now, enrolled before, kept out by hand."""

    scheme: str
    added: int
    already: int
    excluded: int


@dataclass(frozen=True)
class SchemeFigures:
    """One scheme's year: members enrolled, claims by status, the total paid (yuan)."""

    enrolled: int = 0
    submitted: int = 0
    paid: int = 0
    refused: int = 0
    paid_total: int = 0


@dataclass(frozen=True)
class ClaimRow:
    """A claim with its member, for lists and the finance export (nothing sealed in it)."""

    claim: MutualAidClaim
    police_id: str
    name: str
    unit: str


@dataclass(frozen=True)
class DueReminder:
    """A reported hospitalization whose officer is due the claim reminder."""

    case_id: int
    officer_id: int
    admitted_on: date


# --- enrolment ---------------------------------------------------------------------------------


def eligible(session: Session, audience: str) -> list[int]:
    """Active members a scheme for `audience` covers, by id (the rule: bot.rules.mutual_aid)."""
    rows = session.exec(
        select(col(Officer.id), col(Officer.gender))
        .where(col(Officer.active).is_(True), col(Officer.deceased_at).is_(None))
        .order_by(col(Officer.id))
    ).all()
    return [int(officer_id or 0) for officer_id, gender in rows if rules.covers(audience, gender)]


def _insert_missing(session: Session, year: int, scheme: str, ids: Sequence[int]) -> int:
    """Enrol these members unless a row of theirs is there (enrolled or excluded); rows added."""
    if not ids:
        return 0
    now = utcnow()
    values = [
        {
            "year": year,
            "scheme": scheme,
            "officer_id": officer_id,
            "status": EnrolmentStatus.ENROLLED.value,
            "source": "run",
            "reason_cipher": "",
            "changed_by": "",
            "created_at": now,
            "changed_at": now,
        }
        for officer_id in ids
    ]
    dialect = session.get_bind().dialect.name
    insert = insert_for(dialect)
    statement = (
        insert(MutualAidEnrolment)
        .values(values)
        .on_conflict_do_nothing(index_elements=["year", "scheme", "officer_id"])
        .returning(col(MutualAidEnrolment.officer_id))
    )
    # RETURNING rather than the row count, which drivers need not give for an upsert.
    return len(session.execute(statement).all())


def enrol(
    session: Session,
    year: int,
    scheme: str,
    audience: str,
    *,
    actor: str,
    progress: Callable[[int, int], None] | None = None,
) -> Enrolled:
    """Enrol every active member the scheme covers who has no row of this scheme's year yet.

    In the caller's transaction; `progress(done, total)` after each batch.
    """
    ids = eligible(session, audience)
    added = 0
    for start in range(0, len(ids), ENROL_BATCH):
        added += _insert_missing(session, year, scheme, ids[start : start + ENROL_BATCH])
        if progress is not None:
            progress(min(start + ENROL_BATCH, len(ids)), len(ids))
    if progress is not None and not ids:
        progress(0, 0)
    enrolled, excluded = _counts(session, year, scheme)
    audit.record(
        session,
        actor=actor,
        action="mutual_aid.enrol",
        target=f"mutual_aid:{year}:{scheme}",
        added=added,
        enrolled=enrolled,
    )
    return Enrolled(scheme, added, enrolled - added, excluded)


def _counts(session: Session, year: int, scheme: str) -> tuple[int, int]:
    rows = session.exec(
        select(MutualAidEnrolment.status, func.count())
        .where(MutualAidEnrolment.year == year, MutualAidEnrolment.scheme == scheme)
        .group_by(col(MutualAidEnrolment.status))
    ).all()
    found = {str(status): int(count) for status, count in rows}
    return found.get(EnrolmentStatus.ENROLLED, 0), found.get(EnrolmentStatus.EXCLUDED, 0)


def _row(session: Session, year: int, scheme: str, officer_id: int) -> MutualAidEnrolment | None:
    return session.exec(
        select(MutualAidEnrolment)
        .where(
            MutualAidEnrolment.year == year,
            MutualAidEnrolment.scheme == scheme,
            MutualAidEnrolment.officer_id == officer_id,
        )
        .with_for_update()
    ).first()


def _member(session: Session, police_id: str) -> tuple[Change | None, Officer | None]:
    officer = session.exec(select(Officer).where(Officer.police_id == police_id)).first()
    if officer is None or officer.id is None:
        return Change.NO_OFFICER, None
    if not officer.active:
        return Change.LEFT, officer
    return None, officer


def add_by_hand(
    session: Session, year: int, scheme: str, audience: str, police_id: str, *, actor: str
) -> tuple[Change, Officer | None]:
    """Enrol one member by police ID (back in, if excluded); audited."""
    problem, officer = _member(session, police_id)
    if problem is not None or officer is None or officer.id is None:
        return problem or Change.NO_OFFICER, officer
    if not rules.covers(audience, officer.gender):
        return Change.NOT_COVERED, officer
    row = _row(session, year, scheme, officer.id)
    if row is not None and row.status == EnrolmentStatus.ENROLLED:
        return Change.ALREADY, officer
    now = utcnow()
    if row is None:
        row = MutualAidEnrolment(year=year, scheme=scheme, officer_id=officer.id)
    row.status, row.source, row.reason_cipher = EnrolmentStatus.ENROLLED, "hand", ""
    row.changed_by, row.changed_at = actor, now
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mutual_aid.add",
        target=f"mutual_aid:{year}:{scheme}",
        police_id=officer.police_id,
    )
    return Change.DONE, officer


def status_of(session: Session, year: int, scheme: str, officer_id: int) -> str | None:
    """The member's status in a scheme's year (enrolled, excluded), None without a row."""
    status = session.exec(
        select(MutualAidEnrolment.status).where(
            MutualAidEnrolment.year == year,
            MutualAidEnrolment.scheme == scheme,
            MutualAidEnrolment.officer_id == officer_id,
        )
    ).first()
    return None if status is None else str(status)


def exclude(
    session: Session,
    year: int,
    scheme: str,
    officer: Officer,
    reason: str,
    *,
    actor: str,
    cipher: FieldCipher,
) -> Change:
    """Keep one member out of a scheme's year, with a reason (sealed); audited without it.

    A member not enrolled yet gets an excluded row too, so a later run does not enrol them.
    Members who left the union may be excluded: their cover ends with them.
    """
    assert officer.id is not None
    row = _row(session, year, scheme, officer.id)
    if row is not None and row.status == EnrolmentStatus.EXCLUDED:
        return Change.ALREADY
    if row is None:
        row = MutualAidEnrolment(year=year, scheme=scheme, officer_id=officer.id, source="hand")
    row.status = EnrolmentStatus.EXCLUDED
    row.reason_cipher = cipher.encrypt(reason[: rules.REASON_LIMIT])
    row.changed_by, row.changed_at = actor, utcnow()
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mutual_aid.exclude",
        target=f"mutual_aid:{year}:{scheme}",
        police_id=officer.police_id,
    )
    return Change.DONE


def is_enrolled(session: Session, year: int, scheme: str, officer_id: int) -> bool:
    """True if the member is enrolled (not excluded) in this scheme's year."""
    return (
        session.exec(
            select(MutualAidEnrolment.id).where(
                MutualAidEnrolment.year == year,
                MutualAidEnrolment.scheme == scheme,
                MutualAidEnrolment.officer_id == officer_id,
                MutualAidEnrolment.status == EnrolmentStatus.ENROLLED,
            )
        ).first()
        is not None
    )


_enrolment_table = MutualAidEnrolment.__table__  # type: ignore[attr-defined]
# Built once: the reminder after a hospital stay reads it per officer (/me reads the schemes
# with its other programmes, storage/profile.py).
_SCHEMES_OF = (
    sa_select(_enrolment_table.c.scheme)
    .where(
        _enrolment_table.c.officer_id == bindparam("officer_id"),
        _enrolment_table.c.year == bindparam("year"),
        _enrolment_table.c.status == EnrolmentStatus.ENROLLED.value,
    )
    .order_by(_enrolment_table.c.scheme)
)


def schemes_of(session: Session, officer_id: int, year: int) -> list[str]:
    """The keys of the schemes a member is enrolled in this year."""
    rows = session.connection().execute(_SCHEMES_OF, {"officer_id": officer_id, "year": year})
    return [str(scheme) for (scheme,) in rows]


def members_of_year(session: Session, year: int) -> list[tuple[str, str, str, str, str]]:
    """The year's enrolled members for the finance export: scheme, police ID, name, unit and
    how they joined ("run" or "hand"), by scheme and police ID."""
    rows = session.execute(
        sa_select(
            col(MutualAidEnrolment.scheme),
            col(Officer.police_id),
            col(Officer.name),
            col(Officer.unit),
            col(MutualAidEnrolment.source),
        )
        .join(Officer, col(Officer.id) == col(MutualAidEnrolment.officer_id))
        .where(
            col(MutualAidEnrolment.year) == year,
            col(MutualAidEnrolment.status) == EnrolmentStatus.ENROLLED,
        )
        .order_by(col(MutualAidEnrolment.scheme), col(Officer.police_id))
    ).all()
    return [
        (scheme, police_id, name, unit, source) for scheme, police_id, name, unit, source in rows
    ]


def years_known(session: Session) -> set[int]:
    """The years with enrolments or claims."""
    enrolled = session.exec(select(MutualAidEnrolment.year).distinct()).all()
    claimed = session.exec(select(MutualAidClaim.year).distinct()).all()
    return {int(year) for year in (*enrolled, *claimed)}


# --- claims ------------------------------------------------------------------------------------


def record_claim(
    session: Session,
    year: int,
    scheme: str,
    officer_id: int,
    submitted_on: date,
    note: str,
    *,
    actor: str,
    cipher: FieldCipher,
) -> MutualAidClaim | None:
    """A submitted claim, if the member is enrolled in the scheme's year (None otherwise);
    audited without the note."""
    if not is_enrolled(session, year, scheme, officer_id):
        return None
    claim = MutualAidClaim(
        year=year,
        scheme=scheme,
        officer_id=officer_id,
        submitted_on=submitted_on,
        note_cipher=cipher.encrypt(note[: rules.NOTE_LIMIT]) if note else "",
        recorded_by=actor,
    )
    session.add(claim)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mutual_aid.claim",
        target=f"mutual_aid_claim:{claim.id}",
        scheme=scheme,
        year=year,
    )
    return claim


def get_claim(session: Session, claim_id: int) -> MutualAidClaim | None:
    """A claim by id."""
    return session.get(MutualAidClaim, claim_id)


def decide(
    session: Session,
    claim_id: int,
    *,
    amount: int | None = None,
    reason: str = "",
    cap: int,
    actor: str,
    cipher: FieldCipher,
    now: datetime,
) -> tuple[Decided, MutualAidClaim | None]:
    """Pay a submitted claim (`amount`, whole yuan within `cap`) or refuse it (`reason`, sealed).

    The row is locked first: a second press, or another organizer, finds it decided already.
    """
    claim = locked(session, MutualAidClaim, claim_id)
    if claim is None:
        return Decided.GONE, None
    if claim.status != ClaimStatus.SUBMITTED:
        return Decided.ALREADY, claim
    if amount is not None:
        try:
            claim.amount = rules.check_amount(amount, cap)
        except rules.MutualAidInputError:
            return Decided.BAD_AMOUNT, claim
        claim.status = ClaimStatus.PAID
    else:
        claim.reason_cipher = cipher.encrypt(reason[: rules.REASON_LIMIT])
        claim.status = ClaimStatus.REFUSED
    claim.decided_by, claim.decided_at = actor, now
    session.add(claim)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"mutual_aid.{claim.status}",
        target=f"mutual_aid_claim:{claim.id}",
        amount=claim.amount,
        reason_given=bool(reason.strip()),
    )
    return Decided.DONE, claim


def note_of(claim: MutualAidClaim, cipher: FieldCipher) -> str:
    """The claim's note in clear (organizers only)."""
    return cipher.decrypt(claim.note_cipher) if claim.note_cipher else ""


def reason_of(claim: MutualAidClaim, cipher: FieldCipher) -> str:
    """The refusal's reason in clear (the organizers and the member concerned only)."""
    return cipher.decrypt(claim.reason_cipher) if claim.reason_cipher else ""


def _claim_rows(session: Session, query: object) -> list[ClaimRow]:
    return [
        ClaimRow(claim, police_id, name, unit)
        for claim, police_id, name, unit in session.exec(query).all()  # type: ignore[call-overload]
    ]


def claims_of_year(session: Session, year: int, *, status: str | None = None) -> list[ClaimRow]:
    """The year's claims (of one status, if given), oldest first, with their members."""
    query = (
        select(MutualAidClaim, Officer.police_id, Officer.name, Officer.unit)
        .join(Officer, col(Officer.id) == col(MutualAidClaim.officer_id))
        .where(MutualAidClaim.year == year)
        .order_by(col(MutualAidClaim.submitted_on), col(MutualAidClaim.id))
    )
    if status is not None:
        query = query.where(MutualAidClaim.status == status)
    return _claim_rows(session, query)


def figures(session: Session, year: int) -> dict[str, SchemeFigures]:
    """Per scheme key: members enrolled, claims by status and the total paid, in two queries."""
    enrolled = dict(
        session.exec(
            select(MutualAidEnrolment.scheme, func.count())
            .where(
                MutualAidEnrolment.year == year,
                MutualAidEnrolment.status == EnrolmentStatus.ENROLLED,
            )
            .group_by(col(MutualAidEnrolment.scheme))
        ).all()
    )
    claims: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for scheme, status, count, total in session.exec(
        select(
            MutualAidClaim.scheme,
            MutualAidClaim.status,
            func.count(),
            func.coalesce(func.sum(MutualAidClaim.amount), 0),
        )
        .where(MutualAidClaim.year == year)
        .group_by(col(MutualAidClaim.scheme), col(MutualAidClaim.status))
    ).all():
        claims[scheme][status] = (int(count), int(total or 0))
    found: dict[str, SchemeFigures] = {}
    for scheme in {*enrolled, *claims}:
        by_status = claims.get(scheme, {})
        found[scheme] = SchemeFigures(
            enrolled=int(enrolled.get(scheme, 0)),
            submitted=by_status.get(ClaimStatus.SUBMITTED, (0, 0))[0],
            paid=by_status.get(ClaimStatus.PAID, (0, 0))[0],
            refused=by_status.get(ClaimStatus.REFUSED, (0, 0))[0],
            paid_total=by_status.get(ClaimStatus.PAID, (0, 0))[1],
        )
    return found


def chat_of(session: Session, officer_id: int) -> int | None:
    """The member's private chat, if they are bound, active and reachable."""
    row = session.exec(
        select(TelegramBinding.chat_id)
        .join(Officer, col(Officer.id) == col(TelegramBinding.officer_id))
        .where(
            TelegramBinding.officer_id == officer_id,
            col(Officer.active).is_(True),
            col(TelegramBinding.unreachable_since).is_(None),
        )
    ).first()
    return None if row is None else int(row)


# --- the claim reminder after a hospitalization -------------------------------------------------


def hospitalizations_between(session: Session, first: date, last: date) -> list[DueReminder]:
    """Reported hospitalizations admitted from `first` to `last` that still count (not a
    duplicate, not declined), of members still active."""
    rows = session.exec(
        select(col(CareCase.id), col(CareCase.officer_id), col(CareCase.event_date))
        .join(Officer, col(Officer.id) == col(CareCase.officer_id))
        .where(
            CareCase.event == HOSPITALIZATION,
            col(CareCase.event_date) >= first,
            col(CareCase.event_date) <= last,
            col(CareCase.status).not_in([CaseStatus.DUPLICATE, CaseStatus.DECLINED]),
            col(Officer.active).is_(True),
        )
        .order_by(col(CareCase.id))
    ).all()
    return [DueReminder(int(case_id or 0), officer_id, day) for case_id, officer_id, day in rows]


def recipient_of(session: Session, officer_id: int) -> Recipient | None:
    """The member as a broadcast's recipient (bound and active); the sender skips the blocked."""
    row = session.exec(
        select(TelegramBinding.chat_id)
        .join(Officer, col(Officer.id) == col(TelegramBinding.officer_id))
        .where(TelegramBinding.officer_id == officer_id, col(Officer.active).is_(True))
    ).first()
    return None if row is None else Recipient(officer_id, int(row))
