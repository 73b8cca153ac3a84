"""Data access for privileged roles."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import bindparam
from sqlmodel import Session, col, select

from storage import audit
from storage.models import Officer, Role, RoleGrant, TelegramBinding

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
