"""/clubs: the union's interest clubs (俱乐部) — join, leave, leaders and club notices.

- `/clubs`: the policy's clubs with member counts and the officer's own standing, a 加入 or
  退出 button per club, and a 👥 成员 button on the clubs the caller may see the members of
  (a leader their own clubs, organizers every club). Officers see counts only, never names.
- `/clubs 俱乐部名`: the member list, for that club's leaders and for organizers.
- `/clubs leader 警号 俱乐部名` / `/clubs unleader 警号 俱乐部名` (organizers and admins): grant
  or remove a club's lead, audited; the officer hears of it privately after the commit.
- `/clubnotice [俱乐部名]` (also `/clubs notice`): a leader writes to the members of a club they
  lead, an organizer to any club's: club (if there is a choice) → text → preview with the
  recipient count → 发送 / 取消. A flow like /announce's (handlers/flow.py): each step commits
  before its prompt, and 发送 takes the preview row, re-checks the lead and writes the broadcast
  in one transaction.

Buttons carry a club's key (club_key), never trusted: every press re-reads the policy and the
caller's lead. A membership of a club the policy no longer lists is ignored.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlmodel import Session
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot import effects, texts
from bot.rules.identity import normalize_police_id
from bot.rules.messages import NOTICE_TEXT_LIMIT, TELEGRAM_TEXT_LIMIT
from bot.rules.text import clean, meaningful, quote
from handlers import announce, menu
from handlers.access import OFFICER, Access, access, pressed, refuse
from handlers.callbacks import ClubAction, ClubNoticeStep
from handlers.common import (
    ORGANIZER_ROLES,
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    edit_or_send,
    notify_told,
    prompt,
    reply,
    show_step,
)
from handlers.context import services
from handlers.flow import END, Draft, Flow, Pressed, Typed
from storage import audit, broadcasts, officers
from storage import clubs as club_storage
from storage.clubs import LeaderChange
from storage.models import BroadcastKind, Priority

log = logging.getLogger(__name__)

# Granting and removing a club's lead: organizers and admins; anyone else trying is audited.
LEAD_KEEPER: Access[Any] = Access(ORGANIZER_ROLES, forged="forged.club_leader", audit_messages=True)
# A club name longer than this (in UTF-8) travels in buttons as a hash: 64 bytes in all.
KEY_BYTES = 40
HASH_MARK = "#"
LEAD_VERBS = {"leader": True, "队长": True, "unleader": False, "撤销队长": False}
NOTICE_COMMAND = r"^/clubs(@\w+)?\s+(notice|通知)(\s|$)"

NAME = "clubnotice"


# --- club names and keys ---------------------------------------------------------------------


def club_key(club: str) -> str:
    """What a button carries for a club: its name, or a short hash when the name cannot fit."""
    if len(club.encode()) <= KEY_BYTES and ":" not in club and not club.startswith(HASH_MARK):
        return club
    return HASH_MARK + hashlib.sha256(club.encode()).hexdigest()[:10]


def club_of_key(key: str, clubs: Sequence[str]) -> str | None:
    """The policy's club a button's key names, or None (an old or forged button)."""
    for club in clubs:
        if club_key(club) == key:
            return club
    return None


def find_club(typed: str, clubs: Sequence[str]) -> str | None:
    """The policy's club an organizer or leader typed; 足球俱乐部 means 足球."""
    name = typed.strip()
    for candidate in (name, name.removesuffix("俱乐部")):
        if candidate in clubs:
            return candidate
    return None


def _policy_clubs(context: Context) -> list[str]:
    return list(services(context).policy.clubs)


def _unknown(typed: str, clubs: Sequence[str]) -> str:
    return texts.CLUB_UNKNOWN.format(club=quote(typed.strip()), clubs="、".join(clubs))


def _officer_id(caller: Caller) -> int:
    assert caller.officer.id is not None
    return caller.officer.id


def _may_lead_club(session: Session, caller: Caller, club: str, clubs: Sequence[str]) -> bool:
    """True if the caller may see the members of and post to this club, read now."""
    if club not in clubs:
        return False
    return caller.organizer or club_storage.is_leader(session, _officer_id(caller), club)


def _may(context: Context, caller: Caller, club: str) -> bool:
    with services(context).database.session() as session:
        return _may_lead_club(session, caller, club, _policy_clubs(context))


