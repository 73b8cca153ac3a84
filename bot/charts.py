"""Charts of the union's figures (issue 16): one style, Chinese in the font the install brings.

Every chart is a matplotlib Figure drawn on the Agg canvas (no display, no pyplot state shared
between threads), rendered to PNG bytes for /stats or put on a page of the yearly report's PDF.

The font is Noto Sans CJK SC from the `mplfonts` wheel (OFL; a dependency of the project, so a
fresh install has it), loaded by its path: no system font is ever looked up, so no glyph falls
back to a box on a server without Chinese fonts. Its SimHei.ttf is not used: it is not freely
licensed. The same font covers Latin letters and digits, so one family draws every label.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from bot import texts
from bot.policy import Policy
from storage.statistics import Figures, OfficerYear, UnitRow

SECTIONS = tuple(texts.STATS_SECTIONS)
FONT_FILE = "NotoSansCJKsc-Regular.otf"
# Warm, calm colours that stay apart when printed in grey: the first series, the second.
COLOURS = ("#c8553d", "#588b8b")
SIZE = (8.0, 4.5)  # inches: 1200 × 675 pixels at DPI, a phone's landscape picture
DPI = 150
# matplotlib's rcParams are global: a chart drawn in a worker thread and one on the event loop
# must not restore each other's style half-way (a tick label would lose the Chinese font).
_STYLE_LOCK = threading.RLock()


def names_of(policy: Policy) -> dict[str, str]:
    """Display names of the keys charts label: greeting occasions (生日 too) and services."""
    keys = [occasion.key for occasion in policy.greetings.occasions] + ["birthday"]
    return {
        **{key: policy.greetings.name_of(key) for key in keys},
        **{service.key: service.name for service in policy.services},
    }


class FontMissing(RuntimeError):
    """The chart font is not installed (the `mplfonts` package is missing or incomplete)."""


@cache
def font_path() -> Path:
    """Where the installed mplfonts package keeps Noto Sans CJK SC, found without importing it
    (its import sets matplotlib up its own way)."""
    spec = importlib.util.find_spec("mplfonts")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / "fonts" / FONT_FILE
        if path.is_file():
            return path
    raise FontMissing(f"{FONT_FILE} not found: install the project's dependencies (mplfonts)")


@cache
def font_family() -> str:
    """The chart font's family name, registered with matplotlib once per process."""
    from matplotlib import font_manager

    path = font_path()
    font_manager.fontManager.addfont(str(path))
    return str(font_manager.FontProperties(fname=str(path)).get_name())


def style() -> Any:
    """The one style of every chart and report page."""
    return {
        "font.family": [font_family()],
        "font.size": 10,
        "axes.titlesize": 13,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.edgecolor": "#888888",
        "axes.grid": True,
        "axes.axisbelow": True,  # grid lines behind the bars
        "axes.grid.axis": "y",
        "grid.color": "#e6e6e6",
        "axes.unicode_minus": False,  # the CJK font's hyphen-minus, not U+2212
        "legend.frameon": False,
        "pdf.fonttype": 42,  # embed the font (subset), so Chinese renders in any reader
        "svg.fonttype": "none",
    }


@contextlib.contextmanager
def styled() -> Iterator[None]:
    """Draw and save inside this: the chart style, on matplotlib's own Agg machinery."""
    import matplotlib

    with _STYLE_LOCK, matplotlib.rc_context(style()):
        yield


def new_figure() -> Any:
    """An empty figure of the charts' size on an Agg canvas (call inside `styled`)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def png(figure: Any) -> bytes:
    """The figure as PNG bytes, in memory."""
    buffer = io.BytesIO()
    with styled():
        figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def texts_of(figure: Any) -> list[str]:
    """Every piece of text drawn on the figure: titles, labels, ticks, legends, bar values."""
    from matplotlib.text import Text

    found = [item.get_text() for item in figure.findobj(Text)]
    return [text for text in found if text.strip()]


def _bars(
    axes: Any,
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    unit: str,
    horizontal: bool = False,
) -> None:
    """Grouped bars, one colour per series, each bar with its value."""
    if not labels or not any(any(values) for _, values in series):
        axes.set_axis_off()
        axes.text(0.5, 0.5, texts.CHART_EMPTY, ha="center", va="center", fontsize=14)
        return
    width = 0.8 / len(series)
    positions = range(len(labels))
    for index, (name, values) in enumerate(series):
        offsets = [p - 0.4 + width * (index + 0.5) for p in positions]
        colour = COLOURS[index % len(COLOURS)]
        if horizontal:
            bars = axes.barh(offsets, values, height=width, label=name, color=colour)
        else:
            bars = axes.bar(offsets, values, width=width, label=name, color=colour)
        axes.bar_label(bars, fmt="%d", fontsize=8, padding=2)
    if horizontal:
        axes.set_yticks(list(positions), list(labels))
        axes.invert_yaxis()
        axes.set_xlabel(unit)
        axes.grid(axis="x")
        axes.grid(axis="y", visible=False)
    else:
        axes.set_xticks(list(positions), list(labels))
        axes.set_ylabel(unit)
        if len(labels) > 6:
            axes.tick_params(axis="x", labelrotation=30)
    if len(series) > 1:
        axes.legend(loc="best")


def draw(
    section: str, figures: Figures, *, scope: str, names: Mapping[str, str] | None = None
) -> Any:
    """The section's chart; `names` gives display names of greeting occasions and services."""
    with styled():
        figure = new_figure()
        draw_on(figure.add_subplot(), section, figures, scope=scope, names=names)
    return figure


