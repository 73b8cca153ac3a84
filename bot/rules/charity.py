"""Charity (慈善一日捐 / 慈善天天一捐) rules: amounts, campaigns, progress and payment files.

Pure functions, no Telegram and no session. Money is whole yuan throughout (storage keeps
integers): an amount is read as people type it (100, １００, 100元, ¥1,000, 3万) and refused in
one sentence when it is zero, negative, not whole yuan or over the cap. A payment file (CSV or
XLSX, a header row naming police_id, amount and date) is read line by line as the roster import
reads its file: rows numbered as a spreadsheet shows them (the header is row 1, blank rows
count but are skipped), every problem of a row reported with its number.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bot.rules.forgiving import Lean, normalise, parse_day
from bot.rules.identity import normalize_police_id
from bot.rules.text import clean, meaningful

# One pledge or one payment: above this (yuan) it is a typing slip, not a gift. The default
# of the policy's charity.amount_cap, which the bot and the CLI pass in.
AMOUNT_CAP = 100_000
# A campaign's target (yuan): the seed's best year raised 302,600.
TARGET_CAP = 100_000_000
MAX_NAME = 60
MAX_SUGGESTED = 6
DEFAULT_SUGGESTED = (50, 100, 200, 500)
MAX_DAYS = 366
# A unit with fewer givers is not listed on its own: its total would tell their amounts.
MIN_UNIT_GIVERS = 3
# An end date at most this far ahead.
MAX_AHEAD = timedelta(days=2 * 366)

# Payment files.
SUFFIXES = (".csv", ".xlsx")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
COLUMNS = ("police_id", "amount", "date")
# Headers as people write them, in Chinese or English; `name` is for people reading the
# file and is not used.
HEADER_NAMES = {
    "police_id": "police_id",
    "警号": "police_id",
    "amount": "amount",
    "金额": "amount",
    "捐款金额": "amount",
    "缴款金额": "amount",
    "date": "date",
    "日期": "date",
    "缴款日期": "date",
    "捐款日期": "date",
    "name": "name",
    "姓名": "name",
}

_AMOUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(万|千)?$")
_MULTIPLIERS = {"万": 10_000, "千": 1_000, None: 1}
_SEPARATORS = re.compile(r"[\s,，、;；/]+")


class Problem(StrEnum):
    """Why a value is refused; bot.texts.CHARITY_PROBLEMS says it in Chinese."""

    EMPTY = "empty"
    NAME_TOO_LONG = "name_too_long"
    NOT_A_NUMBER = "not_a_number"
    NOT_WHOLE = "not_whole"
    NOT_POSITIVE = "not_positive"
    OVER_CAP = "over_cap"
    TARGET_OVER_CAP = "target_over_cap"
    BAD_YEAR = "bad_year"
    BAD_DATE = "bad_date"
    END_PAST = "end_past"
    END_TOO_FAR = "end_too_far"
    BAD_DAYS = "bad_days"
    TOO_MANY_SUGGESTED = "too_many_suggested"
    # The lines of a payment file.
    POLICE_ID_EMPTY = "police_id_empty"
    BAD_POLICE_ID = "bad_police_id"
    UNKNOWN_OFFICER = "unknown_officer"
    AMOUNT_EMPTY = "amount_empty"
    DATE_EMPTY = "date_empty"
    DATE_FUTURE = "date_future"
    DATE_TOO_OLD = "date_too_old"
    DUPLICATE_LINE = "duplicate_line"
    EXTRA_CELLS = "extra_cells"


class FileProblem(StrEnum):
    """Why a payment file as a whole cannot be read; bot.texts.CHARITY_FILE_PROBLEMS."""

    NOT_A_TABLE = "not_a_table"
    TOO_BIG = "too_big"
    UNREADABLE = "unreadable"
    NO_HEADER = "no_header"
    MISSING_COLUMNS = "missing_columns"
    UNKNOWN_COLUMNS = "unknown_columns"
    REPEATED_COLUMN = "repeated_column"
    BLANK_COLUMN = "blank_column"
    TOO_MANY_ROWS = "too_many_rows"
    NO_ROWS = "no_rows"


class CharityInputError(ValueError):
    """A typed value that cannot be used; `problem` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class PaymentFileError(ValueError):
    """A payment file that cannot be used at all; `detail` names columns where it helps."""

    def __init__(self, problem: FileProblem, detail: str = "") -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.detail = detail


# --- amounts ----------------------------------------------------------------------------------


def yuan(amount: int) -> str:
    """An amount as people read it: ¥302,600."""
    return f"¥{amount:,}"


