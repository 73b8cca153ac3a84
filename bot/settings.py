"""Settings from the environment and `.env`; a bad setting stops start-up with one sentence."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.crypto import CipherError, FieldCipher

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite:///nuanjing.db"


class SettingsError(Exception):
    """A setting is missing or malformed; the message is one sentence for the operator."""


class Settings(BaseSettings):
    """Everything the bot reads from its environment."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    api_base_url: str = Field(default=TELEGRAM_API_BASE_URL, alias="NUANJING_API_BASE_URL")
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="NUANJING_DATABASE_URL")
    timezone: str = Field(default="Asia/Shanghai", alias="NUANJING_TIMEZONE")
    broadcast_rate: float = Field(default=25.0, alias="NUANJING_BROADCAST_RATE", gt=0, le=30)
    policy_file: Path | None = Field(default=None, alias="NUANJING_POLICY_FILE")
    secret_key: SecretStr | None = Field(default=None, alias="NUANJING_SECRET_KEY")

    @field_validator("secret_key")
    @classmethod
    def _check_secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            try:
                FieldCipher(value.get_secret_value())
            except CipherError as exc:
                raise ValueError(f"{exc}; make one with `nuanjing secret-key`") from None
        return value

    @field_validator("api_base_url")
    @classmethod
    def _check_api_base_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8081/bot")
        if not parts.path.rstrip("/").endswith("/bot"):
            raise ValueError("must end in /bot, e.g. http://127.0.0.1:8081/bot")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgresql+psycopg:")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; SQLAlchemy's bare scheme means psycopg2.
            return "postgresql+psycopg://" + value.removeprefix("postgresql://")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The zone in which times are shown to officers."""
        return ZoneInfo(self.timezone)

    @property
    def file_base_url(self) -> str:
        """PTB's base_file_url that matches the API base URL."""
        return self.api_base_url.removesuffix("/bot") + "/file/bot"

    def cipher(self) -> FieldCipher:
        """The cipher for health details, or SettingsError when no key is set."""
        if self.secret_key is None or not self.secret_key.get_secret_value():
            raise SettingsError(
                "NUANJING_SECRET_KEY is not set: health details are stored encrypted; "
                "make a key with `nuanjing secret-key` and keep it safe."
            )
        return FieldCipher(self.secret_key.get_secret_value())

    def token(self) -> str:
        """The bot token, or SettingsError when it is not set."""
        if self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value():
            raise SettingsError(
                "TELEGRAM_BOT_TOKEN is not set: export the token BotFather gave you, "
                "e.g. TELEGRAM_BOT_TOKEN=123456:ABC nuanjing run."
            )
        return self.telegram_bot_token.get_secret_value()


class _PolicyFileSetting(BaseSettings):
    """NUANJING_POLICY_FILE alone, read as Settings reads it."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    policy_file: Path | None = Field(default=None, alias="NUANJING_POLICY_FILE")


def policy_file_setting() -> Path | None:
    """NUANJING_POLICY_FILE (environment or `.env`), for commands that read no other setting:
    a malformed token or database URL does not stop them."""
    return _PolicyFileSetting().policy_file


def load_settings(**overrides: object) -> Settings:
    """Read the settings, turning any validation failure into one clear SettingsError."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        # Errors are reported under the environment variable's name (the field alias).
        name = str(first["loc"][0]) if first["loc"] else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        raise SettingsError(f"{name} is invalid: {message}.") from None
