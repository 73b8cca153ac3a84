"""Charity (慈善一日捐) through the real bot and the sandbox: opening a campaign with a preview,
the announcement with 我要认捐, pledging (a suggested sum, a typed one, 每天 X 元 × N 天, a
second pledge replacing the first after confirmation), bad amounts, recording a payment by hand
(the officer is told), importing a payment file sent as a document (bad lines listed with their
numbers and nothing written, then the good lines alone), progress and totals per unit that
never show another officer's amount, the XLSX, closing, forged presses and non-organizers."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from openpyxl import Workbook, load_workbook
from sqlmodel import col, select
from telegram import Bot

from bot.sandbox import Sandbox, SandboxClient
from storage.models import AuditEntry, CharityCampaign, CharityPayment, CharityPledge, Role
from tests.conftest import TEST_TOKEN, BotHarness, add_officer
from tests.dialogs import Action, Dialog, Expect, Person, Press, PressData, Row, edits, says

ZHAO = Person(7_960_000_001, "赵干事")  # organizer, 天元分局
WANG = Person(7_960_000_002, "王警官")  # 天元分局
LI = Person(7_960_000_003, "李警官")  # 交警支队
SUN = Person(7_960_000_004, "孙警官")  # 天元分局


@dataclass(frozen=True)
class Document:
    """Send a file as a document (a payment file)."""

    name: str
    data: bytes


FileRow = tuple[Person, Action | Document, list[Expect]]


class FileDialog(Dialog):
    """The table player, able to send a document too."""

    async def act(self, who: Person, action: Action | Document) -> str | None:
        """Perform one action; a Document is sent as a file."""
        if isinstance(action, Document):
            self.transcript.append(f"{who.first_name}: [文件 {action.name}]")
            await self.client.send_document(who.as_user(), action.name, action.data)
            return None
        return await super().act(who, action)

    async def play(self, rows: Sequence[FileRow]) -> None:
        """Run every row, asserting the bot's answers."""
        await super().play(cast(Sequence[Row], rows))


def _dialog(bot: BotHarness) -> FileDialog:
    return FileDialog(bot.client, settled=bot.settle)


def _today() -> date:
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


async def _seed(bot: BotHarness) -> dict[str, int]:
    def officer(police_id: str, name: str, person: Person, **fields: Any) -> int:
        row = add_officer(
            bot.database, police_id, name, f"+86139{police_id}00", bound_to=person.id, **fields
        )
        assert row.id is not None
        return row.id

    ids = {
        "zhao": officer("300001", "赵敏", ZHAO, gender="F", roles=[Role.ORGANIZER]),
        "wang": officer("300002", "王建国", WANG, gender="M"),
        "li": officer("300003", "李强", LI, gender="M", unit="交警支队"),
        "sun": officer("300004", "孙丽", SUN, gender="F"),
    }
    await bot.meet(ZHAO, WANG, LI, SUN)
    return ids


def _open_campaign() -> list[Row]:
    """/charity 新建 through every step, bad values refused on the way, then 发布."""
    return [
        (ZHAO, "/charity 新建", [says("新建募捐", "请输入募捐名称")]),
        (ZHAO, "慈善天天一捐", [says("募捐年度", buttons=[f"{_today().year}年"])]),
        (ZHAO, "1999", [says("年度请输入去年、今年或明年的年份")]),
        (ZHAO, Press(f"{_today().year}年"), [edits("募捐目标是多少元")]),
        (ZHAO, "-5", [says("金额必须大于 0")]),
        (ZHAO, "30万", [says("建议金额", buttons=["使用默认 50/100/200/500"])]),
        (ZHAO, Press("使用默认 50/100/200/500"), [edits("面向谁", buttons=["全体会员"])]),
        (ZHAO, "全体", [says("请按下方按钮选择", buttons=["全体会员", "某个单位"])]),
        (ZHAO, Press("全体会员"), [edits("认捐截止日期", buttons=["不设截止"])]),
        (ZHAO, "昨天", [says("截止日期已经过去")]),
        (
            ZHAO,
            Press("不设截止"),
            [
                edits(
                    "募捐预览",
                    "慈善募捐：慈善天天一捐",
                    "目标 ¥300,000",
                    "面向全体会员",
                    "¥50、¥100、¥200、¥500",
                    "每天 X 元 × N 天",
                    "不设截止日期",
                    "各单位只公布合计",
                    "将通知 4 位会员",
                    buttons=["✅ 发布", "取消"],
                )
            ],
        ),
        (
            ZHAO,
            Press("✅ 发布"),
            [
                edits("募捐 #1 已发布", "正在通知 4 位会员"),
                says("慈善募捐：慈善天天一捐", buttons=["🙏 我要认捐"]),
            ],
        ),
    ]


