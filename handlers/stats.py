"""/stats: the union's year in figures (issue 16), a chart and three lines at a tap.

- Organizers pick a year (this year, last year) and a section (会员, 慰问, 献血, 活动, 俱乐部, 问候,
  预约); each answer is a chart (sendPhoto) with a three-line summary as its caption, counted by
  storage/statistics.py for the whole union.
- Unit contacts (基层工会联络员) get the same for their own unit(s) only; every press names its
  scope, and the scope is authorised again against the caller's units on the server. A unit's
  view has no care section (st.UNIT_HIDDEN_SECTIONS: no button, a forged press refused) and no
  matchmaking by gender: in a small unit those figures would name a colleague.
- Other officers are refused in one sentence.
- `/stats 报告 [年份]` (or the report button) sends organizers the yearly PDF (bot/report.py):
  "正在生成" goes out at once, the report is made after the update's transaction committed, on
  a task of its own (the figures read there, the pages drawn in a worker thread), and sent as a
  document when done. A crash meanwhile loses only the report; asking again makes it again.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import Application, BaseHandler, CallbackQueryHandler, CommandHandler

from bot import charts, effects, texts
from bot import report as yearly
from handlers.access import Access, access, pressed
from handlers.callbacks import StatsPick
from handlers.common import ORGANIZER_ROLES, PRIVATE_MESSAGE, Caller, Context, answer, reply
from handlers.common import edit_or_send as edit
from handlers.context import services, services_of
from storage import statistics as st

log = logging.getLogger(__name__)

STATS: Access[Any] = Access(
    ORGANIZER_ROLES, contacts_unit=True, forged="forged.stats", refusal=texts.STATS_NOT_ALLOWED
)
REPORT_WORDS = ("报告", "report")
_YEAR = re.compile(r"^(\d{4})年?$")


def _this_year(context: Context) -> int:
    from datetime import datetime

    return datetime.now(services(context).zone).year


def _scopes(caller: Caller) -> list[tuple[str, str]]:
    """What the caller may see: ("all", 全会) for organizers, else ("1", unit) … per unit."""
    if caller.organizer:
        return [("all", texts.STATS_UNION)]
    return [(str(n), unit) for n, unit in enumerate(sorted(caller.contact_units), start=1)]


def _unit_of(caller: Caller, scope: str) -> tuple[bool, str | None]:
    """(allowed, unit) of a pressed scope, as the caller's roles and units stand now."""
    for key, name in _scopes(caller):
        if key == scope:
            return True, None if key == "all" else name
    return False, None


def _years_markup(caller: Caller, this_year: int) -> InlineKeyboardMarkup:
    rows = []
    for scope, name in _scopes(caller):
        rows.append(
            [
                InlineKeyboardButton(
                    texts.STATS_YEAR_BUTTON.format(year=year)
                    if scope == "all"
                    else f"{name} {texts.STATS_YEAR_BUTTON.format(year=year)}",
                    callback_data=StatsPick("year", year, scope).pack(),
                )
                for year in (this_year, this_year - 1)
            ]
        )
    return InlineKeyboardMarkup(rows)


def _sections_markup(year: int, scope: str) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(name, callback_data=StatsPick("section", year, scope, key).pack())
        for key, name in texts.STATS_SECTIONS.items()
        if scope == "all" or key not in st.UNIT_HIDDEN_SECTIONS
    ]
    rows = [buttons[:4], buttons[4:]]
    if scope == "all":
        rows.append(
            [
                InlineKeyboardButton(
                    texts.STATS_REPORT_BUTTON.format(year=year),
                    callback_data=StatsPick("report", year, scope).pack(),
                )
            ]
        )
    rows.append(
        [
            InlineKeyboardButton(
                texts.STATS_OTHER_YEAR_BUTTON, callback_data=StatsPick("back", year, scope).pack()
            )
        ]
    )
    return InlineKeyboardMarkup(rows)


