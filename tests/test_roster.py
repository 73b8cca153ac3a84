"""Roster import and export with real files and a real database."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlmodel import func, select

from bot.roster import (
    COLUMNS,
    ImportReport,
    RosterError,
    RowError,
    export_roster,
    import_roster,
    read_roster,
)
from storage import audit, officers
from storage.db import Database
from storage.models import AuditEntry, BindingMethod, Officer, TelegramBinding
from storage.roster import RosterEntry, apply_records

TODAY = date(2024, 6, 1)
HEADER = ["police_id", "name", "unit", "phone", "birthday", "gender", "blood_type"]
Rows = Sequence[Sequence[object]]


def write_csv(path: Path, rows: Rows, header: Sequence[str] = HEADER, *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_xlsx(path: Path, rows: Rows, header: Sequence[str] = HEADER) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def run_import(database: Database, path: Path, **options: bool) -> ImportReport:
    return import_roster(database, path, actor="admin:1", today=TODAY, **options)


def officer(database: Database, police_id: str) -> Officer:
    with database.session() as session:
        found = officers.by_police_id(session, police_id)
    assert found is not None, police_id
    return found


def officer_count(database: Database) -> int:
    with database.session() as session:
        return int(session.exec(select(func.count()).select_from(Officer)).one())


def binding_of(database: Database, police_id: str) -> TelegramBinding | None:
    found = officer(database, police_id)
    assert found.id is not None
    with database.session() as session:
        return officers.binding_of(session, found.id)


def import_entries(database: Database) -> list[AuditEntry]:
    with database.session() as session:
        return list(audit.recent(session, action="roster.import"))


def counts(report: ImportReport) -> tuple[int, int, int, int, int, int]:
    """rows read, created, updated, unchanged, deactivated, bound."""
    return (
        report.rows_read,
        report.created,
        report.updated,
        report.unchanged,
        report.deactivated,
        report.bound,
    )


GOOD = [
    ["100001", "张三", "天元分局", "138 0013 8000", "1985-03-12", "女", "O Rh-"],
    ["a2002", "李四", "芦淞分局", "+86 139-0013-9000", "1990/7/1", "M", ""],
    ["100003", "王五", "荷塘分局", "8613700137000", "19921231", "男", "ab"],
]


# ---------------------------------------------------------------------------------------------
# Importing


def test_csv_import_stores_normalised_fields(database: Database, tmp_path: Path) -> None:
    report = run_import(database, write_csv(tmp_path / "roster.csv", GOOD))

    assert report.applied and report.errors == []
    assert counts(report) == (3, 3, 0, 0, 0, 0)
    first = officer(database, "100001")
    assert (first.name, first.unit, first.phone) == ("张三", "天元分局", "+8613800138000")
    assert first.birthday == date(1985, 3, 12)
    assert (first.gender, first.blood_group, first.rh_negative) == ("F", "O", True)
    assert first.active and first.left_at is None
    second = officer(database, "A2002")
    assert (second.phone, second.birthday, second.gender) == (
        "+8613900139000",
        date(1990, 7, 1),
        "M",
    )
    assert (second.blood_group, second.rh_negative) == (None, False)
    third = officer(database, "100003")
    assert (third.phone, third.birthday, third.gender) == (
        "+8613700137000",
        date(1992, 12, 31),
        "M",
    )
    assert (third.blood_group, third.rh_negative) == ("AB", False)
    assert binding_of(database, "100001") is None

    [entry] = import_entries(database)
    assert (entry.actor, entry.target) == ("admin:1", "roster.csv")
    detail = json.loads(entry.detail)
    assert detail["created"] == 3 and detail["rows"] == 3 and detail["invalid"] == 0
    assert "13800138000" not in entry.detail
    assert report.lines() == [
        "Read 3 rows: 3 created, 0 updated, 0 unchanged.",
        "0 deactivated, 0 Telegram accounts bound.",
    ]


BAD_FILE = [
    GOOD[0],  # line 2
    ["100002", "赵六", "天元分局", "12345", "1985-03-12", "女", "A"],  # line 3
    ["100004", "钱七", "天元分局", "13800138004", "2030-01-01", "男", "B"],  # line 4
    ["100005", "孙八", "天元分局", "13800138005", "1899-12-31", "X", "C"],  # line 5
    ["", "", "", "", "1985-13-01", "", ""],  # line 6
    ["x!", "周九", "天元分局", "13800138009", "12/03/1985", "男", ""],  # line 7
    GOOD[2],  # line 8
]


def test_bad_rows_are_reported_by_line_and_nothing_is_imported(
    database: Database, tmp_path: Path
) -> None:
    report = run_import(database, write_csv(tmp_path / "roster.csv", BAD_FILE))

    assert not report.applied
    assert report.errors == [
        RowError(3, "100002", "phone is not a mainland China mobile number"),
        RowError(4, "100004", "birthday is in the future"),
        RowError(5, "100005", "birthday is before 1900"),
        RowError(5, "100005", "gender must be 男/女 (or M/F)"),
        RowError(5, "100005", "blood type must be A, B, O or AB, Rh-negative as e.g. O Rh-"),
        RowError(6, "", "police_id is empty"),
        RowError(6, "", "name is empty"),
        RowError(6, "", "unit is empty"),
        RowError(6, "", "phone is empty"),
        RowError(6, "", "birthday is not a valid date"),
        RowError(7, "", "police ID must be 4 to 12 letters or digits"),
        RowError(7, "", "birthday must be a date like 1985-03-12"),
    ]
    assert counts(report) == (7, 0, 0, 0, 0, 0)
    assert report.invalid_rows == 5
    assert officer_count(database) == 0
    assert import_entries(database) == []
    lines = report.lines()
    assert lines[0] == (
        "Nothing imported: 5 of 7 rows are invalid. "
        "Fix them, or skip invalid rows to import the rest:"
    )
    assert lines[1] == "Line 3 (100002): phone is not a mainland China mobile number"
    assert lines[-1] == "Line 7: birthday must be a date like 1985-03-12"
    # A phone number never appears in a report, even a malformed one.
    assert not any("12345" in line for line in lines)


def test_skip_invalid_imports_the_good_rows(database: Database, tmp_path: Path) -> None:
    report = run_import(database, write_csv(tmp_path / "roster.csv", BAD_FILE), skip_invalid=True)

    assert report.applied
    assert counts(report) == (7, 2, 0, 0, 0, 0)
    assert report.invalid_rows == 5 and len(report.errors) == 12
    assert officer_count(database) == 2
    assert officer(database, "100003").unit == "荷塘分局"
    lines = report.lines(max_errors=2)
    assert lines[:3] == [
        "Read 7 rows: 2 created, 0 updated, 0 unchanged.",
        "0 deactivated, 0 Telegram accounts bound.",
        "Skipped 5 invalid rows:",
    ]
    assert lines[3:] == [
        "Line 3 (100002): phone is not a mainland China mobile number",
        "Line 4 (100004): birthday is in the future",
        "... and 10 more errors.",
    ]
    [entry] = import_entries(database)
    assert json.loads(entry.detail)["invalid"] == 5


def test_other_row_checks(database: Database, tmp_path: Path) -> None:
    header = [*HEADER, "telegram_user_id"]
    rows = [
        ["100001", "张" * 65, "天元分局", "13800138001", "", "", "", ""],
        ["100002", "赵六", "天元分局", "13800138002", "", "", "", "-5"],
        ["100003", "钱七", "天元分局", "13800138003", "", "", "", "12ab"],
        ["100004", "孙八", "天元分局", "13800138004", "", "", "", "99999999999999999999"],
        ["100005", "周九", "天元分局", "13800138005", "", "", "", "", "surplus"],
        ["100006", "吴十", "天元分局", "+1 202 555 0100", "", "", "", ""],
        ["100007", "郑\n十一", "天元分局", "13800138007", "", "", "", ""],
        ["100008", "冯十二", "天" * 129, "13800138008", "", "", "", ""],
    ]
    entries, errors = read_roster(write_csv(tmp_path / "r.csv", rows, header), today=TODAY)

    assert entries == []
    assert errors == [
        RowError(2, "100001", "name is longer than 64 characters"),
        RowError(3, "100002", "telegram_user_id must be a positive whole number"),
        RowError(4, "100003", "telegram_user_id must be a positive whole number"),
        RowError(5, "100004", "telegram_user_id must be a positive whole number"),
        RowError(6, "100005", "row has more cells than the header has columns"),
        RowError(7, "100006", "phone is not a mainland China mobile number"),
        RowError(8, "100007", "name contains a line break or control character"),
        # Numbered as a spreadsheet shows it, though the quoted line break above adds a line.
        RowError(9, "100008", "unit is longer than 128 characters"),
    ]


def test_empty_optional_cells_are_unknown(tmp_path: Path) -> None:
    rows = [["100001", " 张三 ", "天元分局", "13800138000", "", "", ""]]
    entries, errors = read_roster(write_csv(tmp_path / "r.csv", rows), today=TODAY)

    assert errors == []
    assert entries == [
        (2, RosterEntry("100001", "张三", "天元分局", "+8613800138000", None, None, None, False))
    ]


def test_duplicates_within_a_file_fail_the_later_row(database: Database, tmp_path: Path) -> None:
    header = [*HEADER, "telegram_user_id"]
    rows = [
        ["A1001", "张三", "天元分局", "13800138001", "1985-03-12", "女", "O", "501"],
        ["100002", "李四", "芦淞分局", "13800138002", "1985-03-12", "男", "A", "502"],
        ["a1001", "王五", "荷塘分局", "13800138003", "1985-03-12", "男", "B", ""],
        ["100004", "赵六", "荷塘分局", "13800138004", "1985-03-12", "男", "B", "502"],
        ["100005", "钱七", "荷塘分局", "138-0013-8001", "1985-03-12", "男", "B", ""],
    ]
    report = run_import(database, write_csv(tmp_path / "roster.csv", rows, header))

    assert report.errors == [
        RowError(4, "A1001", "police_id duplicates line 2"),
        RowError(5, "100004", "telegram_user_id duplicates line 3"),
        RowError(6, "100005", "phone duplicates line 2"),
    ]
    assert officer_count(database) == 0

    report = run_import(database, tmp_path / "roster.csv", skip_invalid=True)
    assert counts(report) == (5, 2, 0, 0, 0, 2)
    assert officer(database, "A1001").name == "张三"


def test_csv_with_byte_order_mark_and_loose_header(database: Database, tmp_path: Path) -> None:
    header = [" Blood_Type", "PHONE ", "Police_ID", "name", "Unit", "birthday", "Gender"]
    rows = [["O Rh-", "13800138000", "100001", "张三", "天元分局", "1985-03-12", "女"]]
    path = write_csv(tmp_path / "excel.csv", rows, header, bom=True)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")

    report = run_import(database, path)

    assert report.errors == [] and report.created == 1
    stored = officer(database, "100001")
    assert (stored.phone, stored.gender, stored.blood_group, stored.rh_negative) == (
        "+8613800138000",
        "F",
        "O",
        True,
    )


def test_xlsx_import_reads_the_first_sheet_with_real_cells(
    database: Database, tmp_path: Path
) -> None:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append([*HEADER, "telegram_user_id"])
    sheet.append([100001, "张三", "天元分局", 13800138000, date(1985, 3, 12), "女", "O", 7001])
    sheet.append(
        ["100002", "李四", "芦淞分局", "13900139000", datetime(1990, 7, 1), "男", "B Rh-", None]
    )
    sheet.append([])  # row 4: blank rows are skipped but still counted
    sheet.append(["100003", "王五", "荷塘分局", 13700137000.0, "1992/12/31", "M", None, "7003"])
    sheet.append(["100004", "赵六", "荷塘分局", 13600136000, date(2030, 1, 1), "M", None, None])
    other = workbook.create_sheet("notes")
    other.append(["this sheet is not read"])
    workbook.active = other
    path = tmp_path / "roster.xlsx"
    workbook.save(path)

    report = run_import(database, path, skip_invalid=True)

    assert report.errors == [RowError(6, "100004", "birthday is in the future")]
    assert counts(report) == (4, 3, 0, 0, 0, 2)
    first = officer(database, "100001")
    assert (first.phone, first.birthday, first.gender) == ("+8613800138000", date(1985, 3, 12), "F")
    second = officer(database, "100002")
    assert (second.birthday, second.blood_group, second.rh_negative) == (
        date(1990, 7, 1),
        "B",
        True,
    )
    third = officer(database, "100003")
    assert (third.phone, third.birthday) == ("+8613700137000", date(1992, 12, 31))
    binding = binding_of(database, "100001")
    assert binding is not None and binding.telegram_user_id == 7001


def test_reimport_updates_by_police_id_without_duplicates(
    database: Database, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "roster.csv", GOOD)
    run_import(database, path)
    before = officer(database, "100001")

    changed = [list(row) for row in GOOD]
    changed[0][2] = "石峰分局"
    report = run_import(database, write_csv(tmp_path / "changed.csv", changed))

    assert counts(report) == (3, 0, 1, 2, 0, 0)
    assert officer_count(database) == 3
    after = officer(database, "100001")
    assert after.id == before.id and after.unit == "石峰分局"
    assert after.updated_at > before.updated_at
    assert officer(database, "100003").updated_at == officer(database, "100003").created_at

    report = run_import(database, path)
    assert counts(report) == (3, 0, 1, 2, 0, 0)
    assert officer(database, "100001").unit == "天元分局"


def test_empty_optional_cells_keep_what_officers_set_themselves(
    database: Database, tmp_path: Path
) -> None:
    run_import(database, write_csv(tmp_path / "roster.csv", GOOD))
    # An HR roster without birthdays, genders or blood types must not wipe them.
    bare = [[*row[:4], "", "", ""] for row in GOOD]
    report = run_import(database, write_csv(tmp_path / "bare.csv", bare))

    assert counts(report) == (3, 0, 0, 3, 0, 0)
    first = officer(database, "100001")
    assert (first.birthday, first.gender, first.blood_group, first.rh_negative) == (
        date(1985, 3, 12),
        "F",
        "O",
        True,
    )


def test_deactivate_missing_only_when_asked_and_it_unbinds(
    database: Database, tmp_path: Path
) -> None:
    run_import(database, write_csv(tmp_path / "all.csv", GOOD))
    with database.session() as session:
        leaver = officers.by_police_id(session, "A2002")
        assert leaver is not None
        officers.bind(
            session, leaver, telegram_user_id=9001, chat_id=9001, method=BindingMethod.CONTACT
        )
    without = write_csv(tmp_path / "without.csv", [GOOD[0], GOOD[2]])

    report = run_import(database, without)
    assert counts(report) == (2, 0, 0, 2, 0, 0)
    assert officer(database, "A2002").active
    assert binding_of(database, "A2002") is not None

    report = run_import(database, without, deactivate_missing=True)
    assert counts(report) == (2, 0, 0, 2, 1, 0)
    gone = officer(database, "A2002")
    assert not gone.active and gone.left_at is not None
    assert binding_of(database, "A2002") is None
    assert officer(database, "100001").active and officer(database, "100003").active

    # Already inactive: not deactivated a second time.
    report = run_import(database, without, deactivate_missing=True)
    assert report.deactivated == 0

    # Coming back re-activates the same officer.
    report = run_import(database, tmp_path / "all.csv")
    assert counts(report) == (3, 0, 1, 2, 0, 0)
    back = officer(database, "A2002")
    assert back.id == gone.id and back.active and back.left_at is None
    assert officer_count(database) == 3
    assert [json.loads(e.detail)["deactivated"] for e in import_entries(database)] == [
        0,
        0,
        1,
        0,
        0,
    ]


def test_deactivate_missing_spares_officers_on_skipped_rows(
    database: Database, tmp_path: Path
) -> None:
    run_import(database, write_csv(tmp_path / "all.csv", GOOD))
    broken = [GOOD[0], [*GOOD[1][:3], "not a phone", *GOOD[1][4:]]]

    report = run_import(
        database,
        write_csv(tmp_path / "broken.csv", broken),
        skip_invalid=True,
        deactivate_missing=True,
    )

    assert report.errors == [RowError(3, "A2002", "phone is not a mainland China mobile number")]
    assert report.deactivated == 1
    assert officer(database, "A2002").active
    assert not officer(database, "100003").active


def test_deactivate_missing_refuses_a_file_without_valid_rows(
    database: Database, tmp_path: Path
) -> None:
    run_import(database, write_csv(tmp_path / "all.csv", GOOD))
    with pytest.raises(RosterError, match="refusing to deactivate every officer"):
        run_import(database, write_csv(tmp_path / "empty.csv", []), deactivate_missing=True)
    assert officer(database, "100001").active


def test_telegram_user_id_binds_by_import(database: Database, tmp_path: Path) -> None:
    run_import(database, write_csv(tmp_path / "plain.csv", GOOD))
    with database.session() as session:
        first = officers.by_police_id(session, "100001")
        third = officers.by_police_id(session, "100003")
        assert first is not None and third is not None
        # 8001 is bound elsewhere and moves; 100001's own older account is replaced.
        officers.bind(
            session, third, telegram_user_id=8001, chat_id=8001, method=BindingMethod.CONTACT
        )
        officers.bind(
            session, first, telegram_user_id=8999, chat_id=8999, method=BindingMethod.CONTACT
        )
    header = [*HEADER, "Telegram_User_ID"]
    rows = [[*GOOD[0], "8001"], [*GOOD[1], "8002"], [*GOOD[2], ""]]
    path = write_csv(tmp_path / "bound.csv", rows, header)

    report = run_import(database, path)

    assert counts(report) == (3, 0, 0, 3, 0, 2)
    binding = binding_of(database, "100001")
    assert binding is not None
    assert (binding.telegram_user_id, binding.chat_id, binding.method) == (8001, 8001, "import")
    binding = binding_of(database, "A2002")
    assert binding is not None and binding.telegram_user_id == 8002
    assert binding_of(database, "100003") is None
    with database.session() as session:
        assert officers.bound_officer(session, 8999) is None
        bound = officers.bound_officer(session, 8001)
        assert bound is not None and bound.police_id == "100001"

    assert run_import(database, path).bound == 0
    # A row without an account leaves an existing binding alone.
    assert run_import(database, write_csv(tmp_path / "plain.csv", GOOD)).bound == 0
    assert binding_of(database, "100001") is not None


def test_accounts_can_swap_officers_in_one_import(database: Database, tmp_path: Path) -> None:
    header = [*HEADER, "telegram_user_id"]
    rows = [[*GOOD[0], "1"], [*GOOD[1], "2"]]
    run_import(database, write_csv(tmp_path / "a.csv", rows, header))
    swapped = [[*GOOD[0], "2"], [*GOOD[1], "1"]]

    report = run_import(database, write_csv(tmp_path / "b.csv", swapped, header))

    assert report.bound == 2
    first, second = binding_of(database, "100001"), binding_of(database, "A2002")
    assert first is not None and second is not None
    assert (first.telegram_user_id, second.telegram_user_id) == (2, 1)


# ---------------------------------------------------------------------------------------------
# Whole-file problems


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["police_id", "name", "unit", "birthday", "gender", "blood_type"], "missing column phone"),
        (
            ["police_id", "name", "unit", "phone", "gender"],
            "missing columns birthday, blood_type",
        ),
        ([*HEADER, "email"], "unknown column email"),
        (["police_id", "name", "unit", "phone", "gender", "blood_type", "mail"], "birthday"),
        ([*HEADER, "Phone"], "column phone appears twice"),
        (["police_id", "", *HEADER[1:]], "column 2 has no header"),
    ],
)
def test_bad_header_raises(tmp_path: Path, header: list[str], message: str) -> None:
    for path in (
        write_csv(tmp_path / "r.csv", [], header),
        write_xlsx(tmp_path / "r.xlsx", [], header),
    ):
        with pytest.raises(RosterError, match=message):
            read_roster(path, today=TODAY)


def test_unknown_and_missing_columns_are_named_together(tmp_path: Path) -> None:
    header = ["police_id", "name", "unit", "mobile", "birthday", "gender", "blood_type"]
    with pytest.raises(RosterError) as raised:
        read_roster(write_csv(tmp_path / "r.csv", [], header), today=TODAY)
    assert str(raised.value).startswith("r.csv: missing column phone; unknown column mobile")


@pytest.mark.parametrize("name", ["roster.xls", "roster.txt", "roster"])
def test_wrong_extension_raises(database: Database, tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    with pytest.raises(RosterError, match=r"unsupported file type.*use \.csv or \.xlsx"):
        run_import(database, path)
    with pytest.raises(RosterError, match="unsupported file type"):
        export_roster(database, tmp_path / f"out-{name}")
    assert not (tmp_path / f"out-{name}").exists()


def test_unreadable_files_raise(tmp_path: Path) -> None:
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((",".join(HEADER) + "\n100001,张三,天元分局,13800138000,,,\n").encode("gbk"))
    with pytest.raises(RosterError, match="not UTF-8"):
        read_roster(gbk, today=TODAY)

    fake = tmp_path / "fake.xlsx"
    fake.write_text(",".join(HEADER), encoding="utf-8")
    with pytest.raises(RosterError, match=r"not a readable \.xlsx workbook"):
        read_roster(fake, today=TODAY)

    with pytest.raises(RosterError, match="cannot read"):
        read_roster(tmp_path / "missing.csv", today=TODAY)

    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(RosterError, match="needs a header row"):
        read_roster(empty, today=TODAY)


# ---------------------------------------------------------------------------------------------
# Exporting


def seed_for_export(database: Database, tmp_path: Path) -> None:
    header = [*HEADER, "telegram_user_id"]
    rows = [
        ["100003", "王五", "荷塘分局", "13700137000", "1992-12-31", "男", "AB", ""],
        ["100001", "张三", "天元分局", "138 0013 8000", "1985/3/12", "女", "O Rh-", "700000000001"],
        ["100002", "=李四", "芦淞分局", "13900139000", "", "", "", ""],
        ["100009", "离会者", "天元分局", "13600136000", "1970-01-01", "男", "A", "9009"],
    ]
    run_import(database, write_csv(tmp_path / "seed.csv", rows, header))
    run_import(
        database, write_csv(tmp_path / "seed2.csv", rows[:3], header), deactivate_missing=True
    )


EXPORTED = [
    ["100001", "张三", "天元分局", "+8613800138000", "1985-03-12", "女", "O Rh-", "700000000001"],
    ["100002", "=李四", "芦淞分局", "+8613900139000", "", "", "", ""],
    ["100003", "王五", "荷塘分局", "+8613700137000", "1992-12-31", "男", "AB", ""],
]


def test_csv_export_content(database: Database, tmp_path: Path) -> None:
    seed_for_export(database, tmp_path)
    path = tmp_path / "out.csv"

    assert export_roster(database, path) == 3

    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as stream:
        assert list(csv.reader(stream)) == [list(COLUMNS), *EXPORTED]
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_xlsx_export_content(database: Database, tmp_path: Path) -> None:
    seed_for_export(database, tmp_path)
    path = tmp_path / "OUT.XLSX"

    assert export_roster(database, path) == 3

    workbook = load_workbook(path)
    sheet = workbook.worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(COLUMNS)
    assert rows[1][4] == datetime(1985, 3, 12)
    assert sheet.cell(row=2, column=5).number_format == "yyyy-mm-dd"
    # Text stays text: no formula from "=李四", no rounded number from a long account id.
    assert sheet.cell(row=3, column=2).data_type == "s"
    assert sheet.cell(row=2, column=8).value == "700000000001"
    as_text = [
        [cell.date().isoformat() if isinstance(cell, datetime) else (cell or "") for cell in row]
        for row in rows[1:]
    ]
    assert as_text == EXPORTED


def test_export_overwrites_an_existing_file(database: Database, tmp_path: Path) -> None:
    seed_for_export(database, tmp_path)
    path = tmp_path / "out.csv"
    path.write_text("old", encoding="utf-8")
    assert export_roster(database, path) == 3
    assert "100001" in path.read_text(encoding="utf-8-sig")


def test_export_of_empty_roster_writes_the_header(database: Database, tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    assert export_roster(database, path) == 0
    assert path.read_text(encoding="utf-8-sig").splitlines() == [",".join(COLUMNS)]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_export_reimports_with_no_changes(database: Database, tmp_path: Path, suffix: str) -> None:
    seed_for_export(database, tmp_path)
    path = tmp_path / f"export{suffix}"
    export_roster(database, path)
    with database.session() as session:
        before = session.exec(select(Officer).order_by(Officer.police_id)).all()
        bindings_before = session.exec(select(TelegramBinding)).all()

    report = run_import(database, path, deactivate_missing=True)

    assert report.errors == []
    assert counts(report) == (3, 0, 0, 3, 0, 0)
    with database.session() as session:
        assert session.exec(select(Officer).order_by(Officer.police_id)).all() == before
        assert session.exec(select(TelegramBinding)).all() == bindings_before


def test_report_lines_use_singulars() -> None:
    report = ImportReport(rows_read=1, created=1, bound=1, applied=True)
    assert report.lines() == [
        "Read 1 row: 1 created, 0 updated, 0 unchanged.",
        "0 deactivated, 1 Telegram account bound.",
    ]
    rejected = ImportReport(rows_read=1, errors=[RowError(2, "", "name is empty")])
    assert rejected.lines() == [
        "Nothing imported: 1 of 1 row is invalid. "
        "Fix them, or skip invalid rows to import the rest:",
        "Line 2: name is empty",
    ]


def test_apply_records_refuses_duplicate_entries(database: Database) -> None:
    entry = RosterEntry("100001", "张三", "天元分局", "+8613800138000")
    with database.session() as session, pytest.raises(ValueError, match="duplicate police_id"):
        apply_records(session, [entry, entry], deactivate_missing=False)
    assert officer_count(database) == 0
