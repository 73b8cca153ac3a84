"""Data access for the roster: officers and their Telegram bindings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from storage.db import unit_memo
from storage.models import BindingMethod, Officer, RoleGrant, TelegramBinding
from storage.types import utcnow


def by_police_id(session: Session, police_id: str) -> Officer | None:
    """The officer with this police ID, active or not."""
    return session.exec(select(Officer).where(Officer.police_id == police_id)).first()


def active_by_phone(session: Session, phone: str) -> Officer | None:
    """The active officer whose roster phone is this one (normalised +86 form)."""
    return session.exec(
        select(Officer).where(Officer.phone == phone, col(Officer.active).is_(True))
    ).first()


def by_id(session: Session, officer_id: int) -> Officer | None:
    """The officer with this database id."""
    return session.get(Officer, officer_id)


# Built once: it runs for nearly every update, and building a statement costs more than running it.
_ACTIVE = col(Officer.active).is_(True)
_BOUND_TO = (TelegramBinding.telegram_user_id == bindparam("telegram_user_id"), _ACTIVE)
_BOUND_OFFICER = (
    select(Officer)
    .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
    .where(*_BOUND_TO)
)


def bound_officer(session: Session, telegram_user_id: int) -> Officer | None:
    """The active officer bound to this Telegram account, or None for a stranger."""
    result = session.execute(_BOUND_OFFICER, {"telegram_user_id": telegram_user_id})
    return result.scalars().first()


def _with_roles(*leading: Any) -> Any:
    """Bound officers, a row for each role they hold (one with None for none), after
    `leading` columns."""
    return (
        sa_select(*leading, Officer, col(RoleGrant.role))
        .join(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .outerjoin(RoleGrant, col(RoleGrant.officer_id) == col(Officer.id))
    )


# One statement where two would do the same: every update from an officer loads both.
_BOUND_WITH_ROLES = _with_roles().where(*_BOUND_TO)
# The same for several accounts, each row led by its account.
_CALLERS_OF = _with_roles(TelegramBinding.telegram_user_id).where(
    col(TelegramBinding.telegram_user_id).in_(bindparam("telegram_user_ids", expanding=True)),
    _ACTIVE,
)
# What `bound_with_roles` reads (a write to any of them lets the batch's callers go).
_CALLER_TABLES = frozenset({"officer", "telegram_binding", "role_grant"})
# Keys of the unit's memo (storage.db.unit_memo).
_EXPECTED, _CALLERS = "officers.expected_callers", "officers.callers"

Caller = tuple[Officer, frozenset[str]]


def expect_callers(session: Session, telegram_user_ids: Sequence[int]) -> None:
    """The accounts whose updates the unit is about to handle: the first of them to ask for
    its caller (`bound_with_roles`) reads them all, in one statement."""
    memo = unit_memo(session)
    if memo is not None and len(set(telegram_user_ids)) > 1:
        memo.pop(_CALLERS)
        memo.put(_EXPECTED, frozenset(telegram_user_ids), _CALLER_TABLES)


def bound_with_roles(session: Session, telegram_user_id: int) -> Caller | None:
    """`bound_officer` and the privileged roles it holds (as stored), or None for a stranger."""
    memo = unit_memo(session)
    if memo is not None:
        callers: dict[int, Caller | None] | None = memo.get(_CALLERS)
        expected: frozenset[int] = memo.get(_EXPECTED, frozenset())
        if callers is None and telegram_user_id in expected:
            memo.pop(_EXPECTED)
            callers = _callers_of(session, expected)
            memo.put(_CALLERS, callers, _CALLER_TABLES)
        if callers is not None and telegram_user_id in callers:
            # Each account's once: its own update may change what it was read from.
            return callers.pop(telegram_user_id)
    rows = session.execute(_BOUND_WITH_ROLES, {"telegram_user_id": telegram_user_id}).all()
    if not rows:
        return None
    return rows[0][0], frozenset(str(role) for _, role in rows if role is not None)


def officers_ahead(session: Session) -> frozenset[int]:
    """The officers whose updates the unit has read the callers of and not yet handled (empty
    outside a unit, or once a write let them go): what one update may read for the rest of
    its batch too, in the same statement."""
    memo = unit_memo(session)
    callers: dict[int, Caller | None] | None = None if memo is None else memo.get(_CALLERS)
    if not callers:
        return frozenset()
    return frozenset(
        found[0].id for found in callers.values() if found is not None and found[0].id is not None
    )


def _callers_of(session: Session, telegram_user_ids: frozenset[int]) -> dict[int, Caller | None]:
    """`bound_with_roles` of each account, strangers None, in one statement."""
    rows = session.execute(_CALLERS_OF, {"telegram_user_ids": sorted(telegram_user_ids)}).all()
    officers: dict[int, Officer] = {}
    roles: dict[int, set[str]] = {user_id: set() for user_id in telegram_user_ids}
    for user_id, officer, role in rows:
        officers[user_id] = officer
        if role is not None:
            roles[user_id].add(str(role))
    return {
        user_id: (officers[user_id], frozenset(roles[user_id])) if user_id in officers else None
        for user_id in telegram_user_ids
    }


def binding_of(session: Session, officer_id: int) -> TelegramBinding | None:
    """The officer's Telegram binding, if any."""
    return session.exec(
        select(TelegramBinding).where(TelegramBinding.officer_id == officer_id)
    ).first()