# --- /clubs: the list ------------------------------------------------------------------------


def list_text(clubs: Sequence[str], counts: dict[str, int], mine: set[str], leads: set[str]) -> str:
    """The clubs, their member counts and the caller's own standing in each."""
    lines = [texts.CLUBS_HEAD.format(count=len(clubs))]
    for number, club in enumerate(clubs, start=1):
        if club in leads:
            standing = texts.CLUBS_MINE_LEADER
        elif club in mine:
            standing = texts.CLUBS_MINE_MEMBER
        else:
            standing = ""
        lines.append(
            texts.CLUBS_LINE.format(
                number=number, club=club, members=counts.get(club, 0), mine=standing
            )
        )
    return "\n".join(lines)


def list_markup(clubs: Sequence[str], mine: set[str], visible: set[str]) -> InlineKeyboardMarkup:
    """Per club: 加入 or 退出, and 👥 成员 where the caller may see the members."""
    rows = []
    for club in clubs:
        key = club_key(club)
        if club in mine:
            label, data = texts.CLUB_LEAVE_BUTTON.format(club=club), ClubAction("leave", key)
        else:
            label, data = texts.CLUB_JOIN_BUTTON.format(club=club), ClubAction("join", key)
        row = [InlineKeyboardButton(label, callback_data=data.pack())]
        if club in visible:
            members = ClubAction("members", key).pack()
            label = texts.CLUB_MEMBERS_BUTTON.format(club=club)
            row.append(InlineKeyboardButton(label, callback_data=members))
        rows.append(row)
    return InlineKeyboardMarkup(rows)


def _overview(context: Context, caller: Caller) -> tuple[str, InlineKeyboardMarkup | None]:
    """The /clubs message for this caller, read now."""
    clubs = _policy_clubs(context)
    if not clubs:
        return texts.CLUBS_NONE, None
    officer_id = _officer_id(caller)
    with services(context).database.session() as session:
        counts = club_storage.member_counts(session, within=clubs)
        mine = set(club_storage.clubs_of(session, officer_id, within=clubs))
        leads = set(club_storage.led_by(session, officer_id, within=clubs))
    organizer = caller.organizer
    visible = set(clubs) if organizer else leads
    text = list_text(clubs, counts, mine, leads) + texts.CLUBS_FOOT
    if leads:
        text += texts.CLUBS_LEADER_FOOT
    if organizer:
        text += texts.CLUBS_ORGANIZER_FOOT
    return text, list_markup(clubs, mine, visible)


@access()
async def clubs_command(update: Update, context: Context, caller: Caller) -> None:
    """/clubs [俱乐部名 | leader … | unleader …]: the clubs, a member list, or a club's lead."""
    args = context.args or []
    if not args:
        text, markup = _overview(context, caller)
        await reply(update, context, text, markup)
        return
    verb = args[0].strip().lower()
    if verb in LEAD_VERBS:
        await _change_lead(update, context, caller, args[1:], lead=LEAD_VERBS[verb])
        return
    await _typed_members(update, context, caller, " ".join(args))


@pressed(ClubAction)
async def club_pressed(
    update: Update, context: Context, action: ClubAction, caller: Caller
) -> None:
    """加入 / 退出 / 👥 成员 on the /clubs list."""
    club = club_of_key(action.club, _policy_clubs(context))
    if club is None:
        # An old list (the club left the policy) or forged data: nothing to join or leave.
        await answer(update, texts.STALE_BUTTON)
        return
    if action.action == "members":
        if not _may(context, caller, club):
            await refuse(
                update, context, caller, forged="forged.club_members", target=f"club:{club}"
            )
            return
        await answer(update)
        await _send_members(update, context, club)
        return
    outcome = await _join_or_leave(context, caller, club, join=action.action == "join")
    await answer(update)
    text, markup = _overview(context, caller)
    try:
        await edit_or_send(update, context, outcome + "\n\n" + text, markup)
    except TelegramError as exc:
        log.info("could not update a club list: %s", type(exc).__name__)


