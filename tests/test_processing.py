"""Update ordering: one user's updates in order, other users never stalled by them."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.processing import PerUserUpdateProcessor


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "officer", is_bot=False)
    chat = Chat(user_id, Chat.PRIVATE)
    message = Message(update_id, date=None, chat=chat, from_user=user, text="hi")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_users_backlog_does_not_stall_another_user() -> None:
    processor = PerUserUpdateProcessor(max_concurrent_updates=2)
    release_first = asyncio.Event()
    order: list[str] = []

    async def handle(name: str, wait: asyncio.Event | None = None) -> None:
        order.append(f"start {name}")
        if wait is not None:
            await wait.wait()
        order.append(f"end {name}")

    busy = [
        asyncio.create_task(
            processor.process_update(
                _update(i, 1), handle(f"u1-{i}", release_first if i == 0 else None)
            )
        )
        for i in range(6)
    ]
    other = asyncio.create_task(processor.process_update(_update(100, 2), handle("u2")))
    await asyncio.wait_for(other, timeout=5)  # would hang if user 1's backlog held the slots
    assert "end u2" in order and "end u1-0" not in order
    release_first.set()
    await asyncio.gather(*busy)
    user1 = [entry for entry in order if "u1-" in entry]
    assert user1 == [f"{what} u1-{i}" for i in range(6) for what in ("start", "end")]
