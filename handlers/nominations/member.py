"""/retreats (疗休养) and /honours (评先评优): nominations as officers and unit contacts see them.

Built on storage.nominations, whose every step answers with a result or a `Refused` said here in
its one sentence (bot.texts.NOMINATION_REFUSALS); no rule of nominating is decided here.

- Every bound officer sees the open rounds of the programme (window, their unit's places, for
  retreats the batches and places left), where each of their own nominations stands, the
  publicity lists (公示) and, for honours, the honours wall by year. They apply for a retreat in
  its window (and withdraw), and answer a nomination: accept (retreats: choosing a batch) or
  decline, which gives the place back to the unit and tells its contacts.
- A unit contact (基层工会联络员) opens their unit in a round (a contact of several units taps
  the unit first): its quota, places left and everyone put forward or applying; picks candidates
  from the unit's roster, paged, the ineligible greyed with their reason and no button; for
  honours types the reason; confirms. Applicants are chosen one by one or, once applications have
  closed, drawn by the round's lottery, whose seed and order go to the contact and to each
  applicant.
- During the publicity any officer may object to a listed nominee privately: the text is sealed
  and seen by organizers only, the nominee never learns who objected, and the objector is thanked.
- Organizers see the same and then the organizers' panel (handlers.nominations.rounds).

Every press is authorised again on the server: the unit against `Caller.contact_units` (a press
for another unit is refused and audited as forged), a nomination against the caller (storage
refuses NOT_YOURS). Whoever is told of a step (a nominee, an applicant, a unit's contacts) is
told after the commit (handlers.common.notify: held back while the update is handled).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import Policy
from bot.rules import nominations as rules
from bot.rules.nominations import NominationStatus, Terms
from bot.rules.text import clean, meaningful
from handlers.access import OFFICER, UNIT_CONTACT, access, pressed, refuse
from handlers.callbacks import (
    HonourWall,
    NominateStep,
    NominationAnswer,
    NominationHome,
    NominationPick,
    NominationPublicity,
    NominationUnit,
    ObjectionStep,
)
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify,
    notify_told,
    prompt,
    reply,
    show_step,
)
from handlers.context import services
from handlers.flow import END, Draft, Flow, Pressed, Sealed, Typed
from handlers.roles import unit_key
from storage import nominations as store
from storage import officers, roles
from storage.models import Nomination, NominationRound, Officer, Programme, RoundStatus
from storage.nominations import Refusal, Refused
from storage.profile import Programmes
from storage.types import utcnow

S = NominationStatus
PAGE = 8  # candidates per page: a screen of a phone
OBJECTION_PAGE = 10  # names per page of the objection picker
FORGED = "forged.nomination"
NO_FLOW = "0"  # the flow field of 提出异议 on a publicity list, outside any draft
# Statuses whose nominee may still act (accept, choose a batch, decline, withdraw).
ACTIVE = frozenset({S.APPLIED, S.NOMINATED, S.CONFIRMED, S.APPROVED, S.PUBLISHED, S.OBJECTED})
Rows = list[list[InlineKeyboardButton]]


# --- words -------------------------------------------------------------------------------------


def _day(day: date) -> str:
    return texts.NOMINATION_DAY.format(month=day.month, day=day.day)


def _moment(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return texts.NOMINATION_MOMENT.format(
        month=local.month, day=local.day, clock=local.strftime("%H:%M")
    )


def _terms(context: Context) -> Terms:
    return services(context).policy.nominations.terms()


def title_of(round_: NominationRound, policy: Policy) -> str:
    """What the round gives: the honour's name from the policy, or 疗休养."""
    if round_.programme == Programme.HONOUR:
        honour = policy.nominations.honour(round_.title)
        return honour.name if honour is not None else round_.title
    return texts.NOMINATION_PROGRAMMES[Programme.RETREAT]


def refusal_text(refused: Refused, terms: Terms) -> str:
    """A refused step in its one sentence (an ineligible officer's with the reason why)."""
    if refused.ineligibility is not None:
        since = refused.ineligibility.eligible_from
        reason = texts.NOMINATION_INELIGIBLE[refused.ineligibility.reason].format(
            since=since.isoformat() if since else ""
        )
        return texts.NOMINATION_INELIGIBLE_NOW.format(reason=reason)
    limit = (
        terms.objection_max_chars
        if refused.refusal is Refusal.OBJECTION_TOO_LONG
        else terms.honour_reason_max_chars
    )
    return texts.NOMINATION_REFUSALS[refused.refusal].format(
        days=terms.retreat_max_days, cap=terms.daily_allowance_cap, limit=limit
    )


def _status(status: str) -> str:
    return texts.NOMINATION_STATUSES.get(status, status)


def _candidate_reason(
    ineligibility: rules.Ineligibility, round_: NominationRound, terms: Terms
) -> str:
    since = ineligibility.eligible_from
    return texts.NOMINATION_CANDIDATE_REASONS[ineligibility.reason].format(
        since=since.isoformat() if since else "",
        roster_years=terms.roster_years,
        retreat_years=terms.retreat_years,
        title_years=terms.title_years.get(round_.title, 0),
    )


def _button(text: str, data: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data.pack())


def _back(programme: str) -> list[InlineKeyboardButton]:
    return [_button(texts.NOMINATION_BACK_BUTTON, NominationHome(programme))]


# --- /retreats and /honours --------------------------------------------------------------------


def _in_window(round_: NominationRound, now: datetime) -> bool:
    return round_.status == RoundStatus.OPEN and round_.opens_at <= now < round_.closes_at


def _batch_lines(session: Session, round_: NominationRound) -> list[str]:
    lines = []
    for batch in store.batches_of(session, round_.id or 0):
        left = max(batch.places - store.batch_taken(session, batch.id or 0), 0)
        lines.append(
            texts.NOMINATION_BATCH_LINE.format(
                first=_day(batch.starts_on),
                last=_day(batch.ends_on),
                place=batch.place,
                days=rules.batch_days(batch.starts_on, batch.ends_on),
                left=left,
            )
        )
    return lines


