"""Nominations by quota (issue 12): retreats (疗休养) and honours (评先评优).

`rounds` is the organizers' side (/rounds, opening rounds, review, publicity, the final list,
exclusion flags, the workbook; `organizer_panel`), `member` the unit contacts' and officers'
(/retreats, /honours, nominating, applying, confirming, the publicity list and objections).
"""

from __future__ import annotations

from typing import Any

from telegram.ext import BaseHandler

from handlers.nominations import member, rounds


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """Both sides' handlers: the organizers' flows and buttons first."""
    return rounds.handlers() + member.handlers()
