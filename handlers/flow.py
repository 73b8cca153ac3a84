"""One typed flow for every preview → confirm conversation (/announce, /clubnotice, greeting
texts, event publishing and editing, /appeal).

A flow is a PTB ConversationHandler (`FlowHandler`) with three typed parts:

- its states, a StrEnum, with a real `states={...}` table: each state lists the handlers that
  mean something there (`Flow.press` for the buttons of that step, `Flow.typed` for a message),
  so a button of another step, or of an older draft, expires on its own (`Flow.expire`);
- its draft, a frozen dataclass (`Draft`) stored as JSON in conversation_state.draft, under the
  same keys the dict drafts had; a field typed `Sealed` holds a FieldCipher token, never the
  plain value (its name belongs in storage/sealed.py); a row that no longer reads as its draft
  ends the flow as if it were gone;
- its button, typed callback data whose first fields are `flow` (the draft's token) and
  `action` (the step it answers).

The database, not PTB's memory, says where a flow stands. Each step commits its state and draft
before its prompt (`Flow.save`), so a restart continues at the step the officer saw; /start,
/menu, /cancel or another flow drop the row without telling this handler. So `check_update`
reads the committed row: if there is none (or one that cannot be read, which it drops) the flow
is over, and — as with any ConversationHandler whose state takes nothing — `check_update`
returns None and the update goes on to the next handler of its group in the same pass. No
update is ever handed back through process_update.

The plain conversations (binding, the care report, the booking pseudonym, 已发放 / 不予受理 on
a care case: string states, a FlowStore draft) are routed the same way by
`StoredConversationHandler`. Several instances of the bot may share one database and any update
may reach any of them, so no conversation keeps its state in memory.

A preview is confirmed (or cancelled) by taking its row (`Flow.taking`): the delete is the
transaction's first statement, so one press acts however often the button is pressed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import logging
import re
import secrets
import types
import typing
import warnings
import weakref
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NewType, Protocol, Self, TypeVar, runtime_checkable

from sqlmodel import Session
from telegram import Bot, InlineKeyboardMarkup, Message, Update
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    ConversationHandler,
    MessageHandler,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import texts
from handlers.access import Access, CallerStep, Handler, access, pressed
from handlers.callbacks import CallbackData
from handlers.common import (
    PRIVATE_MESSAGE,
    Caller,
    Context,
    answer,
    conversation_key,
    prompt,
    show_step,
)
from handlers.context import services
from storage import conversations
from storage.conversations import key_of
from storage.db import Database

log = logging.getLogger(__name__)

END = ConversationHandler.END
# What a step may mean by a message: text, media, anything but a command or a service message.
TYPED = ~filters.COMMAND & ~filters.StatusUpdate.ALL & PRIVATE_MESSAGE

Sealed = NewType("Sealed", str)
"""A draft field that holds a FieldCipher token (storage.crypto), never the plain value."""


# --- drafts ----------------------------------------------------------------------------------


class DraftError(ValueError):
    """A stored draft that does not read as its dataclass: an old format, or a damaged row."""


@dataclass(frozen=True)
class Draft:
    """Base of every flow's draft; `flow` is the token its buttons carry.

    Stored as JSON with one key per field; a field still at its default is left out, so a draft
    is stored as the dict drafts before it were.
    """

    flow: str

    def to_json(self) -> dict[str, Any]:
        """The draft as conversation_state.draft holds it."""
        return _dump(self)

    @classmethod
    def from_json(cls, data: object) -> Self:
        """Back from conversation_state.draft; DraftError if it does not fit."""
        return _load(cls, data, cls.__name__)

    @classmethod
    def sealed_fields(cls) -> tuple[str, ...]:
        """The fields typed Sealed: the ones storage/sealed.py must list for this flow."""
        hints = typing.get_type_hints(cls)
        return tuple(
            field.name
            for field in dataclasses.fields(cls)
            if Sealed in (hints[field.name], *typing.get_args(hints[field.name]))
        )


def _dump(value: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field in dataclasses.fields(value):  # type: ignore[arg-type]
        item = getattr(value, field.name)
        if field.default is not dataclasses.MISSING and item == field.default:
            continue
        if field.default_factory is not dataclasses.MISSING and item == field.default_factory():
            continue
        out[field.name] = _encode(item)
    return out


def _encode(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _dump(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {str(name): _encode(item) for name, item in value.items()}
    return value


Loaded = TypeVar("Loaded")


def _load(kind: type[Loaded], data: object, where: str) -> Loaded:
    if not isinstance(data, dict):
        raise DraftError(f"{where}: not an object")
    hints = typing.get_type_hints(kind)
    values: dict[str, object] = {}
    for field in dataclasses.fields(kind):  # type: ignore[arg-type]
        if field.name in data:
            name = f"{where}.{field.name}"
            values[field.name] = _decode(hints[field.name], data[field.name], name)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise DraftError(f"{where}.{field.name}: missing")
    try:
        return kind(**values)
    except (TypeError, ValueError) as exc:
        raise DraftError(f"{where}: {exc}") from exc


def _decode(kind: Any, raw: object, where: str) -> object:
    """A JSON value as the field's type wants it; DraftError if it is not one."""
    if kind is Any:
        return raw
    supertype = getattr(kind, "__supertype__", None)  # a NewType such as Sealed
    if supertype is not None:
        return _decode(supertype, raw, where)
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        if raw is None and type(None) in arguments:
            return None
        for argument in arguments:
            if argument is type(None):
                continue
            try:
                return _decode(argument, raw, where)
            except DraftError:
                continue
        raise DraftError(f"{where}: {raw!r} fits none of {kind}")
    if origin in (list, tuple):
        if not isinstance(raw, list):
            raise DraftError(f"{where}: not a list")
        items = [_decode(arguments[0], item, where) for item in raw]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(raw, dict) or not all(isinstance(name, str) for name in raw):
            raise DraftError(f"{where}: not an object")
        return {name: _decode(arguments[1], item, where) for name, item in raw.items()}
    if not isinstance(kind, type):
        raise DraftError(f"{where}: cannot read {kind!r}")
    if issubclass(kind, enum.Enum):
        try:
            return kind(raw)
        except ValueError:
            raise DraftError(f"{where}: {raw!r} is no {kind.__name__}") from None
    if issubclass(kind, bool):
        if isinstance(raw, bool):
            return raw
    elif issubclass(kind, int):
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
    elif issubclass(kind, str):
        if isinstance(raw, str):
            return raw
    elif issubclass(kind, datetime):
        return _moment(raw, where)
    elif dataclasses.is_dataclass(kind):
        return _load(kind, raw, where)
    raise DraftError(f"{where}: {raw!r} is no {kind.__name__}")


