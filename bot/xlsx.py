"""XLSX workbooks the bot and the CLI write: finance's case export, rosters, sign-up lists.

The conventions every workbook follows: each sheet starts with a header row, kept in view
(frozen); dates are shown as yyyy-mm-dd and times as yyyy-mm-dd hh:mm, in the union's wall time
(Excel has no time zones: `wall_time`); text stays text, so a name starting with "=" never turns
into a formula, and loses the control characters a workbook cannot hold; a file on disk is
created readable by its owner only (bot/private_files.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO
from zoneinfo import ZoneInfo

from bot.private_files import private_file

# openpyxl is imported where a workbook is written: the running bot seldom needs its 6 MB.
if TYPE_CHECKING:
    from openpyxl import Workbook
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

Cell = str | int | date | datetime | None

DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm"


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its title, its header, its rows (read once, as they are written) and
    its column widths in Excel's character units (CJK characters count about two; a column
    without one keeps Excel's default)."""

    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence[Cell]]
    widths: Sequence[int] = ()


def wall_time(moment: datetime | None, zone: ZoneInfo) -> datetime | None:
    """Excel has no time zones: the wall time in the union's zone, as people read it."""
    return None if moment is None else moment.astimezone(zone).replace(tzinfo=None)


def _cell(sheet: WriteOnlyWorksheet, value: Cell) -> object:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if isinstance(value, datetime):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = TIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(sheet, value)
        cell.number_format = DATE_FORMAT
        return cell
    if isinstance(value, str):
        # Names and reasons are typed by people: control characters would corrupt the file,
        # and a leading "=" would turn into a formula.
        cell = WriteOnlyCell(sheet, ILLEGAL_CHARACTERS_RE.sub("", value))
        cell.data_type = "s"
        return cell
    return value


def _add_sheet(workbook: Workbook, spec: Sheet) -> int:
    """Append one sheet to a write-only workbook; returns its rows (the header aside)."""
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(spec.title)
    for index, width in enumerate(spec.widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append(list(spec.columns))
    count = 0
    for cells in spec.rows:
        sheet.append([_cell(sheet, value) for value in cells])
        count += 1
    return count


def write_sheets(sheets: Iterable[Sheet], target: Path | BinaryIO) -> list[int]:
    """Write the sheets, in order, to an .xlsx file or buffer; returns the rows of each.

    A path is created 0600 (bot/private_files.py), replacing whatever was there.
    """
    if isinstance(target, Path):
        with private_file(target) as stream:
            return write_sheets(sheets, stream)
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    counts = [_add_sheet(workbook, sheet) for sheet in sheets]
    workbook.save(target)
    return counts


def write_workbook(
    rows: Iterable[Sequence[Cell]],
    target: Path | BinaryIO,
    *,
    columns: Sequence[str],
    title: str,
    widths: Sequence[int] = (),
) -> int:
    """Write a one-sheet workbook, header and rows, to an .xlsx file or buffer; rows written.

    A path is created 0600 (bot/private_files.py).
    """
    return write_sheets([Sheet(title, columns, rows, widths)], target)[0]
