"""Race tests that prove the race: both sides start on a barrier, the racer is seen waiting.

"Sleep, then assert the racer is not done" passes without proving anything if the racer never
started, or had not yet reached the database. Here the racer thread and the test meet on a
barrier, the racer's first locking statement is seen leaving for the database, and then:

- on PostgreSQL, its backend is seen waiting for a lock (pg_stat_activity), which proves it;
- on SQLite, which shows no such thing, it must still be running a moment later (`SQLITE_GRACE`);
  the racer's result then proves the rest: had it not waited, it would have read the first
  transaction's rows as they were before (WAL) and answered otherwise.
"""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy import event, text

from storage.db import Database

T = TypeVar("T")

START_TIMEOUT = 10.0
SQLITE_GRACE = 0.05
_LOCKING = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Race(Generic[T]):
    """The racer's side of a race, as the test sees it."""

    database: Database
    future: concurrent.futures.Future[T]
    barrier: threading.Barrier
    reached: threading.Event
    statements: list[str] = field(default_factory=list)
    backend_pid: list[int] = field(default_factory=list)

    def start(self) -> None:
        """Release the racer (it waits on the barrier), then see it send its locking statement."""
        self.barrier.wait(timeout=START_TIMEOUT)
        assert self.reached.wait(START_TIMEOUT), (
            f"the racer never reached its locking statement (it ran {self.statements})"
        )

    def assert_waiting(self) -> None:
        """The racer is held by the lock the test's transaction holds."""
        assert not self.future.done(), "the racing transaction should wait for the first"
        if self.database.dialect == "postgresql" and self.backend_pid:
            self._until_lock_wait(self.backend_pid[0])
        else:
            done, _ = concurrent.futures.wait([self.future], timeout=SQLITE_GRACE)
            assert not done, "the racing transaction should wait for the first"

    def result(self, timeout: float = 10.0) -> T:
        """The racer's result, once the lock is released."""
        return self.future.result(timeout=timeout)

    def _until_lock_wait(self, pid: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        seen: Any = None
        while time.monotonic() < deadline:
            with self.database.engine.connect() as connection:
                seen = connection.execute(
                    text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": pid},
                ).scalar()
            if seen == "Lock":
                assert not self.future.done()
                return
            assert not self.future.done(), "the racing transaction should wait for the first"
            time.sleep(0.01)
        raise AssertionError(f"the racer's backend never waited for a lock (last: {seen!r})")


@contextmanager
def racing(database: Database, work: Callable[[], T]) -> Iterator[Race[T]]:
    """Run `work` in a thread that starts when the test calls `Race.start`."""
    barrier = threading.Barrier(2)
    reached = threading.Event()
    racer: list[int] = []
    race_holder: list[Race[T]] = []

    def on_execute(
        connection: Any, _cursor: Any, statement: str, *_rest: Any, **_options: Any
    ) -> None:
        if not racer or threading.get_ident() != racer[0] or reached.is_set():
            return
        race = race_holder[0]
        race.statements.append(statement)
        words = statement.lstrip().upper()
        if words.startswith(_LOCKING) or "FOR UPDATE" in words:
            info = getattr(connection.connection.dbapi_connection, "info", None)
            pid = getattr(info, "backend_pid", None)
            if isinstance(pid, int):
                race.backend_pid.append(pid)
            reached.set()

    def run() -> T:
        racer.append(threading.get_ident())
        barrier.wait(timeout=START_TIMEOUT)
        return work()

    event.listen(database.engine, "before_cursor_execute", on_execute)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            future = pool.submit(run)
            race_holder.append(Race(database, future, barrier, reached))
            try:
                yield race_holder[0]
            finally:
                barrier.abort()  # a test that failed before start: never leave the racer waiting
    finally:
        event.remove(database.engine, "before_cursor_execute", on_execute)
