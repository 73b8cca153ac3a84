"""A smoke run of bench/survey.py with small numbers: the benchmark measures what it says.

24 bound officers answer a 5-question survey through the real bot (a child process) and the
sandbox, each pressing 提交 twice, and send the same updates to the bare echo bot;
on PostgreSQL when NUANJING_TEST_DATABASE_URL names one (in a scratch schema of its own).
"""

from __future__ import annotations

import json
import os

import pytest

from bench import survey as bench
from tests.conftest import TEST_DATABASE_ENV

REQUIRED = ["officers", "answers", "lost", "duplicates", "results_s"]


def test_every_answer_is_stored_once_and_the_line_is_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = ["--officers", "24", "--runs", "1"]
    url = os.environ.get(TEST_DATABASE_ENV, "")
    if url.startswith("postgresql"):
        argv += ["--database-url", url]
    code = bench.main(argv)
    captured = capsys.readouterr()
    assert code == bench.EXIT_OK, captured.out + captured.err
    lines = captured.out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert list(figures)[: len(REQUIRED)] == REQUIRED
    assert figures["officers"] == 24 and figures["answers"] == 24
    assert figures["lost"] == 0 and figures["duplicates"] == 0
    assert figures["counts_exact"] is True and figures["runs"] == 1
    assert 0 < figures["results_min_s"] <= figures["results_s"] <= figures["results_max_s"]
    assert figures["database"] == ("PostgreSQL" if url.startswith("postgresql") else "SQLite")
    assert any(
        line.startswith("  run 1: answers stored 24, lost 0, duplicated 0") for line in lines
    )
    # The floor: the same ten updates an officer through the bare echo bot, every call made.
    assert figures["updates_per_officer"] == 10
    low, median, high = (figures[f"echo_answering{part}_s"] for part in ("_min", "", "_max"))
    assert 0 < low <= median <= high
    assert figures["cpu_ms_per_update"] > 0 and figures["echo_cpu_ms_per_update"] > 0
    assert figures["echo_transport"] == "aiohttp"
    echo_lines = [line for line in lines if line.startswith("  run 1 echo: ")]
    assert len(echo_lines) == 1
    assert all(
        "answerCallbackQuery 192, editMessageText 192, sendMessage 48" in line
        for line in echo_lines
    )


def test_the_echo_is_sent_the_same_updates_as_the_bot() -> None:
    kinds = [kind for kind, _ in bench.steps(bench.FIRST_USER_ID, "abcd1234")]
    assert kinds.count(bench.PRESS) == 7 and kinds.count(bench.TEXT) == 2
    assert bench.UPDATES_PER_OFFICER == 1 + len(kinds) == 10
    assert bench.echo_calls(3) == {
        bench.ANSWER: 3 * 8,
        bench.EDIT: 3 * 8,
        bench.SEND: 3 * 2,
    }