def _moment(raw: object, where: str) -> datetime:
    """A datetime stored as ISO text, always with its offset (a naive one would not compare)."""
    if not isinstance(raw, str):
        raise DraftError(f"{where}: not a moment")
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise DraftError(f"{where}: not a moment") from None
    if moment.tzinfo is None:
        raise DraftError(f"{where}: a moment without its offset")
    return moment


# --- the flow --------------------------------------------------------------------------------


S = TypeVar("S", bound=enum.StrEnum)
D = TypeVar("D", bound=Draft)
B = TypeVar("B", bound=CallbackData)
K = TypeVar("K", bound=CallbackData)


@runtime_checkable
class StepButton(Protocol):
    """What every flow button carries first: the draft's token and the step's action."""

    @property
    def flow(self) -> str:
        """The token of the draft the button was shown for."""
        ...

    @property
    def action(self) -> str:
        """What the button does (a step of the flow, 确认, 取消…)."""
        ...


def step_of(data: CallbackData) -> StepButton:
    """A flow button's token and action."""
    assert isinstance(data, StepButton)
    return data


@dataclass(frozen=True)
class Committed(Generic[S, D]):
    """The step and draft the database holds for one conversation."""

    state: S
    draft: D


@dataclass(frozen=True)
class Pressed(Generic[S, D, B]):
    """A button of the flow, pressed at its own step by someone admitted, on the current draft."""

    caller: Caller
    state: S
    draft: D
    data: B


