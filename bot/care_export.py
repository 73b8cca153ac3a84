"""Care cases of a period as an XLSX workbook for finance, shared by /cases export and the CLI.

One row per case whose event date lies in the period, columns in Chinese. The ward and the note
are health details and never leave the bot: they are not even read here. The reason for another
sum or for declining is finance's business: it is opened with the key and exported. The workbook
follows the project's conventions (bot/xlsx.py): a file on disk is readable by its owner only.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import BinaryIO
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot import texts
from bot.xlsx import Cell, wall_time, write_workbook
from storage import audit, care, officers
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import CareCase, Officer

COLUMNS = texts.EXPORT_COLUMNS
# Widths in Excel's character units; CJK characters count about two.
WIDTHS = (8, 10, 10, 14, 14, 12, 10, 10, 10, 17, 17, 16, 17, 16, 17, 16, 30, 8)
OFFICER_ACTOR = "officer:"
AUDIT_ACTION = "care.export"


class ExportError(Exception):
    """The file cannot be written; the message is one sentence for the operator."""


def _event(event: str, relation: str) -> str:
    """The event as the cards name it; handlers import this module, so it cannot import them."""
    if event == "relative_death" and relation in texts.CARE_RELATIONS:
        return texts.CARE_RELATIVE_EVENT.format(relation=texts.CARE_RELATIONS[relation])
    return texts.CARE_EVENTS.get(event, event)


def _actor_names(session: Session, cases: Iterable[CareCase]) -> dict[str, str]:
    """Audit-style actors ("officer:200001") as people read them: 赵敏（200001）."""
    names: dict[str, str] = {}
    for case in cases:
        for actor in (case.visited_by, case.paid_by, case.declined_by):
            if not actor or actor in names:
                continue
            names[actor] = actor
            if actor.startswith(OFFICER_ACTOR):
                police_id = actor.removeprefix(OFFICER_ACTOR)
                officer = officers.by_police_id(session, police_id)
                if officer is not None:
                    names[actor] = f"{officer.name}（{police_id}）"
    return names


def _row(
    case: CareCase, officer: Officer, names: dict[str, str], zone: ZoneInfo, cipher: FieldCipher
) -> list[Cell]:
    """One case, in the order of COLUMNS."""
    reason = care.pay_reason(case, cipher) or care.decline_reason(case, cipher)
    return [
        case.id,
        officer.police_id,
        officer.name,
        officer.unit,
        _event(case.event, case.relation),
        case.event_date,
        # No policy sum is not a sum of 0: the cell stays empty.
        case.policy_amount or None,
        case.paid_amount,
        texts.CASE_STATUS.get(case.status, case.status),
        wall_time(case.reported_at, zone),
        wall_time(case.visited_at, zone),
        names.get(case.visited_by, ""),
        wall_time(case.paid_at, zone),
        names.get(case.paid_by, ""),
        wall_time(case.declined_at, zone),
        names.get(case.declined_by, ""),
        reason,
        f"#{case.duplicate_of}" if case.duplicate_of else "",
    ]


def case_rows(
    session: Session, start: date, end: date, zone: ZoneInfo, cipher: FieldCipher
) -> list[list[Cell]]:
    """Every case with its event date in [start, end], oldest event first, as export rows."""
    pairs = care.for_period(session, start, end)
    names = _actor_names(session, (case for case, _officer in pairs))
    return [_row(case, officer, names, zone, cipher) for case, officer in pairs]


def write_cases(rows: Sequence[Sequence[Cell]], target: Path | BinaryIO) -> int:
    """Write export rows (case_rows) to an .xlsx file or buffer; returns the rows written.

    A path is created 0600 (bot/private_files.py).
    """
    return write_workbook(rows, target, columns=COLUMNS, widths=WIDTHS, title=texts.EXPORT_SHEET)


def export_bytes(
    database: Database,
    start: date,
    end: date,
    zone: ZoneInfo,
    *,
    actor: str,
    cipher: FieldCipher,
) -> tuple[bytes, int]:
    """The workbook of a period in memory (for a chat document) and its row count; audited."""
    with database.session() as session:
        rows = case_rows(session, start, end, zone, cipher)
        _audit(session, actor, start, end, len(rows))
    buffer = io.BytesIO()
    write_cases(rows, buffer)
    return buffer.getvalue(), len(rows)


def export_file(
    database: Database,
    start: date,
    end: date,
    zone: ZoneInfo,
    path: Path,
    *,
    cipher: FieldCipher,
) -> int:
    """Write the workbook of a period to a file; returns the rows written; audited.

    The file is written beside the target (created 0600) and renamed into place, so a failed
    export leaves any earlier file intact and the new one is never readable by others.
    """
    if path.suffix.lower() != ".xlsx":
        raise ExportError(f"{path.name}: the export is an Excel workbook; name it *.xlsx")
    partial = path.with_name(f".{path.stem}.part.xlsx")
    try:
        with database.session() as session:
            rows = case_rows(session, start, end, zone, cipher)
            count = write_cases(rows, partial)
            os.replace(partial, path)
            _audit(session, "cli", start, end, count)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return count


def _audit(session: Session, actor: str, start: date, end: date, rows: int) -> None:
    # The period and the count only: who took finance's data out, and how much.
    audit.record(
        session,
        actor=actor,
        action=AUDIT_ACTION,
        target=f"{start.isoformat()}..{end.isoformat()}",
        rows=rows,
    )