async def _join_or_leave(context: Context, caller: Caller, club: str, *, join: bool) -> str:
    """Join or leave, once however often pressed; the sentence that says what happened."""
    officer_id = _officer_id(caller)
    database = services(context).database
    if join:
        with database.session() as session:
            joined = club_storage.join(session, officer_id, club)
        return (texts.CLUB_JOINED if joined else texts.CLUB_ALREADY_MEMBER).format(club=club)
    with database.session() as session:
        was_leader = club_storage.is_leader(session, officer_id, club)
    # A session of its own: leaving locks the officer's row before reading anything.
    with database.session() as session:
        left = club_storage.leave(session, officer_id, club)
    if not left:
        return texts.CLUB_NOT_MEMBER.format(club=club)
    return (texts.CLUB_LEFT_LEADER if was_leader else texts.CLUB_LEFT).format(club=club)


# --- member lists ----------------------------------------------------------------------------


async def _typed_members(update: Update, context: Context, caller: Caller, typed: str) -> None:
    """/clubs 俱乐部名: the member list for its leaders and organizers, the count for others."""
    clubs = _policy_clubs(context)
    club = find_club(typed, clubs)
    if club is None:
        await reply(update, context, _unknown(typed, clubs))
        return
    if not _may(context, caller, club):
        with services(context).database.session() as session:
            count = len(club_storage.member_ids(session, club))
        text = texts.CLUB_COUNT.format(club=club, count=count)
        await reply(update, context, text + texts.CLUB_MEMBERS_NOT_ALLOWED)
        return
    await _send_members(update, context, club)


async def _send_members(update: Update, context: Context, club: str) -> None:
    """The club's members with police ID and unit, leaders first (the caller was checked)."""
    with services(context).database.session() as session:
        people = club_storage.members(session, club)
    lines = [texts.CLUB_MEMBERS_HEAD.format(club=club, count=len(people))]
    if not people:
        lines.append(texts.CLUB_NO_MEMBERS)
    for number, person in enumerate(people, start=1):
        lines.append(
            texts.CLUB_MEMBER_LINE.format(
                number=number,
                name=person.name,
                police_id=person.police_id,
                unit=person.unit or texts.UNKNOWN,
                leader=texts.CLUB_MEMBER_LEADER if person.leader else "",
            ).rstrip()
        )
    await reply(update, context, "\n".join(lines))


# --- leaders ---------------------------------------------------------------------------------


async def _change_lead(
    update: Update, context: Context, caller: Caller, args: Sequence[str], *, lead: bool
) -> None:
    """/clubs leader|unleader 警号 俱乐部名 (organizers and admins): grant or remove a lead."""
    if not await LEAD_KEEPER.permits(update, context, caller, target=" ".join(args)):
        return
    if len(args) != 2:
        await reply(update, context, texts.CLUB_LEADER_USAGE)
        return
    clubs = _policy_clubs(context)
    raw_id, typed = args
    if find_club(typed, clubs) is None and find_club(raw_id, clubs) is not None:
        raw_id, typed = typed, raw_id  # 俱乐部名 警号 is understood too
    club = find_club(typed, clubs)
    if club is None:
        await reply(update, context, _unknown(typed, clubs))
        return
    try:
        police_id = normalize_police_id(raw_id)
    except ValueError:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=raw_id[:12]))
        return
    with services(context).database.session() as session:
        outcome, officer = club_storage.change_leader(
            session, police_id, club, lead=lead, actor=caller.actor
        )
        binding = officers.binding_of(session, officer.id) if officer and officer.id else None
    if officer is None:
        await reply(update, context, texts.NO_SUCH_OFFICER.format(police_id=police_id))
        return
    values = {"name": officer.name, "police_id": officer.police_id, "club": club}
    if outcome is LeaderChange.LEFT:
        await reply(update, context, texts.CLUB_LEADER_LEFT.format(**values))
        return
    if outcome is LeaderChange.UNCHANGED:
        template = texts.CLUB_LEADER_ALREADY if lead else texts.CLUB_LEADER_NOT
        await reply(update, context, template.format(**values))
        return
    # Committed: now the officer may hear of it.
    told = False
    if binding is not None and officer.active:
        notice = texts.CLUB_YOU_LEAD if lead else texts.CLUB_YOU_NO_LONGER_LEAD
        told = await notify_told(context, binding.chat_id, notice.format(club=club))
    done = texts.CLUB_LEADER_GRANTED if lead else texts.CLUB_LEADER_REVOKED
    told_text = texts.CLUB_TOLD if told else texts.CLUB_NOT_TOLD
    await reply(update, context, done.format(told=told_text, **values))


