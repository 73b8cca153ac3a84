"""Data access for charity campaigns (慈善一日捐): campaigns, pledges, payments, progress and
the payment import.

Money is whole yuan (integers above zero; CHECKs in the database too). A pledge is one row per
officer and campaign: a new one replaces it, and only when the officer confirmed the one they
saw replacing (`pledge`'s `expected`). A payment is a row per sum recorded, with the officer's
unit at the time. Pledges and payments take the campaign's row in a shared lock and closing
takes it exclusively, so nothing slips in after a close.

Everyone may read a campaign's progress and its totals per unit; only the organizers' export
reads what one officer gave, and an officer reads only their own (`mine`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import func, insert
from sqlmodel import Session, col, select

from bot.rules import charity as rules
from bot.rules.charity import LineError, PaymentLine, Problem, UnitTotal
from bot.rules.events import Viewer, may_join
from bot.rules.identity import normalize_police_id
from storage import events as event_storage
from storage.broadcasts import Recipient
from storage.models import (
    CharityCampaign,
    CharityPayment,
    CharityPledge,
    CharityStatus,
    Officer,
)

# Events' audience rules, read for campaigns: a campaign is no matchmaking and has no club.
AUDIENCE_KIND = "charity"
RECENT = 20
# Officers a name may match when recording by hand before the organizer must give the ID.
NAME_MATCHES = 8
# Police IDs looked up per query in an import (well under SQLite's parameter limit).
CHUNK = 500


class Outcome(StrEnum):
    """What became of a pledge or a payment."""

    STORED = "stored"
    REPLACED = "replaced"
    CHANGED = "changed"  # the pledge it was to replace is no longer the one the officer saw
    CLOSED = "closed"
    ENDED = "ended"  # past the campaign's end date: no more pledges
    GONE = "gone"


@dataclass(frozen=True)
class Progress:
    """A campaign's figures everyone may see."""

    paid: int = 0
    givers: int = 0
    pledged: int = 0
    pledgers: int = 0


@dataclass(frozen=True)
class Mine:
    """One campaign as an officer sees their own part of it."""

    campaign: CharityCampaign
    pledge: CharityPledge | None
    payments: list[CharityPayment]

    @property
    def paid(self) -> int:
        """What was recorded as paid, in yuan."""
        return sum(payment.amount for payment in self.payments)


@dataclass(frozen=True)
class ExportRow:
    """One officer's part of a campaign, for the organizers' XLSX."""

    police_id: str
    name: str
    unit: str
    pledged: int | None
    daily: int | None
    days: int | None
    paid: int
    payments: int
    last_paid: date | None


@dataclass
class ImportReport:
    """The outcome of a payment import: counts, and the lines refused with their problems."""

    rows_read: int = 0
    imported: int = 0
    amount: int = 0
    # Lines already recorded (the same officer, amount and date): a file imported twice.
    already: int = 0
    errors: list[LineError] = field(default_factory=list)
    applied: bool = False
    outcome: Outcome = Outcome.STORED

    @property
    def invalid_rows(self) -> int:
        """How many lines had at least one problem."""
        return len({error.line for error in self.errors})


# --- campaigns ---------------------------------------------------------------------------------


def create(session: Session, campaign: CharityCampaign) -> CharityCampaign:
    """Write a campaign in the caller's transaction."""
    session.add(campaign)
    session.flush()
    return campaign


def get(
    session: Session, campaign_id: int, *, for_update: bool = False, shared: bool = False
) -> CharityCampaign | None:
    """A campaign, its row locked for a close (`for_update`) or against one (`shared`)."""
    query = select(CharityCampaign).where(CharityCampaign.id == campaign_id)
    if for_update:
        query = query.with_for_update()
    elif shared:
        query = query.with_for_update(read=True)
    return session.exec(query).first()


def is_open(campaign: CharityCampaign) -> bool:
    """Not closed by an organizer (payments are still recorded after the end date)."""
    return campaign.status == CharityStatus.OPEN


def takes_pledges(campaign: CharityCampaign, today: date) -> bool:
    """Open and not past its end date (the union's day)."""
    return rules.takes_pledges(is_open(campaign), campaign.ends_on, today)


