"""Data access for clubs (俱乐部): memberships and leaders.

The clubs themselves are names in the union's policy; this module knows only memberships and
trusts its caller to pass policy names. A membership of a club the policy no longer lists is
ignored by the callers (pass `within=policy.clubs` where a function takes it).

A change (join, leave, lead) locks the officer's row first, so two presses at the same instant
are serialised and the second finds the first one's row: call it at the start of its own
transaction (see storage.locks).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import bindparam, func
from sqlalchemy import select as core_select
from sqlmodel import Session, col, select

from storage import audit
from storage.broadcasts import Recipient
from storage.locks import locked
from storage.models import ClubMembership, Officer, TelegramBinding


@dataclass(frozen=True)
class Member:
    """A club member as a leader or an organizer sees them."""

    officer_id: int
    name: str
    police_id: str
    unit: str
    leader: bool


def _membership(session: Session, officer_id: int, club: str) -> ClubMembership | None:
    return session.exec(
        select(ClubMembership).where(
            ClubMembership.club == club, ClubMembership.officer_id == officer_id
        )
    ).first()


def _within(names: list[str], within: Collection[str] | None) -> list[str]:
    return names if within is None else [name for name in names if name in within]


def member_ids(session: Session, club: str) -> list[int]:
    """Ids of the club's members who are still active officers, in joining order."""
    rows = session.exec(
        select(ClubMembership.officer_id)
        .join(Officer, col(Officer.id) == col(ClubMembership.officer_id))
        .where(ClubMembership.club == club, col(Officer.active).is_(True))
        .order_by(col(ClubMembership.joined_at), col(ClubMembership.id))
    ).all()
    return [int(officer_id) for officer_id in rows]


def members(session: Session, club: str) -> list[Member]:
    """The club's active members, leaders first, then by police ID (for leaders, organizers)."""
    rows = session.exec(
        select(  # type: ignore[call-overload]
            Officer.id, Officer.name, Officer.police_id, Officer.unit, ClubMembership.leader
        )
        .join(ClubMembership, col(ClubMembership.officer_id) == col(Officer.id))
        .where(ClubMembership.club == club, col(Officer.active).is_(True))
        .order_by(col(ClubMembership.leader).desc(), col(Officer.police_id))
    ).all()
    return [
        Member(int(officer_id or 0), name, police_id, unit, bool(leader))
        for officer_id, name, police_id, unit, leader in rows
    ]


_membership_table = ClubMembership.__table__  # type: ignore[attr-defined]
# Built once: every /events and every club leader's caller reads them.
_CLUBS_OF = (
    core_select(_membership_table.c.club)
    .where(_membership_table.c.officer_id == bindparam("officer_id"))
    .order_by(_membership_table.c.club)
)
_LED_BY = _CLUBS_OF.where(_membership_table.c.leader.is_(True))


def clubs_of(
    session: Session, officer_id: int, *, within: Collection[str] | None = None
) -> list[str]:
    """The clubs the officer belongs to (name order), only those `within` when given."""
    rows = session.connection().execute(_CLUBS_OF, {"officer_id": officer_id}).scalars()
    return _within([str(club) for club in rows], within)


def led_by(
    session: Session, officer_id: int, *, within: Collection[str] | None = None
) -> list[str]:
    """The clubs the officer leads (name order), only those `within` when given."""
    rows = session.connection().execute(_LED_BY, {"officer_id": officer_id}).scalars()
    return _within([str(club) for club in rows], within)


def is_leader(session: Session, officer_id: int, club: str) -> bool:
    """True if the officer leads this club."""
    membership = _membership(session, officer_id, club)
    return membership is not None and membership.leader


def is_member(session: Session, officer_id: int, club: str) -> bool:
    """True if the officer belongs to this club (leaders do)."""
    return _membership(session, officer_id, club) is not None


def member_counts(session: Session, *, within: Collection[str] | None = None) -> dict[str, int]:
    """Club name → number of active members; clubs without members are absent."""
    rows = session.exec(
        select(ClubMembership.club, func.count())
        .join(Officer, col(Officer.id) == col(ClubMembership.officer_id))
        .where(col(Officer.active).is_(True))
        .group_by(col(ClubMembership.club))
    ).all()
    counts = {str(club): int(count) for club, count in rows}
    return counts if within is None else {k: v for k, v in counts.items() if k in within}


def join(session: Session, officer_id: int, club: str) -> bool:
    """Make the officer a member; False if they already were (a double press joins once)."""
    locked(session, Officer, officer_id)
    if _membership(session, officer_id, club) is not None:
        return False
    session.add(ClubMembership(club=club, officer_id=officer_id))
    session.flush()
    return True


def leave(session: Session, officer_id: int, club: str) -> bool:
    """End the membership (a leader leaving loses the lead); False if they were not a member."""
    locked(session, Officer, officer_id)
    membership = _membership(session, officer_id, club)
    if membership is None:
        return False
    session.delete(membership)
    session.flush()
    return True


def set_leader(session: Session, club: str, officer_id: int, leader: bool, actor: str) -> bool:
    """Give or take a club's lead, making a new leader a member; audited; False if unchanged.

    Taking the lead away leaves the officer a member.
    """
    officer = locked(session, Officer, officer_id)
    membership = _membership(session, officer_id, club)
    if (membership is not None and membership.leader) == leader:
        return False
    joined = membership is None
    if membership is None:
        membership = ClubMembership(club=club, officer_id=officer_id)
    membership.leader = leader
    session.add(membership)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="club.leader.grant" if leader else "club.leader.revoke",
        target=f"officer:{officer.police_id}" if officer is not None else str(officer_id),
        club=club,
        joined=joined,
    )
    return True


class LeaderChange(StrEnum):
    """What a grant or removal of a club's lead by police ID came to."""

    DONE = "done"
    UNCHANGED = "unchanged"
    NO_OFFICER = "no_officer"
    LEFT = "left"  # the officer left the union: nobody new may lead


def change_leader(
    session: Session, police_id: str, club: str, *, lead: bool, actor: str
) -> tuple[LeaderChange, Officer | None]:
    """Grant or remove a club's lead by police ID (for chat and the CLI); audited when done.

    The caller checks that the club is one of the policy's.
    """
    officer = session.exec(select(Officer).where(Officer.police_id == police_id)).first()
    if officer is None or officer.id is None:
        return LeaderChange.NO_OFFICER, None
    if lead and not officer.active:
        return LeaderChange.LEFT, officer
    if not set_leader(session, club, officer.id, lead, actor):
        return LeaderChange.UNCHANGED, officer
    return LeaderChange.DONE, officer


def member_recipients(session: Session, club: str) -> list[Recipient]:
    """The club's members who are active and bound, with their chats.

    Members who blocked the bot are included: the broadcast records them as unreachable
    without a send (storage.broadcasts.add_deliveries), so they are counted, not dropped.
    """
    rows = session.exec(
        select(Officer.id, TelegramBinding.chat_id)
        .join(ClubMembership, col(ClubMembership.officer_id) == col(Officer.id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(ClubMembership.club == club)
        .where(col(Officer.active).is_(True))
        .order_by(col(Officer.id))
    ).all()
    return [Recipient(int(officer_id or 0), int(chat_id)) for officer_id, chat_id in rows]
