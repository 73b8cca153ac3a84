"""The appeal deadline: urgent appeals past their deadline are closed, everyone asked told.

`deadline_job` runs every DEADLINE_INTERVAL seconds from bot/scheduler.py; the tally is brought
up to date as when an organizer presses 结束呼吁 (handlers.appeals.after_change).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from handlers import appeals as appeal_handlers
from handlers.common import Context
from handlers.context import services
from storage import appeals
from storage.appeals import Change
from storage.db import Database
from storage.types import utcnow

DEADLINE_INTERVAL = 60  # seconds between two looks for appeals past their deadline


def close_overdue(database: Database, now: datetime) -> list[tuple[int, Change]]:
    """Close every appeal past its deadline, each in its own transaction."""
    with database.session() as session:
        due = appeals.overdue(session, now)
    closed = []
    for appeal_id in due:
        with database.session() as session:
            change = appeals.close(session, appeal_id, texts=appeal_handlers.NOTICES, now=now)
        if change.closed_now:
            closed.append((appeal_id, change))
    return closed


async def deadline_job(context: Context) -> None:
    """The JobQueue's callback: close appeals past their deadline, tell, show it."""
    closed = await asyncio.to_thread(close_overdue, services(context).database, utcnow())
    for appeal_id, change in closed:
        await appeal_handlers.after_change(context.application, appeal_id, change, force=True)
