"""Roster files: read and validate CSV or XLSX, import them into the database, export them back.

A roster file has a header row naming the columns police_id, name, unit, phone, birthday,
gender and blood_type, and optionally telegram_user_id, in any order and any letter case.
Rows are numbered as a spreadsheet shows them, the header being row 1.
"""

from __future__ import annotations

import csv
import io
import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar

from bot.private_files import private_file
from bot.rules.identity import (
    BloodType,
    normalize_phone,
    normalize_police_id,
    parse_blood_type,
    parse_gender,
)
from bot.rules.text import clean, meaningful
from bot.xlsx import write_workbook
from storage import audit
from storage import roster as roster_store
from storage.db import Database
from storage.roster import KeptPhone, RosterEntry

REQUIRED_COLUMNS = ("police_id", "name", "unit", "phone", "birthday", "gender", "blood_type")
OPTIONAL_COLUMNS = ("telegram_user_id",)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
SUFFIXES = (".csv", ".xlsx")
XLSX_SHEET = "roster"
AUDIT_ACTION = "roster.import"

# The officer table's column widths.
MAX_NAME = 64
MAX_UNIT = 128
EARLIEST_BIRTHDAY = date(1900, 1, 1)
# telegram_binding.telegram_user_id is a BIGINT; a larger number would abort the whole import.
MAX_TELEGRAM_USER_ID = 2**63 - 1

_GENDER_CELLS = {"M": "男", "F": "女"}
_DATE_SEPARATED = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T]00:00(?::00)?)?")
_DATE_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")

_T = TypeVar("_T")


class RosterError(Exception):
    """The file as a whole cannot be used; the message is one sentence for the operator."""


@dataclass(frozen=True)
class RowError:
    """One problem with one row: its spreadsheet row number, police ID if known, and why."""

    line: int
    police_id: str
    reason: str


@dataclass
class ImportReport:
    """The outcome of an import: counts, and the rows that were rejected."""

    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    deactivated: int = 0
    bound: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False
    # Phones officers changed in chat, kept over the file's: for the operator's eyes only.
    kept_phones: list[KeptPhone] = field(default_factory=list)
    deceased: int = 0

    @property
    def invalid_rows(self) -> int:
        """How many rows had at least one error."""
        return len({error.line for error in self.errors})

    def lines(self, *, max_errors: int | None = None) -> list[str]:
        """The report as a few plain English lines for the command line."""
        if self.applied:
            lines = [
                f"Read {_count(self.rows_read, 'row')}: {self.created} created, "
                f"{self.updated} updated, {self.unchanged} unchanged.",
                f"{self.deactivated} deactivated, {_count(self.bound, 'Telegram account')} bound.",
            ]
            if self.deceased:
                lines.append(
                    f"{_count(self.deceased, 'deceased officer')} in the file left inactive."
                )
            if self.kept_phones:
                lines.append(
                    f"Kept {_count(len(self.kept_phones), 'phone')} the officer changed in "
                    "chat; the file has another (update the file, or ask the officer):"
                )
                lines += [
                    f"{kept.police_id} {kept.name}: file {kept.file_phone}, kept {kept.kept_phone}"
                    for kept in self.kept_phones
                ]
            if self.errors:
                lines.append(f"Skipped {_count(self.invalid_rows, 'invalid row')}:")
        else:
            verb = "is" if self.invalid_rows == 1 else "are"
            lines = [
                f"Nothing imported: {self.invalid_rows} of {_count(self.rows_read, 'row')} "
                f"{verb} invalid. Fix them, or skip invalid rows to import the rest:"
            ]
        shown = self.errors if max_errors is None else self.errors[:max_errors]
        for error in shown:
            who = f" ({error.police_id})" if error.police_id else ""
            lines.append(f"Line {error.line}{who}: {error.reason}")
        if len(shown) < len(self.errors):
            lines.append(f"... and {_count(len(self.errors) - len(shown), 'more error')}.")
        return lines


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def roster_suffix(path: Path) -> str:
    """The file's format, '.csv' or '.xlsx', or RosterError for anything else."""
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise RosterError(
            f"{path.name}: unsupported file type {suffix or '(none)'}; use .csv or .xlsx"
        )
    return suffix


