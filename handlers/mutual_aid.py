"""Medical mutual aid (医疗互助) for organizers: the year's figures, members added or kept out by
hand, claims recorded and decided, the finance export; and each officer's cover in /me.

`/mutualaid` (or 🩺 医疗互助 in the organizers' tools) shows a year's figures per scheme of the
policy: members enrolled, claims by status, the total paid; buttons switch the year, open a
scheme (➕ 加入 / ➖ 移出 by police ID, a reason asked for an exclusion), list the pending claims
and export the year as XLSX for finance (no notes, no reasons: they tell of health).

📝 登记理赔 is a flow (handlers/flow.py): the member by police ID or name (full-width digits
read; several of a name: buttons with their units) → the scheme (a scheme the member is not
enrolled in that year is refused in one sentence and the step stays) → the day the documents
came (今天 / 昨天 or typed) → an optional note (sealed in the draft and on the claim) → a preview
→ ✅ 登记. A pending claim's card has 💰 已赔付 (amount typed, whole yuan up to the policy's cap,
then ✅ 确认赔付) and 🚫 不予赔付 (a reason, sealed, told to the member). Each final step takes its
draft in the transaction that writes and storage.mutual_aid locks the claim, so a double press
pays once; the member is told each step privately, after the commit.

Everyone here is an organizer (or admin), declared once (MANAGER) and checked again at every
step and press; a forged or outdated press is refused and audited.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import texts
from bot.policy import MutualAidScheme, Policy
from bot.rules import mutual_aid as rules
from bot.rules.care import parse_date
from bot.rules.forgiving import Lean, normalise
from bot.rules.identity import normalize_police_id
from bot.rules.mutual_aid import MutualAidInputError, Problem
from bot.rules.text import clean, meaningful, quote
from bot.xlsx import Cell, Sheet, wall_time, write_sheets
from handlers.access import Access, access, pressed
from handlers.callbacks import MutualAidClaimAction, MutualAidPanel, MutualAidStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    conversation_key,
    edit_or_send,
    notify_told,
    prompt,
    reply,
    show_step,
)
from handlers.context import services, union_today
from handlers.flow import END, Draft, Flow, Pressed, Sealed, Typed
from storage import audit, conversations, officers
from storage import blood as blood_storage
from storage import mutual_aid as storage
from storage.models import ClaimStatus, EnrolmentStatus, MutualAidClaim, Officer
from storage.mutual_aid import Change, Decided
from storage.profile import Programmes
from storage.types import utcnow

NAME = "mutual_aid"
# Officers of one name shown as buttons; more and the police ID or a fuller name is asked.
PICK_LIMIT = 8
TYPED_LIMIT = 32
PENDING_SHOWN = 20
DAYS_AGO = ((texts.MUTUAL_AID_DATE_TODAY, 0), (texts.MUTUAL_AID_DATE_YESTERDAY, 1))
CLAIMS_WIDTHS = (8, 8, 20, 12, 10, 14, 12, 10, 14, 18)
MEMBERS_WIDTHS = (8, 20, 12, 10, 14, 10)


def _year_target(data: MutualAidPanel) -> str:
    return f"mutual_aid:{data.year}:{data.key}"


MANAGER: Access[Any] = Access(
    ORGANIZER_ROLES,
    forged="forged.mutual_aid",
    target="mutual_aid",
    refusal=texts.MUTUAL_AID_NOT_ORGANIZER,
)
PANEL: Access[MutualAidPanel] = Access(
    ORGANIZER_ROLES,
    forged="forged.mutual_aid",
    target=_year_target,
    refusal=texts.MUTUAL_AID_NOT_ORGANIZER,
)


def _claim_target(data: MutualAidClaimAction) -> str:
    return f"mutual_aid_claim:{data.claim_id}"


CLAIM: Access[MutualAidClaimAction] = Access(
    ORGANIZER_ROLES,
    forged="forged.mutual_aid",
    target=_claim_target,
    refusal=texts.MUTUAL_AID_NOT_ORGANIZER,
)


# --- words ---


def this_year(context: Context) -> int:
    """The year it is in the union's zone."""
    return utcnow().astimezone(services(context).zone).year


def _scheme_name(policy: Policy, key: str) -> str:
    scheme = policy.mutual_aid.scheme(key)
    return scheme.name if scheme is not None else key


def _who(officer: Officer) -> str:
    return texts.MUTUAL_AID_PICK_BUTTON.format(
        name=officer.name, unit=officer.unit or texts.UNKNOWN, police_id=officer.police_id
    )


def _money(amount: int) -> str:
    return f"{amount:,}"


def _told(delivered: bool) -> str:
    return texts.MUTUAL_AID_TOLD if delivered else texts.MUTUAL_AID_NOT_TOLD


def _problem_text(problem: Problem, *, cap: int = 0, year: int = 0) -> str:
    if problem.value in texts.MUTUAL_AID_AMOUNT_PROBLEMS:
        return texts.MUTUAL_AID_AMOUNT_PROBLEMS[problem.value].format(cap=_money(cap))
    limit = rules.REASON_LIMIT
    return texts.MUTUAL_AID_TEXT_PROBLEMS[problem.value].format(limit=limit, year=year)


def profile_lines(programmes: Programmes, policy: Policy, year: int) -> str:
    """/me: one line per scheme the officer is enrolled in this year ("" if none)."""
    keys = set(programmes.schemes)
    return "".join(
        texts.PROFILE_MUTUAL_AID.format(year=year, name=scheme.name)
        for scheme in policy.mutual_aid.of_year(year)
        if scheme.key in keys
    )


