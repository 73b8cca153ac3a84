"""/stats end to end through the sandbox: years and sections by button, a chart and three lines,
unit contacts limited to their unit, officers refused, the yearly PDF sent in chat."""

from __future__ import annotations

import io
from datetime import date, datetime

from pypdf import PdfReader

from bot import texts
from handlers.callbacks import StatsPick
from storage import audit, blood, care, roles
from storage.crypto import FieldCipher
from storage.models import CaseStatus, Role
from tests.conftest import SHANGHAI, TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Expect, Person, Press, PressData, says

ORG = Person(7_800_000_001, "赵干事")
CONTACT = Person(7_800_000_002, "钱联络员")
OFFICER = Person(7_800_000_003, "孙警官")
THIS_YEAR = datetime.now(SHANGHAI).year
LAST_YEAR = THIS_YEAR - 1
SECTION_BUTTONS = list(texts.STATS_SECTIONS.values())
UNIT_BUTTONS = [name for key, name in texts.STATS_SECTIONS.items() if key != "care"]
REPORT_BUTTON = texts.STATS_REPORT_BUTTON.format(year=LAST_YEAR)


def photo(*fragments: str) -> Expect:
    """A picture whose caption holds the fragments."""
    return Expect(tuple(fragments), "photo")


def _year(year: int, unit: str = "") -> str:
    label = texts.STATS_YEAR_BUTTON.format(year=year)
    return f"{unit} {label}" if unit else label


def _setup(bot: BotHarness) -> None:
    database = bot.database
    add_officer(
        database,
        "S1",
        "赵干事",
        "13900000001",
        unit="市局机关",
        bound_to=ORG.id,
        roles=[Role.ORGANIZER],
    )
    contact = add_officer(
        database, "S2", "钱联络员", "13900000002", unit="天元分局", bound_to=CONTACT.id
    )
    officer = add_officer(
        database, "S3", "孙警官", "13900000003", unit="芦淞分局", bound_to=OFFICER.id
    )
    cipher = FieldCipher(TEST_SECRET_KEY)
    with database.session() as session:
        roles.change_unit_contact(session, "S2", "天元分局", grant_it=True, actor="test")
        first = care.create(
            session,
            care.NewCase(
                int(contact.id or 0),
                int(contact.id or 0),
                "hospitalization",
                date(LAST_YEAR, 3, 1),
                policy_amount=1000,
            ),
            cipher,
        )
        care.advance(session, first, CaseStatus.PAID, actor="test", cipher=cipher)
        care.create(
            session,
            care.NewCase(
                int(officer.id or 0),
                int(officer.id or 0),
                "marriage",
                date(LAST_YEAR, 5, 1),
                policy_amount=1000,
            ),
            cipher,
        )
        for person, ml in ((contact, 400), (officer, 300)):
            blood.record(
                session,
                officer_id=int(person.id or 0),
                donated_on=date(LAST_YEAR, 4, 1),
                component=blood.WHOLE_BLOOD,
                amount=ml,
                recorded_by="test",
            )


async def test_organizers_pick_a_year_and_a_section_and_get_a_chart(bot: BotHarness) -> None:
    _setup(bot)
    await bot.dialog.play(
        [
            (
                ORG,
                "/stats",
                [says(texts.STATS_ASK_YEAR, buttons=[_year(THIS_YEAR), _year(LAST_YEAR)])],
            ),
            (
                ORG,
                Press(_year(LAST_YEAR)),
                [
                    Expect((f"{LAST_YEAR}年 · 全会",), "edit", (*SECTION_BUTTONS, REPORT_BUTTON)),
                ],
            ),
            (
                ORG,
                Press("慰问"),
                [photo("慰问申报 2 件", "已发放 1 件，共 1000 元", "累计慰问 1 人")],
            ),
            (ORG, Press("献血"), [photo("献血 2 人、2 人次，全血和血浆 700 毫升")]),
            (ORG, Press("会员"), [photo("在册 3 人，在职 3 人，已绑定 3 人（100%）")]),
            (ORG, Press("活动"), [photo("活动 0 场", "联谊交友：男 0 人次、女 0 人次报名")]),
        ]
    )
    events = await bot.client.history(ORG.as_user())
    pictures = [event for event in events if event.kind == "photo"]
    assert len(pictures) == 4
    assert all(p.document_bytes and p.document_bytes.startswith(b"\x89PNG") for p in pictures)
    assert all(len(p.text.splitlines()) == 3 for p in pictures)


