"""A local emulator of the Telegram Bot API and a client that plays users against it."""

from .client import BotEvent, Button, SandboxClient
from .server import ApiCall, Idle, Sandbox, serve

__all__ = ["ApiCall", "BotEvent", "Button", "Idle", "Sandbox", "SandboxClient", "serve"]
