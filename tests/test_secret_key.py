"""The secret key is checked at start-up, and `nuanjing secret-key rotate` re-encrypts everything.

A key check value (a fixed text sealed with the key) is stored at first start; a different,
well-formed key then stops `run` and every command that reads sealed values with one sentence
and exit code 2, before anything is written under it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, col, select

from bot.cli import main
from bot.policy import policy_text_without_quiet_hours
from bot.sandbox import Sandbox, SandboxClient
from storage import care, conversations, keycheck, sealed
from storage.crypto import CipherError, FieldCipher
from storage.db import Database
from storage.models import CareCase, InboxUpdate, Lease, PendingReply, Setting
from storage.types import utcnow
from tests.conftest import TEST_TOKEN, add_officer

OLD_KEY = FieldCipher.generate_key()
NEW_KEY = FieldCipher.generate_key()
OTHER_KEY = FieldCipher.generate_key()
OLD, NEW, OTHER = FieldCipher(OLD_KEY), FieldCipher(NEW_KEY), FieldCipher(OTHER_KEY)
MISMATCH = "NUANJING_SECRET_KEY is not the key this database was first started with"
START_TIMEOUT = 30.0
ENV_NAMES = (
    "TELEGRAM_BOT_TOKEN",
    "NUANJING_API_BASE_URL",
    "NUANJING_DATABASE_URL",
    "NUANJING_TIMEZONE",
    "NUANJING_BROADCAST_RATE",
    "NUANJING_POLICY_FILE",
    "NUANJING_SECRET_KEY",
    "NUANJING_NEW_SECRET_KEY",
)
# Every table that holds sealed values, and the check value's: what "nothing changed" compares.
SNAPSHOT_SQL = (
    "SELECT * FROM care_case ORDER BY id",
    "SELECT name, key, state, draft FROM conversation_state ORDER BY name, key",
    "SELECT update_id, payload FROM update_inbox ORDER BY update_id",
    "SELECT id, payload FROM pending_reply ORDER BY id",
    "SELECT name, value FROM app_setting ORDER BY name",
)
WARD, NOTE = "心内科 3 床", "心肌梗塞，已脱离危险"
DRAFT_KEY = conversations.key_of(7_300_000_001, 7_300_000_001)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def _cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
) -> tuple[int, str, str]:
    """`nuanjing ARGS` in this process with exactly these settings; status, stdout, stderr."""
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    status = main(args)
    out, err = capsys.readouterr()
    return status, out, err


def _snapshot(database: Database) -> list[list[tuple[Any, ...]]]:
    with database.engine.connect() as connection:
        return [[tuple(row) for row in connection.execute(text(sql))] for sql in SNAPSHOT_SQL]


def _stored_check(database: Database) -> str | None:
    with database.session() as session:
        row = session.get(Setting, keycheck.CHECK_NAME)
        return None if row is None else row.value


def _seed(database: Database, cipher: FieldCipher) -> dict[str, int]:
    """Sealed values of every kind, all under `cipher`; ids of what was made."""
    officer = add_officer(database, "100001", "王建国", "+8613800000001", bound_to=7_300_000_001)
    assert officer.id is not None
    with database.session() as session:
        first = care.create(
            session,
            care.NewCase(
                officer_id=officer.id,
                reporter_id=officer.id,
                event="hospitalization",
                event_date=date(2026, 11, 20),
                hospital="市中心医院",
                ward=WARD,
                note=NOTE,
                policy_amount=1000,
            ),
            cipher,
        )
        second = care.create(
            session,
            care.NewCase(
                officer_id=officer.id,
                reporter_id=officer.id,
                event="hospitalization",
                event_date=date(2026, 12, 1),
                hospital="市人民医院",
                ward="骨科 12 床",
                policy_amount=1000,
            ),
            cipher,
        )
        draft = {
            "event": "hospitalization",
            "officer_id": officer.id,
            "hospital": "市中心医院",
            "ward": cipher.encrypt("外科 7 床"),
            "note": cipher.encrypt("术后恢复中"),
        }
        conversations.save(session, "care_report", DRAFT_KEY, "confirm", draft)
        # Another conversation's draft holds nothing sealed and must stay byte for byte.
        conversations.save(session, "profile", DRAFT_KEY, "phone", {"ward": "not sealed"})
        update = {"update_id": 501, "message": {"text": "心内科 3 床"}}
        session.add(
            InboxUpdate(
                update_id=501, user_id=7_300_000_001, payload=cipher.encrypt(json.dumps(update))
            )
        )
        session.add(InboxUpdate(update_id=502, user_id=None, payload=cipher.encrypt("{}")))
        reply = {"method": "sendMessage", "chat_id": 7_300_000_001, "text": "病房：心内科 3 床"}
        session.add(PendingReply(update_id=501, payload=cipher.encrypt(json.dumps(reply))))
    assert first.id is not None and second.id is not None
    return {"first": first.id, "second": second.id}


def _plain(database: Database, cipher: FieldCipher) -> dict[str, Any]:
    """Every sealed value read back with `cipher` (CipherError if one does not match)."""
    with database.session() as session:
        cases = [
            (cipher.decrypt(row.ward_cipher), cipher.decrypt(row.note_cipher))
            for row in _cases(session)
        ]
        draft = conversations.draft(session, "care_report", DRAFT_KEY)
        inbox = [
            cipher.decrypt(row.payload)
            for row in session.exec(select(InboxUpdate).order_by(col(InboxUpdate.update_id)))
        ]
        replies = [
            cipher.decrypt(row.payload)
            for row in session.exec(select(PendingReply).order_by(col(PendingReply.id)))
        ]
    return {
        "cases": cases,
        "draft": {
            **draft,
            "ward": cipher.decrypt(draft["ward"]),
            "note": cipher.decrypt(draft["note"]),
        },
        "inbox": inbox,
        "replies": replies,
    }


def _cases(session: Session) -> list[CareCase]:
    return list(session.exec(select(CareCase).order_by(col(CareCase.id))))


# --- the check value ---------------------------------------------------------------------


def test_first_start_stores_the_check_and_a_different_key_is_refused(database: Database) -> None:
    assert _stored_check(database) is None
    assert keycheck.check_secret_key(database, OLD) is True  # stored now
    stored = _stored_check(database)
    assert stored is not None and OLD_KEY not in stored
    assert OLD.decrypt(stored) == keycheck.CHECK_TEXT
    assert keycheck.check_secret_key(database, OLD) is False  # already there, and it matches
    with pytest.raises(keycheck.KeyMismatchError) as refused:
        keycheck.check_secret_key(database, NEW)
    message = str(refused.value)
    assert message.startswith(MISMATCH) and message.count(". ") == 0 and message.endswith(".")
    assert OLD_KEY not in message and NEW_KEY not in message
    assert _stored_check(database) == stored  # the refused key changed nothing


def test_first_start_refuses_a_key_that_cannot_read_what_is_stored(database: Database) -> None:
    """A database sealed before checks existed: the first check tries the values it holds."""
    _seed(database, OLD)
    with pytest.raises(keycheck.KeyMismatchError) as refused:
        keycheck.check_secret_key(database, NEW)
    assert "care_case.ward_cipher" in str(refused.value)
    assert _stored_check(database) is None
    assert keycheck.check_secret_key(database, OLD) is True
    assert OLD.decrypt(_stored_check(database) or "") == keycheck.CHECK_TEXT


def test_two_first_starts_at_once_agree_on_one_key(database: Database) -> None:
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def start(name: str, cipher: FieldCipher) -> None:
        barrier.wait()
        try:
            keycheck.check_secret_key(database, cipher)
            outcomes[name] = "started"
        except keycheck.KeyMismatchError:
            outcomes[name] = "refused"

    threads = [
        threading.Thread(target=start, args=("old", OLD)),
        threading.Thread(target=start, args=("new", NEW)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes.values()) == ["refused", "started"]
    winner = OLD if outcomes["old"] == "started" else NEW
    assert winner.decrypt(_stored_check(database) or "") == keycheck.CHECK_TEXT


# --- commands that read sealed values refuse a wrong key ----------------------------------


def _bot_process(
    sandbox: Sandbox, database_url: str, key: str, log: Path
) -> subprocess.Popen[bytes]:
    policy = log.with_name("policy-without-quiet-hours.toml")
    policy.write_text(policy_text_without_quiet_hours(), encoding="utf-8")
    env = {
        **{k: v for k, v in os.environ.items() if k not in ENV_NAMES},
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "NUANJING_API_BASE_URL": sandbox.api_base_url,
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": key,
        "NUANJING_POLICY_FILE": str(policy),
    }
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=env,
            stdout=output,
            stderr=output,
            cwd=log.parent,
        )


async def _wait_until_polling(client: SandboxClient) -> None:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        if any(call.method.lower() == "getupdates" for call in await client.calls()):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the bot process did not start polling")


async def _wait_for_exit(process: subprocess.Popen[bytes]) -> int:
    deadline = asyncio.get_running_loop().time() + START_TIMEOUT
    while process.poll() is None:
        if asyncio.get_running_loop().time() > deadline:
            process.kill()
            raise AssertionError("the bot process did not stop")
        await asyncio.sleep(0.1)
    return process.returncode


async def test_run_stores_the_check_then_refuses_a_different_key(
    sandbox: Sandbox, database: Database, database_url: str, tmp_path: Path
) -> None:
    log = tmp_path / "bot.log"
    async with SandboxClient(sandbox.base_url, TEST_TOKEN) as client:
        first = _bot_process(sandbox, database_url, OLD_KEY, log)
        try:
            await _wait_until_polling(client)
            first.send_signal(signal.SIGTERM)
            await _wait_for_exit(first)
        finally:
            if first.poll() is None:
                first.kill()
            first.wait(timeout=10)
        stored = _stored_check(database)
        assert stored is not None and OLD.decrypt(stored) == keycheck.CHECK_TEXT
        seen = len(await client.calls())

        wrong = _bot_process(sandbox, database_url, NEW_KEY, tmp_path / "wrong.log")
        assert await _wait_for_exit(wrong) == 2
        output = (tmp_path / "wrong.log").read_text(encoding="utf-8")
        lines = output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"nuanjing: {MISMATCH}"), output
        assert NEW_KEY not in output and OLD_KEY not in output
        assert "Traceback" not in output
        assert len(await client.calls()) == seen  # it never reached Telegram
    assert _stored_check(database) == stored


def test_run_with_a_wrong_key_exits_2_before_it_starts(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keycheck.check_secret_key(database, OLD)
    env = {
        "TELEGRAM_BOT_TOKEN": TEST_TOKEN,
        "NUANJING_API_BASE_URL": "http://127.0.0.1:9/bot",  # never reached
        "NUANJING_DATABASE_URL": database_url,
        "NUANJING_SECRET_KEY": NEW_KEY,
    }
    status, out, err = _cli(monkeypatch, capsys, ["run"], env)
    assert status == 2 and out == ""
    assert err.strip().splitlines() == [err.strip()] and MISMATCH in err
    assert NEW_KEY not in err and OLD_KEY not in err


def test_export_refuses_a_wrong_key(
    database: Database,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database, OLD)
    keycheck.check_secret_key(database, OLD)
    target = tmp_path / "cases.xlsx"
    args = ["export", "cases", "--from", "2026-01-01", "--to", "2026-12-31", str(target)]
    env = {"NUANJING_DATABASE_URL": database_url, "NUANJING_SECRET_KEY": NEW_KEY}
    status, out, err = _cli(monkeypatch, capsys, args, env)
    assert status == 2 and out == "" and MISMATCH in err
    assert len(err.strip().splitlines()) == 1 and NEW_KEY not in err
    assert not target.exists()
    status, _, err = _cli(monkeypatch, capsys, args, {"NUANJING_DATABASE_URL": database_url})
    assert status == 2 and "NUANJING_SECRET_KEY is not set" in err and not target.exists()
    env["NUANJING_SECRET_KEY"] = OLD_KEY
    status, out, _ = _cli(monkeypatch, capsys, args, env)
    assert status == 0 and "exported 2 cases" in out and target.exists()


# --- rotation ------------------------------------------------------------------------------


def _rotate_env(database_url: str, current: str, new: str | None) -> dict[str, str]:
    env = {"NUANJING_DATABASE_URL": database_url, "NUANJING_SECRET_KEY": current}
    if new is not None:
        env["NUANJING_NEW_SECRET_KEY"] = new
    return env


def test_rotate_reencrypts_every_sealed_value(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database, OLD)
    keycheck.check_secret_key(database, OLD)
    before = _plain(database, OLD)
    untouched = _snapshot(database)[1][1]  # the profile draft, nothing sealed in it
    status, out, err = _cli(
        monkeypatch, capsys, ["secret-key", "rotate"], _rotate_env(database_url, OLD_KEY, NEW_KEY)
    )
    assert status == 0, err
    summary = out.strip()
    assert summary.splitlines() == [summary]
    for part in (
        "care_case.ward_cipher 2",
        "care_case.note_cipher 1",
        "conversation_state.draft[care_report] 2",
        "update_inbox.payload 2",
        "pending_reply.payload 1",
    ):
        assert part in summary
    assert OLD_KEY not in out + err and NEW_KEY not in out + err
    # Everything reads back the same with the new key, and nothing with the old one.
    assert _plain(database, NEW) == before
    assert before["cases"][0] == (WARD, NOTE) and before["draft"]["ward"] == "外科 7 床"
    with pytest.raises(CipherError):
        _plain(database, OLD)
    with database.session() as session:
        for row in _cases(session):
            with pytest.raises(CipherError):
                OLD.decrypt(row.ward_cipher)
        assert _cases(session)[1].note_cipher == ""  # empty stays empty
    assert _snapshot(database)[1][1] == untouched
    # The check value moved with them: the new key starts, the old one is refused.
    assert keycheck.check_secret_key(database, NEW) is False
    with pytest.raises(keycheck.KeyMismatchError):
        keycheck.check_secret_key(database, OLD)


def test_rotate_with_a_wrong_current_key_changes_nothing(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database, OLD)
    keycheck.check_secret_key(database, OLD)
    before = _snapshot(database)
    status, out, err = _cli(
        monkeypatch, capsys, ["secret-key", "rotate"], _rotate_env(database_url, OTHER_KEY, NEW_KEY)
    )
    assert status == 2 and out == "" and MISMATCH in err
    assert len(err.strip().splitlines()) == 1
    assert all(key not in err for key in (OLD_KEY, NEW_KEY, OTHER_KEY))
    assert _snapshot(database) == before
    assert _plain(database, OLD)["cases"][0] == (WARD, NOTE)


def test_rotate_of_a_database_without_a_check_tries_the_stored_values(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database, OLD)
    before = _snapshot(database)
    status, _, err = _cli(
        monkeypatch, capsys, ["secret-key", "rotate"], _rotate_env(database_url, OTHER_KEY, NEW_KEY)
    )
    assert status == 2 and "cannot read" in err and _snapshot(database) == before
    status, _, err = _cli(
        monkeypatch, capsys, ["secret-key", "rotate"], _rotate_env(database_url, OLD_KEY, NEW_KEY)
    )
    assert status == 0, err
    assert _plain(database, NEW)["cases"][0] == (WARD, NOTE)
    assert NEW.decrypt(_stored_check(database) or "") == keycheck.CHECK_TEXT


def test_rotate_stops_at_a_value_the_current_key_cannot_read(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A case sealed under another key (the bug this check prevents) is left to the operator."""
    ids = _seed(database, OLD)
    keycheck.check_secret_key(database, OLD)
    stray = OTHER.encrypt("written under a wrong key")
    with database.engine.begin() as connection:
        connection.execute(
            text("UPDATE care_case SET note_cipher = :value WHERE id = :id"),
            {"value": stray, "id": ids["second"]},
        )
    before = _snapshot(database)
    env = _rotate_env(database_url, OLD_KEY, NEW_KEY)
    status, out, err = _cli(monkeypatch, capsys, ["secret-key", "rotate"], env)
    assert status == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "care_case.note_cipher" in err and "--skip-unreadable" in err
    assert _snapshot(database) == before
    status, out, err = _cli(monkeypatch, capsys, ["secret-key", "rotate", "--skip-unreadable"], env)
    assert status == 0, err
    assert "care_case.note_cipher 1" in out and "1 left unreadable" in out
    with database.session() as session:
        first, second = _cases(session)
    assert NEW.decrypt(first.note_cipher) == NOTE
    assert second.note_cipher == stray  # left as it was
    assert NEW.decrypt(second.ward_cipher) == "骨科 12 床"


