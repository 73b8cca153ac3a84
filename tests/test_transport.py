"""The bot's Bot API transport (bot/transport.py) against a local HTTP server: what PTB's
contract asks of a BaseRequest (status and body, form and multipart bodies, TimedOut,
NetworkError) and the proxy from the environment."""

from __future__ import annotations

import asyncio
import gc
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.request import HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from bot.broadcast import may_have_arrived
from bot.transport import AiohttpRequest, aiohttp_reads_the_proxy, bot_api_request

TOKEN = "123:transport"
ME = {"id": 123, "is_bot": True, "first_name": "暖警", "username": "nuanjing_bot"}


@dataclass
class Seen:
    """What the server received."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    never: asyncio.Event = field(default_factory=asyncio.Event)


async def _handle(request: web.Request, seen: Seen) -> web.Response:
    method = request.path.rsplit("/", 1)[-1]
    record: dict[str, Any] = {
        "method": method,
        "host": request.headers.get("Host"),
        "agent": request.headers.get("User-Agent"),
        "type": request.content_type,
    }
    if request.content_type == "multipart/form-data":
        fields: dict[str, Any] = {}
        async for part in await request.multipart():
            body = await part.read()  # type: ignore[union-attr]
            fields[part.name or ""] = (part.filename, body, part.headers.get("Content-Type"))  # type: ignore[union-attr]
        record["fields"] = fields
    else:
        record["fields"] = dict(await request.post())
    seen.requests.append(record)
    if method == "slow":
        await seen.never.wait()
    if method == "getMe":
        return web.json_response({"ok": True, "result": ME})
    if method == "moved":
        raise web.HTTPFound("/elsewhere")
    if method == "sendMessage" and record["fields"].get("text") == "":
        return web.json_response(
            {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"},
            status=400,
        )
    return web.json_response({"ok": True, "result": True})


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    """A local server answering every path; its base URL and what it saw."""
    seen = Seen()
    app = web.Application()

    async def handle(request: web.Request) -> web.Response:
        return await _handle(request, seen)

    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        seen.never.set()
        await runner.cleanup()


def _form(**values: str) -> RequestData:
    return RequestData([RequestParameter(name, value, None) for name, value in values.items()])


async def test_posts_a_form_and_returns_status_and_body(server: tuple[str, Seen]) -> None:
    base, seen = server
    request = AiohttpRequest(connection_pool_size=2)
    await request.initialize()
    try:
        status, body = await request.do_request(
            f"{base}/bot{TOKEN}/sendMessage", "POST", _form(chat_id="7", text="你好")
        )
    finally:
        await request.shutdown()
    assert status == 200
    assert body == b'{"ok": true, "result": true}'
    [made] = seen.requests
    assert made["type"] == "application/x-www-form-urlencoded"
    assert made["fields"] == {"chat_id": "7", "text": "你好"}
    assert made["agent"] == AiohttpRequest.USER_AGENT


async def test_ptb_bot_reads_answers_and_errors_through_it(server: tuple[str, Seen]) -> None:
    base, _seen = server
    bot = Bot(TOKEN, base_url=f"{base}/bot", request=AiohttpRequest())
    async with bot:
        assert bot.username == "nuanjing_bot"
        assert await bot.send_message(7, "x") is True
        with pytest.raises(BadRequest, match="text is empty"):
            await bot.send_message(7, "")


async def test_a_refused_call_leaves_no_reference_cycle(server: tuple[str, Seen]) -> None:
    """PTB's wrapper keeps its error in its own frame: the error must not outlive its catch."""
    base, _seen = server
    request = AiohttpRequest()
    await request.initialize()
    url = f"{base}/bot{TOKEN}/sendMessage"
    gc.collect()
    gc.disable()  # what refcounting alone frees, as between the collector's rare full passes
    try:
        for _ in range(3):
            with pytest.raises(BadRequest, match="text is empty"):
                await request.post(url, request_data=_form(chat_id="7", text=""))
        left = [o for o in gc.get_objects() if isinstance(o, BadRequest)]
    finally:
        gc.enable()
        await request.shutdown()
    assert left == []


async def test_uploads_files_as_multipart(server: tuple[str, Seen]) -> None:
    base, seen = server
    bot = Bot(TOKEN, base_url=f"{base}/bot", request=AiohttpRequest())
    async with bot:
        await bot.send_document(
            7, InputFile(b"PK\x03\x04xlsx", filename="名单.xlsx"), caption="名单"
        )
    [made] = [r for r in seen.requests if r["method"] == "sendDocument"]
    assert made["type"] == "multipart/form-data"
    fields = made["fields"]
    assert fields["chat_id"][1] == b"7"
    assert fields["caption"][1] == "名单".encode()
    [upload] = [value for value in fields.values() if value[0] == "名单.xlsx"]
    assert upload[1] == b"PK\x03\x04xlsx"


