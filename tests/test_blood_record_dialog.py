"""/blood record (登记) by taps, and the interval warning of the dialog and the one-line form."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.app import build_application, polling
from bot.policy import load_policy
from bot.sandbox import Sandbox, SandboxClient
from storage import audit, conversations
from storage import blood as blood_storage
from storage.db import Database
from storage.models import BloodDonation, Officer, Role
from tests.conftest import TEST_TOKEN, BotHarness, add_officer, bot_settings
from tests.dialogs import Dialog, Person, Press, PressData, Row, edits, says

ZHAO = Person(7_710_000_001, "赵干事")
WANG = Person(7_710_000_002, "王警官")
LI = Person(7_710_000_003, "李警官")
LI_TWO = Person(7_710_000_004, "另一位李警官")

TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
COMPONENTS = ["全血", "血小板", "血浆"]
RECORD = "✅ 登记"
FORCE = "⚠️ 仍然登记"
CANCEL = "❌ 取消"
ASK_OFFICER = "请发送献血会员的警号或姓名"


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def shown(on: date) -> str:
    """A day as the warning names it: 11月20日, with the year when it is not this one."""
    if on.year == TODAY.year:
        return f"{on.month}月{on.day}日"
    return f"{on.year}年{on.month}月{on.day}日"


def _donations(database: Database) -> list[tuple[str, date, str, int]]:
    with database.session() as session:
        rows = session.exec(
            select(Officer.police_id, BloodDonation)
            .join(BloodDonation, BloodDonation.officer_id == Officer.id)  # type: ignore[arg-type]
            .order_by(BloodDonation.id)  # type: ignore[arg-type]
        ).all()
    return [(police_id, d.donated_on, d.component, d.amount) for police_id, d in rows]


def _give(database: Database, police_id: str, on: date, component: str, amount: int) -> None:
    """A donation recorded before the dialog (by another organizer, or last month)."""
    with database.session() as session:
        officer = session.exec(select(Officer).where(Officer.police_id == police_id)).one()
        assert officer.id is not None
        assert blood_storage.record(
            session,
            officer_id=officer.id,
            donated_on=on,
            component=component,
            amount=amount,
            recorded_by="test",
        )


async def _seed(bot: BotHarness) -> None:
    add_officer(
        bot.database,
        "100001",
        "王建国",
        "+8613800000001",
        bound_to=WANG.id,
        birthday=date(1985, 3, 12),
    )
    # Two officers of one name in two units, one who left, and an organizer.
    add_officer(bot.database, "100002", "李强", "+8613800000002", unit="芦淞分局", bound_to=LI.id)
    add_officer(
        bot.database, "100005", "李强", "+8613800000005", unit="荷塘分局", bound_to=LI_TWO.id
    )
    add_officer(bot.database, "100003", "张伟", "+8613800000004", active=False)
    add_officer(
        bot.database,
        "200001",
        "赵敏",
        "+8613800000003",
        unit="市局机关",
        bound_to=ZHAO.id,
        roles=[Role.ORGANIZER],
    )
    await bot.meet(WANG, LI, LI_TWO, ZHAO)


async def _button_data(bot: BotHarness, person: Person, text: str) -> tuple[int, str]:
    """Message id and callback data of the newest button with this text."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == text and button.callback_data:
                    return event.message_id, button.callback_data
    raise AssertionError(f"no button {text!r}")


async def _spent(bot: BotHarness, person: Person, button: tuple[int, str]) -> None:
    """Press a button again after it was used: it has expired, and nothing new arrives."""
    message_id, data = button
    await bot.dialog.play(
        [(person, PressData(data, answer="此按钮已失效", message_id=message_id), [])]
    )


# --- the dialog ---------------------------------------------------------------------------