def programme_view(
    context: Context, caller: Caller, programme: Programme
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The officer's page of a programme: open rounds, their own nominations, and buttons."""
    found = services(context)
    officer = caller.officer
    now = utcnow()
    lines = [texts.NOMINATION_HEADS[programme]]
    rows: Rows = []
    with found.database.session() as session:
        open_rounds = store.rounds(session, programme=programme)
        mine = [
            item
            for item in store.officer_nominations(session, officer.id or 0)
            if item.round.programme == programme
        ]
        mine_by_round = {item.round.id: item.nomination for item in mine}
        lines.append(texts.NOMINATION_ROUNDS_HEAD if open_rounds else texts.NOMINATION_NO_ROUNDS)
        for round_ in open_rounds:
            round_id = round_.id or 0
            lines.append(
                texts.NOMINATION_ROUND_LINE.format(
                    name=round_.name, status=texts.NOMINATION_ROUND_STATUSES[round_.status]
                )
            )
            if programme is Programme.HONOUR:
                lines.append(
                    texts.NOMINATION_ROUND_TITLE.format(title=title_of(round_, found.policy))
                )
            if round_.status == RoundStatus.PUBLICITY:
                ends = round_.publicity_ends_at or now
                lines.append(
                    texts.NOMINATION_ROUND_PUBLICITY.format(ends=_moment(ends, found.zone))
                )
                rows.append(
                    [
                        _button(
                            texts.NOMINATION_PUBLICITY_BUTTON.format(name=round_.name),
                            NominationPublicity(round_id),
                        )
                    ]
                )
                continue
            lines.append(
                texts.NOMINATION_ROUND_WINDOW.format(
                    opens=_moment(round_.opens_at, found.zone),
                    closes=_moment(round_.closes_at, found.zone),
                )
            )
            quota = store.quota_of(session, round_id, officer.unit) if officer.unit else None
            if quota is not None and quota.places > 0:
                lines.append(
                    texts.NOMINATION_ROUND_PLACES.format(unit=officer.unit, places=quota.places)
                )
            else:
                lines.append(texts.NOMINATION_ROUND_NO_PLACES.format(unit=officer.unit or ""))
            if programme is Programme.RETREAT:
                lines += _batch_lines(session, round_)
                own = mine_by_round.get(round_id)
                may_apply = own is None or own.status == S.WITHDRAWN
                if may_apply and quota is not None and quota.places > 0 and _in_window(round_, now):
                    rows.append(
                        [
                            _button(
                                texts.NOMINATION_APPLY_BUTTON.format(name=round_.name),
                                NominationAnswer("apply", round_id),
                            )
                        ]
                    )
            for unit in sorted(caller.contact_units):
                if store.quota_of(session, round_id, unit) is not None:
                    rows.append(
                        [
                            _button(
                                texts.NOMINATION_UNIT_BUTTON.format(unit=unit, name=round_.name),
                                NominationUnit("unit", round_id, unit_key(unit)),
                            )
                        ]
                    )
        if mine:
            lines += ["", texts.NOMINATION_MINE_HEAD]
        for item in mine[:10]:
            batch = item.batch
            where = (
                texts.NOMINATION_MINE_BATCH.format(
                    first=_day(batch.starts_on), last=_day(batch.ends_on), place=batch.place
                )
                if batch is not None
                else ""
            )
            lines.append(
                texts.NOMINATION_MINE_LINE.format(
                    round=item.round.name, status=_status(item.nomination.status), batch=where
                )
            )
            live = item.round.status in (RoundStatus.OPEN, RoundStatus.PUBLICITY)
            if live and item.nomination.status in ACTIVE:
                rows.append(
                    [
                        _button(
                            texts.NOMINATION_OPEN_MINE_BUTTON.format(name=item.round.name),
                            NominationAnswer("show", item.nomination.id or 0),
                        )
                    ]
                )
    if programme is Programme.HONOUR:
        year = now.astimezone(found.zone).year
        rows.append([_button(texts.NOMINATION_WALL_BUTTON, HonourWall(year))])
    return "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None


async def _open(update: Update, context: Context, caller: Caller, programme: Programme) -> None:
    text, markup = programme_view(context, caller, programme)
    await reply(update, context, text, markup)
    if caller.organizer:
        # An organizer is an officer too: their own page first, then the rounds to manage.
        from handlers.nominations.rounds import organizer_panel

        await organizer_panel(update, context, caller, programme)


@access()
async def retreats_command(update: Update, context: Context, caller: Caller) -> None:
    """/retreats (疗休养): open rounds, the officer's own nominations, and for contacts their
    units; organizers then get their panel."""
    await _open(update, context, caller, Programme.RETREAT)


@access()
async def honours_command(update: Update, context: Context, caller: Caller) -> None:
    """/honours (评先评优): open rounds, the officer's own nominations, the honours wall; for
    contacts their units; organizers then get their panel."""
    await _open(update, context, caller, Programme.HONOUR)


@pressed(NominationHome)
async def home_pressed(
    update: Update, context: Context, data: NominationHome, caller: Caller
) -> None:
    """« 返回: the programme's page again, in place."""
    text, markup = programme_view(context, caller, Programme(data.programme))
    await answer(update)
    await edit_or_send(update, context, text, markup)


# --- the officer's own nomination --------------------------------------------------------------


def nomination_card(
    session: Session, nomination: Nomination, round_: NominationRound, *, head: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """A nomination as its nominee sees it, with what they may do now (`head` above it)."""
    programme = Programme(round_.programme)
    text = head + texts.NOMINATION_CARD.format(
        head=texts.NOMINATION_HEADS[programme], round=round_.name, status=_status(nomination.status)
    )
    batches = store.batches_of(session, round_.id or 0)
    chosen = next((batch for batch in batches if batch.id == nomination.batch_id), None)
    if chosen is not None:
        text += texts.NOMINATION_CARD_BATCH.format(
            first=_day(chosen.starts_on), last=_day(chosen.ends_on), place=chosen.place
        )
        if chosen.meeting_point:
            text += texts.NOMINATION_CARD_MEETING.format(meeting=chosen.meeting_point)
    nid = nomination.id or 0
    rows: Rows = []
    open_round = round_.status == RoundStatus.OPEN
    if open_round and nomination.status == S.APPLIED:
        rows.append([_button(texts.NOMINATION_WITHDRAW_BUTTON, NominationAnswer("withdraw", nid))])
    if open_round and nomination.status == S.NOMINATED:
        if programme is Programme.RETREAT:
            text += "\n" + texts.NOMINATION_CHOOSE_BATCH
            for batch in batches:
                left = max(batch.places - store.batch_taken(session, batch.id or 0), 0)
                label = texts.NOMINATION_BATCH_BUTTON.format(
                    first=_day(batch.starts_on),
                    last=_day(batch.ends_on),
                    place=batch.place,
                    left=left,
                )
                rows.append([_button(label, NominationAnswer("batch", nid, batch.id or 0))])
        else:
            rows.append([_button(texts.NOMINATION_ACCEPT_BUTTON, NominationAnswer("accept", nid))])
    live = round_.status in (RoundStatus.OPEN, RoundStatus.PUBLICITY)
    if live and nomination.status in rules.DECLINABLE:
        rows.append([_button(texts.NOMINATION_DECLINE_BUTTON, NominationAnswer("decline", nid))])
    rows.append(_back(programme))
    return text, InlineKeyboardMarkup(rows)


def _nominated_head(officer: Officer, round_: NominationRound) -> str:
    programme = texts.NOMINATION_PROGRAMMES[round_.programme]
    return (
        texts.NOMINATION_YOU_WERE_NOMINATED.format(
            unit=officer.unit, round=round_.name, programme=programme
        )
        + "\n\n"
    )


async def _other_unit(update: Update, context: Context, caller: Caller, target: str) -> None:
    """A press for a unit the caller is no contact of: said once, audited as forged."""
    await refuse(
        update,
        context,
        caller,
        forged=UNIT_CONTACT.forged,
        target=target,
        text=texts.UNIT_CONTACT_OTHER_UNIT,
    )


async def _forged(
    update: Update, context: Context, caller: Caller, refused: Refused, target: str
) -> None:
    """A press on someone else's nomination: said once, audited as forged."""
    await refuse(
        update,
        context,
        caller,
        forged=FORGED,
        target=target,
        text=refusal_text(refused, _terms(context)),
    )


async def _tell_contacts_of_decline(
    context: Context,
    contacts: Sequence[tuple[Officer, int]],
    officer: Officer,
    unit: str,
    round_: NominationRound,
) -> None:
    notice = texts.NOMINATION_CONTACT_TOLD_DECLINE.format(
        name=officer.name, police_id=officer.police_id, round=round_.name, unit=unit
    )
    for contact, chat_id in contacts:
        if contact.id != officer.id:
            await notify(context.bot, chat_id, notice)


@pressed(NominationAnswer)
async def answer_pressed(
    update: Update, context: Context, data: NominationAnswer, caller: Caller
) -> None:
    """An officer's own step: open, apply, withdraw, accept, choose a batch, decline."""
    found = services(context)
    terms = found.policy.nominations.terms()
    me = caller.officer.id or 0
    now = utcnow()
    if data.action == "apply":
        with found.database.session() as session:
            applied = store.apply(session, data.target, me, terms=terms, now=now, zone=found.zone)
            round_ = store.get_round(session, data.target)
        if isinstance(applied, Refused) or round_ is None:
            refused = applied if isinstance(applied, Refused) else Refused(Refusal.NO_ROUND)
            await answer(update, refusal_text(refused, terms), alert=True)
            return
        await answer(update)
        await edit_or_send(
            update,
            context,
            texts.NOMINATION_APPLIED.format(round=round_.name),
            InlineKeyboardMarkup([_back(round_.programme)]),
        )
        return
    with found.database.session() as session:
        nomination = store.get_nomination(session, data.target)
        round_ = store.get_round(session, nomination.round_id) if nomination else None
    if nomination is None or round_ is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_NOMINATION], alert=True)
        return
    if nomination.officer_id != me:
        await _forged(
            update, context, caller, Refused(Refusal.NOT_YOURS), f"nomination:{data.target}"
        )
        return
    if data.action == "show":
        with found.database.session() as session:
            text, markup = nomination_card(session, nomination, round_)
        await answer(update)
        await edit_or_send(update, context, text, markup)
        return
    if data.action == "decline":
        if not rules.can_move(nomination.status, S.DECLINED):
            await answer(update, texts.NOMINATION_REFUSALS[Refusal.WRONG_STATUS], alert=True)
            return
        markup = InlineKeyboardMarkup(
            [
                [
                    _button(texts.NOMINATION_DECLINE_YES, NominationAnswer("sure", data.target)),
                    _button(texts.NOMINATION_DECLINE_NO, NominationAnswer("show", data.target)),
                ]
            ]
        )
        await answer(update)
        await edit_or_send(
            update, context, texts.NOMINATION_DECLINE_ASK.format(round=round_.name), markup
        )
        return
    contacts: list[tuple[Officer, int]] = []
    result: Nomination | Refused
    with found.database.session() as session:
        if data.action == "withdraw":
            result = store.withdraw(
                session, data.target, actor=caller.actor, now=now, officer_id=me
            )
        elif data.action == "accept":
            result = store.confirm(session, data.target, me, now=now)
        elif data.action == "batch":
            result = store.confirm(session, data.target, me, now=now, batch_id=data.batch_id)
        else:  # sure: the decline confirmed
            result = store.decline(session, data.target, me, now=now)
            if isinstance(result, Nomination):
                contacts = roles.contacts_of_unit(session, result.unit)
        if isinstance(result, Nomination):
            batch = next(
                (b for b in store.batches_of(session, round_.id or 0) if b.id == result.batch_id),
                None,
            )
    if isinstance(result, Refused):
        await answer(update, refusal_text(result, terms), alert=True)
        return
    await answer(update)
    back = InlineKeyboardMarkup([_back(round_.programme)])
    if data.action == "withdraw":
        await edit_or_send(
            update, context, texts.NOMINATION_WITHDRAWN.format(round=round_.name), back
        )
        return
    if data.action == "sure":
        await edit_or_send(
            update, context, texts.NOMINATION_DECLINED.format(round=round_.name), back
        )
        await _tell_contacts_of_decline(context, contacts, caller.officer, result.unit, round_)
        return
    where = (
        texts.NOMINATION_MINE_BATCH.format(
            first=_day(batch.starts_on), last=_day(batch.ends_on), place=batch.place
        )
        if batch is not None
        else ""
    )
    await edit_or_send(
        update, context, texts.NOMINATION_CONFIRMED.format(round=round_.name, batch=where), back
    )


