"""Settings from the environment and `.env`; a bad setting stops start-up with one sentence."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.crypto import CipherError, FieldCipher

TELEGRAM_API_BASE_URL = "https://api.telegram.org/bot"
DEFAULT_DATABASE_URL = "sqlite:///nuanjing.db"
DEFAULT_HTTP_LISTEN = "127.0.0.1:8080"
# What Telegram accepts as setWebhook's secret_token (echoed in X-Telegram-Bot-Api-Secret-Token).
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
_LOOPBACK_NAMES = ("localhost",)


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
    # How `nuanjing` writes its log on standard error: "text" lines or "json" lines (bot/logs.py).
    log_format: Literal["text", "json"] = Field(default="text", alias="NUANJING_LOG_FORMAT")
    # --- the HTTP listener and webhook mode (issue 15) ---
    http_listen: str = Field(default=DEFAULT_HTTP_LISTEN, alias="NUANJING_HTTP_LISTEN")
    # Before the URL: fields validate in order, and the URL's check needs the secret.
    webhook_secret: SecretStr | None = Field(default=None, alias="NUANJING_WEBHOOK_SECRET")
    webhook_url: str | None = Field(default=None, alias="NUANJING_WEBHOOK_URL")
    webhook_max_connections: int = Field(
        default=40, alias="NUANJING_WEBHOOK_MAX_CONNECTIONS", ge=1, le=100
    )

    @field_validator("http_listen")
    @classmethod
    def _check_http_listen(cls, value: str) -> str:
        value = value.strip()
        if value.lower() == "off":
            return "off"
        _split_address(value)
        return value

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        if "webhook_secret" in info.data and info.data["webhook_secret"] is None:
            raise ValueError(
                "needs NUANJING_WEBHOOK_SECRET too: 1-256 characters of A-Z a-z 0-9 _ -, "
                "e.g. from `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
            )
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an https URL such as https://bot.example.org/telegram/hook")
        # Telegram only calls https URLs; plain http is for the local sandbox.
        if parts.scheme == "http" and not _loopback(parts.hostname):
            raise ValueError("must be an https URL (Telegram calls webhooks over TLS only)")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query or a fragment")
        return value.strip()

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        secret = value.get_secret_value() if value is not None else ""
        if not secret:
            return None
        if not _WEBHOOK_SECRET.fullmatch(secret):
            raise ValueError("must be 1-256 characters of A-Z a-z 0-9 _ - (Telegram's rule)")
        return value

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
    def http_address(self) -> tuple[str, int] | None:
        """(host, port) the HTTP listener binds, or None when NUANJING_HTTP_LISTEN=off."""
        return None if self.http_listen == "off" else _split_address(self.http_listen)

    @property
    def webhook_path(self) -> str | None:
        """The path of NUANJING_WEBHOOK_URL (what the listener answers POSTs on), or None."""
        if self.webhook_url is None:
            return None
        return urlsplit(self.webhook_url).path or "/"

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


def _split_address(value: str) -> tuple[str, int]:
    """HOST:PORT (an IPv6 host in brackets) as (host, port); ValueError in one sentence."""
    host, colon, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not colon or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("must be HOST:PORT (e.g. 127.0.0.1:8080) or off")
    return host, int(port)


def _loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _PolicyFileSetting(BaseSettings):
    """NUANJING_POLICY_FILE alone, read as Settings reads it."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    policy_file: Path | None = Field(default=None, alias="NUANJING_POLICY_FILE")


class _LogFormatSetting(BaseSettings):
    """NUANJING_LOG_FORMAT alone: logging is set up before any other setting is read."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    log_format: Literal["text", "json"] = Field(default="text", alias="NUANJING_LOG_FORMAT")


def log_format_setting() -> str:
    """NUANJING_LOG_FORMAT (environment or `.env`), or SettingsError in one sentence."""
    try:
        return _LogFormatSetting().log_format
    except ValidationError:
        raise SettingsError('NUANJING_LOG_FORMAT is invalid: must be "text" or "json".') from None


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
