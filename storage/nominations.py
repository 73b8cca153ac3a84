"""Data access of nominations by quota (推荐与评选): retreats (疗休养) and honours (评先评优).

One engine for every programme of that shape (bot.rules.nominations holds its pure rules):

1. An organizer opens a round (`open_round`): places, quotas per unit (`default_quotas` gives
   the proportional ones), the nomination window, and for retreats the batches and the daily
   allowance.
2. A unit contact (storage.roles) nominates officers of their own unit within its quota
   (`nominate`, `candidates` shows who is eligible and why not); officers may apply for a
   retreat themselves (`apply`); the contact then picks applicants (`select_applicant`) or
   draws by lottery once the window has closed (`draw`).
3. The nominee confirms (retreats: choosing a batch) or declines (`confirm`, `decline`; a
   decline gives the place back to the unit).
4. Organizers approve or return with a reason (`approve`, `return_nomination`), then publish the
   approved list (`publish`) for the policy's days: any officer may object privately
   (`object_to`); organizers keep or remove with a reason (`resolve`, audited).
5. After the publicity the round is final (`finalize`): honours go to the register, retreats'
   batch lists stand (`batch_list`, `batches_starting` for reminders).

Every step returns what it made or a `Refused` naming why not (a `Refusal`), for the handler to
say in one sentence; a forged or outdated press comes back as NO_ROUND, NO_NOMINATION,
NOT_YOURS or WRONG_STATUS. Nothing here commits or sends: the caller's unit of work commits, and
messages go out after. Places are taken under a row lock of the unit's quota (and a batch's
places under its batch row), so two contacts pressing at once for the last place cannot both
have it (storage.locks); the database refuses a second nomination of one officer in one round
(unique round and officer).

Times are aware UTC datetimes; dates of eligibility are the union's local dates (`zone`).
Reasons, objections and exclusion flags are sealed with the FieldCipher given (storage.sealed).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

from sqlalchemy import ColumnElement, func
from sqlmodel import Session, col, select

from bot.rules import nominations as rules
from bot.rules.nominations import (
    Allocation,
    Ineligibility,
    NominationStatus,
    QuotaCheck,
    Record,
    Terms,
)
from storage import audit
from storage.crypto import FieldCipher
from storage.locks import locked
from storage.models import (
    HonourAward,
    HonourExclusion,
    Nomination,
    NominationObjection,
    NominationQuota,
    NominationRound,
    Officer,
    Programme,
    RetreatBatch,
    RoundStatus,
    TelegramBinding,
    UnitContact,
)

S = NominationStatus
HELD = [str(status) for status in rules.HOLDS_PLACE]
IN_BATCH = [str(status) for status in rules.HOLDS_BATCH]
ON_LIST = [str(S.PUBLISHED), str(S.OBJECTED)]
# Where an officer stands while a round of theirs is still going: one officer, one such round
# of a title at a time (else both could make them final, and the register holds one a year).
LIVE = [
    str(status)
    for status in (S.APPLIED, S.NOMINATED, S.CONFIRMED, S.APPROVED, S.PUBLISHED, S.OBJECTED)
]
GOING = [str(RoundStatus.OPEN), str(RoundStatus.PUBLICITY)]
NAME_LIMIT = 100
PLACE_LIMIT = 100
MEETING_POINT_LIMIT = 200


class Refusal(StrEnum):
    """Why a step was refused (bot.texts.NOMINATION_REFUSALS says each in one sentence)."""

    # Opening a round.
    NAME_MISSING = "name_missing"
    UNKNOWN_TITLE = "unknown_title"
    BAD_PLACES = "bad_places"
    BAD_WINDOW = "bad_window"
    BAD_QUOTAS = "bad_quotas"  # see Refused.quota
    NO_BATCHES = "no_batches"
    BAD_BATCH = "bad_batch"
    BATCH_TOO_LONG = "batch_too_long"
    BATCH_PLACES_SHORT = "batch_places_short"
    ALLOWANCE_OVER_CAP = "allowance_over_cap"
    # A round, a nomination or an officer that is not there (a forged or outdated press).
    NO_ROUND = "no_round"
    NO_NOMINATION = "no_nomination"
    NO_OFFICER = "no_officer"
    ROUND_NOT_OPEN = "round_not_open"
    BEFORE_WINDOW = "before_window"
    AFTER_WINDOW = "after_window"
    # Nominating and applying.
    OTHER_UNIT = "other_unit"  # the contact acts for another unit, or for none
    INELIGIBLE = "ineligible"  # see Refused.ineligibility
    ALREADY = "already"  # already in this round
    DECLINED_BEFORE = "declined_before"
    QUOTA_FULL = "quota_full"
    NO_QUOTA = "no_quota"  # the unit has no places in this round
    REASON_MISSING = "reason_missing"
    REASON_TOO_LONG = "reason_too_long"
    NOT_RETREAT = "not_retreat"  # honours take no applications, nor batches
    WINDOW_OPEN = "window_open"  # a draw waits until applications have closed
    NO_APPLICANTS = "no_applicants"
    # A nominee's or an organizer's press.
    NOT_YOURS = "not_yours"
    WRONG_STATUS = "wrong_status"  # the nomination has moved on since the button was sent
    NO_BATCH = "no_batch"
    BATCH_FULL = "batch_full"
    # Publicity.
    NOTHING_APPROVED = "nothing_approved"
    NOT_IN_PUBLICITY = "not_in_publicity"
    PUBLICITY_OVER = "publicity_over"
    PUBLICITY_NOT_OVER = "publicity_not_over"
    OPEN_OBJECTIONS = "open_objections"
    OBJECTION_EMPTY = "objection_empty"
    OBJECTION_TOO_LONG = "objection_too_long"
    ALREADY_OBJECTED = "already_objected"
    OWN_NOMINATION = "own_nomination"
    IN_OTHER_ROUND = "in_other_round"  # live in another going round of the same title


@dataclass(frozen=True)
class Refused:
    """A refused step: why, and the details some refusals carry."""

    refusal: Refusal
    ineligibility: Ineligibility | None = None
    quota: QuotaCheck | None = None


@dataclass(frozen=True)
class BatchSpec:
    """A retreat batch as the organizer describes it when opening a round."""

    starts_on: date
    ends_on: date
    place: str
    places: int
    meeting_point: str = ""


def new_seed() -> str:
    """A fresh lottery seed: 16 hex digits, shown to the applicants with the result."""
    return secrets.token_hex(8)


def _active() -> tuple[ColumnElement[bool], ...]:
    """Officers still in the union (not left, not deceased)."""
    return (col(Officer.active).is_(True), col(Officer.deceased_at).is_(None))


def _local_day(moment: datetime, zone: tzinfo) -> date:
    return moment.astimezone(zone).date()


# --- opening a round ---------------------------------------------------------------------------


def officers_per_unit(session: Session, units: Iterable[str] = ()) -> dict[str, int]:
    """Active officers per unit of the roster, by unit name; `units` (the policy's) are listed
    too, with 0 if nobody is in them."""
    rows = session.exec(
        select(Officer.unit, func.count())
        .where(*_active(), Officer.unit != "")
        .group_by(col(Officer.unit))
    ).all()
    counts = {unit: 0 for unit in units}
    counts.update({unit: int(count) for unit, count in rows})
    return dict(sorted(counts.items()))


def default_quotas(session: Session, places: int, units: Iterable[str] = ()) -> Allocation:
    """The round's places shared among units by their active officers (largest remainder)."""
    return rules.allocate(places, officers_per_unit(session, units))


def _round_problem(
    *,
    programme: Programme,
    title: str,
    name: str,
    places: int,
    opens_at: datetime,
    closes_at: datetime,
    batches: Sequence[BatchSpec],
    daily_allowance: int,
    terms: Terms,
    now: datetime,
) -> Refused | None:
    if not name.strip() or len(name) > NAME_LIMIT:
        return Refused(Refusal.NAME_MISSING)
    if programme is Programme.HONOUR and title not in terms.title_years:
        return Refused(Refusal.UNKNOWN_TITLE)
    if places < 1:
        return Refused(Refusal.BAD_PLACES)
    if closes_at <= opens_at or closes_at <= now:
        return Refused(Refusal.BAD_WINDOW)
    if programme is Programme.HONOUR:
        if batches:
            return Refused(Refusal.NOT_RETREAT)
        return Refused(Refusal.ALLOWANCE_OVER_CAP) if daily_allowance else None
    if not batches:
        return Refused(Refusal.NO_BATCHES)
    for batch in batches:
        if (
            batch.ends_on < batch.starts_on
            or batch.places < 1
            or not batch.place.strip()
            or len(batch.place) > PLACE_LIMIT
            or len(batch.meeting_point) > MEETING_POINT_LIMIT
        ):
            return Refused(Refusal.BAD_BATCH)
        if rules.batch_days(batch.starts_on, batch.ends_on) > terms.retreat_max_days:
            return Refused(Refusal.BATCH_TOO_LONG)
    if sum(batch.places for batch in batches) < places:
        return Refused(Refusal.BATCH_PLACES_SHORT)
    if not 0 <= daily_allowance <= terms.daily_allowance_cap:
        return Refused(Refusal.ALLOWANCE_OVER_CAP)
    return None


def open_round(
    session: Session,
    *,
    programme: Programme,
    name: str,
    places: int,
    quotas: Mapping[str, int],
    opens_at: datetime,
    closes_at: datetime,
    terms: Terms,
    actor: str,
    now: datetime,
    title: str = "",
    batches: Sequence[BatchSpec] = (),
    daily_allowance: int = 0,
    units: Iterable[str] = (),
) -> NominationRound | Refused:
    """Open a round with its quotas (and batches), audited; or say why not.

    `title` is the policy's honour key (honours) and must be "" for retreats; `quotas` must be
    valid against the active officers per unit now (bot.rules.nominations.quota_problem: every
    unit known, none above its officers, summing to `places`); `units` are the policy's units,
    known even with nobody in them. Retreats need batches (each at most the policy's days, their
    places together at least the round's) and a daily allowance within the policy's cap;
    honours have neither.
    """
    if programme is Programme.RETREAT:
        title = ""
    refused = _round_problem(
        programme=programme,
        title=title,
        name=name,
        places=places,
        opens_at=opens_at,
        closes_at=closes_at,
        batches=batches,
        daily_allowance=daily_allowance,
        terms=terms,
        now=now,
    )
    if refused is not None:
        return refused
    officers = officers_per_unit(session, units)
    problem = rules.quota_problem(places, quotas, officers)
    if problem is not None:
        return Refused(Refusal.BAD_QUOTAS, quota=problem)
    round_ = NominationRound(
        programme=programme,
        title=title,
        name=name.strip(),
        places=places,
        opens_at=opens_at,
        closes_at=closes_at,
        daily_allowance=daily_allowance,
        created_by=actor,
        created_at=now,
    )
    session.add(round_)
    session.flush()
    assert round_.id is not None
    for unit, quota in quotas.items():
        session.add(
            NominationQuota(
                round_id=round_.id, unit=unit, places=quota, officers=officers.get(unit, 0)
            )
        )
    for batch in sorted(batches, key=lambda item: item.starts_on):
        session.add(
            RetreatBatch(
                round_id=round_.id,
                starts_on=batch.starts_on,
                ends_on=batch.ends_on,
                place=batch.place.strip(),
                meeting_point=batch.meeting_point.strip(),
                places=batch.places,
            )
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.round_open",
        target=f"round:{round_.id}",
        programme=str(programme),
        title=title,
        places=places,
    )
    return round_


def cancel_round(
    session: Session, round_id: int, *, actor: str, now: datetime
) -> NominationRound | Refused:
    """Cancel a round not yet final (audited); its nominations stay as they were."""
    round_ = locked(session, NominationRound, round_id)
    if round_ is None:
        return Refused(Refusal.NO_ROUND)
    if round_.status in (RoundStatus.FINAL, RoundStatus.CANCELLED):
        return Refused(Refusal.ROUND_NOT_OPEN)
    round_.status = RoundStatus.CANCELLED
    session.add(round_)
    session.flush()
    audit.record(session, actor=actor, action="nomination.round_cancel", target=f"round:{round_id}")
    return round_


# --- reading rounds ----------------------------------------------------------------------------


def get_round(session: Session, round_id: int) -> NominationRound | None:
    """The round, if there is one."""
    return session.get(NominationRound, round_id)


def rounds(
    session: Session,
    *,
    programme: Programme | None = None,
    statuses: Iterable[RoundStatus] = (RoundStatus.OPEN, RoundStatus.PUBLICITY),
) -> list[NominationRound]:
    """Rounds in these statuses (open and in publicity by default), newest first."""
    query = select(NominationRound).where(
        col(NominationRound.status).in_([str(status) for status in statuses])
    )
    if programme is not None:
        query = query.where(NominationRound.programme == programme)
    return list(session.exec(query.order_by(col(NominationRound.id).desc())).all())


def quotas_of(session: Session, round_id: int) -> list[NominationQuota]:
    """The round's quota rows, by unit."""
    return list(
        session.exec(
            select(NominationQuota)
            .where(NominationQuota.round_id == round_id)
            .order_by(col(NominationQuota.unit))
        ).all()
    )


def quota_of(session: Session, round_id: int, unit: str) -> NominationQuota | None:
    """The unit's quota row in the round, if it has one."""
    return session.exec(
        select(NominationQuota).where(
            NominationQuota.round_id == round_id, NominationQuota.unit == unit
        )
    ).first()


def batches_of(session: Session, round_id: int) -> list[RetreatBatch]:
    """The round's retreat batches, by first day."""
    return list(
        session.exec(
            select(RetreatBatch)
            .where(RetreatBatch.round_id == round_id)
            .order_by(col(RetreatBatch.starts_on), col(RetreatBatch.id))
        ).all()
    )


def batch_taken(session: Session, batch_id: int) -> int:
    """Places of the batch held by nominees who chose it."""
    count = session.exec(
        select(func.count()).where(
            Nomination.batch_id == batch_id, col(Nomination.status).in_(IN_BATCH)
        )
    ).one()
    return int(count)


def held_places(session: Session, round_id: int, unit: str) -> int:
    """The unit's places taken in the round (nominated up to final; see rules.HOLDS_PLACE)."""
    count = session.exec(
        select(func.count()).where(
            Nomination.round_id == round_id,
            Nomination.unit == unit,
            col(Nomination.status).in_(HELD),
        )
    ).one()
    return int(count)


def get_nomination(session: Session, nomination_id: int) -> Nomination | None:
    """The nomination, if there is one."""
    return session.get(Nomination, nomination_id)


# --- eligibility -------------------------------------------------------------------------------


def records_of(
    session: Session,
    officers: Sequence[Officer],
    *,
    zone: tzinfo,
    skip_round: int | None = None,
) -> dict[int, Record]:
    """What eligibility looks at for each officer, read in four queries whatever their number.

    Retreats are the first days of batches held in other rounds (confirmed up to final: past
    and planned). The roster holds no joining date: the day the officer was added to the bot's
    roster stands for it, except for officers of the first import (added on the day the
    earliest officer was), the union's members before the bot, whose day is unknown and so
    never refuses them.
    """
    ids = [officer.id for officer in officers if officer.id is not None]
    first = session.exec(select(func.min(Officer.created_at))).one()
    founding = _local_day(first, zone) if first is not None else None
    retreats: dict[int, list[date]] = {}
    honours: dict[int, list[tuple[str, int]]] = {}
    flags: dict[int, set[str]] = {}
    if ids:
        query = (
            select(Nomination.officer_id, col(RetreatBatch.starts_on))
            .join(RetreatBatch, col(RetreatBatch.id) == col(Nomination.batch_id))
            .where(col(Nomination.officer_id).in_(ids), col(Nomination.status).in_(IN_BATCH))
        )
        if skip_round is not None:
            query = query.where(Nomination.round_id != skip_round)
        for officer_id, day in session.exec(query).all():
            retreats.setdefault(officer_id, []).append(day)
        for officer_id, title, year in session.exec(
            select(HonourAward.officer_id, HonourAward.title, HonourAward.year).where(
                col(HonourAward.officer_id).in_(ids)
            )
        ).all():
            honours.setdefault(officer_id, []).append((title, year))
        for officer_id, title in session.exec(
            select(HonourExclusion.officer_id, HonourExclusion.title).where(
                col(HonourExclusion.officer_id).in_(ids)
            )
        ).all():
            flags.setdefault(officer_id, set()).add(title)
    return {
        officer.id: Record(
            active=officer.active and officer.deceased_at is None,
            on_roster_since=(
                None
                if _local_day(officer.created_at, zone) == founding
                else _local_day(officer.created_at, zone)
            ),
            retreats=tuple(retreats.get(officer.id, ())),
            honours=tuple(honours.get(officer.id, ())),
            excluded_titles=frozenset(flags.get(officer.id, ())),
        )
        for officer in officers
        if officer.id is not None
    }


def _title_of(round_: NominationRound) -> str | None:
    return round_.title if round_.programme == Programme.HONOUR else None


def eligibility_of(
    session: Session,
    round_: NominationRound,
    officer: Officer,
    *,
    terms: Terms,
    now: datetime,
    zone: tzinfo,
) -> Ineligibility | None:
    """None if the officer may be put forward in the round today; else why not."""
    record = records_of(session, [officer], zone=zone, skip_round=round_.id)[officer.id or 0]
    return rules.eligibility(record, terms, on=_local_day(now, zone), title=_title_of(round_))


@dataclass(frozen=True)
class Candidate:
    """An officer of the unit as the contact sees them: why they may not be nominated (None:
    they may), and their nomination in this round if they have one."""

    officer: Officer
    ineligibility: Ineligibility | None
    nomination: Nomination | None


def candidates(
    session: Session,
    round_id: int,
    unit: str,
    *,
    terms: Terms,
    now: datetime,
    zone: tzinfo,
) -> list[Candidate]:
    """Every active officer of the unit, by police ID, with eligibility and nomination.

    For the contact's picking screen: ineligible officers are shown with their reason (an
    exclusion flag shows as EXCLUDED only; its reason stays with the organizers).
    """
    round_ = session.get(NominationRound, round_id)
    if round_ is None:
        return []
    officers = list(
        session.exec(
            select(Officer).where(*_active(), Officer.unit == unit).order_by(col(Officer.police_id))
        ).all()
    )
    records = records_of(session, officers, zone=zone, skip_round=round_id)
    existing = {
        row.officer_id: row
        for row in session.exec(
            select(Nomination).where(Nomination.round_id == round_id, Nomination.unit == unit)
        ).all()
    }
    on, title = _local_day(now, zone), _title_of(round_)
    return [
        Candidate(
            officer,
            rules.eligibility(records[officer.id or 0], terms, on=on, title=title),
            existing.get(officer.id or 0),
        )
        for officer in officers
    ]


# --- nominating and applying -------------------------------------------------------------------


def _window_refusal(round_: NominationRound, now: datetime) -> Refused | None:
    if round_.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_NOT_OPEN)
    if now < round_.opens_at:
        return Refused(Refusal.BEFORE_WINDOW)
    if now >= round_.closes_at:
        return Refused(Refusal.AFTER_WINDOW)
    return None


