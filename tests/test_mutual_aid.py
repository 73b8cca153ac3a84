"""Medical mutual aid (医疗互助) through the real bot and the sandbox: /mutualaid's figures,
members added and kept out by hand, a claim recorded (a name with two officers, a scheme not
enrolled, a future date, a note), paid (bad amounts refused, a double press paying once) or
refused with a reason, the member told each step, /me's cover, the XLSX without health
details, the menu, forged presses and non-organizers."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import load_workbook
from sqlmodel import col, select

from storage import mutual_aid as storage
from storage.crypto import FieldCipher
from storage.models import AuditEntry, ClaimStatus, MutualAidClaim, MutualAidEnrolment, Role
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, edits, says

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.now(SHANGHAI).date()
YEAR = TODAY.year
YESTERDAY = TODAY - timedelta(days=1)
CIPHER = FieldCipher(TEST_SECRET_KEY)

ZHAO = Person(7_960_000_001, "赵干事")  # organizer, woman
WANG = Person(7_960_000_002, "王警官")  # man
LI = Person(7_960_000_003, "李警官")  # woman
QIANG = Person(7_960_000_004, "李强甲")  # man, 芦淞分局
QIANG_TWO = Person(7_960_000_005, "李强乙")  # man, 荷塘分局
SUN = Person(7_960_000_006, "孙警官")  # woman, joins after the enrolment run

INPATIENT = "职工住院医疗互助"
WOMEN = "女职工特殊疾病互助"


async def _seed(bot: BotHarness, *, enrol: bool = True) -> dict[str, int]:
    def officer(police_id: str, name: str, person: Person, **fields: Any) -> int:
        row = add_officer(
            bot.database, police_id, name, f"+86139{police_id}00", bound_to=person.id, **fields
        )
        assert row.id is not None
        return row.id

    ids = {
        "zhao": officer("300001", "赵敏", ZHAO, gender="F", roles=[Role.ORGANIZER]),
        "wang": officer("100001", "王建国", WANG, gender="M"),
        "li": officer("100002", "李娜", LI, gender="F"),
        "qiang": officer("100003", "李强", QIANG, gender="M", unit="芦淞分局"),
        "qiang2": officer("100004", "李强", QIANG_TWO, gender="M", unit="荷塘分局"),
    }
    if enrol:
        with bot.database.session() as session:
            storage.enrol(session, YEAR, "inpatient", "all", actor="test")
            storage.enrol(session, YEAR, "women-disease", "women", actor="test")
    ids["sun"] = officer("100010", "孙丽", SUN, gender="F")
    await bot.meet(ZHAO, WANG, LI, QIANG, QIANG_TWO, SUN)
    return ids


async def _button_data(bot: BotHarness, person: Person, text: str) -> tuple[int, str]:
    """Message id and callback data of the newest button with this text."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                if button.text == text and button.callback_data:
                    return event.message_id, button.callback_data
    raise AssertionError(f"no button {text!r}")


def _claims(bot: BotHarness) -> list[MutualAidClaim]:
    with bot.database.session() as session:
        return list(session.exec(select(MutualAidClaim).order_by(col(MutualAidClaim.id))).all())


