"""A smoke run of bench/bookings.py with small numbers: the benchmark measures what it says.

30 officers press for 10 places through the real bot (a child process) and the sandbox, once;
on PostgreSQL when NUANJING_TEST_DATABASE_URL names one (in a scratch schema of its own).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import bookings as bench
from tests.conftest import TEST_DATABASE_ENV


def test_the_rush_books_exactly_the_places_and_ends_with_its_json_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--officers", "30", "--places", "10", "--runs", "1"]
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if url.startswith("postgresql"):
        argv += ["--database-url", url]
    code = bench.main(argv)
    out = capsys.readouterr().out
    assert code == bench.EXIT_OK, out
    lines = out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["officers"] == 30 and figures["places"] == 10
    assert figures["booked"] == 10 and figures["overbooked"] == 0
    assert figures["waitlisted"] == 20
    assert figures["p95_reply_s"] > 0
    assert figures["database"] == ("PostgreSQL" if url.startswith("postgresql") else "SQLite")
    assert any(line.startswith("  run 1: booked 10, overbooked 0") for line in lines)
