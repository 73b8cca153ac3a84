"""Policy files for tests: the shipped policy with some of its switched-off occasions enabled."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from bot.policy import Policy, default_policy_text, load_policy

_ENTRY = "[[greetings.occasions]]"


def policy_text_enabling(*keys: str) -> str:
    """The shipped policy's text with the occasions of these keys switched on."""
    head, *entries = default_policy_text().split(_ENTRY)
    found = set()
    for index, entry in enumerate(entries):
        key = re.search(r'^key = "([a-z0-9_-]+)"$', entry, re.MULTILINE)
        if key is not None and key.group(1) in keys:
            entries[index] = entry.replace("enabled = false", "enabled = true", 1)
            found.add(key.group(1))
    assert found == set(keys), f"the shipped policy has no occasions {set(keys) - found}"
    text = _ENTRY.join([head, *entries])
    tomllib.loads(text)  # still TOML
    return text


def policy_enabling(tmp_path: Path, *keys: str) -> tuple[Path, Policy]:
    """A policy file enabling these occasions, written under tmp_path, and the policy it holds."""
    path = tmp_path / "policy.toml"
    path.write_text(policy_text_enabling(*keys), encoding="utf-8")
    return path, load_policy(path)