ANNOUNCED = says("慈善募捐：慈善天天一捐", "目标 ¥300,000", buttons=["🙏 我要认捐"])


async def test_open_pledge_replace_and_see_only_ones_own(bot: BotHarness) -> None:
    ids = await _seed(bot)
    dialog = _dialog(bot)
    await dialog.play(
        [
            (WANG, "/charity", [says("目前没有进行中的募捐", buttons=["📒 我的认捐"])]),
            *_open_campaign(),
            (WANG, None, [ANNOUNCED]),
            (
                WANG,
                Press("🙏 我要认捐"),
                [says("为「慈善天天一捐」认捐", buttons=["¥50", "¥500", "📅 每天 X 元 × N 天"])],
            ),
            (WANG, "0", [says("金额必须大于 0")]),
            (WANG, "-100", [says("金额必须大于 0")]),
            (WANG, "100.5", [says("以元为单位")]),
            (WANG, "200000", [says("单笔金额不能超过 ¥100,000")]),
            (WANG, "一百", [says("金额请输入数字")]),
            (
                WANG,
                Press("¥100"),
                [edits("请确认您的认捐", "「慈善天天一捐」¥100", buttons=["✅ 确认认捐"])],
            ),
            (WANG, "好的", [says("请按下方按钮选择", buttons=["✅ 确认认捐"])]),
            (WANG, Press("✅ 确认认捐"), [edits("已认捐 ¥100，感谢您的爱心")]),
            # A second pledge says it replaces the first, and does only once confirmed.
            (WANG, Press("🙏 我要认捐"), [says("您已认捐 ¥100，再次认捐将替换原来的认捐")]),
            (WANG, Press("📅 每天 X 元 × N 天"), [edits("每天捐多少元", buttons=["每天 ¥1"])]),
            (WANG, Press("每天 ¥1"), [edits("每天 ¥1，捐多少天", buttons=["365 天"])]),
            (WANG, "400", [says("天数请输入 1–366")]),
            (
                WANG,
                "３６５",
                [says("「慈善天天一捐」¥365（每天 ¥1 × 365 天）", "将替换您之前的认捐 ¥100")],
            ),
            (WANG, Press("✅ 确认认捐"), [edits("已将您的认捐改为 ¥365")]),
            # A forged suggested amount, and a spent confirmation.
            (WANG, PressData("chg:0000:amount:99999", answer="此按钮已失效"), []),
            (LI, None, [ANNOUNCED]),
            (LI, Press("🙏 我要认捐"), [says("为「慈善天天一捐」认捐")]),
            (LI, "５０元", [says("「慈善天天一捐」¥50")]),
            (LI, Press("取消"), [edits("已取消")]),
            (LI, Press("🙏 我要认捐"), [says("为「慈善天天一捐」认捐")]),
            (LI, "50", [says("¥50")]),
            (LI, Press("✅ 确认认捐"), [edits("已认捐 ¥50")]),
        ]
    )
    with bot.database.session() as session:
        pledges = session.exec(select(CharityPledge).order_by(col(CharityPledge.officer_id))).all()
    assert [(p.officer_id, p.amount, p.daily, p.days) for p in pledges] == [
        (ids["wang"], 365, 1, 365),
        (ids["li"], 50, None, None),
    ]
    await dialog.play(
        [
            (SUN, None, [ANNOUNCED]),
            (
                SUN,
                "/charity",
                [
                    says(
                        "进行中的募捐",
                        "慈善天天一捐",
                        "已筹 ¥0 / ¥300,000（0%），0 人",
                        buttons=["💝 慈善天天一捐", "📒 我的认捐"],
                        absent=["➕ 新建募捐"],
                    )
                ],
            ),
            (
                SUN,
                Press("💝 慈善天天一捐"),
                [
                    edits(
                        "已认捐：¥415（2 人）",
                        buttons=["🙏 我要认捐", "📒 我的认捐"],
                        # Nobody's own amount, and no organizer's tools.
                        absent=["¥365", "¥50", "您的认捐", "登记缴款"],
                    )
                ],
            ),
            (
                WANG,
                "/charity",
                [says("慈善天天一捐", buttons=["💝 慈善天天一捐"])],
            ),
            (WANG, Press("💝 慈善天天一捐"), [edits("您的认捐：¥365｜已登记缴款：¥0")]),
            (
                WANG,
                Press("📒 我的认捐"),
                [says("「慈善天天一捐」", "认捐：¥365（每天 ¥1 × 365 天）", "已缴：¥0")],
            ),
        ]
    )


