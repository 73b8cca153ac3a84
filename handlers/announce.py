"""/announce: organizers write to everyone, a unit or a role (placeholder until written)."""

from __future__ import annotations

from typing import Any

from telegram.ext import BaseHandler


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The announcement conversation and the stop button of progress messages."""
    return []