async def test_a_claim_recorded_then_paid_once(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (
                ZHAO,
                "/mutualaid",
                [
                    says(
                        f"🩺 {YEAR}年医疗互助",
                        f"【{INPATIENT}】参保 5 人",
                        f"【{WOMEN}】参保 2 人",
                        "合计赔付 ¥0",
                        buttons=["📝 登记理赔", "📥 导出 XLSX", f"👥 {INPATIENT}"],
                    )
                ],
            ),
            (ZHAO, Press("📝 登记理赔"), [says(f"登记{YEAR}年理赔", "警号或姓名")]),
            (ZHAO, "不存在的人", [says("没有找到「不存在的人」")]),
            (
                ZHAO,
                "李强",
                [
                    says(
                        "有2位会员叫「李强」",
                        buttons=["李强（芦淞分局，100003）", "李强（荷塘分局，100004）"],
                    )
                ],
            ),
            (
                ZHAO,
                Press("李强（荷塘分局，100004）"),
                [
                    edits(
                        "会员：李强（荷塘分局，100004）",
                        "请选择理赔项目",
                        buttons=[INPATIENT, WOMEN],
                    )
                ],
            ),
            # A scheme he is not enrolled in: one sentence, and the step stays.
            (ZHAO, Press(WOMEN, answer=f"李强未参加{YEAR}年「{WOMEN}」"), []),
            (ZHAO, "随便写的", [says("请点选上面的按钮", buttons=[INPATIENT])]),
            (ZHAO, Press(INPATIENT), [edits("材料是哪天交的", buttons=["今天", "昨天"])]),
            (ZHAO, f"{YEAR + 1}-01-05", [says("日期不能晚于今天", buttons=["今天", "昨天"])]),
            (ZHAO, "哪天呢", [says("没看懂「哪天呢」这个日期")]),
            (ZHAO, Press("昨天"), [edits("可以补充一句备注", buttons=["跳过"])]),
            (
                ZHAO,
                "住院10天，材料齐全",
                [
                    says(
                        "请核对理赔登记",
                        "会员：李强（荷塘分局，100004）",
                        f"项目：{YEAR}年「{INPATIENT}」",
                        f"申请日期：{YESTERDAY.isoformat()}",
                        "备注：住院10天，材料齐全",
                        buttons=["✅ 登记", "❌ 取消"],
                    )
                ],
            ),
        ]
    )
    record = await _button_data(bot, ZHAO, "✅ 登记")
    await bot.dialog.play(
        [
            (ZHAO, Press("✅ 登记"), [edits("已登记理赔 #1", "李强", "已通知本人")]),
            (QIANG_TWO, None, [says("工会已登记您的医疗互助理赔申请（#1", INPATIENT)]),
            # A second press of 登记 records nothing.
            (ZHAO, PressData(record[1], answer="此按钮已失效", message_id=record[0]), []),
        ]
    )
    assert len(_claims(bot)) == 1
    assert await bot.quiet(QIANG) == []  # the other 李强 hears nothing
    await bot.dialog.play(
        [
            (ZHAO, "/mutualaid", [says("待处理 1", buttons=["📋 待处理理赔（1）"])]),
            (
                ZHAO,
                Press("📋 待处理理赔（1）"),
                [
                    edits(
                        f"{YEAR}年待处理理赔（1）",
                        buttons=[f"#1 李强 · {INPATIENT} · {YESTERDAY.isoformat()}"],
                    )
                ],
            ),
            (
                ZHAO,
                Press(f"#1 李强 · {INPATIENT} · {YESTERDAY.isoformat()}"),
                [
                    edits(
                        "理赔 #1",
                        "状态：待处理",
                        "备注：住院10天，材料齐全",
                        buttons=["💰 已赔付", "🚫 不予赔付"],
                    )
                ],
            ),
            (ZHAO, Press("💰 已赔付"), [says("赔付了多少元", "最高 50,000 元")]),
            (ZHAO, "-500", [says("金额不能是负数")]),
            (ZHAO, "0", [says("金额要大于 0 元")]),
            (ZHAO, "9999999", [says("超过每笔理赔最高 50,000 元")]),
            (ZHAO, "3200.5", [says("请按整数元填写")]),
            (ZHAO, "很多", [says("请发送金额数字")]),
            (
                ZHAO,
                "３２００元",
                [says("确认理赔 #1", "李强", "¥3,200", buttons=["✅ 确认赔付", "❌ 取消"])],
            ),
        ]
    )
    confirm = await _button_data(bot, ZHAO, "✅ 确认赔付")
    await bot.dialog.play(
        [
            (ZHAO, Press("✅ 确认赔付"), [edits("理赔 #1 已记为赔付 ¥3,200", "已通知本人")]),
            (QIANG_TWO, None, [says("已赔付 ¥3,200", INPATIENT)]),
            (ZHAO, PressData(confirm[1], answer="此按钮已失效", message_id=confirm[0]), []),
            # The card's button, pressed again: decided already.
            (ZHAO, Press("💰 已赔付", answer="这笔理赔已经处理过了（已赔付）"), []),
            (
                ZHAO,
                "/mutualaid",
                [says("已赔付 1（¥3,200）", "待处理 0", "合计赔付 ¥3,200")],
            ),
        ]
    )
    [claim] = _claims(bot)
    assert (claim.status, claim.amount) == (ClaimStatus.PAID, 3200)
    # The note is sealed at rest.
    assert "材料齐全" not in claim.note_cipher and claim.note_cipher
    with bot.database.session() as session:
        paid = session.exec(select(AuditEntry).where(AuditEntry.action == "mutual_aid.paid")).all()
        assert len(paid) == 1


