"""The greeting run (问候): today's festivals and birthdays, each officer greeted once.

From the policy's send_at (09:00) until its quiet_from (21:00) in the union's zone, every
scheduler tick (bot/scheduler.py) queues today's greetings: the policy's enabled occasions that
fall today (one for women only to the officers whose roster gender is F) and birthdays, one
LOW-priority GREETING broadcast per occasion and day, each officer's text filled in with their
own name (the organizers' text if they edited it, else the policy's). So a bot that was down at
09:00 greets when it starts again, until 21:00; it only ever looks at today, never at
yesterday. Each run expires at its day's 21:00 (`day_ends`): what is still waiting then is
dropped (storage.broadcasts.expire, from the scheduler), so nobody is greeted a day late.

Exactly once: the recipients are claimed in the send ledger (storage.ledger) in the transaction
that writes their deliveries. A second tick, a restart, a clock put back, or a second process
running at the same moment finds them claimed and queues nobody twice; an officer bound later
the same day is still greeted on the next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.policy import Audience, Policy
from bot.rules.calendar import gregorian_birthday_keys, lunar_birthday_keys, occasion_keys_on
from bot.rules.greeting_text import render, template_for
from storage import greeting_texts, ledger
from storage import greetings as greeting_storage
from storage.broadcasts import Recipient
from storage.db import Database
from storage.greetings import Greetee, RosterBirthdays
from storage.models import BroadcastKind, Gender, GreetingText, Priority

log = logging.getLogger(__name__)

BIRTHDAY = "birthday"  # the occasion key of birthdays, in the ledger and the policy's texts
_MARK = "\ue000"  # a private-use character standing for the name while rendering once
GREETING_ACTOR = "system:greetings"


def greeting_day(now: datetime, policy: Policy, zone: ZoneInfo) -> date | None:
    """The local date whose greetings may go out at `now`, or None outside the sending hours."""
    local = now.astimezone(zone)
    start = time.fromisoformat(policy.greetings.send_at)
    end = time.fromisoformat(policy.greetings.quiet_from)
    moment = local.time().replace(tzinfo=None)
    # A quiet hour that begins before send_at (an odd policy) leaves the rest of the day.
    if start <= moment and (moment < end or end <= start):
        return local.date()
    return None


def day_ends(day: date, policy: Policy, zone: ZoneInfo) -> datetime:
    """When a day's greetings stop going out: its quiet hours' start (21:00), or midnight."""
    start = time.fromisoformat(policy.greetings.send_at)
    end = time.fromisoformat(policy.greetings.quiet_from)
    if end <= start:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return datetime.combine(day, end, tzinfo=zone)


def occasions_on(day: date, policy: Policy) -> list[str]:
    """The occasion keys greeted on a day: the policy's enabled festivals that fall on it, in
    the policy's order, then birthdays."""
    return [*occasion_keys_on(policy.greetings.rules(), day), BIRTHDAY]


def may_greet(day: date, policy: Policy, birthdays: RosterBirthdays) -> bool:
    """Whether a greeting run on this day can find anyone: a festival falls on it, or one of
    the roster's birthdays is greeted on it (a run on any other day queues nothing)."""
    if occasion_keys_on(policy.greetings.rules(), day):
        return True
    return bool(
        gregorian_birthday_keys(day) & birthdays.gregorian or _lunar_keys_on(day) & birthdays.lunar
    )


def _lunar_keys_on(day: date) -> set[tuple[int, int, bool]]:
    """The lunar birthdays greeted on a day as (month, day, leap), the roster's columns."""
    return {(key.month, key.day, key.leap) for key in lunar_birthday_keys(day)}


def gender_of(policy: Policy, occasion: str) -> str | None:
    """The roster gender an occasion greets alone ("F" for an occasion for women), else None."""
    found = policy.greetings.occasion(occasion)
    return Gender.FEMALE.value if found and found.audience is Audience.WOMEN else None


def queue_greetings(database: Database, policy: Policy, now: datetime, *, zone: ZoneInfo) -> int:
    """Queue whatever greetings of today are due and not yet queued; broadcasts written.

    Call it as often as you like: outside the sending hours, or once everyone has theirs, it
    writes nothing. Wake the sender afterwards when it returns more than 0.
    """
    day = greeting_day(now, policy, zone)
    if day is None:
        return 0
    with database.session() as session:
        overrides = greeting_texts.overrides(session)
    return sum(
        1
        for occasion in occasions_on(day, policy)
        if queue_occasion(database, policy, occasion, day, overrides, zone=zone)
    )


def renderer(
    template: str, *, festival: str, union: str, welfare_note: str
) -> Callable[[str], str]:
    """The officer's text by name: what render() gives, rendered once for a whole run.

    Only the name differs between officers, so the template is rendered once around a marker
    and each name put where the marker is; 100,000 regex substitutions took half a second.
    """

    def each(name: str) -> str:
        return render(
            template, name=name, festival=festival, union=union, welfare_note=welfare_note
        )

    if any(_MARK in value for value in (template, festival, union, welfare_note)):
        return each  # the marker cannot be told apart: render each one
    parts = render(template, name=_MARK, festival=festival, union=union, welfare_note="")
    pieces = parts.split(_MARK)
    note = welfare_note.strip()
    tail = f"\n{note}" if note else ""

    def fast(name: str) -> str:
        # render() strips the filled-in text: strip again in case the name ends it.
        return name.join(pieces).strip() + tail

    return fast


def recipients_of(
    database: Database, occasion: str, day: date, *, gender: str | None = None
) -> list[Greetee]:
    """The officers to greet for an occasion on a day who have not had it yet; with `gender`,
    only the festival's officers of that roster gender."""
    with database.session() as session:
        if occasion != BIRTHDAY and gender is not None:
            return greeting_storage.festival_recipients_of_gender(session, occasion, day, gender)
        if occasion != BIRTHDAY:
            return greeting_storage.festival_recipients(session, occasion, day)
        return greeting_storage.birthday_recipients(
            session,
            occasion,
            day,
            gregorian=gregorian_birthday_keys(day),
            lunar=_lunar_keys_on(day),
        )


def queue_occasion(
    database: Database,
    policy: Policy,
    occasion: str,
    day: date,
    overrides: Mapping[str, GreetingText],
    *,
    zone: ZoneInfo,
) -> int:
    """Queue one occasion's greetings of a day to whoever has not had them; how many."""
    greetees = recipients_of(database, occasion, day, gender=gender_of(policy, occasion))
    if not greetees:
        return 0
    template, note = template_for(policy, overrides, occasion)
    text_for = renderer(
        template,
        festival=policy.greetings.name_of(occasion),
        union=policy.union_name,
        welfare_note=note,
    )
    recipients = [
        Recipient(greetee.officer_id, greetee.chat_id, text_for(greetee.name))
        for greetee in greetees
    ]
    with database.session() as session:
        broadcast = ledger.queue_once(
            session,
            occasion,
            day,
            recipients,
            kind=BroadcastKind.GREETING,
            priority=Priority.LOW,
            text=template,
            created_by=GREETING_ACTOR,
            expires_at=day_ends(day, policy, zone),
        )
        total = 0 if broadcast is None else broadcast.total
    if total:
        log.info("queued %s greetings of %s for %d officers", occasion, day, total)
    return total
