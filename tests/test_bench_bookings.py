"""A smoke run of bench/bookings.py with small numbers: the benchmark measures what it says.

30 officers press for 10 places through the real bot (a child process) and the sandbox, once,
and through the bare echo bot; on PostgreSQL when NUANJING_TEST_DATABASE_URL names one (in a
scratch schema of its own).
"""

from __future__ import annotations

import json
import os
from collections import Counter

import pytest

from bench import bookings as bench
from tests.conftest import TEST_DATABASE_ENV

REQUIRED = ["officers", "places", "booked", "overbooked", "p95_reply_s"]


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
    assert list(figures)[: len(REQUIRED)] == REQUIRED
    assert figures["officers"] == 30 and figures["places"] == 10
    assert figures["booked"] == 10 and figures["overbooked"] == 0
    assert figures["waitlisted"] == 20
    assert figures["p95_reply_s"] > 0
    assert figures["database"] == ("PostgreSQL" if url.startswith("postgresql") else "SQLite")
    assert any(line.startswith("  run 1: booked 10, overbooked 0") for line in lines)
    # The floor: the same presses through the bare echo bot, answered and edited once each.
    assert 0 < figures["echo_p95_min_s"] <= figures["echo_p95_reply_s"] <= figures["echo_p95_max_s"]
    assert figures["cpu_ms_per_press"] > 0 and figures["echo_cpu_ms_per_press"] > 0
    assert figures["sql_per_press"] > 0
    # Every process's CPU over the rush: at least the bot's own.
    assert figures["machine_cpu_s"] is None or figures["machine_cpu_s"] > 0
    assert figures["echo_transport"] == "aiohttp"
    [echo_line] = [line for line in lines if line.startswith("  run 1 echo: ")]
    assert "answerCallbackQuery 1.00, editMessageText 1.00" in echo_line


def test_without_the_echo_its_keys_are_null() -> None:
    args = bench.parse_args(["--officers", "3", "--places", "1", "--no-echo"])
    assert args.echo is False
    rush = bench.Rush(
        presses=3,
        from_press=[0.1, 0.2, 0.3],
        posting_seconds=0.01,
        seconds=0.3,
        cpu_seconds=0.03,
        harness_cpu_seconds=0.02,
        machine_cpu_seconds=0.08,
        calls=Counter({bench.ANSWER: 3, bench.EDIT: 3}),
        statements=Counter({"SELECT": 6, "COMMIT": 3}),
    )
    run = bench.Run(officers=3, places=1, booked=1, waitlisted=2, missing=0, bot=rush, echo=None)
    figures = bench.summary(args, [run], "SQLite")
    assert list(figures)[: len(REQUIRED)] == REQUIRED
    assert figures["p95_reply_s"] == 0.3 and figures["sql_per_press"] == 3.0
    assert figures["cpu_ms_per_press"] == 10.0
    assert figures["echo_p95_reply_s"] is None and figures["echo_cpu_ms_per_press"] is None
    assert figures["echo_transport"] is None and figures["machine_cpu_s"] == 0.08
    assert "all processes 0.08 s" in rush.line()