def reminder_text(schemes: Sequence[MutualAidScheme]) -> str:
    """How to claim under the schemes an officer is enrolled in: names, what they pay and the
    documents (nothing of the stay itself)."""
    lines = [
        texts.MUTUAL_AID_REMINDER_SCHEME.format(
            name=scheme.name, pays=scheme.pays, documents="、".join(scheme.documents)
        )
        for scheme in schemes
    ]
    return texts.MUTUAL_AID_REMINDER.format(schemes="\n".join(lines))


# === the panels ===============================================================================


def _panel_button(text: str, action: str, year: int, key: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=MutualAidPanel(action, year, key).pack())


def year_view(context: Context, year: int) -> tuple[str, InlineKeyboardMarkup]:
    """A year's figures per scheme and the buttons of the organizers' tools."""
    found = services(context)
    schemes = found.policy.mutual_aid.of_year(year)
    with found.database.session() as session:
        figures = storage.figures(session, year)
        known = storage.years_known(session)
    lines = [texts.MUTUAL_AID_YEAR_HEAD.format(year=year)]
    if not schemes:
        lines.append(texts.MUTUAL_AID_NO_SCHEMES.format(year=year))
    total, pending = 0, 0
    for scheme in schemes:
        shown = figures.get(scheme.key, storage.SchemeFigures())
        total += shown.paid_total
        pending += shown.submitted
        lines.append(
            texts.MUTUAL_AID_YEAR_SCHEME.format(
                name=scheme.name,
                enrolled=shown.enrolled,
                submitted=shown.submitted,
                paid=shown.paid,
                paid_total=_money(shown.paid_total),
                refused=shown.refused,
            )
        )
    lines.append(texts.MUTUAL_AID_YEAR_TOTAL.format(total=_money(total)))
    years = rules.year_choices(this_year(context), frozenset(known))
    rows = [
        [
            _panel_button(
                (
                    texts.MUTUAL_AID_YEAR_CURRENT
                    if shown_year == year
                    else texts.MUTUAL_AID_YEAR_BUTTON
                ).format(year=shown_year),
                "year",
                shown_year,
            )
            for shown_year in years
        ]
    ]
    rows += [
        [_panel_button(texts.MUTUAL_AID_SCHEME_BUTTON.format(name=s.name), "scheme", year, s.key)]
        for s in schemes
    ]
    if schemes:
        rows.append([_panel_button(texts.MUTUAL_AID_CLAIM_BUTTON, "claim", year)])
    rows.append(
        [
            _panel_button(texts.MUTUAL_AID_PENDING_BUTTON.format(count=pending), "pending", year),
            _panel_button(texts.MUTUAL_AID_EXPORT_BUTTON, "export", year),
        ]
    )
    return "\n".join(lines), InlineKeyboardMarkup(rows)


def _scheme_view(
    context: Context, year: int, scheme: MutualAidScheme
) -> tuple[str, InlineKeyboardMarkup]:
    with services(context).database.session() as session:
        enrolled = storage.figures(session, year).get(scheme.key, storage.SchemeFigures()).enrolled
    text = texts.MUTUAL_AID_SCHEME.format(
        name=scheme.name,
        year=year,
        covers=texts.MUTUAL_AID_COVERS.get(scheme.covers, scheme.covers),
        pays=scheme.pays,
        documents="、".join(scheme.documents),
        enrolled=enrolled,
    )
    markup = InlineKeyboardMarkup(
        [
            [
                _panel_button(texts.MUTUAL_AID_ADD_BUTTON, "add", year, scheme.key),
                _panel_button(texts.MUTUAL_AID_REMOVE_BUTTON, "remove", year, scheme.key),
            ],
            [_panel_button(texts.MUTUAL_AID_BACK_BUTTON, "year", year)],
        ]
    )
    return text, markup


def _pending_view(context: Context, year: int) -> tuple[str, InlineKeyboardMarkup]:
    found = services(context)
    with found.database.session() as session:
        pending = storage.claims_of_year(session, year, status=ClaimStatus.SUBMITTED)
    back = [_panel_button(texts.MUTUAL_AID_BACK_BUTTON, "year", year)]
    if not pending:
        return texts.MUTUAL_AID_PENDING_NONE.format(year=year), InlineKeyboardMarkup([back])
    rows = []
    for row in pending[:PENDING_SHOWN]:
        claim = row.claim
        assert claim.id is not None
        label = texts.MUTUAL_AID_PENDING_LINE.format(
            id=claim.id,
            name=row.name,
            scheme=_scheme_name(found.policy, claim.scheme),
            date=claim.submitted_on.isoformat(),
        )
        data = MutualAidClaimAction("open", claim.id).pack()
        rows.append([InlineKeyboardButton(label, callback_data=data)])
    rows.append(back)
    text = texts.MUTUAL_AID_PENDING_HEAD.format(year=year, count=len(pending))
    return text, InlineKeyboardMarkup(rows)


