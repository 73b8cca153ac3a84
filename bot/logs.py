"""Logging for `nuanjing`: one line per event, plain text or JSON lines, with secrets removed.

`setup` is the one place logging is configured (bot/cli.py calls it before any command). Every
handler of the root logger gets the `Redactor`, a filter that rewrites each record before it
is written, whatever its level or its logger (PTB's, aiohttp's and httpx's debug output included):

- a Bot API payload handed to a log call (PTB logs every call's parameters and return value,
  every update it processes, a webhook's body at DEBUG) is replaced by a summary of its keys:
  officers' free text (a hospital ward, a note) has no shape a pattern could find;
- phone numbers (mainland mobiles, with or without +86/0086 and separators) become [phone];
- bot tokens (the configured one, and anything shaped like one) become [token];
- the secret key, the webhook secret and other configured secrets become [secret];
- FieldCipher ciphertexts (Fernet tokens) become [sealed].
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any, TextIO
from uuid import UUID

TEXT = "text"
JSON = "json"
LOG_FORMATS = (TEXT, JSON)
# Today's plain format; newlines inside an event are written as \n so an event stays one line.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Loggers that are chatty at INFO: each request, each job run, each migration step.
NOISY = ("aiohttp", "httpx", "httpcore", "telegram.ext.ExtBot", "apscheduler", "alembic")

# A secret shorter than this is not looked for literally: it would blank out ordinary words.
MIN_SECRET_LENGTH = 6

_PHONE = re.compile(r"(?<![0-9A-Za-z+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")
_TOKEN = re.compile(r"(?<!\d)\d+:[A-Za-z0-9_-]{30,}")
# Fernet tokens: base64url of the version byte 0x80 and a timestamp, so they start gAAAAA.
_SEALED = re.compile(r"gAAAAA[A-Za-z0-9_-]{20,}={0,2}")
_SCALARS = (int, float, bool, type(None), Decimal)
# Arguments written as their text (then redacted); any other object is only named.
_SAYS_WHICH = (date, time, timedelta, PurePath, Enum, UUID, BaseException)
_MARK = "_nuanjing_redacted"
# Attributes every LogRecord has; anything else on a record came as `extra=`.
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime", _MARK}


class Redactor(logging.Filter):
    """Rewrites a record's message, exception and extra fields without secrets (never drops)."""

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        super().__init__()
        self._literals: dict[str, str] = {}
        self.protect(*secrets)

    def protect(self, *secrets: str | None, label: str = "[secret]") -> None:
        """Remove these exact values from now on (as `label`)."""
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET_LENGTH:
                self._literals[secret] = label

    def redact(self, text: str) -> str:
        """The text with every secret this filter knows of replaced by its label."""
        # Longest first: a token may contain a shorter secret, not the other way round.
        for literal in sorted(self._literals, key=len, reverse=True):
            if literal in text:
                text = text.replace(literal, self._literals[literal])
        text = _TOKEN.sub("[token]", text)
        text = _SEALED.sub("[sealed]", text)
        return _PHONE.sub("[phone]", text)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _MARK, False):
            return True  # a second handler of the same record: already done
        record.msg = self.redact(_message(record))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in _STANDARD:
                record.__dict__[name] = self._extra(value)
        setattr(record, _MARK, True)
        return True

    def _extra(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, _SCALARS):
            return value
        return self.redact(summary(value))


def _message(record: logging.LogRecord) -> str:
    """The record's message with every payload argument replaced by its summary."""
    msg, args = record.msg, record.args
    if not isinstance(msg, str):
        return summary(msg)
    if not args:
        return msg
    try:
        if isinstance(args, Mapping):
            if "%(" in msg:
                return msg % {key: _argument(value) for key, value in args.items()}
            # logging unpacks a lone mapping argument: it is the payload of a single %s.
            return msg % (summary(args),)
        return msg % tuple(_argument(value) for value in args)
    except (TypeError, ValueError, KeyError):
        # A malformed call: keep what was meant to be said, never the raw arguments.
        return f"{msg} [{len(args)} arguments]"