async def test_by_police_id_in_full_width_digits_to_the_donors_thanks(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/blood 登记", [says(ASK_OFFICER)]),
            (
                ZHAO,
                "１００００１",
                [says("会员：王建国（100001，天元分局）", "请选择献血成分", buttons=COMPONENTS)],
            ),
            (
                ZHAO,
                Press("全血"),
                [edits("成分：全血", buttons=["200 毫升", "300 毫升", "400 毫升"])],
            ),
            (
                ZHAO,
                Press("400 毫升"),
                [edits("全血 400 毫升", "哪天献的", buttons=["今天", "昨天"])],
            ),
            (
                ZHAO,
                Press("昨天"),
                [
                    edits(
                        "请核对献血登记",
                        "王建国（100001，天元分局）",
                        f"日期：{day(-1).isoformat()}",
                        "成分：全血 400 毫升",
                        buttons=[RECORD, CANCEL],
                        absent=["⚠️", "仍然登记"],
                    )
                ],
            ),
            (WANG, None, []),
        ]
    )
    spent = await _button_data(bot, ZHAO, RECORD)
    await bot.dialog.play(
        [
            (
                ZHAO,
                Press(RECORD),
                [
                    edits(
                        f"✅ 已登记：王建国（100001）{day(-1).isoformat()} 全血 400 毫升",
                        "已通知本人",
                    )
                ],
            ),
            # The donor hears of it, with totals that name only what was given.
            (
                WANG,
                None,
                [
                    says(
                        f"感谢您 {day(-1).isoformat()} 无偿献血（全血 400 毫升）",
                        "累计献血 1 次：全血 400 毫升。",
                        absent=["血小板", "血浆"],
                    )
                ],
            ),
        ]
    )
    # The preview's button is spent.
    await _spent(bot, ZHAO, spent)
    assert _donations(bot.database) == [("100001", day(-1), "whole_blood", 400)]
    with bot.database.session() as session:
        assert conversations.load_states(session, "blood_record") == {}
        [entry] = audit.recent(session, action="blood.record")
    assert entry.actor == "officer:200001" and entry.target == "officer:100001"


async def test_a_name_shared_by_two_asks_which_one_and_cancel_records_nothing(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ZHAO, "/blood record", [says(ASK_OFFICER)]),
        (
            ZHAO,
            "李强",
            [
                says(
                    "有 2 位会员名叫「李强」",
                    buttons=["李强｜芦淞分局｜100002", "李强｜荷塘分局｜100005"],
                )
            ],
        ),
        (
            ZHAO,
            Press("李强｜荷塘分局｜100005"),
            [edits("会员：李强（100005，荷塘分局）", "请选择献血成分", buttons=COMPONENTS)],
        ),
        # Typed where a button is wanted: the component's name works, anything else is shown
        # the buttons again.
        (ZHAO, "红细胞", [says("请点上面的按钮", buttons=COMPONENTS)]),
        (ZHAO, "血小板", [says("成分：血小板", buttons=["1 个治疗量", "2 个治疗量"])]),
        (ZHAO, "5", [says("只能是 1、2 或 3 个", buttons=["1 个治疗量", "2 个治疗量"])]),
        (ZHAO, "好多", [says("看不懂数量「好多」")]),
        (ZHAO, "２个", [says("血小板 2 个治疗量", "哪天献的", buttons=["今天", "昨天"])]),
        # Dates lean into the past; the future is refused and asked again.
        (ZHAO, "明天", [says("献血日期不能晚于今天", "请重新发送日期", buttons=["今天"])]),
        (ZHAO, day(1).strftime("%Y年%m月%d日"), [says("献血日期不能晚于今天")]),
        (ZHAO, "大前天的前一天", [says("看不懂日期")]),
        (ZHAO, (day(-400)).isoformat(), [says("只能补登一年以内")]),
        # A date without its year is this year's, or last year's if that is still ahead.
        (
            ZHAO,
            f"{day(-3).month}月{day(-3).day}日",
            [says("李强（100005，荷塘分局）", f"日期：{day(-3).isoformat()}", "血小板 2 个治疗量")],
        ),
        (ZHAO, "写点什么", [says("请点上面的按钮", buttons=[RECORD, CANCEL])]),
    ]
    await bot.dialog.play(rows)
    spent = await _button_data(bot, ZHAO, RECORD)
    await bot.dialog.play([(ZHAO, Press(CANCEL), [edits("已取消，没有登记")]), (LI_TWO, None, [])])
    await _spent(bot, ZHAO, spent)
    assert _donations(bot.database) == []


