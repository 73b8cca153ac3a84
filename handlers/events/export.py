"""The roster of an event as XLSX, sent to the manager's private chat and audited."""

from __future__ import annotations

import io
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from telegram import InputFile, Update

from bot import texts
from bot.xlsx import Cell, write_workbook
from handlers.common import (
    Caller,
    Context,
    answer,
)
from handlers.context import services
from storage import audit
from storage import events as event_storage
from storage.events import Attendee
from storage.models import (
    Event,
)

# --- the roster as XLSX -----------------------------------------------------------------


ROSTER_WIDTHS = (6, 10, 10, 16, 6, 8, 17, 6, 10)


def roster_workbook(people: Sequence[Attendee], zone: ZoneInfo) -> bytes:
    """The sign-up list as an XLSX workbook (signed first, then the waitlist)."""
    rows: list[list[Cell]] = [
        [
            number,
            person.name,
            person.police_id,
            person.unit,
            texts.GENDER_NAMES.get(person.gender or "", ""),
            texts.EVENT_EXPORT_STATES.get(person.state, person.state),
            person.signed_at.astimezone(zone).replace(tzinfo=None),
            texts.EVENT_EXPORT_ATTENDED[person.attended],
            person.no_shows,
        ]
        for number, person in enumerate(people, start=1)
    ]
    buffer = io.BytesIO()
    write_workbook(
        rows,
        buffer,
        columns=texts.EVENT_EXPORT_COLUMNS,
        widths=ROSTER_WIDTHS,
        title=texts.EVENT_EXPORT_SHEET,
    )
    return buffer.getvalue()


async def _export(update: Update, context: Context, caller: Caller, event: Event) -> None:
    """导出名单: the roster as a file in the manager's private chat."""
    assert event.id is not None and update.effective_chat is not None
    zone = services(context).zone
    with services(context).database.session() as session:
        people = event_storage.attendees(session, event.id)
        audit.record(
            session,
            actor=caller.actor,
            action="event.export",
            target=f"event:{event.id}",
            rows=len(people),
        )
    await answer(update)
    document = InputFile(
        io.BytesIO(roster_workbook(people, zone)), filename=f"event-{event.id}.xlsx"
    )
    await context.bot.send_document(
        update.effective_chat.id,
        document,
        caption=texts.EVENT_EXPORT_CAPTION.format(
            title=event.title, id=event.id, count=len(people)
        ),
    )
