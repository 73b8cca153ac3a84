"""Unit contacts (基层工会联络员, issue 12): admins grant and revoke them in chat with a tap on
the unit, or with `nuanjing unit-contact grant|revoke`; forged presses are refused and audited;
the `UNIT_CONTACT` access rule admits contacts only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from handlers.access import ORGANIZER, UNIT_CONTACT
from handlers.callbacks import UnitContactPick
from handlers.common import Caller
from handlers.roles import unit_key
from storage import audit
from storage import roles as role_storage
from storage.db import Database
from storage.models import AuditEntry, Broadcast, Delivery, Officer, Role
from tests.conftest import TEST_SECRET_KEY, BotHarness, add_officer
from tests.dialogs import Person, Press, PressData, Row, edits, says

ADMIN = Person(7_970_000_001, "管理员")
ORG = Person(7_970_000_002, "赵干事")
WANG = Person(7_970_000_011, "王警官")


def _audits(database: Database, action: str) -> list[AuditEntry]:
    with database.session() as session:
        return list(audit.recent(session, action=action, limit=100))


def _units(database: Database, officer: Officer) -> set[str]:
    assert officer.id is not None
    with database.session() as session:
        return role_storage.contact_units_of(session, officer.id)


async def test_admin_grants_and_revokes_a_unit_contact_with_taps(bot: BotHarness) -> None:
    """/grant 警号 联络员 offers the units as buttons; a tap grants, audited and told; /revoke
    offers only the officer's own units."""
    db = bot.database
    add_officer(db, "900001", "陈管理", "+8613800009001", bound_to=ADMIN.id, roles=[Role.ADMIN])
    add_officer(db, "200002", "赵敏", "+8613800002002", bound_to=ORG.id, roles=[Role.ORGANIZER])
    wang = add_officer(db, "100002", "王建国", "+8613800000002", bound_to=WANG.id, unit="交警支队")
    add_officer(db, "100009", "周新", "+8613800000009", unit="高铁派出所")  # not in the policy
    await bot.meet(ADMIN, ORG, WANG)
    rows: list[Row] = [
        (
            ADMIN,
            "/grant 100002 联络员",
            [
                says(
                    "请选择王建国（100002）担任联络员的单位",
                    # The policy's units, then the roster's others.
                    buttons=["市局机关", "天元分局", "交警支队", "指挥中心", "高铁派出所"],
                )
            ],
        ),
        (
            ADMIN,
            Press("交警支队"),
            [edits("已任命王建国（100002）为交警支队基层工会联络员", "已私信告诉本人")],
        ),
        (WANG, None, [says("您已被任命为交警支队基层工会联络员", "推荐")]),
        (ADMIN, "/grant 100002 联络员", [says("请选择王建国（100002）")]),
        (ADMIN, Press("高铁派出所"), [edits("为高铁派出所基层工会联络员")]),
        (WANG, None, [says("您已被任命为高铁派出所基层工会联络员")]),
        # The old message's button again: nothing changes twice.
        (ADMIN, "/grant 100002 联络员", [says("请选择王建国（100002）")]),
        (ADMIN, Press("交警支队"), [edits("王建国（100002）已经是交警支队的联络员")]),
        (
            ADMIN,
            "/revoke 100002 联络员",
            [says("王建国（100002）是以下单位的联络员", buttons=["交警支队", "高铁派出所"])],
        ),
        (ADMIN, Press("交警支队"), [edits("已撤销王建国（100002）的交警支队联络员身份")]),
        (WANG, None, [says("您的交警支队联络员身份已撤销")]),
        (ADMIN, "/grant 999999 联络员", [says("名册中没有警号 999999")]),
        (ADMIN, "/grant 100002", [says("联络员：/grant 警号 联络员")]),
        # Only admins: an organizer is refused, the command audited.
        (ORG, "/grant 100002 联络员", [says("您没有权限进行此操作")]),
        (WANG, "/revoke 100002 联络员", [says("您没有权限进行此操作")]),
    ]
    await bot.dialog.play(rows)
    assert _units(db, wang) == {"高铁派出所"}
    grants = _audits(db, "unit_contact.grant")
    assert [(e.actor, e.target, json.loads(e.detail)) for e in grants] == [
        ("officer:900001", "100002", {"unit": "高铁派出所"}),
        ("officer:900001", "100002", {"unit": "交警支队"}),
    ]
    assert [json.loads(e.detail) for e in _audits(db, "unit_contact.revoke")] == [
        {"unit": "交警支队"}
    ]
    await bot.dialog.play(
        [
            (ADMIN, "/revoke 100002 联络员", [says("是以下单位的联络员", buttons=["高铁派出所"])]),
            (ADMIN, Press("高铁派出所"), [edits("已撤销王建国（100002）的高铁派出所联络员身份")]),
            (WANG, None, [says("您的高铁派出所联络员身份已撤销")]),
            (ADMIN, "/revoke 100002 联络员", [says("王建国（100002）目前不是任何单位的联络员")]),
        ]
    )
    assert _units(db, wang) == set()


