"""Several instances on one PostgreSQL database (issue 15, item 2).

Storage: who received and handled an update, the work of a stopped instance adopted once, an
officer's turn taken by one transaction at a time, their older waiting updates found. Processes:
two `nuanjing run` in webhook mode behind a round-robin proxy; an officer's care report goes
step by step through both, exactly one instance leads, and when the leader is SIGKILLed the
other takes the lead within 15 s and goes on answering. SQLite keeps one instance.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import pytest
from aiohttp import web
from sqlmodel import select

from bot.cluster import INSTANCE_PREFIX, shared
from bot.sandbox import Sandbox, SandboxClient
from storage import inbox as inbox_storage
from storage import leases
from storage.db import Database
from storage.models import CareCase, InboxUpdate
from storage.types import utcnow
from tests.conftest import TEST_DATABASE_ENV, add_officer
from tests.dialogs import Dialog, Person, Press, Row, edits, says
from tests.test_graceful_stop import _environment, _free_port, _healthy, _nuanjing_run, _wait_for

WANG = Person(7_700_000_101, "王警官")
LI = Person(7_700_000_102, "李警官")
TAKEOVER_LIMIT = 15.0

on_postgres = pytest.mark.skipif(
    not os.environ.get(TEST_DATABASE_ENV, "").startswith("postgresql"),
    reason="several instances share PostgreSQL only",
)


def _store(database: Database, update_id: int, user_id: int, owner: str | None) -> None:
    with database.session() as session:
        incoming = inbox_storage.Incoming(update_id, user_id, f"sealed-{update_id}")
        inbox_storage.store(session, [incoming], utcnow(), owner)


# --- storage -------------------------------------------------------------------------------


def test_the_work_of_a_stopped_instance_is_adopted_once(database: Database) -> None:
    _store(database, 1, 501, "gone")
    _store(database, 2, 502, "gone")
    _store(database, 3, 503, "alive")
    _store(database, 4, 504, None)  # a single-instance run's row
    now = utcnow()
    with database.session() as session:
        # Update 2 was handled by "gone", which made none of its two replies.
        assert inbox_storage.claim(session, 2, now, "gone") is True
        inbox_storage.add_replies(session, 2, [("r1", None), ("r2", "tag:1")], now)
    with database.session() as session:
        assert inbox_storage.owners_with_work(session) == {"gone", "alive", None}
        waiting, replies = inbox_storage.adopt(session, {"gone", None}, "leader")
    assert waiting == [1, 4]
    assert [(reply.update_id, reply.payload, reply.on_sent) for reply in replies] == [
        (2, "r1", None),
        (2, "r2", "tag:1"),
    ]
    with database.session() as session:
        # Taken once: a second adopter finds nothing; the live instance's update stays its own.
        assert inbox_storage.adopt(session, {"gone", None}, "other") == ([], [])
        owners = dict(session.exec(select(InboxUpdate.update_id, InboxUpdate.owner)).all())
    assert owners == {1: "leader", 2: "leader", 3: "alive", 4: "leader"}
    with database.session() as session:
        # The adopter reads its waiting updates back as its own; the live one keeps its own.
        assert inbox_storage.waiting(session, "leader") == [(1, "sealed-1"), (4, "sealed-4")]
        assert inbox_storage.waiting(session, "alive") == [(3, "sealed-3")]
        assert inbox_storage.waiting(session, "leader", leave_out={1}, limit=5) == [(4, "sealed-4")]


def test_an_officers_older_waiting_updates_are_found_oldest_first(database: Database) -> None:
    for update_id in (10, 11, 12, 13):
        _store(database, update_id, 601, "a" if update_id % 2 else "b")
    _store(database, 14, 602, "a")
    with database.session() as session:
        assert inbox_storage.claim(session, 11, utcnow(), "a") is True
    with database.session() as session:
        assert inbox_storage.older_waiting(session, 601, 13) == [
            (10, "sealed-10"),
            (12, "sealed-12"),
        ]
        assert inbox_storage.older_waiting(session, 601, 10) == []
        assert inbox_storage.older_waiting(session, 602, 14) == []


def test_replies_still_to_make_elsewhere_hold_the_next_answer(database: Database) -> None:
    for update_id in (20, 21):
        _store(database, update_id, 801, "a")
    now = utcnow()
    with database.session() as session:
        assert inbox_storage.claim(session, 20, now, "a") is True
        (reply_id,) = inbox_storage.add_replies(session, 20, [("r", None)], now)
    with database.session() as session:
        assert inbox_storage.earlier_replies_elsewhere(session, 801, 21, "b")
        assert not inbox_storage.earlier_replies_elsewhere(session, 801, 21, "a")  # its own
        assert not inbox_storage.earlier_replies_elsewhere(session, 801, 20, "b")  # not earlier
        assert not inbox_storage.earlier_replies_elsewhere(session, 802, 21, "b")
        inbox_storage.forget_replies(session, [reply_id])
    with database.session() as session:
        assert not inbox_storage.earlier_replies_elsewhere(session, 801, 21, "b")


def test_live_instances_are_those_whose_lease_has_not_run_out(database: Database) -> None:
    now = utcnow()
    with database.session() as session:
        leases.acquire(session, INSTANCE_PREFIX + "a", "a", timedelta(seconds=10), now)
        leases.acquire(session, INSTANCE_PREFIX + "b", "b", timedelta(seconds=10), now)
        leases.acquire(session, "poller", "a", timedelta(seconds=10), now)
    with database.session() as session:
        assert leases.live_holders(session, INSTANCE_PREFIX, now) == {"a", "b"}
        later = now + timedelta(seconds=11)
        assert leases.live_holders(session, INSTANCE_PREFIX, later) == set()


@on_postgres
def test_one_transaction_at_a_time_holds_an_officers_turn(database: Database) -> None:
    with database.session() as first:
        assert inbox_storage.take_user_turn(first, 701)
        with database.session() as second:
            assert not inbox_storage.take_user_turn(second, 701)
            assert inbox_storage.take_user_turn(second, 702)  # another officer: no wait
    with database.session() as after:
        assert inbox_storage.take_user_turn(after, 701)  # the commit let it go


def test_sqlite_is_never_shared_and_polling_never(database: Database) -> None:
    assert shared(database, webhook=False) is False
    assert shared(database, webhook=True) is (database.dialect == "postgresql")


# --- processes -------------------------------------------------------------------------------


@asynccontextmanager
async def round_robin(ports: Sequence[int]) -> AsyncIterator[str]:
    """A tiny load balancer: each POST to the next instance, skipping one that is down."""
    turn = itertools.cycle(range(len(ports)))

    async def forward(request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() != "host"}
        for _ in range(len(ports)):
            port = ports[next(turn)]
            try:
                async with aiohttp.ClientSession() as http:
                    url = f"http://127.0.0.1:{port}{request.path}"
                    async with http.post(url, data=body, headers=headers) as answer:
                        return web.Response(status=answer.status, body=await answer.read())
            except aiohttp.ClientConnectionError:
                continue
        return web.Response(status=502)

    app = web.Application()
    app.router.add_post("/{tail:.*}", forward)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _health(port: int) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except httpx.HTTPError:
        return None
    return answer.json() if answer.status_code == 200 else None


async def _leaders(ports: Sequence[int]) -> list[int]:
    """The ports of the instances that say they lead."""
    found = []
    for port in ports:
        health = await _health(port)
        if health and health["leader"] and health["leader"]["this_instance"]:
            found.append(port)
    return found


def _report_rows(who: Person) -> list[Row]:
    return [
        (who, "/report", [says("请选择要申报的事项", buttons=["住院"])]),
        (who, Press("住院"), [edits("是为谁申报", buttons=["为本人"])]),
        (who, Press("为本人"), [says("请输入住院的医院名称")]),
        (who, "市中心医院", [says("请输入病区和床号")]),
        (who, "心内科3床", [says("请输入入院日期")]),
        (who, "今天", [says("还有需要说明的吗", buttons=["跳过"])]),
        (who, Press("跳过"), [says("请确认申报内容", "医院：市中心医院", buttons=["✅ 提交"])]),
        (who, Press("✅ 提交"), [edits("已提交，编号")]),
    ]


@on_postgres
async def test_two_instances_share_flows_one_leads_and_the_other_takes_over(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    add_officer(database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    add_officer(database, "100002", "李四", "+8613800000002", bound_to=LI.id)
    ports = [_free_port(), _free_port()]
    async with (
        round_robin(ports) as proxy,
        SandboxClient(sandbox.base_url, "123456:sandbox-test-token") as client,
    ):
        for person in (WANG, LI):
            await client.ensure_user(person.as_user())
        environments = []
        for port in ports:
            env = _environment(sandbox, database_url, tmp_path, port, webhook=True)
            env["NUANJING_WEBHOOK_URL"] = f"{proxy}/telegram/hook"
            environments.append(env)
        with (
            _nuanjing_run(environments[0], tmp_path / "a.log") as first,
            _nuanjing_run(environments[1], tmp_path / "b.log") as second,
        ):
            for port in ports:
                await _wait_for("an instance", lambda port=port: _healthy(port))

            async def one_leader() -> bool:
                return len(await _leaders(ports)) == 1

            await _wait_for("one instance to lead", one_leader)
            # Each step goes to the other instance than the last (the proxy takes turns).
            await Dialog(client).play(_report_rows(WANG))
            with database.session() as session:
                cases = session.exec(select(CareCase)).all()
            assert len(cases) == 1
            with database.session() as session:
                owners = set(session.exec(select(InboxUpdate.owner)).all())
            assert len(owners) == 2, "both instances handled some of the steps"

            heard = len(await client.history(WANG.as_user()))
            (leader_port,) = await _leaders(ports)
            leader, other_port = (
                (first, ports[1]) if leader_port == ports[0] else (second, ports[0])
            )
            loop = asyncio.get_running_loop()
            killed = loop.time()
            os.kill(leader.pid, signal.SIGKILL)

            async def took_over() -> bool:
                return await _leaders([other_port]) == [other_port]

            await _wait_for("the other instance to lead", took_over, TAKEOVER_LIMIT)
            assert loop.time() - killed <= TAKEOVER_LIMIT
            # The survivor answers every step now (the proxy skips the dead one).
            await Dialog(client).play(_report_rows(LI))
            assert len(await client.history(WANG.as_user())) == heard, "nothing twice"
    logs = (tmp_path / "a.log").read_text() + (tmp_path / "b.log").read_text()
    assert "leads: the sender and the scheduled jobs run here" in logs
    assert "Traceback" not in logs


@on_postgres
def test_adopting_gives_up_on_a_row_a_frozen_instance_still_locks(database: Database) -> None:
    from sqlalchemy.exc import OperationalError

    _store(database, 30, 901, "frozen")
    with database.session() as frozen:
        # The frozen instance took the update in a transaction that never ends (yet).
        assert inbox_storage.claim(frozen, 30, utcnow(), "frozen") is True
        with pytest.raises(OperationalError), database.session() as adopter:
            inbox_storage.adopt(adopter, {"frozen"}, "leader")
        frozen.rollback()
    with database.session() as adopter:  # once it is gone, the row is taken
        assert inbox_storage.adopt(adopter, {"frozen"}, "leader") == ([30], [])
