"""A smoke run of bench/report.py with small numbers: the benchmark measures what it says.

60 officers and a year of sample data, the report made once (a second repeat runs the same
code for 4 s more of CPU); on PostgreSQL when NUANJING_TEST_DATABASE_URL names one (in a
scratch schema of its own).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import report as bench
from tests.conftest import TEST_DATABASE_ENV


def test_the_report_is_timed_in_three_parts(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--officers", "60", "--repeats", "1"]
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if url.startswith("postgresql"):
        argv += ["--database-url", url]
    code = bench.main(argv)
    captured = capsys.readouterr()
    assert code == bench.EXIT_OK, captured.out + captured.err
    lines = captured.out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert list(figures) == ["officers", "figures_s", "charts_s", "pdf_s", "peak_rss_mb"]
    assert figures["officers"] == 60
    assert all(figures[key] > 0 for key in ("figures_s", "charts_s", "pdf_s", "peak_rss_mb"))
    assert any(line.strip().startswith("figures_s  median") for line in lines)
    assert any("60 officers" in line for line in lines)
    backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    assert f"database    {backend}" in captured.out