def in_audience(campaign: CharityCampaign, officer: Officer) -> bool:
    """True if the campaign's audience includes this officer."""
    viewer = Viewer(officer.unit, officer.gender, officer.single_opt_in, frozenset())
    return may_join(AUDIENCE_KIND, campaign.audience, campaign.audience_value, viewer)


def audience(session: Session, audience: str, value: str) -> list[Recipient]:
    """Active, bound officers of an audience (as events name theirs)."""
    return event_storage.audience_recipients(
        session, kind=AUDIENCE_KIND, audience=audience, value=value
    )


def recent(session: Session, limit: int = RECENT) -> list[CharityCampaign]:
    """Campaigns for the organizers' list: open ones first, then the newest."""
    return list(
        session.exec(
            select(CharityCampaign)
            .order_by(
                col(CharityCampaign.status) != CharityStatus.OPEN, col(CharityCampaign.id).desc()
            )
            .limit(limit)
        ).all()
    )


def open_for(session: Session, officer: Officer) -> list[CharityCampaign]:
    """The open campaigns whose audience includes this officer, newest first."""
    campaigns = session.exec(
        select(CharityCampaign)
        .where(CharityCampaign.status == CharityStatus.OPEN)
        .order_by(col(CharityCampaign.id).desc())
    ).all()
    return [campaign for campaign in campaigns if in_audience(campaign, officer)]


def close(session: Session, campaign_id: int, now: datetime) -> CharityCampaign | None:
    """Close an open campaign (its row locked first); None if it was closed or is gone."""
    campaign = get(session, campaign_id, for_update=True)
    if campaign is None or campaign.status != CharityStatus.OPEN:
        return None
    campaign.status = CharityStatus.CLOSED
    campaign.closed_at = now
    session.add(campaign)
    session.flush()
    return campaign


# --- pledges -----------------------------------------------------------------------------------


def pledge_of(session: Session, campaign_id: int, officer_id: int) -> CharityPledge | None:
    """This officer's pledge to this campaign, if any."""
    return session.exec(
        select(CharityPledge).where(
            CharityPledge.campaign_id == campaign_id, CharityPledge.officer_id == officer_id
        )
    ).first()


def pledge(
    session: Session,
    campaign_id: int,
    officer_id: int,
    amount: int,
    *,
    expected: int,
    today: date,
    now: datetime,
    daily: int | None = None,
    days: int | None = None,
) -> Outcome:
    """Write an officer's pledge, replacing theirs only if it is the one they saw (`expected`
    its amount, 0 for none). Nothing is written unless the outcome is STORED or REPLACED."""
    if amount <= 0:
        raise ValueError("a pledge is above zero")
    campaign = get(session, campaign_id, shared=True)
    if campaign is None:
        return Outcome.GONE
    if not is_open(campaign):
        return Outcome.CLOSED
    if not takes_pledges(campaign, today):
        return Outcome.ENDED
    current = pledge_of(session, campaign_id, officer_id)
    if (current.amount if current is not None else 0) != expected:
        return Outcome.CHANGED
    if current is None:
        session.add(
            CharityPledge(
                campaign_id=campaign_id,
                officer_id=officer_id,
                amount=amount,
                daily=daily,
                days=days,
                pledged_at=now,
            )
        )
        session.flush()
        return Outcome.STORED
    current.amount, current.daily, current.days, current.pledged_at = amount, daily, days, now
    session.add(current)
    session.flush()
    return Outcome.REPLACED


# --- payments ----------------------------------------------------------------------------------


def find_officers(session: Session, text: str) -> list[Officer]:
    """Officers an organizer may mean by a police ID or a name (active ones first)."""
    try:
        police_id = normalize_police_id(text)
    except ValueError:
        police_id = ""
    if police_id:
        found = session.exec(select(Officer).where(Officer.police_id == police_id)).first()
        if found is not None:
            return [found]
    name = " ".join(text.split())
    if not name:
        return []
    return list(
        session.exec(
            select(Officer)
            .where(Officer.name == name)
            .order_by(col(Officer.active).desc(), col(Officer.police_id))
            .limit(NAME_MATCHES)
        ).all()
    )