@pytest.mark.parametrize(
    ("new", "message"),
    [
        (None, "NUANJING_NEW_SECRET_KEY is not set"),
        ("too-short", "NUANJING_NEW_SECRET_KEY is invalid"),
        (OLD_KEY, "NUANJING_NEW_SECRET_KEY is the current key"),
    ],
    # Stable ids: the key is made anew each run, and parallel workers must collect alike.
    ids=["unset", "too-short", "the-current-key"],
)
def test_rotate_needs_a_new_key(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    new: str | None,
    message: str,
) -> None:
    _seed(database, OLD)
    keycheck.check_secret_key(database, OLD)
    before = _snapshot(database)
    status, out, err = _cli(
        monkeypatch, capsys, ["secret-key", "rotate"], _rotate_env(database_url, OLD_KEY, new)
    )
    assert status == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert OLD_KEY not in err
    assert _snapshot(database) == before


def test_rotate_refuses_while_the_bot_holds_a_lease(
    database: Database,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _seed(database, OLD)
    keycheck.check_secret_key(database, OLD)
    with database.session() as session:
        session.add(
            Lease(name="poller", holder="host:4242", expires_at=utcnow() + timedelta(minutes=1))
        )
    before = _snapshot(database)
    env = _rotate_env(database_url, OLD_KEY, NEW_KEY)
    status, out, err = _cli(monkeypatch, capsys, ["secret-key", "rotate"], env)
    assert status == 1 and out == "" and "poller" in err and "stop" in err
    assert _snapshot(database) == before
    # An expired lease is a bot that is gone.
    with database.session() as session:
        lease = session.get(Lease, "poller")
        assert lease is not None
        lease.expires_at = utcnow() - timedelta(seconds=1)
        session.add(lease)
    status, _, err = _cli(monkeypatch, capsys, ["secret-key", "rotate"], env)
    assert status == 0, err


# --- the command line and the registry ------------------------------------------------------


def test_secret_key_alone_still_prints_a_new_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = _cli(monkeypatch, capsys, ["secret-key"], {})
    key = out.strip()
    assert status == 0 and FieldCipher(key).decrypt(FieldCipher(key).encrypt("病房")) == "病房"


def test_rotate_help_says_where_the_keys_come_from(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["secret-key", "rotate", "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert "NUANJING_SECRET_KEY" in out and "NUANJING_NEW_SECRET_KEY" in out
    assert "one transaction" in out and "--skip-unreadable" in out


def test_the_registry_names_every_sealed_value() -> None:
    """A column named *_cipher, or a draft field the care report seals, must be rotated too."""
    from handlers import care as care_report

    registered = {entry.label for entry in sealed.SEALED}
    for table in SQLModel.metadata.sorted_tables:
        for column in table.columns:
            if column.name.endswith("_cipher"):
                assert f"{table.name}.{column.name}" in registered
    assert {"update_inbox.payload", "pending_reply.payload"} <= registered
    drafts = {
        entry.conversation: set(entry.fields)
        for entry in sealed.SEALED
        if isinstance(entry, sealed.SealedDraft)
    }
    assert set(care_report.SEALED) <= drafts[care_report.NAME]