def _argument(value: Any) -> Any:
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                return summary(json.loads(value))  # a JSON body, as PTB's webhook logs it
            except ValueError:
                return value
        return value
    if isinstance(value, (list, tuple, set, frozenset)) and all(
        isinstance(item, _SCALARS) for item in value
    ):
        return value  # ids: getUpdates logs the update ids it got
    if isinstance(value, type):
        return value.__name__
    if isinstance(value, _SAYS_WHICH) or type(value).__name__ == "URL":
        # Their text names a time, a place or a failure, not what someone wrote; the patterns
        # still run over it (a URL holds the token, an error message may quote a phone).
        return str(value)
    return summary(value)


def summary(value: Any) -> str:
    """What a payload is, without what it says: its type and keys, or its length."""
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):  # a Telegram object (Update, Message…)
        try:
            keys = _keys(to_dict())
        except Exception:  # a summary must never fail the log call
            keys = ""
        return f"[{type(value).__name__}{': ' + keys if keys else ''}]"
    if isinstance(value, Mapping):
        return f"[payload: {_keys(value)}]"
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"[{len(value)} bytes]"
    if isinstance(value, (list, tuple, set, frozenset)):
        return f"[payload: {len(value)} items]"
    if isinstance(value, str):
        return f"[text: {len(value)} characters]"
    return f"[{type(value).__name__}]"


def _keys(mapping: Mapping[Any, Any]) -> str:
    parts = []
    for key, item in mapping.items():
        if key in ("update_id", "message_id", "ok") and isinstance(item, _SCALARS):
            parts.append(f"{key}={item}")  # which update or message: not what it says
        else:
            parts.append(str(key))
    return ", ".join(parts)


class TextFormatter(logging.Formatter):
    """Today's plain format, one line per event."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        return _one_line(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        for name, value in record.__dict__.items():
            if name not in _STANDARD and name not in entry:
                entry[name] = value
        # ensure_ascii=False keeps Chinese readable; json escapes newlines, so one line.
        return json.dumps(entry, ensure_ascii=False, default=str)


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


_installed: list[tuple[logging.Handler, Redactor]] = []


def setup(
    log_format: str = TEXT,
    *,
    level: int = logging.INFO,
    stream: TextIO | None = None,
    secrets: Iterable[str | None] = (),
) -> Redactor:
    """Log to `stream` (standard error) in the format asked for, every handler redacting.

    Calling it again replaces the handler it installed before.
    """
    if log_format not in LOG_FORMATS:
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}")
    teardown()
    redactor = Redactor(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == JSON else TextFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    # Handlers someone added before (a test's capture) redact too.
    for existing in root.handlers:
        existing.addFilter(redactor)
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    _installed.append((handler, redactor))
    return redactor


def teardown() -> None:
    """Remove what `setup` installed (its handler and its filters)."""
    root = logging.getLogger()
    while _installed:
        handler, redactor = _installed.pop()
        root.removeHandler(handler)
        for existing in root.handlers:
            existing.removeFilter(redactor)


def protect(*secrets: str | None, label: str = "[secret]") -> None:
    """Add literal secrets (read once the settings are) to the installed filter."""
    for _handler, redactor in _installed:
        redactor.protect(*secrets, label=label)


def protect_settings(settings: Any) -> None:
    """The settings' secrets: the bot token, the secret key, the webhook secret if set."""

    def plain(name: str) -> str | None:
        value = getattr(settings, name, None)
        if value is None:
            return None
        reveal = getattr(value, "get_secret_value", None)
        return str(reveal() if callable(reveal) else value)

    protect(plain("telegram_bot_token"), label="[token]")
    protect(plain("secret_key"), plain("webhook_secret"))