def _touch(nomination: Nomination, status: NominationStatus, now: datetime) -> None:
    nomination.status = status
    nomination.updated_at = now


def _contact_refusal(session: Session, contact_id: int, unit: str) -> Refused | None:
    row = session.exec(
        select(UnitContact.id).where(UnitContact.officer_id == contact_id, UnitContact.unit == unit)
    ).first()
    return None if row is not None else Refused(Refusal.OTHER_UNIT)


def _other_round_refusal(
    session: Session, round_: NominationRound, officer_id: int
) -> Refused | None:
    """IN_OTHER_ROUND if the officer is live in another open or publicised round of the same
    programme and title."""
    row = session.exec(
        select(Nomination.id)
        .join(NominationRound, col(NominationRound.id) == col(Nomination.round_id))
        .where(
            Nomination.officer_id == officer_id,
            Nomination.round_id != round_.id,
            col(Nomination.status).in_(LIVE),
            NominationRound.programme == round_.programme,
            NominationRound.title == round_.title,
            col(NominationRound.status).in_(GOING),
        )
    ).first()
    return None if row is None else Refused(Refusal.IN_OTHER_ROUND)


def _reason_refusal(round_: NominationRound, reason: str, terms: Terms) -> Refused | None:
    if round_.programme != Programme.HONOUR:
        return None
    if not reason.strip():
        return Refused(Refusal.REASON_MISSING)
    if len(reason.strip()) > terms.honour_reason_max_chars:
        return Refused(Refusal.REASON_TOO_LONG)
    return None