async def test_no_match_says_so_and_asks_again(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/blood 登记", [says(ASK_OFFICER)]),
            (ZHAO, "张三丰", [says("名册中没有找到「张三丰」", "重新发送警号或姓名")]),
            (ZHAO, "999999", [says("名册中没有找到「999999」")]),
            # Someone who left the union cannot be recorded, by ID or by name.
            (ZHAO, "100003", [says("张伟（100003）已不在会员名册中", "重新发送")]),
            (ZHAO, "张伟", [says("名册中没有找到「张伟」")]),
            # Part of a name finds the one officer it belongs to.
            (ZHAO, "建国", [says("王建国（100001，天元分局）", buttons=COMPONENTS)]),
            (ZHAO, "/cancel", [says("已取消")]),
        ]
    )
    assert _donations(bot.database) == []


async def test_words_given_with_the_command_are_filled_in(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (
                ZHAO,
                "/blood 登记 100001 血浆",
                [
                    says(
                        "王建国（100001，天元分局）", "成分：血浆", buttons=["200 毫升", "400 毫升"]
                    )
                ],
            ),
            (ZHAO, "/blood 登记 李强", [says("有 2 位会员名叫「李强」")]),
            (
                ZHAO,
                "/blood 登记 １００００２",
                [says("李强（100002，芦淞分局）", buttons=COMPONENTS)],
            ),
        ]
    )


async def test_only_organizers_record_and_forged_presses_are_audited(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/blood 登记", [says("您没有权限进行此操作")]),
            (WANG, "/blood record 100001 全血 400", [says("您没有权限进行此操作")]),
            (ZHAO, "/blood 登记", [says(ASK_OFFICER)]),
            (ZHAO, "100001", [says("请选择献血成分")]),
        ]
    )
    _, data = await _button_data(bot, ZHAO, "全血")
    await bot.dialog.play(
        [
            (WANG, PressData(data, answer="您没有权限进行此操作"), []),
            # Forged shapes and other drafts' buttons expire.
            (ZHAO, PressData("bldr:abcd1234:component:whole_blood", answer="此按钮已失效"), []),
            (
                ZHAO,
                PressData("bldr:" + data.split(":")[1] + ":amount:400", answer="此按钮已失效"),
                [],
            ),
            (
                ZHAO,
                PressData("bldr:" + data.split(":")[1] + ":component:red", answer="此按钮已失效"),
                [],
            ),
            # The organizer's dialog is still where it was.
            (ZHAO, Press("全血"), [edits("成分：全血")]),
        ]
    )
    with bot.database.session() as session:
        entries = audit.recent(session, action="forged.blood_record")
    assert len(entries) == 1 and entries[0].actor == "officer:100001"
    assert _donations(bot.database) == []


# --- the interval warning -----------------------------------------------------------------


