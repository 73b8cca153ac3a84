"""Charity rules as tables: amounts as people type them, campaign values, progress, the units
shown to everyone, and the lines of a payment file (CSV and XLSX)."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import date, datetime

import pytest
from openpyxl import Workbook

from bot.rules import charity as rules
from bot.rules.charity import (
    CharityInputError,
    FileProblem,
    LineError,
    PaymentFileError,
    PaymentLine,
    Problem,
    UnitTotal,
)

TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("typed", "amount"),
    [
        ("100", 100),
        ("１００", 100),
        (" 100 元", 100),
        ("¥1,000", 1000),
        ("￥1，000", 1000),
        ("100.00", 100),
        ("3万", 30_000),
        ("3.5万", 35_000),
        ("2千", 2000),
        ("+50", 50),
        ("100000", 100_000),
        ("50块", 50),
    ],
)
def test_amounts_as_typed(typed: str, amount: int) -> None:
    assert rules.parse_amount(typed) == amount


@pytest.mark.parametrize(
    ("typed", "problem"),
    [
        ("", Problem.EMPTY),
        ("元", Problem.EMPTY),
        ("0", Problem.NOT_POSITIVE),
        ("0.0", Problem.NOT_POSITIVE),
        ("-100", Problem.NOT_POSITIVE),
        ("－１００", Problem.NOT_POSITIVE),
        ("负100", Problem.NOT_POSITIVE),
        ("100.5", Problem.NOT_WHOLE),
        ("一百", Problem.NOT_A_NUMBER),
        ("1e5", Problem.NOT_A_NUMBER),
        ("100000.01", Problem.NOT_WHOLE),
        ("100001", Problem.OVER_CAP),
        ("11万", Problem.OVER_CAP),
        ("9" * 40, Problem.OVER_CAP),
    ],
)
def test_bad_amounts(typed: str, problem: Problem) -> None:
    with pytest.raises(CharityInputError) as caught:
        rules.parse_amount(typed)
    assert caught.value.problem == problem


def test_targets_go_higher_than_one_gift() -> None:
    assert rules.parse_target("30万") == 300_000
    assert rules.parse_target("302600") == 302_600
    with pytest.raises(CharityInputError) as caught:
        rules.parse_target("2亿")
    assert caught.value.problem == Problem.NOT_A_NUMBER
    with pytest.raises(CharityInputError) as caught:
        rules.parse_target("100000001")
    assert caught.value.problem == Problem.TARGET_OVER_CAP


@pytest.mark.parametrize(
    ("daily", "days", "total", "problem"),
    [
        (1, 365, 365, None),
        (10, 30, 300, None),
        (300, 366, None, Problem.OVER_CAP),
        (0, 30, None, Problem.NOT_POSITIVE),
    ],
)
def test_a_daily_sum_times_the_days(
    daily: int, days: int, total: int | None, problem: Problem | None
) -> None:
    if problem is None:
        assert rules.daily_total(daily, days) == total
        return
    with pytest.raises(CharityInputError) as caught:
        rules.daily_total(daily, days)
    assert caught.value.problem == problem


@pytest.mark.parametrize(
    ("typed", "days"), [("30", 30), ("３６５天", 365), ("1", 1), ("0", None), ("367", None)]
)
def test_days(typed: str, days: int | None) -> None:
    if days is not None:
        assert rules.parse_days(typed) == days
        return
    with pytest.raises(CharityInputError) as caught:
        rules.parse_days(typed)
    assert caught.value.problem == Problem.BAD_DAYS


def test_suggested_amounts() -> None:
    assert rules.parse_suggested("100 50、200\n50") == (50, 100, 200)
    assert rules.suggested_text((50, 100)) == "50,100"
    assert rules.suggested_of("50,100,x") == (50, 100)
    with pytest.raises(CharityInputError) as caught:
        rules.parse_suggested("1 2 3 4 5 6 7")
    assert caught.value.problem == Problem.TOO_MANY_SUGGESTED
    with pytest.raises(CharityInputError) as caught:
        rules.parse_suggested("50 -1")
    assert caught.value.problem == Problem.NOT_POSITIVE


def test_names_years_and_end_dates() -> None:
    assert rules.check_name("  慈善天天一捐 \n 2026 ") == "慈善天天一捐 2026"
    with pytest.raises(CharityInputError):
        rules.check_name("\u200b ")
    with pytest.raises(CharityInputError):
        rules.check_name("长" * 61)
    assert rules.parse_year("２０２６年", TODAY) == 2026
    assert rules.parse_year("2025", TODAY) == 2025
    for bad in ("2030", "26", "今年"):
        with pytest.raises(CharityInputError):
            rules.parse_year(bad, TODAY)
    assert rules.parse_end("12月31日", TODAY) == date(2026, 12, 31)
    assert rules.parse_end("1月15日", TODAY) == date(2027, 1, 15)  # the next one
    assert rules.parse_end("今天", TODAY) == TODAY
    with pytest.raises(CharityInputError) as caught:
        rules.parse_end("2026-11-30", TODAY)
    assert caught.value.problem == Problem.END_PAST
    with pytest.raises(CharityInputError) as caught:
        rules.parse_end("2030-01-01", TODAY)
    assert caught.value.problem == Problem.END_TOO_FAR


def test_pledges_until_the_end_date_inclusive() -> None:
    assert rules.takes_pledges(True, None, TODAY)
    assert rules.takes_pledges(True, TODAY, TODAY)
    assert not rules.takes_pledges(True, date(2026, 12, 1), TODAY)
    assert not rules.takes_pledges(False, None, TODAY)


@pytest.mark.parametrize(
    ("paid", "target", "text"),
    [(0, 300_000, "0%"), (12_300, 300_000, "4.1%"), (302_600, 302_600, "100%"), (3, 2, "150%")],
)
def test_share(paid: int, target: int, text: str) -> None:
    assert rules.share(paid, target) == text


def test_money_reads_with_separators() -> None:
    assert rules.yuan(302_600) == "¥302,600"


def test_small_units_are_folded_so_no_amount_is_told() -> None:
    totals = [
        UnitTotal("天元分局", 900, 3),
        UnitTotal("交警支队", 1200, 5),
        UnitTotal("荷塘分局", 500, 1),
        UnitTotal("芦淞分局", 100, 2),
    ]
    shown, rest = rules.units_shown(totals)
    assert [t.unit for t in shown] == ["交警支队", "天元分局"]
    assert rest == UnitTotal("", 600, 3)
    assert rules.units_shown(totals[:2]) == (shown, None)


@pytest.mark.parametrize(
    ("folded", "amount_shown"),
    [
        ([UnitTotal("荷塘分局", 500, 1)], False),
        ([UnitTotal("荷塘分局", 500, 1), UnitTotal("芦淞分局", 100, 1)], False),
        ([UnitTotal("荷塘分局", 500, 2)], False),
        ([UnitTotal("荷塘分局", 500, 1), UnitTotal("芦淞分局", 100, 2)], True),
        ([UnitTotal("荷塘分局", 500, 2), UnitTotal("芦淞分局", 100, 2)], True),
    ],
)
def test_the_folded_units_total_only_with_enough_givers(
    folded: list[UnitTotal], amount_shown: bool
) -> None:
    _, rest = rules.units_shown([UnitTotal("交警支队", 1200, 5), *folded])
    assert rest is not None
    assert rules.rest_amount_shown(rest) is amount_shown


# --- payment files ----------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD_CSV = "police_id,amount,date\n300002,100,2026-12-01\n\n３０００04,50元,12月1日\n"


def test_a_good_csv() -> None:
    good, errors, read = rules.read_payment_file(
        GOOD_CSV.encode("utf-8-sig"), ".csv", today=TODAY, year=2026
    )
    assert errors == []
    assert read == 2
    assert good == [
        PaymentLine(2, "300002", 100, date(2026, 12, 1)),
        PaymentLine(4, "300004", 50, date(2026, 12, 1)),  # the blank row 3 counts
    ]


def test_a_csv_saved_by_a_chinese_excel() -> None:
    data = "警号,金额,日期,姓名\n300002,100,2026/12/1,王建国\n".encode("gb18030")
    good, errors, _ = rules.read_payment_file(data, ".csv", today=TODAY, year=2026)
    assert errors == [] and good == [PaymentLine(2, "300002", 100, date(2026, 12, 1))]


def test_every_bad_line_with_its_number() -> None:
    text = (
        "police_id,amount,date\n"
        "300002,100,2026-12-01\n"  # 2: good
        ",100,2026-12-01\n"  # 3: no police ID
        "30-02,100,2026-12-01\n"  # 4: bad police ID
        "300003,-5,2026-12-01\n"  # 5: negative
        "300003,abc,2026-12-01\n"  # 6: no number
        "300003,200000,2026-12-01\n"  # 7: over the cap
        "300003,10.5,2026-12-01\n"  # 8: not whole
        "300003,100,2026-13-01\n"  # 9: no such date
        "300003,100,2027-01-01\n"  # 10: in the future
        "300003,100,2020-01-01\n"  # 11: too old for the campaign
        "300002,100,2026-12-01\n"  # 12: the same as line 2
        "300003,,\n"  # 13: amount and date missing
        "300003,100,2026-12-01,extra\n"  # 14: more cells than columns
    )
    good, errors, read = rules.read_payment_file(text.encode(), ".csv", today=TODAY, year=2026)
    assert read == 13
    assert [line.line for line in good] == [2]
    assert errors == [
        LineError(3, "", Problem.POLICE_ID_EMPTY),
        LineError(4, "", Problem.BAD_POLICE_ID),
        LineError(5, "300003", Problem.NOT_POSITIVE),
        LineError(6, "300003", Problem.NOT_A_NUMBER),
        LineError(7, "300003", Problem.OVER_CAP),
        LineError(8, "300003", Problem.NOT_WHOLE),
        LineError(9, "300003", Problem.BAD_DATE),
        LineError(10, "300003", Problem.DATE_FUTURE),
        LineError(11, "300003", Problem.DATE_TOO_OLD),
        LineError(12, "300002", Problem.DUPLICATE_LINE, 2),
        LineError(13, "300003", Problem.AMOUNT_EMPTY),
        LineError(13, "300003", Problem.DATE_EMPTY),
        LineError(14, "300003", Problem.EXTRA_CELLS),
    ]


def test_an_xlsx_with_real_dates_and_numbers() -> None:
    data = _xlsx(
        [
            ["Police_ID", "Amount", "Date"],
            ["300002", 100, datetime(2026, 12, 1)],
            [300004, 50.0, date(2026, 11, 30)],
            [300005, 50.5, date(2026, 11, 30)],
            [None, None, None],
            [300006, True, "2026-11-30"],
        ]
    )
    good, errors, read = rules.read_payment_file(data, ".xlsx", today=TODAY, year=2026)
    assert read == 4
    assert good == [
        PaymentLine(2, "300002", 100, date(2026, 12, 1)),
        PaymentLine(3, "300004", 50, date(2026, 11, 30)),
    ]
    assert errors == [
        LineError(4, "300005", Problem.NOT_WHOLE),
        LineError(6, "300006", Problem.NOT_A_NUMBER),
    ]


@pytest.mark.parametrize(
    ("data", "suffix", "problem", "detail"),
    [
        (b"police_id,amount\n1,2\n", ".csv", FileProblem.MISSING_COLUMNS, "date"),
        (b"police_id,amount,date,memo\n", ".csv", FileProblem.UNKNOWN_COLUMNS, "memo"),
        (b"police_id,amount,date,amount\n", ".csv", FileProblem.REPEATED_COLUMN, "amount"),
        (b"police_id,,date\n", ".csv", FileProblem.BLANK_COLUMN, "2"),
        (b"\n\n", ".csv", FileProblem.NO_HEADER, ""),
        (b"police_id,amount,date\n", ".csv", FileProblem.NO_ROWS, ""),
        (b"\xff\xfe\x00garbage\x81", ".csv", FileProblem.UNREADABLE, ""),
        (b"not a workbook", ".xlsx", FileProblem.UNREADABLE, ""),
        (b"x" * (rules.MAX_FILE_BYTES + 1), ".csv", FileProblem.TOO_BIG, ""),
    ],
)
def test_files_that_cannot_be_used(
    data: bytes, suffix: str, problem: FileProblem, detail: str
) -> None:
    with pytest.raises(PaymentFileError) as caught:
        rules.read_payment_file(data, suffix, today=TODAY, year=2026)
    assert (caught.value.problem, caught.value.detail) == (problem, detail)


def _damaged_sheet(sheet_xml: Callable[[bytes], bytes]) -> bytes:
    """A workbook that opens (its parts are all there) but whose sheet cannot be parsed."""
    good = _xlsx([["police_id", "amount", "date"], ["300002", 100, "2026-12-01"]])
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = sheet_xml(data)
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize(
    "sheet_xml",
    [
        lambda data: data[: len(data) // 2],  # cut off in the middle
        lambda data: data.replace(b"<sheetData>", b"<sheetData><row><c r="),
    ],
)
def test_a_damaged_sheet_is_unreadable(sheet_xml: Callable[[bytes], bytes]) -> None:
    data = _damaged_sheet(sheet_xml)
    with pytest.raises(PaymentFileError) as caught:
        rules.read_payment_file(data, ".xlsx", today=TODAY, year=2026)
    assert caught.value.problem == FileProblem.UNREADABLE


def test_file_names() -> None:
    assert rules.file_suffix("缴款.XLSX") == ".xlsx"
    assert rules.file_suffix("a.b.csv") == ".csv"
    for name in ("缴款.xls", "缴款", "缴款.pdf"):
        with pytest.raises(PaymentFileError):
            rules.file_suffix(name)
