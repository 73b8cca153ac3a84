"""A local emulator of the Telegram Bot API for tests, benchmarks and demos.

The sandbox lives in modules by job; this module gathers what the rest of the project imports:

- ``formatting``: ``parse_mode`` markup to plain text and entities, text and caption limits;
- ``markup``: reply markup validation, callback data limits;
- ``state``: bots, users, chats, messages, files, updates, the call log, settings, send limits;
- ``api``: the Bot API methods (``/bot{token}/{method}``, ``/file/bot{token}/{path}``);
- ``control``: the test-control API (``/sandbox/{token}/...``), the aiohttp app, `Sandbox`,
  `serve`;
- ``errors``: the Bot API's error answers.

The send limits (``GLOBAL_SENDS_PER_SECOND``, ``CHAT_BURST``, ``CHAT_SENDS_PER_SECOND``) are read
from ``state`` on every send; setting one here (``bench/broadcast.py`` lowers the first) sets it
there too.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from . import state
from .control import MAX_UPLOAD_BYTES, Sandbox, serve
from .errors import JSON, ApiError
from .formatting import MAX_CAPTION_LENGTH, MAX_TEXT_LENGTH, format_text, utf16_len
from .markup import MAX_CALLBACK_DATA_BYTES, validate_markup
from .state import (
    BOT_FIRST_NAME,
    BOT_USERNAME,
    CHAT_BURST,
    CHAT_SENDS_PER_SECOND,
    DROPPED,
    GLOBAL_SENDS_PER_SECOND,
    IN_PROGRESS,
    ApiCall,
    Idle,
    SandboxConfig,
    StoredFile,
    StoredMessage,
)

__all__ = [
    "BOT_FIRST_NAME",
    "BOT_USERNAME",
    "CHAT_BURST",
    "CHAT_SENDS_PER_SECOND",
    "DROPPED",
    "GLOBAL_SENDS_PER_SECOND",
    "IN_PROGRESS",
    "JSON",
    "MAX_CALLBACK_DATA_BYTES",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_UPLOAD_BYTES",
    "ApiCall",
    "ApiError",
    "Idle",
    "Sandbox",
    "SandboxConfig",
    "StoredFile",
    "StoredMessage",
    "format_text",
    "serve",
    "utf16_len",
    "validate_markup",
]

_SEND_LIMITS = frozenset({"GLOBAL_SENDS_PER_SECOND", "CHAT_BURST", "CHAT_SENDS_PER_SECOND"})


class _Reexports(types.ModuleType):
    """This module, with a send limit set on it passed on to ``state``, where it is read."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _SEND_LIMITS:
            setattr(state, name, value)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Reexports
