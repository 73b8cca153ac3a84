"""Webhook mode of the sandbox, as Telegram documents it.

`setWebhook` (url, secret_token, allowed_updates, max_connections, drop_pending_updates) makes
the sandbox POST each update to the URL as JSON, with the secret in the
X-Telegram-Bot-Api-Secret-Token header; `getUpdates` is refused (409) while a webhook is set;
`deleteWebhook` goes back to polling; `getWebhookInfo` tells the URL, the pending updates and
the last error.

Delivery: each chat's updates in order (the next waits until the previous was answered 2xx),
different chats side by side up to max_connections POSTs at once; an update answered otherwise
(or not at all) stays pending and is tried again after a backoff that doubles from
RETRY_FIRST_SECONDS to RETRY_CAP_SECONDS, and its chat waits meanwhile.

Departures from Telegram, for local tests: plain http and any port are accepted for loopback
hosts (Telegram takes https on ports 443, 80, 88 and 8443 only, which is checked for any other
host), and the backoff is seconds rather than minutes.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import re
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp

from .errors import JSON, _bad

if TYPE_CHECKING:
    from .state import SandboxState, _BotState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
POST_TIMEOUT_SECONDS = 30.0
RETRY_FIRST_SECONDS = 0.1
RETRY_CAP_SECONDS = 5.0
# At most this long between looks at the pending updates, whatever wakes the deliverer.
IDLE_LOOK_SECONDS = 1.0
TELEGRAM_PORTS = frozenset({443, 80, 88, 8443})
_SECRET = re.compile(r"[A-Za-z0-9_-]*")
_GETUPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)


@dataclass
class Webhook:
    """A bot's webhook: what setWebhook set, and how delivery goes."""

    url: str
    secret_token: str | None
    max_connections: int
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0
    failed: int = 0
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    def info(self, bot: _BotState) -> JSON:
        """getWebhookInfo's answer."""
        data: JSON = {
            "url": self.url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
            "max_connections": self.max_connections,
        }
        if bot.allowed_updates:
            data["allowed_updates"] = list(bot.allowed_updates)
        if self.last_error_date is not None:
            data["last_error_date"] = self.last_error_date
            data["last_error_message"] = self.last_error_message
        return data

    def stop(self) -> None:
        """End delivery (the webhook was replaced or deleted, or the sandbox stops)."""
        self.wake.set()
        if self.task is not None:
            self.task.cancel()


def no_webhook_info(bot: _BotState) -> JSON:
    """getWebhookInfo's answer while no webhook is set."""
    return {"url": "", "has_custom_certificate": False, "pending_update_count": len(bot.updates)}


def conflict_if_set(bot: _BotState) -> str | None:
    """getUpdates' 409 description while a webhook is set, else None."""
    return _GETUPDATES_CONFLICT if bot.webhook is not None else None


def checked(url: str, secret_token: str | None, max_connections: int | None) -> Webhook:
    """setWebhook's parameters checked as Telegram checks them; a Webhook not yet started."""
    parts = urlsplit(url)
    loopback = _loopback(parts.hostname or "")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise _bad("bad webhook: An HTTPS URL must be provided for webhook")
    if not parts.hostname:
        raise _bad("bad webhook: Failed to resolve host: Name or service not known")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _bad("bad webhook: Wrong port number specified in the URL") from None
    if not loopback and port not in TELEGRAM_PORTS:
        raise _bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
    if secret_token is not None:
        if len(secret_token) > 256:
            raise _bad("secret token is too long")
        if not _SECRET.fullmatch(secret_token):
            raise _bad("secret token contains unallowed characters")
    connections = 40 if max_connections is None else max_connections
    if not 1 <= connections <= 100:
        raise _bad("bad webhook: max_connections must be between 1 and 100")
    return Webhook(url, secret_token or None, connections)