def _claim_view(
    context: Context, claim: MutualAidClaim, officer: Officer
) -> tuple[str, InlineKeyboardMarkup]:
    found = services(context)
    assert claim.id is not None
    text = texts.MUTUAL_AID_CLAIM_CARD.format(
        id=claim.id,
        who=_who(officer),
        year=claim.year,
        scheme=_scheme_name(found.policy, claim.scheme),
        date=claim.submitted_on.isoformat(),
        status=texts.MUTUAL_AID_STATUS.get(claim.status, claim.status),
        note=storage.note_of(claim, found.cipher) or texts.MUTUAL_AID_NO_NOTE,
    )
    rows = []
    if claim.status == ClaimStatus.SUBMITTED:
        rows.append(
            [
                InlineKeyboardButton(
                    texts.MUTUAL_AID_PAY_BUTTON,
                    callback_data=MutualAidClaimAction("pay", claim.id).pack(),
                ),
                InlineKeyboardButton(
                    texts.MUTUAL_AID_REFUSE_BUTTON,
                    callback_data=MutualAidClaimAction("refuse", claim.id).pack(),
                ),
            ]
        )
    rows.append([_panel_button(texts.MUTUAL_AID_BACK_BUTTON, "pending", claim.year)])
    return text, InlineKeyboardMarkup(rows)


@access(MANAGER)
async def mutual_aid_command(update: Update, context: Context, _caller: Caller) -> None:
    """/mutualaid: this year's figures and the organizers' buttons."""
    await answer(update)
    text, markup = year_view(context, this_year(context))
    await reply(update, context, text, markup)


def _viewed(data: MutualAidPanel) -> bool:
    return data.action in ("year", "scheme", "pending", "export")


@pressed(MutualAidPanel, PANEL, accept=_viewed)
async def panel_pressed(
    update: Update, context: Context, data: MutualAidPanel, caller: Caller
) -> None:
    """A year, a scheme's panel, the pending claims or the export."""
    if data.action == "export":
        await _export(update, context, caller, data.year)
        return
    if data.action == "scheme":
        scheme = services(context).policy.mutual_aid.scheme(data.key)
        if scheme is None or not scheme.runs_in(data.year):
            await answer(update, texts.MUTUAL_AID_SCHEME_GONE, alert=True)
            return
        text, markup = _scheme_view(context, data.year, scheme)
    elif data.action == "pending":
        text, markup = _pending_view(context, data.year)
    else:
        text, markup = year_view(context, data.year)
    await answer(update)
    await edit_or_send(update, context, text, markup)


def _opened(data: MutualAidClaimAction) -> bool:
    return data.action == "open"


@pressed(MutualAidClaimAction, CLAIM, accept=_opened)
async def claim_pressed(
    update: Update, context: Context, data: MutualAidClaimAction, _caller: Caller
) -> None:
    """A pending claim's card, with 已赔付 / 不予赔付 while it is pending."""
    with services(context).database.session() as session:
        claim = storage.get_claim(session, data.claim_id)
        officer = officers.by_id(session, claim.officer_id) if claim is not None else None
    if claim is None or officer is None:
        await answer(update, texts.MUTUAL_AID_CLAIM_GONE, alert=True)
        return
    await answer(update)
    text, markup = _claim_view(context, claim, officer)
    await edit_or_send(update, context, text, markup)


def workbook(
    claims: Sequence[storage.ClaimRow],
    members: Sequence[tuple[str, str, str, str, str]],
    policy: Policy,
    year: int,
    context: Context,
) -> bytes:
    """The year for finance: its claims (no notes, no reasons) and the members enrolled."""
    zone = services(context).zone
    claim_rows: list[list[Cell]] = [
        [
            row.claim.id,
            row.claim.year,
            _scheme_name(policy, row.claim.scheme),
            row.police_id,
            row.name,
            row.unit,
            row.claim.submitted_on,
            texts.MUTUAL_AID_STATUS.get(row.claim.status, row.claim.status),
            row.claim.amount,
            wall_time(row.claim.decided_at, zone),
        ]
        for row in claims
    ]
    member_rows: list[list[Cell]] = [
        [
            year,
            _scheme_name(policy, scheme),
            police_id,
            name,
            unit,
            texts.MUTUAL_AID_SOURCES.get(source, source),
        ]
        for scheme, police_id, name, unit, source in members
    ]
    buffer = io.BytesIO()
    write_sheets(
        [
            Sheet(
                texts.MUTUAL_AID_EXPORT_CLAIMS_SHEET,
                texts.MUTUAL_AID_EXPORT_CLAIMS,
                claim_rows,
                CLAIMS_WIDTHS,
            ),
            Sheet(
                texts.MUTUAL_AID_EXPORT_MEMBERS_SHEET,
                texts.MUTUAL_AID_EXPORT_MEMBERS,
                member_rows,
                MEMBERS_WIDTHS,
            ),
        ],
        buffer,
    )
    return buffer.getvalue()


async def _export(update: Update, context: Context, caller: Caller, year: int) -> None:
    found = services(context)
    assert update.effective_chat is not None
    with found.database.session() as session:
        claims = storage.claims_of_year(session, year)
        members = storage.members_of_year(session, year)
        audit.record(
            session,
            actor=caller.actor,
            action="mutual_aid.export",
            target=f"mutual_aid:{year}",
            claims=len(claims),
            members=len(members),
        )
    await answer(update)
    document = InputFile(
        io.BytesIO(workbook(claims, members, found.policy, year, context)),
        filename=f"mutual-aid-{year}.xlsx",
    )
    await context.bot.send_document(
        update.effective_chat.id,
        document,
        caption=texts.MUTUAL_AID_EXPORT_CAPTION.format(
            year=year, claims=len(claims), members=len(members)
        ),
    )


# === the dialogs ==============================================================================


