"""A small run of bench/instances.py: two instances in webhook mode, the leader killed.

Two `python -m bot run` on one PostgreSQL schema behind the benchmark's round-robin proxy; 20
officers file care reports and an announcement goes to 60 while the leader is SIGKILLed
half-way. Webhook multi-instance is PostgreSQL only: that run is skipped without
NUANJING_TEST_DATABASE_URL. Also how the harness it shares with bench/chaos.py recognises the
announcement.
"""

from __future__ import annotations

import json
import os

import pytest

from bench import harness
from bench import instances as bench
from bot import texts
from tests.conftest import TEST_DATABASE_ENV

URL = os.environ.get(TEST_DATABASE_ENV, "")

postgres_only = pytest.mark.skipif(
    not URL.startswith("postgresql"),
    reason=f"webhook multi-instance is PostgreSQL only: set {TEST_DATABASE_ENV}",
)

KEYS = ["instances", "updates", "lost", "duplicates", "broken_flows", "takeover_s"]


@postgres_only
def test_killing_the_leader_loses_nothing_and_another_takes_over(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = bench.main(
        ["--instances", "2", "--officers", "20", "--audience", "60", "--database-url", URL]
    )
    captured = capsys.readouterr()
    assert code == bench.EXIT_OK, captured.out + captured.err
    lines = captured.out.strip().splitlines()
    figures = json.loads(lines[-1])
    assert list(figures)[: len(KEYS)] == KEYS
    assert figures["instances"] == 2 and figures["officers"] == 20
    # 20 reports of 8 steps, and the organizer's 4 steps of the announcement.
    assert figures["updates"] == 20 * 8 + 4
    assert figures["lost"] == 0, captured.out
    assert figures["broken_flows"] == 0, captured.out
    assert figures["takeover_s"] is not None and figures["takeover_s"] <= 15, captured.out
    assert figures["settled"] is True
    assert any(line.startswith("  kill        SIGKILL of the leader #") for line in lines)


def test_sqlite_is_refused_in_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    code = bench.main(["--database-url", "sqlite:///never-made.db"])
    assert code == bench.EXIT_USAGE
    assert capsys.readouterr().err.strip() == bench.SQLITE_REFUSED


def test_the_announcement_is_recognised_under_the_bots_header() -> None:
    # The bot puts 📣 工会通知 above the organizer's text, in the preview and in every copy sent.
    delivered = texts.ANNOUNCE_HEADER + harness.NOTICE
    assert harness.is_notice(delivered)
    assert not harness.is_notice(texts.ANNOUNCE_HEADER)
    # The organizer's preview is one copy of it, the delivery the other: twice is no duplicate.
    history = [
        {"kind": "message", "time": float(moment), "message": {"text": delivered}}
        for moment in (1, 2)
    ]
    arrived = harness.arrivals(history)
    assert arrived == {delivered: [1.0, 2.0]}
    assert harness.copies_meant(True, delivered) == 2
    assert harness.copies_meant(False, delivered) == 1