# --- club notices: the committed step --------------------------------------------------------


class State(StrEnum):
    """The steps of a club notice."""

    CHOOSE_CLUB = "choose_club"
    ASK_TEXT = "ask_text"
    PREVIEW = "preview"


@dataclass(frozen=True)
class NoticeDraft(Draft):
    """A club notice in the making: the club from the text step on, then its text."""

    club: str = ""
    text: str = ""


def _ready(state: State, draft: NoticeDraft) -> bool:
    """True if the draft holds what its step needs."""
    if state in (State.ASK_TEXT, State.PREVIEW) and not draft.club:
        return False
    return state != State.PREVIEW or bool(draft.text)


async def _vet(update: Update, context: Context, caller: Caller, step: ClubNoticeStep) -> bool:
    """A club button (of this draft or an older one): only for a club the caller may post to."""
    return step.action != "club" or await _club_allowed(update, context, caller, step.value)


# Any bound officer may be at a step: the lead of the club in question is checked where it
# matters (_vet, the text step, 发送).
FLOW = Flow(NAME, State, NoticeDraft, ClubNoticeStep, access=OFFICER, vet=_vet, ready=_ready)
Press = Pressed[State, NoticeDraft, ClubNoticeStep]
Text = Typed[State, NoticeDraft]


def _postable(context: Context, caller: Caller) -> list[str]:
    """The policy's clubs the caller may post to: every one for organizers, else those led."""
    clubs = _policy_clubs(context)
    if caller.organizer:
        return clubs
    with services(context).database.session() as session:
        led = set(club_storage.led_by(session, _officer_id(caller), within=clubs))
    return [club for club in clubs if club in led]


def _length(text: str) -> int:
    """The length Telegram holds against its limit: UTF-16 code units (emoji count twice)."""
    return len(text.encode("utf-16-le")) // 2


def _prefix(club: str) -> str:
    return texts.CLUB_NOTICE_PREFIX.format(club=club)


def _text_limit(club: str) -> int:
    """How long the typed text may be: the club's name goes in front of it."""
    return min(NOTICE_TEXT_LIMIT, TELEGRAM_TEXT_LIMIT - _length(_prefix(club)))


def _reachable(context: Context, club: str) -> int:
    with services(context).database.session() as session:
        return len(club_storage.member_recipients(session, club))


def _button(text: str, flow: str, action: str, value: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=ClubNoticeStep(flow, action, value).pack())


def _club_markup(flow: str, clubs: Sequence[str]) -> InlineKeyboardMarkup:
    buttons = [_button(club, flow, "club", club_key(club)) for club in clubs]
    return InlineKeyboardMarkup([buttons[start : start + 3] for start in range(0, len(buttons), 3)])


def _preview_markup(flow: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                _button(texts.CLUB_NOTICE_SEND_BUTTON, flow, "send"),
                _button(texts.CLUB_NOTICE_CANCEL_BUTTON, flow, "cancel"),
            ]
        ]
    )


# --- club notices: the flow ------------------------------------------------------------------


@FLOW.entry()
async def start(update: Update, context: Context, caller: Caller) -> State | int:
    """/clubnotice [俱乐部名]: a leader (or an organizer) starts a notice to a club's members."""
    args = list(context.args or [])
    if args and args[0].lower() in ("notice", "通知"):
        args = args[1:]  # /clubs notice 足球
    clubs = _policy_clubs(context)
    allowed = _postable(context, caller)
    chosen: str | None = None
    if args:
        chosen = find_club(" ".join(args), clubs)
        if chosen is None:
            await reply(update, context, _unknown(" ".join(args), clubs))
            return END
        if chosen not in allowed:
            await _not_yours(update, context, caller, chosen)
            return END
    elif not allowed:
        await reply(update, context, texts.CLUB_NOTICE_NOT_LEADER)
        return END
    elif len(allowed) == 1:
        chosen = allowed[0]
    draft = NoticeDraft(FLOW.token())
    # A new notice replaces any flow left half-way, so its text cannot land elsewhere.
    state = FLOW.begin(update, context, State.CHOOSE_CLUB, draft)
    if chosen is not None:
        return await _ask_text(update, context, dataclasses.replace(draft, club=chosen))
    await prompt(update, context, texts.CLUB_NOTICE_ASK_CLUB, _club_markup(draft.flow, allowed))
    return state