class State(StrEnum):
    """The steps of adding, removing, recording a claim and deciding one."""

    MEMBER = "member"
    REASON = "reason"
    OFFICER = "officer"
    PICK = "pick"
    SCHEME = "scheme"
    DATE = "date"
    NOTE = "note"
    PREVIEW = "preview"
    AMOUNT = "amount"
    PAY = "pay"
    REFUSAL = "refusal"


class Mode(StrEnum):
    """What the dialog is for."""

    ADD = "add"
    REMOVE = "remove"
    CLAIM = "claim"
    PAY = "pay"
    REFUSE = "refuse"


@dataclass(frozen=True)
class AidDraft(Draft):
    """One dialog's draft: the year and scheme, the member, a claim's day and note (sealed), or
    the claim decided and its amount."""

    mode: Mode = Mode.CLAIM
    year: int = 0
    scheme: str = ""
    officer_id: int = 0
    candidates: tuple[int, ...] = ()
    submitted_on: str = ""  # ISO date
    note: Sealed | None = None
    claim_id: int = 0
    amount: int = 0

    def day(self) -> date | None:
        """The claim's day, if chosen."""
        try:
            return date.fromisoformat(self.submitted_on) if self.submitted_on else None
        except ValueError:
            return None


def _ready(state: State, draft: AidDraft) -> bool:
    """True if the draft holds what its step needs."""
    if not 2000 <= draft.year <= 2099:
        return False
    member = draft.mode in (Mode.ADD, Mode.REMOVE) and bool(draft.scheme)
    claim = draft.mode == Mode.CLAIM
    decide = draft.mode in (Mode.PAY, Mode.REFUSE) and draft.claim_id > 0
    needs = {
        State.MEMBER: member,
        State.REASON: member and draft.mode == Mode.REMOVE and draft.officer_id > 0,
        State.OFFICER: claim,
        State.PICK: claim and bool(draft.candidates),
        State.SCHEME: claim and draft.officer_id > 0,
        State.DATE: claim and draft.officer_id > 0 and bool(draft.scheme),
        State.NOTE: claim and draft.officer_id > 0 and draft.day() is not None,
        State.PREVIEW: claim and draft.officer_id > 0 and draft.day() is not None,
        State.AMOUNT: decide and draft.mode == Mode.PAY,
        State.PAY: decide and draft.mode == Mode.PAY and draft.amount > 0,
        State.REFUSAL: decide and draft.mode == Mode.REFUSE,
    }
    return needs[state]


FLOW = Flow(NAME, State, AidDraft, MutualAidStep, access=MANAGER, ready=_ready)
Press = Pressed[State, AidDraft, MutualAidStep]
Text = Typed[State, AidDraft]


def _step(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=MutualAidStep(flow, action, value).pack())


def _pick_markup(flow: str, found: Sequence[Officer]) -> InlineKeyboardMarkup:
    # A place in the draft's list, never an officer's id: a forged one points at nobody.
    return InlineKeyboardMarkup(
        [[_step(_who(officer), flow, "pick", str(i))] for i, officer in enumerate(found)]
    )


def _scheme_markup(flow: str, schemes: Sequence[MutualAidScheme]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_step(s.name, flow, "scheme", s.key)] for s in schemes])


def _date_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_step(text, flow, "date", str(n)) for text, n in DAYS_AGO]])


def _note_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_step(texts.MUTUAL_AID_SKIP_BUTTON, flow, "skip")]])


def _confirm_markup(flow: str, action: str, label: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[_step(label, flow, action), _step(texts.MUTUAL_AID_CANCEL_BUTTON, flow, "cancel")]]
    )


def _officer(context: Context, officer_id: int) -> Officer | None:
    with services(context).database.session() as session:
        return officers.by_id(session, officer_id)


async def _text_of(update: Update, context: Context, turn: Text) -> str | None:
    if turn.message.text is None:
        await prompt(update, context, texts.MUTUAL_AID_TEXT_ONLY)
        return None
    return turn.message.text


def _scheme_of(context: Context, draft: AidDraft) -> MutualAidScheme | None:
    scheme = services(context).policy.mutual_aid.scheme(draft.scheme)
    return scheme if scheme is not None and scheme.runs_in(draft.year) else None


# --- 加入 / 移出 ---


def _member_pressed(data: MutualAidPanel) -> bool:
    return data.action in ("add", "remove")


@FLOW.entry_press(MutualAidPanel, PANEL, accept=_member_pressed)
async def member_start(
    update: Update, context: Context, data: MutualAidPanel, _caller: Caller
) -> State | int:
    """➕ 加入 / ➖ 移出 on a scheme's panel: the police ID is asked."""
    scheme = services(context).policy.mutual_aid.scheme(data.key)
    if scheme is None or not scheme.runs_in(data.year):
        await answer(update, texts.MUTUAL_AID_SCHEME_GONE, alert=True)
        return END
    mode = Mode.ADD if data.action == "add" else Mode.REMOVE
    draft = AidDraft(FLOW.token(), mode=mode, year=data.year, scheme=scheme.key)
    FLOW.begin(update, context, State.MEMBER, draft)
    ask = texts.MUTUAL_AID_ASK_ADD if mode == Mode.ADD else texts.MUTUAL_AID_ASK_REMOVE
    await answer(update)
    await prompt(update, context, ask.format(year=data.year, scheme=scheme.name))
    return State.MEMBER


