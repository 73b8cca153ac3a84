"""Every value the database holds sealed with NUANJING_SECRET_KEY (storage.crypto.FieldCipher).

`nuanjing secret-key rotate` (storage.keycheck.rotate_secret_key) walks this registry to
re-encrypt each value with a new key, and the first start of a database without a key check
value tries one value of each entry before it trusts the key. A value sealed anywhere else would
be left under the old key by a rotation and become unreadable, so:

To seal a new value, add one line to SEALED below:

- a whole column, every non-empty value one FieldCipher token (name such columns `*_cipher`;
  tests/test_secret_key.py fails for a `*_cipher` column missing here)::

      SealedColumn(CareCase, "pay_reason_cipher"),

- fields of a conversation's JSON draft (table conversation_state, rows of that conversation's
  name), each non-empty field one token::

      SealedDraft("care_admin", ("reason",)),

Entries only read and rewrite rows through the connection they are given; the caller owns the
transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Table,
    bindparam,
    func,
    select,
    tuple_,
    update,
)
from sqlmodel import SQLModel

from storage.models import (
    Booking,
    CareCase,
    ConversationState,
    HonourExclusion,
    InboxUpdate,
    MutualAidClaim,
    MutualAidEnrolment,
    Nomination,
    NominationObjection,
    PendingReply,
    RosterNote,
    SurveyAnswer,
)

BATCH = 500

# (token, where) -> the token to store instead; `where` names the value for error messages.
Recrypt = Callable[[str, str], str]
# Rows done so far of the entry being rewritten.
Progress = Callable[[int], None]


def table_of(model: type[SQLModel]) -> Table:
    """The SQLAlchemy table of a SQLModel table class."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    return table


def _pages(
    connection: Connection,
    table: Table,
    value: str,
    condition: ColumnElement[bool],
) -> Iterator[Sequence[Any]]:
    """Rows (primary key..., value) matching the condition, in key order, a batch at a time.

    Keyset pages rather than one cursor: rows of a page may be updated before the next is read.
    """
    keys = list(table.primary_key.columns)
    last: tuple[Any, ...] | None = None
    while True:
        query = select(*keys, table.c[value]).where(condition).order_by(*keys).limit(BATCH)
        if last is not None:
            after = keys[0] > last[0] if len(keys) == 1 else tuple_(*keys) > tuple_(*last)
            query = query.where(after)
        rows = connection.execute(query).all()
        if not rows:
            return
        yield rows
        last = tuple(rows[-1][: len(keys)])


def _write(connection: Connection, table: Table, value: str, changes: list[dict[str, Any]]) -> None:
    """Store new values by primary key: dicts of k0, k1… (the key's columns) and `new`."""
    if not changes:
        return
    keys = list(table.primary_key.columns)
    statement = (
        update(table)
        .where(*(key == bindparam(f"k{i}") for i, key in enumerate(keys)))
        .values({value: bindparam("new")})
    )
    connection.execute(statement, changes)


def _where(row: Sequence[Any], width: int) -> str:
    return "row " + ", ".join(str(part) for part in tuple(row)[:width])


@dataclass(frozen=True)
class SealedColumn:
    """A column whose every non-empty value is one FieldCipher token."""

    model: type[SQLModel]
    column: str

    @property
    def table(self) -> Table:
        """The table the column belongs to."""
        return table_of(self.model)

    @property
    def label(self) -> str:
        """table.column, as the operator reads it in messages and summaries."""
        return f"{self.table.name}.{self.column}"

    def _filled(self) -> ColumnElement[bool]:
        return self.table.c[self.column] != ""

    def count(self, connection: Connection) -> int:
        """Rows holding a sealed value."""
        query = select(func.count()).select_from(self.table).where(self._filled())
        return int(connection.execute(query).scalar_one())

    def sample(self, connection: Connection) -> str | None:
        """The newest sealed value, if there is one."""
        keys = list(self.table.primary_key.columns)
        query = (
            select(self.table.c[self.column])
            .where(self._filled())
            .order_by(*(key.desc() for key in keys))
            .limit(1)
        )
        value = connection.execute(query).scalar_one_or_none()
        return None if value is None else str(value)

    def rewrite(self, connection: Connection, recrypt: Recrypt, progress: Progress) -> int:
        """Replace every sealed value by recrypt(value); returns how many values it saw."""
        width, seen = len(self.table.primary_key.columns), 0
        for rows in _pages(connection, self.table, self.column, self._filled()):
            changes = []
            for row in rows:
                new = recrypt(str(row[width]), _where(row, width))
                if new != row[width]:
                    changes.append({**{f"k{i}": row[i] for i in range(width)}, "new": new})
            _write(connection, self.table, self.column, changes)
            seen += len(rows)
            progress(seen)
        return seen