# --- unit contacts -----------------------------------------------------------------------------


def _unit_of(caller: Caller, key: str) -> str | None:
    """The caller's unit a pressed key names, as their units stand now; None if none."""
    return next((unit for unit in sorted(caller.contact_units) if unit_key(unit) == key), None)


def unit_page(
    session: Session, round_: NominationRound, unit: str, zone: tzinfo, *, head: str = ""
) -> tuple[str, InlineKeyboardMarkup]:
    """The contact's view of their unit in a round: quota, places left, everyone in it."""
    round_id, key = round_.id or 0, unit_key(unit)
    view = store.unit_view(session, round_id, unit)
    if view is None:
        return head + texts.NOMINATION_REFUSALS[Refusal.NO_QUOTA], InlineKeyboardMarkup(
            [_back(round_.programme)]
        )
    lines = [
        head
        + texts.NOMINATION_UNIT_HEAD.format(
            unit=unit,
            round=round_.name,
            places=view.quota.places,
            held=view.held,
            free=view.free,
            opens=_moment(round_.opens_at, zone),
            closes=_moment(round_.closes_at, zone),
        ),
        "",
    ]
    if not view.entries:
        lines.append(texts.NOMINATION_UNIT_EMPTY)
    rows: Rows = []
    now = utcnow()
    if _in_window(round_, now) and view.free > 0:
        rows.append(
            [_button(texts.NOMINATION_UNIT_PICK_BUTTON, NominationUnit("page", round_id, key))]
        )
    applicants = 0
    for nomination, officer in view.entries:
        lines.append(
            texts.NOMINATION_UNIT_ENTRY.format(
                name=officer.name,
                police_id=officer.police_id,
                applied=texts.NOMINATION_UNIT_APPLIED_MARK if nomination.applied else "",
                status=_status(nomination.status),
            )
        )
        if nomination.status == S.APPLIED:
            applicants += 1
        open_round = round_.status == RoundStatus.OPEN
        if open_round and nomination.status in (S.APPLIED, S.UNSELECTED) and view.free > 0:
            rows.append(
                [
                    _button(
                        texts.NOMINATION_UNIT_SELECT_BUTTON.format(name=officer.name),
                        NominationUnit("select", round_id, key, nomination.id or 0),
                    )
                ]
            )
    closed = round_.status == RoundStatus.OPEN and now >= round_.closes_at
    if round_.programme == Programme.RETREAT and closed and applicants:
        label = texts.NOMINATION_UNIT_DRAW_BUTTON.format(applicants=applicants, free=view.free)
        rows.append([_button(label, NominationUnit("draw", round_id, key))])
    rows.append(_back(round_.programme))
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def candidates_page(
    session: Session,
    context: Context,
    round_: NominationRound,
    unit: str,
    page: int,
) -> tuple[str, InlineKeyboardMarkup]:
    """A page of the unit's officers: who may be nominated (a button each), who is in the round
    already, who may not and why (greyed, no button)."""
    found = services(context)
    terms = found.policy.nominations.terms()
    round_id, key = round_.id or 0, unit_key(unit)
    people = store.candidates(session, round_id, unit, terms=terms, now=utcnow(), zone=found.zone)
    pages = max((len(people) + PAGE - 1) // PAGE, 1)
    page = min(max(page, 1), pages)
    lines = [texts.NOMINATION_CANDIDATES_HEAD.format(unit=unit, page=page, pages=pages)]
    if not people:
        lines.append(texts.NOMINATION_CANDIDATES_NONE)
    rows: Rows = []
    for person in people[(page - 1) * PAGE : page * PAGE]:
        officer = person.officer
        values = {"name": officer.name, "police_id": officer.police_id}
        pick = _button(
            texts.NOMINATION_CANDIDATE_OK.format(**values),
            NominationPick(round_id, officer.id or 0),
        )
        nomination = person.nomination
        # In the round already: shown with where they stand; an applicant, or one returned,
        # unselected or withdrawn, may be put forward (again).
        if nomination is not None and not rules.can_move(nomination.status, S.NOMINATED):
            status = _status(nomination.status)
            lines.append(texts.NOMINATION_CANDIDATE_IN.format(status=status, **values))
        elif person.ineligibility is not None:
            reason = _candidate_reason(person.ineligibility, round_, terms)
            lines.append(texts.NOMINATION_CANDIDATE_NOT.format(reason=reason, **values))
        elif nomination is not None:
            status = _status(nomination.status)
            lines.append(texts.NOMINATION_CANDIDATE_IN.format(status=status, **values))
            rows.append([pick])
        else:
            lines.append(texts.NOMINATION_CANDIDATE_OK.format(**values))
            rows.append([pick])
    pager = []
    if page > 1:
        pager.append(
            _button(texts.NOMINATION_PAGE_PREV, NominationUnit("page", round_id, key, page - 1))
        )
    if page < pages:
        pager.append(
            _button(texts.NOMINATION_PAGE_NEXT, NominationUnit("page", round_id, key, page + 1))
        )
    if pager:
        rows.append(pager)
    rows.append([_button(texts.NOMINATION_UNIT_BACK_BUTTON, NominationUnit("unit", round_id, key))])
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _draw_text(
    result: store.DrawResult, round_: NominationRound, unit: str, names: dict[str, str]
) -> str:
    order = "\n".join(
        texts.NOMINATION_DRAW_LINE.format(
            rank=rank,
            name=names.get(police_id, ""),
            police_id=police_id,
            mark=texts.NOMINATION_DRAW_WON if rank <= result.places else texts.NOMINATION_DRAW_LOST,
        )
        for rank, (police_id, _) in enumerate(result.order, start=1)
    )
    return texts.NOMINATION_DRAW_RESULT.format(
        unit=unit, round=round_.name, seed=result.seed, order=order, places=result.places
    )


@pressed(NominationUnit, UNIT_CONTACT)
async def unit_pressed(
    update: Update, context: Context, data: NominationUnit, caller: Caller
) -> None:
    """A contact's button for their unit: its view, candidates, choosing, the lottery."""
    unit = _unit_of(caller, data.unit_key)
    if unit is None:
        await _other_unit(update, context, caller, f"round:{data.round_id}")
        return
    found = services(context)
    terms = found.policy.nominations.terms()
    me, now = caller.officer.id or 0, utcnow()
    markup: InlineKeyboardMarkup | None = None
    with found.database.session() as session:
        round_ = store.get_round(session, data.round_id)
        if round_ is None:
            text = texts.NOMINATION_REFUSALS[Refusal.NO_ROUND]
        elif data.action == "unit":
            text, markup = unit_page(session, round_, unit, found.zone)
        elif data.action == "page":
            text, markup = candidates_page(session, context, round_, unit, data.value)
        elif data.action == "draw":
            view = store.unit_view(session, data.round_id, unit)
            applicants = sum(1 for n, _ in view.entries if n.status == S.APPLIED) if view else 0
            text = texts.NOMINATION_DRAW_ASK.format(
                round=round_.name, unit=unit, applicants=applicants, free=view.free if view else 0
            )
            markup = InlineKeyboardMarkup(
                [
                    [
                        _button(
                            texts.NOMINATION_DRAW_YES, dataclasses.replace(data, action="drawok")
                        ),
                        _button(
                            texts.NOMINATION_UNIT_BACK_BUTTON,
                            dataclasses.replace(data, action="unit"),
                        ),
                    ]
                ]
            )
        else:
            text = ""
    if round_ is None:
        await answer(update, text, alert=True)
        return
    if data.action in ("unit", "page", "draw"):
        await answer(update)
        await edit_or_send(update, context, text, markup)
        return
    if data.action == "select":
        await _select(update, context, caller, data, unit, round_)
        return
    with found.database.session() as session:
        drawn = store.draw(session, data.round_id, unit, actor=caller.actor, now=now, contact_id=me)
        told: list[tuple[int, str, InlineKeyboardMarkup | None]] = []
        if not isinstance(drawn, Refused):
            names: dict[str, str] = {}
            for _, nomination in drawn.order:
                officer = officers.by_id(session, nomination.officer_id)
                if officer is not None:
                    names[officer.police_id] = officer.name
            result_text = _draw_text(drawn, round_, unit, names)
            for rank, (_, nomination) in enumerate(drawn.order, start=1):
                binding = officers.binding_of(session, nomination.officer_id)
                if binding is None:
                    continue
                if rank <= drawn.places:
                    head = texts.NOMINATION_DRAW_YOU_WON.format(round=round_.name)
                    card, won = nomination_card(session, nomination, round_)
                    told.append((binding.chat_id, head + result_text + "\n\n" + card, won))
                else:
                    head = texts.NOMINATION_DRAW_YOU_LOST.format(round=round_.name, rank=rank)
                    told.append((binding.chat_id, head + result_text, None))
            text, markup = unit_page(session, round_, unit, found.zone, head=result_text + "\n\n")
    if isinstance(drawn, Refused):
        await answer(update, refusal_text(drawn, terms), alert=True)
        return
    await answer(update)
    await edit_or_send(update, context, text, markup)
    for chat_id, notice, buttons in told:
        await notify(context.bot, chat_id, notice, buttons)


async def _select(
    update: Update,
    context: Context,
    caller: Caller,
    data: NominationUnit,
    unit: str,
    round_: NominationRound,
) -> None:
    """选定: the contact chooses an applicant, who is asked to confirm."""
    found = services(context)
    terms = found.policy.nominations.terms()
    with found.database.session() as session:
        nomination = store.get_nomination(session, data.value)
        if nomination is None or nomination.round_id != data.round_id or nomination.unit != unit:
            chosen: Nomination | Refused = Refused(Refusal.NO_NOMINATION)
        else:
            chosen = store.select_applicant(
                session,
                data.value,
                contact_id=caller.officer.id or 0,
                actor=caller.actor,
                now=utcnow(),
            )
        officer = None
        if isinstance(chosen, Nomination):
            officer = officers.by_id(session, chosen.officer_id)
            binding = officers.binding_of(session, chosen.officer_id)
        if officer is not None and isinstance(chosen, Nomination):
            card = nomination_card(session, chosen, round_, head=_nominated_head(officer, round_))
    if isinstance(chosen, Refused) or officer is None:
        refused = chosen if isinstance(chosen, Refused) else Refused(Refusal.NO_OFFICER)
        await answer(update, refusal_text(refused, terms), alert=True)
        return
    told = binding is not None and await notify_told(context, binding.chat_id, *card)
    done = texts.NOMINATION_SELECTED.format(
        name=officer.name,
        police_id=officer.police_id,
        told=texts.NOMINATION_TOLD if told else texts.NOMINATION_NOT_TOLD,
    )
    with found.database.session() as session:
        text, markup = unit_page(session, round_, unit, found.zone, head=done + "\n\n")
    await answer(update)
    await edit_or_send(update, context, text, markup)


# --- nominating: tap a candidate, (honours) type the reason, confirm ---------------------------


class NominateState(StrEnum):
    """Nominating one officer: the honour's reason, then the confirmation."""

    REASON = "reason"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class NominateDraft(Draft):
    """The round and the officer tapped; the honour's reason, sealed, once typed."""

    round_id: int = 0
    officer_id: int = 0
    reason: Sealed | None = None


NOMINATE_NAME = "nomination_nominate"
NOMINATE = Flow(
    NOMINATE_NAME,
    NominateState,
    NominateDraft,
    NominateStep,
    access=UNIT_CONTACT,
    ready=lambda _state, draft: draft.round_id > 0 and draft.officer_id > 0,
)


def _cancel_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_button(texts.NOMINATION_CANCEL_BUTTON, NominateStep(flow, "cancel"))]]
    )