# ---------------------------------------------------------------------------------------------
# Reading


def _csv_rows(path: Path) -> Iterator[list[object]]:
    # utf-8-sig drops the byte order mark Excel writes in front of "CSV UTF-8" files.
    with path.open(encoding="utf-8-sig", newline="") as stream:
        yield from csv.reader(stream)


def _xlsx_rows(path: Path) -> Iterator[list[object]]:
    from openpyxl import load_workbook  # here: the running bot seldom reads a workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except OSError:
        raise  # a missing or unreadable file, reported as such by _raw_rows
    except Exception as exc:
        # openpyxl fails in many ways on a damaged or mislabelled file; all mean the same here.
        raise RosterError(f"{path.name} is not a readable .xlsx workbook") from exc
    try:
        if not workbook.worksheets:
            return
        sheet = workbook.worksheets[0]
        # Some tools write a wrong dimension record, which would cut rows short.
        sheet.reset_dimensions()
        # Read-only sheets yield empty rows for gaps, so the position is the sheet row number.
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _raw_rows(path: Path) -> Iterator[list[object]]:
    """Every row of the file, blank ones included, as cells; RosterError if unreadable."""
    suffix = roster_suffix(path)
    try:
        if suffix == ".csv":
            yield from _csv_rows(path)
        else:
            yield from _xlsx_rows(path)
    except UnicodeDecodeError:
        raise RosterError(
            f"{path.name} is not UTF-8 text; in Excel save it as 'CSV UTF-8', or as .xlsx"
        ) from None
    except csv.Error as exc:
        raise RosterError(f"{path.name} is not a valid CSV file: {exc}") from exc
    except OSError as exc:
        raise RosterError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _text(cell: object) -> str:
    """A cell as trimmed text; spreadsheet numbers lose the '.0' Excel gives whole numbers."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime) and cell.time() == datetime.min.time():
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def _columns(cells: list[object], path: Path) -> dict[str, int]:
    """Map column name to position from the header row, or RosterError naming the problem."""
    names = [_text(cell).replace("\ufeff", "").strip().lower() for cell in cells]
    while names and not names[-1]:
        names.pop()
    positions: dict[str, int] = {}
    for position, name in enumerate(names):
        if not name:
            raise RosterError(f"{path.name}: column {position + 1} has no header")
        if name in positions:
            raise RosterError(f"{path.name}: column {name} appears twice")
        positions[name] = position
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    unknown = [name for name in positions if name not in COLUMNS]
    problems = []
    if missing:
        problems.append(f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown column{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if problems:
        raise RosterError(
            f"{path.name}: {'; '.join(problems)} "
            f"(expected {', '.join(REQUIRED_COLUMNS)} and optionally {', '.join(OPTIONAL_COLUMNS)})"
        )
    return positions


def _birthday(cell: object, today: date) -> date | None:
    """The birthday in a cell, None if empty, or ValueError with the reason."""
    if isinstance(cell, datetime):
        value = cell.date()
    elif isinstance(cell, date):
        value = cell
    else:
        text = _text(cell)
        if not text:
            return None
        match = _DATE_SEPARATED.fullmatch(text) or _DATE_COMPACT.fullmatch(text)
        if match is None:
            raise ValueError("birthday must be a date like 1985-03-12")
        try:
            value = date(*(int(part) for part in match.groups()))
        except ValueError:
            raise ValueError("birthday is not a valid date") from None
    if value > today:
        raise ValueError("birthday is in the future")
    if value < EARLIEST_BIRTHDAY:
        raise ValueError("birthday is before 1900")
    return value


def _telegram_user_id(cell: object) -> int | None:
    """The account id in a cell, None if empty, or ValueError."""
    text = _text(cell)
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_TELEGRAM_USER_ID:
        raise ValueError("telegram_user_id must be a positive whole number")
    return int(text)


class _RowParser:
    """Validates rows one by one, remembering what earlier rows used to catch duplicates."""

    def __init__(self, columns: dict[str, int], today: date) -> None:
        self.columns = columns
        self.width = max(columns.values()) + 1
        self.today = today
        self.police_ids: dict[str, int] = {}
        self.accounts: dict[int, int] = {}
        self.phones: dict[str, int] = {}

    def parse(self, line: int, cells: list[object]) -> tuple[RosterEntry | None, list[RowError]]:
        """The entry of a data row, or None and the row's errors."""
        reasons: list[str] = []

        def cell(name: str) -> object:
            position = self.columns.get(name)
            return cells[position] if position is not None and position < len(cells) else None

        police_id = ""
        raw_police_id = _text(cell("police_id"))
        if not raw_police_id:
            reasons.append("police_id is empty")
        else:
            police_id = _attempt(reasons, lambda: normalize_police_id(raw_police_id)) or ""
            if police_id in self.police_ids:
                reasons.append(f"police_id duplicates line {self.police_ids[police_id]}")
            elif police_id:
                self.police_ids[police_id] = line

        # Without direction overrides (a name that reads backwards) or invisible edges.
        name = clean(_text(cell("name")))
        unit = clean(_text(cell("unit")))
        for column, value, limit in (("name", name, MAX_NAME), ("unit", unit, MAX_UNIT)):
            if not value:
                reasons.append(f"{column} is empty")
            elif not meaningful(value):
                reasons.append(f"{column} has only blank or invisible characters")
            elif len(value) > limit:
                reasons.append(f"{column} is longer than {limit} characters")
            elif any(unicodedata.category(char) == "Cc" for char in value):
                # Line breaks garble messages, and .xlsx cannot hold most control characters.
                reasons.append(f"{column} contains a line break or control character")

        phone = ""
        raw_phone = _text(cell("phone"))
        if not raw_phone:
            reasons.append("phone is empty")
        else:
            try:
                phone = normalize_phone(raw_phone)
            except ValueError:
                # A fixed reason: the report must never repeat a phone number.
                reasons.append("phone is not a mainland China mobile number")
            else:
                if phone in self.phones:
                    # Binding by shared contact looks officers up by phone; it must be unique.
                    reasons.append(f"phone duplicates line {self.phones[phone]}")
                else:
                    self.phones[phone] = line

        birthday = _attempt(reasons, lambda: _birthday(cell("birthday"), self.today))
        raw_gender = _text(cell("gender"))
        gender = _attempt(reasons, lambda: parse_gender(raw_gender)) if raw_gender else None
        raw_blood = _text(cell("blood_type"))
        blood = _attempt(reasons, lambda: parse_blood_type(raw_blood)) if raw_blood else None

        account = _attempt(reasons, lambda: _telegram_user_id(cell("telegram_user_id")))
        if account is not None:
            if account in self.accounts:
                reasons.append(f"telegram_user_id duplicates line {self.accounts[account]}")
            else:
                self.accounts[account] = line

        if any(_text(extra) for extra in cells[self.width :]):
            reasons.append("row has more cells than the header has columns")

        if reasons:
            return None, [RowError(line, police_id, reason) for reason in reasons]
        entry = RosterEntry(
            police_id=police_id,
            name=name,
            unit=unit,
            phone=phone,
            birthday=birthday,
            gender=gender,
            blood_group=blood.group if blood else None,
            rh_negative=blood.rh_negative if blood else False,
            telegram_user_id=account,
        )
        return entry, []


