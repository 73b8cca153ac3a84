"""What every handler reaches through the Application: the database, the policy, the zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext

from bot.policy import Policy
from storage.crypto import FieldCipher
from storage.db import Database
from storage.types import utcnow

SERVICES_KEY = "nuanjing.services"


class Broadcaster(Protocol):
    """The broadcast engine, as handlers see it."""

    def wake(self) -> None:
        """A broadcast was just committed: start sending it now."""


@dataclass(frozen=True)
class Services:
    """The bot's dependencies, built once by the composition root."""

    database: Database
    policy: Policy
    zone: ZoneInfo
    broadcaster: Broadcaster
    cipher: FieldCipher


def install(application: Application[Any, Any, Any, Any, Any, Any], services: Services) -> None:
    """Make the services reachable from every callback of the application."""
    application.bot_data[SERVICES_KEY] = services


def services(context: CallbackContext[Any, Any, Any, Any]) -> Services:
    """The services of the application running this callback."""
    return services_of(context.application)


def services_of(application: Application[Any, Any, Any, Any, Any, Any]) -> Services:
    """The services installed in an application."""
    value = application.bot_data[SERVICES_KEY]
    assert isinstance(value, Services)
    return value


def union_today(context: CallbackContext[Any, Any, Any, Any]) -> date:
    """Today in the union's zone (NUANJING_TIMEZONE)."""
    return utcnow().astimezone(services(context).zone).date()
