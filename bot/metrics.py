"""The bot's Prometheus metrics, in a registry of its own (not prometheus_client's global one).

Counters and the latency histogram are kept in this process and incremented where things
happen (bot/inbox.py, bot/broadcast.py, bot/leader.py). Depths and the figures the database
holds (inbox and outbox backlog, greetings queued, appeal answers) are read when /metrics is
scraped (bot/http.py, storage/health.py), so every instance reports the same figures for them.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from telegram import Update

from storage.health import Figures

REGISTRY = CollectorRegistry(auto_describe=True)
# generate_latest writes the classic text format, which every Prometheus version reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

UPDATES_HANDLED = Counter(
    "nuanjing_updates_handled",
    "Updates handled, by kind (message, callback_query, ...).",
    ["kind"],
    registry=REGISTRY,
)
HANDLER_SECONDS = Histogram(
    "nuanjing_handler_seconds",
    "Time an update's handling took: its handlers and its transaction, not its replies.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=REGISTRY,
)
SENDS = Counter(
    "nuanjing_sends",
    "Bot API sends by path (reply: an update's answer; broadcast: the outbox) and outcome.",
    ["via", "outcome"],
    registry=REGISTRY,
)
LEADER_CHANGES = Counter(
    "nuanjing_leader_changes",
    "This process taking, losing or releasing the lease (bot/leader.py).",
    ["change"],
    registry=REGISTRY,
)
WEBHOOK_REFUSED = Counter(
    "nuanjing_webhook_refused",
    "Webhook POSTs refused, by reason (secret, not_an_update, stopping, database).",
    ["reason"],
    registry=REGISTRY,
)

# Outcomes of a send, as the senders classify Telegram's answer.
OK = "ok"
RATE_LIMITED = "429"
SERVER_ERROR = "5xx"  # and connection errors: surely not delivered
FORBIDDEN = "403"
TIMEOUT = "timeout"
BAD_REQUEST = "400"
OTHER = "error"

_KINDS = tuple(Update.ALL_TYPES)


def update_kind(update: Update) -> str:
    """The kind of an update: the name of its one filled field (message, callback_query, ...)."""
    for kind in _KINDS:
        if getattr(update, kind, None) is not None:
            return kind
    return "other"


def sent(via: str, outcome: str) -> None:
    """Count one send's outcome."""
    SENDS.labels(via, outcome).inc()


class _DatabaseFigures(Collector):
    """The figures read from the database at scrape time, as metric families."""

    def __init__(self, figures: Figures | None) -> None:
        self.figures = figures

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "nuanjing_database_up", "1 if the database answered this scrape, else 0."
        )
        up.add_metric([], 0.0 if self.figures is None else 1.0)
        yield up
        figures = self.figures
        if figures is None:
            return
        inbox = GaugeMetricFamily(
            "nuanjing_inbox_depth", "Updates stored but not yet handled (the update inbox)."
        )
        inbox.add_metric([], figures.inbox_backlog)
        yield inbox
        replies = GaugeMetricFamily(
            "nuanjing_pending_replies", "Replies of handled updates not yet made."
        )
        replies.add_metric([], figures.pending_replies)
        yield replies
        outbox = GaugeMetricFamily(
            "nuanjing_outbox_depth",
            "Broadcast deliveries pending or being sent, by priority.",
            labels=["priority"],
        )
        for priority, count in figures.outbox_backlog.items():
            outbox.add_metric([priority], count)
        yield outbox
        greetings = CounterMetricFamily(
            "nuanjing_greetings_queued", "Greetings ever queued (deliveries of greeting runs)."
        )
        greetings.add_metric([], figures.greetings_queued)
        yield greetings
        answers = GaugeMetricFamily(
            "nuanjing_appeal_answers",
            "Officers' current answers to blood appeals, by answer.",
            labels=["answer"],
        )
        for answer, count in figures.appeal_answers.items():
            answers.add_metric([answer], count)
        yield answers


def render(figures: Figures | None) -> bytes:
    """The Prometheus text exposition: this process's metrics, then the database's figures."""
    scraped = CollectorRegistry(auto_describe=False)
    scraped.register(_DatabaseFigures(figures))
    return bytes(generate_latest(REGISTRY)) + bytes(generate_latest(scraped))


def value(name: str, **labels: Any) -> float:
    """A sample's current value in this process's registry (0 if never set); for tests."""
    found = REGISTRY.get_sample_value(name, {k: str(v) for k, v in labels.items()})
    return 0.0 if found is None else float(found)
