"""PTB persistence backed by the database: conversation states only.

Handlers write each new state (and its draft) themselves, in the same transaction as the change
that caused it and before the prompt is sent, so a SIGKILL never leaves an officer at a step they
have not seen. This class serves those rows back to the persistent ConversationHandlers on
start-up and keeps them in step with PTB's own periodic flush; the typed flows (handlers/flow.py)
read their rows at every update instead, from the database this class names for the bot.

Only PTB's public API is used: the types PTB keeps private are spelled out below.
"""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

from telegram import Bot
from telegram.ext import BasePersistence, PersistenceInput

from bot import effects
from handlers import flow
from storage import conversations
from storage.db import Database

# How PTB keys a conversation ((chat id, user id) here) and the states of one handler.
ConversationKey = tuple[int | str, ...]
ConversationDict = MutableMapping[ConversationKey, object]
# The callback-data cache's contents (not stored: arbitrary callback data is off).
CDCData = tuple[list[tuple[str, float, dict[str, Any]]], dict[str, str]]


class DatabasePersistence(BasePersistence[dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """Keeps conversation states in the conversation_state table."""

    def __init__(self, database: Database, *, update_interval: float = 60) -> None:
        super().__init__(
            store_data=PersistenceInput(
                bot_data=False, chat_data=False, user_data=False, callback_data=False
            ),
            update_interval=update_interval,
        )
        self.database = database

    def set_bot(self, bot: Bot) -> None:
        """PTB hands over the application's bot: its flows read their steps from our database."""
        super().set_bot(bot)
        flow.serve(bot, self.database)

    async def get_conversations(self, name: str) -> ConversationDict:
        """Open conversations of one handler, as PTB keys them."""
        with self.database.session() as session:
            stored = conversations.load_states(session, name)
        return {tuple(json.loads(key)): state for key, state in stored.items()}

    async def update_conversation(
        self, name: str, key: ConversationKey, new_state: object | None
    ) -> None:
        """Only an ended conversation is written here: its row and draft go.

        Every other state was already committed by its handler, with its draft, before the
        prompt went out. Writing PTB's remembered state back would re-create a flow that
        /start, /menu or /cancel dropped meanwhile, without its draft.
        """
        if new_state is not None:
            return
        if effects.current() is not None:
            # Inside an update's handling, which holds the gate: part of its transaction.
            self._forget(name, key)
            return
        # A writer on the event loop, like the handling of updates: one at a time.
        async with self.database.gate:
            self._forget(name, key)

    def _forget(self, name: str, key: ConversationKey) -> None:
        with self.database.session() as session:
            conversations.delete(session, name, json.dumps(list(key)))

    # Only conversations are stored; PTB still requires the rest of the interface.
    async def get_user_data(self) -> dict[int, dict[Any, Any]]:
        """Not stored."""
        return {}

    async def get_chat_data(self) -> dict[int, dict[Any, Any]]:
        """Not stored."""
        return {}

    async def get_bot_data(self) -> dict[Any, Any]:
        """Not stored."""
        return {}

    async def get_callback_data(self) -> CDCData | None:
        """Not stored."""
        return None

    async def update_user_data(self, user_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_chat_data(self, chat_id: int, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_bot_data(self, data: dict[Any, Any]) -> None:
        """Not stored."""

    async def update_callback_data(self, data: CDCData) -> None:
        """Not stored."""

    async def drop_chat_data(self, chat_id: int) -> None:
        """Not stored."""

    async def drop_user_data(self, user_id: int) -> None:
        """Not stored."""

    async def refresh_user_data(self, user_id: int, user_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_chat_data(self, chat_id: int, chat_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def refresh_bot_data(self, bot_data: dict[Any, Any]) -> None:
        """Not stored."""

    async def flush(self) -> None:
        """Every write is already committed."""