def _confirm_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.NOMINATION_CONFIRM_BUTTON, NominateStep(flow, "send")),
                _button(texts.NOMINATION_CANCEL_BUTTON, NominateStep(flow, "cancel")),
            ]
        ]
    )


def _people(
    context: Context, draft: NominateDraft
) -> tuple[NominationRound | None, Officer | None]:
    with services(context).database.session() as session:
        return store.get_round(session, draft.round_id), officers.by_id(session, draft.officer_id)


@NOMINATE.entry_press(NominationPick, UNIT_CONTACT)
async def candidate_picked(
    update: Update, context: Context, data: NominationPick, caller: Caller
) -> NominateState | None:
    """A candidate tapped: checked by nominate's own rules, then the reason or the confirmation."""
    found = services(context)
    terms = found.policy.nominations.terms()
    with found.database.session() as session:
        round_ = store.get_round(session, data.round_id)
        officer = officers.by_id(session, data.officer_id)
    if round_ is None or officer is None:
        await answer(update, texts.STALE_BUTTON)
        return None
    if officer.unit not in caller.contact_units:
        await _other_unit(update, context, caller, f"officer:{officer.police_id}")
        return None
    with found.database.session() as session:
        problem = store.nomination_problem(
            session,
            data.round_id,
            data.officer_id,
            contact_id=caller.officer.id or 0,
            terms=terms,
            cipher=found.cipher,
            now=utcnow(),
            zone=found.zone,
        )
    if problem is not None:
        await answer(update, refusal_text(problem, terms), alert=True)
        return None
    draft = NominateDraft(flow=NOMINATE.token(), round_id=data.round_id, officer_id=data.officer_id)
    values = {"name": officer.name, "police_id": officer.police_id, "round": round_.name}
    await answer(update)
    if round_.programme == Programme.HONOUR:
        NOMINATE.begin(update, context, NominateState.REASON, draft)
        ask = texts.NOMINATION_ASK_REASON.format(limit=terms.honour_reason_max_chars, **values)
        await prompt(update, context, ask, _cancel_markup(draft.flow))
        return NominateState.REASON
    NOMINATE.begin(update, context, NominateState.CONFIRM, draft)
    await prompt(
        update, context, texts.NOMINATION_CONFIRM_ASK.format(**values), _confirm_markup(draft.flow)
    )
    return NominateState.CONFIRM


