"""`nuanjing calendar workdays YEAR`: the exceptions of a year, line by line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.policy import default_policy_text

# The State Council's notice for 2026 (2025-11-04): the weekdays off and the weekend working days.
LINES_2026 = [
    "2026-01-01 休",
    "2026-01-02 休",
    "2026-01-04 班",
    "2026-02-14 班",
    "2026-02-16 休",
    "2026-02-17 休",
    "2026-02-18 休",
    "2026-02-19 休",
    "2026-02-20 休",
    "2026-02-23 休",
    "2026-02-28 班",
    "2026-04-06 休",
    "2026-05-01 休",
    "2026-05-04 休",
    "2026-05-05 休",
    "2026-05-09 班",
    "2026-06-19 休",
    "2026-09-20 班",
    "2026-09-25 休",
    "2026-10-01 休",
    "2026-10-02 休",
    "2026-10-05 休",
    "2026-10-06 休",
    "2026-10-07 休",
    "2026-10-10 班",
]


@pytest.fixture(autouse=True)
def no_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run where no .env is, with no policy file unless a test sets one; no database is made."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NUANJING_POLICY_FILE", raising=False)
    monkeypatch.setenv("NUANJING_DATABASE_URL", f"sqlite:///{tmp_path / 'never.db'}")


def test_prints_the_2026_arrangement(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["calendar", "workdays", "2026"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == LINES_2026
    assert err == ""
    assert not (tmp_path / "never.db").exists()


def test_prints_the_2025_arrangement(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "workdays", "2025"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["2025-01-01 休", "2025-01-26 班", "2025-01-28 休"]
    assert lines[-1] == "2025-10-11 班"
    assert len(lines) == 23


def test_a_year_without_arrangement_prints_a_note(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["calendar", "workdays", "2027"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "no official arrangement of holidays for 2027" in err


def test_the_policy_adds_a_year(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(
        default_policy_text()
        + '\n[[workdays.years]]\nyear = 2027\nsource = "测试"\n'
        + 'days_off = ["2027-01-01", "2027-02-05..2027-02-08"]\nworking_days = ["2027-02-20"]\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NUANJING_POLICY_FILE", str(path))
    assert main(["calendar", "workdays", "2027"]) == 0
    out, err = capsys.readouterr()
    assert out.splitlines() == ["2027-01-01 休", "2027-02-05 休", "2027-02-08 休", "2027-02-20 班"]
    assert err == ""


@pytest.mark.parametrize("year", ["1949", "2100", "abc", "2026.5", ""])
def test_a_bad_year_is_refused(capsys: pytest.CaptureFixture[str], year: str) -> None:
    assert main(["calendar", "workdays", year]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "1950 to 2099" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--help"], "calendar"),
        (["calendar", "--help"], "workdays"),
        (["calendar", "workdays", "--help"], "no arrangement prints"),
    ],
)
def test_help(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    assert expected in " ".join(capsys.readouterr().out.split())
