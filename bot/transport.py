"""The bot's Bot API transport: PTB's `BaseRequest` over aiohttp.

PTB's default transport (HTTPXRequest) spends about 1.6 ms of CPU on a call here, aiohttp about
0.3 ms (measured with a local server, 8 calls in flight). Every reply is such a call, so the
transport was the largest single cost of a button press. The contract is PTB's: HTTPXRequest's
default timeouts, `TimedOut` for any timeout, `NetworkError` for any other failure of the
connection, and the status and body of every answer (PTB reads Telegram's errors from it).

Where aiohttp's timeouts differ from httpx's: waiting for a pooled connection and opening one
share one limit (the longer of PTB's pool and connect timeouts), and as aiohttp cannot bound
the writing of a request, a POST as a whole is bounded by the sum of the four. A proxy aiohttp
cannot use (an https:// or SOCKS proxy, ALL_PROXY) makes `bot_api_request` fall back to PTB's
HTTPXRequest, which reads the environment as the bot always did.
"""

from __future__ import annotations

import traceback
from typing import Any
from urllib.request import getproxies

import aiohttp
from aiohttp.helpers import BasicAuth, get_env_proxy_for_url
from telegram.error import NetworkError, TelegramError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from yarl import URL

# HTTPXRequest's defaults.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0

# The causes of a TimedOut raised before the request left (waiting for a pooled connection or
# opening one): Telegram cannot have seen it, so it may be sent again without a duplicate.
NOTHING_SENT: tuple[type[BaseException], ...] = (aiohttp.ConnectionTimeoutError,)


def _seconds(value: Any, default: float | None) -> float | None:
    """A timeout as given, or the default where the caller left PTB's DEFAULT_NONE."""
    return default if value is BaseRequest.DEFAULT_NONE else value


def _body(request_data: RequestData | None) -> aiohttp.FormData | dict[str, str] | None:
    """The request's body: form fields, or multipart when it uploads files."""
    if request_data is None:
        return None
    fields = request_data.json_parameters
    if not request_data.contains_files:
        return fields
    form = aiohttp.FormData(quote_fields=False)
    for name, value in fields.items():
        form.add_field(name, value)
    for name, (filename, content, mime) in request_data.multipart_data.items():
        form.add_field(name, content, filename=filename, content_type=mime)
    return form


def aiohttp_reads_the_proxy() -> bool:
    """False if the environment names a proxy aiohttp cannot use: one for another scheme than
    http and https (ALL_PROXY, SOCKS), or one that is not itself plain http."""
    for scheme, address in getproxies().items():
        if scheme == "no":
            continue
        if scheme not in ("http", "https") or URL(address).scheme != "http":
            return False
    return True


def bot_api_request(connection_pool_size: int = 1) -> BaseRequest:
    """The Bot API's transport: AiohttpRequest, or PTB's own where the proxy needs it."""
    if aiohttp_reads_the_proxy():
        return AiohttpRequest(connection_pool_size)
    return HTTPXRequest(connection_pool_size=connection_pool_size)


class AiohttpRequest(BaseRequest):
    """Bot API calls over one aiohttp session with a bounded pool of kept-alive connections."""

    def __init__(
        self,
        connection_pool_size: int = 1,
        *,
        read_timeout: float | None = READ_TIMEOUT,
        write_timeout: float | None = WRITE_TIMEOUT,
        connect_timeout: float | None = CONNECT_TIMEOUT,
        pool_timeout: float | None = POOL_TIMEOUT,
        media_write_timeout: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._pool_size = connection_pool_size
        self._read_timeout = read_timeout
        self._write_timeout = write_timeout
        self._connect_timeout = connect_timeout
        self._pool_timeout = pool_timeout
        self._media_write_timeout = media_write_timeout
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[tuple[str, str | None], tuple[URL | None, BasicAuth | None]] = {}

    @property
    def read_timeout(self) -> float | None:
        """The read timeout of calls that do not name their own."""
        return self._read_timeout

    async def initialize(self) -> None:
        """Open the session (in the running event loop, as aiohttp requires)."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._pool_size),
                headers={"User-Agent": self.USER_AGENT},
                # The proxy is looked up once per host instead (_proxy): aiohttp's trust_env
                # reads the environment again on every call, 0.5 ms of CPU each.
                trust_env=False,
            )
            self._proxies = {}

    # PTB marks post final (a transport implements do_request): this one calls it unchanged.
    async def post(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[misc]
        """PTB's post; a refused call's finished frames are cleared as its error leaves."""
        try:
            return await super().post(*args, **kwargs)
        except TelegramError as error:
            # PTB's _request_wrapper holds the error it raises in a local of its own frame,
            # which the error's traceback holds in turn: a reference cycle per refused call
            # ("message is not modified", an old query), kept with its frames until the cyclic
            # collector's next full pass (185 of them waiting after 600 double presses).
            traceback.clear_frames(error.__traceback__)
            raise

    def _proxy(self, url: str) -> tuple[URL | None, BasicAuth | None]:
        """The proxy for this URL's host from HTTP(S)_PROXY and NO_PROXY, as httpx reads them."""
        target = URL(url)
        key = (target.scheme, target.host)
        if key not in self._proxies:
            try:
                self._proxies[key] = get_env_proxy_for_url(target)
            except LookupError:
                self._proxies[key] = (None, None)
        return self._proxies[key]

    async def shutdown(self) -> None:
        """Close the session and its connections."""
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Make one call; its HTTP status and body."""
        session = self._session
        if session is None or session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        uploads = request_data is not None and request_data.contains_files
        read = _seconds(read_timeout, self._read_timeout)
        write = _seconds(
            write_timeout, self._media_write_timeout if uploads else self._write_timeout
        )
        connect = _seconds(connect_timeout, self._connect_timeout)
        pool = _seconds(pool_timeout, self._pool_timeout)
        # aiohttp has no timeout on writing the request: a POST as a whole is bounded by the
        # sum of its parts instead, as long as none of them is unbounded. A GET (a file's
        # download) writes nothing, and its body may take longer than any one read.
        parts = (read, write, connect, pool)
        bounded = method == "POST" and None not in parts
        total = sum(p for p in parts if p is not None) if bounded else None
        timeout = aiohttp.ClientTimeout(
            total=total,
            # aiohttp's `connect` covers both waiting for a pooled connection and opening one: it
            # gets the longer of PTB's two, so neither is cut short.
            connect=None if pool is None or connect is None else max(pool, connect),
            sock_connect=connect,
            sock_read=read,
        )
        proxy, proxy_auth = self._proxy(url)
        try:
            async with session.request(
                method,
                url,
                data=_body(request_data),
                timeout=timeout,
                proxy=proxy,
                proxy_auth=proxy_auth,
                # As PTB's httpx client: a redirect is an answer, not followed.
                allow_redirects=False,
            ) as response:
                return response.status, await response.read()
        except TimeoutError as error:
            # aiohttp's own timeouts (ServerTimeoutError and kin) are TimeoutErrors too.
            raise TimedOut from error
        except aiohttp.ClientError as error:
            raise NetworkError(f"aiohttp.{error.__class__.__name__}: {error}") from error