async def _reason_typed(
    update: Update, context: Context, turn: Typed[NominateState, NominateDraft]
) -> NominateState | int:
    """The honour's reason: kept sealed in the draft, then the confirmation."""
    found = services(context)
    terms = found.policy.nominations.terms()
    reason = clean(turn.message.text or "")
    if not meaningful(reason):
        await prompt(update, context, texts.NOMINATION_REASON_EMPTY)
        return NominateState.REASON
    if len(reason) > terms.honour_reason_max_chars:
        await prompt(update, context, refusal_text(Refused(Refusal.REASON_TOO_LONG), terms))
        return NominateState.REASON
    round_, officer = _people(context, turn.draft)
    if round_ is None or officer is None:
        NOMINATE.forget(update, context)
        await prompt(update, context, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND])
        return END
    draft = dataclasses.replace(turn.draft, reason=Sealed(found.cipher.encrypt(reason)))
    NOMINATE.save(update, context, NominateState.CONFIRM, draft)
    ask = texts.NOMINATION_CONFIRM_ASK.format(
        name=officer.name, police_id=officer.police_id, round=round_.name
    ) + texts.NOMINATION_CONFIRM_REASON.format(reason=reason)
    await prompt(update, context, ask, _confirm_markup(draft.flow))
    return NominateState.CONFIRM