async def _member_typed(update: Update, context: Context, turn: Text) -> State | int | None:
    """A police ID: added at once, or (to remove) the reason is asked."""
    typed = await _text_of(update, context, turn)
    scheme = _scheme_of(context, turn.draft)
    if typed is None:
        return None
    if scheme is None:
        FLOW.forget(update, context)
        await prompt(update, context, texts.MUTUAL_AID_SCHEME_GONE)
        return END
    try:
        police_id = normalize_police_id(typed)
    except ValueError:
        shown = quote(clean(typed))
        await prompt(update, context, texts.MUTUAL_AID_BAD_POLICE_ID.format(typed=shown))
        return None
    draft = turn.draft
    if draft.mode == Mode.ADD:
        return await _add(update, context, turn.caller, draft, scheme, police_id)
    with services(context).database.session() as session:
        officer = officers.by_police_id(session, police_id)
        status = (
            storage.status_of(session, draft.year, scheme.key, officer.id)
            if officer is not None and officer.id is not None
            else None
        )
    if officer is None or officer.id is None:
        await prompt(update, context, texts.MUTUAL_AID_NO_OFFICER.format(police_id=police_id))
        return None
    fields = {
        "name": officer.name,
        "police_id": officer.police_id,
        "year": draft.year,
        "scheme": scheme.name,
    }
    if status == EnrolmentStatus.EXCLUDED:
        FLOW.forget(update, context)
        await prompt(update, context, texts.MUTUAL_AID_ALREADY_OUT.format(**fields))
        return END
    chosen = dataclasses.replace(draft, officer_id=officer.id)
    return await FLOW.advance(
        update, context, State.REASON, chosen, texts.MUTUAL_AID_ASK_REASON.format(**fields)
    )


async def _add(
    update: Update,
    context: Context,
    caller: Caller,
    draft: AidDraft,
    scheme: MutualAidScheme,
    police_id: str,
) -> State | int | None:
    with services(context).database.session() as session:
        change, officer = storage.add_by_hand(
            session, draft.year, scheme.key, scheme.covers, police_id, actor=caller.actor
        )
    if officer is None:
        await prompt(update, context, texts.MUTUAL_AID_NO_OFFICER.format(police_id=police_id))
        return None
    fields = {
        "name": officer.name,
        "police_id": officer.police_id,
        "year": draft.year,
        "scheme": scheme.name,
        "covers": texts.MUTUAL_AID_COVERS.get(scheme.covers, scheme.covers),
    }
    said = {
        Change.DONE: texts.MUTUAL_AID_ADDED,
        Change.ALREADY: texts.MUTUAL_AID_ALREADY_IN,
        Change.LEFT: texts.MUTUAL_AID_LEFT,
        Change.NOT_COVERED: texts.MUTUAL_AID_NOT_COVERED,
    }
    if change in (Change.LEFT, Change.NOT_COVERED):
        # Another police ID may follow: the step stays.
        await prompt(update, context, said[change].format(**fields))
        return None
    FLOW.forget(update, context)
    await prompt(update, context, said[change].format(**fields))
    return END


async def _reason_typed(update: Update, context: Context, turn: Text) -> State | int | None:
    """The exclusion's reason: the member is kept out, once (the draft is taken)."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    try:
        reason = rules.check_text(typed, rules.REASON_LIMIT, required=True)
    except MutualAidInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    found = services(context)
    change, officer, scheme = Change.ALREADY, None, _scheme_of(context, turn.draft)
    with FLOW.taking(update, context, State.REASON, turn.draft.flow) as (session, draft):
        if draft is not None and scheme is not None:
            officer = officers.by_id(session, draft.officer_id)
            if officer is not None:
                change = storage.exclude(
                    session,
                    draft.year,
                    scheme.key,
                    officer,
                    reason,
                    actor=turn.caller.actor,
                    cipher=found.cipher,
                )
    if draft is None or officer is None or scheme is None:
        await prompt(update, context, texts.STALE_BUTTON)
        return END
    said = texts.MUTUAL_AID_REMOVED if change == Change.DONE else texts.MUTUAL_AID_ALREADY_OUT
    text = said.format(
        name=officer.name, police_id=officer.police_id, year=draft.year, scheme=scheme.name
    )
    await prompt(update, context, text)
    return END


# --- 登记理赔 ---


def _claim_pressed(data: MutualAidPanel) -> bool:
    return data.action == "claim"


@FLOW.entry_press(MutualAidPanel, PANEL, accept=_claim_pressed)
async def claim_start(
    update: Update, context: Context, data: MutualAidPanel, _caller: Caller
) -> State | int:
    """📝 登记理赔: the member is asked."""
    if not services(context).policy.mutual_aid.of_year(data.year):
        await answer(update, texts.MUTUAL_AID_NO_SCHEMES.format(year=data.year), alert=True)
        return END
    draft = AidDraft(FLOW.token(), mode=Mode.CLAIM, year=data.year)
    FLOW.begin(update, context, State.OFFICER, draft)
    await answer(update)
    await prompt(update, context, texts.MUTUAL_AID_ASK_OFFICER.format(year=data.year))
    return State.OFFICER


async def _officer_typed(update: Update, context: Context, turn: Text) -> State | None:
    """A police ID or a name: one member goes on, several are offered, none is asked again."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    typed = clean(normalise(typed))[:TYPED_LIMIT]
    draft = dataclasses.replace(turn.draft, candidates=())
    if not meaningful(typed):
        ask = texts.MUTUAL_AID_ASK_OFFICER.format(year=draft.year)
        return await FLOW.advance(update, context, State.OFFICER, draft, ask)
    with services(context).database.session() as session:
        try:
            by_id = officers.by_police_id(session, normalize_police_id(typed))
        except ValueError:
            by_id = None
        found = (
            [by_id]
            if by_id is not None
            else blood_storage.active_named(session, typed, limit=PICK_LIMIT)
        )
    if not found:
        text = texts.MUTUAL_AID_NOT_FOUND.format(typed=quote(typed))
        return await FLOW.advance(update, context, State.OFFICER, draft, text)
    if len(found) > PICK_LIMIT:
        text = texts.MUTUAL_AID_TOO_MANY.format(typed=quote(typed), limit=PICK_LIMIT)
        return await FLOW.advance(update, context, State.OFFICER, draft, text)
    if len(found) == 1:
        return await _chosen(update, context, draft, found[0])
    ids = tuple(officer.id for officer in found if officer.id is not None)
    picking = dataclasses.replace(draft, candidates=ids)
    text = texts.MUTUAL_AID_PICK.format(count=len(found), typed=quote(typed))
    return await FLOW.advance(
        update, context, State.PICK, picking, text, _pick_markup(draft.flow, found)
    )


