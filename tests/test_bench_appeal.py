"""A smoke run of bench/appeal.py with small numbers: the benchmark measures what it says.

48 bound officers (12 of the appeal's blood type), 10 of them press 我能去 for an appeal that
needs 10, through the real bot (a child process) and the sandbox at Telegram's limit; on
PostgreSQL when NUANJING_TEST_DATABASE_URL names one (in a scratch schema of its own).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import appeal as bench
from tests.conftest import TEST_DATABASE_ENV


def test_the_appeal_reaches_the_quarter_and_its_tally_is_exact(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--officers", "48", "--answers", "10"]
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if url.startswith("postgresql"):
        argv += ["--database-url", url]
    code = bench.main(argv)
    captured = capsys.readouterr()
    assert code == bench.EXIT_OK, captured.out + captured.err
    lines = captured.out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert figures["recipients"] == 12 and figures["answers"] == 10
    assert figures["tally_exact"] is True and figures["coming"] == 10
    assert 0 < figures["first_message_s"] <= figures["all_reached_s"]
    assert figures["database"] == ("PostgreSQL" if url.startswith("postgresql") else "SQLite")
    assert any(line.startswith("  tally       message exact") for line in lines)
