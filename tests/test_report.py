"""The yearly report: the PDF's pages and text, the XLSX's sheets, the same numbers in both as the
statistics module counts them; `nuanjing report year YEAR FILE`."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from bot import cli, report, texts
from bot.policy import load_policy
from bot.sample_data import fill
from storage import statistics as st
from storage.crypto import FieldCipher
from storage.db import Database
from tests.conftest import SHANGHAI, TEST_SECRET_KEY

POLICY = load_policy(None)
YEAR = datetime.now(SHANGHAI).year - 1


@pytest.fixture(scope="module")
def filled_database(module_database_url: str) -> Iterator[Database]:
    """A sample year of 120 officers, made once: the tests here only read it."""
    database = Database(module_database_url)
    fill(
        database,
        POLICY,
        officers=120,
        year=YEAR,
        seed=11,
        zone=SHANGHAI,
        cipher=FieldCipher(TEST_SECRET_KEY),
    )
    yield database
    database.dispose()


@pytest.fixture(scope="module")
def year_report(filled_database: Database) -> report.YearReport:
    return report.gather(filled_database, POLICY, YEAR, SHANGHAI)


@dataclass(frozen=True)
class WrittenPdf:
    """What `nuanjing report year YEAR FILE.pdf` did: its exit code, what it printed, the file."""

    exit_code: int
    out: str
    path: Path


@pytest.fixture(scope="module")
def written_pdf(
    year_report: report.YearReport,
    module_database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> WrittenPdf:
    """The command writes the PDF once (a PDF takes seconds): the tests here read that file."""
    target = tmp_path_factory.mktemp("pdf") / "year.pdf"
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as monkeypatch, contextlib.redirect_stdout(out):
        monkeypatch.setenv("NUANJING_DATABASE_URL", module_database_url)
        monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
        exit_code = cli.main(["report", "year", str(YEAR), str(target)])
    return WrittenPdf(exit_code, out.getvalue(), target)


def test_the_workbook_holds_the_statistics_numbers(
    year_report: report.YearReport, filled_database: Database, tmp_path: Path
) -> None:
    path = tmp_path / "report.xlsx"
    assert report.write(year_report, path) == len(report.SECTIONS) + 1
    assert path.stat().st_mode & 0o777 == 0o600
    book = load_workbook(path, read_only=True)
    assert book.sheetnames == [*texts.STATS_SECTIONS.values(), texts.REPORT_SHEET_UNITS]
    with filled_database.session() as session:
        now = st.figures(
            session,
            st.Period.year(YEAR, SHANGHAI),
            comforted_since=POLICY.care.comforted_since,
            clubs_named=POLICY.clubs,
            services=report.services_of(POLICY),
        )
        units = st.unit_rows(session, st.Period.year(YEAR, SHANGHAI))
    read = {
        str(row[0]): (row[1], row[2])
        for name in texts.STATS_SECTIONS.values()
        for row in book[name].iter_rows(min_row=2, values_only=True)
    }
    # Straight from the statistics module, not from report.values: the same numbers.
    active = now.members.active  # the roster as it stands: the same against either year
    assert read[texts.REPORT_LINES["members.active"]] == (active, active)
    assert read[texts.REPORT_LINES["care.cases"]][0] == now.care.cases
    assert read[texts.REPORT_LINES["care.paid_sum"]][0] == now.care.paid_sum
    assert read[texts.REPORT_LINES["blood.ml"]][0] == now.blood.ml
    assert read[texts.REPORT_LINES["blood.appeal_arrived"]][0] == now.blood.appeals.arrived
    assert read[texts.REPORT_LINES["events.signed"]][0] == now.events.signed
    assert read[texts.REPORT_LINES["clubs.members"]][0] == sum(c.members for c in now.clubs)
    assert read[texts.REPORT_LINES["greetings.reached"]][0] == sum(g.reached for g in now.greetings)
    assert read[texts.REPORT_LINES["bookings.booked"]][0] == sum(b.booked for b in now.bookings)
    assert len(read) == len(texts.REPORT_LINES)
    unit_rows = list(book[texts.REPORT_SHEET_UNITS].iter_rows(min_row=2, values_only=True))
    assert [tuple(row) for row in unit_rows] == [
        (
            u.unit,
            u.active,
            u.bound,
            u.care_cases,
            u.care_paid_sum,
            u.blood_donors,
            u.blood_ml,
            u.event_signed,
            u.event_attended,
            u.greetings_sent,
            u.greetings_reached,
        )
        for u in units
    ]


def test_the_pdf_has_a_cover_a_page_per_programme_and_per_unit(
    year_report: report.YearReport, written_pdf: WrittenPdf
) -> None:
    pdf = PdfReader(written_pdf.path)
    assert len(pdf.pages) == 1 + len(report.SECTIONS) + len(year_report.units)
    assert len(year_report.units) > 3
    cover = pdf.pages[0].extract_text()
    assert POLICY.union_name in cover and f"{YEAR}年度工作数据报告" in cover
    for index, section in enumerate(report.SECTIONS, start=1):
        page = pdf.pages[index].extract_text()
        assert texts.STATS_SECTIONS[section] in page
        for key, value in report.values(section, year_report.now).items():
            assert texts.REPORT_LINES[key] in page and str(value) in page
        assert f"与{YEAR - 1}年相比" in page
    first_unit = year_report.units[0]
    page = pdf.pages[1 + len(report.SECTIONS)].extract_text()
    assert first_unit.unit in page and str(first_unit.active) in page
    # The chart font is embedded (a subset), so the Chinese renders anywhere.
    fonts = set()
    for pdf_page in pdf.pages:
        resources: Any = pdf_page["/Resources"]
        for font in resources["/Font"].values():
            found = font.get_object()
            if "/BaseFont" in found:
                fonts.add(str(found["/BaseFont"]))
    assert any("NotoSansCJK" in name for name in fonts)


def test_compared_with_the_year_before(year_report: report.YearReport) -> None:
    line = report.compared("members", year_report)
    active = year_report.now.members.active
    assert line == texts.REPORT_COMPARED.format(
        before_year=YEAR - 1,
        label=texts.REPORT_LINES["members.active"],
        now=active,
        before=active,
        change=texts.REPORT_CHANGE_SAME,
    )  # the roster is today's in both years
    assert texts.REPORT_CHANGE_NEW in report.compared("care", year_report)


def test_the_command_writes_the_pdf(
    year_report: report.YearReport, written_pdf: WrittenPdf
) -> None:
    assert written_pdf.exit_code == cli.EXIT_OK
    pages = report.page_count(year_report)
    assert written_pdf.out.strip() == (
        f"wrote the {YEAR} report ({pages} pages) to {written_pdf.path}"
    )
    assert written_pdf.path.read_bytes().startswith(b"%PDF")
    assert written_pdf.path.stat().st_mode & 0o777 == 0o600


def test_the_command_refuses_another_kind_or_year(
    module_database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("NUANJING_DATABASE_URL", module_database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    assert cli.main(["report", "year", str(YEAR), str(tmp_path / "year.docx")]) == cli.EXIT_FAILED
    assert "not" in capsys.readouterr().err
    assert cli.main(["report", "year", "去年", str(tmp_path / "year.pdf")]) == cli.EXIT_FAILED
    assert not (tmp_path / "year.pdf").exists()


def test_the_report_is_dated_by_the_unions_day(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Late(datetime):
        """16:30 UTC: already the next day in Shanghai."""

        @classmethod
        def now(cls, tz: Any = None) -> Any:
            return datetime(2026, 12, 2, 16, 30, tzinfo=UTC).astimezone(tz)

    monkeypatch.setattr(report, "datetime", Late, raising=False)
    made = report.gather(database, POLICY, YEAR, SHANGHAI)
    assert made.made_on == date(2026, 12, 3)