@dataclass(frozen=True)
class Typed(Generic[S, D]):
    """A message sent at a step, by someone admitted."""

    caller: Caller
    state: S
    draft: D
    message: Message


# A press the caller may not make although they may use the flow (a club they do not lead):
# False once told so; the flow stays where it is.
Vet = Callable[[Update, Context, Caller, B], Awaitable[bool]]
PressStep = Callable[[Update, Context, Pressed[S, D, B]], Awaitable[object]]
TypedStep = Callable[[Update, Context, Typed[S, D]], Awaitable[object]]
AnyHandler = BaseHandler[Any, Any, Any]

# The row `check_update` read, for the step `handle_update` runs next: (flow name, row).
_current: ContextVar[tuple[str, Committed[Any, Any]] | None] = ContextVar(
    "nuanjing_flow_row", default=None
)


def _always(_state: object, _draft: object) -> bool:
    return True


class Flow(Generic[S, D, B]):
    """One preview → confirm conversation: its name, states, draft, button and who may use it.

    `access` (handlers/access.py) is checked at every step, press or message: someone it turns
    away (a stranger, an officer who lost the role half-way) is answered by it and loses the
    flow's draft. `vet` refuses a press the caller may not make although they may use the flow.
    """

    def __init__(
        self,
        name: str,
        states: type[S],
        draft: type[D],
        button: type[B],
        *,
        access: Access[B],
        vet: Vet[B] | None = None,
        ready: Callable[[S, D], bool] = _always,
    ) -> None:
        fields = [field.name for field in dataclasses.fields(button)]
        if fields[:2] != ["flow", "action"]:
            raise TypeError(f"{button.__name__} must start with the fields flow and action")
        self.name = name
        self.states = states
        self.draft = draft
        self.button = button
        self.access = access
        self.vet = vet
        # True if the draft holds what its step needs; a row that does not is dropped.
        self.ready = ready

    # --- the committed step --------------------------------------------------------------

    @staticmethod
    def token() -> str:
        """A new draft's token: its buttons carry it, so an older draft's buttons expire."""
        return secrets.token_hex(4)

    def save(self, update: Update, context: Context, state: S, draft: D) -> S:
        """Commit the step the user is now at, with its draft (before its prompt); returns it."""
        with services(context).database.session() as session:
            conversations.save(session, self.name, conversation_key(update), state, draft.to_json())
        return state

    def begin(self, update: Update, context: Context, state: S, draft: D) -> S:
        """Start a new draft; it replaces any flow left half-way, so no text lands elsewhere."""
        with services(context).database.session() as session:
            conversations.delete_all_for(session, conversation_key(update))
        return self.save(update, context, state, draft)

    def forget(self, update: Update, context: Context) -> None:
        """Drop the flow and its draft."""
        with services(context).database.session() as session:
            conversations.delete(session, self.name, conversation_key(update))

    def read(self, session: Session, key: str) -> Committed[S, D] | None:
        """The committed step and draft; None if no flow is open.

        A row that no longer reads as this flow's (a state or draft of an older format, a
        damaged row) is dropped: the flow ends as if /menu had dropped it.
        """
        state = conversations.state_of(session, self.name, key)
        if state is None:
            return None
        try:
            committed = Committed(
                self.states(state),
                self.draft.from_json(conversations.draft(session, self.name, key)),
            )
        except ValueError as exc:  # DraftError, JSON that is not JSON, an unknown state
            log.info("flow %s: dropped a stored step it cannot read (%s)", self.name, exc)
            committed = None
        if committed is None or not self.ready(committed.state, committed.draft):
            conversations.delete(session, self.name, key)
            return None
        return committed

    def committed(self, update: Update, context: Context) -> Committed[S, D] | None:
        """The row this update's check read; read again if the step runs on its own."""
        current = _current.get()
        if current is not None and current[0] == self.name:
            return typing.cast(Committed[S, D], current[1])
        with services(context).database.session() as session:
            return self.read(session, conversation_key(update))

    def take(self, session: Session, key: str, state: S, token: str | None = None) -> D | None:
        """Delete the row if it stands at `state` (for this token) and return its draft.

        The delete is the transaction's first statement: a second press racing this one waits
        for it, then finds nothing. None if nothing was taken; the caller rolls back then, so a
        press of an older draft leaves the newer one in place.
        """
        stored = conversations.take(session, self.name, key, state)
        if stored is None:
            return None
        try:
            draft = self.draft.from_json(stored)
        except DraftError:
            return None
        if (token is not None and draft.flow != token) or not self.ready(state, draft):
            return None
        return draft

    @contextmanager
    def taking(
        self, update: Update, context: Context, state: S, token: str
    ) -> Iterator[tuple[Session, D | None]]:
        """A session that has taken the draft at `state` for this token (None: nothing taken).

        What the block writes commits with the take; a take that found nothing is rolled back.
        """
        with services(context).database.session() as session:
            draft = self.take(session, conversation_key(update), state, token)
            if draft is None:
                session.rollback()
            yield session, draft

    # --- showing steps ---------------------------------------------------------------------

    @staticmethod
    async def show(
        update: Update, context: Context, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Ask a step's question: in the pressed message for a button, as a new one for a text."""
        if update.callback_query is not None:
            await answer(update)
            await show_step(update, context, text, markup)
        else:
            await prompt(update, context, text, markup)

    async def advance(
        self,
        update: Update,
        context: Context,
        state: S,
        draft: D,
        text: str,
        markup: InlineKeyboardMarkup | None = None,
    ) -> S:
        """Commit the next step, then ask its question."""
        self.save(update, context, state, draft)
        await self.show(update, context, text, markup)
        return state

    async def preview(
        self,
        update: Update,
        context: Context,
        state: S,
        draft: D,
        question: str,
        markup: InlineKeyboardMarkup,
        *,
        shown: Sequence[str] = (),
    ) -> S:
        """Commit the preview, then show it: `shown` exactly as it will go out (as new
        messages), then the question with its confirm and cancel buttons."""
        self.save(update, context, state, draft)
        if not shown:
            await self.show(update, context, question, markup)
            return state
        await answer(update)
        for text in shown:
            await prompt(update, context, text)
        await prompt(update, context, question, markup)
        return state

    @staticmethod
    async def expire(update: Update) -> None:
        """A press on a spent button (an older draft, another step, a preview already taken):
        say so; the flow stays where it is."""
        await answer(update, texts.STALE_BUTTON)

    # --- handlers --------------------------------------------------------------------------

    async def _refused(self, update: Update, context: Context) -> int:
        """Someone turned away where the flow begins loses any draft of it left open."""
        self.forget(update, context)
        return END

    def entry(self, rule: Access[Any] | None = None) -> Callable[[CallerStep], Handler]:
        """An entry point by command: `step(update, context, caller)` for callers the flow's
        access (or `rule`) admits; anyone else is answered by it and loses the flow's draft."""
        return access(rule or self.access, refused=self._refused)

    def entry_press(
        self,
        kind: type[K],
        rule: Access[K],
        *,
        accept: Callable[[K], bool] | None = None,
    ) -> Callable[[Callable[[Update, Context, K, Caller], Awaitable[object]]], Handler]:
        """An entry point by button: `step(update, context, data, caller)` with the press's
        data parsed as `kind`; outdated data expires, and whoever `rule` turns away is answered
        by it and loses the flow's draft."""
        return pressed(kind, rule, accept=accept, refused=self._refused)

    def outside(self, rule: Access[B] | None = None) -> AnyHandler:
        """The flow's buttons when no draft of the flow is open (a preview already answered, an
        older one after /cancel, a forged press): the flow's access (or `rule`) is checked as
        at a step, then the button has expired."""

        @pressed(self.button, rule or self.access)
        async def expired(update: Update, context: Context, _data: B, _caller: Caller) -> None:
            await self.expire(update)

        return CallbackQueryHandler(expired, pattern=self.button.pattern())

    def press(self, actions: str | Sequence[str], step: PressStep[S, D, B]) -> AnyHandler:
        """The buttons of these actions, at the state whose list holds this handler."""
        names = (actions,) if isinstance(actions, str) else tuple(actions)
        choices = "|".join(re.escape(name) for name in names)
        pattern = re.compile(rf"^{re.escape(self.button.prefix)}:[^:]*:(?:{choices})(:|$)")

        async def pressed(update: Update, context: Context) -> object:
            return await self._pressed(update, context, step)

        return CallbackQueryHandler(pressed, pattern=pattern)

    def typed(self, step: TypedStep[S, D]) -> AnyHandler:
        """A message at the state whose list holds this handler."""

        async def received(update: Update, context: Context) -> object:
            return await self._typed(update, context, step)

        return MessageHandler(TYPED, received)

    def remind(self, text: str) -> AnyHandler:
        """A message at a step that wants a button: say so; the step stays."""

        async def reminder(update: Update, context: Context, _turn: Typed[S, D]) -> None:
            await prompt(update, context, text)

        return self.typed(reminder)

    def cancel(self, text: str = texts.CANCELLED) -> PressStep[S, D, B]:
        """取消 on a preview: the draft is taken (once), nothing is kept, and it says `text`."""

        async def cancelled(update: Update, context: Context, turn: Pressed[S, D, B]) -> int | None:
            with self.taking(update, context, turn.state, turn.draft.flow) as (_, draft):
                pass
            if draft is None:
                await self.expire(update)
                return None
            await answer(update)
            await show_step(update, context, text)
            return END

        return cancelled

    def handler(
        self,
        *,
        entry_points: Sequence[AnyHandler],
        states: Mapping[S, Sequence[AnyHandler]],
        fallbacks: Sequence[AnyHandler] = (),
    ) -> FlowHandler:
        """The ConversationHandler of this flow; a button no state takes expires."""
        missing = set(self.states) - set(states)
        if missing:
            raise ValueError(f"flow {self.name}: no handlers for {sorted(missing)}")

        async def expired(update: Update, context: Context, _turn: Pressed[S, D, B]) -> None:
            await self.expire(update)

        async def pressed(update: Update, context: Context) -> object:
            return await self._pressed(update, context, expired)

        # Any other button of the flow at this step: checked like a step's, then expired.
        any_button = CallbackQueryHandler(pressed, pattern=self.button.pattern())
        return FlowHandler(
            self, entry_points=entry_points, states=states, fallbacks=[*fallbacks, any_button]
        )

    async def _pressed(self, update: Update, context: Context, step: PressStep[S, D, B]) -> object:
        """Check the press (data, caller, token) before its step sees it."""
        assert update.callback_query is not None
        data = self.button.unpack(update.callback_query.data)
        if data is None:
            await answer(update, texts.STALE_BUTTON)
            return None
        caller = await self.access.admit(update, context, data)
        if caller is None:
            # Someone who lost the right half-way through loses the flow with it.
            self.forget(update, context)
            return END
        if self.vet is not None and not await self.vet(update, context, caller, data):
            return None
        committed = self.committed(update, context)
        if committed is None:
            await answer(update, texts.STALE_BUTTON)
            return END
        if step_of(data).flow != committed.draft.flow:
            # A button of an earlier draft; the open one stays where it is.
            await self.expire(update)
            return None
        return await step(update, context, Pressed(caller, committed.state, committed.draft, data))

    async def _typed(self, update: Update, context: Context, step: TypedStep[S, D]) -> object:
        caller = await self.access.admit(update, context, None)
        if caller is None:
            self.forget(update, context)
            return END
        committed = self.committed(update, context)
        message = update.effective_message
        if committed is None or message is None:
            return END
        return await step(update, context, Typed(caller, committed.state, committed.draft, message))


# --- where the conversations find their database ---------------------------------------------

_databases: dict[int, Database] = {}


def serve(bot: Bot, database: Database) -> None:
    """Let the conversations of the application with this bot read their steps from `database`.

    `check_update` is given nothing but the update; the update's bot is the application's, and
    the composition root (bot/app.py `build_application`) names its database once the
    application is built.
    """
    key = id(bot)
    _databases[key] = database
    weakref.finalize(bot, _databases.pop, key, None)


def _database_of(update: Update) -> Database:
    database = _databases.get(id(update.get_bot()))
    if database is None:
        raise RuntimeError("no database serves this bot's conversations (see handlers.flow.serve)")
    return database


# --- the ConversationHandlers ----------------------------------------------------------------

# (what the step is handed: the committed row, the state or None for an entry point; PTB's
# conversation key; the chosen handler; that handler's own check result)
Check = tuple[object, tuple[int | str, ...], BaseHandler[Update, Context, object], object]


class _CommittedStepHandler(ConversationHandler[Context]):
    """A ConversationHandler that takes its state from the committed row, never from memory.

    Several instances of the bot may share one database, and any update may reach any of them:
    the step an officer stands at is what conversation_state holds, read at every update that a
    step could take. Entry points come first (every conversation may be restarted); otherwise
    the update goes to the handlers of the committed state, then the fallbacks. With no
    committed step, or none of them taking it, check_update returns None and the next handler of
    the group gets the update in the same pass. PTB's own record of states is neither written
    nor read, so there is nothing to persist, restore or flush.

    Every step runs to its end before the next update of the officer is checked (no
    `block=False`): the state it returns is the one it committed before its prompt.
    """

    def __init__(
        self,
        name: str,
        *,
        entry_points: Sequence[AnyHandler],
        states: Mapping[Any, Sequence[AnyHandler]],
        fallbacks: Sequence[AnyHandler],
    ) -> None:
        # Keyed per user and chat, not per message, on purpose: the typed text must reach the
        # conversation its buttons started. PTB warns about that choice.
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="If 'per_message=False'", category=PTBUserWarning
            )
            super().__init__(
                entry_points=list(entry_points),
                states={state: list(handlers) for state, handlers in states.items()},
                fallbacks=list(fallbacks),
                allow_reentry=True,
                name=name,
                persistent=False,
            )
        self.stored_as = name
        self._steps = [handler for handlers in self.states.values() for handler in handlers]
        self._steps += self.fallbacks
        for handler in (*self.entry_points, *self._steps):
            if handler.block is False:
                raise ValueError(f"{name}: a step must not run with block=False")
        self._buttons = _buttons_of([*self.entry_points, *self._steps])

    def _committed(self, session: Session, key: str) -> tuple[object, object] | None:
        """The committed state and what its step is handed with it; None if none is open."""
        raise NotImplementedError

    def _at(self, row: object) -> contextlib.AbstractContextManager[object]:
        """While the step chosen for `row` runs."""
        return contextlib.nullcontext()

    def _ended(self, update: Update, context: Context) -> None:
        """A step returned END."""

    def check_update(self, update: object) -> Check | None:
        """An entry point; else, with a committed step, that step's handler or a fallback."""
        if not isinstance(update, Update) or update.channel_post or update.edited_channel_post:
            return None
        chat, user = update.effective_chat, update.effective_user
        if chat is None or user is None:
            return None
        query = update.callback_query
        if query is not None:
            if query.message is None:
                return None
            # A button of another feature: one match here instead of one per handler (a press
            # went past some 240 of them, about 5% of its time).
            if self._buttons is not None and not (
                isinstance(query.data, str) and self._buttons.match(query.data)
            ):
                return None
        key = (chat.id, user.id)
        found = _first(self.entry_points, update)
        if found is not None:
            return None, key, found[0], found[1]
        # Most updates are for nobody's conversation: read the database only for one a step
        # could take.
        if _first(self._steps, update) is None:
            return None
        with _database_of(update).session() as session:
            committed = self._committed(session, key_of(chat.id, user.id))
        if committed is None:
            return None
        state, row = committed
        found = _first([*self.states.get(state, []), *self.fallbacks], update)
        if found is None:
            return None
        return row, key, found[0], found[1]

    async def handle_update(  # type: ignore[override]
        self,
        update: Update,
        application: Application[Any, Context, Any, Any, Any, Any],
        check_result: Check,
        context: Context,
    ) -> object | None:
        """Run the chosen step; PTB's ApplicationHandlerStop still stops the later groups."""
        row, _key, handler, check = check_result
        stop = False
        with self._at(row):
            try:
                new_state = await handler.handle_update(update, application, check, context)
            except ApplicationHandlerStop as raised:
                new_state, stop = raised.state, True
        if new_state == END:
            self._ended(update, context)
        if stop:
            raise ApplicationHandlerStop
        return None