def _loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def chat_key(update: JSON) -> str:
    """Updates with the same key are delivered in order: the chat's, else the sender's."""
    for kind, value in update.items():
        if kind == "update_id" or not isinstance(value, dict):
            continue
        chat = value.get("chat")
        if chat is None and isinstance(value.get("message"), dict):
            chat = value["message"].get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return f"chat:{chat['id']}"
        sender = value.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return f"user:{sender['id']}"
    return f"update:{update.get('update_id')}"


def start(state: SandboxState, bot: _BotState, hook: Webhook) -> None:
    """Set `hook` as the bot's webhook and start delivering to it."""
    previous = bot.webhook
    if previous is not None:
        previous.stop()
    bot.webhook = hook
    hook.task = asyncio.get_running_loop().create_task(
        _deliver(state, bot, hook), name=f"sandbox-webhook-{bot.bot_id}"
    )


def delete(bot: _BotState) -> None:
    """Remove the bot's webhook (getUpdates works again)."""
    hook, bot.webhook = bot.webhook, None
    if hook is not None:
        hook.stop()


async def _deliver(state: SandboxState, bot: _BotState, hook: Webhook) -> None:
    """POST the pending updates until the webhook is replaced or deleted, or the sandbox stops."""
    loop = asyncio.get_running_loop()
    in_flight: dict[str, asyncio.Task[str | None]] = {}
    sending: dict[str, int] = {}  # chat key: the update id being POSTed
    failures: dict[str, int] = {}
    retry_at: dict[str, float] = {}
    timeout = aiohttp.ClientTimeout(total=POST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        try:
            while bot.webhook is hook and not state._closing.is_set():
                hook.wake.clear()
                now = loop.time()
                for key, task in list(in_flight.items()):
                    if not task.done():
                        continue
                    del in_flight[key]
                    update_id = sending.pop(key)
                    error = task.result()
                    if error is None:
                        hook.delivered += 1
                        failures.pop(key, None)
                        retry_at.pop(key, None)
                        bot.updates = [u for u in bot.updates if u["update_id"] != update_id]
                    else:
                        hook.failed += 1
                        hook.last_error_date = int(time.time())
                        hook.last_error_message = error
                        failures[key] = failures.get(key, 0) + 1
                        delay = RETRY_FIRST_SECONDS * 2 ** (failures[key] - 1)
                        retry_at[key] = now + min(delay, RETRY_CAP_SECONDS)
                    bot.activity.touch()
                seen: set[str] = set()
                for update in list(bot.updates):
                    if len(in_flight) >= hook.max_connections:
                        break
                    key = chat_key(update)
                    if key in seen:
                        continue  # a later update of a chat waits for the earlier one
                    seen.add(key)
                    if key in in_flight or retry_at.get(key, 0.0) > now:
                        continue
                    task = loop.create_task(_post(session, hook, update))
                    task.add_done_callback(lambda _task: hook.wake.set())
                    in_flight[key] = task
                    sending[key] = update["update_id"]
                waits = [at - now for at in retry_at.values() if at > now]
                pause = min([IDLE_LOOK_SECONDS, *waits])
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(hook.wake.wait(), max(pause, 0.0))
        finally:
            for task in in_flight.values():
                task.cancel()
            if in_flight:
                await asyncio.gather(*in_flight.values(), return_exceptions=True)


async def _post(session: aiohttp.ClientSession, hook: Webhook, update: JSON) -> str | None:
    """POST one update; None if answered 2xx, else the error as getWebhookInfo tells it."""
    headers = {"Content-Type": "application/json"}
    if hook.secret_token:
        headers[SECRET_HEADER] = hook.secret_token
    try:
        async with session.post(hook.url, data=json.dumps(update), headers=headers) as response:
            await response.read()
            if 200 <= response.status <= 299:
                return None
            return f"Wrong response from the webhook: {response.status} {response.reason}"
    except TimeoutError:
        return "Read timeout expired"
    except aiohttp.ClientConnectorError:
        return "Connection refused"
    except aiohttp.ClientError as exc:
        return f"Connection error: {type(exc).__name__}"