async def _nominate(
    update: Update, context: Context, turn: Pressed[NominateState, NominateDraft, NominateStep]
) -> int | None:
    """✅ 确认推荐: nominate (once), and ask the nominee to confirm."""
    found = services(context)
    terms = found.policy.nominations.terms()
    caller = turn.caller
    card: tuple[str, InlineKeyboardMarkup] | None = None
    chat_id: int | None = None
    done: Nomination | Refused = Refused(Refusal.NO_ROUND)
    round_: NominationRound | None = None
    officer: Officer | None = None
    with NOMINATE.taking(update, context, NominateState.CONFIRM, turn.draft.flow) as (
        session,
        draft,
    ):
        if draft is not None:
            reason = found.cipher.decrypt(draft.reason) if draft.reason else ""
            done = store.nominate(
                session,
                draft.round_id,
                draft.officer_id,
                contact_id=caller.officer.id or 0,
                actor=caller.actor,
                terms=terms,
                cipher=found.cipher,
                now=utcnow(),
                zone=found.zone,
                reason=reason,
            )
            round_ = store.get_round(session, draft.round_id)
            officer = officers.by_id(session, draft.officer_id)
            if isinstance(done, Nomination) and round_ is not None and officer is not None:
                binding = officers.binding_of(session, officer.id or 0)
                chat_id = binding.chat_id if binding is not None else None
                card = nomination_card(session, done, round_, head=_nominated_head(officer, round_))
    if draft is None:
        await NOMINATE.expire(update)
        return None
    await answer(update)
    if isinstance(done, Refused) or round_ is None or officer is None or card is None:
        refused = done if isinstance(done, Refused) else Refused(Refusal.NO_ROUND)
        await show_step(update, context, refusal_text(refused, terms))
        return END
    told = chat_id is not None and await notify_told(context, chat_id, *card)
    await show_step(
        update,
        context,
        texts.NOMINATION_DONE.format(
            name=officer.name,
            police_id=officer.police_id,
            round=round_.name,
            told=texts.NOMINATION_TOLD if told else texts.NOMINATION_NOT_TOLD,
        ),
        InlineKeyboardMarkup(
            [
                [
                    _button(
                        texts.NOMINATION_UNIT_BACK_BUTTON,
                        NominationUnit("unit", round_.id or 0, unit_key(officer.unit)),
                    )
                ]
            ]
        ),
    )
    return END


# --- publicity and objections ------------------------------------------------------------------


@pressed(NominationPublicity)
async def publicity_pressed(
    update: Update, context: Context, data: NominationPublicity, caller: Caller
) -> None:
    """📋 公示名单: names, units and the title; 提出异议 while the publicity lasts."""
    found = services(context)
    with found.database.session() as session:
        round_ = store.get_round(session, data.round_id)
        entries = store.publicity_list(session, data.round_id) if round_ is not None else []
    if round_ is None:
        await answer(update, texts.NOMINATION_REFUSALS[Refusal.NO_ROUND], alert=True)
        return
    if round_.status not in (RoundStatus.PUBLICITY, RoundStatus.FINAL):
        await answer(update, texts.NOMINATION_PUBLICITY_NOT_YET, alert=True)
        return
    lines = [
        texts.NOMINATION_PUBLICITY_HEAD.format(
            round=round_.name, title=title_of(round_, found.policy)
        )
    ]
    lines += [
        texts.NOMINATION_PUBLICITY_LINE.format(n=n, name=entry.name, unit=entry.unit)
        for n, entry in enumerate(entries, start=1)
    ] or [texts.NOMINATION_PUBLICITY_EMPTY]
    rows: Rows = []
    ends = round_.publicity_ends_at
    if round_.status == RoundStatus.PUBLICITY and ends is not None and utcnow() < ends:
        lines += ["", texts.NOMINATION_PUBLICITY_UNTIL.format(ends=_moment(ends, found.zone))]
        rows.append(
            [
                _button(
                    texts.NOMINATION_OBJECT_BUTTON, ObjectionStep(NO_FLOW, "start", data.round_id)
                )
            ]
        )
    else:
        lines += ["", texts.NOMINATION_PUBLICITY_FINAL]
    await answer(update)
    await reply(update, context, "\n".join(lines), InlineKeyboardMarkup(rows) if rows else None)


class ObjectionState(StrEnum):
    """Objecting: whom to, the text, the confirmation."""

    PICK = "pick"
    WRITING = "writing"
    CONFIRM = "confirm"


@dataclass(frozen=True)
class ObjectionDraft(Draft):
    """The round, the nominee's nomination once chosen, the objection sealed once typed."""

    round_id: int = 0
    nomination_id: int = 0
    text: Sealed | None = None


