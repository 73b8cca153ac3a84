"""The bot's one HTTP listener: the webhook, /healthz and /metrics (a plain ASGI app).

Served by uvicorn inside the bot's own event loop (python-telegram-bot's "custom webhook"
pattern), so a webhook update goes to the same inbox and Application as a polled one:

- `POST <path of NUANJING_WEBHOOK_URL>` (webhook mode only): the X-Telegram-Bot-Api-Secret-Token
  header must equal NUANJING_WEBHOOK_SECRET (403 otherwise, nothing read or stored); the update
  is stored sealed in the inbox before 200 is answered, then handed to the Application. A body
  that is no update is answered 400; an update stored before (Telegram retries what it was not
  answered 2xx for) is answered 200 and not handled again. While the bot starts or stops, and
  when the database cannot store it, the answer is 503: Telegram keeps the update and retries.
- `GET /healthz`: JSON of the database, the migrations, the inbox and outbox backlogs, the lease
  holder and the age of the last handled update; 503 when the database does not answer.
- `GET /metrics`: Prometheus text (bot/metrics.py).

Nothing the listener logs carries a secret, a token or an update's content.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import uvicorn
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot

from bot import metrics
from bot.inbox import ALLOWED_UPDATES, Inbox, NotAnUpdate
from bot.leader import POLLER
from bot.settings import Settings
from storage import health
from storage.db import Database, DatabaseBusy, shipped_head
from storage.types import utcnow

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SECRET_HEADER = b"x-telegram-bot-api-secret-token"
# Telegram's updates are a few kilobytes; anything far larger is not one.
MAX_BODY = 1 << 20
# /healthz and /metrics wait this long for the database before answering without it.
DATABASE_PATIENCE = 5.0
# How long the listener lets open requests finish when it stops.
SHUTDOWN_GRACE = 2
# Seconds Telegram (or a balancer) is asked to wait before retrying a 503.
RETRY_AFTER = "5"


class ListenError(Exception):
    """The listener could not bind its address; the message is one sentence."""


@dataclass(frozen=True)
class Health:
    """What /healthz reports, read in a worker thread."""

    figures: health.Figures
    applied: set[str]


class Listener:
    """The ASGI app. `inbox` (webhook mode) receives the webhook's updates once `accepting`."""

    def __init__(
        self,
        database: Database,
        *,
        inbox: Inbox | None = None,
        webhook_path: str | None = None,
        secret: str | None = None,
        lease_name: str = POLLER,
    ) -> None:
        if webhook_path is not None and (inbox is None or not secret):
            raise ValueError("webhook mode needs the inbox and the secret")
        self.database = database
        self.inbox = inbox
        self.webhook_path = webhook_path
        self._secret = secret.encode() if secret else b""
        self.lease_name = lease_name
        # False until the bot has started, and again from the moment it is told to stop.
        self.accepting = False
        # The newest migration of the code this process runs (read once: it does not change).
        self.code_head = shipped_head()

    @property
    def mode(self) -> str:
        """webhook or polling."""
        return "polling" if self.webhook_path is None else "webhook"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route one request."""
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        if self.webhook_path is not None and path == self.webhook_path:
            if method != "POST":
                await _respond(send, 405, {"error": "POST only"}, headers=[(b"allow", b"POST")])
                return
            await self._webhook(scope, receive, send)
        elif path == "/healthz" and method in ("GET", "HEAD"):
            await self._healthz(send)
        elif path == "/metrics" and method in ("GET", "HEAD"):
            await self._metrics(send)
        else:
            await _respond(send, 404, {"error": "not found"})

    # --- the webhook ------------------------------------------------------------------------

    async def _webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        given = _header(scope, SECRET_HEADER)
        if given is None or not hmac.compare_digest(given, self._secret):
            # The value is never logged: a wrong one may be a near miss of the real one.
            log.warning(
                "webhook: refused a POST from %s with %s secret token",
                _client(scope),
                "no" if given is None else "a wrong",
            )
            metrics.WEBHOOK_REFUSED.labels("secret").inc()
            await _respond(send, 403, {"error": "forbidden"})
            return
        inbox = self.inbox
        assert inbox is not None
        if not self.accepting or inbox.closing or inbox.halted:
            metrics.WEBHOOK_REFUSED.labels("stopping").inc()
            await _respond(send, 503, {"error": "not taking updates now"}, retry=True)
            return
        body = await _read_body(receive, MAX_BODY)
        if body is None:
            metrics.WEBHOOK_REFUSED.labels("not_an_update").inc()
            await _respond(send, 413, {"error": "too large"})
            return
        try:
            new = await inbox.receive(json.loads(body))
        except (ValueError, NotAnUpdate) as exc:  # json's errors are ValueErrors too
            log.warning("webhook: a POST that is not an update (%s)", type(exc).__name__)
            metrics.WEBHOOK_REFUSED.labels("not_an_update").inc()
            await _respond(send, 400, {"error": "not an update"})
            return
        except (DatabaseBusy, SQLAlchemyError) as exc:
            # Not stored, so not acknowledged: Telegram sends it again.
            log.warning("webhook: could not store an update (%s)", type(exc).__name__)
            metrics.WEBHOOK_REFUSED.labels("database").inc()
            await _respond(send, 503, {"error": "database unavailable"}, retry=True)
            return
        if not new:
            log.debug("webhook: an update stored before came again")
        await _respond(send, 200, {"ok": True})

    # --- health and metrics ------------------------------------------------------------------

    def _read_health(self) -> Health:
        with self.database.session() as session:
            figures = health.figures(session, self.lease_name)
        return Health(figures, self.database.applied_revisions())

    async def _healthz(self, send: Send) -> None:
        try:
            read = await asyncio.wait_for(
                asyncio.to_thread(self._read_health), timeout=DATABASE_PATIENCE
            )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            # The error's type only: a driver's message may name hosts and users.
            log.warning("healthz: the database did not answer (%s)", type(exc).__name__)
            await _respond(
                send,
                503,
                {
                    "status": "unavailable",
                    "database": {"reachable": False, "error": type(exc).__name__},
                    "mode": self.mode,
                },
            )
            return
        await _respond(send, 200, self.health_json(read))

    def health_json(self, read: Health) -> dict[str, Any]:
        """The JSON body of a 200 /healthz."""
        figures = read.figures
        now = utcnow()
        leader: dict[str, Any] | None = None
        if figures.leader is not None:
            expires = figures.leader_expires_at
            leader = {
                "holder": figures.leader,
                "this_instance": _is_this_process(figures.leader),
                "expires_in_seconds": _seconds(expires, now) if expires else None,
            }
        last = figures.last_handled_at
        inbox = self.inbox
        return {
            "status": "ok",
            "mode": self.mode,
            "accepting_updates": self.accepting if self.webhook_path is not None else None,
            "database": {"reachable": True, "dialect": self.database.dialect},
            "migrations": {
                "current": self.code_head is not None and read.applied == {self.code_head},
                "database": sorted(read.applied),
                "code": self.code_head,
            },
            "inbox_backlog": figures.inbox_backlog,
            "pending_replies": figures.pending_replies,
            "outbox_backlog": figures.outbox_backlog,
            "leader": leader,
            # Several instances on one database (bot/cluster.py): this one's name.
            "instance": inbox.owner if inbox is not None else None,
            "last_update_handled_seconds_ago": None if last is None else _seconds(now, last),
            "updates_in_progress": inbox.in_progress if inbox is not None else None,
        }

    def _read_figures(self) -> health.Figures:
        with self.database.session() as session:
            return health.figures(session, self.lease_name)

    async def _metrics(self, send: Send) -> None:
        figures: health.Figures | None = None
        try:
            figures = await asyncio.wait_for(
                asyncio.to_thread(self._read_figures), timeout=DATABASE_PATIENCE
            )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("metrics: the database did not answer (%s)", type(exc).__name__)
        body = metrics.render(figures)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", metrics.CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The request's body, or None once it grows past `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(
    send: Send,
    status: int,
    body: dict[str, Any],
    *,
    retry: bool = False,
    headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    data = json.dumps(body, ensure_ascii=False).encode()
    extra = list(headers or [])
    if retry:
        extra.append((b"retry-after", RETRY_AFTER.encode()))
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(data)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _seconds(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds(), 3)


def _is_this_process(holder: str) -> bool:
    """The lease holder is "host:pid:random.pidns" (bot/leader.py)."""
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    return host == (socket.gethostname() or "localhost")[:96] and pid == str(os.getpid())


# --- serving ---------------------------------------------------------------------------------


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free one); ListenError if it cannot be."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        raise ListenError(
            f"cannot listen on {host}:{port} ({exc.strerror or type(exc).__name__}); "
            "set NUANJING_HTTP_LISTEN to a free HOST:PORT, or off"
        ) from None


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: the bot's runner owns SIGINT and SIGTERM."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Leave the process's signals alone."""
        yield


