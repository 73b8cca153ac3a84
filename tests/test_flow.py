"""The typed preview → confirm flow (handlers/flow.py): drafts as stored, rows it cannot read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from telegram import Update
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from handlers import announce, event_admin
from handlers.announce import AnnouncementDraft, Reach
from handlers.event_admin import EventChanges, EventDraft
from handlers.flow import Draft, DraftError, Sealed, _buttons_of
from storage import conversations
from storage.models import Audience, ConversationState, EventKind, Role
from tests.conftest import BotHarness, add_officer
from tests.dialogs import Person, PressData, says

ORG = Person(7_900_000_001, "赵干事")
BEIJING = timezone(timedelta(hours=8))


def test_a_draft_is_stored_as_the_dict_drafts_were() -> None:
    draft = AnnouncementDraft("ab12cd34", audience=Reach.EVERYONE, text="开会")
    assert draft.to_json() == {"flow": "ab12cd34", "audience": "all", "text": "开会"}
    assert AnnouncementDraft.from_json(draft.to_json()) == draft
    chosen = AnnouncementDraft("ab12cd34", audience=Reach.ROLE, role=Role.ADMIN)
    assert chosen.to_json() == {"flow": "ab12cd34", "audience": "role", "role": "admin"}
    units = AnnouncementDraft("ab12cd34", units=("天元分局", "荷塘分局"))
    assert units.to_json()["units"] == ["天元分局", "荷塘分局"]
    assert AnnouncementDraft.from_json(units.to_json()) == units


def test_an_event_draft_of_the_old_format_reads() -> None:
    """Moments as ISO text with their offset, caps that may be null, an edit's changes."""
    stored = {
        "flow": "0a1b2c3d",
        "kind": "matchmaking",
        "audience": "singles",
        "audience_value": "",
        "title": "联谊",
        "starts_at": "2026-12-20T14:00:00+08:00",
        "ends_at": "2026-12-20T17:00:00+08:00",
        "place": "工会活动室",
        "capacity": 40,
        "male_cap": 20,
        "female_cap": None,
        "waitlist": False,
    }
    draft = EventDraft.from_json(stored)
    assert draft.kind is EventKind.MATCHMAKING and draft.audience is Audience.SINGLES
    assert draft.starts_at == datetime(2026, 12, 20, 14, tzinfo=BEIJING)
    assert (draft.male_cap, draft.female_cap, draft.waitlist) == (20, None, False)
    assert event_admin._ready(event_admin.State.PREVIEW, draft)
    again = EventDraft.from_json(draft.to_json())
    assert again == draft
    edit = {
        "flow": "0a1b2c3d",
        "event_id": 7,
        "field": "capacity",
        "changes": {"capacity": 30, "male_cap": None, "female_cap": None},
    }
    read = EventDraft.from_json(edit)
    assert read.changes == EventChanges(capacity=30)
    assert read.changes.as_update() == {"capacity": 30, "male_cap": None, "female_cap": None}
    moved = EventChanges(
        starts_at=datetime(2026, 12, 21, 6, tzinfo=UTC),
        ends_at=datetime(2026, 12, 21, 9, tzinfo=UTC),
    )
    assert set(moved.as_update()) == {"starts_at", "ends_at"}


@pytest.mark.parametrize(
    "stored",
    [
        {},
        {"flow": 12},
        {"flow": "ab12cd34", "audience": "everyone"},
        {"flow": "ab12cd34", "units": "天元分局"},
        {"flow": "ab12cd34", "text": None},
        [],
    ],
)
def test_a_draft_that_does_not_fit_is_refused(stored: object) -> None:
    with pytest.raises(DraftError):
        AnnouncementDraft.from_json(stored)


def test_moments_need_their_offset_and_numbers_are_not_booleans() -> None:
    with pytest.raises(DraftError):
        EventDraft.from_json({"flow": "x", "starts_at": "2026-12-20T14:00:00"})
    with pytest.raises(DraftError):
        EventDraft.from_json({"flow": "x", "capacity": True})
    with pytest.raises(DraftError):
        EventDraft.from_json({"flow": "x", "changes": {"capacity": "30"}})


