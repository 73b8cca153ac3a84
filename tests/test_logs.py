"""Issue 15, item 5: one line per event, JSON lines on request, and nothing secret in the log.

The log is captured from the root logger at DEBUG for every logger (PTB's Bot API payloads,
httpx's requests, the sandbox's own) while a real bot binds an officer by the phone they share
and takes a hospitalization report: the ward, the phone, the token and the secret key never
appear, though PTB logs every call's parameters and every update it processes at DEBUG.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot import cli, logs
from handlers.context import services_of
from storage.crypto import FieldCipher
from storage.models import CareCase, Role
from tests.conftest import TEST_SECRET_KEY, TEST_TOKEN, BotHarness, add_officer
from tests.dialogs import Contact, Person, Press, Row, edits, says

WANG = Person(7_951_000_001, "王警官")
ZHAO = Person(7_951_000_002, "赵干事")
WANG_PHONE = "+8613912345678"
ZHAO_PHONE = "+8613787654321"
WARD = "心内科特需病房17床"


FAKE_SHAPED_TOKEN = "7" * 10 + ":" + "Ab3-_x" * 6


@pytest.fixture
def debug_log() -> Iterator[io.StringIO]:
    """Everything every logger says at DEBUG, through the handler `nuanjing` installs."""
    captured = io.StringIO()
    logs.setup(logs.TEXT, level=logging.DEBUG, stream=captured)
    logs.protect(TEST_TOKEN, label="[token]")
    logs.protect(TEST_SECRET_KEY)
    manager = logging.Logger.manager
    before = {
        name: item.level
        for name, item in manager.loggerDict.items()
        if isinstance(item, logging.Logger)
    }
    for name in [*before, "telegram", "httpx", "httpcore", "telegram.ext.ExtBot"]:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root_level = logging.getLogger().level
    yield captured
    logs.teardown()
    logging.getLogger().setLevel(root_level)
    for name, level in before.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Whatever cli.main installs is taken down again."""
    level = logging.getLogger().level
    yield
    logs.teardown()
    logging.getLogger().setLevel(level)


async def test_a_ward_a_phone_and_the_token_never_reach_the_debug_log(
    debug_log: io.StringIO, bot: BotHarness
) -> None:
    add_officer(bot.database, "100001", "王建国", WANG_PHONE)
    add_officer(
        bot.database, "200001", "赵敏", ZHAO_PHONE, bound_to=ZHAO.id, roles=[Role.ORGANIZER]
    )
    await bot.meet(ZHAO)
    yesterday = (datetime.now(UTC) + timedelta(hours=8) - timedelta(days=1)).date()
    rows: list[Row] = [
        (WANG, "/start", [says("欢迎使用暖警", contact_button=True)]),
        # The phone arrives in the update (contact.phone_number) as Telegram writes it.
        (WANG, Contact(WANG_PHONE.removeprefix("+")), [says("请输入您的警号")]),
        (WANG, "100001", [says("绑定成功"), says("请选择")]),
        (WANG, "/report", [says("请选择要申报的事项")]),
        (WANG, Press("住院"), [edits("是为谁申报")]),
        (WANG, Press("为本人"), [says("请输入住院的医院名称")]),
        (WANG, "市中心医院", [says("请输入病区和床号")]),
        (WANG, WARD, [says("请输入入院日期")]),
        (WANG, "昨天", [says("还有需要说明的吗")]),
        (WANG, Press("跳过"), [says("请确认申报内容", WARD)]),
        (WANG, Press("✅ 提交"), [edits("已提交，编号 #1")]),
        (ZHAO, None, [says("慰问申报 #1")]),
    ]
    await bot.dialog.play(rows)
    await bot.settle()
    with bot.database.session() as session:
        (case,) = session.exec(select(CareCase)).all()
        assert services_of(bot.application).cipher.decrypt(case.ward_cipher) == WARD
        assert case.event_date == yesterday
    # httpx logs each request's URL, the token in its path: PTB's own transport, which the bot
    # takes where a proxy needs it, would write such lines.
    async with httpx.AsyncClient() as http:
        await http.post(f"{bot.sandbox.api_base_url}{TEST_TOKEN}/getMe")
    text = debug_log.getvalue()
    # The capture saw PTB's payload logging and httpx's request lines at DEBUG…
    assert "Calling Bot API endpoint `sendMessage` with parameters `[payload: chat_id" in text
    assert "Processing update [Update: " in text and "update_id=" in text
    assert "httpx: HTTP Request: POST" in text and "[token]" in text
    # …and none of what they carried.
    for secret in (WARD, "特需病房", "13912345678", "13787654321", TEST_TOKEN, TEST_SECRET_KEY):
        assert secret not in text, f"{secret!r} reached the log"
    assert "sandbox-test-token" not in text
    assert "gAAAAA" not in text
    # One line per event: every line starts with the time.
    for line in text.splitlines():
        assert datetime.strptime(line[:19], "%Y-%m-%d %H:%M:%S"), line