async def _chosen(update: Update, context: Context, draft: AidDraft, officer: Officer) -> State:
    """The member is known: the year's schemes as buttons."""
    assert officer.id is not None
    chosen = dataclasses.replace(draft, candidates=(), officer_id=officer.id, scheme="")
    schemes = services(context).policy.mutual_aid.of_year(draft.year)
    text = texts.MUTUAL_AID_ASK_SCHEME.format(who=_who(officer))
    markup = _scheme_markup(draft.flow, schemes)
    return await FLOW.advance(update, context, State.SCHEME, chosen, text, markup)


async def _picked(update: Update, context: Context, turn: Press) -> State | None:
    """One of the members of that name."""
    value, candidates = turn.data.value, turn.draft.candidates
    index = int(value) if value.isascii() and value.isdigit() else -1
    officer = _officer(context, candidates[index]) if 0 <= index < len(candidates) else None
    if officer is None:
        await FLOW.expire(update)
        return None
    return await _chosen(update, context, turn.draft, officer)


async def _scheme_pressed(update: Update, context: Context, turn: Press) -> State | None:
    """A scheme: only one the member is enrolled in that year (else one sentence, and the
    step stays)."""
    draft = turn.draft
    scheme = services(context).policy.mutual_aid.scheme(turn.data.value)
    officer = _officer(context, draft.officer_id)
    if scheme is None or not scheme.runs_in(draft.year) or officer is None:
        await FLOW.expire(update)
        return None
    with services(context).database.session() as session:
        enrolled = storage.is_enrolled(session, draft.year, scheme.key, draft.officer_id)
    if not enrolled:
        text = texts.MUTUAL_AID_NOT_ENROLLED.format(
            name=officer.name, year=draft.year, scheme=scheme.name
        )
        await answer(update, text, alert=True)
        return None
    chosen = dataclasses.replace(draft, scheme=scheme.key)
    text = texts.MUTUAL_AID_ASK_DATE.format(who=_who(officer), scheme=scheme.name)
    return await FLOW.advance(update, context, State.DATE, chosen, text, _date_markup(draft.flow))


async def _date_chosen(
    update: Update, context: Context, draft: AidDraft, day: date
) -> State | None:
    problem = rules.claim_date_problem(day, union_today(context), draft.year)
    if problem is not None:
        text = _problem_text(problem, year=draft.year)
        await answer(update)
        await prompt(update, context, text, _date_markup(draft.flow))
        return None
    chosen = dataclasses.replace(draft, submitted_on=day.isoformat())
    return await FLOW.advance(
        update, context, State.NOTE, chosen, texts.MUTUAL_AID_ASK_NOTE, _note_markup(draft.flow)
    )


async def _date_pressed(update: Update, context: Context, turn: Press) -> State | None:
    days = {str(n): n for _, n in DAYS_AGO}.get(turn.data.value)
    if days is None:
        await FLOW.expire(update)
        return None
    return await _date_chosen(
        update, context, turn.draft, union_today(context) - timedelta(days=days)
    )


async def _date_typed(update: Update, context: Context, turn: Text) -> State | None:
    """A typed day, read the forgiving way (12月5日, 昨天, full-width digits)."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    day = parse_date(typed, union_today(context), lean=Lean.PAST)
    if day is None:
        text = texts.MUTUAL_AID_BAD_DATE.format(typed=quote(clean(typed)))
        await prompt(update, context, text, _date_markup(turn.draft.flow))
        return None
    return await _date_chosen(update, context, turn.draft, day)


async def _preview(update: Update, context: Context, draft: AidDraft) -> State | int:
    found = services(context)
    officer = _officer(context, draft.officer_id)
    day = draft.day()
    if officer is None or day is None:
        FLOW.forget(update, context)
        await prompt(update, context, texts.STALE_BUTTON)
        return END
    note = found.cipher.decrypt(draft.note) if draft.note else ""
    text = texts.MUTUAL_AID_PREVIEW.format(
        who=_who(officer),
        year=draft.year,
        scheme=_scheme_name(found.policy, draft.scheme),
        date=day.isoformat(),
        note=note or texts.MUTUAL_AID_NO_NOTE,
    )
    markup = _confirm_markup(draft.flow, "confirm", texts.MUTUAL_AID_RECORD_BUTTON)
    return await FLOW.preview(update, context, State.PREVIEW, draft, text, markup)


async def _note_typed(update: Update, context: Context, turn: Text) -> State | int | None:
    """An optional note, sealed in the draft."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    try:
        note = rules.check_text(typed, rules.NOTE_LIMIT, required=False)
    except MutualAidInputError as exc:
        await prompt(update, context, _problem_text(exc.problem), _note_markup(turn.draft.flow))
        return None
    sealed = Sealed(services(context).cipher.encrypt(note)) if note else None
    return await _preview(update, context, dataclasses.replace(turn.draft, note=sealed))


