"""Update ordering: one user's updates in order, other users never stalled by them."""

from __future__ import annotations

import asyncio

from telegram import Chat, Message, Update, User

from bot.processing import PerUserUpdateProcessor, handled


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


async def test_an_update_making_its_replies_gives_its_slot_but_not_its_turn() -> None:
    """After `handled` (its transaction is over) an update's processing slot goes to the next
    officer's update while its replies are still being made; the same officer's next update
    waits for them."""
    processor = PerUserUpdateProcessor(max_concurrent_updates=1)
    replies_made = asyncio.Event()
    order: list[str] = []

    async def handle(name: str, replying: asyncio.Event | None = None) -> None:
        order.append(f"start {name}")
        if replying is not None:
            handled(updates[name])
            await replying.wait()  # its replies on the network
        order.append(f"end {name}")

    updates = {"u1-a": _update(1, 1), "u1-b": _update(2, 1), "u2": _update(3, 2)}
    first = asyncio.create_task(
        processor.process_update(updates["u1-a"], handle("u1-a", replies_made))
    )
    again = asyncio.create_task(processor.process_update(updates["u1-b"], handle("u1-b")))
    other = asyncio.create_task(processor.process_update(updates["u2"], handle("u2")))
    await asyncio.wait_for(other, timeout=5)  # would hang if the replies held the one slot
    assert order == ["start u1-a", "start u2", "end u2"]
    replies_made.set()
    await asyncio.gather(first, again)
    assert order[3:] == ["end u1-a", "start u1-b", "end u1-b"]


async def test_a_slot_is_given_back_once_and_only_by_its_own_update() -> None:
    """`handled` for another update (one handled inside this one's turn) gives nothing back;
    `handled` twice, then the end of the update: the semaphore counts one slot back."""
    processor = PerUserUpdateProcessor(max_concurrent_updates=2)
    update = _update(1, 1)

    async def handle() -> None:
        handled(_update(2, 1))
        assert processor._slots._value == 1, "still held"
        handled(update)
        handled(update)
        assert processor._slots._value == 2

    await processor.process_update(update, handle())
    assert processor._slots._value == 2