async def test_a_claim_refused_with_a_reason_the_member_is_told(bot: BotHarness) -> None:
    ids = await _seed(bot)
    with bot.database.session() as session:
        claim = storage.record_claim(
            session, YEAR, "inpatient", ids["wang"], YESTERDAY, "", actor="test", cipher=CIPHER
        )
        assert claim is not None
    await bot.dialog.play(
        [
            (ZHAO, "/mutualaid", [says("待处理 1")]),
            (ZHAO, PressData(f"mac:open:{claim.id}"), [edits("理赔 #1", "备注：无")]),
            (ZHAO, Press("🚫 不予赔付"), [says("不予赔付的原因")]),
            (ZHAO, "不属于住院医疗互助范围", [says("理赔 #1 已记为不予赔付", "已通知本人")]),
            (WANG, None, [says("未能赔付", "原因：不属于住院医疗互助范围")]),
        ]
    )
    [stored] = _claims(bot)
    assert stored.status == ClaimStatus.REFUSED and stored.amount is None
    assert "范围" not in stored.reason_cipher


async def test_members_added_and_kept_out_by_hand_and_their_cover_in_me(
    bot: BotHarness,
) -> None:
    ids = await _seed(bot)
    await bot.dialog.play(
        [
            (WANG, "/me", [says(f"🩺 {YEAR}年医疗互助：{INPATIENT}", absent=[WOMEN])]),
            (ZHAO, "/mutualaid", [says(f"【{WOMEN}】参保 2 人")]),
            (
                ZHAO,
                Press(f"👥 {WOMEN}"),
                [edits("覆盖：女会员", "诊断证明", "参保 2 人", buttons=["➕ 加入", "➖ 移出"])],
            ),
            (ZHAO, Press("➕ 加入"), [says(f"要把谁加入{YEAR}年「{WOMEN}」")]),
            (ZHAO, "12", [says("不是警号")]),
            (ZHAO, "999999", [says("名册中没有警号 999999")]),
            (ZHAO, "100001", [says("王建国（100001）不在「女职工特殊疾病互助」的覆盖范围")]),
            (ZHAO, "１０００１０", [says(f"已将孙丽（100010）加入{YEAR}年「{WOMEN}」")]),
            (SUN, "/me", [says(f"{YEAR}年医疗互助：{WOMEN}", absent=[INPATIENT])]),
            (ZHAO, Press("➖ 移出"), [says(f"要把谁移出{YEAR}年「{WOMEN}」")]),
            (ZHAO, "100002", [says("请简要说明移出李娜（100002）的原因")]),
            (ZHAO, "本人已参加其他保障", [says("已将李娜（100002）移出", "不会再加入")]),
            (LI, "/me", [says(f"{YEAR}年医疗互助：{INPATIENT}", absent=[WOMEN])]),
            (ZHAO, Press("➖ 移出"), [says("要把谁移出")]),
            (ZHAO, "100002", [says("李娜（100002）已被移出")]),
        ]
    )
    with bot.database.session() as session:
        row = session.exec(
            select(MutualAidEnrolment).where(
                MutualAidEnrolment.officer_id == ids["li"],
                MutualAidEnrolment.scheme == "women-disease",
            )
        ).one()
        assert row.status == "excluded" and "保障" not in row.reason_cipher
        # A later run leaves her out.
        assert storage.enrol(session, YEAR, "women-disease", "women", actor="t").added == 0
        assert not storage.is_enrolled(session, YEAR, "women-disease", ids["li"])