async def _skipped(update: Update, context: Context, turn: Press) -> State | int:
    """跳过: no note."""
    return await _preview(update, context, dataclasses.replace(turn.draft, note=None))


async def _record(update: Update, context: Context, turn: Press) -> State | int | None:
    """✅ 登记: the claim, in the transaction that takes the preview (a double press records
    once); the member is told after the commit."""
    found = services(context)
    claim, officer, chat = None, None, None
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            day = draft.day()
            officer = officers.by_id(session, draft.officer_id)
            note = found.cipher.decrypt(draft.note) if draft.note else ""
            if day is not None and officer is not None:
                claim = storage.record_claim(
                    session,
                    draft.year,
                    draft.scheme,
                    draft.officer_id,
                    day,
                    note,
                    actor=turn.caller.actor,
                    cipher=found.cipher,
                )
                chat = storage.chat_of(session, draft.officer_id)
    if draft is None:
        await FLOW.expire(update)
        return None
    scheme = _scheme_name(found.policy, draft.scheme)
    if claim is None or officer is None:
        # Taken out of the scheme meanwhile: nothing was written.
        name = officer.name if officer is not None else ""
        await answer(update)
        text = texts.MUTUAL_AID_NOT_ENROLLED.format(name=name, year=draft.year, scheme=scheme)
        await show_step(update, context, text)
        return END
    told = False
    if chat is not None:
        text = texts.MUTUAL_AID_TOLD_SUBMITTED.format(id=claim.id, year=claim.year, scheme=scheme)
        told = await notify_told(context, chat, text)
    await answer(update)
    done = texts.MUTUAL_AID_RECORDED.format(
        id=claim.id, name=officer.name, year=claim.year, scheme=scheme, told=_told(told)
    )
    await show_step(update, context, done)
    return END


# --- 已赔付 / 不予赔付 ---


def _decide_pressed(data: MutualAidClaimAction) -> bool:
    return data.action in ("pay", "refuse")


@FLOW.entry_press(MutualAidClaimAction, CLAIM, accept=_decide_pressed)
async def decide_start(
    update: Update, context: Context, data: MutualAidClaimAction, _caller: Caller
) -> State | int:
    """💰 已赔付 (the amount is asked) or 🚫 不予赔付 (the reason is asked) on a pending claim."""
    found = services(context)
    with found.database.session() as session:
        claim = storage.get_claim(session, data.claim_id)
        officer = officers.by_id(session, claim.officer_id) if claim is not None else None
    if claim is None or claim.id is None or officer is None:
        await answer(update, texts.MUTUAL_AID_CLAIM_GONE, alert=True)
        return END
    if claim.status != ClaimStatus.SUBMITTED:
        status = texts.MUTUAL_AID_STATUS.get(claim.status, claim.status)
        await answer(update, texts.MUTUAL_AID_ALREADY_DECIDED.format(status=status), alert=True)
        return END
    pay = data.action == "pay"
    draft = AidDraft(
        FLOW.token(),
        mode=Mode.PAY if pay else Mode.REFUSE,
        year=claim.year,
        scheme=claim.scheme,
        officer_id=claim.officer_id,
        claim_id=claim.id,
    )
    state = State.AMOUNT if pay else State.REFUSAL
    FLOW.begin(update, context, state, draft)
    fields = {
        "id": claim.id,
        "name": officer.name,
        "scheme": _scheme_name(found.policy, claim.scheme),
        "cap": _money(found.policy.mutual_aid.claim_cap),
    }
    ask = texts.MUTUAL_AID_ASK_AMOUNT if pay else texts.MUTUAL_AID_ASK_REFUSAL
    await answer(update)
    await prompt(update, context, ask.format(**fields))
    return state