def nominate(
    session: Session,
    round_id: int,
    officer_id: int,
    *,
    contact_id: int,
    actor: str,
    terms: Terms,
    cipher: FieldCipher,
    now: datetime,
    zone: tzinfo,
    reason: str = "",
) -> Nomination | Refused:
    """A unit contact puts an officer of their own unit forward (status nominated).

    Refused: no such round or officer; the round not open or outside its window; the contact
    not a contact of the officer's unit (OTHER_UNIT); honours without a reason or with one over
    the policy's length; the officer already in the round (an applicant is taken as chosen,
    one returned, unselected or withdrawn may be put forward again; one who declined may not);
    not eligible; live in another open round of the same title (IN_OTHER_ROUND); the unit's
    quota full. The quota row is locked first, so two contacts
    pressing for the last place at once are served one after the other.
    """
    round_ = session.get(NominationRound, round_id)
    if round_ is None:
        return Refused(Refusal.NO_ROUND)
    officer = session.get(Officer, officer_id)
    if officer is None:
        return Refused(Refusal.NO_OFFICER)
    refused = (
        _window_refusal(round_, now)
        or _contact_refusal(session, contact_id, officer.unit)
        or _reason_refusal(round_, reason, terms)
    )
    if refused is not None:
        return refused
    quota = quota_of(session, round_id, officer.unit)
    if quota is None or quota.id is None or quota.places == 0:
        return Refused(Refusal.NO_QUOTA)
    locked(session, NominationQuota, quota.id)
    existing = session.exec(
        select(Nomination).where(
            Nomination.round_id == round_id, Nomination.officer_id == officer_id
        )
    ).first()
    if existing is not None:
        if existing.status == S.DECLINED:
            return Refused(Refusal.DECLINED_BEFORE)
        if not rules.can_move(existing.status, S.NOMINATED):
            return Refused(Refusal.ALREADY)
    ineligible = eligibility_of(session, round_, officer, terms=terms, now=now, zone=zone)
    if ineligible is not None:
        return Refused(Refusal.INELIGIBLE, ineligibility=ineligible)
    elsewhere = _other_round_refusal(session, round_, officer_id)
    if elsewhere is not None:
        return elsewhere
    if held_places(session, round_id, officer.unit) >= quota.places:
        return Refused(Refusal.QUOTA_FULL)
    nomination = existing or Nomination(
        round_id=round_id, officer_id=officer_id, unit=officer.unit, status=S.NOMINATED
    )
    nomination.unit = officer.unit
    nomination.nominated_by = actor
    nomination.batch_id = None
    nomination.decision_reason_cipher = ""
    if reason.strip():
        nomination.reason_cipher = cipher.encrypt(reason.strip())
    _touch(nomination, S.NOMINATED, now)
    session.add(nomination)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.nominate",
        target=f"nomination:{nomination.id}",
        officer=officer.police_id,
    )
    return nomination