class FlowHandler(_CommittedStepHandler):
    """The ConversationHandler of a typed flow (`Flow.handler`).

    The row its check read (a Committed, state and draft) is at hand for the step
    (`Flow.committed`). A step that ends the flow has taken or forgotten its row itself (a
    preview is confirmed by taking it), so END drops nothing here.
    """

    def __init__(
        self,
        flow: Flow[Any, Any, Any],
        *,
        entry_points: Sequence[AnyHandler],
        states: Mapping[Any, Sequence[AnyHandler]],
        fallbacks: Sequence[AnyHandler],
    ) -> None:
        super().__init__(flow.name, entry_points=entry_points, states=states, fallbacks=fallbacks)
        self.flow = flow

    def _committed(self, session: Session, key: str) -> tuple[object, object] | None:
        """The flow's step and draft, read as its types (a row that does not read is dropped)."""
        committed = self.flow.read(session, key)
        return None if committed is None else (committed.state, committed)

    @contextmanager
    def _at(self, row: object) -> Iterator[object]:
        """The row the check read, for `Flow.committed` while the step runs."""
        if not isinstance(row, Committed):  # an entry point: no row was read
            yield None
            return
        token = _current.set((self.flow.name, row))
        try:
            yield row
        finally:
            _current.reset(token)