async def _ask_text(update: Update, context: Context, draft: NoticeDraft) -> State | int:
    """The club is known: ask for the text, unless none of its members could receive it."""
    club = draft.club
    await answer(update)
    if _reachable(context, club) == 0:
        FLOW.forget(update, context)
        await show_step(update, context, texts.CLUB_NOTICE_NOBODY.format(club=club))
        return END
    state = FLOW.save(update, context, State.ASK_TEXT, draft)
    ask = texts.CLUB_NOTICE_ASK_TEXT.format(club=club, limit=_text_limit(club))
    await show_step(update, context, ask)
    return state


async def _club_chosen(update: Update, context: Context, turn: Press) -> State | int:
    """A club button at the club step (the caller may post there: see _vet)."""
    club = club_of_key(turn.data.value, _policy_clubs(context)) or ""
    return await _ask_text(update, context, NoticeDraft(turn.draft.flow, club=club))


async def _club_allowed(update: Update, context: Context, caller: Caller, key: str) -> bool:
    """A club button: True if the caller may post there; otherwise refuse (audited)."""
    club = club_of_key(key, _policy_clubs(context))
    if club is None:
        await answer(update, texts.STALE_BUTTON)
        return False
    if not _may(context, caller, club):
        await _not_yours(update, context, caller, club)
        return False
    return True


async def _not_yours(update: Update, context: Context, caller: Caller, club: str) -> None:
    """A club the caller may not post to, asked for by name or by button: audited, refused."""
    text = texts.CLUB_NOTICE_NOT_YOURS.format(club=club)
    await refuse(
        update,
        context,
        caller,
        forged="forged.club_notice",
        target=f"club:{club}",
        text=text,
        audit_messages=True,
    )


async def _text_received(update: Update, context: Context, turn: Text) -> State | int | None:
    """The notice's text: checked (and the lead again), then the preview."""
    club = turn.draft.club
    if not _may(context, turn.caller, club):
        # The lead was taken away since the flow began.
        FLOW.forget(update, context)
        await reply(update, context, texts.CLUB_NOTICE_NOT_YOURS.format(club=club))
        return END
    text = turn.message.text
    if text is None:
        await prompt(update, context, texts.ANNOUNCE_TEXT_ONLY)
        return None
    # Blank or invisible-only text is empty; direction overrides are dropped.
    text = clean(text)
    if not meaningful(text):
        await prompt(update, context, texts.ANNOUNCE_TEXT_EMPTY)
        return None
    if _length(text) > _text_limit(club):
        too_long = texts.ANNOUNCE_TEXT_TOO_LONG.format(
            limit=_text_limit(club), length=_length(text)
        )
        await prompt(update, context, too_long)
        return None
    count = _reachable(context, club)
    if count == 0:
        FLOW.forget(update, context)
        await prompt(update, context, texts.CLUB_NOTICE_NOBODY.format(club=club))
        return END
    # The preview is the notice exactly as members will get it, then the question.
    draft = dataclasses.replace(turn.draft, text=text)
    question = texts.CLUB_NOTICE_PREVIEW.format(club=club, count=count)
    markup = _preview_markup(draft.flow)
    return await FLOW.preview(
        update, context, State.PREVIEW, draft, question, markup, shown=[_prefix(club) + text]
    )


