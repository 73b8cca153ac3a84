"""Update processing: concurrent across users, strictly in order for each user."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

# PTB's own semaphore is taken before do_process_update runs; it is made too wide to matter,
# and the real limit is applied after the user's turn has come (see do_process_update).
_UNBOUNDED = 1 << 20


class _Slot:
    """The processing slot an update holds, given back once (`handled`, or at the end)."""

    def __init__(self, slots: asyncio.Semaphore, update: object) -> None:
        self._slots: asyncio.Semaphore | None = slots
        self.update = update

    def release(self) -> None:
        if self._slots is not None:
            self._slots.release()
            self._slots = None


_held: ContextVar[_Slot | None] = ContextVar("nuanjing_processing_slot", default=None)


def handled(update: object) -> None:
    """`update`'s handling is over, all but making its replies: its processing slot goes to
    the next update, while the officer's turn is kept until the replies are made (they are
    made in order). In a rush the slots then go to updates that join the next batch, not to
    replies waiting on the network. Nothing for an update that holds no slot of its own (one
    handled inside another's turn)."""
    slot = _held.get()
    if slot is not None and slot.update is update:
        slot.release()


class PerUserUpdateProcessor(BaseUpdateProcessor):
    """Runs updates of different users at once, but one user's updates one after another.

    ConversationHandler needs a user's updates in order; different officers need not wait
    for each other.
    """

    def __init__(self, max_concurrent_updates: int = 8) -> None:
        super().__init__(_UNBOUNDED)
        self._slots = asyncio.Semaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiters: dict[int, int] = {}
        # How an update's handlers are run once its turn has come: the inbox's transaction
        # (bot/inbox.py) in the bot; plainly awaited where there is no inbox.
        self.handle: Callable[[object, Awaitable[Any]], Awaitable[None]] = _run

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the user's turn, then for a processing slot, then run the handlers.

        Taking a slot first would let one user's queued updates fill every slot while they
        wait for each other, stalling all other officers.
        """
        user_id = _user_id(update)
        if user_id is None:
            await self._in_slot(update, coroutine)
            return
        lock = self._locks.setdefault(user_id, asyncio.Lock())
        self._waiters[user_id] = self._waiters.get(user_id, 0) + 1
        try:
            async with lock:
                await self._in_slot(update, coroutine)
        finally:
            self._waiters[user_id] -= 1
            if self._waiters[user_id] == 0:
                # Forget idle users so the table does not grow with every officer ever seen.
                del self._waiters[user_id]
                del self._locks[user_id]

    async def _in_slot(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Handle the update in a processing slot, held until the end or until `handled`."""
        await self._slots.acquire()
        slot = _Slot(self._slots, update)
        token = _held.set(slot)
        try:
            await self.handle(update, coroutine)
        finally:
            _held.reset(token)
            slot.release()

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


async def _run(_update: object, coroutine: Awaitable[Any]) -> None:
    await coroutine


def _user_id(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None