class StoredConversationHandler(_CommittedStepHandler):
    """A plain ConversationHandler (string states, a FlowStore draft) whose state is the
    committed row of conversation_state, read at every update (see _CommittedStepHandler).

    Each step commits the state it returns (`FlowStore.save`) before its prompt goes out. A step
    that returns END has the row dropped right there, in the update's own transaction: never
    later, so nothing can drop a row another instance wrote meanwhile.
    """

    def __init__(
        self,
        *,
        entry_points: Sequence[AnyHandler],
        states: Mapping[str, Sequence[AnyHandler]],
        fallbacks: Sequence[AnyHandler] = (),
        name: str,
    ) -> None:
        super().__init__(name, entry_points=entry_points, states=states, fallbacks=fallbacks)

    def _committed(self, session: Session, key: str) -> tuple[object, object] | None:
        """The committed state, as stored."""
        state = conversations.state_of(session, self.stored_as, key)
        return None if state is None else (state, state)

    def _ended(self, update: Update, context: Context) -> None:
        """The conversation is over: its row goes with the update's transaction."""
        with services(context).database.session() as session:
            conversations.delete(session, self.stored_as, conversation_key(update))


def _buttons_of(handlers: Sequence[AnyHandler]) -> re.Pattern[str] | None:
    """One pattern matching the data of every button one of these handlers could take; None
    if one may take a button that no such pattern describes (no pattern, a callable, a game,
    flags, back references, or a kind of handler other than these three)."""
    patterns: list[str] = []
    for handler in handlers:
        if isinstance(handler, MessageHandler | CommandHandler):
            continue  # never a button's update
        if not isinstance(handler, CallbackQueryHandler) or handler.game_pattern is not None:
            return None
        pattern = handler.pattern
        if (
            not isinstance(pattern, re.Pattern)
            or pattern.flags & ~re.UNICODE
            or re.search(r"\\\d|\(\?P=", pattern.pattern)
        ):
            return None
        patterns.append(pattern.pattern)
    if not patterns:
        return re.compile(r"(?!)")  # takes no button at all
    try:
        return re.compile("|".join(f"(?:{pattern})" for pattern in patterns))
    except re.error:  # e.g. a group name used twice
        return None


def _first(
    handlers: Sequence[AnyHandler], update: Update
) -> tuple[BaseHandler[Update, Context, object], object] | None:
    for handler in handlers:
        check = handler.check_update(update)
        if check is not None and check is not False:
            return handler, check
    return None
