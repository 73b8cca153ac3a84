"""What an update's handling does to the outside world, held back until its transaction commits.

While an update is handled (bot/inbox.py), every Bot API call that changes something (a reply, an
edit, a button's answer, a command menu) is recorded here instead of being made; the records are
written with the update's changes in one transaction and made after the commit. A crash before
the commit leaves nothing done and the update is handled again; a crash after it leaves the
records, which are made on restart. So an answer never lands in a step the officer has not seen,
and a committed step never loses its prompt.

A leaf module: it imports nothing of Telegram or the database, so handlers may use it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One Bot API call held back: the method, its JSON parameters and any files."""

    method: str
    parameters: dict[str, str]
    files: dict[str, tuple[str, bytes, str]] = field(default_factory=dict)
    # A tag naming what to record once the call returned a message (see `on_sent`).
    on_sent: str | None = None
    # An edit that Telegram refuses becomes a new message (see `edit_or_send`).
    send_if_refused: bool = False

    @property
    def durable(self) -> bool:
        """Worth keeping across a crash: all but a button's bare answer, which only stops its
        spinner and which Telegram refuses a few seconds later anyway."""
        return not (self.method == "answerCallbackQuery" and "text" not in self.parameters)


@dataclass
class Journal:
    """The held-back calls and post-commit work of the update being handled."""

    task: asyncio.Task[Any] | None
    calls: list[Call] = field(default_factory=list)
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    next_on_sent: str | None = None
    next_send_if_refused: bool = False
    # What a handler raised (PTB hands it to the error handler and goes on): the update's
    # transaction must then keep nothing.
    error: BaseException | None = None

    def record(self, call: Call) -> None:
        """Hold a call back; it is made after the commit, in the order recorded."""
        if self.next_on_sent is not None:
            call.on_sent, self.next_on_sent = self.next_on_sent, None
        if self.next_send_if_refused:
            call.send_if_refused, self.next_send_if_refused = True, False
        self.calls.append(call)


_journal: ContextVar[Journal | None] = ContextVar("nuanjing_journal", default=None)
# A tag for the next call made outside any journal (scheduled jobs, tests): see `on_sent`.
_direct_on_sent: ContextVar[str | None] = ContextVar("nuanjing_direct_on_sent", default=None)


def current() -> Journal | None:
    """The journal of the update this task is handling, or None.

    A task started from a handler inherits the handler's context but not its journal: only the
    task that opened the journal records into it.
    """
    journal = _journal.get()
    if journal is None:
        return None
    try:
        running = asyncio.current_task()
    except RuntimeError:
        return None
    return journal if running is journal.task else None


def open_journal() -> tuple[Journal, Token[Journal | None]]:
    """Start recording the calls of the current task."""
    journal = Journal(task=asyncio.current_task())
    return journal, _journal.set(journal)


def close_journal(token: Token[Journal | None]) -> None:
    """Stop recording (the journal keeps what it holds)."""
    _journal.reset(token)


def after_commit(callback: Callable[[], None]) -> None:
    """Run `callback` once the update's changes are committed (at once outside an update)."""
    journal = current()
    if journal is None:
        callback()
    else:
        journal.after_commit.append(callback)


@contextmanager
def on_sent(kind: str, key: int) -> Iterator[None]:
    """Tag the next message sent in this block: once Telegram took it, its id is recorded.

    E.g. `on_sent("appeal_tally", 12)` stores the message id as appeal 12's tally message, so the
    tally can be edited later; bot/inbox.py knows each kind.
    """
    tag = f"{kind}:{key}"
    journal = current()
    if journal is not None:
        journal.next_on_sent = tag
        try:
            yield
        finally:
            journal.next_on_sent = None
        return
    token = _direct_on_sent.set(tag)
    try:
        yield
    finally:
        _direct_on_sent.reset(token)


@contextmanager
def send_if_refused() -> Iterator[None]:
    """The edit made in this block becomes a new message if Telegram refuses it."""
    journal = current()
    if journal is None:
        yield
        return
    journal.next_send_if_refused = True
    try:
        yield
    finally:
        journal.next_send_if_refused = False


def note_failure(error: BaseException | None) -> None:
    """A handler of the update being handled raised: keep none of its changes."""
    journal = current()
    if journal is not None and error is not None and journal.error is None:
        journal.error = error


def take_direct_on_sent() -> str | None:
    """The tag for a call made outside any journal, consumed by that call."""
    tag = _direct_on_sent.get()
    if tag is not None:
        _direct_on_sent.set(None)
    return tag
