"""「资料有误？」 from /me: an officer's note to the union, end to end through the sandbox."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Role, RosterNote
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, edits, says

OFF = Person(7_300_000_001, "王警官")
ORG = Person(7_300_000_002, "赵干事")
ADM = Person(7_300_000_003, "孙管理")
OTHER = Person(7_300_000_004, "钱警官")
NOTE = "生日应为 1985-03-12，花名册上没有"


async def _seed(bot: BotHarness) -> None:
    add_officer(bot.database, "100001", "王小明", "+8613800000001", bound_to=OFF.id)
    add_officer(
        bot.database, "100002", "赵干事", "+8613800000002", bound_to=ORG.id, roles=[Role.ORGANIZER]
    )
    add_officer(
        bot.database, "100003", "孙立", "+8613800000003", bound_to=ADM.id, roles=[Role.ADMIN]
    )
    add_officer(bot.database, "100004", "钱多多", "+8613800000004", bound_to=OTHER.id)
    await bot.meet(OFF, ORG, ADM, OTHER)


def _notes(bot: BotHarness) -> list[RosterNote]:
    with bot.database.session() as session:
        return list(session.exec(select(RosterNote)).all())


async def test_an_officer_tells_the_union_a_roster_field_is_wrong(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (OFF, "/me", [says("王小明", buttons=["资料有误？"])]),
            (
                OFF,
                Press("资料有误？"),
                [says("请用一句话写明哪项资料有误", "最多 100 字", buttons=["❌ 取消"])],
            ),
            # Too long, or nothing but blanks: asked again, nothing filed.
            (OFF, "长" * 101, [says("最多 100 字，这次有 101 字")]),
            (OFF, NOTE, [says("已提交给工会")]),
            (
                ORG,
                None,
                [
                    says(
                        "📝 资料更正 #",
                        "王小明（警号 100001，天元分局）",
                        NOTE,
                        buttons=["✅ 已处理"],
                    )
                ],
            ),
            (ADM, None, [says("📝 资料更正 #", NOTE, buttons=["✅ 已处理"])]),
            # One pending at a time.
            (OFF, Press("资料有误？", answer="还在等工会处理"), []),
        ]
    )
    [note] = _notes(bot)
    assert note.resolved_at is None and NOTE not in note.text_cipher  # sealed
    await bot.dialog.play(
        [
            # An ordinary officer's forged 已处理 is refused and changes nothing.
            (OTHER, "/me", [says("钱多多")]),
            (OTHER, PressData(f"rnd:{note.id}", answer="您没有权限进行此操作。"), []),
        ]
    )
    assert _notes(bot)[0].resolved_at is None
    await bot.dialog.play(
        [
            (ORG, Press("✅ 已处理", answer="已标记为已处理"), [edits(NOTE, "✅ 已处理。")]),
            (OFF, None, [says("工会已处理您提交的资料更正")]),
            (ADM, Press("✅ 已处理", answer="这条更正已经处理过了"), []),
            # Done: another may be filed; 取消 drops it.
            (OFF, Press("资料有误？"), [says("请用一句话写明哪项资料有误")]),
            (OFF, Press("❌ 取消"), [edits("已取消，没有提交")]),
            (OFF, "随便说一句", [says()]),
        ]
    )
    [done] = _notes(bot)
    assert done.resolved_at is not None and done.resolved_by == "officer:100002"


async def test_the_note_flow_is_dropped_by_cancel(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (OFF, "/me", [says("王小明")]),
            (OFF, Press("资料有误？"), [says("请用一句话写明哪项资料有误")]),
            (OFF, "/cancel", [says()]),
            (OFF, NOTE, [says(absent=["已提交给工会"])]),
        ]
    )
    assert _notes(bot) == []
