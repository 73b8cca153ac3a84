"""A smoke run of bench/webhook.py with small numbers: the benchmark measures what it says.

30 bound officers send 10 /me each to the real bot in webhook mode (a child process, once as
shipped and once with no bound on the updates it holds in memory) through the sandbox; on
PostgreSQL when NUANJING_TEST_DATABASE_URL names one (in a scratch schema of its own).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import webhook as bench
from tests.conftest import TEST_DATABASE_ENV

REQUIRED = ["officers", "updates", "lost", "duplicates", "peak_rss_mb", "all_answered_s"]


def test_every_card_arrives_once_on_both_sides_and_the_line_is_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--officers", "30", "--messages", "10", "--runs", "1"]
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if url.startswith("postgresql"):
        argv += ["--database-url", url]
    code = bench.main(argv)
    captured = capsys.readouterr()
    assert code == bench.EXIT_OK, captured.out + captured.err
    lines = captured.out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert list(figures)[: len(REQUIRED)] == REQUIRED
    assert figures["officers"] == 30 and figures["updates"] == 300
    assert figures["lost"] == 0 and figures["duplicates"] == 0 and figures["wrong"] == 0
    assert figures["peak_rss_mb"] > 0 and figures["unbounded_peak_rss_mb"] > 0
    assert figures["all_answered_s"] > 0 and figures["unbounded_all_answered_s"] > 0
    assert figures["database"] == ("PostgreSQL" if url.startswith("postgresql") else "SQLite")
    for side in (bench.SHIPPED, bench.UNBOUNDED):
        assert any(
            line.startswith(f"  run 1, {side}: every card after")
            and "lost 0, repeated 0, not a card 0" in line
            for line in lines
        ), lines
