"""The yearly report (issue 16): `nuanjing report year YEAR FILE` and `/stats 报告 YEAR`.

A PDF (matplotlib's PdfPages, the chart font embedded as a subset so Chinese renders in any
reader): a cover, one page per programme (its figures against the year before, its chart, its
three-line summary and a line compared with the year before) and one page per unit. An .xlsx
holds the same figures as sheets: one per programme, and one of the units. Both are written from
one `YearReport`, and each number in either comes from `values`, so they cannot disagree.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO
from zoneinfo import ZoneInfo

from bot import charts, texts
from bot.policy import Policy
from bot.private_files import private_file
from bot.xlsx import Sheet, write_sheets
from handlers.bookings import private
from storage import statistics as st
from storage.db import Database

SECTIONS = charts.SECTIONS
A4 = (8.27, 11.69)  # inches, portrait
FORMATS = (".pdf", ".xlsx")
Progress = Callable[[str, int, int], None]


class ReportError(ValueError):
    """The report cannot be written as asked (an unknown file type)."""


@dataclass(frozen=True)
class YearReport:
    """Everything a yearly report shows: the year's figures, the year before's, the units."""

    union: str
    bot_name: str
    year: int
    made_on: date
    now: st.Figures
    before: st.Figures
    units: tuple[st.UnitRow, ...]
    names: Mapping[str, str]


def services_of(policy: Policy) -> list[tuple[str, bool]]:
    """The policy's services as the statistics take them: (key, private)."""
    return [(service.key, private(service)) for service in policy.services]


def figures_of(
    database: Database,
    policy: Policy,
    period: st.Period,
    *,
    unit: str | None = None,
    only: str | None = None,
) -> st.Figures:
    """Every programme's figures of a period (or one programme's, `only`), with the policy's
    clubs, services and care date."""
    with database.session() as session:
        return st.figures(
            session,
            period,
            comforted_since=policy.care.comforted_since,
            clubs_named=policy.clubs,
            services=services_of(policy),
            unit=unit,
            only=only,
        )


def gather(database: Database, policy: Policy, year: int, zone: ZoneInfo) -> YearReport:
    """Read the year's figures, the year before's and the units' rows."""
    period = st.Period.year(year, zone)
    with database.session() as session:
        units = st.unit_rows(session, period)
    return YearReport(
        union=policy.union_name,
        bot_name=policy.bot_name,
        year=year,
        made_on=datetime.now(zone).date(),
        now=figures_of(database, policy, period),
        before=figures_of(database, policy, period.before()),
        units=units,
        names=charts.names_of(policy),
    )


def values(section: str, f: st.Figures) -> dict[str, int]:
    """A programme's figures by their key in texts.REPORT_LINES, in the report's order."""
    if section == "members":
        m = f.members
        return {
            "members.on_roster": m.on_roster,
            "members.active": m.active,
            "members.bound": m.bound,
            "members.left": m.left_in_period,
        }
    if section == "care":
        c = f.care
        return {
            "care.cases": c.cases,
            "care.paid_cases": c.paid_cases,
            "care.paid_sum": c.paid_sum,
            "care.comforted": c.comforted,
        }
    if section == "blood":
        b, a = f.blood, f.blood.appeals
        return {
            "blood.donors": b.donors,
            "blood.donations": b.donations,
            "blood.ml": b.ml,
            "blood.units": b.platelet_units,
            "blood.drives": b.drives_held,
            "blood.signups": b.drive_signups,
            "blood.appeals": a.appeals,
            "blood.appeal_reached": a.reached,
            "blood.appeal_coming": a.coming,
            "blood.appeal_arrived": a.arrived,
        }
    if section == "events":
        e = f.events
        return {
            "events.events": e.events,
            "events.places": e.places,
            "events.signed": e.signed,
            "events.attended": e.attended,
            "events.absent": e.absent,
        }
    if section == "clubs":
        return {
            "clubs.members": sum(c.members for c in f.clubs),
            "clubs.activities": sum(c.activities for c in f.clubs),
            "clubs.signed": sum(c.signed for c in f.clubs),
        }
    if section == "greetings":
        return {
            "greetings.sent": sum(g.sent for g in f.greetings),
            "greetings.reached": sum(g.reached for g in f.greetings),
        }
    return {
        "bookings.booked": sum(s.booked for s in f.bookings),
        "bookings.attended": sum(s.attended for s in f.bookings),
    }


