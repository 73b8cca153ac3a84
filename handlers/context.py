"""What every handler reaches through the Application: the database, the policy, the zone."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext

from bot.policy import Policy
from storage.db import Database

SERVICES_KEY = "nuanjing.services"


@dataclass(frozen=True)
class Services:
    """The bot's dependencies, built once by the composition root."""

    database: Database
    policy: Policy
    zone: ZoneInfo


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