async def test_a_read_timeout_is_timed_out(server: tuple[str, Seen]) -> None:
    base, seen = server
    request = AiohttpRequest(read_timeout=0.05)
    await request.initialize()
    try:
        with pytest.raises(TimedOut):
            await request.do_request(f"{base}/bot{TOKEN}/slow", "POST", _form(a="1"))
    finally:
        await request.shutdown()
    assert [r["method"] for r in seen.requests] == ["slow"]


async def test_an_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port now: the connection is refused.
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError, match=r"aiohttp\.ClientConnectorError") as raised:
            await request.do_request(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe", "POST")
    finally:
        await request.shutdown()
    assert not isinstance(raised.value, TimedOut)


async def test_refuses_calls_before_initialize_and_after_shutdown() -> None:
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/getMe", "POST")
    await request.initialize()
    await request.shutdown()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request("http://127.0.0.1:9/getMe", "POST")


async def test_goes_through_the_proxy_of_the_environment_unless_no_proxy(
    server: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, seen = server
    # The local server plays the proxy: it is asked for the absolute URL of another host.
    monkeypatch.setenv("HTTP_PROXY", base)
    monkeypatch.setenv("NO_PROXY", "direct.invalid")
    request = AiohttpRequest()
    await request.initialize()
    try:
        status, _ = await request.do_request(
            f"http://api.telegram.invalid/bot{TOKEN}/getMe", "POST"
        )
        assert status == 200
        assert seen.requests[-1]["host"] == "api.telegram.invalid"
        with pytest.raises(NetworkError):
            # Not proxied: the name does not resolve.
            await request.do_request(f"http://direct.invalid/bot{TOKEN}/getMe", "POST")
    finally:
        await request.shutdown()
    assert len(seen.requests) == 1


async def test_a_full_pool_is_timed_out_as_sent_nothing(server: tuple[str, Seen]) -> None:
    base, seen = server
    request = AiohttpRequest(
        connection_pool_size=1, pool_timeout=0.05, connect_timeout=0.05, read_timeout=None
    )
    await request.initialize()
    try:
        # The only connection waits on the slow call, so the next call waits for the pool.
        busy = asyncio.create_task(
            request.do_request(f"{base}/bot{TOKEN}/slow", "POST", _form(a="1"))
        )
        while not seen.requests:
            await asyncio.sleep(0)
        with pytest.raises(TimedOut) as raised:
            await request.do_request(f"{base}/bot{TOKEN}/getMe", "POST")
        assert not may_have_arrived(raised.value)
        seen.never.set()
        assert (await busy)[0] == 200
    finally:
        await request.shutdown()
    assert [r["method"] for r in seen.requests] == ["slow"]


async def test_a_read_timeout_may_have_arrived(server: tuple[str, Seen]) -> None:
    base, _seen = server
    request = AiohttpRequest(read_timeout=0.05)
    await request.initialize()
    try:
        with pytest.raises(TimedOut) as raised:
            await request.do_request(f"{base}/bot{TOKEN}/slow", "POST", _form(a="1"))
    finally:
        await request.shutdown()
    assert may_have_arrived(raised.value)


async def test_a_redirect_is_an_answer_not_followed(server: tuple[str, Seen]) -> None:
    """As PTB's httpx client: the 302 comes back, the new place is not asked."""
    base, seen = server
    request = AiohttpRequest()
    await request.initialize()
    try:
        status, _ = await request.do_request(f"{base}/bot{TOKEN}/moved", "POST")
    finally:
        await request.shutdown()
    assert status == 302
    assert len(seen.requests) == 1


PROXIES = [
    ({}, True),
    ({"HTTP_PROXY": "http://127.0.0.1:3128", "HTTPS_PROXY": "http://[::1]:3128"}, True),
    ({"NO_PROXY": "localhost"}, True),
    ({"HTTPS_PROXY": "https://proxy.invalid:443"}, False),
    ({"ALL_PROXY": "http://127.0.0.1:3128"}, False),
    ({"HTTPS_PROXY": "socks5://127.0.0.1:1080"}, False),
]


@pytest.mark.parametrize(("environment", "aiohttp_can"), PROXIES)
def test_a_proxy_aiohttp_cannot_use_falls_back_to_ptbs_own_client(
    environment: dict[str, str], aiohttp_can: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    assert aiohttp_reads_the_proxy() is aiohttp_can
    if "socks" not in str(environment):  # httpx needs socksio for SOCKS, as it always did
        expected = AiohttpRequest if aiohttp_can else HTTPXRequest
        assert type(bot_api_request(4)) is expected