async def test_unit_contacts_see_their_unit_only(bot: BotHarness) -> None:
    _setup(bot)
    await bot.dialog.play(
        [
            (
                CONTACT,
                "/stats",
                [says(texts.STATS_ASK_YEAR, buttons=[_year(LAST_YEAR, "天元分局")])],
            ),
            (
                CONTACT,
                Press(_year(LAST_YEAR, "天元分局")),
                [
                    Expect((f"{LAST_YEAR}年 · 天元分局",), "edit", tuple(UNIT_BUTTONS)),
                ],
            ),
            (CONTACT, Press("献血"), [photo("献血 1 人、1 人次，全血和血浆 400 毫升")]),
            # No matchmaking by gender for a unit: in a small one it would name a colleague.
            (CONTACT, Press("活动"), [Expect(("活动 0 场",), "photo", absent=("联谊交友",))]),
            # No care section for a unit, and a forged press for it is refused.
            (
                CONTACT,
                PressData(
                    StatsPick("section", LAST_YEAR, "1", "care").pack(),
                    answer=texts.STATS_NOT_ALLOWED,
                ),
                [],
            ),
            # A forged press for the whole union: refused, audited, nothing sent.
            (
                CONTACT,
                PressData(
                    StatsPick("section", LAST_YEAR, "all", "care").pack(),
                    answer=texts.STATS_NOT_ALLOWED,
                ),
                [],
            ),
            (
                CONTACT,
                PressData(
                    StatsPick("section", LAST_YEAR, "2", "care").pack(),
                    answer=texts.STATS_NOT_ALLOWED,
                ),
                [],
            ),
            (CONTACT, f"/stats 报告 {LAST_YEAR}", [says(texts.STATS_REPORT_ORGANIZERS)]),
        ]
    )
    history = await bot.client.history(CONTACT.as_user())
    menu = next(event for event in history if event.kind == "edit")
    assert REPORT_BUTTON not in menu.button_texts()
    assert texts.STATS_SECTIONS["care"] not in menu.button_texts()
    pictures = [event for event in history if event.kind == "photo"]
    assert len(pictures) == 2 and not any("慰问" in p.text for p in pictures)
    with bot.database.session() as session:
        forged = audit.recent(session, action="forged.stats")
    assert len(forged) == 3


async def test_officers_are_refused_in_one_sentence(bot: BotHarness) -> None:
    _setup(bot)
    await bot.dialog.play(
        [
            (OFFICER, "/stats", [says(texts.STATS_NOT_ALLOWED)]),
            (OFFICER, f"/stats 报告 {LAST_YEAR}", [says(texts.STATS_NOT_ALLOWED)]),
            (
                OFFICER,
                PressData(
                    StatsPick("section", LAST_YEAR, "all", "care").pack(),
                    answer=texts.STATS_NOT_ALLOWED,
                ),
                [],
            ),
        ]
    )


async def test_the_yearly_report_comes_as_a_pdf(bot: BotHarness) -> None:
    _setup(bot)
    await bot.dialog.play(
        [
            (
                ORG,
                f"/stats 报告 {LAST_YEAR}年",
                [says(texts.STATS_REPORT_WORKING.format(year=LAST_YEAR))],
            ),
        ]
    )
    (document,) = await bot.client.replies(ORG.as_user(), count=1, timeout=90)
    assert document.kind == "document" and document.document_name == f"report-{LAST_YEAR}.pdf"
    assert "年度报告" in document.text
    assert document.document_bytes is not None
    pdf = PdfReader(io.BytesIO(document.document_bytes))
    # The cover, seven programmes, three units.
    assert len(pdf.pages) == 1 + 7 + 3
    care_page = pdf.pages[2].extract_text()
    assert "慰问" in care_page and "1000" in care_page
    await bot.dialog.play(
        [
            (ORG, "/stats 报告 去年", [says("没看懂年份「去年」")]),
            (ORG, "/stats 随便", [says("/stats 报告")]),
        ]
    )
