"""The union's policy file (TOML): names, units, clubs, sums, intervals and texts."""

from __future__ import annotations

import re
import tomllib
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from bot.settings import SettingsError

CareEvent = Literal[
    "hospitalization", "marriage", "childbirth", "retirement", "relative_death", "officer_death"
]


class BindingPolicy(BaseModel):
    """Limits of the binding flow."""

    max_failed_attempts_per_hour: int = Field(default=5, ge=1)
    max_police_id_tries: int = Field(default=3, ge=1)


class CareRule(BaseModel):
    """One condolence sum, in force for events from its effective date."""

    event: CareEvent
    effective_from: date
    amount: int = Field(ge=0)
    up_to: bool = False


class CarePolicy(BaseModel):
    """Condolence sums by event type."""

    rules: list[CareRule] = Field(default_factory=list)
    # Since when /cases stats counts the officers comforted (the seed programme's new rules).
    comforted_since: date = date(2018, 9, 1)


class BloodPolicy(BaseModel):
    """Donor intervals and ages."""

    whole_after_whole_days: int = 180
    platelets_after_whole_days: int = 90
    platelets_after_platelets_days: int = 14
    whole_after_platelets_days: int = 28
    max_platelet_donations_per_year: int = 24
    min_age: int = 18
    max_age_first_time: int = 55
    max_age_repeat: int = 60


class GreetingPolicy(BaseModel):
    """When greetings go out and what they say."""

    send_at: str = "09:00"
    quiet_from: str = "21:00"
    quiet_until: str = "08:00"
    texts: dict[str, str] = Field(default_factory=dict)
    # Default welfare notes (where to collect the festival gift…), one line under the greeting.
    notes: dict[str, str] = Field(default_factory=dict)


class Policy(BaseModel):
    """Everything a union configures about its programme."""

    union_name: str = Field(min_length=1)
    bot_name: str = "暖警"
    units: list[str] = Field(default_factory=list)
    clubs: list[str] = Field(default_factory=list)
    binding: BindingPolicy = Field(default_factory=BindingPolicy)
    care: CarePolicy = Field(default_factory=CarePolicy)
    blood: BloodPolicy = Field(default_factory=BloodPolicy)
    greetings: GreetingPolicy = Field(default_factory=GreetingPolicy)


def default_policy_text() -> str:
    """The seed policy shipped inside the package."""
    return resources.files("bot").joinpath("data/policy.toml").read_text(encoding="utf-8")


def policy_text_without_quiet_hours() -> str:
    """The shipped policy with no quiet hours (quiet_until = quiet_from).

    For bots that must send at any hour of the day: benchmarks and end-to-end tests that run
    `nuanjing run` as a separate process, whatever the time in Shanghai.
    """
    data = tomllib.loads(default_policy_text())
    start = data["greetings"]["quiet_from"]
    return re.sub(
        r'(?m)^quiet_until = ".*"$', f'quiet_until = "{start}"', default_policy_text(), count=1
    )


def load_policy(path: Path | None) -> Policy:
    """Load the policy file (or the shipped default), or raise SettingsError in one sentence."""
    if path is None:
        return Policy.model_validate(tomllib.loads(default_policy_text()))
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(
            f"NUANJING_POLICY_FILE cannot be read: {path} ({exc.strerror or exc})."
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"NUANJING_POLICY_FILE is not valid TOML: {path} ({exc}).") from None
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "the file"
        raise SettingsError(
            f"NUANJING_POLICY_FILE has a bad value at {where}: {first['msg']} ({path})."
        ) from None
