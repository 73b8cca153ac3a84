"""A local emulator of the Telegram Bot API and a client that plays users against it."""

from .client import BotEvent, Button, SandboxClient
from .server import ApiCall, Sandbox, serve

__all__ = ["ApiCall", "BotEvent", "Button", "Sandbox", "SandboxClient", "serve"]