@access(STATS)
async def stats_command(update: Update, context: Context, caller: Caller) -> None:
    """/stats: pick a year; /stats 报告 [年份]: the yearly report (organizers)."""
    tokens = list(context.args or [])
    if tokens and tokens[0].lower() in REPORT_WORDS:
        year = _this_year(context)
        if len(tokens) > 2 or (len(tokens) == 2 and not _YEAR.match(tokens[1])):
            await reply(
                update,
                context,
                texts.STATS_BAD_YEAR.format(token=tokens[-1][:20]) + "\n\n" + texts.STATS_USAGE,
            )
            return
        if len(tokens) == 2:
            match = _YEAR.match(tokens[1])
            assert match is not None
            year = int(match.group(1))
        if not 2000 <= year <= 2099:
            await reply(update, context, texts.STATS_BAD_YEAR.format(token=tokens[-1][:20]))
            return
        await _start_report(update, context, caller, year)
        return
    if tokens:
        await reply(update, context, texts.STATS_USAGE)
        return
    await reply(update, context, texts.STATS_ASK_YEAR, _years_markup(caller, _this_year(context)))


@pressed(StatsPick, STATS)
async def stats_pressed(update: Update, context: Context, data: StatsPick, caller: Caller) -> None:
    """A /stats button: a year, a section, the report, or back to the years."""
    allowed, unit = _unit_of(caller, data.scope)
    hidden = unit is not None and data.section in st.UNIT_HIDDEN_SECTIONS
    if not allowed or hidden or (data.action == "report" and not caller.organizer):
        await STATS.refuse(update, context, caller, data, target=f"{data.action}:{data.scope}")
        return
    if data.action == "back":
        await answer(update)
        await edit(
            update, context, texts.STATS_ASK_YEAR, _years_markup(caller, _this_year(context))
        )
        return
    if data.action == "year":
        await answer(update)
        scope = unit or texts.STATS_UNION
        await edit(
            update,
            context,
            texts.STATS_ASK_SECTION.format(year=data.year, scope=scope),
            _sections_markup(data.year, data.scope),
        )
        return
    if data.action == "report":
        await answer(update)
        await _start_report(update, context, caller, data.year)
        return
    if data.section not in texts.STATS_SECTIONS:
        await answer(update, texts.STALE_BUTTON)
        return
    await answer(update)
    await _send_section(update, context, data.year, data.section, unit)


async def _send_section(
    update: Update, context: Context, year: int, section: str, unit: str | None
) -> None:
    """The section's chart with its three lines."""
    found = services(context)
    period = st.Period.year(year, found.zone)
    figures = yearly.figures_of(found.database, found.policy, period, unit=unit, only=section)
    names = charts.names_of(found.policy)
    scope = unit or texts.STATS_UNION

    caption = "\n".join(charts.summary(section, figures, names=names))
    chat = update.effective_chat
    assert chat is not None
    application = context.application
    chat_id = chat.id

    def drawn() -> bytes:
        return charts.png(charts.draw(section, figures, scope=scope, names=names))

    async def send() -> None:
        # Drawn in a worker thread (the chart style's lock may be held there by a report being
        # drawn, and the event loop must never wait for it) and after the commit, so no other
        # update waits on this one's transaction while it is drawn; a chart lost to a crash is
        # asked for again.
        try:
            picture = await asyncio.to_thread(drawn)
            await application.bot.send_photo(chat_id, photo=picture, caption=caption[:1024])
        except Exception:
            log.exception("a %s chart could not be sent", section)

    def start() -> None:
        application.create_task(send())

    effects.after_commit(start)


async def _start_report(update: Update, context: Context, caller: Caller, year: int) -> None:
    """Say it is coming; make and send it once this update's transaction committed."""
    if not caller.organizer:
        await reply(update, context, texts.STATS_REPORT_ORGANIZERS)
        return
    chat = update.effective_chat
    assert chat is not None
    await reply(update, context, texts.STATS_REPORT_WORKING.format(year=year))
    application = context.application
    chat_id = chat.id

    def start() -> None:
        application.create_task(_send_report(application, chat_id, year))

    effects.after_commit(start)


async def _send_report(
    application: Application[Any, Any, Any, Any, Any, Any], chat_id: int, year: int
) -> None:
    """Read the figures, draw the pages in a worker thread, send the PDF."""
    found = services_of(application)
    try:
        report = yearly.gather(found.database, found.policy, year, found.zone)
        data = await asyncio.to_thread(yearly.pdf_bytes, report)
        await application.bot.send_document(
            chat_id,
            document=data,
            filename=f"report-{year}.pdf",
            caption=texts.STATS_REPORT_CAPTION.format(union=found.policy.union_name, year=year),
        )
    except Exception:  # a report that fails must not take the bot with it; they may ask again
        log.exception("the %s report could not be made", year)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/stats and its buttons."""
    return [
        CommandHandler("stats", stats_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(stats_pressed, pattern=StatsPick.pattern()),
    ]