def apply(
    session: Session,
    round_id: int,
    officer_id: int,
    *,
    terms: Terms,
    now: datetime,
    zone: tzinfo,
) -> Nomination | Refused:
    """An officer applies for a retreat themselves (status applied), within the window.

    Refused: no such round; not a retreat; closed or outside the window; their unit has no
    places; already in the round (one who withdrew may apply again); not eligible; live in
    another open round of the same title (IN_OTHER_ROUND). An
    application holds no place: the contact chooses among applicants, or draws.
    """
    round_ = session.get(NominationRound, round_id)
    if round_ is None:
        return Refused(Refusal.NO_ROUND)
    if round_.programme != Programme.RETREAT:
        return Refused(Refusal.NOT_RETREAT)
    officer = session.get(Officer, officer_id)
    if officer is None:
        return Refused(Refusal.NO_OFFICER)
    refused = _window_refusal(round_, now)
    if refused is not None:
        return refused
    quota = quota_of(session, round_id, officer.unit)
    if quota is None or quota.id is None or quota.places == 0:
        return Refused(Refusal.NO_QUOTA)
    # The same lock as the contact's: a nomination of this officer and their application
    # cannot both be written.
    locked(session, NominationQuota, quota.id)
    existing = session.exec(
        select(Nomination).where(
            Nomination.round_id == round_id, Nomination.officer_id == officer_id
        )
    ).first()
    if existing is not None and not rules.can_move(existing.status, S.APPLIED):
        return Refused(Refusal.ALREADY)
    ineligible = eligibility_of(session, round_, officer, terms=terms, now=now, zone=zone)
    if ineligible is not None:
        return Refused(Refusal.INELIGIBLE, ineligibility=ineligible)
    elsewhere = _other_round_refusal(session, round_, officer_id)
    if elsewhere is not None:
        return elsewhere
    nomination = existing or Nomination(
        round_id=round_id, officer_id=officer_id, unit=officer.unit, status=S.APPLIED
    )
    nomination.unit = officer.unit
    nomination.applied = True
    nomination.nominated_by = ""
    _touch(nomination, S.APPLIED, now)
    session.add(nomination)
    session.flush()
    return nomination


def withdraw(
    session: Session,
    nomination_id: int,
    *,
    actor: str,
    now: datetime,
    officer_id: int | None = None,
    contact_id: int | None = None,
) -> Nomination | Refused:
    """Withdraw, while the round is open: an applicant their own application (`officer_id`),
    or a contact of the nomination's unit (`contact_id`) a nomination the organizers have not
    yet approved (nominated or confirmed); its place goes back to the unit."""
    nomination = locked(session, Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    if contact_id is not None:
        refused = _contact_refusal(session, contact_id, nomination.unit)
        if refused is not None:
            return refused
        if nomination.status not in (S.NOMINATED, S.CONFIRMED):
            return Refused(Refusal.WRONG_STATUS)
    else:
        if nomination.officer_id != officer_id:
            return Refused(Refusal.NOT_YOURS)
        if nomination.status != S.APPLIED:
            return Refused(Refusal.WRONG_STATUS)
    round_ = session.get(NominationRound, nomination.round_id)
    if round_ is None or round_.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_NOT_OPEN)
    nomination.batch_id = None
    nomination.decided_by = actor
    _touch(nomination, S.WITHDRAWN, now)
    session.add(nomination)
    session.flush()
    return nomination


def select_applicant(
    session: Session, nomination_id: int, *, contact_id: int, actor: str, now: datetime
) -> Nomination | Refused:
    """The unit's contact chooses an applicant (or an unselected one, for a place given back):
    nominated, within the quota (the quota row locked first). The window may have closed."""
    nomination = session.get(Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    round_ = session.get(NominationRound, nomination.round_id)
    if round_ is None or round_.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_NOT_OPEN)
    refused = _contact_refusal(session, contact_id, nomination.unit)
    if refused is not None:
        return refused
    quota = quota_of(session, nomination.round_id, nomination.unit)
    if quota is None or quota.id is None:
        return Refused(Refusal.NO_QUOTA)
    locked(session, NominationQuota, quota.id)
    nomination = locked(session, Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    if nomination.status not in (S.APPLIED, S.UNSELECTED):
        return Refused(Refusal.WRONG_STATUS)
    if held_places(session, nomination.round_id, nomination.unit) >= quota.places:
        return Refused(Refusal.QUOTA_FULL)
    nomination.nominated_by = actor
    _touch(nomination, S.NOMINATED, now)
    session.add(nomination)
    session.flush()
    return nomination


@dataclass(frozen=True)
class DrawResult:
    """A unit's lottery: the seed, the applicants in lottery order (police ID, nomination), and
    how many places it filled. The first `places` of `order` were nominated, the rest not."""

    seed: str
    order: list[tuple[str, Nomination]]
    places: int

    @property
    def winners(self) -> list[Nomination]:
        """The applicants the lottery nominated."""
        return [nomination for _, nomination in self.order[: self.places]]

    @property
    def others(self) -> list[Nomination]:
        """The applicants it did not."""
        return [nomination for _, nomination in self.order[self.places :]]


def draw(
    session: Session,
    round_id: int,
    unit: str,
    *,
    actor: str,
    now: datetime,
    contact_id: int | None = None,
    seed: str | None = None,
) -> DrawResult | Refused:
    """Draw the unit's free places among its applicants, once applications have closed.

    The round's seed is made at its first draw (or `seed`, for tests) and kept: every unit's
    draw uses it, and the applicants are shown it with the result, so anyone can recompute the
    order (bot.rules.nominations.lottery_order over the applicants' police IDs). Winners are
    nominated, the rest unselected, each with their rank. `contact_id` (a contact drawing) must
    be the unit's; organizers pass None. Audited.
    """
    round_ = locked(session, NominationRound, round_id)
    if round_ is None:
        return Refused(Refusal.NO_ROUND)
    if round_.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_NOT_OPEN)
    if round_.programme != Programme.RETREAT:
        return Refused(Refusal.NOT_RETREAT)
    if now < round_.closes_at:
        return Refused(Refusal.WINDOW_OPEN)
    if contact_id is not None:
        refused = _contact_refusal(session, contact_id, unit)
        if refused is not None:
            return refused
    quota = quota_of(session, round_id, unit)
    if quota is None or quota.id is None:
        return Refused(Refusal.NO_QUOTA)
    quota = locked(session, NominationQuota, quota.id)
    assert quota is not None
    applicants = {
        officer.police_id: nomination
        for nomination, officer in session.exec(
            select(Nomination, Officer)
            .join(Officer, col(Officer.id) == col(Nomination.officer_id))
            .where(
                Nomination.round_id == round_id,
                Nomination.unit == unit,
                Nomination.status == S.APPLIED,
            )
        ).all()
    }
    if not applicants:
        return Refused(Refusal.NO_APPLICANTS)
    free = max(quota.places - held_places(session, round_id, unit), 0)
    if not round_.lottery_seed:
        round_.lottery_seed = seed or new_seed()
        session.add(round_)
    order = rules.lottery_order(round_.lottery_seed, applicants)
    for rank, police_id in enumerate(order, start=1):
        nomination = applicants[police_id]
        nomination.lottery_rank = rank
        nomination.nominated_by = actor if rank <= free else ""
        _touch(nomination, S.NOMINATED if rank <= free else S.UNSELECTED, now)
        session.add(nomination)
    quota.drawn_at, quota.drawn_by = now, actor
    session.add(quota)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.draw",
        target=f"round:{round_id}",
        unit=unit,
        seed=round_.lottery_seed,
        applicants=len(order),
        places=free,
    )
    return DrawResult(
        round_.lottery_seed, [(police_id, applicants[police_id]) for police_id in order], free
    )