async def test_one_line_inside_the_interval_asks_for_a_second_confirmation(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    platelets_on = day(-12)
    _give(bot.database, "100001", platelets_on, "platelets", 1)
    await bot.dialog.play(
        [
            (
                ZHAO,
                "/blood record 100001 全血 400",
                [
                    says(
                        "请核对献血登记",
                        f"日期：{TODAY.isoformat()}",
                        f"距上次献血小板（{shown(platelets_on)}）仅 12 天，规定间隔 28 天",
                        "仍然登记",
                        buttons=[FORCE, CANCEL],
                        absent=[RECORD],
                    )
                ],
            ),
            # Nothing recorded yet, so the donor hears nothing.
            (WANG, None, []),
        ]
    )
    spent = await _button_data(bot, ZHAO, FORCE)
    await bot.dialog.play(
        [
            (
                ZHAO,
                Press(FORCE),
                [edits("✅ 已登记：王建国（100001）", "全血 400 毫升", "已通知本人")],
            ),
            (WANG, None, [says("感谢您", "累计献血 2 次：全血 400 毫升，血小板 1 个治疗量。")]),
        ]
    )
    # A second press records nothing more.
    await _spent(bot, ZHAO, spent)
    assert _donations(bot.database) == [
        ("100001", platelets_on, "platelets", 1),
        ("100001", TODAY, "whole_blood", 400),
    ]


async def test_a_platelet_donation_past_the_yearly_cap_asks_for_a_second_confirmation(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    # Last year: 24 platelet donations two weeks apart (the cap), the last on 19 November.
    year = TODAY.year - 1
    for week in range(24):
        _give(bot.database, "100001", date(year, 1, 1) + timedelta(days=14 * week), "platelets", 1)
    # A 25th at the end of that year breaks no interval, only the cap.
    late = date(year, 12, 31)
    await bot.dialog.play(
        [
            (
                ZHAO,
                f"/blood record 100001 血小板 1 {late.isoformat()}",
                [
                    says(
                        "请核对献血登记",
                        "超过血小板捐献年度上限",
                        f"这将是{year}年第 25 次血小板捐献，每年最多 24 次",
                        buttons=[FORCE, CANCEL],
                        absent=["不符合献血间隔", RECORD],
                    )
                ],
            ),
            (ZHAO, Press(FORCE), [edits("✅ 已登记：王建国（100001）", "血小板 1 个治疗量")]),
        ]
    )
    assert _donations(bot.database)[-1] == ("100001", late, "platelets", 1)


async def test_dialog_whole_blood_after_175_days_warns_and_cancel_records_nothing(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    whole_on = day(-175)
    _give(bot.database, "100001", whole_on, "whole_blood", 400)
    await bot.dialog.play(
        [
            (ZHAO, "/blood 登记 100001 全血", [says("请选择数量")]),
            (ZHAO, Press("300 毫升"), [edits("哪天献的")]),
            (
                ZHAO,
                Press("今天"),
                [
                    edits(
                        f"距上次献全血（{shown(whole_on)}）仅 175 天，规定间隔 180 天",
                        buttons=[FORCE, CANCEL],
                        absent=[RECORD],
                    )
                ],
            ),
            (ZHAO, Press(CANCEL), [edits("已取消，没有登记")]),
            (WANG, None, []),
        ]
    )
    assert _donations(bot.database) == [("100001", whole_on, "whole_blood", 400)]
    # 登记 pressed on a warned preview (forged: it never shows there) is refused.
    await bot.dialog.play(
        [
            (ZHAO, "/blood 登记 100001 全血", [says("请选择数量")]),
            (ZHAO, Press("300 毫升"), [edits("哪天献的")]),
            (ZHAO, Press("今天"), [edits("仅 175 天")]),
        ]
    )
    message_id, force = await _button_data(bot, ZHAO, FORCE)
    plain = force.replace(":force", ":confirm")
    await bot.dialog.play(
        [(ZHAO, PressData(plain, answer="此按钮已失效", message_id=message_id), [])]
    )
    assert len(_donations(bot.database)) == 1
    await bot.dialog.play(
        [(ZHAO, Press(FORCE), [edits("✅ 已登记")]), (WANG, None, [says("感谢您")])]
    )
    assert len(_donations(bot.database)) == 2


async def test_an_earlier_donation_recorded_late_is_checked_against_the_later_one(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    whole_on, platelets_on = day(-10), day(-30)
    _give(bot.database, "100001", whole_on, "whole_blood", 400)
    await bot.dialog.play(
        [
            (
                ZHAO,
                f"/blood 登记 100001 血小板 1 {platelets_on.isoformat()}",
                [
                    says(
                        f"距之后献全血（{shown(whole_on)}）仅 20 天，规定间隔 28 天",
                        buttons=[FORCE, CANCEL],
                    )
                ],
            ),
            (ZHAO, Press(FORCE), [edits("✅ 已登记", "血小板 1 个治疗量")]),
            (WANG, None, [says("累计献血 2 次：全血 400 毫升，血小板 1 个治疗量。")]),
            # Far enough from both: recorded at once, as the one-line form always did.
            (ZHAO, f"/blood 登记 100001 血小板 2 {day(-60).isoformat()}", [says("✅ 已登记")]),
            (WANG, None, [says("感谢您")]),
        ]
    )
    assert [row[1:] for row in _donations(bot.database)] == [
        (whole_on, "whole_blood", 400),
        (platelets_on, "platelets", 1),
        (day(-60), "platelets", 2),
    ]


async def test_a_donation_recorded_meanwhile_turns_the_preview_into_a_warning(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/blood 登记 100001 全血", [says("请选择数量")]),
            (ZHAO, Press("400 毫升"), [edits("哪天献的")]),
            (ZHAO, Press("今天"), [edits("请核对献血登记", buttons=[RECORD], absent=["⚠️"])]),
        ]
    )
    # Another organizer records platelets of yesterday before 登记 is pressed.
    _give(bot.database, "100001", day(-1), "platelets", 1)
    await bot.dialog.play(
        [
            (
                ZHAO,
                Press(RECORD),
                [
                    edits(
                        "刚登记了这位会员的另一次献血",
                        f"距上次献血小板（{shown(day(-1))}）仅 1 天，规定间隔 28 天",
                        buttons=[FORCE, CANCEL],
                    )
                ],
            ),
            (WANG, None, []),
        ]
    )
    assert len(_donations(bot.database)) == 1


# --- the card -----------------------------------------------------------------------------


async def test_the_card_names_only_what_was_given(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play([(WANG, "/blood", [says("还没有献血记录。每一次献血", absent=["累计"])])])
    _give(bot.database, "100001", day(-200), "plasma", 300)
    await bot.dialog.play(
        [
            (
                WANG,
                "/blood",
                [
                    says(
                        "累计献血 1 次：血浆 300 毫升。",
                        absent=["全血和血浆", "全血 0", "血小板 0", "个治疗量"],
                    )
                ],
            ),
            (ZHAO, "/blood 100002", [says("还没有献血记录。", absent=["累计", "每一次献血"])]),
        ]
    )


# --- a restart between the steps ----------------------------------------------------------


async def test_the_dialog_resumes_after_a_restart(
    sandbox: Sandbox, database: Database, database_url: str
) -> None:
    """Each step is committed before its prompt: a new process continues at the same step."""
    add_officer(database, "100001", "王建国", "+8613800000001", bound_to=WANG.id)
    add_officer(
        database, "200001", "赵敏", "+8613800000003", bound_to=ZHAO.id, roles=[Role.ORGANIZER]
    )
    settings = bot_settings(sandbox, database_url)
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        await client.ensure_user(WANG.as_user())
        dialog = Dialog(client)
        steps: list[list[Row]] = [
            [(ZHAO, "/blood 登记", [says(ASK_OFFICER)])],
            [(ZHAO, "王建国", [says("请选择献血成分")])],
            [(ZHAO, Press("全血"), [edits("成分：全血")])],
            [(ZHAO, "400", [says("哪天献的")])],
            [(ZHAO, "昨天", [says("请核对献血登记", day(-1).isoformat())])],
            [(ZHAO, Press(RECORD), [edits("✅ 已登记")])],
        ]
        for rows in steps:
            application = build_application(settings, database, load_policy(None))
            async with polling(application, poll_timeout=1):
                await dialog.play(rows)
        for _ in range(200):
            if await client.history(WANG.as_user()):
                break
            await asyncio.sleep(0.05)
        assert "感谢您" in (await client.history(WANG.as_user()))[0].text
    assert _donations(database) == [("100001", day(-1), "whole_blood", 400)]
    with database.session() as session:
        assert conversations.load_states(session, "blood_record") == {}


async def test_a_double_press_records_once(bot: BotHarness) -> None:
    await _seed(bot)
    _give(bot.database, "100001", day(-5), "platelets", 1)
    await bot.dialog.play([(ZHAO, "/blood 登记 100001 全血 400", [says("仅 5 天")])])
    message_id, force = await _button_data(bot, ZHAO, FORCE)
    user = ZHAO.as_user()
    first, second = await asyncio.gather(
        bot.client.press_data(user, message_id, force),
        bot.client.press_data(user, message_id, force),
    )
    answers = [await bot.client.callback_answer(q, timeout=10) for q in (first, second)]
    assert sorted(str((a or {}).get("text") or "") for a in answers) == ["", "此按钮已失效"]
    await bot.settle()
    assert len(_donations(bot.database)) == 2
    with bot.database.session() as session:
        assert len(audit.recent(session, action="blood.record")) == 1
