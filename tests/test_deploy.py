"""Issue 15, item 6: the files in deploy/ name what exists.

The systemd units run `nuanjing` subcommands the CLI's own parser accepts; the settings example
holds exactly the settings bot/settings.py reads (read at run time, so a setting added there
must be documented here); nginx proxies the path of the example's NUANJING_WEBHOOK_URL to its
NUANJING_HTTP_LISTEN and keeps /healthz and /metrics off the internet.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench.updates import DEPLOYED_OPTIMIZE
from bot import cli
from bot.settings import Settings
from storage.crypto import FieldCipher

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
README = DEPLOY.parent / "README.md"
SECRETS = ("TELEGRAM_BOT_TOKEN", "NUANJING_SECRET_KEY", "NUANJING_WEBHOOK_SECRET")
_SETTING_LINE = re.compile(r"^(#?)([A-Z][A-Z0-9_]*)=(.*)$")


def _unit(name: str) -> dict[str, list[str]]:
    """A systemd unit file as {"Section.Key": [values…]} (keys may repeat)."""
    entries: dict[str, list[str]] = {}
    section = ""
    for raw in (DEPLOY / name).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        entries.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return entries


def _settings_read() -> set[str]:
    """Every environment variable Settings reads, by its alias."""
    names = {field.alias for field in Settings.model_fields.values()}
    assert None not in names, "every setting is read under an alias"
    return {name for name in names if name is not None}


def _example() -> dict[str, tuple[str, bool]]:
    """The settings example as {KEY: (value, commented_out)}."""
    found: dict[str, tuple[str, bool]] = {}
    for line in (DEPLOY / "nuanjing.env.example").read_text(encoding="utf-8").splitlines():
        match = _SETTING_LINE.match(line.strip())
        if match:
            commented, key, value = match.groups()
            assert key not in found, f"{key} twice in the example"
            found[key] = (value, bool(commented))
    return found


def _nuanjing_commands(unit: dict[str, list[str]]) -> list[list[str]]:
    """The argument lists every Exec line of the unit gives `nuanjing`."""
    commands = []
    for key, values in unit.items():
        if not key.startswith("Service.Exec"):
            continue
        for value in values:
            # systemd's escapes: %% is %, $$ is $; a leading - + ! @ : is a flag of the line.
            words = shlex.split(value.lstrip("-+!@:").replace("%%", "%").replace("$$", "$"))
            if Path(words[0]).name in ("sh", "bash") and words[1] == "-c":
                words = shlex.split(words[2])
                words = words[1:] if words[0] == "exec" else words
            if Path(words[0]).name == "nuanjing":
                commands.append(words[1:])
    return commands


def _parses(arguments: list[str]) -> argparse.Namespace:
    try:
        return cli._parser().parse_args(arguments)
    except SystemExit:
        pytest.fail(f"`nuanjing {' '.join(arguments)}` is not a command the CLI accepts")


def test_the_service_runs_existing_commands_as_a_dedicated_user() -> None:
    unit = _unit("nuanjing.service")
    commands = _nuanjing_commands(unit)
    assert commands == [["db", "upgrade"], ["run"]]
    assert [_parses(words).command for words in commands] == ["db", "run"]
    assert unit["Service.ExecStartPre"][0].endswith("nuanjing db upgrade")
    assert unit["Service.ExecStart"][0].endswith("nuanjing run")
    assert unit["Service.User"][0] not in ("", "root") and unit["Service.Group"]
    assert unit["Service.EnvironmentFile"] == ["/etc/nuanjing/nuanjing.env"]
    assert unit["Service.Restart"] == ["on-failure"]
    assert unit["Service.NoNewPrivileges"] == ["yes"]
    assert unit["Service.ProtectSystem"] == ["strict"]
    assert unit["Service.KillSignal"] == ["SIGTERM"]
    # The graceful stop takes up to 10 s for the sends in flight: systemd must wait longer.
    timeout = re.fullmatch(r"(\d+)s?", unit["Service.TimeoutStopSec"][0])
    assert timeout is not None and int(timeout.group(1)) >= 15
    assert "Install.WantedBy" in unit


def _demo(optimize: int) -> subprocess.Popen[str]:
    """`nuanjing demo` in a process of its own, with this PYTHONOPTIMIZE (0: none)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NUANJING_")}
    environment.pop("PYTHONOPTIMIZE", None)
    if optimize:
        environment["PYTHONOPTIMIZE"] = str(optimize)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "demo"],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_bot_runs_as_the_service_runs_it_without_docstrings_and_asserts() -> None:
    """The unit's PYTHONOPTIMIZE=2 (what bench/updates.py measures) changes no answer."""
    assert "PYTHONOPTIMIZE=2" in _unit("nuanjing.service")["Service.Environment"]
    assert DEPLOYED_OPTIMIZE == 2
    deployed, plain = _demo(2), _demo(0)
    transcripts = []
    for process in (deployed, plain):
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        # The summary line ends with the demo's duration: the same but for the seconds.
        transcripts.append(re.sub(r" in [0-9.]+ s$", "", out, flags=re.MULTILINE).splitlines())
    assert transcripts[0] == transcripts[1]
    assert "  暖警 ◀ 绑定成功！王建国，欢迎回家。以后有事，找工会。" in transcripts[0]
    assert re.fullmatch(r"demo finished: \d+ lines", transcripts[0][-1])