def _attempt(reasons: list[str], parse: Callable[[], _T]) -> _T | None:
    """parse(), or None with the reason of its ValueError added to reasons."""
    try:
        return parse()
    except ValueError as exc:
        reasons.append(str(exc))
        return None


def read_roster(path: Path, *, today: date) -> tuple[list[tuple[int, RosterEntry]], list[RowError]]:
    """The valid rows with their row numbers and the errors of the rest; RosterError if unusable.

    Blank rows are skipped; the first non-blank row is the header. Nothing is written.
    """
    entries: list[tuple[int, RosterEntry]] = []
    errors: list[RowError] = []
    parser: _RowParser | None = None
    for line, cells in enumerate(_raw_rows(path), start=1):
        if not any(_text(cell) for cell in cells):
            continue
        if parser is None:
            parser = _RowParser(_columns(cells, path), today)
            continue
        entry, row_errors = parser.parse(line, cells)
        if entry is not None:
            entries.append((line, entry))
        errors.extend(row_errors)
    if parser is None:
        raise RosterError(f"{path.name} is empty: it needs a header row")
    return entries, errors


# ---------------------------------------------------------------------------------------------
# Importing


def import_roster(
    database: Database,
    path: Path,
    *,
    actor: str,
    skip_invalid: bool = False,
    deactivate_missing: bool = False,
    today: date | None = None,
) -> ImportReport:
    """Import a roster file in one transaction with one audit entry.

    With any invalid row nothing is imported unless skip_invalid. With deactivate_missing,
    active officers absent from the file are deactivated and unbound, except those named on
    a skipped row. `today` bounds birthdays; pass it in the union's time zone.

    A phone an officer changed in chat (/me) is kept while the file still has another one, and
    listed in the report (storage.roster: the mark clears once a file carries that phone). An
    officer whose death was confirmed stays inactive.
    """
    entries, errors = read_roster(path, today=today or date.today())
    report = ImportReport(
        rows_read=len(entries) + len({error.line for error in errors}), errors=errors
    )
    if errors and not skip_invalid:
        return report
    if deactivate_missing and not entries:
        raise RosterError(f"{path.name} has no valid rows; refusing to deactivate every officer")
    protect = {error.police_id for error in errors if error.police_id}
    with database.session() as session:
        result = roster_store.apply_records(
            session,
            [entry for _, entry in entries],
            deactivate_missing=deactivate_missing,
            protect=protect,
        )
        audit.record(
            session,
            actor=actor,
            action=AUDIT_ACTION,
            target=path.name,
            rows=report.rows_read,
            created=result.created,
            updated=result.updated,
            unchanged=result.unchanged,
            deactivated=result.deactivated,
            bound=result.bound,
            # Counts only: the phones themselves never reach the audit log.
            kept_phones=len(result.kept_phones),
            deceased=result.deceased,
            invalid=report.invalid_rows,
            skip_invalid=skip_invalid,
            deactivate_missing=deactivate_missing,
        )
    report.created = result.created
    report.updated = result.updated
    report.unchanged = result.unchanged
    report.deactivated = result.deactivated
    report.bound = result.bound
    report.kept_phones = list(result.kept_phones)
    report.deceased = result.deceased
    report.applied = True
    return report


