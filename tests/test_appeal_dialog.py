"""/appeal as a button dialog (issue 17, item 1): blood type, component, units and deadline by
taps, hospital, address and contact typed, then the preview the one-line form shows."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers import appeals as appeal_handlers
from handlers.appeals import (
    AppealSoFar,
    ArgumentError,
    State,
    deadline_choices,
    parse_start,
    read_moment,
)
from handlers.callbacks import AppealStep
from storage import conversations
from storage.conversations import key_of
from storage.models import BloodAppeal
from tests.conftest import BotHarness
from tests.dialogs import Person, Press, PressData, Row, edits, says
from tests.settling import until
from tests.test_appeals import APPEAL, ASKED, LEFT_OUT, NEW1, ORG, _has, _seed

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOMORROW = datetime.now(SHANGHAI).date() + timedelta(days=1)
BLOOD_BUTTONS = ["A型", "B型", "O型", "AB型", "A阴性", "B阴性", "O阴性", "AB阴性"]
COMPONENT_BUTTONS = ["全血", "血小板", "血浆"]
FIX_BUTTONS = ["✏️ 血型", "✏️ 成分", "✏️ 人数", "✏️ 截止时间", "✏️ 医院", "✏️ 地址", "✏️ 联系人"]
ASK_BLOOD = "需要什么血型"
ASK_COMPONENT = "需要什么成分"
ASK_UNITS = "需要几位献血者"
ASK_DEADLINE = "截止到什么时候"
ASK_HOSPITAL = "在哪家医院"
ASK_ADDRESS = "医院的地址"
ASK_CONTACT = "现场联系人"
PREVIEW = "紧急用血呼吁预览"
STALE = "此按钮已失效"


@pytest.fixture(autouse=True)
def quick_tallies(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tally is edited at most every 0.5 s (as in tests/test_appeals.py)."""
    monkeypatch.setattr(appeal_handlers, "TALLY_EVERY", 0.5)


def _tomorrow_at(hour: int) -> str:
    """How the bot writes tomorrow at that hour: 2026-12-03（周四）08:00."""
    weekday = "一二三四五六日"[TOMORROW.weekday()]
    return f"{TOMORROW.isoformat()}（周{weekday}）{hour:02d}:00"


async def _flow_token(bot: BotHarness, person: Person) -> str:
    """The token the open dialog's buttons carry (read from its newest step message)."""
    for event in reversed(await bot.client.history(person.as_user())):
        for row in event.buttons:
            for button in row:
                data = AppealStep.unpack(button.callback_data)
                if data is not None:
                    return data.flow
    raise AssertionError("no dialog button")


def _committed(bot: BotHarness, person: Person) -> str | None:
    with bot.database.session() as session:
        return conversations.state_of(session, "appeal", key_of(person.id, person.id))


def _draft(bot: BotHarness, person: Person) -> AppealSoFar:
    with bot.database.session() as session:
        stored = conversations.draft(session, "appeal", key_of(person.id, person.id))
    return AppealSoFar.from_json(stored)


def _the_appeal(bot: BotHarness) -> BloodAppeal:
    with bot.database.session() as session:
        [appeal] = session.exec(select(BloodAppeal)).all()
    return appeal


def _taps_to_the_hospital() -> list[Row]:
    """/appeal alone, then O阴性, 血小板, 2 and 明早 by taps."""
    return [
        (ORG, "/appeal", [says(ASK_BLOOD, "Rh阴性", "/cancel", buttons=BLOOD_BUTTONS)]),
        (
            ORG,
            Press("O阴性"),
            [edits("✅ 血型：O型Rh阴性"), says(ASK_COMPONENT, buttons=COMPONENT_BUTTONS)],
        ),
        (
            ORG,
            Press("血小板"),
            [edits("✅ 成分：血小板"), says(ASK_UNITS, buttons=["1", "2", "3", "5", "10"])],
        ),
        (ORG, Press("2"), [edits("✅ 需要：2 人"), says(ASK_DEADLINE, buttons=["明早 8:00"])]),
        (ORG, Press("明早 8:00"), [edits(f"✅ 截止：{_tomorrow_at(8)}"), says(ASK_HOSPITAL)]),
    ]