def test_the_nightly_backup_runs_an_existing_command() -> None:
    service, timer = _unit("backup.service"), _unit("backup.timer")
    (arguments,) = _nuanjing_commands(service)
    parsed = _parses(arguments)
    assert parsed.command == "backup"
    assert str(parsed.file).startswith("/var/backups/nuanjing/nuanjing-")
    assert service["Service.Type"] == ["oneshot"]
    assert service["Service.User"] == _unit("nuanjing.service")["Service.User"]
    assert service["Service.EnvironmentFile"] == ["/etc/nuanjing/nuanjing.env"]
    assert "/var/backups/nuanjing" in service["Service.ReadWritePaths"]
    assert timer["Timer.OnCalendar"] and timer["Timer.Persistent"] == ["true"]
    # The timer starts the service of its own name: it must not name another.
    assert "Timer.Unit" not in timer


def test_the_settings_example_has_exactly_the_settings_read() -> None:
    example = _example()
    assert set(example) == _settings_read()
    for key, (value, _commented) in example.items():
        if key in SECRETS:
            assert value == "", f"{key} must be left empty in the example"
    # Every setting is explained: a comment right above it.
    lines = (DEPLOY / "nuanjing.env.example").read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if _SETTING_LINE.match(line.strip()):
            above = lines[number - 1].strip()
            assert above.startswith("#") and not _SETTING_LINE.match(above), line


def test_the_settings_example_is_valid() -> None:
    """What the example sets passes the settings' own checks (secrets filled in for the test)."""
    example = _example()
    values: dict[str, Any] = {
        key: value for key, (value, commented) in example.items() if value and not commented
    }
    values |= {
        "TELEGRAM_BOT_TOKEN": "123456:test-only",
        "NUANJING_SECRET_KEY": FieldCipher.generate_key(),
        "NUANJING_WEBHOOK_SECRET": "test_only_secret",
    }
    settings = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    assert settings.database_url.startswith("postgresql+psycopg://")


def _nginx() -> str:
    return (DEPLOY / "nginx.conf").read_text(encoding="utf-8")


def _location(config: str, path: str) -> str:
    match = re.search(r"location = " + re.escape(path) + r" \{(.*?)\n    \}", config, re.S)
    assert match is not None, f"nginx.conf has no `location = {path}` block"
    return match.group(1)


def test_nginx_proxies_the_webhook_path_to_the_listener() -> None:
    example = _example()
    webhook = urlsplit(example["NUANJING_WEBHOOK_URL"][0])
    listen = example["NUANJING_HTTP_LISTEN"][0]
    config = _nginx()
    proxied = set(re.findall(r"location = (\S+) \{", config))
    assert proxied == {webhook.path, "/healthz", "/metrics"}
    hook = _location(config, webhook.path)
    assert "proxy_pass http://nuanjing;" in hook and "limit_except POST" in hook
    upstream = re.search(r"upstream nuanjing \{(.*?)\n\}", config, re.S)
    assert upstream is not None
    assert re.findall(r"^\s*server (\S+);", upstream.group(1), re.M) == [listen]
    # TLS ends at the proxy, for the webhook's host.
    assert "listen 443 ssl;" in config
    assert f"server_name {webhook.hostname};" in config
    assert webhook.scheme == "https"


def test_nginx_keeps_health_and_metrics_internal() -> None:
    config = _nginx()
    for path in ("/healthz", "/metrics"):
        block = _location(config, path)
        assert "allow 127.0.0.1;" in block
        assert "deny all;" in block
        # Every allow comes before the deny: nginx takes the first rule that matches.
        assert block.index("deny all;") > max(m.start() for m in re.finditer("allow ", block))
        assert not re.search(r"allow all", block)


def test_the_readme_documents_production() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("\n## Production\n", 1)[1].split("\n## ", 1)[0]
    for needed in (
        "NUANJING_WEBHOOK_URL",
        "TLS",
        "PostgreSQL",
        "nuanjing backup",
        "nuanjing restore",
        "NUANJING_SECRET_KEY",
        "nuanjing db upgrade",
        "deploy/nuanjing.service",
        "deploy/nginx.conf",
        "deploy/backup.timer",
        "NUANJING_LOG_FORMAT",
    ):
        assert needed in section, needed
    assert "nuanjing backup FILE" in readme and "nuanjing restore FILE" in readme