def bind(
    session: Session,
    officer: Officer,
    *,
    telegram_user_id: int,
    chat_id: int,
    method: BindingMethod,
    now: datetime | None = None,
) -> TelegramBinding:
    """Bind the account to the officer, replacing any older binding of either side."""
    assert officer.id is not None
    stale = session.exec(
        select(TelegramBinding).where(
            (TelegramBinding.officer_id == officer.id)
            | (TelegramBinding.telegram_user_id == telegram_user_id)
        )
    ).all()
    for row in stale:
        session.delete(row)
    session.flush()
    binding = TelegramBinding(
        officer_id=officer.id,
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        method=method,
        bound_at=now or utcnow(),
    )
    session.add(binding)
    session.flush()
    return binding


def unbind(session: Session, officer_id: int) -> bool:
    """Remove the officer's binding; True if there was one."""
    binding = binding_of(session, officer_id)
    if binding is None:
        return False
    session.delete(binding)
    session.flush()
    return True


def update_profile(session: Session, officer: Officer, **changes: object) -> Officer:
    """Change profile fields of an officer and stamp the update."""
    for name, value in changes.items():
        if name not in Officer.model_fields:
            raise AttributeError(name)
        setattr(officer, name, value)
    officer.updated_at = utcnow()
    session.add(officer)
    session.flush()
    return officer


def create(session: Session, officer: Officer) -> Officer:
    """Add a new officer to the roster."""
    session.add(officer)
    session.flush()
    return officer


def bound_chats(session: Session, officer_ids: Sequence[int]) -> dict[int, int]:
    """Map officer id to chat id for those of the given officers who are bound."""
    if not officer_ids:
        return {}
    rows = session.exec(
        select(TelegramBinding).where(col(TelegramBinding.officer_id).in_(list(officer_ids)))
    ).all()
    return {row.officer_id: row.chat_id for row in rows}


def count_active(session: Session) -> int:
    """How many officers are on the active roster."""
    return len(session.exec(select(Officer.id).where(col(Officer.active).is_(True))).all())


def active_named_in_unit(session: Session, unit: str, name: str) -> list[Officer]:
    """Active officers of one unit whose name is exactly this one."""
    return list(
        session.exec(
            select(Officer)
            .where(Officer.unit == unit, Officer.name == name, col(Officer.active).is_(True))
            .order_by(col(Officer.police_id))
        ).all()
    )


def set_lunar_birthday(
    session: Session, officer: Officer, lunar: tuple[int, int, bool] | None
) -> Officer:
    """Greet the officer on this lunar birthday (month, day, leap), or on the Gregorian one."""
    month, day, leap = lunar if lunar is not None else (None, None, False)
    return update_profile(
        session, officer, lunar_birth_month=month, lunar_birth_day=day, lunar_birth_leap=leap
    )