async def test_recording_by_hand_tells_the_officer(bot: BotHarness) -> None:
    ids = await _seed(bot)
    add_officer(bot.database, "300099", "王建国", "+8613900000099", unit="荷塘分局")
    dialog = _dialog(bot)
    await dialog.play(
        [
            *_open_campaign(),
            (WANG, None, [ANNOUNCED]),
            (WANG, Press("🙏 我要认捐"), [says("认捐")]),
            (WANG, Press("¥200"), [edits("¥200")]),
            (WANG, Press("✅ 确认认捐"), [edits("已认捐 ¥200")]),
            (ZHAO, "/charity", [says("募捐管理", "#1 慈善天天一捐", buttons=["➕ 新建募捐"])]),
            (
                ZHAO,
                Press("💝 慈善天天一捐"),
                [edits("已认捐：¥200（1 人）", buttons=["✍️ 登记缴款", "📤 导入缴款"])],
            ),
            (ZHAO, Press("✍️ 登记缴款"), [says("登记「慈善天天一捐」的缴款", "警号或姓名")]),
            (ZHAO, "张无忌", [says("名册里没有找到「张无忌」")]),
            (
                ZHAO,
                "王建国",
                [
                    says(
                        "有 2 位同名会员",
                        buttons=["王建国（300002，天元分局）", "王建国（300099，荷塘分局）"],
                    )
                ],
            ),
            (
                ZHAO,
                Press("王建国（300002，天元分局）"),
                [edits("已认捐 ¥200", buttons=["按认捐 ¥200"])],
            ),
            (ZHAO, Press("按认捐 ¥200"), [edits("缴款日期", buttons=["今天", "昨天"])]),
            (ZHAO, "明天", [says("缴款日期不能晚于今天")]),
            (
                ZHAO,
                Press("昨天"),
                [
                    edits(
                        "请确认登记",
                        "王建国（300002，天元分局）",
                        "金额：¥200",
                        f"日期：{_today() - timedelta(days=1)}",
                    )
                ],
            ),
            (
                ZHAO,
                Press("✅ 确认登记"),
                [edits("已登记：王建国（300002，天元分局） ¥200", buttons=["✍️ 继续登记"])],
            ),
            (WANG, None, [says("工会已登记您为「慈善天天一捐」的捐款 ¥200", "感谢您的爱心")]),
            # A spent confirmation acts once.
            (ZHAO, PressData("chr:0000:confirm:1", answer="此按钮已失效"), []),
            # One by police ID this time, typed amount and date.
            (ZHAO, Press("✍️ 继续登记"), [says("警号或姓名")]),
            (ZHAO, "３０００03", [says("李强（300003，交警支队）", "缴款金额")]),
            (ZHAO, "0", [says("金额必须大于 0")]),
            (ZHAO, "88", [says("缴款日期")]),
            (ZHAO, "今天", [says("金额：¥88")]),
            (ZHAO, Press("✅ 确认登记"), [edits("已登记")]),
            (LI, None, [ANNOUNCED, says("¥88")]),
        ]
    )
    with bot.database.session() as session:
        payments = session.exec(select(CharityPayment).order_by(col(CharityPayment.id))).all()
        audits = session.exec(
            select(AuditEntry.action).where(AuditEntry.action == "charity.payment")
        ).all()
    assert [(p.officer_id, p.amount, p.unit, p.source) for p in payments] == [
        (ids["wang"], 200, "天元分局", "hand"),
        (ids["li"], 88, "交警支队", "hand"),
    ]
    assert len(audits) == 2