@dataclass(frozen=True)
class SealedDraft:
    """Fields of one conversation's JSON drafts, each non-empty field one FieldCipher token."""

    conversation: str
    fields: tuple[str, ...]

    @property
    def table(self) -> Table:
        """conversation_state, where drafts live."""
        return table_of(ConversationState)

    @property
    def label(self) -> str:
        """conversation_state.draft[name], as the operator reads it."""
        return f"{self.table.name}.draft[{self.conversation}]"

    def _mine(self) -> ColumnElement[bool]:
        return self.table.c.name == self.conversation

    def _sealed(self, draft: Any) -> list[str]:
        if not isinstance(draft, dict):
            return []
        return [f for f in self.fields if isinstance(draft.get(f), str) and draft[f]]

    def count(self, connection: Connection) -> int:
        """Drafts of the conversation (sealed fields or not)."""
        query = select(func.count()).select_from(self.table).where(self._mine())
        return int(connection.execute(query).scalar_one())

    def sample(self, connection: Connection) -> str | None:
        """A sealed field of one of the most recent drafts, if any holds one."""
        query = (
            select(self.table.c.draft)
            .where(self._mine())
            .order_by(self.table.c.updated_at.desc())
            .limit(BATCH)
        )
        for (text,) in connection.execute(query):
            draft = json.loads(text)
            for field in self._sealed(draft):
                return str(draft[field])
        return None

    def rewrite(self, connection: Connection, recrypt: Recrypt, progress: Progress) -> int:
        """Replace every sealed field by recrypt(value); returns how many fields it saw."""
        width, seen, done = len(self.table.primary_key.columns), 0, 0
        for rows in _pages(connection, self.table, "draft", self._mine()):
            changes = []
            for row in rows:
                draft = json.loads(row[width])
                fields = self._sealed(draft)
                for field in fields:
                    draft[field] = recrypt(draft[field], f"{_where(row, width)}, field {field}")
                if fields:
                    # The form storage.conversations.save writes.
                    new = json.dumps(draft, ensure_ascii=False, sort_keys=True)
                    if new != row[width]:
                        changes.append({**{f"k{i}": row[i] for i in range(width)}, "new": new})
                seen += len(fields)
            _write(connection, self.table, "draft", changes)
            done += len(rows)
            progress(done)
        return seen


Sealed = SealedColumn | SealedDraft

# Everything sealed: add a value here in the same change that starts sealing it.
SEALED: tuple[Sealed, ...] = (
    SealedColumn(CareCase, "ward_cipher"),
    SealedColumn(CareCase, "note_cipher"),
    # Reasons for another sum or for declining (storage.care.advance).
    SealedColumn(CareCase, "pay_reason_cipher"),
    SealedColumn(CareCase, "decline_reason_cipher"),
    # handlers/care.py: NAME and SEALED (storage cannot import handlers; a test compares them).
    SealedDraft("care_report", ("ward", "note")),
    # Updates as received and replies not yet delivered: officers type health details.
    SealedColumn(InboxUpdate, "payload"),
    SealedColumn(PendingReply, "payload"),
    # The name a counselling booking goes by (storage.bookings): it points at the officer.
    SealedColumn(Booking, "pseudonym_cipher"),
    SealedColumn(RosterNote, "text_cipher"),
    # Nominations (storage.nominations): an honour's reason and an organizer's reason for
    # returning or removing may tell of health or family; objections and exclusion flags
    # name people and are for organizers only.
    SealedColumn(Nomination, "reason_cipher"),
    SealedColumn(Nomination, "decision_reason_cipher"),
    SealedColumn(NominationObjection, "text_cipher"),
    SealedColumn(HonourExclusion, "reason_cipher"),
    # Surveys: short text answers may hold personal details; handlers/surveys.py FILL_NAME
    # keeps an officer's text answers sealed in its draft until 提交.
    SealedColumn(SurveyAnswer, "text_cipher"),
    SealedDraft("survey_answer", ("texts",)),
    # handlers/nominations/member.py: an honour's reason and an objection, typed before 确认.
    SealedDraft("nomination_nominate", ("reason",)),
    SealedDraft("nomination_objection", ("text",)),
    # Medical mutual aid (storage.mutual_aid): a claim's note and a refusal's or an exclusion's
    # reason tell of health; handlers/mutual_aid.py keeps a note sealed in its draft until 登记.
    SealedColumn(MutualAidClaim, "note_cipher"),
    SealedColumn(MutualAidClaim, "reason_cipher"),
    SealedColumn(MutualAidEnrolment, "reason_cipher"),
    SealedDraft("mutual_aid", ("note",)),
)