def compared(section: str, report: YearReport) -> str:
    """The line that sets the programme's headline figure against the year before."""
    key = texts.REPORT_HEADLINES[section]
    now, before = values(section, report.now)[key], values(section, report.before)[key]
    if before == 0:
        change = texts.REPORT_CHANGE_SAME if now == 0 else texts.REPORT_CHANGE_NEW
    elif now == before:
        change = texts.REPORT_CHANGE_SAME
    else:
        change = f"{now - before:+d}，{(now - before) * 100 / before:+.0f}%"
    return texts.REPORT_COMPARED.format(
        before_year=report.year - 1,
        label=texts.REPORT_LINES[key],
        now=now,
        before=before,
        change=change,
    )


# --- PDF ------------------------------------------------------------------------------------


def _page() -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=A4)


def _cover(report: YearReport) -> Any:
    page = _page()
    page.text(0.5, 0.68, texts.REPORT_TITLE.format(union=report.union), ha="center", size=24)
    page.text(
        0.5,
        0.6,
        texts.REPORT_SUBTITLE.format(year=report.year),
        ha="center",
        size=20,
        color=charts.COLOURS[0],
    )
    page.text(
        0.5,
        0.5,
        texts.REPORT_COVER_LINE.format(bot=report.bot_name, today=report.made_on.isoformat()),
        ha="center",
        size=12,
        color="#555555",
    )
    sections = "、".join(texts.STATS_SECTIONS.values())
    page.text(
        0.5,
        0.45,
        texts.REPORT_COVER_CONTENTS.format(sections=sections),
        ha="center",
        size=11,
        color="#555555",
    )
    return page


def _table(page: Any, top: float, rows: list[tuple[str, str, str]]) -> None:
    """Label, this year, the year before: one line each, from `top` down."""
    for index, (label, now, before) in enumerate(rows):
        y = top - index * 0.028
        # The header row in the accent colour: the font has one weight only.
        colour = charts.COLOURS[1] if index == 0 else "#222222"
        page.text(0.1, y, label, size=11, color=colour)
        page.text(0.68, y, now, size=11, ha="right", color=colour)
        page.text(
            0.9,
            y,
            before,
            size=11,
            ha="right",
            color=charts.COLOURS[1] if index == 0 else "#777777",
        )


def _programme(section: str, report: YearReport) -> Any:
    page = _page()
    now, before = values(section, report.now), values(section, report.before)
    header = [
        column.format(year=report.year, before_year=report.year - 1)
        for column in texts.REPORT_COLUMNS
    ]
    rows = [(header[0], header[1], header[2])]
    rows += [(texts.REPORT_LINES[key], str(now[key]), str(before[key])) for key in now]
    page.text(0.1, 0.94, texts.STATS_SECTIONS[section], size=20)
    _table(page, 0.89, rows)
    axes = page.add_axes((0.12, 0.2, 0.8, 0.38 - 0.028 * max(0, len(rows) - 6)))
    charts.draw_on(axes, section, report.now, scope=texts.STATS_UNION, names=report.names)
    for index, line in enumerate(
        [compared(section, report), *charts.summary(section, report.now, names=report.names)]
    ):
        page.text(0.1, 0.13 - index * 0.025, line, size=10, wrap=True)
    return page