async def _amount_typed(update: Update, context: Context, turn: Text) -> State | int | None:
    """The amount paid, in whole yuan: checked, then 确认赔付."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    found = services(context)
    cap = found.policy.mutual_aid.claim_cap
    try:
        amount = rules.parse_amount(typed, cap)
    except MutualAidInputError as exc:
        await prompt(update, context, _problem_text(exc.problem, cap=cap))
        return None
    draft = dataclasses.replace(turn.draft, amount=amount)
    officer = _officer(context, draft.officer_id)
    text = texts.MUTUAL_AID_PAY_PREVIEW.format(
        id=draft.claim_id,
        name=officer.name if officer is not None else "",
        scheme=_scheme_name(found.policy, draft.scheme),
        amount=_money(amount),
    )
    markup = _confirm_markup(draft.flow, "pay", texts.MUTUAL_AID_PAY_CONFIRM)
    return await FLOW.preview(update, context, State.PAY, draft, text, markup)


async def _decided(
    update: Update,
    context: Context,
    caller: Caller,
    state: State,
    token: str,
    *,
    reason: str = "",
) -> int | None:
    """Pay or refuse, in the transaction that takes the draft; the member is told after it."""
    found = services(context)
    outcome, claim, chat = Decided.GONE, None, None
    with FLOW.taking(update, context, state, token) as (session, draft):
        if draft is not None:
            outcome, claim = storage.decide(
                session,
                draft.claim_id,
                amount=draft.amount if draft.mode == Mode.PAY else None,
                reason=reason,
                cap=found.policy.mutual_aid.claim_cap,
                actor=caller.actor,
                cipher=found.cipher,
                now=utcnow(),
            )
            if claim is not None and outcome == Decided.DONE:
                chat = storage.chat_of(session, claim.officer_id)
    if draft is None:
        if update.callback_query is not None:
            await FLOW.expire(update)
        else:
            await prompt(update, context, texts.STALE_BUTTON)
        return None
    if outcome == Decided.BAD_AMOUNT:
        cap = found.policy.mutual_aid.claim_cap
        await answer(update)
        await show_step(update, context, _problem_text(Problem.OVER_CAP, cap=cap))
        return END
    if claim is None or outcome != Decided.DONE:
        text = (
            texts.MUTUAL_AID_CLAIM_GONE
            if claim is None
            else texts.MUTUAL_AID_ALREADY_DECIDED.format(
                status=texts.MUTUAL_AID_STATUS.get(claim.status, claim.status)
            )
        )
        await answer(update)
        await show_step(update, context, text)
        return END
    scheme = _scheme_name(found.policy, claim.scheme)
    paid = claim.status == ClaimStatus.PAID
    told = False
    if chat is not None:
        told_text = (
            texts.MUTUAL_AID_TOLD_PAID.format(
                id=claim.id, scheme=scheme, amount=_money(claim.amount or 0)
            )
            if paid
            else texts.MUTUAL_AID_TOLD_REFUSED.format(id=claim.id, scheme=scheme, reason=reason)
        )
        told = await notify_told(context, chat, told_text)
    said = texts.MUTUAL_AID_PAID if paid else texts.MUTUAL_AID_REFUSED
    await answer(update)
    await show_step(
        update,
        context,
        said.format(id=claim.id, amount=_money(claim.amount or 0), told=_told(told)),
    )
    return END


async def _pay(update: Update, context: Context, turn: Press) -> int | None:
    """✅ 确认赔付: paid once, however often pressed."""
    return await _decided(update, context, turn.caller, State.PAY, turn.data.flow)


async def _refusal_typed(update: Update, context: Context, turn: Text) -> int | None:
    """The refusal's reason (sealed on the claim, told to the member): refused once."""
    typed = await _text_of(update, context, turn)
    if typed is None:
        return None
    try:
        reason = rules.check_text(typed, rules.REASON_LIMIT, required=True)
    except MutualAidInputError as exc:
        await prompt(update, context, _problem_text(exc.problem))
        return None
    return await _decided(
        update, context, turn.caller, State.REFUSAL, turn.draft.flow, reason=reason
    )


# --- text where a button is wanted, /cancel ---


async def _use_buttons(update: Update, context: Context, turn: Text) -> None:
    """Text at a step of buttons: the step's buttons again (they may never have arrived)."""
    draft = turn.draft
    markups = {
        State.SCHEME: lambda: _scheme_markup(
            draft.flow, services(context).policy.mutual_aid.of_year(draft.year)
        ),
        State.PREVIEW: lambda: _confirm_markup(
            draft.flow, "confirm", texts.MUTUAL_AID_RECORD_BUTTON
        ),
        State.PAY: lambda: _confirm_markup(draft.flow, "pay", texts.MUTUAL_AID_PAY_CONFIRM),
    }
    made = markups.get(turn.state)
    await prompt(update, context, texts.MUTUAL_AID_USE_BUTTONS, made() if made else None)


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is kept."""
    with services(context).database.session() as session:
        dropped = conversations.delete_all_for(session, conversation_key(update))
    await reply(update, context, texts.CANCELLED if dropped else texts.NOTHING_TO_CANCEL)
    return END


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """The dialogs, /mutualaid and its buttons; before `menu`."""
    officer_typed = FLOW.typed(_officer_typed)
    repeat = FLOW.typed(_use_buttons)
    conversation = FLOW.handler(
        entry_points=[
            CallbackQueryHandler(member_start, pattern=r"^mai:(add|remove):"),
            CallbackQueryHandler(claim_start, pattern=r"^mai:claim:"),
            CallbackQueryHandler(decide_start, pattern=r"^mac:(pay|refuse):"),
        ],
        states={
            State.MEMBER: [FLOW.typed(_member_typed)],
            State.REASON: [FLOW.typed(_reason_typed)],
            State.OFFICER: [officer_typed],
            State.PICK: [FLOW.press("pick", _picked), officer_typed],
            State.SCHEME: [FLOW.press("scheme", _scheme_pressed), repeat],
            State.DATE: [FLOW.press("date", _date_pressed), FLOW.typed(_date_typed)],
            State.NOTE: [FLOW.press("skip", _skipped), FLOW.typed(_note_typed)],
            State.PREVIEW: [
                FLOW.press("confirm", _record),
                FLOW.press("cancel", FLOW.cancel()),
                repeat,
            ],
            State.AMOUNT: [FLOW.typed(_amount_typed)],
            State.PAY: [
                FLOW.press("pay", _pay),
                FLOW.press("cancel", FLOW.cancel()),
                repeat,
            ],
            State.REFUSAL: [FLOW.typed(_refusal_typed)],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        conversation,
        FLOW.outside(),
        CommandHandler("mutualaid", mutual_aid_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(panel_pressed, pattern=r"^mai:(year|scheme|pending|export):"),
        CallbackQueryHandler(claim_pressed, pattern=r"^mac:open:"),
    ]