@contextlib.asynccontextmanager
async def serving(listener: Listener, sock: socket.socket) -> AsyncIterator[tuple[str, int]]:
    """Serve `listener` on the bound `sock` in this event loop for the body; (host, port)."""
    address = sock.getsockname()
    config = uvicorn.Config(
        listener,
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
    )
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]), name="http-listener")
    while not server.started:
        if task.done():
            task.result()  # its error, if it failed
            raise ListenError("the HTTP listener stopped as it started")
        await asyncio.sleep(0.01)
    where = (str(address[0]), int(address[1]))
    served = ["/healthz", "/metrics"] + (["the webhook"] if listener.webhook_path else [])
    log.info("listening on %s:%d (%s)", where[0], where[1], ", ".join(served))
    try:
        yield where
    finally:
        server.should_exit = True
        with contextlib.suppress(Exception):
            await task


# --- Telegram's side of webhook mode ------------------------------------------------------


async def set_webhook(bot: Bot, settings: Settings) -> None:
    """Tell Telegram where to POST updates: the URL, the secret, the kinds and connections."""
    assert settings.webhook_url is not None and settings.webhook_secret is not None
    await bot.set_webhook(
        url=settings.webhook_url,
        secret_token=settings.webhook_secret.get_secret_value(),
        allowed_updates=list(ALLOWED_UPDATES),
        max_connections=settings.webhook_max_connections,
    )
    log.info(
        "webhook set (max %d connections); Telegram now POSTs updates to it",
        settings.webhook_max_connections,
    )


async def drop_webhook_if_set(bot: Bot) -> bool:
    """Before polling: Telegram refuses getUpdates while a webhook is set. True if one was."""
    info = await bot.get_webhook_info()
    if not info.url:
        return False
    # Updates Telegram holds for the webhook stay, and come by getUpdates instead.
    await bot.delete_webhook(drop_pending_updates=False)
    log.info("a webhook was set: deleted it to poll (its pending updates come by polling)")
    return True