async def test_non_organizers_and_forged_presses_are_refused(bot: BotHarness) -> None:
    await _seed(bot)
    dialog = _dialog(bot)
    await dialog.play(
        [
            (LI, "/charity 新建", [says("只有工会干部可以发起募捐")]),
            *_open_campaign(),
            (LI, None, [ANNOUNCED]),
            (LI, PressData("cha:record:1", answer="只有工会干部"), []),
            (LI, PressData("cha:import:1", answer="只有工会干部"), []),
            (LI, PressData("cha:export:1", answer="只有工会干部"), []),
            (LI, PressData("cha:closeok:1", answer="只有工会干部"), []),
            (LI, PressData("chr:abcd1234:confirm:1", answer="只有工会干部"), []),
            (LI, PressData("chs:abcd1234:confirm:", answer="只有工会干部"), []),
            (LI, PressData("cha:pledge:99", answer="这次募捐已不存在"), []),
            (LI, PressData("cha:pledge:-1", answer="此按钮已失效"), []),
            (ZHAO, PressData("cha:show:99", answer="这次募捐已不存在"), []),
        ]
    )
    with bot.database.session() as session:
        forged = session.exec(
            select(AuditEntry.action).where(col(AuditEntry.action).startswith("forged.charity"))
        ).all()
        assert session.exec(select(CharityPayment)).all() == []
    assert len(forged) == 6