# --- the nominee's answer ----------------------------------------------------------------------


def confirm(
    session: Session,
    nomination_id: int,
    officer_id: int,
    *,
    now: datetime,
    batch_id: int | None = None,
) -> Nomination | Refused:
    """The nominee accepts (confirmed); a retreat's nominee chooses a batch of the round with a
    free place (its row locked), and may change it again while only confirmed."""
    nomination = locked(session, Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    if nomination.officer_id != officer_id:
        return Refused(Refusal.NOT_YOURS)
    if nomination.status not in (S.NOMINATED, S.CONFIRMED):
        return Refused(Refusal.WRONG_STATUS)
    round_ = session.get(NominationRound, nomination.round_id)
    if round_ is None or round_.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_NOT_OPEN)
    if round_.programme == Programme.RETREAT:
        if batch_id is None:
            return Refused(Refusal.NO_BATCH)
        batch = locked(session, RetreatBatch, batch_id)
        if batch is None or batch.round_id != round_.id:
            return Refused(Refusal.NO_BATCH)
        mine = nomination.status == S.CONFIRMED and nomination.batch_id == batch_id
        if not mine and batch_taken(session, batch_id) >= batch.places:
            return Refused(Refusal.BATCH_FULL)
        nomination.batch_id = batch_id
    elif batch_id is not None:
        return Refused(Refusal.NOT_RETREAT)
    _touch(nomination, S.CONFIRMED, now)
    session.add(nomination)
    session.flush()
    return nomination


def decline(
    session: Session, nomination_id: int, officer_id: int, *, now: datetime
) -> Nomination | Refused:
    """The nominee says no, at any step before final: the place goes back to the unit (and the
    batch's place to the batch). The caller tells the unit's contacts
    (storage.roles.contacts_of_unit)."""
    nomination = locked(session, Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    if nomination.officer_id != officer_id:
        return Refused(Refusal.NOT_YOURS)
    if not rules.can_move(nomination.status, S.DECLINED):
        return Refused(Refusal.WRONG_STATUS)
    nomination.batch_id = None
    _touch(nomination, S.DECLINED, now)
    session.add(nomination)
    session.flush()
    return nomination


# --- organizers: approval, publicity, objections, the final list --------------------------------


def _decide(
    session: Session,
    nomination_id: int,
    *,
    source: Iterable[NominationStatus],
    target: NominationStatus,
    round_status: RoundStatus,
    actor: str,
    now: datetime,
) -> Nomination | Refused:
    nomination = locked(session, Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    round_ = session.get(NominationRound, nomination.round_id)
    if round_ is None or round_.status != round_status:
        refusal = Refusal.NOT_IN_PUBLICITY if round_status is RoundStatus.PUBLICITY else None
        return Refused(refusal or Refusal.ROUND_NOT_OPEN)
    if nomination.status not in set(source):
        return Refused(Refusal.WRONG_STATUS)
    nomination.decided_by, nomination.decided_at = actor, now
    _touch(nomination, target, now)
    session.add(nomination)
    session.flush()
    return nomination


def approve(
    session: Session, nomination_id: int, *, actor: str, now: datetime
) -> Nomination | Refused:
    """An organizer approves a confirmed nomination (the round still open). Audited."""
    done = _decide(
        session,
        nomination_id,
        source=[S.CONFIRMED],
        target=S.APPROVED,
        round_status=RoundStatus.OPEN,
        actor=actor,
        now=now,
    )
    if isinstance(done, Nomination):
        audit.record(
            session, actor=actor, action="nomination.approve", target=f"nomination:{done.id}"
        )
    return done


def return_nomination(
    session: Session,
    nomination_id: int,
    *,
    reason: str,
    cipher: FieldCipher,
    actor: str,
    now: datetime,
    max_chars: int = 500,
) -> Nomination | Refused:
    """An organizer returns a confirmed nomination to the unit, with a reason (sealed): its
    place goes back; the contact may put the officer forward again. Audited."""
    if not reason.strip():
        return Refused(Refusal.REASON_MISSING)
    if len(reason.strip()) > max_chars:
        return Refused(Refusal.REASON_TOO_LONG)
    done = _decide(
        session,
        nomination_id,
        source=[S.CONFIRMED],
        target=S.RETURNED,
        round_status=RoundStatus.OPEN,
        actor=actor,
        now=now,
    )
    if isinstance(done, Nomination):
        done.decision_reason_cipher = cipher.encrypt(reason.strip())
        done.batch_id = None
        session.add(done)
        session.flush()
        audit.record(
            session, actor=actor, action="nomination.return", target=f"nomination:{done.id}"
        )
    return done


def reason_of(nomination: Nomination, cipher: FieldCipher) -> str:
    """The honour's reason the contact gave ("" for none)."""
    return cipher.decrypt(nomination.reason_cipher)


def decision_reason_of(nomination: Nomination, cipher: FieldCipher) -> str:
    """The organizer's reason for returning, keeping or removing ("" for none)."""
    return cipher.decrypt(nomination.decision_reason_cipher)


def publish(
    session: Session, round_id: int, *, terms: Terms, actor: str, now: datetime
) -> list[Nomination] | Refused:
    """Publish the approved nominations (公示) for the policy's days, from now: they become
    published and the round goes into publicity. Nominations not yet approved stay behind.
    Audited. Returns the published nominations."""
    round_ = locked(session, NominationRound, round_id)
    if round_ is None:
        return Refused(Refusal.NO_ROUND)
    if round_.status != RoundStatus.OPEN:
        return Refused(Refusal.ROUND_NOT_OPEN)
    approved = list(
        session.exec(
            select(Nomination)
            .where(Nomination.round_id == round_id, Nomination.status == S.APPROVED)
            .order_by(col(Nomination.id))
        ).all()
    )
    if not approved:
        return Refused(Refusal.NOTHING_APPROVED)
    for nomination in approved:
        _touch(nomination, S.PUBLISHED, now)
        session.add(nomination)
    round_.status = RoundStatus.PUBLICITY
    round_.publicity_starts_at = now
    # Calendar days: the notice says until when, to the minute.
    round_.publicity_ends_at = now + timedelta(days=terms.publicity_days)
    session.add(round_)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.publish",
        target=f"round:{round_id}",
        published=len(approved),
    )
    return approved


def object_to(
    session: Session,
    nomination_id: int,
    objector_id: int,
    text: str,
    *,
    terms: Terms,
    cipher: FieldCipher,
    now: datetime,
) -> NominationObjection | Refused:
    """An officer objects privately to a published nomination, during the publicity: the text
    sealed, the objector kept for organizers only. One objection per officer and nomination;
    not to one's own. The nomination is then objected until an organizer decides."""
    cleaned = text.strip()
    if not cleaned:
        return Refused(Refusal.OBJECTION_EMPTY)
    if len(cleaned) > terms.objection_max_chars:
        return Refused(Refusal.OBJECTION_TOO_LONG)
    nomination = locked(session, Nomination, nomination_id)
    if nomination is None:
        return Refused(Refusal.NO_NOMINATION)
    round_ = session.get(NominationRound, nomination.round_id)
    if round_ is None or round_.status != RoundStatus.PUBLICITY:
        return Refused(Refusal.NOT_IN_PUBLICITY)
    if round_.publicity_ends_at is not None and now >= round_.publicity_ends_at:
        return Refused(Refusal.PUBLICITY_OVER)
    if nomination.status not in ON_LIST:
        return Refused(Refusal.WRONG_STATUS)
    if nomination.officer_id == objector_id:
        return Refused(Refusal.OWN_NOMINATION)
    earlier = session.exec(
        select(NominationObjection.id).where(
            NominationObjection.nomination_id == nomination_id,
            NominationObjection.objector_id == objector_id,
        )
    ).first()
    if earlier is not None:
        return Refused(Refusal.ALREADY_OBJECTED)
    objection = NominationObjection(
        nomination_id=nomination_id,
        objector_id=objector_id,
        text_cipher=cipher.encrypt(cleaned),
        created_at=now,
    )
    session.add(objection)
    _touch(nomination, S.OBJECTED, now)
    session.add(nomination)
    session.flush()
    return objection


def resolve(
    session: Session,
    nomination_id: int,
    *,
    keep: bool,
    reason: str,
    cipher: FieldCipher,
    actor: str,
    now: datetime,
    max_chars: int = 500,
) -> Nomination | Refused:
    """An organizer decides on an objected nomination, with a reason (sealed): kept (back on
    the list) or removed. Its open objections are marked decided. Audited."""
    if not reason.strip():
        return Refused(Refusal.REASON_MISSING)
    if len(reason.strip()) > max_chars:
        return Refused(Refusal.REASON_TOO_LONG)
    done = _decide(
        session,
        nomination_id,
        source=[S.OBJECTED],
        target=S.PUBLISHED if keep else S.REMOVED,
        round_status=RoundStatus.PUBLICITY,
        actor=actor,
        now=now,
    )
    if not isinstance(done, Nomination):
        return done
    done.decision_reason_cipher = cipher.encrypt(reason.strip())
    if not keep:
        done.batch_id = None
    session.add(done)
    outcome = "kept" if keep else "removed"
    for objection in session.exec(
        select(NominationObjection).where(
            NominationObjection.nomination_id == nomination_id, NominationObjection.outcome == ""
        )
    ).all():
        objection.outcome, objection.decided_by, objection.decided_at = outcome, actor, now
        session.add(objection)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.keep" if keep else "nomination.remove",
        target=f"nomination:{nomination_id}",
    )
    return done


