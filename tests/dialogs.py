"""Dialogs as tables: who acts, what they send, what the bot must answer.

A row is `(who, action, expected)`. `action` is a text to send (commands included), one of the
action helpers below, or None to only read what arrived. `expected` lists the bot's events in
that person's chat, in order: each must contain its fragments; an empty list means silence,
asserted once the bot has settled (tests/settling.py), not after a fixed time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox import BotEvent, SandboxClient
from tests.settling import settle

REPLY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Person:
    """Someone who talks to the bot in the sandbox."""

    id: int
    first_name: str

    def as_user(self) -> dict[str, Any]:
        """The Telegram user the sandbox sends as."""
        return {"id": self.id, "first_name": self.first_name, "language_code": "zh-hans"}


@dataclass(frozen=True)
class Expect:
    """One event the bot must produce."""

    fragments: tuple[str, ...]
    kind: str = "message"
    buttons: tuple[str, ...] = ()
    absent: tuple[str, ...] = ()
    contact_button: bool = False

    def check(self, event: BotEvent, where: str) -> None:
        """Assert the event matches."""
        assert event.kind == self.kind, f"{where}: wanted a {self.kind}, got {event}"
        for fragment in self.fragments:
            assert fragment in event.text, f"{where}: {fragment!r} not in {event.text!r}"
        for fragment in self.absent:
            assert fragment not in event.text, (
                f"{where}: {fragment!r} should not be in {event.text!r}"
            )
        texts = event.button_texts()
        for button in self.buttons:
            assert button in texts, f"{where}: no button {button!r} in {texts}"
        if self.contact_button:
            assert any(b.request_contact for row in event.buttons for b in row), (
                f"{where}: no contact button in {event}"
            )


def says(
    *fragments: str,
    buttons: Sequence[str] = (),
    absent: Sequence[str] = (),
    contact_button: bool = False,
) -> Expect:
    """A new message containing the fragments."""
    return Expect(tuple(fragments), "message", tuple(buttons), tuple(absent), contact_button)


def edits(*fragments: str, buttons: Sequence[str] = (), absent: Sequence[str] = ()) -> Expect:
    """An edit of an earlier message, its new text containing the fragments."""
    return Expect(tuple(fragments), "edit", tuple(buttons), tuple(absent))


@dataclass(frozen=True)
class Contact:
    """Share a phone contact; `owner` is whose contact it is (default: the sender's own)."""

    phone: str
    owner: int | None = None


@dataclass(frozen=True)
class Press:
    """Press the inline button with this text on the newest message that has it."""

    button: str
    answer: str | None = None


@dataclass(frozen=True)
class PressData:
    """Press a button with arbitrary, possibly forged, callback data on a message."""

    data: str
    answer: str | None = None
    message_id: int | None = None


@dataclass(frozen=True)
class Photo:
    """Send a photo."""


Action = str | Contact | Press | PressData | Photo | None
Row = tuple[Person, Action, list[Expect]]


@dataclass
class Dialog:
    """Plays tables against a running bot through the sandbox client.

    `settled` waits until the bot has nothing in flight, before a row asserts silence; by
    default the sandbox alone judges that (BotHarness.dialog also looks at the database).
    """

    client: SandboxClient
    transcript: list[str] = field(default_factory=list)
    settled: Callable[[], Awaitable[None]] | None = None

    async def settle(self) -> None:
        """Wait until the bot has taken every update and has nothing in flight."""
        if self.settled is not None:
            await self.settled()
        else:
            await settle(self.client)

    async def act(self, who: Person, action: Action) -> str | None:
        """Perform one action; returns a callback query id for presses."""
        user = who.as_user()
        if action is None:
            return None
        if isinstance(action, str):
            self.transcript.append(f"{who.first_name}: {action}")
            await self.client.send_text(user, action)
            return None
        if isinstance(action, Contact):
            owner = who.id if action.owner is None else action.owner
            self.transcript.append(f"{who.first_name}: [分享联系人 {action.phone}]")
            await self.client.share_contact(user, action.phone, contact_user_id=owner)
            return None
        if isinstance(action, Photo):
            self.transcript.append(f"{who.first_name}: [照片]")
            await self.client.send_photo(user)
            return None
        if isinstance(action, Press):
            self.transcript.append(f"{who.first_name}: [按下 {action.button}]")
            return await self.client.press(user, action.button)
        self.transcript.append(f"{who.first_name}: [按钮数据 {action.data}]")
        message_id = action.message_id
        if message_id is None:
            history = await self.client.history(user)
            message_id = history[-1].message_id if history else 1
        return await self.client.press_data(user, message_id, action.data)

    async def play(self, rows: Sequence[Row]) -> None:
        """Run every row, asserting the bot's answers."""
        for number, (who, action, expected) in enumerate(rows, start=1):
            where = f"row {number} ({who.first_name}: {action!r})"
            query_id = await self.act(who, action)
            if expected:
                events = await self.client.replies(
                    who.as_user(), count=len(expected), timeout=REPLY_TIMEOUT
                )
            else:
                await self.settle()
                events = await self.client.quiet(who.as_user(), 0)
            for event in events:
                self.transcript.append(f"  暖警 → {who.first_name} [{event.kind}]: {event.text}")
            assert len(events) == len(expected), (
                f"{where}: wanted {len(expected)} events, got {len(events)}: "
                + " | ".join(f"{e.kind}: {e.text}" for e in events)
            )
            for event, expect in zip(events, expected, strict=True):
                expect.check(event, where)
            if query_id is not None:
                # Every press must be answered, or the officer's button keeps spinning.
                answer = await self.client.callback_answer(query_id, timeout=REPLY_TIMEOUT)
                assert answer is not None, f"{where}: the button press was not answered"
                wanted_answer = getattr(action, "answer", None)
                if wanted_answer is not None:
                    assert wanted_answer in (answer.get("text") or ""), f"{where}: {answer}"
