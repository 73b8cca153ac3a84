"""Binding dialogs end to end: the real Application, the sandbox, a real database."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select
from telegram import Update

from bot.app import build_application, polling
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from storage import audit, bindings, conversations, officers
from storage.db import Database
from storage.models import BindingRequest, Officer, RequestStatus, Role, TelegramBinding
from tests.conftest import TEST_TOKEN, BotHarness, add_officer, bot_settings
from tests.dialogs import Contact, Dialog, Person, Photo, Press, PressData, Row, edits, says

WANG = Person(7_100_000_001, "王警官")
STRANGER = Person(7_100_000_002, "李新人")
ORGANIZER = Person(7_100_000_003, "赵干事")
OTHER = Person(7_100_000_004, "路人")

WANG_PHONE = "+8613800000001"
# 批准 on a stranger's card: the unit (天元分局 is on the policy's first page), then the gender.
APPROVE_AS_TIANYUAN_WOMAN: list[Row] = [
    (
        ORGANIZER,
        Press("✅ 批准"),
        [edits("请选择所在单位", "300009", buttons=["天元分局", "下一页 ▶", "❌ 取消"])],
    ),
    (ORGANIZER, Press("天元分局"), [edits("单位：天元分局", "请选择性别", buttons=["男", "女"])]),
    (ORGANIZER, Press("女"), [edits("已批准（赵敏）", "单位：天元分局；性别：女")]),
]
WELCOME = says("欢迎使用暖警", "株洲市公安局工会", contact_button=True)
ASK_CONTACT_AGAIN = says("请点下方「分享我的手机号」按钮", contact_button=True)


async def _seed(bot: BotHarness) -> None:
    add_officer(bot.database, "100001", "王建国", WANG_PHONE)
    add_officer(
        bot.database,
        "200001",
        "赵敏",
        "+8613800000003",
        bound_to=ORGANIZER.id,
        roles=[Role.ORGANIZER],
    )
    await bot.meet(ORGANIZER)


def _binding(bot: BotHarness, person: Person) -> TelegramBinding | None:
    with bot.database.session() as session:
        return session.exec(
            select(TelegramBinding).where(TelegramBinding.telegram_user_id == person.id)
        ).first()


async def test_happy_path_binds_and_shows_menu(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/start", [WELCOME]),
        (
            WANG,
            Contact("8613800000001"),
            [says("已在工会名册中找到", "请输入您的警号", absent=["王建国"])],
        ),
        (WANG, "100001", [says("绑定成功", "王建国"), says("请选择", buttons=["👤 我的资料"])]),
        (WANG, "/start", [says("王建国，您好", buttons=["👤 我的资料", "❓ 帮助"])]),
    ]
    await bot.dialog.play(rows)
    binding = _binding(bot, WANG)
    assert binding is not None and binding.method == "contact" and binding.chat_id == WANG.id
    with bot.database.session() as session:
        assert conversations.load_states(session, "binding") == {}
        (entry,) = audit.recent(session, action="binding.bind")
        assert entry.target == "100001" and entry.actor == f"telegram:{WANG.id}"


async def test_deep_link_payload_is_ignored(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play([(WANG, "/start admin_override", [WELCOME])])


async def test_foreign_contact_is_refused(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/start", [WELCOME]),
        (
            WANG,
            Contact(WANG_PHONE, owner=OTHER.id),
            [says("这不是您本人的号码", contact_button=True)],
        ),
        (WANG, Contact(WANG_PHONE, owner=0), [says("这不是您本人的号码")]),
        (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        assert bindings.failures_within(session, WANG.id, timedelta(hours=1)) == 2


async def test_bad_input_at_each_step(bot: BotHarness) -> None:
    await _seed(bot)
    long_text = "长" * 5000
    rows: list[Row] = [
        (WANG, "/start", [WELCOME]),
        (WANG, long_text, [ASK_CONTACT_AGAIN]),
        (WANG, "🚓👮‍♀️🚨", [ASK_CONTACT_AGAIN]),
        (WANG, "'; DROP TABLE officer; --", [ASK_CONTACT_AGAIN]),
        (WANG, Photo(), [ASK_CONTACT_AGAIN]),
        (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
        (WANG, Photo(), [says("请直接输入警号")]),
        (WANG, long_text, [says("警号不对", "还可以试 2 次")]),
        (WANG, "🚓👮", [says("警号不对", "还可以试 1 次")]),
        (WANG, "1' OR '1'='1", [says("警号多次核对未通过", "/start")]),
        (WANG, "100001", [says("请先发送 /start")]),
    ]
    await bot.dialog.play(rows)
    assert _binding(bot, WANG) is None
    with bot.database.session() as session:
        assert session.exec(select(Officer)).all()  # the table survived the SQL-looking input


async def test_five_failures_an_hour_lock_the_account(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/start", [WELCOME]),
        (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
        (WANG, "999999", [says("还可以试 2 次")]),
        (WANG, "999998", [says("还可以试 1 次")]),
        (WANG, "999997", [says("警号多次核对未通过")]),
        (WANG, "/start", [WELCOME]),
        (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
        (WANG, "999996", [says("还可以试 2 次")]),
        (WANG, "999995", [says("尝试次数过多", "一小时后")]),
        (WANG, "/start", [says("尝试次数过多")]),
    ]
    await bot.dialog.play(rows)
    assert _binding(bot, WANG) is None


async def test_cancel_mid_flow_keeps_nothing(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/start", [WELCOME]),
        (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
        (WANG, "/cancel", [says("已取消")]),
        (WANG, "100001", [says("请先发送 /start")]),
        (WANG, "/cancel", [says("当前没有进行中的操作")]),
    ]
    await bot.dialog.play(rows)
    assert _binding(bot, WANG) is None
    with bot.database.session() as session:
        assert conversations.load_states(session, "binding") == {}


async def test_no_roster_match_then_organizer_approves(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (STRANGER, "/start", [WELCOME]),
        (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有这个手机号", "请输入您的警号")]),
        (STRANGER, "x", [says("请直接输入警号")]),
        (STRANGER, "300009", [says("请输入您的姓名")]),
        (STRANGER, "12345", [says("姓名请输入 2 到 20 个字")]),
        (STRANGER, "李新人", [says("申请已提交")]),
        (
            ORGANIZER,
            None,
            [
                says(
                    "绑定申请",
                    "300009",
                    "李新人",
                    "13900000009",
                    "名册中没有此警号",
                    buttons=["✅ 批准", "❌ 拒绝"],
                )
            ],
        ),
        (STRANGER, "/start", [says("正在审核中")]),
        (STRANGER, "/me", [says("请先发送 /start")]),
        # Someone new to the roster: their unit and gender first (issue 17, item 6).
        *APPROVE_AS_TIANYUAN_WOMAN,
        (STRANGER, None, [says("申请已通过", "李新人"), says("请选择", buttons=["👤 我的资料"])]),
        # Pressed again: decided already, the card says so (it is marked: nothing to edit).
        (ORGANIZER, PressData("bindreq:1:1", answer="这条申请已处理"), []),
        (STRANGER, "/me", [says("300009", "139****0009")]),
    ]
    await bot.dialog.play(rows)
    binding = _binding(bot, STRANGER)
    assert binding is not None and binding.method == "approval"
    with bot.database.session() as session:
        officer = officers.by_police_id(session, "300009")
        assert (
            officer is not None and officer.name == "李新人" and officer.phone == "+8613900000009"
        )
        assert (officer.unit, officer.gender) == ("天元分局", "F")
        (request,) = session.exec(select(BindingRequest)).all()
        assert request.status == RequestStatus.APPROVED and request.decided_by == "officer:200001"
        assert [e.action for e in audit.recent(session)][:2] == [
            "binding.approve",
            "binding.request",
        ]


async def test_organizer_rejects(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (STRANGER, "/start", [WELCOME]),
        (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有")]),
        (STRANGER, "100001", [says("请输入您的姓名")]),
        (STRANGER, "王建国", [says("申请已提交")]),
        (ORGANIZER, None, [says("名册中有此警号：王建国，天元分局")]),
        (ORGANIZER, Press("❌ 拒绝"), [edits("已拒绝")]),
        (STRANGER, None, [says("未通过")]),
        (STRANGER, "/start", [WELCOME]),
    ]
    await bot.dialog.play(rows)
    assert _binding(bot, STRANGER) is None


async def test_forged_decision_from_an_officer_is_refused_and_audited(bot: BotHarness) -> None:
    await _seed(bot)
    add_officer(bot.database, "100002", "钱多多", "+8613800000002", bound_to=OTHER.id)
    with bot.database.session() as session:
        request = bindings.create_request(
            session,
            BindingRequest(
                telegram_user_id=STRANGER.id,
                chat_id=STRANGER.id,
                phone="+8613900000009",
                claimed_police_id="300009",
                claimed_name="李新人",
            ),
        )
    forged = f"bindreq:1:{request.id}"
    rows: list[Row] = [
        (OTHER, "/menu", [says("钱多多，您好")]),
        (OTHER, PressData(forged, answer="没有权限"), []),
        (OTHER, PressData("bindreq:1:notanumber", answer="此按钮已失效"), []),
        (OTHER, PressData("whatever:123", answer="此按钮已失效"), []),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        assert bindings.open_request(session, STRANGER.id) is not None
        (entry,) = audit.recent(session, action="forged.binding_decision")
        assert entry.actor == "officer:100002"
    assert _binding(bot, STRANGER) is None


async def test_strangers_see_nothing_but_binding(bot: BotHarness) -> None:
    await _seed(bot)
    hint = says("请先发送 /start")
    rows: list[Row] = [
        (OTHER, "/me", [hint]),
        (OTHER, "/menu", [hint]),
        (OTHER, "/requests", [hint]),
        (OTHER, "/grant 100001 admin", [hint]),
        (OTHER, "你好", [hint]),
        (OTHER, Photo(), [hint]),
        (OTHER, "/help", [says("分享手机号")]),
        (OTHER, PressData("menu:profile", answer="请先发送 /start"), []),
        (OTHER, PressData("me:single:1", answer="请先发送 /start"), []),
    ]
    await bot.dialog.play(rows)


async def test_restart_mid_flow_continues_at_the_last_prompt(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """A new Application on the same database picks the officer up at the step they saw."""
    settings = bot_settings(sandbox, database_url)
    add_officer(database, "100001", "王建国", WANG_PHONE)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        dialog = Dialog(client)
        first = build_application(settings, database, load_policy(None))
        async with polling(first, poll_timeout=1):
            await dialog.play(
                [
                    (WANG, "/start", [WELCOME]),
                    (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
                    (WANG, "000000", [says("还可以试 2 次")]),
                ]
            )
        second = build_application(settings, database, load_policy(None))
        async with polling(second, poll_timeout=1):
            await dialog.play(
                [
                    (WANG, "000001", [says("还可以试 1 次")]),
                    (WANG, "100001", [says("绑定成功"), says("请选择")]),
                ]
            )
    with database.session() as session:
        assert officers.bound_officer(session, WANG.id) is not None


ADMIN = Person(7_100_000_005, "孙管理")


async def test_no_phone_number_reaches_the_audit_log(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/start", [WELCOME]),
            (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
            (WANG, "100001", [says("绑定成功"), says("请选择")]),
            (STRANGER, "/start", [WELCOME]),
            (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有")]),
            (STRANGER, "300009", [says("请输入您的姓名")]),
            (STRANGER, "李新人", [says("申请已提交")]),
            (ORGANIZER, None, [says("绑定申请")]),
            *APPROVE_AS_TIANYUAN_WOMAN,
            (STRANGER, None, [says("申请已通过"), says("请选择")]),
        ]
    )
    with bot.database.session() as session:
        entries = audit.recent(session)
    assert {e.action for e in entries} >= {"binding.bind", "binding.request", "binding.approve"}
    for entry in entries:
        for digits in ("13800000001", "13900000009"):
            assert digits not in f"{entry.actor} {entry.target} {entry.detail}"


async def test_a_bound_or_privileged_identity_needs_an_admin(bot: BotHarness) -> None:
    """An organizer cannot hand a bound officer's identity (or an admin's) to a new account."""
    await _seed(bot)
    add_officer(
        bot.database, "900001", "孙立", "+8613800000009", bound_to=ADMIN.id, roles=[Role.ADMIN]
    )
    await bot.meet(ADMIN)
    rows: list[Row] = [
        (STRANGER, "/start", [WELCOME]),
        (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有")]),
        (STRANGER, "900001", [says("请输入您的姓名")]),
        (STRANGER, "孙立", [says("申请已提交")]),
        (
            ORGANIZER,
            None,
            [
                says(
                    "名册中有此警号：孙立",
                    "已绑定另一个 Telegram 账号",
                    "担任工会干部或管理员",
                    "手机号与名册不一致（名册：138****0009）",
                )
            ],
        ),
        (ADMIN, None, [says("绑定申请")]),
        (ORGANIZER, Press("✅ 批准", answer="需由管理员批准"), []),
        (STRANGER, None, []),
        (ADMIN, "/me", [says("孙立", "900001")]),
    ]
    await bot.dialog.play(rows)
    assert _binding(bot, STRANGER) is None
    # An admin may do it (e.g. the officer lost their phone): the old account is told.
    await bot.dialog.play(
        [
            # The admin approves a claim on their own identity: they are the displaced account.
            (ADMIN, Press("✅ 批准"), [says("已与工会会员身份解除绑定"), edits("已批准（孙立）")]),
            (STRANGER, None, [says("申请已通过"), says("请选择")]),
            (ADMIN, "/me", [says("请先发送 /start")]),
        ]
    )
    with bot.database.session() as session:
        officer = officers.by_police_id(session, "900001")
        assert officer is not None and officer.phone == "+8613800000009"  # roster phone kept
        (entry,) = audit.recent(session, action="binding.approve")
        assert entry.actor == "officer:900001" and '"displaced": true' in entry.detail


async def test_request_of_an_applicant_who_bound_meanwhile_is_stale(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/start", [WELCOME]),
            (WANG, Contact("+8613900000009"), [says("名册里暂时没有")]),
            (WANG, "100001", [says("请输入您的姓名")]),
            (WANG, "王建国", [says("申请已提交")]),
            (ORGANIZER, None, [says("绑定申请")]),
        ]
    )
    add_officer(bot.database, "100009", "王建国二", "+8613900000009", bound_to=WANG.id)
    await bot.dialog.play([(ORGANIZER, Press("✅ 批准", answer="此按钮已失效"), [])])
    with bot.database.session() as session:
        (request,) = session.exec(select(BindingRequest)).all()
        assert request.status == RequestStatus.REJECTED
        bound = officers.bound_officer(session, WANG.id)
        assert bound is not None and bound.police_id == "100009"


async def test_photo_at_the_name_step_asks_for_the_name(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (STRANGER, "/start", [WELCOME]),
            (STRANGER, Contact("+8613900000009"), [says("名册里暂时没有")]),
            (STRANGER, "300009", [says("请输入您的姓名")]),
            (STRANGER, Photo(), [says("请输入您的姓名")]),
            (STRANGER, "李新人", [says("申请已提交")]),
        ]
    )


async def test_edited_messages_are_not_answers(bot: BotHarness) -> None:
    """Editing an old message must not count as an answer nor re-run a command."""
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/start", [WELCOME]),
            (WANG, Contact(WANG_PHONE), [says("请输入您的警号")]),
        ]
    )
    edited = Update.de_json(
        {
            "update_id": 900_001,
            "edited_message": {
                "message_id": 1,
                "date": 1_800_000_000,
                "edit_date": 1_800_000_100,
                "chat": {"id": WANG.id, "type": "private", "first_name": WANG.first_name},
                "from": {"id": WANG.id, "is_bot": False, "first_name": WANG.first_name},
                "text": "999999",
            },
        },
        bot.application.bot,
    )
    await bot.application.process_update(edited)
    await bot.dialog.play(
        [
            (WANG, None, []),
            (WANG, "100001", [says("绑定成功"), says("请选择")]),
        ]
    )
    with bot.database.session() as session:
        assert bindings.failures_within(session, WANG.id, timedelta(hours=1)) == 0