def finalize(
    session: Session, round_id: int, *, actor: str, now: datetime, zone: tzinfo
) -> list[Nomination] | Refused:
    """After the publicity, with no objection left undecided: the published nominations are
    final and the round too. Honours are written to the register for the year of `now` (the
    union's local year), except where the officer has that title for that year already;
    retreats' batch lists stand. Audited. Returns the final nominations."""
    round_ = locked(session, NominationRound, round_id)
    if round_ is None:
        return Refused(Refusal.NO_ROUND)
    if round_.status != RoundStatus.PUBLICITY:
        return Refused(Refusal.NOT_IN_PUBLICITY)
    if round_.publicity_ends_at is not None and now < round_.publicity_ends_at:
        return Refused(Refusal.PUBLICITY_NOT_OVER)
    listed = list(
        session.exec(
            select(Nomination)
            .where(Nomination.round_id == round_id, col(Nomination.status).in_(ON_LIST))
            .order_by(col(Nomination.id))
        ).all()
    )
    if any(nomination.status == S.OBJECTED for nomination in listed):
        return Refused(Refusal.OPEN_OBJECTIONS)
    year = now.astimezone(zone).year
    # The register holds one award of a title a year: one given already (by another round of
    # the title, or recorded by hand) stands, and this round's is not written twice.
    awarded = (
        set(
            session.exec(
                select(HonourAward.officer_id).where(
                    HonourAward.title == round_.title,
                    HonourAward.year == year,
                    col(HonourAward.officer_id).in_([row.officer_id for row in listed]),
                )
            ).all()
        )
        if round_.programme == Programme.HONOUR and listed
        else set()
    )
    for nomination in listed:
        _touch(nomination, S.FINAL, now)
        session.add(nomination)
        if round_.programme == Programme.HONOUR and nomination.officer_id not in awarded:
            awarded.add(nomination.officer_id)
            session.add(
                HonourAward(
                    officer_id=nomination.officer_id,
                    title=round_.title,
                    year=year,
                    round_id=round_id,
                    recorded_by=actor,
                    recorded_at=now,
                )
            )
    round_.status = RoundStatus.FINAL
    round_.finalized_at = now
    session.add(round_)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.finalize",
        target=f"round:{round_id}",
        final=len(listed),
    )
    return listed


def rounds_to_finalize(session: Session, now: datetime) -> list[NominationRound]:
    """Rounds in publicity whose publicity has ended (for a scheduled job or a reminder)."""
    return list(
        session.exec(
            select(NominationRound).where(
                NominationRound.status == RoundStatus.PUBLICITY,
                col(NominationRound.publicity_ends_at) <= now,
            )
        ).all()
    )


# --- exclusion flags and the register ----------------------------------------------------------


def set_exclusion(
    session: Session,
    officer_id: int,
    title: str,
    reason: str,
    *,
    cipher: FieldCipher,
    actor: str,
    now: datetime,
) -> HonourExclusion | Refused:
    """Flag an officer out of an honour title ("" for every title), with a sealed reason that
    only organizers see; setting it again replaces the reason. Audited."""
    if not reason.strip():
        return Refused(Refusal.REASON_MISSING)
    officer = session.get(Officer, officer_id)
    if officer is None:
        return Refused(Refusal.NO_OFFICER)
    flag = session.exec(
        select(HonourExclusion).where(
            HonourExclusion.officer_id == officer_id, HonourExclusion.title == title
        )
    ).first() or HonourExclusion(officer_id=officer_id, title=title, set_by=actor)
    flag.reason_cipher = cipher.encrypt(reason.strip())
    flag.set_by, flag.set_at = actor, now
    session.add(flag)
    session.flush()
    audit.record(
        session, actor=actor, action="nomination.exclude", target=officer.police_id, title=title
    )
    return flag


