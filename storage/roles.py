"""Data access for privileged roles."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage import audit
from storage.models import Officer, Role, RoleGrant, TelegramBinding, UnitContact

# Built once and run without the ORM: it runs for nearly every update.
_ROLES_OF = select(RoleGrant.role).where(RoleGrant.officer_id == bindparam("officer_id"))


def roles_of(session: Session, officer_id: int) -> set[Role]:
    """The privileged roles the officer holds."""
    rows = session.connection().execute(_ROLES_OF, {"officer_id": officer_id}).scalars()
    return {Role(role) for role in rows}


def grant(session: Session, officer_id: int, role: Role, *, granted_by: str) -> bool:
    """Give the role; False if the officer already held it."""
    if role in roles_of(session, officer_id):
        return False
    session.add(RoleGrant(officer_id=officer_id, role=role, granted_by=granted_by))
    session.flush()
    return True


def revoke(session: Session, officer_id: int, role: Role) -> bool:
    """Take the role away; False if the officer did not hold it."""
    row = session.exec(
        select(RoleGrant).where(RoleGrant.officer_id == officer_id, RoleGrant.role == role)
    ).first()
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def reachable_holders(session: Session, roles: set[Role]) -> list[tuple[Officer, int]]:
    """Active, bound officers holding any of the roles, with their chat ids."""
    rows = session.exec(
        select(Officer, TelegramBinding.chat_id)
        .join(RoleGrant, col(RoleGrant.officer_id) == col(Officer.id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(RoleGrant.role).in_([str(role) for role in roles]))
        .where(col(Officer.active).is_(True))
        .distinct()
    ).all()
    return [(officer, chat_id) for officer, chat_id in rows]


def privileged_chats(session: Session) -> list[tuple[int, set[Role]]]:
    """Every bound, active holder of a role with all their roles (for per-chat commands)."""
    rows = session.exec(
        select(TelegramBinding.chat_id, RoleGrant.role)
        .join(RoleGrant, col(RoleGrant.officer_id) == col(TelegramBinding.officer_id))
        .join(Officer, col(Officer.id) == col(TelegramBinding.officer_id))
        .where(col(Officer.active).is_(True))
    ).all()
    chats: dict[int, set[Role]] = {}
    for chat_id, role in rows:
        chats.setdefault(chat_id, set()).add(Role(role))
    return sorted(chats.items())


class RoleChange(StrEnum):
    """What a grant or revoke by police ID came to."""

    DONE = "done"
    UNCHANGED = "unchanged"
    NO_OFFICER = "no_officer"


def change_role(
    session: Session, police_id: str, role: Role, *, grant_it: bool, actor: str
) -> tuple[RoleChange, Officer | None]:
    """Grant or revoke a role by police ID, auditing the change (for the CLI and for admins)."""
    officer = session.exec(select(Officer).where(Officer.police_id == police_id)).first()
    if officer is None or officer.id is None:
        return RoleChange.NO_OFFICER, None
    changed = (
        grant(session, officer.id, role, granted_by=actor)
        if grant_it
        else revoke(session, officer.id, role)
    )
    if not changed:
        return RoleChange.UNCHANGED, officer
    audit.record(
        session,
        actor=actor,
        action="role.grant" if grant_it else "role.revoke",
        target=police_id,
        role=str(role),
    )
    return RoleChange.DONE, officer


# --- unit contacts (基层工会联络员): nominate for their own unit (storage.nominations) ---------


class UnitContactChange(StrEnum):
    """What granting or revoking a unit's contact role by police ID came to."""

    DONE = "done"
    UNCHANGED = "unchanged"
    NO_OFFICER = "no_officer"
    LEFT = "left"  # the officer has left the union: nobody makes them a contact


def contact_units_of(session: Session, officer_id: int) -> set[str]:
    """The units the officer is a contact for."""
    rows = session.exec(select(UnitContact.unit).where(UnitContact.officer_id == officer_id))
    return set(rows.all())


def is_contact_for(session: Session, officer_id: int, unit: str) -> bool:
    """True if the officer is a contact for this unit (authorise every press on the server)."""
    row = session.exec(
        select(UnitContact.id).where(UnitContact.officer_id == officer_id, UnitContact.unit == unit)
    ).first()
    return row is not None


def contacts_of_unit(session: Session, unit: str) -> list[tuple[Officer, int]]:
    """A unit's active, bound contacts with their chat ids, by police ID (to tell them)."""
    rows = session.exec(
        select(Officer, TelegramBinding.chat_id)
        .join(UnitContact, col(UnitContact.officer_id) == col(Officer.id))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(UnitContact.unit == unit, col(Officer.active).is_(True))
        .order_by(col(Officer.police_id))
    ).all()
    return [(officer, int(chat_id)) for officer, chat_id in rows]


def unit_contacts(session: Session) -> list[tuple[str, Officer]]:
    """Every unit contact as (unit, officer), by unit then police ID."""
    rows = session.exec(
        select(UnitContact.unit, Officer)
        .join(Officer, col(Officer.id) == col(UnitContact.officer_id))
        .order_by(col(UnitContact.unit), col(Officer.police_id))
    ).all()
    return [(unit, officer) for unit, officer in rows]


def contact_unit_choices(session: Session, policy_units: Sequence[str]) -> list[str]:
    """The units a contact may be granted for: the policy's, then any other unit an active
    officer of the roster is in (by name)."""
    rows = session.exec(
        select(Officer.unit).where(col(Officer.active).is_(True), Officer.unit != "").distinct()
    ).all()
    extra = sorted(set(rows) - set(policy_units))
    return [*policy_units, *extra]


def change_unit_contact(
    session: Session, police_id: str, unit: str, *, grant_it: bool, actor: str
) -> tuple[UnitContactChange, Officer | None]:
    """Grant or revoke a unit's contact role by police ID (chat and CLI); audited when done.

    The caller checks the unit is one of contact_unit_choices.
    """
    officer = session.exec(select(Officer).where(Officer.police_id == police_id)).first()
    if officer is None or officer.id is None:
        return UnitContactChange.NO_OFFICER, None
    if grant_it and not officer.active:
        return UnitContactChange.LEFT, officer
    row = session.exec(
        select(UnitContact).where(UnitContact.officer_id == officer.id, UnitContact.unit == unit)
    ).first()
    if (row is not None) == grant_it:
        return UnitContactChange.UNCHANGED, officer
    if grant_it:
        session.add(UnitContact(officer_id=officer.id, unit=unit, granted_by=actor))
    else:
        session.delete(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="unit_contact.grant" if grant_it else "unit_contact.revoke",
        target=police_id,
        unit=unit,
    )
    return UnitContactChange.DONE, officer
