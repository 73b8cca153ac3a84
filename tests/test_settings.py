"""Settings and the policy file: defaults, validation, one clear sentence and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.policy import load_policy
from bot.settings import Settings, SettingsError, load_settings
from storage.crypto import FieldCipher

ENV_NAMES = (
    "TELEGRAM_BOT_TOKEN",
    "NUANJING_API_BASE_URL",
    "NUANJING_DATABASE_URL",
    "NUANJING_TIMEZONE",
    "NUANJING_BROADCAST_RATE",
    "NUANJING_POLICY_FILE",
    "NUANJING_SECRET_KEY",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_defaults() -> None:
    settings = load_settings()
    assert settings.api_base_url == "https://api.telegram.org/bot"
    assert settings.file_base_url == "https://api.telegram.org/file/bot"
    assert settings.database_url == "sqlite:///nuanjing.db"
    assert settings.timezone == "Asia/Shanghai" and settings.broadcast_rate == 25
    assert settings.policy_file is None


def test_environment_and_dotenv(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "TELEGRAM_BOT_TOKEN=42:from-dotenv\nNUANJING_BROADCAST_RATE=10\n", encoding="utf-8"
    )
    monkeypatch.setenv("NUANJING_BROADCAST_RATE", "12.5")
    monkeypatch.setenv("NUANJING_DATABASE_URL", "postgresql://u@127.0.0.1/db")
    settings = load_settings()
    assert settings.token() == "42:from-dotenv"
    assert settings.broadcast_rate == 12.5  # the environment wins over .env
    assert settings.database_url == "postgresql+psycopg://u@127.0.0.1/db"


def test_token_is_secret_in_repr() -> None:
    # Given as a plain string, as the environment gives it.
    given: dict[str, Any] = {"TELEGRAM_BOT_TOKEN": "42:very-secret"}
    settings = Settings(**given)
    assert "very-secret" not in repr(settings) and "very-secret" not in str(settings)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("NUANJING_API_BASE_URL", "ftp://example/bot", "NUANJING_API_BASE_URL is invalid"),
        ("NUANJING_API_BASE_URL", "http://127.0.0.1:8081/", "must end in /bot"),
        ("NUANJING_TIMEZONE", "Mars/Olympus", "unknown time zone"),
        ("NUANJING_BROADCAST_RATE", "0", "NUANJING_BROADCAST_RATE is invalid"),
        ("NUANJING_BROADCAST_RATE", "fast", "NUANJING_BROADCAST_RATE is invalid"),
        ("NUANJING_DATABASE_URL", "mysql://x/y", "NUANJING_DATABASE_URL is invalid"),
    ],
)
def test_bad_settings_fail_in_one_sentence(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings()
    assert "\n" not in str(caught.value)


def test_missing_token() -> None:
    with pytest.raises(SettingsError, match="TELEGRAM_BOT_TOKEN is not set"):
        load_settings().token()


def test_each_default_policy_is_its_own() -> None:
    """The shipped policy is parsed once a process; what one caller changes, the next never sees."""
    first = load_policy(None)
    first.clubs.append("围棋")
    first.greetings.texts["spring"] = "changed"
    first.care.rules.clear()
    second = load_policy(None)
    assert "围棋" not in second.clubs
    assert second.greetings.texts.get("spring") != "changed"
    assert second.care.rules and second == load_policy(None)


def test_policy_default_and_errors(tmp_path: Path) -> None:
    policy = load_policy(None)
    assert policy.union_name == "株洲市公安局工会"
    assert policy.clubs == ["马拉松", "足球", "气排球", "羽毛球", "乒乓球", "瑜伽"]
    hospitalization = [r for r in policy.care.rules if r.event == "hospitalization"]
    assert [(str(r.effective_from), r.amount) for r in hospitalization] == [
        ("2000-01-01", 500),
        ("2018-09-01", 1000),
    ]
    with pytest.raises(SettingsError, match="cannot be read"):
        load_policy(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("union_name = ", encoding="utf-8")
    with pytest.raises(SettingsError, match="not valid TOML"):
        load_policy(broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('union_name = ""\n', encoding="utf-8")
    with pytest.raises(SettingsError, match="bad value at union_name"):
        load_policy(wrong)


def _python(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """This Python with these arguments, none of our settings in its environment but `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in ENV_NAMES}
    return subprocess.run(
        [sys.executable, *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _nuanjing(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return _python("-m", "bot", *args, env=env)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:x", "NUANJING_API_BASE_URL": "nonsense"},
            "NUANJING_API_BASE_URL",
        ),
        ({"TELEGRAM_BOT_TOKEN": "1:x"}, "NUANJING_SECRET_KEY is not set"),
        (
            {"TELEGRAM_BOT_TOKEN": "1:x", "NUANJING_SECRET_KEY": "too-short"},
            "NUANJING_SECRET_KEY is invalid",
        ),
        (
            {
                "TELEGRAM_BOT_TOKEN": "1:x",
                "NUANJING_SECRET_KEY": FieldCipher.generate_key(),
                "NUANJING_POLICY_FILE": "/nonexistent/policy.toml",
            },
            "NUANJING_POLICY_FILE cannot be read",
        ),
    ],
)
def test_run_stops_with_exit_code_2(env: dict[str, str], message: str) -> None:
    result = _nuanjing("run", env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_secret_key_command_prints_a_usable_key() -> None:
    result = _nuanjing("secret-key", env={})
    assert result.returncode == 0
    key = result.stdout.strip()
    assert FieldCipher(key).decrypt(FieldCipher(key).encrypt("病房")) == "病房"
    assert load_settings(NUANJING_SECRET_KEY=key).cipher() is not None


def test_help_and_a_settings_error_load_no_database_code() -> None:
    """`nuanjing --help` and `run` without a token answer before SQLAlchemy, the tables or the
    bot are imported (a third of a second, not a second)."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['nuanjing', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('bot', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    print('exit', exc.code)\n"
        "heavy = ('sqlalchemy', 'sqlmodel', 'storage.models', 'telegram', 'bot.app')\n"
        "print('loaded', [name for name in heavy if name in sys.modules])\n"
    )
    for args, code in ((["--help"], 0), (["run"], 2)):
        done = _python("-c", probe, *args, env={})
        assert done.stdout.splitlines()[-2:] == [f"exit {code}", "loaded []"], done.stderr


def test_help_lists_every_command() -> None:
    result = _nuanjing("--help", env={})
    assert result.returncode == 0
    for command in ("run", "demo", "sandbox", "secret-key", "db", "roster", "grant", "revoke"):
        assert command in result.stdout