def lift_exclusion(session: Session, officer_id: int, title: str, *, actor: str) -> bool:
    """Take a flag away; False if there was none. Audited."""
    flag = session.exec(
        select(HonourExclusion).where(
            HonourExclusion.officer_id == officer_id, HonourExclusion.title == title
        )
    ).first()
    if flag is None:
        return False
    session.delete(flag)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.unexclude",
        target=f"officer:{officer_id}",
        title=title,
    )
    return True


@dataclass(frozen=True)
class ExclusionView:
    """A flag as organizers see it."""

    officer: Officer
    title: str
    reason: str
    set_by: str
    set_at: datetime


def exclusions(session: Session, cipher: FieldCipher) -> list[ExclusionView]:
    """Every exclusion flag with its reason: for organizers only."""
    rows = session.exec(
        select(HonourExclusion, Officer)
        .join(Officer, col(Officer.id) == col(HonourExclusion.officer_id))
        .order_by(col(Officer.police_id), col(HonourExclusion.title))
    ).all()
    return [
        ExclusionView(
            officer, flag.title, cipher.decrypt(flag.reason_cipher), flag.set_by, flag.set_at
        )
        for flag, officer in rows
    ]


def record_award(
    session: Session, officer_id: int, title: str, year: int, *, actor: str
) -> HonourAward | None:
    """Write a past honour into the register by hand (None if it is there already). Audited."""
    existing = session.exec(
        select(HonourAward).where(
            HonourAward.officer_id == officer_id,
            HonourAward.title == title,
            HonourAward.year == year,
        )
    ).first()
    if existing is not None:
        return None
    award = HonourAward(officer_id=officer_id, title=title, year=year, recorded_by=actor)
    session.add(award)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="nomination.award",
        target=f"officer:{officer_id}",
        title=title,
        year=year,
    )
    return award


# --- views -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MyNomination:
    """One of the officer's own nominations, with its round and batch."""

    round: NominationRound
    nomination: Nomination
    batch: RetreatBatch | None


def officer_nominations(session: Session, officer_id: int) -> list[MyNomination]:
    """The officer's nominations and applications, newest round first."""
    rows = session.exec(
        select(Nomination, NominationRound)
        .join(NominationRound, col(NominationRound.id) == col(Nomination.round_id))
        .where(Nomination.officer_id == officer_id)
        .order_by(col(NominationRound.id).desc())
    ).all()
    batches = _batches(session, [n.batch_id for n, _ in rows if n.batch_id is not None])
    return [
        MyNomination(round_, nomination, batches.get(nomination.batch_id or 0))
        for nomination, round_ in rows
    ]


def _batches(session: Session, ids: Sequence[int]) -> dict[int, RetreatBatch]:
    if not ids:
        return {}
    rows = session.exec(select(RetreatBatch).where(col(RetreatBatch.id).in_(list(ids)))).all()
    return {batch.id: batch for batch in rows if batch.id is not None}


@dataclass(frozen=True)
class UnitView:
    """A unit in a round, as its contact sees it: the quota, the places taken and everyone
    the unit put forward or who applied (by status, then police ID)."""

    quota: NominationQuota
    held: int
    entries: list[tuple[Nomination, Officer]]

    @property
    def free(self) -> int:
        """Places the contact may still fill."""
        return max(self.quota.places - self.held, 0)


def unit_view(session: Session, round_id: int, unit: str) -> UnitView | None:
    """The unit's quota and nominations in the round; None if it has no quota row."""
    quota = quota_of(session, round_id, unit)
    if quota is None:
        return None
    rows = session.exec(
        select(Nomination, Officer)
        .join(Officer, col(Officer.id) == col(Nomination.officer_id))
        .where(Nomination.round_id == round_id, Nomination.unit == unit)
        .order_by(col(Nomination.status), col(Officer.police_id))
    ).all()
    entries = [(nomination, officer) for nomination, officer in rows]
    held = sum(1 for nomination, _ in entries if nomination.status in HELD)
    return UnitView(quota, held, entries)


@dataclass(frozen=True)
class UnitProgress:
    """One unit's line in the organizers' progress view."""

    unit: str
    places: int
    held: int
    by_status: dict[str, int]


def round_progress(session: Session, round_id: int) -> list[UnitProgress]:
    """Every unit of the round with its places, places taken and counts per status."""
    counts: dict[str, Counter[str]] = {}
    for unit, status, count in session.exec(
        select(Nomination.unit, Nomination.status, func.count())
        .where(Nomination.round_id == round_id)
        .group_by(col(Nomination.unit), col(Nomination.status))
    ).all():
        counts.setdefault(unit, Counter())[status] = int(count)
    lines = []
    for quota in quotas_of(session, round_id):
        by_status = dict(counts.pop(quota.unit, Counter()))
        held = sum(count for status, count in by_status.items() if status in HELD)
        lines.append(UnitProgress(quota.unit, quota.places, held, by_status))
    # Officers who moved unit after the round opened still show, under their old unit.
    for unit, counter in sorted(counts.items()):
        held = sum(count for status, count in counter.items() if status in HELD)
        lines.append(UnitProgress(unit, 0, held, dict(counter)))
    return lines


def to_review(session: Session, round_id: int) -> list[tuple[Nomination, Officer]]:
    """Confirmed nominations awaiting an organizer's approval, by unit then police ID."""
    rows = session.exec(
        select(Nomination, Officer)
        .join(Officer, col(Officer.id) == col(Nomination.officer_id))
        .where(Nomination.round_id == round_id, Nomination.status == S.CONFIRMED)
        .order_by(col(Nomination.unit), col(Officer.police_id))
    ).all()
    return [(nomination, officer) for nomination, officer in rows]


@dataclass(frozen=True)
class PublicEntry:
    """A line of the publicity list: what every officer may see (names, units, the title)."""

    nomination_id: int
    name: str
    unit: str


def publicity_list(session: Session, round_id: int) -> list[PublicEntry]:
    """The published nominations of a round, by unit then name. An objected one stays listed
    as it was: nobody learns from the list that someone objected."""
    rows = session.exec(
        select(Nomination.id, Officer.name, Nomination.unit)
        .join(Officer, col(Officer.id) == col(Nomination.officer_id))
        .where(Nomination.round_id == round_id, col(Nomination.status).in_([*ON_LIST, S.FINAL]))
        .order_by(col(Nomination.unit), col(Officer.police_id))
    ).all()
    return [PublicEntry(int(nomination_id or 0), name, unit) for nomination_id, name, unit in rows]


@dataclass(frozen=True)
class ObjectionView:
    """An objection as organizers see it (never the nominee)."""

    objection: NominationObjection
    nominee: Officer
    objector: Officer
    text: str


def objections_of(session: Session, round_id: int, cipher: FieldCipher) -> list[ObjectionView]:
    """Every objection of a round with its text and objector, oldest first: organizers only."""
    rows = session.exec(
        select(NominationObjection, Nomination.officer_id)
        .join(Nomination, col(Nomination.id) == col(NominationObjection.nomination_id))
        .where(Nomination.round_id == round_id)
        .order_by(col(NominationObjection.id))
    ).all()
    if not rows:
        return []
    people = {
        officer.id: officer
        for officer in session.exec(
            select(Officer).where(
                col(Officer.id).in_(
                    {officer_id for _, officer_id in rows}
                    | {objection.objector_id for objection, _ in rows}
                )
            )
        ).all()
    }
    return [
        ObjectionView(
            objection,
            people[officer_id],
            people[objection.objector_id],
            cipher.decrypt(objection.text_cipher),
        )
        for objection, officer_id in rows
    ]