def union_row(report: YearReport) -> st.UnitRow:
    """The units' rows added up: the whole union, for the unit pages' comparison."""
    totals = [
        sum(values)
        for values in zip(*(list(asdict(row).values())[1:] for row in report.units), strict=True)
    ]
    return st.UnitRow(texts.STATS_UNION, *totals) if report.units else st.UnitRow(texts.STATS_UNION)


def _unit(row: st.UnitRow, union: st.UnitRow, year: int) -> Any:
    page = _page()
    page.text(
        0.1,
        0.94,
        texts.REPORT_UNIT_TITLE.format(year=year, unit=row.unit or texts.UNKNOWN),
        size=20,
    )
    cells = list(asdict(row).values())[1:]
    rows = [("", str(year), "")]
    rows += [
        (label, str(value), "")
        for label, value in zip(texts.REPORT_UNIT_COLUMNS[1:], cells, strict=True)
    ]
    _table(page, 0.88, rows)
    charts.draw_unit_on(page.add_axes((0.22, 0.12, 0.7, 0.38)), row, union, year)
    return page


def page_count(report: YearReport) -> int:
    """Pages of the PDF: the cover, the programmes, the units."""
    return 1 + len(SECTIONS) + len(report.units)


def write_pdf(
    report: YearReport, target: Path | BinaryIO, *, progress: Progress | None = None
) -> int:
    """Write the PDF; its pages. A path is created 0600 (it holds the union's figures)."""
    if isinstance(target, Path):
        with private_file(target) as stream:
            return write_pdf(report, stream, progress=progress)
    from matplotlib.backends.backend_pdf import PdfPages

    # fontTools tells of every table it prunes while subsetting the embedded font.
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    total = page_count(report)
    done = 0

    def step(pdf: Any, page: Any) -> None:
        nonlocal done
        pdf.savefig(page)
        done += 1
        if progress is not None:
            progress("pdf", done, total)

    with charts.styled():
        metadata = {"Title": f"{report.union} {report.year}", "Creator": report.bot_name}
        with PdfPages(target, metadata=metadata) as pdf:
            step(pdf, _cover(report))
            for section in SECTIONS:
                step(pdf, _programme(section, report))
            union = union_row(report)
            for row in report.units:
                step(pdf, _unit(row, union, report.year))
    return total


def pdf_bytes(report: YearReport) -> bytes:
    """The PDF in memory (for /stats 报告)."""
    buffer = io.BytesIO()
    write_pdf(report, buffer)
    return buffer.getvalue()


# --- XLSX -----------------------------------------------------------------------------------


def sheets(report: YearReport) -> list[Sheet]:
    """One sheet per programme (label, this year, the year before) and one of the units."""
    found = []
    for section in SECTIONS:
        now, before = values(section, report.now), values(section, report.before)
        columns = [
            c.format(year=report.year, before_year=report.year - 1) for c in texts.REPORT_COLUMNS
        ]
        found.append(
            Sheet(
                texts.STATS_SECTIONS[section],
                columns,
                [(texts.REPORT_LINES[key], now[key], before[key]) for key in now],
                widths=(32, 14, 14),
            )
        )
    found.append(
        Sheet(
            texts.REPORT_SHEET_UNITS,
            texts.REPORT_UNIT_COLUMNS,
            [tuple(asdict(row).values()) for row in report.units],
            widths=(20, *([12] * (len(texts.REPORT_UNIT_COLUMNS) - 1))),
        )
    )
    return found


def write_xlsx(report: YearReport, target: Path | BinaryIO) -> int:
    """Write the workbook; its sheets."""
    return len(write_sheets(sheets(report), target))


def write(report: YearReport, path: Path, *, progress: Progress | None = None) -> int:
    """Write the report to `path` by its extension (.pdf or .xlsx): pages or sheets written."""
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        return write_pdf(report, path, progress=progress)
    if suffix == ".xlsx":
        return write_xlsx(report, path)
    raise ReportError(f"the report is written as .pdf or .xlsx, not {path.name!r}")