# ---------------------------------------------------------------------------------------------
# Exporting


def _export_cells(entry: RosterEntry) -> list[str | date | None]:
    """An entry as cells in COLUMNS order; the birthday stays a date for the writer to format."""
    blood = BloodType(entry.blood_group, entry.rh_negative) if entry.blood_group else None
    return [
        entry.police_id,
        entry.name,
        entry.unit,
        entry.phone,
        entry.birthday,
        _GENDER_CELLS.get(entry.gender or "", ""),
        str(blood) if blood else "",
        # Text, not a number: Excel shows long numbers in exponent form and rounds past 15 digits.
        str(entry.telegram_user_id) if entry.telegram_user_id is not None else "",
    ]


def _write_csv(path: Path, rows: Iterable[list[str | date | None]]) -> int:
    count = 0
    # With the byte order mark Excel opens the file as UTF-8 instead of the local code page.
    with (
        private_file(path) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as stream,
    ):
        writer = csv.writer(stream)
        writer.writerow(COLUMNS)
        for cells in rows:
            writer.writerow(
                [value.isoformat() if isinstance(value, date) else value for value in cells]
            )
            count += 1
    return count


def export_roster(database: Database, path: Path) -> int:
    """Write the active roster to a .csv or .xlsx file in the import format; rows written.

    The file is written beside the target (created 0600: it holds every officer's phone) and
    renamed into place, so a failed export leaves any earlier file intact. An .xlsx follows the
    project's conventions (bot/xlsx.py): dates are date cells, text is never a formula.
    """
    suffix = roster_suffix(path)
    partial = path.with_name(f".{path.stem}.part{suffix}")
    try:
        with database.session() as session:
            rows = (_export_cells(entry) for entry in roster_store.export_rows(session))
            if suffix == ".csv":
                count = _write_csv(partial, rows)
            else:
                count = write_workbook(rows, partial, columns=COLUMNS, title=XLSX_SHEET)
        os.replace(partial, path)
    except OSError as exc:
        raise RosterError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    return count