def draw_on(
    axes: Any,
    section: str,
    figures: Figures,
    *,
    scope: str,
    names: Mapping[str, str] | None = None,
) -> None:
    """Draw the section's chart on axes of a figure of one's own (a report page); inside
    `styled`."""
    axes.set_title(
        texts.CHART_TITLE.format(
            year=figures.period.start.year, scope=scope, section=texts.STATS_SECTIONS[section]
        )
    )
    _DRAW[section](axes, figures, names or {})


def _members(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    rows = f.members.by_unit[:15]
    _bars(
        axes,
        [row.unit or texts.CHART_NO_UNIT for row in rows],
        [
            (texts.CHART_ACTIVE, [row.active for row in rows]),
            (texts.CHART_BOUND, [row.bound for row in rows]),
        ],
        unit=texts.CHART_PEOPLE,
        horizontal=True,
    )


def _care(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    kinds = f.care.by_kind
    _bars(
        axes,
        [texts.CARE_EVENTS.get(kind.event, kind.event) for kind in kinds],
        [
            (texts.CHART_REPORTED, [kind.cases for kind in kinds]),
            (texts.CHART_PAID, [kind.paid_cases for kind in kinds]),
        ],
        unit=texts.CHART_CASES,
    )


def _blood(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    months = f.blood.by_month
    start = f.period.start.month
    _bars(
        axes,
        [texts.CHART_MONTH.format(month=(start + i - 1) % 12 + 1) for i in range(len(months))],
        [(texts.CHART_DONATIONS, list(months))],
        unit=texts.CHART_TIMES,
    )


def _events(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    kinds = f.events.by_kind
    _bars(
        axes,
        [texts.EVENT_KINDS.get(kind.kind, kind.kind) for kind in kinds],
        [
            (texts.CHART_SIGNED, [kind.signed for kind in kinds]),
            (texts.CHART_ATTENDED, [kind.attended for kind in kinds]),
        ],
        unit=texts.CHART_TIMES,
    )


def _clubs(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    rows = f.clubs
    _bars(
        axes,
        [row.club for row in rows],
        [
            (texts.CHART_MEMBERS, [row.members for row in rows]),
            (texts.CHART_ACTIVITY_SIGNED, [row.signed for row in rows]),
        ],
        unit=texts.CHART_PEOPLE,
    )


def _greetings(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    rows = f.greetings
    _bars(
        axes,
        [names.get(row.occasion, row.occasion) for row in rows],
        [
            (texts.CHART_SENT, [row.sent for row in rows]),
            (texts.CHART_REACHED, [row.reached for row in rows]),
        ],
        unit=texts.CHART_TIMES,
    )


def _bookings(axes: Any, f: Figures, names: Mapping[str, str]) -> None:
    rows = f.bookings
    _bars(
        axes,
        [names.get(row.key, row.key) for row in rows],
        [
            (texts.CHART_BOOKED, [row.booked for row in rows]),
            (texts.CHART_ATTENDED, [row.attended for row in rows]),
        ],
        unit=texts.CHART_TIMES,
    )


def _per_hundred(value: int, active: int) -> int:
    return round(value * 100 / active) if active else 0


def draw_unit_on(axes: Any, row: UnitRow, union: UnitRow, year: int) -> None:
    """A unit against the whole union, per hundred active officers: care cases, donors,
    event places taken and greetings reached (a report's unit page); inside `styled`."""
    axes.set_title(texts.CHART_UNIT_TITLE.format(year=year, unit=row.unit or texts.UNKNOWN))
    columns = texts.REPORT_UNIT_COLUMNS
    picked = [
        (columns[3], "care_cases"),
        (columns[5], "blood_donors"),
        (columns[7], "event_signed"),
        (columns[10], "greetings_reached"),
    ]
    _bars(
        axes,
        [label for label, _ in picked],
        [
            (
                row.unit or texts.UNKNOWN,
                [_per_hundred(getattr(row, k), row.active) for _, k in picked],
            ),
            (texts.STATS_UNION, [_per_hundred(getattr(union, k), union.active) for _, k in picked]),
        ],
        unit=texts.CHART_PER_HUNDRED,
        horizontal=True,
    )


_DRAW = {
    "members": _members,
    "care": _care,
    "blood": _blood,
    "events": _events,
    "clubs": _clubs,
    "greetings": _greetings,
    "bookings": _bookings,
}


# --- the three lines under a chart ------------------------------------------------------


def _share(part: int, whole: int) -> str:
    return f"{part * 100 / whole:.0f}%" if whole else texts.SUMMARY_NONE


def summary(section: str, f: Figures, *, names: Mapping[str, str] | None = None) -> list[str]:
    """The three lines that go with the section's chart."""
    names = names or {}
    none = texts.SUMMARY_NONE
    if section == "members":
        m = f.members
        top = m.by_unit[0] if m.by_unit else None
        return [
            line.format(
                on_roster=m.on_roster,
                active=m.active,
                bound=m.bound,
                bound_share=_share(m.bound, m.active),
                men=m.men,
                women=m.women,
                left=m.left_in_period,
                units=len(m.by_unit),
                top=texts.SUMMARY_TOP_PEOPLE.format(
                    name=top.unit or texts.CHART_NO_UNIT, count=top.active
                )
                if top
                else none,
            )
            for line in texts.SUMMARY_MEMBERS
        ]
    if section == "care":
        c = f.care
        top_kind = max(c.by_kind, key=lambda k: k.cases, default=None)
        return [
            line.format(
                cases=c.cases,
                paid_cases=c.paid_cases,
                paid_sum=c.paid_sum,
                top=texts.SUMMARY_TOP_CASES.format(
                    name=texts.CARE_EVENTS.get(top_kind.event, top_kind.event),
                    count=top_kind.cases,
                )
                if top_kind
                else none,
                since=c.comforted_since,
                comforted=c.comforted,
            )
            for line in texts.SUMMARY_CARE
        ]
    if section == "blood":
        b, a = f.blood, f.blood.appeals
        first = (
            texts.SUMMARY_BLOOD_FIRST.format(minutes=f"{a.first_coming_minutes:g}")
            if a.first_coming_minutes is not None
            else ""
        )
        return [
            line.format(
                donors=b.donors,
                donations=b.donations,
                ml=b.ml,
                units=b.platelet_units,
                drives=b.drives_held,
                signups=b.drive_signups,
                appeals=a.appeals,
                reached=a.reached,
                coming=a.coming,
                arrived=a.arrived,
                first=first,
            )
            for line in texts.SUMMARY_BLOOD
        ]
    if section == "events":
        e = f.events
        genders = {gender: signed for gender, signed, _ in e.matchmaking_by_gender}
        rate = e.no_show_rate
        return [
            line.format(
                events=e.events,
                places=e.places,
                signed=e.signed,
                attended=e.attended,
                absent=e.absent,
                no_show=f"{rate * 100:.0f}%" if rate is not None else texts.SUMMARY_NOT_MARKED,
                men=genders.get("M", 0),
                women=genders.get("F", 0),
            )
            for line in texts.SUMMARY_EVENTS
            # a unit's view has no matchmaking by gender: a small unit's would name someone
            if f.unit is None or "{men}" not in line
        ]
    if section == "clubs":
        club_rows = f.clubs
        top_club = max(club_rows, key=lambda club: club.members, default=None)
        return [
            line.format(
                clubs=len(club_rows),
                members=sum(club.members for club in club_rows),
                activities=sum(club.activities for club in club_rows),
                signed=sum(club.signed for club in club_rows),
                attended=sum(club.attended for club in club_rows),
                top=texts.SUMMARY_TOP_PEOPLE.format(name=top_club.club, count=top_club.members)
                if top_club and top_club.members
                else none,
            )
            for line in texts.SUMMARY_CLUBS
        ]
    if section == "greetings":
        greeting_rows = f.greetings
        sent = sum(greeting.sent for greeting in greeting_rows)
        reached = sum(greeting.reached for greeting in greeting_rows)
        birthdays = sum(
            greeting.sent for greeting in greeting_rows if greeting.occasion == "birthday"
        )
        top_greeting = greeting_rows[0] if greeting_rows else None
        top_name = names.get(top_greeting.occasion, top_greeting.occasion) if top_greeting else ""
        return [
            line.format(
                sent=sent,
                reached=reached,
                share=_share(reached, sent),
                festivals=sum(1 for greeting in greeting_rows if greeting.occasion != "birthday"),
                birthdays=birthdays,
                top=texts.SUMMARY_TOP_PIECES.format(name=top_name, count=top_greeting.sent)
                if top_greeting
                else none,
            )
            for line in texts.SUMMARY_GREETINGS
        ]
    service_rows = f.bookings
    top_service = max(service_rows, key=lambda service: service.booked, default=None)
    return [
        line.format(
            booked=sum(service.booked for service in service_rows),
            attended=sum(service.attended for service in service_rows),
            missed=sum(service.missed for service in service_rows),
            services=len(service_rows),
            top=texts.SUMMARY_TOP_TIMES.format(
                name=names.get(top_service.key, top_service.key), count=top_service.booked
            )
            if top_service and top_service.booked
            else none,
        )
        for line in texts.SUMMARY_BOOKINGS
    ]


# --- the monthly digest's chart and my year's card (issue 16, items 5 and 6) -------------

CARD_SIZE = (6.0, 8.0)  # inches: 600 × 800 pixels at CARD_DPI, a phone's portrait picture
CARD_DPI = 100
CARD_BACKGROUND = "#fff6ee"


def digest_values(f: Figures) -> list[tuple[str, int]]:
    """The month's chief counts the digest's chart shows, each a count of times or cases."""
    return [
        (texts.DIGEST_CHART_CARE, f.care.cases),
        (texts.DIGEST_CHART_DONATIONS, f.blood.donations),
        (texts.DIGEST_CHART_SIGNED, f.events.signed),
        (texts.DIGEST_CHART_ATTENDED, f.events.attended),
        (texts.DIGEST_CHART_CLUBS, sum(club.activities for club in f.clubs)),
        (texts.DIGEST_CHART_GREETINGS, sum(greeting.reached for greeting in f.greetings)),
        (texts.DIGEST_CHART_BOOKED, sum(service.booked for service in f.bookings)),
    ]


def draw_digest(f: Figures) -> Any:
    """The monthly digest's one chart: the month's chief counts side by side."""
    values = digest_values(f)
    with styled():
        figure = new_figure()
        axes = figure.add_subplot()
        axes.set_title(
            texts.DIGEST_CHART_TITLE.format(year=f.period.start.year, month=f.period.start.month)
        )
        _bars(
            axes,
            [label for label, _ in values],
            [(texts.CHART_TIMES, [value for _, value in values])],
            unit=texts.CHART_TIMES,
            horizontal=True,
        )
    return figure


def year_card_rows(year: OfficerYear) -> list[tuple[str, str]]:
    """The card's rows, (label, value): the officer's own figures only.

    Never the union's care (住院, 直系亲属去世…): the picture is made to be shared; the caption,
    seen in the officer's own chat, keeps it in one line.
    """
    blood = texts.YEAR_CARD_NONE
    if year.donations:
        blood = texts.YEAR_CARD_BLOOD_ROW.format(donations=year.donations, ml=year.ml)
        if year.platelet_units:
            blood += texts.YEAR_CARD_PLATELETS_ROW.format(units=year.platelet_units)
    return [
        (texts.YEAR_CARD_GREETINGS, texts.YEAR_CARD_PIECES.format(count=year.greetings)),
        (texts.YEAR_CARD_DONATIONS, blood),
        (
            texts.YEAR_CARD_EVENTS,
            texts.YEAR_CARD_TIMES.format(count=year.events_signed)
            + texts.CHART_ATTENDED_OF.format(count=year.events_attended),
        ),
        (
            texts.YEAR_CARD_CLUBS,
            texts.YEAR_CARD_TIMES.format(count=year.club_signed)
            + texts.CHART_ATTENDED_OF.format(count=year.club_attended),
        ),
    ]


def draw_year_card(year: OfficerYear, *, name: str, year_number: int, warm: str) -> Any:
    """One officer's card of their year: a portrait picture of their own rows and a warm line."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with styled():
        figure = Figure(figsize=CARD_SIZE, dpi=CARD_DPI, facecolor=CARD_BACKGROUND)
        FigureCanvasAgg(figure)
        figure.text(
            0.5,
            0.92,
            texts.YEAR_CARD_TITLE.format(year=year_number),
            ha="center",
            fontsize=22,
            color=COLOURS[0],
        )
        figure.text(0.5, 0.86, name, ha="center", fontsize=16, color="#555555")
        top = 0.76
        for index, (label, value) in enumerate(year_card_rows(year)):
            y = top - index * 0.11
            figure.text(0.1, y, label, fontsize=14, color="#777777")
            figure.text(0.1, y - 0.045, value, fontsize=17, color="#333333", wrap=True)
        figure.text(0.5, 0.1, warm, ha="center", fontsize=12, color=COLOURS[1], wrap=True)
    return figure


def card_png(figure: Any) -> bytes:
    """The card as PNG bytes at its own resolution."""
    buffer = io.BytesIO()
    with styled():
        figure.savefig(buffer, format="png", dpi=CARD_DPI, facecolor=figure.get_facecolor())
    return buffer.getvalue()
