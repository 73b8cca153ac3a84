"""Forged button values with digits that are not ASCII ("²" passes str.isdigit, int() refuses
it): the press expires like any other forged one. handlers.callbacks already refuses them
(its values match [a-z0-9_], ASCII only); the handlers' isascii() guard is a second line."""

from __future__ import annotations

from tests.conftest import BotHarness
from tests.dialogs import Press, PressData, edits, says
from tests.test_blood_record_dialog import ASK_OFFICER, COMPONENTS, ZHAO, _button_data, _seed

STALE = "此按钮已失效"


async def test_a_superscript_pick_or_amount_expires(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(
        [
            (ZHAO, "/blood record", [says(ASK_OFFICER)]),
            (ZHAO, "李强", [says("有 2 位会员名叫「李强」")]),
        ]
    )
    _, pick = await _button_data(bot, ZHAO, "李强｜荷塘分局｜100005")
    flow = pick.split(":")[1]
    await bot.dialog.play(
        [
            (ZHAO, PressData(f"bldr:{flow}:pick:²", answer=STALE), []),
            (ZHAO, Press("李强｜荷塘分局｜100005"), [edits("请选择献血成分", buttons=COMPONENTS)]),
            (ZHAO, Press("全血"), [edits("成分：全血")]),
            (ZHAO, PressData(f"bldr:{flow}:amount:²⁰⁰", answer=STALE), []),
            (ZHAO, Press("400 毫升"), [edits("400 毫升")]),
        ]
    )