async def test_forged_unit_contact_presses_are_refused(bot: BotHarness) -> None:
    """A non-admin's press is refused and audited; a unit digest that matches no unit, or data
    of the wrong shape, changes nothing."""
    db = bot.database
    add_officer(db, "900001", "陈管理", "+8613800009001", bound_to=ADMIN.id, roles=[Role.ADMIN])
    add_officer(db, "200002", "赵敏", "+8613800002002", bound_to=ORG.id, roles=[Role.ORGANIZER])
    wang = add_officer(db, "100002", "王建国", "+8613800000002", bound_to=WANG.id)
    assert wang.id is not None
    await bot.meet(ADMIN, ORG, WANG)
    forged = UnitContactPick(wang.id, unit_key("天元分局"), True).pack()
    nowhere = UnitContactPick(wang.id, unit_key("不存在的单位"), True).pack()
    rows: list[Row] = [
        (ORG, "/start", [says("赵敏")]),
        (ORG, PressData(forged, answer="您没有权限进行此操作"), []),
        (WANG, "/start", [says("王建国")]),
        (WANG, PressData(forged, answer="您没有权限进行此操作"), []),
        (ADMIN, "/start", [says("陈管理")]),
        (ADMIN, PressData(nowhere, answer="这个单位已不在可选范围内"), []),
        (ADMIN, PressData("ucp:1:ZZZZ:1", answer="此按钮已失效"), []),
        (ADMIN, PressData(f"ucp:{wang.id}:{unit_key('天元分局')}:7", answer="此按钮已失效"), []),
        # Revoking a unit the officer is not a contact for: the unit is not among theirs.
        (
            ADMIN,
            PressData(
                UnitContactPick(wang.id, unit_key("天元分局"), False).pack(),
                answer="这个单位已不在可选范围内",
            ),
            [],
        ),
    ]
    await bot.dialog.play(rows)
    assert _units(db, wang) == set()
    forged_entries = _audits(db, "forged.role_change")
    assert len(forged_entries) == 2
    assert _audits(db, "unit_contact.grant") == []


def test_the_unit_contact_rule_admits_contacts_only() -> None:
    """Handlers declare UNIT_CONTACT; it reads the caller's units lazily, once."""
    reads: list[int] = []

    def units() -> frozenset[str]:
        reads.append(1)
        return frozenset({"天元分局"})

    officer = Officer(id=1, police_id="100001", name="甲", unit="天元分局")
    contact = Caller(officer=officer, roles=frozenset(), load_contact_units=units)
    assert UNIT_CONTACT.allows(contact) and UNIT_CONTACT.allows(contact)
    assert reads == [1]
    assert contact.contact_units == {"天元分局"}
    plain = Caller(officer=officer, roles=frozenset())
    assert not UNIT_CONTACT.allows(plain)
    organizer = Caller(officer=officer, roles=frozenset({Role.ORGANIZER}))
    assert not UNIT_CONTACT.allows(organizer) and ORGANIZER.allows(organizer)
    assert UNIT_CONTACT.refusal == "只有基层工会联络员可以进行推荐。"
    assert UNIT_CONTACT.forged == "forged.unit_contact"


def test_unit_keys_fit_the_button_whatever_the_name() -> None:
    """A long unit name still packs within Telegram's 64 bytes."""
    long_name = "株洲市公安局" * 10
    packed = UnitContactPick(2**31 - 1, unit_key(long_name), False).pack()
    assert len(packed.encode()) <= 64
    assert UnitContactPick.unpack(packed) == UnitContactPick(2**31 - 1, unit_key(long_name), False)
    assert unit_key("天元分局") != unit_key("芦淞分局")


def test_cli_grants_and_revokes_a_unit_contact(
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`nuanjing unit-contact grant|revoke POLICE_ID UNIT`: audited, told through the outbox,
    an unknown unit exits 2 naming the units."""
    wang = add_officer(database, "100002", "王建国", "+8613800000002", bound_to=903)
    add_officer(database, "100003", "李强", "+8613800000003", active=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NUANJING_DATABASE_URL", database_url)
    monkeypatch.setenv("NUANJING_SECRET_KEY", TEST_SECRET_KEY)
    monkeypatch.delenv("NUANJING_POLICY_FILE", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        status = main(["unit-contact", *args])
        out, err = capsys.readouterr()
        return status, out, err

    status, out, _ = run("grant", "100002", "天元分局")
    assert (status, out.strip()) == (
        0,
        "100002: contact of 天元分局 granted (the officer is told in chat)",
    )
    assert run("grant", "100002", "天元分局")[1].strip() == (
        "100002: nothing to do (already a contact of 天元分局)"
    )
    status, out, err = run("grant", "100002", "火星分局")
    assert status == 2 and out == ""
    assert "no unit named '火星分局'" in err and "天元分局" in err
    status, _, err = run("grant", "999999", "天元分局")
    assert status == 1 and "no officer with police ID 999999" in err
    status, _, err = run("grant", "100003", "天元分局")
    assert status == 1 and "has left the union" in err
    with database.session() as session:
        assert wang.id is not None
        assert role_storage.contact_units_of(session, wang.id) == {"天元分局"}
        [entry] = audit.recent(session, action="unit_contact.grant")
        [told] = session.exec(select(Broadcast)).all()
        [delivery] = session.exec(select(Delivery)).all()
    assert (entry.actor, entry.target) == ("cli", "100002")
    assert "天元分局基层工会联络员" in told.text and delivery.chat_id == 903
    status, out, _ = run("revoke", "100002", "天元分局")
    assert (status, out.strip()) == (
        0,
        "100002: contact of 天元分局 revoked (the officer is told in chat)",
    )
    assert run("revoke", "100002", "天元分局")[1].strip() == (
        "100002: nothing to do (not a contact of 天元分局)"
    )
    with database.session() as session:
        assert role_storage.contact_units_of(session, wang.id) == set()


def test_cli_help_tells_the_truth(capsys: pytest.CaptureFixture[str]) -> None:
    """`nuanjing unit-contact --help` names the command's arguments and what it does."""
    with pytest.raises(SystemExit) as stopped:
        main(["unit-contact", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    for fragment in ("{grant,revoke}", "police_id", "unit", "基层工会联络员", "exits 2"):
        assert fragment in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "unit-contact" in capsys.readouterr().out