async def test_the_whole_dialog_by_taps_reaches_the_officers(bot: BotHarness) -> None:
    await _seed(bot)
    rows = _taps_to_the_hospital()
    rows += [
        (ORG, "市中心医院", [says(ASK_ADDRESS)]),
        (ORG, "长沙路1号", [says(ASK_CONTACT)]),
        (
            ORG,
            "张医生 13800000000",
            [
                says(
                    PREVIEW,
                    "血型：O型Rh阴性　成分：血小板　需要：2 人",
                    "医院：市中心医院（长沙路1号）\n联系人：张医生 13800000000",
                    f"截止：{_tomorrow_at(8)}",
                    "将以紧急优先级发送给 4 位",
                    LEFT_OUT,
                    buttons=["✅ 确认发送", "❌ 取消", *FIX_BUTTONS],
                )
            ],
        ),
    ]
    await bot.dialog.play(rows)
    assert _committed(bot, ORG) == State.PREVIEW
    await bot.dialog.play(
        [(ORG, Press("✅ 确认发送"), [says("🆘 紧急用血呼吁 #"), edits("已确认")])]
    )
    for person in ASKED:
        await until(_has(bot, person, APPEAL), what=person.first_name)
    appeal = _the_appeal(bot)
    assert (appeal.blood_group, appeal.rh_negative, appeal.component) == ("O", True, "platelets")
    assert (appeal.units_needed, appeal.hospital, appeal.address) == (2, "市中心医院", "长沙路1号")
    assert appeal.contact == "张医生 13800000000"
    assert appeal.deadline == datetime.combine(TOMORROW, time(8), tzinfo=SHANGHAI)
    assert appeal.created_by == "officer:100001"
    assert _committed(bot, ORG) is None


