"""A smoke run of bench/survey.py with small numbers: the benchmark measures what it says.

24 bound officers answer a 5-question survey through the real bot (a child process) and the
sandbox, each pressing 提交 twice, twice over; on PostgreSQL when NUANJING_TEST_DATABASE_URL names
one (in a scratch schema of its own).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import survey as bench
from tests.conftest import TEST_DATABASE_ENV


def test_every_answer_is_stored_once_and_the_line_is_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--officers", "24", "--runs", "2"]
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if url.startswith("postgresql"):
        argv += ["--database-url", url]
    code = bench.main(argv)
    captured = capsys.readouterr()
    assert code == bench.EXIT_OK, captured.out + captured.err
    lines = captured.out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["officers"] == 24 and figures["answers"] == 24
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["counts_exact"] is True and figures["runs"] == 2
    assert 0 < figures["results_min_s"] <= figures["results_s"] <= figures["results_max_s"]
    assert figures["database"] == ("PostgreSQL" if url.startswith("postgresql") else "SQLite")
    assert any(
        line.startswith("  run 2: answers stored 24, lost 0, duplicated 0") for line in lines
    )
