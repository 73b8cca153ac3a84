"""bot/charts.py: every chart draws, in the font the install brings, covering every character.

The figures are made by hand (no database): every label the charts can show is in them, the
policy's clubs, occasions and services by name, every kind of care case and event.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fontTools.ttLib import TTFont
from matplotlib import font_manager
from matplotlib.text import Text

from bot import charts, texts
from bot.policy import load_policy
from storage import statistics as st

ZONE = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
NAMES = charts.names_of(POLICY)
OCCASIONS = [occasion.key for occasion in POLICY.greetings.occasions] + ["birthday"]


def _full() -> st.Figures:
    units = tuple(
        st.UnitMembers(unit, 900 - 10 * i, 800 - 10 * i) for i, unit in enumerate(POLICY.units)
    )
    return st.Figures(
        period=st.Period.year(2025, ZONE),
        unit=None,
        members=st.MemberFigures(9000, 8800, 8000, 6000, 2800, 12, units),
        care=st.CareFigures(
            120,
            100,
            98000,
            tuple(st.CareKind(kind, 20, 17, 17000) for kind in texts.CARE_EVENTS),
            tuple((status, 3) for status in texts.CASE_STATUS),
            date(2018, 9, 1),
            936,
        ),
        blood=st.BloodFigures(
            400,
            420,
            99000,
            95000,
            48,
            8,
            8,
            410,
            tuple(range(30, 42)),
            st.AppealFigures(2, 300, 290, 120, 60, 48, 12.5),
        ),
        events=st.EventFigures(
            tuple(st.EventKindFigures(str(k), 3, 90, 80, 5, 70, 10) for k in texts.EVENT_KINDS),
            (("M", 40, 35), ("F", 38, 36)),
        ),
        clubs=tuple(st.ClubFigures(club, 100, 12, 300, 280) for club in POLICY.clubs),
        greetings=tuple(st.GreetingFigures(key, 8800, 8600) for key in OCCASIONS),
        bookings=tuple(
            st.ServiceFigures(s.key, s.kind == "counselling", 90, 80, 5) for s in POLICY.services
        ),
    )


def _empty() -> st.Figures:
    return st.Figures(
        period=st.Period.year(2025, ZONE),
        unit="天元分局",
        members=st.MemberFigures(0, 0, 0, 0, 0, 0),
        care=st.CareFigures(0, 0, 0, (), (), date(2018, 9, 1), 0),
        blood=st.BloodFigures(0, 0, 0, 0, 0, 0, 0, 0, (0,) * 12),
        events=st.EventFigures((), ()),
        clubs=(),
        greetings=(),
        bookings=(),
    )


@pytest.fixture(scope="module")
def covered() -> set[int]:
    with TTFont(str(charts.font_path()), fontNumber=0, lazy=True) as font:
        return set(font.getBestCmap())


def test_the_font_is_the_packaged_noto_sans_cjk() -> None:
    path = charts.font_path()
    assert path.name == "NotoSansCJKsc-Regular.otf" and path.is_file()
    assert "mplfonts" in path.parts  # the project's own dependency, not a system font
    assert charts.font_family() == "Noto Sans CJK SC"


@pytest.mark.parametrize("figures", [_full(), _empty()], ids=["full", "empty"])
@pytest.mark.parametrize("section", charts.SECTIONS)
def test_every_chart_draws_every_character_in_its_font(
    section: str, figures: st.Figures, covered: set[int]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)" is a UserWarning
        figure = charts.draw(section, figures, scope="全会", names=NAMES)
        data = charts.png(figure)
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5_000
    drawn = charts.texts_of(figure)
    title = texts.CHART_TITLE.format(year=2025, scope="全会", section=texts.STATS_SECTIONS[section])
    assert title in drawn
    if figures.unit is None:
        assert len(drawn) > 5  # labels, ticks and values, not only the title
    else:
        assert texts.CHART_EMPTY in drawn
    missing = {ch for text in drawn for ch in text if ord(ch) not in covered and not ch.isspace()}
    assert not missing, f"{section}: not in the font: {sorted(missing)}"
    for item in figure.findobj(Text):
        if item.get_text().strip():
            used = Path(font_manager.findfont(item.get_fontproperties(), fallback_to_default=False))
            assert used == charts.font_path(), f"{item.get_text()!r} drawn in {used}"


def test_labels_name_what_they_count() -> None:
    figure = charts.draw("care", _full(), scope="全会", names=NAMES)
    charts.png(figure)
    drawn = charts.texts_of(figure)
    assert {"住院", "民警去世", texts.CHART_REPORTED, texts.CHART_PAID} <= set(drawn)
    figure = charts.draw("greetings", _full(), scope="全会", names=NAMES)
    charts.png(figure)
    assert {"春节", "中秋节", "生日"} <= set(charts.texts_of(figure))


@pytest.mark.parametrize("section", charts.SECTIONS)
def test_every_summary_has_three_lines_with_the_figures(section: str) -> None:
    lines = charts.summary(section, _full(), names=NAMES)
    assert len(lines) == 3 and all(lines)
    assert len("\n".join(lines)) < 1024  # a photo's caption
    empty = charts.summary(section, _empty(), names=NAMES)
    # A unit's events have no matchmaking-by-gender line: a small unit's would name someone.
    assert len(empty) == (2 if section == "events" else 3)
    assert not any("联谊交友" in line for line in empty)


def test_summaries_carry_the_numbers() -> None:
    f = _full()
    assert "8800" in charts.summary("members", f)[0] and "91%" in charts.summary("members", f)[0]
    assert "累计慰问 936 人" in charts.summary("care", f)[2]
    assert "99000 毫升" in charts.summary("blood", f)[0]
    assert "12.5 分钟" in charts.summary("blood", f)[2]
    assert "缺席率 12%" in charts.summary("events", f)[1]
    assert "未登记" in charts.summary("events", _empty())[1]


@pytest.mark.parametrize("unit", POLICY.units)
def test_the_unit_page_chart_draws_every_character_in_its_font(
    unit: str, covered: set[int]
) -> None:
    row = st.UnitRow(unit, 200, 180, 12, 9000, 8, 2400, 60, 50, 1600, 1560)
    union = st.UnitRow(
        texts.STATS_UNION, 9000, 8000, 500, 400000, 400, 99000, 2000, 1800, 70000, 69000
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with charts.styled():
            figure = charts.new_figure()
            charts.draw_unit_on(figure.add_subplot(), row, union, 2025)
        charts.png(figure)
    drawn = charts.texts_of(figure)
    assert texts.CHART_UNIT_TITLE.format(year=2025, unit=unit) in drawn
    assert {unit, texts.STATS_UNION, "6", "4"} <= set(drawn)  # 12 and 500 cases per hundred
    missing = {ch for text in drawn for ch in text if ord(ch) not in covered and not ch.isspace()}
    assert not missing, f"{unit}: not in the font: {sorted(missing)}"