@dataclass(frozen=True)
class _Secret(Draft):
    ward: Sealed
    note: Sealed | None = None
    hospital: str = ""


def test_sealed_fields_are_named_and_kept_as_tokens() -> None:
    assert _Secret.sealed_fields() == ("ward", "note")
    draft = _Secret("f", ward=Sealed("gAAAA-token"))
    assert draft.to_json() == {"flow": "f", "ward": "gAAAA-token"}
    assert _Secret.from_json(draft.to_json()) == draft


@pytest.mark.parametrize(
    ("state", "draft"),
    [
        ("ask_text", "{not json"),
        ("ask_text", '{"flow": "ab12cd34", "audience": "nobody"}'),
        ("ask_text", '{"flow": "ab12cd34"}'),
        ("a_step_of_long_ago", '{"flow": "ab12cd34", "audience": "all"}'),
    ],
)
async def test_a_row_it_cannot_read_ends_the_flow_kindly(
    bot: BotHarness, state: str, draft: str
) -> None:
    """The message is answered as if no flow were open, the row goes, a press is spent."""
    add_officer(
        bot.database, "200001", "赵敏", "+8613800000001", bound_to=ORG.id, roles=[Role.ORGANIZER]
    )
    await bot.meet(ORG)
    key = conversations.key_of(ORG.id, ORG.id)
    with bot.database.session() as session:
        conversations.save(session, announce.NAME, key, state, {})
        stored = session.get(ConversationState, (announce.NAME, key))
        assert stored is not None
        stored.draft = draft
        session.add(stored)
    await bot.dialog.play(
        [
            (ORG, "这句不是通知", [says("发送 /menu 打开菜单")]),
            (ORG, PressData("ann:ab12cd34:confirm:", answer="此按钮已失效"), []),
        ]
    )
    with bot.database.session() as session:
        assert conversations.load_states(session, announce.NAME) == {}


async def _nothing(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A step that is never run: these tests only route."""


def test_a_flow_routes_a_button_by_one_pattern_of_all_its_steps() -> None:
    """The pattern a flow checks a press against first: every step's button and no other."""
    steps = [
        CallbackQueryHandler(_nothing, pattern=r"^an:(:|$)"),
        CallbackQueryHandler(_nothing, pattern=r"^ev:edit:"),
        MessageHandler(filters.TEXT, _nothing),
        CommandHandler("cancel", _nothing),
    ]
    buttons = _buttons_of(steps)
    assert buttons is not None
    for data in ("an:", "an::x", "ev:edit:7"):
        assert buttons.match(data), data
    for data in ("ann:", "ev:edi", "pf:greet:1", "xan:"):
        assert not buttons.match(data), data
    # A flag scoped to its group stays its own in the joined pattern.
    scoped = _buttons_of([CallbackQueryHandler(_nothing, pattern=r"^(?i:AN):")])
    assert scoped is not None and scoped.match("an:") and not scoped.match("ev:")
    # Typed messages only: no button at all.
    only_typed = _buttons_of([MessageHandler(filters.TEXT, _nothing)])
    assert only_typed is not None and not only_typed.match("an:")


@pytest.mark.parametrize(
    "step",
    [
        CallbackQueryHandler(_nothing),  # any button
        CallbackQueryHandler(_nothing, pattern=lambda data: data == "x"),
        CallbackQueryHandler(_nothing, pattern=r"(?i)^an:"),
        CallbackQueryHandler(_nothing, pattern=re.compile(r"^an:", re.IGNORECASE)),
        CallbackQueryHandler(_nothing, pattern=r"^(a)\1:"),
        TypeHandler(Update, _nothing),
    ],
)
def test_a_step_no_single_pattern_describes_leaves_every_check_to_the_steps(
    step: BaseHandler[Any, Any, Any],
) -> None:
    """Any button, a callable, flags, a back reference, another kind of handler: the steps
    are checked one by one, as PTB does."""
    assert _buttons_of([CallbackQueryHandler(_nothing, pattern=r"^an:"), step]) is None
