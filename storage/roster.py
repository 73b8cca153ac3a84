"""Bulk roster changes: upsert officers by police ID, deactivate the missing, list for export.

Written for a roster of 100,000 officers: existing officers and bindings are read once into
memory, and changes go out as batched statements instead of a query per row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any, TypeVar

from sqlalchemy import Connection, delete, insert, or_, update
from sqlalchemy import select as select_columns
from sqlmodel import Session, col, select

from storage.models import BindingMethod, Officer, TelegramBinding
from storage.types import utcnow

# Small enough for SQLite's bound-parameter limit and for modest memory per batch.
BATCH = 1000

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """One officer as a roster file gives them; None in an optional field means "not given"."""

    police_id: str
    name: str
    unit: str
    phone: str
    birthday: date | None = None
    gender: str | None = None
    blood_group: str | None = None
    rh_negative: bool = False
    telegram_user_id: int | None = None


@dataclass(frozen=True, slots=True)
class KeptPhone:
    """A phone the officer changed in chat, kept over the roster file's other one.

    Phones are personal data: shown to whoever runs the import, never logged or audited.
    """

    police_id: str
    name: str
    file_phone: str
    kept_phone: str


@dataclass(frozen=True, slots=True)
class ApplyResult:
    """What apply_records changed."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    bound: int = 0
    kept_phones: tuple[KeptPhone, ...] = ()
    # Officers whose death was confirmed: in the file, yet left inactive and unbound.
    deceased: int = 0