def parse_amount(text: str, cap: int = AMOUNT_CAP, over: Problem = Problem.OVER_CAP) -> int:
    """Whole yuan as typed: 100, １００, 100元, ¥1,000, 100.00, 3万, 3.5万; CharityInputError
    if it is no number, not whole yuan, zero or negative, or above `cap` (as `over`)."""
    value = re.sub(r"\s+", "", normalise(text))
    value = value.removeprefix("¥").removeprefix("￥").removeprefix("RMB").removeprefix("rmb")
    value = value.removesuffix("人民币").removesuffix("元").removesuffix("块").replace(",", "")
    value = value.replace("，", "")
    if not value:
        raise CharityInputError(Problem.EMPTY)
    if value.startswith(("-", "负")):
        raise CharityInputError(Problem.NOT_POSITIVE)
    match = _AMOUNT.match(value.removeprefix("+"))
    if match is None:
        raise CharityInputError(Problem.NOT_A_NUMBER)
    try:
        amount = Decimal(match.group(1)) * _MULTIPLIERS[match.group(2)]
    except InvalidOperation:
        raise CharityInputError(Problem.NOT_A_NUMBER) from None
    if amount <= 0:
        raise CharityInputError(Problem.NOT_POSITIVE)
    if amount != amount.to_integral_value():
        raise CharityInputError(Problem.NOT_WHOLE)
    if amount > cap:
        raise CharityInputError(over)
    return int(amount)


def parse_target(text: str) -> int:
    """A campaign's target in whole yuan (30万 as well as 300000)."""
    return parse_amount(text, TARGET_CAP, Problem.TARGET_OVER_CAP)


def parse_days(text: str) -> int:
    """How many days a daily sum is given for: 1 to MAX_DAYS."""
    value = re.sub(r"\s+", "", normalise(text)).removesuffix("天")
    if not value.isascii() or not value.isdigit():
        raise CharityInputError(Problem.BAD_DAYS)
    days = int(value)
    if not 1 <= days <= MAX_DAYS:
        raise CharityInputError(Problem.BAD_DAYS)
    return days


def daily_total(daily: int, days: int, cap: int = AMOUNT_CAP) -> int:
    """每天 X 元 × N 天, checked against the cap like any other amount."""
    if daily <= 0 or days <= 0:
        raise CharityInputError(Problem.NOT_POSITIVE)
    total = daily * days
    if total > cap:
        raise CharityInputError(Problem.OVER_CAP)
    return total


def parse_suggested(text: str, cap: int = AMOUNT_CAP) -> tuple[int, ...]:
    """Suggested amounts as typed, "50 100 200 500" (commas, 、 or new lines between them):
    one to MAX_SUGGESTED amounts, each a valid amount; duplicates dropped, in order."""
    parts = [part for part in _SEPARATORS.split(normalise(text)) if part]
    if not parts:
        raise CharityInputError(Problem.EMPTY)
    amounts = sorted({parse_amount(part, cap) for part in parts})
    if len(amounts) > MAX_SUGGESTED:
        raise CharityInputError(Problem.TOO_MANY_SUGGESTED)
    return tuple(amounts)


def suggested_text(amounts: Sequence[int]) -> str:
    """The suggested amounts as the campaign row keeps them: "50,100,200,500"."""
    return ",".join(str(amount) for amount in amounts)


def suggested_of(stored: str) -> tuple[int, ...]:
    """The suggested amounts of a campaign row (any that do not read are left out)."""
    return tuple(int(part) for part in stored.split(",") if part.isascii() and part.isdigit())


# --- campaigns ----------------------------------------------------------------------------------


def check_name(text: str) -> str:
    """A campaign's name: visible text of at most MAX_NAME characters on one line."""
    value = " ".join(clean(text).split())
    if not value or not meaningful(value):
        raise CharityInputError(Problem.EMPTY)
    if len(value) > MAX_NAME:
        raise CharityInputError(Problem.NAME_TOO_LONG)
    return value


def parse_year(text: str, today: date) -> int:
    """A campaign's year: last year, this year or next (2026, 2026年)."""
    value = re.sub(r"\s+", "", normalise(text)).removesuffix("年度").removesuffix("年")
    if not value.isascii() or not value.isdigit() or len(value) != 4:
        raise CharityInputError(Problem.BAD_YEAR)
    year = int(value)
    if not today.year - 1 <= year <= today.year + 1:
        raise CharityInputError(Problem.BAD_YEAR)
    return year


def parse_end(text: str, today: date) -> date:
    """The last day pledges are taken, as people write dates (12月31日, 2026-12-31, 明天):
    today or later, within two years."""
    day = parse_day(text, today, lean=Lean.FUTURE)
    if day is None:
        raise CharityInputError(Problem.BAD_DATE)
    if day < today:
        raise CharityInputError(Problem.END_PAST)
    if day - today > MAX_AHEAD:
        raise CharityInputError(Problem.END_TOO_FAR)
    return day