async def test_a_unit_campaign_is_for_its_unit_only(bot: BotHarness) -> None:
    await _seed(bot)
    dialog = _dialog(bot)
    await dialog.play(
        [
            (ZHAO, "/charity 新建", [says("请输入募捐名称")]),
            (ZHAO, "交警慈善一日捐", [says("募捐年度")]),
            (ZHAO, str(_today().year), [says("募捐目标")]),
            (ZHAO, "10000", [says("建议金额")]),
            (ZHAO, "20 50 100", [says("面向谁")]),
            (ZHAO, Press("某个单位"), [edits("请选择单位", buttons=["交警支队", "天元分局"])]),
            (ZHAO, Press("交警支队"), [edits("认捐截止日期")]),
            (ZHAO, "明天", [says("面向交警支队", "¥20、¥50、¥100", "认捐截止：", "将通知 1 位")]),
            (ZHAO, Press("✅ 发布"), [edits("正在通知 1 位会员")]),
            (LI, None, [says("交警慈善一日捐", buttons=["🙏 我要认捐"])]),
            (WANG, "/charity", [says("目前没有进行中的募捐")]),
            (WANG, PressData("cha:pledge:1", answer="这次募捐不面向您所在的单位"), []),
            (WANG, PressData("cha:show:1", answer="这次募捐不面向您所在的单位"), []),
        ]
    )
    with bot.database.session() as session:
        campaign = session.exec(select(CharityCampaign)).one()
    assert (campaign.audience, campaign.audience_value, campaign.suggested) == (
        "unit",
        "交警支队",
        "20,50,100",
    )
    assert campaign.ends_on == _today() + timedelta(days=1)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _damaged(workbook: bytes) -> bytes:
    """The workbook with its sheet cut off halfway: it opens, its rows cannot be read."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(workbook)) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2]
            target.writestr(item, data)
    return out.getvalue()


async def test_import_a_payment_file_sent_as_a_document(bot: BotHarness) -> None:
    ids = await _seed(bot)
    today = _today().isoformat()
    bad = (
        "police_id,amount,date\n"
        f"300002,100,{today}\n"
        f"999999,100,{today}\n"
        f"300003,-5,{today}\n"
        f"300004,50,{today}\n"
        "300004,50,not-a-date\n"
    ).encode()
    dialog = _dialog(bot)
    await dialog.play(
        [
            *_open_campaign(),
            (ZHAO, "/charity", [says("募捐管理")]),
            (ZHAO, Press("💝 慈善天天一捐"), [edits("慈善天天一捐")]),
            (ZHAO, Press("📤 导入缴款"), [says("导入「慈善天天一捐」的缴款", "police_id")]),
            (ZHAO, "300002 100", [says("请以文件形式发送")]),
            (ZHAO, Document("缴款.pdf", b"%PDF"), [says("只能导入 .xlsx 或 .csv 文件")]),
            (ZHAO, Document("缴款.csv", b"who,what\n1,2\n"), [says("表头缺少列")]),
            (
                ZHAO,
                Document("缴款.csv", bad),
                [
                    says(
                        "没有导入：5 行中有 3 行有错误",
                        "第 3 行（999999）：名册中没有这个警号",
                        "第 4 行（300003）：金额必须大于 0",
                        "第 6 行（300004）：日期无法识别",
                        buttons=["只导入正确的 2 行", "取消"],
                    )
                ],
            ),
        ]
    )
    with bot.database.session() as session:
        assert session.exec(select(CharityPayment)).all() == []  # nothing half-written
    await dialog.play(
        [
            (ZHAO, Press("只导入正确的 2 行"), [edits("已导入 2 笔缴款，共 ¥150", "跳过了 3 行")]),
            (ZHAO, PressData("chi:0000:skip", answer="此按钮已失效"), []),
        ]
    )
    # The same organizer imports an XLSX with real dates: the line already recorded is not
    # recorded again.
    workbook = _xlsx(
        [
            ["警号", "金额", "日期", "姓名"],
            ["300002", 100, _today()],
            [300003, 1000, _today()],
            ["300001", 20, _today()],
        ]
    )
    await dialog.play(
        [
            (ZHAO, "/charity", [says("募捐管理", "已筹 ¥150 / ¥300,000", "2 人")]),
            (ZHAO, Press("💝 慈善天天一捐"), [edits("已筹：¥150")]),
            (ZHAO, Press("📤 导入缴款"), [says("导入")]),
            (
                ZHAO,
                Document("缴款.xlsx", workbook),
                [says("已导入 2 笔缴款，共 ¥1,020", "另有 1 行此前已登记")],
            ),
            (ZHAO, "/charity", [says("已筹 ¥1,170 / ¥300,000（0.4%），4 人")]),
            # A workbook that opens but whose sheet is damaged: refused in one sentence.
            (ZHAO, Press("💝 慈善天天一捐"), [edits("已筹：¥1,170")]),
            (ZHAO, Press("📤 导入缴款"), [says("导入")]),
            (ZHAO, Document("缴款.xlsx", _damaged(workbook)), [says("文件无法读取")]),
            (ZHAO, "/charity", [says("已筹 ¥1,170 / ¥300,000（0.4%），4 人")]),
            (
                ZHAO,
                Press("💝 慈善天天一捐"),
                [
                    edits(
                        "已筹：¥1,170（0.4%），4 人捐款",
                        "天元分局：¥170（3 人）",
                        # One giver folded alone: their number only, never their amount.
                        "其他单位另有 1 位会员已捐款",
                        "不足 3 人的单位合并列出",
                        absent=["交警支队：", "其他单位合计", "¥1,000（1 人）"],
                    )
                ],
            ),
        ]
    )
    with bot.database.session() as session:
        payments = session.exec(select(CharityPayment).order_by(col(CharityPayment.id))).all()
    assert [(p.officer_id, p.amount, p.source) for p in payments] == [
        (ids["wang"], 100, "import"),
        (ids["sun"], 50, "import"),
        (ids["li"], 1000, "import"),
        (ids["zhao"], 20, "import"),
    ]


async def test_export_and_close(bot: BotHarness) -> None:
    await _seed(bot)
    dialog = _dialog(bot)
    await dialog.play(
        [
            *_open_campaign(),
            (WANG, None, [ANNOUNCED]),
            (WANG, Press("🙏 我要认捐"), [says("认捐")]),
            (WANG, Press("¥500"), [edits("¥500")]),
            (ZHAO, "/charity", [says("募捐管理")]),
            (ZHAO, Press("💝 慈善天天一捐"), [edits("慈善天天一捐")]),
            (ZHAO, Press("📥 导出 XLSX"), [Expect(("认捐与缴款名单", "共 0 人"), "document")]),
            (WANG, Press("✅ 确认认捐"), [edits("已认捐 ¥500")]),
            (ZHAO, Press("📥 导出 XLSX"), [Expect(("共 1 人",), "document")]),
            (ZHAO, Press("⏹ 结束募捐"), [edits("确定结束「慈善天天一捐」吗")]),
            (ZHAO, Press("⏹ 确定结束"), [edits("募捐「慈善天天一捐」已结束", "共筹得 ¥0")]),
            (ZHAO, PressData("cha:closeok:1", answer="这次募捐已经结束"), []),
            (WANG, PressData("cha:pledge:1", answer="这次募捐已经结束"), []),
            (ZHAO, PressData("cha:record:1", answer="这次募捐已经结束"), []),
            (WANG, "/charity", [says("目前没有进行中的募捐")]),
            (WANG, Press("📒 我的认捐"), [says("「慈善天天一捐」", "认捐：¥500")]),
        ]
    )
    history = await bot.client.history(ZHAO.as_user())
    documents = [event for event in history if event.kind == "document"]
    assert documents[-1].document_name == "charity-1.xlsx"
    data = documents[-1].document_bytes
    assert data is not None
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][:4] == ["警号", "姓名", "单位", "认捐（元）"]
    assert rows[1][:7] == ["300002", "王建国", "天元分局", 500, None, None, 0]


async def test_a_document_from_an_officer_has_telegrams_shape(sandbox: Sandbox) -> None:
    """The sandbox hands a user's document to the bot as Telegram does, and the bot can
    download it by its file_id."""
    data = b"police_id,amount,date\n300002,100,2026-12-01\n"
    async with (
        Bot(TEST_TOKEN, base_url=sandbox.api_base_url, base_file_url=sandbox.file_base_url) as tg,
        SandboxClient(sandbox.base_url, TEST_TOKEN) as client,
    ):
        await client.send_document(WANG.as_user(), "缴款.csv", data, caption="十二月")
        [update] = await tg.get_updates()
        message = update.message
        assert message is not None and message.caption == "十二月"
        document = message.document
        assert document is not None
        assert (document.file_name, document.file_size, document.mime_type) == (
            "缴款.csv",
            len(data),
            "text/csv",
        )
        assert document.file_id and document.file_unique_id
        downloaded = await (await tg.get_file(document.file_id)).download_as_bytearray()
        assert bytes(downloaded) == data
