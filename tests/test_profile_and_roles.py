"""Officers' own profile, admins' roles, help and menus, end to end through the sandbox."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup

from bot import texts
from bot.app import announce_commands
from handlers.profile import profile_markup
from storage import audit, officers
from storage import roles as role_storage
from storage.models import Officer, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Contact, Person, Press, PressData, Row, edits, says

WANG = Person(7_200_000_001, "王警官")
ADMIN = Person(7_200_000_002, "孙管理")
QIAN = Person(7_200_000_003, "钱警官")


async def _seed(bot: BotHarness) -> None:
    from datetime import date

    add_officer(
        bot.database,
        "100001",
        "王建国",
        "+8613800000001",
        bound_to=WANG.id,
        birthday=date(1988, 2, 29),
        gender="M",
        blood_group="O",
    )
    add_officer(
        bot.database, "900001", "孙立", "+8613800000009", bound_to=ADMIN.id, roles=[Role.ADMIN]
    )
    add_officer(bot.database, "100003", "钱多多", "+8613800000003", bound_to=QIAN.id)
    await bot.meet(WANG, ADMIN, QIAN)


async def test_profile_card_and_changes(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (
            WANG,
            "/me",
            [
                says(
                    "王建国",
                    "100001",
                    "天元分局",
                    "138****0001",
                    "1988-02-29",
                    "男",
                    "O",
                    "单身交友活动：未开启",
                    "节日生日问候：接收",
                    absent=["13800000001"],
                    buttons=["💞 开启单身交友"],
                )
            ],
        ),
        (
            WANG,
            Press("💞 开启单身交友"),
            [edits("单身交友活动：已报名", buttons=["💞 关闭单身交友"])],
        ),
        # A second press of the old button sets the same value: nothing changes, nothing breaks.
        (WANG, PressData("me:single:1"), []),
        (WANG, Press("🔕 不再接收问候"), [edits("节日生日问候：不接收")]),
        (WANG, Press("🩸 修改血型"), [edits("请选择您的血型", buttons=["O Rh-", "AB", "不清楚"])]),
        (WANG, Press("O Rh-"), [edits("血型：O Rh-")]),
        (WANG, PressData("me:setblood:XX", answer="此按钮已失效"), []),
        (WANG, Press("完成"), [edits("资料已保存")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        officer = officers.by_police_id(session, "100001")
        assert officer is not None
        assert officer.single_opt_in and officer.greetings_opt_out
        assert (officer.blood_group, officer.rh_negative) == ("O", True)
        actions = {entry.action for entry in audit.recent(session)}
        assert {"profile.single", "profile.greet", "profile.setblood"} <= actions


async def test_change_phone_by_contact(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/me", [says("138****0001")]),
        (WANG, Press("📱 更换手机号"), [says("请点下方按钮分享您的新手机号", contact_button=True)]),
        (WANG, "13700000000", [says("请点下方「分享我的手机号」按钮")]),
        (WANG, Contact("+8613700000000", owner=QIAN.id), [says("这不是您本人的号码")]),
        (WANG, Contact("+8613800000003"), [says("已登记在其他会员名下")]),
        (WANG, Press("📱 更换手机号"), [says("请点下方按钮分享")]),
        (
            WANG,
            Contact("+86 137 0000 0000"),
            [says("手机号已更新为 137****0000"), says("我的资料", "137****0000")],
        ),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        officer = officers.by_police_id(session, "100001")
        assert officer is not None and officer.phone == "+8613700000000"


async def test_leaving_a_phone_change_half_way(bot: BotHarness) -> None:
    await _seed(bot)
    ask = says("请点下方按钮分享您的新手机号", contact_button=True)
    rows: list[Row] = [
        (WANG, "/me", [says("我的资料")]),
        (WANG, Press("📱 更换手机号"), [ask]),
        (WANG, "/cancel", [says("已取消")]),
        (WANG, Contact("+8613700000000"), [says("发送 /menu 打开菜单")]),
        (WANG, "/cancel", [says("当前没有进行中的操作")]),
        (WANG, "/me", [says("我的资料")]),
        (WANG, Press("📱 更换手机号"), [ask]),
        (WANG, "/menu", [says("请选择")]),
        (WANG, "你好", [says("发送 /menu 打开菜单")]),
        (WANG, "/me", [says("我的资料")]),
        (WANG, Press("📱 更换手机号"), [ask]),
        (WANG, "/start", [says("请选择")]),
        (WANG, Contact("+8613700000000"), [says("发送 /menu 打开菜单")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        officer = officers.by_police_id(session, "100001")
        assert officer is not None and officer.phone == "+8613800000001"


async def test_admin_grants_and_revokes_in_chat(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (QIAN, "/grant 100001 organizer", [says("没有权限")]),
        (ADMIN, "/grant", [says("用法：/grant 警号 角色")]),
        (ADMIN, "/grant 100001 boss", [says("角色只能是")]),
        (ADMIN, "/grant 555555 organizer", [says("名册中没有警号 555555")]),
        (ADMIN, "/grant 100001 organizer", [says("已授予王建国（100001）工会干部角色")]),
        (WANG, None, [says("您已被授予工会干部角色")]),
        (ADMIN, "/grant 100001 工会干部", [says("已经是工会干部")]),
        (WANG, "/help", [says("/me", "/requests", absent=["/grant"])]),
        (WANG, "/menu", [says("请选择", buttons=["📋 绑定申请"])]),
        (WANG, Press("📋 绑定申请"), [says("目前没有待审核的绑定申请")]),
        (ADMIN, "/revoke 900001 admin", [says("不能撤销自己的管理员角色")]),
        (ADMIN, "/revoke 100001 organizer", [says("已撤销王建国（100001）的工会干部角色")]),
        (WANG, None, [says("您的工会干部角色已撤销")]),
        (WANG, "/requests", [says("没有权限")]),
    ]
    await bot.dialog.play(rows)
    with bot.database.session() as session:
        actions = [entry.action for entry in audit.recent(session)]
        assert actions.count("role.grant") == 1 and actions.count("role.revoke") == 1
        assert "forged.role_change" in actions
        wang = officers.by_police_id(session, "100001")
        assert wang is not None and wang.id is not None
        assert role_storage.roles_of(session, wang.id) == set()


async def test_command_menus_per_role(bot: BotHarness) -> None:
    await _seed(bot)
    default = [name for name, _ in await bot.client.commands()]
    assert default == [
        "start",
        "menu",
        "me",
        "report",
        "myreports",
        "blood",
        "drives",
        "events",
        "clubs",
        "book",
        "retreats",
        "honours",
        "surveys",
        "charity",
        "help",
        "cancel",
    ]
    wang_scope = {"type": "chat", "chat_id": WANG.id}
    await bot.dialog.play(
        [(ADMIN, "/grant 100001 organizer", [says("已授予")]), (WANG, None, [says("您已被授予")])]
    )
    assert "requests" in [name for name, _ in await bot.client.commands(wang_scope)]
    await bot.dialog.play(
        [(ADMIN, "/revoke 100001 organizer", [says("已撤销")]), (WANG, None, [says("已撤销")])]
    )
    assert await bot.client.commands(wang_scope) == []
    # At start-up every privileged chat gets its menu (the admin here was seeded after it).
    admin_scope = {"type": "chat", "chat_id": ADMIN.id}
    assert await bot.client.commands(admin_scope) == []
    await announce_commands(bot.application)  # what start-up does
    admin = [name for name, _ in await bot.client.commands(admin_scope)]
    assert {"requests", "bookings", "grant", "revoke"} <= set(admin)
    assert "staff" not in admin


async def test_help_free_text_and_stale_buttons(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (WANG, "/help", [says("/menu", "/me", "/cancel", absent=["/requests", "/grant"])]),
        (ADMIN, "/help", [says("/requests", "/grant 警号 角色")]),
        (WANG, "今天天气不错", [says("发送 /menu 打开菜单")]),
        (WANG, "/unknowncommand", [says("发送 /menu 打开菜单")]),
        (WANG, PressData("bindreq:x", answer="此按钮已失效"), []),
        (WANG, PressData("a" * 60, answer="此按钮已失效"), []),
        (WANG, "/menu", [says("王建国，您好")]),
        (WANG, Press("❓ 帮助"), [says("/me")]),
        (WANG, Press("👤 我的资料"), [says("我的资料", "100001")]),
    ]
    await bot.dialog.play(rows)


def test_the_card_keyboard_is_built_once_per_choice_and_reads_as_a_plain_one() -> None:
    """The /me keyboard is shared by every officer with the same choices; its JSON is the one
    PTB would make for the same buttons."""
    officer = Officer(police_id="100001", name="王建国", unit="一大队", phone="+8613800000001")
    card = profile_markup(officer)
    assert profile_markup(officer) is card
    assert card.to_dict() == InlineKeyboardMarkup(card.inline_keyboard).to_dict()
    assert card.to_json() == InlineKeyboardMarkup(card.inline_keyboard).to_json()

    officer.greetings_opt_out = True
    greetings_off = profile_markup(officer)
    labels = [button.text for row in greetings_off.inline_keyboard for button in row]
    assert greetings_off is not card and texts.PROFILE_GREETINGS_ON_BUTTON in labels
    organizer = profile_markup(officer, organizer=True)
    labels = [button.text for row in organizer.inline_keyboard for button in row]
    assert texts.PROFILE_DIGEST_OFF_BUTTON in labels