def takes_pledges(open_: bool, ends_on: date | None, today: date) -> bool:
    """An open campaign takes pledges up to and including its end date (the union's day)."""
    return open_ and (ends_on is None or today <= ends_on)


def share(paid: int, target: int) -> str:
    """How far a campaign is: 4.1%, 100%, 120.5% (one decimal, trailing .0 dropped)."""
    if target <= 0:
        return "0%"
    tenths = (paid * 1000 + target // 2) // target
    whole, rest = divmod(tenths, 10)
    return f"{whole}%" if rest == 0 else f"{whole}.{rest}%"


@dataclass(frozen=True)
class UnitTotal:
    """What the officers of one unit gave to a campaign: no one's own amount."""

    unit: str
    paid: int
    givers: int


def units_shown(
    totals: Sequence[UnitTotal], min_givers: int = MIN_UNIT_GIVERS
) -> tuple[list[UnitTotal], UnitTotal | None]:
    """The units listed on their own (most given first) and the rest together.

    A unit with fewer than `min_givers` givers is folded into the rest: one giver's unit total
    would be that officer's amount, and everyone sees this list. The rest is None when nothing
    was folded, and keeps its units unnamed ("" as its unit).
    """
    shown = sorted(
        (total for total in totals if total.givers >= min_givers),
        key=lambda total: (-total.paid, total.unit),
    )
    folded = [total for total in totals if total.givers < min_givers and total.givers > 0]
    rest = None
    if folded:
        rest = UnitTotal("", sum(t.paid for t in folded), sum(t.givers for t in folded))
    return shown, rest


def rest_amount_shown(rest: UnitTotal, min_givers: int = MIN_UNIT_GIVERS) -> bool:
    """True if the folded units' total may be shown: with fewer than `min_givers` givers
    together it would tell one or two officers' amounts, and only their number is shown."""
    return rest.givers >= min_givers


# --- payment files ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PaymentLine:
    """One good line of a payment file."""

    line: int
    police_id: str
    amount: int
    paid_on: date


@dataclass(frozen=True)
class LineError:
    """One problem of one line: its spreadsheet row number, the police ID if read, and why
    (`other`: the line it repeats)."""

    line: int
    police_id: str
    problem: Problem
    other: int = 0


def file_suffix(name: str) -> str:
    """'.csv' or '.xlsx' from a file's name; PaymentFileError for anything else."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in SUFFIXES:
        raise PaymentFileError(FileProblem.NOT_A_TABLE)
    return suffix


def _csv_rows(data: bytes) -> Iterator[list[object]]:
    # UTF-8 (with Excel's byte order mark), else the GB18030 a Chinese Excel saves CSV in.
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise PaymentFileError(FileProblem.UNREADABLE) from None
    try:
        yield from csv.reader(io.StringIO(text, newline=""))
    except csv.Error:
        raise PaymentFileError(FileProblem.UNREADABLE) from None


def _xlsx_rows(data: bytes) -> Iterator[list[object]]:
    from openpyxl import load_workbook  # here: the running bot seldom reads a workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        # openpyxl fails in many ways on a damaged or mislabelled file; all mean the same here.
        raise PaymentFileError(FileProblem.UNREADABLE) from None
    try:
        # Read-only workbooks parse lazily: a damaged sheet fails here, row by row, not above.
        try:
            if not workbook.worksheets:
                return
            sheet = workbook.worksheets[0]
            sheet.reset_dimensions()  # some tools write a wrong dimension record
            rows = sheet.iter_rows(values_only=True)
        except Exception:
            raise PaymentFileError(FileProblem.UNREADABLE) from None
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except Exception:
                raise PaymentFileError(FileProblem.UNREADABLE) from None
            yield list(row)
    finally:
        workbook.close()


def cell_text(cell: object) -> str:
    """A cell as trimmed text; whole spreadsheet numbers lose Excel's '.0'."""
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    return str(cell).strip()


def _columns(cells: Sequence[object]) -> dict[str, int]:
    names = [cell_text(cell).replace("\ufeff", "").strip().lower() for cell in cells]
    while names and not names[-1]:
        names.pop()
    positions: dict[str, int] = {}
    unknown: list[str] = []
    for position, name in enumerate(names):
        if not name:
            raise PaymentFileError(FileProblem.BLANK_COLUMN, str(position + 1))
        column = HEADER_NAMES.get(name)
        if column is None:
            unknown.append(name)
            continue
        if column in positions:
            raise PaymentFileError(FileProblem.REPEATED_COLUMN, name)
        positions[column] = position
    missing = [column for column in COLUMNS if column not in positions]
    if missing:
        raise PaymentFileError(FileProblem.MISSING_COLUMNS, ", ".join(missing))
    if unknown:
        raise PaymentFileError(FileProblem.UNKNOWN_COLUMNS, ", ".join(unknown))
    return positions


def _paid_on(cell: object, today: date, year: int) -> date:
    if isinstance(cell, datetime):
        day = cell.date()
    elif isinstance(cell, date):
        day = cell
    else:
        text = cell_text(cell)
        if not text:
            raise CharityInputError(Problem.DATE_EMPTY)
        found = parse_day(text, today, lean=Lean.PAST)
        if found is None:
            raise CharityInputError(Problem.BAD_DATE)
        day = found
    return check_paid_on(day, today, year)


def check_paid_on(day: date, today: date, year: int) -> date:
    """A payment's date: not after today, not before the year before the campaign's."""
    if day > today:
        raise CharityInputError(Problem.DATE_FUTURE)
    if day.year < year - 1:
        raise CharityInputError(Problem.DATE_TOO_OLD)
    return day


def _cell_amount(cell: object, cap: int) -> int:
    if isinstance(cell, bool):
        raise CharityInputError(Problem.NOT_A_NUMBER)
    if isinstance(cell, float) and not cell.is_integer():
        raise CharityInputError(Problem.NOT_WHOLE)
    text = cell_text(cell)
    if not text:
        raise CharityInputError(Problem.AMOUNT_EMPTY)
    return parse_amount(text, cap)


def read_payment_file(
    data: bytes, suffix: str, *, today: date, year: int, cap: int = AMOUNT_CAP
) -> tuple[list[PaymentLine], list[LineError], int]:
    """The good lines, the problems of the others and how many rows were read.

    PaymentFileError if the file as a whole cannot be used (not CSV or XLSX, unreadable, no
    header, columns missing or unknown, too big). A line repeating an earlier one exactly (the
    same officer, amount and date) is refused: it is most likely pasted twice.
    """
    if len(data) > MAX_FILE_BYTES:
        raise PaymentFileError(FileProblem.TOO_BIG)
    rows = _csv_rows(data) if suffix == ".csv" else _xlsx_rows(data)
    good: list[PaymentLine] = []
    errors: list[LineError] = []
    columns: dict[str, int] | None = None
    seen: dict[tuple[str, int, date], int] = {}
    read = 0
    for line, cells in enumerate(rows, start=1):
        if not any(cell_text(cell) for cell in cells):
            continue
        if columns is None:
            columns = _columns(cells)
            continue
        read += 1
        if read > MAX_ROWS:
            raise PaymentFileError(FileProblem.TOO_MANY_ROWS)
        found, problems = parse_line(cells, columns, today=today, year=year, cap=cap)
        police_id = found.police_id if found is not None else _police_id_of(cells, columns)
        if found is not None:
            key = (found.police_id, found.amount, found.paid_on)
            if key in seen:
                errors.append(LineError(line, police_id, Problem.DUPLICATE_LINE, seen[key]))
                continue
            seen[key] = line
            good.append(PaymentLine(line, found.police_id, found.amount, found.paid_on))
        errors.extend(LineError(line, police_id, problem) for problem in problems)
    if columns is None:
        raise PaymentFileError(FileProblem.NO_HEADER)
    if read == 0:
        raise PaymentFileError(FileProblem.NO_ROWS)
    return good, errors, read


def _police_id_of(cells: Sequence[object], columns: dict[str, int]) -> str:
    """The police ID of a bad line, if it reads as one (for the report)."""
    position = columns["police_id"]
    raw = cell_text(cells[position]) if position < len(cells) else ""
    try:
        return normalize_police_id(raw)
    except ValueError:
        return ""


def parse_line(
    cells: Sequence[object], columns: dict[str, int], *, today: date, year: int, cap: int
) -> tuple[PaymentLine | None, list[Problem]]:
    """One data line: a payment (line number 0: the caller knows it) or every problem it has."""

    def cell(name: str) -> object:
        position = columns[name]
        return cells[position] if position < len(cells) else None

    problems: list[Problem] = []
    police_id = ""
    raw_id = cell_text(cell("police_id"))
    if not raw_id:
        problems.append(Problem.POLICE_ID_EMPTY)
    else:
        try:
            police_id = normalize_police_id(raw_id)
        except ValueError:
            problems.append(Problem.BAD_POLICE_ID)
    amount = 0
    try:
        amount = _cell_amount(cell("amount"), cap)
    except CharityInputError as exc:
        problems.append(exc.problem)
    paid_on = today
    try:
        paid_on = _paid_on(cell("date"), today, year)
    except CharityInputError as exc:
        problems.append(exc.problem)
    width = max(columns.values()) + 1
    if any(cell_text(extra) for extra in cells[width:]):
        problems.append(Problem.EXTRA_CELLS)
    if problems:
        return None, problems
    return PaymentLine(0, police_id, amount, paid_on), []