async def test_the_export_has_no_health_details(bot: BotHarness) -> None:
    ids = await _seed(bot)
    with bot.database.session() as session:
        claim = storage.record_claim(
            session,
            YEAR,
            "inpatient",
            ids["wang"],
            YESTERDAY,
            "胃出血住院",
            actor="t",
            cipher=CIPHER,
        )
        assert claim is not None and claim.id is not None
        storage.decide(
            session,
            claim.id,
            amount=1800,
            cap=50_000,
            actor="t",
            cipher=CIPHER,
            now=datetime.now(SHANGHAI),
        )
    await bot.dialog.play([(ZHAO, "/mutualaid", [says("合计赔付 ¥1,800")])])
    await bot.client.press(ZHAO.as_user(), "📥 导出 XLSX")
    (document,) = await bot.client.replies(ZHAO.as_user(), count=1, timeout=10)
    assert document.kind == "document" and document.document_name == f"mutual-aid-{YEAR}.xlsx"
    assert "理赔 1 笔" in document.text and "参保 7 人次" in document.text
    assert document.document_bytes is not None
    book = load_workbook(io.BytesIO(document.document_bytes), read_only=True)
    claims, members = book.worksheets
    rows = [list(row) for row in claims.iter_rows(values_only=True)]
    assert rows[0][:4] == ["编号", "年度", "项目", "警号"]
    assert rows[1][2:5] == [INPATIENT, "100001", "王建国"] and rows[1][7:9] == ["已赔付", 1800]
    flat = " ".join(str(cell) for row in rows for cell in row)
    assert "胃出血" not in flat
    assert len(list(members.iter_rows(values_only=True))) == 1 + 7


async def test_the_menu_and_who_may_use_it(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/menu", [says("", buttons=["🩺 医疗互助"])]),
            (ZHAO, Press("🩺 医疗互助"), [says(f"🩺 {YEAR}年医疗互助")]),
            (WANG, "/menu", [says("", absent=[])]),
        ]
    )
    history = await bot.client.history(WANG.as_user())
    assert "🩺 医疗互助" not in history[-1].button_texts()
    await bot.dialog.play(
        [
            (WANG, "/mutualaid", [says("只有工会干部可以管理医疗互助")]),
            (WANG, PressData(f"mai:year:{YEAR}:", answer="只有工会干部"), []),
            (WANG, PressData(f"mai:claim:{YEAR}:", answer="只有工会干部"), []),
            (WANG, PressData("mac:pay:1", answer="只有工会干部"), []),
            (WANG, PressData("mas:abcd1234:pay:", answer="只有工会干部"), []),
            (ZHAO, PressData("mac:pay:999", answer="这笔理赔已不存在"), []),
            (ZHAO, PressData("mac:open:999", answer="这笔理赔已不存在"), []),
            (ZHAO, PressData("mas:abcd1234:pay:", answer="此按钮已失效"), []),
            (ZHAO, PressData("mai:year:1999:", answer="此按钮已失效"), []),
            (ZHAO, PressData(f"mai:scheme:{YEAR}:nope", answer="政策中已没有这个项目"), []),
            (ZHAO, PressData(f"mai:add:{YEAR}:nope", answer="政策中已没有这个项目"), []),
        ]
    )
    with bot.database.session() as session:
        forged = session.exec(
            select(AuditEntry).where(AuditEntry.action == "forged.mutual_aid")
        ).all()
        assert len(forged) == 4
    assert _claims(bot) == []


def test_the_note_is_sealed_in_the_draft_and_registered() -> None:
    from handlers import mutual_aid
    from storage import sealed

    assert mutual_aid.AidDraft.sealed_fields() == ("note",)
    assert sealed.SealedDraft(mutual_aid.NAME, ("note",)) in sealed.SEALED
    assert sealed.SealedColumn(MutualAidClaim, "note_cipher") in sealed.SEALED
    assert sealed.SealedColumn(MutualAidClaim, "reason_cipher") in sealed.SEALED
    assert sealed.SealedColumn(MutualAidEnrolment, "reason_cipher") in sealed.SEALED