async def _send(update: Update, context: Context, turn: Press) -> int | None:
    """发送: take the preview, check the lead again, write the broadcast; one transaction."""
    chat = update.effective_chat
    assert chat is not None
    caller = turn.caller
    clubs = _policy_clubs(context)
    club = ""
    refused = False
    broadcast_id: int | None = None
    total = 0
    # The take comes first: a second 发送 racing this one waits, then finds nothing.
    with FLOW.taking(update, context, State.PREVIEW, turn.data.flow) as (session, draft):
        if draft is not None:
            club = draft.club
            if not _may_lead_club(session, caller, club, clubs):
                refused = True
                audit.record(
                    session, actor=caller.actor, action="forged.club_notice", target=f"club:{club}"
                )
            else:
                recipients = club_storage.member_recipients(session, club)
                text = _prefix(club) + draft.text
                if recipients:
                    broadcast = broadcasts.create(
                        session,
                        kind=BroadcastKind.ANNOUNCEMENT,
                        priority=Priority.NORMAL,
                        text=text,
                        recipients=recipients,
                        created_by=caller.actor,
                        progress_chat_id=chat.id,
                    )
                    broadcast_id, total = broadcast.id, broadcast.total
                    # Counts only: the text itself stays out of the audit log.
                    audit.record(
                        session,
                        actor=caller.actor,
                        action="club.notice",
                        target=f"club:{club}",
                        broadcast=broadcast_id,
                        recipients=total,
                        length=_length(text),
                    )
    if draft is None:
        await FLOW.expire(update)
        return None
    if refused:
        await answer(update, texts.CLUB_NOTICE_NOT_YOURS.format(club=club), alert=True)
        await show_step(update, context, texts.CLUB_NOTICE_NOT_YOURS.format(club=club))
        return END
    if broadcast_id is None:
        await answer(update)
        await show_step(update, context, texts.CLUB_NOTICE_NOBODY.format(club=club))
        return END
    log.info("club notice %d queued for %d officers", broadcast_id, total)
    # Only organizers get ⏹ at once: /announce's stop button is theirs alone for now.
    stop = caller.organizer
    await _start_progress(context, chat.id, broadcast_id, total, stop=stop)
    await answer(update)
    await show_step(update, context, texts.CLUB_NOTICE_SENT.format(club=club))
    return END


async def _start_progress(
    context: Context, chat_id: int, broadcast_id: int, total: int, *, stop: bool
) -> None:
    """The progress message the broadcast engine keeps editing, then wake the sender.

    The broadcast is committed already: a progress message that cannot be sent must not stop it.
    """
    try:
        # Its id is stored once Telegram took it (after the commit): the sender edits it.
        with effects.on_sent("broadcast_progress", broadcast_id):
            await context.bot.send_message(
                chat_id,
                texts.BROADCAST_STARTING.format(total=total),
                reply_markup=announce.stop_markup(broadcast_id) if stop else None,
            )
    except TelegramError as exc:
        log.warning("could not send a progress message: %s", type(exc).__name__)
    finally:
        services(context).broadcaster.wake()


async def cancel(update: Update, context: Context) -> int:
    """/cancel at any step: drop the draft (and any other unfinished flow); nothing is sent."""
    await menu.cancel_outside(update, context)
    return END


@pressed(ClubNoticeStep)
async def pressed_outside(
    update: Update, context: Context, step: ClubNoticeStep, caller: Caller
) -> None:
    """A flow button when no flow is open: an old preview, or a forged press (audited)."""
    if step.action == "club":
        if not await _club_allowed(update, context, caller, step.value):
            return
    elif not _postable(context, caller):
        # Only organizers and leaders have these buttons: anyone else forged the press.
        await refuse(update, context, caller, forged="forged.club_notice", target=step.action)
        return
    await answer(update, texts.STALE_BUTTON)


def handlers() -> list[BaseHandler[Any, Any, Any]]:
    """/clubs, its buttons, and the club notice conversation."""
    use_buttons = FLOW.remind(texts.ANNOUNCE_USE_BUTTONS)
    notice_command = PRIVATE_MESSAGE & filters.Regex(NOTICE_COMMAND)
    conversation = FLOW.handler(
        entry_points=[
            CommandHandler("clubnotice", start, filters=PRIVATE_MESSAGE),
            CommandHandler("clubs", start, filters=notice_command),
        ],
        states={
            State.CHOOSE_CLUB: [FLOW.press("club", _club_chosen), use_buttons],
            State.ASK_TEXT: [FLOW.typed(_text_received)],
            State.PREVIEW: [
                FLOW.press("send", _send),
                FLOW.press("cancel", FLOW.cancel()),
                use_buttons,
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel, filters=PRIVATE_MESSAGE)],
    )
    return [
        conversation,
        CommandHandler("clubs", clubs_command, filters=PRIVATE_MESSAGE),
        CallbackQueryHandler(club_pressed, pattern=ClubAction.pattern()),
        CallbackQueryHandler(pressed_outside, pattern=ClubNoticeStep.pattern()),
    ]
