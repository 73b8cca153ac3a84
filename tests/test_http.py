"""The HTTP listener (issue 15, item 1): the webhook's refusals, /healthz and /metrics.

A POST without the right secret is refused 403 and nothing is stored (nor is the secret
logged); a body that is no update is refused 400; /healthz answers JSON (200, or 503 when the
database does not answer); /metrics is Prometheus text with the bot's metric families.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import col, select

from bot import metrics
from bot.http import Listener, bind, serving
from bot.leader import leadership, new_holder
from storage import appeals, broadcasts, health, leases
from storage import inbox as inbox_storage
from storage.db import Database, shipped_head
from storage.models import AppealAnswer, AppealReply, BroadcastKind, Delivery, Priority
from storage.types import utcnow
from tests.conftest import add_officer
from tests.dialogs import Person, Press, edits, says
from tests.test_webhook import (
    SECRET,
    WANG,
    WebhookBot,
    hooked,  # noqa: F401 (the fixture)
    message_update,
    stored_updates,
)

LI = Person(7_500_000_003, "李警官")


async def _post(
    bot: WebhookBot, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        if isinstance(body, bytes):
            return await http.post(bot.hook_url, content=body, headers=headers or {})
        return await http.post(bot.hook_url, json=body, headers=headers or {})


async def _get(base: str, path: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.get(base + path)


# --- the webhook's refusals ----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Telegram-Bot-Api-Secret-Token": "wrong_secret"},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET[:-1]},
        {"X-Telegram-Bot-Api-Secret-Token": SECRET + "x"},
        {"X-Telegram-Bot-Api-Secret-Token": ""},
    ],
)
async def test_a_post_without_the_secret_is_refused_and_nothing_is_stored(
    hooked: WebhookBot,  # noqa: F811
    headers: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    add_officer(hooked.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    await hooked.client.ensure_user(WANG.as_user())
    refused = metrics.value("nuanjing_webhook_refused_total", reason="secret")
    with caplog.at_level(logging.DEBUG):
        answer = await _post(hooked, message_update(881_001, WANG, "/me"), headers)
    assert answer.status_code == 403
    await hooked.settle()
    assert stored_updates(hooked.database) == 0
    assert await hooked.client.history(WANG.as_user()) == []
    assert metrics.value("nuanjing_webhook_refused_total", reason="secret") == refused + 1
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "secret token" in logged, "the refusal is logged"
    given = headers.get("X-Telegram-Bot-Api-Secret-Token")
    if given:
        assert given not in logged, "without the value given"
    assert SECRET not in logged


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b'"a string"',
        b"{}",
        b'{"update_id": "seven", "message": {}}',
        b'{"update_id": 5}',
        b'{"update_id": 5, "no_such_kind": {"x": 1}}',
        b'{"update_id": -1, "message": {"message_id": 1}}',
        b'{"update_id": 6, "message": {"text": "no chat, no date"}}',
    ],
)
async def test_a_body_that_is_no_update_is_refused_400(
    hooked: WebhookBot,  # noqa: F811
    body: bytes,
) -> None:
    answer = await _post(
        hooked,
        body,
        {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"},
    )
    assert answer.status_code == 400, answer.text
    assert stored_updates(hooked.database) == 0


async def test_other_paths_and_methods(hooked: WebhookBot) -> None:  # noqa: F811
    async with httpx.AsyncClient() as http:
        assert (await http.get(hooked.hook_url)).status_code == 405
        assert (await http.post(hooked.base + "/telegram/other", json={})).status_code == 404
        assert (await http.get(hooked.base + "/")).status_code == 404
        assert (await http.post(hooked.base + "/healthz")).status_code == 404


async def test_a_stopping_listener_answers_503_so_that_telegram_retries(
    hooked: WebhookBot,  # noqa: F811
) -> None:
    hooked.listener.accepting = False
    answer = await _post(
        hooked, message_update(882_001, WANG, "/me"), {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    )
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    assert stored_updates(hooked.database) == 0
    hooked.listener.accepting = True


# --- /healthz --------------------------------------------------------------------------------


def test_the_figures_health_and_metrics_read(database: Database) -> None:
    """storage/health.py against rows as they stand (no bot running to change them)."""
    people = [
        add_officer(database, f"10000{n}", f"警官{n}", f"+861380000000{n}", bound_to=7_600_000 + n)
        for n in range(3)
    ]
    ids = [officer.id for officer in people]
    assert all(isinstance(i, int) for i in ids)
    recipients = [broadcasts.Recipient(i, 7_600_000 + n) for n, i in enumerate(ids) if i]
    with database.session() as session:
        empty = health.figures(session, "poller")
    assert empty.outbox_backlog == {"urgent": 0, "normal": 0, "low": 0}
    assert (empty.inbox_backlog, empty.pending_replies, empty.greetings_queued) == (0, 0, 0)
    assert (empty.last_handled_at, empty.leader, empty.appeal_answers) == (None, None, {})
    now = utcnow()
    with database.session() as session:
        greeting = broadcasts.create(
            session,
            kind=BroadcastKind.GREETING,
            priority=Priority.LOW,
            text="生日快乐",
            recipients=recipients,
            created_by="greetings",
        )
        appeal = appeals.create(
            session,
            blood_group="O",
            rh_negative=False,
            component="全血",
            hospital="市中心医院",
            address="中山路1号",
            contact="张医生",
            units_needed=2,
            deadline=now + timedelta(hours=6),
            created_by="t",
            tally_chat_id=None,
            recipients=recipients[:2],
            text="紧急用血",
            buttons_for=lambda _appeal_id: "{}",
        )
        assert appeal.id is not None
        for officer_id, answer in zip(
            ids[:2], (AppealAnswer.COMING, AppealAnswer.CANNOT), strict=True
        ):
            assert officer_id is not None
            session.add(AppealReply(appeal_id=appeal.id, officer_id=officer_id, answer=answer))
        first = session.exec(
            select(Delivery).where(Delivery.broadcast_id == greeting.id).order_by(col(Delivery.id))
        ).first()
        assert first is not None and first.id is not None
        broadcasts.mark_sent(session, first.id, 42)
        incoming = [inbox_storage.Incoming(n, 7_600_000, "sealed") for n in (501, 502)]
        inbox_storage.store(session, incoming, now)
        inbox_storage.mark_handled(session, 501, now)
        inbox_storage.add_replies(session, 501, [("sealed call", None)], now)
        assert leases.acquire(session, "poller", "host:1:ab.1", _ttl(), now)
    with database.session() as session:
        figures = health.figures(session, "poller")
    assert figures.outbox_backlog == {"urgent": 2, "normal": 0, "low": 2}
    assert figures.inbox_backlog == 1
    assert figures.pending_replies == 1
    assert figures.last_handled_at == now
    assert figures.leader == "host:1:ab.1"
    assert figures.leader_expires_at == now + _ttl()
    assert figures.greetings_queued == 3
    assert figures.appeal_answers == {"coming": 1, "cannot": 1}


async def test_healthz_reports_the_database_backlogs_leader_and_last_update(
    hooked: WebhookBot,  # noqa: F811
) -> None:
    add_officer(hooked.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    await hooked.client.ensure_user(WANG.as_user())
    # Before any update: no last update, nobody leads.
    before = (await _get(hooked.base, "/healthz")).json()
    assert before["last_update_handled_seconds_ago"] is None
    assert before["leader"] is None
    await hooked.dialog.play([(WANG, "/me", [says("王建国")])])
    await hooked.settle()
    holder = new_holder()
    with hooked.database.session() as session:
        assert leases.acquire(session, "poller", holder, _ttl(), utcnow())
    answer = await _get(hooked.base, "/healthz")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    report = answer.json()
    assert report["status"] == "ok"
    assert report["mode"] == "webhook"
    assert report["accepting_updates"] is True
    assert report["database"] == {"reachable": True, "dialect": hooked.database.dialect}
    assert report["migrations"]["current"] is True
    assert report["migrations"]["code"] == shipped_head()
    assert report["migrations"]["database"] == [shipped_head()]
    assert report["inbox_backlog"] == 0
    assert report["pending_replies"] == 0
    assert report["outbox_backlog"] == {"urgent": 0, "normal": 0, "low": 0}
    assert report["leader"]["holder"] == holder
    assert report["leader"]["this_instance"] is True
    assert 0 < report["leader"]["expires_in_seconds"] <= 10
    assert 0 <= report["last_update_handled_seconds_ago"] < 60
    assert report["updates_in_progress"] == 0
    with hooked.database.session() as session:
        leases.release(session, "poller", holder)
        assert leases.acquire(session, "poller", "elsewhere:1:x", _ttl(), utcnow())
    assert (await _get(hooked.base, "/healthz")).json()["leader"]["this_instance"] is False


def _ttl() -> timedelta:
    return timedelta(seconds=10)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def _serving(listener: Listener) -> AsyncIterator[str]:
    async with serving(listener, bind("127.0.0.1", 0)) as (host, port):
        yield f"http://{host}:{port}"


async def test_healthz_is_503_when_the_database_does_not_answer() -> None:
    unreachable = Database(f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/nuanjing")
    try:
        async with _serving(Listener(unreachable)) as base:
            answer = await _get(base, "/healthz")
            scraped = await _get(base, "/metrics")
    finally:
        unreachable.dispose()
    assert answer.status_code == 503
    body = answer.json()
    assert body["status"] == "unavailable"
    assert body["database"]["reachable"] is False
    assert body["database"]["error"] == "OperationalError"
    assert body["mode"] == "polling"
    # /metrics still answers, saying the database is down.
    assert scraped.status_code == 200
    families = {family.name: family for family in text_string_to_metric_families(scraped.text)}
    assert families["nuanjing_database_up"].samples[0].value == 0
    assert "nuanjing_inbox_depth" not in families


async def test_healthz_is_503_when_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    """A SQLite database whose directory was removed: a new connection cannot open it."""
    folder = tmp_path / "gone"
    folder.mkdir()
    database = Database(f"sqlite:///{folder / 'nuanjing.db'}")
    database.dispose()
    (folder / "nuanjing.db").unlink()
    folder.rmdir()
    try:
        async with _serving(Listener(database)) as base:
            answer = await _get(base, "/healthz")
    finally:
        database.dispose()
    assert answer.status_code == 503
    assert answer.json()["database"]["reachable"] is False


# --- /metrics --------------------------------------------------------------------------------


async def test_metrics_after_some_traffic(hooked: WebhookBot) -> None:  # noqa: F811
    add_officer(hooked.database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    add_officer(hooked.database, "100002", "李四", "+8613800000002", bound_to=LI.id)
    await hooked.client.ensure_user(WANG.as_user())
    await hooked.client.ensure_user(LI.as_user())
    handled = metrics.value("nuanjing_updates_handled_total", kind="message")
    pressed = metrics.value("nuanjing_updates_handled_total", kind="callback_query")
    ok = metrics.value("nuanjing_sends_total", via="reply", outcome="ok")
    server_errors = metrics.value("nuanjing_sends_total", via="reply", outcome="5xx")
    forbidden = metrics.value("nuanjing_sends_total", via="reply", outcome="403")
    took = metrics.value("nuanjing_leader_changes_total", change="took")
    # 王's reply fails once with a 502 (retried), 李 blocked the bot (403).
    await hooked.client.configure(scripted_faults={f"sendMessage:{WANG.id}": [502]})
    await hooked.dialog.play(
        [
            (WANG, "/me", [says("王建国")]),
            (WANG, Press("🔕 不再接收问候"), [edits("节日生日问候：不接收")]),
        ]
    )
    await hooked.client.configure(blocked_users=[LI.id])
    await hooked.client.send_text(LI.as_user(), "/me")
    await hooked.settle()
    async with leadership(hooked.database, name="metrics-test"):
        pass
    answer = await _get(hooked.base, "/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    families = {family.name: family for family in text_string_to_metric_families(answer.text)}
    for name in (
        "nuanjing_updates_handled",
        "nuanjing_handler_seconds",
        "nuanjing_inbox_depth",
        "nuanjing_outbox_depth",
        "nuanjing_pending_replies",
        "nuanjing_sends",
        "nuanjing_greetings_queued",
        "nuanjing_appeal_answers",
        "nuanjing_leader_changes",
        "nuanjing_webhook_refused",
        "nuanjing_database_up",
    ):
        assert name in families, f"{name} missing from /metrics"
    assert metrics.value("nuanjing_updates_handled_total", kind="message") == handled + 2
    assert metrics.value("nuanjing_updates_handled_total", kind="callback_query") == pressed + 1
    assert metrics.value("nuanjing_sends_total", via="reply", outcome="5xx") == server_errors + 1
    assert metrics.value("nuanjing_sends_total", via="reply", outcome="403") == forbidden + 1
    assert metrics.value("nuanjing_sends_total", via="reply", outcome="ok") >= ok + 3
    assert metrics.value("nuanjing_leader_changes_total", change="took") == took + 1
    histogram = {
        sample.name: sample.value for sample in families["nuanjing_handler_seconds"].samples
    }
    assert histogram["nuanjing_handler_seconds_count"] >= 3
    depths = {
        sample.labels.get("priority"): sample.value
        for sample in families["nuanjing_outbox_depth"].samples
    }
    assert set(depths) == {"urgent", "normal", "low"}
    assert families["nuanjing_inbox_depth"].samples[0].value == 0
    assert families["nuanjing_database_up"].samples[0].value == 1
    assert families["nuanjing_greetings_queued"].samples[0].value == 0
