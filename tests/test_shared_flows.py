"""Two instances of the bot on one database: any step of a conversation may reach either.

Both are built by `build_application` on the same database (a Database object each, as two
processes would have) and run in webhook mode without a listener: a router in the test takes the
officer's updates from the sandbox and hands each to the instance the row names, through that
instance's inbox (`Inbox.receive`, the webhook's path), so it is stored, handled in one
transaction and answered by that instance. The officer's steps alternate between the two.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from sqlmodel import select
from telegram import Update
from telegram.ext import ApplicationHandlerStop, CommandHandler, MessageHandler, filters

from bot.app import BotApplication, build_application, inbox_of, receiving
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from handlers.common import Context, FlowStore
from handlers.flow import END, StoredConversationHandler
from storage import conversations
from storage.db import Database
from storage.models import BindingRequest, CareCase, ConversationState, Role, TelegramBinding
from tests.conftest import TEST_TOKEN, add_officer, bot_settings
from tests.dialogs import Action, Contact, Dialog, Expect, Person, Press, edits, says
from tests.settling import settle
from tests.test_care_report import day

WANG = Person(7_700_000_001, "王警官")
ZHAO = Person(7_700_000_002, "赵干事")
STRANGER = Person(7_700_000_003, "李新人")
NEWCOMER = Person(7_700_000_004, "周警官")

WELCOME = says("欢迎使用暖警", contact_button=True)
NO_FLOW_HINT = says("发送 /menu 打开菜单")
NOTHING_TO_CANCEL = says("当前没有进行中的操作")


@dataclass
class Router:
    """Takes the bot's updates from the sandbox and hands each to the instance in `target`."""

    url: str
    applications: Sequence[BotApplication]
    target: int = 0
    handed: list[tuple[int, int]] = field(default_factory=list)  # (update id, instance)

    async def run(self) -> None:
        """Long-poll the sandbox as the bot would; each update goes to the current target."""
        offset: int | None = None
        async with httpx.AsyncClient(timeout=30.0) as http:
            while True:
                asked: dict[str, Any] = {"timeout": 1}
                if offset is not None:
                    asked["offset"] = offset
                response = await http.post(self.url, json=asked)
                for raw in response.json()["result"]:
                    self.handed.append((raw["update_id"], self.target))
                    assert await inbox_of(self.applications[self.target]).receive(raw)
                    offset = raw["update_id"] + 1


@dataclass
class Pair:
    """Two running instances on one database, the router between them and the sandbox."""

    applications: tuple[BotApplication, BotApplication]
    database: Database
    client: SandboxClient
    router: Router

    async def settle(self) -> None:
        """Both instances have taken, handled and answered everything."""
        for application in self.applications:
            await settle(self.client, self.database, application)

    async def play(self, rows: Sequence[tuple[int, Person, Action, list[Expect]]]) -> None:
        """Each row on the instance it names (0 or 1): its update goes there, it answers."""
        dialog = Dialog(self.client, settled=self.settle)
        for instance, who, action, expected in rows:
            self.router.target = instance
            await dialog.play([(who, action, expected)])

    def rows(self, model: type[Any]) -> list[Any]:
        """Every row of a table."""
        with self.database.session() as session:
            return list(session.exec(select(model)).all())


@asynccontextmanager
async def two_instances(
    sandbox: Sandbox,
    database: Database,
    database_url: str,
    more: Callable[[BotApplication], None] = lambda _application: None,
) -> AsyncIterator[Pair]:
    """Instance 0 on the test's Database, instance 1 on a second one at the same URL; `more`
    adds to each before it starts."""
    other = Database(database_url)
    settings = bot_settings(sandbox, database_url)
    applications = (
        build_application(settings, database, load_policy(None)),
        build_application(settings, other, load_policy(None)),
    )
    for application in applications:
        more(application)
    router = Router(f"{sandbox.api_base_url}{TEST_TOKEN}/getUpdates", applications)
    try:
        async with AsyncExitStack() as stack:
            client = await stack.enter_async_context(SandboxClient(sandbox.base_url, TEST_TOKEN))
            for application in applications:
                await stack.enter_async_context(receiving(application))
            routing = asyncio.create_task(router.run(), name="router")
            try:
                yield Pair(applications, database, client, router)
            finally:
                routing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await routing
    finally:
        other.dispose()


def _seed(database: Database) -> None:
    add_officer(
        database, "100001", "王建国", "+8613800000001", bound_to=WANG.id, birthday=date(1985, 3, 12)
    )
    add_officer(
        database,
        "200001",
        "赵敏",
        "+8613800000003",
        unit="市局机关",
        bound_to=ZHAO.id,
        roles=[Role.ORGANIZER],
    )
    add_officer(database, "100009", "周平", "+8613800000009")


def _no_conversation_rows(pair: Pair) -> None:
    assert pair.rows(ConversationState) == []