@dataclass(frozen=True)
class WallEntry:
    """A line of the honours wall."""

    year: int
    title: str
    name: str
    unit: str


def honours_wall(session: Session, year: int | None = None) -> list[WallEntry]:
    """The honours register by year (newest first), title, unit and police ID; one year if
    given. Titles are the policy's keys."""
    query = select(HonourAward.year, HonourAward.title, Officer.name, Officer.unit).join(
        Officer, col(Officer.id) == col(HonourAward.officer_id)
    )
    if year is not None:
        query = query.where(HonourAward.year == year)
    rows = session.exec(
        query.order_by(
            col(HonourAward.year).desc(),
            col(HonourAward.title),
            col(Officer.unit),
            col(Officer.police_id),
        )
    ).all()
    return [WallEntry(int(y), title, name, unit) for y, title, name, unit in rows]


def honours_of(session: Session, officer_id: int) -> list[HonourAward]:
    """The officer's honours, newest first (for /me)."""
    return list(
        session.exec(
            select(HonourAward)
            .where(HonourAward.officer_id == officer_id)
            .order_by(col(HonourAward.year).desc(), col(HonourAward.title))
        ).all()
    )


def retreats_of(session: Session, officer_id: int) -> list[tuple[NominationRound, RetreatBatch]]:
    """The officer's final retreats with their batches, newest first (for /me)."""
    rows = session.exec(
        select(NominationRound, RetreatBatch)
        .join(Nomination, col(Nomination.round_id) == col(NominationRound.id))
        .join(RetreatBatch, col(RetreatBatch.id) == col(Nomination.batch_id))
        .where(Nomination.officer_id == officer_id, Nomination.status == S.FINAL)
        .order_by(col(RetreatBatch.starts_on).desc())
    ).all()
    return [(round_, batch) for round_, batch in rows]


def batch_list(session: Session, batch_id: int) -> list[Officer]:
    """The officers going on a batch (confirmed up to final), by unit then police ID."""
    return list(
        session.exec(
            select(Officer)
            .join(Nomination, col(Nomination.officer_id) == col(Officer.id))
            .where(Nomination.batch_id == batch_id, col(Nomination.status).in_(IN_BATCH))
            .order_by(col(Officer.unit), col(Officer.police_id))
        ).all()
    )


@dataclass(frozen=True)
class BatchReminder:
    """A batch of a final round starting soon, and the chats of its final nominees."""

    round: NominationRound
    batch: RetreatBatch
    recipients: list[tuple[int, int]]  # (officer id, chat id)


def batches_starting(session: Session, on: date) -> list[BatchReminder]:
    """Batches of final retreat rounds starting on `on`, with their final, active, bound
    nominees (the reminder three days before goes to them, with the meeting point)."""
    rows = session.exec(
        select(NominationRound, RetreatBatch)
        .join(RetreatBatch, col(RetreatBatch.round_id) == col(NominationRound.id))
        .where(NominationRound.status == RoundStatus.FINAL, RetreatBatch.starts_on == on)
        .order_by(col(RetreatBatch.id))
    ).all()
    reminders = []
    for round_, batch in rows:
        chats = session.exec(
            select(Nomination.officer_id, TelegramBinding.chat_id)
            .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Nomination.officer_id))
            .join(Officer, col(Officer.id) == col(Nomination.officer_id))
            .where(Nomination.batch_id == batch.id, Nomination.status == S.FINAL, *_active())
            .order_by(col(Nomination.officer_id))
        ).all()
        reminders.append(
            BatchReminder(round_, batch, [(int(officer), int(chat)) for officer, chat in chats])
        )
    return reminders


@dataclass(frozen=True)
class FinanceRow:
    """A line of a retreat round's workbook for finance."""

    police_id: str
    name: str
    unit: str
    batch: str  # "2027-05-10–2027-05-14 张家界"
    starts_on: date
    ends_on: date
    days: int
    daily_allowance: int
    allowance: int
    status: str


def finance_rows(session: Session, round_id: int) -> list[FinanceRow]:
    """Everyone holding a batch place in a retreat round (final ones once the round is final),
    by batch, unit and police ID: days (travel included) × the round's daily allowance."""
    round_ = session.get(NominationRound, round_id)
    if round_ is None:
        return []
    rows = session.exec(
        select(Nomination, Officer, RetreatBatch)
        .join(Officer, col(Officer.id) == col(Nomination.officer_id))
        .join(RetreatBatch, col(RetreatBatch.id) == col(Nomination.batch_id))
        .where(Nomination.round_id == round_id, col(Nomination.status).in_(IN_BATCH))
        .order_by(col(RetreatBatch.starts_on), col(Nomination.unit), col(Officer.police_id))
    ).all()
    lines = []
    for nomination, officer, batch in rows:
        days = rules.batch_days(batch.starts_on, batch.ends_on)
        lines.append(
            FinanceRow(
                police_id=officer.police_id,
                name=officer.name,
                unit=nomination.unit,
                batch=f"{batch.starts_on.isoformat()}–{batch.ends_on.isoformat()} {batch.place}",
                starts_on=batch.starts_on,
                ends_on=batch.ends_on,
                days=days,
                daily_allowance=round_.daily_allowance,
                allowance=rules.allowance(days, round_.daily_allowance),
                status=nomination.status,
            )
        )
    return lines


def nominees_of(
    session: Session, round_id: int, statuses: Iterable[NominationStatus]
) -> list[tuple[Nomination, Officer, int | None]]:
    """Nominations of the round in these statuses with their officer and chat id (None if not
    bound or unreachable): whom to tell of a step (published, final…)."""
    rows = session.exec(
        select(Nomination, Officer, TelegramBinding.chat_id, TelegramBinding.unreachable_since)
        .join(Officer, col(Officer.id) == col(Nomination.officer_id))
        .outerjoin(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(
            Nomination.round_id == round_id,
            col(Nomination.status).in_([str(status) for status in statuses]),
        )
        .order_by(col(Nomination.unit), col(Officer.police_id))
    ).all()
    return [
        (nomination, officer, int(chat) if chat is not None and gone is None else None)
        for nomination, officer, chat, gone in rows
    ]


# --- nominations: unit contacts and officers (issue 12) ---------------------------------------


def nomination_problem(
    session: Session,
    round_id: int,
    officer_id: int,
    *,
    contact_id: int,
    terms: Terms,
    cipher: FieldCipher,
    now: datetime,
    zone: tzinfo,
) -> Refused | None:
    """Would `nominate` put this officer forward now, the honour's reason aside? None if so.

    For the contact's tap on a candidate, before they are asked for a reason: `nominate` itself
    is tried in a savepoint that is always rolled back, so the answer follows its very rules
    (window, the contact's unit, already in the round, eligibility, the quota) and nothing stays
    written. `nominate` decides again when the contact confirms.
    """
    round_ = session.get(NominationRound, round_id)
    reason = "-" if round_ is not None and round_.programme == Programme.HONOUR else ""
    savepoint = session.begin_nested()
    try:
        done = nominate(
            session,
            round_id,
            officer_id,
            contact_id=contact_id,
            actor="",
            terms=terms,
            cipher=cipher,
            now=now,
            zone=zone,
            reason=reason,
        )
    finally:
        savepoint.rollback()
    return done if isinstance(done, Refused) else None