OBJECTION_NAME = "nomination_objection"
OBJECTION = Flow(
    OBJECTION_NAME,
    ObjectionState,
    ObjectionDraft,
    ObjectionStep,
    access=OFFICER,
    ready=lambda _state, draft: draft.round_id > 0,
)


def _objection_cancel(flow: str) -> list[InlineKeyboardButton]:
    return [_button(texts.NOMINATION_CANCEL_BUTTON, ObjectionStep(flow, "cancel"))]


def _listed(context: Context, caller: Caller, round_id: int) -> list[store.PublicEntry]:
    """The round's listed nominees the caller may object to (not themselves)."""
    with services(context).database.session() as session:
        own = {
            item.nomination.id
            for item in store.officer_nominations(session, caller.officer.id or 0)
        }
        return [
            entry
            for entry in store.publicity_list(session, round_id)
            if entry.nomination_id not in own
        ]


@OBJECTION.entry_press(
    ObjectionStep, OFFICER, accept=lambda data: data.action == "start" and data.flow == NO_FLOW
)
async def objection_started(
    update: Update, context: Context, data: ObjectionStep, caller: Caller
) -> ObjectionState | None:
    """提出异议: whom is it about (the list's names, never the caller)."""
    with services(context).database.session() as session:
        round_ = store.get_round(session, data.value)
    terms = _terms(context)
    if round_ is None or round_.status != RoundStatus.PUBLICITY:
        await answer(update, refusal_text(Refused(Refusal.NOT_IN_PUBLICITY), terms), alert=True)
        return None
    if round_.publicity_ends_at is not None and utcnow() >= round_.publicity_ends_at:
        await answer(update, refusal_text(Refused(Refusal.PUBLICITY_OVER), terms), alert=True)
        return None
    entries = _listed(context, caller, data.value)
    if not entries:
        await answer(update, texts.NOMINATION_OBJECT_NOBODY, alert=True)
        return None
    draft = ObjectionDraft(flow=OBJECTION.token(), round_id=data.value)
    OBJECTION.begin(update, context, ObjectionState.PICK, draft)
    await answer(update)
    await prompt(update, context, texts.NOMINATION_OBJECT_PICK, _objection_names(draft, entries, 1))
    return ObjectionState.PICK