async def test_a_care_report_alternating_between_instances_is_filed_once(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    _seed(database)
    async with two_instances(sandbox, database, database_url) as pair:
        await pair.client.ensure_user(ZHAO.as_user())
        await pair.play(
            [
                (0, WANG, "/report", [says("请选择要申报的事项", buttons=["住院"])]),
                (1, WANG, Press("住院"), [edits("申报「住院」，是为谁申报？", buttons=["为本人"])]),
                (0, WANG, Press("为本人"), [says("请输入住院的医院名称")]),
                (1, WANG, "市中心医院", [says("请输入病区和床号")]),
                (0, WANG, "心内科3床", [says("请输入入院日期")]),
                (1, WANG, day(-2), [says("还有需要说明的吗", buttons=["跳过"])]),
                (
                    0,
                    WANG,
                    Press("跳过"),
                    [says("请确认申报内容", "医院：市中心医院", "病区：心内科3床")],
                ),
                (1, WANG, Press("✅ 提交"), [edits("已提交，编号 #1")]),
                (0, ZHAO, None, [says("慰问申报 #1", "王建国", "病区：心内科3床")]),
            ]
        )
        await pair.settle()
        (case,) = pair.rows(CareCase)
        assert (case.event, case.hospital) == ("hospitalization", "市中心医院")
        _no_conversation_rows(pair)
        # Every step went to the instance its row named, both instances taking turns.
        assert [instance for _update, instance in pair.router.handed] == [0, 1] * 4


async def test_binding_alternating_between_instances(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    _seed(database)
    async with two_instances(sandbox, database, database_url) as pair:
        await pair.client.ensure_user(ZHAO.as_user())
        await pair.play(
            [
                # On the roster: the phone, then the police ID, each on the other instance.
                (1, NEWCOMER, "/start", [WELCOME]),
                (0, NEWCOMER, Contact("+8613800000009"), [says("请输入您的警号")]),
                (1, NEWCOMER, "100009", [says("绑定成功", "周平"), says("请选择")]),
                # Not on the roster: the claimed police ID and name, then the request.
                (0, STRANGER, "/start", [WELCOME]),
                (
                    1,
                    STRANGER,
                    Contact("+8613900000009"),
                    [says("名册里暂时没有这个手机号", "请输入您的警号")],
                ),
                (0, STRANGER, "300009", [says("请输入您的姓名")]),
                (1, STRANGER, "李新人", [says("申请已提交")]),
                (0, ZHAO, None, [says("绑定申请", "300009", "李新人")]),
            ]
        )
        await pair.settle()
        (binding,) = (b for b in pair.rows(TelegramBinding) if b.telegram_user_id == NEWCOMER.id)
        assert binding.method == "contact"
        (request,) = pair.rows(BindingRequest)
        assert (request.telegram_user_id, request.claimed_police_id, request.claimed_name) == (
            STRANGER.id,
            "300009",
            "李新人",
        )
        _no_conversation_rows(pair)


async def test_a_flow_cancelled_on_one_instance_is_not_revived_on_the_other(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """Instance 1 took the steps up to the question; /cancel on instance 0 ends the flow for
    both: instance 1 answers the next message as one outside any flow."""
    _seed(database)
    async with two_instances(sandbox, database, database_url) as pair:
        await pair.play(
            [
                (1, WANG, "/report", [says("请选择要申报的事项")]),
                (1, WANG, Press("住院"), [edits("是为谁申报？")]),
                (1, WANG, Press("为本人"), [says("请输入住院的医院名称")]),
                (0, WANG, "/cancel", [says("已取消")]),
                (1, WANG, "市中心医院", [NO_FLOW_HINT]),
                (1, WANG, "/cancel", [NOTHING_TO_CANCEL]),
                (1, NEWCOMER, "/start", [WELCOME]),
                (1, NEWCOMER, Contact("+8613800000009"), [says("请输入您的警号")]),
                (0, NEWCOMER, "/cancel", [says("已取消")]),
                (1, NEWCOMER, "/cancel", [NOTHING_TO_CANCEL]),
                (1, NEWCOMER, "100009", [says("请先发送 /start")]),
            ]
        )
        await pair.settle()
        assert pair.rows(CareCase) == []
        assert [b.telegram_user_id for b in pair.rows(TelegramBinding)] == [WANG.id, ZHAO.id]
        _no_conversation_rows(pair)
        with database.session() as session:
            key = conversations.key_of(WANG.id, WANG.id)
            assert conversations.state_of(session, "care_report", key) is None


async def test_an_end_drops_the_row_where_it_happens_and_a_stop_still_stops(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """A step that returns END (here through ApplicationHandlerStop, without forgetting its row
    itself) ends the conversation on both instances at once; the later groups (the menu's
    catch-all) still do not see the update."""
    _seed(database)
    probe = FlowStore("probe")
    answered: list[str] = []

    async def begin(update: Update, context: Context) -> str:
        return probe.save(update, context, "asked", {})

    async def answered_with_stop(update: Update, context: Context) -> None:
        assert update.effective_message is not None and update.effective_message.text
        answered.append(update.effective_message.text)
        raise ApplicationHandlerStop(END)

    def add_probe(application: BotApplication) -> None:
        typed = filters.TEXT & ~filters.COMMAND
        conversation = StoredConversationHandler(
            entry_points=[CommandHandler("probe", begin)],
            states={"asked": [MessageHandler(typed, answered_with_stop)]},
            name="probe",
        )
        application.add_handler(conversation, group=-3)

    async with two_instances(sandbox, database, database_url, add_probe) as pair:
        await pair.play(
            [
                # The entry saves its step and lets the update go on: /probe is no command.
                (0, WANG, "/probe", [NO_FLOW_HINT]),
                (1, WANG, "第一句", []),  # taken at the step, stopped: no menu hint
                (0, WANG, "第二句", [NO_FLOW_HINT]),  # the row is gone on both instances
            ]
        )
        assert answered == ["第一句"]
        _no_conversation_rows(pair)
