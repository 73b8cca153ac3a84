"""`nuanjing demo`: the sandbox, the real bot and a scripted scenario, printed as a chat.

Everything runs in one process on a temporary SQLite database and stops before it returns.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import SecretStr

from bot.app import build_application, polling
from bot.policy import load_policy
from bot.sandbox import BotEvent, Sandbox, SandboxClient
from bot.settings import Settings
from storage import officers, roles
from storage.crypto import FieldCipher
from storage.db import Database
from storage.models import BindingMethod, Officer, Role

DEMO_TOKEN = "100200300:demo-token"
DEADLINE_SECONDS = 30.0


@dataclass(frozen=True)
class Actor:
    """A fictional person in the demo."""

    id: int
    name: str

    def user(self) -> dict[str, object]:
        """As the sandbox sends them."""
        return {"id": self.id, "first_name": self.name, "language_code": "zh-hans"}


OFFICER = Actor(9_000_001, "王建国")
STRANGER = Actor(9_000_002, "李晓雨")
ORGANIZER = Actor(9_000_003, "赵敏")
# The demo's union keeps Beijing time (the default NUANJING_TIMEZONE).
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _seed(database: Database) -> None:
    """A small fictional roster: two officers and an organizer who already uses the bot."""
    with database.session() as session:
        officers.create(
            session,
            Officer(
                police_id="100001",
                name="王建国",
                unit="天元分局",
                phone="+8613800000001",
                birthday=date(1986, 5, 4),
                gender="M",
                blood_group="O",
            ),
        )
        officers.create(
            session,
            Officer(police_id="100002", name="陈静", unit="芦淞分局", phone="+8613800000002"),
        )
        organizer = officers.create(
            session,
            Officer(police_id="200001", name="赵敏", unit="市局机关", phone="+8613800000003"),
        )
        officers.bind(
            session,
            organizer,
            telegram_user_id=ORGANIZER.id,
            chat_id=ORGANIZER.id,
            method=BindingMethod.IMPORT,
        )
        assert organizer.id is not None
        roles.grant(session, organizer.id, Role.ORGANIZER, granted_by="demo")


class Transcript:
    """Prints the conversation as it happens."""

    def __init__(self, client: SandboxClient, *, quiet: bool) -> None:
        self.client = client
        self.quiet = quiet
        self.lines = 0

    def say(self, who: Actor, what: str) -> None:
        """An officer's turn."""
        self._print(f"\n{who.name} ▶ {what}")

    def note(self, text: str) -> None:
        """A narrator's line."""
        self._print(f"\n{text}")

    def _print(self, line: str) -> None:
        self.lines += 1
        if not self.quiet:
            print(line, flush=True)

    async def expect(self, who: Actor, count: int = 1) -> list[BotEvent]:
        """Wait for the bot's answers in this person's chat and print them."""
        events = await self.client.replies(who.user(), count=count, timeout=10)
        for event in events:
            label = "暖警 ✎" if event.kind == "edit" else "暖警 ◀"
            body = event.text.replace("\n", "\n        ")
            self._print(f"  {label} {body}")
            if event.kind == "photo" and event.document_bytes is not None:
                self._print(f"        [图表 PNG，{len(event.document_bytes) // 1024} KB]")
            if event.buttons:
                self._print("        " + "  ".join(f"[{text}]" for text in event.button_texts()))
        return events


# The scenario, one step a row: who acts, what they do, how many answers to wait for.
# An action is a text to send, ("contact", phone), ("press", button text), or None when the
# person only reads what arrived on their phone.
Action = str | tuple[str, str] | None
SCENARIO: list[tuple[Actor, Action, int]] = [
    (OFFICER, "/start", 1),
    (OFFICER, ("contact", "+8613800000001"), 1),
    (OFFICER, "100001", 2),
    (OFFICER, ("press", "👤 我的资料"), 1),
    (OFFICER, ("press", "🩸 修改血型"), 1),
    (OFFICER, ("press", "O"), 1),
    (STRANGER, "/start", 1),
    (STRANGER, ("contact", "+8613900000009"), 1),
    (STRANGER, "300009", 1),
    (STRANGER, "李晓雨", 1),
    (ORGANIZER, None, 1),
    (ORGANIZER, ("press", "✅ 批准"), 1),
    (ORGANIZER, ("press", "天元分局"), 1),
    (ORGANIZER, ("press", "女"), 1),
    (STRANGER, None, 2),
    # The year in figures: a chart in Chinese, drawn from what the bot holds.
    (ORGANIZER, "/stats", 1),
    (ORGANIZER, ("press", f"{datetime.now(SHANGHAI).year}年"), 1),
    (ORGANIZER, ("press", "会员"), 1),
]


async def _scenario(client: SandboxClient, show: Transcript) -> None:
    await client.ensure_user(ORGANIZER.user())
    for actor, action, answers in SCENARIO:
        if action is None:
            show.note(f"（{actor.name} 的手机收到：）")
        elif isinstance(action, str):
            show.say(actor, action)
            await client.send_text(actor.user(), action)
        elif action[0] == "contact":
            show.say(actor, f"[分享手机号 {action[1]}]")
            await client.share_contact(actor.user(), action[1])
        else:
            show.say(actor, f"[按下 {action[1]}]")
            await client.press(actor.user(), action[1])
        await show.expect(actor, answers)


async def _demo(quiet: bool) -> int:
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="nuanjing-demo-") as folder:
        database = Database(f"sqlite:///{Path(folder) / 'demo.db'}")
        database.upgrade()
        _seed(database)
        async with Sandbox() as sandbox:
            settings = Settings(
                _env_file=None,  # type: ignore[call-arg]
                TELEGRAM_BOT_TOKEN=SecretStr(DEMO_TOKEN),
                NUANJING_API_BASE_URL=sandbox.api_base_url,
                NUANJING_DATABASE_URL=database.url,
                NUANJING_SECRET_KEY=SecretStr(FieldCipher.generate_key()),
            )
            application = build_application(settings, database, load_policy(None))
            async with SandboxClient(sandbox.base_url, DEMO_TOKEN) as client:
                show = Transcript(client, quiet=quiet)
                async with polling(application, poll_timeout=1):
                    await asyncio.wait_for(_scenario(client, show), DEADLINE_SECONDS)
        database.dispose()
    print(f"\ndemo finished: {show.lines} lines in {time.monotonic() - started:.1f} s")
    return 0


def run_demo(*, quiet: bool = False) -> int:
    """Run the scripted scenario; 0 when every expected answer came."""
    for noisy in ("telegram", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    logging.getLogger("bot").setLevel(logging.WARNING)
    try:
        return asyncio.run(_demo(quiet))
    except (AssertionError, TimeoutError) as exc:
        print(f"demo failed: {exc}")
        return 1