def _objection_pages(entries: list[store.PublicEntry]) -> int:
    return max((len(entries) + OBJECTION_PAGE - 1) // OBJECTION_PAGE, 1)


def _objection_names(
    draft: ObjectionDraft, entries: list[store.PublicEntry], page: int
) -> InlineKeyboardMarkup:
    """One page of the names to object to (a button each), ‹ › between pages, and 取消."""
    pages = _objection_pages(entries)
    rows: Rows = [
        [
            _button(
                f"{entry.name}（{entry.unit}）",
                ObjectionStep(draft.flow, "pick", entry.nomination_id),
            )
        ]
        for entry in entries[(page - 1) * OBJECTION_PAGE : page * OBJECTION_PAGE]
    ]
    pager = []
    if page > 1:
        pager.append(
            _button(texts.NOMINATION_PAGE_PREV, ObjectionStep(draft.flow, "page", page - 1))
        )
    if page < pages:
        pager.append(
            _button(texts.NOMINATION_PAGE_NEXT, ObjectionStep(draft.flow, "page", page + 1))
        )
    if pager:
        rows.append(pager)
    rows.append(_objection_cancel(draft.flow))
    return InlineKeyboardMarkup(rows)


async def _objection_page(
    update: Update, context: Context, turn: Pressed[ObjectionState, ObjectionDraft, ObjectionStep]
) -> ObjectionState | None:
    """‹ ›: another page of the names, in place; the step stays."""
    entries = _listed(context, turn.caller, turn.draft.round_id)
    if not 1 <= turn.data.value <= _objection_pages(entries):
        await answer(update, texts.STALE_BUTTON)
        return None
    markup = _objection_names(turn.draft, entries, turn.data.value)
    await OBJECTION.show(update, context, texts.NOMINATION_OBJECT_PICK, markup)
    return None


async def _objection_pick(
    update: Update, context: Context, turn: Pressed[ObjectionState, ObjectionDraft, ObjectionStep]
) -> ObjectionState | None:
    """The nominee chosen: ask for the text."""
    entry = next(
        (
            e
            for e in _listed(context, turn.caller, turn.draft.round_id)
            if e.nomination_id == turn.data.value
        ),
        None,
    )
    if entry is None:
        await OBJECTION.expire(update)
        return None
    draft = dataclasses.replace(turn.draft, nomination_id=entry.nomination_id)
    ask = texts.NOMINATION_OBJECT_ASK.format(
        name=entry.name, unit=entry.unit, limit=_terms(context).objection_max_chars
    )
    return await OBJECTION.advance(
        update,
        context,
        ObjectionState.WRITING,
        draft,
        ask,
        InlineKeyboardMarkup([_objection_cancel(draft.flow)]),
    )


def _entry_of(context: Context, draft: ObjectionDraft) -> store.PublicEntry | None:
    with services(context).database.session() as session:
        entries = store.publicity_list(session, draft.round_id)
    return next((e for e in entries if e.nomination_id == draft.nomination_id), None)


async def _objection_typed(
    update: Update, context: Context, turn: Typed[ObjectionState, ObjectionDraft]
) -> ObjectionState | int:
    """The objection: over the policy's length refused in one sentence; else previewed."""
    found = services(context)
    terms = found.policy.nominations.terms()
    text = clean(turn.message.text or "")
    if not meaningful(text):
        await prompt(update, context, refusal_text(Refused(Refusal.OBJECTION_EMPTY), terms))
        return ObjectionState.WRITING
    if len(text) > terms.objection_max_chars:
        await prompt(update, context, refusal_text(Refused(Refusal.OBJECTION_TOO_LONG), terms))
        return ObjectionState.WRITING
    entry = _entry_of(context, turn.draft)
    if entry is None:
        OBJECTION.forget(update, context)
        await prompt(update, context, refusal_text(Refused(Refusal.NOT_IN_PUBLICITY), terms))
        return END
    draft = dataclasses.replace(turn.draft, text=Sealed(found.cipher.encrypt(text)))
    OBJECTION.save(update, context, ObjectionState.CONFIRM, draft)
    markup = InlineKeyboardMarkup(
        [
            [
                _button(texts.NOMINATION_OBJECT_SEND, ObjectionStep(draft.flow, "send")),
                *_objection_cancel(draft.flow),
            ]
        ]
    )
    preview = texts.NOMINATION_OBJECT_PREVIEW.format(name=entry.name, unit=entry.unit, text=text)
    await prompt(update, context, preview, markup)
    return ObjectionState.CONFIRM


async def _objection_send(
    update: Update, context: Context, turn: Pressed[ObjectionState, ObjectionDraft, ObjectionStep]
) -> int | None:
    """提交: the objection filed (sealed, once); the organizers told there is one."""
    found = services(context)
    terms = found.policy.nominations.terms()
    organizers: list[tuple[Officer, int]] = []
    round_name = ""
    done: object = None
    with OBJECTION.taking(update, context, ObjectionState.CONFIRM, turn.draft.flow) as (
        session,
        draft,
    ):
        if draft is not None:
            done = store.object_to(
                session,
                draft.nomination_id,
                turn.caller.officer.id or 0,
                found.cipher.decrypt(draft.text) if draft.text else "",
                terms=terms,
                cipher=found.cipher,
                now=utcnow(),
            )
            if not isinstance(done, Refused):
                organizers = roles.reachable_holders(session, set(ORGANIZER_ROLES))
                round_ = store.get_round(session, draft.round_id)
                round_name = round_.name if round_ is not None else ""
    if draft is None:
        await OBJECTION.expire(update)
        return None
    await answer(update)
    if isinstance(done, Refused):
        await show_step(update, context, refusal_text(done, terms))
        return END
    await show_step(update, context, texts.NOMINATION_OBJECT_SENT)
    notice = texts.NOMINATION_OBJECT_FOR_ORGANIZERS.format(round=round_name)
    for _organizer, chat_id in organizers:
        await notify(context.bot, chat_id, notice)
    return END


# --- the honours wall and /me ------------------------------------------------------------------


def wall_view(context: Context, year: int) -> tuple[str, InlineKeyboardMarkup]:
    """The honours register of a year (the newest with records if that year has none), by
    title: names and units; a button per year."""
    found = services(context)
    with found.database.session() as session:
        every = store.honours_wall(session)
    years = sorted({entry.year for entry in every}, reverse=True)
    if not years:
        return texts.NOMINATION_WALL_EMPTY, InlineKeyboardMarkup([_back(Programme.HONOUR)])
    if year not in years:
        year = years[0]
    lines = [texts.NOMINATION_WALL_HEAD.format(year=year)]
    title = None
    for entry in every:
        if entry.year != year:
            continue
        if entry.title != title:
            title = entry.title
            honour = found.policy.nominations.honour(title)
            lines.append(texts.NOMINATION_WALL_TITLE.format(title=honour.name if honour else title))
        lines.append(texts.NOMINATION_WALL_LINE.format(name=entry.name, unit=entry.unit))
    buttons = [
        _button(texts.NOMINATION_WALL_YEAR_BUTTON.format(year=other), HonourWall(other))
        for other in years[:12]
        if other != year
    ]
    rows: Rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    rows.append(_back(Programme.HONOUR))
    return "\n".join(lines), InlineKeyboardMarkup(rows)


@pressed(HonourWall)
async def wall_pressed(update: Update, context: Context, data: HonourWall, caller: Caller) -> None:
    """🏆 荣誉榜 of a year."""
    text, markup = wall_view(context, data.year)
    await answer(update)
    await edit_or_send(update, context, text, markup)


def profile_lines(programmes: Programmes, policy: Policy) -> str:
    """/me: the officer's own retreats and honours ("" if none)."""
    retreats, honours = programmes.retreats, programmes.honours
    text = ""
    if retreats:
        items = "、".join(
            texts.PROFILE_RETREAT_ITEM.format(
                year=first.year, place=place, first=_day(first), last=_day(last)
            )
            for first, last, place in retreats
        )
        text += texts.PROFILE_RETREATS.format(items=items)
    if honours:
        names = {title.key: title.name for title in policy.nominations.honours}
        items = "、".join(
            texts.PROFILE_HONOUR_ITEM.format(year=year, title=names.get(key, key))
            for year, key in honours
        )
        text += texts.PROFILE_HONOURS.format(items=items)
    return text


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/retreats, /honours and every officer's and contact's button of nominations."""
    nominating = NOMINATE.handler(
        entry_points=[CallbackQueryHandler(candidate_picked, pattern=NominationPick.pattern())],
        states={
            NominateState.REASON: [
                NOMINATE.press("cancel", NOMINATE.cancel()),
                NOMINATE.typed(_reason_typed),
            ],
            NominateState.CONFIRM: [
                NOMINATE.press("send", _nominate),
                NOMINATE.press("cancel", NOMINATE.cancel()),
                NOMINATE.remind(texts.NOMINATION_TAP_BELOW),
            ],
        },
    )
    start = rf"^{ObjectionStep.prefix}:{NO_FLOW}:start(:|$)"
    objecting = OBJECTION.handler(
        entry_points=[CallbackQueryHandler(objection_started, pattern=start)],
        states={
            ObjectionState.PICK: [
                OBJECTION.press("pick", _objection_pick),
                OBJECTION.press("page", _objection_page),
                OBJECTION.press("cancel", OBJECTION.cancel()),
                OBJECTION.remind(texts.NOMINATION_TAP_BELOW),
            ],
            ObjectionState.WRITING: [
                OBJECTION.press("cancel", OBJECTION.cancel()),
                OBJECTION.typed(_objection_typed),
            ],
            ObjectionState.CONFIRM: [
                OBJECTION.press("send", _objection_send),
                OBJECTION.press("cancel", OBJECTION.cancel()),
                OBJECTION.remind(texts.NOMINATION_TAP_BELOW),
            ],
        },
    )
    return [
        CommandHandler("retreats", retreats_command, filters=PRIVATE_MESSAGE),
        CommandHandler("honours", honours_command, filters=PRIVATE_MESSAGE),
        nominating,
        objecting,
        NOMINATE.outside(),
        OBJECTION.outside(),
        CallbackQueryHandler(home_pressed, pattern=NominationHome.pattern()),
        CallbackQueryHandler(answer_pressed, pattern=NominationAnswer.pattern()),
        CallbackQueryHandler(unit_pressed, pattern=NominationUnit.pattern()),
        CallbackQueryHandler(publicity_pressed, pattern=NominationPublicity.pattern()),
        CallbackQueryHandler(wall_pressed, pattern=HonourWall.pattern()),
    ]