async def test_each_step_is_committed_before_its_question(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(_taps_to_the_hospital()[:3])
    assert _committed(bot, ORG) == State.UNITS
    draft = _draft(bot, ORG)
    assert (draft.blood_group, draft.rh_negative, draft.component) == ("O", True, "platelets")
    assert draft.units is None and draft.deadline is None


async def test_a_typed_deadline_and_one_in_the_past(bot: BotHarness) -> None:
    await _seed(bot)
    rows = _taps_to_the_hospital()[:4]
    rows += [
        # Past, by words: refused in one sentence, and the question again with its buttons.
        (ORG, "昨天 8点", [says("已经过去了", ASK_DEADLINE, buttons=["明早 8:00"])]),
        (ORG, "今天 0:01", [says("已经过去了", ASK_DEADLINE)]),
        (ORG, "随便吧", [says("看不懂「随便吧」", "明天 晚上8点")]),
        # As people type it on a phone: full-width digits, the time after the day.
        (ORG, "明天　晚上８点", [says(ASK_HOSPITAL)]),
        (ORG, "市中心医院", [says(ASK_ADDRESS)]),
        (ORG, "长沙路1号", [says(ASK_CONTACT)]),
        (ORG, "张医生 13800000000", [says(PREVIEW, f"截止：{_tomorrow_at(20)}")]),
    ]
    await bot.dialog.play(rows)


async def test_a_deadline_button_already_past_is_refused(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(_taps_to_the_hospital()[:4])
    flow = await _flow_token(bot, ORG)
    yesterday = (datetime.now(SHANGHAI) - timedelta(days=1)).strftime("%Y%m%d") + "2000"
    rows: list[Row] = [
        (
            ORG,
            PressData(AppealStep(flow, "deadline", yesterday).pack()),
            [says("已经过去了", ASK_DEADLINE)],
        ),
        (ORG, PressData(AppealStep(flow, "deadline", "2026x").pack(), answer=STALE), []),
        (ORG, Press("明早 8:00"), [edits("✅ 截止"), says(ASK_HOSPITAL)]),
    ]
    await bot.dialog.play(rows)


async def test_a_deadline_passed_while_the_preview_waited_is_asked_again(
    bot: BotHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Confirmed after the deadline: nothing is sent, the deadline is asked again."""
    await _seed(bot)
    rows = _taps_to_the_hospital()
    rows += [
        (ORG, "市中心医院", [says(ASK_ADDRESS)]),
        (ORG, "长沙路1号", [says(ASK_CONTACT)]),
        (ORG, "张医生 13800000000", [says(PREVIEW, f"截止：{_tomorrow_at(8)}")]),
    ]
    await bot.dialog.play(rows)
    # The organizer typed slowly: the bot's clock is now five minutes past the deadline.
    late = datetime.combine(TOMORROW, time(8, 5), tzinfo=SHANGHAI).astimezone(UTC)
    monkeypatch.setattr(appeal_handlers, "utcnow", lambda: late)
    await bot.dialog.play(
        [
            (
                ORG,
                Press("✅ 确认发送"),
                [says("已经过去了", ASK_DEADLINE, buttons=["今晚 20:00", "明早 8:00"])],
            )
        ]
    )
    with bot.database.session() as session:
        assert session.exec(select(BloodAppeal)).all() == []
    assert _committed(bot, ORG) == State.DEADLINE
    draft = _draft(bot, ORG)
    assert draft.deadline is None and draft.hospital == "市中心医院"


async def test_typed_text_at_a_button_step_says_which_button(bot: BotHarness) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (ORG, "/appeal", [says(ASK_BLOOD)]),
        (ORG, "好的", [says("请点上面的按钮选择血型")]),
        (ORG, Press("O阴性"), [edits("✅ 血型"), says(ASK_COMPONENT)]),
        (ORG, "骨髓", [says("请点上面的按钮选择成分")]),
        # The flow stayed at its step: its buttons still work, and the word typed does too.
        (ORG, "血小板", [says(ASK_UNITS)]),
        # Full-width digits, and 人 after the number, for the units.
        (ORG, "0", [says("人数「0」不对", "1–100")]),
        (ORG, "２人", [says(ASK_DEADLINE)]),
    ]
    await bot.dialog.play(rows)
    draft = _draft(bot, ORG)
    assert (draft.component, draft.units) == ("platelets", 2)
    assert _committed(bot, ORG) == State.DEADLINE


async def test_a_partial_one_line_form_continues_at_the_first_missing_field(
    bot: BotHarness,
) -> None:
    await _seed(bot)
    rows: list[Row] = [
        (
            ORG,
            "/appeal O型阴性 血小板 2 明天 晚上8点 市中心医院",
            [
                says(
                    "已记下：血型 O型Rh阴性，成分 血小板，人数 2，"
                    f"截止时间 {_tomorrow_at(20)}，医院 市中心医院",
                    ASK_ADDRESS,
                    absent=["用法"],
                )
            ],
        ),
        (ORG, "长沙路1号", [says(ASK_CONTACT)]),
        (ORG, "张医生 13800000000", [says(PREVIEW, "将以紧急优先级发送给 4 位")]),
        (ORG, "/appeal O- 全血", [says("已记下：血型 O型Rh阴性，成分 全血", ASK_UNITS)]),
        (ORG, "/appeal AB 血小板 3 明天晚上8点", [says("人数 3", ASK_HOSPITAL)]),
        # A word that cannot be read is still refused as the one-line form refuses it.
        (ORG, "/appeal O- 骨髓", [says("看不懂成分「骨髓」", "用法：/appeal")]),
    ]
    await bot.dialog.play(rows)
    assert _committed(bot, ORG) == State.HOSPITAL


async def test_cancel_mid_dialog_and_old_presses(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play(_taps_to_the_hospital()[:3])
    flow = await _flow_token(bot, ORG)
    rows: list[Row] = [
        # A press of an earlier step (its buttons are gone, the data forged back): expired,
        # and the dialog stays where it is.
        (ORG, PressData(AppealStep(flow, "blood", "A+").pack(), answer=STALE), []),
        # Another draft's token, or data that is not a number of donors.
        (ORG, PressData(AppealStep("deadbeef", "units", "3").pack(), answer=STALE), []),
        (ORG, PressData(AppealStep(flow, "units", "999").pack(), answer=STALE), []),
        (ORG, PressData(f"aplc:{flow}:units", answer=STALE), []),
        (ORG, Press("3"), [edits("✅ 需要：3 人"), says(ASK_DEADLINE)]),
        (ORG, "/cancel", [says("已取消")]),
        (ORG, Press("明早 8:00", answer=STALE), []),
    ]
    await bot.dialog.play(rows)
    assert _committed(bot, ORG) is None
    with bot.database.session() as session:
        assert session.exec(select(BloodAppeal)).all() == []


async def test_fix_a_field_from_the_preview(bot: BotHarness) -> None:
    await _seed(bot)
    command = f"/appeal O- 血小板 2 {TOMORROW.isoformat()} 08:00 市中心医院|长沙路1号|张医生"
    rows: list[Row] = [
        (ORG, command, [says(PREVIEW, "需要：2 人", buttons=["✅ 确认发送", *FIX_BUTTONS])]),
        (ORG, Press("✏️ 人数"), [edits("✏️ 修改人数"), says(ASK_UNITS)]),
        (ORG, Press("3"), [edits("✅ 需要：3 人"), says(PREVIEW, "需要：3 人", "市中心医院")]),
        (ORG, Press("✏️ 地址"), [edits("✏️ 修改地址"), says(ASK_ADDRESS)]),
        (ORG, "\u200b\u200b", [says("地址不能为空")]),
        (ORG, "长" * 201, [says("地址最多 200 字，这次有 201 字")]),
        (ORG, "建设路 8 号", [says(PREVIEW, "市中心医院（建设路 8 号）", "需要：3 人")]),
    ]
    await bot.dialog.play(rows)
    await bot.dialog.play(
        [(ORG, Press("✅ 确认发送"), [says("🆘 紧急用血呼吁 #"), edits("已确认")])]
    )
    appeal = _the_appeal(bot)
    assert (appeal.units_needed, appeal.address) == (3, "建设路 8 号")


async def test_the_menu_opens_it_and_the_last_hospital_is_offered(bot: BotHarness) -> None:
    await _seed(bot)
    command = f"/appeal O- 血小板 2 {TOMORROW.isoformat()} 08:00 市中心医院|长沙路1号|张医生"
    await bot.dialog.play([(ORG, command, [says(PREVIEW)])])
    await bot.dialog.play(
        [(ORG, Press("✅ 确认发送"), [says("🆘 紧急用血呼吁 #"), edits("已确认")])]
    )
    rows: list[Row] = [
        (ORG, "/menu", [says("您好", buttons=["🆘 献血呼吁"])]),
        (ORG, Press("🆘 献血呼吁"), [says(ASK_BLOOD, buttons=BLOOD_BUTTONS)]),
        (ORG, Press("A型"), [edits("✅ 血型：A型"), says(ASK_COMPONENT)]),
        (ORG, Press("全血"), [edits("✅ 成分：全血"), says(ASK_UNITS)]),
        (ORG, Press("1"), [edits("✅ 需要：1 人"), says(ASK_DEADLINE)]),
        (ORG, Press("明晚 20:00"), [edits("✅ 截止"), says(ASK_HOSPITAL, buttons=["市中心医院"])]),
        (ORG, Press("市中心医院"), [edits("✅ 医院：市中心医院"), says(ASK_ADDRESS)]),
        (ORG, Press("长沙路1号"), [edits("✅ 地址：长沙路1号"), says(ASK_CONTACT)]),
        (ORG, Press("张医生"), [edits("✅ 联系人：张医生"), says(PREVIEW, "A型", "全血")]),
    ]
    await bot.dialog.play(rows)


async def test_only_organizers_may_start_it(bot: BotHarness) -> None:
    await _seed(bot)
    await bot.dialog.play([(ORG, "/appeal", [says(ASK_BLOOD)])])
    flow = await _flow_token(bot, ORG)
    rows: list[Row] = [
        (NEW1, "/appeal", [says("没有权限")]),
        (NEW1, PressData("menu:appeal", answer="没有权限"), []),
        # An organizer's step pressed (forged) by an officer: refused, nothing is written.
        (NEW1, PressData(AppealStep(flow, "blood", "O-").pack(), answer="没有权限"), []),
        (NEW1, "O-", [says("发送 /menu")]),
    ]
    await bot.dialog.play(rows)
    assert _committed(bot, NEW1) is None
    assert _committed(bot, ORG) == State.BLOOD


# --- the rules the dialog reads by --------------------------------------------------------


def _at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, 2, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "offered"),
    [
        (_at(5), ["今早 8:00", "今晚 20:00", "明早 8:00", "明晚 20:00"]),
        (_at(7, 30), ["今晚 20:00", "明早 8:00", "明晚 20:00"]),
        (_at(10), ["今晚 20:00", "明早 8:00", "明晚 20:00"]),
        # Less than an hour before the evening: tonight is no longer offered.
        (_at(19, 15), ["明早 8:00", "明晚 20:00"]),
        (_at(23, 30), ["明早 8:00", "明晚 20:00"]),
    ],
)
def test_the_deadline_buttons_are_never_in_the_past(now: datetime, offered: list[str]) -> None:
    choices = deadline_choices(now, SHANGHAI)
    assert [label for label, _ in choices] == offered
    assert all(moment - now >= timedelta(hours=1) for _, moment in choices)
    assert choices[-1][1] == datetime(2026, 12, 3, 20, tzinfo=SHANGHAI)


TODAY = date(2026, 12, 2)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("明天 晚上8点", (date(2026, 12, 3), time(20))),
        ("明天晚上8点", (date(2026, 12, 3), time(20))),
        ("明早8点", (date(2026, 12, 3), time(8))),
        ("明晚 8点半", (date(2026, 12, 3), time(20, 30))),
        ("今晚8点", (TODAY, time(20))),
        ("12月5日 20:00", (date(2026, 12, 5), time(20))),
        ("12月5日20:00", (date(2026, 12, 5), time(20))),
        ("１２月５日　２０：００", (date(2026, 12, 5), time(20))),
        ("2026-12-05 8:30", (date(2026, 12, 5), time(8, 30))),
        ("20:30", (TODAY, time(20, 30))),
        ("明天", None),
        ("随便", None),
        ("", None),
    ],
)
def test_a_typed_deadline_reads_as_people_say_it(
    typed: str, expected: tuple[date, time] | None
) -> None:
    assert read_moment(typed, TODAY) == expected


NOON = _at(12)


@pytest.mark.parametrize(
    ("command", "missing"),
    [
        ("", State.BLOOD),
        ("O-", State.COMPONENT),
        ("O- 血小板", State.UNITS),
        ("O- 血小板 ２", State.DEADLINE),
        ("O- 血小板 2 明天", State.DEADLINE),
        ("O- 血小板 2 明天 8点", State.HOSPITAL),
        ("O- 血小板 2 明天晚上8点", State.HOSPITAL),
        ("O- 血小板 2 明天 8点 市中心 医院", State.ADDRESS),
        ("O- 血小板 2 明天晚上8点 市中心医院|长沙路1号|张医生", State.PREVIEW),
        ("O- 血小板 2 2026-12-03 08:00 市中心医院|长沙路1号|张医生", State.PREVIEW),
    ],
)
def test_a_shorter_command_gives_what_it_reaches(command: str, missing: State) -> None:
    draft = parse_start(command.split(), now=NOON, zone=SHANGHAI, flow="t")
    assert draft.missing() == missing
    if missing == State.ADDRESS:
        assert draft.hospital == "市中心 医院"
    if missing == State.PREVIEW:
        whole = draft.complete()
        assert whole is not None and whole.deadline.astimezone(SHANGHAI).date() == date(2026, 12, 3)


@pytest.mark.parametrize(
    ("command", "said"),
    [
        ("X-", "看不懂血型「X-」"),
        ("O- 骨髓", "看不懂成分「骨髓」"),
        ("O- 血小板 0", "人数「0」不对"),
        ("O- 血小板 2 昨天 8点", "已经过去了"),
        ("O- 血小板 2 明天 8点 市中心医院|长沙路1号", "医院|地址|联系人"),
        ("O- 血小板 2 明天 市中心医院", "看不懂截止时间「市中心医院」"),
    ],
)
def test_a_word_given_that_cannot_be_read_is_refused(command: str, said: str) -> None:
    with pytest.raises(ArgumentError, match=said.replace("|", r"\|")):
        parse_start(command.split(), now=NOON, zone=SHANGHAI, flow="t")


def test_a_preview_stored_before_the_dialog_still_reads() -> None:
    """A preview committed by the one-line form before the dialog existed (AppealDraft's keys)."""
    stored = {
        "flow": "0a1b2c3d",
        "blood_group": "O",
        "rh_negative": True,
        "component": "platelets",
        "units": 2,
        "deadline": "2026-12-03T00:00:00+00:00",
        "hospital": "市中心医院",
        "address": "长沙路1号",
        "contact": "张医生",
    }
    draft = AppealSoFar.from_json(stored)
    assert draft.missing() == State.PREVIEW
    whole = draft.complete()
    assert whole is not None and whole.to_json() == stored
    assert draft.without(State.BLOOD).missing() == State.BLOOD
    assert draft.without(State.CONTACT).complete() is None