def record_payment(
    session: Session,
    campaign_id: int,
    officer: Officer,
    amount: int,
    paid_on: date,
    *,
    actor: str,
    now: datetime,
) -> Outcome:
    """Record one payment by hand; nothing is written unless STORED."""
    if amount <= 0 or officer.id is None:
        raise ValueError("a payment is above zero, by an officer on the roster")
    campaign = get(session, campaign_id, shared=True)
    if campaign is None:
        return Outcome.GONE
    if not is_open(campaign):
        return Outcome.CLOSED
    session.add(
        CharityPayment(
            campaign_id=campaign_id,
            officer_id=officer.id,
            unit=officer.unit,
            amount=amount,
            paid_on=paid_on,
            source="hand",
            recorded_by=actor,
            recorded_at=now,
        )
    )
    session.flush()
    return Outcome.STORED


def import_payments(
    session: Session,
    campaign_id: int,
    data: bytes,
    suffix: str,
    *,
    today: date,
    actor: str,
    now: datetime,
    skip_invalid: bool = False,
    cap: int = rules.AMOUNT_CAP,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Read a payment file (bot.rules.charity) and record its lines in the caller's
    transaction: all or nothing, unless `skip_invalid` records the good lines alone. An
    amount above `cap` (the policy's, in yuan) is a bad line.

    A police ID not on the roster is refused like any other bad line. A line already recorded
    for this campaign (the same officer, amount and date) is counted as `already` and not
    recorded again, so a file imported twice records nothing the second time.
    PaymentFileError (from the rules) if the file as a whole cannot be used.
    """
    campaign = get(session, campaign_id, shared=True)
    if campaign is None:
        return ImportReport(outcome=Outcome.GONE)
    if not is_open(campaign):
        return ImportReport(outcome=Outcome.CLOSED)
    lines, errors, read = rules.read_payment_file(
        data, suffix, today=today, year=campaign.year, cap=cap
    )
    report = ImportReport(rows_read=read)
    officers = _officers_by_police_id(session, {line.police_id for line in lines})
    known: list[tuple[PaymentLine, tuple[int, str]]] = []
    for line in lines:
        officer = officers.get(line.police_id)
        if officer is None:
            errors.append(LineError(line.line, line.police_id, Problem.UNKNOWN_OFFICER))
        else:
            known.append((line, officer))
    report.errors = sorted(errors, key=lambda error: error.line)
    if report.errors and not skip_invalid:
        return report
    recorded = _recorded(session, campaign_id)
    rows: list[dict[str, object]] = []
    for line, (officer_id, unit) in known:
        key = (officer_id, line.amount, line.paid_on)
        if key in recorded:
            report.already += 1
            continue
        recorded.add(key)
        rows.append(
            {
                "campaign_id": campaign_id,
                "officer_id": officer_id,
                "unit": unit,
                "amount": line.amount,
                "paid_on": line.paid_on,
                "source": "import",
                "recorded_by": actor,
                "recorded_at": now,
            }
        )
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(CharityPayment), rows[start : start + CHUNK])
        if progress is not None:
            progress(min(start + CHUNK, len(rows)), len(rows))
    session.flush()
    report.imported = len(rows)
    report.amount = sum(int(str(row["amount"])) for row in rows)
    report.applied = True
    return report


def _officers_by_police_id(session: Session, police_ids: set[str]) -> dict[str, tuple[int, str]]:
    """(id, unit) of the officers on the roster with these police IDs (active or not: a gift
    made before leaving still counts)."""
    found: dict[str, tuple[int, str]] = {}
    wanted = sorted(police_ids)
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        query = select(Officer.police_id, Officer.id, Officer.unit).where(
            col(Officer.police_id).in_(chunk)
        )
        for police_id, officer_id, unit in session.exec(query):
            found[police_id] = (int(officer_id or 0), unit)
    return found


def _recorded(session: Session, campaign_id: int) -> set[tuple[int, int, date]]:
    query = select(
        col(CharityPayment.officer_id), col(CharityPayment.amount), col(CharityPayment.paid_on)
    ).where(CharityPayment.campaign_id == campaign_id)
    return {(officer_id, amount, paid_on) for officer_id, amount, paid_on in session.exec(query)}


# --- what people see ---------------------------------------------------------------------------


def progress(session: Session, campaign_id: int) -> Progress:
    """Paid and pledged totals and how many gave and pledged: no one's own amount."""
    paid, givers = session.exec(
        select(
            func.coalesce(func.sum(CharityPayment.amount), 0),
            func.count(func.distinct(CharityPayment.officer_id)),
        ).where(CharityPayment.campaign_id == campaign_id)
    ).one()
    pledged, pledgers = session.exec(
        select(func.coalesce(func.sum(CharityPledge.amount), 0), func.count()).where(
            CharityPledge.campaign_id == campaign_id
        )
    ).one()
    return Progress(int(paid), int(givers), int(pledged), int(pledgers))


def unit_totals(session: Session, campaign_id: int) -> list[UnitTotal]:
    """What each unit gave (at the time of each payment) and how many of its officers gave."""
    query = (
        select(
            CharityPayment.unit,
            func.sum(CharityPayment.amount),
            func.count(func.distinct(CharityPayment.officer_id)),
        )
        .where(CharityPayment.campaign_id == campaign_id)
        .group_by(col(CharityPayment.unit))
        .order_by(col(CharityPayment.unit))
    )
    return [UnitTotal(unit, int(paid), int(givers)) for unit, paid, givers in session.exec(query)]


def mine(session: Session, officer_id: int) -> list[Mine]:
    """The campaigns this officer pledged to or paid to, newest first, with their own part."""
    pledges = {
        row.campaign_id: row
        for row in session.exec(
            select(CharityPledge).where(CharityPledge.officer_id == officer_id)
        ).all()
    }
    payments: dict[int, list[CharityPayment]] = defaultdict(list)
    for payment in session.exec(
        select(CharityPayment)
        .where(CharityPayment.officer_id == officer_id)
        .order_by(col(CharityPayment.paid_on), col(CharityPayment.id))
    ).all():
        payments[payment.campaign_id].append(payment)
    ids = set(pledges) | set(payments)
    if not ids:
        return []
    campaigns = session.exec(
        select(CharityCampaign)
        .where(col(CharityCampaign.id).in_(sorted(ids)))
        .order_by(col(CharityCampaign.id).desc())
    ).all()
    return [
        Mine(campaign, pledges.get(campaign.id or 0), payments.get(campaign.id or 0, []))
        for campaign in campaigns
    ]


def export_rows(session: Session, campaign_id: int) -> list[ExportRow]:
    """Every officer who pledged or paid, with what they pledged and paid (organizers only)."""
    paid: dict[int, tuple[int, int, date]] = {
        int(officer_id): (int(total), int(count), last)
        for officer_id, total, count, last in session.exec(
            select(
                CharityPayment.officer_id,
                func.sum(CharityPayment.amount),
                func.count(),
                func.max(CharityPayment.paid_on),
            )
            .where(CharityPayment.campaign_id == campaign_id)
            .group_by(col(CharityPayment.officer_id))
        )
    }
    pledges = {
        row.officer_id: row
        for row in session.exec(
            select(CharityPledge).where(CharityPledge.campaign_id == campaign_id)
        ).all()
    }
    ids = sorted(set(paid) | set(pledges))
    officers: dict[int, Officer] = {}
    for start in range(0, len(ids), CHUNK):
        for officer in session.exec(
            select(Officer).where(col(Officer.id).in_(ids[start : start + CHUNK]))
        ).all():
            assert officer.id is not None
            officers[officer.id] = officer
    rows = []
    for officer_id in ids:
        officer = officers[officer_id]
        pledged = pledges.get(officer_id)
        total, count, last = paid.get(officer_id, (0, 0, None))
        rows.append(
            ExportRow(
                police_id=officer.police_id,
                name=officer.name,
                unit=officer.unit,
                pledged=pledged.amount if pledged is not None else None,
                daily=pledged.daily if pledged is not None else None,
                days=pledged.days if pledged is not None else None,
                paid=total,
                payments=count,
                last_paid=last,
            )
        )
    return sorted(rows, key=lambda row: (row.unit, row.police_id))


def payments_of(session: Session, campaign_id: int) -> Sequence[CharityPayment]:
    """Every payment of a campaign in the order recorded (for tests and checks)."""
    return session.exec(
        select(CharityPayment)
        .where(CharityPayment.campaign_id == campaign_id)
        .order_by(col(CharityPayment.id))
    ).all()