def _batches(items: Sequence[_T], size: int = BATCH) -> Iterator[Sequence[_T]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def _profile(entry: RosterEntry, current: Any | None) -> dict[str, object]:
    """The stored profile fields the entry asks for; a field not given keeps its stored value."""
    birthday = entry.birthday
    gender = entry.gender
    blood_group = entry.blood_group
    rh_negative = entry.rh_negative
    if current is not None:
        # Officers set their own blood type in the bot, and HR rosters often lack it:
        # an empty cell must not erase what is stored.
        if birthday is None:
            birthday = current.birthday
        if gender is None:
            gender = current.gender
        if blood_group is None:
            blood_group, rh_negative = current.blood_group, current.rh_negative
    profile: dict[str, object] = {
        "name": entry.name,
        "unit": entry.unit,
        "phone": entry.phone,
        "birthday": birthday,
        "gender": gender,
        "blood_group": blood_group,
        "rh_negative": rh_negative,
    }
    if current is not None:
        # A phone the officer changed in chat (phone_changed_at) stands until a roster file
        # carries that same phone: the file then agrees, and the mark is cleared. So "changed
        # since the last import" needs no import clock: the mark itself says the roster has
        # not caught up yet, however many imports of an older file come meanwhile.
        changed_at = current.phone_changed_at
        if changed_at is not None and entry.phone != current.phone:
            profile["phone"] = current.phone
        elif changed_at is not None:
            changed_at = None
        profile["phone_changed_at"] = changed_at
    return profile


def _differs(profile: dict[str, object], current: Any) -> bool:
    return not current.active or any(
        getattr(current, name) != value for name, value in profile.items()
    )


def apply_records(
    session: Session,
    entries: Sequence[RosterEntry],
    *,
    deactivate_missing: bool,
    protect: Collection[str] = (),
    now: datetime | None = None,
) -> ApplyResult:
    """Create or update officers by police ID, in the caller's transaction; the counts.

    Officers not in the entries are deactivated and unbound only with deactivate_missing, and
    never those whose police ID is in protect (e.g. named on a rejected row). An entry's
    telegram_user_id binds that account by import, replacing any older binding of either
    side as officers.bind does; an entry without one leaves the officer's binding alone.
    Uses bulk statements, so ORM objects already loaded in the session are not refreshed.
    """
    now = now or utcnow()
    police_ids = {entry.police_id for entry in entries}
    if len(police_ids) != len(entries):
        raise ValueError("duplicate police_id among roster entries")
    accounts = [entry.telegram_user_id for entry in entries if entry.telegram_user_id is not None]
    if len(set(accounts)) != len(accounts):
        raise ValueError("duplicate telegram_user_id among roster entries")

    session.flush()
    connection = session.connection()
    # Plain column rows, not ORM objects: a fraction of the memory for a large roster.
    existing = {
        row.police_id: row
        for row in connection.execute(
            select_columns(
                col(Officer.id),
                col(Officer.police_id),
                col(Officer.name),
                col(Officer.unit),
                col(Officer.phone),
                col(Officer.birthday),
                col(Officer.gender),
                col(Officer.blood_group),
                col(Officer.rh_negative),
                col(Officer.active),
                col(Officer.phone_changed_at),
                col(Officer.deceased_at),
            )
        )
    }

    new_entries: list[RosterEntry] = []
    changes: list[dict[str, object]] = []
    unchanged = 0
    deceased = 0
    kept: list[KeptPhone] = []
    officer_ids: dict[str, int] = {}
    for entry in entries:
        current = existing.get(entry.police_id)
        if current is None:
            new_entries.append(entry)
            continue
        if current.deceased_at is not None:
            # An HR file may still list an officer who died: they stay as they are, and no
            # account is bound to them again.
            deceased += 1
            continue
        officer_ids[entry.police_id] = current.id
        profile = _profile(entry, current)
        if profile["phone"] != entry.phone:
            kept.append(KeptPhone(entry.police_id, entry.name, entry.phone, current.phone))
        if _differs(profile, current):
            changes.append(
                {"id": current.id, **profile, "active": True, "left_at": None, "updated_at": now}
            )
        else:
            unchanged += 1

    for new_batch in _batches(new_entries):
        # Core, not the ORM's bulk insert, which splits its batches wherever the pattern of
        # None values changes between rows; and no RETURNING, which triples the time on
        # PostgreSQL: the few ids needed for bindings are read back below.
        connection.execute(
            insert(Officer),
            [
                {
                    **_profile(entry, None),
                    "police_id": entry.police_id,
                    "active": True,
                    "single_opt_in": False,
                    "greetings_opt_out": False,
                    "created_at": now,
                    "updated_at": now,
                    "left_at": None,
                }
                for entry in new_batch
            ],
        )
    new_accounts = [entry.police_id for entry in new_entries if entry.telegram_user_id is not None]
    for id_batch in _batches(new_accounts):
        rows = connection.execute(
            select_columns(col(Officer.police_id), col(Officer.id)).where(
                col(Officer.police_id).in_(id_batch)
            )
        )
        officer_ids.update(
            {police_id: officer_id for police_id, officer_id in rows if officer_id is not None}
        )
    for change_batch in _batches(changes):
        # The ORM's bulk UPDATE by primary key; every dict has the same keys, so it batches.
        session.exec(update(Officer), params=change_batch)

    leavers: list[int] = []
    if deactivate_missing:
        leavers = [
            row.id
            for police_id, row in existing.items()
            if row.active and police_id not in police_ids and police_id not in protect
        ]
    for leaver_batch in _batches(leavers):
        connection.execute(
            update(Officer)
            .where(col(Officer.id).in_(leaver_batch))
            .values(active=False, left_at=now, updated_at=now)
        )
        # Leaving the union unbinds, which stops every message to them.
        connection.execute(
            delete(TelegramBinding).where(col(TelegramBinding.officer_id).in_(leaver_batch))
        )
    del existing

    bound = 0
    if accounts:
        bindable = [entry for entry in entries if entry.police_id in officer_ids]
        bound = _bind_accounts(connection, bindable, officer_ids, now)
    return ApplyResult(
        created=len(new_entries),
        updated=len(changes),
        unchanged=unchanged,
        deactivated=len(leavers),
        bound=bound,
        kept_phones=tuple(kept),
        deceased=deceased,
    )


def _bind_accounts(
    connection: Connection,
    entries: Sequence[RosterEntry],
    officer_ids: dict[str, int],
    now: datetime,
) -> int:
    """Bind each entry's account to its officer unless it already is; how many were bound."""
    current: dict[int, int] = {
        officer_id: account
        for officer_id, account in connection.execute(
            select(TelegramBinding.officer_id, TelegramBinding.telegram_user_id)
        )
    }
    wanted = [
        (officer_ids[entry.police_id], entry.telegram_user_id)
        for entry in entries
        if entry.telegram_user_id is not None
        and current.get(officer_ids[entry.police_id]) != entry.telegram_user_id
    ]
    del current
    # The same rule as officers.bind, in bulk: drop every binding of either side first, so
    # that accounts can move between officers within one import.
    for batch in _batches(wanted):
        officers_in_batch = [officer_id for officer_id, _ in batch]
        accounts_in_batch = [account for _, account in batch]
        connection.execute(
            delete(TelegramBinding).where(
                or_(
                    col(TelegramBinding.officer_id).in_(officers_in_batch),
                    col(TelegramBinding.telegram_user_id).in_(accounts_in_batch),
                )
            )
        )
    for batch in _batches(wanted):
        connection.execute(
            insert(TelegramBinding),
            [
                {
                    "officer_id": officer_id,
                    "telegram_user_id": account,
                    # A private chat's id is the user's id.
                    "chat_id": account,
                    "method": BindingMethod.IMPORT.value,
                    "bound_at": now,
                }
                for officer_id, account in batch
            ],
        )
    return len(wanted)


def export_rows(session: Session, *, batch_size: int = BATCH) -> Iterator[RosterEntry]:
    """Active officers ordered by police ID, with their bound account; streams while open."""
    query = (
        select_columns(
            col(Officer.police_id),
            col(Officer.name),
            col(Officer.unit),
            col(Officer.phone),
            col(Officer.birthday),
            col(Officer.gender),
            col(Officer.blood_group),
            col(Officer.rh_negative),
            col(TelegramBinding.telegram_user_id),
        )
        .outerjoin(TelegramBinding, col(TelegramBinding.officer_id) == col(Officer.id))
        .where(col(Officer.active).is_(True))
        .order_by(col(Officer.police_id))
        .execution_options(yield_per=batch_size)
    )
    session.flush()
    for row in session.connection().execute(query):
        yield RosterEntry(
            police_id=row.police_id,
            name=row.name,
            unit=row.unit,
            phone=row.phone,
            birthday=row.birthday,
            gender=row.gender,
            blood_group=row.blood_group,
            rh_negative=row.rh_negative if row.blood_group else False,
            telegram_user_id=row.telegram_user_id,
        )