def test_the_filter_redacts_phones_tokens_keys_and_sealed_values() -> None:
    key = FieldCipher.generate_key()
    sealed = FieldCipher(key).encrypt(WARD)
    redactor = logs.Redactor(["s3cret_webhook_value", key])
    redactor.protect("123456:short-token", label="[token]")
    table = [
        ("phone +8613800138000 shared", "phone [phone] shared"),
        ("phone 8613800138000", "phone [phone]"),
        ("phone 008613800138000", "phone [phone]"),
        ("电话13800138000，谢谢", "电话[phone]，谢谢"),
        ("call 138 0013 8000 or 138-0013-8001", "call [phone] or [phone]"),
        ("+86 139-1234-5678", "[phone]"),
        ("{'phone_number': '8613912345678'}", "{'phone_number': '[phone]'}"),
        (
            # A made-up token of the real shape, built here so no token-like literal is committed.
            f"POST https://api.telegram.org/bot{FAKE_SHAPED_TOKEN}/x",
            "POST https://api.telegram.org/bot[token]/x",
        ),
        ("GET /bot123456:short-token/getMe", "GET /bot[token]/getMe"),
        (f"key={key}", "key=[secret]"),
        ("header s3cret_webhook_value refused", "header [secret] refused"),
        (f"ward_cipher={sealed!r}", "ward_cipher='[sealed]'"),
        # Ids, amounts, dates and times stay: they say which, not what.
        ("update 123456789 of chat -1001950000001", "update 123456789 of chat -1001950000001"),
        ("user 7951000001 paid 1000 on 2026-12-02 20:30", None),
        ("1714567890123 ms", None),
    ]
    for given, wanted in table:
        assert redactor.redact(given) == (given if wanted is None else wanted), given


def test_payload_arguments_are_summarised_not_written() -> None:
    captured = io.StringIO()
    logs.setup(logs.TEXT, level=logging.DEBUG, stream=captured)
    try:
        log = logging.getLogger("telegram.ext.ExtBot")
        log.setLevel(logging.DEBUG)
        log.debug(
            "Calling Bot API endpoint `%s` with parameters `%s`",
            "sendMessage",
            {"chat_id": 5, "text": f"病区：{WARD}"},
        )
        log.debug("Getting updates: %s", [101, 102])
        log.debug("Webhook received data: %s", json.dumps({"update_id": 7, "message": {}}))
        log.debug("lone mapping %s", {"text": WARD})
        log.debug("%(who)s said %(what)s", {"who": "王", "what": {"text": WARD}})
        log.info(b"raw bytes")
        log.debug("malformed %s %s", WARD)
    finally:
        logs.teardown()
    lines = captured.getvalue().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "Calling Bot API endpoint `sendMessage` with parameters `[payload: chat_id, text]`",
        "Getting updates: [101, 102]",
        "Webhook received data: [payload: update_id=7, message]",
        "lone mapping [payload: text]",
        "王 said [payload: text]",
        "[9 bytes]",
        "malformed %s %s [1 arguments]",
    ]


def test_text_lines_keep_todays_format_one_line_per_event() -> None:
    captured = io.StringIO()
    logs.setup(logs.TEXT, stream=captured)
    try:
        log = logging.getLogger("bot.test")
        log.info("two\nlines for %s", "13800138000")
        try:
            raise RuntimeError(f"failed on {WANG_PHONE}")
        except RuntimeError:
            log.exception("update %s failed", 42)
    finally:
        logs.teardown()
    lines = captured.getvalue().splitlines()
    assert len(lines) == 2
    first, second = lines
    assert first[23:] == " INFO bot.test: two\\nlines for [phone]"
    datetime.strptime(first[:23], "%Y-%m-%d %H:%M:%S,%f")
    assert " ERROR bot.test: update 42 failed\\nTraceback (most recent call last):" in second
    assert "RuntimeError: failed on [phone]" in second and "139" not in second


def test_json_lines_parse_one_by_one() -> None:
    captured = io.StringIO()
    sealed = FieldCipher(TEST_SECRET_KEY).encrypt(WARD)
    logs.setup(logs.JSON, stream=captured, secrets=[TEST_SECRET_KEY])
    try:
        log = logging.getLogger("bot.inbox")
        log.info("handled %d updates", 3, extra={"instance": "web-1", "backlog": 0})
        log.warning("a note for %s\nover two lines", "+8613800138000")
        log.info("extra payload", extra={"update": {"message": {"text": WARD}}, "who": sealed})
        try:
            raise ValueError(sealed)
        except ValueError:
            log.exception("failed with key %s", TEST_SECRET_KEY)
    finally:
        logs.teardown()
    text = captured.getvalue()
    lines = text.splitlines()
    assert len(lines) == 4
    entries = [json.loads(line) for line in lines]
    for entry in entries:
        assert set(entry) >= {"time", "level", "logger", "message"}
        moment = datetime.fromisoformat(entry["time"])
        assert moment.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - moment) < timedelta(minutes=1)
        assert entry["logger"] == "bot.inbox"
    first, second, third, fourth = entries
    assert (first["level"], first["message"]) == ("INFO", "handled 3 updates")
    assert (first["instance"], first["backlog"]) == ("web-1", 0)
    assert second["message"] == "a note for [phone]\nover two lines"
    assert third["update"] == "[payload: message]" and third["who"] == "[sealed]"
    assert fourth["level"] == "ERROR" and fourth["message"] == "failed with key [secret]"
    assert "ValueError: [sealed]" in fourth["exception"]
    for secret in (WARD, TEST_SECRET_KEY, "13800138000", sealed):
        assert secret not in text


def test_nuanjing_logs_json_lines_when_asked(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the checkout
    monkeypatch.setenv("NUANJING_DATABASE_URL", f"sqlite:///{tmp_path}/fresh.db")
    monkeypatch.setenv("NUANJING_LOG_FORMAT", "json")
    assert cli.main(["db", "upgrade"]) == cli.EXIT_OK
    err = capsys.readouterr().err
    (line,) = err.splitlines()
    entry = json.loads(line)
    assert entry["message"].startswith("applied migrations: 0001")
    assert (entry["level"], entry["logger"]) == ("INFO", "nuanjing")


def test_an_unknown_log_format_stops_with_one_sentence(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    restore_logging: None,
) -> None:
    monkeypatch.setenv("NUANJING_LOG_FORMAT", "xml")
    assert cli.main(["secret-key"]) == cli.EXIT_CONFIG
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == 'nuanjing: NUANJING_LOG_FORMAT is invalid: must be "text" or "json".\n'
